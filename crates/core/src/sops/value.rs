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

use std::collections::HashMap;
use std::fmt;
use std::io::Write as _;

use aes_gcm::aead::consts::{U12, U16, U32};
use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::aes::Aes256;
use aes_gcm::{AesGcm, Nonce, Tag};
use base64::Engine as _;
use base64::engine::{GeneralPurpose, GeneralPurposeConfig};
use secrecy::{ExposeSecret, SecretBox};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use crate::gofmt;
use crate::tree::{Text, Value};

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

/// A file's 32-byte data key: every value is encrypted with it.
///
/// The bytes live in a [`SecretBox`] and are zeroized on drop; `Debug` never shows them.
pub struct DataKey(SecretBox<[u8; DATA_KEY_BYTES]>);

/// A slice that is not 32 bytes long was given as a data key.
#[derive(Debug, thiserror::Error)]
#[error("a data key must be {DATA_KEY_BYTES} bytes, got {len}")]
pub struct DataKeyLengthError {
    /// The length that was given.
    pub len: usize,
}

impl DataKey {
    /// A fresh random data key, as sops makes on `encrypt` and `rotate`.
    ///
    /// # Errors
    ///
    /// [`RandomError`] when the operating system's random number generator fails.
    pub fn generate() -> Result<Self, RandomError> {
        let mut failure = None;
        let secret = SecretBox::init_with_mut(|bytes: &mut [u8; DATA_KEY_BYTES]| {
            failure = fill_random(bytes).err();
        });
        match failure {
            Some(error) => Err(error),
            None => Ok(Self(secret)),
        }
    }

    /// Wraps 32 bytes (for example a data key decrypted by a master key).
    ///
    /// # Errors
    ///
    /// [`DataKeyLengthError`] when `bytes` is not 32 bytes long.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DataKeyLengthError> {
        if bytes.len() != DATA_KEY_BYTES {
            return Err(DataKeyLengthError { len: bytes.len() });
        }
        Ok(Self(SecretBox::init_with_mut(
            |key: &mut [u8; DATA_KEY_BYTES]| {
                key.copy_from_slice(bytes);
            },
        )))
    }

    /// The key bytes. Each call is a place where key material leaves its wrapper.
    pub fn expose_secret(&self) -> &[u8; DATA_KEY_BYTES] {
        self.0.expose_secret()
    }
}

impl Clone for DataKey {
    fn clone(&self) -> Self {
        let bytes = self.expose_secret();
        Self(SecretBox::init_with_mut(
            |key: &mut [u8; DATA_KEY_BYTES]| {
                key.copy_from_slice(bytes);
            },
        ))
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataKey").finish_non_exhaustive()
    }
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

/// Why a string could not be read as an `ENC[...]` value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ParseEncryptedValueError {
    /// The text does not have the `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]` shape.
    #[error("value is not in sops' ENC[AES256_GCM,...] format")]
    NotEncrypted,
    /// The text is longer than `MAX_ENCRYPTED_VALUE_BYTES`: no value aesec or sops writes
    /// from a file that fits in a repository is that long.
    #[error("encrypted value is {len} bytes long, over the limit of {limit} bytes")]
    TooLong {
        /// The length of the text.
        len: usize,
        /// `MAX_ENCRYPTED_VALUE_BYTES`.
        limit: usize,
    },
    /// A field is not valid base64.
    #[error("the {field} field of an encrypted value is not valid base64")]
    InvalidBase64 {
        /// `data`, `iv` or `tag`.
        field: &'static str,
        /// The decoder's error.
        #[source]
        source: base64::DecodeError,
    },
    /// The `type:` is none of sops' types.
    #[error("unknown type '{type_name}' in encrypted value")]
    UnknownType {
        /// The type name found (lossily decoded).
        type_name: String,
    },
}

/// One parsed `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]` value.
///
/// `Display` writes it back in sops' format.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct EncryptedValue {
    /// The ciphertext without the tag (as long as the plaintext).
    pub data: Vec<u8>,
    /// The GCM nonce (32 bytes when sops wrote it).
    pub iv: Vec<u8>,
    /// The GCM tag (16 bytes when valid).
    pub tag: Vec<u8>,
    /// How to read the plaintext.
    pub value_type: ValueType,
}

impl fmt::Debug for EncryptedValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptedValue")
            .field("data_len", &self.data.len())
            .field("value_type", &self.value_type)
            .finish_non_exhaustive()
    }
}

/// Splits `text` into the four raw fields the way sops' regex does, or `None`.
///
/// Greedy groups mean: the `data` field is as long as possible, then `iv`, then `tag`, then
/// `type`; every field is non-empty; nothing matches past the first newline. Those choices
/// nest: the `]` is the last one on the line, the `,type:` the last one that leaves a
/// non-empty type before it, the `,tag:` the last one before that `,type:` that leaves a
/// non-empty tag, and the `,iv:` likewise. So four backward scans find them, and the work is
/// linear in the length of the line (a backtracking search over every combination is not).
fn split_fields(text: &[u8]) -> Option<[&[u8]; 4]> {
    let rest = text.strip_prefix(ENC_PREFIX)?;
    let line = rest.split(|&b| b == b'\n').next().unwrap_or_default();
    let close = line.iter().rposition(|&b| b == b']')?;
    let type_at = last_delimiter_before(line, b",type:", close)?;
    let tag_at = last_delimiter_before(line, b",tag:", type_at)?;
    let iv_at = last_delimiter_before(line, b",iv:", tag_at)?;
    if iv_at == 0 {
        // The data field would be empty.
        return None;
    }
    Some([
        line.get(..iv_at)?,
        line.get(iv_at + 4..tag_at)?,
        line.get(tag_at + 5..type_at)?,
        line.get(type_at + 6..close)?,
    ])
}

/// The start of the last `delimiter` in `line` that ends before `next - 1`, so that the field
/// between it and position `next` is not empty.
fn last_delimiter_before(line: &[u8], delimiter: &[u8], next: usize) -> Option<usize> {
    line.get(..next.checked_sub(1)?)?
        .windows(delimiter.len())
        .rposition(|window| window == delimiter)
}

impl EncryptedValue {
    /// Whether `text` has the `ENC[AES256_GCM,…]` shape (sops' regex matches).
    pub(crate) fn is_encrypted(text: &[u8]) -> bool {
        split_fields(text).is_some()
    }

    /// Parses sops' `ENC[...]` text. Any IV length is accepted here.
    ///
    /// # Errors
    ///
    /// [`ParseEncryptedValueError`] when the shape, the base64 or the type is wrong.
    pub(crate) fn parse(text: &[u8]) -> Result<Self, ParseEncryptedValueError> {
        if text.len() > MAX_ENCRYPTED_VALUE_BYTES {
            return Err(ParseEncryptedValueError::TooLong {
                len: text.len(),
                limit: MAX_ENCRYPTED_VALUE_BYTES,
            });
        }
        let [data, iv, tag, type_name] =
            split_fields(text).ok_or(ParseEncryptedValueError::NotEncrypted)?;
        let decode = |field: &'static str, bytes: &[u8]| {
            BASE64
                .decode(bytes)
                .map_err(|source| ParseEncryptedValueError::InvalidBase64 { field, source })
        };
        let value_type = ValueType::from_name(type_name).ok_or_else(|| {
            ParseEncryptedValueError::UnknownType {
                type_name: String::from_utf8_lossy(type_name).into_owned(),
            }
        })?;
        Ok(Self {
            data: decode("data", data)?,
            iv: decode("iv", iv)?,
            tag: decode("tag", tag)?,
            value_type,
        })
    }
}

impl fmt::Display for EncryptedValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::with_capacity(
            ENC_PREFIX.len() + 4 * (self.data.len() + self.iv.len() + self.tag.len()) / 3 + 40,
        );
        out.push_str("ENC[AES256_GCM,data:");
        BASE64.encode_string(&self.data, &mut out);
        out.push_str(",iv:");
        BASE64.encode_string(&self.iv, &mut out);
        out.push_str(",tag:");
        BASE64.encode_string(&self.tag, &mut out);
        out.push_str(",type:");
        out.push_str(self.value_type.as_str());
        out.push(']');
        f.write_str(&out)
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
        if plaintext.len() > MAX_VALUE_BYTES {
            return Err(ValueError::ValueTooLong {
                len: plaintext.len(),
                limit: MAX_VALUE_BYTES,
            });
        }
        let mut data = plaintext.to_vec();
        let tag = self
            .gcm
            .encrypt_in_place_detached(Nonce::<U32>::from_slice(iv), aad, &mut data)
            .map_err(|_| ValueError::TooLong)?;
        Ok(EncryptedValue {
            data,
            iv: iv.to_vec(),
            tag: tag.to_vec(),
            value_type,
        })
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
                self.encrypt(&plaintext, value_type, aad, iv)?.to_string(),
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

/// IVs of decrypted values, reused when the same value is encrypted again at the same path.
///
/// sops keeps a map from (plaintext, AAD) to IV in its cipher: re-encrypting an unchanged value
/// after `edit`, `set` or `rotate` then gives the same `iv` (and, with the same key, the same
/// ciphertext). Here the map key is a SHA-256 over a per-stash random salt, the AAD, the type
/// and the plaintext bytes (sops' `ToBytes`), so the stash holds no plaintext; the salt is
/// zeroized on drop, which leaves the stored digests unlinkable to any value. Only 32-byte IVs
/// are stashed.
#[derive(Default)]
pub(crate) struct IvStash {
    salt: Option<Zeroizing<[u8; 32]>>,
    ivs: HashMap<[u8; 32], [u8; IV_BYTES]>,
}

impl fmt::Debug for IvStash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IvStash")
            .field("len", &self.ivs.len())
            .finish_non_exhaustive()
    }
}

impl IvStash {
    /// An empty stash.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// The number of stashed IVs.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.ivs.len()
    }

    fn digest(salt: &[u8; 32], aad: &[u8], value_type: ValueType, plaintext: &[u8]) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(salt);
        hasher.update((aad.len() as u64).to_be_bytes());
        hasher.update(aad);
        hasher.update([value_type.tag()]);
        hasher.update(plaintext);
        hasher.finalize().into()
    }

    /// Records that `plaintext` of `value_type` at `aad` was encrypted with `iv`.
    ///
    /// # Errors
    ///
    /// [`RandomError`] when the salt cannot be generated (first record only).
    pub(crate) fn record(
        &mut self,
        aad: &[u8],
        value_type: ValueType,
        plaintext: &[u8],
        iv: &[u8],
    ) -> Result<(), RandomError> {
        let Ok(iv) = <[u8; IV_BYTES]>::try_from(iv) else {
            return Ok(());
        };
        let salt = match &self.salt {
            Some(salt) => salt,
            None => {
                let mut salt = Zeroizing::new([0u8; 32]);
                fill_random(&mut *salt)?;
                self.salt.insert(salt)
            }
        };
        let digest = Self::digest(salt, aad, value_type, plaintext);
        self.ivs.insert(digest, iv);
        Ok(())
    }

    /// The IV recorded for this exact value at this AAD, if any.
    pub(crate) fn lookup(
        &self,
        aad: &[u8],
        value_type: ValueType,
        plaintext: &[u8],
    ) -> Option<[u8; IV_BYTES]> {
        let salt = self.salt.as_ref()?;
        self.ivs
            .get(&Self::digest(salt, aad, value_type, plaintext))
            .copied()
    }
}

#[cfg(test)]
mod tests;
