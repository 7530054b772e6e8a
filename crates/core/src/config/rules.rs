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

/// Reads entry `index` of `creation_rules`.
pub(super) fn parse_rule(
    config: &Path,
    index: usize,
    value: &Value,
) -> Result<CreationRule, ConfigError> {
    let context = Context {
        config,
        rule: Some(index),
    };
    let field = |name: &str| format!("creation_rules[{index}].{name}");
    let Value::Map(items) = value else {
        return Err(context.field_type(format!("creation_rules[{index}]"), "a map"));
    };
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

    let shamir_threshold = match get("shamir_threshold") {
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

    let mac_only_encrypted = match get("mac_only_encrypted") {
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
    let strings = |name: &str| -> Result<Vec<String>, ConfigError> {
        let mut out = Vec::new();
        for (i, value) in list(name)?.into_iter().enumerate() {
            if let Some(text) = scalar_text(value, context, &format!("{field}.{name}[{i}]"))? {
                out.push(text.trim().to_owned());
            }
        }
        Ok(out)
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
    let age = strings("age")?
        .iter()
        .flat_map(|entry| split_commas(entry))
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

/// A scalar as the string go-yaml would decode into a string field; `None` for null.
pub(super) fn scalar_text(
    value: &Value,
    context: &Context<'_>,
    field: &str,
) -> Result<Option<String>, ConfigError> {
    Ok(Some(match value {
        Value::Null => return Ok(None),
        Value::Str(text) => text.to_string_lossy().into_owned(),
        Value::Bool(value) => value.to_string(),
        Value::Int(value) => value.to_string(),
        Value::Float(value) => value.to_string(),
        Value::Time(text) => text.clone(),
        Value::Bytes(_) | Value::Map(_) | Value::List(_) | Value::Comment(_) => {
            return Err(context.field_type(field, "a string"));
        }
    }))
}

/// A string field of a map entry; empty when absent.
fn map_text(
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

/// A boolean as go-yaml v3 decodes into a `bool` field (YAML 1.1 words included).
fn bool_value(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(value) => Some(*value),
        Value::Str(text) => match text.as_str()? {
            "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "true" | "True" | "TRUE" => {
                Some(true)
            }
            "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "false" | "False"
            | "FALSE" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// A flat key field: a comma-separated string or a list of them; entries trimmed, empty dropped.
fn comma_list(
    value: &Value,
    context: &Context<'_>,
    field: &str,
) -> Result<Vec<String>, ConfigError> {
    match value {
        Value::List(values) => {
            let mut out = Vec::new();
            for (i, value) in list_values(values).enumerate() {
                if let Some(text) = scalar_text(value, context, &format!("{field}[{i}]"))? {
                    out.extend(split_commas(&text));
                }
            }
            Ok(out)
        }
        value => Ok(scalar_text(value, context, field)?
            .map(|text| split_commas(&text))
            .unwrap_or_default()),
    }
}

fn split_commas(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|key| !key.is_empty())
        .map(str::to_owned)
        .collect()
}

fn dedup_by_key<T, K: Ord>(values: &mut Vec<T>, key: impl Fn(&T) -> K) {
    let mut seen = std::collections::BTreeSet::new();
    values.retain(|value| seen.insert(key(value)));
}

#[cfg(test)]
mod tests {
    use super::super::{Config, ConfigError};
    use super::*;

    fn load(yaml: &str) -> Config {
        Config::from_yaml(yaml.as_bytes(), "/repo/.sops.yaml").unwrap()
    }

    fn load_err(yaml: &str) -> ConfigError {
        Config::from_yaml(yaml.as_bytes(), "/repo/.sops.yaml").unwrap_err()
    }

    fn group(config: &Config, rule: usize) -> &KeyGroupSpec {
        let groups = &config.creation_rules[rule].key_groups;
        assert_eq!(groups.len(), 1);
        &groups[0]
    }

    #[test]
    fn flat_comma_string_is_trimmed_and_empty_entries_dropped() {
        let config = load("creation_rules:\n  - age: ' age1a , age1b,,age1c ,'\n");
        assert_eq!(group(&config, 0).age, ["age1a", "age1b", "age1c"]);
    }

    #[test]
    fn flat_list_and_other_key_types() {
        let config = load(
            "creation_rules:
  - age:
      - age1a
      - age1b, age1c
    pgp: FP1,FP2
    hc_vault_transit_uri: https://vault:8200/v1/transit/keys/k
    gcp_kms: projects/p/locations/l/keyRings/r/cryptoKeys/k
    azure_keyvault: https://v.vault.azure.net/keys/k/1
    kms: arn:aws:kms:eu:1:key/a+arn:aws:iam::1:role/r, arn:aws:kms:eu:1:key/b
    aws_profile: prod
",
        );
        let group = group(&config, 0);
        assert_eq!(group.age, ["age1a", "age1b", "age1c"]);
        assert_eq!(group.pgp, ["FP1", "FP2"]);
        assert_eq!(group.hc_vault, ["https://vault:8200/v1/transit/keys/k"]);
        assert_eq!(
            group.gcp_kms,
            ["projects/p/locations/l/keyRings/r/cryptoKeys/k"]
        );
        assert_eq!(group.azure_keyvault, ["https://v.vault.azure.net/keys/k/1"]);
        assert_eq!(group.kms.len(), 2);
        assert_eq!(group.kms[0].arn, "arn:aws:kms:eu:1:key/a");
        assert_eq!(group.kms[0].role.as_deref(), Some("arn:aws:iam::1:role/r"));
        assert_eq!(group.kms[1].role, None);
        assert_eq!(group.kms[1].aws_profile.as_deref(), Some("prod"));
    }

    #[test]
    fn flat_keys_keep_repeats_as_sops_does() {
        let config = load("creation_rules:\n  - age: age1a,age1b,age1a\n");
        assert_eq!(group(&config, 0).age, ["age1a", "age1b", "age1a"]);
    }

    #[test]
    fn rule_without_keys_has_no_group() {
        let config = load("creation_rules:\n  - path_regex: x\n");
        assert!(config.creation_rules[0].key_groups.is_empty());
        assert_eq!(config.creation_rules[0].crypt_rule, None);
        assert!(!config.creation_rules[0].mac_only_encrypted);
    }

    #[test]
    fn anchors_and_aliases_as_in_design() {
        let config = load(
            "keys:
  - &admin_alice age1alice   # admins
  - &trinity age1trinity     # ssh-ed25519 AAAA... trinity
  - &oracle age1oracle
creation_rules:
  - path_regex: ^secrets/trinity/
    key_groups:
      - age: [*admin_alice, *trinity]
  - path_regex: ^secrets/common\\.yaml$
    key_groups:
      - age: [*admin_alice, *trinity, *oracle]
",
        );
        assert_eq!(group(&config, 0).age, ["age1alice", "age1trinity"]);
        assert_eq!(
            group(&config, 1).age,
            ["age1alice", "age1trinity", "age1oracle"]
        );
    }

    #[test]
    fn key_groups_with_shamir_threshold_replace_flat_keys() {
        let config = load(
            "creation_rules:
  - age: age1ignored
    shamir_threshold: 2
    key_groups:
      - age: [age1a]
        pgp: [FP1]
      - age: ['age1b,age1c']
        hc_vault: [https://vault:8200/v1/transit/keys/k]
      - kms:
          - arn: arn:aws:kms:k
            role: arn:aws:iam::1:role/r
            context: {app: db}
        gcp_kms:
          - resource_id: projects/p/k
        azure_keyvault:
          - vaultUrl: https://v.vault.azure.net
            key: k
            version: '1'
",
        );
        let rule = &config.creation_rules[0];
        assert_eq!(rule.shamir_threshold, Some(2));
        assert_eq!(rule.key_groups.len(), 3);
        assert_eq!(rule.key_groups[0].age, ["age1a"]);
        assert_eq!(rule.key_groups[0].pgp, ["FP1"]);
        assert_eq!(rule.key_groups[1].age, ["age1b", "age1c"]);
        assert_eq!(
            rule.key_groups[1].hc_vault,
            ["https://vault:8200/v1/transit/keys/k"]
        );
        let kms = &rule.key_groups[2].kms[0];
        assert_eq!(kms.arn, "arn:aws:kms:k");
        assert_eq!(kms.role.as_deref(), Some("arn:aws:iam::1:role/r"));
        assert_eq!(kms.context.get("app").map(String::as_str), Some("db"));
        assert_eq!(rule.key_groups[2].gcp_kms, ["projects/p/k"]);
        assert_eq!(
            rule.key_groups[2].azure_keyvault,
            ["https://v.vault.azure.net/keys/k/1"]
        );
    }

    #[test]
    fn shamir_threshold_zero_means_all() {
        let config = load("creation_rules:\n  - shamir_threshold: 0\n    age: a\n");
        assert_eq!(config.creation_rules[0].shamir_threshold, None);
        let error = load_err("creation_rules:\n  - shamir_threshold: -1\n");
        assert!(matches!(
            error,
            ConfigError::InvalidShamirThreshold {
                rule: 0,
                threshold: -1,
                ..
            }
        ));
    }

    #[test]
    fn merge_is_recursive_and_deduplicated() {
        let config = load(
            "creation_rules:
  - key_groups:
      - merge:
          - age: [age1a, age1b]
          - merge:
              - age: [age1c, age1a]
                pgp: [FP1]
        age: [age1b, age1d]
        pgp: [FP1]
",
        );
        let group = group(&config, 0);
        assert_eq!(group.age, ["age1a", "age1b", "age1c", "age1d"]);
        assert_eq!(group.pgp, ["FP1"]);
    }

    #[test]
    fn crypt_rule_and_mac_only_encrypted() {
        let config = load(
            "creation_rules:
  - encrypted_regex: ^(data|stringData)$
    mac_only_encrypted: true
  - unencrypted_suffix: ''
    encrypted_suffix: _enc
    mac_only_encrypted: yes
  - encrypted_comment_regex: sops:enc
",
        );
        let rules = &config.creation_rules;
        assert_eq!(
            rules[0].crypt_rule,
            Some(CryptRule::EncryptedRegex("^(data|stringData)$".into()))
        );
        assert!(rules[0].mac_only_encrypted);
        assert_eq!(
            rules[1].crypt_rule,
            Some(CryptRule::EncryptedSuffix("_enc".into()))
        );
        assert!(rules[1].mac_only_encrypted);
        assert_eq!(
            rules[2].crypt_rule,
            Some(CryptRule::EncryptedCommentRegex("sops:enc".into()))
        );
    }

    #[test]
    fn two_crypt_rules_name_the_rule() {
        let error = load_err(
            "creation_rules:
  - age: a
  - encrypted_regex: ^data$
    unencrypted_suffix: _plain
",
        );
        let ConfigError::MultipleCryptRules { rule, fields, .. } = error else {
            panic!("unexpected error: {error:?}");
        };
        assert_eq!(rule, 1);
        assert_eq!(fields, ["unencrypted_suffix", "encrypted_regex"]);
    }

    #[test]
    fn invalid_regex_is_refused() {
        let error = load_err("creation_rules:\n  - path_regex: '['\n  - path_regex: '(a'\n");
        assert!(
            matches!(error, ConfigError::InvalidRegex { rule: 0, ref pattern, .. } if pattern == "[")
        );
    }

    #[test]
    fn wrong_field_types_are_refused() {
        let cases = [
            ("creation_rules: x\n", None, "creation_rules"),
            (
                "creation_rules:\n  - age: {a: b}\n",
                Some(0),
                "creation_rules[0].age",
            ),
            (
                "creation_rules:\n  - key_groups:\n      - age: age1a\n",
                Some(0),
                "creation_rules[0].key_groups[0].age",
            ),
            (
                "creation_rules:\n  - mac_only_encrypted: maybe\n",
                Some(0),
                "creation_rules[0].mac_only_encrypted",
            ),
            (
                "creation_rules:\n  - a: 1\n  - shamir_threshold: two\n",
                Some(1),
                "creation_rules[1].shamir_threshold",
            ),
            ("- a\n- b\n", None, "the top level"),
        ];
        for (yaml, expected_rule, expected_field) in cases {
            let error = load_err(yaml);
            assert!(
                matches!(&error, ConfigError::FieldType { rule, field, .. } if *rule == expected_rule && field == expected_field),
                "{yaml:?}: {error:?}"
            );
        }
    }

    #[test]
    fn unknown_keys_are_ignored() {
        let config = load(
            "input_type: yaml
destination_rules:
  - s3_bucket: b
creation_rules:
  - path_regex: x
    input_type: json
    some_future_field: {nested: [1, 2]}
    age: age1a
    key_groups_typo: []
",
        );
        assert_eq!(group(&config, 0).age, ["age1a"]);
    }

    #[test]
    fn comma_splitting_drops_blank_entries() {
        assert_eq!(split_commas(" a ,, b ,"), ["a", "b"]);
        assert!(split_commas("").is_empty());
    }

    #[test]
    fn kms_role_split_needs_an_arn_before_it() {
        let spec = kms_from_arn("+arn:aws:iam::1:role/r", None);
        assert_eq!(spec.role, None);
        let spec = kms_from_arn("arn:aws:kms:k +arn:aws:iam::1:role/r", None);
        assert_eq!(spec.arn, "arn:aws:kms:k");
        assert_eq!(spec.role.as_deref(), Some("arn:aws:iam::1:role/r"));
    }
}
