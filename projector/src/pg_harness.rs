//! A throwaway PostgreSQL for tests and benchmarks: `initdb` in a temporary directory and a
//! postmaster on a free loopback port, run as an unprivileged user (PostgreSQL refuses root, and
//! CI runs as root: there the user `matchd-test` is created if missing), torn down on drop.
//!
//! The binaries are found on `PATH` first (`initdb`, `postgres`), then in the newest
//! `/usr/lib/postgresql/<version>/bin` (Debian's `postgresql` package does not put them on `PATH`;
//! `scripts/install-test-deps.sh` installs it).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The user the cluster runs as when the caller is root.
pub const TEST_USER: &str = "matchd-test";

/// Longest wait for the postmaster to accept connections: bounds a hang, never a speed.
pub const START_WAIT: Duration = Duration::from_secs(120);

/// A running PostgreSQL cluster in a temporary directory.
pub struct Postgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    user: Option<(u32, u32)>,
    settings: Vec<String>,
    child: Option<Child>,
}

/// Where `name` is: on `PATH`, else in the newest `/usr/lib/postgresql/*/bin`.
pub fn find_binary(name: &str) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PATH") {
        if let Some(p) = std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file()) {
            return Some(p);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin").join(name))))
        .filter(|(_, p): &(u32, PathBuf)| p.is_file())
        .collect();
    versions.sort();
    versions.pop().map(|(_, p)| p)
}

/// A loopback port nobody listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free loopback port")
}

/// (uid, gid) of [`TEST_USER`], created if missing; `None` when not running as root.
fn test_user() -> Option<(u32, u32)> {
    // SAFETY: geteuid(2) has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    let id = |flag: &str| -> Option<u32> {
        let out = Command::new("id").args([flag, TEST_USER]).output().ok()?;
        String::from_utf8(out.stdout).ok()?.trim().parse().ok()
    };
    if id("-u").is_none() {
        let status = Command::new("useradd")
            .args(["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", TEST_USER])
            .status()
            .expect("run useradd");
        // Another test may have created it meanwhile.
        assert!(status.success() || id("-u").is_some(), "useradd {TEST_USER} failed");
    }
    Some((id("-u").expect("uid"), id("-g").expect("gid")))
}

impl Postgres {
    /// initdb and start a cluster (trust authentication on loopback, superuser `postgres`,
    /// `fsync=off`: a test cluster needs crash consistency, which the WAL gives, not power-loss
    /// durability). Panics with what to do when PostgreSQL is not installed.
    pub fn start() -> Postgres {
        Postgres::start_with(&["fsync=off"])
    }

    /// [`Postgres::start`] with these server settings (`name=value`) instead of `fsync=off`
    /// (a benchmark runs with PostgreSQL's defaults: `&[]`).
    pub fn start_with(settings: &[&str]) -> Postgres {
        let initdb = find_binary("initdb").expect(
            "PostgreSQL's initdb not found on PATH or in /usr/lib/postgresql/*/bin: run scripts/install-test-deps.sh",
        );
        // The real directory (a symlink on PATH may stand alone): postgres, pg_isready and
        // createdb are beside initdb there.
        let initdb = std::fs::canonicalize(&initdb).unwrap_or(initdb);
        let bin = initdb.parent().expect("bin directory").to_path_buf();
        let user = test_user();
        // As root, under /tmp: the unprivileged user must be able to reach it ($TMPDIR may be
        // under a home it cannot enter).
        let parent = if user.is_some() { PathBuf::from("/tmp") } else { std::env::temp_dir() };
        let dir = tempfile::Builder::new().prefix("matchd-pg-").tempdir_in(parent).expect("temp dir");
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).expect("chown the cluster directory");
        }
        let mut init = Command::new(&initdb);
        init.args(["-D"]).arg(dir.path().join("data")).args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        ]);
        let out = as_user(&mut init, user).stdout(Stdio::null()).output().expect("run initdb");
        assert!(out.status.success(), "initdb failed: {}", String::from_utf8_lossy(&out.stderr));
        let settings = settings.iter().map(|s| s.to_string()).collect();
        let mut pg = Postgres { bin, dir, port: free_port(), user, settings, child: None };
        pg.launch();
        pg
    }

    /// Starts the postmaster and waits until it accepts connections.
    fn launch(&mut self) {
        assert!(self.child.is_none(), "the postmaster is not running");
        let deadline = Instant::now() + START_WAIT;
        loop {
            let log = std::fs::OpenOptions::new().create(true).append(true).open(self.log_path()).expect("log");
            let mut cmd = Command::new(self.bin.join("postgres"));
            cmd.arg("-D").arg(self.dir.path().join("data")).args(["-p", &self.port.to_string(), "-k"]);
            cmd.arg(self.dir.path()).args(["-c", "listen_addresses=127.0.0.1"]);
            // The harness's own settings first: a `--pg-setting` of the same name overrides
            // them (the last `-c` wins).
            cmd.args(["-c", "max_connections=50", "-c", "shared_buffers=128MB"]);
            for s in &self.settings {
                cmd.args(["-c", s]);
            }
            let mut child =
                as_user(&mut cmd, self.user).stdout(Stdio::null()).stderr(log).spawn().expect("spawn postgres");
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if self.accepts() {
                    self.child = Some(child);
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            // It exited (e.g. the old cluster's shared memory still in use after a kill -9):
            // try again until the deadline.
            let _ = child.kill();
            let _ = child.wait();
            assert!(Instant::now() < deadline, "postgres did not start; its log:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Whether a `pg_isready`-like TCP connection succeeds and the server answers queries.
    fn accepts(&self) -> bool {
        let out = Command::new(self.bin.join("pg_isready"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "postgres", "-t", "2"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        out.map(|s| s.success()).unwrap_or(false)
    }

    /// The connection string of database `db`.
    pub fn url(&self, db: &str) -> String {
        format!("host=127.0.0.1 port={} user=postgres dbname={db} connect_timeout=10", self.port)
    }

    /// The postmaster's process id (its backends are its children: benchmarks account their CPU).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Creates database `name`.
    pub fn create_database(&self, name: &str) {
        let out = Command::new(self.bin.join("createdb"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "postgres", name])
            .output()
            .expect("run createdb");
        assert!(out.status.success(), "createdb {name}: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// Kills the postmaster with SIGKILL (a crash: its backends notice and exit) and starts it
    /// again on the same data; crash recovery replays the WAL.
    pub fn crash_and_restart(&mut self) {
        let mut child = self.child.take().expect("running");
        let _ = child.kill();
        let _ = child.wait();
        self.launch();
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("postgres.log")
    }

    /// What the postmaster logged.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Stops the postmaster when the process panics, also where panics abort (a release build:
    /// no unwinding, so [`Drop`] would not run and the cluster would outlive the benchmark).
    pub fn stop_on_panic(&self) {
        let pid = self.child.as_ref().expect("running").id() as i32;
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
            unsafe { libc::kill(pid, libc::SIGQUIT) };
            previous(info);
        }));
    }

    /// The cluster directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGQUIT: immediate shutdown, the postmaster ends its backends too.
            // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
            unsafe { libc::kill(child.id() as i32, libc::SIGQUIT) };
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `cmd` run as `user` (uid, gid) when given.
fn as_user(cmd: &mut Command, user: Option<(u32, u32)>) -> &mut Command {
    use std::os::unix::process::CommandExt;
    if let Some((uid, gid)) = user {
        cmd.uid(uid).gid(gid);
    }
    cmd
}
