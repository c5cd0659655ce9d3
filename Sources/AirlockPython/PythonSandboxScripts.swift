// The two Python programs the build runs in the sandbox, passed with `python3 -c`. They use the
// standard library only: the image needs nothing but python3. Their text lives in
// Resources/smoke_test.py and Resources/compile_bytecode.py, compiled in by the EmbedResources
// plugin (PythonResources), so the binary carries them wherever it is copied.
//
// `smoke` follows the Functions Python worker's own discovery (azure_functions_worker loader and
// dispatcher, ../shared/AZURE-FACTS.md section 3); its error messages are the worker's.
// `compile` writes checked-hash `.pyc` files (PEP 552) with the deployed app's file names; it runs
// with PYTHONHASHSEED=0, since set and frozenset constants are marshalled in hash order.

enum PythonSandboxScripts {
    static var smoke: String { PythonResources.smokeTest }
    static var compile: String { PythonResources.compileBytecode }
}
