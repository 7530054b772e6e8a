//! The keyless CI gate: [`check`] compares every file's metadata with `.sops.yaml`.
//!
//! Nothing is decrypted: it reads only what a file shows without its key, so CI runs it
//! without keys. A recipient in a file that the rule does not name is reported as possible
//! tampering (someone granted themselves access by editing metadata); a file that a rule with a
//! `path_regex` governs but that is not sops-encrypted is reported as plaintext committed by
//! mistake. [`check`] also looks at each value the file's own crypt rule encrypts: one in clear
//! there (an injected value: the MAC does not cover key names), a malformed `ENC[...]`, or a
//! `type:` its ciphertext length cannot hold (the `type:` field is not authenticated).

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::discover::{Candidate, walk};
use super::error::FleetError;
use super::error::FleetFileError;
use super::keyless::{metadata_groups, split_document};
use super::plan::{desired_threshold, diff_groups, effective, spec_identifiers};
use crate::config::{Config, ConfigError};
use crate::sops::Metadata;
use crate::sops::crypt::{Anomaly, audit_tree};
use crate::sops::document::decryption_rule;
use crate::sops::envelope::{self, RawMetadata};
use crate::store::Format;
use crate::tree::Tree;

/// One problem [`check`] found.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Finding {
    /// The rule names a recipient the file is not encrypted to.
    MissingRecipient {
        /// The file.
        path: PathBuf,
        /// The 1-based key group.
        group: usize,
        /// The recipient.
        recipient: String,
    },
    /// The file is encrypted to a recipient its rule does not name (drift, or tampering).
    ExtraRecipient {
        /// The file.
        path: PathBuf,
        /// The 1-based key group.
        group: usize,
        /// The recipient.
        recipient: String,
    },
    /// The file has a different number of key groups than its rule.
    GroupLayout {
        /// The file.
        path: PathBuf,
        /// Groups in the rule.
        expected: usize,
        /// Groups in the file.
        found: usize,
    },
    /// The number of groups needed to decrypt differs from the rule's `shamir_threshold`.
    Threshold {
        /// The file.
        path: PathBuf,
        /// Groups needed per the rule.
        expected: usize,
        /// Groups needed per the file.
        found: usize,
    },
    /// A file governed by a rule is not sops-encrypted (plaintext committed by mistake?).
    NotEncrypted {
        /// The file.
        path: PathBuf,
        /// The 0-based creation rule that governs it.
        rule: usize,
    },
    /// A value is in clear where the file's crypt rule requires encryption: the file was
    /// edited without the key, and the value may be injected (the MAC does not cover key
    /// names). sops and aesec refuse to decrypt the file.
    ClearValue {
        /// The file.
        path: PathBuf,
        /// Where the value is, like `["db"]["password"]`.
        key_path: String,
        /// What stands there: `str` for text, `int`, `float`, `bool`, `time`.
        found: String,
    },
    /// An encrypted value is not well-formed `ENC[...]` text: it cannot decrypt.
    MalformedValue {
        /// The file.
        path: PathBuf,
        /// Where the value is.
        key_path: String,
        /// Why, as the error prints.
        reason: String,
    },
    /// An encrypted value's `type:` cannot have a plaintext of its length (AES-GCM keeps the
    /// length), e.g. `type:bool` that is not 4 or 5 bytes (`True`/`False`): the `type:` field
    /// is not authenticated, so it was probably edited.
    TypeMismatch {
        /// The file.
        path: PathBuf,
        /// Where the value is.
        key_path: String,
        /// The declared `type:`.
        value_type: String,
        /// The plaintext length in bytes.
        length: usize,
    },
    /// An encrypted file that no creation rule governs.
    NoMatchingRule {
        /// The file.
        path: PathBuf,
    },
    /// The file could not be read or its metadata is malformed.
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why, as the error prints.
        reason: String,
    },
}

/// What [`check`] found (serializable for `--json`).
#[derive(Clone, Debug, Default, serde::Serialize)]
#[non_exhaustive]
pub struct CheckReport {
    /// How many sops files were compared with their rule.
    pub files_checked: usize,
    /// Every problem, in file order.
    pub findings: Vec<Finding>,
}

impl CheckReport {
    /// Whether nothing was found (the CLI exits 0).
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }
}

/// Compares every sops file under `roots` (the config's directory when empty; files given
/// directly are always checked) with `.sops.yaml`, without decrypting anything. Files are
/// checked in path order.
///
/// Plaintext files are reported only when a rule with a `path_regex` governs them (a
/// catch-all rule would flag every README).
///
/// # Errors
///
/// [`FleetError::Walk`] when a directory cannot be listed.
pub fn check(config: &Config, roots: &[PathBuf], cwd: &Path) -> Result<CheckReport, FleetError> {
    let mut report = CheckReport::default();
    let mut candidates: Vec<(PathBuf, bool)> = walk(config, roots, cwd)?
        .into_iter()
        .map(|candidate| match candidate {
            Candidate::Given(path) => (path, true),
            Candidate::Walked(path) => (path, false),
        })
        .collect();
    candidates.sort();
    candidates.dedup_by(|a, b| a.0 == b.0);
    // Files are independent: checked on every core, reported in path order.
    let per_file: Vec<CheckReport> = candidates
        .par_iter()
        .map(|(path, given)| {
            let mut report = CheckReport::default();
            check_file(config, path, *given, cwd, &mut report);
            report
        })
        .collect();
    for file in per_file {
        report.files_checked += file.files_checked;
        report.findings.extend(file.findings);
    }
    Ok(report)
}

/// Whether a plaintext file holds only SSH ed25519 public keys (a host's `ssh_host_ed25519_key.pub`
/// beside its encrypted private key, as `enroll --generate` stores it): public material is
/// not a plaintext secret.
fn is_public_key_file(bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    // Only keys that really convert count: a looser match could let a secret slip through.
    let results = crate::keys::ssh::public_keys_to_age(text);
    !results.is_empty() && results.iter().all(Result::is_ok)
}

fn check_file(config: &Config, path: &Path, given: bool, cwd: &Path, report: &mut CheckReport) {
    let bytes = match crate::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) => {
            report.findings.push(Finding::Unreadable {
                path: path.to_path_buf(),
                reason: error.to_string(),
            });
            return;
        }
    };
    let format = Format::from_path(path);
    let rule = config.rule_for(path, cwd);
    // One parse serves both questions: is it a sops file, and what does it hold.
    let parsed = envelope::parse_encrypted(format, &bytes);
    let encrypted = parsed.as_ref().map(|split| {
        split
            .metadata
            .as_ref()
            .is_some_and(RawMetadata::is_sops_metadata)
    });
    if !matches!(encrypted, Ok(true)) {
        if let Ok(rule) = rule
            && (given || rule.path_regex.is_some())
            && !is_public_key_file(&bytes)
        {
            report.findings.push(match encrypted {
                // A file the parser refuses (a hostile nesting depth, broken syntax) is not
                // known to be plaintext: say what is wrong with it.
                Err(error) => Finding::Unreadable {
                    path: path.to_path_buf(),
                    reason: error.to_string(),
                },
                Ok(_) => Finding::NotEncrypted {
                    path: path.to_path_buf(),
                    rule: rule.index,
                },
            });
        }
        return;
    }
    report.files_checked += 1;
    let metadata = match parsed
        .map_err(FleetFileError::from)
        .and_then(split_document)
    {
        Ok((metadata, mut tree)) => {
            check_values(path, format, &metadata, &mut tree, report);
            metadata
        }
        Err(error) => {
            report.findings.push(Finding::Unreadable {
                path: path.to_path_buf(),
                reason: error.to_string(),
            });
            return;
        }
    };
    let rule = match rule {
        Ok(rule) => rule,
        Err(ConfigError::NoMatchingRule { .. } | ConfigError::NoCreationRules { .. }) => {
            report.findings.push(Finding::NoMatchingRule {
                path: path.to_path_buf(),
            });
            return;
        }
        Err(error) => {
            report.findings.push(Finding::Unreadable {
                path: path.to_path_buf(),
                reason: error.to_string(),
            });
            return;
        }
    };
    let current = metadata_groups(&metadata);
    let desired: Vec<Vec<String>> = rule.key_groups.iter().map(spec_identifiers).collect();
    if current.len() != desired.len() {
        report.findings.push(Finding::GroupLayout {
            path: path.to_path_buf(),
            expected: desired.len(),
            found: current.len(),
        });
    }
    for change in diff_groups(&current, &desired) {
        for recipient in change.added {
            report.findings.push(Finding::MissingRecipient {
                path: path.to_path_buf(),
                group: change.group,
                recipient,
            });
        }
        for recipient in change.removed {
            report.findings.push(Finding::ExtraRecipient {
                path: path.to_path_buf(),
                group: change.group,
                recipient,
            });
        }
    }
    let expected = effective(desired_threshold(rule), desired.len());
    let found = effective(metadata.shamir_threshold, current.len());
    if expected != found {
        report.findings.push(Finding::Threshold {
            path: path.to_path_buf(),
            expected,
            found,
        });
    }
}

/// Reports the values of `tree` that its crypt rule encrypts and that are visibly wrong
/// without the key.
fn check_values(
    path: &Path,
    format: Format,
    metadata: &Metadata,
    tree: &mut Tree,
    report: &mut CheckReport,
) {
    let rule = decryption_rule(format, metadata);
    let anomalies = match audit_tree(tree, rule.as_ref()) {
        Ok(anomalies) => anomalies,
        Err(error) => {
            report.findings.push(Finding::Unreadable {
                path: path.to_path_buf(),
                reason: error.to_string(),
            });
            return;
        }
    };
    for (key_path, anomaly) in anomalies {
        let path = path.to_path_buf();
        report.findings.push(match anomaly {
            Anomaly::Clear { found } => Finding::ClearValue {
                path,
                key_path,
                found: found.as_str().to_owned(),
            },
            Anomaly::Malformed { source } => Finding::MalformedValue {
                path,
                key_path,
                reason: source.to_string(),
            },
            Anomaly::TypeLength { value_type, length } => Finding::TypeMismatch {
                path,
                key_path,
                value_type: value_type.as_str().to_owned(),
                length,
            },
        });
    }
}
