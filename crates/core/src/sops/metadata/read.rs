//! Reading the `sops` block: [`Metadata::from_branch`] accepts what any sops version wrote
//! (research/sops-format.md §6.2, §19): legacy empty key lists, JSON floats, dotenv/INI strings,
//! quoted or unquoted timestamps, top-level keys or `key_groups`.

use crate::sops::rules::CryptRule;
use crate::tree::{Branch, Item, Value};

use super::{KIND_ORDER, KeyEntry, KeyGroup, MAX_KEY_ENTRIES, Metadata, MetadataError};

/// Makes a crypt rule from its text.
type MakeRule = fn(String) -> CryptRule;

/// The crypt rule fields, in sops' output order, with their constructors.
const RULE_FIELDS: [(&str, MakeRule); 6] = [
    ("unencrypted_suffix", CryptRule::UnencryptedSuffix),
    ("encrypted_suffix", CryptRule::EncryptedSuffix),
    ("unencrypted_regex", CryptRule::UnencryptedRegex),
    ("encrypted_regex", CryptRule::EncryptedRegex),
    (
        "unencrypted_comment_regex",
        CryptRule::UnencryptedCommentRegex,
    ),
    ("encrypted_comment_regex", CryptRule::EncryptedCommentRegex),
];

impl Metadata {
    /// Reads a `sops` map written by any sops version (or by a store's unflattening).
    ///
    /// # Errors
    ///
    /// [`MetadataError::MissingVersion`] (carrying the rest of the metadata) when `version` is
    /// missing or empty, [`MetadataError::NoKeys`] when no key list is non-empty, and the other
    /// variants, naming the field, for values of the wrong kind.
    pub fn from_branch(branch: &Branch) -> Result<Self, MetadataError> {
        let top_group = read_group(branch, "")?;
        let key_groups = if !top_group.is_empty() {
            vec![top_group]
        } else {
            match lookup(branch, "key_groups") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::List(groups)) => groups
                    .iter()
                    .filter(|g| !matches!(g, Value::Null | Value::Comment(_)))
                    .enumerate()
                    .map(|(i, g)| {
                        let field = format!("key_groups[{i}]");
                        match g {
                            Value::Map(group) => read_group(group, &field),
                            other => Err(invalid(field, "a map", other)),
                        }
                    })
                    .collect::<Result<_, _>>()?,
                Some(other) => return Err(invalid("key_groups".into(), "a list", other)),
            }
        };
        if key_groups.is_empty() {
            return Err(MetadataError::NoKeys);
        }
        let count = key_groups.iter().map(Vec::len).sum();
        if count > MAX_KEY_ENTRIES {
            return Err(MetadataError::TooManyKeyEntries { count });
        }
        let shamir_threshold = match lookup(branch, "shamir_threshold") {
            None | Some(Value::Null) => None,
            Some(value) => Some(read_count(value, "shamir_threshold")?).filter(|t| *t > 0),
        };
        let last_modified = match lookup(branch, "lastmodified") {
            None | Some(Value::Null) => {
                return Err(MetadataError::MissingField {
                    field: "lastmodified".into(),
                });
            }
            Some(value) => read_text(value, "lastmodified")?,
        };
        let mac = optional_text(branch, "mac", "mac")?;
        let mut crypt_rule: Option<(&'static str, CryptRule)> = None;
        for (field, make) in RULE_FIELDS {
            let text = optional_text(branch, field, field)?;
            if text.is_empty() {
                continue;
            }
            if let Some((first, _)) = crypt_rule {
                return Err(MetadataError::ConflictingCryptRules {
                    first,
                    second: field,
                });
            }
            crypt_rule = Some((field, make(text)));
        }
        let mac_only_encrypted = match lookup(branch, "mac_only_encrypted") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            // sops' DecodeNonStrings: any string other than "true" is false.
            Some(Value::Str(text)) => text.as_bytes() == b"true",
            Some(other) => return Err(invalid("mac_only_encrypted".into(), "a bool", other)),
        };
        let version = optional_text(branch, "version", "version")?;
        let metadata = Self {
            key_groups,
            shamir_threshold,
            last_modified,
            mac,
            crypt_rule: crypt_rule.map(|(_, rule)| rule),
            mac_only_encrypted,
            version,
        };
        if metadata.version.is_empty() {
            return Err(MetadataError::MissingVersion {
                metadata: Box::new(metadata),
            });
        }
        Ok(metadata)
    }
}

/// The value under `key`, ignoring comments.
fn lookup<'a>(branch: &'a [Item], key: &str) -> Option<&'a Value> {
    crate::tree::get(branch, key)
}

fn kind_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a bool",
        Value::Int(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Str(_) => "a string",
        Value::Time(_) => "a timestamp",
        Value::Bytes(_) => "bytes",
        Value::Map(_) => "a map",
        Value::List(_) => "a list",
        Value::Comment(_) => "a comment",
    }
}

fn invalid(field: String, expected: &'static str, found: &Value) -> MetadataError {
    MetadataError::InvalidType {
        field,
        expected,
        found: kind_name(found),
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

/// A scalar read as text the way go-yaml fills a string field: strings and timestamps as they
/// are, numbers and bools as their text.
fn read_text(value: &Value, field: &str) -> Result<String, MetadataError> {
    match value {
        Value::Null => Ok(String::new()),
        Value::Str(text) => {
            text.as_str()
                .map(str::to_owned)
                .ok_or_else(|| MetadataError::InvalidType {
                    field: field.to_owned(),
                    expected: "UTF-8 text",
                    found: "invalid UTF-8",
                })
        }
        Value::Time(text) => Ok(text.clone()),
        Value::Int(i) => Ok(i.to_string()),
        Value::Float(f) => Ok(crate::gofmt::format_f(*f)),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(invalid(field.to_owned(), "a string", other)),
    }
}

fn optional_text(branch: &[Item], key: &str, field: &str) -> Result<String, MetadataError> {
    lookup(branch, key).map_or(Ok(String::new()), |v| read_text(v, field))
}

/// A count stored as an integer, a float with no fraction (JSON) or text (dotenv/INI: "2",
/// "2.0").
fn read_count(value: &Value, field: &str) -> Result<usize, MetadataError> {
    let bad = |text: String| MetadataError::InvalidNumber {
        field: field.to_owned(),
        text,
    };
    let from_float = |f: f64, text: String| {
        if f.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&f) {
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "checked to be a whole number within u32 range"
            )]
            Ok(f as usize)
        } else {
            Err(bad(text))
        }
    };
    match value {
        Value::Int(i) => usize::try_from(*i).map_err(|_| bad(i.to_string())),
        Value::Float(f) => from_float(*f, crate::gofmt::format_f(*f)),
        Value::Str(text) => {
            let text = text.to_string_lossy();
            let trimmed = text.trim();
            if let Ok(n) = trimmed.parse::<usize>() {
                Ok(n)
            } else {
                match trimmed.parse::<f64>() {
                    Ok(f) => from_float(f, text.into_owned()),
                    Err(_) => Err(bad(text.into_owned())),
                }
            }
        }
        other => Err(invalid(field.to_owned(), "an integer", other)),
    }
}

/// Reads the key lists of one group (the top level of the block or one `key_groups` element)
/// in sops' load order.
fn read_group(branch: &[Item], prefix: &str) -> Result<KeyGroup, MetadataError> {
    let mut group = KeyGroup::new();
    for kind in KIND_ORDER {
        let field = join(prefix, kind);
        let list = match lookup(branch, kind) {
            None | Some(Value::Null) => continue,
            Some(Value::List(list)) => list,
            Some(other) => return Err(invalid(field, "a list", other)),
        };
        for (i, item) in list
            .iter()
            .filter(|v| !matches!(v, Value::Null | Value::Comment(_)))
            .enumerate()
        {
            let field = format!("{field}[{i}]");
            match item {
                Value::Map(map) => group.push(read_entry(kind, map, &field)?),
                other => return Err(invalid(field, "a map", other)),
            }
        }
    }
    Ok(group)
}

fn read_entry(kind: &str, map: &[Item], prefix: &str) -> Result<KeyEntry, MetadataError> {
    let text = |key: &str| optional_text(map, key, &join(prefix, key));
    Ok(match kind {
        "age" => KeyEntry::Age {
            recipient: text("recipient")?,
            enc: text("enc")?,
        },
        "hc_vault" => KeyEntry::HcVault {
            vault_address: text("vault_address")?,
            engine_path: text("engine_path")?,
            key_name: text("key_name")?,
            created_at: text("created_at")?,
            enc: text("enc")?,
        },
        "pgp" => KeyEntry::Pgp {
            created_at: text("created_at")?,
            enc: text("enc")?,
            fp: text("fp")?,
        },
        "kms" => {
            let field = join(prefix, "context");
            let context = match lookup(map, "context") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Map(ctx)) => ctx
                    .iter()
                    .filter_map(|item| match item {
                        Item::Entry { key, value } => Some((key, value)),
                        Item::Comment(_) => None,
                    })
                    .filter(|(_, value)| !matches!(value, Value::Null))
                    .map(|(key, value)| Ok((key.clone(), read_text(value, &field)?)))
                    .collect::<Result<_, MetadataError>>()?,
                Some(other) => return Err(invalid(field, "a map", other)),
            };
            KeyEntry::Kms {
                arn: text("arn")?,
                role: text("role")?,
                context,
                created_at: text("created_at")?,
                enc: text("enc")?,
                aws_profile: text("aws_profile")?,
            }
        }
        "gcp_kms" => KeyEntry::GcpKms {
            resource_id: text("resource_id")?,
            created_at: text("created_at")?,
            enc: text("enc")?,
        },
        _ => KeyEntry::AzureKv {
            vault_url: text("vault_url")?,
            name: text("name")?,
            version: text("version")?,
            created_at: text("created_at")?,
            enc: text("enc")?,
        },
    })
}
