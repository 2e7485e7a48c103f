#!/usr/bin/env bash
# Builds a profile-guided (PGO) release `matchd`: the compiler lays out and inlines the hot paths
# by what a real run did, not by guesses. Three steps:
#   1. an instrumented matchd (target/pgo-gen) and a plain loadgen;
#   2. a training run: that matchd on loopback (a free port, a scratch data dir), loadgen's
#      mixed flow against it in closed loop for --train-s seconds, then SIGINT so matchd stops
#      cleanly and writes its profile;
#   3. matchd built again with the merged profile, into target/pgo/release/matchd.
# target/release is not touched. On the engine bench, a PGO build took 0.95 / 0.91 / 0.90 of the
# time of a plain one on the three #14 flows (BENCHMARKS.md, "session 20").
#
#   scripts/build-pgo.sh [--train-s N]      (default 20)
#
# Needs llvm-profdata of the toolchain's LLVM: `rustup component add llvm-tools`.
set -euo pipefail
cd "$(dirname "$0")/.."

train_s=20
while (($#)); do
    case "$1" in
        --train-s) train_s="${2:?--train-s needs a number of seconds}"; shift 2 ;;
        *) echo "usage: scripts/build-pgo.sh [--train-s N]" >&2; exit 2 ;;
    esac
done

host=$(rustc -vV | sed -n 's/^host: //p')
profdata="$(rustc --print sysroot)/lib/rustlib/$host/bin/llvm-profdata"
if [[ ! -x "$profdata" ]]; then
    echo "build-pgo: $profdata is missing; install it with: rustup component add llvm-tools" >&2
    exit 1
fi

work=$(mktemp -d)
matchd_pid=
cleanup() {
    if [[ -n "$matchd_pid" ]]; then kill -9 "$matchd_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

echo "== 1/3: instrumented matchd, plain loadgen" >&2
cargo build --release --locked -q -p tools --bin loadgen
# A fixed profile directory: the instrumented build does not depend on what is in it, so a second
# run reuses it (a new path in RUSTFLAGS would rebuild everything).
raw_dir="$PWD/target/pgo-gen/profraw"
rm -rf "$raw_dir"
RUSTFLAGS="-Cprofile-generate=$raw_dir" CARGO_TARGET_DIR=target/pgo-gen \
    cargo build --release --locked -q -p matchd --bin matchd

echo "== 2/3: training run, ${train_s} s of loadgen's mixed flow" >&2
loadgen=target/release/loadgen
sessions=8
"$loadgen" --sessions "$sessions" --accounts-from 100 --print-matchd-config \
    | sed 's/^listen = "127.0.0.1:7001"/listen = "127.0.0.1:0"/' >"$work/matchd.toml"
target/pgo-gen/release/matchd --config "$work/matchd.toml" --data-dir "$work/data" \
    >"$work/matchd.out" 2>"$work/matchd.err" &
matchd_pid=$!
addr=
for _ in $(seq 1 600); do
    addr=$(sed -n 's/^matchd ready listen=\([^ ]*\).*/\1/p' "$work/matchd.out")
    [[ -n "$addr" ]] && break
    if ! kill -0 "$matchd_pid" 2>/dev/null; then
        echo "build-pgo: the instrumented matchd exited:" >&2
        cat "$work/matchd.err" >&2
        exit 1
    fi
    sleep 0.1
done
[[ -n "$addr" ]] || { echo "build-pgo: matchd never printed its ready line" >&2; exit 1; }
"$loadgen" --addr "$addr" --sessions "$sessions" --accounts-from 100 --closed-loop --window 32 \
    --duration-s "$train_s" >"$work/loadgen.json" 2>"$work/loadgen.err" || {
    echo "build-pgo: loadgen failed:" >&2
    tail -n 20 "$work/loadgen.err" >&2
    exit 1
}
tail -n 1 "$work/loadgen.json" >&2
kill -INT "$matchd_pid"
wait "$matchd_pid" || { echo "build-pgo: matchd did not stop cleanly:" >&2; tail -n 20 "$work/matchd.err" >&2; exit 1; }
matchd_pid=
shopt -s nullglob
raw=("$raw_dir"/*.profraw)
((${#raw[@]})) || { echo "build-pgo: the training run wrote no profile" >&2; exit 1; }
"$profdata" merge -o "$work/matchd.profdata" "${raw[@]}"

echo "== 3/3: matchd with the profile" >&2
RUSTFLAGS="-Cprofile-use=$work/matchd.profdata" CARGO_TARGET_DIR=target/pgo \
    cargo build --release --locked -q -p matchd --bin matchd
echo "build-pgo: target/pgo/release/matchd" >&2
