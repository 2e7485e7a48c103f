//! The journaled credentials' state: account id -> its credential, a `BTreeMap` so every walk
//! (state hash, snapshot, the gateway's startup table) is in account order. The commands that
//! change it are in `credentials.rs`.

use std::collections::BTreeMap;

use crate::command::{CREDENTIAL_HASH_BYTES, CREDENTIAL_SALT_BYTES};
use crate::types::*;

/// An account's journaled credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountCredential {
    /// Logins must present the secret whose salted SHA-256 this is.
    Set {
        /// Salt.
        salt: [u8; CREDENTIAL_SALT_BYTES],
        /// SHA-256 of `salt || secret`.
        hash: [u8; CREDENTIAL_HASH_BYTES],
    },
    /// Every login is refused.
    Revoked,
}

/// Account id -> its journaled credential.
pub(crate) type CredentialTable = BTreeMap<AccountId, AccountCredential>;
