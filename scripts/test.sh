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
# The TypeScript client (clients/typescript, issue #18): its tests start the real matchd. The
# `cargo test` above already built it (matchd has integration tests, so cargo builds its binary
# into target/debug); `--no-run` makes sure of it at no cost when it is fresh, so the tests never
# start a stale binary. A separate `cargo build -p matchd` would resolve the dependencies'
# features without the workspace's dev-dependencies and compile ~40 crates a second time (47 s on
# a quiet 2-core machine, ~2 min under load). Runs even after a cargo failure, for the same reason
# as --no-fail-fast; the exit status is non-zero if either failed. When a test target does not
# compile, matchd alone is built, so the client's tests still run against a fresh binary.
cargo test --workspace --locked --no-run || { status=1; cargo build --locked -p matchd; }
(
    cd clients/typescript
    npm ci --no-audit --no-fund
    npm run build
    MATCHD_BIN="${CARGO_TARGET_DIR:-$PWD/../../target}/debug/matchd" npm test
) || status=$?
exit "$status"
