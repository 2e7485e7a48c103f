//! Who may log in: the accounts the gateway authenticates, their configured roles, and the checks
//! a `Login` passes before the gateway hands the session to the publisher.

use std::collections::HashMap;

use protocol::{CancelOnDisconnect, Login, LoginRejectReason};
use serde::Deserialize;

use crate::credential::Credential;

/// An account's configured role (`[[accounts]] role` in the config file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Trades for itself.
    Trader,
    /// May send admin commands (add instrument, change state).
    Admin,
}

/// An account the gateway can authenticate.
#[derive(Debug, Clone)]
pub struct AccountAuth {
    /// Configured role.
    pub role: Role,
    /// Stored credential.
    pub credential: Credential,
}

/// Which wire roles may log in to an account configured with `configured`.
pub fn role_matches(configured: Role, requested: protocol::Role) -> bool {
    matches!((configured, requested), (Role::Trader, protocol::Role::Trader) | (Role::Admin, protocol::Role::Admin))
}

/// Checks the login's account, secret (the credential up to its first NUL) and role.
pub fn check_credentials(accounts: &HashMap<u32, AccountAuth>, login: &Login) -> Result<(), LoginRejectReason> {
    let Some(auth) = accounts.get(&login.account) else {
        return Err(LoginRejectReason::UnknownAccount);
    };
    let secret_len = login.credential.iter().position(|&b| b == 0).unwrap_or(login.credential.len());
    if !auth.credential.verify(&login.credential[..secret_len]) || !role_matches(auth.role, login.role) {
        return Err(LoginRejectReason::BadCredentials);
    }
    Ok(())
}

/// The heartbeat interval granted for a requested one (0 = the default, 1 s). The default is
/// clamped too: an interval of more than half the timeout would get a client that only listens
/// timed out.
pub fn heartbeat_in_force(requested_ms: u32, timeout_ms: u64) -> u32 {
    let hb = match requested_ms {
        0 => 1000,
        v => v as u64,
    };
    hb.clamp(100, timeout_ms / 2) as u32
}

/// Whether cancel-on-disconnect is in force for a login's request, given the server's default.
pub fn cancel_on_disconnect_in_force(requested: CancelOnDisconnect, default: bool) -> bool {
    match requested {
        CancelOnDisconnect::Default => default,
        CancelOnDisconnect::Enabled => true,
        CancelOnDisconnect::Disabled => false,
    }
}
