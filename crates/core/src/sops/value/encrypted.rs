//! The `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]` text of one encrypted value: parsing it as
//! sops' regex does, and writing it back.

use std::fmt;

use base64::Engine as _;

use super::{BASE64, ENC_PREFIX, MAX_ENCRYPTED_VALUE_BYTES, ValueType};

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
pub(super) fn split_fields(text: &[u8]) -> Option<[&[u8]; 4]> {
    let rest = text.strip_prefix(ENC_PREFIX)?;
    // Checked first: finding that there is no newline is one fast pass.
    let line = if rest.contains(&b'\n') {
        rest.split(|&b| b == b'\n').next().unwrap_or_default()
    } else {
        rest
    };
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
    let before = line.get(..next.checked_sub(1)?)?;
    let mut end = before.len();
    // Each `,` from the end, then the whole delimiter there: one pass over the bytes.
    while let Some(comma) = before.get(..end)?.iter().rposition(|&b| b == b',') {
        if before.get(comma..)?.starts_with(delimiter) {
            return Some(comma);
        }
        end = comma;
    }
    None
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
        within_limit(text)?;
        let fields = split_fields(text).ok_or(ParseEncryptedValueError::NotEncrypted)?;
        Self::from_fields(fields)
    }

    /// [`EncryptedValue::parse`] of `text` when it has the `ENC[…]` shape ([`is_encrypted`]),
    /// `None` when it does not: the shape is found once.
    ///
    /// [`is_encrypted`]: EncryptedValue::is_encrypted
    pub(crate) fn parse_if_encrypted(
        text: &[u8],
    ) -> Option<Result<Self, ParseEncryptedValueError>> {
        let fields = split_fields(text)?;
        Some(within_limit(text).and_then(|()| Self::from_fields(fields)))
    }

    /// The value from the four raw fields [`split_fields`] found.
    fn from_fields(
        [data, iv, tag, type_name]: [&[u8]; 4],
    ) -> Result<Self, ParseEncryptedValueError> {
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

impl EncryptedValue {
    /// The value in sops' format, `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]`.
    pub(crate) fn to_text(&self) -> String {
        enc_text(&self.data, &self.iv, &self.tag, self.value_type)
    }
}

/// Refuses an `ENC[…]` text longer than [`MAX_ENCRYPTED_VALUE_BYTES`].
fn within_limit(text: &[u8]) -> Result<(), ParseEncryptedValueError> {
    if text.len() > MAX_ENCRYPTED_VALUE_BYTES {
        return Err(ParseEncryptedValueError::TooLong {
            len: text.len(),
            limit: MAX_ENCRYPTED_VALUE_BYTES,
        });
    }
    Ok(())
}

/// sops' text of an encrypted value from its parts, built in one allocation of the right size.
/// The base64 is written straight into the bytes, which are checked as UTF-8 once at the end.
pub(super) fn enc_text(data: &[u8], iv: &[u8], tag: &[u8], value_type: ValueType) -> String {
    let encoded = |bytes: &[u8]| bytes.len().div_ceil(3) * 4;
    let mut out = Vec::with_capacity(
        ENC_PREFIX.len()
            + ",iv:,tag:,type:]".len()
            + encoded(data)
            + encoded(iv)
            + encoded(tag)
            + value_type.as_str().len(),
    );
    let base64 = |out: &mut Vec<u8>, bytes: &[u8]| {
        let start = out.len();
        out.resize(start + encoded(bytes), 0);
        let written = BASE64
            .encode_slice(bytes, &mut out[start..])
            .expect("the slice is sized for the padded encoding");
        out.truncate(start + written);
    };
    out.extend_from_slice(ENC_PREFIX);
    base64(&mut out, data);
    out.extend_from_slice(b",iv:");
    base64(&mut out, iv);
    out.extend_from_slice(b",tag:");
    base64(&mut out, tag);
    out.extend_from_slice(b",type:");
    out.extend_from_slice(value_type.as_str().as_bytes());
    out.push(b']');
    String::from_utf8(out).expect("ASCII prefix, base64 and type name")
}

impl fmt::Display for EncryptedValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}
