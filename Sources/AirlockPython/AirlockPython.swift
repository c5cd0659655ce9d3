// AirlockPython owns the Python side of a Function App build: target profiles and compatible wheel
// tags, locking through the user's own resolver, fetching locked files into the store, installing
// wheels into `.python_packages/lib/site-packages`, auditing ELF files against the target's glibc,
// and writing the deterministic deployment zip. It does not run containers (AirlockContainer does)
// and never imports another domain's internals; the CLI wires it to the store and the bundle. Every
// error it throws carries a code from PythonErrorCodes.swift.
