//! Why deploying one host failed, step by step.

use std::path::PathBuf;

use crate::fleet::{Access, FleetFileError};
use crate::install::ManifestError;
use crate::process::ProcessError;

/// A sops file the host cannot decrypt, and what it holds in it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Denied {
    /// The file (a store path).
    pub path: PathBuf,
    /// The host's key entries in it against what the file needs.
    pub access: Access,
}

/// Why a host was not deployed (or not kept on the new system).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeployError {
    /// `nix build` failed.
    #[error("cannot build '{installable}'")]
    Build {
        /// The flake output.
        installable: String,
        /// Why.
        #[source]
        source: ProcessError,
    },
    /// `nix build --json` printed no output path.
    #[error("'nix build --json' printed no output path: {output}")]
    BuildOutput {
        /// What it printed (trimmed).
        output: String,
    },
    /// The closure could not be listed, or a file of it not read.
    #[error("cannot read '{}' from the store", path.display())]
    Store {
        /// The store path.
        path: PathBuf,
        /// Why.
        #[source]
        source: ProcessError,
    },
    /// An aesec manifest of the closure does not parse.
    #[error("cannot read the manifest '{}'", path.display())]
    Manifest {
        /// The manifest.
        path: PathBuf,
        /// Why.
        #[source]
        source: ManifestError,
    },
    /// A sops file named by a manifest shows no readable sops metadata.
    #[error("cannot read the sops metadata of '{}'", path.display())]
    SopsFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: FleetFileError,
    },
    /// The configuration names sops files, and no recipient is known for the host (no
    /// `.sops.yaml` member of that name).
    #[error("'{host}' has no recipient in .sops.yaml to check its {} sops file(s) against", files.len())]
    NoRecipient {
        /// The host.
        host: String,
        /// The files its configuration names.
        files: Vec<PathBuf>,
    },
    /// The host cannot decrypt sops files its configuration names: its recipient is missing
    /// from them (forgotten `updatekeys`). Nothing was copied.
    #[error(
        "'{host}' cannot decrypt {} sops file(s) its configuration names (recipient {recipient}): {}",
        files.len(),
        files.iter().map(|f| format!("'{}'", f.path.display())).collect::<Vec<_>>().join(", ")
    )]
    CannotDecrypt {
        /// The host.
        host: String,
        /// Its recipient.
        recipient: String,
        /// The files it cannot decrypt.
        files: Vec<Denied>,
    },
    /// `nix copy` to the target failed.
    #[error("cannot copy the closure to '{target}'")]
    Copy {
        /// The target.
        target: String,
        /// Why.
        #[source]
        source: ProcessError,
    },
    /// Setting the system profile failed.
    #[error("cannot set the profile '{profile}' on '{target}'")]
    Profile {
        /// The target.
        target: String,
        /// The profile.
        profile: String,
        /// Why.
        #[source]
        source: ProcessError,
    },
    /// `switch-to-configuration` failed; with magic rollback the target rolled back.
    #[error("switch-to-configuration {action} failed on '{target}'{}", if *rolled_back { " and it rolled back" } else { "" })]
    Activate {
        /// The target.
        target: String,
        /// The action.
        action: &'static str,
        /// Whether the target rolled back to the previous generation.
        rolled_back: bool,
        /// Why (the target's log is in the standard error).
        #[source]
        source: ProcessError,
    },
    /// The connection broke during the switch: the target rolls back by itself unless the
    /// switch succeeded and someone confirms in time, which the deployer cannot.
    #[error(
        "lost the connection to '{target}' during the switch: it rolls back within {timeout_seconds} s"
    )]
    ConnectionLost {
        /// The target.
        target: String,
        /// The confirmation timeout.
        timeout_seconds: u64,
        /// What ssh reported.
        #[source]
        source: ProcessError,
    },
    /// The switch succeeded but could not be confirmed over a new connection: the target rolls
    /// back (or already did).
    #[error("cannot confirm the new system on '{target}': it rolls back")]
    Confirm {
        /// The target.
        target: String,
        /// Why.
        #[source]
        source: ProcessError,
    },
}
