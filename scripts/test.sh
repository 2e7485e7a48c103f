#!/usr/bin/env bash
# The project's test command (README, "Test"). What cargo cannot build (etcd for the replica-set
# tests) is installed first by scripts/install-test-deps.sh, which installs only what is missing.
# --no-fail-fast: every test binary runs even after one fails, so one failure
# never hides the results of the others (the exit status is still non-zero).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-test-deps.sh
cargo test --workspace --locked --no-fail-fast "$@"
