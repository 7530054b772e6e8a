//! Which master keys a file is encrypted for: a creation rule's (with sops' command-line
//! overrides) for a new file, or the ones a file's metadata records for a new data key.

use std::path::Path;

use crate::CryptRule;
use crate::config::{Config, CreationRule};
use crate::file::FileError;
use crate::keys::age::Recipient;
use crate::sops::{AgeMasterKey, Document, EncryptionRules, KeyEntry, MasterKey, Recipients};

/// Command-line overrides of a creation rule (sops' `--age` and crypt-rule flags).
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct RuleOverrides {
    /// Comma-separated age recipients; replace the rule's key groups.
    pub age: Option<String>,
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
/// rule's key groups; a crypt-rule flag replaces the rule's).
pub fn creation_recipients(
    config: Option<&Config>,
    file: &Path,
    cwd: &Path,
    overrides: &RuleOverrides,
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
    let recipients = match (&overrides.age, rule) {
        (Some(list), _) => {
            let keys = Recipient::parse_list(list)?
                .into_iter()
                .map(|r| Box::new(AgeMasterKey::new(r)) as Box<dyn MasterKey>)
                .collect();
            Recipients::single_group(keys)
        }
        (None, Some(rule)) => {
            let recipients = rule_recipients(rule, overrides.shamir_threshold)?;
            if recipients.key_groups.is_empty() || recipients.key_groups.iter().any(Vec::is_empty) {
                return Err(FileError::EmptyKeyGroup { rule: rule.index });
            }
            recipients
        }
        (None, None) => return Err(FileError::NoRecipients),
    };
    if recipients.key_groups.iter().all(Vec::is_empty) {
        return Err(FileError::NoRecipients);
    }
    Ok((recipients, rules))
}

/// The master keys a creation rule names.
pub fn rule_recipients(
    rule: &CreationRule,
    threshold: Option<usize>,
) -> Result<Recipients, FileError> {
    let mut groups = Vec::new();
    for spec in &rule.key_groups {
        if !spec.pgp.is_empty() {
            return Err(FileError::UnsupportedKeyType { kind: "pgp" });
        }
        if !spec.kms.is_empty() || !spec.gcp_kms.is_empty() || !spec.azure_keyvault.is_empty() {
            return Err(FileError::UnsupportedKeyType { kind: "cloud kms" });
        }
        if !spec.hc_vault.is_empty() {
            return Err(FileError::UnsupportedKeyType { kind: "hc_vault" });
        }
        let mut keys: Vec<Box<dyn MasterKey>> = Vec::new();
        for text in &spec.age {
            keys.push(Box::new(AgeMasterKey::new(text.parse()?)));
        }
        groups.push(keys);
    }
    let threshold = threshold.or(rule.shamir_threshold);
    Ok(Recipients::groups(groups, threshold))
}

/// The master keys recorded in a file's metadata, to re-wrap a new data key for the same
/// recipients (`rotate`).
pub fn metadata_recipients(document: &Document) -> Result<Recipients, FileError> {
    let metadata = document.metadata();
    let mut groups = Vec::new();
    for group in &metadata.key_groups {
        let mut keys: Vec<Box<dyn MasterKey>> = Vec::new();
        for entry in group {
            match entry {
                KeyEntry::Age { recipient, .. } => {
                    keys.push(Box::new(AgeMasterKey::new(recipient.parse()?)))
                }
                KeyEntry::HcVault { .. } => {
                    return Err(FileError::UnsupportedKeyType { kind: "hc_vault" });
                }
                KeyEntry::Pgp { .. } => return Err(FileError::UnsupportedKeyType { kind: "pgp" }),
                _ => return Err(FileError::UnsupportedKeyType { kind: "cloud kms" }),
            }
        }
        groups.push(keys);
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
