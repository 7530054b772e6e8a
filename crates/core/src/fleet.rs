//! The fleet engine: every sops file of a repository brought in line with `.sops.yaml` at once.
//!
//! [`discover()`] finds the sops files under the config's directory; [`plan()`] compares each
//! file's key groups with its creation rule without decrypting anything; [`update_keys`]
//! applies a plan, [`rotate_older_than`] gives old files new data keys, [`check()`] is the
//! keyless CI gate, [`status()`] the who-reads-what matrix and [`access()`] one member's part of
//! one file. Membership changes go through
//! [`enroll()`] (a host or person joins: anchor, rules, files) and [`remove()`] (a member leaves,
//! its files get new data keys); [`bootstrap()`] hands a generated host key to
//! `nixos-anywhere`, [`bootstrap_cloud_init`] to cloud-init. Who a member is, and which
//! members are admins, is decided in one place:
//! [`config::read_members`](crate::config::read_members) and
//! [`config::is_admin_name`](crate::config::is_admin_name).
//!
//! Every write follows one discipline (DESIGN §8): each file to change is **opened** (data key
//! recovered, every value decrypted, MAC checked), its new content **computed** in memory and
//! checked to decrypt with the data key held (and, where the caller's identities are still
//! recipients, that the wrapped entries give that key back), then **staged**: written to a
//! temporary file beside it and flushed, which replaces nothing. Files take these steps on
//! their own, so one file's flush overlaps the others' work. Only when every file is staged
//! are they **replaced**: the renames, then one flush per directory ([`crate::fs`] gives the
//! order), keeping each file's mode. If any file fails a step, every failing file is listed,
//! the temporary files are removed and no file is replaced; a killed run leaves each file old
//! or new, both decryptable.
//!
//! Unlike sops' `updatekeys`, a plan that removes a recipient (or raises the number of key
//! groups needed) gives the file a fresh data key and re-encrypts every value
//! (research/sops-format.md §12, §18.2): a removed host that kept the old data key cannot read
//! later edits. Adding recipients only wraps the same data key for the new ones and leaves
//! values, MAC, `lastmodified` and (with one key group) the other recipients' entries
//! byte-identical, so `sops updatekeys -y` afterwards finds nothing to do.
//!
//! # Enroll a host and bring the tree in line
//!
//! A small fleet: one admin, one rule for `secrets/`, one encrypted file. Host `web` joins
//! every rule the admin is in; the `.sops.yaml` edit comes first, then the tree follows with
//! [`plan()`] and [`update_keys`] (what [`enroll()`] does by itself unless
//! [`EnrollOptions::no_updatekeys`] is set, as here to show the two steps).
//!
//! ```
//! use aesec::config::Config;
//! use aesec::file::{EncryptOptions, encrypt};
//! use aesec::fleet::{self, ApplyOptions, EnrollOptions, EnrollRequest, KeySource, PlanOptions, Targets};
//! use aesec::keys::age::{GeneratedIdentity, Identities};
//! use aesec::progress::NoProgress;
//! use aesec::secrecy::ExposeSecret;
//! use aesec::sops::{AgeDecryptor, AgeMasterKey, Recipients};
//! use aesec::store::Format;
//!
//! // A temporary copy of the fleet.
//! # let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_nanos();
//! # let unique = format!("aesec-doc-fleet-{}-{nanos}", std::process::id());
//! let repo = std::env::temp_dir().join(unique);
//! std::fs::create_dir_all(repo.join("secrets"))?;
//! let admin = GeneratedIdentity::generate();
//! let config_path = repo.join(".sops.yaml");
//! std::fs::write(
//!     &config_path,
//!     format!(
//!         "keys:\n  - &admin_alice {}\ncreation_rules:\n  - path_regex: ^secrets/\n    age: [*admin_alice]\n",
//!         admin.recipient()
//!     ),
//! )?;
//! let recipients = Recipients::single_group(vec![Box::new(AgeMasterKey::new(admin.recipient()))]);
//! let db = encrypt(b"password: hunter2\n", &recipients, &EncryptOptions::new(Format::Yaml, Format::Yaml))?;
//! std::fs::write(repo.join("secrets/db.yaml"), db)?;
//!
//! // 1. web joins every rule that names the admin (`.sops.yaml` only).
//! let web = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOHz+U0YtjINc54dZiJNclfmEFifF7RXCFlNlTbuZBji web";
//! let request = EnrollRequest::new("web", KeySource::key(web, "web.pub"), Targets::Like("admin_alice".into()));
//! let mut options = EnrollOptions::default();
//! options.no_updatekeys = true;
//! let outcome = fleet::enroll(&config_path, &request, &[], &options, &NoProgress)?;
//! assert_eq!(outcome.rules.len(), 1);
//!
//! // 2. The tree follows: plan without keys, then re-wrap with the admin's identity.
//! let config = Config::load(&config_path)?;
//! let files = fleet::discover(&config, &[], &repo)?;
//! let plan = fleet::plan(&config, &files, &repo, &PlanOptions::default())?;
//! assert_eq!(plan.changed().count(), 1);
//! let mut identities = Identities::new();
//! identities.add_identity_file_text(admin.to_identity_file("2026-11-22T00:00:00Z").expose_secret(), "admin.key")?;
//! let admin_key = AgeDecryptor::new(&identities);
//! let report = fleet::update_keys(&plan, &[&admin_key], &ApplyOptions::with_emit(config.stores), &NoProgress)?;
//! assert_eq!((report.changed, report.rewrapped), (1, 1));
//!
//! // Nothing is left to do, and the file now names web's recipient.
//! assert!(fleet::plan(&config, &files, &repo, &PlanOptions::default())?.is_empty());
//! let text = std::fs::read_to_string(repo.join("secrets/db.yaml"))?;
//! assert!(text.contains(&outcome.recipient));
//! # std::fs::remove_dir_all(&repo)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

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
    BootstrapError, BootstrapOptions, BootstrapOutcome, BootstrappedKey, CloudInitOutcome,
    bootstrap, bootstrap_cloud_init,
};
pub use check::{CheckReport, Finding, check};
pub use discover::discover;
pub use enroll::{
    ConfirmHostKey, EnrollError, EnrollOptions, EnrollOutcome, EnrollRequest, GeneratedKey,
    KeySource, KeyscanTrust, KnownHosts, Membership, RuleGrant, ScannedKey, Targets, Verified,
    enroll,
};
pub use error::{FailedFile, FleetError, FleetFileError};
pub use plan::{Action, FilePlan, GroupChange, Plan, PlanOptions, plan};
pub use remove::{ReadableFile, RemoveError, RemoveOptions, RemoveOutcome, remove};
pub use rotate::{ParseDurationError, parse_duration, rotate_older_than};
pub use status::{Access, StatusCell, StatusColumn, StatusMatrix, StatusRow, access, status};
pub use updatekeys::update_keys;
