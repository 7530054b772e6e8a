//! SSH keys as age keys: ssh-to-age's conversion of Ed25519 keys to X25519, byte for byte, and
//! OpenSSH private keys (passphrase-protected ones included) as sops decryption identities.
//!
//! The conversion follows Mic92/ssh-to-age (`convert.go`): a public Ed25519 point is mapped to
//! its Montgomery form (u = (1 + y) / (1 − y)) and Bech32-encoded (classic checksum, HRP `age`);
//! a private key becomes the *unclamped* `sha512(seed)[..32]`, Bech32-encoded with HRP
//! `age-secret-key-` and upper-cased. X25519 clamps the scalar when it uses it, so the clamped and
//! unclamped strings are the same key, but only the unclamped one is ssh-to-age's output.
//!
//! Core never asks for a passphrase by itself: functions take an optional passphrase, and lazy
//! prompting goes through [`PassphrasePrompt`]. The CLI takes the passphrase from `--stdin-pass`
//! (which wins, as in ssh-to-age), else from `SSH_TO_AGE_PASSPHRASE`, else from a terminal prompt.

mod line;
mod private;

use std::fmt;
use std::io::BufReader;
use std::str::FromStr;

use age::secrecy::{ExposeSecret, SecretString};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use curve25519_dalek::edwards::CompressedEdwardsY;
use sha2::{Digest, Sha256, Sha512};
use ssh_key::private::KeypairData;
use ssh_key::{LineEnding, PrivateKey};
use zeroize::{Zeroize, Zeroizing};

use crate::keys::age::{Identities, Recipient};

/// The only key type that can be converted to an age X25519 key.
const ED25519: &str = "ssh-ed25519";
/// FIDO/U2F Ed25519 keys: the private half lives in hardware and cannot do ECDH.
const SK_ED25519: &str = "sk-ssh-ed25519@openssh.com";
/// `ssh-keygen`'s fingerprint prefix.
const FINGERPRINT_PREFIX: &str = "SHA256:";
/// The length of an `AGE-SECRET-KEY-1…` string: 15 HRP chars, `1`, 52 data, 6 checksum.
const AGE_SECRET_KEY_CHARS: usize = 74;

/// Why an SSH key could not be converted to an age key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SshToAgeError {
    /// The key is not Ed25519 (RSA, ECDSA, DSA, a certificate…). ssh-to-age prints
    /// `skipped key: …` for these and goes on with the next line; callers should do the same.
    #[error("unsupported key type '{key_type}': only ssh-ed25519 keys convert to age")]
    UnsupportedKeyType {
        /// The SSH key type, as named in the key.
        key_type: String,
    },
    /// A FIDO/U2F security key (`sk-ssh-ed25519@openssh.com`): its private half never leaves
    /// the token and cannot do the X25519 key agreement age needs.
    #[error(
        "'{key_type}' is a FIDO security key: its private half stays in the token and cannot do \
         the key agreement age needs"
    )]
    SecurityKey {
        /// The SSH key type.
        key_type: String,
    },
    /// The line holds no `<type> <base64>` public key.
    #[error("not an ssh public key line: {reason}")]
    MalformedPublicKey {
        /// What is wrong.
        reason: &'static str,
    },
    /// The Ed25519 public key is not a point on the curve.
    #[error("invalid ssh-ed25519 public key: not a point on the curve")]
    InvalidPoint,
    /// The private key could not be parsed (not OpenSSH format, truncated, inconsistent).
    #[error("not a usable OpenSSH private key: {reason}")]
    MalformedPrivateKey {
        /// What is wrong.
        reason: String,
    },
    /// The private key is encrypted and no passphrase was given.
    #[error("the private key is protected by a passphrase, and none was given")]
    PassphraseRequired,
    /// The passphrase does not decrypt the private key.
    #[error("wrong passphrase for the private key")]
    WrongPassphrase,
}

/// A `known_hosts` line marker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Marker {
    /// `@cert-authority`: the key signs host certificates.
    CertAuthority,
    /// `@revoked`: the key must not be trusted.
    Revoked,
}

/// An SSH public key converted to an age X25519 recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Converted {
    /// The `age1…` recipient, as ssh-to-age prints it.
    pub recipient: Recipient,
    /// The SSH key type (always `ssh-ed25519` today).
    pub key_type: String,
    /// The comment after the key (`user@host`), if any.
    pub comment: Option<String>,
    /// The host patterns of a `known_hosts` / `ssh-keyscan` line (`host,alias`, `[host]:22`,
    /// hashed `|1|…|…`), if any.
    pub hosts: Option<String>,
    /// The options of an `authorized_keys` line (`command="…",no-pty`), if any.
    pub options: Option<String>,
    /// The `known_hosts` marker, if any. The key is converted even when it is `@revoked`, as
    /// ssh-to-age does; callers that build trust from it must check this.
    pub marker: Option<Marker>,
    /// The key's fingerprint as `ssh-keygen -l` prints it: `SHA256:` and unpadded base64.
    pub fingerprint: String,
}

/// Asks the user for the passphrase of an encrypted SSH key, when core needs one.
pub trait PassphrasePrompt {
    /// Returns the passphrase for the key described by `key_description` (a quoted path), or
    /// `None` if the user declined or no one can be asked.
    fn passphrase(&self, key_description: &str) -> Option<SecretString>;
}

/// A [`PassphrasePrompt`] that never has a passphrase: encrypted keys are skipped or refused.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoPrompt;

impl PassphrasePrompt for NoPrompt {
    fn passphrase(&self, _key_description: &str) -> Option<SecretString> {
        None
    }
}

/// The `SHA256:` fingerprint of an SSH wire-format public key blob.
fn fingerprint(blob: &[u8]) -> String {
    format!(
        "{FINGERPRINT_PREFIX}{}",
        STANDARD_NO_PAD.encode(Sha256::digest(blob))
    )
}

/// The X25519 recipient of an Ed25519 public key.
fn ed25519_to_recipient(public: [u8; 32]) -> Result<Recipient, SshToAgeError> {
    let point = CompressedEdwardsY(public)
        .decompress()
        .ok_or(SshToAgeError::InvalidPoint)?;
    let montgomery = point.to_montgomery().to_bytes();
    let text = bech32::encode::<bech32::Bech32>(bech32::Hrp::parse_unchecked("age"), &montgomery)
        .expect("32 bytes fit in a bech32 string");
    Ok(Recipient::from_str(&text).expect("a bech32 X25519 point is a valid age recipient"))
}

/// The `AGE-SECRET-KEY-1…` string of an Ed25519 seed: unclamped `sha512(seed)[..32]`.
fn ed25519_seed_to_secret(seed: &[u8; 32]) -> SecretString {
    let mut digest = Sha512::digest(seed);
    let mut scalar = Zeroizing::new([0u8; 32]);
    scalar.copy_from_slice(&digest[..32]);
    digest.as_mut_slice().zeroize();
    // Exactly the final length, so that turning the String into the secret's Box<str> does not
    // reallocate and leave a copy behind.
    let mut text = String::with_capacity(AGE_SECRET_KEY_CHARS);
    bech32::encode_upper_to_fmt::<bech32::Bech32, _>(
        &mut text,
        bech32::Hrp::parse_unchecked("age-secret-key-"),
        scalar.as_slice(),
    )
    .expect("writing to a String cannot fail");
    SecretString::from(text)
}

/// Reads the 32-byte key out of an `ssh-ed25519` public key blob.
fn ed25519_blob_key(blob: &[u8]) -> Result<[u8; 32], SshToAgeError> {
    let malformed = SshToAgeError::MalformedPublicKey {
        reason: "ssh-ed25519 key blob is not 32 bytes",
    };
    let rest = blob
        .get(4 + ED25519.len()..)
        .ok_or(SshToAgeError::MalformedPublicKey {
            reason: "truncated key blob",
        })?;
    let (length, key) = rest
        .split_first_chunk::<4>()
        .ok_or(SshToAgeError::MalformedPublicKey {
            reason: "truncated key blob",
        })?;
    if u32::from_be_bytes(*length) != 32 {
        return Err(malformed);
    }
    key.try_into().map_err(|_| malformed)
}

/// The Ed25519 point of an `ssh-ed25519` public key line (`None` for other lines).
pub(crate) fn ed25519_public_key(line: &str) -> Option<[u8; 32]> {
    let parsed = line::parse(line).ok()?;
    (parsed.key_type == ED25519)
        .then(|| ed25519_blob_key(&parsed.blob).ok())
        .flatten()
}

/// Converts one public key line to an age recipient, as `ssh-to-age` does.
///
/// Accepts `.pub` and `authorized_keys` lines (options prefixes included), `known_hosts` and
/// `ssh-keyscan` lines (`host[,host2]`, `[host]:port`, hashed `|1|…|…` hosts, and the
/// `@cert-authority`/`@revoked` markers).
///
/// ```
/// use aesec::keys::ssh::public_key_to_age;
/// let line = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOHz+U0YtjINc54dZiJNclfmEFifF7RXCFlNlTbuZBji \
///             joerg@turingmachine";
/// let converted = public_key_to_age(line)?;
/// assert_eq!(
///     converted.recipient.to_string(),
///     "age17044m9wgakla6pzftf4srtl3h5mcsr85jysgt5fg23zpnta8sfdqhzn452"
/// );
/// assert_eq!(converted.comment.as_deref(), Some("joerg@turingmachine"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn public_key_to_age(line: &str) -> Result<Converted, SshToAgeError> {
    let parsed = line::parse(line)?;
    match parsed.key_type {
        ED25519 => {}
        SK_ED25519 => {
            return Err(SshToAgeError::SecurityKey {
                key_type: parsed.key_type.to_owned(),
            });
        }
        other => {
            return Err(SshToAgeError::UnsupportedKeyType {
                key_type: other.to_owned(),
            });
        }
    }
    let recipient = ed25519_to_recipient(ed25519_blob_key(&parsed.blob)?)?;
    let (hosts, options) = match parsed.prefix {
        Some(prefix) if parsed.marker.is_none() && line::is_options(prefix) => {
            (None, Some(prefix.to_owned()))
        }
        Some(prefix) => (Some(prefix.to_owned()), None),
        None => (None, None),
    };
    Ok(Converted {
        recipient,
        key_type: parsed.key_type.to_owned(),
        comment: parsed.comment.map(str::to_owned),
        hosts,
        options,
        marker: parsed.marker,
        fingerprint: fingerprint(&parsed.blob),
    })
}

/// Converts every key line of `text` (blank and `#` lines skipped), one result per key line in
/// order. Callers print `skipped key: …` for [`SshToAgeError::UnsupportedKeyType`] and go on.
///
/// ```
/// use aesec::keys::ssh::{public_keys_to_age, SshToAgeError};
/// let text = "# keyscan\n\
///     host ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF/KPU3Z5LSjbBI6hrq25wCcseq2UpqSzUFZRr+ux6LM\n\
///     host ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC7\n";
/// let results = public_keys_to_age(text);
/// assert_eq!(results.len(), 2);
/// assert!(results[0].is_ok());
/// assert!(matches!(results[1], Err(SshToAgeError::UnsupportedKeyType { .. })));
/// ```
pub fn public_keys_to_age(text: &str) -> Vec<Result<Converted, SshToAgeError>> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(public_key_to_age)
        .collect()
}

/// Rejects keys that are not Ed25519, naming their type.
fn require_ed25519(key: &PrivateKey) -> Result<(), SshToAgeError> {
    let key_type = key.algorithm().as_str().to_owned();
    match key_type.as_str() {
        ED25519 => Ok(()),
        SK_ED25519 => Err(SshToAgeError::SecurityKey { key_type }),
        _ => Err(SshToAgeError::UnsupportedKeyType { key_type }),
    }
}

/// The converted secret and recipient of a decrypted Ed25519 key.
fn convert_private(key: &PrivateKey) -> Result<(SecretString, Recipient), SshToAgeError> {
    let KeypairData::Ed25519(keypair) = key.key_data() else {
        return Err(SshToAgeError::UnsupportedKeyType {
            key_type: key.algorithm().as_str().to_owned(),
        });
    };
    let seed = Zeroizing::new(keypair.private.to_bytes());
    let secret = ed25519_seed_to_secret(&seed);
    // As ssh-to-age: the recipient comes from the stored public half.
    let recipient = ed25519_to_recipient(keypair.public.0)?;
    Ok((secret, recipient))
}

/// Converts an OpenSSH Ed25519 private key to an age identity (`AGE-SECRET-KEY-1…`, the same
/// string as `ssh-to-age -private-key`) and its recipient.
///
/// Encrypted keys are decrypted with `passphrase`: every cipher `ssh-keygen -Z` writes is
/// supported (aes128/192/256-ctr and -cbc, aes128/256-gcm@openssh.com,
/// chacha20-poly1305@openssh.com, 3des-cbc). A passphrase given for an unencrypted key is
/// ignored (ssh-to-age refuses that combination).
///
/// ```
/// use aesec::age::secrecy::ExposeSecret;
/// use aesec::keys::ssh::{private_key_to_age, SshToAgeError};
/// let pem = "-----BEGIN OPENSSH PRIVATE KEY-----\n\
///     b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n\
///     QyNTUxOQAAACDh8/lNGLYyDXOeHWYiTXJX5hBYnxe0VwhZTZU27mQY4gAAAJjpEFzo6RBc\n\
///     6AAAAAtzc2gtZWQyNTUxOQAAACDh8/lNGLYyDXOeHWYiTXJX5hBYnxe0VwhZTZU27mQY4g\n\
///     AAAEDsBo0iLkC2U9CS5XgSo7zS/nQvjxaPfhfFCR+BshxoL+Hz+U0YtjINc54dZiJNclfm\n\
///     EFifF7RXCFlNlTbuZBjiAAAAE2pvZXJnQHR1cmluZ21hY2hpbmUBAg==\n\
///     -----END OPENSSH PRIVATE KEY-----\n";
/// let (secret, recipient) = private_key_to_age(pem.as_bytes(), None)?;
/// assert_eq!(
///     secret.expose_secret(),
///     "AGE-SECRET-KEY-1K3VN4N03PTHJWSJSCCMQCN33RY5FSKQPJ4KRRTG3JMQUYE0TUSEQEDH6V8"
/// );
/// assert_eq!(
///     recipient.to_string(),
///     "age17044m9wgakla6pzftf4srtl3h5mcsr85jysgt5fg23zpnta8sfdqhzn452"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn private_key_to_age(
    pem: &[u8],
    passphrase: Option<&SecretString>,
) -> Result<(SecretString, Recipient), SshToAgeError> {
    let key = private::parse(pem)?;
    require_ed25519(&key)?;
    let key = private::decrypt(key, passphrase)?;
    convert_private(&key)
}

/// Whether `bytes` look like a PEM private key (OpenSSH, or PKCS#1 RSA, SEC1 EC, DSA) rather than
/// an age identity file. [`add_ssh_identity`] reads OpenSSH keys and unencrypted PKCS#1 RSA keys.
///
/// ```
/// use aesec::keys::ssh::is_ssh_private_key;
/// assert!(is_ssh_private_key(b"-----BEGIN OPENSSH PRIVATE KEY-----\n"));
/// assert!(!is_ssh_private_key(b"# created: now\nAGE-SECRET-KEY-1...\n"));
/// ```
pub fn is_ssh_private_key(bytes: &[u8]) -> bool {
    private::looks_like_private_key(bytes)
}

/// Adds an SSH private key to `identities` as sops would use it, plus its ssh-to-age conversion.
///
/// Two identities are added for an Ed25519 key: age's native SSH identity (for
/// `-> ssh-ed25519` stanzas, what sops ≥ 3.10 writes for `ssh-ed25519 …` recipients) and the
/// converted X25519 identity (for files encrypted to the key's ssh-to-age `age1…` recipient,
/// as sops-nix setups do). An RSA key adds only the native identity (`-> ssh-rsa` stanzas).
/// Encrypted keys are decrypted here with `passphrase`, with any cipher [`private_key_to_age`]
/// supports.
///
/// ```
/// use aesec::keys::age::Identities;
/// use aesec::keys::ssh::add_ssh_identity;
/// # let pem = "-----BEGIN OPENSSH PRIVATE KEY-----\n\
/// #    b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n\
/// #    QyNTUxOQAAACDh8/lNGLYyDXOeHWYiTXJX5hBYnxe0VwhZTZU27mQY4gAAAJjpEFzo6RBc\n\
/// #    6AAAAAtzc2gtZWQyNTUxOQAAACDh8/lNGLYyDXOeHWYiTXJX5hBYnxe0VwhZTZU27mQY4g\n\
/// #    AAAEDsBo0iLkC2U9CS5XgSo7zS/nQvjxaPfhfFCR+BshxoL+Hz+U0YtjINc54dZiJNclfm\n\
/// #    EFifF7RXCFlNlTbuZBjiAAAAE2pvZXJnQHR1cmluZ21hY2hpbmUBAg==\n\
/// #    -----END OPENSSH PRIVATE KEY-----\n";
/// let mut identities = Identities::new();
/// add_ssh_identity(&mut identities, pem.as_bytes(), None, "id_ed25519")?;
/// assert_eq!(identities.len(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn add_ssh_identity(
    identities: &mut Identities,
    pem: &[u8],
    passphrase: Option<&SecretString>,
    source_name: &str,
) -> Result<(), SshToAgeError> {
    if private::legacy_pem_type(pem) == Some("ssh-rsa") {
        // A PKCS#1 RSA key: ssh-key cannot read it, age can (unencrypted only).
        let identity = native_identity(pem, source_name)?;
        identities.push(Box::new(identity), source_name);
        return Ok(());
    }
    let key = private::parse(pem)?;
    let key_type = key.algorithm().as_str().to_owned();
    match key_type.as_str() {
        ED25519 | "ssh-rsa" => {}
        SK_ED25519 => return Err(SshToAgeError::SecurityKey { key_type }),
        _ => return Err(SshToAgeError::UnsupportedKeyType { key_type }),
    }
    let key = private::decrypt(key, passphrase)?;
    // age reads only some ciphers, so it always gets the decrypted key, re-encoded.
    let plain = key
        .to_openssh(LineEnding::LF)
        .map_err(|e| SshToAgeError::MalformedPrivateKey {
            reason: e.to_string(),
        })?;
    let native = native_identity(plain.as_bytes(), source_name)?;
    let converted = if key_type == ED25519 {
        let (secret, _) = convert_private(&key)?;
        Some(
            crate::keys::age::x25519::Identity::from_str(secret.expose_secret())
                .expect("a converted key is a valid age identity"),
        )
    } else {
        None
    };
    identities.push(Box::new(native), source_name);
    if let Some(converted) = converted {
        identities.push_x25519(converted, source_name);
    }
    Ok(())
}

/// age's native SSH identity for an unencrypted private key.
fn native_identity(pem: &[u8], source_name: &str) -> Result<age::ssh::Identity, SshToAgeError> {
    let identity = age::ssh::Identity::from_buffer(BufReader::new(pem), Some(source_name.into()))
        .map_err(|e| SshToAgeError::MalformedPrivateKey {
        reason: e.to_string(),
    })?;
    match identity {
        age::ssh::Identity::Unencrypted(_) => Ok(identity),
        age::ssh::Identity::Encrypted(_) => Err(SshToAgeError::PassphraseRequired),
        age::ssh::Identity::Unsupported(unsupported) => Err(match unsupported {
            age::ssh::UnsupportedKey::Type(key_type) => {
                SshToAgeError::UnsupportedKeyType { key_type }
            }
            age::ssh::UnsupportedKey::Hardware(key_type) => SshToAgeError::SecurityKey { key_type },
            _ => SshToAgeError::MalformedPrivateKey {
                reason: "encrypted PEM keys are not supported; convert with \
                         'ssh-keygen -p -f KEY' to the OpenSSH format"
                    .to_owned(),
            },
        }),
    }
}

impl fmt::Display for Marker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::CertAuthority => "@cert-authority",
            Self::Revoked => "@revoked",
        })
    }
}

#[cfg(test)]
mod tests;
