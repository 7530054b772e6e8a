//! Bootstrapping OpenBao itself: [`init`] initialises a new server and puts its unseal keys and
//! root token straight into a sops file encrypted under the file's `.sops.yaml` creation rule
//! (they are never printed and never on disk in clear); [`unseal`] unseals a server with the
//! shares the caller's identities can open, and says how many more are needed.
//!
//! # The file, and why it nests sops documents
//!
//! sops encrypts a whole file with one data key. Key groups do not give subtrees to different
//! people: each group holds a Shamir share *of that data key*, and whoever gathers the
//! threshold of groups reads every value. A subtree "readable only by admin *i*" therefore
//! cannot be an ordinary value of the file. The layout used here says so plainly:
//!
//! ```yaml
//! openbao_unencrypted:          # left in clear by sops' default `_unencrypted` suffix
//!     shares: 3                 # unseal key shares in all
//!     threshold: 2              # shares that unseal
//! root_token: ENC[AES256_GCM,…] # an ordinary value: needs the rule's key groups (Shamir)
//! unseal_keys_unencrypted:      # in clear in the outer file, but each entry is itself a
//!     - key_group: 0            # sops document (JSON) encrypted to that key group alone
//!       holders: [age1…]        # the master keys of the group (public)
//!       sops_document: '{"unseal_keys": ["ENC[…]"], "sops": {…}}'
//! ```
//!
//! - **With key groups** (admin *i* in group *i*), the server gets one unseal share per group,
//!   and the share of group *i* sits in a nested sops document that only group *i*'s keys open.
//!   OpenBao's threshold defaults to the rule's `shamir_threshold` (sops' default when it has
//!   none: every group), so the quorum that may unseal is also the quorum that can open the
//!   outer file and read the root token.
//! - **With one key group** every member can open everything anyway, so the shares (one by
//!   default) all go into that group's nested document.
//!
//! The nested documents are ordinary sops files (real `sops decrypt` opens them), and so is
//! the outer file. The `_unencrypted` keys are covered by the outer file's MAC; [`unseal`]
//! checks it when the caller can open the outer file, and otherwise reads the nested
//! documents unauthenticated (the report says which): a tampered share can only make the
//! unseal fail, since OpenBao checks the combined key.
//!
//! The crypt rule of the creation rule (`encrypted_regex` and the like) is not applied: this
//! layout decides itself what is encrypted, so a rule written for Kubernetes manifests can never
//! leave the root token in clear. Only the rule's keys are used.

use std::path::Path;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use aesec::config::Config;
use aesec::file::{DecryptOptions, EncryptOptions, FileError, RuleOverrides};
use aesec::sops::{DataKeyError, Document, KeyDecryptor, OpenError, OpenOptions, Recipients};
use aesec::store::{EmitOptions, Format};

use crate::client::Client;
use crate::error::Error;

/// The outer file's key of the share layout (left in clear by sops' default suffix).
const INFO_KEY: &str = "openbao_unencrypted";
/// The outer file's key of the nested per-group documents (left in clear by the same suffix).
const GROUPS_KEY: &str = "unseal_keys_unencrypted";

/// Why bootstrapping failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BootstrapError {
    /// An OpenBao request failed.
    #[error("OpenBao request failed")]
    Bao(#[source] Box<Error>),
    /// The server is initialised already: `init` would lose nothing, but does nothing.
    #[error("{addr} is already initialised")]
    AlreadyInitialised {
        /// The server address.
        addr: String,
    },
    /// The server is not initialised, so there is nothing to unseal.
    #[error("{addr} is not initialised: run init first")]
    NotInitialised {
        /// The server address.
        addr: String,
    },
    /// The file's format cannot hold the layout (only YAML and JSON can).
    #[error("'{}': unseal keys go into a YAML or JSON sops file", file.display())]
    UnsupportedFormat {
        /// The file.
        file: std::path::PathBuf,
    },
    /// With key groups there is one share per group; another number was asked for.
    #[error(
        "the creation rule has {groups} key groups, so there are {groups} shares, not {shares}"
    )]
    SharesMismatch {
        /// The number asked for.
        shares: u32,
        /// The rule's key groups.
        groups: usize,
    },
    /// The threshold is 0 or above the number of shares.
    #[error("a threshold of {threshold} is impossible with {shares} share(s)")]
    InvalidThreshold {
        /// The threshold asked for.
        threshold: u32,
        /// The shares.
        shares: u32,
    },
    /// The sops file could not be encrypted or opened.
    #[error("sops file '{}'", file.display())]
    File {
        /// The file.
        file: std::path::PathBuf,
        /// The cause.
        #[source]
        source: FileError,
    },
    /// The file is a sops file but not one that [`init`] wrote.
    #[error("'{}' holds no unseal keys written by aesec bao init: {what}", file.display())]
    Layout {
        /// The file.
        file: std::path::PathBuf,
        /// What is missing or malformed.
        what: String,
    },
}

impl From<Error> for BootstrapError {
    fn from(error: Error) -> Self {
        Self::Bao(Box::new(error))
    }
}

/// Where [`init`] writes, and how it splits the unseal key.
#[derive(Clone, Copy)]
#[non_exhaustive]
pub struct InitTarget<'a> {
    /// The sops file to be written (its path picks the creation rule, its extension the
    /// format: YAML or JSON).
    pub file: &'a Path,
    /// The directory relative paths are resolved against.
    pub cwd: &'a Path,
    /// `.sops.yaml`.
    pub config: Option<&'a Config>,
    /// Backends of master keys that are not age (`hc_vault` Transit keys).
    pub backends: &'a [&'a dyn KeyDecryptor],
    /// Unseal key shares: with key groups, one per group (the default); with one group, 1 by
    /// default.
    pub shares: Option<u32>,
    /// Shares that unseal: the rule's `shamir_threshold` by default (every group when it has
    /// none), 1 with one group.
    pub threshold: Option<u32>,
}

impl<'a> InitTarget<'a> {
    /// A target with no `.sops.yaml`, no backends and the default split.
    pub fn new(file: &'a Path, cwd: &'a Path) -> Self {
        Self {
            file,
            cwd,
            config: None,
            backends: &[],
            shares: None,
            threshold: None,
        }
    }
}

/// What [`init`] did.
#[non_exhaustive]
pub struct Initialised {
    /// The encrypted sops file, for the caller to write (the only copy of the unseal keys).
    pub file: Vec<u8>,
    /// Unseal key shares made.
    pub shares: u32,
    /// Shares that unseal.
    pub threshold: u32,
    /// Who holds which shares: per key group, its master keys (public identifiers).
    pub holders: Vec<Vec<String>>,
}

/// What [`unseal`] did.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct UnsealReport {
    /// The key groups (nested documents) whose shares the caller's identities opened.
    pub groups_opened: Vec<usize>,
    /// The key groups of the file.
    pub groups: usize,
    /// Shares given to the server now.
    pub submitted: u32,
    /// Whether the file's MAC was checked (the caller could open the whole file).
    pub authenticated: bool,
    /// Whether the server is still sealed.
    pub sealed: bool,
    /// Shares given so far in the server's current unseal attempt (others' included).
    pub progress: u32,
    /// Shares that unseal.
    pub threshold: u32,
    /// Shares still needed (0 once unsealed).
    pub needed: u32,
}

#[derive(Serialize, Deserialize)]
struct Info {
    shares: u32,
    threshold: u32,
}

#[derive(Serialize)]
struct Outer<'a> {
    #[serde(rename = "openbao_unencrypted")]
    info: Info,
    root_token: &'a str,
    #[serde(rename = "unseal_keys_unencrypted")]
    groups: Vec<GroupEntry>,
}

#[derive(Serialize, Deserialize)]
struct GroupEntry {
    key_group: usize,
    holders: Vec<String>,
    sops_document: String,
}

#[derive(Deserialize)]
struct Layout {
    #[serde(rename = "openbao_unencrypted")]
    info: Info,
    #[serde(rename = "unseal_keys_unencrypted")]
    groups: Vec<GroupEntry>,
}

#[derive(Serialize)]
struct Shares<'a> {
    unseal_keys: Vec<&'a str>,
}

#[derive(Deserialize)]
struct OpenedShares {
    unseal_keys: Vec<String>,
}

/// Initialises the server `client` points at, and returns the sops file holding its unseal
/// keys and root token (see the module docs for the layout). The caller writes the file; it is
/// the only copy of the keys, so write it before anything else can fail.
///
/// Every master key is tried (a trial encryption of the same layout) *before* `sys/init`, so a
/// missing backend or an unreachable Transit server fails while nothing is lost.
///
/// ```no_run
/// use std::path::Path;
///
/// use aesec::config::Config;
/// use aesec_bao_bridge::bootstrap::{InitTarget, init};
/// use aesec_bao_bridge::{Client, Config as BaoConfig};
///
/// let client = Client::new(BaoConfig::new("http://127.0.0.1:8200"))?;
/// let config = Config::load(".sops.yaml")?;
/// let file = Path::new("secrets/openbao/unseal.yaml");
/// let mut target = InitTarget::new(file, Path::new("."));
/// target.config = Some(&config);
/// let initialised = init(&client, &target)?;
/// std::fs::write(file, &initialised.file)?; // encrypted: no key is in clear
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn init(client: &Client, target: &InitTarget<'_>) -> Result<Initialised, BootstrapError> {
    let format = layout_format(target.file)?;
    let recipients = || {
        aesec::file::creation_recipients(
            target.config,
            target.file,
            target.cwd,
            &RuleOverrides::default(),
            target.backends,
        )
        .map(|(recipients, _rules)| recipients)
        .map_err(|source| file_error(target.file, source))
    };
    let outer = recipients()?;
    let groups = outer.key_groups.len();
    let holders: Vec<Vec<String>> = outer
        .key_groups
        .iter()
        .map(|group| group.iter().map(|key| key.identifier()).collect())
        .collect();
    let (shares, threshold) = split(target, groups, outer.shamir_threshold)?;

    // A trial run with placeholders: every master key must wrap before the keys exist.
    let placeholder = Zeroizing::new("placeholder".to_owned());
    let trial_keys = vec![placeholder.clone(); shares as usize];
    seal_file(
        target,
        format,
        &recipients,
        &holders,
        (shares, threshold),
        &trial_keys,
        &placeholder,
    )?;

    let status = client.seal_status()?;
    if status.initialized {
        return Err(BootstrapError::AlreadyInitialised {
            addr: client.address().to_owned(),
        });
    }
    let keys = client.init_server(shares, threshold)?;
    let file = seal_file(
        target,
        format,
        &recipients,
        &holders,
        (shares, threshold),
        &keys.keys,
        &keys.root_token,
    )?;
    Ok(Initialised {
        file,
        shares,
        threshold,
        holders,
    })
}

/// Unseals the server `client` points at with every share of `encrypted` (the bytes of
/// `file`, which [`init`] wrote) that `decryptors` open, stopping once it is unsealed; the report says how many more
/// shares are needed. Shares given by others earlier in the same unseal attempt count.
///
/// A Raft node that joins its cluster on the first unseal call may answer "sealed, progress 0"
/// to it: run it again once the node has joined.
///
/// ```no_run
/// use aesec::keys::age::Identities;
/// use std::path::Path;
///
/// use aesec::sops::AgeDecryptor;
/// use aesec_bao_bridge::bootstrap::unseal;
/// use aesec_bao_bridge::{Client, Config};
///
/// let client = Client::new(Config::new("http://127.0.0.1:8200"))?;
/// let identities = Identities::new(); // the caller's age identities
/// let decryptor = AgeDecryptor::new(&identities);
/// let file = Path::new("secrets/openbao/unseal.yaml");
/// let report = unseal(&client, file, &std::fs::read(file)?, &[&decryptor])?;
/// if report.sealed {
///     println!("still sealed: {} more share(s) needed", report.needed);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn unseal(
    client: &Client,
    file: &Path,
    encrypted: &[u8],
    decryptors: &[&dyn KeyDecryptor],
) -> Result<UnsealReport, BootstrapError> {
    let format = layout_format(file)?;
    let (layout, authenticated) = read_layout(encrypted, format, decryptors, file)?;
    let mut report = UnsealReport {
        groups_opened: Vec::new(),
        groups: layout.groups.len(),
        submitted: 0,
        authenticated,
        sealed: true,
        progress: 0,
        threshold: layout.info.threshold,
        needed: 0,
    };
    let mut status = client.seal_status()?;
    if !status.initialized {
        return Err(BootstrapError::NotInitialised {
            addr: client.address().to_owned(),
        });
    }
    let mut shares: Vec<Zeroizing<String>> = Vec::new();
    if status.sealed {
        for group in &layout.groups {
            if let Some(opened) = open_group(group, decryptors, file)? {
                report.groups_opened.push(group.key_group);
                shares.extend(opened);
            }
        }
    }
    for share in &shares {
        if !status.sealed {
            break;
        }
        status = client.unseal_share(share)?;
        report.submitted += 1;
    }
    report.sealed = status.sealed;
    report.progress = status.progress;
    report.threshold = status.threshold;
    report.needed = status.needed();
    Ok(report)
}

/// The number of shares and the threshold for a rule with `groups` key groups.
fn split(
    target: &InitTarget<'_>,
    groups: usize,
    rule_threshold: Option<usize>,
) -> Result<(u32, u32), BootstrapError> {
    let group_count = u32::try_from(groups).unwrap_or(u32::MAX);
    let (shares, default_threshold) = match groups {
        1 => (target.shares.unwrap_or(1), 1),
        _ => {
            let shares = target.shares.unwrap_or(group_count);
            if shares != group_count {
                return Err(BootstrapError::SharesMismatch { shares, groups });
            }
            let threshold = rule_threshold
                .and_then(|threshold| u32::try_from(threshold).ok())
                .unwrap_or(group_count);
            (shares, threshold)
        }
    };
    let threshold = target.threshold.unwrap_or(default_threshold);
    if threshold == 0 || threshold > shares {
        return Err(BootstrapError::InvalidThreshold { threshold, shares });
    }
    Ok((shares, threshold))
}

/// Encrypts the layout: one nested document per key group (group *i* gets share *i*, or all of
/// them when there is one group), then the outer file.
fn seal_file(
    target: &InitTarget<'_>,
    format: Format,
    recipients: &dyn Fn() -> Result<Recipients, BootstrapError>,
    holders: &[Vec<String>],
    (shares, threshold): (u32, u32),
    keys: &[Zeroizing<String>],
    root_token: &str,
) -> Result<Vec<u8>, BootstrapError> {
    let failed = |source| file_error(target.file, source);
    let mut groups = Vec::new();
    for (index, group_holders) in holders.iter().enumerate() {
        let mine: Vec<&str> = match holders.len() {
            1 => keys.iter().map(|key| key.as_str()).collect(),
            _ => keys
                .get(index)
                .map(|key| key.as_str())
                .into_iter()
                .collect(),
        };
        let plaintext = to_json(&Shares { unseal_keys: mine });
        let mut all = recipients()?;
        let group = Recipients::single_group(all.key_groups.swap_remove(index));
        let mut options = EncryptOptions::new(Format::Json, Format::Json);
        options.emit.json_indent = Some(0);
        let nested = aesec::file::encrypt(&plaintext, &group, &options).map_err(failed)?;
        groups.push(GroupEntry {
            key_group: index,
            holders: group_holders.clone(),
            sops_document: String::from_utf8(nested).expect("the JSON store writes UTF-8"),
        });
    }
    let plaintext = to_json(&Outer {
        info: Info { shares, threshold },
        root_token,
        groups,
    });
    // The default rules (sops' `_unencrypted` suffix), whatever the creation rule's crypt rule.
    let options = EncryptOptions::new(Format::Json, format);
    aesec::file::encrypt(&plaintext, &recipients()?, &options).map_err(failed)
}

/// Reads the layout: from the decrypted outer file when `decryptors` open it (MAC checked),
/// else from its clear `_unencrypted` keys.
fn read_layout(
    encrypted: &[u8],
    format: Format,
    decryptors: &[&dyn KeyDecryptor],
    file: &Path,
) -> Result<(Layout, bool), BootstrapError> {
    let failed = |source: FileError| file_error(file, source);
    let mut options = OpenOptions::default();
    options.read_only = true;
    let (json, authenticated) = match Document::open(encrypted, format, decryptors, &options) {
        Ok(document) => (
            document
                .to_plaintext(Format::Json, &EmitOptions::default())
                .map_err(|error| failed(error.into()))?,
            true,
        ),
        Err(OpenError::DataKey(_)) => {
            let tree = match format {
                Format::Json => aesec::store::json::parse(encrypted),
                _ => aesec::store::yaml::parse(encrypted),
            }
            .map_err(|error| failed(error.into()))?;
            let emitted =
                aesec::store::json::emit(&tree, Some(0)).map_err(|error| failed(error.into()))?;
            (emitted, false)
        }
        Err(error) => return Err(failed(error.into())),
    };
    let layout = serde_json::from_slice(&json).map_err(|error| BootstrapError::Layout {
        file: file.to_owned(),
        what: format!("{INFO_KEY} or {GROUPS_KEY}: {}", classify_json(&error)),
    })?;
    Ok((layout, authenticated))
}

/// Opens one nested document; `None` when none of `decryptors` holds a key of its group.
fn open_group(
    group: &GroupEntry,
    decryptors: &[&dyn KeyDecryptor],
    file: &Path,
) -> Result<Option<Vec<Zeroizing<String>>>, BootstrapError> {
    let options = DecryptOptions::new(Format::Json, Format::Json);
    let plaintext = match aesec::file::decrypt(group.sops_document.as_bytes(), decryptors, &options)
    {
        Ok(plaintext) => plaintext,
        Err(FileError::Open(OpenError::DataKey(DataKeyError::Failed { .. }))) => {
            return Ok(None);
        }
        Err(source) => return Err(file_error(file, source)),
    };
    let opened: OpenedShares =
        serde_json::from_slice(&plaintext).map_err(|error| BootstrapError::Layout {
            file: file.to_owned(),
            what: format!(
                "key group {}: no unseal_keys ({})",
                group.key_group,
                classify_json(&error)
            ),
        })?;
    Ok(Some(
        opened.unseal_keys.into_iter().map(Zeroizing::new).collect(),
    ))
}

/// The layout's format: YAML or JSON, from the file name.
fn layout_format(file: &Path) -> Result<Format, BootstrapError> {
    match Format::from_path(file) {
        format @ (Format::Yaml | Format::Json) => Ok(format),
        _ => Err(BootstrapError::UnsupportedFormat {
            file: file.to_owned(),
        }),
    }
}

fn file_error(file: &Path, source: FileError) -> BootstrapError {
    BootstrapError::File {
        file: file.to_owned(),
        source,
    }
}

/// Serializes into memory that is cleared on drop. The buffer is large enough for the layout
/// of dozens of key groups, so it is not reallocated (which would leave an uncleared copy).
fn to_json(value: &impl Serialize) -> Zeroizing<Vec<u8>> {
    let mut buffer = Zeroizing::new(Vec::with_capacity(1 << 16));
    // Structs of strings and numbers always serialize.
    serde_json::to_writer(&mut *buffer, value).expect("the layout serializes");
    buffer
}

/// A JSON error's kind and position, never the text around it (it may be secret).
fn classify_json(error: &serde_json::Error) -> String {
    format!(
        "{:?} error at line {}, column {}",
        error.classify(),
        error.line(),
        error.column()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(shares: Option<u32>, threshold: Option<u32>) -> InitTarget<'static> {
        let mut target = InitTarget::new(Path::new("unseal.yaml"), Path::new("."));
        target.shares = shares;
        target.threshold = threshold;
        target
    }

    #[test]
    fn key_groups_get_one_share_each_and_the_rule_threshold() {
        assert_eq!(split(&target(None, None), 3, Some(2)).unwrap(), (3, 2));
        assert_eq!(split(&target(None, None), 3, None).unwrap(), (3, 3));
        assert_eq!(split(&target(None, Some(1)), 2, None).unwrap(), (2, 1));
        assert!(matches!(
            split(&target(Some(5), None), 3, None),
            Err(BootstrapError::SharesMismatch {
                shares: 5,
                groups: 3
            })
        ));
    }

    #[test]
    fn one_group_takes_any_split_that_can_unseal() {
        assert_eq!(split(&target(None, None), 1, None).unwrap(), (1, 1));
        assert_eq!(split(&target(Some(5), Some(3)), 1, None).unwrap(), (5, 3));
        assert!(matches!(
            split(&target(Some(2), Some(3)), 1, None),
            Err(BootstrapError::InvalidThreshold { .. })
        ));
        assert!(matches!(
            split(&target(None, Some(0)), 1, None),
            Err(BootstrapError::InvalidThreshold { .. })
        ));
    }

    #[test]
    fn only_yaml_and_json_hold_the_layout() {
        assert!(layout_format(Path::new("a.yaml")).is_ok());
        assert!(layout_format(Path::new("a.json")).is_ok());
        assert!(matches!(
            layout_format(Path::new("a.env")),
            Err(BootstrapError::UnsupportedFormat { .. })
        ));
    }
}
