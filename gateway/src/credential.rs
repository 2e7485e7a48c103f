//! Hashed credentials: `sha256:<salt hex>:<sha256(salt || secret) hex>`,
//! verified in constant time so response timing says nothing about how
//! much of a guess was right. Credentials are API secrets (high entropy),
//! so one salted SHA-256 suffices; a slow password hash would stall the
//! gateway thread on every login.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Why a stored credential string is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// Not `sha256:SALT:HASH`.
    #[error("credential must look like sha256:<salt hex>:<64 hex digits> (see `matchd hash-credential`)")]
    Format,
}

/// A parsed stored credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    salt: Vec<u8>,
    hash: [u8; 32],
}

impl Credential {
    /// Parses the stored form.
    pub fn parse(s: &str) -> Result<Credential, CredentialError> {
        let mut parts = s.split(':');
        let (Some("sha256"), Some(salt), Some(hash), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(CredentialError::Format);
        };
        let salt = hex::decode(salt).map_err(|_| CredentialError::Format)?;
        let hash: [u8; 32] = hex::decode(hash).ok().and_then(|h| h.try_into().ok()).ok_or(CredentialError::Format)?;
        if salt.is_empty() {
            return Err(CredentialError::Format);
        }
        Ok(Credential { salt, hash })
    }

    /// A credential from its salt and hash (a journaled `SetCredential`, whose client hashed the
    /// secret exactly as [`Credential::verify`] does).
    pub fn from_parts(salt: &[u8], hash: [u8; 32]) -> Credential {
        debug_assert!(!salt.is_empty(), "journaled salts are 16 bytes");
        Credential { salt: salt.to_vec(), hash }
    }

    /// Hashes `secret` with `salt` into the stored form.
    pub fn hash(secret: &[u8], salt: &[u8]) -> String {
        let h = Sha256::new().chain_update(salt).chain_update(secret).finalize();
        format!("sha256:{}:{}", hex::encode(salt), hex::encode(h))
    }

    /// Whether `secret` matches, in constant time.
    pub fn verify(&self, secret: &[u8]) -> bool {
        let h = Sha256::new().chain_update(&self.salt).chain_update(secret).finalize();
        bool::from(h.as_slice().ct_eq(&self.hash))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_verify() {
        let stored = Credential::hash(b"s3cret", b"salt");
        let c = Credential::parse(&stored).unwrap();
        assert!(c.verify(b"s3cret"));
        assert!(!c.verify(b"s3cres"));
        assert!(!c.verify(b""));
    }

    #[test]
    fn from_parts_verifies_like_the_stored_form() {
        let stored = Credential::hash(b"s3cret", &[7; 16]);
        let parsed = Credential::parse(&stored).unwrap();
        let rebuilt = Credential::from_parts(&[7; 16], parsed.hash);
        assert_eq!(rebuilt, parsed);
        assert!(rebuilt.verify(b"s3cret") && !rebuilt.verify(b"s3cres"));
    }

    #[test]
    fn malformed_rejected() {
        for s in ["", "sha256", "md5:00:00", "sha256:zz:00", "sha256:00:abcd", "sha256::"] {
            assert_eq!(Credential::parse(s), Err(CredentialError::Format), "{s}");
        }
    }
}
