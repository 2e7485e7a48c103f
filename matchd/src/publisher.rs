//! The publisher thread: numbers every execution report per account (the
//! same numbering a replay rebuilds), keeps the retained window, and writes
//! to logged-in sessions. It owns all writes to logged-in connections, so
//! frames never interleave; a session that cannot keep up is cut off and
//! recovers by logging in with its last sequence.

use std::collections::{HashMap, VecDeque};
use std::io::{ErrorKind, Write};
use std::net::Shutdown;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use engine::{AccountCredential, CommandType, Event, EventKind};
use gateway::control_plane::{Control, ControlPlane, CredentialUpdate, LoginOutcome, SessionId};
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use protocol::{LoginAccepted, LoginRejectReason, LoginRejected, Logout, LogoutReason, ServerMessage};
use ring::{Consumer, RingError};

use crate::md_books::MdBooks;
use crate::md_feed::{MdSettings, MdStats, Subscribers, MD_TOKEN_BASE};
use crate::output_slot::OutputSlot;
use crate::reports::Reports;

/// Token of the publisher's waker.
pub const PUBLISHER_WAKER_TOKEN: Token = Token(usize::MAX - 1);
const NO_SESSION: u32 = u32::MAX;
/// How long a closing session may take to flush before it is cut.
const CLOSE_GRACE: Duration = Duration::from_millis(500);

struct Session {
    id: SessionId,
    account: u32,
    stream: TcpStream,
    out: Vec<u8>,
    /// Bytes of `out` already written.
    sent: usize,
    /// Next report sequence to copy into `out`.
    cursor: u64,
    /// Caught up once: from then on a full buffer means a slow consumer.
    live: bool,
    heartbeat: Duration,
    last_tx: Instant,
    /// Set when the session is ending: flush, then `Logout(reason)`, then close.
    closing: Option<(LogoutReason, Instant)>,
    dirty: bool,
}

/// Settings the publisher needs.
#[derive(Debug, Clone, Copy)]
pub struct PublisherSettings {
    /// Per-session outbound buffer.
    pub outbound_buffer_bytes: usize,
    /// Sessions at most.
    pub max_sessions: usize,
}

/// Counters the publisher keeps (read by metrics).
#[derive(Debug, Default)]
pub struct PublisherStats {
    /// Reports numbered.
    pub reports: std::sync::atomic::AtomicU64,
    /// Sessions cut off as slow consumers.
    pub slow_consumers: std::sync::atomic::AtomicU64,
    /// Logins refused by the publisher (sequence, session limits).
    pub login_rejects: std::sync::atomic::AtomicU64,
    /// Output ring slots taken (ring sequence + 1).
    pub events: std::sync::atomic::AtomicU64,
    /// Trades and rejects by reason.
    pub counts: crate::event_counters::EventCounters,
    /// Gateway receive -> reports written to the sessions, ns.
    pub latency: crate::histogram::Histogram,
    /// Market data.
    pub md: Arc<MdStats>,
}

/// The publisher stage.
pub struct Publisher {
    snapshots: Option<crate::snapshotter::PublisherSnapshots>,
    reports: Reports,
    settings: PublisherSettings,
    sessions: Vec<Option<Session>>,
    free: Vec<usize>,
    by_id: HashMap<SessionId, usize>,
    by_account: Vec<u32>,
    pending_logins: VecDeque<Control>,
    /// Credential changes the gateway's full queue could not take yet, oldest first.
    pending_credentials: VecDeque<CredentialUpdate>,
    dirty: Vec<usize>,
    poll: Poll,
    control: Arc<ControlPlane>,
    matcher_done: Arc<AtomicI64>,
    events: Consumer<OutputSlot>,
    stats: Arc<PublisherStats>,
    /// Events between copies to sessions within one batch (see `run`).
    flush_every_events: usize,
    latency: crate::pending_latency::PendingLatency,
    /// Market data: the books' mirror and the subscribers.
    md: MdBooks,
    subs: Subscribers,
}

impl Publisher {
    /// A publisher over `events`, continuing `reports` and the market-data mirror `md` (both from
    /// replay). `feed_epoch` identifies this run on the market-data feed.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        reports: Reports,
        settings: PublisherSettings,
        poll: Poll,
        control: Arc<ControlPlane>,
        matcher_done: Arc<AtomicI64>,
        events: Consumer<OutputSlot>,
        stats: Arc<PublisherStats>,
        md: MdBooks,
        md_settings: MdSettings,
        feed_epoch: u64,
    ) -> std::io::Result<Self> {
        let subs = Subscribers::new(md_settings, feed_epoch, stats.md.clone(), poll.registry().try_clone()?);
        let max_accounts = reports.account_count();
        let retained = reports.account(0).map_or(2, |a| a.retained());
        Ok(Self {
            snapshots: None,
            flush_every_events: (retained / 2).clamp(1, 1024) as usize,
            reports,
            settings,
            sessions: Vec::new(),
            free: Vec::new(),
            by_id: HashMap::new(),
            by_account: vec![NO_SESSION; max_accounts],
            pending_logins: VecDeque::new(),
            pending_credentials: VecDeque::new(),
            dirty: Vec::with_capacity(settings.max_sessions),
            poll,
            control,
            matcher_done,
            events,
            stats,
            latency: Default::default(),
            md,
            subs,
        })
    }

    /// Saves report numbering at snapshot markers (see `snapshotter`).
    pub fn with_snapshots(mut self, snapshots: crate::snapshotter::PublisherSnapshots) -> Self {
        self.snapshots = Some(snapshots);
        self
    }

    /// Runs until the output ring closes (clean shutdown: every session gets
    /// `Logout(ServerShutdown)`) or halts.
    pub fn run(mut self) -> Reports {
        let mut mio_events = Events::with_capacity(256);
        let mut idle: u32 = 0;
        let mut last_timers = Instant::now();
        loop {
            let matcher_done = self.matcher_done.load(Ordering::Acquire);
            let mut worked = false;
            match self.events.poll() {
                Ok(Some(range)) => {
                    // Control messages first: the gateway sends one before it queues the commands
                    // that follow from it (a session it ends, then that session's
                    // cancel-on-disconnect), and seeing this batch's events means every control
                    // message sent before their commands is queued already. So a session the
                    // gateway ended gets its `Logout` before any report of what it queued after;
                    // events first, a publisher descheduled at the wrong moment delivered the
                    // cancel-on-disconnect's reports to the ended session before its `Logout`.
                    while let Some(c) = self.control.to_publisher.pop() {
                        self.on_control(c);
                    }
                    let hi = *range.end();
                    let mut since_flush = 0;
                    for s in range {
                        let slot = self.events.get(s);
                        if slot.snapshot_seq != 0 {
                            // Every event up to the marker is numbered: save the state now.
                            let seq = slot.snapshot_seq;
                            if let Some(snap) = &self.snapshots {
                                snap.send(seq, self.reports.export_state(snap.reports_per_account));
                            }
                            continue;
                        }
                        let ev = slot.event;
                        self.latency.note(ev.seq, slot.timestamp_ns);
                        self.on_event(&ev);
                        // An event yields at most two reports for one account, so
                        // copying to sessions this often means no report can be
                        // evicted from the retained window before a prompt
                        // session has it.
                        since_flush += 1;
                        if since_flush == self.flush_every_events {
                            since_flush = 0;
                            self.flush_dirty();
                            self.md_flush();
                        }
                    }
                    // The batch's market data: coalesced level deltas, then the fan-out.
                    self.md_flush();
                    self.events.release(hi);
                    self.stats.events.store(hi as u64 + 1, Ordering::Relaxed);
                    worked = true;
                }
                Ok(None) => {}
                Err(RingError::Closed) => {
                    self.shutdown_sessions();
                    return self.reports;
                }
                Err(_) => {
                    self.shutdown_sessions();
                    return self.reports;
                }
            }
            while let Some(c) = self.control.to_publisher.pop() {
                self.on_control(c);
                worked = true;
            }
            if !self.pending_logins.is_empty() {
                self.try_pending_logins(matcher_done);
            }
            if !self.pending_credentials.is_empty() {
                self.retry_credentials();
            }
            self.flush_dirty();
            self.latency.record_all(&self.stats.latency);
            let now = Instant::now();
            if now.duration_since(last_timers) >= Duration::from_millis(50) {
                last_timers = now;
                self.timers(now);
            }
            if worked {
                idle = 0;
                // Writable events matter only for sessions with a backlog; look
                // without blocking now and then while busy.
                if self.sessions.iter().flatten().any(|s| s.sent < s.out.len()) || self.subs.backlog() {
                    self.poll_io(&mut mio_events, Some(Duration::ZERO));
                }
                continue;
            }
            idle += 1;
            if idle < 200 {
                if idle < 100 {
                    std::hint::spin_loop();
                } else {
                    std::thread::yield_now();
                }
                continue;
            }
            self.control.publisher_wake.about_to_sleep();
            let more = !self.control.to_publisher.is_empty() || matches!(self.events.poll(), Ok(Some(_)) | Err(_));
            let timeout = if more || !self.pending_logins.is_empty() {
                Duration::ZERO
            } else if !self.pending_credentials.is_empty() {
                // The gateway's queue was full: retry soon without spinning.
                Duration::from_millis(1)
            } else {
                Duration::from_millis(50)
            };
            self.poll_io(&mut mio_events, Some(timeout));
            self.control.publisher_wake.awake();
            idle = if more { 0 } else { 100 };
        }
    }

    fn poll_io(&mut self, mio_events: &mut Events, timeout: Option<Duration>) {
        if let Err(e) = self.poll.poll(mio_events, timeout) {
            if e.kind() != ErrorKind::Interrupted {
                tracing::warn!("publisher poll failed: {e}");
            }
            return;
        }
        for ev in mio_events.iter() {
            if ev.token() == PUBLISHER_WAKER_TOKEN {
                continue;
            }
            if ev.token().0 >= MD_TOKEN_BASE {
                self.subs.pump(ev.token(), &mut self.md);
                continue;
            }
            let idx = ev.token().0;
            if matches!(self.sessions.get(idx), Some(Some(_))) {
                self.pump(idx);
            }
        }
    }

    /// Applies the coalesced level changes to the mirror and sends the encoded feed messages.
    fn md_flush(&mut self) {
        self.md.flush();
        self.subs.fan_out(&mut self.md);
    }

    fn on_event(&mut self, ev: &Event) {
        if let EventKind::CredentialChanged(c) = ev.kind {
            // Before the admin's report is numbered (and so before it can be written): a client
            // that has read `CredentialChanged` logs in against the new credential.
            let credential = match c.command {
                CommandType::RevokeCredential => AccountCredential::Revoked,
                _ => AccountCredential::Set { salt: c.salt, hash: c.hash },
            };
            tracing::info!(account = c.target, admin = c.account, command = ?c.command, "credential changed");
            self.pass_credential(CredentialUpdate { account: c.target, credential });
        }
        self.md.on_event(ev);
        let by_account = &self.by_account;
        let sessions = &mut self.sessions;
        let dirty = &mut self.dirty;
        let mut n = 0u64;
        self.stats.counts.count(&ev.kind);
        self.reports.record(ev, |account| {
            n += 1;
            let idx = by_account[account as usize];
            if idx != NO_SESSION {
                if let Some(Some(s)) = sessions.get_mut(idx as usize) {
                    if !s.dirty {
                        s.dirty = true;
                        dirty.push(idx as usize);
                    }
                }
            }
        });
        self.stats.reports.fetch_add(n, Ordering::Relaxed);
    }

    /// Hands a credential change to the gateway, behind any that are still waiting (order matters:
    /// a set after a revoke must win). A full queue never drops one: it waits here.
    fn pass_credential(&mut self, update: CredentialUpdate) {
        if self.pending_credentials.is_empty() {
            if let Err(update) = self.control.credentials.push(update) {
                tracing::warn!(account = update.account, "gateway credential queue full; the change waits");
                self.pending_credentials.push_back(update);
            }
        } else {
            self.pending_credentials.push_back(update);
        }
        self.control.gateway_wake.notify();
    }

    /// Moves waiting credential changes into the gateway's queue, oldest first, while it has room.
    fn retry_credentials(&mut self) {
        while let Some(&update) = self.pending_credentials.front() {
            if self.control.credentials.push(update).is_err() {
                break;
            }
            self.pending_credentials.pop_front();
        }
        self.control.gateway_wake.notify();
    }

    fn flush_dirty(&mut self) {
        while let Some(idx) = self.dirty.pop() {
            if let Some(Some(s)) = self.sessions.get_mut(idx) {
                s.dirty = false;
                self.pump(idx);
            }
        }
    }

    fn on_control(&mut self, c: Control) {
        match c {
            login @ Control::Login { .. } => self.pending_logins.push_back(login),
            Control::Logout { session, reason } => {
                if let Some(&idx) = self.by_id.get(&session) {
                    self.begin_close(idx, reason);
                } else {
                    self.subs.logout(session, reason, &mut self.md);
                }
            }
            Control::SessionReject { session, reject } => {
                if let Some(&idx) = self.by_id.get(&session) {
                    self.write_unsequenced(idx, &ServerMessage::SessionReject(reject));
                } else {
                    self.subs.session_reject(session, reject, &mut self.md);
                }
            }
            Control::MdSubscribe(req) => {
                self.md_flush();
                self.subs.subscribe(req, &mut self.md);
            }
            Control::MdSnapshot { session, request } => {
                self.md_flush();
                self.subs.snapshot(session, request, &mut self.md);
            }
            Control::Closed { session } => {
                if let Some(&idx) = self.by_id.get(&session) {
                    self.drop_session(idx);
                } else {
                    self.subs.closed(session, &mut self.md);
                }
                self.pending_logins.retain(|c| !matches!(c, Control::Login { session: s, .. } if *s == session));
            }
        }
    }

    /// Answers logins whose account's earlier commands have all been numbered.
    fn try_pending_logins(&mut self, matcher_done: i64) {
        while let Some(Control::Login { after_input_seq, .. }) = self.pending_logins.front() {
            if *after_input_seq > matcher_done {
                return;
            }
            let Some(Control::Login {
                session,
                account,
                role,
                stream,
                last_seen_seq,
                heartbeat_interval_ms,
                heartbeat_timeout_ms,
                cancel_on_disconnect,
                ..
            }) = self.pending_logins.pop_front()
            else {
                return;
            };
            // A session of this account that is only flushing its last bytes
            // must not block the new login.
            let old = self.by_account[account as usize];
            if old != NO_SESSION && matches!(&self.sessions[old as usize], Some(s) if s.closing.is_some()) {
                self.finish_close(old as usize);
            }
            let acct = self.reports.account(account).expect("gateway checks the account id");
            let (highest, oldest) = (acct.highest(), acct.oldest_available());
            let reject = if last_seen_seq > highest {
                Some(LoginRejectReason::SequenceAhead)
            } else if last_seen_seq < highest && last_seen_seq + 1 < oldest {
                Some(LoginRejectReason::SequenceUnavailable)
            } else if self.by_account[account as usize] != NO_SESSION {
                Some(LoginRejectReason::AlreadyLoggedIn)
            } else if self.by_id.len() >= self.settings.max_sessions {
                Some(LoginRejectReason::TooManySessions)
            } else {
                None
            };
            let mut std_stream = stream;
            if let Some(reason) = reject {
                self.stats.login_rejects.fetch_add(1, Ordering::Relaxed);
                // Tell the gateway first: once the client reads the reject it may
                // log in again at once, and the gateway must know by then that
                // this connection no longer holds the account.
                self.tell_gateway(LoginOutcome { session, accepted: false });
                let msg = ServerMessage::LoginRejected(LoginRejected {
                    account,
                    reason,
                    highest_seq: highest,
                    // As the protocol's table says: only `SequenceUnavailable` carries it.
                    oldest_available_seq: if reason == LoginRejectReason::SequenceUnavailable { oldest } else { 0 },
                    leader: None,
                });
                let mut buf = [0u8; 64];
                if let Ok(n) = msg.encode(&mut buf) {
                    let _ = std_stream.set_nonblocking(false);
                    let _ = std_stream.set_write_timeout(Some(Duration::from_millis(200)));
                    let _ = std_stream.write_all(&buf[..n]);
                }
                let _ = std_stream.shutdown(Shutdown::Both);
                continue;
            }
            if std_stream.set_nonblocking(true).is_err() {
                self.tell_gateway(LoginOutcome { session, accepted: false });
                continue;
            }
            let idx = self.free.pop().unwrap_or_else(|| {
                self.sessions.push(None);
                self.sessions.len() - 1
            });
            let mut stream = TcpStream::from_std(std_stream);
            if self.poll.registry().register(&mut stream, Token(idx), Interest::WRITABLE).is_err() {
                self.free.push(idx);
                self.tell_gateway(LoginOutcome { session, accepted: false });
                continue;
            }
            let mut out = Vec::with_capacity(self.settings.outbound_buffer_bytes);
            let accepted = ServerMessage::LoginAccepted(LoginAccepted {
                account,
                next_seq: last_seen_seq + 1,
                highest_seq: highest,
                heartbeat_interval_ms,
                heartbeat_timeout_ms,
                role,
                cancel_on_disconnect,
            });
            accepted.encode_into_vec(&mut out).expect("outbound buffer holds a login answer");
            let heartbeat = Duration::from_millis(heartbeat_interval_ms as u64);
            self.sessions[idx] = Some(Session {
                id: session,
                account,
                stream,
                out,
                sent: 0,
                cursor: last_seen_seq + 1,
                live: false,
                heartbeat,
                last_tx: Instant::now(),
                closing: None,
                dirty: false,
            });
            self.by_id.insert(session, idx);
            self.by_account[account as usize] = idx as u32;
            tracing::info!(session, account, role = ?role, last_seen_seq, highest, "login accepted");
            self.tell_gateway(LoginOutcome { session, accepted: true });
            self.pump(idx);
        }
    }

    fn tell_gateway(&self, outcome: LoginOutcome) {
        // The queue holds two outcomes per possible session; it cannot be full.
        let _ = self.control.to_gateway.push(outcome);
        self.control.gateway_wake.notify();
    }

    /// Copies due reports into the session's buffer and writes what the
    /// socket takes. Cuts the session off if it fell too far behind.
    fn pump(&mut self, idx: usize) {
        let Some(Some(s)) = self.sessions.get_mut(idx) else { return };
        let Some(stream) = self.reports.account(s.account) else { return };
        let highest = stream.highest();
        if s.sent > 0 {
            s.out.drain(..s.sent);
            s.sent = 0;
        }
        let mut slow = false;
        while s.cursor <= stream.highest() {
            let Some(frame) = stream.get(s.cursor) else {
                // Evicted before it was sent.
                slow = true;
                break;
            };
            if s.out.len() + frame.len() > s.out.capacity() {
                slow = s.live;
                break;
            }
            s.out.extend_from_slice(frame);
            s.cursor += 1;
        }
        if s.cursor > stream.highest() {
            s.live = true;
        }
        if slow {
            self.stats.slow_consumers.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(session = s.id, account = s.account, "slow consumer: outbound buffer full, disconnecting");
            // The unsent bytes stay: `sent` may sit mid-frame, and whatever is
            // written last must continue that frame, never start a new one.
            s.closing = Some((LogoutReason::SlowConsumer, Instant::now()));
            self.finish_close(idx);
            return;
        }
        if !self.write_out(idx) {
            return;
        }
        if let Some(Some(s)) = self.sessions.get(idx) {
            if s.closing.is_some() && s.sent == s.out.len() && s.cursor > highest {
                self.finish_close(idx);
            }
        }
    }

    /// Writes the unsent part of the buffer; false if the session was dropped.
    fn write_out(&mut self, idx: usize) -> bool {
        let Some(Some(s)) = self.sessions.get_mut(idx) else { return false };
        while s.sent < s.out.len() {
            match s.stream.write(&s.out[s.sent..]) {
                Ok(0) => {
                    self.drop_session(idx);
                    return false;
                }
                Ok(n) => {
                    s.sent += n;
                    s.last_tx = Instant::now();
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    self.drop_session(idx);
                    return false;
                }
            }
        }
        if s.sent == s.out.len() {
            s.out.clear();
            s.sent = 0;
        }
        true
    }

    fn write_unsequenced(&mut self, idx: usize, msg: &ServerMessage) {
        let Some(Some(s)) = self.sessions.get_mut(idx) else { return };
        if s.out.capacity() - s.out.len() < msg.encoded_len() {
            return self.begin_close(idx, LogoutReason::SlowConsumer);
        }
        msg.encode_into_vec(&mut s.out).expect("room checked");
        self.write_out(idx);
    }

    fn begin_close(&mut self, idx: usize, reason: LogoutReason) {
        if let Some(Some(s)) = self.sessions.get_mut(idx) {
            if s.closing.is_none() {
                s.closing = Some((reason, Instant::now() + CLOSE_GRACE));
            }
        }
        self.pump(idx);
    }

    /// Appends `Logout(reason)` if it fits, writes once more, closes.
    fn finish_close(&mut self, idx: usize) {
        let Some(Some(s)) = self.sessions.get_mut(idx) else { return };
        let reason = s.closing.map_or(LogoutReason::ServerShutdown, |(r, _)| r);
        let logout = ServerMessage::Logout(Logout { reason });
        if s.out.capacity() - s.out.len() >= logout.encoded_len() {
            let _ = logout.encode_into_vec(&mut s.out);
        }
        let _ = s.stream.write(&s.out[s.sent..]);
        let _ = s.stream.shutdown(Shutdown::Both);
        tracing::info!(session = s.id, account = s.account, ?reason, "session closed by server");
        self.drop_session(idx);
    }

    fn drop_session(&mut self, idx: usize) {
        if let Some(mut s) = self.sessions.get_mut(idx).and_then(Option::take) {
            let _ = self.poll.registry().deregister(&mut s.stream);
            let _ = s.stream.shutdown(Shutdown::Both);
            self.by_id.remove(&s.id);
            if self.by_account.get(s.account as usize) == Some(&(idx as u32)) {
                self.by_account[s.account as usize] = NO_SESSION;
            }
            self.free.push(idx);
        }
    }

    fn timers(&mut self, now: Instant) {
        self.subs.timers(now, &mut self.md);
        for idx in 0..self.sessions.len() {
            let Some(Some(s)) = self.sessions.get_mut(idx) else { continue };
            if let Some((_, deadline)) = s.closing {
                if now >= deadline {
                    self.finish_close(idx);
                }
                continue;
            }
            if now.duration_since(s.last_tx) >= s.heartbeat && s.out.len() == s.sent {
                self.write_unsequenced(idx, &ServerMessage::Heartbeat);
            }
        }
    }

    fn shutdown_sessions(&mut self) {
        self.md_flush();
        self.subs.shutdown(&mut self.md);
        for idx in 0..self.sessions.len() {
            if let Some(Some(s)) = self.sessions.get_mut(idx) {
                s.closing = Some((LogoutReason::ServerShutdown, Instant::now()));
                self.pump(idx);
                self.finish_close(idx);
            }
        }
    }
}
