// The two Python programs the build runs in the sandbox, passed with `python3 -c`. They use the
// standard library only: the image needs nothing but python3.
//
// `smoke` follows the Functions Python worker's own discovery (azure_functions_worker loader and
// dispatcher, ../shared/AZURE-FACTS.md section 3): the app directory and then its
// `.python_packages/lib/site-packages` at the front of sys.path (nothing else but the standard
// library: the interpreter runs with -I -S), import of the script's module, exactly one top-level
// `azure.functions.FunctionRegister`, then `get_functions()`. Its error messages are the worker's.
//
// `compile` writes a checked-hash `.pyc` (PEP 552: the source's hash, no timestamp) for every `.py`
// in the tree, with the file names the deployed app will have, so two builds give the same bytes.
// It runs with PYTHONHASHSEED=0: set and frozenset constants are marshalled in hash order.

enum PythonSandboxScripts {
    static let smoke = #"""
        import importlib, json, os, sys, traceback

        def fail(code, message):
            print("smoke test: " + message, file=sys.stderr)
            sys.exit(code)

        app_dir, script, out_path = sys.argv[1], sys.argv[2], sys.argv[3]
        if not os.path.isfile(os.path.join(app_dir, script)):
            fail(2, script + ": not in the app")
        for path in (os.path.join(app_dir, ".python_packages", "lib", "site-packages"), app_dir):
            sys.path.insert(0, path)
        try:
            module = importlib.import_module(os.path.splitext(os.path.basename(script))[0])
        except BaseException:
            traceback.print_exc()
            fail(3, "importing " + script + " raised (traceback above)")
        try:
            from azure.functions import FunctionRegister
        except BaseException:
            traceback.print_exc()
            fail(4, "azure.functions cannot be imported from .python_packages; is azure-functions in requirements.txt?")
        apps = [name for name in dir(module) if isinstance(getattr(module, name, None), FunctionRegister)]
        if not apps:
            fail(4, "Could not find top level function app instances in " + script + ".")
        if len(apps) > 1:
            fail(4, "More than one FunctionApp or other top level function app instances are defined: " + ", ".join(apps))
        try:
            functions = getattr(module, apps[0]).get_functions()
        except BaseException:
            traceback.print_exc()
            fail(5, apps[0] + ".get_functions() raised (traceback above)")
        listed = []
        for function in functions:
            bindings = [json.loads(raw) for raw in function.get_raw_bindings()]
            trigger = function.get_trigger()
            trigger_type = getattr(trigger, "type", None) if trigger is not None else None
            route = None
            for binding in bindings:
                if binding.get("type") == "httpTrigger":
                    route = binding.get("route") or function.get_function_name()
            listed.append({
                "name": function.get_function_name(),
                "trigger": trigger_type,
                "route": route,
                "bindings": [
                    {"type": str(b.get("type")), "direction": str(b.get("direction")), "name": str(b.get("name"))}
                    for b in bindings
                ],
            })
        if not listed:
            fail(6, apps[0] + " registers no function")
        with open(out_path, "w") as out:
            json.dump(listed, out)
        for item in listed:
            where = " /api/" + item["route"] if item["route"] else ""
            print("function %s: %s%s" % (item["name"], item["trigger"], where))
        """#

    static let compile = #"""
        import importlib.util, json, os, py_compile, sys

        root, out = sys.argv[1], sys.argv[2]
        compiled, skipped = [], []
        for directory, subdirectories, names in os.walk(root):
            subdirectories.sort()
            for name in sorted(names):
                if not name.endswith(".py"):
                    continue
                source = os.path.join(directory, name)
                relative = os.path.relpath(source, root)
                if relative.startswith(".python_packages/bin/"):
                    continue
                cached = importlib.util.cache_from_source(relative)
                try:
                    py_compile.compile(
                        source, cfile=os.path.join(out, "pyc", cached), dfile=source, doraise=True,
                        invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH,
                    )
                    compiled.append(cached)
                except py_compile.PyCompileError as error:
                    skipped.append(relative)
                    print("bytecode: left out %s: %s" % (relative, error.exc_type_name), file=sys.stderr)
        with open(os.path.join(out, "report.json"), "w") as report:
            json.dump({"compiled": compiled, "skipped": skipped, "tag": sys.implementation.cache_tag}, report)
        """#
}
