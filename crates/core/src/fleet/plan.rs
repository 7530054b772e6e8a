//! The plan: for every file, how its key groups differ from its creation rule, and what
//! bringing it in line takes (nothing, a re-wrap of the same data key, or a new data key).
//!
//! Planning reads metadata only: no key is needed. Keys are compared as sops' `updatekeys`
//! compares them (`DiffKeyGroups`: per group index, by identifier, order ignored). The
//! threshold is the rule's `shamir_threshold` (capped at the number of groups); sops ignores
//! it (#810), but after aesec writes it sops computes the same value and sees nothing to do.

use std::fmt;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::error::{FailedFile, FleetError, FleetFileError};
use super::key_groups::DesiredGroups;
use super::keyless::{metadata_groups, read_metadata};
use crate::config::{Config, CreationRule, KeyGroupSpec};
use crate::sops::Metadata;
use crate::store::Format;

/// Options for [`plan`].
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct PlanOptions {
    /// Re-wrap the old data key even when recipients are removed (sops' behaviour): a removed
    /// recipient holding an old copy can still read later versions. Flagged in the plan.
    pub no_rotate: bool,
}

/// What a file needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Already in line with its rule.
    Nothing,
    /// The same data key wrapped for the new groups; values, MAC and `lastmodified` untouched.
    Rewrap,
    /// A new data key and every value re-encrypted (recipients were removed).
    Rotate,
}

/// The difference in one key group (sops' `Group N` block).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct GroupChange {
    /// The group's 1-based number, as sops prints it.
    pub group: usize,
    /// Keys in both the file and the rule.
    pub common: Vec<String>,
    /// Keys the rule adds.
    pub added: Vec<String>,
    /// Keys the rule no longer names.
    pub removed: Vec<String>,
}

impl GroupChange {
    /// Whether the group changes.
    pub fn is_changed(&self) -> bool {
        !self.added.is_empty() || !self.removed.is_empty()
    }
}

/// One file's part of the plan.
#[derive(Clone, Debug, serde::Serialize)]
#[non_exhaustive]
pub struct FilePlan {
    /// The file.
    pub path: PathBuf,
    /// The 0-based creation rule that governs it.
    pub rule: usize,
    /// Per group: common, added and removed keys (every group, changed or not).
    pub changes: Vec<GroupChange>,
    /// `(old, new)` stored `shamir_threshold` when the number of groups needed changes.
    pub threshold: Option<(Option<usize>, Option<usize>)>,
    /// What applying the plan does to the file.
    pub action: Action,
    /// Recipients are removed but the old data key is kept ([`PlanOptions::no_rotate`]): the
    /// removed ones can still read later versions from an old copy.
    pub revocation_skipped: bool,
    /// Keys of types aesec cannot wrap (`pgp 'FP'`) in a file that must change: applying
    /// refuses the whole plan while any file has some.
    pub unsupported: Vec<String>,
    /// Keys of types aesec cannot wrap in the file or its rule, whatever the action (a
    /// rotation changes every file).
    #[serde(skip)]
    pub(crate) non_age_keys: Vec<String>,
    #[serde(skip)]
    pub(crate) format: Format,
    #[serde(skip)]
    pub(crate) target: DesiredGroups,
    #[serde(skip)]
    pub(crate) last_modified: String,
}

/// What [`update_keys`](super::update_keys) will do, file by file.
#[derive(Clone, Debug, Default, serde::Serialize)]
#[non_exhaustive]
pub struct Plan {
    /// Every file considered, in the order given.
    pub files: Vec<FilePlan>,
}

impl Plan {
    /// The files that change.
    pub fn changed(&self) -> impl Iterator<Item = &FilePlan> {
        self.files.iter().filter(|f| f.action != Action::Nothing)
    }

    /// Whether nothing changes.
    pub fn is_empty(&self) -> bool {
        self.changed().next().is_none()
    }
}

/// Compares every file in `files` with the creation rule of `config` that governs it.
///
/// Relative paths are relative to `cwd`. No file is decrypted.
///
/// # Errors
///
/// [`FleetError::Plan`] listing every file that cannot be read, is not sops-encrypted, or
/// matches no creation rule.
pub fn plan(
    config: &Config,
    files: &[PathBuf],
    cwd: &Path,
    options: &PlanOptions,
) -> Result<Plan, FleetError> {
    let results: Vec<Result<FilePlan, FleetFileError>> = files
        .par_iter()
        .map(|path| plan_file(config, path, cwd, options))
        .collect();
    let mut planned = Vec::new();
    let mut failures = Vec::new();
    for (path, result) in files.iter().zip(results) {
        match result {
            Ok(file) => planned.push(file),
            Err(error) => failures.push(FailedFile {
                path: path.clone(),
                error,
            }),
        }
    }
    if !failures.is_empty() {
        return Err(FleetError::Plan { failures });
    }
    Ok(Plan { files: planned })
}

fn plan_file(
    config: &Config,
    path: &Path,
    cwd: &Path,
    options: &PlanOptions,
) -> Result<FilePlan, FleetFileError> {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    };
    let format = Format::from_path(path);
    let bytes = crate::fs::read(&absolute)?;
    let metadata = read_metadata(&bytes, format)?;
    let rule = config.rule_for(path, cwd)?;
    Ok(compare(absolute, format, &metadata, rule, options))
}

/// The identifiers of one configured group, age recipients first, then the other kinds.
pub(crate) fn spec_identifiers(spec: &KeyGroupSpec) -> Vec<String> {
    let mut ids: Vec<String> = spec.age.clone();
    ids.extend(spec.pgp.iter().cloned());
    ids.extend(spec.hc_vault.iter().cloned());
    ids.extend(spec.kms.iter().map(|k| k.arn.clone()));
    ids.extend(spec.gcp_kms.iter().cloned());
    ids.extend(spec.azure_keyvault.iter().cloned());
    ids
}

/// The identifiers of one configured group that aesec wraps data keys for: age recipients, then
/// `hc_vault` transit URIs.
fn wrappable_identifiers(spec: &KeyGroupSpec) -> Vec<String> {
    spec.age.iter().chain(&spec.hc_vault).cloned().collect()
}

/// The keys of a configured group that aesec cannot wrap a data key for (PGP, cloud KMS), as
/// `kind 'identifier'`.
fn spec_unsupported(spec: &KeyGroupSpec) -> Vec<String> {
    let named = |kind: &str, ids: &mut dyn Iterator<Item = String>| -> Vec<String> {
        ids.map(|id| format!("{kind} '{id}'")).collect()
    };
    let mut out = named("pgp", &mut spec.pgp.iter().cloned());
    out.extend(named("kms", &mut spec.kms.iter().map(|k| k.arn.clone())));
    out.extend(named("gcp_kms", &mut spec.gcp_kms.iter().cloned()));
    out.extend(named(
        "azure_keyvault",
        &mut spec.azure_keyvault.iter().cloned(),
    ));
    out
}

/// The threshold a rule asks for: its `shamir_threshold` capped at the number of groups, none
/// for a single group.
pub(crate) fn desired_threshold(rule: &CreationRule) -> Option<usize> {
    let groups = rule.key_groups.len();
    if groups <= 1 {
        return None;
    }
    rule.shamir_threshold.map(|t| t.min(groups))
}

/// How many groups are needed with `threshold` stored and `groups` groups.
pub(crate) fn effective(threshold: Option<usize>, groups: usize) -> usize {
    threshold.filter(|t| *t > 0).unwrap_or(groups).max(1)
}

/// Per-group differences between a file's groups and a rule's, as sops' `DiffKeyGroups`.
pub(crate) fn diff_groups(current: &[Vec<String>], desired: &[Vec<String>]) -> Vec<GroupChange> {
    let empty = Vec::new();
    (0..current.len().max(desired.len()))
        .map(|index| {
            let ours = current.get(index).unwrap_or(&empty);
            let theirs = desired.get(index).unwrap_or(&empty);
            let mut change = GroupChange {
                group: index + 1,
                ..GroupChange::default()
            };
            for key in theirs {
                if ours.contains(key) {
                    change.common.push(key.clone());
                } else {
                    change.added.push(key.clone());
                }
            }
            for key in ours {
                if !theirs.contains(key) {
                    change.removed.push(key.clone());
                }
            }
            change
        })
        .collect()
}

fn compare(
    path: PathBuf,
    format: Format,
    metadata: &Metadata,
    rule: &CreationRule,
    options: &PlanOptions,
) -> FilePlan {
    let current = metadata_groups(metadata);
    let desired: Vec<Vec<String>> = rule.key_groups.iter().map(spec_identifiers).collect();
    let changes = diff_groups(&current, &desired);
    let keys_change = changes.iter().any(GroupChange::is_changed);
    let new_threshold = desired_threshold(rule);
    let old_needed = effective(metadata.shamir_threshold, current.len());
    let new_needed = effective(new_threshold, desired.len());
    let threshold =
        (old_needed != new_needed).then_some((metadata.shamir_threshold, new_threshold));
    let revokes = changes.iter().any(|c| !c.removed.is_empty()) || new_needed > old_needed;
    let mut action = match (keys_change || threshold.is_some(), revokes) {
        (false, _) => Action::Nothing,
        (true, true) => Action::Rotate,
        (true, false) => Action::Rewrap,
    };
    let revocation_skipped = action == Action::Rotate && options.no_rotate;
    if revocation_skipped {
        action = Action::Rewrap;
    }
    let mut non_age_keys: Vec<String> = rule.key_groups.iter().flat_map(spec_unsupported).collect();
    for entry in metadata.key_groups.iter().flatten() {
        if !matches!(entry.kind(), "age" | "hc_vault") {
            let named = format!("{} '{}'", entry.kind(), entry.identifier());
            if !non_age_keys.contains(&named) {
                non_age_keys.push(named);
            }
        }
    }
    let unsupported = if action == Action::Nothing {
        Vec::new()
    } else {
        non_age_keys.clone()
    };
    FilePlan {
        path,
        rule: rule.index,
        changes,
        threshold,
        action,
        revocation_skipped,
        unsupported,
        non_age_keys,
        format,
        target: DesiredGroups {
            groups: rule.key_groups.iter().map(wrappable_identifiers).collect(),
            threshold: new_threshold,
        },
        last_modified: metadata.last_modified.clone(),
    }
}

impl fmt::Display for FilePlan {
    /// sops' diff layout, with a header line naming the file and the action.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let action = match self.action {
            Action::Nothing => "already up to date",
            Action::Rewrap => "re-wrap the data key",
            Action::Rotate => "new data key, every value re-encrypted",
        };
        writeln!(f, "{}: {action}", self.path.display())?;
        if self.action == Action::Nothing {
            return Ok(());
        }
        if self.revocation_skipped {
            writeln!(
                f,
                "!!! revocation skipped: removed recipients keep the data key and can read later versions"
            )?;
        }
        for key in &self.unsupported {
            writeln!(f, "!!! unsupported key {key}: aesec cannot re-wrap it")?;
        }
        if let Some((old, new)) = self.threshold {
            match old.filter(|t| *t > 0) {
                Some(old) if Some(old) == new => writeln!(f, "shamir_threshold: {old}")?,
                old => {
                    if let Some(new) = new {
                        writeln!(f, "+++ shamir_threshold: {new}")?;
                    }
                    if let Some(old) = old {
                        writeln!(f, "--- shamir_threshold: {old}")?;
                    }
                }
            }
        }
        for change in &self.changes {
            writeln!(f, "Group {}", change.group)?;
            for key in &change.common {
                writeln!(f, "    {key}")?;
            }
            for key in &change.added {
                writeln!(f, "+++ {key}")?;
            }
            for key in &change.removed {
                writeln!(f, "--- {key}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Plan {
    /// Every changing file in sops' diff layout, then a summary line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rewrap = 0;
        let mut rotate = 0;
        for file in self.changed() {
            write!(f, "{file}")?;
            match file.action {
                Action::Rewrap => rewrap += 1,
                Action::Rotate => rotate += 1,
                Action::Nothing => {}
            }
        }
        writeln!(
            f,
            "{} file(s): {rewrap} to re-wrap, {rotate} to rotate, {} up to date",
            self.files.len(),
            self.files.len() - rewrap - rotate
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups(g: &[&[&str]]) -> Vec<Vec<String>> {
        g.iter()
            .map(|g| g.iter().map(|s| (*s).to_owned()).collect())
            .collect()
    }

    #[test]
    fn diff_matches_sops_layout() {
        let changes = diff_groups(&groups(&[&["a", "b"], &["x"]]), &groups(&[&["b", "c"]]));
        assert_eq!(changes.len(), 2);
        assert_eq!(changes[0].common, ["b"]);
        assert_eq!(changes[0].added, ["c"]);
        assert_eq!(changes[0].removed, ["a"]);
        assert_eq!(changes[1].removed, ["x"]);
        assert!(changes[1].common.is_empty());
    }

    #[test]
    fn order_within_a_group_is_no_change() {
        let changes = diff_groups(&groups(&[&["a", "b"]]), &groups(&[&["b", "a"]]));
        assert!(!changes[0].is_changed());
    }

    #[test]
    fn effective_threshold_defaults_to_all_groups() {
        assert_eq!(effective(None, 3), 3);
        assert_eq!(effective(Some(0), 3), 3);
        assert_eq!(effective(Some(2), 3), 2);
        assert_eq!(effective(None, 0), 1);
    }
}
