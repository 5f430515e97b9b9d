#!/usr/bin/env bash
# ai_latency.sh — the daemon's added latency on ai/generate, in one run.
#
#   scripts/bench/ai_latency.sh            (from any directory)
#
# Sends the same chat completion (same prompt, small max_tokens, temperature
# 0) N times straight to a real OpenAI-compatible server (llama-cpp-python +
# SmolLM2-135M, scripts/ci/llm-server.sh) and N times through the daemon
# (`ai/generate` on one persistent Unix-socket JSON-RPC connection), in
# alternating pairs, with the release build (`ai-latency`,
# crates/continuum-bench). Prints medians, p90s and the added latency
# against the target: under 1 ms added at the median. Exit status is 0 even
# on a MISS unless AI_BENCH_STRICT=1.
#
# Server: CONTINUUM_TEST_LLM_URL if set (left running); otherwise this script
# runs scripts/ci/setup-llm.sh, starts the server on a free loopback port and
# stops it at the end (llm-server.sh keeps one server per cache: a server it
# started elsewhere is stopped first).
#
# Tunables (environment): AI_BENCH_ITERS (pairs, 500), AI_BENCH_WARMUP (20),
# AI_BENCH_MAX_TOKENS (1), AI_BENCH_PROMPT ("Say hi"), AI_BENCH_JSON (also
# write the result object to this file). Honors CARGO_TARGET_DIR.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ITERS="${AI_BENCH_ITERS:-500}"
WARMUP="${AI_BENCH_WARMUP:-20}"
MAX_TOKENS="${AI_BENCH_MAX_TOKENS:-1}"
PROMPT="${AI_BENCH_PROMPT:-Say hi}"
TARGET_US=1000

log() { echo "[ai-bench] $*" >&2; }

log "building release binaries"
cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml" \
  -p continuum-daemon -p continuum-cli -p continuum-bench
TARGET_DIR="$(realpath -m "${CARGO_TARGET_DIR:-$ROOT/target}")"
BIN="$TARGET_DIR/release"
CU="$BIN/cu"
export CONTINUUM_CORE_BIN="$BIN/continuum-core"

WORK="$(mktemp -d /tmp/cuai.XXXXXX)"
export CONTINUUM_HOME="$WORK/h"
STARTED_SERVER=0
cleanup() {
  "$CU" stop >/dev/null 2>&1 || true
  if ((STARTED_SERVER)); then bash "$ROOT/scripts/ci/llm-server.sh" stop || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

URL="${CONTINUUM_TEST_LLM_URL:-}"
if [[ -z "$URL" ]]; then
  bash "$ROOT/scripts/ci/setup-llm.sh" >/dev/null
  PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  STARTED_SERVER=1
  bash "$ROOT/scripts/ci/llm-server.sh" start "$PORT"
  URL="http://127.0.0.1:$PORT/v1"
fi
URL="${URL%/}"
log "server: $URL"

mkdir -p "$CONTINUUM_HOME"
cat >"$CONTINUUM_HOME/providers.toml" <<EOF
[providers.local]
kind = "openai"
base_url = "$URL"
model = "smollm2"
EOF
"$CU" start >/dev/null

log "$ITERS alternating pairs (+$WARMUP warm-up), max_tokens $MAX_TOKENS, prompt '$PROMPT'"
RESULT="$("$BIN/ai-latency" --socket "$CONTINUUM_HOME/run/core.sock" --url "$URL" \
  --provider local --model smollm2 --prompt "$PROMPT" --max-tokens "$MAX_TOKENS" \
  --iterations "$ITERS" --warmup "$WARMUP")"
if [[ -n "${AI_BENCH_JSON:-}" ]]; then printf '%s\n' "$RESULT" >"$AI_BENCH_JSON"; fi

VERDICT="$(python3 - "$RESULT" "$TARGET_US" <<'EOF'
import json, sys
r, target = json.loads(sys.argv[1]), float(sys.argv[2])
added = r["added_median_us"]
print(f"target: < {target/1000:.0f} ms added at the median -> "
      f"{'PASS' if added < target else 'MISS'} ({added/1000:.3f} ms)")
EOF
)"
echo "$VERDICT"
if [[ "$VERDICT" == *MISS* && "${AI_BENCH_STRICT:-0}" == 1 ]]; then exit 1; fi
