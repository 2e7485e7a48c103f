#!/usr/bin/env bash
# Installs the outside programs the tests start for real (CI starts on a clean Debian machine, as
# root): etcd for the replica-set tests. Each is checked first, so a machine that has them installs
# nothing. Called by scripts/test.sh; safe to run by hand.
set -euo pipefail

need=()
# Debian's etcd-server puts the binary in /usr/bin; the replication tests find it on PATH.
command -v etcd >/dev/null 2>&1 || need+=(etcd-server)

if ((${#need[@]} == 0)); then
    exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
    echo "install-test-deps: missing Debian packages: ${need[*]}; run as root (or: sudo apt-get install ${need[*]})" >&2
    exit 1
fi
echo "install-test-deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Debian starts the packaged etcd service on install where systemd runs; the tests start their own.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet etcd 2>/dev/null; then
    systemctl disable --now etcd >/dev/null 2>&1 || true
fi
