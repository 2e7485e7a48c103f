//! Hashing an API secret for `SetCredential` exactly as the gateway checks a `Login`:
//! `SHA-256(salt || secret)`, where `secret` is the bytes the login's `credential` field carries up
//! to its first NUL. A secret the field cannot carry (empty, longer than it, or with a NUL inside)
//! could never log in, so it is refused here rather than journaled.

use engine::{CREDENTIAL_HASH_BYTES, CREDENTIAL_SALT_BYTES};
use protocol::CREDENTIAL_LEN;
use sha2::{Digest, Sha256};

/// Why a secret cannot be an account's API secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// No bytes at all.
    #[error("the secret is empty")]
    Empty,
    /// More bytes than a `Login` carries.
    #[error("the secret has {len} bytes; a login carries at most {CREDENTIAL_LEN}")]
    TooLong {
        /// Bytes given.
        len: usize,
    },
    /// A NUL byte: a login's secret ends at its first NUL.
    #[error("the secret contains a NUL byte (a login's secret ends at the first NUL)")]
    ContainsNul,
}

/// Checks that `secret` can be sent in a `Login` as it is.
pub fn check_secret(secret: &[u8]) -> Result<(), SecretError> {
    if secret.is_empty() {
        return Err(SecretError::Empty);
    }
    if secret.len() > CREDENTIAL_LEN {
        return Err(SecretError::TooLong { len: secret.len() });
    }
    if secret.contains(&0) {
        return Err(SecretError::ContainsNul);
    }
    Ok(())
}

/// `SHA-256(salt || secret)`: the `hash` of a `SetCredential` for `secret`.
pub fn credential_hash(
    salt: &[u8; CREDENTIAL_SALT_BYTES],
    secret: &[u8],
) -> Result<[u8; CREDENTIAL_HASH_BYTES], SecretError> {
    check_secret(secret)?;
    let digest = Sha256::new().chain_update(salt).chain_update(secret).finalize();
    let mut hash = [0u8; CREDENTIAL_HASH_BYTES];
    hash.copy_from_slice(&digest);
    Ok(hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_salt_then_secret() {
        // sha256("salt-16-bytes..." || "abc"), computed independently (`printf ... | sha256sum`).
        let salt = *b"salt-16-bytes...";
        let hash = credential_hash(&salt, b"abc").unwrap();
        let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "5268a4a2cbadd091aca671019d718daa145c3bf7425065ca65c5d89d715b0c2c");
    }

    #[test]
    fn secrets_a_login_cannot_carry_are_refused() {
        let salt = [0u8; CREDENTIAL_SALT_BYTES];
        assert_eq!(credential_hash(&salt, b""), Err(SecretError::Empty));
        assert_eq!(credential_hash(&salt, &[b'a'; 33]), Err(SecretError::TooLong { len: 33 }));
        assert_eq!(credential_hash(&salt, b"a\0b"), Err(SecretError::ContainsNul));
        assert!(credential_hash(&salt, &[b'a'; 32]).is_ok());
    }
}
