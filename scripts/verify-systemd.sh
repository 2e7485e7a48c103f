#!/usr/bin/env bash
# CI check: `systemd-analyze verify` on systemd/matchd.service, and a staged run
# of systemd/install.sh. Installs systemd (for systemd-analyze) with apt-get if
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
systemd/install.sh --binary "$bin" --dry-run >"$work/dry.log"
echo "ok"
