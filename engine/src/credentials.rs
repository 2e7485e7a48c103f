//! Journaled API credentials: the admin commands that set (create or rotate) and revoke an
//! account's secret, and the state they leave. An account with no entry logs in with what the
//! config file gives it; an entry overrides the config file. The table is a `BTreeMap` so every
//! walk (state hash, snapshot, the gateway's startup table) is in account order; admin commands
//! may allocate, the order path never touches it.

use crate::command::{RevokeCredential, SetCredential, CREDENTIAL_HASH_BYTES, CREDENTIAL_SALT_BYTES};
use crate::credential_table::AccountCredential;
use crate::engine::{Engine, Out};
use crate::event::*;
use crate::types::*;

impl Engine {
    /// The checks both credential commands share: the account id is in range and, in risk mode,
    /// the account exists and is not the fee account (nobody logs in as it).
    fn check_credential_target(&self, target: AccountId) -> Result<(), RejectReason> {
        if target >= self.config.max_accounts {
            return Err(RejectReason::UnknownAccount);
        }
        if self.config.risk_checks {
            if !self.accounts[target as usize].exists {
                return Err(RejectReason::UnknownAccount);
            }
            if target == self.config.fee_account {
                return Err(RejectReason::SystemAccount);
            }
        }
        Ok(())
    }

    pub(crate) fn set_credential<S: EventSink>(&mut self, account: AccountId, c: &SetCredential, out: &mut Out<'_, S>) {
        if let Err(reason) = self.check_credential_target(c.target) {
            return self.account_reject(account, CommandType::SetCredential, reason, out);
        }
        self.credentials.insert(c.target, AccountCredential::Set { salt: c.salt, hash: c.hash });
        debug_assert!(c.target < self.config.max_accounts);
        out.emit(EventKind::CredentialChanged(CredentialChanged {
            account,
            command: CommandType::SetCredential,
            target: c.target,
            salt: c.salt,
            hash: c.hash,
        }));
    }

    pub(crate) fn revoke_credential<S: EventSink>(
        &mut self,
        account: AccountId,
        c: &RevokeCredential,
        out: &mut Out<'_, S>,
    ) {
        // An admin revoking its own secret would lock itself out, and if it is the last admin,
        // everyone: no command could undo it (the journal overrides the config file).
        let check = self.check_credential_target(c.target).and(if c.target == account {
            Err(RejectReason::InvalidField)
        } else {
            Ok(())
        });
        if let Err(reason) = check {
            return self.account_reject(account, CommandType::RevokeCredential, reason, out);
        }
        self.credentials.insert(c.target, AccountCredential::Revoked);
        out.emit(EventKind::CredentialChanged(CredentialChanged {
            account,
            command: CommandType::RevokeCredential,
            target: c.target,
            salt: [0; CREDENTIAL_SALT_BYTES],
            hash: [0; CREDENTIAL_HASH_BYTES],
        }));
    }

    /// An account's journaled credential; `None` if only the config file gives it one.
    pub fn credential(&self, account: AccountId) -> Option<AccountCredential> {
        self.credentials.get(&account).copied()
    }

    /// Every journaled credential, by account id (what the gateway's table overlays on the
    /// config file's at startup).
    pub fn credentials(&self) -> impl Iterator<Item = (AccountId, AccountCredential)> + '_ {
        self.credentials.iter().map(|(&a, &c)| (a, c))
    }
}
