#!/usr/bin/env bash
# matchd's closed-loop throughput without and with matchd-projector following its journal into a
# local PostgreSQL (alternating: without, with, without, with), and the projector's lag while the
# load runs. Release binaries: cargo build --release -p matchd -p tools -p projector.
# Then one open-loop round at OPEN_RATE commands/s offered (all sessions together) beside the
# projector: what matchd answered, the projector's largest lag and how long it took to catch up.
# Usage: bash scripts/bench-projector-impact.sh [SESSIONS=4] [DURATION_S=8] [WINDOW=16] [OPEN_RATE=100000]
set -euo pipefail
cd "$(dirname "$0")/.."
T=${CARGO_TARGET_DIR:-target}/release
SESSIONS=${SESSIONS:-4}; DURATION_S=${DURATION_S:-8}; WINDOW=${WINDOW:-16}; OPEN_RATE=${OPEN_RATE:-100000}
dir=$(mktemp -d /tmp/projector-impact.XXXXXX); chmod 755 "$dir"
pids=()
# SIGTERM stops matchd and the projector; PostgreSQL takes it as a smart shutdown: SIGKILL what is left.
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    sleep 3
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    rm -rf "$dir"
}
trap cleanup EXIT

"$T/loadgen" --accounts-from 100 --sessions "$SESSIONS" --print-matchd-config > "$dir/matchd.toml"
"$T/matchd" --config "$dir/matchd.toml" --data-dir "$dir/data" --listen 127.0.0.1:0 \
    --metrics-listen 127.0.0.1:0 --durability batch > "$dir/matchd.out" 2> "$dir/matchd.err" &
pids+=($!)
for _ in $(seq 600); do grep -q "matchd ready listen=" "$dir/matchd.out" && break; sleep 0.1; done
addr=$(sed -n 's/^matchd ready listen=\([^ ]*\).*/\1/p' "$dir/matchd.out")

# PostgreSQL (defaults) in $dir/pg as an unprivileged user, as the tests run it.
initdb=$(command -v initdb || ls /usr/lib/postgresql/*/bin/initdb | tail -1)
pgbin=$(dirname "$(readlink -f "$initdb")")
as=()
if [[ $(id -u) -eq 0 ]]; then
    id -u matchd-test >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin matchd-test
    as=(setpriv --reuid=matchd-test --regid=matchd-test --clear-groups)
    mkdir -p "$dir/pg"; chown matchd-test "$dir/pg"
fi
"${as[@]}" "$pgbin/initdb" -D "$dir/pg/data" -U postgres --auth=trust -E UTF8 --no-sync > /dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"${as[@]}" "$pgbin/postgres" -D "$dir/pg/data" -p "$port" -k "$dir/pg" -c listen_addresses=127.0.0.1 \
    > "$dir/pg.log" 2>&1 &
pids+=($!)
for _ in $(seq 600); do "$pgbin/pg_isready" -h 127.0.0.1 -p "$port" -q && break; sleep 0.1; done
"$pgbin/createdb" -h 127.0.0.1 -p "$port" -U postgres readside
url="host=127.0.0.1 port=$port user=postgres dbname=readside"

load() {
    "$T/loadgen" --addr "$addr" --accounts-from 100 --sessions "$SESSIONS" --closed-loop --window "$WINDOW" \
        --duration-s "$DURATION_S" --warmup-s 1 2>&1 >/dev/null | sed -n 's/.*answered \([0-9]*\)\/s.*/\1/p'
}
metric() { curl -s "http://$1/metrics" | awk -v m="$2" '$1 == m {print $2}'; }

declare -a without with
for round in 1 2; do
    without+=("$(load)")
    "$T/matchd-projector" --data-dir "$dir/data" --database "$url" --metrics-listen 127.0.0.1:0 \
        > "$dir/projector.out" 2> "$dir/projector.err" &
    ppid=$!; pids+=("$ppid")
    for _ in $(seq 600); do grep -q "metrics listen=" "$dir/projector.out" && break; sleep 0.1; done
    maddr=$(sed -n 's/^matchd-projector metrics listen=\(.*\)/\1/p' "$dir/projector.out")
    # Catch up with what the previous rounds wrote first, so the load is measured beside a live projector.
    for _ in $(seq 3000); do [[ "$(metric "$maddr" projector_lag_records)" == 0 ]] && break; sleep 0.2; done
    (for _ in $(seq $((DURATION_S * 4 + 8))); do
        echo "$(metric "$maddr" projector_lag_records) $(metric "$maddr" projector_lag_seconds)"; sleep 0.25
    done) > "$dir/lag.$round" &
    sampler=$!
    with+=("$(load)")
    wait "$sampler" || true
    maxlag=$(sort -n -k1 "$dir/lag.$round" | tail -1)
    echo "round $round: without ${without[-1]}/s, with ${with[-1]}/s; projector max lag (records seconds): $maxlag" >&2
    kill "$ppid"; wait "$ppid" 2>/dev/null || true
done

# Open loop at OPEN_RATE offered, the projector running (caught up first).
"$T/matchd-projector" --data-dir "$dir/data" --database "$url" --metrics-listen 127.0.0.1:0 \
    > "$dir/projector.out" 2> "$dir/projector.err" &
ppid=$!; pids+=("$ppid")
for _ in $(seq 600); do grep -q "metrics listen=" "$dir/projector.out" && break; sleep 0.1; done
maddr=$(sed -n 's/^matchd-projector metrics listen=\(.*\)/\1/p' "$dir/projector.out")
for _ in $(seq 3000); do [[ "$(metric "$maddr" projector_lag_records)" == 0 ]] && break; sleep 0.2; done
(for _ in $(seq $((DURATION_S * 4 + 8))); do
    echo "$(metric "$maddr" projector_lag_records) $(metric "$maddr" projector_lag_seconds)"; sleep 0.25
done) > "$dir/lag.open" &
sampler=$!
open_answered=$("$T/loadgen" --addr "$addr" --accounts-from 100 --sessions "$SESSIONS" --rate "$OPEN_RATE" \
    --duration-s "$DURATION_S" --warmup-s 1 2>&1 >/dev/null | sed -n 's/.*answered \([0-9]*\)\/s.*/\1/p')
load_end=$(date +%s.%N)
wait "$sampler" || true
for _ in $(seq 6000); do [[ "$(metric "$maddr" projector_lag_records)" == 0 ]] && break; sleep 0.1; done
catch_up_s=$(python3 -c "import time; print(round(time.time() - $load_end, 1))")
open_maxlag=$(sort -n -k1 "$dir/lag.open" | tail -1)
echo "open loop: offered $OPEN_RATE/s, answered ${open_answered}/s; projector max lag (records seconds): $open_maxlag; caught up ${catch_up_s} s after the load" >&2
kill "$ppid"; wait "$ppid" 2>/dev/null || true
python3 - "$OPEN_RATE" "${open_answered:-0}" "${open_maxlag%% *}" "${open_maxlag##* }" "$catch_up_s" \
    "${without[@]}" "${with[@]}" <<'PY'
import sys, json
rate, answered, lag_records, lag_s, catch_up = (float(x or 0) for x in sys.argv[1:6])
v = [float(x) for x in sys.argv[6:]]
n = len(v) // 2
wo, wi = v[:n], v[n:]
print(json.dumps({"bench": "projector_impact", "without_per_sec": wo, "with_per_sec": wi,
                  "ratio": round(sum(wi) / sum(wo), 3),
                  "open_loop": {"offered_per_sec": rate, "answered_per_sec": answered,
                                "max_lag_records": lag_records, "max_lag_seconds": lag_s,
                                "caught_up_after_load_s": catch_up}}))
PY
