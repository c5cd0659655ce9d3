# Sourced by the bench scripts: a private Docker engine and a Podman configuration for this run,
# shellcheck disable=SC2034  # the variables are read by the scripts that source this one
# as the tests set them up (PLATFORM-NOTES: dockerd without iptables, bridge or systemd; podman
# with runc, cgroupfs and rlimits it may set). `engines_start` sets DOCKER_ENV and PODMAN_ENV (env
# assignments for `env`), or leaves them empty with a reason in DOCKER_SKIP / PODMAN_SKIP;
# `engines_stop` stops dockerd and removes both private roots. Call it from an EXIT trap.
engines_root=""
dockerd_pid=""
DOCKER_ENV="" PODMAN_ENV="" DOCKER_SKIP="" PODMAN_SKIP=""

engines_start() {
    engines_root=$(mktemp -d /tmp/abench.XXXXXX)
    if command -v dockerd >/dev/null; then
        dockerd --iptables=false --ip-masq=false --bridge=none --exec-opt native.cgroupdriver=cgroupfs \
            --data-root "$engines_root/docker" --exec-root "$engines_root/exec" --pidfile "$engines_root/docker.pid" \
            --host "unix://$engines_root/docker.sock" >"$engines_root/dockerd.log" 2>&1 &
        dockerd_pid=$!
        local i=0
        while [ $i -lt 300 ]; do
            if DOCKER_HOST="unix://$engines_root/docker.sock" docker info >/dev/null 2>&1; then
                DOCKER_ENV="DOCKER_HOST=unix://$engines_root/docker.sock"
                break
            fi
            kill -0 "$dockerd_pid" 2>/dev/null || break
            sleep 0.1
            i=$((i + 1))
        done
        [ -n "$DOCKER_ENV" ] || DOCKER_SKIP="dockerd did not start (see $engines_root/dockerd.log)"
    else
        DOCKER_SKIP="no dockerd (apt-get install -y docker.io)"
    fi
    if command -v podman >/dev/null && command -v runc >/dev/null; then
        mkdir -p "$engines_root/podman"
        printf '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n' \
            >"$engines_root/containers.conf"
        printf '[storage]\ndriver = "overlay"\ngraphroot = "%s/podman/root"\nrunroot = "%s/podman/run"\n' "$engines_root" "$engines_root" \
            >"$engines_root/storage.conf"
        PODMAN_ENV="CONTAINERS_CONF=$engines_root/containers.conf CONTAINERS_STORAGE_CONF=$engines_root/storage.conf"
    else
        PODMAN_SKIP="no podman or runc (apt-get install -y podman runc)"
    fi
}

engines_stop() {
    if [ -n "$dockerd_pid" ]; then
        kill -TERM "$dockerd_pid" 2>/dev/null || true
        wait "$dockerd_pid" 2>/dev/null || true
        dockerd_pid=""
    fi
    if [ -n "$engines_root" ]; then
        { grep -o " $engines_root/[^ ]*" /proc/self/mounts 2>/dev/null || true; } | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
        rm -rf "$engines_root"
        engines_root=""
    fi
}
