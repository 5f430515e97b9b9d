#!/usr/bin/env bash
# A private systemd user manager for tests on a machine that was not booted
# with systemd (a container or a micro-VM whose PID 1 is something else).
#
#   user-manager.sh start DIR   start one; prints its pid (also DIR/manager.pid)
#   user-manager.sh stop DIR    stop it and undo everything start did
#
# Needs root, unshare(1) and systemd installed. Commands reach the manager
# with `nsenter -t PID -m -- env XDG_RUNTIME_DIR=DIR/runtime systemctl --user ...`.
#
# What it does, and why each step is contained:
# - systemd refuses to run a user manager unless /run/systemd/system exists
#   (the "booted with systemd" marker). The manager runs in its own mount
#   namespace with a tmpfs over /run/systemd holding that marker, so nothing
#   else on the machine sees it.
# - A user manager migrates every process in its starting cgroup into
#   init.scope. It starts in a fresh child cgroup of each hierarchy it uses,
#   so only its own processes are touched; `stop` removes those cgroups.
# - Units load from $XDG_CONFIG_HOME/systemd/user as the caller set it.
# Exit 77: this machine cannot host one (the caller skips).
set -euo pipefail

cmd="${1:-}"
dir="${2:-}"
[[ -n "$cmd" && -n "$dir" ]] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }
cgroup_name="cu-user-manager-$(basename "$dir")"
hierarchies=()
for h in /sys/fs/cgroup/systemd /sys/fs/cgroup/unified /sys/fs/cgroup/pids; do
    [[ -f "$h/cgroup.procs" ]] && hierarchies+=("$h")
done

skip() { echo "skipped: $*" >&2; exit 77; }

case "$cmd" in
start)
    [[ "$(id -u)" == 0 ]] || skip "a private user manager needs root"
    [[ -d /run/systemd/system ]] && skip "systemd runs here: use its user manager"
    command -v unshare >/dev/null || skip "unshare is not installed"
    manager=""
    for candidate in /usr/lib/systemd/systemd /lib/systemd/systemd; do
        [[ -x "$candidate" ]] && { manager="$candidate"; break; }
    done
    [[ -n "$manager" ]] || skip "systemd is not installed"
    [[ ${#hierarchies[@]} -gt 0 ]] || skip "no cgroup hierarchy systemd can use"
    mkdir -p "$dir/runtime"
    chmod 700 "$dir/runtime"
    for h in "${hierarchies[@]}"; do
        mkdir -p "$h/$cgroup_name"
    done
    # The manager's parent: enters the fresh cgroups, then its own mount
    # namespace, then becomes the manager.
    (
        for h in "${hierarchies[@]}"; do
            echo "$BASHPID" > "$h/$cgroup_name/cgroup.procs"
        done
        XDG_RUNTIME_DIR="$dir/runtime" exec unshare -m --propagation private -- sh -c '
            mount -t tmpfs -o mode=0755 continuum-test /run/systemd &&
            mkdir -p /run/systemd/system &&
            exec "$0" --user' "$manager"
    ) </dev/null >"$dir/manager.log" 2>&1 &
    pid=$!
    echo "$pid" > "$dir/manager.pid"
    for _ in $(seq 1 200); do
        state="$(nsenter -t "$pid" -m -- env XDG_RUNTIME_DIR="$dir/runtime" \
            systemctl --user is-system-running 2>/dev/null || true)"
        case "$state" in
        running | degraded) echo "$pid"; exit 0 ;;
        esac
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    echo "the user manager did not come up; its log:" >&2
    cat "$dir/manager.log" >&2 || true
    "$0" stop "$dir" || true
    skip "no user manager could be started here"
    ;;
stop)
    if [[ -f "$dir/manager.pid" ]]; then
        pid="$(cat "$dir/manager.pid")"
        if kill -0 "$pid" 2>/dev/null; then
            # SIGTERM: the manager stops its units, then exits.
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 1 200); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.05
            done
            kill -KILL "$pid" 2>/dev/null || true
        fi
        rm -f "$dir/manager.pid"
    fi
    # Anything left in the cgroups (a unit's stray process) goes, then the
    # cgroups themselves, deepest first.
    for h in "${hierarchies[@]}"; do
        [[ -d "$h/$cgroup_name" ]] || continue
        find "$h/$cgroup_name" -name cgroup.procs -exec cat {} + 2>/dev/null |
            while read -r stray; do kill -KILL "$stray" 2>/dev/null || true; done
        for _ in $(seq 1 100); do
            find "$h/$cgroup_name" -depth -type d -exec rmdir {} + 2>/dev/null || true
            [[ -d "$h/$cgroup_name" ]] || break
            sleep 0.05
        done
    done
    ;;
*)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac
