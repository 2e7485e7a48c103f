#!/usr/bin/env bash
# The project's test command (README, line 2). Installs nothing by hand:
# everything the tests need is built by cargo from this repository.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --locked "$@"
