#!/usr/bin/env bash
# The main job on the embedded defaults: a persona answering in a room.
#
# Builds release, starts the daemon in a temporary home, creates a persona on
# a model server, puts it in a room, talks to it, restarts the daemon to show
# it comes back as itself, and shows what an AI persona may and may not call.
#
# The model server:
#   CONTINUUM_DEMO_MODEL_URL=http://127.0.0.1:11434/v1   any OpenAI-compatible server
#   CONTINUUM_DEMO_MODEL=llama3.2                          its model name (default: smollm2)
#   CONTINUUM_DEMO_KEY_ENV=OPENROUTER_API_KEY              env var holding its key, if any
# Without CONTINUUM_DEMO_MODEL_URL it sets up the small local model CI uses
# (llama-cpp-python + SmolLM2-135M, cached under ~/.cache/continuum-ci: the
# first run builds it, 7-15 minutes on 2 cores, progress shown; later runs
# take a second) and serves it on a free loopback port.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked -p continuum-daemon -p continuum-cli
BIN="$PWD/target/release"
export CONTINUUM_HOME="$(mktemp -d /tmp/continuum-demo.XXXXXX)"
cu() { "$BIN/cu" "$@"; }
STARTED_LLM=""
cleanup() {
  cu stop >/dev/null 2>&1 || true
  [[ -n "$STARTED_LLM" ]] && bash scripts/ci/llm-server.sh stop >/dev/null 2>&1 || true
  rm -rf "$CONTINUUM_HOME"
}
trap cleanup EXIT

step() { printf '\n\033[1m$ cu %s\033[0m\n' "$*"; }
note() { printf '\033[2m# %s\033[0m\n' "$*"; }

MODEL="${CONTINUUM_DEMO_MODEL:-smollm2}"
if [[ -n "${CONTINUUM_DEMO_MODEL_URL:-}" ]]; then
  URL="$CONTINUUM_DEMO_MODEL_URL"
else
  note "no CONTINUUM_DEMO_MODEL_URL: setting up the small local model (cached after the first run)"
  bash scripts/ci/setup-llm.sh >/dev/null
  PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  bash scripts/ci/llm-server.sh start "$PORT"
  STARTED_LLM=1
  URL="http://127.0.0.1:$PORT/v1"
fi
{
  echo "[providers.local]"
  echo "kind = \"openai\""
  echo "base_url = \"$URL\""
  echo "model = \"$MODEL\""
  [[ -n "${CONTINUUM_DEMO_KEY_ENV:-}" ]] && echo "credential = \"$CONTINUUM_DEMO_KEY_ENV\""
} >"$CONTINUUM_HOME/providers.toml"
# Short, deterministic answers from a small model.
printf '[personas]\ntemperature = 0.0\nmax_answer_tokens = 48\n' >"$CONTINUUM_HOME/config.toml"
note "providers.toml points persona provider 'local' at $URL ($MODEL)"

step start;                                   cu start
step persona/create --name asha --provider local --system-prompt "You are friendly and brief."
cu persona/create --name asha --provider local --system-prompt "You are friendly and brief."
step room/create --name lobby;                cu room/create --name lobby
step room/join --room lobby --persona asha;   cu room/join --room lobby --persona asha
step memory/remember --persona asha --text "The owner's cat is called Miso."
cu memory/remember --persona asha --text "The owner's cat is called Miso."
step chat/send --room lobby --text "@asha Hello! What is my cat called?"
SENT="$(cu chat/send --room lobby --text "@asha Hello! What is my cat called?" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
step chat/history --room lobby --after "$SENT" --wait-ms 60000 "   (waits for asha's answer)"
cu chat/history --room lobby --after "$SENT" --wait-ms 60000
note "'cu chat lobby' is the interactive way: type, and answers appear as they arrive"

step stop; cu stop
step start "   (asha resumes as herself: same id, same birth time)"; cu start
step persona/list;                            cu persona/list
step '--max-trust provisional commands/list --schemas=false   (what an AI persona may call: its tools)'
cu --max-trust provisional commands/list --schemas=false
step '--max-trust provisional persona/retire --persona asha   (refused: exit 4)'
cu --max-trust provisional persona/retire --persona asha || echo "(exit $?)"
step audit/verify;                            cu audit/verify
step stop;                                    cu stop
