//! The receiver thread: one `mio` poll over every session's socket (edge-triggered), a fixed read
//! buffer per session, frames split with `decode_frame` and decoded with
//! `ServerMessage::decode_frame` (no allocation per message).
//!
//! A session's commands are answered in the order they were sent, so the receiver matches each
//! *first report* (`OrderAccepted` / `CommandRejected` of a new order; `OrderCancelled(User)`,
//! `OrderAmended` or `CommandRejected` of a cancel/amend; a `SessionReject` echoing the client order
//! id) against the session's oldest unanswered command, checking the client order id, and records
//! the round trip from that command's intended (open loop) or actual (closed loop) send time. Other
//! reports (fills, IOC remainders, maker fills for resting orders) are counted; the first taker
//! `Fill` of the latest new order also gives a time-to-fill sample.

use std::io::{self, Read};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use engine::{CancelReason, CommandType, RejectReason};
use hdrhistogram::Histogram;
use mio::{Events, Interest, Poll, Token};
use protocol::{decode_frame, ExecReport, Liquidity, ServerMessage};

use super::flow::OpKind;
use super::session::Inflight;
use super::{latency_histogram, Mode, Shared};

/// Bytes buffered per session for reading.
const RBUF: usize = 256 * 1024;

pub(crate) struct RecvSession {
    stream: mio::net::TcpStream,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    next_seq: u64,
    skip_through: u64,
    /// Local copy of the in-flight head and of the last tail seen.
    head: u64,
    tail: u64,
    /// Latest new order answered: (client order id, send time), and whether its fill was timed.
    last_new: (u64, u64, bool),
    closed: bool,
}

impl RecvSession {
    pub fn new(stream: std::net::TcpStream, leftover: &[u8], next_seq: u64, highest_seq: u64) -> RecvSession {
        let mut buf = vec![0u8; RBUF.max(leftover.len())].into_boxed_slice();
        buf[..leftover.len()].copy_from_slice(leftover);
        RecvSession {
            stream: mio::net::TcpStream::from_std(stream),
            buf,
            start: 0,
            end: leftover.len(),
            next_seq,
            skip_through: highest_seq,
            head: 0,
            tail: 0,
            last_new: (0, 0, true),
            closed: false,
        }
    }
}

/// What the receiver saw.
#[derive(Debug, Clone)]
pub(crate) struct RecvStats {
    /// Round trip to the first report, commands sent in the measured window, ns.
    pub latency: Histogram<u64>,
    /// New order to its first taker fill, orders sent in the measured window, ns.
    pub fill_latency: Histogram<u64>,
    /// Commands answered (first report received), all of the run.
    pub answered: u64,
    /// Commands answered while the measured window was open.
    pub answered_in_window: u64,
    /// Sequenced reports received, all of the run / in the window.
    pub reports: u64,
    pub reports_in_window: u64,
    /// Fills received (maker and taker).
    pub fills: u64,
    /// `CommandRejected` by reason code (index = code).
    pub rejects: [u64; 32],
    /// `SessionReject` by reason code.
    pub session_rejects: [u64; 16],
    /// First reports whose client order id did not match the oldest unanswered command.
    pub unmatched: u64,
    /// Reports whose `seq` was not the previous + 1.
    pub seq_gaps: u64,
    /// Undecodable frames or framing errors.
    pub decode_errors: u64,
    /// Sessions the server ended (`Logout`) or closed during the run.
    pub disconnects: u64,
    /// Commands never answered (sent, or queued, but no first report before the drain timeout).
    pub missing: u64,
}

impl RecvStats {
    fn new() -> RecvStats {
        RecvStats {
            latency: latency_histogram(),
            fill_latency: latency_histogram(),
            answered: 0,
            answered_in_window: 0,
            reports: 0,
            reports_in_window: 0,
            fills: 0,
            rejects: [0; 32],
            session_rejects: [0; 16],
            unmatched: 0,
            seq_gaps: 0,
            decode_errors: 0,
            disconnects: 0,
            missing: 0,
        }
    }
}

/// What a first report says about the command it answers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Answer {
    New(u64),
    CancelOrAmend(u64),
    Amend(u64),
    /// A `SessionReject` echoing this client order id (any command kind).
    Any(u64),
}

struct Ctx<'a> {
    shared: &'a Shared,
    stats: RecvStats,
    now: u64,
    freed: bool,
}

impl Ctx<'_> {
    fn in_window(&self, t: u64) -> bool {
        t >= self.shared.t_warm_ns && t < self.shared.t_end_ns
    }

    /// Matches a first report against the session's oldest unanswered command.
    fn answer(&mut self, s: &mut RecvSession, infl: &Inflight, a: Answer) {
        if s.head == s.tail {
            s.tail = infl.tail();
        }
        if s.head == s.tail {
            self.stats.unmatched += 1;
            return;
        }
        let (key, t) = infl.read(s.head);
        let (kind, cid) = Inflight::unkey(key);
        let ok = match a {
            Answer::New(c) => kind == OpKind::New && c == cid,
            Answer::CancelOrAmend(c) => kind != OpKind::New && c == cid,
            Answer::Amend(c) => kind == OpKind::Amend && c == cid,
            Answer::Any(c) => c == cid,
        };
        if !ok {
            self.stats.unmatched += 1;
            return;
        }
        s.head += 1;
        infl.retire(s.head);
        self.freed = true;
        self.stats.answered += 1;
        if self.in_window(self.now) {
            self.stats.answered_in_window += 1;
        }
        if self.in_window(t) {
            self.stats.latency.saturating_record(self.now.saturating_sub(t).max(1));
        }
        if kind == OpKind::New {
            s.last_new = (cid, t, false);
        }
    }

    /// Records that an order of this run has ended on the server.
    #[inline]
    fn gone(&self, infl: &Inflight, cid: u64) {
        if self.shared.track_fills && cid >= self.shared.cid_base {
            infl.mark_gone(cid - self.shared.cid_base);
        }
    }

    fn report(&mut self, s: &mut RecvSession, infl: &Inflight, r: &ExecReport) {
        match r {
            ExecReport::Accepted(a) => self.answer(s, infl, Answer::New(a.client_order_id)),
            ExecReport::Rejected(r) => {
                self.stats.rejects[(r.reason.code() as usize).min(31)] += 1;
                match r.command {
                    CommandType::NewOrder => self.answer(s, infl, Answer::New(r.client_order_id)),
                    CommandType::Cancel | CommandType::Amend => {
                        // A refused amend (e.g. a post-only moved onto the other side) leaves the
                        // order where the generator's model no longer is: stop targeting it.
                        self.gone(infl, r.client_order_id);
                        self.answer(s, infl, Answer::CancelOrAmend(r.client_order_id))
                    }
                    _ => {}
                }
            }
            ExecReport::Cancelled(c) => {
                self.gone(infl, c.client_order_id);
                if c.reason == CancelReason::User {
                    self.answer(s, infl, Answer::CancelOrAmend(c.client_order_id))
                }
            }
            ExecReport::Amended(a) => self.answer(s, infl, Answer::Amend(a.client_order_id)),
            ExecReport::Fill(f) => {
                self.stats.fills += 1;
                if f.leaves_qty == 0 {
                    self.gone(infl, f.client_order_id);
                }
                let (cid, t, done) = s.last_new;
                if f.liquidity == Liquidity::Taker && f.client_order_id == cid && !done {
                    s.last_new.2 = true;
                    if self.in_window(t) {
                        self.stats.fill_latency.saturating_record(self.now.saturating_sub(t).max(1));
                    }
                }
            }
            _ => {}
        }
    }

    /// Decodes and handles every whole frame in the session's buffer.
    fn frames(&mut self, s: &mut RecvSession, infl: &Inflight) {
        loop {
            let msg = match decode_frame(&s.buf[s.start..s.end]) {
                Ok(Some((frame, used))) => {
                    s.start += used;
                    ServerMessage::decode_frame(&frame)
                }
                Ok(None) => break,
                Err(_) => {
                    // The stream cannot be resynchronised.
                    self.stats.decode_errors += 1;
                    s.closed = true;
                    break;
                }
            };
            match msg {
                Ok(ServerMessage::Report { seq, report }) => {
                    if seq <= s.skip_through {
                        continue;
                    }
                    if seq != s.next_seq {
                        self.stats.seq_gaps += 1;
                    }
                    s.next_seq = seq + 1;
                    self.stats.reports += 1;
                    if self.in_window(self.now) {
                        self.stats.reports_in_window += 1;
                    }
                    self.report(s, infl, &report);
                }
                Ok(ServerMessage::SessionReject(r)) => {
                    self.stats.session_rejects[(r.reason.as_u8() as usize).min(15)] += 1;
                    self.answer(s, infl, Answer::Any(r.client_order_id));
                }
                Ok(ServerMessage::Logout(_)) => {
                    s.closed = true;
                }
                Ok(_) => {}
                Err(_) => self.stats.decode_errors += 1,
            }
        }
        if s.start == s.end {
            (s.start, s.end) = (0, 0);
        } else if s.end == s.buf.len() {
            s.buf.copy_within(s.start..s.end, 0);
            (s.end, s.start) = (s.end - s.start, 0);
        }
    }

    /// Reads until `WouldBlock` (edge-triggered poll), handling frames as they come.
    fn read(&mut self, s: &mut RecvSession, infl: &Inflight) {
        while !s.closed {
            match s.stream.read(&mut s.buf[s.end..]) {
                Ok(0) => s.closed = true,
                Ok(n) => {
                    s.end += n;
                    self.now = self.shared.clock.now_ns();
                    self.frames(s, infl);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => s.closed = true,
            }
        }
        if s.closed && !infl.dead.swap(true, Ordering::Relaxed) {
            self.stats.disconnects += 1;
        }
    }
}

/// Runs the receiver until every command is answered after the sender finished, or the drain
/// timeout. Returns the sessions' statistics.
pub(crate) fn run(shared: Arc<Shared>, mut sessions: Vec<RecvSession>) -> io::Result<RecvStats> {
    let mut poll = Poll::new()?;
    for (i, s) in sessions.iter_mut().enumerate() {
        poll.registry().register(&mut s.stream, Token(i), Interest::READABLE)?;
    }
    let mut events = Events::with_capacity(1024);
    let mut ctx = Ctx { shared: &shared, stats: RecvStats::new(), now: shared.clock.now_ns(), freed: false };
    let closed_loop = matches!(shared.mode, Mode::Closed { .. });
    // Bytes that came with the login answer.
    for (i, s) in sessions.iter_mut().enumerate() {
        ctx.frames(s, &shared.inflight[i]);
    }
    let mut drain_deadline = None;
    loop {
        if let Err(e) = poll.poll(&mut events, Some(Duration::from_millis(2))) {
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
        for ev in events.iter() {
            let i = ev.token().0;
            if let Some(s) = sessions.get_mut(i) {
                ctx.read(s, &shared.inflight[i]);
            }
        }
        if closed_loop && ctx.freed {
            ctx.freed = false;
            if let Some(t) = shared.sender_thread.get() {
                t.unpark();
            }
        }
        if shared.sender_done.load(Ordering::Acquire) {
            let now = shared.clock.now_ns();
            let deadline = *drain_deadline.get_or_insert(now + shared.drain_timeout_ns);
            let all = sessions.iter_mut().enumerate().all(|(i, s)| {
                s.tail = shared.inflight[i].tail();
                s.head == s.tail || s.closed
            });
            if all || now >= deadline {
                break;
            }
        }
    }
    ctx.stats.missing =
        sessions.iter().enumerate().map(|(i, s)| shared.inflight[i].tail().saturating_sub(s.head)).sum();
    for s in sessions.iter_mut() {
        let _ = poll.registry().deregister(&mut s.stream);
    }
    Ok(ctx.stats)
}

/// Name of a `CommandRejected` reason code.
pub(crate) fn reject_name(code: usize) -> String {
    RejectReason::from_code(code as u16).map(|r| format!("{r:?}")).unwrap_or_else(|| format!("code{code}"))
}

/// Name of a `SessionReject` reason code.
pub(crate) fn session_reject_name(code: usize) -> String {
    protocol::SessionRejectReason::from_u8(code as u8)
        .map(|r| format!("Session{r:?}"))
        .unwrap_or_else(|| format!("session_code{code}"))
}
