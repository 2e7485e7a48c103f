#!/usr/bin/env bash
# Builds release binaries and runs every benchmark harness one after the
# other: engine (with the peer order books), ring, journal, replay (with
# memory bandwidth), publisher (market-data and report cost per event),
# snapshot (in process and in the real matchd), e2e and tls (plain vs TLS
# round trip), and the edge (REST order entry and WebSocket fan-out through
# matchd-edge, `cargo bench -p edge`). Quick mode by default (a few minutes on 2
# cores); --full runs each harness without --quick.
#
#   scripts/bench-all.sh [--full]
#
# Each harness's JSON lines go to target/bench-results/<name>.jsonl (its
# stderr to <name>.log); the last JSON line of each (its summary) is printed.
# Figures from a loaded machine are not comparable: the load average is
# printed before and after, and most harnesses record it too.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=--quick
case "${1:-}" in
    --full) mode= ;;
    "" | --quick) ;;
    *) echo "usage: scripts/bench-all.sh [--full]" >&2; exit 2 ;;
esac

bin="${CARGO_TARGET_DIR:-target}/release"
out="target/bench-results"
mkdir -p "$out"

echo "== load before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores" >&2
cargo build --release --locked -p matchd -p benches

failed=()
for name in engine ring journal replay publisher snapshot live_snapshot e2e tls; do
    echo "== $name ${mode}" >&2
    start=$SECONDS
    if "$bin/$name" $mode >"$out/$name.jsonl" 2>"$out/$name.log"; then
        echo "== $name done in $((SECONDS - start)) s" >&2
    else
        echo "== $name FAILED (exit $?) after $((SECONDS - start)) s; see $out/$name.log" >&2
        failed+=("$name")
    fi
    tail -n 1 "$out/$name.jsonl"
done
# The edge's harness is a cargo bench of its own crate (it starts target/release/matchd).
echo "== edge ${mode}" >&2
start=$SECONDS
# shellcheck disable=SC2086
if cargo bench --locked -p edge --bench edge -- $mode >"$out/edge.jsonl" 2>"$out/edge.log"; then
    echo "== edge done in $((SECONDS - start)) s" >&2
else
    echo "== edge FAILED (exit $?) after $((SECONDS - start)) s; see $out/edge.log" >&2
    failed+=("edge")
fi
tail -n 1 "$out/edge.jsonl"
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg); results in $out/" >&2
if ((${#failed[@]})); then
    echo "failed: ${failed[*]}" >&2
    exit 1
fi
