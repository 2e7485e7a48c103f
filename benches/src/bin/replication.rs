//! `replication` benchmark: a real etcd and three release `matchd` nodes on loopback.
//!
//! 1. **Failover**: a trader places an order every millisecond through the leader; the leader is
//!    killed with SIGKILL; the time from the kill to the first order accepted by the new leader
//!    (found with `client::connect_leader`) is one trial. The killed node is restarted and rejoins
//!    between trials. p50 and max over `--trials` (default 20).
//! 2. **Throughput and latency, `quorum` against `local`** (the same set restarted with
//!    `replication.ack` changed, same flow, same run): closed loop for throughput (the ratio is the
//!    figure), open loop at `--rate` (default 100k/s) for the round trip p50/p99.
//! 3. **Catch-up**: a fresh follower (empty data directory) copies the leader's whole journal; its
//!    `caught up records=N records_per_sec=R` log line is the figure.
//!
//! ```text
//! cargo build --release -p matchd
//! cargo run --release -p benches --bin replication -- [--quick] [--trials 20] [--rate 100000]
//! ```
//! Needs `etcd` on PATH (`scripts/install-test-deps.sh`). Prints one JSON line per part and a
//! summary JSON line last.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ::matchd::config::DEFAULT_CONFIG_TOML;
use client::{connect_leader, ClientError, LoginParams};
use engine::{NewOrder, OrderType, Side, StpMode, TimeInForce};
use protocol::{ExecReport, ServerMessage};
use serde_json::json;
use tools::loadgen::matchd::{self as lm};
use tools::loadgen::{self, Credentials, InstrumentParams, LoadgenConfig, Mode};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Etcd(Child, String);

impl Etcd {
    fn start(dir: &Path) -> Etcd {
        let (c, p) = (free_port(), free_port());
        let ep = format!("http://127.0.0.1:{c}");
        let peer = format!("http://127.0.0.1:{p}");
        let child = Command::new("etcd")
            .args(["--name", "bench", "--data-dir"])
            .arg(dir.join("etcd"))
            .args(["--listen-client-urls", &ep, "--advertise-client-urls", &ep])
            .args(["--listen-peer-urls", &peer, "--initial-advertise-peer-urls", &peer])
            .args(["--initial-cluster", &format!("bench={peer}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("etcd on PATH (scripts/install-test-deps.sh)");
        let addr: SocketAddr = ep.trim_start_matches("http://").parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(Instant::now() < deadline, "etcd did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(500));
        Etcd(child, ep)
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Node {
    child: Child,
    ready: Arc<Mutex<Option<SocketAddr>>>,
    log: PathBuf,
}

impl Node {
    fn spawn(bin: &Path, config: &Path, log: &Path) -> Node {
        let logf = std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap();
        let mut child = Command::new(bin)
            .arg("--config")
            .arg(config)
            .env("MATCHD_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(logf))
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let ready = Arc::new(Mutex::new(None));
        let r2 = ready.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if let Some(a) = line.strip_prefix("matchd ready listen=").and_then(|r| r.split_whitespace().next()) {
                    *r2.lock().unwrap() = a.parse().ok();
                }
            }
        });
        Node { child, ready, log: log.to_path_buf() }
    }

    fn wait_ready(&self) -> SocketAddr {
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            if let Some(a) = *self.ready.lock().unwrap() {
                return a;
            }
            assert!(
                Instant::now() < deadline,
                "node not ready: {}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Set {
    dir: PathBuf,
    nodes: Vec<Option<Node>>,
}

impl Set {
    fn config(&self, id: u32) -> PathBuf {
        self.dir.join(format!("node{id}.toml"))
    }

    fn start(
        bin: &Path,
        dir: &Path,
        etcd: &str,
        cluster: &str,
        ack: &str,
        accounts: &[tools::loadgen::Credential],
    ) -> Set {
        let mut set = Set { dir: dir.to_path_buf(), nodes: Vec::new() };
        for id in 1..=3u32 {
            let mut t = lm::config_toml(DEFAULT_CONFIG_TOML, accounts, Some(10_000_000));
            t = lm::set_key(&t, "dir", &format!("\"{}\"", dir.join(format!("{cluster}-{id}")).display()));
            t = lm::set_key(&t, "listen", "\"127.0.0.1:0\"");
            t = lm::set_key(&t, "segment_bytes", "67108864");
            t = t.replacen("enabled = true", "enabled = false", 1);
            t.push_str(&format!(
                "\n[replication]\nnode_id = {id}\nnodes = 3\ncluster = \"{cluster}\"\netcd_endpoints = [\"{etcd}\"]\n\
                 listen = \"127.0.0.1:0\"\nack = \"{ack}\"\nlease_ttl_s = 2\nstate_hash_every = 0\n"
            ));
            std::fs::write(set.config(id), t).unwrap();
        }
        for id in 1..=3u32 {
            let n = Node::spawn(bin, &set.config(id), &dir.join(format!("{cluster}-{id}.log")));
            set.nodes.push(Some(n));
        }
        for n in set.nodes.iter().flatten() {
            n.wait_ready();
        }
        set
    }

    fn addrs(&self) -> Vec<SocketAddr> {
        self.nodes.iter().flatten().filter_map(|n| *n.ready.lock().unwrap()).collect()
    }
}

fn order(cid: u64) -> NewOrder {
    NewOrder {
        client_order_id: cid,
        instrument: 1,
        side: if cid.is_multiple_of(2) { Side::Buy } else { Side::Sell },
        order_type: OrderType::Limit,
        tif: TimeInForce::Gtc,
        stp: StpMode::None,
        // Far from the touch: rests, never trades (the trial times acceptance only).
        price: if cid.is_multiple_of(2) { 4_700_000 } else { 5_300_000 },
        qty: 10_000,
    }
}

/// Places one order and waits for its acceptance on an open session.
fn accepted(c: &mut client::Client, cid: u64) -> Result<(), ClientError> {
    c.new_order(order(cid))?;
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Some(ServerMessage::Report { report: ExecReport::Accepted(a), .. }) =
            c.recv(Duration::from_millis(50))?
        {
            if a.client_order_id == cid {
                return Ok(());
            }
        }
    }
    Err(ClientError::Timeout)
}

/// Logs in to whichever of `nodes` leads (never `old`, the leader being replaced: a draining old
/// leader may still take a login) and places orders until one is accepted; returns the time since
/// `since`.
fn first_order_accepted(
    nodes: &[SocketAddr],
    old: SocketAddr,
    account: &tools::loadgen::Credential,
    mut last_seen: u64,
    cid: &mut u64,
    since: Instant,
) -> Duration {
    loop {
        assert!(since.elapsed() < Duration::from_secs(120), "no new leader accepted an order within 2 minutes");
        let mut p = LoginParams::trader(account.account, account.secret.as_bytes());
        p.last_seen_seq = last_seen;
        match connect_leader(nodes, p, Duration::from_secs(2), Duration::from_secs(30)) {
            Ok(l) if l.addr == old => std::thread::sleep(Duration::from_millis(1)),
            Ok(mut l) => {
                *cid += 1;
                if accepted(&mut l.client, *cid).is_ok() {
                    return since.elapsed();
                }
                last_seen = l.client.last_seen_seq();
            }
            // The previous attempt's session not yet gone on the server.
            Err(_) => std::thread::sleep(Duration::from_millis(2)),
        }
    }
}

fn percentile(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() as f64 - 1.0) * q).round() as usize]
}

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let quick = argv.iter().any(|a| a == "--quick");
    let opt = |name: &str| {
        argv.iter().position(|a| a == name).and_then(|i| argv.get(i + 1)).and_then(|v| v.parse::<f64>().ok())
    };
    let trials = opt("--trials").unwrap_or(if quick { 10.0 } else { 20.0 }) as usize;
    let rate = opt("--rate").unwrap_or(100_000.0);
    let bin = lm::locate_binary(None).unwrap_or_else(|e| panic!("{e}"));
    let dir = lm::temp_dir("replication-bench");
    let etcd = Etcd::start(&dir);
    let creds = Credentials::Range { from: 1000, prefix: "rb-".into() };
    let sessions = 4u32;
    let accounts: Vec<_> = (0..sessions).map(|i| creds.get(i).unwrap()).collect();

    // 1. Failover.
    let mut set = Set::start(&bin, &dir, &etcd.1, "failover", "quorum", &accounts);
    let mut times_ms = Vec::new();
    let mut cid = 1u64;
    let secret = accounts[0].secret.clone();
    for trial in 0..trials {
        let p = LoginParams::trader(accounts[0].account, secret.as_bytes());
        let mut l = connect_leader(&set.addrs(), p, Duration::from_secs(5), Duration::from_secs(60)).expect("leader");
        cid += 1;
        accepted(&mut l.client, cid).expect("an order before the kill");
        let leader_idx =
            set.nodes.iter().position(|n| n.as_ref().and_then(|n| *n.ready.lock().unwrap()) == Some(l.addr)).unwrap();
        let others: Vec<SocketAddr> = set.addrs().into_iter().filter(|a| *a != l.addr).collect();
        let old_addr = l.addr;
        drop(l);
        let killed = Instant::now();
        drop(set.nodes[leader_idx].take());
        let elapsed = first_order_accepted(&others, old_addr, &accounts[0], 0, &mut cid, killed);
        times_ms.push(elapsed.as_secs_f64() * 1000.0);
        eprintln!("failover trial {trial}: {:.1} ms", elapsed.as_secs_f64() * 1000.0);
        let id = leader_idx as u32 + 1;
        let n = Node::spawn(&bin, &set.config(id), &dir.join(format!("failover-{id}.log")));
        n.wait_ready();
        set.nodes[leader_idx] = Some(n);
    }
    let max = times_ms.iter().cloned().fold(0.0, f64::max);
    let p50 = percentile(&mut times_ms.clone(), 0.5);
    let failover = json!({"bench": "replication", "part": "failover", "trials": trials, "p50_ms": p50, "max_ms": max, "lease_ttl_s": 2});
    println!("{failover}");

    // 1b. Planned switchover: SIGTERM to the leader (it ships its last records, waits for the
    // followers and gives up its key), to the first order accepted by the new leader.
    let mut switch_ms = Vec::new();
    for trial in 0..(trials / 4).max(3) {
        let p = LoginParams::trader(accounts[0].account, secret.as_bytes());
        let mut l = connect_leader(&set.addrs(), p, Duration::from_secs(5), Duration::from_secs(60)).expect("leader");
        cid += 1;
        accepted(&mut l.client, cid).expect("an order before the switchover");
        let idx =
            set.nodes.iter().position(|n| n.as_ref().and_then(|n| *n.ready.lock().unwrap()) == Some(l.addr)).unwrap();
        let others: Vec<SocketAddr> = set.addrs().into_iter().filter(|a| *a != l.addr).collect();
        let old_addr = l.addr;
        let last_seen = l.client.last_seen_seq();
        drop(l);
        let pid = set.nodes[idx].as_ref().unwrap().child.id();
        let asked = Instant::now();
        let _ = Command::new("kill").arg("-TERM").arg(pid.to_string()).status();
        let elapsed = first_order_accepted(&others, old_addr, &accounts[0], last_seen, &mut cid, asked);
        switch_ms.push(elapsed.as_secs_f64() * 1000.0);
        eprintln!("switchover trial {trial}: {:.1} ms", elapsed.as_secs_f64() * 1000.0);
        let mut old = set.nodes[idx].take().unwrap();
        let _ = old.child.wait();
        let id = idx as u32 + 1;
        let n = Node::spawn(&bin, &set.config(id), &dir.join(format!("failover-{id}.log")));
        n.wait_ready();
        set.nodes[idx] = Some(n);
    }
    let switch_max = switch_ms.iter().cloned().fold(0.0, f64::max);
    let switch_p50 = percentile(&mut switch_ms.clone(), 0.5);
    println!(
        "{}",
        json!({"bench": "replication", "part": "switchover", "trials": switch_ms.len(), "p50_ms": switch_p50, "max_ms": switch_max})
    );
    drop(set);

    // 2. quorum vs local, same flow.
    let instruments = InstrumentParams::select(&::matchd::config::Config::default_config(), &[1, 2]).unwrap();
    let mut results = Vec::new();
    for ack in ["quorum", "local"] {
        let set = Set::start(&bin, &dir, &etcd.1, &format!("tp-{ack}"), ack, &accounts);
        let leader = {
            let p = LoginParams::trader(accounts[0].account, secret.as_bytes());
            let mut l = connect_leader(&set.addrs(), p, Duration::from_secs(5), Duration::from_secs(60)).unwrap();
            let _ = l.client.logout_and_drain(Duration::from_secs(5));
            l.addr
        };
        let run = |mode: Mode| {
            let mut c = LoadgenConfig::new(leader, sessions, creds.clone(), instruments.clone());
            c.mode = mode;
            c.duration = Duration::from_secs_f64(if quick { 3.0 } else { 10.0 });
            c.warmup = Duration::from_secs_f64(if quick { 1.0 } else { 2.0 });
            c.drain_timeout = Duration::from_secs(30);
            c.with_total_depth(1000)
        };
        let closed = loadgen::run(&run(Mode::Closed { window: 64 })).expect("closed loop");
        let open = loadgen::run(&run(Mode::Open { rate })).expect("open loop");
        let line = json!({
            "bench": "replication", "part": "throughput", "ack": ack,
            "closed_rate": closed.achieved_rate(),
            "open_offered": rate, "open_achieved": open.achieved_rate(),
            "open_p50_us": open.latency.value_at_quantile(0.5) as f64 / 1000.0,
            "open_p99_us": open.latency.value_at_quantile(0.99) as f64 / 1000.0,
        });
        println!("{line}");
        results.push(line);
        drop(set);
    }
    let ratio = results[0]["closed_rate"].as_f64().unwrap() / results[1]["closed_rate"].as_f64().unwrap().max(1.0);

    // 3. Catch-up: a fresh follower copies the tp-quorum leader's journal? Its set is gone; use
    // a new set, fill it, then add an empty follower in place of one node.
    let mut set = Set::start(&bin, &dir, &etcd.1, "catchup", "quorum", &accounts);
    let leader = {
        let p = LoginParams::trader(accounts[0].account, secret.as_bytes());
        let mut l = connect_leader(&set.addrs(), p, Duration::from_secs(5), Duration::from_secs(60)).unwrap();
        let _ = l.client.logout_and_drain(Duration::from_secs(5));
        l.addr
    };
    let mut fill = LoadgenConfig::new(leader, sessions, creds.clone(), instruments.clone());
    fill.mode = Mode::Closed { window: 64 };
    fill.duration = Duration::from_secs(if quick { 4 } else { 15 });
    fill.warmup = Duration::ZERO;
    let _ = loadgen::run(&fill.with_total_depth(1000)).expect("fill");
    let idx = set.nodes.iter().position(|n| n.as_ref().and_then(|n| *n.ready.lock().unwrap()) != Some(leader)).unwrap();
    drop(set.nodes[idx].take());
    let id = idx as u32 + 1;
    std::fs::remove_dir_all(dir.join(format!("catchup-{id}"))).unwrap();
    let log = dir.join(format!("catchup-{id}-fresh.log"));
    let n = Node::spawn(&bin, &set.config(id), &log);
    n.wait_ready();
    let text = std::fs::read_to_string(&log).unwrap();
    let line = text.lines().find(|l| l.contains("caught up")).unwrap_or("");
    let field = |k: &str| {
        line.split(&format!("{k}="))
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let catchup = json!({"bench": "replication", "part": "catch_up", "records": field("records"), "ms": field("ms"), "records_per_sec": field("records_per_sec")});
    println!("{catchup}");
    set.nodes[idx] = Some(n);
    drop(set);
    drop(etcd);
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "{}",
        json!({
            "bench": "replication", "failover_p50_ms": p50, "failover_max_ms": max, "trials": trials,
            "switchover_p50_ms": switch_p50, "switchover_max_ms": switch_max,
            "quorum_closed_rate": results[0]["closed_rate"], "local_closed_rate": results[1]["closed_rate"],
            "quorum_over_local": ratio,
            "quorum_open_p50_us": results[0]["open_p50_us"], "quorum_open_p99_us": results[0]["open_p99_us"],
            "local_open_p50_us": results[1]["open_p50_us"], "local_open_p99_us": results[1]["open_p99_us"],
            "open_rate": rate, "catch_up_records_per_sec": catchup["records_per_sec"],
        })
    );
}
