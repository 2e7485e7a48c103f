#!/usr/bin/env bash
# Installs matchd as a systemd service. Idempotent: run it again to upgrade the
# binary and the unit; an existing config is never overwritten.
#
#   sudo systemd/install.sh [--binary PATH] [--prefix DIR] [--root DIR] [--dry-run]
#
#   --binary PATH  the matchd binary (default: target/release/matchd, built by
#                  `cargo build --release -p matchd`)
#   --prefix DIR   install the binary as DIR/bin/matchd (default /usr/local); the
#                  unit's ExecStart= follows
#   --root DIR     stage everything under DIR instead of / (packaging, tests):
#                  no user is created and systemd is not reloaded
#   --dry-run      print what would be done, change nothing
#
# Afterwards: edit /etc/matchd/matchd.toml (credentials!), then
#   systemctl enable --now matchd
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
binary="${CARGO_TARGET_DIR:-$repo/target}/release/matchd"
prefix=/usr/local
root=""
dry_run=0

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case "$1" in
        --binary) binary="${2:?--binary needs a path}"; shift 2 ;;
        --prefix) prefix="${2:?--prefix needs a directory}"; shift 2 ;;
        --root) root="${2:?--root needs a directory}"; shift 2 ;;
        --dry-run) dry_run=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "install.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
done
case "$prefix" in /*) ;; *) echo "install.sh: --prefix must be absolute" >&2; exit 2 ;; esac

bin_path="$prefix/bin/matchd"
conf_dir=/etc/matchd
conf="$conf_dir/matchd.toml"
unit=/etc/systemd/system/matchd.service
state_dir=/var/lib/matchd

run() {
    echo "+ $*"
    if [ "$dry_run" = 0 ]; then "$@"; fi
}

if [ ! -x "$binary" ]; then
    echo "install.sh: no matchd binary at $binary (cargo build --release -p matchd, or --binary PATH)" >&2
    [ "$dry_run" = 1 ] || exit 1
fi
if [ "$dry_run" = 0 ] && [ -z "$root" ] && [ "$(id -u)" != 0 ]; then
    echo "install.sh: run as root (or use --dry-run / --root DIR)" >&2
    exit 1
fi

# 1. The service user: a system account without a login shell or home of its own
#    (its only writable place is the StateDirectory, created by systemd).
if [ -n "$root" ]; then
    echo "= --root given: not creating the matchd user"
elif getent passwd matchd >/dev/null; then
    echo "= user matchd exists"
else
    nologin=/usr/sbin/nologin
    [ -x "$nologin" ] || nologin=/sbin/nologin
    run useradd --system --user-group --home-dir "$state_dir" --no-create-home --shell "$nologin" \
        --comment "matchd matching engine" matchd
fi

# 2. The binary.
run install -D -m 0755 "$binary" "$root$bin_path"

# 3. The config: installed only if there is none; the example is refreshed.
run install -d -m 0755 "$root$conf_dir"
run install -m 0644 "$here/matchd.toml" "$root$conf_dir/matchd.toml.example"
if [ -e "$root$conf" ]; then
    echo "= $conf exists: NOT overwritten (the shipped example is $conf.example)"
else
    run install -m 0640 "$here/matchd.toml" "$root$conf"
    if [ -z "$root" ]; then
        run chgrp matchd "$root$conf"
    fi
    echo "! edit $conf before starting: replace the REPLACE-ME credentials (matchd hash-credential SECRET)"
fi

# 4. The unit, with ExecStart= pointing at the installed binary.
tmp_unit="$(mktemp)"
trap 'rm -f "$tmp_unit"' EXIT
sed "s|/usr/local/bin/matchd|$bin_path|g" "$here/matchd.service" >"$tmp_unit"
run install -D -m 0644 "$tmp_unit" "$root$unit"

# 5. Tell systemd, and check the config as the service will.
if [ -n "$root" ]; then
    echo "= --root given: not reloading systemd"
elif [ -d /run/systemd/system ]; then
    run systemctl daemon-reload
else
    echo "= systemd is not running here: skipped systemctl daemon-reload"
fi
if [ "$dry_run" = 0 ] && [ -x "$root$bin_path" ] && [ -e "$root$conf" ]; then
    if "$root$bin_path" --config "$root$conf" check-config >/dev/null 2>&1; then
        echo "= $conf: config OK"
    else
        echo "! $conf does not pass check-config yet:"
        "$root$bin_path" --config "$root$conf" check-config 2>&1 | sed 's/^/    /' || true
    fi
fi
echo "done. Next: edit $conf, then: systemctl enable --now matchd; journalctl -u matchd -f"
