// The bash every kit's deploy.sh shares, written once: the wait and poll overrides, say/fail/run_az,
// reading a Function App's plan from az, and waiting until a Function App lists its functions. Each
// kit's script is its header, its block of checked and quoted assignments, then `helpers`, then its
// own fixed body, which calls these functions. Like the bodies, this text is a raw string that
// uses configured values only as "$VAR" or "${ARRAY[@]}".

enum KitScript {
    /// The default pause between two polls; AIRLOCK_POLL_INTERVAL overrides it.
    static let defaultPollSeconds = 15

    /// Every kit's: the wait override (needs DEFAULT_WAIT_SECONDS), checked, and say/fail.
    static let basics = #"""

        WAIT_SECONDS=${AIRLOCK_WAIT_SECONDS:-$DEFAULT_WAIT_SECONDS}

        say() { printf 'deploy.sh: %s\n' "$*"; }
        fail() {
            local status=$1
            shift
            printf 'deploy.sh: error: %s\n' "$@" >&2
            exit "$status"
        }

        case $WAIT_SECONDS in
            '' | *[!0-9]* | ?????????*) fail 2 "AIRLOCK_WAIT_SECONDS='$WAIT_SECONDS': give a whole number of seconds" ;;
        esac

        """#

    /// The az kits': `basics`, the poll override (needs DEFAULT_POLL_INTERVAL), run_az, and
    /// `read_plan` and `wait_for_functions`, which read APP_ARGS and TARGET (and
    /// EXPECTED_FUNCTIONS) when called.
    static let helpers = basics + #"""
        POLL_INTERVAL=${AIRLOCK_POLL_INTERVAL:-$DEFAULT_POLL_INTERVAL}
        case $POLL_INTERVAL in
            '' | *[!0-9]* | ?????????*) fail 2 "AIRLOCK_POLL_INTERVAL='$POLL_INTERVAL': give a whole number of seconds" ;;
        esac

        run_az() {
            say "az $*"
            az "$@"
        }

        # Sets PLAN from the plan the Function App runs on: flex, consumption, premium or dedicated.
        read_plan() {
            local sku farm
            say "reading the plan of $TARGET (az functionapp show)"
            # az functionapp show flattens the site's ARM properties, so the SKU of the plan the app runs on
            # is the top-level "sku": FlexConsumption, Dynamic (Consumption), ElasticPremium, or a Dedicated
            # tier (Basic, Standard, PremiumV3, ...). Should it be empty, ask the App Service plan for its tier.
            sku=$(az functionapp show "${APP_ARGS[@]}" --query sku --output tsv)
            if [ -z "$sku" ]; then
                farm=$(az functionapp show "${APP_ARGS[@]}" --query serverFarmId --output tsv)
                if [ -n "$farm" ]; then
                    sku=$(az appservice plan show --ids "$farm" --query sku.tier --output tsv)
                fi
            fi
            case ${sku,,} in
                flexconsumption) PLAN=flex ;;
                dynamic) PLAN=consumption ;;
                elasticpremium) PLAN=premium ;;
                '') fail 2 "cannot tell the plan of $TARGET (az reports no SKU); make the kit again with --plan" ;;
                *) PLAN=dedicated ;;
            esac
            say "plan: $PLAN (SKU $sku)"
        }

        # Polls az functionapp function list until every name in EXPECTED_FUNCTIONS is listed, for at
        # most WAIT_SECONDS; exit 1 naming the missing ones. Names come back as "<app>/<function>" (or
        # "<app>/<slot>/<function>"): keep what follows the last slash. The host treats function names
        # case-insensitively, and so does this comparison. Leaves the listed names in `live`.
        wait_for_functions() {
            local start elapsed pause listed name want have found missing
            say "waiting up to ${WAIT_SECONDS}s for ${#EXPECTED_FUNCTIONS[@]} function(s) to be listed: ${EXPECTED_FUNCTIONS[*]}"
            start=$SECONDS
            while :; do
                live=()
                missing=()
                if listed=$(az functionapp function list "${APP_ARGS[@]}" --query "[].name" --output tsv); then
                    while IFS= read -r name; do
                        name=${name%$'\r'}
                        if [ -n "$name" ]; then live+=("${name##*/}"); fi
                    done <<<"$listed"
                    for want in "${EXPECTED_FUNCTIONS[@]}"; do
                        found=no
                        for have in "${live[@]}"; do
                            if [ "${have,,}" = "${want,,}" ]; then
                                found=yes
                                break
                            fi
                        done
                        if [ "$found" = no ]; then missing+=("$want"); fi
                    done
                else
                    say "az functionapp function list failed; trying again"
                    missing=("${EXPECTED_FUNCTIONS[@]}")
                fi
                if [ ${#missing[@]} -eq 0 ]; then break; fi
                elapsed=$((SECONDS - start))
                if [ "$elapsed" -ge "$WAIT_SECONDS" ]; then
                    fail 1 "after ${elapsed}s $TARGET still does not list: ${missing[*]}" \
                        "listed: ${live[*]:-no functions}" \
                        "the usual cause is an import error in the app (a missing package, a wheel for the wrong platform)," \
                        "or for a custom handler an executable that does not start or listen on FUNCTIONS_CUSTOMHANDLER_PORT:" \
                        "see the app's log stream or Application Insights; AIRLOCK_WAIT_SECONDS=N bash deploy.sh waits longer"
                fi
                say "listed: ${live[*]:-no functions yet}; waiting for: ${missing[*]} (${elapsed}s of ${WAIT_SECONDS}s)"
                pause=$((WAIT_SECONDS - elapsed))
                if [ "$POLL_INTERVAL" -lt "$pause" ]; then pause=$POLL_INTERVAL; fi
                sleep "$pause"
            done
        }

        """#
}
