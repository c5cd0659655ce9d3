// The text of a container kit's `deploy.sh` and `README.txt`. As for the Cloud Shell kit: one fixed
// body (a raw string) after one block of checked, single-quoted assignments, the body using them
// only as "$VAR" or "${ARRAY[@]}". One body serves both kinds of app; KIND picks the az command
// group (`functionapp` or `webapp`) and the few steps that differ.
//
// The steps (AZURE-FACTS.md section 6), nothing changed before the checks of 1-2 pass:
// 1. az logged in (and the subscription); a Function App's plan must run containers (Premium or
//    Dedicated: Linux Consumption and Flex cannot), read from az with --plan auto.
// 2. The image must be in the registry under the kit's digest (`az acr repository show`), and with
//    --cd-webhook its tag must name that digest, so the app never points at what is not there.
// 3. The managed identity: the system-assigned one turned on (`identity assign`), or the
//    user-assigned one assigned; its principal gets AcrPull on the registry (once: an existing
//    assignment is kept), and for Key Vault references the Key Vault Secrets User role on the vault
//    (or, for a vault on access policies, a get-secrets policy).
// 4. Pull with the identity: a Function App through `az resource update --ids SITE/config/web --set
//    properties.acrUseManagedIdentityCreds=true [properties.acrUserManagedIdentityID=CLIENT-ID]`
//    (az has no flag for it on functionapp); a web app through `az webapp config set
//    --acr-use-identity true --acr-identity [system]|RESOURCE-ID`. A user-assigned identity also
//    becomes keyVaultReferenceIdentity.
// 5. App settings: WEBSITES_ENABLE_APP_SERVICE_STORAGE=false (else /home is mounted over the
//    image's /home/site/wwwroot and the host finds no functions), FUNCTIONS_WORKER_RUNTIME,
//    FUNCTIONS_EXTENSION_VERSION=~4 for a Function App, and each secret setting as
//    @Microsoft.KeyVault(SecretUri=https://VAULT.../secrets/NAME/) (no version: the latest).
// 6. The image: `config container set` by digest, without --registry-server or credentials (with a
//    registry URL and no credentials az would fetch the registry's admin password); then any
//    DOCKER_REGISTRY_SERVER_USERNAME/PASSWORD setting left from an earlier deploy is deleted, and
//    linuxFxVersion is read back: it must be DOCKER|the kit's image.
// 7. Web app with --cd-webhook: continuous deployment on, and the ACR webhook (push on REPO:TAG) to
//    the app's CD URL, which holds the app's publishing credentials and is therefore never printed.
// 8. Wait: a Function App until every expected function is listed; a web app until
//    https://HOST/HEALTH-PATH answers 2xx or 3xx.

import AirlockCore

extension ContainerKit {
    /// `deploy.sh`: bash, `set -euo pipefail`, passes shellcheck.
    public var deployScript: String {
        let c = configuration
        let q = ShellQuote.quote
        let assignments = [
            "KIND=\(q(c.target.rawValue))",
            "RESOURCE_GROUP=\(q(c.resourceGroup))",
            "APP=\(q(c.app))",
            "SUBSCRIPTION=\(q(c.subscription ?? ""))",
            "PLAN=\(q(c.plan.rawValue))",
            "IDENTITY=\(q(c.identity.scriptValue))",
            "REGISTRY=\(q(c.image.registry))",
            "REGISTRY_NAME=\(q(c.image.registryName))",
            "REPOSITORY=\(q(c.image.repository))",
            "TAG=\(q(c.image.tag))",
            "DIGEST=\(q(c.image.digest.description))",
            "IMAGE=\(q(c.image.byDigest))",
            "WORKER_RUNTIME=\(q(c.runtime.rawValue))",
            "KEY_VAULT=\(q(c.keyVault ?? ""))",
            "SECRET_SETTINGS=(\(c.secretSettings.map { q($0.name + "=" + $0.secret) }.joined(separator: " ")))",
            "EXPECTED_FUNCTIONS=(\(c.expectedFunctions.map(q).joined(separator: " ")))",
            "HEALTH_PATH=\(q(c.healthPath))",
            "CD_WEBHOOK=\(q(c.cdWebhook ? "yes" : "no"))",
            "WEBHOOK_NAME=\(q(c.webhookName))",
            "DEFAULT_WAIT_SECONDS=\(c.waitMinutes * 60)",
            "DEFAULT_POLL_INTERVAL=\(KitScript.defaultPollSeconds)",
        ]
        return Self.scriptHeader(c.target) + assignments.joined(separator: "\n") + "\n" + KitScript.helpers + Self.scriptBody
    }

    /// `README.txt`: what the kit does and the one command to run.
    public var readme: String {
        let c = configuration
        let kind = c.target == .functionApp ? "Function App" : "App Service app"
        var target = "the \(kind) \(c.app) in resource group \(c.resourceGroup)"
        if let subscription = c.subscription { target += ", subscription \(subscription)" }
        let identity: String
        switch c.identity {
        case .system: identity = "its system-assigned managed identity (turned on if it is off)"
        case .userAssigned(let id): identity = "the user-assigned identity \(id) (also its keyVaultReferenceIdentity)"
        }
        var lines = [
            "Airlock deploy kit for \(target).",
            "Made offline by Airlock (airlock \(c.target.command)); it needs nothing from the internet.",
            "",
            "It points the app at the image \(c.image.byDigest)",
            "(\(c.image.repository):\(c.image.tag) when Airlock wrote the kit), pulled from \(c.image.registry) with",
            "\(identity), which gets AcrPull on the registry. No registry password is set, and any left from",
            "before is removed.",
        ]
        if let vault = c.keyVault {
            lines.append("Key Vault references from \(vault) (the identity gets the Key Vault Secrets User role):")
            lines += c.secretSettings.map { "    \($0.name) = secret \($0.secret)" }
        }
        lines += [
            "",
            "Push the image first (airlock image push \(c.image.repository):\(c.image.tag) --to \(c.image.registry)/\(c.image.repository):\(c.image.tag)).",
            "Then, in Azure Cloud Shell (Bash) or anywhere az is logged in, cd to this directory and run:",
            "    bash deploy.sh",
        ]
        switch c.target {
        case .functionApp:
            let plan = c.plan == .auto ? "read from az; Consumption and Flex cannot run containers" : c.plan.rawValue
            lines.append("The app's plan must be Premium or Dedicated (\(plan)). The script waits up to \(c.waitMinutes) minutes")
            lines.append("until these functions are listed: \(c.expectedFunctions.joined(separator: ", ")).")
        case .webApp:
            lines.append("The script waits up to \(c.waitMinutes) minutes until https://<the app's host>\(c.healthPath) answers.")
            if c.cdWebhook {
                lines.append("Continuous deployment: the app follows \(c.image.byTag), and the registry's webhook \(c.webhookName)")
                lines.append("tells it when that tag is pushed again (the tag must name this kit's digest when the script runs).")
            }
        }
        lines += [
            "You need rights to change the app, assign roles on the registry\(c.keyVault == nil ? "" : " and the vault") and read the registry.",
            "Exit 0: deployed and up. 1: a check failed (the image is not in the registry, or the app did not",
            "come up in time). 2: cannot run as asked (az missing or logged out, a plan that cannot run containers).",
            "",
        ]
        return lines.joined(separator: "\n")
    }

    private static func scriptHeader(_ target: Target) -> String {
        let what = target == .functionApp ? "Function App" : "App Service app"
        let waits = target == .functionApp ? "its functions are listed" : "the site answers on its health path"
        return """
            #!/usr/bin/env bash
            # deploy.sh: points an Azure \(what) at a container image by digest, pulled with a managed
            # identity, and waits until \(waits).
            # Made offline by Airlock (airlock \(target.command)). Run it in Azure Cloud Shell, or anywhere
            # az is logged in:  bash deploy.sh
            # Exit codes: 0 deployed and up; 1 a check failed (the image is not in the registry under this
            # kit's digest, linuxFxVersion is not the kit's image, or the app is not up when the wait runs out);
            # 2 it cannot be done as asked (az missing, not logged in, a plan that cannot run containers).
            # Other codes are az's own.
            # Overrides: AIRLOCK_WAIT_SECONDS (total wait), AIRLOCK_POLL_INTERVAL (between polls).
            set -euo pipefail

            # What this kit deploys, fixed when Airlock wrote it (each value checked, then single-quoted).

            """
    }

    private static let scriptBody = #"""

        TARGET=$APP
        APP_ARGS=(--resource-group "$RESOURCE_GROUP" --name "$APP")

        # 1. az, logged in, on the right subscription; a plan that runs containers.
        command -v az >/dev/null 2>&1 || fail 2 "az (the Azure CLI) not found: run this in Azure Cloud Shell, or install az and az login"
        if [ -n "$SUBSCRIPTION" ]; then
            run_az account set --subscription "$SUBSCRIPTION"
        fi
        account=$(az account show --query name --output tsv) || fail 2 "az is not logged in (az account show failed): run az login"
        say "subscription: $account"
        if [ "$KIND" = functionapp ]; then
            if [ "$PLAN" = auto ]; then read_plan; fi
            case $PLAN in
                premium | dedicated) ;;
                consumption | flex)
                    fail 2 "$TARGET runs on a $PLAN plan, which cannot run a container image: move it to a Premium or Dedicated plan, or deploy the zip with airlock deploy cloudshell"
                    ;;
                *) fail 2 "plan '$PLAN': not one this kit knows (premium, dedicated)" ;;
            esac
        fi

        # 2. The image must be in the registry, under this kit's digest.
        say "checking that $REGISTRY_NAME has $REPOSITORY@$DIGEST"
        found=$(az acr repository show --name "$REGISTRY_NAME" --image "$REPOSITORY@$DIGEST" --query digest --output tsv) ||
            fail 1 "$REGISTRY does not have $REPOSITORY@$DIGEST (or you may not read it): push it first with airlock image push"
        [ "${found%$'\r'}" = "$DIGEST" ] || fail 1 "$REGISTRY answers $found for $REPOSITORY@$DIGEST: not this kit's image"
        DEPLOYED=$IMAGE
        if [ "$CD_WEBHOOK" = yes ]; then
            tagged=$(az acr repository show --name "$REGISTRY_NAME" --image "$REPOSITORY:$TAG" --query digest --output tsv) ||
                fail 1 "$REGISTRY has no $REPOSITORY:$TAG: push the image with that tag first"
            tagged=${tagged%$'\r'}
            if [ "$tagged" != "$DIGEST" ]; then
                fail 1 "$REPOSITORY:$TAG in $REGISTRY is $tagged, not this kit's $DIGEST: push this kit's image to the tag, or make the kit again"
            fi
            # Continuous deployment follows the tag; today it names the digest just checked.
            DEPLOYED=$REGISTRY/$REPOSITORY:$TAG
        fi

        # 3. The identity, and its roles.
        if [ "$IDENTITY" = system ]; then
            say "az $KIND identity assign ${APP_ARGS[*]} (system-assigned)"
            principal=$(az "$KIND" identity assign "${APP_ARGS[@]}" --query principalId --output tsv)
            ACR_IDENTITY='[system]'
        else
            run_az "$KIND" identity assign "${APP_ARGS[@]}" --identities "$IDENTITY" --output none
            principal=$(az identity show --ids "$IDENTITY" --query principalId --output tsv)
            client=$(az identity show --ids "$IDENTITY" --query clientId --output tsv)
            client=${client%$'\r'}
            [ -n "$client" ] || fail 2 "az identity show reports no client id for $IDENTITY"
            ACR_IDENTITY=$IDENTITY
        fi
        principal=${principal%$'\r'}
        [ -n "$principal" ] || fail 2 "the identity of $TARGET has no principal id (az $KIND identity assign printed none)"
        say "identity: principal $principal"

        grant() {
            local role=$1 scope=$2 what=$3 count
            count=$(az role assignment list --assignee "$principal" --role "$role" --scope "$scope" --query "length(@)" --output tsv)
            case ${count%$'\r'} in
                [1-9]*) say "the identity already has $role on $what" ;;
                *)
                    run_az role assignment create --assignee-object-id "$principal" --assignee-principal-type ServicePrincipal \
                        --role "$role" --scope "$scope" --output none
                    ;;
            esac
        }
        registry_id=$(az acr show --name "$REGISTRY_NAME" --query id --output tsv)
        grant AcrPull "${registry_id%$'\r'}" "registry $REGISTRY_NAME"

        vault_uri=
        if [ ${#SECRET_SETTINGS[@]} -gt 0 ]; then
            vault_id=$(az keyvault show --name "$KEY_VAULT" --query id --output tsv)
            vault_uri=$(az keyvault show --name "$KEY_VAULT" --query properties.vaultUri --output tsv)
            vault_uri=${vault_uri%$'\r'}
            rbac=$(az keyvault show --name "$KEY_VAULT" --query properties.enableRbacAuthorization --output tsv)
            if [ "${rbac,,}" = true ]; then
                grant "Key Vault Secrets User" "${vault_id%$'\r'}" "key vault $KEY_VAULT"
            else
                # A vault on access policies does not read role assignments.
                run_az keyvault set-policy --name "$KEY_VAULT" --object-id "$principal" --secret-permissions get --output none
            fi
        fi

        # 4. The pull goes through the identity; a user-assigned one also resolves Key Vault references.
        if [ "$KIND" = functionapp ]; then
            site_id=$(az functionapp show "${APP_ARGS[@]}" --query id --output tsv)
            properties=(properties.acrUseManagedIdentityCreds=true)
            if [ "$IDENTITY" != system ]; then properties+=("properties.acrUserManagedIdentityID=$client"); fi
            run_az resource update --ids "${site_id%$'\r'}/config/web" --set "${properties[@]}" --output none
        else
            run_az webapp config set "${APP_ARGS[@]}" --acr-use-identity true --acr-identity "$ACR_IDENTITY" --output none
        fi
        if [ "$IDENTITY" != system ]; then
            run_az "$KIND" update "${APP_ARGS[@]}" --set "keyVaultReferenceIdentity=$IDENTITY" --output none
        fi

        # 5. App settings.
        settings=(WEBSITES_ENABLE_APP_SERVICE_STORAGE=false "FUNCTIONS_WORKER_RUNTIME=$WORKER_RUNTIME")
        if [ "$KIND" = functionapp ]; then settings+=(FUNCTIONS_EXTENSION_VERSION=~4); fi
        for pair in "${SECRET_SETTINGS[@]}"; do
            settings+=("${pair%%=*}=@Microsoft.KeyVault(SecretUri=${vault_uri%/}/secrets/${pair#*=}/)")
        done
        run_az "$KIND" config appsettings set "${APP_ARGS[@]}" --settings "${settings[@]}" --output none

        # 6. The image, by digest (or, for continuous deployment, by the tag that names it).
        if [ "$KIND" = functionapp ]; then
            run_az functionapp config container set "${APP_ARGS[@]}" --image "$DEPLOYED" --output none
        else
            run_az webapp config container set "${APP_ARGS[@]}" --container-image-name "$DEPLOYED" --output none
        fi
        stale=$(az "$KIND" config appsettings list "${APP_ARGS[@]}" \
            --query "[?name=='DOCKER_REGISTRY_SERVER_USERNAME' || name=='DOCKER_REGISTRY_SERVER_PASSWORD'].name" --output tsv)
        if [ -n "$stale" ]; then
            names=()
            while IFS= read -r name; do
                name=${name%$'\r'}
                if [ -n "$name" ]; then names+=("$name"); fi
            done <<<"$stale"
            say "removing registry credentials from the app settings (the pull uses the identity): ${names[*]}"
            az "$KIND" config appsettings delete "${APP_ARGS[@]}" --setting-names "${names[@]}" --output none
        fi
        fx=$(az "$KIND" config show "${APP_ARGS[@]}" --query linuxFxVersion --output tsv)
        fx=${fx%$'\r'}
        [ "$fx" = "DOCKER|$DEPLOYED" ] || fail 1 "$TARGET runs '$fx' after the change, not DOCKER|$DEPLOYED"
        say "image: $DEPLOYED"

        # 7. Continuous deployment from the registry (web app, --cd-webhook). The CD URL carries the app's
        #    publishing credentials: it goes to az, never to the terminal.
        if [ "$CD_WEBHOOK" = yes ]; then
            say "az webapp deployment container config ${APP_ARGS[*]} --enable-cd true"
            cd_url=$(az webapp deployment container config "${APP_ARGS[@]}" --enable-cd true --query CI_CD_URL --output tsv)
            cd_url=${cd_url%$'\r'}
            [ -n "$cd_url" ] || fail 2 "az webapp deployment container config gave no CI_CD_URL for $TARGET"
            if az acr webhook show --registry "$REGISTRY_NAME" --name "$WEBHOOK_NAME" --query name --output tsv >/dev/null 2>&1; then
                verb=update
            else
                verb=create
            fi
            say "az acr webhook $verb --registry $REGISTRY_NAME --name $WEBHOOK_NAME --actions push --scope $REPOSITORY:$TAG --uri (the app's CD URL, not shown)"
            az acr webhook "$verb" --registry "$REGISTRY_NAME" --name "$WEBHOOK_NAME" --actions push \
                --scope "$REPOSITORY:$TAG" --uri "$cd_url" --output none
        fi

        # 8. Wait until the app is up.
        if [ "$KIND" = functionapp ]; then
            wait_for_functions
            say "done: ${#live[@]} function(s) live on $TARGET from $DEPLOYED: ${live[*]}"
            exit 0
        fi
        command -v curl >/dev/null 2>&1 || fail 2 "curl not found (Cloud Shell has it)"
        host=$(az webapp show "${APP_ARGS[@]}" --query defaultHostName --output tsv)
        url="https://${host%$'\r'}$HEALTH_PATH"
        say "waiting up to ${WAIT_SECONDS}s until $url answers"
        start=$SECONDS
        while :; do
            code=$(curl --silent --output /dev/null --write-out '%{http_code}' --max-time 30 "$url") || code=000
            case $code in
                2?? | 3??) break ;;
            esac
            elapsed=$((SECONDS - start))
            if [ "$elapsed" -ge "$WAIT_SECONDS" ]; then
                fail 1 "after ${elapsed}s $url still answers ${code/#000/nothing}" \
                    "the usual causes: the image cannot be pulled (AcrPull not yet effective: role assignments can take minutes)," \
                    "or the app does not start: see the app's log stream; AIRLOCK_WAIT_SECONDS=N bash deploy.sh waits longer"
            fi
            say "$url: ${code/#000/no answer} (${elapsed}s of ${WAIT_SECONDS}s)"
            pause=$((WAIT_SECONDS - elapsed))
            if [ "$POLL_INTERVAL" -lt "$pause" ]; then pause=$POLL_INTERVAL; fi
            sleep "$pause"
        done
        say "done: $url answers $code; $TARGET runs $DEPLOYED"

        """#
}
