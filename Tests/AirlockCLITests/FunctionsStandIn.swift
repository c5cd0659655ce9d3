// A Function App for the sandbox tests: a stand-in `azure.functions` wheel with the API the
// worker's discovery uses, stored, its lock, and the host's Python imported as an image.

import AirlockCore
import AirlockTestSupport
import Foundation
import Testing

enum FunctionsStandIn {
    /// A stand-in `azure.functions` wheel with the API the worker's discovery uses, and a lock for it.
    static func project(_ dir: TempDir, app: String) async throws {
        let script = #"""
            import base64, hashlib, json, sys, zipfile
            code = '''
            import json
            class _T:
                def __init__(self, t): self.type = t
            class _F:
                def __init__(self, n): self.n = n
                def get_function_name(self): return self.n
                def get_trigger(self): return _T("httpTrigger")
                def get_raw_bindings(self): return [json.dumps({"type": "httpTrigger", "direction": "IN", "name": "req", "route": None})]
            class FunctionRegister:
                def __init__(self): self.fs = []
                def get_functions(self): return list(self.fs)
            class FunctionApp(FunctionRegister):
                def route(self, route=None):
                    def d(fn):
                        self.fs.append(_F(fn.__name__)); return fn
                    return d
            '''
            members = {"azure/__init__.py": b"", "azure/functions/__init__.py": code.encode(),
                       "azure_functions-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
                       "azure_functions-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: azure-functions\nVersion: 1.0\n"}
            rows = []
            with zipfile.ZipFile("azure_functions-1.0-py3-none-any.whl", "w") as z:
                for path, data in members.items():
                    z.writestr(zipfile.ZipInfo(path, (2020, 1, 1, 0, 0, 0)), data)
                    h = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
                    rows.append(f"{path},sha256={h},{len(data)}")
                rows.append("azure_functions-1.0.dist-info/RECORD,,")
                z.writestr("azure_functions-1.0.dist-info/RECORD", "\n".join(rows) + "\n")
            data = open("azure_functions-1.0-py3-none-any.whl", "rb").read()
            lock = {"lockVersion": 1, "target": {"pythonVersion": "\#(HostPythonImage.version)", "platform": "linux/amd64", "glibc": "2.31"},
                    "files": [{"name": "azure-functions", "version": "1.0", "filename": "azure_functions-1.0-py3-none-any.whl",
                               "url": None, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}]}
            json.dump(lock, open("app/airlock.lock", "w"))
            """#
        try dir.directory("app")
        try Data(app.utf8).write(to: URL(fileURLWithPath: dir.file("app/function_app.py")))
        try Data("{\"version\": \"2.0\"}\n".utf8).write(to: URL(fileURLWithPath: dir.file("app/host.json")))
        try Data("azure-functions\n".utf8).write(to: URL(fileURLWithPath: dir.file("app/requirements.txt")))
        try Data(script.utf8).write(to: URL(fileURLWithPath: dir.file("make.py")))
        let made = try await Shell.run("python3 make.py", in: dir.path)
        try #require(made.status == 0, "\(made)")
        let put = try await CLI.run(["store", "put", "--store", "store", "--kind", "wheel", "azure_functions-1.0-py3-none-any.whl"], in: dir.path)
        try #require(put.status == 0, "\(put)")
        let imported = try await CLI.run(["image", "import", "--store", "store", try HostPythonImage.archive()], in: dir.path)
        try #require(imported.status == 0, "\(imported)")
    }
}
