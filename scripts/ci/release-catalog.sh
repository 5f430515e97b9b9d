#!/usr/bin/env bash
# The product daemon from a release build of the *whole* workspace (every
# member compiled together, so cargo unifies all their features) serves no
# test-only command. Test commands live only in the e2e crate's test daemon.
#
#   scripts/ci/release-catalog.sh      (from any directory; .ci/run calls it)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

cargo build --workspace --release --bins --locked
TARGET_DIR="$(realpath -m "${CARGO_TARGET_DIR:-$ROOT/target}")"
BIN="$TARGET_DIR/release"
WORK="$(mktemp -d /tmp/cu-release.XXXXXX)"
export CONTINUUM_HOME="$WORK/h" CONTINUUM_CORE_BIN="$BIN/continuum-core"
trap '"$BIN/cu" stop >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT

"$BIN/cu" start >/dev/null
names="$("$BIN/cu" commands/list --schemas=false | python3 -c 'import json, sys; print("\n".join(c["name"] for c in json.load(sys.stdin)["commands"]))')"
count="$(wc -l <<<"$names")"
if grep -q '^test/' <<<"$names"; then
  echo "release-catalog: FAIL: the release product daemon serves test commands:" >&2
  grep '^test/' <<<"$names" >&2
  exit 1
fi
grep -qx 'ping' <<<"$names" || { echo "release-catalog: FAIL: no ping in the catalog" >&2; exit 1; }
# The test daemon built in the same run does carry them: the check can fail.
"$BIN/cu" stop >/dev/null
CONTINUUM_CORE_BIN="$BIN/continuum-core-test" "$BIN/cu" start >/dev/null
if ! "$BIN/cu" commands/list --schemas=false | grep -q '"test/panic"'; then
  echo "release-catalog: FAIL: the test daemon lost its test commands" >&2
  exit 1
fi
echo "release-catalog: the release product daemon lists $count commands, none under test/"
