//! What one mapping entry publishes: the decrypted sops subtree turned into a flat map of
//! strings (the layout External Secrets, bank-vaults and vals expect, research §4.5), and its
//! fingerprint.
//!
//! Flattening: a nested map's keys are joined with `.` (`db: {password: x}` → `db.password`);
//! integers, floats, booleans and timestamps become their YAML text, on purpose and always the
//! same way; binary values (sops `type:bytes`, or a string that is not UTF-8) become standard
//! base64 and are listed in [`Content::binary`], which the publisher records as
//! `aesec.encoding.<key>: base64` in the secret's custom metadata (External Secrets decodes
//! them with `decodingStrategy: Base64`). Lists and nulls are refused, and so are keys outside
//! Kubernetes' `[-._a-zA-Z0-9]+` and the key `_raw` (reserved by the Vault Secrets Operator).

use std::collections::BTreeSet;
use std::fmt;

use base64::Engine;
use sha2::{Digest, Sha256};

use aesec::{Item, Value};

use crate::kv2::SecretData;
use crate::publish::PublishError;

/// The flat values of one secret and which of them are base64-encoded binary.
#[derive(Clone, Default, PartialEq)]
pub struct Content {
    /// The values, one per Kubernetes Secret key.
    pub data: SecretData,
    /// The keys whose values are base64 of binary data.
    pub binary: BTreeSet<String>,
}

impl fmt::Debug for Content {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Content")
            .field("data", &self.data)
            .field("binary", &self.binary)
            .finish()
    }
}

impl Content {
    /// Flattens a decrypted map; `source` (file and key path) names it in errors.
    ///
    /// ```
    /// use aesec::{Item, Value};
    /// use aesec_bao_bridge::publish::Content;
    ///
    /// let db = Value::Map(vec![Item::Entry { key: "password".into(), value: Value::Str("x".into()) }]);
    /// let tree = Value::Map(vec![Item::Entry { key: "db".into(), value: db }]);
    /// let content = Content::from_value(&tree, "k8s/db.yaml")?;
    /// assert_eq!(content.data.get_str("db.password"), Some("x"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_value(value: &Value, source: &str) -> Result<Self, PublishError> {
        let Value::Map(branch) = value else {
            return Err(PublishError::Flatten {
                source_name: source.to_owned(),
                key: String::new(),
                reason: "the published value is not a map",
            });
        };
        let mut content = Self::default();
        let mut values = serde_json::Map::new();
        flatten_into(branch, "", source, &mut values, &mut content.binary)?;
        content.data = SecretData::new(values);
        Ok(content)
    }

    /// `sha256:<hex>` of a canonical encoding of the values and the binary markers: equal
    /// fingerprints mean equal content, so a push can skip a secret after a metadata read alone.
    pub fn fingerprint(&self) -> String {
        let mut hash = Sha256::new();
        // Keys are sorted (the map keeps insertion order, so sort here); each field is
        // length-prefixed, so no two contents share an encoding.
        let mut keys: Vec<&String> = self.data.expose().keys().collect();
        keys.sort();
        for key in keys {
            let value = self.data.get_str(key).unwrap_or_default();
            for part in [key.as_bytes(), value.as_bytes()] {
                hash.update((part.len() as u64).to_be_bytes());
                hash.update(part);
            }
            hash.update([u8::from(self.binary.contains(key))]);
        }
        let digest = hash.finalize();
        let mut text = String::from("sha256:");
        for byte in digest {
            text.push_str(&format!("{byte:02x}"));
        }
        text
    }
}

fn flatten_into(
    branch: &[Item],
    prefix: &str,
    source: &str,
    values: &mut serde_json::Map<String, serde_json::Value>,
    binary: &mut BTreeSet<String>,
) -> Result<(), PublishError> {
    for item in branch {
        let Item::Entry { key, value } = item else {
            continue;
        };
        let name = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        let refuse = |reason| PublishError::Flatten {
            source_name: source.to_owned(),
            key: name.clone(),
            reason,
        };
        let text = match value {
            Value::Map(inner) => {
                flatten_into(inner, &name, source, values, binary)?;
                continue;
            }
            Value::Str(text) => match text.as_str() {
                Some(text) => text.to_owned(),
                None => {
                    binary.insert(name.clone());
                    base64::engine::general_purpose::STANDARD.encode(text.as_bytes())
                }
            },
            Value::Bytes(bytes) => {
                binary.insert(name.clone());
                base64::engine::general_purpose::STANDARD.encode(bytes.as_bytes())
            }
            Value::Bool(flag) => flag.to_string(),
            Value::Int(number) => number.to_string(),
            Value::Float(number) => number.to_string(),
            Value::Time(time) => time.clone(),
            Value::Null => return Err(refuse("null values cannot be published")),
            Value::List(_) => return Err(refuse("lists cannot be published")),
            Value::Comment(_) => continue,
        };
        if name == "_raw"
            || name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
        {
            return Err(refuse(
                "not a Kubernetes Secret key ([-._a-zA-Z0-9]+, and not '_raw')",
            ));
        }
        if values
            .insert(name.clone(), serde_json::Value::String(text))
            .is_some()
        {
            return Err(refuse("two values flatten to this key"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, value: Value) -> Item {
        Item::Entry {
            key: key.to_owned(),
            value,
        }
    }

    #[test]
    fn flattens_stringifies_and_marks_binary() {
        let tree = Value::Map(vec![
            entry("user", Value::Str("alice".into())),
            entry("port", Value::Int(5432)),
            entry("tls", Value::Bool(true)),
            entry(
                "db",
                Value::Map(vec![entry("password", Value::Str("pw".into()))]),
            ),
            entry("blob", Value::Bytes(vec![0xff, 0x00].into())),
        ]);
        let content = Content::from_value(&tree, "f.yaml").unwrap();
        assert_eq!(content.data.get_str("port"), Some("5432"));
        assert_eq!(content.data.get_str("tls"), Some("true"));
        assert_eq!(content.data.get_str("db.password"), Some("pw"));
        assert_eq!(content.data.get_str("blob"), Some("/wA="));
        assert_eq!(content.binary, BTreeSet::from(["blob".to_owned()]));
        assert!(!format!("{content:?}").contains("alice"));
    }

    #[test]
    fn fingerprint_changes_with_any_value_or_marker_only() {
        let one = |value: &str| {
            Content::from_value(
                &Value::Map(vec![
                    entry("a", Value::Str(value.into())),
                    entry("b", Value::Str("x".into())),
                ]),
                "f",
            )
            .unwrap()
        };
        assert_eq!(one("1").fingerprint(), one("1").fingerprint());
        assert_ne!(one("1").fingerprint(), one("2").fingerprint());
        let mut marked = one("1");
        marked.binary.insert("a".to_owned());
        assert_ne!(marked.fingerprint(), one("1").fingerprint());
    }

    #[test]
    fn refuses_lists_nulls_and_bad_keys() {
        for bad in [
            entry("l", Value::List(vec![])),
            entry("n", Value::Null),
            entry("_raw", Value::Str("x".into())),
            entry("a b", Value::Str("x".into())),
        ] {
            let result = Content::from_value(&Value::Map(vec![bad]), "f");
            assert!(
                matches!(result, Err(PublishError::Flatten { .. })),
                "{result:?}"
            );
        }
    }
}
