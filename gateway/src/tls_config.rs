//! The server's TLS settings: the certificate chain and private key the TLS listeners present
//! (PEM files, read once at startup), made into a rustls configuration that speaks TLS 1.3 and
//! 1.2 with rustls' default cipher suites (the `ring` provider). Certificates are not reloaded
//! while running: rotating one is a restart.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Why the TLS listeners cannot be set up. Each variant names the config key and the file, so
/// the operator knows which one to fix.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    /// The certificate chain file cannot be read or is not PEM.
    #[error("`server.tls_cert_chain_path`: cannot read certificates from {path}: {message}")]
    CertChainUnreadable {
        /// The file.
        path: PathBuf,
        /// What went wrong (I/O or PEM syntax).
        message: String,
    },
    /// The certificate chain file holds no `CERTIFICATE` section.
    #[error("`server.tls_cert_chain_path`: {path} holds no PEM certificate (BEGIN CERTIFICATE)")]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// The private key file cannot be read or is not PEM.
    #[error("`server.tls_private_key_path`: cannot read a private key from {path}: {message}")]
    KeyUnreadable {
        /// The file.
        path: PathBuf,
        /// What went wrong (I/O or PEM syntax).
        message: String,
    },
    /// The private key file holds no PKCS#8, PKCS#1 or SEC1 private key.
    #[error(
        "`server.tls_private_key_path`: {path} holds no PEM private key (BEGIN PRIVATE KEY, RSA or EC PRIVATE KEY)"
    )]
    NoKey {
        /// The file.
        path: PathBuf,
    },
    /// rustls refused the pair (an unsupported key type, or a key that does not match the
    /// first certificate of the chain).
    #[error("`server.tls_private_key_path`: {key_path} does not fit the certificate in {cert_path}: {source}")]
    Rejected {
        /// The certificate chain file.
        cert_path: PathBuf,
        /// The key file.
        key_path: PathBuf,
        /// What rustls said.
        source: rustls::Error,
    },
}

/// Reads the certificate chain (leaf first) and the private key and builds the server side of
/// TLS 1.3 and 1.2.
pub fn load_server_config(cert_path: &Path, key_path: &Path) -> Result<Arc<rustls::ServerConfig>, TlsSetupError> {
    let chain = read_chain(cert_path)?;
    let key = read_key(key_path)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .and_then(|b| b.with_no_client_auth().with_single_cert(chain, key))
        .map_err(|source| TlsSetupError::Rejected {
            cert_path: cert_path.to_path_buf(),
            key_path: key_path.to_path_buf(),
            source,
        })?;
    Ok(Arc::new(config))
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    let unreadable = |e: rustls::pki_types::pem::Error| TlsSetupError::CertChainUnreadable {
        path: path.to_path_buf(),
        message: pem_error_message(e),
    };
    let chain =
        CertificateDer::pem_file_iter(path).map_err(unreadable)?.collect::<Result<Vec<_>, _>>().map_err(unreadable)?;
    if chain.is_empty() {
        return Err(TlsSetupError::NoCertificate { path: path.to_path_buf() });
    }
    Ok(chain)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsSetupError> {
    match PrivateKeyDer::from_pem_file(path) {
        Ok(key) => Ok(key),
        Err(rustls::pki_types::pem::Error::NoItemsFound) => Err(TlsSetupError::NoKey { path: path.to_path_buf() }),
        Err(e) => Err(TlsSetupError::KeyUnreadable { path: path.to_path_buf(), message: pem_error_message(e) }),
    }
}

/// The I/O error itself when there is one (its message says "No such file" or "Permission
/// denied"), the PEM problem otherwise.
fn pem_error_message(e: rustls::pki_types::pem::Error) -> String {
    match e {
        rustls::pki_types::pem::Error::Io(io) => io.to_string(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_empty_files_name_the_key_and_the_path() {
        let dir = std::env::temp_dir().join(format!("matchd-tls-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("missing.pem");
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a pem file\n").unwrap();

        let e = load_server_config(&missing, &missing).unwrap_err().to_string();
        assert!(e.contains("server.tls_cert_chain_path") && e.contains("missing.pem"), "{e}");
        let e = load_server_config(&empty, &missing).unwrap_err().to_string();
        assert!(e.contains("server.tls_cert_chain_path") && e.contains("no PEM certificate"), "{e}");
        assert!(matches!(read_key(&missing), Err(TlsSetupError::KeyUnreadable { .. })));
        assert!(matches!(read_key(&empty), Err(TlsSetupError::NoKey { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
