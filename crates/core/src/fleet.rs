//! The fleet engine: every sops file of a repository brought in line with `.sops.yaml` at once.
//!
//! [`discover`] finds the sops files under the config's directory; [`plan()`] compares each
//! file's key groups with its creation rule without decrypting anything; [`update_keys`]
//! applies a plan, [`rotate_older_than`] gives old files new data keys, [`check()`] is the
//! keyless CI gate and [`status`] the who-reads-what matrix.
//!
//! Every write follows one discipline (DESIGN §8): **open** every file to change (data key
//! recovered, every value decrypted, MAC checked) before anything is written, and stop with
//! every failing file listed if one does not open; **compute** every new content in memory
//! and check it decrypts with the data key held (and, where the caller's identities are still
//! recipients, that the wrapped entries give that key back); only then **write** each file
//! atomically, keeping its mode. A killed run leaves each file old or new, both decryptable.
//!
//! Unlike sops' `updatekeys`, a plan that removes a recipient (or raises the number of key
//! groups needed) gives the file a fresh data key and re-encrypts every value
//! (research/sops-format.md §12, §18.2): a removed host that kept the old data key cannot read
//! later edits. Adding recipients only wraps the same data key for the new ones and leaves
//! values, MAC, `lastmodified` and (with one key group) the other recipients' entries
//! byte-identical, so `sops updatekeys -y` afterwards finds nothing to do.

mod apply;
mod bootstrap;
mod check;
mod config_file;
mod discover;
mod enroll;
mod error;
mod host_paths;
mod key_groups;
mod keyless;
mod plan;
mod remove;
mod rotate;
mod status;
mod updatekeys;

#[cfg(debug_assertions)]
pub use apply::BeforeRename;
pub use apply::{ApplyOptions, Durations, FileOutcome, Report};
pub use bootstrap::{
    BootstrapError, BootstrapOptions, BootstrapOutcome, EXTRA_FILES_HOST_KEY, bootstrap,
};
pub use check::{CheckReport, Finding, check};
pub use discover::discover;
pub use enroll::{
    ConfirmHostKey, EnrollError, EnrollOptions, EnrollOutcome, EnrollRequest, GeneratedKey,
    KEYSCAN_TIMEOUT_SECONDS, KeySource, KeyscanTrust, KnownHosts, Membership, RuleGrant,
    ScannedKey, Targets, Verified, enroll,
};
pub use error::{FailedFile, FleetError, FleetFileError};
pub use host_paths::{DEFAULT_HOST_DIR, HOST_KEY_FILE_NAME};
pub use plan::{Action, FilePlan, GroupChange, Plan, PlanOptions, plan};
pub use remove::{ReadableFile, RemoveError, RemoveOptions, RemoveOutcome, remove};
pub use rotate::{ParseDurationError, parse_duration, rotate_older_than};
pub use status::{StatusCell, StatusColumn, StatusMatrix, StatusRow, status};
pub use updatekeys::update_keys;
