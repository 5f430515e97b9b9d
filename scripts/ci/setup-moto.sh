#!/usr/bin/env bash
# setup-moto.sh — moto's S3 + STS + IAM server (PyPI moto[server]==5.2.5) and
# boto3, for the S3 tests: crates/continuum-s3 and tests/e2e/storage_s3.rs
# start `moto_server` on a loopback port with IAM enforced and inspect the
# buckets independently with boto3 (docs/adr/0013-s3-and-sts.md, "Tests").
#
# A cached venv-moto (scripts/ci/pinned-venv.sh), every dependency pinned by
# scripts/ci/moto-constraints.txt. Cold: 60 wheels (50 MB) from PyPI, 25-30 s
# on 2 cores, a 317 MB venv. Warm: about 0.35 s, no network. Venv lost but
# wheels cached: 22-26 s, offline. Prints only the venv's python, so
#   export CONTINUUM_TEST_MOTO_PYTHON=$(bash scripts/ci/setup-moto.sh)
# works (the server is `$(dirname "$CONTINUUM_TEST_MOTO_PYTHON")/moto_server`).
set -euo pipefail
CI_DIR="$(cd "$(dirname "$0")" && pwd)"
exec bash "$CI_DIR/pinned-venv.sh" moto "$CI_DIR/moto-constraints.txt" \
  "boto3,flask,flask_cors,moto,moto.server" "moto[server]==5.2.5" "boto3"
