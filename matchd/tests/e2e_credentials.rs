//! Journaled credentials with the real binary: an admin sets an account's secret (create or
//! rotate) or revokes it, and the gateway applies it at once, without a restart. A new account logs
//! in right after its `CredentialChanged`; a rotated account's old secret is refused; a revoked
//! account's live session is logged out and its logins refused; the state survives a restart from
//! the journal, from a snapshot, and past a snapshot of a format this build cannot read; a trader
//! cannot send the commands.

mod e2e_common;

use std::path::Path;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use client::{Client, ClientError, LoginParams};
use e2e_common::*;
use engine::{CommandType, RejectReason, Side};
use protocol::{
    credential_fingerprint, ExecReport, LoginRejectReason, LogoutReason, Role, ServerMessage, SessionRejectReason,
};

/// An account the config file does not know.
const NEWCOMER: u32 = 7;

/// A different salt for every secret a test sets.
static SALT: AtomicU8 = AtomicU8::new(1);

/// The admin's answer to its credential command: `CredentialChanged` or `CommandRejected` (the
/// reports resent at login are skipped).
fn credential_answer(admin: &mut Client) -> ExecReport {
    let got = recv_until(admin, |m| {
        matches!(m, ServerMessage::Report { report: ExecReport::CredentialChanged(_), .. })
            || matches!(m, ServerMessage::Report { report: ExecReport::Rejected(r), .. }
                if matches!(r.command, CommandType::SetCredential | CommandType::RevokeCredential))
    });
    *reports(&got).last().expect("a report")
}

/// Sets `target`'s secret as `matchctl set-credential` does (client-side hash) and waits for the
/// confirmation, whose fingerprint must be the hash's.
fn set_secret(admin: &mut Client, target: u32, secret: &str) {
    let salt = [SALT.fetch_add(1, Ordering::Relaxed); 16];
    let hash = client::credential_hash(&salt, secret.as_bytes()).expect("a valid secret");
    admin.set_credential(target, salt, hash).expect("send SetCredential");
    match credential_answer(admin) {
        ExecReport::CredentialChanged(c) => {
            assert_eq!((c.command, c.target), (CommandType::SetCredential, target));
            assert_eq!(c.fingerprint, credential_fingerprint(&hash));
        }
        other => panic!("SetCredential for {target}: {other:?}"),
    }
}

fn revoke(admin: &mut Client, target: u32) {
    admin.revoke_credential(target).expect("send RevokeCredential");
    match credential_answer(admin) {
        ExecReport::CredentialChanged(c) => {
            assert_eq!((c.command, c.target, c.fingerprint), (CommandType::RevokeCredential, target, 0));
        }
        other => panic!("RevokeCredential for {target}: {other:?}"),
    }
}

fn params(account: u32, secret: &str, role: Role) -> LoginParams<'_> {
    let mut p = LoginParams::trader(account, secret.as_bytes());
    p.role = role;
    p
}

/// The login must be refused as `BadCredentials` (what a wrong secret, a revoked one and an
/// unknown account all look like).
fn refused(m: &Matchd, account: u32, secret: &str, role: Role) {
    match m.login(params(account, secret, role)) {
        Err(ClientError::LoginRejected { reason: LoginRejectReason::BadCredentials, .. }) => {}
        Err(e) => panic!("account {account} with {secret:?}: {e}"),
        Ok(_) => panic!("account {account} logged in with {secret:?}"),
    }
}

/// The login must succeed (retrying while the account's previous connection is still closing).
fn admitted(m: &Matchd, account: u32, secret: &str, role: Role) -> Client {
    let c = m.login_retrying(params(account, secret, role));
    assert_eq!(c.session().unwrap().role, role);
    c
}

#[test]
fn an_account_only_the_journal_knows_logs_in_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let m = Matchd::start_default(&dir.path().join("data"));
    refused(&m, NEWCOMER, "newcomer-secret", Role::Trader);
    let mut admin = m.admin();
    set_secret(&mut admin, NEWCOMER, "newcomer-secret");
    // No restart: the login right after the confirmation is judged against the new secret.
    let mut newcomer = admitted(&m, NEWCOMER, "newcomer-secret", Role::Trader);
    place(&mut newcomer, limit(1, Side::Buy, px(-100), lots(20)));
    drop(newcomer);
    // A journaled-only account is a trader; a wrong secret is refused as usual.
    refused(&m, NEWCOMER, "newcomer-secret", Role::Admin);
    refused(&m, NEWCOMER, "a-guess", Role::Trader);
}

#[test]
fn rotation_refuses_the_old_secret_and_keeps_the_role() {
    let dir = tempfile::tempdir().unwrap();
    let m = Matchd::start_default(&dir.path().join("data"));
    let mut admin = m.admin();
    set_secret(&mut admin, ALICE.0, "alice-rotated");
    refused(&m, ALICE.0, ALICE.1, Role::Trader);
    drop(admitted(&m, ALICE.0, "alice-rotated", Role::Trader));
    // Rotating again: the second secret is refused, the third works.
    set_secret(&mut admin, ALICE.0, "alice-rotated-again");
    refused(&m, ALICE.0, "alice-rotated", Role::Trader);
    drop(admitted(&m, ALICE.0, "alice-rotated-again", Role::Trader));
    // An admin rotates its own secret: it stays an admin.
    set_secret(&mut admin, ADMIN.0, "admin-rotated");
    let _ = admin.logout_and_drain(IO);
    refused(&m, ADMIN.0, ADMIN.1, Role::Admin);
    drop(admitted(&m, ADMIN.0, "admin-rotated", Role::Admin));
}

#[test]
fn revocation_logs_the_live_session_out_and_refuses_logins() {
    let dir = tempfile::tempdir().unwrap();
    let m = Matchd::start_default(&dir.path().join("data"));
    let mut bob = m.trader(BOB);
    sync(&mut bob);
    let mut admin = m.admin();
    revoke(&mut admin, BOB.0);
    let tail = read_until_closed(&mut bob);
    assert!(
        tail.iter().any(|m| matches!(m, ServerMessage::Logout(l) if l.reason == LogoutReason::CredentialRevoked)),
        "bob's session must end with Logout(CredentialRevoked): {tail:?}"
    );
    // Refused with the config file's secret, answered like a wrong one.
    refused(&m, BOB.0, BOB.1, Role::Trader);
    // An admin cannot revoke itself (it could leave no admin able to log in).
    admin.revoke_credential(ADMIN.0).unwrap();
    match credential_answer(&mut admin) {
        ExecReport::Rejected(r) => assert_eq!(r.reason, RejectReason::InvalidField),
        other => panic!("self-revocation: {other:?}"),
    }
    // A new secret lifts the revocation.
    set_secret(&mut admin, BOB.0, "bob-reinstated");
    drop(admitted(&m, BOB.0, "bob-reinstated", Role::Trader));
    let (_, metrics) = m.http_get("/metrics");
    assert!(metrics.contains("matchd_gateway_login_refusals_total{reason=\"revoked\"} 1"), "{metrics}");
}

#[test]
fn a_trader_cannot_set_or_revoke_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let m = Matchd::start_default(&dir.path().join("data"));
    let mut alice = m.trader(ALICE);
    let hash = client::credential_hash(&[1; 16], b"mine-now").unwrap();
    alice.set_credential(BOB.0, [1; 16], hash).unwrap();
    alice.set_credential(ALICE.0, [1; 16], hash).unwrap();
    alice.revoke_credential(BOB.0).unwrap();
    for _ in 0..3 {
        match next_session_msg(&mut alice) {
            ServerMessage::SessionReject(r) => assert_eq!(r.reason, SessionRejectReason::NotPermitted),
            other => panic!("expected SessionReject(NotPermitted), got {other:?}"),
        }
    }
    assert_quiet(&mut alice);
    drop(alice);
    // Nothing reached the engine: both keep their configured secrets.
    refused(&m, BOB.0, "mine-now", Role::Trader);
    drop(admitted(&m, BOB.0, BOB.1, Role::Trader));
    drop(admitted(&m, ALICE.0, ALICE.1, Role::Trader));
}

/// Sends SIGUSR1 and waits for a new snapshot file.
fn snapshot_now(m: &Matchd) {
    let dir = m.data_dir.join("snapshots");
    let count = || std::fs::read_dir(&dir).map(|rd| rd.flatten().filter(|e| is_snapshot(&e.path())).count());
    let before = count().unwrap_or(0);
    // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
    unsafe { libc::kill(m.child.id() as i32, libc::SIGUSR1) };
    let deadline = Instant::now() + Duration::from_secs(60);
    while count().unwrap_or(0) <= before {
        assert!(Instant::now() < deadline, "no snapshot after SIGUSR1:\n{}", m.stderr());
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn is_snapshot(p: &Path) -> bool {
    p.extension().is_some_and(|x| x == "snap")
}

/// The state the restart tests set up: the newcomer created (risk mode) with a secret, alice
/// rotated, bob revoked.
fn check_state(m: &Matchd) {
    drop(admitted(m, NEWCOMER, "newcomer-secret", Role::Trader));
    refused(m, ALICE.0, ALICE.1, Role::Trader);
    drop(admitted(m, ALICE.0, "alice-rotated", Role::Trader));
    refused(m, BOB.0, BOB.1, Role::Trader);
}

#[test]
fn credentials_survive_restarts_from_the_journal_and_from_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // Risk mode: a journaled-only account must be created first. No shutdown snapshots: each
    // restart below says where its state comes from.
    let cfg = ConfigText::risk().set("on_shutdown", "false");
    let m = Matchd::start_with(&data, &cfg);
    let mut admin = m.admin();
    admin.create_account(NEWCOMER, 0, engine::AccountStatus::Active).unwrap();
    recv_until(&mut admin, |m| matches!(m, ServerMessage::Report { report: ExecReport::AccountUpdated(_), .. }));
    set_secret(&mut admin, NEWCOMER, "newcomer-secret");
    set_secret(&mut admin, ALICE.0, "alice-rotated");
    revoke(&mut admin, BOB.0);
    drop(admin);
    check_state(&m);
    m.kill9();

    // 1. A full replay of the journal.
    let m = Matchd::start_with(&data, &cfg);
    check_state(&m);
    snapshot_now(&m);
    m.kill9();

    // 2. From the snapshot (nothing after it to replay). The log file gathers every run: look at
    // this run's part only.
    let earlier = std::fs::read_to_string(data.with_extension("stderr.log")).unwrap().len();
    let m = Matchd::start_with(&data, &cfg);
    check_state(&m);
    let (_, log) = m.terminate_with_log();
    let log = &log[earlier..];
    assert!(log.contains("snapshot loaded"), "{log}");
    let line = log.lines().rev().find(|l| l.contains("replay complete")).unwrap_or_default();
    assert!(line.contains("commands=0"), "the credentials came from the snapshot: {line}");
    let earlier = earlier + log.len();

    // 3. The same snapshot stamped with a format this build does not know (a newer release's,
    // after a downgrade): it is skipped with a reason, and the journal rebuilds the same state.
    let snaps: Vec<_> = std::fs::read_dir(data.join("snapshots"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| is_snapshot(p))
        .collect();
    assert_eq!(snaps.len(), 1);
    let mut b = std::fs::read(&snaps[0]).unwrap();
    b[8..12].copy_from_slice(&(snapshot::SNAPSHOT_FORMAT_VERSION + 1).to_le_bytes());
    let crc = crc32c::crc32c(&b[..120]);
    b[120..124].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(&snaps[0], &b).unwrap();
    let m = Matchd::start_with(&data, &cfg);
    check_state(&m);
    let (_, log) = m.terminate_with_log();
    let log = &log[earlier..];
    assert!(log.contains("snapshot skipped") && log.contains("unsupported format version"), "{log}");
    assert!(!log.contains("snapshot loaded"), "{log}");
}
