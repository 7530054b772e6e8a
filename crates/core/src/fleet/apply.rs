//! The apply engine: opens, re-encrypts, verifies and writes a list of jobs with the
//! discipline of the [fleet module](super) (every file opened, sealed and staged before any is
//! replaced), and the [`Report`] of what it did.

use std::collections::BTreeMap;
#[cfg(debug_assertions)]
use std::fmt;
use std::io::Write;
#[cfg(debug_assertions)]
use std::path::Path;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use subtle::ConstantTimeEq;

use super::error::{FailedFile, FleetError, FleetFileError};
use super::key_groups::{DesiredGroups, MasterKeys, same_groups};
use super::keyless::metadata_groups;
use super::plan::Action;
use crate::fs::{FsError, WriteOptions};
use crate::progress::Observer;
use crate::sops::envelope;
use crate::sops::{Document, KeyDecryptor, OpenOptions, SealError, decrypt_data_key};
use crate::store::EmitOptions;
use crate::store::Format;
use crate::tree::Tree;

/// Threads writing files at once: writes wait on the disk (fsync), not the CPU.
const WRITE_THREADS: usize = 32;

/// Options for writing files ([`update_keys`](super::update_keys), [`rotate_older_than`](super::rotate_older_than)).
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
/// file (every temporary file is written and flushed by then) and before that file is renamed
/// over the original. A hook that blocks there holds the run mid-write, so a test can kill it
/// at a known point.
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
    /// Opening every file (reading, decrypting, checking), computing and verifying its new
    /// content, and writing and flushing that to a temporary file beside it: each file takes
    /// the steps on its own, so they overlap.
    pub prepare_ms: u64,
    /// Replacing the files: the renames and the directory flushes.
    pub replace_ms: u64,
    /// The whole run.
    pub total_ms: u64,
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// What a job does to its file.
pub(crate) enum Change {
    /// Wrap the same data key for these age recipients (values untouched).
    Rewrap(DesiredGroups),
    /// A new data key for these age recipients.
    Rotate(DesiredGroups),
}

/// One file to change.
pub(crate) struct Job {
    pub(crate) path: PathBuf,
    pub(crate) format: Format,
    pub(crate) change: Change,
    pub(crate) last_modified: Option<String>,
}

/// Opens, re-encrypts, verifies and writes every job's file with the [fleet module](super)'s
/// discipline.
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
    // Every file opened, its new content computed and verified in memory, then staged beside
    // it (a temporary file written and flushed, which replaces nothing). Each file goes through
    // the three steps on its own: the flushes wait on the disk, so they overlap the other
    // files' opening and sealing. Any failure stops the run before the first rename.
    // Each recipient's master key is made once for the whole run.
    let keys = MasterKeys::new(decryptors);
    let results = in_write_pool(jobs.len(), || {
        jobs.par_iter()
            .map(|job| {
                let (encrypted, mut document) = open_job(job, decryptors).map_err(Step::Open)?;
                observer.advance(1);
                let content = seal_job(
                    job,
                    encrypted,
                    &mut document,
                    decryptors,
                    &keys,
                    &options.emit,
                )
                .map_err(Step::Seal)?;
                observer.advance(1);
                stage(job, &content).map_err(Step::Stage)
            })
            .collect::<Vec<_>>()
    });
    // Dropping the staged files (on any failure) removes their temporary files.
    let mut staged = Vec::with_capacity(jobs.len());
    let (mut open_failures, mut seal_failures, mut stage_failures) =
        (Vec::new(), Vec::new(), Vec::new());
    for (job, result) in jobs.iter().zip(results) {
        match result {
            Ok(file) => staged.push(file),
            Err(Step::Open(error)) => open_failures.push(job.failed(error)),
            Err(Step::Seal(error)) => seal_failures.push(job.failed(error)),
            Err(Step::Stage(error)) => stage_failures.push(job.failed(error)),
        }
    }
    // The earliest step that failed names the error, as if the steps ran one after another.
    if !open_failures.is_empty() {
        return Err(FleetError::Open {
            failures: open_failures,
        });
    }
    if !seal_failures.is_empty() {
        return Err(FleetError::Seal {
            failures: seal_failures,
        });
    }
    if !stage_failures.is_empty() {
        return Err(FleetError::Write {
            written: Vec::new(),
            failures: stage_failures,
        });
    }
    let staged_at = Instant::now();

    // Then the renames and the directory flushes (the order of `crate::fs`).
    let (written, failures) = replace_all(&jobs, staged, options, observer);
    if !failures.is_empty() {
        return Err(FleetError::Write { written, failures });
    }
    let finished = Instant::now();
    let mut report = Report {
        durations: Durations {
            prepare_ms: millis(staged_at - started),
            replace_ms: millis(finished - staged_at),
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

/// The step at which a job failed.
enum Step {
    /// Reading, decrypting and checking its file.
    Open(FleetFileError),
    /// Computing or verifying its new content.
    Seal(FleetFileError),
    /// Writing and flushing its temporary file.
    Stage(FleetFileError),
}

impl Job {
    /// A failure of this job's file.
    fn failed(&self, error: FleetFileError) -> FailedFile {
        FailedFile {
            path: self.path.clone(),
            error,
        }
    }
}

/// Runs `work` on a pool of [`WRITE_THREADS`] threads (at most one per job): each stage waits
/// for its fsync, and with more threads than cores the file system commits many of them in
/// one journal transaction. Without a pool, the global one does.
fn in_write_pool<T: Send>(jobs: usize, work: impl FnOnce() -> T + Send) -> T {
    match rayon::ThreadPoolBuilder::new()
        .num_threads(WRITE_THREADS.min(jobs).max(1))
        .build()
    {
        Ok(pool) => pool.install(work),
        Err(_) => work(),
    }
}

/// A job's new content in a temporary file beside its file, flushed, keeping the file's mode.
fn stage(job: &Job, content: &[u8]) -> Result<crate::fs::Staged, FleetFileError> {
    let options = WriteOptions::keep_mode_or(0o600);
    Ok(crate::fs::stage(&job.path, options, |file| {
        file.write_all(content)
    })?)
}

/// Replaces every job's file by its staged content: the renames one at a time, then one flush
/// per directory. Returns the files written and the failures.
fn replace_all(
    jobs: &[Job],
    staged: Vec<crate::fs::Staged>,
    #[cfg_attr(
        not(debug_assertions),
        expect(unused_variables, reason = "only the debug-build test hook reads them")
    )]
    options: &ApplyOptions,
    observer: &dyn Observer,
) -> (Vec<PathBuf>, Vec<FailedFile>) {
    // One rename at a time: parallel renames into one directory only spin on its lock (18% of
    // the samples of a 500-file run).
    let mut failures = Vec::new();
    let mut directories: BTreeMap<PathBuf, Vec<PathBuf>> = BTreeMap::new();
    for (job, staged) in jobs.iter().zip(staged) {
        #[cfg(debug_assertions)]
        if let Some(hook) = &options.before_rename {
            (hook.0)(&job.path);
        }
        match staged.rename() {
            Ok(dir) => directories.entry(dir).or_default().push(job.path.clone()),
            Err(error) => failures.push(job.failed(error.into())),
        }
        observer.advance(1);
    }
    let mut written = Vec::new();
    for (dir, paths) in directories {
        match crate::fs::sync_directory(&dir) {
            Ok(()) => written.extend(paths),
            // Every file renamed into the directory shares the failure.
            Err(error) => failures.extend(paths.into_iter().map(|path| FailedFile {
                error: FsError::directory_sync(&path, &error).into(),
                path,
            })),
        }
    }
    written.sort();
    (written, failures)
}

/// Opens one job's file: every value decrypted and the MAC checked. Returns the still encrypted
/// tree beside the document (a re-wrap writes its values back as they are, without parsing
/// the file again).
fn open_job(
    job: &Job,
    decryptors: &[&dyn KeyDecryptor],
) -> Result<(Tree, Document), FleetFileError> {
    let bytes = crate::fs::read(&job.path)?;
    let split = envelope::parse_encrypted(job.format, &bytes)?;
    let encrypted = split.tree.clone();
    let document = Document::open_split(split, job.format, decryptors, &OpenOptions::default())?;
    Ok((encrypted, document))
}

/// Makes and verifies one file's new content.
fn seal_job(
    job: &Job,
    encrypted: Tree,
    document: &mut Document,
    decryptors: &[&dyn KeyDecryptor],
    keys: &MasterKeys<'_>,
    emit: &EmitOptions,
) -> Result<Vec<u8>, FleetFileError> {
    let (content, expected) = match &job.change {
        Change::Rewrap(target) => {
            let metadata = match reused_group(document, target, keys)? {
                Some(group) => {
                    let mut metadata = document.metadata().clone();
                    metadata.key_groups = vec![group];
                    metadata
                }
                None => {
                    document.rewrap(&keys.recipients(target)?)?;
                    document.metadata().clone()
                }
            };
            // The values as they were: only the metadata changes.
            let content = envelope::emit_encrypted(job.format, encrypted, &metadata, emit)?;
            (content, target.groups.clone())
        }
        Change::Rotate(target) => {
            document.rotate(&keys.recipients(target)?)?;
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
    target: &DesiredGroups,
    keys: &MasterKeys<'_>,
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
                let entry = keys
                    .get(text)?
                    .encrypt(document.data_key().expose_secret())
                    .map_err(SealError::from)?;
                group.push(entry);
            }
        }
    }
    Ok(Some(group))
}
