#!/usr/bin/env bash
# matchd's closed-loop throughput without and with matchd-projector following its journal into a
# local PostgreSQL, and the projector's lag while the load runs, for each CPU priority of the
# read side in VARIANTS (each round: without, then with each variant in turn, alternating).
# Release binaries: cargo build --release -p matchd -p tools -p projector.
# Then one open-loop round per variant at OPEN_RATE commands/s offered (all sessions together)
# beside the projector: what matchd answered, the projector's largest lag and how long it took
# to catch up after the load.
#
# A variant is LABEL:PRIORITY[:PROJECTOR ARGS], PRIORITY one of
#   0..19  nice value of the projector and of every PostgreSQL process (the postmaster and its
#          backends: a new backend inherits the postmaster's), like systemd's Nice=;
#   idle   SCHED_IDLE for both (they run only on a core nothing else wants), like systemd's
#          CPUSchedulingPolicy=idle;
#   none   no projector: a control round, to see matchd's own drift between rounds (its books
#          and journal grow over the run).
# DURABILITY is matchd's --durability (batch: every answer waits for the journal's fdatasync).
# PG_DIR is where PostgreSQL's cluster lives (default: beside matchd's data, on the same disk;
# /dev/shm takes PostgreSQL's writes off matchd's disk, as another disk or host would).
# OPEN_RATE=0 skips the open-loop rounds.
# MATCHD_CPUS / READ_SIDE_CPUS (taskset lists, e.g. 0 and 1): matchd and the load generator on the
# first, the projector and PostgreSQL on the second, to see what is left of the interference when
# the read side has a core of its own, as on another host (it still shares the disk, the page
# cache and the last-level cache; on a VM the two vCPUs may be one core's two threads).
# Usage: [SESSIONS=4] [DURATION_S=8] [WINDOW=16] [OPEN_RATE=100000] [ROUNDS=2] [DURABILITY=batch] [PG_DIR=...]
#        [MATCHD_CPUS=0 READ_SIDE_CPUS=1]
#        [VARIANTS="nice0:0 nice19:19 idle:idle"] bash scripts/bench-projector-impact.sh
set -euo pipefail
cd "$(dirname "$0")/.."
T=${CARGO_TARGET_DIR:-target}/release
on_matchd_cpus=(); [[ -n ${MATCHD_CPUS:-} ]] && on_matchd_cpus=(taskset -c "$MATCHD_CPUS")
on_read_cpus=(); [[ -n ${READ_SIDE_CPUS:-} ]] && on_read_cpus=(taskset -c "$READ_SIDE_CPUS")
SESSIONS=${SESSIONS:-4}; DURATION_S=${DURATION_S:-8}; WINDOW=${WINDOW:-16}; OPEN_RATE=${OPEN_RATE:-100000}
ROUNDS=${ROUNDS:-2}; DURABILITY=${DURABILITY:-batch}; VARIANTS=${VARIANTS:-"nice0:0 nice19:19 idle:idle"}
dir=$(mktemp -d /tmp/projector-impact.XXXXXX); chmod 755 "$dir"
pgdir=$(mktemp -d "${PG_DIR:-$dir}/pg.XXXXXX"); chmod 755 "$pgdir"
pids=()
# SIGTERM stops matchd and the projector; PostgreSQL takes it as a smart shutdown: SIGKILL what is left.
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    sleep 3
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    rm -rf "$dir" "$pgdir"
}
trap cleanup EXIT

"$T/loadgen" --accounts-from 100 --sessions "$SESSIONS" --print-matchd-config > "$dir/matchd.toml"
"${on_matchd_cpus[@]}" "$T/matchd" --config "$dir/matchd.toml" --data-dir "$dir/data" --listen 127.0.0.1:0 \
    --metrics-listen 127.0.0.1:0 --durability "$DURABILITY" > "$dir/matchd.out" 2> "$dir/matchd.err" &
pids+=($!)
for _ in $(seq 600); do grep -q "matchd ready listen=" "$dir/matchd.out" && break; sleep 0.1; done
addr=$(sed -n 's/^matchd ready listen=\([^ ]*\).*/\1/p' "$dir/matchd.out")

# PostgreSQL (defaults) in $pgdir as an unprivileged user, as the tests run it.
initdb=$(command -v initdb || ls /usr/lib/postgresql/*/bin/initdb | tail -1)
pgbin=$(dirname "$(readlink -f "$initdb")")
as=()
if [[ $(id -u) -eq 0 ]]; then
    id -u matchd-test >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin matchd-test
    as=(setpriv --reuid=matchd-test --regid=matchd-test --clear-groups)
    chown matchd-test "$pgdir"
fi
"${as[@]}" "$pgbin/initdb" -D "$pgdir/data" -U postgres --auth=trust -E UTF8 --no-sync > /dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"${on_read_cpus[@]}" "${as[@]}" "$pgbin/postgres" -D "$pgdir/data" -p "$port" -k "$pgdir" -c listen_addresses=127.0.0.1 \
    > "$dir/pg.log" 2>&1 &
pgpid=$!; pids+=("$pgpid")
for _ in $(seq 600); do "$pgbin/pg_isready" -h 127.0.0.1 -p "$port" -q && break; sleep 0.1; done
"$pgbin/createdb" -h 127.0.0.1 -p "$port" -U postgres readside
url="host=127.0.0.1 port=$port user=postgres dbname=readside"

# PostgreSQL's processes (the postmaster and its children) at priority $1 (root may raise it back).
pg_priority() {
    local all=("$pgpid" $(pgrep -P "$pgpid" || true))
    if [[ $1 == idle ]]; then
        for p in "${all[@]}"; do chrt --idle -a -p 0 "$p" > /dev/null 2>&1 || true; done
    else
        for p in "${all[@]}"; do chrt --other -a -p 0 "$p" > /dev/null 2>&1 || true; done
        renice -n "$1" -p "${all[@]}" > /dev/null 2>&1 || true
    fi
}
# The command prefix that runs the projector at priority $1.
prio_prefix() { if [[ $1 == idle ]]; then echo "chrt --idle 0"; else echo "nice -n $1"; fi; }

load() {
    "${on_matchd_cpus[@]}" "$T/loadgen" --addr "$addr" --accounts-from 100 --sessions "$SESSIONS" --closed-loop --window "$WINDOW" \
        --duration-s "$DURATION_S" --warmup-s 1 2>&1 >/dev/null | sed -n 's/.*answered \([0-9]*\)\/s.*/\1/p'
}
metric() { curl -s "http://$1/metrics" | awk -v m="$2" '$1 == m {print $2}'; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# Starts the projector at priority $1 with extra arguments $2 and waits until it has caught up.
start_projector() {
    pg_priority "$1"
    # shellcheck disable=SC2046,SC2086
    "${on_read_cpus[@]}" $(prio_prefix "$1") "$T/matchd-projector" --data-dir "$dir/data" --database "$url" \
        --metrics-listen 127.0.0.1:0 $2 > "$dir/projector.out" 2> "$dir/projector.err" &
    ppid=$!; pids+=("$ppid")
    for _ in $(seq 600); do grep -q "metrics listen=" "$dir/projector.out" && break; sleep 0.1; done
    maddr=$(sed -n 's/^matchd-projector metrics listen=\(.*\)/\1/p' "$dir/projector.out")
    # Catch up with what the previous rounds wrote first, so the load is measured beside a live projector.
    for _ in $(seq 3000); do [[ "$(metric "$maddr" projector_lag_records)" == 0 ]] && break; sleep 0.2; done
}
# Samples the projector's lag into $1 while the load runs (in the background: $sampler).
sample_lag() {
    (for _ in $(seq $((DURATION_S * 4 + 8))); do
        echo "$(metric "$maddr" projector_lag_records) $(metric "$maddr" projector_lag_seconds)"; sleep 0.25
    done) > "$1" &
    sampler=$!
}
stop_projector() { kill "$ppid"; wait "$ppid" 2>/dev/null || true; pg_priority 0; }

declare -A with open
without=()
# A warm-up round, not counted: a fresh matchd (empty books and journal) answers up to twice as
# fast as it does a round later, which would flatter the first "without" round.
load > /dev/null
for round in $(seq "$ROUNDS"); do
    l=$(loadavg); without+=("$(load)")
    echo "round $round: without ${without[-1]}/s (load $l)" >&2
    for v in $VARIANTS; do
        IFS=: read -r label prio args <<< "$v"
        if [[ $prio == none ]]; then
            l=$(loadavg); answered=$(load)
            with[$label]="${with[$label]:-} $answered"
            echo "round $round: $label (no projector) ${answered}/s (load $l)" >&2
            continue
        fi
        start_projector "$prio" "$args"
        sample_lag "$dir/lag.$round.$label"
        l=$(loadavg); answered=$(load)
        wait "$sampler" || true
        maxlag=$(sort -n -k1 "$dir/lag.$round.$label" | tail -1)
        with[$label]="${with[$label]:-} $answered"
        echo "round $round: $label ${answered}/s (load $l); projector max lag (records seconds): $maxlag" >&2
        stop_projector
    done
done

# Open loop at OPEN_RATE offered beside each variant (caught up first).
[[ $OPEN_RATE == 0 ]] && VARIANTS_OPEN="" || VARIANTS_OPEN=$VARIANTS
for v in $VARIANTS_OPEN; do
    IFS=: read -r label prio args <<< "$v"
    [[ $prio == none ]] && continue
    start_projector "$prio" "$args"
    sample_lag "$dir/lag.open.$label"
    l=$(loadavg)
    answered=$("${on_matchd_cpus[@]}" "$T/loadgen" --addr "$addr" --accounts-from 100 --sessions "$SESSIONS" --rate "$OPEN_RATE" \
        --duration-s "$DURATION_S" --warmup-s 1 2>&1 >/dev/null | sed -n 's/.*answered \([0-9]*\)\/s.*/\1/p')
    load_end=$(date +%s.%N)
    wait "$sampler" || true
    for _ in $(seq 6000); do [[ "$(metric "$maddr" projector_lag_records)" == 0 ]] && break; sleep 0.1; done
    catch_up_s=$(python3 -c "import time; print(round(time.time() - $load_end, 1))")
    maxlag=$(sort -n -k1 "$dir/lag.open.$label" | tail -1)
    open[$label]="${answered:-0} ${maxlag%% *} ${maxlag##* } $catch_up_s"
    echo "open loop, $label: offered $OPEN_RATE/s, answered ${answered}/s (load $l); projector max lag (records seconds): $maxlag; caught up ${catch_up_s} s after the load" >&2
    stop_projector
done

args=("$OPEN_RATE" "${without[*]}")
for v in $VARIANTS; do
    label=${v%%:*}
    args+=("$label" "${with[$label]}" "${open[$label]:-0 0 0 0}")
done
python3 - "${args[@]}" <<'PY'
import sys, json
rate, wo = float(sys.argv[1]), [float(x) for x in sys.argv[2].split()]
out = {"bench": "projector_impact", "without_per_sec": wo, "variants": {}}
rest = sys.argv[3:]
for i in range(0, len(rest), 3):
    label, wi, op = rest[i], [float(x) for x in rest[i + 1].split()], [float(x or 0) for x in rest[i + 2].split()]
    out["variants"][label] = {
        "with_per_sec": wi, "ratio": round(sum(wi) / sum(wo), 3),
        "open_loop": {"offered_per_sec": rate, "answered_per_sec": op[0], "max_lag_records": op[1],
                      "max_lag_seconds": op[2], "caught_up_after_load_s": op[3]}}
print(json.dumps(out))
PY
