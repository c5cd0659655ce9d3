// airlock.toml as the library reads it: every key's type, paths relative to the project, and each
// kind of refusal by name with the file's path and its code.

import AirlockCore
import AirlockTestSupport
import Testing

private func parse(_ text: String, directory: String = "app") throws -> ProjectFile {
    try ProjectFile.parse(Array(text.utf8), path: directory + "/airlock.toml", directory: directory)
}

private func refusal(_ text: String) throws -> UsageError {
    try #require(throws: UsageError.self) { try parse(text) }
}

@Suite struct ProjectFileTests {
    @Test func everyKeyIsReadWithItsType() throws {
        let file = try parse(
            """
            python = "3.12"
            platform = "linux/arm64"
            glibc = "2.36"
            resolver = "uv"
            image = "airlock-python:3.12-bookworm"
            runtime = "bwrap"
            store = "../mirror"
            jobs = 8
            compile-bytecode = true
            bootstrap-mirror = "http://deb.example/debian"
            key = ["keys/a.key", "/etc/airlock/b.key"]
            channel = "prod"
            expires = "14d"
            compress = "zstd"
            max-volume-size = "4GiB"
            """
        )
        #expect(file.string(.python) == "3.12")
        #expect(file.string(.platform) == "linux/arm64")
        #expect(file.string(.glibc) == "2.36")
        #expect(file.string(.resolver) == "uv")
        #expect(file.string(.image) == "airlock-python:3.12-bookworm")
        #expect(file.string(.runtime) == "bwrap")
        #expect(file.path(.store) == "app/../mirror")
        #expect(file.integer(.jobs) == 8)
        #expect(file.bool(.compileBytecode) == true)
        #expect(file.string(.bootstrapMirror) == "http://deb.example/debian")
        #expect(file.paths(.key) == ["app/keys/a.key", "/etc/airlock/b.key"])
        #expect(file.string(.channel) == "prod")
        #expect(file.string(.expires) == "14d")
        #expect(file.string(.compress) == "zstd")
        #expect(file.string(.maxVolumeSize) == "4GiB")
        #expect(file.keys.count == ProjectFile.Key.all.count)
    }

    @Test func aKeyGivenAsOneStringIsAListOfOneAndUnsetKeysAreNil() throws {
        let file = try parse("key = \"team.key\"\n")
        #expect(file.paths(.key) == ["app/team.key"])
        #expect(file.string(.python) == nil)
        #expect(file.bool(.compileBytecode) == nil)
        #expect(file.keys == [.key])
    }

    @Test func pathsInAFileOfTheCurrentDirectoryStayAsWritten() throws {
        let file = try parse("store = \"mirror\"\nkey = [\"k.key\"]\n", directory: ".")
        #expect(file.path(.store) == "mirror")
        #expect(file.paths(.key) == ["k.key"])
    }

    @Test func anUnknownKeyIsRefusedByNameWithTheFileAndANearMatch() throws {
        let error = try refusal("pyhton = \"3.11\"\n")
        #expect(error.code == ProjectErrorCode.unknownKey.code)
        #expect(error.status == .badInput)
        #expect(error.description.hasPrefix("app/airlock.toml: unknown key 'pyhton'"), "\(error)")
        #expect(error.description.contains("did you mean 'python'?"), "\(error)")
    }

    @Test func aTableIsAnUnknownKeyAndAKnownNameAsATableIsTheWrongType() throws {
        #expect(try refusal("[tool.airlock]\npython = \"3.11\"\n").code == ProjectErrorCode.unknownKey.code)
        let error = try refusal("[python]\nversion = \"3.11\"\n")
        #expect(error.code == ProjectErrorCode.wrongType.code)
        #expect(error.description.contains("'python' must be a string, not a table"), "\(error)")
    }

    @Test(
        "a flag that has no place in a shared file is refused as not applicable",
        arguments: ["out = \"dist\"", "project = \"app\"", "sequence = 3", "no-sandbox = true", "setting = [\"A=1\"]"]
    )
    func aFlagThatDoesNotApplyIsRefused(line: String) throws {
        let error = try refusal(line + "\n")
        #expect(error.code == ProjectErrorCode.notApplicable.code, "\(error)")
        #expect(error.description.hasPrefix("app/airlock.toml: '"), "\(error)")
        #expect(error.description.contains("cannot be set in airlock.toml"), "\(error)")
        #expect(error.description.contains("on the command line"), "\(error)")
    }

    @Test(
        "a value of the wrong type is refused by key",
        arguments: [
            ("python = 3.11", "'python' must be a string, not a floating-point number"),
            ("compile-bytecode = \"yes\"", "'compile-bytecode' must be true or false, not a string"),
            ("jobs = \"8\"", "'jobs' must be a positive integer, not a string"),
            ("key = [1, 2]", "'key' must be a string or a list of strings, not a list holding an integer"),
            ("store = true", "'store' must be a string, not a boolean"),
        ]
    )
    func aWrongTypeIsRefused(line: String, message: String) throws {
        let error = try refusal(line + "\n")
        #expect(error.code == ProjectErrorCode.wrongType.code, "\(error)")
        #expect(error.description.contains("app/airlock.toml: " + message), "\(error)")
    }

    @Test(arguments: ["key = []", "key = [\"\"]", "channel = \"\"", "jobs = 0"])
    func anEmptyValueIsRefused(line: String) throws {
        #expect(try refusal(line + "\n").code == ProjectErrorCode.badValue.code)
    }

    @Test func everyProblemIsListedUnderTheFirstOnesCode() throws {
        let error = try refusal("colour = \"blue\"\npython = 3\n")
        #expect(error.code == ProjectErrorCode.unknownKey.code)
        #expect(error.description.split(separator: "\n").count == 2, "\(error)")
    }

    @Test(arguments: ["python = ", "python = \"3.11\"\npython = \"3.12\"", "= 1"])
    func invalidTOMLNamesTheLine(text: String) throws {
        let error = try refusal(text + "\n")
        #expect(error.code == ProjectErrorCode.badTOML.code)
        #expect(error.description.hasPrefix("app/airlock.toml:"), "\(error)")
        #expect(error.description.contains(": not valid TOML: "), "\(error)")
    }

    /// TOMLKit's toml++ aborts the process on these (a failed assert, found by the pylock fuzz
    /// harness); the file is refused before it reaches TOMLKit, with where the header goes wrong.
    @Test(arguments: ["[~]", "[#]", "[.a]", "[=]", "[é]", "[[ ~]]", "[\t~]", "[\n]", "python = \"3.11\"\n  [~]"])
    func aTableHeaderThatStartsWithNoKeyIsRefusedNotAnAbort(text: String) throws {
        let error = try refusal(text + "\n")
        #expect(error.code == ProjectErrorCode.badTOML.code)
        #expect(error.description.contains("a table header must start with a key"), "\(error)")
    }

    @Test(arguments: [
        "[a]", "[ a ]", "[\"~\"]", "['~']", "[[a]]", "[a.b]", "[]", "# [~]", "x = \"\"\"\n[~]\"\"\"", "x = '''\n[~]'''",
        "x = [\n[{a = 1}],\n]", "x = \"[~\"\n[b]", "x = \"\"\"a\"\"\"\"\n[b]",
    ])
    func headersThatStartWithAKeyAndBracketsInsideValuesPassTheCheck(text: String) {
        #expect(TOMLHeaderCheck.firstBadHeader(in: text) == nil)
    }

    @Test func bytesThatAreNotUTF8AreNotTOML() throws {
        let error = try #require(throws: UsageError.self) {
            try ProjectFile.parse([0x70, 0x3D, 0xFF, 0x0A], path: "airlock.toml", directory: ".")
        }
        #expect(error.code == ProjectErrorCode.badTOML.code)
    }

    @Test func aProjectWithoutTheFileHasNoneAndADirectoryInItsPlaceIsRefused() throws {
        let dir = try TemporaryDirectory()
        #expect(try ProjectFile.load(project: dir.path) == nil)
        try FileSystem.makeDirectory(dir.path + "/airlock.toml")
        let error = try #require(throws: UsageError.self) { try ProjectFile.load(project: dir.path) }
        #expect(error.code == CoreErrorCode.notAFile.code)
    }

    @Test func loadReadsTheFileBesideTheProject() throws {
        let dir = try TemporaryDirectory()
        try dir.file("app/airlock.toml", "# the team's target\npython = \"3.11\"\nkey = \"keys/team.key\"\n")
        let file = try #require(try ProjectFile.load(project: dir.path + "/app"))
        #expect(file.path == dir.path + "/app/airlock.toml")
        #expect(file.string(.python) == "3.11")
        #expect(file.paths(.key) == [dir.path + "/app/keys/team.key"])
    }
}
