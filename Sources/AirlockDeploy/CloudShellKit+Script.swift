// The text of a kit's `deploy.sh` and `README.txt`. The script is one fixed body (a raw string, so
// nothing in it is interpolated by Swift) after one block of variable assignments: the only place
// a configured value appears, each one checked by `Configuration` and single-quoted by `ShellQuote`.
// The body uses them only as "$VAR" or "${ARRAY[@]}", so no value is ever parsed as shell code.
//
// What the script does per plan (AZURE-FACTS.md section 4):
// - Premium and Dedicated (the VNet-integrated closed-network case): SCM_DO_BUILD_DURING_DEPLOYMENT=false,
//   ENABLE_ORYX_BUILD=false, WEBSITE_RUN_FROM_PACKAGE=1, AzureWebJobsFeatureFlags with EnableWorkerIndexing.
// - Linux Consumption: the same minus WEBSITE_RUN_FROM_PACKAGE (config-zip uploads the package to
//   storage and sets WEBSITE_RUN_FROM_PACKAGE to its URL, the only form Consumption runs).
// - Flex Consumption: no app settings (Flex always runs from its package and does not use
//   deployment settings; WEBSITE_RUN_FROM_PACKAGE must never be set there) and no slots.
// - Every plan: `config-zip --build-remote false`. The zip already carries its dependencies; on Flex
//   az would otherwise default to a remote build for Python, which needs the public package index.
// EnableWorkerIndexing is added to the app's existing feature flags rather than replacing them, so a
// flag such as EnableHttpProxying survives the deploy.
// - A custom handler (a Go zip): FUNCTIONS_WORKER_RUNTIME=custom (az's and core tools' moniker) on
//   every plan but Flex (which takes its runtime from functionAppConfig), and no Python setting; an
//   app whose FUNCTIONS_WORKER_RUNTIME is another language is refused before anything changes.

import AirlockCore

extension CloudShellKit {
    /// The default pause between two `function list` polls; AIRLOCK_POLL_INTERVAL overrides it.
    public static let defaultPollSeconds = KitScript.defaultPollSeconds

    /// `deploy.sh`: bash, `set -euo pipefail`, passes shellcheck.
    public var deployScript: String {
        let c = configuration
        let q = ShellQuote.quote
        let assignments = [
            "RESOURCE_GROUP=\(q(c.resourceGroup))",
            "APP=\(q(c.app))",
            "SLOT=\(q(c.slot ?? ""))",
            "SUBSCRIPTION=\(q(c.subscription ?? ""))",
            "PLAN=\(q(c.plan.rawValue))",
            "WORKER_RUNTIME=\(q(c.runtime.rawValue))",
            "ZIP=\(q(zipName))",
            "ZIP_SHA256=\(q(zipDigest.hex))",
            "EXPECTED_FUNCTIONS=(\(c.expectedFunctions.map(q).joined(separator: " ")))",
            "DEFAULT_WAIT_SECONDS=\(c.waitMinutes * 60)",
            "DEFAULT_POLL_INTERVAL=\(Self.defaultPollSeconds)",
        ]
        return Self.scriptHeader + assignments.joined(separator: "\n") + "\n" + KitScript.helpers + Self.scriptBody
    }

    /// `README.txt`: what the kit is and the one command to run.
    public var readme: String {
        let c = configuration
        var target = "the Function App \(c.app) in resource group \(c.resourceGroup)"
        if let slot = c.slot { target += ", slot \(slot)" }
        if let subscription = c.subscription { target += ", subscription \(subscription)" }
        let planText = c.plan == .auto ? "read from az functionapp show" : c.plan.rawValue
        let width = checksumName.count + 2
        func row(_ name: String, _ what: String) -> String {
            "  " + name + String(repeating: " ", count: width - name.count) + what
        }
        return """
            Airlock deploy kit for \(target).
            Made offline by Airlock (airlock deploy cloudshell); it needs nothing from the internet.

            \(row(zipName, "the function app as built: deployed as it is, no remote build"))
            \(row(checksumName, "its SHA-256, in sha256sum format"))
            \(row(Self.scriptName, "the deploy script"))

            In Azure Cloud Shell (Bash), where az is logged in, upload these files, cd to them and run:
                bash deploy.sh
            You need rights to change the app. The script checks the zip's hash before anything else,
            selects the subscription, sets the app settings for the app's plan (\(planText)) and worker (\(c.runtime == .custom ? "custom handler" : "Python")),
            deploys with az functionapp deployment source config-zip, then waits up to \(c.waitMinutes) minutes
            until these functions are listed: \(c.expectedFunctions.joined(separator: ", ")).
            Exit 0: deployed, all listed. 1: a check failed (hash, or functions missing). 2: cannot run.
            To check the zip by hand first: sha256sum -c \(checksumName)

            """
    }

    private static let scriptHeader = #"""
        #!/usr/bin/env bash
        # deploy.sh: deploys a function app zip with the Azure CLI and waits until its functions are listed.
        # Made offline by Airlock (airlock deploy cloudshell). Run it in Azure Cloud Shell, or anywhere az is
        # logged in, from any directory:  bash deploy.sh
        #
        # 1. checks the zip against ZIP.sha256 (sha256sum -c) and the digest recorded below;
        # 2. az account set, when the kit names a subscription;
        # 3. the app settings the plan needs (Premium and Dedicated: no build on the server, run from the
        #    package; Linux Consumption: the same without WEBSITE_RUN_FROM_PACKAGE; Flex: none), and the
        #    worker's (Python: EnableWorkerIndexing; a custom handler: FUNCTIONS_WORKER_RUNTIME=custom);
        # 4. az functionapp deployment source config-zip --build-remote false;
        # 5. polls az functionapp function list until every expected function is there.
        # Exit codes: 0 deployed and every expected function listed; 1 a check failed (the zip's hash, or
        # functions still missing when the wait ran out); 2 it cannot be done as asked (az or sha256sum
        # missing, not logged in, a plan it does not know, a slot on Flex). Other codes are az's own.
        # Overrides: AIRLOCK_WAIT_SECONDS (total wait for the functions), AIRLOCK_POLL_INTERVAL (between polls).
        set -euo pipefail

        # What this kit deploys, fixed when Airlock wrote it (each value checked, then single-quoted).

        """#

    private static let scriptBody = #"""

        TARGET=$APP
        SLOT_ARGS=()
        if [ -n "$SLOT" ]; then
            TARGET="$APP (slot $SLOT)"
            SLOT_ARGS=(--slot "$SLOT")
        fi
        APP_ARGS=(--resource-group "$RESOURCE_GROUP" --name "$APP" "${SLOT_ARGS[@]}")

        # 1. The zip must be the one Airlock wrote. ZIP.sha256 must hold exactly the line Airlock wrote
        #    (so it names this zip and this digest), then sha256sum -c hashes the zip. Nothing reaches
        #    Azure before this passes.
        cd -- "$(dirname -- "${BASH_SOURCE[0]}")"
        command -v sha256sum >/dev/null 2>&1 || fail 2 "sha256sum not found (it comes with GNU coreutils)"
        [ -f "$ZIP" ] || fail 2 "$ZIP: not found next to deploy.sh"
        [ -f "$ZIP.sha256" ] || fail 2 "$ZIP.sha256: not found next to deploy.sh"
        recorded=
        IFS= read -r recorded <"$ZIP.sha256" || true
        if [ "$recorded" != "$ZIP_SHA256  $ZIP" ]; then
            fail 1 "$ZIP.sha256 does not hold the digest this kit was made with ($ZIP_SHA256): the kit was changed; do not deploy it"
        fi
        say "checking $ZIP against $ZIP.sha256"
        if ! sha256sum --check --strict "$ZIP.sha256"; then
            fail 1 "$ZIP does not match its SHA-256 $ZIP_SHA256: it changed after Airlock wrote it; do not deploy it"
        fi

        # 2. az, logged in, on the right subscription.
        command -v az >/dev/null 2>&1 || fail 2 "az (the Azure CLI) not found: run this in Azure Cloud Shell, or install az and az login"
        if [ -n "$SUBSCRIPTION" ]; then
            run_az account set --subscription "$SUBSCRIPTION"
        fi
        account=$(az account show --query name --output tsv) || fail 2 "az is not logged in (az account show failed): run az login"
        say "subscription: $account"

        # 3. The plan, then the app settings it needs.
        if [ "$PLAN" = auto ]; then
            read_plan
        fi

        case $PLAN in
            flex)
                [ -z "$SLOT" ] || fail 2 "$APP runs on Flex Consumption, which has no deployment slots; make the kit again without --slot"
                say "Flex Consumption: no app settings to change (Flex always runs from its package)"
                ;;
            premium | dedicated | consumption)
                settings=(SCM_DO_BUILD_DURING_DEPLOYMENT=false ENABLE_ORYX_BUILD=false)
                if [ "$PLAN" != consumption ]; then
                    settings+=(WEBSITE_RUN_FROM_PACKAGE=1)
                fi
                if [ "$WORKER_RUNTIME" = custom ]; then
                    worker=$(az functionapp config appsettings list "${APP_ARGS[@]}" --query "[?name=='FUNCTIONS_WORKER_RUNTIME'].value | [0]" --output tsv)
                    worker=${worker%$'\r'}
                    case ${worker,,} in
                        '' | custom) ;;
                        *) fail 2 "$TARGET runs FUNCTIONS_WORKER_RUNTIME=$worker; this kit deploys a custom handler: create the app with --runtime custom" ;;
                    esac
                    settings+=(FUNCTIONS_WORKER_RUNTIME=custom)
                else
                    flags=$(az functionapp config appsettings list "${APP_ARGS[@]}" --query "[?name=='AzureWebJobsFeatureFlags'].value | [0]" --output tsv)
                    case ",$flags," in
                        *,EnableWorkerIndexing,*) ;;
                        *) flags=${flags:+$flags,}EnableWorkerIndexing ;;
                    esac
                    settings+=("AzureWebJobsFeatureFlags=$flags")
                fi
                run_az functionapp config appsettings set "${APP_ARGS[@]}" --settings "${settings[@]}" --output none
                ;;
            *) fail 2 "plan '$PLAN': not one this kit knows (premium, dedicated, consumption, flex)" ;;
        esac

        # 4. The deploy: the zip as it is, no build on the server.
        run_az functionapp deployment source config-zip "${APP_ARGS[@]}" --src "$ZIP" --build-remote false

        # 5. Wait until every expected function is listed.
        wait_for_functions
        say "done: ${#live[@]} function(s) live on $TARGET, all ${#EXPECTED_FUNCTIONS[@]} expected: ${live[*]}"

        """#
}
