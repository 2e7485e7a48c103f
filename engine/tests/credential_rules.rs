//! Journaled credentials (docs/matching.md, "Credentials"): `SetCredential` creates or rotates an
//! account's API secret, `RevokeCredential` refuses its logins; both are state (state hash,
//! snapshots, replay) and are validated like the other account commands.

mod common;

use common::*;
use engine::*;

const ADMIN: AccountId = 0;
const A: AccountId = 5;

use RejectReason as RR;

fn set(target: AccountId, salt: u8, hash: u8) -> CommandKind {
    CommandKind::SetCredential(SetCredential { target, salt: [salt; 16], hash: [hash; 32] })
}

fn revoke(target: AccountId) -> CommandKind {
    CommandKind::RevokeCredential(RevokeCredential { target })
}

fn ev_set(target: AccountId, salt: u8, hash: u8) -> EventKind {
    EventKind::CredentialChanged(CredentialChanged {
        account: ADMIN,
        command: CommandType::SetCredential,
        target,
        salt: [salt; 16],
        hash: [hash; 32],
    })
}

fn ev_revoke(target: AccountId) -> EventKind {
    EventKind::CredentialChanged(CredentialChanged {
        account: ADMIN,
        command: CommandType::RevokeCredential,
        target,
        salt: [0; 16],
        hash: [0; 32],
    })
}

fn set_state(salt: u8, hash: u8) -> Option<AccountCredential> {
    Some(AccountCredential::Set { salt: [salt; 16], hash: [hash; 32] })
}

#[test]
fn set_creates_then_rotates_and_the_state_hash_sees_it() {
    let mut h = Harness::new();
    assert_eq!(h.eng.credential(A), None, "no entry: the config file's credential applies");
    let before = h.eng.state_hash();
    assert_eq!(h.run(ADMIN, set(A, 1, 2)), vec![ev_set(A, 1, 2)]);
    assert_eq!(h.eng.credential(A), set_state(1, 2));
    let created = h.eng.state_hash();
    assert_ne!(created, before);
    // Rotation replaces the entry; a hash that differs in one byte is another state.
    assert_eq!(h.run(ADMIN, set(A, 1, 3)), vec![ev_set(A, 1, 3)]);
    assert_eq!(h.eng.credential(A), set_state(1, 3));
    assert_ne!(h.eng.state_hash(), created);
    assert_eq!(
        h.eng.credentials().collect::<Vec<_>>(),
        vec![(A, AccountCredential::Set { salt: [1; 16], hash: [3; 32] })]
    );
    assert_eq!(h.replay().state_hash(), h.eng.state_hash(), "replay rebuilds the credentials");
}

#[test]
fn revoke_refuses_until_a_new_secret_is_set() {
    let mut h = Harness::new();
    // Revoking an account without a journaled credential revokes the config file's.
    assert_eq!(h.run(ADMIN, revoke(A)), vec![ev_revoke(A)]);
    assert_eq!(h.eng.credential(A), Some(AccountCredential::Revoked));
    let revoked = h.eng.state_hash();
    assert_eq!(h.run(ADMIN, revoke(A)), vec![ev_revoke(A)], "revoking again is not an error");
    assert_eq!(h.run(ADMIN, set(A, 7, 8)), vec![ev_set(A, 7, 8)]);
    assert_eq!(h.eng.credential(A), set_state(7, 8));
    assert_ne!(h.eng.state_hash(), revoked);
}

#[test]
fn the_table_is_walked_in_account_order() {
    let mut h = Harness::new();
    for target in [9, 3, 7] {
        h.run(ADMIN, set(target, target as u8, 1));
    }
    h.run(ADMIN, revoke(4));
    let accounts: Vec<AccountId> = h.eng.credentials().map(|(a, _)| a).collect();
    assert_eq!(accounts, vec![3, 4, 7, 9]);
}

#[test]
fn out_of_range_targets_and_self_revocation_are_rejected() {
    let mut h = Harness::new();
    let max = h.config.max_accounts;
    let rej = |command, reason| ev_rej(ADMIN, command, 0, 0, 0, reason);
    h.expect_reject(ADMIN, set(max, 1, 1), rej(CommandType::SetCredential, RR::UnknownAccount));
    h.expect_reject(ADMIN, set(u32::MAX, 1, 1), rej(CommandType::SetCredential, RR::UnknownAccount));
    h.expect_reject(ADMIN, revoke(max), rej(CommandType::RevokeCredential, RR::UnknownAccount));
    // Revoking its own secret would lock the admin out for good (the journal overrides the
    // config file); rotating it is fine.
    h.expect_reject(ADMIN, revoke(ADMIN), rej(CommandType::RevokeCredential, RR::InvalidField));
    assert_eq!(h.run(ADMIN, set(ADMIN, 2, 2)), vec![ev_set(ADMIN, 2, 2)]);
    // The last account id in range is accepted.
    assert_eq!(h.run(ADMIN, set(max - 1, 1, 1)), vec![ev_set(max - 1, 1, 1)]);
}

#[test]
fn risk_mode_needs_an_existing_account_and_refuses_the_fee_account() {
    const FEE: AccountId = 63;
    let config = EngineConfig { risk_checks: true, max_assets: 4, fee_account: FEE, ..EngineConfig::small() };
    let mut h = Harness::with(config, &[]);
    let rej = |command, reason| ev_rej(ADMIN, command, 0, 0, 0, reason);
    h.expect_reject(ADMIN, set(A, 1, 1), rej(CommandType::SetCredential, RR::UnknownAccount));
    h.expect_reject(ADMIN, revoke(A), rej(CommandType::RevokeCredential, RR::UnknownAccount));
    h.expect_reject(ADMIN, set(FEE, 1, 1), rej(CommandType::SetCredential, RR::SystemAccount));
    let open = CommandKind::CreateAccount(CreateAccount { target: A, tier: 0, status: AccountStatus::Active });
    assert!(matches!(h.run(ADMIN, open).as_slice(), [EventKind::AccountUpdated(_)]));
    assert_eq!(h.run(ADMIN, set(A, 1, 1)), vec![ev_set(A, 1, 1)]);
    assert_eq!(h.run(ADMIN, revoke(A)), vec![ev_revoke(A)]);
}

#[test]
fn snapshots_carry_the_credentials() {
    let mut h = Harness::new();
    h.run(ADMIN, set(3, 1, 2));
    h.run(ADMIN, revoke(A));
    let snap = h.eng.snapshot();
    assert_eq!(
        snap.credentials,
        vec![
            CredentialSnapshot { account: 3, revoked: false, salt: [1; 16], hash: [2; 32] },
            CredentialSnapshot { account: A, revoked: true, salt: [0; 16], hash: [0; 32] },
        ]
    );
    assert_eq!(snap.state_hash(), h.eng.state_hash(), "the snapshot's own hash covers them");
    let restored = Engine::from_snapshot(&snap).expect("restores");
    assert_eq!(restored.state_hash(), h.eng.state_hash());
    assert_eq!(restored.credential(3), set_state(1, 2));
    assert_eq!(restored.credential(A), Some(AccountCredential::Revoked));
    assert_eq!(restored.snapshot(), snap);
}

#[test]
fn inconsistent_credential_lists_are_refused() {
    let mut h = Harness::new();
    h.run(ADMIN, set(3, 1, 2));
    h.run(ADMIN, set(A, 1, 2));
    let good = h.eng.snapshot();
    let mut swapped = good.clone();
    swapped.credentials.swap(0, 1);
    let mut twice = good.clone();
    twice.credentials[1].account = 3;
    let mut out_of_range = good.clone();
    out_of_range.credentials[1].account = good.config.max_accounts;
    let mut revoked_with_hash = good.clone();
    revoked_with_hash.credentials[0].revoked = true;
    for (what, s) in [
        ("out of order", swapped),
        ("repeated", twice),
        ("out of range", out_of_range),
        ("revoked with a hash", revoked_with_hash),
    ] {
        assert!(matches!(Engine::from_snapshot(&s), Err(SnapshotError::Inconsistent(_))), "{what}: must be refused");
    }
}

#[test]
fn risk_mode_snapshots_refuse_credentials_of_missing_accounts() {
    let config = EngineConfig { risk_checks: true, max_assets: 4, fee_account: 63, ..EngineConfig::small() };
    let mut h = Harness::with(config, &[]);
    let open = CommandKind::CreateAccount(CreateAccount { target: A, tier: 0, status: AccountStatus::Active });
    h.run(ADMIN, open);
    h.run(ADMIN, set(A, 1, 2));
    let mut s = h.eng.snapshot();
    assert!(Engine::from_snapshot(&s).is_ok());
    s.credentials[0].account = 6;
    assert!(matches!(Engine::from_snapshot(&s), Err(SnapshotError::Inconsistent(_))));
    s.credentials[0].account = 63;
    assert!(matches!(Engine::from_snapshot(&s), Err(SnapshotError::Inconsistent(_))));
}
