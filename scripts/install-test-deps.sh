#!/usr/bin/env bash
# Installs the outside programs the tests start for real (CI starts on a clean Debian machine, as
# root): etcd for the replica-set tests, PostgreSQL for the projector's (read side) tests,
# Chromium for the edge's browser test (edge/tests/e2e_browser.rs, headless, --no-sandbox as
# root), node and npm for the TypeScript client's. Each is checked first, so a machine that has
# them installs nothing. Called by scripts/test.sh; safe to run by hand.
set -euo pipefail

need=()
# Debian's etcd-server puts the binary in /usr/bin; the replication tests find it on PATH.
command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
# Debian's postgresql (15 on Debian 12) puts initdb and postgres in /usr/lib/postgresql/<v>/bin,
# not on PATH; the projector's test harness looks on PATH, then there (projector/src/pg_harness.rs).
have_postgres() {
    command -v initdb >/dev/null 2>&1 && command -v postgres >/dev/null 2>&1 && return 0
    compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null && compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null
}
have_postgres || need+=(postgresql)
# Debian's chromium puts /usr/bin/chromium on PATH; the edge's browser test runs it headless.
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# The TypeScript client's tests (clients/typescript) run on node's own test runner; npm installs
# their only dependencies (typescript, @types/node) from package-lock.json.
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || need+=(nodejs npm)

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
# Debian starts the packaged services on install where systemd runs; the tests start their own
# (etcd on loopback ports, PostgreSQL clusters in temporary directories as the user matchd-test).
if command -v systemctl >/dev/null 2>&1; then
    for unit in etcd postgresql; do
        if systemctl is-active --quiet "$unit" 2>/dev/null; then
            systemctl disable --now "$unit" >/dev/null 2>&1 || true
        fi
    done
fi
