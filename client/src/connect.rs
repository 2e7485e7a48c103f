//! Opening the TCP connection both clients start from.

use std::io;
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::error::ClientError;
use crate::frame_reader::is_timeout;

/// Connects to the first of `addr`'s resolved addresses that answers within `timeout` (shared
/// by both client libraries).
pub(crate) fn connect_stream(addr: impl ToSocketAddrs, timeout: Duration) -> Result<TcpStream, ClientError> {
    let mut last_err = None;
    for a in addr.to_socket_addrs()? {
        match TcpStream::connect_timeout(&a, timeout) {
            Ok(stream) => return Ok(stream),
            Err(e) => last_err = Some(e),
        }
    }
    Err(match last_err {
        Some(e) if is_timeout(&e) => ClientError::Timeout,
        Some(e) => ClientError::Io(e),
        None => ClientError::Io(io::Error::new(io::ErrorKind::InvalidInput, "address resolved to nothing")),
    })
}
