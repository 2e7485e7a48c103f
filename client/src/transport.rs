//! [`Transport`]: the byte stream a client session runs over, plain TCP or TLS on TCP
//! (`server.tls_listen`, `market_data.tls_listen`: TLS 1.3 or 1.2 through rustls, the same frames
//! inside). [`tls_config`] builds the TLS settings that trust a given CA.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConnection, StreamOwned};

use crate::error::ClientError;

/// A connected stream: TCP, or a TLS session over TCP whose handshake is complete.
#[derive(Debug)]
pub(crate) enum Transport {
    /// Plaintext.
    Tcp(TcpStream),
    /// TLS (boxed: a rustls session is large).
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Transport {
    /// The TCP socket underneath.
    pub(crate) fn tcp(&self) -> &TcpStream {
        match self {
            Transport::Tcp(s) => s,
            Transport::Tls(s) => &s.sock,
        }
    }

    /// Writes all of `bytes` and pushes them to the socket (TLS records are sent, not buffered).
    pub(crate) fn send_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Transport::Tcp(s) => s.write_all(bytes),
            Transport::Tls(s) => {
                s.write_all(bytes)?;
                s.flush()
            }
        }
    }

    /// One read, waiting at most `wait` (a timeout is `WouldBlock` or `TimedOut`). Over TLS a
    /// timeout in the middle of a record keeps the partial record for the next read.
    pub(crate) fn read_within(&mut self, buf: &mut [u8], wait: Duration) -> io::Result<usize> {
        self.tcp().set_read_timeout(Some(wait))?;
        match self {
            Transport::Tcp(s) => s.read(buf),
            Transport::Tls(s) => s.read(buf),
        }
    }

    /// Closes the connection; over TLS a `close_notify` goes first (best effort).
    pub(crate) fn close(&mut self) {
        if let Transport::Tls(s) = self {
            s.conn.send_close_notify();
            // Write only: waiting for the server's answer is not worth a blocked close.
            while s.conn.wants_write() && matches!(s.conn.write_tls(&mut s.sock), Ok(n) if n > 0) {}
        }
        let _ = self.tcp().shutdown(Shutdown::Both);
    }
}

/// TLS settings for a client that trusts the certificate authorities in `ca_pem` (PEM
/// `CERTIFICATE` sections: the CA that signed the server's certificate, or a self-signed server
/// certificate itself). TLS 1.3 and 1.2, rustls' default cipher suites.
pub fn tls_config(ca_pem: &[u8]) -> Result<Arc<rustls::ClientConfig>, ClientError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem) {
        let cert = cert.map_err(|e| ClientError::TlsSetup(format!("CA certificates: {e:?}")))?;
        roots.add(cert).map_err(|e| ClientError::TlsSetup(format!("CA certificate: {e}")))?;
    }
    if roots.is_empty() {
        return Err(ClientError::TlsSetup("no CA certificate (BEGIN CERTIFICATE) in the PEM data".into()));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| ClientError::TlsSetup(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Runs the TLS handshake on a connected socket (bounded by `timeout`), checking that the
/// server's certificate is valid for `server_name` (a DNS name or an IP address).
pub(crate) fn tls_handshake(
    mut tcp: TcpStream,
    server_name: &str,
    config: Arc<rustls::ClientConfig>,
    timeout: Duration,
) -> Result<Transport, ClientError> {
    let name = ServerName::try_from(server_name.to_string())
        .map_err(|e| ClientError::TlsSetup(format!("server name {server_name:?}: {e}")))?;
    let mut conn = ClientConnection::new(config, name).map_err(|e| ClientError::TlsSetup(e.to_string()))?;
    tcp.set_read_timeout(Some(timeout))?;
    tcp.set_write_timeout(Some(timeout))?;
    while conn.is_handshaking() {
        if let Err(e) = conn.complete_io(&mut tcp) {
            // rustls reports a failed handshake (e.g. an untrusted certificate) as an I/O error
            // that carries its own error.
            return Err(match e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
                Some(tls) => ClientError::Tls(tls.clone()),
                None if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::TimedOut => {
                    ClientError::Timeout
                }
                None => ClientError::Io(e),
            });
        }
    }
    Ok(Transport::Tls(Box::new(StreamOwned::new(conn, tcp))))
}
