//! Rotation by age: files whose `lastmodified` is older than a limit get a new data key for
//! their own recipients (sops `rotate`), with the fleet's verify-before-write discipline.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use rayon::prelude::*;

use super::{
    Action, ApplyOptions, Change, FailedFile, FleetError, FleetFileError, Job, Report, apply,
    read_metadata,
};
use crate::progress::Observer;
use crate::sops::KeyDecryptor;
use crate::store::Format;

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

/// Gives every file of `files` whose `lastmodified` is more than `max_age` before `now` a new
/// data key for the recipients it already has, re-encrypting every value; the other files are
/// left alone and reported as [`Action::Nothing`].
///
/// `now` is a parameter so that callers (and tests) decide the clock. Every file to rotate is
/// opened first; nothing is written unless all open and re-encrypt. Temporary files a killed
/// earlier run left beside the files to rotate are removed first.
///
/// # Errors
///
/// [`FleetError::Plan`] when a file cannot be read, is not encrypted or has an unreadable
/// `lastmodified`; then as [`update_keys`](super::update_keys).
pub fn rotate_older_than(
    files: &[PathBuf],
    max_age: Duration,
    now: SystemTime,
    decryptors: &[&dyn KeyDecryptor],
    options: &ApplyOptions,
    observer: &dyn Observer,
) -> Result<Report, FleetError> {
    let ages: Vec<Result<(bool, String), FleetFileError>> = files
        .par_iter()
        .map(|path| is_old(path, max_age, now))
        .collect();
    let mut jobs = Vec::new();
    let mut fresh = Vec::new();
    let mut failures = Vec::new();
    for (path, result) in files.iter().zip(ages) {
        match result {
            Ok((true, last_modified)) => jobs.push(Job {
                path: path.clone(),
                format: Format::from_path(path),
                change: Change::Rotate(None),
                last_modified: Some(last_modified),
            }),
            Ok((false, last_modified)) => fresh.push((path.clone(), last_modified)),
            Err(error) => failures.push(FailedFile {
                path: path.clone(),
                error,
            }),
        }
    }
    if !failures.is_empty() {
        return Err(FleetError::Plan { failures });
    }
    let stale = super::remove_stale_temps(jobs.iter().map(|job| job.path.as_path()));
    let mut report = apply(jobs, decryptors, options, observer, "rotating data keys")?;
    report.stale_temps_removed = stale;
    for (path, last_modified) in fresh {
        report.record(path, Action::Nothing, Some(last_modified));
    }
    Ok(report)
}

/// Whether `path` was last modified more than `max_age` before `now`, and its `lastmodified`.
fn is_old(
    path: &PathBuf,
    max_age: Duration,
    now: SystemTime,
) -> Result<(bool, String), FleetFileError> {
    let bytes = crate::fs::read(path)?;
    let metadata = read_metadata(&bytes, Format::from_path(path))?;
    let stamp: jiff::Timestamp =
        metadata
            .last_modified
            .parse()
            .map_err(|_| FleetFileError::LastModified {
                value: metadata.last_modified.clone(),
            })?;
    let modified = SystemTime::from(stamp);
    let old = now.duration_since(modified).is_ok_and(|age| age > max_age);
    Ok((old, metadata.last_modified))
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
