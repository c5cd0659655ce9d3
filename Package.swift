// swift-tools-version:6.1
import PackageDescription

let languageSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

// `make fuzz` builds airlock-fuzz with AIRLOCK_FUZZ_BUILD set to the path of libFuzzer's
// no-main archive, in its own scratch path: every Swift module instrumented for libFuzzer and ASan,
// `AIRLOCK_FUZZ` defined, and the fuzzer linked with ASan and that archive. Not through -Xswiftc,
// which would reach the EmbedResources plugin's tool too; and not libFuzzer's own `main`, which
// clashes with the `main` SwiftPM makes of an executable's entry point (see Sources/CFuzzer).
let fuzzNoMainArchive = Context.environment["AIRLOCK_FUZZ_BUILD"].flatMap { $0.isEmpty ? nil : $0 }
let swiftSettings =
    languageSettings
    + (fuzzNoMainArchive == nil ? [] : [.unsafeFlags(["-sanitize=fuzzer,address"]), .define("AIRLOCK_FUZZ")])

let package = Package(
    name: "airlock",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "airlock", targets: ["airlock"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        // The Kubernetes kit's manifests (AirlockDeploy only): YAML emitted by libyaml, not by hand.
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        // `airlock serve`: Hummingbird 2 without its default traits (swift-configuration, full
        // Foundation), which Airlock does not use and which would cost every build their compile.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
    ],
    targets: [
        .systemLibrary(name: "CArchive", pkgConfig: "libarchive", providers: [.apt(["libarchive-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        // libFuzzer's driver, declared for airlock-fuzz's main; linked only by `make fuzz`.
        .systemLibrary(name: "CFuzzer"),
        .target(
            name: "AirlockCore",
            dependencies: [
                "CArchive",
                "COpenSSL",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(name: "AirlockBundle", dependencies: ["AirlockCore"], swiftSettings: swiftSettings),
        // Its Python programs (Resources/*.py) are compiled in as string constants by the
        // EmbedResources plugin, not shipped as a resource bundle: see Plugins/EmbedResources.
        .target(
            name: "AirlockPython",
            dependencies: ["AirlockCore", "AirlockContainer", .product(name: "TOMLKit", package: "TOMLKit")],
            swiftSettings: swiftSettings,
            plugins: ["EmbedResources"]
        ),
        .executableTarget(name: "EmbedResourcesTool", swiftSettings: languageSettings),
        .plugin(name: "EmbedResources", capability: .buildTool(), dependencies: ["EmbedResourcesTool"]),
        .target(
            name: "AirlockDeploy",
            dependencies: ["AirlockCore", .product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings
        ),
        .target(name: "AirlockGo", dependencies: ["AirlockCore", "AirlockContainer"], swiftSettings: swiftSettings),
        .target(name: "AirlockContainer", dependencies: ["AirlockCore"], swiftSettings: swiftSettings),
        .target(
            name: "AirlockMirror",
            dependencies: [
                "AirlockCore",
                "AirlockGo",
                "AirlockPython",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        // What an auditor reads: inventories, diffs and SBOMs of bundles and stores (above the
        // language domains, as the mirror is: it reads wheel METADATA and go.mod).
        .target(
            name: "AirlockAudit",
            dependencies: ["AirlockCore", "AirlockBundle", "AirlockContainer", "AirlockPython", "AirlockGo"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "airlock",
            dependencies: [
                "AirlockAudit",
                "AirlockCore",
                "AirlockBundle",
                "AirlockPython",
                "AirlockDeploy",
                "AirlockContainer",
                "AirlockGo",
                "AirlockMirror",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // The fuzz harnesses, one per parser of outside input (see Sources/AirlockFuzz), and the one
        // libFuzzer executable over them, which `make fuzz` builds with the sanitizers; built plainly
        // it replays files through a harness.
        .target(
            name: "AirlockFuzz",
            dependencies: ["AirlockCore", "AirlockBundle", "AirlockContainer", "AirlockGo", "AirlockPython"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "airlock-fuzz",
            dependencies: ["AirlockFuzz", "AirlockCore", "CFuzzer"],
            path: "Sources/AirlockFuzzMain",
            swiftSettings: swiftSettings,
            linkerSettings: fuzzNoMainArchive.map { [.unsafeFlags(["-sanitize=address", "-Xlinker", $0])] } ?? []
        ),
        .target(
            name: "AirlockTestSupport",
            dependencies: ["AirlockCore", "AirlockContainer"],
            path: "Tests/AirlockTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AirlockCoreTests",
            dependencies: ["AirlockCore", "AirlockTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AirlockBundleTests",
            dependencies: ["AirlockBundle", "AirlockCore", "AirlockTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AirlockPythonTests",
            dependencies: ["AirlockPython", "AirlockContainer", "AirlockCore", "AirlockTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AirlockGoTests",
            dependencies: ["AirlockGo", "AirlockContainer", "AirlockCore", "AirlockTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AirlockDeployTests",
            dependencies: ["AirlockDeploy", "AirlockCore", "AirlockTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AirlockContainerTests",
            dependencies: ["AirlockContainer", "AirlockCore", "AirlockTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AirlockAuditTests",
            dependencies: ["AirlockAudit", "AirlockBundle", "AirlockCore", "AirlockTestSupport"],
            // The generators of the PEP 440 and CVSS fixtures (run by hand against packaging and cvss).
            exclude: ["Scripts"],
            swiftSettings: swiftSettings
        ),
        // Every harness over its committed corpus and regressions, once (`make test`); and the
        // corpus writer (`make fuzz-corpus`).
        .testTarget(
            name: "AirlockFuzzTests",
            dependencies: [
                "AirlockFuzz", "AirlockBundle", "AirlockContainer", "AirlockCore", "AirlockGo", "AirlockPython",
                "AirlockTestSupport",
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AirlockCLITests",
            dependencies: ["airlock", "AirlockCore", "AirlockBundle", "AirlockTestSupport"],
            swiftSettings: swiftSettings
        ),
    ]
)
