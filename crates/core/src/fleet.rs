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

mod bootstrap;
mod check;
mod enroll;
mod plan;
mod remove;
mod rotate;
mod updatekeys;

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use subtle::ConstantTimeEq;

pub use bootstrap::{
    BootstrapError, BootstrapOptions, BootstrapOutcome, EXTRA_FILES_HOST_KEY, bootstrap,
};
pub use check::{CheckReport, Finding, Member, StatusCell, StatusMatrix, StatusRow, check, status};
pub use enroll::{
    ConfirmHostKey, DEFAULT_HOST_DIR, EnrollError, EnrollOptions, EnrollOutcome, EnrollRequest,
    GeneratedKey, HOST_KEY_FILE_NAME, KEYSCAN_TIMEOUT_SECONDS, KeySource, KeyscanTrust, KnownHosts,
    Membership, RuleGrant, ScannedKey, Targets, Verified, enroll,
};
pub use plan::{Action, FilePlan, GroupChange, Plan, PlanOptions, plan};
pub use remove::{ReadableFile, RemoveError, RemoveOptions, RemoveOutcome, remove};
pub use rotate::{ParseDurationError, parse_duration, rotate_older_than};
pub use updatekeys::update_keys;

use crate::config::{CONFIG_FILE_NAME, ConfigError};
use crate::file::FileError;
use crate::fs::{FsError, WriteOptions};
use crate::keys::age::Recipient;
use crate::progress::Observer;
use crate::sops::envelope;
use crate::sops::{
    AgeMasterKey, Document, KeyDecryptor, MasterKey, Metadata, MetadataError, OpenError,
    OpenOptions, Recipients, SealError, decrypt_data_key,
};
use crate::store::{EmitOptions, Format, StoreError};

/// Threads writing files at once: writes wait on the disk (fsync), not the CPU.
const WRITE_THREADS: usize = 32;

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
    /// Some files could not be written; the others were (each file is old or new, never
    /// partial).
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

/// Options for writing files ([`update_keys`], [`rotate_older_than`]).
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct ApplyOptions {
    /// Output layout: pass the config's `stores` ([`Config::stores`](crate::config::Config))
    /// so that files look as sops writes them.
    pub emit: EmitOptions,
    /// Test hook, in debug builds only: see [`BeforeRename`].
    #[cfg(debug_assertions)]
    #[doc(hidden)]
    pub before_rename: Option<BeforeRename>,
}

impl ApplyOptions {
    /// Options writing with `emit`.
    pub fn with_emit(emit: EmitOptions) -> Self {
        Self {
            emit,
            ..Self::default()
        }
    }
}

/// Test hook of the crash test, compiled in debug builds only (never in a release binary):
/// called in the write phase with each file's path once its new content is in the temporary
/// file and before that file is renamed over the original. A hook that blocks there holds the
/// run mid-write, so a test can kill it at a known point.
#[cfg(debug_assertions)]
#[doc(hidden)]
#[derive(Clone)]
pub struct BeforeRename(pub std::sync::Arc<dyn Fn(&Path) + Send + Sync>);

#[cfg(debug_assertions)]
impl fmt::Debug for BeforeRename {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BeforeRename").finish_non_exhaustive()
    }
}

/// What a run did (serializable for `--json`).
#[derive(Clone, Debug, Default, serde::Serialize)]
#[non_exhaustive]
pub struct Report {
    /// Every file considered, in order, with what was done to it.
    pub files: Vec<FileOutcome>,
    /// How many files were written.
    pub changed: usize,
    /// How many were re-wrapped (same data key).
    pub rewrapped: usize,
    /// How many got a new data key.
    pub rotated: usize,
    /// Time spent per phase.
    pub durations: Durations,
    /// Temporary files left by an interrupted earlier run (`.<name>.<random>.tmp` beside a
    /// file of the run), removed before writing.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stale_temps_removed: Vec<PathBuf>,
}

/// What happened to one file.
#[derive(Clone, Debug, serde::Serialize)]
#[non_exhaustive]
pub struct FileOutcome {
    /// The file.
    pub path: PathBuf,
    /// What was done.
    pub action: Action,
    /// The file's `lastmodified` before the run, when it was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
}

/// Wall-clock time of each phase, in milliseconds.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
#[non_exhaustive]
pub struct Durations {
    /// Reading, decrypting and checking every file.
    pub open_ms: u64,
    /// Computing and verifying the new contents.
    pub seal_ms: u64,
    /// Writing.
    pub write_ms: u64,
    /// The whole run.
    pub total_ms: u64,
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Finds the sops files to work on: every sops-encrypted file under each directory of `roots`
/// (every file under the config's directory when `roots` is empty), plus each file of `roots`
/// as given. `.git` directories and the config file are skipped; symlinked directories are not
/// followed, and a symlinked file is kept only when it points inside the config's directory.
/// Relative roots are relative to `cwd`. The result is sorted.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("aesec-doc-discover-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// std::fs::write(dir.join(".sops.yaml"), "creation_rules: []\n")?;
/// std::fs::write(dir.join("plain.yaml"), "a: 1\n")?;
/// let config = aesec::config::Config::load(dir.join(".sops.yaml"))?;
/// assert!(aesec::fleet::discover(&config, &[], &dir)?.is_empty());
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn discover(
    config: &crate::config::Config,
    roots: &[PathBuf],
    cwd: &Path,
) -> Result<Vec<PathBuf>, FleetError> {
    let mut found = Vec::new();
    for candidate in walk(config, roots, cwd)? {
        match candidate {
            Candidate::Given(path) => found.push(path),
            Candidate::Walked(path) => {
                if let Ok(bytes) = crate::fs::read(&path)
                    && crate::file::is_encrypted(&bytes, Format::from_path(&path))
                {
                    found.push(path);
                }
            }
        }
    }
    found.sort();
    found.dedup();
    Ok(found)
}

/// A file to consider: named by the caller, or found in a directory.
pub(crate) enum Candidate {
    /// Given as an argument.
    Given(PathBuf),
    /// Found while walking a directory.
    Walked(PathBuf),
}

/// The config's directory, absolute.
pub(crate) fn config_dir(config: &crate::config::Config, cwd: &Path) -> PathBuf {
    let dir = match config.path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if dir.is_absolute() {
        dir
    } else {
        cwd.join(dir)
    }
}

/// Every regular file under `roots` (or the config's directory), as [`discover`] walks.
pub(crate) fn walk(
    config: &crate::config::Config,
    roots: &[PathBuf],
    cwd: &Path,
) -> Result<Vec<Candidate>, FleetError> {
    let base = config_dir(config, cwd);
    let canonical_base = std::fs::canonicalize(&base).unwrap_or_else(|_| base.clone());
    let config_file = std::fs::canonicalize(config_dir(config, cwd).join(CONFIG_FILE_NAME)).ok();
    let roots: Vec<PathBuf> = if roots.is_empty() {
        vec![base]
    } else {
        roots
            .iter()
            .map(|root| {
                if root.is_absolute() {
                    root.clone()
                } else {
                    cwd.join(root)
                }
            })
            .collect()
    };
    let mut out = Vec::new();
    for root in roots {
        let meta = std::fs::metadata(&root).map_err(|source| FleetError::Walk {
            path: root.clone(),
            source,
        })?;
        if !meta.is_dir() {
            out.push(Candidate::Given(root));
            continue;
        }
        let mut stack = vec![root];
        while let Some(dir) = stack.pop() {
            let entries = std::fs::read_dir(&dir).map_err(|source| FleetError::Walk {
                path: dir.clone(),
                source,
            })?;
            for entry in entries {
                let entry = entry.map_err(|source| FleetError::Walk {
                    path: dir.clone(),
                    source,
                })?;
                let path = entry.path();
                let Ok(kind) = entry.file_type() else {
                    continue;
                };
                if kind.is_dir() {
                    if entry.file_name() != ".git" {
                        stack.push(path);
                    }
                    continue;
                }
                if kind.is_symlink() {
                    let inside = std::fs::canonicalize(&path).is_ok_and(|target| {
                        target.starts_with(&canonical_base) && target.is_file()
                    });
                    if !inside {
                        continue;
                    }
                } else if !kind.is_file() {
                    continue;
                }
                if entry.file_name() == CONFIG_FILE_NAME
                    || temp_target(&entry.file_name()).is_some()
                    || config_file
                        .as_ref()
                        .is_some_and(|c| std::fs::canonicalize(&path).is_ok_and(|p| &p == c))
                {
                    continue;
                }
                out.push(Candidate::Walked(path));
            }
        }
    }
    Ok(out)
}

/// The file a temporary name of [`crate::fs::write_atomic`] stands for: `a.yaml` for
/// `.a.yaml.0123456789abcdef.tmp` (16 lowercase hex digits), `None` for any other name.
///
/// A run killed between creating its temporary file and renaming it leaves one behind;
/// discovery never treats such a file as a sops file, and [`update_keys`] and
/// [`rotate_older_than`] remove the ones beside the files they work on.
pub(crate) fn temp_target(name: &std::ffi::OsStr) -> Option<&str> {
    const SUFFIX_HEX_DIGITS: usize = 16;
    let rest = name.to_str()?.strip_prefix('.')?.strip_suffix(".tmp")?;
    let (target, suffix) = rest.rsplit_once('.')?;
    let is_suffix = suffix.len() == SUFFIX_HEX_DIGITS
        && suffix
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    (is_suffix && !target.is_empty()).then_some(target)
}

/// Removes the temporary files an interrupted run left beside `files` (see [`temp_target`])
/// and returns their paths. Each directory is listed once; failures to list or remove are
/// ignored (a leftover is harmless: discovery skips it).
pub(crate) fn remove_stale_temps<'a>(files: impl IntoIterator<Item = &'a Path>) -> Vec<PathBuf> {
    let mut by_dir: std::collections::BTreeMap<PathBuf, std::collections::BTreeSet<String>> =
        std::collections::BTreeMap::new();
    for file in files {
        let (Some(dir), Some(name)) = (file.parent(), file.file_name().and_then(|n| n.to_str()))
        else {
            continue;
        };
        by_dir
            .entry(dir.to_path_buf())
            .or_default()
            .insert(name.to_owned());
    }
    let mut removed = Vec::new();
    for (dir, names) in by_dir {
        let listing = if dir.as_os_str().is_empty() {
            std::fs::read_dir(".")
        } else {
            std::fs::read_dir(&dir)
        };
        let Ok(entries) = listing else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            if temp_target(&name).is_some_and(|target| names.contains(target))
                && entry.file_type().is_ok_and(|kind| kind.is_file())
                && std::fs::remove_file(entry.path()).is_ok()
            {
                removed.push(entry.path());
            }
        }
    }
    removed.sort();
    removed
}

/// Reads a file's sops metadata without decrypting anything.
pub(crate) fn read_metadata(bytes: &[u8], format: Format) -> Result<Metadata, FleetFileError> {
    read_document(bytes, format).map(|(metadata, _)| metadata)
}

/// Reads a file's sops metadata and its still encrypted values, without decrypting anything.
pub(crate) fn read_document(
    bytes: &[u8],
    format: Format,
) -> Result<(Metadata, crate::tree::Tree), FleetFileError> {
    let split = envelope::parse_encrypted(format, bytes)?;
    let raw = split.metadata.ok_or(FleetFileError::NotEncrypted)?;
    Ok((Metadata::from_branch(&raw.into_branch()?)?, split.tree))
}

/// The recipients of each key group of a file's metadata, as identifiers.
pub(crate) fn metadata_groups(metadata: &Metadata) -> Vec<Vec<String>> {
    metadata
        .key_groups
        .iter()
        .map(|group| group.iter().map(|entry| entry.identifier()).collect())
        .collect()
}

/// What a job does to its file.
pub(crate) enum Change {
    /// Wrap the same data key for these age recipients (values untouched).
    Rewrap(Target),
    /// A new data key for these age recipients.
    Rotate(Target),
}

/// The key groups a file should end up with.
#[derive(Clone, Debug)]
pub(crate) struct Target {
    /// age recipients per group.
    pub(crate) groups: Vec<Vec<String>>,
    /// The threshold to store.
    pub(crate) threshold: Option<usize>,
}

impl Target {
    fn recipients(&self) -> Result<Recipients, FleetFileError> {
        let mut groups = Vec::new();
        for group in &self.groups {
            let mut keys: Vec<Box<dyn MasterKey>> = Vec::new();
            for text in group {
                let recipient: Recipient = text.parse().map_err(FileError::from)?;
                keys.push(Box::new(AgeMasterKey::new(recipient)));
            }
            groups.push(keys);
        }
        Ok(Recipients::groups(groups, self.threshold))
    }
}

/// One file to change.
pub(crate) struct Job {
    pub(crate) path: PathBuf,
    pub(crate) format: Format,
    pub(crate) change: Change,
    pub(crate) last_modified: Option<String>,
}

/// Opens, re-encrypts, verifies and writes every job's file with the three-phase discipline.
pub(crate) fn apply(
    jobs: Vec<Job>,
    decryptors: &[&dyn KeyDecryptor],
    options: &ApplyOptions,
    observer: &dyn Observer,
    label: &str,
) -> Result<Report, FleetError> {
    let started = Instant::now();
    // Three units per file: opened, re-encrypted and verified, written.
    observer.start(jobs.len() as u64 * 3, label);
    let result = run_phases(jobs, decryptors, options, observer, started);
    observer.finish();
    result
}

fn run_phases(
    jobs: Vec<Job>,
    decryptors: &[&dyn KeyDecryptor],
    options: &ApplyOptions,
    observer: &dyn Observer,
    started: Instant,
) -> Result<Report, FleetError> {
    // Phase 1: open every file before anything is written.
    let opened: Vec<Result<(Vec<u8>, Document), FleetFileError>> = jobs
        .par_iter()
        .map(|job| {
            let bytes = crate::fs::read(&job.path)?;
            let document = Document::open(&bytes, job.format, decryptors, &OpenOptions::default())?;
            observer.advance(1);
            Ok((bytes, document))
        })
        .collect();
    let (opened, failures) = partition(&jobs, opened);
    if !failures.is_empty() {
        return Err(FleetError::Open { failures });
    }
    let open_done = Instant::now();

    // Phase 2: every new content, verified, in memory.
    let sealed: Vec<Result<Vec<u8>, FleetFileError>> = jobs
        .par_iter()
        .zip(opened.into_par_iter())
        .map(|(job, (original, mut document))| {
            let content = seal_job(job, &original, &mut document, decryptors, &options.emit)?;
            observer.advance(1);
            Ok(content)
        })
        .collect();
    let (contents, failures) = partition(&jobs, sealed);
    if !failures.is_empty() {
        return Err(FleetError::Seal { failures });
    }
    let seal_done = Instant::now();

    // Phase 3: atomic writes, keeping each file's mode.
    let write_all = || -> Vec<Result<(), FleetFileError>> {
        jobs.par_iter()
            .zip(contents.par_iter())
            .map(|(job, content)| {
                crate::fs::replace_with(&job.path, WriteOptions::keep_mode_or(0o600), |file| {
                    file.write_all(content)?;
                    #[cfg(debug_assertions)]
                    if let Some(hook) = &options.before_rename {
                        (hook.0)(&job.path);
                    }
                    Ok(())
                })?;
                observer.advance(1);
                Ok(())
            })
            .collect()
    };
    // Each write waits for its fsyncs: with more threads than cores the file system commits
    // many of them in one journal transaction. Without a pool, the global one does.
    let written = match rayon::ThreadPoolBuilder::new()
        .num_threads(WRITE_THREADS.min(jobs.len()).max(1))
        .build()
    {
        Ok(pool) => pool.install(write_all),
        Err(_) => write_all(),
    };
    let mut done = Vec::new();
    let mut failures = Vec::new();
    for (job, result) in jobs.iter().zip(written) {
        match result {
            Ok(()) => done.push(job.path.clone()),
            Err(error) => failures.push(FailedFile {
                path: job.path.clone(),
                error,
            }),
        }
    }
    if !failures.is_empty() {
        return Err(FleetError::Write {
            written: done,
            failures,
        });
    }
    let finished = Instant::now();
    let mut report = Report {
        durations: Durations {
            open_ms: millis(open_done - started),
            seal_ms: millis(seal_done - open_done),
            write_ms: millis(finished - seal_done),
            total_ms: millis(finished - started),
        },
        ..Report::default()
    };
    for job in jobs {
        let action = match job.change {
            Change::Rewrap(_) => Action::Rewrap,
            Change::Rotate(_) => Action::Rotate,
        };
        report.record(job.path, action, job.last_modified);
    }
    Ok(report)
}

impl Report {
    /// Adds a file to the report and counts it.
    pub(crate) fn record(&mut self, path: PathBuf, action: Action, last_modified: Option<String>) {
        match action {
            Action::Nothing => {}
            Action::Rewrap => {
                self.changed += 1;
                self.rewrapped += 1;
            }
            Action::Rotate => {
                self.changed += 1;
                self.rotated += 1;
            }
        }
        self.files.push(FileOutcome {
            path,
            action,
            last_modified,
        });
    }
}

/// Splits per-job results into the successes and the failures (named by path).
fn partition<T>(
    jobs: &[Job],
    results: Vec<Result<T, FleetFileError>>,
) -> (Vec<T>, Vec<FailedFile>) {
    let mut ok = Vec::new();
    let mut failures = Vec::new();
    for (job, result) in jobs.iter().zip(results) {
        match result {
            Ok(value) => ok.push(value),
            Err(error) => failures.push(FailedFile {
                path: job.path.clone(),
                error,
            }),
        }
    }
    (ok, failures)
}

/// Makes and verifies one file's new content.
fn seal_job(
    job: &Job,
    original: &[u8],
    document: &mut Document,
    decryptors: &[&dyn KeyDecryptor],
    emit: &EmitOptions,
) -> Result<Vec<u8>, FleetFileError> {
    let (content, expected) = match &job.change {
        Change::Rewrap(target) => {
            let content = match reused_group(document, target)? {
                Some(group) => {
                    let mut metadata = document.metadata().clone();
                    metadata.key_groups = vec![group];
                    let split = envelope::parse_encrypted(job.format, original)?;
                    envelope::emit_encrypted(job.format, split.tree, &metadata, emit)?
                }
                None => {
                    document.rewrap(&target.recipients()?)?;
                    document.seal_metadata_only(original, emit)?
                }
            };
            (content, target.groups.clone())
        }
        Change::Rotate(target) => {
            document.rotate(&target.recipients()?)?;
            (document.seal(emit)?, target.groups.clone())
        }
    };
    let metadata = document.verify_sealed(&content)?;
    let found = metadata_groups(&metadata);
    if !same_groups(&expected, &found) {
        return Err(FleetFileError::VerifyRecipients { expected, found });
    }
    // Where the caller's identities can still read the file, the wrapped entries must give
    // back the data key the values were encrypted with.
    if let Ok(unwrapped) = decrypt_data_key(&metadata, decryptors) {
        let same: bool = unwrapped
            .expose_secret()
            .ct_eq(document.data_key().expose_secret())
            .into();
        if !same {
            return Err(FleetFileError::VerifyDataKey);
        }
    }
    Ok(content)
}

/// The new key group of a re-wrap in the common case of one group and no threshold, before
/// and after: the entries of recipients that stay are kept byte for byte (each already wraps
/// this data key), and only recipients new to the file get a fresh wrap, in the rule's order.
/// The diff then shows exactly the entries added and removed, and adding one host to a
/// 500-file repository costs 500 wraps instead of one per recipient and file. sops re-wraps
/// every entry; both give files sops reads the same way (it compares recipients only).
///
/// `None` (wrap everything) with several groups or a threshold: a group's entries hold a
/// Shamir share, which is known only for the groups that were decrypted.
fn reused_group(
    document: &Document,
    target: &Target,
) -> Result<Option<crate::sops::KeyGroup>, FleetFileError> {
    let metadata = document.metadata();
    let ([current], [wanted]) = (metadata.key_groups.as_slice(), target.groups.as_slice()) else {
        return Ok(None);
    };
    if target.threshold.is_some() || metadata.shamir_threshold.is_some() {
        return Ok(None);
    }
    let mut group = Vec::with_capacity(wanted.len());
    for text in wanted {
        match current.iter().find(|entry| &entry.identifier() == text) {
            Some(entry) => group.push(entry.clone()),
            None => {
                let recipient: Recipient = text.parse().map_err(FileError::from)?;
                let entry = AgeMasterKey::new(recipient)
                    .encrypt(document.data_key().expose_secret())
                    .map_err(SealError::from)?;
                group.push(entry);
            }
        }
    }
    Ok(Some(group))
}

/// Whether two group lists hold the same recipients per group (order within a group aside).
pub(crate) fn same_groups(a: &[Vec<String>], b: &[Vec<String>]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            let mut x: Vec<&String> = x.iter().collect();
            let mut y: Vec<&String> = y.iter().collect();
            x.sort();
            y.sort();
            x == y
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups(g: &[&[&str]]) -> Vec<Vec<String>> {
        g.iter()
            .map(|g| g.iter().map(|s| (*s).to_owned()).collect())
            .collect()
    }

    #[test]
    fn same_groups_ignores_order_within_a_group_only() {
        assert!(same_groups(
            &groups(&[&["a", "b"]]),
            &groups(&[&["b", "a"]])
        ));
        assert!(!same_groups(
            &groups(&[&["a"], &["b"]]),
            &groups(&[&["b"], &["a"]])
        ));
        assert!(!same_groups(&groups(&[&["a"]]), &groups(&[&["a"], &[]])));
    }

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

    #[test]
    fn temp_names_of_write_atomic_are_recognised() {
        use std::ffi::OsStr;
        assert_eq!(
            temp_target(OsStr::new(".a.yaml.0123456789abcdef.tmp")),
            Some("a.yaml")
        );
        assert_eq!(temp_target(OsStr::new("a.yaml")), None);
        assert_eq!(temp_target(OsStr::new(".a.yaml.0123.tmp")), None);
        assert_eq!(
            temp_target(OsStr::new(".a.yaml.0123456789ABCDEF.tmp")),
            None
        );
        assert_eq!(temp_target(OsStr::new("..0123456789abcdef.tmp")), None);
    }

    #[test]
    fn stale_temps_beside_the_files_are_removed_and_others_kept() {
        let dir = crate::test_support::TempDir::new("stale-temps");
        let file = dir.0.join("a.yaml");
        std::fs::write(&file, "x").unwrap();
        let stale = dir.0.join(".a.yaml.0123456789abcdef.tmp");
        let other = dir.0.join(".b.yaml.0123456789abcdef.tmp");
        std::fs::write(&stale, "x").unwrap();
        std::fs::write(&other, "x").unwrap();
        let removed = remove_stale_temps([file.as_path()]);
        assert_eq!(removed.len(), 1);
        assert_eq!(removed[0], stale);
        assert!(!stale.exists());
        assert!(other.exists());
        assert!(file.exists());
    }

    #[test]
    fn discovery_skips_temp_files() {
        let dir = crate::test_support::TempDir::new("discover-temps");
        std::fs::write(dir.0.join(".sops.yaml"), "creation_rules: []\n").unwrap();
        let envelope = "{\"data\": \"x\", \"sops\": {\"version\": \"3.11.0\", \"mac\": \"x\"}}";
        std::fs::write(dir.0.join(".a.json.0123456789abcdef.tmp"), envelope).unwrap();
        let config = crate::config::Config::load(dir.0.join(".sops.yaml")).unwrap();
        let walked = walk(&config, &[], &dir.0).unwrap();
        assert!(walked.is_empty());
    }

    #[test]
    fn read_metadata_refuses_plaintext() {
        let error = read_metadata(b"a: 1\n", Format::Yaml).unwrap_err();
        assert!(matches!(error, FleetFileError::NotEncrypted));
    }
}
