import AirlockCore
import AirlockTestSupport
import Foundation

/// Builds real wheels with Python's zipfile (deflated members, RECORD with sha256), as a wheel
/// builder would, so the installer is tested against archives it did not write itself.
enum WheelFixture {
    struct Member {
        var path: String
        var content: String
        var executable = false
        /// Take the bytes from this file instead of `content` (binary members such as .so files).
        var file: String? = nil
    }

    /// Writes `dir/fileName`; `record: false` leaves RECORD without the listed hashes (for tamper tests).
    @discardableResult
    static func make(in dir: TemporaryDirectory, fileName: String, members: [Member], distInfo: String? = nil, tamper: String? = nil, extraPython: String = "") async throws -> String {
        let name = fileName.split(separator: "-").prefix(2).joined(separator: "-")
        let info = distInfo ?? name + ".dist-info"
        var spec: [[String: Any]] = members.map { ["path": $0.path, "content": $0.content, "exec": $0.executable, "file": $0.file ?? ""] }
        if !members.contains(where: { $0.path == info + "/WHEEL" }) {
            spec.append(["path": info + "/WHEEL", "content": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n", "exec": false])
        }
        if !members.contains(where: { $0.path == info + "/METADATA" }) {
            spec.append(["path": info + "/METADATA", "content": "Metadata-Version: 2.1\nName: \(name.split(separator: "-")[0])\nVersion: 1.0\n", "exec": false])
        }
        // Re-indent the extra lines into the `with` block, whatever indentation the caller used.
        let extraLines = extraPython.split(separator: "\n", omittingEmptySubsequences: true)
        let indent = extraLines.map { $0.prefix { $0 == " " }.count }.min() ?? 0
        let extra = extraLines.map { "    " + $0.dropFirst(indent) }.joined(separator: "\n")
        let json = String(decoding: try JSONSerialization.data(withJSONObject: spec), as: UTF8.self)
        try dir.file("spec-\(fileName).json", json)
        let script = """
            import base64, hashlib, json, sys, zipfile
            spec = json.load(open(sys.argv[1]))
            out, info, tamper = sys.argv[2], sys.argv[3], sys.argv[4]
            rows = []
            with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
                for m in spec:
                    data = open(m["file"], "rb").read() if m.get("file") else m["content"].encode()
                    zi = zipfile.ZipInfo(m["path"], (2020, 1, 1, 0, 0, 0))
                    zi.external_attr = (0o100755 if m["exec"] else 0o100644) << 16
                    zi.compress_type = zipfile.ZIP_DEFLATED
                    z.writestr(zi, data)
                    h = base64.urlsafe_b64encode(hashlib.sha256(data if m["path"] != tamper else b"other").digest()).rstrip(b"=").decode()
                    rows.append(f"{m['path']},sha256={h},{len(data)}")
                rows.append(f"{info}/RECORD,,")
            \(extra)
                z.writestr(info + "/RECORD", "\\n".join(rows) + "\\n")
            """
        try dir.file("make-wheel.py", script)
        let out = dir.path + "/" + fileName
        let (status, output) = try await shell(
            "python3 make-wheel.py 'spec-\(fileName).json' '\(out)' '\(info)' '\(tamper ?? "")'", in: dir.path
        )
        guard status == 0 else { throw FixtureError(message: output) }
        return out
    }

    struct FixtureError: Error { let message: String }
}
