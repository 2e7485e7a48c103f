//! CPU time of the processes a benchmark runs beside itself (a PostgreSQL cluster's backends)
//! and of its own threads, from `/proc`: a sampler thread records each process's user + system
//! time every 100 ms, so a process that exits between two samples loses at most 100 ms.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Clock ticks per second of `/proc/<pid>/stat` times (`sysconf(_SC_CLK_TCK)`).
fn ticks_per_sec() -> f64 {
    // SAFETY: sysconf(3) has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// (parent pid, user + system ticks, command name) of `/proc/<path>/stat`.
fn stat(path: &str) -> Option<(u32, u64, String)> {
    let s = std::fs::read_to_string(format!("/proc/{path}/stat")).ok()?;
    let open = s.find('(')?;
    let close = s.rfind(')')?;
    let comm = s.get(open + 1..close)?.to_string();
    // Fields after the command name: state (3), ppid (4), ..., utime (14), stime (15).
    let rest: Vec<&str> = s.get(close + 2..)?.split_whitespace().collect();
    let ppid = rest.get(1)?.parse().ok()?;
    let utime: u64 = rest.get(11)?.parse().ok()?;
    let stime: u64 = rest.get(12)?.parse().ok()?;
    Some((ppid, utime + stime, comm))
}

/// The children of `parent` now: pid, ticks, command line (`postgres: <user> <db> ...`).
fn children(parent: u32) -> Vec<(u32, u64, String)> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    let mut out = Vec::new();
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        if let Some((ppid, ticks, _)) = stat(&pid.to_string()) {
            if ppid == parent {
                let cmd = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                out.push((pid, ticks, cmd.replace('\0', " ").trim().to_string()));
            }
        }
    }
    out
}

/// This process's threads now: tid, ticks, thread name.
fn own_threads() -> Vec<(u32, u64, String)> {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else { return Vec::new() };
    dir.flatten()
        .filter_map(|e| {
            let tid: u32 = e.file_name().to_str()?.parse().ok()?;
            let (_, ticks, comm) = stat(&format!("self/task/{tid}"))?;
            Some((tid, ticks, comm))
        })
        .collect()
}

/// One process's or thread's CPU over the sampled period.
#[derive(Debug, Clone)]
pub struct Usage {
    /// Process or thread id.
    pub id: u32,
    /// Its command line (process) or name (thread), as first seen.
    pub name: String,
    /// CPU seconds (user + system) used while sampled.
    pub cpu_secs: f64,
}

/// What a [`Sampler`] measured.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The children of the watched parent, most CPU first.
    pub children: Vec<Usage>,
    /// The parent itself.
    pub parent_secs: f64,
    /// This process's threads, most CPU first.
    pub threads: Vec<Usage>,
}

impl Report {
    /// CPU seconds of the parent and all its children.
    pub fn tree_secs(&self) -> f64 {
        self.parent_secs + self.children.iter().map(|u| u.cpu_secs).sum::<f64>()
    }

    /// CPU seconds of this process's threads.
    pub fn own_secs(&self) -> f64 {
        self.threads.iter().map(|u| u.cpu_secs).sum()
    }
}

/// Samples `parent`'s children and this process's threads until [`Sampler::finish`].
pub struct Sampler {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<Report>,
}

/// First and last ticks seen per id, and the name first seen.
type Seen = HashMap<u32, (u64, u64, String)>;

fn record(seen: &mut Seen, now: Vec<(u32, u64, String)>, from_zero: bool) {
    for (id, ticks, name) in now {
        seen.entry(id).and_modify(|e| e.1 = e.1.max(ticks)).or_insert((if from_zero { 0 } else { ticks }, ticks, name));
    }
}

fn usages(seen: &Seen, per_sec: f64) -> Vec<Usage> {
    let mut v: Vec<Usage> = seen
        .iter()
        .map(|(&id, (first, last, name))| Usage { id, name: name.clone(), cpu_secs: (last - first) as f64 / per_sec })
        .collect();
    v.sort_by(|a, b| b.cpu_secs.total_cmp(&a.cpu_secs));
    v
}

impl Sampler {
    /// Starts sampling: what `parent`'s children and this process's threads use from now on.
    pub fn start(parent: u32) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::Builder::new()
            .name("cpu-sampler".into())
            .spawn(move || {
                let per_sec = ticks_per_sec();
                let (mut kids, mut threads) = (Seen::new(), Seen::new());
                // Processes and threads alive now count from now; later ones from their start.
                record(&mut kids, children(parent), false);
                record(&mut threads, own_threads(), false);
                let parent_first = stat(&parent.to_string()).map_or(0, |s| s.1);
                let mut parent_last = parent_first;
                loop {
                    let done = flag.load(Relaxed);
                    record(&mut kids, children(parent), true);
                    record(&mut threads, own_threads(), true);
                    parent_last = stat(&parent.to_string()).map_or(parent_last, |s| s.1);
                    if done {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                let mut own = usages(&threads, per_sec);
                own.retain(|u| u.name != "cpu-sampler");
                Report {
                    children: usages(&kids, per_sec),
                    parent_secs: (parent_last - parent_first) as f64 / per_sec,
                    threads: own,
                }
            })
            .expect("spawn the CPU sampler");
        Sampler { stop, handle }
    }

    /// Stops sampling (one last sample first) and returns what was used.
    pub fn finish(self) -> Report {
        self.stop.store(true, Relaxed);
        self.handle.join().expect("the CPU sampler does not panic")
    }
}
