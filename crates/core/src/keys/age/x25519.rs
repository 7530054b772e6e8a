//! age's classic recipients (`age1…`) and identities (`AGE-SECRET-KEY-1…`), stanza `X25519`,
//! as C2SP age specifies it and Go age and the `age` crate implement it.
//!
//! A file key is wrapped with an ephemeral X25519 key: the stanza is `-> X25519 <epk>` (the
//! ephemeral public key in unpadded base64) and a body that is the file key sealed with
//! ChaCha20-Poly1305 (zero nonce) under HKDF-SHA256(salt = epk ‖ recipient, info =
//! `age-encryption.org/v1/X25519`) of the shared secret.
//!
//! These types replace the `age` crate's own for speed, with the same text forms (parsing is
//! the crate's, so exactly the same strings are accepted) and the same stanzas: the shared
//! secret comes from [`super::dh`], a recipient keeps its point ready for the next wrap, and an
//! identity keeps its public key (the crate works it out again for every stanza). A wrap to a
//! low-order recipient is refused as Go refuses it (the crate panics there).
//!
//! Unwrapping distinguishes, as the crate and Go do: another stanza type (not ours, try the
//! next); a malformed stanza (argument count, non-canonical base64, sizes) or an all-zero
//! shared secret (the header is invalid, decryption stops); a body that does not open (the
//! stanza is for someone else, try the next).

use std::collections::HashSet;
use std::fmt;
use std::io;
use std::str::FromStr;

use age::secrecy::{ExposeSecret, SecretString};
use age::{DecryptError, EncryptError};
use age_core::format::{FileKey, Stanza};
use age_core::primitives::{aead_decrypt, aead_encrypt, hkdf};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use zeroize::Zeroizing;

use super::bech32;
use super::dh::{self, KEY_BYTES, Point};
use super::file_key::{self, BODY_BYTES, FILE_KEY_BYTES};

/// The stanza type.
const TAG: &str = "X25519";
/// The HKDF `info` of the wrapping key.
const LABEL: &[u8] = b"age-encryption.org/v1/X25519";
const RECIPIENT_HRP: &str = "age";
const IDENTITY_HRP: &str = "AGE-SECRET-KEY-";

/// An X25519 recipient: its point, with the Edwards form ready.
#[derive(Clone)]
pub(crate) struct Recipient {
    point: Point,
}

impl FromStr for Recipient {
    type Err = &'static str;

    /// Parses `age1…` as the `age` crate does (it says what is wrong).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        age::x25519::Recipient::from_str(s).map(|parsed| Self::from(&parsed))
    }
}

impl From<&age::x25519::Recipient> for Recipient {
    fn from(recipient: &age::x25519::Recipient) -> Self {
        let bytes = canonical_bytes(&recipient.to_string(), RECIPIENT_HRP);
        Self {
            point: Point::new(*bytes),
        }
    }
}

/// The 32 bytes of a key as the `age` crate writes it: canonical Bech32 under `hrp`, which
/// the strictest decoder reads.
fn canonical_bytes(text: &str, hrp: &str) -> Zeroizing<[u8; KEY_BYTES]> {
    let decoded = bech32::decode(text, hrp)
        .filter(|decoded| decoded.len() == KEY_BYTES)
        .expect("the age crate writes 32-byte keys in canonical Bech32");
    let mut bytes = Zeroizing::new([0u8; KEY_BYTES]);
    bytes.copy_from_slice(&decoded);
    bytes
}

impl fmt::Display for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&bech32::encode(RECIPIENT_HRP, self.point.as_bytes()))
    }
}

impl fmt::Debug for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl age::Recipient for Recipient {
    fn wrap_file_key(
        &self,
        file_key: &FileKey,
    ) -> Result<(Vec<Stanza>, HashSet<String>), EncryptError> {
        let stanza = wrap(&self.point, file_key)?;
        Ok((vec![stanza], HashSet::new()))
    }
}

/// Wraps `file_key` to `recipient` with a fresh ephemeral key.
///
/// # Errors
///
/// [`EncryptError::Io`] when the operating system's random source fails, or when the
/// recipient is a low-order point, so that the shared secret would be all zero whatever the
/// ephemeral key: Go's `crypto/ecdh` refuses it ("bad X25519 remote ECDH input: low order
/// point").
fn wrap(recipient: &Point, file_key: &FileKey) -> Result<Stanza, EncryptError> {
    let mut ephemeral = Zeroizing::new([0u8; KEY_BYTES]);
    getrandom::getrandom(ephemeral.as_mut()).map_err(|e| EncryptError::Io(io::Error::other(e)))?;
    let shared = dh::shared_secret(&ephemeral, recipient).map_err(|dh::NonContributory| {
        EncryptError::Io(io::Error::new(
            io::ErrorKind::InvalidInput,
            "X25519 recipient is a low-order point",
        ))
    })?;
    let epk = dh::public_key(&ephemeral);
    let key = wrapping_key(&epk, recipient.as_bytes(), &shared);
    Ok(Stanza {
        tag: TAG.to_owned(),
        args: vec![STANDARD_NO_PAD.encode(epk)],
        body: aead_encrypt(&key, file_key.expose_secret()),
    })
}

/// The key that seals the file key: HKDF-SHA256 of the shared secret, salted with both public
/// keys.
fn wrapping_key(
    epk: &[u8; KEY_BYTES],
    recipient: &[u8; KEY_BYTES],
    shared: &[u8; KEY_BYTES],
) -> Zeroizing<[u8; 32]> {
    let mut salt = [0u8; 2 * KEY_BYTES];
    salt[..KEY_BYTES].copy_from_slice(epk);
    salt[KEY_BYTES..].copy_from_slice(recipient);
    Zeroizing::new(hkdf(&salt, LABEL, shared))
}

/// An X25519 identity: the secret scalar (wiped on drop) and its public key.
pub(crate) struct Identity {
    secret: Zeroizing<[u8; KEY_BYTES]>,
    public: [u8; KEY_BYTES],
}

impl Identity {
    /// The recipient that encrypts to this identity.
    pub(crate) fn to_public(&self) -> Recipient {
        Recipient {
            point: Point::new(self.public),
        }
    }

    /// The identity in its `AGE-SECRET-KEY-1…` form.
    pub(crate) fn to_secret_string(&self) -> SecretString {
        SecretString::from(bech32::encode(IDENTITY_HRP, self.secret.as_ref()))
    }
}

impl FromStr for Identity {
    type Err = &'static str;

    /// Parses `AGE-SECRET-KEY-1…` as the `age` crate does (it says what is wrong).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        age::x25519::Identity::from_str(s).map(|parsed| Self::from(&parsed))
    }
}

impl From<&age::x25519::Identity> for Identity {
    fn from(identity: &age::x25519::Identity) -> Self {
        let secret = canonical_bytes(identity.to_string().expose_secret(), IDENTITY_HRP);
        let public = dh::public_key(&secret);
        Self { secret, public }
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("recipient", &self.to_public().to_string())
            .finish_non_exhaustive()
    }
}

impl age::Identity for Identity {
    fn unwrap_stanza(&self, stanza: &Stanza) -> Option<Result<FileKey, DecryptError>> {
        if stanza.tag != TAG {
            return None;
        }
        let invalid = Some(Err(DecryptError::InvalidHeader));
        let [arg] = stanza.args.as_slice() else {
            return invalid;
        };
        // The engine refuses padding and non-zero trailing bits: canonical encodings only. One
        // spare byte tells a longer argument from an exact one without decoding it all.
        let mut epk = [0u8; KEY_BYTES + 1];
        if STANDARD_NO_PAD.decode_slice(arg, &mut epk) != Ok(KEY_BYTES) {
            return invalid;
        }
        if stanza.body.len() != BODY_BYTES {
            return invalid;
        }
        let mut point = [0u8; KEY_BYTES];
        point.copy_from_slice(&epk[..KEY_BYTES]);
        let Ok(shared) = dh::shared_secret(&self.secret, &Point::new(point)) else {
            return invalid;
        };
        let key = wrapping_key(&point, &self.public, &shared);
        let file_key = Zeroizing::new(aead_decrypt(&key, FILE_KEY_BYTES, &stanza.body).ok()?);
        Some(file_key::from_opened(&file_key))
    }
}

#[cfg(test)]
mod tests;
