// The `airlock` executable: argument parsing, wiring and printing only. Each subcommand calls one
// library function; all the work and every rule live in the Airlock libraries.

import AirlockCore
import ArgumentParser
import Foundation

struct Airlock: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "airlock",
        abstract: "Carry software into a closed network: seal signed bundles, verify and import them, serve a mirror.",
        discussion: Example.discussion(
            """
            Connected host: lock, fetch and build a Function App, then seal it. Inside the enclave: \
            verify and import the bundle, then deploy. A project's airlock.toml holds the flags a \
            team would otherwise repeat.
            """,
            Example("On the connected host: pin app/requirements.txt for its target", "airlock lock --project app"),
            Example(
                "Inside the enclave: check a bundle against your public key",
                "airlock verify --trust keys/team.pub app.airlock"
            )
        ),
        version: AirlockVersion.current,
        // In workflow order: what runs where.
        groupedSubcommands: [
            CommandGroup(
                name: "Connected host",
                subcommands: [
                    LockCommand.self, FetchCommand.self, BuildCommand.self, ImageCommand.self, GoCommand.self,
                    SealCommand.self,
                ]
            ),
            CommandGroup(
                name: "Enclave",
                subcommands: [
                    VerifyCommand.self, ImportCommand.self, InventoryCommand.self, ServeCommand.self, ExportStaticCommand.self,
                    DeployCommand.self,
                ]
            ),
            CommandGroup(
                name: "Either side",
                subcommands: [
                    AuditCommand.self, RebuildCommand.self, StoreCommand.self, TrustCommand.self, KeyCommand.self, DoctorCommand.self, HistoryCommand.self,
                    ExportCommand.self, SplitCommand.self, SelfCommand.self, CheckELFCommand.self,
                ]
            ),
        ]
    )
}

enum AirlockVersion {
    static let current = "0.1.0"
}

/// The entry point: runs the command and maps every error to one message and Airlock's exit codes
/// (see `ExitStatus`): argument-parser's usage errors become 2, never 64, and no stack traces.
@main
enum Main {
    static func main() async {
        defer { Interrupts.waitIfInterrupted() }
        do {
            var command = try Airlock.parseAsRoot(SealCommand.withDefaultSBOMFormat(Array(CommandLine.arguments.dropFirst())))
            // SIGINT and SIGTERM: children stopped, temporary files removed, exit 130 or 143.
            // `serve` has its own graceful shutdown (in-flight answers finish, then exit 0).
            if !(command is ServeCommand) {
                Interrupts.install { summary in
                    let message =
                        "interrupted by \(summary.signalName): stopped \(summary.stoppedChildren) child process(es), removed \(summary.removedPaths) temporary file(s) and folder(s); nothing half-written is left, and the same command can be run again"
                    printError("airlock: " + message)
                    emitJSONError(code: CoreErrorCode.interrupted.code, message: message)
                }
            }
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as any AirlockError {
            Interrupts.waitIfInterrupted()
            for line in error.description.split(separator: "\n", omittingEmptySubsequences: false) {
                printError("airlock: \(line)")
            }
            emitJSONError(code: error.code, message: error.description)
            exit(error.status.rawValue)
        } catch let error as ExitCode {
            Interrupts.waitIfInterrupted()
            exit(error.rawValue)
        } catch {
            Interrupts.waitIfInterrupted()
            let code = Airlock.exitCode(for: error)
            let message = Airlock.fullMessage(for: error)
            if code == .success {
                // Help, a version or a completion script; help gets its examples last.
                print(Example.movingExamplesToTheEnd(message))
                exit(0)
            }
            let short = Airlock.message(for: error)
            printError("airlock: " + (short.isEmpty ? message : short))
            emitJSONError(code: CoreErrorCode.usage.code, message: short.isEmpty ? message : short)
            printError("See 'airlock --help' or 'airlock help <subcommand>'.")
            exit(ExitStatus.badInput.rawValue)
        }
    }
}

/// With `--json` (before any `--`), the error also goes to standard output as
/// `{"error": {"code": "...", "message": "..."}}`, so scripts read the reason without parsing text.
func emitJSONError(code: ErrorCode, message: String) {
    let arguments = CommandLine.arguments.dropFirst().prefix { $0 != "--" }
    guard arguments.contains("--json") else { return }
    struct Body: Encodable {
        struct Detail: Encodable {
            var code: ErrorCode
            var message: String
        }
        var error: Detail
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    guard let data = try? encoder.encode(Body(error: .init(code: code, message: message))) else { return }
    FileHandle.standardOutput.write(data + Data("\n".utf8))
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// `--store` and `--json`, shared by the commands that use them.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: "The store directory (default: $AIRLOCK_STORE, else ./mirror).")
    var store: String?

    var root: String { Store.resolveRoot(store) }

    func open() throws -> Store { try Store.open(at: root) }
    func openExisting() throws -> Store { try Store.openExisting(at: root) }
}

struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print machine-readable JSON on standard output.")
    var json = false

    func emit(_ value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        FileHandle.standardOutput.write(data + Data("\n".utf8))
    }

    func progress(_ label: String) -> ProgressReporter { ProgressReporter(label: label) }
}
