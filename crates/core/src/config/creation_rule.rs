//! Creation rules: the recipients, key groups and crypt rule a new file gets, per `.sops.yaml`.
//!
//! Each entry of `creation_rules` becomes a [`CreationRule`], read as sops 3.11 reads it
//! (`config/config.go`, research/sops-format.md §11): unknown keys are ignored; the flat key
//! fields (`age`, `pgp`, `hc_vault_transit_uri`, `kms`, `gcp_kms`, `azure_keyvault`) take a
//! comma-separated string or a list and form one key group; `key_groups` (with recursive
//! `merge:`) replaces them; keys are de-duplicated within each `key_groups` entry (not in the
//! flat fields, where sops keeps repeats); a rule sets at most one crypt rule.
//! Unlike sops, which checks a rule only when a file matches it, every rule is checked at load
//! time (an invalid regex or two crypt rules in any rule fail the load).

use std::collections::BTreeMap;
use std::path::Path;

use regex::Regex;

use super::ConfigError;
use super::fields::{
    Context, bool_value, comma_list, dedup_by_key, get, list_values, map_text, scalar_text,
    split_keys,
};
use crate::CryptRule;
use crate::tree::{Item, Value};

/// One entry of `creation_rules`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CreationRule {
    /// The 0-based position of the rule in `creation_rules`.
    pub index: usize,
    /// The rule applies to files whose path matches (unanchored, RE2 syntax); `None` (absent or
    /// empty `path_regex`) matches every file.
    pub path_regex: Option<Regex>,
    /// The key groups; one group for the flat key fields, none when the rule names no key.
    pub key_groups: Vec<KeyGroupSpec>,
    /// How many key groups are needed to decrypt; `None` (absent or 0) means all of them.
    pub shamir_threshold: Option<usize>,
    /// Which leaves are encrypted; `None` means sops' default (`unencrypted_suffix: _unencrypted`).
    pub crypt_rule: Option<CryptRule>,
    /// Whether the MAC covers only encrypted values.
    pub mac_only_encrypted: bool,
}

/// The keys of one key group, by type, as written in `.sops.yaml`.
///
/// age recipients, PGP fingerprints and hc_vault transit URIs are kept as strings (trimmed); the
/// cloud KMS specs are kept for round trips and reporting, aesec does not use them to encrypt.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyGroupSpec {
    /// age recipients (`age1…`, `ssh-ed25519 …`, `ssh-rsa …`).
    pub age: Vec<String>,
    /// PGP fingerprints.
    pub pgp: Vec<String>,
    /// hc_vault transit URIs (`https://host:8200/v1/<engine>/keys/<name>`).
    pub hc_vault: Vec<String>,
    /// AWS KMS keys.
    pub kms: Vec<KmsKeySpec>,
    /// GCP KMS resource IDs.
    pub gcp_kms: Vec<String>,
    /// Azure Key Vault keys as `<vaultUrl>/keys/<key>/<version>`.
    pub azure_keyvault: Vec<String>,
}

impl KeyGroupSpec {
    /// Whether the group names no key at all.
    pub fn is_empty(&self) -> bool {
        self.age.is_empty()
            && self.pgp.is_empty()
            && self.hc_vault.is_empty()
            && self.kms.is_empty()
            && self.gcp_kms.is_empty()
            && self.azure_keyvault.is_empty()
    }

    /// Appends `other`'s keys, then drops repeated keys (first occurrence wins), as sops'
    /// `deduplicateKeygroup` does (identity = key type and identifier).
    fn merge(&mut self, other: Self) {
        self.age.extend(other.age);
        self.pgp.extend(other.pgp);
        self.hc_vault.extend(other.hc_vault);
        self.kms.extend(other.kms);
        self.gcp_kms.extend(other.gcp_kms);
        self.azure_keyvault.extend(other.azure_keyvault);
    }

    fn deduplicate(&mut self) {
        dedup_by_key(&mut self.age, |key| key.clone());
        dedup_by_key(&mut self.pgp, |key| key.clone());
        dedup_by_key(&mut self.hc_vault, |key| key.clone());
        dedup_by_key(&mut self.kms, |key| key.arn.clone());
        dedup_by_key(&mut self.gcp_kms, |key| key.clone());
        dedup_by_key(&mut self.azure_keyvault, |key| key.clone());
    }
}

/// An AWS KMS key of a key group.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct KmsKeySpec {
    /// The key ARN.
    pub arn: String,
    /// The IAM role ARN to assume, if any.
    pub role: Option<String>,
    /// The encryption context.
    pub context: BTreeMap<String, String>,
    /// The AWS profile, if any.
    pub aws_profile: Option<String>,
}

/// Makes a crypt rule from its field's text.
type MakeCryptRule = fn(String) -> CryptRule;

/// The crypt rule fields and the rule each one sets.
const CRYPT_RULE_FIELDS: [(&str, MakeCryptRule); 6] = [
    ("encrypted_suffix", CryptRule::EncryptedSuffix),
    ("unencrypted_suffix", CryptRule::UnencryptedSuffix),
    ("encrypted_regex", CryptRule::EncryptedRegex),
    ("unencrypted_regex", CryptRule::UnencryptedRegex),
    ("encrypted_comment_regex", CryptRule::EncryptedCommentRegex),
    (
        "unencrypted_comment_regex",
        CryptRule::UnencryptedCommentRegex,
    ),
];

/// Reads entry `index` of `creation_rules`, given as read typed and as text (see
/// [`Config::from_yaml`](super::Config::from_yaml)): the integer and boolean fields come from
/// `typed`, everything else from `text`.
pub(super) fn parse_rule(
    config: &Path,
    index: usize,
    typed: &Value,
    text: &Value,
) -> Result<CreationRule, ConfigError> {
    let context = Context {
        config,
        rule: Some(index),
    };
    let field = |name: &str| format!("creation_rules[{index}].{name}");
    let (Value::Map(typed), Value::Map(items)) = (typed, text) else {
        return Err(context.field_type(format!("creation_rules[{index}]"), "a map"));
    };
    let typed_get = |name: &str| get(typed, name);
    let get = |name: &str| get(items, name);

    let path_regex = match get("path_regex") {
        Some(value) => scalar_text(value, &context, &field("path_regex"))?,
        None => None,
    };
    let path_regex = match path_regex.filter(|text| !text.is_empty()) {
        Some(text) => Some(
            Regex::new(&text).map_err(|source| ConfigError::InvalidRegex {
                config: config.to_path_buf(),
                rule: index,
                pattern: text,
                source,
            })?,
        ),
        None => None,
    };

    let mut crypt_rules = Vec::new();
    for (name, make) in CRYPT_RULE_FIELDS {
        let text = match get(name) {
            Some(value) => scalar_text(value, &context, &field(name))?,
            None => None,
        };
        if let Some(text) = text.filter(|text| !text.is_empty()) {
            crypt_rules.push((name, make(text)));
        }
    }
    if crypt_rules.len() > 1 {
        return Err(ConfigError::MultipleCryptRules {
            config: config.to_path_buf(),
            rule: index,
            fields: crypt_rules.into_iter().map(|(name, _)| name).collect(),
        });
    }
    let crypt_rule = crypt_rules.pop().map(|(_, rule)| rule);

    let shamir_threshold = match typed_get("shamir_threshold") {
        None | Some(Value::Null) => None,
        Some(Value::Int(threshold)) => match usize::try_from(*threshold) {
            Ok(0) => None,
            Ok(threshold) => Some(threshold),
            Err(_) => {
                return Err(ConfigError::InvalidShamirThreshold {
                    config: config.to_path_buf(),
                    rule: index,
                    threshold: *threshold,
                });
            }
        },
        Some(_) => return Err(context.field_type(field("shamir_threshold"), "an integer")),
    };

    let mac_only_encrypted = match typed_get("mac_only_encrypted") {
        None | Some(Value::Null) => false,
        Some(value) => bool_value(value)
            .ok_or_else(|| context.field_type(field("mac_only_encrypted"), "a boolean"))?,
    };

    let key_groups = match get("key_groups") {
        // sops uses `key_groups` when it has at least one entry, the flat fields otherwise.
        Some(Value::List(groups)) if list_values(groups).next().is_some() => {
            let mut specs = Vec::new();
            for (group_index, group) in list_values(groups).enumerate() {
                let name = field(&format!("key_groups[{group_index}]"));
                specs.push(parse_group(group, &context, &name)?);
            }
            specs
        }
        None | Some(Value::Null | Value::List(_)) => {
            let group = parse_flat_keys(items, &context, index)?;
            if group.is_empty() {
                Vec::new()
            } else {
                vec![group]
            }
        }
        Some(_) => return Err(context.field_type(field("key_groups"), "a list")),
    };

    Ok(CreationRule {
        index,
        path_regex,
        key_groups,
        shamir_threshold,
        crypt_rule,
        mac_only_encrypted,
    })
}

/// The flat key fields of a rule, as one group.
fn parse_flat_keys(
    items: &[Item],
    context: &Context<'_>,
    index: usize,
) -> Result<KeyGroupSpec, ConfigError> {
    let field = |name: &str| format!("creation_rules[{index}].{name}");
    let flat = |name: &str| match get(items, name) {
        Some(value) => comma_list(value, context, &field(name)),
        None => Ok(Vec::new()),
    };
    let aws_profile = match get(items, "aws_profile") {
        Some(value) => {
            scalar_text(value, context, &field("aws_profile"))?.filter(|p| !p.is_empty())
        }
        None => None,
    };
    let group = KeyGroupSpec {
        age: flat("age")?,
        pgp: flat("pgp")?,
        hc_vault: flat("hc_vault_transit_uri")?,
        kms: flat("kms")?
            .into_iter()
            .map(|arn| kms_from_arn(&arn, aws_profile.clone()))
            .collect(),
        gcp_kms: flat("gcp_kms")?,
        azure_keyvault: flat("azure_keyvault")?,
    };
    // No de-duplication here: sops 3.11 de-duplicates `key_groups` entries only, and writes a
    // recipient repeated in a flat field twice (verified with the real sops).
    Ok(group)
}

/// One entry of `key_groups` (or of a `merge:` inside one).
fn parse_group(
    value: &Value,
    context: &Context<'_>,
    field: &str,
) -> Result<KeyGroupSpec, ConfigError> {
    let Value::Map(items) = value else {
        return Err(context.field_type(field, "a map"));
    };
    let list = |name: &str| -> Result<Vec<&Value>, ConfigError> {
        match get(items, name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::List(values)) => Ok(list_values(values).collect()),
            Some(_) => Err(context.field_type(format!("{field}.{name}"), "a list")),
        }
    };
    // The entries as written, null ones left out.
    let texts = |name: &str| -> Result<Vec<String>, ConfigError> {
        let mut out = Vec::new();
        for (i, value) in list(name)?.into_iter().enumerate() {
            if let Some(text) = scalar_text(value, context, &format!("{field}.{name}[{i}]"))? {
                out.push(text);
            }
        }
        Ok(out)
    };
    let strings = |name: &str| -> Result<Vec<String>, ConfigError> {
        Ok(texts(name)?
            .into_iter()
            .map(|text| text.trim().to_owned())
            .collect())
    };

    let mut group = KeyGroupSpec::default();
    for (i, merged) in list("merge")?.into_iter().enumerate() {
        group.merge(parse_group(
            merged,
            context,
            &format!("{field}.merge[{i}]"),
        )?);
    }
    // sops splits each age entry of a group on commas (`age.MasterKeysFromRecipients`), but
    // takes PGP fingerprints and vault URIs one per entry.
    let age = texts("age")?
        .iter()
        .flat_map(|entry| split_keys(entry))
        .collect();
    let mut own = KeyGroupSpec {
        age,
        pgp: strings("pgp")?,
        hc_vault: strings("hc_vault")?,
        ..KeyGroupSpec::default()
    };
    for (i, value) in list("kms")?.into_iter().enumerate() {
        own.kms
            .push(parse_kms(value, context, &format!("{field}.kms[{i}]"))?);
    }
    for (i, value) in list("gcp_kms")?.into_iter().enumerate() {
        let name = format!("{field}.gcp_kms[{i}]");
        let Value::Map(entry) = value else {
            return Err(context.field_type(name, "a map"));
        };
        own.gcp_kms
            .push(map_text(entry, "resource_id", context, &name)?);
    }
    for (i, value) in list("azure_keyvault")?.into_iter().enumerate() {
        let name = format!("{field}.azure_keyvault[{i}]");
        let Value::Map(entry) = value else {
            return Err(context.field_type(name, "a map"));
        };
        let vault_url = map_text(entry, "vaultUrl", context, &name)?;
        let key = map_text(entry, "key", context, &name)?;
        let version = map_text(entry, "version", context, &name)?;
        own.azure_keyvault
            .push(format!("{vault_url}/keys/{key}/{version}"));
    }
    group.merge(own);
    group.deduplicate();
    Ok(group)
}

fn parse_kms(value: &Value, context: &Context<'_>, field: &str) -> Result<KmsKeySpec, ConfigError> {
    let Value::Map(items) = value else {
        return Err(context.field_type(field, "a map"));
    };
    let optional = |name: &str| -> Result<Option<String>, ConfigError> {
        let text = map_text(items, name, context, field)?;
        Ok(Some(text).filter(|text| !text.is_empty()))
    };
    let mut context_map = BTreeMap::new();
    match get(items, "context") {
        None | Some(Value::Null) => {}
        Some(Value::Map(entries)) => {
            for item in entries {
                if let Item::Entry { key, value } = item {
                    let name = format!("{field}.context.{key}");
                    let text = scalar_text(value, context, &name)?.unwrap_or_default();
                    context_map.insert(key.clone(), text);
                }
            }
        }
        Some(_) => return Err(context.field_type(format!("{field}.context"), "a map")),
    }
    Ok(KmsKeySpec {
        arn: map_text(items, "arn", context, field)?,
        role: optional("role")?,
        context: context_map,
        aws_profile: optional("aws_profile")?,
    })
}

/// A flat `kms` entry: `arn[+role_arn]` (sops `kms.NewMasterKeyFromArn`: spaces removed, the role
/// starts at `+arn:aws:iam::`).
fn kms_from_arn(arn: &str, aws_profile: Option<String>) -> KmsKeySpec {
    let arn: String = arn.chars().filter(|c| *c != ' ').collect();
    let (arn, role) = match arn.find("+arn:aws:iam::") {
        Some(at) if at > 0 => (arn[..at].to_owned(), Some(arn[at + 1..].to_owned())),
        _ => (arn, None),
    };
    KmsKeySpec {
        arn,
        role,
        context: BTreeMap::new(),
        aws_profile,
    }
}

#[cfg(test)]
mod tests;
