//! Hybrid post-quantum age recipients (`age1pq1…`) and identities (`AGE-SECRET-KEY-PQ-1…`):
//! ML-KEM-768 combined with X25519, stanza type `mlkem768x25519`.
//!
//! The construction is the one C2SP age specifies and Go age 1.3 (`pq.go`) implements: HPKE
//! (RFC 9180) base mode with the KEM MLKEM768-X25519 (X-Wing, `0x647a`), HKDF-SHA256 and
//! ChaCha20Poly1305. The submodules compose it from RustCrypto crates (`ml-kem`, `sha3`,
//! `hkdf`, `chacha20poly1305`) and `curve25519-dalek`: the KEM, the key schedule and the stanza;
//! the long Bech32 encoding is `super::bech32`, shared with the classic keys. sops 3.12+ (built
//! with Go age 1.3+) reads and writes these keys; rage's `age` crate 0.12 has no such recipient,
//! so these types plug into its [`age::Recipient`] and [`age::Identity`] traits.
//!
//! Keys: a recipient is the 1216-byte public key (ML-KEM-768 encapsulation key ‖ X25519 point)
//! in lower-case Bech32 under `age1pq` (1959 characters); an identity is a 32-byte seed in
//! upper-case Bech32 under `AGE-SECRET-KEY-PQ-` (77 characters), expanded with SHAKE256 into
//! both private keys.

mod hpke;
mod kem;
mod stanza;

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use age::secrecy::SecretString;
use age_core::format::{FileKey, Stanza};
use zeroize::Zeroizing;

use self::kem::{PrivateKey, PublicKey, SEED_BYTES};
use super::bech32;

/// How a post-quantum recipient starts (checked before the generic plugin form `age1…1…`).
pub(crate) const RECIPIENT_PREFIX: &str = "age1pq1";
/// How a post-quantum identity line starts.
pub(crate) const IDENTITY_PREFIX: &str = "AGE-SECRET-KEY-PQ-1";
const RECIPIENT_HRP: &str = "age1pq";
const IDENTITY_HRP: &str = "AGE-SECRET-KEY-PQ-";
/// The label of every stanza made here: age refuses to put these next to classic recipients'
/// stanzas in one file, which would leave the file key open to a quantum attacker.
const POSTQUANTUM_LABEL: &str = "postquantum";

/// A post-quantum recipient: an X-Wing encapsulation key.
#[derive(Clone)]
pub(crate) struct Recipient {
    key: PublicKey,
}

impl FromStr for Recipient {
    type Err = &'static str;

    /// Parses `age1pq1…` exactly (no trimming, lower case only); the ML-KEM part must pass
    /// FIPS 203's modulus check, the X25519 point may be any 32 bytes, as in Go.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes = bech32::decode(s, RECIPIENT_HRP).ok_or("invalid Bech32 encoding")?;
        if bytes.len() != kem::PUBLIC_KEY_BYTES {
            return Err("invalid post-quantum public key length");
        }
        let key = PublicKey::from_bytes(&bytes).ok_or("invalid ML-KEM-768 public key")?;
        Ok(Self { key })
    }
}

impl fmt::Display for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&bech32::encode(RECIPIENT_HRP, self.key.as_bytes()))
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
    ) -> Result<(Vec<Stanza>, HashSet<String>), age::EncryptError> {
        let stanza = stanza::wrap(&self.key, file_key)?;
        Ok((vec![stanza], HashSet::from([POSTQUANTUM_LABEL.to_owned()])))
    }
}

/// A post-quantum identity: the 32-byte seed and the keys it expands to (wiped on drop).
pub(crate) struct Identity {
    key: PrivateKey,
}

impl Identity {
    /// A new identity from the operating system's random source.
    pub(crate) fn generate() -> Result<Self, getrandom::Error> {
        let mut seed = Zeroizing::new([0u8; SEED_BYTES]);
        getrandom::getrandom(seed.as_mut())?;
        Ok(Self {
            key: PrivateKey::from_seed(&seed),
        })
    }

    /// The recipient that encrypts to this identity.
    pub(crate) fn to_public(&self) -> Recipient {
        Recipient {
            key: self.key.public().clone(),
        }
    }

    /// The identity in its `AGE-SECRET-KEY-PQ-1…` form.
    pub(crate) fn to_secret_string(&self) -> SecretString {
        SecretString::from(bech32::encode(IDENTITY_HRP, self.key.seed()))
    }
}

impl FromStr for Identity {
    type Err = &'static str;

    /// Parses `AGE-SECRET-KEY-PQ-1…` exactly (no trimming, upper case only).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes = bech32::decode(s, IDENTITY_HRP).ok_or("invalid Bech32 encoding")?;
        let mut seed = Zeroizing::new([0u8; SEED_BYTES]);
        if bytes.len() != seed.len() {
            return Err("invalid post-quantum identity length");
        }
        seed.copy_from_slice(&bytes);
        Ok(Self {
            key: PrivateKey::from_seed(&seed),
        })
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
    fn unwrap_stanza(&self, stanza: &Stanza) -> Option<Result<FileKey, age::DecryptError>> {
        stanza::unwrap(&self.key, stanza)
    }
}

/// The FiloSottile/hpke test vector for age's suite (`tests/vectors/age-pq/`), shared by the
/// submodules' tests.
#[cfg(test)]
mod hpke_vector {
    /// A hex field of the vector.
    pub(super) fn field(name: &str) -> Vec<u8> {
        let entry: serde_json::Value = serde_json::from_str(include_str!(
            "../../../tests/vectors/age-pq/hpke-pq-647a-0001-0003.json"
        ))
        .expect("the vendored vector is JSON");
        let text = if let Some(rest) = name.strip_prefix("encryptions[0].") {
            &entry["encryptions"][0][rest]
        } else {
            &entry[name]
        };
        decode_hex(text.as_str().expect("hex fields are strings"))
    }

    fn decode_hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex digits"))
            .collect()
    }
}

#[cfg(test)]
mod tests;
