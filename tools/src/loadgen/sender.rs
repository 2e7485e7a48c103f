//! The sender thread: drives every session round-robin with non-blocking writes.
//!
//! Each round, for each session: generate the commands that are due (open loop: the schedule says
//! so; closed loop: the session has fewer than `window` commands unanswered), encode them into the
//! session's fixed output buffer, record them in the in-flight table, publish the table, then write
//! as much of the buffer as the socket takes (`WouldBlock` leaves the rest for the next round).
//! A session whose buffer or in-flight table is full is skipped until it drains: in open loop its
//! commands fall behind schedule and their latency, counted from the schedule, shows it.

use std::io::{self, Write};
use std::net::TcpStream;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use protocol::ClientMessage;

use super::flow::{FlowGen, OpKind};
use super::session::Inflight;
use super::{Mode, Shared};

/// Bytes of output buffered per session.
const OUT_CAP: usize = 64 * 1024;
/// Room kept for one more message (every v1 message is at most 128 bytes).
const MSG_MAX: usize = 128;
/// Commands generated per session per round (fairness between sessions).
const MAX_BATCH: u64 = 64;
/// An idle session sends a heartbeat after this long.
const HEARTBEAT_NS: u64 = 1_000_000_000;

pub(crate) struct SenderSession {
    pub stream: TcpStream,
    gen: FlowGen,
    out: Box<[u8]>,
    start: usize,
    end: usize,
    /// Commands generated (the next command number).
    next_pos: u64,
    /// Commands published in the in-flight table.
    published: u64,
    last_write_ns: u64,
}

/// What the sender did.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct SenderStats {
    pub sent: u64,
    pub new_orders: u64,
    pub cancels: u64,
    pub amends: u64,
    pub sent_in_window: u64,
    /// Open loop: commands scheduled before the end that were never sent (the sender fell behind).
    pub unsent: u64,
    pub write_errors: u64,
}

impl SenderSession {
    pub fn new(stream: TcpStream, gen: FlowGen) -> SenderSession {
        SenderSession {
            stream,
            gen,
            out: vec![0u8; OUT_CAP].into_boxed_slice(),
            start: 0,
            end: 0,
            next_pos: 0,
            published: 0,
            last_write_ns: 0,
        }
    }

    fn room(&self) -> bool {
        self.end + MSG_MAX <= self.out.len()
    }

    fn encode(&mut self, msg: &ClientMessage) {
        // Cannot fail: the buffer has room for any message (`room`).
        if let Ok(n) = msg.encode(&mut self.out[self.end..]) {
            self.end += n;
        }
    }

    /// Writes what the socket takes. `Err` when the connection is gone.
    fn flush(&mut self) -> io::Result<()> {
        while self.start < self.end {
            match self.stream.write(&self.out[self.start..self.end]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.start += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if self.start == self.end {
            (self.start, self.end) = (0, 0);
        } else if self.start > 0 && !self.room() {
            self.out.copy_within(self.start..self.end, 0);
            (self.end, self.start) = (self.end - self.start, 0);
        }
        Ok(())
    }

    fn pending(&self) -> bool {
        self.start < self.end
    }
}

/// Runs the sender until the end of the measured window, then flushes. Returns the sessions (for
/// the clean logout) and the counts.
pub(crate) fn run(shared: Arc<Shared>, mut sessions: Vec<SenderSession>) -> (Vec<SenderSession>, SenderStats) {
    let clock = shared.clock;
    let mut st = SenderStats::default();
    let (t_warm, t_end) = (shared.t_warm_ns, shared.t_end_ns);
    let sched = shared.schedule;
    // Open loop: the global commands intended before the end.
    let g_end = sched.map(|s| s.global_before(t_end)).unwrap_or(0);
    let window = match shared.mode {
        Mode::Closed { window } => window as u64,
        Mode::Open { .. } => u64::MAX,
    };
    for s in sessions.iter_mut() {
        s.last_write_ns = clock.now_ns();
    }
    loop {
        let now = clock.now_ns();
        if now >= t_end {
            break;
        }
        let g_due = sched.map(|s| s.global_due(now).min(g_end)).unwrap_or(0);
        let mut progressed = false;
        let mut blocked = false;
        for (i, s) in sessions.iter_mut().enumerate() {
            let infl: &Inflight = &shared.inflight[i];
            if infl.dead.load(Ordering::Relaxed) {
                continue;
            }
            let head = infl.head();
            let cap = infl.capacity().min(window);
            let target = match sched {
                Some(sc) => sc.share(i as u64, g_due),
                None => u64::MAX,
            };
            let first = s.next_pos;
            while s.next_pos < target && s.next_pos - head < cap && s.room() && s.next_pos - first < MAX_BATCH {
                let op = if shared.track_fills {
                    let base = shared.cid_base;
                    s.gen.next_op_with(|cid| infl.is_gone(cid.wrapping_sub(base)))
                } else {
                    s.gen.next_op()
                };
                if op.kind == OpKind::New {
                    infl.clear_gone(s.next_pos);
                }
                let t = match sched {
                    Some(sc) => sc.intended_for(i as u64, s.next_pos),
                    None => 0,
                };
                infl.write(s.next_pos, Inflight::key(op.kind, op.cid), t);
                s.encode(&op.msg);
                s.next_pos += 1;
                match op.kind {
                    OpKind::New => st.new_orders += 1,
                    OpKind::Cancel => st.cancels += 1,
                    OpKind::Amend => st.amends += 1,
                }
            }
            if s.next_pos < target && (s.next_pos - head >= cap || !s.room()) {
                blocked = true;
            }
            if s.next_pos == first && !s.pending() && now.saturating_sub(s.last_write_ns) > HEARTBEAT_NS {
                s.encode(&ClientMessage::Heartbeat);
            }
            if s.next_pos > s.published {
                let t_send = clock.now_ns();
                if sched.is_none() {
                    for pos in s.published..s.next_pos {
                        infl.set_time(pos, t_send);
                    }
                }
                if t_send >= t_warm {
                    st.sent_in_window += s.next_pos - s.published;
                }
                st.sent += s.next_pos - s.published;
                s.published = s.next_pos;
                infl.publish(s.published);
                progressed = true;
            }
            if s.pending() {
                let before = s.start;
                if s.flush().is_err() {
                    st.write_errors += 1;
                    infl.dead.store(true, Ordering::Relaxed);
                    continue;
                }
                if s.start != before || !s.pending() {
                    s.last_write_ns = now;
                }
                blocked |= s.pending();
            }
        }
        if progressed {
            continue;
        }
        match sched {
            Some(sc) => {
                let next = sc.intended(g_due).min(t_end);
                if blocked {
                    // Waiting for the socket or for answers: poll again soon.
                    clock.wait_until(next.min(clock.now_ns() + 50_000));
                } else {
                    clock.wait_until(next.min(clock.now_ns() + 1_000_000));
                }
            }
            // Closed loop: the receiver unparks us when answers free the window.
            None => std::thread::park_timeout(Duration::from_micros(500)),
        }
    }
    if let Some(sc) = sched {
        let total: u64 = sessions.iter().map(|s| s.next_pos).sum();
        st.unsent = sc.global_before(t_end).saturating_sub(total);
    }
    // Flush what is still buffered, bounded like the drain: these commands are counted as sent,
    // so giving up early would report them missing when the server is merely slow to read.
    let deadline = clock.now_ns() + shared.drain_timeout_ns;
    loop {
        let mut pending = false;
        for (i, s) in sessions.iter_mut().enumerate() {
            if s.pending() && !shared.inflight[i].dead.load(Ordering::Relaxed) {
                if s.flush().is_err() {
                    st.write_errors += 1;
                    shared.inflight[i].dead.store(true, Ordering::Relaxed);
                }
                pending |= s.pending();
            }
        }
        if !pending || clock.now_ns() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_micros(100));
    }
    (sessions, st)
}
