//! systemd's service notification protocol (`sd_notify(3)`): datagrams like `READY=1`,
//! `STATUS=…`, `STOPPING=1` and `WATCHDOG=1` sent to the Unix socket named by `$NOTIFY_SOCKET`.
//! The `sd-notify` crate sends them and reads the watchdog interval (`$WATCHDOG_USEC`, when
//! `$WATCHDOG_PID` is unset or names this process). Without `$NOTIFY_SOCKET` every call is a
//! no-op, so matchd runs the same outside systemd.
//!
//! The crate connects to socket paths only. `@name` (a Linux abstract-namespace socket, which some
//! service managers and container runtimes hand out) is sent to here, with the same datagram.

use std::io;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

use sd_notify::NotifyState;

/// Where notifications go, checked once at startup.
#[derive(Debug)]
pub struct Notifier {
    target: Target,
}

#[derive(Debug)]
enum Target {
    /// `$NOTIFY_SOCKET` is a path: the crate sends (it reads the variable on each call).
    Path,
    /// `$NOTIFY_SOCKET` is `@name`.
    Abstract { socket: UnixDatagram, addr: SocketAddr },
}

impl Notifier {
    /// From `$NOTIFY_SOCKET`; `None` when it is unset or empty (or unusable: logged).
    pub fn from_env() -> Option<Notifier> {
        let value = std::env::var_os("NOTIFY_SOCKET")?;
        let value = value.to_str()?;
        if value.is_empty() {
            return None;
        }
        match Self::for_address(value) {
            Ok(n) => Some(n),
            Err(e) => {
                tracing::warn!("systemd notification disabled: {e}");
                None
            }
        }
    }

    /// Checks a `$NOTIFY_SOCKET` value: a path, or `@name`.
    fn for_address(value: &str) -> io::Result<Notifier> {
        if let Some(name) = value.strip_prefix('@') {
            let addr = abstract_address(name.as_bytes())?;
            Ok(Notifier { target: Target::Abstract { socket: UnixDatagram::unbound()?, addr } })
        } else if value.starts_with('/') {
            // Too long or containing NUL: reject now rather than on every notification.
            SocketAddr::from_pathname(value)?;
            Ok(Notifier { target: Target::Path })
        } else {
            Err(io::Error::new(io::ErrorKind::InvalidInput, format!("NOTIFY_SOCKET {value:?}: not a path or @name")))
        }
    }

    /// Sends one notification of newline-separated assignments, e.g. `"READY=1\nSTATUS=listening"`.
    pub fn notify(&self, state: &str) -> io::Result<()> {
        let states = [NotifyState::Custom(state)];
        match &self.target {
            Target::Path => sd_notify::notify(&states),
            Target::Abstract { socket, addr } => {
                // The datagram the crate would send: each state on its own line.
                let datagram = format!("{}\n", states[0]);
                let sent = socket.send_to_addr(datagram.as_bytes(), addr)?;
                if sent != datagram.len() {
                    return Err(io::Error::new(io::ErrorKind::WriteZero, "short notification datagram"));
                }
                Ok(())
            }
        }
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

/// Sends `state` if a notifier is configured; failures are logged, never fatal.
pub fn notify(n: Option<&Notifier>, state: &str) {
    if let Some(n) = n {
        if let Err(e) = n.notify(state) {
            tracing::warn!(state, "systemd notification failed: {e}");
        }
    }
}

/// The watchdog timeout systemd expects pings within (`sd_watchdog_enabled(3)`). Zero counts as
/// off, as in libsystemd: systemd never sets it, and it would make every monitor tick a stall.
pub fn watchdog_from_env() -> Option<Duration> {
    sd_notify::watchdog_enabled().filter(|timeout| !timeout.is_zero())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert!(matches!(Notifier::for_address("/run/systemd/notify").unwrap().target, Target::Path));
        assert!(matches!(Notifier::for_address("@notify").unwrap().target, Target::Abstract { .. }));
        assert!(Notifier::for_address("relative/path").is_err());
        assert!(Notifier::for_address(&format!("/{}", "x".repeat(200))).is_err());
    }

    #[test]
    fn sends_to_abstract_sockets() {
        let name = format!("matchd-sd-notify-test-{}", std::process::id());
        let rx = UnixDatagram::bind_addr(&abstract_address(name.as_bytes()).unwrap()).unwrap();
        Notifier::for_address(&format!("@{name}")).unwrap().notify("WATCHDOG=1").unwrap();
        let mut buf = [0u8; 64];
        let n = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"WATCHDOG=1\n");
    }
}
