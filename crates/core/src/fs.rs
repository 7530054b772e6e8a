//! File access: reads that name the path in their errors, and atomic writes.
//!
//! Every file aesec rewrites goes through [`write_atomic`]: the new content is written to a
//! temporary file in the same directory (created exclusively, with the final mode from the start),
//! flushed to disk, renamed over the target, and the directory is flushed too. A crash or a kill
//! at any point leaves either the old file or the new one, never a mix, and no temporary file
//! survives an error (DESIGN §8). This is the only module that touches the file system for
//! writing; the rest of the crate calls it.
//!
//! # Many files at once
//!
//! A fleet run replaces hundreds of files. It takes [`write_atomic`] apart so that each flush
//! is paid once: `stage` writes and flushes one temporary file (many threads stage at once,
//! and the file system commits their flushes together), `Staged::rename` puts it in place,
//! and `sync_directory` flushes each directory once, after the last rename into it. The order
//! is the one that keeps every file old or new across a power loss:
//!
//! 1. every temporary file is written and `fsync`ed (in parallel) before the first rename;
//! 2. the renames follow, one at a time (parallel renames into one directory only queue on
//!    its lock);
//! 3. then one `fsync` per directory touched, not one per file.
//!
//! Until step 3 a power loss may undo some renames, each of which leaves its old file whole;
//! the new content each rename points at is already on disk. The CLI test
//! `updatekeys_fsyncs_files_before_renames_and_each_directory_once` checks this order in a
//! syscall trace of the real binary (when `strace` is installed).

use std::fmt;
use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, FileExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use zeroize::Zeroizing;

/// How many temporary names are tried before giving up (each is random; a clash is unlikely).
const TEMP_NAME_ATTEMPTS: usize = 16;

/// The permission bits of a file written by [`write_atomic`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mode {
    /// Exactly these bits (e.g. `0o600` for decrypted output).
    Fixed(u32),
    /// The bits of the file being replaced; these bits when there is no such file.
    KeepOr(u32),
}

/// What [`write_atomic`] accepts at the target path before replacing it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Existing {
    /// Anything the rename can replace; a symlink is followed, and the file it points to is
    /// replaced (the link kept). For files the user edits in place.
    #[default]
    FollowSymlinks,
    /// Nothing, or a regular file owned by the caller, in a directory owned by the caller or
    /// root; a symlink, another kind of file, or another user's file or directory is refused
    /// ([`FsError::Unsafe`]). For private keys and plaintext: a link planted where the key goes
    /// cannot send it elsewhere.
    OwnedRegularFile,
}

/// Options of [`write_atomic`].
///
/// The default writes mode `0o600`, the mode for anything that may hold plaintext.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WriteOptions {
    /// The permission bits of the written file.
    pub mode: Mode,
    /// What may already be at the path.
    pub existing: Existing,
}

impl WriteOptions {
    /// Writes the file with exactly `mode` (permission bits, e.g. `0o644`).
    pub fn with_mode(mode: u32) -> Self {
        Self {
            mode: Mode::Fixed(mode),
            existing: Existing::FollowSymlinks,
        }
    }

    /// Keeps the mode of the file being replaced; a new file gets `mode`.
    pub fn keep_mode_or(mode: u32) -> Self {
        Self {
            mode: Mode::KeepOr(mode),
            existing: Existing::FollowSymlinks,
        }
    }

    /// Writes key material or plaintext: exactly `mode`, and only over nothing or the caller's
    /// own regular file ([`Existing::OwnedRegularFile`]).
    pub fn private(mode: u32) -> Self {
        Self {
            mode: Mode::Fixed(mode),
            existing: Existing::OwnedRegularFile,
        }
    }
}

impl Default for WriteOptions {
    fn default() -> Self {
        Self::with_mode(0o600)
    }
}

/// The file system operation that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Operation {
    /// Reading a file.
    Read,
    /// Reading a file's metadata (its mode, or whether it is a symlink).
    Metadata,
    /// Resolving a symlink to the file it points to.
    ResolveSymlink,
    /// Creating the temporary file beside the target.
    CreateTemp,
    /// Writing the temporary file.
    Write,
    /// Setting the mode of the temporary file.
    SetPermissions,
    /// Flushing the temporary file to disk.
    Sync,
    /// Renaming the temporary file over the target.
    Rename,
    /// Flushing the directory entry to disk.
    SyncDirectory,
    /// Creating a directory.
    CreateDirectory,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Read => "read",
            Self::Metadata => "read the metadata of",
            Self::ResolveSymlink => "resolve the symlink",
            Self::CreateTemp => "create a temporary file for",
            Self::Write => "write a temporary file for",
            Self::SetPermissions => "set the mode of a temporary file for",
            Self::Sync => "flush a temporary file for",
            Self::Rename => "replace",
            Self::SyncDirectory => "flush the directory of",
            Self::CreateDirectory => "create the directory",
        })
    }
}

/// Why a file could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FsError {
    /// An I/O operation on `path` failed.
    #[error("cannot {operation} '{}'", path.display())]
    Io {
        /// What was being done.
        operation: Operation,
        /// The file the user asked for (the target of a write, not the temporary file).
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The path to write has no file name (it is empty, `/` or ends in `..`).
    #[error("cannot write '{}': not a file path", path.display())]
    NotAFile {
        /// The path as given.
        path: PathBuf,
    },
    /// What is at the path (or its directory) may not be replaced by a private file
    /// ([`Existing::OwnedRegularFile`]).
    #[error("refusing to write '{}': {reason}", path.display())]
    Unsafe {
        /// The path as given.
        path: PathBuf,
        /// What is wrong with it.
        reason: UnsafeReason,
    },
}

/// Why a path may not receive a private file.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnsafeReason {
    /// The path is a symbolic link.
    Symlink,
    /// The path is not a regular file (a directory, a FIFO, a device, …).
    NotRegularFile,
    /// The file belongs to another user.
    FileOwnedBy {
        /// Its owner's uid.
        uid: u32,
    },
    /// A directory on the way is a symbolic link.
    DirectoryIsSymlink {
        /// The directory.
        dir: PathBuf,
    },
    /// A directory on the way belongs to another user (neither the caller nor root).
    DirectoryOwnedBy {
        /// The directory.
        dir: PathBuf,
        /// Its owner's uid.
        uid: u32,
    },
}

impl fmt::Display for UnsafeReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Symlink => f.write_str("it is a symbolic link"),
            Self::NotRegularFile => f.write_str("it is not a regular file"),
            Self::FileOwnedBy { uid } => write!(f, "it belongs to another user (uid {uid})"),
            Self::DirectoryIsSymlink { dir } => {
                write!(f, "directory '{}' is a symbolic link", dir.display())
            }
            Self::DirectoryOwnedBy { dir, uid } => write!(
                f,
                "directory '{}' belongs to another user (uid {uid})",
                dir.display()
            ),
        }
    }
}

impl FsError {
    /// The path the failed operation was about.
    pub fn path(&self) -> &Path {
        match self {
            Self::Io { path, .. } | Self::NotAFile { path } | Self::Unsafe { path, .. } => path,
        }
    }

    /// The failure of [`sync_directory`] for `path`, one of the files renamed into the
    /// directory (each of them gets its own copy of the error).
    pub(crate) fn directory_sync(path: &Path, error: &io::Error) -> Self {
        let source = match error.raw_os_error() {
            Some(code) => io::Error::from_raw_os_error(code),
            None => io::Error::new(error.kind(), error.to_string()),
        };
        Self::io(Operation::SyncDirectory, path)(source)
    }

    fn io(operation: Operation, path: &Path) -> impl FnOnce(io::Error) -> Self {
        let path = path.to_path_buf();
        move |source| Self::Io {
            operation,
            path,
            source,
        }
    }
}

/// Reads a whole file; the error names the path.
///
/// ```
/// # let dir = std::env::temp_dir();
/// # let path = dir.join(format!("aesec-doc-read-{}", std::process::id()));
/// # std::fs::write(&path, b"hello")?;
/// let bytes = aesec::fs::read(&path)?;
/// assert_eq!(bytes, b"hello");
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read(path: impl AsRef<Path>) -> Result<Vec<u8>, FsError> {
    let path = path.as_ref();
    read_file(path).map_err(FsError::io(Operation::Read, path))
}

/// Files at least this large are read in parallel parts by [`read`].
const PARALLEL_READ_BYTES: u64 = 1 << 20;

/// The size of each part of a parallel read.
const READ_PART_BYTES: usize = 256 * 1024;

/// [`read`] without the path in the error. A large file is read in parts at once, each into
/// its place in a buffer of the file's size (a multi-megabyte read spends its time filling
/// fresh memory, which every core can do); what follows the size seen at the start is read
/// after, and a file that shrank meanwhile is read again in one piece. The buffer is wiped if
/// the parallel read fails: the file may hold plaintext.
fn read_file(path: &Path) -> io::Result<Vec<u8>> {
    let mut file = File::open(path)?;
    let size = file.metadata()?.len();
    if size < PARALLEL_READ_BYTES {
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        file.read_to_end(&mut bytes)?;
        return Ok(bytes);
    }
    let mut bytes = Zeroizing::new(vec![0_u8; usize::try_from(size).map_err(io::Error::other)?]);
    let parts = bytes
        .par_chunks_mut(READ_PART_BYTES)
        .enumerate()
        .try_for_each(|(index, part)| file.read_exact_at(part, (index * READ_PART_BYTES) as u64));
    if parts.is_err() {
        return fs::read(path);
    }
    let mut bytes = std::mem::take(&mut *bytes);
    file.seek(SeekFrom::Start(size))?;
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Replaces `path` with `bytes`, atomically.
///
/// The content goes to a new temporary file in the same directory, created exclusively with the
/// mode chosen by `options` (never wider, even for a moment), flushed to disk and renamed over
/// `path`; then the directory is flushed. Readers see the old content or the new one, never a
/// partial file. On error the temporary file is removed and `path` is unchanged. When `path` is
/// a symlink, the file it points to is replaced and the link kept.
///
/// ```
/// use std::os::unix::fs::PermissionsExt;
///
/// use aesec::fs::{write_atomic, WriteOptions};
///
/// # let dir = std::env::temp_dir().join(format!("aesec-doc-write-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// let path = dir.join("secret.yaml");
/// write_atomic(&path, b"password: hunter2\n", WriteOptions::default())?;
/// assert_eq!(std::fs::read(&path)?, b"password: hunter2\n");
/// assert_eq!(std::fs::metadata(&path)?.permissions().mode() & 0o7777, 0o600);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_atomic(
    path: impl AsRef<Path>,
    bytes: &[u8],
    options: WriteOptions,
) -> Result<(), FsError> {
    replace_with(path.as_ref(), options, |file| file.write_all(bytes))
}

/// The steps of [`write_atomic`], with the writing of the content left to `write`.
pub(crate) fn replace_with(
    path: &Path,
    options: WriteOptions,
    write: impl FnOnce(&mut File) -> io::Result<()>,
) -> Result<(), FsError> {
    let staged = stage(path, options, write)?;
    let dir = staged.rename()?;
    sync_directory(&dir).map_err(FsError::io(Operation::SyncDirectory, path))
}

/// New content in a flushed temporary file beside its target, not yet visible: made by
/// [`stage`], put in place by [`Staged::rename`]. Dropped without a rename, it removes its
/// temporary file.
#[derive(Debug)]
pub(crate) struct Staged {
    /// The path as the caller gave it (errors name it).
    path: PathBuf,
    /// The file the rename replaces: `path`, or the file a symlink at `path` points to.
    target: PathBuf,
    /// The directory of the target and of the temporary file.
    dir: PathBuf,
    /// The temporary file, until it is renamed.
    temp: Option<PathBuf>,
}

impl Staged {
    /// Renames the temporary file over the target and returns the directory, which the caller
    /// flushes with [`sync_directory`] once its last rename is done. On error the temporary
    /// file is removed and the target is unchanged.
    pub(crate) fn rename(mut self) -> Result<PathBuf, FsError> {
        if let Some(temp) = self.temp.take()
            && let Err(error) = fs::rename(&temp, &self.target)
        {
            // Best effort: the error that matters is the rename's.
            let _ = fs::remove_file(&temp);
            return Err(FsError::io(Operation::Rename, &self.path)(error));
        }
        Ok(std::mem::take(&mut self.dir))
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if let Some(temp) = self.temp.take() {
            // Best effort: a leftover is recognised and removed by the next fleet run.
            let _ = fs::remove_file(temp);
        }
    }
}

/// The first steps of [`write_atomic`]: the target resolved and its mode chosen (one `lstat`),
/// a temporary file created beside it with that mode, filled by `write` and flushed to disk.
pub(crate) fn stage(
    path: &Path,
    options: WriteOptions,
    write: impl FnOnce(&mut File) -> io::Result<()>,
) -> Result<Staged, FsError> {
    let (target, existing_mode) = match options.existing {
        Existing::FollowSymlinks => resolve_symlink(path)?,
        Existing::OwnedRegularFile => (path.to_path_buf(), check_private_target(path)?),
    };
    let Some(file_name) = target.file_name() else {
        return Err(FsError::NotAFile {
            path: path.to_path_buf(),
        });
    };
    let dir = match target.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mode = match options.mode {
        Mode::Fixed(mode) => mode,
        Mode::KeepOr(default) => existing_mode.unwrap_or(default),
    };

    let (temp_path, mut file) = create_temp(&dir, file_name, mode, path)?;
    let staged = Staged {
        path: path.to_path_buf(),
        target,
        dir,
        temp: Some(temp_path),
    };
    write(&mut file).map_err(FsError::io(Operation::Write, path))?;
    // The creation mode was masked by the umask; set the exact bits before the file is
    // visible, unless the umask cleared none of them (and no special bit is asked for).
    if umask().is_none_or(|umask| mode & (umask | 0o7000) != 0) {
        file.set_permissions(Permissions::from_mode(mode))
            .map_err(FsError::io(Operation::SetPermissions, path))?;
    }
    file.sync_all()
        .map_err(FsError::io(Operation::Sync, path))?;
    Ok(staged)
}

/// Flushes the directory `dir` to disk, making the renames into it durable. The caller names
/// the files renamed there in its errors ([`FsError::directory_sync`]).
pub(crate) fn sync_directory(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// The process's umask, read once from `/proc/self/status` (Linux 4.7 and later); `None` when
/// it cannot be read, and then every write sets its mode explicitly. aesec never changes its
/// umask, so the value read first stays right.
fn umask() -> Option<u32> {
    static UMASK: std::sync::OnceLock<Option<u32>> = std::sync::OnceLock::new();
    *UMASK.get_or_init(|| {
        let status = fs::read_to_string("/proc/self/status").ok()?;
        let line = status
            .lines()
            .find_map(|line| line.strip_prefix("Umask:"))?;
        u32::from_str_radix(line.trim(), 8).ok()
    })
}

/// Refuses a `path` that is not absent or the caller's regular file, in a directory of the
/// caller or root, and returns the file's permission bits when there is one. The later rename
/// replaces the directory entry itself, so a link planted after this check is replaced, never
/// followed.
fn check_private_target(path: &Path) -> Result<Option<u32>, FsError> {
    let unsafe_path = |reason| FsError::Unsafe {
        path: path.to_path_buf(),
        reason,
    };
    let uid = rustix::process::geteuid().as_raw();
    let existing_mode = match fs::symlink_metadata(path) {
        Ok(metadata) if metadata.file_type().is_symlink() => {
            return Err(unsafe_path(UnsafeReason::Symlink));
        }
        Ok(metadata) if !metadata.file_type().is_file() => {
            return Err(unsafe_path(UnsafeReason::NotRegularFile));
        }
        Ok(metadata) if metadata.uid() != uid => {
            return Err(unsafe_path(UnsafeReason::FileOwnedBy {
                uid: metadata.uid(),
            }));
        }
        Ok(metadata) => Some(metadata.permissions().mode() & 0o7777),
        Err(error) if error.kind() == io::ErrorKind::NotFound => None,
        Err(error) => return Err(FsError::io(Operation::Metadata, path)(error)),
    };
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let metadata = fs::metadata(dir).map_err(FsError::io(Operation::Metadata, path))?;
    if metadata.uid() != uid && metadata.uid() != 0 {
        return Err(unsafe_path(UnsafeReason::DirectoryOwnedBy {
            dir: dir.to_path_buf(),
            uid: metadata.uid(),
        }));
    }
    Ok(existing_mode)
}

/// Creates `base/relative` directory by directory (mode `0o755`), refusing a symlink or another
/// user's directory at any step below `base`, and `base` itself when it belongs to another user
/// (neither the caller nor root). For trees that receive private keys.
///
/// # Errors
///
/// [`FsError::Unsafe`] as above; [`FsError::Io`] when a directory cannot be read or created.
pub fn create_private_dirs(base: &Path, relative: &Path) -> Result<PathBuf, FsError> {
    let uid = rustix::process::geteuid().as_raw();
    let owned = |dir: &Path, metadata: &fs::Metadata| {
        if metadata.uid() == uid || metadata.uid() == 0 {
            Ok(())
        } else {
            Err(FsError::Unsafe {
                path: dir.to_path_buf(),
                reason: UnsafeReason::DirectoryOwnedBy {
                    dir: dir.to_path_buf(),
                    uid: metadata.uid(),
                },
            })
        }
    };
    match fs::metadata(base) {
        Ok(metadata) => owned(base, &metadata)?,
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            fs::create_dir_all(base).map_err(FsError::io(Operation::CreateDirectory, base))?;
        }
        Err(error) => return Err(FsError::io(Operation::Metadata, base)(error)),
    }
    let mut dir = base.to_path_buf();
    for component in relative.components() {
        dir.push(component);
        match fs::symlink_metadata(&dir) {
            Ok(metadata) if metadata.file_type().is_symlink() => {
                return Err(FsError::Unsafe {
                    path: dir.clone(),
                    reason: UnsafeReason::DirectoryIsSymlink { dir },
                });
            }
            Ok(metadata) => owned(&dir, &metadata)?,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                fs::DirBuilder::new()
                    .mode(0o755)
                    .create(&dir)
                    .map_err(FsError::io(Operation::CreateDirectory, &dir))?;
            }
            Err(error) => return Err(FsError::io(Operation::Metadata, &dir)(error)),
        }
    }
    Ok(dir)
}

/// The file a write to `path` must replace (`path` itself, or the file a symlink points to),
/// and that file's permission bits when it exists: one `lstat` for a file that is not a link.
fn resolve_symlink(path: &Path) -> Result<(PathBuf, Option<u32>), FsError> {
    let mode = |metadata: &fs::Metadata| Some(metadata.permissions().mode() & 0o7777);
    match fs::symlink_metadata(path) {
        Ok(metadata) if metadata.file_type().is_symlink() => {
            let target =
                fs::canonicalize(path).map_err(FsError::io(Operation::ResolveSymlink, path))?;
            let metadata = fs::metadata(&target).map_err(FsError::io(Operation::Metadata, path))?;
            Ok((target, mode(&metadata)))
        }
        Ok(metadata) => Ok((path.to_path_buf(), mode(&metadata))),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok((path.to_path_buf(), None)),
        Err(error) => Err(FsError::io(Operation::Metadata, path)(error)),
    }
}

/// Creates `.<name>.<random>.tmp` in `dir`, exclusively, with `mode` (minus the umask).
fn create_temp(
    dir: &Path,
    file_name: &std::ffi::OsStr,
    mode: u32,
    path: &Path,
) -> Result<(PathBuf, File), FsError> {
    let mut last_error = None;
    for _ in 0..TEMP_NAME_ATTEMPTS {
        let mut suffix = [0u8; 8];
        getrandom::getrandom(&mut suffix).map_err(|error| FsError::Io {
            operation: Operation::CreateTemp,
            path: path.to_path_buf(),
            source: io::Error::other(error),
        })?;
        let suffix: String = suffix.iter().map(|byte| format!("{byte:02x}")).collect();
        let mut name = std::ffi::OsString::from(".");
        name.push(file_name);
        name.push(format!(".{suffix}.tmp"));
        let temp_path = dir.join(name);
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NOFOLLOW)
            .mode(mode)
            .open(&temp_path)
        {
            Ok(file) => return Ok((temp_path, file)),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => last_error = Some(error),
            Err(error) => return Err(FsError::io(Operation::CreateTemp, path)(error)),
        }
    }
    let source = last_error.unwrap_or_else(|| io::Error::from(io::ErrorKind::AlreadyExists));
    Err(FsError::Io {
        operation: Operation::CreateTemp,
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests;
