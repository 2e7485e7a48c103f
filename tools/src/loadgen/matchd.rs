//! Running a real `matchd` for a benchmark or a test: a configuration with one account per
//! session, locating the binary, starting it on an ephemeral loopback port with a temporary data
//! directory and reading the `matchd ready listen=ADDR` line it prints.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use gateway::credential::Credential as StoredCredential;

use super::session::Credential;

/// Sets `key = value` on the first line assigning `key` (the embedded default config lists every
/// key once, in its section).
pub fn set_key(toml: &str, key: &str, value: &str) -> String {
    let mut done = false;
    let mut out = String::with_capacity(toml.len() + 64);
    for line in toml.lines() {
        let t = line.trim_start();
        if !done && t.starts_with(key) && t[key.len()..].trim_start().starts_with('=') {
            out.push_str(&format!("{key} = {value}"));
            done = true;
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

/// What [`config_toml`] deposits into every load generator account, per asset, in the asset's
/// minor units: 10^14 (e.g. 10^12 USDT at 0.01, 10^6 BTC at 1e-8), far beyond what any run trades,
/// so a run in risk mode never meets `InsufficientBalance`; 65,536 accounts stay below the 2^64
/// total an asset may have.
pub const LOADGEN_DEPOSIT: u64 = 100_000_000_000_000;

/// `base` (e.g. `::matchd::config::DEFAULT_CONFIG_TOML`) with `[[accounts]]` entries appended for
/// `accounts` (trader role, salted hashes), and the per-session rate limit raised to
/// `max_messages_per_sec` if given. Each account gets an initial deposit of [`LOADGEN_DEPOSIT`] of
/// every asset `base`'s instruments trade (used when `base` has `engine.risk_checks = true`, as the
/// embedded default does: the orders are funded and fees charged, the realistic path).
pub fn config_toml(base: &str, accounts: &[Credential], max_messages_per_sec: Option<u32>) -> String {
    let mut s = match max_messages_per_sec {
        Some(r) => set_key(base, "max_messages_per_sec", &r.to_string()),
        None => base.to_string(),
    };
    let mut assets: Vec<u32> = ::matchd::config::Config::from_toml(base, "base config")
        .map(|c| c.instruments.iter().flat_map(|i| [i.base_asset, i.quote_asset]).collect())
        .unwrap_or_default();
    assets.sort_unstable();
    assets.dedup();
    let deposits: Vec<String> =
        assets.iter().map(|a| format!("{{ asset = {a}, amount = {LOADGEN_DEPOSIT} }}")).collect();
    s.push_str("\n# Load generator accounts.\n");
    for c in accounts {
        let salt = format!("loadgen-{}", c.account);
        s.push_str(&format!(
            "[[accounts]]\nid = {}\nname = \"loadgen{}\"\nrole = \"trader\"\ncredential = \"{}\"\ndeposits = [{}]\n\n",
            c.account,
            c.account,
            StoredCredential::hash(c.secret.as_bytes(), salt.as_bytes()),
            deposits.join(", ")
        ));
    }
    s
}

/// Finds the `matchd` binary: `explicit`, else `$MATCHD_BIN`, else next to the running executable
/// or one directory up (a test runs from `target/<profile>/deps`, a benchmark binary from
/// `target/<profile>`), else `target/release/matchd` under `$CARGO_TARGET_DIR` or the workspace.
pub fn locate_binary(explicit: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(p) = explicit {
        return if p.is_file() { Ok(p.to_path_buf()) } else { Err(format!("{} does not exist", p.display())) };
    }
    let mut tried = Vec::new();
    if let Some(p) = std::env::var_os("MATCHD_BIN") {
        tried.push(PathBuf::from(p));
    }
    if let Ok(exe) = std::env::current_exe() {
        if let Some(dir) = exe.parent() {
            tried.push(dir.join("matchd"));
            if let Some(up) = dir.parent() {
                tried.push(up.join("matchd"));
            }
        }
    }
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
        tried.push(PathBuf::from(t).join("release/matchd"));
    }
    tried.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/matchd"));
    tried.iter().find(|p| p.is_file()).cloned().ok_or_else(|| {
        format!(
            "matchd binary not found (tried {}); build it with `cargo build --release -p matchd` or pass its path",
            tried.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        )
    })
}

/// `toml` with 4 MiB journal segments instead of the shipped 256 MiB, for tests: matchd
/// pre-faults a spare segment as large as the live one, which loads the disk that tests starting
/// several matchds at once share. Benchmarks keep the shipped size.
pub fn small_segments(toml: &str) -> String {
    set_key(toml, "segment_bytes", "4194304")
}

/// A fresh directory under the system temp dir (removed by [`Matchd`]'s drop if it made it).
/// The counter keeps two made in the same nanosecond by parallel tests apart.
pub fn temp_dir(tag: &str) -> PathBuf {
    static MADE: AtomicU64 = AtomicU64::new(0);
    let n = MADE.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    std::env::temp_dir().join(format!("{tag}-{}-{nanos}-{n}", std::process::id()))
}

/// A loopback address that refuses every connection for as long as this lives: a socket bound
/// to an ephemeral port, never listening, without `SO_REUSEADDR` so that no server can bind the
/// port meanwhile. The usual trick, a listener bound and dropped, frees the port: a server that a
/// parallel test starts on port 0 may get it, and the client meant to be refused logs in there.
pub struct RefusingAddr {
    /// The address; a connect to it is refused.
    pub addr: SocketAddr,
    _socket: socket2::Socket,
}

impl RefusingAddr {
    /// Binds the socket; panics if loopback has no free port (only tests and benches use this).
    pub fn new() -> RefusingAddr {
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("a socket");
        socket.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into()).expect("a free loopback port");
        let addr = socket.local_addr().ok().and_then(|a| a.as_socket()).expect("a bound IPv4 address");
        RefusingAddr { addr, _socket: socket }
    }
}

impl Default for RefusingAddr {
    fn default() -> Self {
        Self::new()
    }
}

/// A running matchd child process.
pub struct Matchd {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its metrics endpoint.
    pub metrics_addr: Option<SocketAddr>,
    /// Its TLS order-entry listener, when configured (`server.tls_listen`).
    pub tls_addr: Option<SocketAddr>,
    /// Its directory: the config, the log and `data/` (removed on drop if [`Matchd::start`]
    /// made it).
    pub dir: PathBuf,
    owns_dir: bool,
    stderr_log: PathBuf,
}

impl Matchd {
    /// Writes `config_toml` into a new temporary directory and starts `binary` on it with
    /// `--listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0`, its data in the same directory, plus `extra` arguments (e.g.
    /// `--durability batch`); waits up to 60 s for the ready line.
    pub fn start(binary: &Path, config_toml: &str, extra: &[&str]) -> Result<Matchd, String> {
        let mut m = Matchd::start_in(binary, &temp_dir("matchd-loadgen"), config_toml, extra)?;
        m.owns_dir = true;
        Ok(m)
    }

    /// [`Matchd::start`] in `dir` (created if missing, kept on drop): a restart on the same
    /// data. The log is appended to.
    pub fn start_in(binary: &Path, dir: &Path, config_toml: &str, extra: &[&str]) -> Result<Matchd, String> {
        let dir = dir.to_path_buf();
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let cfg = dir.join("matchd.toml");
        std::fs::write(&cfg, config_toml).map_err(|e| format!("{}: {e}", cfg.display()))?;
        let stderr_log = dir.join("matchd.stderr.log");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&stderr_log)
            .map_err(|e| format!("{}: {e}", stderr_log.display()))?;
        let mut child = Command::new(binary)
            .arg("--config")
            .arg(&cfg)
            .arg("--data-dir")
            .arg(dir.join("data"))
            .args(["--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .map_err(|e| format!("spawn {}: {e}", binary.display()))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            let mut line = String::new();
            let mut metrics = None;
            let mut tls = None;
            while r.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
                let word = |rest: &str| rest.split_whitespace().next().unwrap_or("").to_string();
                if let Some(rest) = line.trim().strip_prefix("matchd metrics listen=") {
                    metrics = Some(word(rest));
                }
                if let Some(rest) = line.trim().strip_prefix("matchd tls listen=") {
                    tls = Some(word(rest));
                }
                if let Some(rest) = line.trim().strip_prefix("matchd ready listen=") {
                    let _ = tx.send((word(rest), metrics.clone(), tls.clone()));
                }
                line.clear();
            }
        });
        let mut m = Matchd {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            metrics_addr: None,
            tls_addr: None,
            dir,
            owns_dir: false,
            stderr_log,
        };
        // A big journal takes a while to replay.
        match rx.recv_timeout(Duration::from_secs(600)) {
            Ok((a, metrics, tls)) => {
                m.addr = a.parse().map_err(|_| format!("bad ready line address {a:?}"))?;
                m.metrics_addr = metrics.and_then(|a| a.parse().ok());
                m.tls_addr = tls.and_then(|a| a.parse().ok());
                Ok(m)
            }
            Err(_) => Err(format!("matchd did not become ready; stderr:\n{}", m.stderr())),
        }
    }

    /// Its process id (for signals such as SIGUSR1).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Asks for a snapshot (SIGUSR1, as `systemctl kill -s USR1 matchd` does).
    pub fn request_snapshot(&self) {
        // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGUSR1);
        }
    }

    /// The value of an unlabelled metric from `GET /metrics`.
    pub fn metric(&self, name: &str) -> Result<f64, String> {
        use std::io::Write;
        let addr = self.metrics_addr.ok_or("metrics are off")?;
        let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5)).map_err(|e| e.to_string())?;
        s.set_read_timeout(Some(Duration::from_secs(5))).map_err(|e| e.to_string())?;
        write!(s, "GET /metrics HTTP/1.1\r\nHost: matchd\r\n\r\n").map_err(|e| e.to_string())?;
        let mut page = String::new();
        s.read_to_string(&mut page).map_err(|e| e.to_string())?;
        page.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(' ')))
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| format!("metric {name} not found"))
    }

    /// What matchd logged so far.
    pub fn stderr(&self) -> String {
        let mut s = String::new();
        let _ = std::fs::File::open(&self.stderr_log).and_then(|mut f| f.read_to_string(&mut s));
        s
    }

    /// Stops it with SIGTERM (a clean shutdown), SIGKILL after `timeout`; true if it exited by
    /// itself with success.
    pub fn stop(&mut self, timeout: Duration) -> bool {
        // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + timeout;
        loop {
            match self.child.try_wait() {
                Ok(Some(st)) => return st.success(),
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    return false;
                }
            }
        }
    }
}

impl Drop for Matchd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if self.owns_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_config_is_valid() {
        let accts: Vec<Credential> =
            (0..3).map(|i| Credential { account: 100 + i, secret: format!("lg-{}", 100 + i) }).collect();
        let toml = config_toml(::matchd::config::DEFAULT_CONFIG_TOML, &accts, Some(5_000_000));
        let cfg = ::matchd::config::Config::from_toml(&toml, "test").unwrap();
        cfg.validate().unwrap();
        assert_eq!(cfg.server.max_messages_per_sec, 5_000_000);
        let a = cfg.accounts.iter().find(|a| a.id == 102).unwrap();
        assert!(StoredCredential::parse(&a.credential).unwrap().verify(b"lg-102"));
        // Funded with every asset the instruments trade (USDT, BTC, ETH in the default config).
        let funded: Vec<(u32, u64)> = a.deposits.iter().map(|d| (d.asset, d.amount)).collect();
        assert_eq!(funded, vec![(1, LOADGEN_DEPOSIT), (2, LOADGEN_DEPOSIT), (3, LOADGEN_DEPOSIT)]);
        assert!(cfg.engine.risk_checks);
        // Every one of max_accounts such accounts still fits an asset's u64 supply.
        assert!((cfg.engine.max_accounts as u64).checked_mul(LOADGEN_DEPOSIT).is_some());
    }
}
