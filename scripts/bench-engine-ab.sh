#!/usr/bin/env bash
# Before and after of the engine bench: two revisions built alike, run alternately, ratios last.
#
# Both builds align every function to 64 bytes and every branch target that is not a fall-through
# to 32 (LLVM's -align-all-functions / -align-all-nofallthru-blocks). Without that, where the
# linker happens to place the hot loops decides as much as the change does: on this VM two builds
# whose measured path was the same code (they differed by a function it never calls) ran the book
# flows 10-15% apart, consistently, round after round (BENCHMARKS.md, "Inlining the command path").
# That "aligned, they agree" was measured with this script's old, broken working-tree mode and is
# unconfirmed; two aligned builds of one revision still sat a few per cent apart on one flow in an
# A/A control (BENCHMARKS.md, 2026-12-05). The alignment is for comparing; release builds do not
# use it.
#
# Usage: bash scripts/bench-engine-ab.sh BEFORE [AFTER] [ROUNDS]
#   BEFORE, AFTER: git revisions (AFTER defaults to the working tree); ROUNDS (default 4) of
#   both, the first side alternating, each the three book flows (best of 5 passes) and the
#   exchange-core mix, matching only and with accounts on (median of 5; a BEFORE older than `--flow
#   exchange-core-accounts` runs its whole default mode for that line, which takes minutes).
#   BOOK_FLOWS=0 skips the three book flows (for changes to the risk path, which they do not run).
# Prints each round, then one JSON line: per flow the medians and after/before ratios.
# Each revision runs its own bench harness: from 6a9eda6 on, a pass reads its input untimed first
# (benches/src/input_cache.rs). Against an older BEFORE only a pass that starts with its commands
# out of the cache differs, which back-to-back passes rarely do; check the per-round lines for it.
set -euo pipefail
cd "$(dirname "$0")/.."
before=${1:?usage: bench-engine-ab.sh BEFORE [AFTER] [ROUNDS]}
after=${2:-}
rounds=${3:-4}
flags="-C llvm-args=-align-all-functions=6 -C llvm-args=-align-all-nofallthru-blocks=5"
# Two target directories, kept between runs (the dependencies are built once): one for checked-out
# revisions, one that only the working tree builds into. One shared directory compared a revision
# with itself: cargo's fingerprints name a workspace's sources relative to its root, so after a
# checkout's build the working tree, whose files are older than those artifacts, counted as built
# and its binary was the checkout's. A checkout is always newer than what was built before it.
target=${CARGO_TARGET_DIR:-$PWD/target}/aligned
out=$(mktemp -d /tmp/engine-ab.XXXXXX)
trees=()
cleanup() {
    for t in "${trees[@]}"; do git worktree remove --force "$t" 2> /dev/null || true; done
    rm -rf "$out"
    git worktree prune
}
trap cleanup EXIT

build() { # $1: source tree, $2: name (before, after), $3: target directory
    (cd "$1" && CARGO_TARGET_DIR="$3" RUSTFLAGS="$flags" cargo build --release --locked -q -p benches --bin engine)
    cp "$3/release/engine" "$out/engine.$2"
}
checkout() { # $1: revision, $2: name; the tree is $out/$2 (not run in a subshell: `trees` must grow)
    git worktree add -q --detach "$out/$2" "$1"
    trees+=("$out/$2")
}

checkout "$before" before
build "$out/before" before "$target-rev"
if [[ -n $after ]]; then
    checkout "$after" after
    build "$out/after" after "$target-rev"
else
    build . after "$target-tree"
fi
# Builds of two trees differ at least in their paths (debug info); the same bytes mean one side's
# build was not made.
if cmp -s "$out/engine.before" "$out/engine.after"; then
    echo "bench-engine-ab: the two builds are the same binary; nothing to compare" >&2
    exit 1
fi

run() { # $1: name; prints "name flow ns" lines (exchange-core: M commands/s)
    [[ ${BOOK_FLOWS:-1} == 0 ]] || "$out/engine.$1" --quick --book-flows --no-peers --runs 5 --commands 500000 2>&1 | grep '^{' |
        python3 -c 'import sys, json
for l in sys.stdin:
    d = json.loads(l)
    if "mix" in d and "best_ns_per_op" in d: print(sys.argv[1], d["mix"], d["best_ns_per_op"])' "$1"
    for flow in exchange-core exchange-core-accounts; do
        "$out/engine.$1" --quick --no-peers --runs 5 --flow $flow 2>&1 | grep '^{' |
            python3 -c 'import sys, json
accounts = sys.argv[2].endswith("accounts")
for l in sys.stdin:
    d = json.loads(l)
    if d.get("mix") == "exchange-core" and d.get("accounts") == accounts:
        print(sys.argv[1], sys.argv[2], round(d["cmds_per_sec"] / 1e6, 2))' "$1" $flow
    done
}

# Which side runs first alternates by round, so that neither always runs first. (An A/A control,
# two builds of one revision, still leaves a few per cent on one flow: that is the build's, not the
# order's; BENCHMARKS.md, 2026-12-05.)
for r in $(seq "$rounds"); do
    order="after before"
    ((r % 2)) || order="before after"
    for v in $order; do
        echo "round $r: $(run $v | tee -a "$out/results" | cut -d' ' -f2- | paste -sd' ')  ($v; load $(cut -d' ' -f1 /proc/loadavg))"
    done
done

python3 - "$out/results" "$before" "${after:-working tree}" <<'EOF'
import collections, json, statistics, sys
runs = collections.defaultdict(lambda: collections.defaultdict(list))
for line in open(sys.argv[1]):
    name, flow, value = line.split()
    runs[flow][name].append(float(value))
flows = {}
for flow, v in runs.items():
    ratios = [a / b for a, b in zip(v["after"], v["before"])]
    unit = "M_cmds_per_s" if flow.startswith("exchange-core") else "best_ns_per_cmd"
    flows[flow] = {"unit": unit, "before": round(statistics.median(v["before"]), 3),
                   "after": round(statistics.median(v["after"]), 3),
                   "after_over_before": [round(r, 3) for r in ratios]}
print(json.dumps({"bench": "engine_ab", "before": sys.argv[2], "after": sys.argv[3], "flows": flows}))
EOF
