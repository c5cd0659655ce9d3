// `airlock-fuzz`: the one fuzzer executable of every harness in AirlockFuzz. Built by `make fuzz`
// with `-sanitize=fuzzer,address -DAIRLOCK_FUZZ`, it is a libFuzzer binary (libFuzzer brings
// `main`) that runs the harness named by $AIRLOCK_FUZZ_HARNESS. Built plainly, as `swift build`
// builds every target, it replays files through a harness instead: `airlock-fuzz HARNESS FILE...`,
// the way to rerun a crash found by the fuzzer in a debugger without the sanitizers.

import AirlockCore
import AirlockFuzz

#if canImport(Glibc)
import Glibc
#endif

#if AIRLOCK_FUZZ
internal import CFuzzer

/// The harness, chosen once from the environment; an unknown name stops the fuzzer before its
/// first input with the list of names.
private let harness: FuzzHarnesses.Harness = {
    let name = getenv("AIRLOCK_FUZZ_HARNESS").map { String(cString: $0) } ?? ""
    guard let harness = FuzzHarnesses.named(name) else {
        let names = FuzzHarnesses.all.map(\.name).joined(separator: ", ")
        print("airlock-fuzz: set AIRLOCK_FUZZ_HARNESS to one of: \(names)")
        exit(2)
    }
    return harness
}()

/// libFuzzer's entry point: the one place outside the C wrappers that takes a C pointer, copied
/// into an array at once.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    harness(bytes)
    return 0
}

/// libFuzzer's own `main`, as the driver: flags and corpus directories from the command line.
@main
struct FuzzerMain {
    static func main() {
        _ = harness
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        let status = LLVMFuzzerRunDriver(&argc, &argv) { data, size in
            guard let data else {
                harness([])
                return 0
            }
            return fuzzTestOneInput(data, size)
        }
        exit(status)
    }
}

#else

@main
struct ReplayMain {
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        guard let name = arguments.first, let harness = FuzzHarnesses.named(name) else {
            let names = FuzzHarnesses.all.map(\.name).joined(separator: ", ")
            print("usage: airlock-fuzz HARNESS FILE...  (harnesses: \(names))")
            exit(2)
        }
        for file in arguments.dropFirst() {
            guard let bytes = try? FileSystem.readFile(file) else {
                print("airlock-fuzz: cannot read \(file)")
                exit(2)
            }
            harness(bytes)
            print("\(name): \(file): no crash")
        }
    }
}

#endif
