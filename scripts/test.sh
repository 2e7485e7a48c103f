#!/usr/bin/env bash
# The project's test command (README, "Test"). Installs nothing by hand:
# everything the tests need is built by cargo from this repository.
# --no-fail-fast: every test binary runs even after one fails, so one failure
# never hides the results of the others (the exit status is still non-zero).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --locked --no-fail-fast "$@"
