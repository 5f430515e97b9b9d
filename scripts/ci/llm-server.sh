#!/usr/bin/env bash
# llm-server.sh — start/stop a real OpenAI-compatible LLM server (llama-cpp-python + SmolLM2-135M)
# on loopback for CI. Needs scripts/ci/setup-llm.sh to have run (same cache dir).
#
#   bash scripts/ci/llm-server.sh start PORT   # background; returns once GET /v1/models answers
#   bash scripts/ci/llm-server.sh stop         # kills it (no-op if not running)
#   bash scripts/ci/llm-server.sh status
#
# Files: $CACHE/llm-server.log, $CACHE/llm-server.pid, $CACHE/llm-server.port
#   CACHE=${CONTINUUM_CI_CACHE:-$HOME/.cache/continuum-ci}
# Tip for .ci/run: `trap 'bash scripts/ci/llm-server.sh stop' EXIT` right after starting it.
#
# FINDINGS (llama-cpp-python 0.3.36, SmolLM2-135M-Instruct.Q4_1.gguf, measured on 2 cores):
# - Chat format: with no --chat_format the server uses the GGUF's own tokenizer.chat_template
#   (SmolLM2's ChatML; it injects the system prompt "You are a helpful AI assistant named
#   SmolLM, trained by Hugging Face" when the first message isn't a system message) with
#   eos <|im_end|>. That works, so we keep it. `--chat_format chatml` also works (no default
#   system prompt, so different text). With the GGUF template, "tools" in the request are
#   silently ignored (plain text answer, no tool_calls).
# - Ready (GET /v1/models answers) ~1.5 s after start; RSS ~330 MB; a 16-token answer ~0.3-0.5 s.
# - DETERMINISM: with the default n_batch=512, temperature 0 is NOT reproducible across
#   requests: the answer depends on the previous request, because the server reuses the
#   KV-cache prefix and the last prompt token gets evaluated in a batch of 1 vs. in a big batch
#   (float differences flip a greedy pick). E.g. "Say hi" gave "...I'm a helpful AI, and
#   I'll" after a different prompt but "...I'm here to help with any kind of" when repeated.
#   --n_batch 1 (our default, LLM_SERVER_N_BATCH to change) makes it history-independent:
#   "Say hi" -> "I'm glad you're here! I'm a helpful AI, designed to assist" every time,
#   streamed or not. Cost: prompt eval is per token (~80 tok/s here; a 900-token prompt takes
#   ~12 s vs ~7 s batched), so keep test prompts short either way.
# - Non-streaming: OpenAI shape, "usage" present, finish_reason "length" or "stop"; "model" echoes
#   the request's "model" (the model file path if the request has none).
# - Streaming ("stream":true): text/event-stream, events separated by "\n\n" (no \r), JSON
#   written with ", " / ": " separators. First chunk delta {"role":"assistant"}, then one chunk
#   per token {"content":"..."}, then a chunk with delta {} and finish_reason, then
#   "data: [DONE]". NO usage in any chunk (stream_options/include_usage is not supported), no
#   reasoning/reasoning_content fields, "logprobs": null in every choice.
# - Errors: request validation errors come back as HTTP 500 (not 400/422) with
#   {"error":{"message":"1 validation error: ..."}}; a non-JSON body gives 500 text/plain
#   "Internal Server Error". "messages": [] is accepted (200, rambling text).
set -euo pipefail

CACHE="${CONTINUUM_CI_CACHE:-$HOME/.cache/continuum-ci}"
VENV="$CACHE/venv-llm"
MODEL="$CACHE/models/SmolLM2-135M-Instruct.Q4_1.gguf"
LOG="$CACHE/llm-server.log"
PIDFILE="$CACHE/llm-server.pid"
PORTFILE="$CACHE/llm-server.port"
READY_TIMEOUT="${LLM_SERVER_READY_TIMEOUT:-60}"
# Empty = let llama_cpp.server use the chat template embedded in the GGUF (SmolLM2's own ChatML
# Jinja template, see FINDINGS). Set e.g. LLM_SERVER_CHAT_FORMAT=chatml to force a built-in format.
CHAT_FORMAT="${LLM_SERVER_CHAT_FORMAT:-}"
# n_batch=1 makes temperature-0 output independent of what the server answered before (see FINDINGS).
N_BATCH="${LLM_SERVER_N_BATCH:-1}"

log() { echo "[llm-server] $*" >&2; }

usage() { echo "usage: $0 start PORT | stop | status" >&2; exit 2; }

# Is PID alive and really our llama_cpp.server (guards against pid reuse)?
our_pid_alive() {
  local pid="$1"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'llama_cpp.server'
}

current_pid() { [[ -f "$PIDFILE" ]] && cat "$PIDFILE" || true; }

answers() { curl -sf -m 2 "http://127.0.0.1:$1/v1/models" >/dev/null 2>&1; }

do_stop() {
  local pid
  pid="$(current_pid)"
  if our_pid_alive "$pid"; then
    log "stopping pid $pid"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      our_pid_alive "$pid" || break
      sleep 0.1
    done
    if our_pid_alive "$pid"; then
      log "pid $pid ignored SIGTERM; SIGKILL"
      kill -9 "$pid" 2>/dev/null || true
    fi
  else
    log "not running"
  fi
  rm -f "$PIDFILE" "$PORTFILE"
}

do_start() {
  local port="$1"
  [[ "$port" =~ ^[0-9]+$ ]] || usage
  [[ -x "$VENV/bin/python" ]] || { log "no venv at $VENV: run scripts/ci/setup-llm.sh first"; exit 1; }
  [[ -f "$MODEL" ]] || { log "no model at $MODEL: run scripts/ci/setup-llm.sh first"; exit 1; }

  local pid
  pid="$(current_pid)"
  if our_pid_alive "$pid"; then
    if [[ "$(cat "$PORTFILE" 2>/dev/null)" == "$port" ]] && answers "$port"; then
      log "already running (pid $pid) on port $port"
      return 0
    fi
    do_stop
  fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    log "something else already listens on 127.0.0.1:$port; refusing to start"
    exit 1
  fi

  local extra=()
  [[ -n "$CHAT_FORMAT" ]] && extra+=(--chat_format "$CHAT_FORMAT")
  log "starting on 127.0.0.1:$port (chat_format=${CHAT_FORMAT:-<gguf template>}, n_batch=$N_BATCH, log: $LOG)"
  : >"$LOG"
  nohup "$VENV/bin/python" -m llama_cpp.server \
    --model "$MODEL" --n_threads 2 --n_batch "$N_BATCH" "${extra[@]}" \
    --host 127.0.0.1 --port "$port" \
    </dev/null >>"$LOG" 2>&1 &
  pid=$!
  echo "$pid" >"$PIDFILE"
  echo "$port" >"$PORTFILE"

  local t0 deadline
  t0="$(date +%s.%N)"
  deadline=$((SECONDS + READY_TIMEOUT))
  until answers "$port"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "server exited before becoming ready; last lines of $LOG:"
      tail -n 40 "$LOG" >&2
      rm -f "$PIDFILE" "$PORTFILE"
      exit 1
    fi
    if ((SECONDS >= deadline)); then
      log "not ready after ${READY_TIMEOUT}s; last lines of $LOG:"
      tail -n 40 "$LOG" >&2
      do_stop
      exit 1
    fi
    sleep 0.2
  done
  log "ready (pid $pid) after $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s: http://127.0.0.1:$port/v1"
}

do_status() {
  local pid
  pid="$(current_pid)"
  if our_pid_alive "$pid"; then
    echo "running pid $pid port $(cat "$PORTFILE" 2>/dev/null || echo '?')"
  else
    echo "not running"
    return 1
  fi
}

mkdir -p "$CACHE"
case "${1:-}" in
  start) [[ $# -eq 2 ]] || usage; do_start "$2" ;;
  stop) do_stop ;;
  status) do_status ;;
  *) usage ;;
esac
