//! Harness for replica-set tests: a real etcd on loopback (the Debian `etcd` binary, installed by
//! `scripts/install-test-deps.sh`) and real `matchd` processes, each with its own data directory,
//! plus a TCP proxy that can delay, stall or cut the replication traffic of one node.
//!
//! As in `e2e_common`, no wall-clock budgets: every wait is for an event, bounded only against
//! a hang.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::e2e_common::{ConfigText, LONG_WAIT};

/// A free loopback port (bound and released: good enough on a test machine).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A real etcd, killed on drop.
pub struct Etcd {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    _dir: tempfile::TempDir,
}

impl Etcd {
    /// Starts etcd on free ports and waits until it answers. A port picked free can be taken by
    /// a parallel test's server before etcd binds it; etcd then exits, and is started again on
    /// other ports.
    pub fn start() -> Etcd {
        let deadline = Instant::now() + LONG_WAIT;
        loop {
            let dir = tempfile::tempdir().unwrap();
            let (client, peer) = (free_port(), free_port());
            let endpoint = format!("http://127.0.0.1:{client}");
            let peer_url = format!("http://127.0.0.1:{peer}");
            let log = std::fs::File::create(dir.path().join("etcd.log")).unwrap();
            let child = Command::new("etcd")
                .args(["--name", "test", "--data-dir"])
                .arg(dir.path().join("data"))
                .args(["--listen-client-urls", &endpoint, "--advertise-client-urls", &endpoint])
                .args(["--listen-peer-urls", &peer_url, "--initial-advertise-peer-urls", &peer_url])
                .args(["--initial-cluster", &format!("test={peer_url}")])
                .stdout(Stdio::null())
                .stderr(Stdio::from(log))
                .spawn()
                .expect("etcd (scripts/install-test-deps.sh installs Debian's etcd-server)");
            let mut etcd = Etcd { child, endpoint, _dir: dir };
            let answered = loop {
                if etcd.healthy() {
                    break true;
                }
                let log = || std::fs::read_to_string(etcd._dir.path().join("etcd.log")).unwrap_or_default();
                assert!(Instant::now() < deadline, "etcd did not start; its log:\n{}", log());
                if let Ok(Some(status)) = etcd.child.try_wait() {
                    eprintln!("etcd exited ({status}) before it answered; again on other ports. Its log:\n{}", log());
                    break false;
                }
                std::thread::sleep(Duration::from_millis(50));
            };
            if answered {
                return etcd;
            }
        }
    }

    /// Sends a signal to etcd (SIGSTOP/SIGCONT: etcd unreachable without losing its state).
    pub fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
        unsafe {
            libc::kill(self.child.id() as i32, sig);
        }
    }

    fn healthy(&self) -> bool {
        let addr: SocketAddr = self.endpoint.trim_start_matches("http://").parse().unwrap();
        let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else { return false };
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        let _ = write!(s, "GET /health HTTP/1.0\r\n\r\n");
        let mut r = String::new();
        let _ = s.read_to_string(&mut r);
        r.contains("\"health\":\"true\"")
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a node printed on stdout.
#[derive(Debug, Default, Clone)]
pub struct Printed {
    pub ready: Option<SocketAddr>,
    pub metrics: Option<SocketAddr>,
    pub replication: Option<SocketAddr>,
}

/// A running matchd node of a replica set.
pub struct Node {
    pub id: u32,
    pub child: Child,
    pub data_dir: PathBuf,
    pub config: PathBuf,
    printed: Arc<Mutex<Printed>>,
    log: PathBuf,
}

impl Node {
    /// Starts `matchd --config <config>` (not waiting for it to be ready: nodes of a set start
    /// together, since the first election needs a quorum).
    pub fn spawn(id: u32, data_dir: &Path, config: &Path) -> Node {
        let log = data_dir.with_extension("stderr.log");
        let logf = std::fs::OpenOptions::new().create(true).append(true).open(&log).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_matchd"))
            .arg("--config")
            .arg(config)
            .stdout(Stdio::piped())
            .stderr(Stdio::from(logf))
            .spawn()
            .expect("spawn matchd");
        let stdout = child.stdout.take().unwrap();
        let printed = Arc::new(Mutex::new(Printed::default()));
        let p2 = printed.clone();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            let mut line = String::new();
            while r.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
                let l = line.trim();
                let addr = |prefix: &str| -> Option<SocketAddr> {
                    l.strip_prefix(prefix).and_then(|r| r.split_whitespace().next()).and_then(|a| a.parse().ok())
                };
                let mut p = p2.lock().unwrap();
                if let Some(a) = addr("matchd ready listen=") {
                    p.ready = Some(a);
                }
                if let Some(a) = addr("matchd metrics listen=") {
                    p.metrics = Some(a);
                }
                if let Some(a) = addr("matchd replication listen=") {
                    p.replication = Some(a);
                }
                drop(p);
                line.clear();
            }
        });
        Node { id, child, data_dir: data_dir.to_path_buf(), config: config.to_path_buf(), printed, log }
    }

    /// Waits for the ready line (after the first run's replay).
    pub fn wait_ready(&mut self) -> SocketAddr {
        let deadline = Instant::now() + LONG_WAIT;
        loop {
            if let Some(a) = self.printed.lock().unwrap().ready {
                return a;
            }
            if let Ok(Some(st)) = self.child.try_wait() {
                panic!("node {} exited ({st}) before it was ready:\n{}", self.id, self.stderr());
            }
            assert!(Instant::now() < deadline, "node {} not ready:\n{}", self.id, self.stderr());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The order-entry address (ready).
    pub fn addr(&self) -> SocketAddr {
        self.printed.lock().unwrap().ready.expect("ready")
    }

    /// The metrics page, or `None` if it cannot be read now.
    pub fn metrics(&self) -> Option<String> {
        let addr = self.printed.lock().unwrap().metrics?;
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).ok()?;
        // A node between pipeline runs has its port bound but nobody serving it yet.
        s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        write!(s, "GET /metrics HTTP/1.1\r\nHost: matchd\r\n\r\n").ok()?;
        let mut resp = String::new();
        s.read_to_string(&mut resp).ok()?;
        Some(resp.split_once("\r\n\r\n")?.1.to_string())
    }

    /// A metric's value (the first sample whose name and labels are `name`), if readable.
    pub fn metric(&self, name: &str) -> Option<f64> {
        let page = self.metrics()?;
        page.lines().find(|l| l.split_whitespace().next() == Some(name))?.split_whitespace().nth(1)?.parse().ok()
    }

    /// Whether it leads now (by its metrics).
    pub fn is_leader(&self) -> bool {
        self.metric("matchd_replication_role{role=\"leader\"}") == Some(1.0)
    }

    /// What it logged so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends a signal.
    pub fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
        unsafe {
            libc::kill(self.child.id() as i32, sig);
        }
    }

    /// SIGTERM and wait for the exit; returns its status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        self.signal(libc::SIGTERM);
        let deadline = Instant::now() + LONG_WAIT;
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st;
            }
            assert!(Instant::now() < deadline, "node {} did not stop:\n{}", self.id, self.stderr());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether the process still runs.
    pub fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A replica set under test: etcd, N nodes, their directories.
pub struct ReplicaSet {
    pub etcd: Etcd,
    pub nodes: Vec<Option<Node>>,
    pub dir: tempfile::TempDir,
    pub cluster: String,
}

/// The `[replication]` section of node `id` of `n`.
pub fn replication_section(etcd: &str, cluster: &str, id: u32, n: u32, listen: &str, extra: &str) -> String {
    format!(
        "\n[replication]\nnode_id = {id}\nnodes = {n}\ncluster = \"{cluster}\"\netcd_endpoints = [\"{etcd}\"]\n\
         listen = \"{listen}\"\nlease_ttl_s = 2\nstate_hash_every = 500\n{extra}\n"
    )
}

impl ReplicaSet {
    /// Writes the configs of `n` nodes (base config plus `[replication]`, `extra` lines appended
    /// to that section per node) and starts them all; waits until each is ready.
    pub fn start(n: u32, base: ConfigText, extra: impl Fn(u32) -> String) -> ReplicaSet {
        let etcd = Etcd::start();
        let dir = tempfile::tempdir().unwrap();
        let cluster = format!("t{}", std::process::id());
        let mut set = ReplicaSet { etcd, nodes: Vec::new(), dir, cluster };
        for id in 1..=n {
            let cfg = ConfigText(base.0.clone())
                .set("data.dir", &format!("\"{}\"", set.data_dir(id).display()))
                .set("server.listen", "\"127.0.0.1:0\"")
                .set("metrics.listen", "\"127.0.0.1:0\"")
                .set("metrics.enabled", "true");
            let text = cfg.0 + &replication_section(&set.etcd.endpoint, &set.cluster, id, n, "127.0.0.1:0", &extra(id));
            std::fs::write(set.config(id), text).unwrap();
        }
        for id in 1..=n {
            set.nodes.push(Some(Node::spawn(id, &set.data_dir(id), &set.config(id))));
        }
        for n in set.nodes.iter_mut().flatten() {
            n.wait_ready();
        }
        set
    }

    pub fn data_dir(&self, id: u32) -> PathBuf {
        self.dir.path().join(format!("node{id}"))
    }

    pub fn config(&self, id: u32) -> PathBuf {
        self.dir.path().join(format!("node{id}.toml"))
    }

    pub fn node(&self, id: u32) -> &Node {
        self.nodes[id as usize - 1].as_ref().expect("node running")
    }

    pub fn node_mut(&mut self, id: u32) -> &mut Node {
        self.nodes[id as usize - 1].as_mut().expect("node running")
    }

    /// (Re)starts node `id` with its config and data directory; does not wait.
    pub fn restart(&mut self, id: u32) {
        let node = Node::spawn(id, &self.data_dir(id), &self.config(id));
        self.nodes[id as usize - 1] = Some(node);
    }

    /// Order-entry addresses of the nodes that are up and ready.
    pub fn addrs(&self) -> Vec<SocketAddr> {
        self.nodes.iter().flatten().filter_map(|n| n.printed.lock().unwrap().ready).collect()
    }

    /// Waits until exactly one live node leads, and returns its id.
    pub fn wait_leader(&self) -> u32 {
        let deadline = Instant::now() + LONG_WAIT;
        loop {
            let leaders: Vec<u32> = self.nodes.iter().flatten().filter(|n| n.is_leader()).map(|n| n.id).collect();
            if leaders.len() == 1 {
                return leaders[0];
            }
            assert!(Instant::now() < deadline, "no single leader: {leaders:?}\n{}", self.logs());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Node `id`'s commit sequence (0 while its metrics cannot be read).
    pub fn commit_seq(&self, id: u32) -> u64 {
        self.node(id).metric("matchd_replication_commit_seq").unwrap_or(0.0) as u64
    }

    /// Waits until node `id`'s commit sequence reaches `at_least` (traders are getting
    /// acknowledgements from it).
    pub fn wait_commit(&self, id: u32, at_least: u64) {
        let deadline = Instant::now() + LONG_WAIT;
        while self.commit_seq(id) < at_least {
            assert!(Instant::now() < deadline, "node {id} committed nothing up to {at_least}\n{}", self.logs());
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits until every live node's commit and log reach `seq` at least, and are equal.
    pub fn wait_converged(&self) -> u64 {
        let deadline = Instant::now() + LONG_WAIT;
        loop {
            let seqs: Vec<Option<(f64, f64)>> = self
                .nodes
                .iter()
                .flatten()
                .map(|n| Some((n.metric("matchd_replication_log_seq")?, n.metric("matchd_commands_applied_total")?)))
                .collect();
            let logs: Vec<f64> = seqs.iter().flatten().map(|s| s.0).collect();
            if logs.len() == seqs.len() && logs.windows(2).all(|w| w[0] == w[1]) && !logs.is_empty() {
                return logs[0] as u64;
            }
            assert!(Instant::now() < deadline, "nodes did not converge: {seqs:?}\n{}", self.logs());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until every live node shows the same state checkpoint (sequence and hash) at or
    /// above `min_seq`, and returns it.
    pub fn wait_equal_checkpoints(&self, min_seq: u64) -> String {
        let deadline = Instant::now() + LONG_WAIT;
        loop {
            let cps: Vec<Option<String>> = self
                .nodes
                .iter()
                .flatten()
                .map(|n| {
                    let page = n.metrics()?;
                    let line = page.lines().find(|l| l.starts_with("matchd_state_checkpoint{"))?;
                    Some(line.to_string())
                })
                .collect();
            let seq_of = |l: &str| -> u64 {
                l.split("seq=\"").nth(1).and_then(|r| r.split('"').next()).and_then(|v| v.parse().ok()).unwrap_or(0)
            };
            if let Some(Some(first)) = cps.first() {
                if cps.iter().all(|c| c.as_deref() == Some(first.as_str())) && seq_of(first) >= min_seq {
                    return first.clone();
                }
            }
            assert!(Instant::now() < deadline, "state checkpoints differ or lag: {cps:?}\n{}", self.logs());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Every node's log, for failure messages.
    pub fn logs(&self) -> String {
        let mut s = String::new();
        for n in self.nodes.iter().flatten() {
            let log = n.stderr();
            let tail: Vec<&str> = log.lines().rev().take(60).collect();
            s.push_str(&format!("==== node {} (last 60 lines)\n", n.id));
            for l in tail.into_iter().rev() {
                s.push_str(l);
                s.push('\n');
            }
        }
        s
    }
}

/// Replays a node's journal up to `upto` (with the engine, from the beginning) and returns the
/// engine's state hash there, plus a CRC over every record's type and payload: equal CRCs mean
/// byte-identical journals.
pub fn journal_digest(data_dir: &Path, upto: u64) -> (u128, u32, u64) {
    use engine::command_codec::{decode, decode_engine_config, RECORD_COMMAND, RECORD_ENGINE_CONFIG};
    let mut reader = journal::JournalReader::open(data_dir.join("journal"), 0).unwrap();
    let mut engine: Option<engine::Engine> = None;
    let mut crc = 0u32;
    let mut last = 0;
    struct Null;
    impl engine::EventSink for Null {
        fn emit(&mut self, _: engine::Event) {}
    }
    while let Some(rec) = reader.next().unwrap() {
        if rec.seq > upto {
            break;
        }
        crc = crc32c::crc32c_append(crc, &[rec.record_type]);
        crc = crc32c::crc32c_append(crc, rec.payload);
        match rec.record_type {
            RECORD_ENGINE_CONFIG => {
                let mut e = engine::Engine::new(decode_engine_config(rec.payload).unwrap());
                e.skip(rec.seq);
                engine = Some(e);
            }
            RECORD_COMMAND => engine.as_mut().unwrap().apply(rec.seq, &decode(rec.payload).unwrap(), &mut Null),
            t => panic!("record type {t}"),
        }
        last = rec.seq;
    }
    (engine.map_or(0, |e| e.state_hash()), crc, last)
}

/// How the proxy treats traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ProxyMode {
    /// Forward.
    Pass = 0,
    /// Forward each chunk after a delay.
    Delay = 1,
    /// Hold everything (connections stay open, nothing moves).
    Stall = 2,
    /// Close every connection, refuse none (new ones are cut at once).
    Cut = 3,
}

/// A TCP proxy in front of one address (a node's replication port), with a switchable mode.
pub struct Proxy {
    pub addr: SocketAddr,
    mode: Arc<AtomicU8>,
}

impl Proxy {
    /// Listens on a free port and forwards to `target`.
    pub fn start(listen: SocketAddr, target: SocketAddr) -> Proxy {
        let l = TcpListener::bind(listen).unwrap();
        let addr = l.local_addr().unwrap();
        let mode = Arc::new(AtomicU8::new(ProxyMode::Pass as u8));
        let m = mode.clone();
        std::thread::spawn(move || {
            for c in l.incoming() {
                let Ok(client) = c else { continue };
                if m.load(Ordering::Relaxed) == ProxyMode::Cut as u8 {
                    continue;
                }
                let Ok(server) = TcpStream::connect(target) else { continue };
                for (from, to) in [(client.try_clone().unwrap(), server.try_clone().unwrap()), (server, client)] {
                    let m = m.clone();
                    std::thread::spawn(move || pump(from, to, &m));
                }
            }
        });
        Proxy { addr, mode }
    }

    pub fn set(&self, mode: ProxyMode) {
        self.mode.store(mode as u8, Ordering::Relaxed);
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream, mode: &AtomicU8) {
    let mut buf = [0u8; 16 << 10];
    let _ = from.set_read_timeout(Some(Duration::from_millis(50)));
    loop {
        let m = mode.load(Ordering::Relaxed);
        if m == ProxyMode::Cut as u8 {
            let _ = from.shutdown(std::net::Shutdown::Both);
            let _ = to.shutdown(std::net::Shutdown::Both);
            return;
        }
        if m == ProxyMode::Stall as u8 {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        }
        match from.read(&mut buf) {
            Ok(0) => {
                let _ = to.shutdown(std::net::Shutdown::Both);
                return;
            }
            Ok(n) => {
                if mode.load(Ordering::Relaxed) == ProxyMode::Delay as u8 {
                    std::thread::sleep(Duration::from_millis(30));
                }
                if to.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => {
                let _ = to.shutdown(std::net::Shutdown::Both);
                return;
            }
        }
    }
}
