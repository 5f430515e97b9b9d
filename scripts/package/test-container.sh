#!/usr/bin/env bash
# Builds the image from scripts/package/Dockerfile and checks that it serves:
# healthy, `cu` works through `docker exec`, the home persists on its volume
# across containers, and `docker stop` (SIGTERM) is a clean exit.
#
#   CONTAINER_ENGINE=docker|podman scripts/package/test-container.sh
#
# Needs a running container engine that can pull the base images. The
# end-to-end suite runs it only where `docker info` or `podman info` answers
# (tests/e2e/service.rs); on CI's micro-VM none does, so this script is
# untested there (docs/adr/0011-packaging.md).
set -euo pipefail
cd "$(dirname "$0")/../.."

engine="${CONTAINER_ENGINE:-docker}"
tag="continuum-test:$$"
name="continuum-test-$$"
volume="continuum-test-data-$$"

cleanup() {
    "$engine" rm -f "$name" >/dev/null 2>&1 || true
    "$engine" volume rm -f "$volume" >/dev/null 2>&1 || true
    "$engine" image rm -f "$tag" >/dev/null 2>&1 || true
}
trap cleanup EXIT

fail() {
    echo "FAILED: $*" >&2
    "$engine" logs "$name" >&2 2>&1 || true
    "$engine" exec "$name" sh -c 'tail -n 50 /data/logs/core.log' >&2 2>&1 || true
    exit 1
}

echo "== build"
DOCKER_BUILDKIT=1 "$engine" build -f scripts/package/Dockerfile -t "$tag" .

run() {
    "$engine" run -d --name "$name" -v "$volume:/data" "$tag" >/dev/null
}

wait_healthy() {
    for _ in $(seq 1 150); do
        if "$engine" exec "$name" cu status >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.2
    done
    fail "the daemon did not answer within 30 s"
}

echo "== run"
run
wait_healthy
[[ "$("$engine" exec "$name" id -u)" == 10001 ]] || fail "the daemon's container does not run as uid 10001"
"$engine" exec "$name" cu ping --message hi | grep -q hi || fail "cu ping"
"$engine" exec "$name" cu data/create --collection notes --data '{"title": "kept"}' >/dev/null ||
    fail "cu data/create"
ports="$("$engine" inspect --format '{{json .Config.ExposedPorts}}' "$tag")"
[[ "$ports" == *7422* && "$ports" != *7420* && "$ports" != *7421* ]] || fail "exposed ports: $ports"

echo "== stop (SIGTERM)"
"$engine" stop -t 30 "$name" >/dev/null
code="$("$engine" inspect --format '{{.State.ExitCode}}' "$name")"
[[ "$code" == 0 ]] || fail "the daemon exited $code on SIGTERM"
"$engine" rm "$name" >/dev/null

echo "== a new container on the same volume keeps the home"
run
wait_healthy
"$engine" exec "$name" cu data/list --collection notes | grep -q kept || fail "the note did not survive"
"$engine" exec "$name" sh -c 'grep -q "SIGTERM received" /data/logs/core.log' ||
    fail "the first daemon did not log its graceful stop"

echo "container: ok"
