//! Verification: what the rules mean before and after an edit, the refusals of a removal (last
//! key of a group, last admin of a rule), and the commit that keeps spliced text only when it
//! reads back as intended ([`EditError::Unverified`] otherwise).

use super::layout::Layout;
use super::splice::Splice;
use super::{ConfigEditor, EditError};
use crate::CryptRule;
use crate::config::membership::is_admin_name;
use crate::config::{Config, KeyGroupSpec};

/// The semantics of a rule that an edit may change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct RuleMeaning {
    pub(super) path_regex: Option<String>,
    pub(super) key_groups: Vec<KeyGroupSpec>,
    pub(super) shamir_threshold: Option<usize>,
    pub(super) crypt_rule: Option<CryptRule>,
    pub(super) mac_only_encrypted: bool,
}

pub(super) fn meaning(config: &Config) -> Vec<RuleMeaning> {
    config
        .creation_rules
        .iter()
        .map(|rule| RuleMeaning {
            path_regex: rule.path_regex.as_ref().map(|r| r.as_str().to_owned()),
            key_groups: rule.key_groups.clone(),
            shamir_threshold: rule.shamir_threshold,
            crypt_rule: rule.crypt_rule.clone(),
            mac_only_encrypted: rule.mac_only_encrypted,
        })
        .collect()
}

pub(super) fn load(text: &str) -> Result<Config, EditError> {
    Config::from_yaml(text.as_bytes(), crate::config::CONFIG_FILE_NAME).map_err(EditError::Config)
}

impl ConfigEditor {
    /// The rules' meaning once `recipient` is gone from `rules`, or the refusal.
    pub(super) fn removal_meaning(
        &self,
        name: &str,
        recipient: &str,
        before: &[RuleMeaning],
        rules: &[usize],
    ) -> Result<Vec<RuleMeaning>, EditError> {
        let admins: Vec<&str> = self
            .layout
            .members
            .iter()
            .filter(|site| is_admin_name(&site.name) && site.name != name)
            .map(|site| site.recipient.as_str())
            .collect();
        let mut expected = before.to_vec();
        for &rule in rules {
            let Some(meaning) = expected.get_mut(rule) else {
                continue;
            };
            let named = meaning
                .key_groups
                .iter()
                .any(|group| group.age.iter().any(|key| key == recipient));
            if !named {
                continue;
            }
            for (group_index, group) in meaning.key_groups.iter_mut().enumerate() {
                let had_keys = !group.is_empty();
                group.age.retain(|key| key != recipient);
                if had_keys && group.is_empty() {
                    return Err(EditError::LastRecipient {
                        name: name.to_owned(),
                        rule,
                        group: group_index,
                    });
                }
            }
            if is_admin_name(name)
                && !meaning
                    .key_groups
                    .iter()
                    .any(|group| group.age.iter().any(|key| admins.contains(&key.as_str())))
            {
                return Err(EditError::LastAdmin {
                    name: name.to_owned(),
                    rule,
                });
            }
        }
        Ok(expected)
    }

    /// Applies `splices`, checks the result against `expected` rules and `members`, and keeps
    /// it.
    pub(super) fn commit(
        &mut self,
        operation: &'static str,
        mut splices: Vec<Splice>,
        expected: Vec<RuleMeaning>,
        members: Vec<(String, String)>,
    ) -> Result<(), EditError> {
        splices.sort_by_key(|splice| (splice.start, splice.end));
        let mut text = String::with_capacity(self.text.len() + 128);
        let mut at = 0;
        for splice in &splices {
            if splice.start < at || splice.end < splice.start {
                return Err(EditError::Unverified { operation });
            }
            text.push_str(self.text.get(at..splice.start).unwrap_or_default());
            text.push_str(&splice.text);
            at = splice.end;
        }
        text.push_str(self.text.get(at..).unwrap_or_default());

        let unverified = || EditError::Unverified { operation };
        let layout = Layout::new(&text).map_err(|_| unverified())?;
        let config = load(&text).map_err(|_| unverified())?;
        let pairs: Vec<(String, String)> = layout
            .members
            .iter()
            .map(|site| (site.name.clone(), site.recipient.clone()))
            .collect();
        if meaning(&config) != expected || pairs != members {
            return Err(unverified());
        }
        self.text = text;
        self.layout = layout;
        Ok(())
    }
}

pub(super) fn dedup(keys: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    keys.retain(|key| seen.insert(key.clone()));
}
