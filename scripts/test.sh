#!/usr/bin/env bash
# The project's test command (README, "Test"). What cargo cannot build (etcd for the replica-set
# tests, PostgreSQL for the projector's, Chromium for the edge's browser test, node and npm for the
# TypeScript client's) is installed first by
# scripts/install-test-deps.sh, which installs only what is missing.
# --no-fail-fast: every test binary runs even after one fails, so one failure
# never hides the results of the others (the exit status is still non-zero).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-test-deps.sh
status=0
cargo test --workspace --locked --no-fail-fast "$@" || status=$?
# The TypeScript client (clients/typescript, issue #18): its tests start the real matchd, built
# here (matchd and tools) so they never test a stale binary. Runs even after a cargo failure, for
# the same reason as --no-fail-fast; the exit status is non-zero if either failed.
cargo build --locked -p matchd -p tools
(
    cd clients/typescript
    npm ci --no-audit --no-fund
    npm run build
    MATCHD_BIN="${CARGO_TARGET_DIR:-$PWD/../../target}/debug/matchd" npm test
) || status=$?
exit "$status"
