//! Human output: errors with hints, exit codes chosen from the typed error, JSON printing.

use std::io::Write;
use std::process::ExitCode;

use aesec::sops::{OpenError, PathError, SealError};
use aesec::store::StoreError;

use crate::exit;

/// A failure the CLI itself detects, with the exit code sops uses for it.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// The named file does not exist.
    #[error("no such file: '{0}'")]
    NoSuchFile(String),
    /// Options that cannot be combined or are missing.
    #[error("{0}")]
    Usage(String),
    /// The output could not be written.
    #[error("could not write '{path}'")]
    Write {
        /// The destination.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The input could not be read.
    #[error("could not read '{path}'")]
    Read {
        /// The source.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// No editor could be started.
    #[error("could not start the editor '{0}'")]
    NoEditor(String),
}

/// Prints `error: …` (the whole cause chain) and a hint, and returns the exit code.
pub(crate) fn report_error(error: &anyhow::Error) -> ExitCode {
    if is_broken_pipe(error) {
        return ExitCode::SUCCESS;
    }
    let code = exit_code(error);
    let mut stderr = std::io::stderr().lock();
    // Nothing sensible can be done if stderr itself is gone.
    let _ = writeln!(stderr, "error: {error:#}");
    if let Some(hint) = hint(code) {
        let _ = writeln!(stderr, "\nhint: {hint}");
    }
    ExitCode::from(code)
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The exit code for an error: sops' code for the same failure, found by walking the chain.
pub(crate) fn exit_code(error: &anyhow::Error) -> u8 {
    for cause in error.chain() {
        if let Some(open) = cause.downcast_ref::<OpenError>() {
            return match open {
                OpenError::DataKey(_) => exit::COULD_NOT_RETRIEVE_KEY,
                OpenError::Value(_) => exit::ERROR_DECRYPTING_TREE,
                OpenError::MacMismatch | OpenError::MacUndecryptable(_) => exit::MAC_MISMATCH,
                OpenError::Store(store) => store_code(store),
                _ => exit::GENERIC,
            };
        }
        if let Some(seal) = cause.downcast_ref::<SealError>() {
            return match seal {
                SealError::AlreadyEncrypted => exit::FILE_ALREADY_ENCRYPTED,
                SealError::Store(store) => store_code(store),
                _ => exit::ERROR_ENCRYPTING_TREE,
            };
        }
        if let Some(path) = cause.downcast_ref::<PathError>() {
            return match path {
                PathError::Syntax { .. } => exit::INVALID_TREE_PATH_FORMAT,
                _ => exit::GENERIC,
            };
        }
        if let Some(store) = cause.downcast_ref::<StoreError>() {
            return store_code(store);
        }
        if let Some(cli) = cause.downcast_ref::<CliError>() {
            return match cli {
                CliError::NoSuchFile(_) => exit::NO_FILE_SPECIFIED,
                CliError::Usage(_) => exit::CONFLICTING_PARAMETERS,
                CliError::Write { .. } => exit::COULD_NOT_WRITE_OUTPUT_FILE,
                CliError::Read { .. } => exit::COULD_NOT_READ_INPUT_FILE,
                CliError::NoEditor(_) => exit::NO_EDITOR_FOUND,
            };
        }
    }
    exit::GENERIC
}

fn store_code(error: &StoreError) -> u8 {
    match error {
        StoreError::Empty { .. } => exit::NEED_AT_LEAST_ONE_DOCUMENT,
        StoreError::NonStringKey { .. } | StoreError::UnsupportedValue { .. } => {
            exit::ERROR_ENCRYPTING_TREE
        }
        _ => exit::COULD_NOT_READ_INPUT_FILE,
    }
}

fn hint(code: u8) -> Option<&'static str> {
    Some(match code {
        exit::COULD_NOT_RETRIEVE_KEY => {
            "no identity available here matches a recipient of the file; set SOPS_AGE_KEY_FILE, SOPS_AGE_KEY or SOPS_AGE_SSH_PRIVATE_KEY_FILE, or pass --identity FILE"
        }
        exit::MAC_MISMATCH => {
            "the file was changed outside sops/aesec; inspect its history (git log -p) and, only if the change is trusted, re-save it after `decrypt --ignore-mac`"
        }
        exit::ERROR_DECRYPTING_TREE => {
            "a value was altered or moved to another key; restore the file from version control"
        }
        exit::INVALID_TREE_PATH_FORMAT => r#"paths look like '["key"]["nested"][0]'"#,
        exit::FILE_ALREADY_ENCRYPTED => {
            "use `aesec edit` or `aesec set` to change an encrypted file"
        }
        _ => return None,
    })
}

/// Writes `bytes` to stdout.
pub(crate) fn stdout(bytes: &[u8]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()?;
    Ok(())
}

/// Prints a serializable report as one line of JSON.
pub(crate) fn json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    let mut text = serde_json::to_vec(value)?;
    text.push(b'\n');
    stdout(&text)
}
