//! systemd's service notification protocol (`sd_notify(3)`): datagrams like
//! `READY=1` sent to the Unix socket named by `$NOTIFY_SOCKET` (a path, or
//! `@name` for the abstract namespace). Without the variable every call is a
//! no-op, so matchd runs the same outside systemd. `$WATCHDOG_USEC` (and
//! `$WATCHDOG_PID`, if set, naming this process) enables watchdog pings.

use std::io;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

/// A connection to the service manager's notification socket.
#[derive(Debug)]
pub struct Notifier {
    socket: UnixDatagram,
    addr: SocketAddr,
}

/// Parses a `$NOTIFY_SOCKET` value.
pub fn parse_address(value: &str) -> io::Result<SocketAddr> {
    if let Some(name) = value.strip_prefix('@') {
        abstract_address(name.as_bytes())
    } else if value.starts_with('/') {
        SocketAddr::from_pathname(value)
    } else {
        Err(io::Error::new(io::ErrorKind::InvalidInput, format!("NOTIFY_SOCKET {value:?}: not a path or @name")))
    }
}

#[cfg(target_os = "linux")]
fn abstract_address(name: &[u8]) -> io::Result<SocketAddr> {
    use std::os::linux::net::SocketAddrExt;
    SocketAddr::from_abstract_name(name)
}

#[cfg(not(target_os = "linux"))]
fn abstract_address(_name: &[u8]) -> io::Result<SocketAddr> {
    Err(io::Error::new(io::ErrorKind::Unsupported, "abstract Unix sockets need Linux"))
}

impl Notifier {
    /// From `$NOTIFY_SOCKET`; `None` when it is unset or empty (or unusable: logged).
    pub fn from_env() -> Option<Notifier> {
        let value = std::env::var_os("NOTIFY_SOCKET")?;
        let value = value.to_str()?;
        if value.is_empty() {
            return None;
        }
        match Self::connect(value) {
            Ok(n) => Some(n),
            Err(e) => {
                tracing::warn!("systemd notification disabled: {e}");
                None
            }
        }
    }

    /// A notifier for an explicit `$NOTIFY_SOCKET`-style address.
    pub fn connect(value: &str) -> io::Result<Notifier> {
        let addr = parse_address(value)?;
        let socket = UnixDatagram::unbound()?;
        Ok(Notifier { socket, addr })
    }

    /// Sends one notification, e.g. `"READY=1\nSTATUS=listening"`.
    pub fn notify(&self, state: &str) -> io::Result<()> {
        let n = self.socket.send_to_addr(state.as_bytes(), &self.addr)?;
        if n != state.len() {
            return Err(io::Error::new(io::ErrorKind::WriteZero, "short notification datagram"));
        }
        Ok(())
    }
}

/// Sends `state` if a notifier is configured; failures are logged, never fatal.
pub fn notify(n: Option<&Notifier>, state: &str) {
    if let Some(n) = n {
        if let Err(e) = n.notify(state) {
            tracing::warn!(state, "systemd notification failed: {e}");
        }
    }
}

/// The watchdog timeout systemd expects pings within, from `$WATCHDOG_USEC`
/// (ignored when `$WATCHDOG_PID` names another process, or on 0).
pub fn watchdog_from_env() -> Option<Duration> {
    let usec = std::env::var("WATCHDOG_USEC").ok();
    let pid = std::env::var("WATCHDOG_PID").ok();
    parse_watchdog(usec.as_deref(), pid.as_deref(), std::process::id())
}

/// [`watchdog_from_env`] on explicit values.
pub fn parse_watchdog(usec: Option<&str>, pid: Option<&str>, my_pid: u32) -> Option<Duration> {
    if let Some(pid) = pid {
        if pid.trim().parse::<u32>().ok() != Some(my_pid) {
            return None;
        }
    }
    match usec?.trim().parse::<u64>() {
        Ok(0) | Err(_) => None,
        Ok(us) => Some(Duration::from_micros(us)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watchdog_values() {
        assert_eq!(parse_watchdog(Some("10000000"), None, 7), Some(Duration::from_secs(10)));
        assert_eq!(parse_watchdog(Some("10000000"), Some("7"), 7), Some(Duration::from_secs(10)));
        assert_eq!(parse_watchdog(Some("10000000"), Some("8"), 7), None);
        assert_eq!(parse_watchdog(Some("0"), None, 7), None);
        assert_eq!(parse_watchdog(Some("x"), None, 7), None);
        assert_eq!(parse_watchdog(None, None, 7), None);
    }

    #[test]
    fn sends_to_path_and_abstract_sockets() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify.sock");
        let rx = UnixDatagram::bind(&path).unwrap();
        Notifier::connect(path.to_str().unwrap()).unwrap().notify("READY=1").unwrap();
        let mut buf = [0u8; 64];
        let n = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1");

        let name = format!("matchd-sd-notify-test-{}", std::process::id());
        let rx = UnixDatagram::bind_addr(&parse_address(&format!("@{name}")).unwrap()).unwrap();
        Notifier::connect(&format!("@{name}")).unwrap().notify("WATCHDOG=1").unwrap();
        let n = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"WATCHDOG=1");

        assert!(parse_address("relative/path").is_err());
    }
}
