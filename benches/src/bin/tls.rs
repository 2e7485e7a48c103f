//! `tls` benchmark: what TLS costs a round trip. Starts the release `matchd` with a TLS order
//! listener (a CA and server certificate made for the run with rcgen), logs one session in over
//! plain TCP (alice) and one over TLS (bob, through the TLS terminator's extra loopback hop), and
//! times order round trips on each, one at a time: `NewOrder` -> `OrderAccepted`, then `Cancel`
//! -> `OrderCancelled`, resting far from the touch so nothing trades. Passes alternate between
//! the two sessions so both see the same machine load. Journal durability `none` by default, so
//! the transport is what differs. Prints one JSON line per transport and a summary line last.
//!
//! ```text
//! cargo build --release -p matchd
//! cargo run --release -p benches --bin tls -- [--quick] [--round-trips 20000] [--durability none]
//!     [--matchd PATH]
//! ```

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ::matchd::config::DEFAULT_CONFIG_TOML;
use client::{Client, LoginParams};
use engine::{NewOrder, OrderRef, Side};
use hdrhistogram::Histogram;
use protocol::{ExecReport, ServerMessage};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose};
use serde_json::json;
use tools::loadgen::matchd::{self, Matchd};

const IO: Duration = Duration::from_secs(10);
const PASSES: usize = 10;

struct Args {
    round_trips: usize,
    durability: String,
    matchd: Option<PathBuf>,
}

fn args() -> Args {
    let usage = "usage: tls [--quick] [--round-trips N] [--durability none|batch|interval] [--matchd PATH]";
    let mut a = Args { round_trips: 20_000, durability: "none".into(), matchd: None };
    let mut it = std::env::args().skip(1);
    while let Some(s) = it.next() {
        let mut val = || it.next().unwrap_or_else(|| panic!("{s} needs a value; {usage}"));
        match s.as_str() {
            "--quick" => a.round_trips = 4_000,
            "--round-trips" => a.round_trips = val().parse().unwrap_or_else(|_| panic!("{usage}")),
            "--durability" => a.durability = val(),
            "--matchd" => a.matchd = Some(PathBuf::from(val())),
            _ => panic!("{usage}"),
        }
    }
    a
}

/// A CA, and a certificate for 127.0.0.1 it signed: (CA PEM, chain path, key path).
fn certificates(dir: &std::path::Path) -> (String, PathBuf, PathBuf) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, "matchd bench CA");
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap().signed_by(&key, &ca).unwrap();
    let (chain, key_path) = (dir.join("fullchain.pem"), dir.join("privkey.pem"));
    std::fs::write(&chain, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    (ca.pem(), chain, key_path)
}

/// Waits for the report `want` picks out (balance updates of the risk mode are skipped).
fn await_report(c: &mut Client, want: impl Fn(&ExecReport) -> bool) {
    let deadline = Instant::now() + IO;
    loop {
        assert!(Instant::now() < deadline, "no answer within {IO:?}");
        match c.recv(IO).expect("recv") {
            Some(ServerMessage::Report { report, .. }) if want(&report) => return,
            Some(ServerMessage::Report { report: ExecReport::Rejected(r), .. }) => panic!("rejected: {r:?}"),
            _ => {}
        }
    }
}

/// `n` round trips (half orders, half cancels) on `c`, each recorded in `h`.
fn round_trips(c: &mut Client, n: usize, h: &mut Histogram<u64>) {
    for _ in 0..n / 2 {
        let cid = c.next_client_order_id();
        let order = NewOrder::limit_gtc(cid, 1, Side::Buy, 4_600_000, 10_000);
        let t = Instant::now();
        c.new_order(order).unwrap();
        await_report(c, |r| matches!(r, ExecReport::Accepted(a) if a.client_order_id == cid));
        h.record(t.elapsed().as_nanos() as u64).unwrap();
        let t = Instant::now();
        c.cancel(OrderRef::Client(cid)).unwrap();
        await_report(c, |r| matches!(r, ExecReport::Cancelled(x) if x.client_order_id == cid));
        h.record(t.elapsed().as_nanos() as u64).unwrap();
    }
}

fn us(ns: u64) -> f64 {
    ns as f64 / 1000.0
}

fn main() {
    let a = args();
    let bin = matchd::locate_binary(a.matchd.as_deref()).unwrap_or_else(|e| panic!("{e}"));
    let dir = matchd::temp_dir("tls-bench");
    std::fs::create_dir_all(&dir).unwrap();
    let (ca_pem, chain, key) = certificates(&dir);
    // A free port for the TLS listener (matchd prints it, but the loadgen harness reads only the
    // plaintext one).
    let tls_port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).unwrap().port();
    let toml = DEFAULT_CONFIG_TOML
        .replace("# tls_listen = \"127.0.0.1:7443\"", &format!("tls_listen = \"127.0.0.1:{tls_port}\""))
        .replace(
            "# tls_cert_chain_path = \"/etc/matchd/tls/fullchain.pem\"",
            &format!("tls_cert_chain_path = {:?}", chain.to_str().unwrap()),
        )
        .replace(
            "# tls_private_key_path = \"/etc/matchd/tls/privkey.pem\"",
            &format!("tls_private_key_path = {:?}", key.to_str().unwrap()),
        );
    let mut server = Matchd::start(&bin, &toml, &["--durability", &a.durability]).unwrap_or_else(|e| panic!("{e}"));

    let trust: Arc<rustls::ClientConfig> = client::tls_config(ca_pem.as_bytes()).unwrap();
    let mut plain = Client::connect(server.addr, IO).unwrap();
    plain.login(LoginParams::trader(1, b"alice-demo")).unwrap();
    let mut tls = Client::connect_tls(("127.0.0.1", tls_port), "127.0.0.1", trust, IO).unwrap();
    tls.login(LoginParams::trader(2, b"bob-demo")).unwrap();

    // Warm-up, not recorded.
    let mut scratch = Histogram::<u64>::new(3).unwrap();
    round_trips(&mut plain, 1_000, &mut scratch);
    round_trips(&mut tls, 1_000, &mut scratch);
    let mut h_plain = Histogram::<u64>::new(3).unwrap();
    let mut h_tls = Histogram::<u64>::new(3).unwrap();
    let per_pass = (a.round_trips / PASSES).max(2);
    for _ in 0..PASSES {
        round_trips(&mut plain, per_pass, &mut h_plain);
        round_trips(&mut tls, per_pass, &mut h_tls);
    }
    let line = |case: &str, h: &Histogram<u64>| {
        json!({
            "bench": "tls", "case": case, "durability": a.durability, "round_trips": h.len(),
            "p50_us": us(h.value_at_quantile(0.5)), "p90_us": us(h.value_at_quantile(0.9)),
            "p99_us": us(h.value_at_quantile(0.99)), "p999_us": us(h.value_at_quantile(0.999)),
            "max_us": us(h.max()),
        })
    };
    println!("{}", line("plain", &h_plain));
    println!("{}", line("tls", &h_tls));
    let d50 = us(h_tls.value_at_quantile(0.5)) - us(h_plain.value_at_quantile(0.5));
    let d99 = us(h_tls.value_at_quantile(0.99)) - us(h_plain.value_at_quantile(0.99));
    println!(
        "{}",
        json!({
            "bench": "tls", "case": "summary", "tls_minus_plain_p50_us": d50, "tls_minus_plain_p99_us": d99,
            "tls_over_plain_p50": h_tls.value_at_quantile(0.5) as f64 / h_plain.value_at_quantile(0.5) as f64,
        })
    );
    let _ = plain.logout_and_drain(IO);
    let _ = tls.logout_and_drain(IO);
    server.stop(Duration::from_secs(30));
    let _ = std::fs::remove_dir_all(&dir);
}
