//! Who may log in: the accounts the gateway authenticates, their configured roles, where each
//! role may log in from, and the checks a `Login` passes before the gateway hands the session to
//! the publisher. The wire answer is deliberately less precise than the server's log and metrics
//! ([`LoginRefusal`]): it never tells which accounts exist.
//!
//! The credentials are the config file's `[[accounts]]` overlaid with the engine's journaled ones
//! ([`apply_credential`]): at startup from the recovered engine, then live, as the publisher passes
//! on each `CredentialChanged` ([`Authenticator::apply`]).

use std::collections::HashMap;
use std::net::IpAddr;

use ipnet::IpNet;
use protocol::{CancelOnDisconnect, Login, LoginRejectReason};
use serde::Deserialize;

use engine::AccountCredential;

use crate::credential::Credential;
use crate::login_throttle::{canonical_ip, ThrottleScope};

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
    /// Configured role (an account only the journal knows is a trader).
    pub role: Role,
    /// Stored credential; `None` once an admin revoked it (every login is refused).
    pub credential: Option<Credential>,
}

/// Overlays one journaled credential on the table: a set secret replaces the config file's (the
/// account keeps its configured role; an account the config file does not know becomes a
/// trader), a revoked one refuses every login.
pub fn apply_credential(accounts: &mut HashMap<u32, AccountAuth>, account: u32, credential: AccountCredential) {
    let credential = match credential {
        AccountCredential::Set { salt, hash } => Some(Credential::from_parts(&salt, hash)),
        AccountCredential::Revoked => None,
    };
    accounts
        .entry(account)
        .and_modify(|a| a.credential = credential.clone())
        .or_insert(AccountAuth { role: Role::Trader, credential });
}

/// Which listener a connection came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    /// `server.listen`: trading sessions (and market data, unless it has its own listener).
    Orders,
    /// `market_data.listen`: market-data subscriptions only.
    MarketData,
    /// `server.admin_listen`: admin sessions only.
    Admin,
}

/// Why the gateway refused a login, as the server's log and metrics tell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginRefusal {
    /// No such account (answered as `BadCredentials`).
    UnknownAccount,
    /// The secret does not match (answered as `BadCredentials`).
    BadSecret,
    /// The account exists but has another role (answered as `BadCredentials`).
    WrongRole,
    /// The account already has a session.
    AlreadyLoggedIn,
    /// Too many recent failures for the account or the address.
    Throttled(ThrottleScope),
    /// The role may not log in on this listener or from this address.
    NotPermittedHere,
    /// `server.max_connections` sessions are open.
    TooManySessions,
    /// An admin revoked the account's credential (answered as `BadCredentials`).
    Revoked,
    /// The publisher's queue is full (the server is overloaded or stopping).
    NotReady,
    /// This node of a replica set is not the leader.
    NotLeader,
}

impl LoginRefusal {
    /// Every refusal's metric label, indexed by [`LoginRefusal::index`].
    pub const LABELS: [&'static str; 11] = [
        "unknown_account",
        "bad_secret",
        "wrong_role",
        "already_logged_in",
        "throttled_account",
        "throttled_address",
        "not_permitted_here",
        "too_many_sessions",
        "not_ready",
        "revoked",
        "not_leader",
    ];

    /// Index into [`LoginRefusal::LABELS`].
    pub fn index(self) -> usize {
        match self {
            LoginRefusal::UnknownAccount => 0,
            LoginRefusal::BadSecret => 1,
            LoginRefusal::WrongRole => 2,
            LoginRefusal::AlreadyLoggedIn => 3,
            LoginRefusal::Throttled(ThrottleScope::Account) => 4,
            LoginRefusal::Throttled(ThrottleScope::Address) => 5,
            LoginRefusal::NotPermittedHere => 6,
            LoginRefusal::TooManySessions => 7,
            LoginRefusal::NotReady => 8,
            LoginRefusal::Revoked => 9,
            LoginRefusal::NotLeader => 10,
        }
    }

    /// What the client is told.
    pub fn wire_reason(self) -> LoginRejectReason {
        match self {
            LoginRefusal::UnknownAccount
            | LoginRefusal::BadSecret
            | LoginRefusal::WrongRole
            | LoginRefusal::Revoked => LoginRejectReason::BadCredentials,
            LoginRefusal::AlreadyLoggedIn => LoginRejectReason::AlreadyLoggedIn,
            LoginRefusal::Throttled(_) => LoginRejectReason::TooManyAttempts,
            LoginRefusal::NotPermittedHere => LoginRejectReason::NotPermittedHere,
            LoginRefusal::TooManySessions => LoginRejectReason::TooManySessions,
            LoginRefusal::NotReady => LoginRejectReason::NotReady,
            LoginRefusal::NotLeader => LoginRejectReason::NotLeader,
        }
    }

    /// Whether this refusal counts against the failed-login budgets (a wrong guess).
    pub fn is_guess(self) -> bool {
        matches!(
            self,
            LoginRefusal::UnknownAccount | LoginRefusal::BadSecret | LoginRefusal::WrongRole | LoginRefusal::Revoked
        )
    }
}

/// The credentials logins are checked against.
#[derive(Debug)]
pub struct Authenticator {
    accounts: HashMap<u32, AccountAuth>,
    /// Checked instead when the account does not exist, so both answers take the same work.
    decoy: Credential,
}

impl Authenticator {
    /// Checks logins against `accounts`.
    pub fn new(accounts: HashMap<u32, AccountAuth>) -> Self {
        let stored = Credential::hash(b"matchd decoy secret", b"matchd decoy salt");
        let decoy = Credential::parse(&stored).expect("a credential we just hashed parses");
        Self { accounts, decoy }
    }

    /// Checks the secret (the credential up to its first NUL) and the role. The credential check
    /// runs whether or not the account exists or its credential was revoked (constant work), and
    /// every failure looks the same on the wire.
    pub fn check(&self, login: &Login) -> Result<(), LoginRefusal> {
        let secret_len = login.credential.iter().position(|&b| b == 0).unwrap_or(login.credential.len());
        let secret = &login.credential[..secret_len];
        let Some(auth) = self.accounts.get(&login.account) else {
            let _ = std::hint::black_box(self.decoy.verify(secret));
            return Err(LoginRefusal::UnknownAccount);
        };
        let Some(credential) = &auth.credential else {
            let _ = std::hint::black_box(self.decoy.verify(secret));
            return Err(LoginRefusal::Revoked);
        };
        let secret_ok = credential.verify(secret);
        if !secret_ok {
            return Err(LoginRefusal::BadSecret);
        }
        if !role_matches(auth.role, login.role) {
            return Err(LoginRefusal::WrongRole);
        }
        Ok(())
    }

    /// Applies a journaled credential change at once (see [`apply_credential`]). Returns whether
    /// the account's live session must end (its credential was revoked).
    pub fn apply(&mut self, account: u32, credential: AccountCredential) -> bool {
        apply_credential(&mut self.accounts, account, credential);
        debug_assert!(self.accounts.contains_key(&account));
        credential == AccountCredential::Revoked
    }
}

/// Where each role may log in: admin sessions only on the admin listener when there is one, else
/// on the order listener from `admin_allow` addresses; trading sessions never on the admin listener.
#[derive(Debug, Clone)]
pub struct LoginPolicy {
    /// `server.admin_listen` is configured.
    pub admin_listener: bool,
    /// `server.admin_allow`: networks admin sessions may come from on the order listener.
    pub admin_allow: Vec<IpNet>,
}

impl LoginPolicy {
    /// Whether a `role` login may come in on `listener` from `peer`. Checked before the
    /// credential, so it tells nothing about the account.
    pub fn permits(&self, role: protocol::Role, listener: Listener, peer: IpAddr) -> bool {
        match (listener, role) {
            (Listener::MarketData, _) => false,
            (Listener::Admin, protocol::Role::Admin) => true,
            (Listener::Admin, protocol::Role::Trader) => false,
            (Listener::Orders, protocol::Role::Trader) => true,
            (Listener::Orders, protocol::Role::Admin) => {
                !self.admin_listener && self.admin_allow.iter().any(|net| net.contains(&canonical_ip(peer)))
            }
        }
    }
}

/// Which wire roles may log in to an account configured with `configured`.
pub fn role_matches(configured: Role, requested: protocol::Role) -> bool {
    matches!((configured, requested), (Role::Trader, protocol::Role::Trader) | (Role::Admin, protocol::Role::Admin))
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

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn login(account: u32, secret: &[u8], role: protocol::Role) -> Login {
        let mut credential = [0u8; protocol::CREDENTIAL_LEN];
        credential[..secret.len()].copy_from_slice(secret);
        Login {
            account,
            credential,
            role,
            last_seen_seq: 0,
            heartbeat_interval_ms: 0,
            cancel_on_disconnect: CancelOnDisconnect::Default,
        }
    }

    #[test]
    fn refusals_tell_the_server_why_and_the_client_nothing_about_existence() {
        let stored = Credential::hash(b"s3cret", b"salt");
        let auth = AccountAuth { role: Role::Trader, credential: Some(Credential::parse(&stored).unwrap()) };
        let a = Authenticator::new(HashMap::from([(1, auth)]));
        assert_eq!(a.check(&login(1, b"s3cret", protocol::Role::Trader)), Ok(()));
        let unknown = a.check(&login(2, b"s3cret", protocol::Role::Trader)).unwrap_err();
        let bad = a.check(&login(1, b"guess", protocol::Role::Trader)).unwrap_err();
        let role = a.check(&login(1, b"s3cret", protocol::Role::Admin)).unwrap_err();
        assert_eq!(
            (unknown, bad, role),
            (LoginRefusal::UnknownAccount, LoginRefusal::BadSecret, LoginRefusal::WrongRole)
        );
        for r in [unknown, bad, role] {
            assert_eq!(r.wire_reason(), LoginRejectReason::BadCredentials);
            assert!(r.is_guess());
        }
    }

    #[test]
    fn journaled_credentials_replace_revoke_and_add_accounts() {
        let stored = Credential::hash(b"config-secret", b"salt");
        let admin = AccountAuth { role: Role::Admin, credential: Some(Credential::parse(&stored).unwrap()) };
        let mut a = Authenticator::new(HashMap::from([(0, admin)]));
        let salt = [9u8; 16];
        let hash = |secret: &[u8]| {
            use sha2::Digest;
            let h = sha2::Sha256::new().chain_update(salt).chain_update(secret).finalize();
            <[u8; 32]>::try_from(h.as_slice()).unwrap()
        };
        // Rotating a configured admin: the old secret is refused, the new one works, the role stays.
        assert!(!a.apply(0, AccountCredential::Set { salt, hash: hash(b"rotated") }));
        assert_eq!(a.check(&login(0, b"config-secret", protocol::Role::Admin)), Err(LoginRefusal::BadSecret));
        assert_eq!(a.check(&login(0, b"rotated", protocol::Role::Admin)), Ok(()));
        assert_eq!(a.check(&login(0, b"rotated", protocol::Role::Trader)), Err(LoginRefusal::WrongRole));
        // An account only the journal knows is a trader.
        assert_eq!(a.check(&login(5, b"new", protocol::Role::Trader)), Err(LoginRefusal::UnknownAccount));
        a.apply(5, AccountCredential::Set { salt, hash: hash(b"new") });
        assert_eq!(a.check(&login(5, b"new", protocol::Role::Trader)), Ok(()));
        assert_eq!(a.check(&login(5, b"new", protocol::Role::Admin)), Err(LoginRefusal::WrongRole));
        // Revoked: refused even with the right secret, answered like a bad one; a new secret lifts it.
        assert!(a.apply(5, AccountCredential::Revoked));
        let refusal = a.check(&login(5, b"new", protocol::Role::Trader)).unwrap_err();
        assert_eq!(refusal, LoginRefusal::Revoked);
        assert_eq!(refusal.wire_reason(), LoginRejectReason::BadCredentials);
        assert!(refusal.is_guess());
        a.apply(5, AccountCredential::Set { salt, hash: hash(b"newer") });
        assert_eq!(a.check(&login(5, b"newer", protocol::Role::Trader)), Ok(()));
    }

    #[test]
    fn admins_log_in_only_where_the_policy_allows() {
        let local = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let remote = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9));
        let mapped = IpAddr::V6(Ipv4Addr::LOCALHOST.to_ipv6_mapped());
        let loopback_only = LoginPolicy { admin_listener: false, admin_allow: vec!["127.0.0.0/8".parse().unwrap()] };
        assert!(loopback_only.permits(protocol::Role::Admin, Listener::Orders, local));
        assert!(loopback_only.permits(protocol::Role::Admin, Listener::Orders, mapped));
        assert!(!loopback_only.permits(protocol::Role::Admin, Listener::Orders, remote));
        assert!(loopback_only.permits(protocol::Role::Trader, Listener::Orders, remote));
        let separate = LoginPolicy { admin_listener: true, ..loopback_only };
        assert!(!separate.permits(protocol::Role::Admin, Listener::Orders, local));
        assert!(separate.permits(protocol::Role::Admin, Listener::Admin, local));
        assert!(!separate.permits(protocol::Role::Trader, Listener::Admin, local));
        assert!(!separate.permits(protocol::Role::Trader, Listener::MarketData, local));
    }
}
