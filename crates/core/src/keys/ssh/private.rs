//! Reading OpenSSH private keys, decrypting passphrase-protected ones with every cipher
//! `ssh-keygen -Z` can write.
//!
//! `ssh-key` 0.6 parses the `openssh-key-v1` container and decrypts bcrypt-pbkdf keys under
//! aes{128,192,256}-{cbc,ctr}, aes{128,256}-gcm@openssh.com, chacha20-poly1305@openssh.com and,
//! with its `tdes` feature (RustCrypto's `des`), 3des-cbc: every cipher `ssh-keygen -Z` writes.
//! No cipher is implemented here.

use age::secrecy::{ExposeSecret, SecretString};
use ssh_key::PrivateKey;

use super::SshToAgeError;

const OPENSSH_BEGIN: &str = "-----BEGIN OPENSSH PRIVATE KEY-----";

/// PEM labels of private key formats that are not OpenSSH's, with the key type they hold.
const LEGACY_PEM: &[(&str, &str)] = &[
    ("-----BEGIN RSA PRIVATE KEY-----", "ssh-rsa"),
    ("-----BEGIN EC PRIVATE KEY-----", "ecdsa"),
    ("-----BEGIN DSA PRIVATE KEY-----", "ssh-dss"),
];

/// Whether the bytes look like a PEM private key that age or ssh-key may read.
pub(super) fn looks_like_private_key(pem: &[u8]) -> bool {
    let text = pem.trim_ascii_start();
    text.starts_with(OPENSSH_BEGIN.as_bytes())
        || LEGACY_PEM
            .iter()
            .any(|(label, _)| text.starts_with(label.as_bytes()))
}

/// The key type of a legacy (PKCS#1/SEC1) PEM key, if `pem` is one.
pub(super) fn legacy_pem_type(pem: &[u8]) -> Option<&'static str> {
    let text = pem.trim_ascii_start();
    LEGACY_PEM
        .iter()
        .find(|(label, _)| text.starts_with(label.as_bytes()))
        .map(|(_, key_type)| *key_type)
}

/// Parses an OpenSSH private key, still encrypted if it was.
pub(super) fn parse(pem: &[u8]) -> Result<PrivateKey, SshToAgeError> {
    if let Some(key_type) = legacy_pem_type(pem) {
        return Err(SshToAgeError::UnsupportedKeyType {
            key_type: key_type.to_owned(),
        });
    }
    let pem = pem.trim_ascii();
    if !pem.starts_with(OPENSSH_BEGIN.as_bytes()) {
        return Err(SshToAgeError::MalformedPrivateKey {
            reason: "expected '-----BEGIN OPENSSH PRIVATE KEY-----'".to_owned(),
        });
    }
    PrivateKey::from_openssh(pem).map_err(|e| SshToAgeError::MalformedPrivateKey {
        reason: e.to_string(),
    })
}

/// Decrypts `key` with `passphrase` if it is encrypted; an unencrypted key is returned as is
/// (the passphrase, if any, is ignored).
pub(super) fn decrypt(
    key: PrivateKey,
    passphrase: Option<&SecretString>,
) -> Result<PrivateKey, SshToAgeError> {
    if !key.is_encrypted() {
        return Ok(key);
    }
    let passphrase = passphrase.ok_or(SshToAgeError::PassphraseRequired)?;
    key.decrypt(passphrase.expose_secret().as_bytes())
        .map_err(map_decrypt_error)
}

fn map_decrypt_error(error: ssh_key::Error) -> SshToAgeError {
    match error {
        ssh_key::Error::Crypto => SshToAgeError::WrongPassphrase,
        other => SshToAgeError::MalformedPrivateKey {
            reason: other.to_string(),
        },
    }
}
