//! `matchctl --tls-ca` against a real matchd with a TLS order listener (certificates made at test
//! time with rcgen): an order is accepted over TLS; a CA that did not sign the server's
//! certificate, or a name the certificate does not carry, fails the connection (exit 1) before
//! any secret is sent.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose};
use tools::loadgen::matchd::{config_toml, locate_binary, small_segments, Matchd};

fn new_ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

/// Writes a CA, a server certificate it signed (for `localhost` and 127.0.0.1) and its key;
/// returns the matchd config with the TLS order listener on an ephemeral port.
fn tls_config(dir: &Path) -> String {
    let ca = new_ca("matchctl test CA");
    let key = KeyPair::generate().unwrap();
    let params = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    let cert = params.signed_by(&key, &ca).unwrap();
    let (chain, private_key) = (dir.join("fullchain.pem"), dir.join("privkey.pem"));
    std::fs::write(&chain, cert.pem() + &ca.pem()).unwrap();
    std::fs::write(&private_key, key.serialize_pem()).unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.join("other-ca.pem"), new_ca("someone else").pem()).unwrap();
    let toml = small_segments(&config_toml(matchd::config::DEFAULT_CONFIG_TOML, &[], None));
    let replaced = toml
        .replacen("# tls_listen = \"127.0.0.1:7443\"", "tls_listen = \"127.0.0.1:0\"", 1)
        .replace(
            "# tls_cert_chain_path = \"/etc/matchd/tls/fullchain.pem\"",
            &format!("tls_cert_chain_path = {:?}", chain.to_str().unwrap()),
        )
        .replace(
            "# tls_private_key_path = \"/etc/matchd/tls/privkey.pem\"",
            &format!("tls_private_key_path = {:?}", private_key.to_str().unwrap()),
        );
    assert_eq!(replaced.lines().filter(|l| l.starts_with("tls_")).count(), 3, "the TLS config examples moved");
    replaced
}

fn matchctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_matchctl")).args(args).output().unwrap()
}

#[test]
fn matchctl_trades_over_tls_and_refuses_an_untrusted_server() {
    let dir = tempfile::tempdir().unwrap();
    let bin = locate_binary(None).unwrap_or_else(|e| panic!("{e}"));
    let mut m = Matchd::start(&bin, &tls_config(dir.path()), &[]).unwrap_or_else(|e| panic!("{e}"));
    let tls = m.tls_addr.expect("matchd prints `matchd tls listen=`").to_string();
    let ca = dir.path().join("ca.pem");
    let ca = ca.to_str().unwrap();

    // A generous answer deadline (the default is 5 s): it only bounds a hang on a busy machine.
    let order = ["buy", "--instrument", "1", "--qty", "5000", "--price", "4900000"];
    let out = matchctl(&[&["--addr", &tls, "--tls-ca", ca, "--timeout-ms", "60000"][..], &order].concat());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && stdout.contains("ACCEPTED"), "{out:?}");

    // The certificate names 127.0.0.1 and localhost, not this.
    let out = matchctl(&["--addr", &tls, "--tls-ca", ca, "--tls-server-name", "exchange.example", "history"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    // A CA that did not sign the server's certificate.
    let other = dir.path().join("other-ca.pem");
    let out = matchctl(&["--addr", &tls, "--tls-ca", other.to_str().unwrap(), "history"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot connect"), "{out:?}");
    // A missing CA file is a usage error.
    let out = matchctl(&["--addr", &tls, "--tls-ca", "/nonexistent/ca.pem", "history"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");

    assert!(m.stop(Duration::from_secs(120)), "matchd stops cleanly");
}
