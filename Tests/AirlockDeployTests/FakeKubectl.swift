// A recording stand-in for kubectl, for the Kubernetes kit's deploy.sh. It accepts only the calls the
// script is meant to make (api-resources for the keda.sh group, apply -f FILE, rollout status
// deployment/NAME --timeout Ns, each with an optional --context and --namespace) and fails with
// exit 3 on anything else, so a change in how deploy.sh calls kubectl shows up as a failing test.

import AirlockCore
import AirlockDeploy
import AirlockTestSupport

/// The stand-in's bash source. Each call is logged as one line of $KUBECTL_LOG, its arguments
/// separated by tabs.
let fakeKubectlScript = #"""
    #!/usr/bin/env bash
    # Stand-in for kubectl in deploy.sh's tests. Driven by:
    #   FAKE_KUBECTL_NO_KEDA     non-empty: api-resources lists nothing for keda.sh
    #   FAKE_KUBECTL_STUCK       a deployment whose rollout status times out (exit 1)
    set -euo pipefail
    (
        IFS=$'\t'
        printf '%s\n' "$*"
    ) >>"$KUBECTL_LOG"

    args=()
    while [ $# -gt 0 ]; do
        case $1 in
            --context | --namespace)
                [ $# -ge 2 ] || { echo "error: flag needs an argument: $1" >&2; exit 3; }
                shift 2
                ;;
            *)
                args+=("$1")
                shift
                ;;
        esac
    done
    set -- "${args[@]}"

    case "${1:-} ${2:-}" in
        "api-resources --api-group=keda.sh")
            if [ "${3:-} ${4:-}" != "-o name" ] || [ $# -ne 4 ]; then
                echo "error: unexpected api-resources call" >&2
                exit 3
            fi
            if [ -z "${FAKE_KUBECTL_NO_KEDA:-}" ]; then
                printf '%s\n' clustertriggerauthentications.keda.sh scaledjobs.keda.sh scaledobjects.keda.sh triggerauthentications.keda.sh
            fi
            ;;
        "apply -f")
            if [ $# -ne 3 ] || [ ! -f "$3" ]; then
                echo "error: the path \"${3:-}\" does not exist" >&2
                exit 3
            fi
            grep '^  name: ' "$3" | sed 's/^  name: /configured /'
            ;;
        "rollout status")
            if [ $# -ne 5 ] || [ "$4" != --timeout ]; then
                echo "error: unexpected rollout call" >&2
                exit 3
            fi
            case $3 in deployment/*) ;; *) echo "error: not a deployment: $3" >&2; exit 3 ;; esac
            case $5 in *[0-9]s) ;; *) echo "error: invalid timeout $5" >&2; exit 3 ;; esac
            if [ "${3#deployment/}" = "${FAKE_KUBECTL_STUCK:-}" ]; then
                echo "error: timed out waiting for the condition" >&2
                exit 1
            fi
            echo "deployment \"${3#deployment/}\" successfully rolled out"
            ;;
        *)
            echo "error: unknown command \"$*\" for kubectl (stand-in)" >&2
            exit 3
            ;;
    esac
    """#

/// Runs a written kit's deploy.sh with the stand-in first on PATH; returns its exit status, its
/// output, and the stand-in's calls (each a list of arguments).
func runDeployScript(
    _ written: KubernetesKit.Written,
    in dir: TemporaryDirectory,
    environment extra: [String: String] = [:],
    withKubectl: Bool = true
) async throws -> (status: Int32, output: String, calls: [[String]]) {
    let bin = dir.path + "/bin"
    if withKubectl {
        try FileSystem.makeDirectory(bin)
        try FileSystem.writeAtomically(bin + "/kubectl", Array(fakeKubectlScript.utf8), mode: 0o755)
    } else {
        try FileSystem.makeDirectory(bin)
    }
    // The one external tool deploy.sh itself runs; without the stand-in nothing else is on PATH, so
    // a kubectl installed on this machine cannot answer for it.
    try FileSystem.writeAtomically(
        bin + "/dirname",
        Array("#!/bin/sh\nexec /usr/bin/dirname \"$@\"\n".utf8),
        mode: 0o755
    )
    let log = dir.path + "/kubectl.log"
    try dir.file("kubectl.log", "")
    var environment = ChildProcess.inheritedEnvironment()
    // The stand-in first: it shadows any real kubectl on this machine.
    environment["PATH"] = withKubectl ? bin + ":/usr/bin:/bin" : bin
    environment["KUBECTL_LOG"] = log
    for key in ["AIRLOCK_WAIT_SECONDS", "AIRLOCK_KUBE_CONTEXT", "KUBECONFIG"] { environment[key] = nil }
    for (key, value) in extra { environment[key] = value }
    // Run from elsewhere: the script finds its manifests next to itself.
    let (status, output) = try await shell(
        "/bin/bash " + ShellQuote.quote(written.scriptPath),
        in: dir.path,
        environment: environment
    )
    let calls = String(decoding: try FileSystem.readFile(log), as: UTF8.self)
        .split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
    return (status, output, calls)
}
