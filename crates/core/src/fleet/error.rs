//! Why a fleet operation failed: per file ([`FleetFileError`], [`FailedFile`]) and per run
//! ([`FleetError`], which names every failing file and says whether anything was written).

use std::fmt;
use std::path::PathBuf;

use crate::config::ConfigError;
use crate::file::FileError;
use crate::fs::FsError;
use crate::sops::{MetadataError, OpenError, SealError};
use crate::store::StoreError;

/// Why one file could not be planned, opened, re-encrypted or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FleetFileError {
    /// The file could not be read or written.
    #[error(transparent)]
    Fs(#[from] FsError),
    /// The file could not be opened: no usable key, tampered values, MAC mismatch.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// The file is not valid in its format.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The file's sops metadata is malformed.
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    /// The file has no sops metadata.
    #[error("the file is not sops-encrypted")]
    NotEncrypted,
    /// No creation rule governs the file.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A recipient could not be used.
    #[error(transparent)]
    Recipients(#[from] FileError),
    /// The new content could not be made.
    #[error(transparent)]
    Seal(#[from] SealError),
    /// The file or its rule names a key type aesec cannot wrap a data key for.
    #[error("key {kind} '{identifier}' cannot be re-wrapped by aesec (only age keys can)")]
    UnsupportedKey {
        /// The key type, like `pgp`.
        kind: String,
        /// The key's identifier.
        identifier: String,
    },
    /// The new content's key groups are not the ones asked for.
    #[error(
        "the re-encrypted file's key groups differ from the plan: expected {expected:?}, found {found:?}"
    )]
    VerifyRecipients {
        /// The recipients asked for, per group.
        expected: Vec<Vec<String>>,
        /// The recipients written, per group.
        found: Vec<Vec<String>>,
    },
    /// The caller's identities unwrap a different data key from the new content.
    #[error("the re-encrypted file's key entries give back a different data key")]
    VerifyDataKey,
    /// `lastmodified` is not an RFC 3339 time.
    #[error("lastmodified '{value}' is not an RFC 3339 time")]
    LastModified {
        /// The value as stored.
        value: String,
    },
}

/// One file and why it failed.
#[derive(Debug)]
pub struct FailedFile {
    /// The file.
    pub path: PathBuf,
    /// Why.
    pub error: FleetFileError,
}

/// Why a fleet operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FleetError {
    /// A directory could not be walked.
    #[error("cannot walk '{}'", path.display())]
    Walk {
        /// The directory or file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Files could not be planned (unreadable, not encrypted, no matching rule); nothing was
    /// written.
    #[error(fmt = fmt_plan)]
    Plan {
        /// Every failing file.
        failures: Vec<FailedFile>,
    },
    /// Files name key types aesec cannot re-wrap; nothing was written.
    #[error(fmt = fmt_unsupported)]
    Unsupported {
        /// The files the plan marks as unsupported.
        files: Vec<PathBuf>,
    },
    /// Files did not open (no key, tampering, MAC mismatch); nothing was written.
    #[error(fmt = fmt_open)]
    Open {
        /// Every failing file.
        failures: Vec<FailedFile>,
    },
    /// New contents could not be made or did not verify; nothing was written.
    #[error(fmt = fmt_seal)]
    Seal {
        /// Every failing file.
        failures: Vec<FailedFile>,
    },
    /// Some files could not be written (each file is old or new, never partial). When a
    /// temporary file cannot be written and flushed, nothing is replaced: the renames start only
    /// once every one is; when a rename or a directory flush fails, the others are written.
    #[error(fmt = fmt_write)]
    Write {
        /// The files written.
        written: Vec<PathBuf>,
        /// The files not written.
        failures: Vec<FailedFile>,
    },
}

fn fmt_list(what: &str, failures: &[FailedFile], f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(f, "{what} {} file(s), nothing written", failures.len())?;
    for failure in failures {
        write!(f, "\n  {}: {}", failure.path.display(), failure.error)?;
        let mut source = std::error::Error::source(&failure.error);
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
    }
    Ok(())
}

fn fmt_plan(failures: &[FailedFile], f: &mut fmt::Formatter<'_>) -> fmt::Result {
    fmt_list("cannot plan", failures, f)
}

fn fmt_open(failures: &[FailedFile], f: &mut fmt::Formatter<'_>) -> fmt::Result {
    fmt_list("cannot open", failures, f)
}

fn fmt_seal(failures: &[FailedFile], f: &mut fmt::Formatter<'_>) -> fmt::Result {
    fmt_list("cannot re-encrypt", failures, f)
}

fn fmt_write(
    written: &[PathBuf],
    failures: &[FailedFile],
    f: &mut fmt::Formatter<'_>,
) -> fmt::Result {
    write!(
        f,
        "cannot write {} file(s) ({} written)",
        failures.len(),
        written.len()
    )?;
    for failure in failures {
        write!(f, "\n  {}: {}", failure.path.display(), failure.error)?;
    }
    Ok(())
}

fn fmt_unsupported(files: &[PathBuf], f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(
        f,
        "{} file(s) name key types aesec cannot re-wrap, nothing written",
        files.len()
    )?;
    for file in files {
        write!(f, "\n  {}", file.display())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_every_failing_file() {
        let error = FleetError::Open {
            failures: vec![
                FailedFile {
                    path: PathBuf::from("a.yaml"),
                    error: FleetFileError::NotEncrypted,
                },
                FailedFile {
                    path: PathBuf::from("b.json"),
                    error: FleetFileError::VerifyDataKey,
                },
            ],
        };
        let text = error.to_string();
        assert!(
            text.starts_with("cannot open 2 file(s), nothing written"),
            "{text}"
        );
        assert!(
            text.contains("a.yaml: the file is not sops-encrypted"),
            "{text}"
        );
        assert!(text.contains("b.json"), "{text}");
    }
}
