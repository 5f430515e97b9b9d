#!/usr/bin/env bash
# setup-moto.sh — moto's S3 + STS + IAM server (PyPI moto[server]==5.2.5) and
# boto3, for the S3 adapter tests: crates/continuum-s3/tests/ start
# `moto_server` on a loopback port with IAM enforced and inspect the buckets
# independently with boto3 (docs/adr/0013-s3-and-sts.md, "Tests").
#
# Ensures, under ${CONTINUUM_CI_CACHE:-$HOME/.cache/continuum-ci} (outside the repo,
# so later CI runs on the same machine reuse it):
#   venv-moto/    venv with moto[server]==5.2.5 and boto3, every dependency
#                 pinned by scripts/ci/moto-constraints.txt
#   wheels-moto/  the wheels of that whole set, so later installs are offline
#
# Cold (empty cache): 60 wheels (50 MB) from PyPI, 25-30 s on 2 cores, a
# 317 MB venv. Warm: about 0.35 s, no network (checks `import moto, boto3,
# flask` and every pin). Venv lost but wheels cached: 22-26 s, offline
# (`pip install --no-index`).
# A machine without python3 or python3-venv gets them from setup-system.sh.
#
# Progress goes to stderr; the ONLY thing printed on stdout is the venv's python, so
#   export CONTINUUM_TEST_MOTO_PYTHON=$(bash scripts/ci/setup-moto.sh)
# works (the server is `$(dirname "$CONTINUUM_TEST_MOTO_PYTHON")/moto_server`).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
CACHE="${CONTINUUM_CI_CACHE:-$HOME/.cache/continuum-ci}"
MOTO_VERSION="5.2.5"
SPECS=("moto[server]==${MOTO_VERSION}" "boto3")
CONSTRAINTS="$ROOT/scripts/ci/moto-constraints.txt"

VENV="$CACHE/venv-moto"
WHEELS="$CACHE/wheels-moto"

log() { echo "[setup-moto] $*" >&2; }
PYTHON="${PYTHON:-python3}"
# No "new pip available" probe of PyPI on the offline path, and never a prompt.
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

mkdir -p "$CACHE" "$WHEELS"

# Serialize concurrent runs (two CI jobs sharing one cache).
exec 9>"$CACHE/.setup-moto.lock"
flock 9

# Good when moto's server and boto3 import, moto_server is there, and every
# pin of the constraints file is what is installed.
venv_ok() {
  [[ -x "$VENV/bin/python" && -x "$VENV/bin/moto_server" ]] || return 1
  "$VENV/bin/python" - "$MOTO_VERSION" "$CONSTRAINTS" <<'PY' >/dev/null 2>&1 || return 1
import sys, importlib.metadata as m
import boto3, flask, flask_cors, moto, moto.server  # noqa: F401  (what the tests run, not just the metadata)
assert m.version("moto") == sys.argv[1]
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
