//! An in-test fake matchd server for the client tests: a `TcpListener` thread that accepts one
//! connection and runs a script against it, speaking the protocol through `protocol`.
//!
//! Waits here are for messages and bounded by [`IO`], which only bounds a hang: the tests run on
//! busy machines, where either thread may wait long for a core. A test about timing measures what
//! a busy machine can only lengthen (a lower bound), or asserts on counts of events.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use engine::{Accepted, NewOrder};
use protocol::*;

/// Longest wait for one message or connection event, on either side: bounds a hang, never a speed.
pub const IO: Duration = Duration::from_secs(30);

/// A fake server running one script on one connection.
pub struct FakeServer {
    /// Where it listens.
    pub addr: SocketAddr,
    handle: Option<JoinHandle<()>>,
}

impl FakeServer {
    /// Listens on an ephemeral loopback port; the script runs on the first connection.
    pub fn spawn(script: impl FnOnce(&mut Conn) + Send + 'static) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let handle = std::thread::spawn(move || {
            let (stream, _) = listener.accept().expect("accept");
            stream.set_nodelay(true).expect("nodelay");
            let mut conn = Conn { stream, buf: Vec::new() };
            script(&mut conn);
        });
        FakeServer { addr, handle: Some(handle) }
    }

    /// Waits for the script to end; re-raises its panic (a failed assertion in the script).
    pub fn join(mut self) {
        if let Some(h) = self.handle.take() {
            if let Err(e) = h.join() {
                std::panic::resume_unwind(e);
            }
        }
    }
}

/// The server side of one connection.
pub struct Conn {
    /// The socket.
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    /// The next client message, or `None` after `timeout` or at EOF. Panics on bad data.
    pub fn recv(&mut self, timeout: Duration) -> Option<ClientMessage> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some((frame, n)) = decode_frame(&self.buf).expect("client framing") {
                let m = ClientMessage::decode_frame(&frame).expect("client message");
                self.buf.drain(..n);
                return Some(m);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            self.stream.set_read_timeout(Some(left)).unwrap();
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                    return None
                }
                Err(e) => panic!("fake server read: {e}"),
            }
        }
    }

    /// Reads (and drops) client messages until the client closes the connection (or is silent
    /// for [`IO`]).
    pub fn wait_close(&mut self) {
        while self.recv(IO).is_some() {}
    }

    /// Exactly `n` raw bytes (panics on timeout).
    pub fn recv_raw(&mut self, n: usize, timeout: Duration) -> Vec<u8> {
        let deadline = Instant::now() + timeout;
        while self.buf.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "timed out waiting for {n} raw bytes");
            self.stream.set_read_timeout(Some(left)).unwrap();
            let mut chunk = [0u8; 4096];
            let got = self.stream.read(&mut chunk).expect("read raw");
            assert!(got > 0, "EOF waiting for raw bytes");
            self.buf.extend_from_slice(&chunk[..got]);
        }
        self.buf.drain(..n).collect()
    }

    /// The next client message, which must arrive within [`IO`].
    pub fn expect(&mut self) -> ClientMessage {
        self.recv(IO).expect("expected a client message")
    }

    /// The next message other than a heartbeat.
    pub fn expect_non_heartbeat(&mut self) -> ClientMessage {
        loop {
            match self.expect() {
                ClientMessage::Heartbeat => continue,
                m => return m,
            }
        }
    }

    /// Encodes and writes one message.
    pub fn send(&mut self, m: &ServerMessage) {
        let mut b = [0u8; 256];
        let n = m.encode(&mut b).expect("encode");
        self.write(&b[..n]);
    }

    /// Writes one message a byte at a time with a pause between bytes.
    pub fn send_bytewise(&mut self, m: &ServerMessage, pause: Duration) {
        let mut b = [0u8; 256];
        let n = m.encode(&mut b).expect("encode");
        for byte in &b[..n] {
            self.write(std::slice::from_ref(byte));
            std::thread::sleep(pause);
        }
    }

    /// Writes raw bytes.
    pub fn write(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("fake server write");
        self.stream.flush().unwrap();
    }

    /// A sequenced report.
    pub fn report(&mut self, seq: u64, report: ExecReport) {
        self.send(&ServerMessage::Report { seq, report });
    }

    /// Reads the `Login`, which must come first.
    pub fn expect_login(&mut self) -> Login {
        match self.expect() {
            ClientMessage::Login(l) => l,
            m => panic!("expected Login, got {m:?}"),
        }
    }

    /// Reads the `Login` and accepts it with `highest_seq` and the given heartbeat settings.
    pub fn accept_login(&mut self, highest_seq: u64, heartbeat_interval_ms: u32, heartbeat_timeout_ms: u32) -> Login {
        self.accept_login_at(highest_seq, heartbeat_interval_ms, heartbeat_timeout_ms).0
    }

    /// [`Conn::accept_login`], also returning the instant just before the answer was written (the
    /// client cannot have received it earlier).
    pub fn accept_login_at(
        &mut self,
        highest_seq: u64,
        heartbeat_interval_ms: u32,
        heartbeat_timeout_ms: u32,
    ) -> (Login, Instant) {
        let l = self.expect_login();
        let at = Instant::now();
        self.send(&ServerMessage::LoginAccepted(LoginAccepted {
            account: l.account,
            next_seq: l.last_seen_seq + 1,
            highest_seq: highest_seq.max(l.last_seen_seq),
            heartbeat_interval_ms,
            heartbeat_timeout_ms,
            role: l.role,
            cancel_on_disconnect: l.cancel_on_disconnect == CancelOnDisconnect::Enabled,
        }));
        (l, at)
    }
}

/// The `OrderAccepted` report the engine would give `o`.
pub fn accepted(account: u32, order_id: u64, o: &NewOrder) -> ExecReport {
    ExecReport::Accepted(Accepted {
        account,
        order_id,
        client_order_id: o.client_order_id,
        instrument: o.instrument,
        side: o.side,
        order_type: o.order_type,
        tif: o.tif,
        price: o.price,
        qty: o.qty,
        timestamp_ns: 1_700_000_000_000_000_000,
    })
}

/// A demo limit buy.
pub fn buy(cid: u64, price: u64, qty: u64) -> NewOrder {
    NewOrder {
        client_order_id: cid,
        instrument: 1,
        side: engine::Side::Buy,
        order_type: engine::OrderType::Limit,
        tif: engine::TimeInForce::Gtc,
        stp: engine::StpMode::None,
        price,
        qty,
    }
}
