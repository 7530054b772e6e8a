//! Rotation by age: files whose `lastmodified` is older than a limit get a new data key for
//! the recipients their creation rule names (sops `rotate`, with `.sops.yaml` as the source of
//! recipients instead of the file's unauthenticated metadata), with the fleet's
//! verify-before-write discipline.

use std::fmt;
use std::time::{Duration, SystemTime};

use super::apply::{ApplyOptions, Change, Job, Report, apply};
use super::discover::remove_stale_temps;
use super::error::{FailedFile, FleetError, FleetFileError};
use super::plan::{Action, FilePlan, GroupChange, Plan};
use crate::progress::Observer;
use crate::sops::KeyDecryptor;

/// Why a duration like `90d` could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseDurationError {
    /// Nothing was given.
    #[error("empty duration: expected a number and a unit, like '90d'")]
    Empty,
    /// The part before the unit is not a whole number.
    #[error("invalid duration '{text}': expected a whole number before the unit")]
    InvalidNumber {
        /// The text as given.
        text: String,
    },
    /// The unit is not one of `s`, `m`, `h`, `d`, `w`.
    #[error("invalid duration '{text}': the unit must be s, m, h, d or w")]
    UnknownUnit {
        /// The text as given.
        text: String,
    },
    /// The duration does not fit.
    #[error("duration '{text}' is too long")]
    Overflow {
        /// The text as given.
        text: String,
    },
}

/// Reads a duration as the CLI's `--older-than` takes it: a whole number and one unit, `s`,
/// `m` (minutes), `h`, `d` or `w`.
///
/// ```
/// use std::time::Duration;
///
/// use aesec::fleet::parse_duration;
///
/// assert_eq!(parse_duration("90d")?, Duration::from_secs(90 * 86_400));
/// assert_eq!(parse_duration("12h")?, Duration::from_secs(12 * 3_600));
/// assert_eq!(parse_duration("2w")?, Duration::from_secs(14 * 86_400));
/// assert!(parse_duration("5y").is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn parse_duration(text: &str) -> Result<Duration, ParseDurationError> {
    let trimmed = text.trim();
    let Some(unit) = trimmed.chars().last() else {
        return Err(ParseDurationError::Empty);
    };
    let seconds: u64 = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        _ => {
            return Err(ParseDurationError::UnknownUnit {
                text: text.to_owned(),
            });
        }
    };
    let number = trimmed.strip_suffix(unit).unwrap_or_default();
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseDurationError::InvalidNumber {
            text: text.to_owned(),
        });
    }
    let count: u64 = number.parse().map_err(|_| ParseDurationError::Overflow {
        text: text.to_owned(),
    })?;
    count
        .checked_mul(seconds)
        .map(Duration::from_secs)
        .ok_or_else(|| ParseDurationError::Overflow {
            text: text.to_owned(),
        })
}

/// Gives every file of `plan` whose `lastmodified` is more than `max_age` before `now` a new
/// data key, wrapped for the recipients of the creation rule that governs the file (the plan's
/// target, as [`update_keys`](super::update_keys) uses), and re-encrypts every value; the
/// other files are left alone and reported as [`Action::Nothing`].
///
/// The recipients come from `.sops.yaml`, never from the file's own metadata: that block is
/// outside the MAC, so a recipient added there by hand would otherwise receive the new data
/// key at the next scheduled rotation. A due file whose recipients differ from its rule is
/// rotated to the rule's, and `observer` is warned with both lists (drift, or tampering).
///
/// `now` is a parameter so that callers (and tests) decide the clock. Every file to rotate is
/// opened first; no file is replaced unless all open and re-encrypt. Temporary files a killed
/// earlier run left beside the files to rotate are removed first.
///
/// # Errors
///
/// [`FleetError::Plan`] when a file has an unreadable `lastmodified`;
/// [`FleetError::Unsupported`] when a due file or its rule names a key aesec cannot wrap; then
/// as [`update_keys`](super::update_keys).
pub fn rotate_older_than(
    plan: &Plan,
    max_age: Duration,
    now: SystemTime,
    decryptors: &[&dyn KeyDecryptor],
    options: &ApplyOptions,
    observer: &dyn Observer,
) -> Result<Report, FleetError> {
    let mut jobs = Vec::new();
    let mut fresh = Vec::new();
    let mut failures = Vec::new();
    let mut unsupported = Vec::new();
    for file in &plan.files {
        match is_old(&file.last_modified, max_age, now) {
            Ok(true) if !file.non_age_keys.is_empty() => unsupported.push(file.path.clone()),
            Ok(true) => {
                if file.changes.iter().any(GroupChange::is_changed) {
                    observer.warn(&RecipientDrift(file));
                }
                jobs.push(Job {
                    path: file.path.clone(),
                    format: file.format,
                    change: Change::Rotate(file.target.clone()),
                    last_modified: Some(file.last_modified.clone()),
                });
            }
            Ok(false) => fresh.push((file.path.clone(), file.last_modified.clone())),
            Err(error) => failures.push(FailedFile {
                path: file.path.clone(),
                error,
            }),
        }
    }
    if !failures.is_empty() {
        return Err(FleetError::Plan { failures });
    }
    if !unsupported.is_empty() {
        return Err(FleetError::Unsupported { files: unsupported });
    }
    let stale = remove_stale_temps(jobs.iter().map(|job| job.path.as_path()));
    let mut report = apply(jobs, decryptors, options, observer, "rotating data keys")?;
    report.stale_temps_removed = stale;
    for (path, last_modified) in fresh {
        report.record(path, Action::Nothing, Some(last_modified));
    }
    Ok(report)
}

/// The warning for a due file whose recipients differ from its rule: both lists, per group.
struct RecipientDrift<'p>(&'p FilePlan);

impl fmt::Display for RecipientDrift<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.0;
        write!(
            f,
            "{}: recipients differ from .sops.yaml; the new data key is wrapped for the rule's only",
            file.path.display()
        )?;
        for change in &file.changes {
            let has: Vec<&str> = change
                .common
                .iter()
                .chain(&change.removed)
                .map(String::as_str)
                .collect();
            let wants: Vec<&str> = change
                .common
                .iter()
                .chain(&change.added)
                .map(String::as_str)
                .collect();
            write!(
                f,
                "; group {}: file [{}], rule [{}]",
                change.group,
                has.join(", "),
                wants.join(", ")
            )?;
        }
        Ok(())
    }
}

/// Whether `last_modified` is more than `max_age` before `now`.
fn is_old(last_modified: &str, max_age: Duration, now: SystemTime) -> Result<bool, FleetFileError> {
    let stamp: jiff::Timestamp =
        last_modified
            .parse()
            .map_err(|_| FleetFileError::LastModified {
                value: last_modified.to_owned(),
            })?;
    let modified = SystemTime::from(stamp);
    Ok(now.duration_since(modified).is_ok_and(|age| age > max_age))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("45s"), Ok(Duration::from_secs(45)));
        assert_eq!(parse_duration("30m"), Ok(Duration::from_secs(1_800)));
        assert_eq!(parse_duration(" 1d "), Ok(Duration::from_secs(86_400)));
    }

    #[test]
    fn bad_durations() {
        assert!(matches!(parse_duration(""), Err(ParseDurationError::Empty)));
        assert!(matches!(
            parse_duration("d"),
            Err(ParseDurationError::InvalidNumber { .. })
        ));
        assert!(matches!(
            parse_duration("-3d"),
            Err(ParseDurationError::InvalidNumber { .. })
        ));
        assert!(matches!(
            parse_duration("3y"),
            Err(ParseDurationError::UnknownUnit { .. })
        ));
        assert!(matches!(
            parse_duration("99999999999999999999d"),
            Err(ParseDurationError::Overflow { .. })
        ));
        assert!(matches!(
            parse_duration("999999999999999999w"),
            Err(ParseDurationError::Overflow { .. })
        ));
    }
}
