#!/usr/bin/env bash
# Installs matchd as a systemd service. Idempotent: run it again to upgrade the
# binary and the unit; an existing config is never overwritten, an existing
# exchange (journal) never formatted again.
#
#   sudo systemd/install.sh [--binary PATH] [--prefix DIR] [--root DIR] [--dry-run]
#
#   --binary PATH  the matchd binary (default: target/release/matchd, built by
#                  `cargo build --release -p matchd`)
#   --prefix DIR   install the binary as DIR/bin/matchd (default /usr/local); the
#                  unit's ExecStart= follows
#   --root DIR     stage everything under DIR instead of / (packaging, tests):
#                  no user is created, systemd is not reloaded, and a config
#                  that passes check-config formats DIR/var/lib/matchd
#   --dry-run      print what would be done, change nothing
#
# The first run installs the config with placeholder credentials; edit
# /etc/matchd/matchd.toml (credentials, instruments, accounts), run this again
# (it formats the exchange once the config passes check-config), then
#   systemctl enable --now matchd
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
binary="${CARGO_TARGET_DIR:-$repo/target}/release/matchd"
prefix=/usr/local
root=""
dry_run=0

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; }
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
config_ok=0
if [ "$dry_run" = 0 ] && [ -x "$root$bin_path" ] && [ -e "$root$conf" ]; then
    if "$root$bin_path" --config "$root$conf" check-config >/dev/null 2>&1; then
        echo "= $conf: config OK"
        config_ok=1
    else
        echo "! $conf does not pass check-config yet:"
        "$root$bin_path" --config "$root$conf" check-config 2>&1 | sed 's/^/    /' || true
    fi
fi

# 6. The exchange: `matchd format` once (the config says data.create = "format":
#    matchd does not create a journal on its own), as the service user so it owns
#    the files. Exit status 3: the data directory already holds a journal.
format_cmd=("$root$bin_path" --config "$root$conf")
if [ -n "$root" ]; then
    format_cmd+=(--data-dir "$root$state_dir")
fi
format_cmd+=(format)
if [ "$dry_run" = 1 ]; then
    echo "+ (once $conf passes check-config) ${format_cmd[*]}  (as user matchd)"
elif [ "$config_ok" = 0 ]; then
    echo "! exchange not formatted yet: edit $conf, then run systemd/install.sh again (it formats once)"
else
    if [ -n "$root" ]; then
        run install -d -m 0750 "$root$state_dir"
    else
        run install -d -o matchd -g matchd -m 0750 "$state_dir"
        format_cmd=(runuser -u matchd -- "${format_cmd[@]}")
    fi
    echo "+ ${format_cmd[*]}"
    status=0
    out="$("${format_cmd[@]}" 2>&1)" || status=$?
    case "$status" in
        0) echo "= $out" ;;
        3) echo "= the data directory already holds an exchange: not formatted again" ;;
        *) echo "$out" | sed 's/^/    /' >&2; echo "install.sh: matchd format failed (exit $status)" >&2; exit 1 ;;
    esac
fi
if [ "$config_ok" = 1 ]; then
    echo "done. Next: systemctl enable --now matchd; journalctl -u matchd -f"
else
    echo "done. Next: edit $conf, run systemd/install.sh again, then: systemctl enable --now matchd"
fi
