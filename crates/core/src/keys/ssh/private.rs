//! Reading OpenSSH private keys, decrypting passphrase-protected ones with every cipher
//! `ssh-keygen -Z` can write.
//!
//! `ssh-key` 0.6 parses the `openssh-key-v1` container and decrypts bcrypt-pbkdf keys under
//! aes{128,192,256}-{cbc,ctr}, aes{128,256}-gcm@openssh.com and chacha20-poly1305@openssh.com.
//! For `3des-cbc` it only derives the key and IV; the decryption is done by [`super::tdes`], and
//! the plaintext is handed back to `ssh-key` as an unencrypted container so that both paths end
//! in the same checks (check integers, public half, padding).

use age::secrecy::{ExposeSecret, SecretString};
use ssh_key::{Cipher, PrivateKey};
use zeroize::Zeroizing;

use super::{SshToAgeError, tdes};

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
    let passphrase = passphrase.expose_secret().as_bytes();
    if key.cipher() == Cipher::TDesCbc {
        return decrypt_tdes(&key, passphrase);
    }
    key.decrypt(passphrase).map_err(map_decrypt_error)
}

fn map_decrypt_error(error: ssh_key::Error) -> SshToAgeError {
    match error {
        ssh_key::Error::Crypto => SshToAgeError::WrongPassphrase,
        other => SshToAgeError::MalformedPrivateKey {
            reason: other.to_string(),
        },
    }
}

/// Appends an SSH wire-format string.
fn put_string(out: &mut Vec<u8>, bytes: &[u8]) -> Result<(), SshToAgeError> {
    let length = u32::try_from(bytes.len()).map_err(|_| SshToAgeError::MalformedPrivateKey {
        reason: "private key section too long".to_owned(),
    })?;
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(bytes);
    Ok(())
}

fn decrypt_tdes(key: &PrivateKey, passphrase: &[u8]) -> Result<PrivateKey, SshToAgeError> {
    let malformed = |reason: &str| SshToAgeError::MalformedPrivateKey {
        reason: reason.to_owned(),
    };
    let (cipher_key, iv) = key
        .kdf()
        .derive_key_and_iv(Cipher::TDesCbc, passphrase)
        .map_err(map_decrypt_error)?;
    let ciphertext = key
        .key_data()
        .encrypted()
        .ok_or_else(|| malformed("encrypted key without ciphertext"))?;
    let mut plaintext = Zeroizing::new(ciphertext.to_vec());
    tdes::decrypt_cbc(&cipher_key, &iv, &mut plaintext)
        .map_err(|_| malformed("3des-cbc ciphertext is not whole 8-byte blocks"))?;
    // The two check integers match only when the passphrase was right.
    match (plaintext.get(0..4), plaintext.get(4..8)) {
        (Some(a), Some(b)) if a == b => {}
        _ => return Err(SshToAgeError::WrongPassphrase),
    }
    // Rebuild an unencrypted `openssh-key-v1` container (cipher and KDF "none"; its block size
    // is 8, the same as 3DES, so the padding stays valid) and let ssh-key check the rest.
    let public = key
        .public_key()
        .to_bytes()
        .map_err(|e| malformed(&e.to_string()))?;
    let mut container = Zeroizing::new(Vec::with_capacity(plaintext.len() + public.len() + 64));
    container.extend_from_slice(b"openssh-key-v1\0");
    put_string(&mut container, b"none")?;
    put_string(&mut container, b"none")?;
    put_string(&mut container, b"")?;
    container.extend_from_slice(&1u32.to_be_bytes());
    put_string(&mut container, &public)?;
    put_string(&mut container, &plaintext)?;
    PrivateKey::from_bytes(&container).map_err(map_decrypt_error)
}
