//! Publishing sops files to OpenBao KV v2 for Kubernetes (External Secrets): the mapping in
//! `.aesec.yaml` ([`Mapping`]), the plan ([`plan()`]: `+ create`, `~ update`, `= unchanged`,
//! `- prune`), the write protocol ([`push()`]), the way back ([`pull()`]) and the External
//! Secrets manifests with the OpenBao policy and role they need ([`manifests()`],
//! [`OpenBaoSetup`]).
//!
//! The write protocol (research §4.5), per mapped path:
//!
//! 1. read the metadata (one request, no secret value on the wire); a path whose
//!    `custom_metadata` has no `managed-by: aesec` belongs to someone else and is refused
//!    unless adopted;
//! 2. compare the fingerprint of the decrypted content with `aesec.fingerprint`: equal means
//!    no write at all, so **an unchanged secret gets no new version**;
//! 3. write with check-and-set on the version read in step 1 (`cas: 0` for a new path): a
//!    concurrent writer makes the write fail, and it is reported, never overwritten;
//! 4. merge-patch the metadata: `managed-by: aesec`, `aesec.source`, `aesec.source-path`,
//!    `aesec.fingerprint` and one `aesec.encoding.<key>: base64` per binary value; other
//!    tools' keys survive.
//!
//! Pruning soft-deletes (reversibly) the latest version of managed paths that left the
//! mapping; paths aesec does not manage are never touched. It treats every aesec-managed path
//! of the mapping's mounts as this mapping's: two repositories publishing to one mount must not
//! both prune.
//!
//! Each request is retried by the [`Client`](crate::Client) (a check-and-set write is safe to
//! retry). A retried write can meet its own first attempt, committed by a leader that died
//! before answering: a conflict whose version is the next one and holds exactly the content
//! pushed is taken as the push's own write, so a failover mid-push loses nothing and writes
//! nothing twice (checked on a 3-node Raft cluster). If the process itself dies between steps 3 and 4, the next push sees the old
//! fingerprint and writes the same content once more (one extra version); a *new* path is then
//! still unmarked and is reported as foreign until it is adopted.
//!
//! ```no_run
//! use aesec::keys::age::Identities;
//! use aesec::sops::AgeDecryptor;
//! use aesec_bao_bridge::publish::{self, Mapping, PlanOptions};
//! use aesec_bao_bridge::{Client, Config};
//!
//! let client = Client::new(Config::from_env_with(|name| std::env::var(name).ok())?)?;
//! let mapping = Mapping::from_yaml(&std::fs::read(".aesec.yaml")?, ".aesec.yaml")?;
//! let identities = Identities::new(); // add the age identities that open the files
//! let decryptor = AgeDecryptor::new(&identities);
//! let plan = publish::plan(&client, &mapping, &[&decryptor], &PlanOptions::default())?;
//! print!("{plan}");
//! let report = publish::push(&client, &plan, &mut |_change| {})?;
//! assert!(report.conflicts().next().is_none());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod content;
mod manifests;
mod mapping;
mod plan;
mod pull;

use std::path::PathBuf;

pub use content::Content;
pub use manifests::{OpenBaoSetup, manifests};
pub use mapping::{Entry, MAPPING_FILE, ManifestSettings, Mapping};
pub use plan::{
    Action, Change, ENCODING_PREFIX, FINGERPRINT_KEY, MANAGED_BY, MANAGED_BY_KEY, Outcome, Plan,
    PlanOptions, PushReport, PushResult, SOURCE_KEY, SOURCE_PATH_KEY, plan, push,
};
pub use pull::{PullTarget, pull};

use crate::error::Error;

/// Why publishing, pulling or generating manifests failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// `.aesec.yaml` is malformed.
    #[error("invalid mapping '{}': {reason}", file.display())]
    Mapping {
        /// The mapping file.
        file: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A mapped sops file could not be read.
    #[error("cannot read '{}'", file.display())]
    Read {
        /// The sops file.
        file: PathBuf,
        /// The cause.
        #[source]
        source: aesec::fs::FsError,
    },
    /// A mapped sops file could not be decrypted, or its `keys` path is invalid.
    #[error("cannot open '{}'", file.display())]
    Open {
        /// The sops file.
        file: PathBuf,
        /// The cause.
        #[source]
        source: aesec::file::FileError,
    },
    /// A decrypted value cannot be published as a flat string map.
    #[error("cannot publish '{source_name}' key '{key}': {reason}")]
    Flatten {
        /// The sops file (and key path) published.
        source_name: String,
        /// The flattened key.
        key: String,
        /// Why.
        reason: &'static str,
    },
    /// OpenBao refused or failed a request.
    #[error("OpenBao request for '{mount}/{path}' failed")]
    Bao {
        /// The KV mount.
        mount: String,
        /// The path under it.
        path: String,
        /// The cause (boxed: OpenBao errors are large).
        #[source]
        source: Box<Error>,
    },
    /// A pulled KV secret holds a value that is not a string (or a binary value that is not
    /// base64).
    #[error("'{mount}/{path}' key '{key}' is not a string: aesec publishes and pulls strings")]
    NotAString {
        /// The KV mount.
        mount: String,
        /// The path under it.
        path: String,
        /// The key.
        key: String,
    },
    /// A pull into an existing file without the subtree it replaces.
    #[error("'{}' exists: name the subtree the secret replaces (--keys)", file.display())]
    NoSubtree {
        /// The existing sops file.
        file: PathBuf,
    },
}
