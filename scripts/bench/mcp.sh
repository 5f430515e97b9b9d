#!/usr/bin/env bash
# mcp.sh — what MCP adds to a call, in one run.
#
#   scripts/bench/mcp.sh            (from any directory)
#
# Starts the daemon (release build) in a temp home, then runs `mcp-bench`
# (crates/continuum-bench): `tools/call ping` through `cu mcp` (a child
# process on piped stdin/stdout, newline-delimited JSON-RPC) against `ping`
# on the daemon's Unix socket (one persistent connection), in blocks that
# alternate, in both protocol eras (legacy `initialize` sessions and the
# stateless 2026-07-28 era). The same line client, codec discipline and
# hdrhistogram time both paths. Prints p50/p90/p99 per path and era and the
# p50 added, against the target: under 0.3 ms added at p50 (issue 13). Exit
# status is 0 even on a MISS unless MCP_BENCH_STRICT=1.
#
# Tunables (environment): MCP_BENCH_ITERS (measured calls per path and era,
# 20000), MCP_BENCH_BLOCK (calls per block, 1000), MCP_BENCH_WARMUP
# (unmeasured calls per path and era, 1000), MCP_BENCH_ERAS
# ("legacy,2026-07-28"), MCP_BENCH_JSON (also write the result object to
# this file). Honors CARGO_TARGET_DIR.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ITERS="${MCP_BENCH_ITERS:-20000}"
BLOCK="${MCP_BENCH_BLOCK:-1000}"
WARMUP="${MCP_BENCH_WARMUP:-1000}"
ERAS="${MCP_BENCH_ERAS:-legacy,2026-07-28}"
TARGET_US=300

log() { echo "[mcp-bench] $*" >&2; }

log "building release binaries"
cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml" \
  -p continuum-daemon -p continuum-cli -p continuum-mcp -p continuum-bench
TARGET_DIR="$(realpath -m "${CARGO_TARGET_DIR:-$ROOT/target}")"
BIN="$TARGET_DIR/release"
CU="$BIN/cu"
export CONTINUUM_CORE_BIN="$BIN/continuum-core"
# `cu mcp` runs the continuum-mcp next to it; name it so nothing else on
# PATH can stand in.
export CONTINUUM_MCP_BIN="$BIN/continuum-mcp"

# Short path: Unix socket paths are limited to 108 bytes.
WORK="$(mktemp -d /tmp/cumcp.XXXXXX)"
export CONTINUUM_HOME="$WORK/h"
cleanup() {
  "$CU" stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$CU" start >/dev/null

RESULT="$("$BIN/mcp-bench" --socket "$CONTINUUM_HOME/run/core.sock" --cu "$CU" \
  --era "$ERAS" --iterations "$ITERS" --block "$BLOCK" --warmup "$WARMUP" \
  --target-us "$TARGET_US")"
if [[ -n "${MCP_BENCH_JSON:-}" ]]; then printf '%s\n' "$RESULT" >"$MCP_BENCH_JSON"; fi

VERDICT="$(python3 - "$RESULT" <<'EOF'
import json, sys
r = json.loads(sys.argv[1])
for e in r["eras"]:
    print(f"{e['era']}: p50 added {e['added_p50_us']:.1f} us "
          f"(MCP {e['mcp']['p50_us']:.1f} us, socket {e['socket']['p50_us']:.1f} us)")
print(f"target: < {r['target_us']:.0f} us added at p50 in every era -> "
      f"{'PASS' if r['pass'] else 'MISS'}")
EOF
)"
echo "$VERDICT"
if [[ "$VERDICT" == *MISS* && "${MCP_BENCH_STRICT:-0}" == 1 ]]; then exit 1; fi
