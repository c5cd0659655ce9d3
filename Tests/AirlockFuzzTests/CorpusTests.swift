// `make test`'s share of the fuzzing: every harness run once over each file of its committed seed
// corpus (Fuzz/corpus/<name>/) and of its regressions (Fuzz/regressions/<name>/, the minimized
// crashes the fuzzer found), so a parser change that brings a crash back fails here, without
// libFuzzer or the sanitizers. A harness traps on a bug, which ends the test process: the file
// being run is printed first, so the log names it.

import AirlockBundle
import AirlockContainer
import AirlockCore
import AirlockFuzz
import AirlockGo
import AirlockPython
import AirlockTestSupport
import Foundation
import Testing

/// Where the corpus lives: `Fuzz/` at the package root, found from this file.
enum FuzzCorpus {
    static let root: String = {
        var path = #filePath
        for _ in 0..<3 { path = FileSystem.parentPath(path) }
        return path + "/Fuzz"
    }()

    /// The files of `Fuzz/<kind>/<harness>/`, sorted; empty when the directory is missing.
    static func files(_ kind: String, _ harness: String) -> [String] {
        let directory = root + "/" + kind + "/" + harness
        return ((try? FileSystem.list(directory)) ?? []).sorted().map { directory + "/" + $0 }
    }
}

@Suite struct CorpusTests {
    @Test func everyHarnessHasASeedCorpusAndEveryCorpusAHarness() throws {
        let names = FuzzHarnesses.all.map(\.name)
        #expect(Set(names).count == names.count, "two harnesses share a name")
        for name in names { #expect(!FuzzCorpus.files("corpus", name).isEmpty, "Fuzz/corpus/\(name)/ is empty or missing") }
        for kind in ["corpus", "regressions"] {
            let directories = (try? FileSystem.list(FuzzCorpus.root + "/" + kind)) ?? []
            for directory in directories { #expect(names.contains(directory), "Fuzz/\(kind)/\(directory)/ has no harness") }
        }
    }

    @Test func theCorpusIsSmall() throws {
        var total = 0
        for harness in FuzzHarnesses.all.map(\.name) {
            for file in FuzzCorpus.files("corpus", harness) {
                let size = try FileSystem.size(of: file)
                #expect(size <= 64 << 10, "\(file) is \(size) bytes")
                total += size
            }
        }
        #expect(total <= 2 << 20, "the seed corpus is \(total) bytes")
    }

    @Test(arguments: FuzzHarnesses.all.map(\.name))
    func harnessRunsOverItsCorpusAndRegressionsWithoutACrash(_ name: String) throws {
        let harness = try #require(FuzzHarnesses.named(name))
        for file in FuzzCorpus.files("corpus", name) + FuzzCorpus.files("regressions", name) {
            FileHandle.standardError.write(Data("fuzz corpus: \(name): \(file)\n".utf8))
            harness(try FileSystem.readFile(file))
        }
    }
}

/// The seeds are worth fuzzing from only while the parsers accept them: a seed refused at its first
/// check (a schema bump, a stale key) leaves the fuzzer at the door. `make fuzz-corpus` renews them.
@Suite struct SeedTests {
    private func seed(_ harness: String, _ name: String) throws -> String {
        let path = FuzzCorpus.root + "/corpus/" + harness + "/" + name
        try #require(FileSystem.kind(of: path) == .regular, "\(path) is missing: run make fuzz-corpus")
        return path
    }

    @Test func sealedBundlesVerifyUnderTheFuzzKey() throws {
        let key = try Ed25519PrivateKey(pem: FuzzHarnesses.signingKeyPEM(), source: "fuzz key")
        let policy = TrustPolicy(keys: [TrustPolicy.Key(publicKey: try key.publicKey, name: "fuzz", channels: [])], threshold: 1)
        for name in ["sealed.tar", "sealed.tar.zst"] {
            let report = try BundleScanner(paths: [try seed("bundle", name)], options: ScanOptions(policy: policy, now: FuzzHarnesses.scanTime))
                .scan()
            #expect(report.problems.isEmpty, "\(name): \(report.problems)")
        }
    }

    @Test func manifestsWheelsSdistsModuleZipsAndLocksAreAccepted() throws {
        for name in ["manifest-0.json", "manifest-1.json"] {
            _ = try Manifest(canonicalBytes: try FileSystem.readFile(try seed("manifest", name)))
        }
        let target = PythonTarget(pythonVersion: "3.11", platform: "linux/amd64", glibc: "2.31")
        for name in ["pure.whl", "data.whl"] {
            let dir = try TemporaryDirectory()
            let plan = try WheelInstaller.plan(
                wheelAt: try seed("wheel", name), fileName: "demo-1.0-py3-none-any.whl", ranking: TagRanking(target), target: target,
                treeRoot: dir.path + "/tree"
            )
            #expect(!plan.files.isEmpty)
        }
        for name in ["demo-1.0.tar.gz", "demo-1.0.zip"] {
            let dir = try TemporaryDirectory()
            _ = try SdistArchive.read(path: try seed("sdist", name), filename: name, name: "demo", version: "1.0", extractTo: dir.path + "/x")
        }
        let module = try ModuleVersion(path: "example.com/demo", version: "v1.0.0")
        for name in ["module.zip", "vendor.zip"] { _ = try ModuleZip.check(try seed("go-module-zip", name), module: module) }
        for (name, isGo) in [("python.lock", false), ("go.lock", true)] {
            let dir = try TemporaryDirectory()
            try dir.file("airlock.lock", try FileSystem.readFile(try seed("lock", name)))
            if isGo { _ = try GoLock.read(project: dir.path) } else { _ = try PythonLock.read(project: dir.path) }
        }
        _ = try GoModFile(text: String(decoding: try FileSystem.readFile(try seed("go-mod", "go.mod")), as: UTF8.self))
        _ = try GoSum(text: String(decoding: try FileSystem.readFile(try seed("go-sum", "go.sum")), as: UTF8.self))
        #expect(!(try PyLock.read(String(decoding: try FileSystem.readFile(try seed("pylock", "pylock.toml")), as: UTF8.self), path: "pylock.toml")).isEmpty)
        for name in ["shared.so", "static"] { _ = try ELFFile(contentsOf: try seed("elf", name)) }
    }

    @Test func layersUnpack() throws {
        for name in ["layer.tar", "layer.tar.gz", "libarchive.tar.zst"] {
            let dir = try TemporaryDirectory()
            try FileSystem.makeDirectory(dir.path + "/root")
            try ImageRootfs.apply(layersAt: [try seed("layer", name)], to: dir.path + "/root")
        }
    }
}
