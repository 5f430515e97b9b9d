#!/usr/bin/env bash
# The main job on the embedded defaults: build release, start the daemon in a
# temporary home, show what an operator does with it, and stop it.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked -p continuum-daemon -p continuum-cli
BIN="$PWD/target/release"
export CONTINUUM_HOME="$(mktemp -d /tmp/continuum-demo.XXXXXX)"
cu() { "$BIN/cu" "$@"; }
trap 'cu stop >/dev/null 2>&1 || true; rm -rf "$CONTINUUM_HOME"' EXIT

step() { printf '\n\033[1m$ cu %s\033[0m\n' "$*"; }

step start;                                  cu start
step status;                                 cu status
step ping;                                   cu ping
step ping --message "hello, continuum";      cu ping --message "hello, continuum"
step commands/list --schemas=false;          cu commands/list --schemas=false
step ping --help;                            cu ping --help
step data/create --collection notes --data '{"title":"first"}'
cu data/create --collection notes --data '{"title":"first"}' || true
step data/list --collection notes;           cu data/list --collection notes || true
step pign "   (a typo: did-you-mean)";       cu pign || true
step '--max-trust provisional commands/list --schemas=false   (what an AI persona may call)'
cu --max-trust provisional commands/list --schemas=false
step '--max-trust provisional data/clear-all --confirm   (refused: exit 4)'
cu --max-trust provisional data/clear-all --confirm || echo "(exit $?)"
step audit/verify;                           cu audit/verify
step system/metrics;                         cu system/metrics
step stop;                                   cu stop
