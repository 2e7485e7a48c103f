//! The shipped systemd files stay in step with the binary: the production
//! config example parses (once its placeholder credentials are filled in) and
//! needs `matchd format`, and the unit keeps the directives the operations
//! guide relies on.
//! (`scripts/verify-systemd.sh` runs `systemd-analyze verify` on the unit.)

use gateway::credential::Credential;
use matchd::config::{Config, DataCreate, Durability};

const UNIT: &str = include_str!("../../systemd/matchd.service");
const PROD_TOML: &str = include_str!("../../systemd/matchd.toml");

#[test]
fn production_config_example_is_valid_once_credentials_are_set() {
    // As shipped it must refuse to start: the credentials are placeholders.
    let err = Config::from_toml(PROD_TOML, "matchd.toml").unwrap_err().to_string();
    assert!(err.contains("account `admin`"), "{err}");

    let filled = PROD_TOML.replace("\"REPLACE-ME\"", &format!("\"{}\"", Credential::hash(b"secret", b"salt")));
    let cfg = Config::from_toml(&filled, "matchd.toml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cfg.data.dir.to_str(), Some("/var/lib/matchd"));
    // Production never creates an exchange by starting: `matchd format` (install.sh runs it) does.
    assert_eq!(cfg.data.create, DataCreate::Format);
    assert_eq!(Config::default_config().data.create, DataCreate::Auto, "the dev default starts on a fresh machine");
    assert_eq!(cfg.journal.durability, Durability::Batch);
    assert!(cfg.metrics.enabled && cfg.metrics.listen.ip().is_loopback());
}

#[test]
fn unit_has_the_directives_operations_rely_on() {
    let directives: Vec<&str> =
        UNIT.lines().map(str::trim).filter(|l| !l.starts_with('#') && l.contains('=')).collect();
    for want in [
        "Type=notify",
        "NotifyAccess=main",
        "WatchdogSec=10s",
        "ExecStart=/usr/local/bin/matchd --config /etc/matchd/matchd.toml",
        "Restart=on-failure",
        "KillSignal=SIGTERM",
        "User=matchd",
        "Group=matchd",
        "StateDirectory=matchd",
        "ReadWritePaths=/var/lib/matchd",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "CapabilityBoundingSet=",
        "LimitNOFILE=1048576",
        "LimitMEMLOCK=infinity",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
    ] {
        assert!(directives.contains(&want), "matchd.service lacks {want:?}");
    }
    for key in ["TimeoutStartSec=", "TimeoutStopSec=", "RestartSec="] {
        assert!(directives.iter().any(|d| d.starts_with(key)), "matchd.service lacks {key}");
    }
}
