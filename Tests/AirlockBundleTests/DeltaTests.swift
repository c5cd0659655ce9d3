import AirlockBundle
import AirlockCore
import AirlockTestSupport
import Foundation
import Testing

/// A week of a long-running enclave: a full bundle with two wheels and the app zip built from them,
/// imported; its inventory; then next week's delta, where one file and one zip entry changed.
struct DeltaWorld {
    let f: Fixture
    let wheels: [String]
    let app1: String
    let app2: String
    let notes1: String
    let notes2: String
    let big: String

    init() throws {
        let fixture = try Fixture(files: [])
        let root = fixture.dir.path
        func text(_ seed: UInt64, _ count: Int) -> [UInt8] {
            // Compressible, and different per seed: words from a small vocabulary.
            let words = ["import", "def", "return", "self", "value", "class", "lambda", "yield", "async", "await"]
            var state = seed &* 6364136223846793005 &+ 1442695040888963407
            var out: [UInt8] = []
            while out.count < count {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                out += Array(words[Int(state >> 33) % words.count].utf8) + [state >> 60 == 0 ? 10 : 32]
            }
            return Array(out.prefix(count))
        }
        func zip(_ path: String, _ entries: [(String, [UInt8])], copying: [(prefix: String, from: String)] = []) throws -> String {
            let full = root + "/" + path
            try FileSystem.makeDirectory(FileSystem.parentPath(full))
            let writer = ZipWriter(output: try FileArchiveOutput(path: full), name: full, epochSeconds: 1_700_000_000)
            for (prefix, source) in copying {
                let reader = try ZipReader(path: source)
                for e in reader.entries {
                    try writer.addCompressed(
                        path: prefix + e.name, method: e.method, crc: e.crc32, compressedSize: e.compressedSize,
                        uncompressedSize: e.uncompressedSize
                    ) { body in try reader.copyCompressed(e, body) }
                }
            }
            for (name, bytes) in entries { try writer.add(path: name, bytes: bytes) }
            try writer.finish()
            return full
        }
        f = fixture
        let w1 = try zip("in/alpha-1.0-py3-none-any.whl", (0..<12).map { ("alpha/m\($0).py", text(UInt64($0), 30_000)) })
        let w2 = try zip("in/beta-2.0-py3-none-any.whl", (0..<12).map { ("beta/m\($0).py", text(UInt64(100 + $0), 30_000)) })
        wheels = [w1, w2]
        let site = ".python_packages/lib/site-packages/"
        app1 = try zip("week1/app.zip", [("function_app.py", text(7, 4000))], copying: [(site, w1), (site, w2)])
        // Next week the app's own code changed: the wheels' entries are the same bytes.
        app2 = try zip("week2/app.zip", [("function_app.py", text(8, 4000))], copying: [(site, w1), (site, w2)])
        notes1 = try fixture.dir.file("week1/notes.txt", Array("week one\n".utf8))
        notes2 = try fixture.dir.file("week2/notes.txt", Array("week two\n".utf8))
        big = try fixture.dir.file("in/image-layer.tar", pseudoRandom(300_000, seed: 9))
    }

    var week1Inputs: [String] { wheels + [app1, notes1, big] }
    var week2Inputs: [String] { wheels + [app2, notes2, big] }

    /// Seals week 1, imports it into `store`, and returns the inventory file written from it.
    func importWeek1(into store: Store) async throws -> String {
        let full = try await f.seal(to: "week1.airlock", sequence: 1, inputs: week1Inputs)
        _ = try Importer.importBundle(full, into: store, options: ImportOptions())
        return try f.dir.file("inventory.json", StoreInventory.of(store).canonicalBytes)
    }

    func sealWeek2(against inventoryPath: String, earlierBuilds: [SHA256Digest: String] = [:]) async throws -> String {
        let (inventory, digest) = try StoreInventory.read(inventoryPath)
        return try await f.seal(
            to: "week2.airlock", sequence: 2, inputs: week2Inputs,
            delta: SealDelta(inventory: inventory, inventorySHA256: digest, earlierBuilds: earlierBuilds)
        )
    }

    func manifest(of bundle: String) async throws -> Manifest {
        try Manifest(canonicalBytes: try await RawTar.members(of: bundle)[0].data)
    }
}

// The limit guards against a hang, not for speed: under a loaded parallel `make test` (2 cores) these
// tests took 190-270 s, against 3-10 s alone.
@Suite(.timeLimit(.minutes(10))) struct DeltaTests {
    @Test func aDeltaLeavesOutWhatTheInventoryListsCarriesTheZipAsARecipeAndImportsWhole() async throws {
        let w = try DeltaWorld()
        let inside = try w.f.trustingStore()
        let inventoryPath = try await w.importWeek1(into: inside)
        let (inventory, _) = try StoreInventory.read(inventoryPath)
        #expect(inventory == (try StoreInventory.of(inside, now: Timestamp.parse(inventory.created) ?? 0)))
        #expect(inventory.channels == ["default": 1])

        let delta = try await w.sealWeek2(against: inventoryPath)
        let manifest = try await w.manifest(of: delta)
        #expect(manifest.delta?.inventory == SHA256Hasher.hash(try FileSystem.readFile(inventoryPath)))
        #expect(manifest.json["schema"]?.intValue == 2)
        let byName = Dictionary(uniqueKeysWithValues: manifest.artifacts.map { ($0.name, $0.sha256) })
        let delivery = Dictionary(uniqueKeysWithValues: manifest.blobs.map { ($0.sha256, $0.delivery) })
        // What the store holds stays home; the new note is carried; the new zip is a recipe.
        for name in ["alpha-1.0-py3-none-any.whl", "beta-2.0-py3-none-any.whl", "image-layer.tar"] {
            #expect(delivery[byName[name]!] == .store, "\(name)")
        }
        #expect(delivery[byName["notes.txt"]!] == .carried)
        guard case .recipe(let recipe) = delivery[byName["app.zip"]!] else {
            Issue.record("app.zip is not carried as a recipe: \(String(describing: delivery[byName["app.zip"]!]))")
            return
        }
        #expect(delivery[recipe] == .carried)
        // The members: only what is carried, and SHA256SUMS lists exactly those (and VERIFY.md).
        let members = try await RawTar.members(of: delta)
        let blobMembers = Set(members.map(\.name).filter { $0.hasPrefix("blobs/") })
        #expect(blobMembers == Set(manifest.carriedBlobs.map(\.memberPath)))
        let sums = String(decoding: members.first { $0.name == "SHA256SUMS" }!.data, as: UTF8.self)
        #expect(sums.split(separator: "\n").count == manifest.carriedBlobs.count + 1)
        let recipeSize = manifest.blobs.first { $0.sha256 == recipe }!.size
        let appSize = try FileSystem.size(of: w.app2)
        #expect(recipeSize * 5 < appSize, "the recipe (\(recipeSize) bytes) is a small part of the zip (\(appSize))")
        #expect(try FileSystem.size(of: delta) * 3 < (try FileSystem.size(of: w.f.dir.path + "/week1.airlock")))
        let guide = String(decoding: members.first { $0.name == "VERIFY.md" }!.data, as: UTF8.self)
        #expect(guide.contains("This bundle is a delta") && guide.contains("leaves out 3 blob(s)"), "\(guide)")

        // verify says what it relies on.
        let report = try w.f.verify(delta)
        #expect(report.isValid, "\(report.problems)")
        #expect(Set(report.delta?.store.flatMap(\.artifacts) ?? []) == ["alpha-1.0-py3-none-any.whl", "beta-2.0-py3-none-any.whl", "image-layer.tar"])
        #expect(report.delta?.recipes.map(\.artifacts) == [["app.zip"]])
        #expect(report.delta?.summary.relied == 3)

        // import rebuilds the zip byte for byte.
        let result = try Importer.importBundle(delta, into: inside, options: ImportOptions())
        #expect(result.record.sequence == 2)
        #expect(try FileSystem.readFile(inside.blobPath(byName["app.zip"]!), limit: 1 << 30) == (try FileSystem.readFile(w.app2, limit: 1 << 30)))
        #expect(try await inside.verify(jobs: 2).isEmpty)
        #expect(try inside.index.imports().map(\.sequence) == [1, 2])
    }

    @Test func importOfADeltaIsRefusedNamingEveryMissingOrDamagedBaseBlobAndAcceptedOnceTheBaseArrives() async throws {
        let w = try DeltaWorld()
        let outside = try w.f.trustingStore("reference")
        let delta = try await w.sealWeek2(against: try await w.importWeek1(into: outside))
        let manifest = try await w.manifest(of: delta)
        let relied = manifest.blobs.filter { $0.delivery == .store }
        #expect(relied.count == 3)

        // A store that never saw week 1: refused, naming each digest, and nothing written.
        let empty = try w.f.trustingStore("empty")
        let before = try snapshot(empty.root)
        let missing = #expect(throws: CheckFailure.self) { try Importer.importBundle(delta, into: empty, options: ImportOptions()) }
        #expect(missing?.code == BundleErrorCode.missingBase.code)
        for blob in relied { #expect(missing?.description.contains("missing from the store: \(blob.sha256.hex)") == true, "\(missing.map { "\($0)" } ?? "")") }
        #expect(try snapshot(empty.root) == before)

        // A store whose copy of one base blob was damaged: refused, naming that one.
        let damaged = try w.f.trustingStore("damaged")
        _ = try Importer.importBundle(w.f.dir.path + "/week1.airlock", into: damaged, options: ImportOptions())
        let layer = relied.first { $0.kind == "file" && $0.size == 300_000 }!
        var bytes = try FileSystem.readFile(damaged.blobPath(layer.sha256), limit: 1 << 20)
        bytes[1000] ^= 1
        try FileSystem.writeAtomically(damaged.blobPath(layer.sha256), bytes)
        let refused = #expect(throws: CheckFailure.self) { try Importer.importBundle(delta, into: damaged, options: ImportOptions()) }
        #expect(refused?.code == BundleErrorCode.missingBase.code)
        #expect(refused?.description.contains("damaged in the store") == true && refused?.description.contains(layer.sha256.hex) == true)
        #expect(try damaged.index.imports().map(\.sequence) == [1])

        // Once the base arrives (week 1 imported), the same delta imports.
        _ = try Importer.importBundle(w.f.dir.path + "/week1.airlock", into: empty, options: ImportOptions())
        _ = try Importer.importBundle(delta, into: empty, options: ImportOptions())
        #expect(try empty.index.imports().map(\.sequence) == [1, 2])
        #expect(try await empty.verify(jobs: 2).isEmpty)
    }

    @Test func anEarlierBuildTheStoreHoldsIsARecipeSourceNamedInTheSignedManifest() async throws {
        let w = try DeltaWorld()
        let inside = try w.f.trustingStore()
        let inventoryPath = try await w.importWeek1(into: inside)
        // Week 2 seals without the wheels: the zip's entries are found in week 1's zip, which the
        // enclave holds, so the delta names that zip as expected in the store.
        let (inventory, digest) = try StoreInventory.read(inventoryPath)
        let app1 = try Store.hashFile(w.app1).0
        let delta = try await w.f.seal(
            to: "week2.airlock", sequence: 2, inputs: [w.app2, w.notes2],
            delta: SealDelta(inventory: inventory, inventorySHA256: digest, earlierBuilds: [app1: w.app1])
        )
        let manifest = try await w.manifest(of: delta)
        #expect(manifest.blobs.first { $0.sha256 == app1 } == ManifestBlob(sha256: app1, size: try FileSystem.size(of: w.app1), kind: "recipe-source", delivery: .store))
        _ = try Importer.importBundle(delta, into: inside, options: ImportOptions())
        let app2 = manifest.artifacts.first { $0.name == "app.zip" }!.sha256
        #expect(try Store.hashFile(inside.blobPath(app2)).0 == app2)
    }

    /// A signed recipe that rebuilds other bytes than the manifest names: the import refuses it and
    /// writes nothing. (A recipe's bytes are covered by the signature like any blob, so this needs
    /// the signer: a mistaken or malicious one.)
    @Test func aSignedRecipeThatRebuildsOtherBytesIsRefusedAndNothingIsImported() async throws {
        let w = try DeltaWorld()
        let inside = try w.f.trustingStore()
        let delta = try await w.sealWeek2(against: try await w.importWeek1(into: inside))
        var members = try await RawTar.members(of: delta)
        var manifest = try Manifest(canonicalBytes: members[0].data)
        guard let target = manifest.blobs.firstIndex(where: { if case .recipe = $0.delivery { true } else { false } }),
            case .recipe(let recipeDigest) = manifest.blobs[target].delivery,
            let recipeMember = members.firstIndex(where: { $0.name == "blobs/sha256/" + recipeDigest.hex })
        else {
            Issue.record("no recipe in the delta")
            return
        }
        // One literal byte changed (the last, in the zip's end record), the recipe re-listed and re-signed.
        var recipe = members[recipeMember].data
        recipe[recipe.count - 1] ^= 0x01
        let newDigest = SHA256Hasher.hash(recipe)
        members[recipeMember] = RawMember(name: "blobs/sha256/" + newDigest.hex, data: recipe)
        manifest.blobs[target].delivery = .recipe(newDigest)
        let old = manifest.blobs.firstIndex { $0.sha256 == recipeDigest }!
        manifest.blobs[old].sha256 = newDigest
        manifest.blobs.sort { $0.sha256 < $1.sha256 }
        let sumsIndex = members.firstIndex { $0.name == "SHA256SUMS" }!
        let sums = String(decoding: members[sumsIndex].data, as: UTF8.self).replacingOccurrences(of: recipeDigest.hex, with: newDigest.hex)
        let sortedSums = sums.split(separator: "\n").sorted().joined(separator: "\n") + "\n"
        members[sumsIndex].data = Array(sortedSums.utf8)
        manifest.sha256sums = SHA256Hasher.hash(members[sumsIndex].data)
        members[0].data = manifest.canonicalBytes
        let key = try KeyFiles.loadPrivateKey(w.f.keyPath)
        let signature = members.firstIndex { $0.name.hasPrefix("signatures/") }!
        members[signature].data = try key.signature(for: members[0].data)
        let crafted = try w.f.dir.file("crafted.airlock", RawTar.build(members))
        #expect(try w.f.verify(crafted).isValid, "the crafted delta is well signed")

        let before = try snapshot(inside.root)
        let error = #expect(throws: CheckFailure.self) { try Importer.importBundle(crafted, into: inside, options: ImportOptions()) }
        #expect(error?.code == BundleErrorCode.badRecipe.code, "\(error.map { "\($0)" } ?? "")")
        #expect(error?.description.contains("not the digest the signed manifest names") == true, "\(error.map { "\($0)" } ?? "")")
        #expect(try snapshot(inside.root) == before)
    }

    @Test(arguments: [
        ("past the end of a source", "[[0,999990,20]]", 20),
        ("past the end of the literal bytes", "[[-1,0,5]]", 5),
        ("more than the output", "[[-1,0,2],[-1,0,2]]", 3),
        ("fewer than the output", "[[-1,0,2]]", 3),
        ("an unknown source", "[[3,0,1]]", 1),
        ("an empty segment", "[[-1,0,0]]", 0),
    ])
    func aRecipeThatReadsOutOfBoundsIsRefusedBeforeAnyByteIsCopied(what: String, segments: String, size: Int) throws {
        let dir = try TemporaryDirectory()
        let hex = String(repeating: "a", count: 64)
        let line = #"{"kind":"airlock-recipe","output":{"sha256":"\#(hex)","size":\#(size)},"schema":1,"segments":\#(segments),"sources":[{"sha256":"\#(String(repeating: "b", count: 64))","size":1000000}]}"#
        let path = try dir.file("recipe", Array(line.utf8) + [0x0A] + Array("xyz".utf8))
        #expect(throws: RecipeError.self, "\(what)") { try BlobRecipe.read(path) }
        // Not canonical (a space), or no line at all.
        let spaced = try dir.file("spaced", Array(line.replacingOccurrences(of: ",\"schema\"", with: ", \"schema\"").utf8) + [0x0A])
        #expect(throws: RecipeError.self) { try BlobRecipe.read(spaced) }
        let noLine = try dir.file("noline", Array(line.utf8))
        #expect(throws: RecipeError.self) { try BlobRecipe.read(noLine) }
    }

    /// manifests/manifest.schema.json describes what seal writes: a full manifest and a delta's
    /// validate against it (jsonschema, from scripts/py-tools.sh), and a schema-1 manifest with a
    /// delta's field does not.
    @Test func bothManifestsValidateAgainstTheDocumentedSchema() async throws {
        var root = #filePath
        for _ in 0..<3 { root = FileSystem.parentPath(root) }
        guard FileSystem.exists(root + "/.build/py-tools/jsonschema") else {
            Issue.record("jsonschema is not installed in \(root)/.build/py-tools: run scripts/py-tools.sh (make test-deps does)")
            return
        }
        let w = try DeltaWorld()
        let delta = try await w.sealWeek2(against: try await w.importWeek1(into: try w.f.trustingStore()))
        let full = try w.f.dir.file("m1.json", try await RawTar.members(of: w.f.dir.path + "/week1.airlock")[0].data)
        let cut = try w.f.dir.file("m2.json", try await RawTar.members(of: delta)[0].data)
        let (status, output) = try await shell(
            """
            PYTHONPATH='\(root)/.build/py-tools' /usr/bin/python3 -c 'import json, sys, jsonschema
            schema = json.load(open(sys.argv[1]))
            for path in sys.argv[2:]:
                m = json.load(open(path)); jsonschema.validate(m, schema); print("valid schema", m["schema"])
            bad = json.load(open(sys.argv[2])); bad["blobs"][0]["expected"] = "store"
            try:
                jsonschema.validate(bad, schema); print("accepted")
            except jsonschema.ValidationError:
                print("refused")' '\(root)/manifests/manifest.schema.json' '\(full)' '\(cut)'
            """
        )
        #expect(status == 0 && output == "valid schema 1\nvalid schema 2\nrefused\n", "\(output)")
    }

    @Test func theDeltaFieldsBelongToSchema2AndAnInventoryIsCheckedWhenRead() throws {
        let hex = String(repeating: "c", count: 64)
        func manifest(schema: Int, blob: String, delta: String = "") -> [UInt8] {
            Array(
                #"{"artifacts":[],"blobs":[\#(blob)],"bundle":"00000000-0000-8000-8000-000000000000","channel":"default","created":"2026-01-01T00:00:00Z",\#(delta)"expires":"2027-01-01T00:00:00Z","schema":\#(schema),"sequence":1,"sha256sums":"\#(hex)"}"#.utf8
            )
        }
        let expected = #"{"expected":"store","kind":"file","sha256":"\#(hex)","size":1}"#
        #expect(throws: ManifestError.self) { try Manifest(canonicalBytes: manifest(schema: 1, blob: expected)) }
        #expect(throws: ManifestError.self) { try Manifest(canonicalBytes: manifest(schema: 2, blob: expected)) }
        let delta = #""delta":{"inventory":"\#(hex)"},"#
        let parsed = try Manifest(canonicalBytes: manifest(schema: 2, blob: expected, delta: delta))
        #expect(parsed.blobs.first?.delivery == .store && parsed.carriedBlobs.isEmpty)
        // A recipe must be a carried blob of the list.
        let dangling = #"{"kind":"file","recipe":"\#(String(repeating: "d", count: 64))","sha256":"\#(hex)","size":1}"#
        #expect(throws: ManifestError.self) { try Manifest(canonicalBytes: manifest(schema: 2, blob: dangling, delta: delta)) }

        let dir = try TemporaryDirectory()
        for bad in ["[]", #"{"kind":"airlock-inventory","schema":1,"created":"now","blobs":[]}"#,
            #"{"kind":"airlock-inventory","schema":1,"created":"2026-01-01T00:00:00Z","blobs":[{"sha256":"xyz","size":1}]}"#]
        {
            let path = try dir.file("inv.json", Array(bad.utf8))
            let error = #expect(throws: UsageError.self) { try StoreInventory.read(path) }
            #expect(error?.code == BundleErrorCode.badInventory.code && error?.description.hasPrefix(path) == true)
        }
    }
}
