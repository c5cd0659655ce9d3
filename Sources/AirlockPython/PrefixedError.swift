// An error passed on with what it concerned said first. UsageError and CheckFailure take their code
// as an `ErrorCodes` case only, so one caught and re-thrown with more said would lose its code; this
// keeps it.

package import AirlockCore

/// `error`, its message after `prefix` (`the build requirements of X: ...`), with its code and its
/// exit status.
package struct PrefixedError: AirlockError {
    package let description: String
    package let status: ExitStatus
    package let code: ErrorCode

    init(_ prefix: String, _ error: any AirlockError) {
        description = prefix + ": " + error.description
        status = error.status
        code = error.code
    }
}
