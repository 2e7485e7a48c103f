#!/usr/bin/env bash
# CI check: `systemd-analyze verify` on systemd/matchd.service, and staged runs
# of systemd/install.sh (config kept, the exchange formatted exactly once). Installs systemd (for systemd-analyze) with apt-get if
# it is missing. verify insists that ExecStart= exists, so it runs on a copy of
# the unit pointing at the built matchd binary (built here if needed).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v systemd-analyze >/dev/null; then
    echo "== systemd-analyze missing: installing systemd"
    sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends systemd >/dev/null
fi

target="${CARGO_TARGET_DIR:-target}"
bin="${MATCHD_BIN:-}"
if [ -z "$bin" ]; then
    for b in "$target/debug/matchd" "$target/release/matchd"; do
        if [ -x "$b" ]; then bin="$b"; break; fi
    done
fi
if [ -z "$bin" ]; then
    cargo build -q -p matchd --bin matchd
    bin="$target/debug/matchd"
fi
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "== systemd-analyze verify systemd/matchd.service (ExecStart -> $bin)"
sed "s|/usr/local/bin/matchd|$bin|g" systemd/matchd.service >"$work/matchd.service"
out="$(SYSTEMD_LOG_LEVEL=warning systemd-analyze verify "$work/matchd.service" 2>&1)" || {
    echo "$out"
    exit 1
}
# Warnings about the unit itself fail the check too; ones about other units on
# this machine do not concern us.
if echo "$out" | grep -F "matchd.service" >/dev/null; then
    echo "$out"
    echo "systemd-analyze reported problems in matchd.service" >&2
    exit 1
fi
echo "ok"

echo "== systemd/install.sh --root (staged)"
systemd/install.sh --binary "$bin" --root "$work/root" >"$work/install.log"
test -x "$work/root/usr/local/bin/matchd"
test -f "$work/root/etc/systemd/system/matchd.service"
test -f "$work/root/etc/matchd/matchd.toml"
# A second run upgrades in place and keeps an edited config.
echo "# operator edit" >>"$work/root/etc/matchd/matchd.toml"
systemd/install.sh --binary "$bin" --prefix /opt/matchd --root "$work/root" >"$work/install2.log"
grep -q "operator edit" "$work/root/etc/matchd/matchd.toml"
grep -q "NOT overwritten" "$work/install2.log"
grep -q "^ExecStart=/opt/matchd/bin/matchd --config /etc/matchd/matchd.toml$" "$work/root/etc/systemd/system/matchd.service"
grep -q "exchange not formatted yet" "$work/install2.log"
test ! -e "$work/root/var/lib/matchd/journal"
systemd/install.sh --binary "$bin" --dry-run >"$work/dry.log"
grep -q "format" "$work/dry.log"
echo "ok"

echo "== systemd/install.sh --root formats once the config passes check-config"
# Credentials filled in (and small segments, to keep the staged journal small).
secret="$("$bin" hash-credential - <<<"verify-systemd")"
sed -i -e "s|^credential = \"REPLACE-ME\"|$secret|" -e "s|^segment_bytes = .*|segment_bytes = 1048576|" \
    "$work/root/etc/matchd/matchd.toml"
"$bin" --config "$work/root/etc/matchd/matchd.toml" check-config >/dev/null
# The shipped config needs `format`: a start on the empty data directory refuses.
if "$bin" --config "$work/root/etc/matchd/matchd.toml" --data-dir "$work/root/var/lib/matchd" \
    --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 >/dev/null 2>"$work/refused.log"; then
    echo "matchd started on an unformatted data directory" >&2
    exit 1
fi
grep -q "holds no journal" "$work/refused.log"
systemd/install.sh --binary "$bin" --root "$work/root" >"$work/install3.log"
grep -q "^= formatted " "$work/install3.log"
test -d "$work/root/var/lib/matchd/journal"
systemd/install.sh --binary "$bin" --root "$work/root" >"$work/install4.log"
grep -q "already holds an exchange: not formatted again" "$work/install4.log"
echo "ok"

echo "== systemd/replica-set: the three nodes' [replication] sections pass check-config"
for i in 1 2 3; do
    cat "$work/root/etc/matchd/matchd.toml" "systemd/replica-set/node$i.toml" >"$work/node$i.toml"
    "$bin" --config "$work/node$i.toml" check-config >/dev/null
done
echo "ok"

