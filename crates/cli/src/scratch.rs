//! A private scratch directory for plaintext that must exist as a file for a while (the file
//! `edit` opens in an editor, the file or FIFO `exec-file` hands a command).
//!
//! The directory is created 0700 whatever the umask, on a RAM-backed filesystem when one is
//! available (a warning on stderr otherwise), and removed when the [`Scratch`] is dropped and
//! also when aesec gets SIGINT, SIGTERM or SIGHUP meanwhile (a closed terminal must not leave
//! the plaintext behind).

use std::fs::Permissions;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use signal_hook::consts::signal::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::{Handle, Signals};

/// Filesystems that keep data in memory, in order of preference.
const RAM_DIRS: [&str; 2] = ["/dev/shm", "/run/user"];

/// `statfs` magic numbers of file systems that keep data in memory (linux/magic.h).
const RAM_FILESYSTEMS: [u64; 2] = [0x0102_1994 /* tmpfs */, 0x8584_58f6 /* ramfs */];

/// The signals that remove the private directory before aesec ends.
const CLEANUP_SIGNALS: [i32; 3] = [SIGINT, SIGTERM, SIGHUP];

/// A private directory for plaintext, removed when dropped or when a cleanup signal arrives.
pub(crate) struct Scratch {
    dir: tempfile::TempDir,
    watch: Handle,
}

impl Scratch {
    /// Makes the directory (see [`private_dir`]) and starts watching for signals; `prefix`
    /// starts its name, `while_what` ends the warning ("… while the editor runs").
    pub(crate) fn new(prefix: &str, while_what: &str) -> anyhow::Result<Self> {
        let dir = private_dir(prefix, while_what)?;
        let watch = remove_on_signal(dir.path())?;
        Ok(Self { dir, watch })
    }

    /// The directory.
    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // Removed before the signal watch ends, so no moment leaves it unguarded (the
        // `TempDir`'s own removal then finds nothing; an error here cannot be acted on).
        let _ = std::fs::remove_dir_all(self.dir.path());
        self.watch.close();
    }
}

/// A fresh 0700 directory in `XDG_RUNTIME_DIR`, `/dev/shm` or `/run/user` (the first that
/// takes one), else in the temporary directory (`TMPDIR`); a warning when it is not on a
/// RAM-backed filesystem.
fn private_dir(prefix: &str, while_what: &str) -> anyhow::Result<tempfile::TempDir> {
    let uid_dir = std::env::var_os(crate::env::XDG_RUNTIME_DIR).map(PathBuf::from);
    let candidates = uid_dir
        .into_iter()
        .chain(RAM_DIRS.iter().map(PathBuf::from))
        .chain([std::env::temp_dir()]);
    let mut last_error = None;
    for base in candidates {
        // The builder's mode is reduced by the umask, never widened: 0700 at most from the
        // start, then exactly 0700.
        let made = tempfile::Builder::new()
            .prefix(prefix)
            .permissions(Permissions::from_mode(0o700))
            .tempdir_in(&base)
            .and_then(|dir| {
                std::fs::set_permissions(dir.path(), Permissions::from_mode(0o700))?;
                Ok(dir)
            });
        match made {
            Ok(dir) => {
                if !is_ram_backed(dir.path()) {
                    eprintln!(
                        "warning: no RAM-backed directory is available: the plaintext is \
                         written to disk in '{}' while {while_what}",
                        dir.path().display()
                    );
                }
                return Ok(dir);
            }
            Err(error) => last_error = Some((base, error)),
        }
    }
    match last_error {
        Some((base, error)) => Err(anyhow::Error::new(error).context(format!(
            "cannot create a private directory in '{}'",
            base.display()
        ))),
        None => Err(anyhow::anyhow!("no directory for the plaintext")),
    }
}

/// Whether `dir` is on tmpfs or ramfs.
fn is_ram_backed(dir: &Path) -> bool {
    rustix::fs::statfs(dir).is_ok_and(|stat| {
        // The field's integer type differs between targets.
        let kind = u64::try_from(stat.f_type).unwrap_or_default();
        RAM_FILESYSTEMS.contains(&kind)
    })
}

/// Removes `dir` and ends aesec as the signal would when SIGINT, SIGTERM or SIGHUP arrives;
/// [`Handle::close`] stops watching.
fn remove_on_signal(dir: &Path) -> anyhow::Result<Handle> {
    let mut signals = Signals::new(CLEANUP_SIGNALS).context("cannot watch for signals")?;
    let handle = signals.handle();
    let dir = dir.to_path_buf();
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            // Best effort: nothing else can be done with an error now.
            let _ = std::fs::remove_dir_all(&dir);
            let _ = signal_hook::low_level::emulate_default_handler(signal);
            std::process::exit(128 + signal);
        }
    });
    Ok(handle)
}
