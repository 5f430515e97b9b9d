#!/usr/bin/env bash
# pinned-venv.sh NAME CONSTRAINTS IMPORTS SPEC... — a cached venv holding
# SPEC..., every dependency pinned by the CONSTRAINTS file, for tests that
# drive a client or server nobody here wrote (setup-mcp.sh, setup-moto.sh).
#
# Under ${CONTINUUM_CI_CACHE:-$HOME/.cache/continuum-ci} (outside the repo, so
# later CI runs on the same machine reuse it):
#   venv-NAME/    the venv
#   wheels-NAME/  the wheels of the whole pinned set, so reinstalls are offline
#
# Warm: the venv imports IMPORTS (a comma-separated python import list) and
# every pin matches: no network, under a second. Venv lost, wheels cached:
# an offline reinstall. Cold: wheels from PyPI, then the same offline install.
# A machine without python3 or python3-venv gets them from setup-system.sh.
#
# Progress goes to stderr; the ONLY thing printed on stdout is the venv's python.
set -euo pipefail

NAME="$1" CONSTRAINTS="$2" IMPORTS="$3"
shift 3
SPECS=("$@")
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
CACHE="${CONTINUUM_CI_CACHE:-$HOME/.cache/continuum-ci}"
VENV="$CACHE/venv-$NAME"
WHEELS="$CACHE/wheels-$NAME"

log() { echo "[setup-$NAME] $*" >&2; }
PYTHON="${PYTHON:-python3}"
# No "new pip available" probe of PyPI on the offline path, and never a prompt.
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

mkdir -p "$CACHE" "$WHEELS"
# Serialize concurrent runs (two CI jobs sharing one cache).
exec 9>"$CACHE/.setup-$NAME.lock"
flock 9

# Good when IMPORTS import and every pin of the constraints file is installed.
venv_ok() {
  [[ -x "$VENV/bin/python" ]] || return 1
  "$VENV/bin/python" - "$IMPORTS" "$CONSTRAINTS" <<'PY' >/dev/null 2>&1 || return 1
import importlib, sys, importlib.metadata as m
for module in sys.argv[1].split(","):
    importlib.import_module(module.strip())  # what the tests run, not just the metadata
for line in open(sys.argv[2]):
    line = line.split("#")[0].strip()
    if line:
        name, _, want = line.partition("==")
        assert m.version(name) == want, (name, want)
PY
}

install_offline() {
  "$VENV/bin/pip" install -q --no-index --find-links "$WHEELS" -c "$CONSTRAINTS" "${SPECS[@]}" >&2
}

# A bare Debian may lack python3, or python3-venv (then `python3 -m venv` fails:
# "ensurepip is not available"). setup-system.sh installs both; reuse it.
make_venv() {
  rm -rf "$VENV"
  if command -v "$PYTHON" >/dev/null 2>&1 && "$PYTHON" -m venv "$VENV" >/dev/null 2>&1; then
    return
  fi
  log "no usable '$PYTHON -m venv' (python3-venv missing?); running setup-system.sh"
  rm -rf "$VENV"
  bash "$ROOT/scripts/ci/setup-system.sh" >&2
  "$PYTHON" -m venv "$VENV"
}

if venv_ok; then
  log "venv ok: $VENV (${SPECS[*]})"
else
  t0=$SECONDS
  log "creating venv $VENV"
  make_venv
  if install_offline 2>/dev/null; then
    log "installed ${SPECS[*]} from cached wheels ($((SECONDS - t0)) s)"
  else
    # Cold cache, or new pins: fetch wheels for the whole pinned set, then
    # install from the cache exactly as a warm run would.
    log "downloading wheels for ${SPECS[*]} into $WHEELS"
    "$VENV/bin/pip" wheel -q --progress-bar off --find-links "$WHEELS" -w "$WHEELS" \
      -c "$CONSTRAINTS" "${SPECS[@]}" >&2
    install_offline
    log "installed ${SPECS[*]} ($((SECONDS - t0)) s)"
  fi
  venv_ok || { log "venv check failed after install: $VENV"; exit 1; }
fi
echo "$VENV/bin/python"
