import AirlockCore
import AirlockPython
import AirlockTestSupport
import Foundation
import Testing

/// One `.funcignore` text and one file path, with what Core Tools does with it.
struct IgnoreCase: Sendable, CustomTestStringConvertible {
    let rules: String
    let path: String
    let denied: Bool
    var testDescription: String {
        "\(rules.debugDescription) \(denied ? "excludes" : "keeps") \(path.debugDescription)"
    }
}

private func excludes(_ rules: String, _ path: String) -> IgnoreCase {
    IgnoreCase(rules: rules, path: path, denied: true)
}
private func keeps(_ rules: String, _ path: String) -> IgnoreCase {
    IgnoreCase(rules: rules, path: path, denied: false)
}

/// The surprises AZURE-FACTS §2 documents, and the corners of the translation.
private let cases: [IgnoreCase] = [
    // Patterns are anchored at the app root.
    excludes("__pycache__", "__pycache__/m.cpython-311.pyc"),
    keeps("__pycache__", "pkg/__pycache__/m.cpython-311.pyc"),
    excludes("*.pyc", "m.pyc"),
    keeps("*.pyc", "pkg/m.pyc"),
    excludes("*.pyc", "m.pyc.bak"),  // a boundary after ".pyc" is enough
    // `**` is one or more characters, so `**/x` needs a parent directory.
    excludes("**/__pycache__", "pkg/__pycache__/m.pyc"),
    excludes("**/__pycache__", "a/b/__pycache__/m.pyc"),
    keeps("**/__pycache__", "__pycache__/m.pyc"),
    excludes("**/*.pyc", "pkg/m.pyc"),
    keeps("**/*.pyc", "m.pyc"),
    excludes("a**b", "a/x/b"),
    excludes("**", "a"),
    excludes("foo/**", "foo/bar/baz.py"),
    keeps("foo/**", "foo"),
    // `*` is one or more characters within a segment.
    excludes("a*b", "axb"),
    keeps("a*b", "ab"),
    keeps("a*b", "a/b"),
    excludes("*", "x.py"),
    keeps("*", "..."),  // no word character, so no boundary anywhere
    // The word boundary: `test` takes test.py and test/ but not tests/ or test_data.py.
    excludes("test", "test.py"),
    excludes("test", "test/test_a.py"),
    keeps("test", "tests/test_a.py"),
    keeps("test", "test_data.py"),
    excludes("test", "test-data.py"),
    excludes("test", "testé.py"),  // é is not an ECMAScript word character
    keeps("test", "pkg/test.py"),
    excludes("docs", "docs.md"),
    keeps("docs", "docs2/x.md"),
    excludes(".venv", ".venv/bin/python"),
    keeps(".venv", ".venv2/bin/python"),
    excludes(".venv", ".venv-old/bin/python"),
    // A trailing "/" must be followed by a word character.
    excludes("tests/", "tests/a.py"),
    keeps("tests/", "tests/.hidden"),
    keeps("tests/", "tests"),
    // Everything else is literal: `?`, brackets, dots; and matching is case-sensitive.
    keeps("*.py[cod]", "x.pyc"),
    keeps("*.py[cod]", "x.py[cod]"),  // ends on "]": no boundary at the end of the path
    excludes("*.py[cod]", "x.py[cod]x"),
    keeps("a?.txt", "ab.txt"),
    excludes("a?.txt", "a?.txt"),
    keeps("a.txt", "abtxt"),
    keeps("README.md", "readme.md"),
    // One leading "/" is removed, also after "!".
    excludes("/local.py", "local.py"),
    keeps("*.py\n!/main.py", "main.py"),
    // A line that is only "/" is an empty pattern: it matches every path starting with a word character.
    excludes("/", "main.py"),
    keeps("/", ".env"),
    // Negation wins whatever the order.
    keeps("*.py\n!main.py", "main.py"),
    excludes("*.py\n!main.py", "other.py"),
    keeps("!main.py\n*.py", "main.py"),
    keeps("*.py\n!main.py", "main.pyx"),
    keeps("*.py\n!", "a.py"),  // the empty negation keeps anything starting with a word character…
    excludes("*.py\n!", ".a.py"),  // …and nothing else
    // Comments, blank lines, white space, CRLF and a byte-order mark.
    excludes("# build output\n\n   \nsecret.txt", "secret.txt"),
    keeps("#secret.txt", "#secret.txt"),
    keeps("  # secret.txt", "secret.txt"),
    excludes("\tsecret.txt   \r\n", "secret.txt"),
    excludes("a\r\nsecret.txt\r\n", "secret.txt"),
    excludes("\u{FEFF}secret.txt", "secret.txt"),
    excludes("\\#x", "\\#x"),  // a backslash is a literal character, not an escape
    keeps("!#x", "#x"),  // "!#x" is a negation, not a comment
    // Non-ASCII paths and patterns.
    // A pattern ending in a non-ASCII letter needs an ASCII word character after it: `日本` alone
    // never matches, since neither 本 nor "/" is a word character.
    keeps("日本", "日本/x.py"),
    excludes("日本", "日本x/y.py"),
    excludes("données", "données/x.py"),
    excludes("*.🐍", "a.🐍x"),
]

@Suite struct FuncIgnoreTests {
    @Test(arguments: cases)
    func patternsMatchLikeCoreTools(_ c: IgnoreCase) {
        let ignore = FuncIgnore(c.rules)
        #expect(ignore.denies(c.path) == c.denied)
        #expect(ignore.accepts(c.path) == !c.denied)
    }

    @Test func rulesKeepTheirTextLineAndNegation() throws {
        let ignore = FuncIgnore("# header\n\n/tests\r\n  !/keep.py  \n*.md\n")
        #expect(ignore.rules.map(\.text) == ["/tests", "!/keep.py", "*.md"])
        #expect(ignore.rules.map(\.pattern) == ["tests", "keep.py", "*.md"])
        #expect(ignore.rules.map(\.line) == [3, 4, 5])
        #expect(ignore.rules.map(\.isNegation) == [false, true, false])
        let rule = try #require(ignore.excludingRule(for: "tests/a.py"))
        #expect(rule.text == "/tests" && rule.line == 3)
        #expect(ignore.excludingRule(for: "keep.py") == nil)
        #expect(ignore.excludingRule(for: "README.md")?.line == 5)
        #expect(FuncIgnore("").rules.isEmpty && FuncIgnore("").accepts("anything"))
    }

    @Test func theRootPathIsNeverDenied() {
        // Core Tools' Accepts maps "/" to "", which no pattern can match at a boundary.
        #expect(FuncIgnore("*\n**\n/").accepts("/"))
    }

    @Test func hostilePatternsStayLinear() {
        // A backtracking regex would take exponential time on this; the position-set matcher does not.
        let pattern = String(repeating: "**a", count: 40) + "b"
        let path = String(repeating: "a", count: 2000)
        #expect(FuncIgnore(pattern).accepts(path))
    }

    /// Runs the regex Core Tools builds in node, whose ECMAScript regexes are what .NET's
    /// `RegexOptions.ECMAScript` emulates, and compares every answer with FuncIgnore's.
    @Test func agreesWithTheRegexCoreToolsBuilds() async throws {
        let (found, _) = try await shell("command -v node")
        guard found == 0 else { return }  // node is the oracle; without it there is nothing to compare
        let patterns = [
            "__pycache__", "*.pyc", "**/__pycache__", "**/*.pyc", "test", "tests/", "/tests", ".venv", "*",
            "**", "a*b", "a**b", "foo/**", "*.py[cod]", "a?.txt", "docs", "/", "*.md\n!KEEP.md", "!x\nx*",
            "build/*.js", "**/node_modules", "node_modules/", ".git*", "*.🐍", "日本", "données", "a.b", "$x^",
            "(x)", "x|y", "{a,b}", "a+b", "a\\b", "***", "**/*", "*/", "*/**", "local.settings.json",
            "**/.DS_Store", "obj/**/bin",
        ]
        let paths = [
            "__pycache__/a.pyc", "pkg/__pycache__/a.pyc", "a.pyc", "pkg/a.pyc", "a.pyc.bak", "test.py", "test/a.py",
            "tests/a.py", "tests/.x", "test_data.py", "test-data.py", "testé.py", ".venv/bin/py", ".venv2/x",
            "x.py", "...", "axb", "ab", "a/b", "a/x/b", "foo/bar/baz.py", "foo", "x.pyc", "a?.txt", "ab.txt",
            "docs.md", "docs2/x", "main.py", ".env", "README.md", "KEEP.md", "x", "xy", "build/a.js",
            "build/sub/a.js", "src/node_modules/x/index.js", "node_modules/x/index.js", ".github/w.yml",
            ".gitignore", "a.🐍", "a.🐍x", "日本/x.py", "日本語/x.py", "données/x.py", "a.b", "axb.c", "$x^",
            "(x)", "x|y", "{a,b}", "a+b", "a\\b", "abc", "a/b/c", "x/", "local.settings.json",
            "sub/.DS_Store", ".DS_Store", "obj/Debug/bin/x.dll", "obj/bin/x",
        ]
        var inputs: [[String]] = []
        for pattern in patterns { for path in paths { inputs.append([pattern, path]) } }
        for c in cases where !c.rules.contains("\u{FEFF}") { inputs.append([c.rules, c.path]) }

        let dir = try TemporaryDirectory()
        try dir.file("cases.json", Array(try JSONEncoder().encode(inputs)))
        // The translation of GitIgnoreParser.cs, written out for node (BOM cases are left out: the
        // .NET reader strips the BOM before the parser sees the text).
        try dir.file(
            "oracle.js",
            #"""
            const cases = JSON.parse(require('fs').readFileSync(process.argv[2], 'utf8'));
            const translate = (p) => p.replace(/[\-\[\]\/\{\}\(\)\+\?\.\\\^\$\|]/g, '\\$&')
              .split('**').join('(.+)').split('*').join('([^\\/]+)');
            const compile = (list) => list.length
              ? new RegExp('^((' + list.map(translate).join(')|(') + '))\\b') : /$^/;
            const out = cases.map(([text, path]) => {
              const positive = [], negative = [];
              for (let line of text.split('\n').map((l) => l.trim())) {
                if (line === '' || line.startsWith('#')) continue;
                const isNegative = line.startsWith('!');
                if (isNegative) line = line.slice(1);
                if (line.startsWith('/')) line = line.slice(1);
                (isNegative ? negative : positive).push(line);
              }
              const input = path === '/' ? '' : path;
              return !(compile(negative).test(input) || !compile(positive).test(input));
            });
            console.log(JSON.stringify(out));
            """#
        )
        let (status, output) = try await shell("node oracle.js cases.json", in: dir.path)
        try #require(status == 0, "node: \(output)")
        let expected = try JSONDecoder().decode([Bool].self, from: Data(output.utf8))
        try #require(expected.count == inputs.count)
        var disagreements: [String] = []
        for (input, denied) in zip(inputs, expected) where FuncIgnore(input[0]).denies(input[1]) != denied {
            disagreements.append("\(input[0].debugDescription) on \(input[1].debugDescription): node says \(denied)")
        }
        #expect(disagreements.isEmpty, "\(disagreements.joined(separator: "\n"))")
        #expect(expected.contains(true) && expected.contains(false))
    }
}

@Suite struct AppFilesTests {
    /// Builds the app tree the listing tests share.
    private func makeApp(_ dir: TemporaryDirectory) async throws -> String {
        let app = dir.path + "/app"
        for name in [
            "function_app.py", "host.json", "requirements.txt", "README.md", "KEEP.md", "tests/test_x.py",
            "pkg/tests/test_y.py", "pkg/__init__.py", "pkg/__pycache__/x.cpython-311.pyc", "pkg/mod.pyc",
            ".git/config", "sub/.vscode/settings.json", "sub/keep.txt", ".gitignore", "local.settings.json",
            "sub/Local.Settings.JSON", "sub/project.lock.json", ".venv/pyvenv.cfg", "env2/pyvenv.cfg",
            "env2/lib/site.py", ".python_packages/lib/site-packages/x.py", "airlock.lock", "dist/app.zip",
            "b/Z.py", "b/a.py", "b/ä.py", "B.py", "pkg/.python_packages/y.py", "pkg/airlock.lock",
        ] {
            try dir.file("app/" + name, "# \(name)\n")
        }
        try dir.file("app/.funcignore", "# ours\ntests\n*.md\n!KEEP.md\n")
        try dir.file("app/run.sh", "#!/bin/sh\n")
        let (status, log) = try await shell(
            "chmod 0755 run.sh && chmod 0700 b/a.py && mkdir -p .venv/bin && ln -s /usr/bin/python3 .venv/bin/python",
            in: app
        )
        try #require(status == 0, "\(log)")
        return app
    }

    @Test func listsWhatCoreToolsWouldPublishMinusAirlocksOwnExclusions() async throws {
        let dir = try TemporaryDirectory()
        let app = try await makeApp(dir)
        let list = try AppFiles.list(appDirectory: app, outputDirectory: "./dist/")
        #expect(
            list.included.map(\.path) == [
                "B.py", "KEEP.md", "b/Z.py", "b/a.py", "b/ä.py", "function_app.py", "host.json",
                "pkg/.python_packages/y.py", "pkg/__init__.py", "pkg/airlock.lock", "pkg/tests/test_y.py",
                "requirements.txt", "run.sh", "sub/keep.txt",
            ]
        )
        #expect(list.included.filter(\.isExecutable).map(\.path) == ["b/a.py", "run.sh"])

        let reasons = Dictionary(uniqueKeysWithValues: list.excluded.map { ($0.path, $0.reason) })
        let expected: [String: AppFileExclusion] = [
            ".funcignore": .coreTools, ".git": .coreTools, ".gitignore": .coreTools,
            "local.settings.json": .coreTools, "sub/.vscode": .coreTools, "sub/Local.Settings.JSON": .coreTools,
            "sub/project.lock.json": .coreTools,
            "pkg/__pycache__": .bytecode, "pkg/mod.pyc": .bytecode,
            ".venv": .virtualEnvironment, "env2": .virtualEnvironment,
            ".python_packages": .pythonPackages, "airlock.lock": .lockFile, "dist": .outputDirectory,
            "README.md": .funcIgnore(rule: "*.md", line: 3), "tests/test_x.py": .funcIgnore(rule: "tests", line: 2),
        ]
        #expect(reasons == expected)
        #expect(list.excluded.first { $0.path == ".git" }?.isDirectory == true)
        #expect(
            list.excluded.map(\.path) == list.excluded.map(\.path).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        )
        #expect(AppFileExclusion.funcIgnore(rule: "*.md", line: 3).description == ".funcignore line 3: *.md")

        // Without the output directory named, dist/ is app content like any other.
        let plain = try AppFiles.list(appDirectory: app)
        #expect(plain.included.map(\.path).contains("dist/app.zip"))
        #expect(
            try AppFiles.list(appDirectory: app, outputDirectory: app + "/dist").excluded.contains {
                $0.path == "dist" && $0.reason == .outputDirectory
            }
        )
        // An absolute output path is compared after resolving "." and ".." on both sides.
        let roundabout = app + "/../app/./"
        #expect(
            try AppFiles.list(appDirectory: roundabout, outputDirectory: app + "/sub/../dist").excluded.contains {
                $0.path == "dist" && $0.reason == .outputDirectory
            }
        )
        #expect(AppFiles.relativeOutput("/elsewhere/dist", appDirectory: app) == nil)
        #expect(AppFiles.relativeOutput("../dist", appDirectory: app) == nil)
    }

    @Test func symbolicLinksAreRefusedUnlessExcluded() async throws {
        let dir = try TemporaryDirectory()
        let app = try await makeApp(dir)
        let (status, log) = try await shell("ln -s /etc/passwd data.txt && mkdir -p lib && ln -s ../../ lib/up", in: app)
        try #require(status == 0, "\(log)")
        let error = try #require(throws: AppFilesError.self) { try AppFiles.list(appDirectory: app) }
        #expect(error.problems.count == 2)
        #expect(error.problemCodes == [PythonBuildErrorCode.appSymlink.code, PythonBuildErrorCode.appSymlink.code])
        #expect(error.code == PythonBuildErrorCode.appSymlink.code)
        #expect(error.problems[0].hasPrefix(app + "/data.txt: ") && error.problems[1].hasPrefix(app + "/lib/up: "))
        #expect(error.status == .badInput)

        // Once .funcignore excludes them, they are listed as excluded and never followed.
        try dir.file("app/.funcignore", "data.txt\nlib/up\n")
        let list = try AppFiles.list(appDirectory: app)
        #expect(list.excluded.contains { $0.path == "data.txt" && $0.reason == .funcIgnore(rule: "data.txt", line: 1) })
        #expect(list.excluded.contains { $0.path == "lib/up" })
        #expect(!list.included.contains { $0.path.hasPrefix("lib/") || $0.path == "data.txt" })
    }

    @Test func aMissingAppDirectoryIsAUsageError() throws {
        let dir = try TemporaryDirectory()
        let missing = #expect(throws: UsageError.self) { try AppFiles.list(appDirectory: dir.path + "/nope") }
        #expect(missing?.code == PythonErrorCode.noProject.code)
        try dir.file("file", "x")
        let file = #expect(throws: UsageError.self) { try AppFiles.list(appDirectory: dir.path + "/file") }
        #expect(file?.code == PythonErrorCode.noProject.code)
    }
}
