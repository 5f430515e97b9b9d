#!/usr/bin/env bash
# setup-mcp.sh — the official MCP Python SDK (PyPI mcp==2.3.0), for the MCP
# end-to-end tests: tests/mcp/client.py drives `cu mcp` with it
# (docs/adr/0012-mcp-server.md, "Tests and benchmark").
#
# Ensures, under ${CONTINUUM_CI_CACHE:-$HOME/.cache/continuum-ci} (outside the repo,
# so later CI runs on the same machine reuse it):
#   venv-mcp/     venv with mcp==2.3.0, every dependency pinned by
#                 scripts/ci/mcp-constraints.txt
#   wheels-mcp/   the wheels of that whole set, so later installs are offline
#
# Cold (empty cache): 28 wheels (9 MB) from PyPI, 15-23 s on 2 cores, a 70 MB
# venv. Warm: under a second, no network (checks `import mcp` and every pin).
# Venv lost but wheels cached: ~8 s, offline (`pip install --no-index`).
# A machine without python3 or python3-venv gets them from setup-system.sh.
#
# Progress goes to stderr; the ONLY thing printed on stdout is the venv's python, so
#   export CONTINUUM_TEST_MCP_PYTHON=$(bash scripts/ci/setup-mcp.sh)
# works.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
CACHE="${CONTINUUM_CI_CACHE:-$HOME/.cache/continuum-ci}"
MCP_VERSION="2.3.0"
SPEC="mcp==${MCP_VERSION}"
CONSTRAINTS="$ROOT/scripts/ci/mcp-constraints.txt"

VENV="$CACHE/venv-mcp"
WHEELS="$CACHE/wheels-mcp"

log() { echo "[setup-mcp] $*" >&2; }
PYTHON="${PYTHON:-python3}"
# No "new pip available" probe of PyPI on the offline path, and never a prompt.
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

mkdir -p "$CACHE" "$WHEELS"

# Serialize concurrent runs (two CI jobs sharing one cache).
exec 9>"$CACHE/.setup-mcp.lock"
flock 9

# Good when mcp imports and every pin of the constraints file is what is installed.
venv_ok() {
  [[ -x "$VENV/bin/python" ]] || return 1
  "$VENV/bin/python" - "$MCP_VERSION" "$CONSTRAINTS" <<'EOF' >/dev/null 2>&1 || return 1
import sys, importlib.metadata as m
import mcp  # noqa: F401  (the import the tests need, not just the metadata)
assert m.version("mcp") == sys.argv[1]
for line in open(sys.argv[2]):
    line = line.split("#")[0].strip()
    if line:
        name, _, want = line.partition("==")
        assert m.version(name) == want, (name, want)
EOF
}

install_offline() {
  "$VENV/bin/pip" install -q --no-index --find-links "$WHEELS" -c "$CONSTRAINTS" "$SPEC" >&2
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
  log "venv ok: $VENV ($SPEC)"
else
  t0=$SECONDS
  log "creating venv $VENV"
  make_venv
  if install_offline 2>/dev/null; then
    log "installed $SPEC from cached wheels ($((SECONDS - t0)) s)"
  else
    # Cold cache, or new pins: fetch wheels for the whole pinned set, then
    # install from the cache exactly as a warm run would.
    log "downloading wheels for $SPEC into $WHEELS"
    "$VENV/bin/pip" wheel -q --progress-bar off --find-links "$WHEELS" -w "$WHEELS" \
      -c "$CONSTRAINTS" "$SPEC" >&2
    install_offline
    log "installed $SPEC ($((SECONDS - t0)) s)"
  fi
  venv_ok || { log "venv check failed after install: $VENV"; exit 1; }
fi
echo "$VENV/bin/python"
