//! Snapshots from a forked child, as Redis takes them: the calling (matcher) thread pauses only
//! for `fork()`, which copies page tables, not memory; the child reads the engine from its
//! copy-on-write view of memory and writes the engine half of the file ([`write_engine_part`])
//! while the parent keeps matching. The parent later adds the publisher section
//! ([`crate::finish_snapshot`]).
//!
//! The child is a copy of a multi-threaded process in which only the forking thread exists, so
//! it must not need a lock another thread may have held at the fork: it allocates (glibc's
//! allocator takes its locks around `fork`), writes files and exits with `_exit`; it never logs
//! or prints. It also must not outlive or get in the way of its parent: it closes every
//! inherited descriptor (the journal's lock and the listening sockets stay the parent's alone,
//! so a restarted matchd is not refused by a child still writing), asks to be killed when the
//! forking thread ends (`PR_SET_PDEATHSIG`), leaves the matcher's core (an inherited pinning
//! would put it on the matcher's core) and runs at a lower priority.

use std::fs::File;
use std::io::{self, Read};
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::time::{Duration, Instant};

use engine::{Engine, Seq};

use crate::write_engine_part;

/// Niceness of the child: below the pipeline threads, which must never wait for it.
const CHILD_NICE: libc::c_int = 10;
/// Exit codes of the child (0 = written).
const EXIT_WRITE_FAILED: i32 = 1;
const EXIT_PANICKED: i32 = 2;
const EXIT_ORPHANED: i32 = 3;

/// A snapshot being taken by a forked child process (see [`fork_snapshot`]).
#[derive(Debug)]
pub struct ForkedSnapshot {
    pid: libc::pid_t,
    /// Read end of the pipe the child writes its error message to.
    errors: File,
    /// The sequence number being snapshotted.
    pub seq: Seq,
    /// How long `fork()` took: the pause of the calling (matcher) thread.
    pub fork_pause: Duration,
    started: Instant,
}

impl ForkedSnapshot {
    /// Waits (from any thread) for the child to write the engine part; `Ok` with how long the
    /// child ran once `snapshot-<seq>.snap.tmp` is complete (then call
    /// [`crate::finish_snapshot`]). A child still running after `timeout` is killed: a
    /// snapshot is an optimisation of restart time, the journal is the record, so a stuck child
    /// must not hold memory or the next snapshot for ever.
    pub fn wait(mut self, timeout: Duration) -> Result<Duration, String> {
        let deadline = Instant::now() + timeout;
        let mut status = 0;
        loop {
            // SAFETY: polls our own child, forked by `fork_snapshot`; `status` is a valid out
            // pointer for the call.
            let r = unsafe { libc::waitpid(self.pid, &mut status, libc::WNOHANG) };
            if r == self.pid {
                break;
            }
            if r < 0 {
                return Err(format!("waitpid for snapshot child {}: {}", self.pid, io::Error::last_os_error()));
            }
            if Instant::now() >= deadline {
                // SAFETY: the child is ours and not yet reaped, so the pid cannot have been reused.
                unsafe { libc::kill(self.pid, libc::SIGKILL) };
                // SAFETY: as above; blocks until the killed child is reaped.
                unsafe { libc::waitpid(self.pid, &mut status, 0) };
                return Err(format!("snapshot child {} still running after {timeout:?}: killed", self.pid));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let ran = self.started.elapsed();
        let mut msg = String::new();
        let _ = self.errors.read_to_string(&mut msg);
        if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
            Ok(ran)
        } else if !msg.is_empty() {
            Err(msg)
        } else if libc::WIFSIGNALED(status) {
            Err(format!("snapshot child {} killed by signal {}", self.pid, libc::WTERMSIG(status)))
        } else {
            let why = match libc::WEXITSTATUS(status) {
                EXIT_PANICKED => "panicked",
                EXIT_ORPHANED => "found its parent gone",
                _ => "failed",
            };
            Err(format!("snapshot child {} {why} (exit status {})", self.pid, libc::WEXITSTATUS(status)))
        }
    }

    /// The child's process id.
    pub fn pid(&self) -> i32 {
        self.pid
    }
}

/// Takes a snapshot of `engine` in a forked child process: the calling thread pauses only for
/// `fork()` (copying the page tables), the child copies the state out of its copy-on-write view
/// of memory, serializes it and writes the engine part with [`write_engine_part`], then exits.
/// Call [`ForkedSnapshot::wait`] (from any thread), then [`crate::finish_snapshot`].
///
/// Costs to know (`docs/snapshots.md` has the figures): the pause grows with the process's
/// resident memory, and while the child runs, the parent's first write to each shared page
/// takes a copy-on-write fault. The forking thread must outlive the child (it is killed when
/// that thread ends).
pub fn fork_snapshot(engine: &Engine, dir: &Path) -> io::Result<ForkedSnapshot> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` is a valid array of two ints for pipe2 to fill.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let [read_fd, write_fd] = fds;
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    let started = Instant::now();
    // SAFETY: fork has no memory-safety preconditions; the child below only runs this thread's
    // code on its private copy of memory and leaves with `_exit`, never returning into the
    // caller's frames or running destructors that other threads' state might share.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        let e = io::Error::last_os_error();
        // SAFETY: closing the two descriptors pipe2 just created.
        unsafe {
            libc::close(read_fd);
            libc::close(write_fd);
        }
        return Err(e);
    }
    if pid == 0 {
        child(engine, dir, parent, write_fd);
    }
    let fork_pause = started.elapsed();
    // SAFETY: the parent closes its copy of the write end and owns the read end from here on.
    unsafe { libc::close(write_fd) };
    // SAFETY: `read_fd` is an open descriptor this function owns, handed to the File.
    let errors = unsafe { <File as std::os::fd::FromRawFd>::from_raw_fd(read_fd) };
    Ok(ForkedSnapshot { pid, errors, seq: engine.last_seq(), fork_pause, started })
}

/// Closes every descriptor from 3 up except `keep`: `close_range(2)` (Linux 5.9) called as a raw
/// system call, so the binary needs no glibc 2.34 symbol; on older kernels, one `close` per
/// possible descriptor up to the limit.
fn close_inherited(keep: libc::c_int) {
    let close_range = |first: libc::c_int, last: libc::c_uint| -> bool {
        // SAFETY: close_range only closes descriptors; nothing in this thread uses the closed
        // ones (the engine is plain memory).
        unsafe { libc::syscall(libc::SYS_close_range, first as libc::c_uint, last, 0 as libc::c_uint) == 0 }
    };
    let below = keep <= 3 || close_range(3, keep as libc::c_uint - 1);
    let above = close_range(keep + 1, libc::c_uint::MAX);
    if below && above {
        return;
    }
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `limit` is a valid out pointer for getrlimit.
    let max_fd = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0 {
        limit.rlim_cur.min(1 << 20) as libc::c_int
    } else {
        1 << 16
    };
    for fd in (3..max_fd).filter(|&fd| fd != keep) {
        // SAFETY: as above; closing a descriptor that is not open is a harmless EBADF.
        unsafe { libc::close(fd) };
    }
}

/// The child's whole life; never returns.
fn child(engine: &Engine, dir: &Path, parent: libc::pid_t, errors_fd: libc::c_int) -> ! {
    // SAFETY: prctl(PR_SET_PDEATHSIG) takes a signal number and touches no memory.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) };
    // SAFETY: getppid has no preconditions.
    if unsafe { libc::getppid() } != parent {
        // The parent died before the death signal was armed.
        // SAFETY: ends the child at once, without unwinding into the parent's frames.
        unsafe { libc::_exit(EXIT_ORPHANED) };
    }
    // Keep only the error pipe (and stdio) open: the journal lock, the journal's files and
    // the sockets belong to the parent. `errors_fd` >= 3 since stdio was open at the fork.
    close_inherited(errors_fd);
    // Any core but pinned to none: an inherited pinning would share the matcher's core.
    // SAFETY: `set` is a zeroed cpu_set_t filled by CPU_SET; sched_setaffinity reads it, and
    // the kernel drops CPUs this process may not use. setpriority only changes this process.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for cpu in 0..libc::CPU_SETSIZE as usize {
            libc::CPU_SET(cpu, &mut set);
        }
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
        libc::setpriority(libc::PRIO_PROCESS, 0, CHILD_NICE);
    }
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| write_engine_part(dir, &engine.snapshot())));
    let code = match outcome {
        Ok(Ok(_)) => 0,
        Ok(Err(e)) => {
            let msg = e.to_string();
            // SAFETY: writes `msg`'s bytes to the pipe's write end, which the child owns.
            unsafe { libc::write(errors_fd, msg.as_ptr().cast(), msg.len()) };
            EXIT_WRITE_FAILED
        }
        Err(_) => EXIT_PANICKED,
    };
    // SAFETY: ends the child at once, without unwinding into the parent's frames or running
    // exit handlers that would flush the parent's buffers a second time.
    unsafe { libc::_exit(code) }
}
