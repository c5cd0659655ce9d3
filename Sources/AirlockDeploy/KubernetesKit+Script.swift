// The text of a Kubernetes kit's `deploy.sh` and `README.txt`. As in the Cloud Shell kit, the script
// is one fixed body (a raw string, nothing interpolated by Swift) after one block of assignments, the
// only place a configured value appears, each checked when the kit was made and single-quoted by
// `ShellQuote`; the body uses them only as "$VAR" or "${ARRAY[@]}".

import AirlockCore

extension KubernetesKit {
    /// `deploy.sh`: bash, `set -euo pipefail`, passes shellcheck.
    public var deployScript: String {
        let q = ShellQuote.quote
        let assignments = [
            "APP=\(q(configuration.app))",
            "NAMESPACE=\(q(configuration.namespace ?? ""))",
            "IMAGE=\(q(pinnedImage))",
            "DEPLOYMENTS=(\(deployments.map(q).joined(separator: " ")))",
            "NEEDS_KEDA=\(needsKEDA ? 1 : 0)",
            "DEFAULT_WAIT_SECONDS=\(Self.defaultWaitSeconds)",
        ]
        return Self.scriptHeader + assignments.joined(separator: "\n") + "\n" + KitScript.basics + Self.scriptBody
    }

    /// `README.txt`: what the kit is, the one command to run, and what each object is for.
    public var readme: String {
        let c = configuration
        let target = c.namespace.map { "namespace \($0)" } ?? "kubectl's current namespace"
        var objects: [String] = []
        for document in documents {
            let kind = document["kind"]?.stringValue ?? ""
            let name = document["metadata"]?["name"]?.stringValue ?? ""
            let what: String
            switch kind {
            case "Secret":
                what =
                    "the app settings from --settings (\(settings?.values.count ?? 0) given, plus FUNCTIONS_WORKER_RUNTIME if missing), as the pods' environment"
            case "TriggerAuthentication":
                what = "lets KEDA read the connection strings its triggers need from the Secret"
            case "Service": what = "ClusterIP port 80 to the HTTP functions (expose it with your own Ingress or route)"
            case "Deployment" where name == c.app + "-http":
                what = "the HTTP functions, 1 replica (not scaled by KEDA)"
            case "Deployment": what = "the triggered functions, \(c.minReplicas) replica(s) when idle; KEDA scales it"
            case "ScaledObject":
                let triggers = document["spec"]?["triggers"]?.listValue?.compactMap { $0["type"]?.stringValue } ?? []
                what =
                    "KEDA scaling for \(c.app): \(triggers.joined(separator: ", ")) (min \(c.minReplicas), max \(c.maxReplicas.map(String.init) ?? "KEDA's default 100"))"
            default: what = ""
            }
            objects.append("  \(kind) \(name): \(what)")
        }
        let functions = app.functions.map { "\($0.name) (\($0.trigger ?? "no trigger"))" }.joined(separator: ", ")
        var text = """
            Airlock Kubernetes kit for the function app \(c.app), to \(target).
            Made offline by Airlock (airlock deploy kubernetes); it needs nothing from the internet.

              \(Self.manifestsName)  the objects below, for kubectl apply
              \(Self.scriptName)       applies them and waits for the Deployments to roll out
              \(Self.readmeName)      this file

            Where kubectl reaches the cluster (its KUBECONFIG), cd to these files and run:
                bash deploy.sh
            AIRLOCK_KUBE_CONTEXT=NAME picks a kubectl context; AIRLOCK_WAIT_SECONDS (default \(Self.defaultWaitSeconds)) bounds each rollout wait.
            Exit 0: applied and rolled out. 1: a rollout did not finish in time. 2: cannot run.

            Image: \(pinnedImage)
              (\(image.name):\(image.tag), pinned by digest; push it there first, e.g. airlock image push \(image.name):\(image.tag) --to \(c.registry)/\(image.name):\(image.tag))
            Functions: \(functions)

            Objects:
            \(objects.joined(separator: "\n"))

            """
        var notes: [String] = []
        if needsKEDA {
            notes.append(
                "The cluster needs the KEDA 2.x operator installed (its keda.sh/v1alpha1 ScaledObject and TriggerAuthentication CRDs); deploy.sh checks for them first."
            )
        } else {
            notes.append("No ScaledObject: this app has only HTTP functions, so KEDA is not needed.")
        }
        if let namespace = c.namespace {
            notes.append("The namespace must exist (kubectl create namespace \(namespace)).")
        }
        if hasSecret {
            notes.append(
                "manifests.yaml holds the settings' values (connection strings) in clear text: keep it like the settings file (it is written 0600)."
            )
        }
        if let pullSecret = c.pullSecret {
            notes.append("The pods pull with the image pull secret \(pullSecret), which must exist in the namespace.")
        }
        if app.functions.contains(where: { $0.trigger == "timerTrigger" }) {
            notes.append(
                "Timer functions: KEDA's cron trigger holds 1 replica from each firing for \(Self.cronWindowMinutes) minutes (then the cooldown); the host runs the timer itself."
            )
        }
        notes += self.notes
        text += "Notes:\n" + notes.map { "  - " + $0 }.joined(separator: "\n") + "\n"
        return text
    }

    private static let scriptHeader = #"""
        #!/usr/bin/env bash
        # deploy.sh: applies manifests.yaml with kubectl and waits until each Deployment has rolled out.
        # Made offline by Airlock (airlock deploy kubernetes). Run it where kubectl reaches the cluster,
        # from any directory:  bash deploy.sh
        #
        # 1. checks that kubectl is there and, when the kit has a ScaledObject, that the cluster serves
        #    KEDA 2.x's keda.sh API (ScaledObject, TriggerAuthentication);
        # 2. kubectl apply -f manifests.yaml;
        # 3. kubectl rollout status for each Deployment, each bounded by the wait below.
        # Exit codes: 0 applied and rolled out; 1 a rollout did not finish in time; 2 it cannot be done as
        # asked (kubectl or manifests.yaml missing, KEDA not installed, a bad override). Other codes are
        # kubectl's own.
        # Overrides: AIRLOCK_KUBE_CONTEXT (kubectl --context), AIRLOCK_WAIT_SECONDS (each rollout's wait).
        set -euo pipefail

        # What this kit deploys, fixed when Airlock wrote it (each value checked, then single-quoted).

        """#

    private static let scriptBody = #"""
        KUBE_CONTEXT=${AIRLOCK_KUBE_CONTEXT:-}
        # kubectl reads a timeout of 0 as no timeout at all; the wait is always bounded.
        [ "$WAIT_SECONDS" -ge 1 ] || fail 2 "AIRLOCK_WAIT_SECONDS='$WAIT_SECONDS': give at least 1 second"

        KUBECTL=(kubectl)
        if [ -n "$KUBE_CONTEXT" ]; then
            KUBECTL+=(--context "$KUBE_CONTEXT")
        fi
        NAMESPACE_ARGS=()
        if [ -n "$NAMESPACE" ]; then
            NAMESPACE_ARGS=(--namespace "$NAMESPACE")
        fi
        run_kubectl() {
            say "kubectl $*"
            "${KUBECTL[@]}" "$@"
        }

        # 1. kubectl, the manifests next to this script, and KEDA when the kit scales with it.
        cd -- "$(dirname -- "${BASH_SOURCE[0]}")"
        command -v kubectl >/dev/null 2>&1 || fail 2 "kubectl not found on PATH"
        [ -f manifests.yaml ] || fail 2 "manifests.yaml: not found next to deploy.sh"
        if [ "$NEEDS_KEDA" = 1 ]; then
            if ! resources=$("${KUBECTL[@]}" api-resources --api-group=keda.sh -o name); then
                fail 2 "kubectl api-resources failed: is kubectl configured for the cluster?"
            fi
            for resource in scaledobjects.keda.sh triggerauthentications.keda.sh; do
                case $'\n'"$resources"$'\n' in
                    *$'\n'"$resource"$'\n'*) ;;
                    *) fail 2 "the cluster does not serve $resource: install the KEDA 2.x operator first" ;;
                esac
            done
        fi

        # 2. Apply every object of the kit.
        say "deploying $APP ($IMAGE)"
        run_kubectl apply -f manifests.yaml

        # 3. Wait for each Deployment, each within WAIT_SECONDS.
        for deployment in "${DEPLOYMENTS[@]}"; do
            if ! run_kubectl "${NAMESPACE_ARGS[@]}" rollout status "deployment/$deployment" --timeout "${WAIT_SECONDS}s"; then
                fail 1 "deployment/$deployment did not roll out within ${WAIT_SECONDS}s (kubectl describe deployment/$deployment says why)"
            fi
        done
        say "done: ${DEPLOYMENTS[*]} rolled out"

        """#
}
