//! The data key and the value cipher: sops' `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]` strings.
//!
//! Every encrypted leaf of a sops file is one AES-256-GCM encryption under the file's 32-byte
//! data key (sops `aes/cipher.go`). Compatibility choices made here:
//!
//! - **32-byte IVs.** sops uses `cipher.NewGCMWithNonceSize(aes, 32)`, so the GCM pre-counter
//!   block is derived with GHASH (NIST SP 800-38D) instead of the usual 96-bit nonce. That is
//!   [`AesGcm<Aes256, U32>`]. On decryption sops takes the nonce size from the decoded `iv`;
//!   we accept 12, 16 and 32 bytes.
//! - **The text format.** Fields are standard base64 with padding; parsing follows the regex
//!   `^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]` (greedy, unanchored at the end,
//!   `.` stopping at a newline), written out by hand in [`EncryptedValue::parse`].
//! - **Typed plaintext.** Before encryption a value becomes bytes as Go prints it ([`ValueType`]);
//!   decryption parses them back (bools like Go's `strconv.ParseBool`).
//! - **Empty values** (`""`, an empty comment) are never encrypted.
//! - **The IV stash** ([`IvStash`]): an unchanged value re-encrypted at the same path reuses its
//!   IV, so its ciphertext stays byte-identical and git diffs stay small.
//!
//! This file holds the cipher and the typed plaintexts; the data key (`value/data_key.rs`), the
//! `ENC[...]` text (`value/encrypted.rs`) and the IV stash (`value/stash.rs`) have files of their
//! own.

use std::fmt;
use std::io::Write as _;

use aes_gcm::aead::consts::{U12, U16, U32};
use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::aes::Aes256;
use aes_gcm::{AesGcm, Nonce, Tag};
use base64::engine::{GeneralPurpose, GeneralPurposeConfig};
use zeroize::Zeroizing;

use crate::gofmt;
use crate::tree::{Text, Value};

mod data_key;
mod encrypted;
mod stash;

pub use data_key::{DataKey, DataKeyLengthError};
pub(crate) use encrypted::EncryptedValue;
pub use encrypted::ParseEncryptedValueError;
pub(crate) use stash::IvStash;

/// The length of a data key.
pub(crate) const DATA_KEY_BYTES: usize = 32;
/// The length of the IVs sops generates.
pub(crate) const IV_BYTES: usize = 32;
/// The length of a GCM tag.
pub(crate) const TAG_BYTES: usize = 16;

/// The longest plaintext one value may hold: 128 MiB.
///
/// The binary store keeps a whole file in one value, so this is the largest file aesec
/// encrypts. It is above what a repository can hold (GitHub refuses files over 100 MiB, and
/// the `ENC[...]` text is a third longer than its plaintext), and it bounds the work and
/// memory one value costs whoever opens a file they did not write.
pub(crate) const MAX_VALUE_BYTES: usize = 128 << 20;

/// The longest `ENC[...]` text accepted: a [`MAX_VALUE_BYTES`] plaintext with sops' 32-byte
/// IV, the tag and the longest type name.
pub(crate) const MAX_ENCRYPTED_VALUE_BYTES: usize = ENC_PREFIX.len()
    + base64_len(MAX_VALUE_BYTES)
    + ",iv:".len()
    + base64_len(IV_BYTES)
    + ",tag:".len()
    + base64_len(TAG_BYTES)
    + ",type:".len()
    + "comment".len()
    + "]".len();

/// The prefix every encrypted value starts with.
const ENC_PREFIX: &[u8] = b"ENC[AES256_GCM,data:";

/// The length of `len` bytes in padded base64.
const fn base64_len(len: usize) -> usize {
    len.div_ceil(3) * 4
}

/// Go's `base64.StdEncoding`: padded, and lenient about non-zero trailing bits when decoding.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
);

/// sops' cipher: AES-256-GCM with a 32-byte nonce.
type SopsGcm = AesGcm<Aes256, U32>;

/// The operating system's random number generator failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot get random bytes from the operating system")]
pub struct RandomError(#[source] pub getrandom::Error);

/// Fills `buf` from the operating system's random number generator.
pub(crate) fn fill_random(buf: &mut [u8]) -> Result<(), RandomError> {
    getrandom::getrandom(buf).map_err(RandomError)
}

/// The `type:` of an encrypted value: how its plaintext bytes are read back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ValueType {
    /// `str`: the raw bytes.
    Str,
    /// `int`: decimal text (`strconv.Itoa`).
    Int,
    /// `float`: Go's `FormatFloat(f, 'f', -1, 64)`.
    Float,
    /// `bool`: `True` / `False`.
    Bool,
    /// `time`: RFC 3339 with nanoseconds as Go's `MarshalText` writes it.
    Time,
    /// `comment`: comment text without the leading `#`.
    Comment,
    /// `bytes`: raw bytes (sops 3.11 only ever decrypts these).
    Bytes,
}

impl ValueType {
    /// Every type, in the order sops' cipher lists them.
    pub const ALL: [Self; 7] = [
        Self::Str,
        Self::Int,
        Self::Float,
        Self::Bytes,
        Self::Bool,
        Self::Time,
        Self::Comment,
    ];

    /// The name written after `type:`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Str => "str",
            Self::Int => "int",
            Self::Float => "float",
            Self::Bool => "bool",
            Self::Time => "time",
            Self::Comment => "comment",
            Self::Bytes => "bytes",
        }
    }

    /// The type with this name, if sops knows it.
    pub fn from_name(name: &[u8]) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str().as_bytes() == name)
    }

    /// A one-byte tag used to keep types apart in hashes.
    fn tag(self) -> u8 {
        match self {
            Self::Str => 1,
            Self::Int => 2,
            Self::Float => 3,
            Self::Bool => 4,
            Self::Time => 5,
            Self::Comment => 6,
            Self::Bytes => 7,
        }
    }
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a value could not be encrypted or decrypted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ValueError {
    /// The text is not a well-formed `ENC[...]` value.
    #[error(transparent)]
    Parse(#[from] ParseEncryptedValueError),
    /// The IV has a length this implementation does not support (12, 16 or 32 bytes).
    #[error("unsupported IV length {len} bytes")]
    UnsupportedIvLength {
        /// The decoded IV length.
        len: usize,
    },
    /// The tag did not verify: wrong key, wrong AAD (value moved to another key), or tampering.
    #[error("authentication failed: wrong data key, value moved, or value modified")]
    Authentication,
    /// The plaintext is too long for AES-GCM.
    #[error("value too long to encrypt")]
    TooLong,
    /// The plaintext is longer than `MAX_VALUE_BYTES`, so its `ENC[...]` text would be
    /// refused on reading.
    #[error("value is {len} bytes long, over the limit of {limit} bytes")]
    ValueTooLong {
        /// The length of the plaintext.
        len: usize,
        /// `MAX_VALUE_BYTES`.
        limit: usize,
    },
    /// The decrypted bytes are not valid for their `type:` (e.g. `type:int` that is not a number).
    #[error("decrypted value is not a valid {value_type}")]
    InvalidPlaintext {
        /// The declared type.
        value_type: ValueType,
    },
}

/// The value cipher bound to one data key (the AES key schedule is computed once).
pub(crate) struct Cipher {
    gcm: SopsGcm,
    key: DataKey,
}

impl fmt::Debug for Cipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cipher").finish_non_exhaustive()
    }
}

impl Cipher {
    /// A cipher for `key`.
    pub(crate) fn new(key: &DataKey) -> Self {
        Self {
            gcm: SopsGcm::new(key.expose_secret().into()),
            key: key.clone(),
        }
    }

    /// Encrypts raw plaintext bytes with a given IV; the caller picks the IV (fresh random, or
    /// from the [`IvStash`]).
    ///
    /// # Errors
    ///
    /// [`ValueError::ValueTooLong`] when the plaintext is over [`MAX_VALUE_BYTES`].
    pub(crate) fn encrypt(
        &self,
        plaintext: &[u8],
        value_type: ValueType,
        aad: &[u8],
        iv: &[u8; IV_BYTES],
    ) -> Result<EncryptedValue, ValueError> {
        let mut data = plaintext.to_vec();
        let tag = self.encrypt_in_place(&mut data, aad, iv)?;
        Ok(EncryptedValue {
            data,
            iv: iv.to_vec(),
            tag: tag.to_vec(),
            value_type,
        })
    }

    /// As [`Cipher::encrypt`], straight to sops' text: `buffer` holds the plaintext and is
    /// encrypted in place (it holds the ciphertext afterwards), so the only allocation is the
    /// text's.
    ///
    /// # Errors
    ///
    /// [`ValueError::ValueTooLong`] when the plaintext is over [`MAX_VALUE_BYTES`].
    pub(crate) fn encrypt_to_text(
        &self,
        buffer: &mut [u8],
        value_type: ValueType,
        aad: &[u8],
        iv: &[u8; IV_BYTES],
    ) -> Result<String, ValueError> {
        let tag = self.encrypt_in_place(buffer, aad, iv)?;
        Ok(encrypted::enc_text(buffer, iv, &tag, value_type))
    }

    /// Encrypts `buffer` in place and returns the tag: the AES-GCM step of both encryptions.
    fn encrypt_in_place(
        &self,
        buffer: &mut [u8],
        aad: &[u8],
        iv: &[u8; IV_BYTES],
    ) -> Result<[u8; TAG_BYTES], ValueError> {
        if buffer.len() > MAX_VALUE_BYTES {
            return Err(ValueError::ValueTooLong {
                len: buffer.len(),
                limit: MAX_VALUE_BYTES,
            });
        }
        let tag = self
            .gcm
            .encrypt_in_place_detached(Nonce::<U32>::from_slice(iv), aad, buffer)
            .map_err(|_| ValueError::TooLong)?;
        Ok(tag.into())
    }

    /// Decrypts an encrypted value to its raw plaintext bytes.
    ///
    /// # Errors
    ///
    /// [`ValueError::Authentication`] on a wrong key, AAD, tag or ciphertext;
    /// [`ValueError::UnsupportedIvLength`] for IVs other than 12, 16 or 32 bytes.
    pub(crate) fn decrypt(
        &self,
        value: &EncryptedValue,
        aad: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, ValueError> {
        if value.tag.len() != TAG_BYTES {
            return Err(ValueError::Authentication);
        }
        let tag = Tag::from_slice(&value.tag);
        let mut buffer = Zeroizing::new(value.data.clone());
        let result = match value.iv.len() {
            32 => self.gcm.decrypt_in_place_detached(
                Nonce::<U32>::from_slice(&value.iv),
                aad,
                &mut buffer,
                tag,
            ),
            16 => AesGcm::<Aes256, U16>::new(self.key.expose_secret().into())
                .decrypt_in_place_detached(
                    Nonce::<U16>::from_slice(&value.iv),
                    aad,
                    &mut buffer,
                    tag,
                ),
            12 => AesGcm::<Aes256, U12>::new(self.key.expose_secret().into())
                .decrypt_in_place_detached(
                    Nonce::<U12>::from_slice(&value.iv),
                    aad,
                    &mut buffer,
                    tag,
                ),
            len => return Err(ValueError::UnsupportedIvLength { len }),
        };
        result.map_err(|_| ValueError::Authentication)?;
        Ok(buffer)
    }

    /// Encrypts a typed leaf: returns the `ENC[...]` text, or `None` when sops leaves the value
    /// as it is (empty strings, comments and bytes; nulls, maps and lists are not leaves).
    ///
    /// # Errors
    ///
    /// [`ValueError::ValueTooLong`] when the plaintext is over [`MAX_VALUE_BYTES`].
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn encrypt_value(
        &self,
        value: &Value,
        aad: &[u8],
        iv: &[u8; IV_BYTES],
    ) -> Result<Option<String>, ValueError> {
        let mut plaintext = Zeroizing::new(Vec::new());
        match plaintext_bytes(value, &mut plaintext) {
            Some(_) if plaintext.is_empty() && is_text(value) => Ok(None),
            Some(value_type) => Ok(Some(
                self.encrypt(&plaintext, value_type, aad, iv)?.to_text(),
            )),
            None => Ok(None),
        }
    }

    /// Decrypts `ENC[...]` text to its typed value.
    ///
    /// # Errors
    ///
    /// [`ValueError`] when the text is malformed, does not authenticate, or its plaintext is not
    /// valid for its type.
    pub(crate) fn decrypt_value(&self, text: &[u8], aad: &[u8]) -> Result<Value, ValueError> {
        let encrypted = EncryptedValue::parse(text)?;
        let plaintext = self.decrypt(&encrypted, aad)?;
        typed_plaintext(encrypted.value_type, plaintext)
    }
}

/// Whether `value` is one of the text leaves whose empty form sops never encrypts.
#[cfg(any(test, feature = "fuzzing"))]
fn is_text(value: &Value) -> bool {
    matches!(value, Value::Str(_) | Value::Comment(_) | Value::Bytes(_))
}

/// Writes a leaf's plaintext bytes as sops serializes them (`ToBytes`) into `out` (cleared
/// first) and returns its type; `None` (and nothing written) for nulls, maps and lists.
pub(crate) fn plaintext_bytes(value: &Value, out: &mut Vec<u8>) -> Option<ValueType> {
    out.clear();
    let value_type = match value {
        Value::Null | Value::Map(_) | Value::List(_) => return None,
        Value::Str(text) => {
            out.extend_from_slice(text.as_bytes());
            ValueType::Str
        }
        Value::Comment(text) => {
            out.extend_from_slice(text.as_bytes());
            ValueType::Comment
        }
        Value::Bytes(text) => {
            out.extend_from_slice(text.as_bytes());
            ValueType::Bytes
        }
        Value::Int(i) => {
            write!(out, "{i}").expect("writing to a Vec cannot fail");
            ValueType::Int
        }
        Value::Float(f) => {
            out.extend_from_slice(gofmt::format_f(*f).as_bytes());
            ValueType::Float
        }
        Value::Bool(b) => {
            out.extend_from_slice(if *b { b"True" } else { b"False" });
            ValueType::Bool
        }
        Value::Time(t) => {
            out.extend_from_slice(t.as_bytes());
            ValueType::Time
        }
    };
    Some(value_type)
}

/// Go's `strconv.ParseBool`.
fn parse_go_bool(bytes: &[u8]) -> Option<bool> {
    match bytes {
        b"1" | b"t" | b"T" | b"TRUE" | b"true" | b"True" => Some(true),
        b"0" | b"f" | b"F" | b"FALSE" | b"false" | b"False" => Some(false),
        _ => None,
    }
}

/// Reads decrypted bytes back as the typed value their `type:` names.
///
/// # Errors
///
/// [`ValueError::InvalidPlaintext`] when the bytes are not valid for the type.
pub(crate) fn typed_plaintext(
    value_type: ValueType,
    plaintext: Zeroizing<Vec<u8>>,
) -> Result<Value, ValueError> {
    let invalid = || ValueError::InvalidPlaintext { value_type };
    let as_str = |bytes: &[u8]| {
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| invalid())
    };
    let take = |mut bytes: Zeroizing<Vec<u8>>| Text::new(std::mem::take(&mut *bytes));
    Ok(match value_type {
        ValueType::Str => Value::Str(take(plaintext)),
        ValueType::Comment => Value::Comment(take(plaintext)),
        ValueType::Bytes => Value::Bytes(take(plaintext)),
        ValueType::Bool => Value::Bool(parse_go_bool(&plaintext).ok_or_else(invalid)?),
        ValueType::Int => {
            let text = Zeroizing::new(as_str(&plaintext)?);
            Value::Int(text.parse().map_err(|_| invalid())?)
        }
        ValueType::Float => {
            let text = Zeroizing::new(as_str(&plaintext)?);
            Value::Float(text.parse().map_err(|_| invalid())?)
        }
        ValueType::Time => {
            let text = as_str(&plaintext)?;
            if text.parse::<jiff::Timestamp>().is_err() {
                return Err(invalid());
            }
            Value::Time(text)
        }
    })
}

#[cfg(test)]
mod tests;
