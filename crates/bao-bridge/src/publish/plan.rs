//! The plan of a push (one metadata read per mapped path, compared with the decrypted sops
//! content) and the push itself: check-and-set writes, metadata merge-patches, soft deletes.

use std::collections::btree_map::Entry as Slot;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;

use aesec::sops::KeyDecryptor;
use aesec::sops::{Document, OpenOptions, TreePath};
use aesec::store::Format;
use aesec::{Value, file::FileError};

use crate::client::Client;
use crate::error::Error;
use crate::kv2::{Cas, Metadata, MetadataPatch};
use crate::publish::{Content, Entry, Mapping, PublishError};

/// The custom-metadata key that names a secret's owner.
pub const MANAGED_BY_KEY: &str = "managed-by";
/// aesec's value of [`MANAGED_BY_KEY`].
pub const MANAGED_BY: &str = "aesec";
/// The custom-metadata key of the sops file a secret comes from.
pub const SOURCE_KEY: &str = "aesec.source";
/// The custom-metadata key of the subtree published (sops path syntax, empty for the file).
pub const SOURCE_PATH_KEY: &str = "aesec.source-path";
/// The custom-metadata key of the content fingerprint ([`Content::fingerprint`]).
pub const FINGERPRINT_KEY: &str = "aesec.fingerprint";
/// The prefix of the custom-metadata keys that mark a binary value (`aesec.encoding.<key>`,
/// value `base64`).
pub const ENCODING_PREFIX: &str = "aesec.encoding.";

/// What a push does to one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Action {
    /// `+ create`: nothing is at the path yet.
    Create,
    /// `~ update`: aesec manages the path and the content changed.
    Update,
    /// `~ adopt`: another owner's path that `--adopt` takes over.
    Adopt,
    /// `= unchanged`: same fingerprint, nothing is written.
    Unchanged,
    /// `- prune`: a managed path that left the mapping; its latest version is soft-deleted.
    Prune,
    /// `! foreign`: the path exists and aesec does not manage it; it is refused.
    Foreign,
}

impl Action {
    fn symbol(self) -> &'static str {
        match self {
            Self::Create => "+ create",
            Self::Update => "~ update",
            Self::Adopt => "~ adopt",
            Self::Unchanged => "= unchanged",
            Self::Prune => "- prune",
            Self::Foreign => "! foreign",
        }
    }

    fn writes(self) -> bool {
        matches!(self, Self::Create | Self::Update | Self::Adopt)
    }
}

/// One path of a [`Plan`].
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Change {
    /// What happens.
    pub action: Action,
    /// The KV v2 mount.
    pub mount: String,
    /// The path under the mount.
    pub path: String,
    /// The sops file (as written in the mapping); `None` for a prune.
    pub source: Option<String>,
    /// The subtree published, when not the whole file.
    pub keys: Option<String>,
    /// The version the write is conditional on (0: the path must be absent).
    pub current_version: u64,
    /// The owner of a foreign path (its `managed-by`, `None` when it has none).
    pub owner: Option<String>,
    #[serde(skip)]
    content: Option<Content>,
    #[serde(skip)]
    stale_encodings: Vec<String>,
}

/// What [`plan`] may propose beyond the mapped paths.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct PlanOptions {
    /// Also soft-delete managed paths that left the mapping.
    pub prune: bool,
    /// Take over paths that another owner (or nobody) marked.
    pub adopt: bool,
}

/// Every path a push looks at, mapped paths first in mapping order, then prunes.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Plan {
    /// The paths.
    pub changes: Vec<Change>,
}

impl Plan {
    /// Whether the push would write or delete nothing.
    pub fn is_empty(&self) -> bool {
        self.changes
            .iter()
            .all(|change| matches!(change.action, Action::Unchanged | Action::Foreign))
    }

    /// The foreign paths that a push refuses.
    pub fn foreign(&self) -> impl Iterator<Item = &Change> {
        self.changes
            .iter()
            .filter(|change| change.action == Action::Foreign)
    }

    /// How many paths have `action`.
    pub fn count(&self, action: Action) -> usize {
        self.changes.iter().filter(|c| c.action == action).count()
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for change in &self.changes {
            write!(
                f,
                "{:<12} {}/{}",
                change.action.symbol(),
                change.mount,
                change.path
            )?;
            if let Some(source) = &change.source {
                write!(f, "  ← {source}{}", change.keys.as_deref().unwrap_or(""))?;
            }
            if change.action == Action::Foreign {
                match &change.owner {
                    Some(owner) => write!(f, "  (managed by '{owner}')")?,
                    None => write!(f, "  (not managed by aesec)")?,
                }
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

/// What the push did to one path.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "lowercase")]
#[non_exhaustive]
pub enum Outcome {
    /// A new version was written.
    Written {
        /// Its number.
        version: u64,
    },
    /// Someone wrote the path after the plan read it: nothing was written.
    Conflict,
    /// The latest version was soft-deleted.
    Deleted,
    /// Nothing to do (unchanged) or refused (foreign).
    Skipped,
}

/// What the push did to one planned path.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct PushResult {
    /// The KV v2 mount.
    pub mount: String,
    /// The path under the mount.
    pub path: String,
    /// What the plan proposed.
    pub action: Action,
    /// What happened.
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// The outcome of every planned path.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PushReport {
    /// One result per planned path, in plan order.
    pub results: Vec<PushResult>,
}

impl PushReport {
    /// The paths that had a check-and-set conflict, as `(mount, path)`.
    pub fn conflicts(&self) -> impl Iterator<Item = (&str, &str)> {
        self.results.iter().filter_map(|result| {
            matches!(result.outcome, Outcome::Conflict)
                .then_some((result.mount.as_str(), result.path.as_str()))
        })
    }

    /// How many new versions were written.
    pub fn written(&self) -> usize {
        self.results
            .iter()
            .filter(|result| matches!(result.outcome, Outcome::Written { .. }))
            .count()
    }
}

/// Decrypts every mapped file and reads each path's metadata (several reads in flight at
/// once), and returns what a push would do. Writes nothing. Costs one metadata read per
/// mapped path (plus, with [`PlanOptions::prune`], one list per folder of the mounts and one
/// metadata read per unmapped path).
pub fn plan(
    client: &Client,
    mapping: &Mapping,
    decryptors: &[&dyn KeyDecryptor],
    options: &PlanOptions,
) -> Result<Plan, PublishError> {
    let mut plan = Plan::default();
    let mut documents = BTreeMap::new();
    let mut contents = Vec::with_capacity(mapping.publish.len());
    for entry in &mapping.publish {
        // Each file is decrypted once, however many entries it feeds.
        let document = match documents.entry(entry.file.as_path()) {
            Slot::Occupied(slot) => slot.into_mut(),
            Slot::Vacant(slot) => slot.insert(open_file(mapping, &entry.file, decryptors)?),
        };
        contents.push(entry_content(mapping, entry, document)?);
    }
    let targets: Vec<(&str, &str)> = mapping
        .publish
        .iter()
        .map(|entry| (entry.mount(mapping), entry.path.as_str()))
        .collect();
    let metadata = read_all_metadata(client, &targets);
    for ((entry, content), metadata) in mapping.publish.iter().zip(contents).zip(metadata) {
        let mount = entry.mount(mapping);
        plan.changes
            .push(change_for(entry, mount, content, metadata?, options));
    }
    if options.prune {
        let mapped: BTreeSet<(&str, &str)> = mapping
            .publish
            .iter()
            .map(|entry| (entry.mount(mapping), entry.path.as_str()))
            .collect();
        let mounts: BTreeSet<&str> = std::iter::once(mapping.kv_mount.as_str())
            .chain(mapped.iter().map(|(mount, _)| *mount))
            .collect();
        let mut unmapped = Vec::new();
        for mount in mounts {
            for path in list_recursive(client, mount)? {
                if !mapped.contains(&(mount, path.as_str())) {
                    unmapped.push((mount, path));
                }
            }
        }
        let targets: Vec<(&str, &str)> = unmapped
            .iter()
            .map(|(mount, path)| (*mount, path.as_str()))
            .collect();
        let metadata = read_all_metadata(client, &targets);
        for ((mount, path), metadata) in unmapped.into_iter().zip(metadata) {
            let Some(metadata) = metadata? else {
                continue;
            };
            if is_managed(&metadata) && is_live(&metadata) {
                plan.changes.push(Change {
                    action: Action::Prune,
                    mount: mount.to_owned(),
                    current_version: metadata.current_version,
                    source: metadata.custom_metadata.get(SOURCE_KEY).cloned(),
                    path,
                    keys: None,
                    owner: None,
                    content: None,
                    stale_encodings: Vec::new(),
                });
            }
        }
    }
    Ok(plan)
}

/// Carries out `plan`: writes (check-and-set) and patches the metadata of created, updated and
/// adopted paths, soft-deletes pruned ones, and leaves unchanged and foreign paths alone.
/// `progress` is called after each path. A conflict is recorded in the report and the push
/// goes on with the other paths; any other OpenBao error stops it.
pub fn push(
    client: &Client,
    plan: &Plan,
    progress: &mut dyn FnMut(&Change),
) -> Result<PushReport, PublishError> {
    let mut report = PushReport::default();
    for change in &plan.changes {
        let failed = |source: Error| PublishError::Bao {
            mount: change.mount.clone(),
            path: change.path.clone(),
            source: Box::new(source),
        };
        let kv = client.kv2(&change.mount);
        let outcome = match (change.action, &change.content) {
            (action, Some(content)) if action.writes() => {
                let cas = match change.current_version {
                    0 => Cas::Absent,
                    version => Cas::Version(version),
                };
                let version = match kv.write(&change.path, &content.data, cas) {
                    Ok(written) => Some(written.version),
                    Err(Error::CasMismatch { .. }) => {
                        own_lost_write(client, change, content).map_err(failed)?
                    }
                    Err(error) => return Err(failed(error)),
                };
                match version {
                    Some(version) => {
                        kv.patch_metadata(&change.path, &ownership(change, content))
                            .map_err(failed)?;
                        Outcome::Written { version }
                    }
                    None => Outcome::Conflict,
                }
            }
            (Action::Prune, _) => {
                kv.soft_delete(&change.path).map_err(failed)?;
                Outcome::Deleted
            }
            _ => Outcome::Skipped,
        };
        report.results.push(PushResult {
            mount: change.mount.clone(),
            path: change.path.clone(),
            action: change.action,
            outcome,
        });
        progress(change);
    }
    Ok(report)
}

/// After a check-and-set conflict: whether the conflicting version is this push's own write,
/// applied by the server although its answer was lost (a leader that died after committing
/// it, then the client's retry met its own write). It is when it is the very next version and
/// holds exactly this content; then the push goes on as if the write had answered, so a
/// failover neither reports a false conflict nor writes the content a second time.
fn own_lost_write(
    client: &Client,
    change: &Change,
    content: &Content,
) -> Result<Option<u64>, Error> {
    let latest = match client.kv2(&change.mount).read(&change.path) {
        Ok(latest) => latest,
        Err(Error::NotFound { .. } | Error::SoftDeleted { .. } | Error::Destroyed { .. }) => {
            return Ok(None);
        }
        Err(error) => return Err(error),
    };
    let ours = latest.metadata.version == change.current_version + 1 && latest.data == content.data;
    Ok(ours.then_some(latest.metadata.version))
}

/// The metadata patch that marks a written path as aesec's.
fn ownership(change: &Change, content: &Content) -> MetadataPatch {
    let mut patch = MetadataPatch::set([
        (MANAGED_BY_KEY, MANAGED_BY),
        (FINGERPRINT_KEY, content.fingerprint().as_str()),
        (SOURCE_KEY, change.source.as_deref().unwrap_or_default()),
        (SOURCE_PATH_KEY, change.keys.as_deref().unwrap_or_default()),
    ]);
    for key in &content.binary {
        patch
            .custom_metadata
            .insert(format!("{ENCODING_PREFIX}{key}"), Some("base64".to_owned()));
    }
    for stale in &change.stale_encodings {
        patch.custom_metadata.insert(stale.clone(), None);
    }
    patch
}

fn change_for(
    entry: &Entry,
    mount: &str,
    content: Content,
    metadata: Option<Metadata>,
    options: &PlanOptions,
) -> Change {
    let (action, current_version, owner, stale_encodings) = match metadata {
        None => (Action::Create, 0, None, Vec::new()),
        Some(metadata) => {
            let stale = metadata
                .custom_metadata
                .keys()
                .filter(|key| {
                    key.strip_prefix(ENCODING_PREFIX)
                        .is_some_and(|name| !content.binary.contains(name))
                })
                .cloned()
                .collect();
            let action = if !is_managed(&metadata) {
                if options.adopt {
                    Action::Adopt
                } else {
                    Action::Foreign
                }
            } else if is_live(&metadata)
                && metadata.custom_metadata.get(FINGERPRINT_KEY) == Some(&content.fingerprint())
            {
                Action::Unchanged
            } else {
                Action::Update
            };
            let owner = metadata.custom_metadata.get(MANAGED_BY_KEY).cloned();
            (action, metadata.current_version, owner, stale)
        }
    };
    Change {
        action,
        mount: mount.to_owned(),
        path: entry.path.clone(),
        source: Some(entry.file.display().to_string()),
        keys: entry.keys.clone(),
        current_version,
        owner,
        content: Some(content),
        stale_encodings,
    }
}

/// Reads and decrypts one mapped sops file (`file` is relative to the mapping's root).
fn open_file(
    mapping: &Mapping,
    file: &Path,
    decryptors: &[&dyn KeyDecryptor],
) -> Result<Document, PublishError> {
    let path = mapping.root.join(file);
    let bytes = aesec::fs::read(&path).map_err(|source| PublishError::Read {
        file: path.clone(),
        source,
    })?;
    let mut open = OpenOptions::default();
    open.read_only = true;
    Document::open(&bytes, Format::from_path(&path), decryptors, &open).map_err(|error| {
        PublishError::Open {
            file: path,
            source: error.into(),
        }
    })
}

/// Flattens an entry's subtree of its opened file.
fn entry_content(
    mapping: &Mapping,
    entry: &Entry,
    document: &Document,
) -> Result<Content, PublishError> {
    let opened = |source: FileError| PublishError::Open {
        file: mapping.root.join(&entry.file),
        source,
    };
    let branch = document
        .tree()
        .branches
        .first()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let name = source_name(&entry.file, entry.keys.as_deref());
    match &entry.keys {
        None => Content::from_value(&Value::Map(branch.to_vec()), &name),
        Some(keys) => {
            let path: TreePath = keys
                .parse()
                .map_err(|e: aesec::sops::PathError| opened(e.into()))?;
            let value = path.get(branch).map_err(|error| opened(error.into()))?;
            Content::from_value(value, &name)
        }
    }
}

fn source_name(file: &Path, keys: Option<&str>) -> String {
    format!("{}{}", file.display(), keys.unwrap_or(""))
}

/// How many metadata reads are in flight at once: each waits mostly on the server, so more
/// than the cores.
const CONCURRENT_READS: usize = 8;

/// The metadata of every `(mount, path)`, in order, read [`CONCURRENT_READS`] at a time.
fn read_all_metadata(
    client: &Client,
    targets: &[(&str, &str)],
) -> Vec<Result<Option<Metadata>, PublishError>> {
    let next = AtomicUsize::new(0);
    let mut read: Vec<(usize, Result<Option<Metadata>, PublishError>)> =
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..CONCURRENT_READS.min(targets.len()))
                .map(|_| {
                    scope.spawn(|| {
                        let mut done = Vec::new();
                        loop {
                            let index = next.fetch_add(1, Ordering::Relaxed);
                            let Some(&(mount, path)) = targets.get(index) else {
                                return done;
                            };
                            done.push((index, read_metadata(client, mount, path)));
                        }
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|worker| {
                    worker
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect()
        });
    read.sort_by_key(|(index, _)| *index);
    read.into_iter().map(|(_, result)| result).collect()
}

fn read_metadata(
    client: &Client,
    mount: &str,
    path: &str,
) -> Result<Option<Metadata>, PublishError> {
    client
        .kv2(mount)
        .read_metadata(path)
        .map_err(|source| PublishError::Bao {
            mount: mount.to_owned(),
            path: path.to_owned(),
            source: Box::new(source),
        })
}

fn is_managed(metadata: &Metadata) -> bool {
    metadata
        .custom_metadata
        .get(MANAGED_BY_KEY)
        .map(String::as_str)
        == Some(MANAGED_BY)
}

/// Whether the latest version exists and is neither soft-deleted nor destroyed.
fn is_live(metadata: &Metadata) -> bool {
    metadata
        .versions
        .get(&metadata.current_version.to_string())
        .is_some_and(|state| state.deletion_time.is_empty() && !state.destroyed)
}

/// Every secret path of a mount (one list per folder).
fn list_recursive(client: &Client, mount: &str) -> Result<Vec<String>, PublishError> {
    let kv = client.kv2(mount);
    let mut folders = vec![String::new()];
    let mut paths = Vec::new();
    while let Some(folder) = folders.pop() {
        let keys = kv.list(&folder).map_err(|source| PublishError::Bao {
            mount: mount.to_owned(),
            path: folder.clone(),
            source: Box::new(source),
        })?;
        for key in keys {
            let full = format!("{folder}{key}");
            if key.ends_with('/') {
                folders.push(full);
            } else {
                paths.push(full);
            }
        }
    }
    paths.sort();
    Ok(paths)
}
