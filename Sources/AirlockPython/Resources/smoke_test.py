# Airlock's smoke test, run in the sandbox as `python3 -I -S -c <this> APP_DIR SCRIPT OUT.json`. It
# follows the Functions Python worker's own discovery (azure_functions_worker loader and dispatcher):
# the app directory and then its `.python_packages/lib/site-packages` at the front of sys.path
# (nothing else but the standard library: the interpreter runs with -I -S), import of the script's
# module, exactly one top-level `azure.functions.FunctionRegister`, then `get_functions()`. Its
# error messages are the worker's. Standard library only: the image needs nothing but python3.
# Exit statuses (PythonSandbox.smokeTestCode reads them): 2 usage, 3 an import raised, 4 not exactly
# one app instance, 5 get_functions() raised, 6 no function.
import importlib, json, os, sys, traceback


def fail(code, message):
    print("smoke test: " + message, file=sys.stderr)
    sys.exit(code)


def main(argv):
    if len(argv) != 3:
        fail(2, "usage: smoke_test.py APP_DIR SCRIPT_FILE OUT_JSON")
    app_dir, script, out_path = argv
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
        fail(3, "azure.functions cannot be imported from .python_packages; is azure-functions in requirements.txt?")
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
                binding_record(b)
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


def binding_record(binding):
    """type, direction and name, and every other scalar property as text (booleans as true/false)."""
    record = {"type": str(binding.get("type")), "direction": str(binding.get("direction")), "name": str(binding.get("name"))}
    properties = {}
    for key, value in binding.items():
        if key in ("type", "direction", "name"):
            continue
        if isinstance(value, bool):
            properties[key] = "true" if value else "false"
        elif isinstance(value, (int, str)):
            properties[key] = str(value)
    if properties:
        record["properties"] = properties
    return record


if __name__ == "__main__":
    main(sys.argv[1:])
