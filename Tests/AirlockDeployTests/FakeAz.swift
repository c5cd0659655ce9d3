// A recording stand-in for the Azure CLI, and a fixture that writes a kit and runs its deploy.sh with
// the stand-in first on PATH. The stand-in refuses commands and options the real az 2.91 does not
// have, and answers in the shapes of /work/shared/az-samples (function list names "<app>/<function>",
// appsettings set lists every setting with its value redacted, config-zip returns the Kudu deployment
// or, on Flex, the string "Deployment was successful."). A query it has no canned answer for fails
// with exit 3, so a change in how deploy.sh asks shows up as a failing test, not a silent pass.

import AirlockCore
import AirlockDeploy
import AirlockTestSupport
import Testing

/// The stand-in's bash source. Each call is logged as one line of $AZ_LOG, its arguments separated
/// by tabs.
let fakeAzScript = #"""
    #!/usr/bin/env bash
    # Stand-in for az (the Azure CLI) in deploy.sh's tests. Driven by:
    #   FAKE_AZ_SKU            what `functionapp show --query sku` prints (FlexConsumption, Dynamic, ...)
    #   FAKE_AZ_PLAN_TIER      the App Service plan's sku.tier (read when the sku comes back empty)
    #   FAKE_AZ_FEATURE_FLAGS  the app's current AzureWebJobsFeatureFlags (empty: not set)
    #   FAKE_AZ_FUNCTIONS      the functions the app lists once they appear (space-separated)
    #   FAKE_AZ_LIST_FROM      the function list call (1, 2, ...) from which they appear; 0: never
    #   FAKE_AZ_LOGGED_OUT     non-empty: every call fails as az does before az login
    # and, for the container kits:
    #   FAKE_AZ_REGISTRY_HAS   the manifest digests the registry has (space-separated)
    #   FAKE_AZ_TAG_DIGEST     what the registry's tag names (empty: no such tag)
    #   FAKE_AZ_ROLES          role assignments that exist before the run ("ROLE@SCOPE" lines)
    #   FAKE_AZ_KV_RBAC        the vault's enableRbacAuthorization (default true)
    #   FAKE_AZ_CREDENTIALS    yes: the app has DOCKER_REGISTRY_SERVER_USERNAME/PASSWORD settings
    #   FAKE_AZ_HOST           the web app's defaultHostName
    #   FAKE_AZ_WEBHOOK        yes: the registry already has the kit's webhook
    # State between calls (role assignments, settings, the container image) is kept next to $AZ_LOG.
    set -euo pipefail
    (
        IFS=$'\t'
        printf '%s\n' "$*"
    ) >>"$AZ_LOG"

    if [ -n "${FAKE_AZ_LOGGED_OUT:-}" ]; then
        echo "ERROR: Please run 'az login' to setup account." >&2
        exit 1
    fi

    words=()
    while [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; do
        words+=("$1")
        shift
    done
    command=${words[*]}

    case $command in
        "account set") allowed=" --subscription " ;;
        "account show") allowed=" --query --output " ;;
        "functionapp show" | "webapp show") allowed=" --resource-group --name --slot --query --output " ;;
        "appservice plan show") allowed=" --ids --resource-group --name --query --output " ;;
        "functionapp config appsettings list" | "webapp config appsettings list") allowed=" --resource-group --name --slot --query --output " ;;
        "functionapp config appsettings set" | "webapp config appsettings set") allowed=" --resource-group --name --slot --settings --slot-settings --output " ;;
        "functionapp config appsettings delete" | "webapp config appsettings delete") allowed=" --resource-group --name --slot --setting-names --output " ;;
        "functionapp deployment source config-zip") allowed=" --resource-group --name --slot --src --build-remote --timeout --output " ;;
        "functionapp function list") allowed=" --resource-group --name --slot --query --output " ;;
        "functionapp identity assign" | "webapp identity assign") allowed=" --resource-group --name --slot --identities --role --scope --query --output " ;;
        "identity show") allowed=" --ids --resource-group --name --query --output " ;;
        "acr show") allowed=" --name --resource-group --query --output " ;;
        "acr repository show") allowed=" --name --image --repository --query --output " ;;
        "role assignment list") allowed=" --assignee --role --scope --all --query --output " ;;
        "role assignment create") allowed=" --assignee --assignee-object-id --assignee-principal-type --role --scope --output " ;;
        "keyvault show") allowed=" --name --resource-group --query --output " ;;
        "keyvault set-policy") allowed=" --name --object-id --secret-permissions --key-permissions --certificate-permissions --output " ;;
        "resource update") allowed=" --ids --set --add --remove --output " ;;
        "webapp config set") allowed=" --resource-group --name --slot --acr-use-identity --acr-identity --output " ;;
        "functionapp update" | "webapp update") allowed=" --resource-group --name --slot --set --add --remove --output " ;;
        "functionapp config container set") allowed=" --resource-group --name --slot --image --registry-server --registry-username --registry-password --output " ;;
        "webapp config container set") allowed=" --resource-group --name --slot --container-image-name --container-registry-url --container-registry-user --container-registry-password --output " ;;
        "functionapp config show" | "webapp config show") allowed=" --resource-group --name --slot --query --output " ;;
        "webapp deployment container config") allowed=" --resource-group --name --slot --enable-cd --query --output " ;;
        "acr webhook show") allowed=" --registry --name --query --output " ;;
        "acr webhook create" | "acr webhook update") allowed=" --registry --name --actions --uri --scope --status --output " ;;
        *)
            echo "ERROR: '$command' is misspelled or not recognized by the system." >&2
            exit 2
            ;;
    esac

    declare -A opt=()
    settings=()
    while [ $# -gt 0 ]; do
        key=$1
        shift
        case $key in
            -g) key=--resource-group ;;
            -n) key=--name ;;
            -s) key=--slot ;;
            -o) key=--output ;;
            -t) key=--timeout ;;
            *) ;;
        esac
        if [ "${allowed/ $key /}" = "$allowed" ]; then
            echo "ERROR: unrecognized arguments: $key" >&2
            exit 2
        fi
        case $key in
            --settings | --set | --setting-names | --actions | --identities)
                values=()
                while [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; do
                    values+=("$1")
                    shift
                done
                if [ "$key" = --settings ]; then settings=("${values[@]}"); fi
                opt[$key]=${#values[@]}
                continue
                ;;
            --acr-use-identity | --enable-cd)
                # Boolean flags: a value is optional.
                if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then
                    opt[$key]=$1
                    shift
                else
                    opt[$key]=true
                fi
                continue
                ;;
            *) ;;
        esac
        if [ $# -eq 0 ]; then
            echo "ERROR: argument $key: expected one argument" >&2
            exit 2
        fi
        opt[$key]=$1
        shift
    done

    need() {
        local k
        for k in "$@"; do
            if [ -z "${opt[$k]:-}" ] || [ "${opt[$k]}" = 0 ]; then
                echo "ERROR: the following arguments are required: $k" >&2
                exit 2
            fi
        done
    }
    state=$AZ_LOG.state
    if [ "${FAKE_AZ_CREDENTIALS:-}" = yes ] && [ ! -f "$state.started" ]; then touch "$state.credentials"; fi
    touch "$state.started"
    rg_id=/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/${opt[--resource-group]:-rg}
    system_principal=11111111-1111-1111-1111-111111111111
    output=${opt[--output]:-json}
    query=${opt[--query]:-}
    unknown() {
        echo "fake az: no canned answer for '$command' with --query '$query' --output '$output'" >&2
        exit 3
    }
    answer() {
        if [ "$output" != none ]; then printf '%s\n' "$@"; fi
    }

    case $command in
        "account set")
            need --subscription
            ;;
        "account show")
            case "$query|$output" in
                "name|tsv") answer "Contoso Production" ;;
                *) unknown ;;
            esac
            ;;
        "functionapp show" | "webapp show")
            need --resource-group --name
            case "$query|$output" in
                "id|tsv") answer "$rg_id/providers/Microsoft.Web/sites/${opt[--name]}" ;;
                "defaultHostName|tsv") answer "${FAKE_AZ_HOST:-${opt[--name]}.azurewebsites.net}" ;;
                "sku|tsv") answer "${FAKE_AZ_SKU:-}" ;;
                "serverFarmId|tsv") answer "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/${opt[--resource-group]}/providers/Microsoft.Web/serverfarms/plan1" ;;
                *) unknown ;;
            esac
            ;;
        "appservice plan show")
            need --ids
            case "$query|$output" in
                "sku.tier|tsv") answer "${FAKE_AZ_PLAN_TIER:-}" ;;
                *) unknown ;;
            esac
            ;;
        "functionapp config appsettings list" | "webapp config appsettings list")
            need --resource-group --name
            case "$query|$output" in
                "[?name=='DOCKER_REGISTRY_SERVER_USERNAME' || name=='DOCKER_REGISTRY_SERVER_PASSWORD'].name|tsv")
                    if [ -f "$state.credentials" ]; then answer DOCKER_REGISTRY_SERVER_USERNAME DOCKER_REGISTRY_SERVER_PASSWORD; fi
                    ;;
                "[?name=='AzureWebJobsFeatureFlags'].value | [0]|tsv") answer "${FAKE_AZ_FEATURE_FLAGS:-}" ;;
                "[?name=='FUNCTIONS_WORKER_RUNTIME'].value | [0]|tsv") answer "${FAKE_AZ_WORKER_RUNTIME:-custom}" ;;
                *) unknown ;;
            esac
            ;;
        "functionapp config appsettings set" | "webapp config appsettings set")
            need --resource-group --name --settings
            names=(FUNCTIONS_EXTENSION_VERSION FUNCTIONS_WORKER_RUNTIME)
            for s in "${settings[@]}"; do
                case $s in
                    ?*=*) names+=("${s%%=*}") ;;
                    *)
                        echo "ERROR: usage error: --settings KEY=VALUE [KEY=VALUE ...]" >&2
                        exit 2
                        ;;
                esac
            done
            if [ "$output" = json ]; then
                printf '[\n'
                last=$((${#names[@]} - 1))
                for i in "${!names[@]}"; do
                    comma=,
                    if [ "$i" -eq "$last" ]; then comma=; fi
                    printf '  {\n    "name": "%s",\n    "slotSetting": false,\n    "value": null\n  }%s\n' "${names[$i]}" "$comma"
                done
                printf ']\n'
            elif [ "$output" != none ]; then
                unknown
            fi
            ;;
        "functionapp deployment source config-zip")
            need --resource-group --name --src
            if [ ! -f "${opt[--src]}" ]; then
                echo "ERROR: Either '${opt[--src]}' does not exist or is not a file" >&2
                exit 1
            fi
            case ${opt[--build-remote]:-} in
                '' | true | false) ;;
                *)
                    echo "ERROR: argument --build-remote: invalid choice: '${opt[--build-remote]}' (choose from 'false', 'true')" >&2
                    exit 2
                    ;;
            esac
            if [ "${FAKE_AZ_SKU:-}" = FlexConsumption ]; then
                answer '"Deployment was successful."'
            else
                answer "{" '  "active": true,' '  "complete": true,' '  "deployer": "ZipDeploy",' \
                    '  "message": "Created via a push deployment",' '  "provisioningState": "Succeeded",' \
                    "  \"site_name\": \"${opt[--name]}\"," '  "status": 4' "}"
            fi
            ;;
        "functionapp function list")
            need --resource-group --name
            count_file="$AZ_LOG.function-list"
            n=1
            if [ -f "$count_file" ]; then n=$(($(cat "$count_file") + 1)); fi
            echo "$n" >"$count_file"
            from=${FAKE_AZ_LIST_FROM:-1}
            names=()
            if [ "$from" -gt 0 ] && [ "$n" -ge "$from" ]; then read -ra names <<<"${FAKE_AZ_FUNCTIONS:-}"; fi
            # A slot's functions are assumed to be named "<app>/<slot>/<function>" (ARM child naming).
            prefix=${opt[--name]}/
            if [ -n "${opt[--slot]:-}" ]; then prefix=$prefix${opt[--slot]}/; fi
            case "$query|$output" in
                "[].name|tsv")
                    for f in "${names[@]}"; do printf '%s%s\n' "$prefix" "$f"; done
                    ;;
                *) unknown ;;
            esac
            ;;
        "functionapp identity assign" | "webapp identity assign")
            need --resource-group --name
            case "$query|$output" in
                "principalId|tsv") answer "$system_principal" ;;
                "|none") ;;
                *) unknown ;;
            esac
            ;;
        "identity show")
            need --ids
            case "$query|$output" in
                "principalId|tsv") answer 22222222-2222-2222-2222-222222222222 ;;
                "clientId|tsv") answer 33333333-3333-3333-3333-333333333333 ;;
                *) unknown ;;
            esac
            ;;
        "acr show")
            need --name
            case "$query|$output" in
                "id|tsv") answer "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-registry/providers/Microsoft.ContainerRegistry/registries/${opt[--name]}" ;;
                *) unknown ;;
            esac
            ;;
        "acr repository show")
            need --name --image
            [ "$query|$output" = "digest|tsv" ] || unknown
            image=${opt[--image]}
            if [ "${image#*@}" != "$image" ]; then
                for d in ${FAKE_AZ_REGISTRY_HAS:-}; do
                    if [ "$d" = "${image#*@}" ]; then
                        answer "$d"
                        exit 0
                    fi
                done
            elif [ -n "${FAKE_AZ_TAG_DIGEST:-}" ]; then
                answer "$FAKE_AZ_TAG_DIGEST"
                exit 0
            fi
            echo "ERROR: manifest unknown: $image" >&2
            exit 1
            ;;
        "role assignment list")
            need --assignee --role --scope
            [ "$query|$output" = "length(@)|tsv" ] || unknown
            key="${opt[--assignee]} ${opt[--role]}@${opt[--scope]}"
            n=0
            if [ -f "$state.roles" ]; then n=$(grep -cxF -- "$key" "$state.roles" || true); fi
            while IFS= read -r line; do
                if [ -n "$line" ] && [ "$line" = "$key" ]; then n=$((n + 1)); fi
            done <<<"${FAKE_AZ_ROLES:-}"
            answer "$n"
            ;;
        "role assignment create")
            need --role --scope --assignee-object-id
            if [ "${opt[--assignee-principal-type]:-}" != ServicePrincipal ]; then
                echo "fake az: a managed identity is a ServicePrincipal" >&2
                exit 3
            fi
            printf '%s\n' "${opt[--assignee-object-id]} ${opt[--role]}@${opt[--scope]}" >>"$state.roles"
            [ "$output" = none ] || unknown
            ;;
        "keyvault show")
            need --name
            case "$query|$output" in
                "id|tsv") answer "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-vault/providers/Microsoft.KeyVault/vaults/${opt[--name]}" ;;
                "properties.vaultUri|tsv") answer "https://${opt[--name]}.vault.azure.net/" ;;
                "properties.enableRbacAuthorization|tsv") answer "${FAKE_AZ_KV_RBAC:-true}" ;;
                *) unknown ;;
            esac
            ;;
        "keyvault set-policy")
            need --name --object-id --secret-permissions
            [ "$output" = none ] || unknown
            ;;
        "resource update")
            need --ids --set
            [ "$output" = none ] || unknown
            ;;
        "webapp config set")
            need --resource-group --name
            [ "$output" = none ] || unknown
            ;;
        "functionapp update" | "webapp update")
            need --resource-group --name --set
            [ "$output" = none ] || unknown
            ;;
        "functionapp config appsettings delete" | "webapp config appsettings delete")
            need --resource-group --name --setting-names
            rm -f "$state.credentials"
            [ "$output" = none ] || unknown
            ;;
        "functionapp config container set" | "webapp config container set")
            need --resource-group --name
            image=${opt[--image]:-${opt[--container-image-name]:-}}
            [ -n "$image" ] || { echo "ERROR: no image given" >&2; exit 2; }
            printf 'DOCKER|%s\n' "$image" >"$state.fx"
            # With a registry URL and no credentials, az looks up the registry's admin credentials.
            if [ -n "${opt[--registry-server]:-}${opt[--container-registry-url]:-}" ]; then touch "$state.credentials"; fi
            [ "$output" = none ] || unknown
            ;;
        "functionapp config show" | "webapp config show")
            need --resource-group --name
            [ "$query|$output" = "linuxFxVersion|tsv" ] || unknown
            if [ -f "$state.fx" ]; then cat "$state.fx"; else answer ""; fi
            ;;
        "webapp deployment container config")
            need --resource-group --name --enable-cd
            [ "$query|$output" = "CI_CD_URL|tsv" ] || unknown
            answer "https://\$${opt[--name]}:fakePublishingPassword123@${opt[--name]}.scm.azurewebsites.net/api/registry/webhook"
            ;;
        "acr webhook show")
            need --registry --name
            if [ "${FAKE_AZ_WEBHOOK:-}" = yes ]; then answer "${opt[--name]}"; else
                echo "ERROR: (ResourceNotFound) The Resource 'webhooks/${opt[--name]}' was not found." >&2
                exit 3
            fi
            ;;
        "acr webhook create" | "acr webhook update")
            need --registry --name --uri --actions
            [ "$output" = none ] || unknown
            ;;
        *) unknown ;;
    esac
    """#

/// The outcome of one deploy.sh run.
struct ScriptRun: CustomStringConvertible {
    var status: Int32
    var output: String
    /// Every az call, in order, as its argument list.
    var calls: [[String]]
    var seconds: Double

    var description: String {
        "exit \(status)\n--- output\n\(output)--- az calls\n"
            + calls.map { $0.joined(separator: " ") }.joined(separator: "\n")
    }

    /// The calls whose leading words are `command` (e.g. "functionapp config appsettings set").
    func calls(_ command: String) -> [[String]] {
        let words = command.split(separator: " ").map(String.init)
        return calls.filter { Array($0.prefix(words.count)) == words }
    }

    /// The value after `option` in a call, if present.
    /// The KEY=VALUE words after `--settings` in an `appsettings set` call.
    static func settings(in call: [String]) throws -> [String] {
        let start = try #require(call.firstIndex(of: "--settings")) + 1
        return Array(call[start...].prefix { !$0.hasPrefix("--") })
    }

    static func value(of option: String, in call: [String]) -> String? {
        guard let i = call.firstIndex(of: option), i + 1 < call.count else { return nil }
        return call[i + 1]
    }
}

/// A temp dir holding a source zip, the kit written from it (`kit/`) and the stand-in (`bin/az`).
final class KitFixture {
    let dir: TemporaryDirectory
    let written: CloudShellKit.Written
    let zipBytes: [UInt8]

    var kitPath: String { written.directory }
    var logPath: String { dir.path + "/az.log" }

    init(_ configuration: CloudShellKit.Configuration, zipName: String = "function_app.zip") throws {
        dir = try TemporaryDirectory()
        zipBytes = fixtureZip(seed: 7)
        let source = try dir.file("build/" + zipName, zipBytes)
        written = try CloudShellKit.write(configuration, zip: .file(path: source), to: dir.path + "/kit")
        try FileSystem.makeDirectory(dir.path + "/bin")
        try FileSystem.writeAtomically(dir.path + "/bin/az", Array(fakeAzScript.utf8), mode: 0o755)
    }

    /// Runs `bash kit/deploy.sh` from the temp dir (not the kit's directory) with the stand-in first
    /// on PATH, the given environment, and polls that never sleep unless asked to.
    func run(_ environment: [String: String] = [:]) async throws -> ScriptRun {
        try await runKitScript(in: dir.path, environment)
    }
}

/// Runs `bash kit/deploy.sh` in `directory` (which holds `kit/` and `bin/az`) with the stand-in first
/// on PATH, its log at `directory/az.log`, and polls that never sleep unless asked to.
func runKitScript(in directory: String, _ environment: [String: String] = [:]) async throws -> ScriptRun {
    let logPath = directory + "/az.log"
    var env = ["AZ_LOG": logPath, "AIRLOCK_POLL_INTERVAL": "0", "AIRLOCK_WAIT_SECONDS": "5"]
    env.merge(environment) { $1 }
    let assignments = env.sorted { $0.key < $1.key }.map { "\($0.key)=\(ShellQuote.quote($0.value))" }
    let command =
        "PATH=\(ShellQuote.quote(directory + "/bin")):\"$PATH\" "
        + assignments.joined(separator: " ") + " bash kit/deploy.sh"
    let started = ContinuousClock.now
    let (status, output) = try await shell(command, in: directory)
    let elapsed = ContinuousClock.now - started
    let log = FileSystem.exists(logPath) ? String(decoding: try FileSystem.readFile(logPath), as: UTF8.self) : ""
    let calls = log.split(separator: "\n").map {
        $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
    }
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    return ScriptRun(status: status, output: output, calls: calls, seconds: seconds)
}

/// Bytes that start like a zip (a local file header signature) and are otherwise pseudo-random:
/// the kit only checks the signature, and the stand-in never unpacks it.
func fixtureZip(seed: UInt64) -> [UInt8] {
    [0x50, 0x4B, 0x03, 0x04] + pseudoRandom(4096, seed: seed)
}

/// A configuration with the test defaults.
func configuration(
    app: String = "myapp",
    resourceGroup: String = "rg1",
    subscription: String? = nil,
    slot: String? = nil,
    plan: CloudShellKit.Plan = .premium,
    expect: [String] = ["hello", "on_queue"],
    waitMinutes: Int = 10,
    runtime: CloudShellKit.WorkerRuntime = .python
) throws -> CloudShellKit.Configuration {
    try CloudShellKit.Configuration(
        resourceGroup: resourceGroup,
        app: app,
        subscription: subscription,
        slot: slot,
        plan: plan,
        expectedFunctions: expect,
        waitMinutes: waitMinutes,
        runtime: runtime
    )
}
