#!/usr/bin/env bash
# setup-mcp.sh — the official MCP Python SDK (PyPI mcp==2.3.0), for the MCP
# end-to-end tests: tests/mcp/client.py drives `cu mcp` with it
# (docs/adr/0012-mcp-server.md, "Tests and benchmark").
#
# A cached venv-mcp (scripts/ci/pinned-venv.sh), every dependency pinned by
# scripts/ci/mcp-constraints.txt. Cold: 28 wheels (9 MB) from PyPI, 15-23 s
# on 2 cores, a 70 MB venv. Warm: under a second, no network. Venv lost but
# wheels cached: ~8 s, offline. Prints only the venv's python, so
#   export CONTINUUM_TEST_MCP_PYTHON=$(bash scripts/ci/setup-mcp.sh)
# works.
set -euo pipefail
CI_DIR="$(cd "$(dirname "$0")" && pwd)"
exec bash "$CI_DIR/pinned-venv.sh" mcp "$CI_DIR/mcp-constraints.txt" mcp "mcp==2.3.0"
