//! One client session: credentials, the login handshake (on the codec directly, so no byte the
//! server sends after `LoginAccepted` is lost), the in-flight table shared by the session's sender
//! and receiver, and the clean end of a session.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use engine::MassCancel;
use protocol::{
    decode_frame, CancelOnDisconnect, ClientMessage, Login, LoginRejectReason, Logout, LogoutReason, Role,
    ServerMessage,
};

use super::flow::OpKind;
use super::LoadgenError;

/// One account to log in with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// Account id.
    pub account: u32,
    /// Its trader secret.
    pub secret: String,
}

/// Where the sessions' accounts come from (one account per session: matchd allows one session per
/// account).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// Accounts `from, from + 1, ...` with secrets `{prefix}{account}` (what
    /// [`super::matchd::config_toml`] generates).
    Range {
        /// First account id.
        from: u32,
        /// Secret prefix.
        prefix: String,
    },
    /// An explicit list (e.g. read with [`Credentials::from_file`]).
    List(Vec<Credential>),
    /// The demo accounts of matchd's default configuration (alice 1, bob 2): at most 2 sessions.
    Demo,
}

impl Credentials {
    /// Reads `ACCOUNT SECRET` lines (blank lines and `#` comments skipped).
    pub fn from_file(path: &Path) -> Result<Credentials, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut list = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut it = line.split_whitespace();
            let (Some(a), Some(s), None) = (it.next(), it.next(), it.next()) else {
                return Err(format!("{}:{}: expected `ACCOUNT SECRET`", path.display(), n + 1));
            };
            let account = a.parse().map_err(|_| format!("{}:{}: bad account id {a:?}", path.display(), n + 1))?;
            list.push(Credential { account, secret: s.to_string() });
        }
        Ok(Credentials::List(list))
    }

    /// The credential of session `i`.
    pub fn get(&self, i: u32) -> Result<Credential, String> {
        match self {
            Credentials::Range { from, prefix } => {
                let account = from.checked_add(i).ok_or("account id overflow")?;
                Ok(Credential { account, secret: format!("{prefix}{account}") })
            }
            Credentials::List(l) => {
                l.get(i as usize).cloned().ok_or_else(|| format!("{} credentials for session {}", l.len(), i + 1))
            }
            Credentials::Demo => match i {
                0 => Ok(Credential { account: 1, secret: "alice-demo".into() }),
                1 => Ok(Credential { account: 2, secret: "bob-demo".into() }),
                _ => Err("the demo accounts allow 2 sessions; use --accounts-from/--secret-prefix".into()),
            },
        }
    }
}

/// A logged-in connection, ready for the hot loop.
#[derive(Debug)]
pub struct LoggedIn {
    /// The account.
    pub account: u32,
    /// The socket (blocking; the run makes it non-blocking).
    pub stream: TcpStream,
    /// Bytes read after `LoginAccepted` (the start of the report stream).
    pub leftover: Vec<u8>,
    /// Sequence number of the next report (`LoginAccepted.next_seq`).
    pub next_seq: u64,
    /// Reports up to this sequence number are resends from before the run (skipped).
    pub highest_seq: u64,
}

fn login_msg(c: &Credential, last_seen_seq: u64) -> Result<ClientMessage, LoadgenError> {
    let credential = Login::credential_from(c.secret.as_bytes())
        .ok_or_else(|| LoadgenError::Login(format!("account {}: secret longer than 32 bytes", c.account)))?;
    Ok(ClientMessage::Login(Login {
        account: c.account,
        credential,
        last_seen_seq,
        heartbeat_interval_ms: 0,
        role: Role::Trader,
        cancel_on_disconnect: CancelOnDisconnect::Enabled,
    }))
}

/// Reads frames until a login answer; returns it and the bytes after it.
fn read_login_answer(stream: &mut TcpStream, deadline: Instant) -> Result<(ServerMessage, Vec<u8>), LoadgenError> {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        while let Some((frame, used)) = decode_frame(&buf).map_err(|e| LoadgenError::Login(format!("framing: {e}")))? {
            let msg = ServerMessage::decode_frame(&frame).map_err(|e| LoadgenError::Login(format!("decode: {e}")))?;
            buf.drain(..used);
            match msg {
                ServerMessage::LoginAccepted(_) | ServerMessage::LoginRejected(_) => return Ok((msg, buf)),
                ServerMessage::Heartbeat => {}
                other => return Err(LoadgenError::Login(format!("unexpected before the login answer: {other:?}"))),
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(LoadgenError::Login("timed out waiting for the login answer".into()));
        }
        stream.set_read_timeout(Some(left))?;
        match stream.read(&mut chunk) {
            Ok(0) => return Err(LoadgenError::Login("connection closed during login".into())),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
}

fn send(stream: &mut TcpStream, msg: &ClientMessage) -> io::Result<()> {
    let mut b = [0u8; 256];
    let n = msg.encode(&mut b).map_err(|e| io::Error::other(e.to_string()))?;
    stream.write_all(&b[..n])
}

/// Logs in without replaying the account's history: a first login claiming a huge `last_seen_seq`
/// is refused with `SequenceAhead`, which tells the account's highest sequence number; the second
/// login resumes from it. Retries while the server still counts a previous session of the account
/// (`AlreadyLoggedIn`) until `timeout`.
pub fn login(addr: SocketAddr, c: &Credential, timeout: Duration) -> Result<LoggedIn, LoadgenError> {
    let deadline = Instant::now() + timeout;
    let mut last_seen = u64::MAX >> 2;
    loop {
        let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
        stream.set_nodelay(true)?;
        stream.set_write_timeout(Some(timeout))?;
        send(&mut stream, &login_msg(c, last_seen)?)?;
        let (answer, leftover) = read_login_answer(&mut stream, deadline)?;
        match answer {
            ServerMessage::LoginAccepted(a) => {
                stream.set_read_timeout(None)?;
                return Ok(LoggedIn {
                    account: c.account,
                    stream,
                    leftover,
                    next_seq: a.next_seq,
                    highest_seq: a.highest_seq,
                });
            }
            ServerMessage::LoginRejected(r) => match r.reason {
                LoginRejectReason::SequenceAhead => last_seen = r.highest_seq,
                LoginRejectReason::AlreadyLoggedIn | LoginRejectReason::NotReady
                    if Instant::now() + Duration::from_millis(50) < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(50));
                }
                LoginRejectReason::SequenceUnavailable => last_seen = r.highest_seq,
                reason => {
                    return Err(LoadgenError::Login(format!("account {}: login rejected: {reason:?}", c.account)));
                }
            },
            _ => unreachable!("read_login_answer returns login answers only"),
        }
    }
}

/// Ends sessions cleanly: sends `MassCancel` (so the run leaves no resting orders behind) and
/// `Logout` on every stream, then reads each until the server's `Logout` or `timeout`. Returns how
/// many sessions ended with the server's `Logout`.
pub fn finish_all(streams: &mut [TcpStream], timeout: Duration) -> usize {
    let mut alive = Vec::with_capacity(streams.len());
    for s in streams.iter_mut() {
        let ok = s.set_nonblocking(false).is_ok()
            && s.set_write_timeout(Some(timeout)).is_ok()
            && send(s, &ClientMessage::MassCancel(MassCancel { instrument: None, side: None })).is_ok()
            && send(s, &ClientMessage::Logout(Logout { reason: LogoutReason::UserRequest })).is_ok();
        alive.push(ok);
    }
    let deadline = Instant::now() + timeout;
    let mut done = 0;
    let mut buf = vec![0u8; 64 * 1024];
    for (s, ok) in streams.iter_mut().zip(alive) {
        if !ok {
            continue;
        }
        let (mut start, mut end) = (0usize, 0usize);
        'session: loop {
            while let Ok(Some((frame, used))) = decode_frame(&buf[start..end]) {
                let is_logout = matches!(ServerMessage::decode_frame(&frame), Ok(ServerMessage::Logout(_)));
                start += used;
                if is_logout {
                    done += 1;
                    break 'session;
                }
            }
            if start == end {
                (start, end) = (0, 0);
            } else if end == buf.len() {
                buf.copy_within(start..end, 0);
                (start, end) = (0, end - start);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || s.set_read_timeout(Some(left)).is_err() {
                break;
            }
            match s.read(&mut buf[end..]) {
                Ok(0) => break,
                Ok(n) => end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
    }
    done
}

/// Orders tracked per session by [`Inflight::mark_gone`] (a power of two; older command numbers
/// alias, which at worst costs one `UnknownOrder` reject or leaves one order resting until the
/// final mass cancel).
pub const GONE_BITS: u64 = 1 << 20;

/// The in-flight table of one session: a single-producer single-consumer ring, indexed by the
/// session's command number (client order id minus the session's base), holding each command's
/// kind, client order id (or target's) and intended/actual send time. The sender writes entries and
/// publishes them (`tail`, release) before writing the bytes to the socket; the receiver matches the
/// first report of each command against the entry at `head` (a session's commands are answered in
/// the order they were sent: one connection, one sequenced pipeline) and retires it. Preallocated:
/// nothing is allocated per command.
#[derive(Debug)]
pub struct Inflight {
    keys: Box<[AtomicU64]>,
    times: Box<[AtomicU64]>,
    mask: u64,
    head: AtomicU64,
    tail: AtomicU64,
    /// One bit per command number (modulo [`GONE_BITS`]): the receiver saw the order end (filled
    /// or cancelled), so the generator stops targeting it.
    gone: Box<[AtomicU64]>,
    /// Set when the session's connection is gone (the sender stops sending to it).
    pub dead: AtomicBool,
}

impl Inflight {
    /// A table for `capacity` commands in flight (rounded up to a power of two).
    pub fn new(capacity: usize) -> Inflight {
        let cap = capacity.max(2).next_power_of_two();
        Inflight {
            keys: (0..cap).map(|_| AtomicU64::new(0)).collect(),
            times: (0..cap).map(|_| AtomicU64::new(0)).collect(),
            mask: cap as u64 - 1,
            head: AtomicU64::new(0),
            tail: AtomicU64::new(0),
            gone: (0..GONE_BITS / 64).map(|_| AtomicU64::new(0)).collect(),
            dead: AtomicBool::new(false),
        }
    }

    /// Slots.
    pub fn capacity(&self) -> u64 {
        self.mask + 1
    }

    /// Packs a command's kind and client order id.
    #[inline]
    pub fn key(kind: OpKind, cid: u64) -> u64 {
        (cid << 2) | kind as u64
    }

    /// Unpacks [`Inflight::key`].
    #[inline]
    pub fn unkey(key: u64) -> (OpKind, u64) {
        (OpKind::from_bits(key & 3), key >> 2)
    }

    /// Sender: writes entry `pos` (not visible until [`Inflight::publish`]).
    #[inline]
    pub fn write(&self, pos: u64, key: u64, t_ns: u64) {
        let i = (pos & self.mask) as usize;
        self.keys[i].store(key, Ordering::Relaxed);
        self.times[i].store(t_ns, Ordering::Relaxed);
    }

    /// Sender: sets the time of an unpublished entry (closed loop stamps at the actual send).
    #[inline]
    pub fn set_time(&self, pos: u64, t_ns: u64) {
        self.times[(pos & self.mask) as usize].store(t_ns, Ordering::Relaxed);
    }

    /// Sender: makes entries below `tail` visible to the receiver.
    #[inline]
    pub fn publish(&self, tail: u64) {
        self.tail.store(tail, Ordering::Release);
    }

    /// Published entries (all commands queued so far).
    #[inline]
    pub fn tail(&self) -> u64 {
        self.tail.load(Ordering::Acquire)
    }

    /// Retired entries (commands answered so far).
    #[inline]
    pub fn head(&self) -> u64 {
        self.head.load(Ordering::Acquire)
    }

    /// Receiver: the entry at `pos` (which must be below [`Inflight::tail`]).
    #[inline]
    pub fn read(&self, pos: u64) -> (u64, u64) {
        let i = (pos & self.mask) as usize;
        (self.keys[i].load(Ordering::Relaxed), self.times[i].load(Ordering::Relaxed))
    }

    /// Receiver: retires entries below `head`.
    #[inline]
    pub fn retire(&self, head: u64) {
        self.head.store(head, Ordering::Release);
    }

    #[inline]
    fn gone_bit(&self, n: u64) -> (&AtomicU64, u64) {
        let n = n & (GONE_BITS - 1);
        (&self.gone[(n / 64) as usize], 1 << (n % 64))
    }

    /// Receiver: the order of command `n` has ended on the server.
    #[inline]
    pub fn mark_gone(&self, n: u64) {
        let (w, b) = self.gone_bit(n);
        w.fetch_or(b, Ordering::Relaxed);
    }

    /// Sender: command `n` is a new order (forget whatever an older command with the same bit did).
    #[inline]
    pub fn clear_gone(&self, n: u64) {
        let (w, b) = self.gone_bit(n);
        if w.load(Ordering::Relaxed) & b != 0 {
            w.fetch_and(!b, Ordering::Relaxed);
        }
    }

    /// Whether the order of command `n` is known to have ended.
    #[inline]
    pub fn is_gone(&self, n: u64) -> bool {
        let (w, b) = self.gone_bit(n);
        w.load(Ordering::Relaxed) & b != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_roundtrip() {
        for kind in [OpKind::New, OpKind::Cancel, OpKind::Amend] {
            let cid = 1_700_000_000_000_000 + 12345;
            assert_eq!(Inflight::unkey(Inflight::key(kind, cid)), (kind, cid));
        }
    }

    #[test]
    fn credentials() {
        let r = Credentials::Range { from: 100, prefix: "lg-".into() };
        assert_eq!(r.get(2).unwrap(), Credential { account: 102, secret: "lg-102".into() });
        assert_eq!(Credentials::Demo.get(1).unwrap().account, 2);
        assert!(Credentials::Demo.get(2).is_err());
    }
}
