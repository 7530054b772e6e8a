//! The file MAC: SHA-512 over the leaf plaintexts, stored encrypted under `sops.mac`.
//!
//! sops (`sops.go` `Tree.Encrypt`/`Decrypt`) hashes the plaintext bytes of every non-comment,
//! non-null leaf in document order, with no separators; with `mac_only_encrypted` it first hashes
//! `sha256("sops")` and then only the leaves that are encrypted. The result is written as 128
//! uppercase hex digits and encrypted as a `type:str` value whose AAD is `lastmodified`
//! re-formatted by Go's `time.RFC3339` layout (so `…:16.000Z` authenticates as `…:16Z`).
//! MACs are compared in constant time.

use std::fmt;

use sha2::{Digest as _, Sha512};
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

use crate::secret::SecretBuf;
use crate::sops::value::{Cipher, IV_BYTES, ValueError, ValueType, fill_random};
use crate::tree::Value;

/// `sha256("sops")`, hashed first when `mac_only_encrypted` is set.
pub(crate) const MAC_ONLY_ENCRYPTED_PREFIX: [u8; 32] = [
    0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34, 0xf3, 0xd1, 0x47, 0xbe, 0x0b,
    0x0b, 0x97, 0x5b, 0x3b, 0xf4, 0x4f, 0x72, 0xc6, 0xfd, 0xad, 0xec, 0x81, 0x76, 0xf2, 0x7d, 0x69,
];

/// A MAC as sops writes it: 128 uppercase hex digits.
///
/// A MAC of low-entropy values can confirm guesses, so it is kept like a secret: zeroized on
/// drop, redacted in `Debug`, compared in constant time.
#[derive(Clone)]
pub(crate) struct MacHex(Zeroizing<String>);

impl MacHex {
    /// Wraps MAC text (for example the decrypted `sops.mac`).
    pub(crate) fn new(text: String) -> Self {
        Self(Zeroizing::new(text))
    }

    /// The hex text.
    pub(crate) fn expose_secret(&self) -> &str {
        &self.0
    }

    /// Constant-time equality.
    pub(crate) fn ct_eq(&self, other: &Self) -> bool {
        bool::from(self.0.as_bytes().ct_eq(other.0.as_bytes()))
    }
}

impl fmt::Debug for MacHex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MacHex").finish_non_exhaustive()
    }
}

/// Incremental MAC computation over leaf plaintexts.
pub(crate) struct MacHasher {
    hash: Sha512,
    only_encrypted: bool,
}

impl fmt::Debug for MacHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MacHasher")
            .field("only_encrypted", &self.only_encrypted)
            .finish_non_exhaustive()
    }
}

/// Whether a scope that covers `only_encrypted` leaves covers a leaf that is `encrypted`.
fn covers(only_encrypted: bool, encrypted: bool) -> bool {
    encrypted || !only_encrypted
}

/// The plaintext that one part of a tree adds to the MAC, gathered while the part is walked
/// (parts are walked in parallel) and hashed in document order afterwards
/// ([`MacHasher::add_stream`]). The bytes are wiped when dropped and as the buffer grows.
pub(crate) struct MacStream {
    bytes: SecretBuf,
    only_encrypted: bool,
}

impl MacStream {
    /// An empty stream for the given scope.
    pub(crate) fn new(scope: MacScope) -> Self {
        Self {
            bytes: SecretBuf::new(),
            only_encrypted: scope == MacScope::OnlyEncrypted,
        }
    }

    /// Adds one leaf's plaintext if the scope covers it ([`MacHasher::add_leaf`]).
    pub(crate) fn add_leaf(&mut self, plaintext: &[u8], encrypted: bool) {
        if covers(self.only_encrypted, encrypted) {
            self.bytes.extend_from_slice(plaintext);
        }
    }
}

/// Whether the MAC covers all leaves or only encrypted ones (`mac_only_encrypted`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum MacScope {
    /// Every non-null, non-comment leaf (sops' default).
    #[default]
    AllValues,
    /// Only encrypted leaves, after the `sha256("sops")` prefix.
    OnlyEncrypted,
}

impl MacScope {
    /// The scope for sops' `mac_only_encrypted` flag.
    pub(crate) fn from_mac_only_encrypted(mac_only_encrypted: bool) -> Self {
        if mac_only_encrypted {
            Self::OnlyEncrypted
        } else {
            Self::AllValues
        }
    }
}

impl MacHasher {
    /// A hasher for the given scope.
    pub(crate) fn new(scope: MacScope) -> Self {
        let mut hash = Sha512::new();
        let only_encrypted = scope == MacScope::OnlyEncrypted;
        if only_encrypted {
            hash.update(MAC_ONLY_ENCRYPTED_PREFIX);
        }
        Self {
            hash,
            only_encrypted,
        }
    }

    /// Adds one leaf's plaintext (sops' `ToBytes`) if the scope covers it.
    pub(crate) fn add_leaf(&mut self, plaintext: &[u8], encrypted: bool) {
        if covers(self.only_encrypted, encrypted) {
            self.hash.update(plaintext);
        }
    }

    /// Adds what a part of the tree gathered, as if its leaves were added one by one.
    pub(crate) fn add_stream(&mut self, stream: &MacStream) {
        self.hash.update(stream.bytes.as_slice());
    }

    /// The MAC text.
    pub(crate) fn finish(self) -> MacHex {
        let mut digest = [0u8; 64];
        digest.copy_from_slice(&self.hash.finalize());
        let digest = Zeroizing::new(digest);
        let mut text = Zeroizing::new(String::with_capacity(128));
        for byte in digest.iter() {
            let hex = b"0123456789ABCDEF";
            text.push(char::from(hex[usize::from(byte >> 4)]));
            text.push(char::from(hex[usize::from(byte & 0xF)]));
        }
        MacHex(text)
    }
}

/// Why the MAC could not be encrypted, decrypted or verified.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MacError {
    /// `lastmodified` is not an RFC 3339 timestamp Go would accept.
    #[error("invalid lastmodified timestamp '{value}'")]
    InvalidLastModified {
        /// The text found.
        value: String,
    },
    /// The file has no MAC.
    #[error("no MAC")]
    Missing,
    /// The stored MAC could not be decrypted (wrong key, changed `lastmodified`, tampering).
    #[error("cannot decrypt the MAC")]
    Decrypt(#[source] ValueError),
    /// The stored MAC decrypted to something that is not text.
    #[error("the decrypted MAC is not a string")]
    NotText,
    /// The stored MAC differs from the one computed over the values.
    #[error("MAC mismatch")]
    Mismatch,
    /// No random IV could be generated.
    #[error(transparent)]
    Random(#[from] crate::sops::value::RandomError),
    /// The MAC could not be encrypted.
    #[error("cannot encrypt the MAC")]
    Encrypt(#[source] ValueError),
}

/// Re-formats `lastmodified` the way Go's `time.Parse(time.RFC3339, …).Format(time.RFC3339)`
/// does: fractional seconds dropped, a zero offset written `Z`, other offsets kept.
///
/// # Errors
///
/// [`MacError::InvalidLastModified`] when the text is not RFC 3339.
pub(crate) fn lastmodified_aad(lastmodified: &str) -> Result<String, MacError> {
    let invalid = || MacError::InvalidLastModified {
        value: lastmodified.to_owned(),
    };
    let bytes = lastmodified.as_bytes();
    let shape = b"dddd-dd-ddTdd:dd:dd";
    if bytes.len() < shape.len()
        || !shape.iter().zip(bytes).all(|(&s, &b)| {
            if s == b'd' {
                b.is_ascii_digit()
            } else {
                s == b
            }
        })
    {
        return Err(invalid());
    }
    let (civil, mut rest) = lastmodified.split_at(shape.len());
    civil
        .parse::<jiff::civil::DateTime>()
        .map_err(|_| invalid())?;
    if let Some(fraction) = rest.strip_prefix(['.', ',']) {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(invalid());
        }
        rest = &fraction[digits..];
    }
    let offset = match rest.as_bytes() {
        b"Z" => "Z",
        [b'+' | b'-', h1, h2, b':', m1, m2]
            if [h1, h2, m1, m2].iter().all(|b| b.is_ascii_digit()) =>
        {
            let hours = (h1 - b'0') * 10 + (h2 - b'0');
            let minutes = (m1 - b'0') * 10 + (m2 - b'0');
            if hours > 23 || minutes > 59 {
                return Err(invalid());
            }
            if hours == 0 && minutes == 0 {
                "Z"
            } else {
                rest
            }
        }
        _ => return Err(invalid()),
    };
    Ok(format!("{civil}{offset}"))
}

/// The current time as sops writes `lastmodified`: whole seconds, UTC, `Z`.
pub fn now_lastmodified() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Encrypts a MAC for `sops.mac` with a fresh IV and AAD from `lastmodified`.
///
/// # Errors
///
/// [`MacError`] when `lastmodified` is invalid or no random IV is available.
pub(crate) fn encrypt_mac(
    cipher: &Cipher,
    mac: &MacHex,
    lastmodified: &str,
) -> Result<String, MacError> {
    let aad = lastmodified_aad(lastmodified)?;
    let mut iv = [0u8; IV_BYTES];
    fill_random(&mut iv)?;
    let value = cipher
        .encrypt(
            mac.expose_secret().as_bytes(),
            ValueType::Str,
            aad.as_bytes(),
            &iv,
        )
        .map_err(MacError::Encrypt)?;
    Ok(value.to_string())
}

/// Decrypts `sops.mac`.
///
/// # Errors
///
/// [`MacError::Missing`] for an empty MAC, [`MacError::Decrypt`] when it does not authenticate.
pub(crate) fn decrypt_mac(
    cipher: &Cipher,
    stored: &str,
    lastmodified: &str,
) -> Result<MacHex, MacError> {
    if stored.is_empty() {
        return Err(MacError::Missing);
    }
    let aad = lastmodified_aad(lastmodified)?;
    match cipher
        .decrypt_value(stored.as_bytes(), aad.as_bytes())
        .map_err(MacError::Decrypt)?
    {
        Value::Str(text) => {
            let text = text.as_str().ok_or(MacError::NotText)?;
            Ok(MacHex::new(text.to_owned()))
        }
        _ => Err(MacError::NotText),
    }
}

/// Decrypts `sops.mac` and compares it with the computed MAC in constant time.
///
/// # Errors
///
/// [`MacError::Mismatch`] when they differ, or the errors of [`decrypt_mac`].
pub(crate) fn verify_mac(
    cipher: &Cipher,
    stored: &str,
    lastmodified: &str,
    computed: &MacHex,
) -> Result<(), MacError> {
    let stored = decrypt_mac(cipher, stored, lastmodified)?;
    if stored.ct_eq(computed) {
        Ok(())
    } else {
        Err(MacError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sops::value::DataKey;

    #[test]
    fn prefix_is_sha256_of_sops() {
        let digest: [u8; 32] = sha2::Sha256::digest(b"sops").into();
        assert_eq!(digest, MAC_ONLY_ENCRYPTED_PREFIX);
    }

    #[test]
    fn lastmodified_is_reformatted_like_go() {
        for (stored, aad) in [
            ("2026-11-22T03:22:16Z", "2026-11-22T03:22:16Z"),
            ("2026-11-22T03:22:16.000Z", "2026-11-22T03:22:16Z"),
            (
                "2026-11-22T03:22:16.123456789+01:00",
                "2026-11-22T03:22:16+01:00",
            ),
            ("2026-11-22T03:22:16-05:30", "2026-11-22T03:22:16-05:30"),
            ("2026-11-22T03:22:16+00:00", "2026-11-22T03:22:16Z"),
        ] {
            assert_eq!(lastmodified_aad(stored).unwrap(), aad);
        }
        for bad in [
            "",
            "2026-11-22",
            "2026-13-22T03:22:16Z",
            "2026-11-22T03:22:16",
            "2026-11-22 03:22:16Z",
            "2026-11-22T03:22:16.Z",
        ] {
            assert!(
                matches!(
                    lastmodified_aad(bad),
                    Err(MacError::InvalidLastModified { .. })
                ),
                "{bad}"
            );
        }
        let now = now_lastmodified();
        assert_eq!(lastmodified_aad(&now).unwrap(), now);
        assert_eq!(now.len(), 20);
    }

    #[test]
    fn mac_round_trip_and_tampering() {
        let cipher = Cipher::new(&DataKey::from_bytes(&[5; 32]).unwrap());
        let mut hasher = MacHasher::new(MacScope::AllValues);
        hasher.add_leaf(b"alice", true);
        let mac = hasher.finish();
        assert_eq!(mac.expose_secret().len(), 128);
        let stored = encrypt_mac(&cipher, &mac, "2026-11-22T03:22:16Z").unwrap();
        verify_mac(&cipher, &stored, "2026-11-22T03:22:16.000Z", &mac).unwrap();
        assert!(matches!(
            verify_mac(&cipher, &stored, "2026-11-22T03:22:17Z", &mac),
            Err(MacError::Decrypt(ValueError::Authentication))
        ));
        let other = MacHasher::new(MacScope::AllValues).finish();
        assert!(matches!(
            verify_mac(&cipher, &stored, "2026-11-22T03:22:16Z", &other),
            Err(MacError::Mismatch)
        ));
        assert!(matches!(
            verify_mac(&cipher, "", "2026-11-22T03:22:16Z", &mac),
            Err(MacError::Missing)
        ));
        assert!(!format!("{mac:?}").contains(&mac.expose_secret()[..8]));
    }

    #[test]
    fn only_encrypted_scope_skips_clear_values_and_differs() {
        let mut all = MacHasher::new(MacScope::AllValues);
        let mut only = MacHasher::new(MacScope::OnlyEncrypted);
        for h in [&mut all, &mut only] {
            h.add_leaf(b"a", true);
            h.add_leaf(b"b", false);
        }
        let mut expected = Sha512::new();
        expected.update(MAC_ONLY_ENCRYPTED_PREFIX);
        expected.update(b"a");
        let hex: String = expected
            .finalize()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        assert_eq!(only.finish().expose_secret(), hex);
        let hex_all: String = Sha512::digest(b"ab")
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        assert_eq!(all.finish().expose_secret(), hex_all);
    }
}
