//! Which master keys a file is encrypted for: a creation rule's (with sops' command-line
//! overrides) for a new file, or the ones a file's metadata records for a new data key.

use std::path::Path;

use crate::CryptRule;
use crate::config::{Config, CreationRule, KeyGroupSpec};
use crate::file::FileError;
use crate::keys::age::Recipient;
use crate::sops::{
    Document, EncryptionRules, KeyDecryptor, KeySpec, MasterKey, Recipients, resolve_master_key,
};

/// Command-line overrides of a creation rule (sops' `--age`, `--hc-vault-transit` and
/// crypt-rule flags).
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct RuleOverrides {
    /// Comma-separated age recipients; replace the rule's key groups.
    pub age: Option<String>,
    /// Comma-separated transit URIs (`--hc-vault-transit`); with `age`, they replace the rule's
    /// key groups by one group holding both.
    pub hc_vault_transit: Option<String>,
    /// `--unencrypted-suffix`.
    pub unencrypted_suffix: Option<String>,
    /// `--encrypted-suffix`.
    pub encrypted_suffix: Option<String>,
    /// `--unencrypted-regex`.
    pub unencrypted_regex: Option<String>,
    /// `--encrypted-regex`.
    pub encrypted_regex: Option<String>,
    /// `--unencrypted-comment-regex`.
    pub unencrypted_comment_regex: Option<String>,
    /// `--encrypted-comment-regex`.
    pub encrypted_comment_regex: Option<String>,
    /// `--mac-only-encrypted`.
    pub mac_only_encrypted: bool,
    /// `--shamir-secret-sharing-threshold`.
    pub shamir_threshold: Option<usize>,
}

impl RuleOverrides {
    fn crypt_rule(&self) -> Result<Option<CryptRule>, FileError> {
        let given: Vec<CryptRule> = [
            self.unencrypted_suffix
                .clone()
                .map(CryptRule::UnencryptedSuffix),
            self.encrypted_suffix
                .clone()
                .map(CryptRule::EncryptedSuffix),
            self.unencrypted_regex
                .clone()
                .map(CryptRule::UnencryptedRegex),
            self.encrypted_regex.clone().map(CryptRule::EncryptedRegex),
            self.unencrypted_comment_regex
                .clone()
                .map(CryptRule::UnencryptedCommentRegex),
            self.encrypted_comment_regex
                .clone()
                .map(CryptRule::EncryptedCommentRegex),
        ]
        .into_iter()
        .flatten()
        .collect();
        match given.as_slice() {
            [] => Ok(None),
            [rule] => Ok(Some(rule.clone())),
            _ => Err(FileError::ConflictingCryptRules),
        }
    }
}

/// The recipients and rules a new file at `file` is encrypted with: the matching creation rule
/// of `config`, with `overrides` applied as sops applies its flags (any key flag replaces the
/// rule's key groups; a crypt-rule flag replaces the rule's). Master keys of kinds other than age
/// come from `backends` (see [`resolve_master_key`]).
pub fn creation_recipients(
    config: Option<&Config>,
    file: &Path,
    cwd: &Path,
    overrides: &RuleOverrides,
    backends: &[&dyn KeyDecryptor],
) -> Result<(Recipients, EncryptionRules), FileError> {
    let rule = match config {
        Some(config) if config.has_creation_rules() => Some(config.rule_for(file, cwd)?),
        _ => None,
    };
    let crypt_rule = overrides
        .crypt_rule()?
        .or_else(|| rule.and_then(|r| r.crypt_rule.clone()));
    let mac_only_encrypted =
        overrides.mac_only_encrypted || rule.is_some_and(|r| r.mac_only_encrypted);
    let rules = EncryptionRules::with_crypt_rule(crypt_rule, mac_only_encrypted);
    let flagged = overrides.age.is_some() || overrides.hc_vault_transit.is_some();
    let recipients = match rule {
        _ if flagged => {
            let mut specs: Vec<KeySpec> = match &overrides.age {
                Some(list) => Recipient::parse_list(list)?
                    .into_iter()
                    .map(KeySpec::Age)
                    .collect(),
                None => Vec::new(),
            };
            specs.extend(
                overrides
                    .hc_vault_transit
                    .iter()
                    .flat_map(|list| list.split(','))
                    .map(str::trim)
                    .filter(|uri| !uri.is_empty())
                    .map(|uri| KeySpec::HcVaultTransit(uri.to_owned())),
            );
            Recipients::single_group(resolve_all(&specs, backends)?)
        }
        Some(rule) => {
            let recipients = rule_recipients(rule, overrides.shamir_threshold, backends)?;
            if recipients.key_groups.is_empty() || recipients.key_groups.iter().any(Vec::is_empty) {
                return Err(FileError::EmptyKeyGroup { rule: rule.index });
            }
            recipients
        }
        None => return Err(FileError::NoRecipients),
    };
    if recipients.key_groups.iter().all(Vec::is_empty) {
        return Err(FileError::NoRecipients);
    }
    Ok((recipients, rules))
}

/// The typed key specs of one configured key group: its age recipients, then its `hc_vault`
/// transit URIs.
///
/// # Errors
///
/// [`FileError::UnsupportedKeyType`] for PGP and cloud KMS keys, [`FileError::Recipient`] for
/// an age recipient that does not parse.
pub fn group_specs(spec: &KeyGroupSpec) -> Result<Vec<KeySpec>, FileError> {
    if !spec.pgp.is_empty() {
        return Err(FileError::UnsupportedKeyType { kind: "pgp" });
    }
    if !spec.kms.is_empty() || !spec.gcp_kms.is_empty() || !spec.azure_keyvault.is_empty() {
        return Err(FileError::UnsupportedKeyType { kind: "cloud kms" });
    }
    let mut specs = Vec::new();
    for text in &spec.age {
        specs.push(KeySpec::Age(text.parse()?));
    }
    specs.extend(spec.hc_vault.iter().cloned().map(KeySpec::HcVaultTransit));
    Ok(specs)
}

fn resolve_all(
    specs: &[KeySpec],
    backends: &[&dyn KeyDecryptor],
) -> Result<Vec<Box<dyn MasterKey>>, FileError> {
    specs
        .iter()
        .map(|spec| resolve_master_key(spec, backends).map_err(FileError::from))
        .collect()
}

/// The master keys a creation rule names (age, and `hc_vault` transit keys through
/// `backends`).
pub fn rule_recipients(
    rule: &CreationRule,
    threshold: Option<usize>,
    backends: &[&dyn KeyDecryptor],
) -> Result<Recipients, FileError> {
    let mut groups = Vec::new();
    for spec in &rule.key_groups {
        groups.push(resolve_all(&group_specs(spec)?, backends)?);
    }
    let threshold = threshold.or(rule.shamir_threshold);
    Ok(Recipients::groups(groups, threshold))
}

/// The master keys recorded in a file's metadata, to re-wrap a new data key for the same
/// recipients (`rotate`).
pub fn metadata_recipients(
    document: &Document,
    backends: &[&dyn KeyDecryptor],
) -> Result<Recipients, FileError> {
    let metadata = document.metadata();
    let mut groups = Vec::new();
    for group in &metadata.key_groups {
        let mut specs = Vec::new();
        for entry in group {
            match KeySpec::from_entry(entry)? {
                Some(spec) => specs.push(spec),
                None if entry.kind() == "pgp" => {
                    return Err(FileError::UnsupportedKeyType { kind: "pgp" });
                }
                None => return Err(FileError::UnsupportedKeyType { kind: "cloud kms" }),
            }
        }
        groups.push(resolve_all(&specs, backends)?);
    }
    Ok(Recipients::groups(groups, metadata.shamir_threshold))
}

/// Master keys that [`rotate`](super::rotate) adds to or removes from a file's own recipients,
/// as sops' `rotate --add-age`/`--rm-age`: added keys join the first key group, removed keys
/// leave every group (matched by [`MasterKey::identifier`]).
#[derive(Default)]
#[non_exhaustive]
pub struct KeyChanges {
    /// Keys added to the first key group.
    pub add: Vec<Box<dyn MasterKey>>,
    /// Keys removed from every key group.
    pub remove: Vec<Box<dyn MasterKey>>,
}

impl KeyChanges {
    /// Applies the changes to `recipients`; a key group left without keys is refused, as sops
    /// refuses it ("empty key group provided").
    pub(crate) fn apply(self, recipients: &mut Recipients) -> Result<(), FileError> {
        if let Some(first) = recipients.key_groups.first_mut() {
            first.extend(self.add);
        }
        let removed: Vec<String> = self.remove.iter().map(|key| key.identifier()).collect();
        for (group, keys) in recipients.key_groups.iter_mut().enumerate() {
            keys.retain(|key| !removed.contains(&key.identifier()));
            if keys.is_empty() {
                return Err(FileError::EmptiedKeyGroup { group });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::age::GeneratedIdentity;
    use crate::sops::MasterKeyError;

    const URI: &str = "http://127.0.0.1:8200/v1/transit/keys/sops";

    fn config(text: &str) -> Config {
        Config::from_yaml(text.as_bytes(), "/repo/.sops.yaml").unwrap()
    }

    #[test]
    fn a_mixed_group_gives_age_then_transit_specs() {
        let recipient = GeneratedIdentity::generate().recipient();
        let config = config(&format!(
            "creation_rules:\n  - key_groups:\n      - hc_vault: [{URI}]\n        age: [{recipient}]\n"
        ));
        let specs = group_specs(&config.creation_rules[0].key_groups[0]).unwrap();
        let named: Vec<(&str, String)> = specs.iter().map(|s| (s.kind(), s.identifier())).collect();
        assert_eq!(
            named,
            [("age", recipient.to_string()), ("hc_vault", URI.to_owned())]
        );
    }

    #[test]
    fn a_transit_key_without_a_backend_is_named_in_the_error() {
        let config = config(&format!(
            "creation_rules:\n  - hc_vault_transit_uri: {URI}\n"
        ));
        let file = Path::new("/repo/secret.yaml");
        let Err(error) = creation_recipients(
            Some(&config),
            file,
            Path::new("/repo"),
            &RuleOverrides::default(),
            &[],
        ) else {
            panic!("a transit key resolved without a backend");
        };
        assert!(
            matches!(
                &error,
                FileError::MasterKey(MasterKeyError::NoBackend { kind: "hc_vault", identifier })
                    if identifier == URI
            ),
            "{error:?}"
        );
        // The flag replaces the rule's keys the same way.
        let overrides = RuleOverrides {
            hc_vault_transit: Some(format!("{URI},")),
            ..RuleOverrides::default()
        };
        let Err(error) = creation_recipients(None, file, Path::new("/repo"), &overrides, &[])
        else {
            panic!("a transit key resolved without a backend");
        };
        assert!(matches!(error, FileError::MasterKey(_)), "{error:?}");
    }
}
