#!/usr/bin/env bash
# The whole test suite. Builds the binaries the end-to-end tests drive (the
# workspace build includes the daemon's test-only commands), then runs every
# unit, integration, end-to-end and doc test.
#
# Optional real services (started by .ci/run, or by you):
#   CONTINUUM_TEST_LLM_URL      an OpenAI-compatible server for the real-model test
#   CONTINUUM_TEST_MCP_PYTHON   a python with the official MCP SDK, for the MCP
#                               tests: $(bash scripts/ci/setup-mcp.sh)
#   CONTINUUM_TEST_MOTO_PYTHON  a python with moto, for the S3/STS tests:
#                               $(bash scripts/ci/setup-moto.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --workspace --bins --locked
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --locked --no-fail-fast
else
    cargo test --workspace --locked --no-fail-fast
fi
cargo test --workspace --doc --locked

# The Python SDK against the real daemon (stdlib only, so no install step).
PYTHONPATH=sdk/python python3 -m unittest discover -s sdk/python/tests -t sdk/python -v
