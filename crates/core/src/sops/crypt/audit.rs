//! A keyless audit of an encrypted tree: the leaves that are visibly wrong without the key.
//!
//! `aesec check` reports them: a value in clear where the crypt rule encrypts, a malformed
//! `ENC[...]`, or a `type:` whose plaintext length it can never have (the `type:` field is not
//! authenticated by sops).

use crate::sops::rules::{CryptRule, InvalidRuleRegexError};
use crate::sops::value::{EncryptedValue, ParseEncryptedValueError, ValueType};
use crate::tree::Tree;

#[cfg(doc)]
use super::DecryptError;
use super::walk::walk_tree;

/// What a keyless look at one leaf finds wrong ([`audit_tree`]).
#[derive(Debug)]
pub(crate) enum Anomaly {
    /// In clear where the crypt rule requires encryption ([`DecryptError::NotEncrypted`]).
    Clear {
        /// What stands there.
        found: ValueType,
    },
    /// `ENC[...]` text that does not parse (bad base64, unknown `type:`): it cannot decrypt.
    Malformed {
        /// Why.
        source: ParseEncryptedValueError,
    },
    /// A `type:` whose plaintext can never have the value's length: the `type:` field is not
    /// authenticated, so it may have been changed (decryption fails or the MAC mismatches).
    TypeLength {
        /// The declared type.
        value_type: ValueType,
        /// The plaintext length in bytes (the length of the decoded `data`).
        length: usize,
    },
}

/// Every leaf of `tree` that the file's crypt `rule` encrypts and that is visibly wrong without
/// the key, with its key path, in document order: a value in clear, a malformed `ENC[...]`, or
/// a `type:` its length cannot hold ([`plausible_length`]). Comments are left out: sops keeps
/// one that does not decrypt as a plain comment.
pub(crate) fn audit_tree(
    tree: &mut Tree,
    rule: Option<&CryptRule>,
) -> Result<Vec<(String, Anomaly)>, InvalidRuleRegexError> {
    let compiled = rule.map(CryptRule::compile).transpose()?;
    let mut found = Vec::new();
    walk_tree(tree, compiled.as_ref(), |slot, context| {
        if !context.encrypt || slot.is_comment() {
            return;
        }
        let anomaly = if let Some(found) = slot.clear_type() {
            Some(Anomaly::Clear { found })
        } else {
            let text = slot.text().filter(|text| !text.is_empty());
            match text.map(EncryptedValue::parse) {
                Some(Err(source)) => Some(Anomaly::Malformed { source }),
                Some(Ok(value)) if !plausible_length(value.value_type, value.data.len()) => {
                    Some(Anomaly::TypeLength {
                        value_type: value.value_type,
                        length: value.data.len(),
                    })
                }
                _ => None,
            }
        };
        if let Some(anomaly) = anomaly {
            found.push((context.key_path(), anomaly));
        }
    });
    Ok(found)
}

/// Whether a plaintext of `length` bytes can be a value of `value_type` as sops (or any tool
/// whose values sops reads back) writes it. GCM keeps lengths, so this needs no key:
///
/// - `bool`: sops writes `True` or `False` (4 or 5 bytes);
/// - `int`: Go's `strconv.Itoa` of an int64, 1 to 20 bytes (`-9223372036854775808`);
/// - `float`: `FormatFloat(f, 'f', -1, 64)` never uses an exponent: at most a sign, `0.`,
///   307 zeros and 17 digits (327 bytes, for values near the smallest normal float);
/// - `time`: RFC 3339 with up to nine fractional digits and an offset, 20 to 35 bytes;
/// - `str`, `bytes`, `comment`: any length.
pub(super) fn plausible_length(value_type: ValueType, length: usize) -> bool {
    match value_type {
        ValueType::Bool => matches!(length, 4 | 5),
        ValueType::Int => (1..=20).contains(&length),
        ValueType::Float => (1..=327).contains(&length),
        ValueType::Time => (20..=35).contains(&length),
        ValueType::Str | ValueType::Bytes | ValueType::Comment => true,
    }
}
