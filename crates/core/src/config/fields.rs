//! Reading the values of a parsed `.sops.yaml` as sops does: field lookup (the last of
//! repeated keys wins), scalars and comma strings, and the [`Context`] that names the file and
//! rule in a type error.

use std::path::Path;

use super::ConfigError;
use crate::tree::{Item, Value};

/// Where in the config a value sits, for error messages.
pub(super) struct Context<'a> {
    /// The config file.
    pub(super) config: &'a Path,
    /// The rule index, when inside a rule.
    pub(super) rule: Option<usize>,
}

impl Context<'_> {
    pub(super) fn field_type(
        &self,
        field: impl Into<String>,
        expected: &'static str,
    ) -> ConfigError {
        ConfigError::FieldType {
            config: self.config.to_path_buf(),
            rule: self.rule,
            field: field.into(),
            expected,
        }
    }
}

/// Looks up `key` among the entries of a map.
pub(super) fn get<'a>(items: &'a [Item], key: &str) -> Option<&'a Value> {
    crate::tree::get(items, key)
}

/// The elements of a list, comments left out.
pub(super) fn list_values(values: &[Value]) -> impl Iterator<Item = &Value> {
    values
        .iter()
        .filter(|value| !matches!(value, Value::Comment(_)))
}

/// A scalar of the config read as text (`store::yaml::parse_as_text`): the string go-yaml
/// decodes into a string field; `None` for null.
pub(super) fn scalar_text(
    value: &Value,
    context: &Context<'_>,
    field: &str,
) -> Result<Option<String>, ConfigError> {
    match value {
        Value::Null => Ok(None),
        Value::Str(text) => Ok(Some(text.to_string_lossy().into_owned())),
        _ => Err(context.field_type(field, "a string")),
    }
}

/// A string field of a map entry; empty when absent.
pub(super) fn map_text(
    items: &[Item],
    name: &str,
    context: &Context<'_>,
    field: &str,
) -> Result<String, ConfigError> {
    match get(items, name) {
        Some(value) => {
            Ok(scalar_text(value, context, &format!("{field}.{name}"))?.unwrap_or_default())
        }
        None => Ok(String::new()),
    }
}

/// A boolean as go-yaml v3 decodes into a `bool` field: a YAML boolean, or a string that is
/// one of YAML 1.1's words for one (quoted or not). A quoted `'true'` is a string that is not
/// such a word, and sops 3.11 refuses it ("cannot unmarshal !!str `true` into bool").
pub(super) fn bool_value(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(value) => Some(*value),
        Value::Str(text) => match text.as_str()? {
            "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => Some(true),
            "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// A flat key field as sops 3.11 reads it: a string is split at commas, its pieces trimmed and
/// the empty ones dropped; a list's entries must be strings, and are joined with commas and
/// split again ([`split_keys`]), so an empty entry or piece (`[a, '']`, `['a,', b]`) stays a
/// key of its own, which no key type accepts (sops: "unknown recipient type").
pub(super) fn comma_list(
    value: &Value,
    context: &Context<'_>,
    field: &str,
) -> Result<Vec<String>, ConfigError> {
    match value {
        Value::List(values) => {
            let mut entries = Vec::new();
            for (i, value) in list_values(values).enumerate() {
                let Value::Str(text) = value else {
                    return Err(context.field_type(format!("{field}[{i}]"), "a string"));
                };
                entries.push(text.to_string_lossy().into_owned());
            }
            Ok(split_keys(&entries.join(",")))
        }
        value => Ok(scalar_text(value, context, field)?
            .map(|text| split_commas(&text))
            .unwrap_or_default()),
    }
}

/// Splits a comma string as sops splits a flat key field's string: pieces trimmed, empty ones
/// dropped.
pub(super) fn split_commas(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|key| !key.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Comma-separated keys as sops splits them into master keys (`age.MasterKeysFromRecipients`):
/// none for an empty text, else every piece trimmed, the empty ones kept.
pub(super) fn split_keys(text: &str) -> Vec<String> {
    if text.is_empty() {
        return Vec::new();
    }
    text.split(',').map(|key| key.trim().to_owned()).collect()
}

pub(super) fn dedup_by_key<T, K: Ord>(values: &mut Vec<T>, key: impl Fn(&T) -> K) {
    let mut seen = std::collections::BTreeSet::new();
    values.retain(|value| seen.insert(key(value)));
}
