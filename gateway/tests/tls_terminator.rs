//! The TLS terminator on real loopback sockets, with the test in the gateway's place on the
//! internal listener: bytes arrive intact both ways, a client that stops reading stops the
//! terminator reading the gateway's side (bounded memory: the gateway's writes block), and each
//! side's end reaches the other (the client's `close_notify` as EOF, the gateway's EOF as
//! `close_notify`).

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use gateway::internal_peers::InternalPeers;
use gateway::tls_config::load_server_config;
use gateway::tls_terminator::{TlsListeners, TlsSettings, TlsStats, TlsTerminator};
use rcgen::{CertificateParams, KeyPair};
use rustls::pki_types::CertificateDer;

const IO: Duration = Duration::from_secs(30);
/// Far more than every socket and terminator buffer on the way can hold.
const FLOOD_BYTES: usize = 256 << 20;

fn pattern(i: usize) -> u8 {
    (i % 251) as u8
}

struct Setup {
    client: rustls::StreamOwned<rustls::ClientConnection, TcpStream>,
    gateway_side: TcpStream,
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

fn setup(dir: &std::path::Path) -> Setup {
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_string()]).unwrap().self_signed(&key).unwrap();
    std::fs::write(dir.join("cert.pem"), cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), key.serialize_pem()).unwrap();
    let server_config = load_server_config(&dir.join("cert.pem"), &dir.join("key.pem")).unwrap();

    let internal = TcpListener::bind("127.0.0.1:0").unwrap();
    let tls_listener = mio::net::TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let tls_addr = tls_listener.local_addr().unwrap();
    let settings = TlsSettings {
        server_config,
        internal_addr: internal.local_addr().unwrap(),
        handshake_timeout_ms: 30_000,
        max_handshakes: 8,
        max_handshakes_per_address: 8,
        peers: Arc::new(InternalPeers::new(8)),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let listeners = TlsListeners { orders: Some(tls_listener), market_data: None };
    let terminator = TlsTerminator::new(listeners, settings, stop.clone(), Arc::new(TlsStats::default())).unwrap();
    let thread = std::thread::spawn(move || terminator.run());

    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from(cert.der().to_vec())).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut tcp = TcpStream::connect(tls_addr).unwrap();
    tcp.set_read_timeout(Some(IO)).unwrap();
    let mut conn = rustls::ClientConnection::new(Arc::new(config), "localhost".try_into().unwrap()).unwrap();
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp).unwrap();
    }
    let client = rustls::StreamOwned::new(conn, tcp);
    // After the handshake the terminator connects to the internal listener.
    let (gateway_side, _) = internal.accept().unwrap();
    gateway_side.set_read_timeout(Some(IO)).unwrap();
    Setup { client, gateway_side, stop, thread }
}

#[test]
fn bytes_cross_both_ways_and_a_client_that_stops_reading_pushes_back() {
    let dir = tempfile::tempdir().unwrap();
    let Setup { mut client, mut gateway_side, stop, thread } = setup(dir.path());

    // Client -> gateway.
    let hello: Vec<u8> = (0..100_000).map(pattern).collect();
    client.write_all(&hello).unwrap();
    client.flush().unwrap();
    let mut got = vec![0u8; hello.len()];
    gateway_side.read_exact(&mut got).unwrap();
    assert!(got == hello, "client bytes arrive intact");

    // Gateway -> a client that does not read: the gateway's writes block long before the flood
    // is through, so nothing on the way buffers without bound.
    gateway_side.set_nonblocking(true).unwrap();
    let mut written = 0;
    let mut chunk = vec![0u8; 64 * 1024];
    let mut blocked = 0;
    while written < FLOOD_BYTES && blocked < 100 {
        for (i, b) in chunk.iter_mut().enumerate() {
            *b = pattern(written + i);
        }
        match gateway_side.write(&chunk) {
            Ok(n) => {
                written += n;
                blocked = 0;
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                // The terminator may still be draining into its buffers: give it a moment.
                blocked += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("gateway side write: {e}"),
        }
    }
    assert!(written < FLOOD_BYTES, "the terminator kept reading {written} bytes for a client that reads nothing");

    // The client catches up: every byte, in order; then the gateway's end is the client's clean
    // end (close_notify, not a truncation).
    gateway_side.set_nonblocking(false).unwrap();
    drop(gateway_side);
    let mut received = 0;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match client.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                assert!(
                    buf[..n].iter().enumerate().all(|(i, &b)| b == pattern(received + i)),
                    "gateway bytes arrive intact and in order (at {received})"
                );
                received += n;
            }
            Err(e) => panic!("client read after {received} bytes: {e}"),
        }
    }
    assert_eq!(received, written);

    stop.store(true, Ordering::Relaxed);
    thread.join().unwrap();
}

#[test]
fn the_clients_close_notify_reaches_the_gateway_as_eof() {
    let dir = tempfile::tempdir().unwrap();
    let Setup { mut client, mut gateway_side, stop, thread } = setup(dir.path());
    client.write_all(b"last words").unwrap();
    client.conn.send_close_notify();
    client.flush().unwrap();
    let mut got = Vec::new();
    gateway_side.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"last words");
    // The gateway closes in turn; the client sees the server's close_notify.
    drop(gateway_side);
    let mut rest = Vec::new();
    assert_eq!(client.read_to_end(&mut rest).unwrap(), 0);
    stop.store(true, Ordering::Relaxed);
    thread.join().unwrap();
}
