//! `aesec edit`: decrypt into a private directory on a RAM-backed filesystem, run the editor,
//! and re-encrypt with the same data key only if the plaintext changed (exit 200 otherwise);
//! opening and sealing are [`aesec::file::EditSession`]'s, the scratch file and the editor ours.
//!
//! The directory is created 0700 (whatever the umask) and the file 0600. It is removed when the
//! edit ends, and also when aesec gets SIGINT, SIGTERM or SIGHUP while the editor runs (a closed
//! terminal must not leave the plaintext behind). A warning goes to stderr when the directory
//! is not on a RAM-backed filesystem.

use std::fs::Permissions;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use signal_hook::consts::signal::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::{Handle, Signals};

use aesec::file::{EditError, EditSession, FileError, RuleOverrides};
use aesec::fs::WriteOptions;
use aesec::sops::AgeDecryptor;
use anyhow::Context as _;

use crate::cli::EditArgs;
use crate::commands::{Context, input_format, read_input, write_file};
use crate::exit;
use crate::output::CliError;

/// Filesystems that keep data in memory, in order of preference.
const RAM_DIRS: [&str; 2] = ["/dev/shm", "/run/user"];

/// `statfs` magic numbers of file systems that keep data in memory (linux/magic.h).
const RAM_FILESYSTEMS: [u64; 2] = [0x0102_1994 /* tmpfs */, 0x8584_58f6 /* ramfs */];

/// The signals that remove the private directory before aesec ends.
const CLEANUP_SIGNALS: [i32; 3] = [SIGINT, SIGTERM, SIGHUP];

pub(crate) fn run(context: &Context, args: &EditArgs) -> anyhow::Result<u8> {
    let path = context.path(&args.file);
    let format = input_format(&args.types, Some(&args.file));
    let emit = context.emit_options()?;
    let mut session = if path.exists() {
        let encrypted = read_input(context, Some(&args.file))?;
        let keys = context.keys();
        EditSession::open(
            &encrypted,
            format,
            &[&AgeDecryptor::new(&keys.identities)],
            &emit,
        )
        .map_err(|error| match error {
            EditError::Open(open) => keys.error("edit", &args.file, FileError::Open(open)),
            other => other.into(),
        })?
    } else {
        let config = context.config()?;
        let (recipients, rules) = aesec::file::creation_recipients(
            config.as_ref(),
            &path,
            &context.cwd,
            &RuleOverrides::default(),
        )
        .with_context(|| {
            format!(
                "cannot choose recipients for new file '{}' ({})",
                args.file.display(),
                context.describe_config()
            )
        })?;
        EditSession::create(format, &recipients, &rules, &emit)?
    };
    let dir = private_dir()?;
    let cleanup = remove_on_signal(dir.path())?;
    let name = path
        .file_name()
        .map_or_else(|| "secret".into(), |n| n.to_os_string());
    let scratch = dir.path().join(name);
    write_file(&scratch, session.plaintext(), WriteOptions::private(0o600))?;
    run_editor(&scratch)?;
    let edited = zeroize::Zeroizing::new(aesec::fs::read(&scratch)?);
    drop(dir);
    cleanup.close();
    let encrypted = match session.finish(&edited) {
        Ok(Some(encrypted)) => encrypted,
        Ok(None) => {
            if !context.quiet {
                eprintln!("file has not changed, exiting");
            }
            return Ok(exit::FILE_HAS_NOT_BEEN_MODIFIED);
        }
        Err(error @ EditError::Invalid(_)) => {
            return Err(anyhow::Error::new(error).context(format!(
                "the edited '{}' is not valid {}; nothing was written",
                args.file.display(),
                format.name()
            )));
        }
        Err(error) => {
            return Err(anyhow::Error::new(error)
                .context(format!("cannot encrypt '{}'", args.file.display())));
        }
    };
    write_file(&path, &encrypted, WriteOptions::keep_mode_or(0o644))?;
    Ok(0)
}

/// A fresh 0700 directory in `XDG_RUNTIME_DIR`, `/dev/shm` or `/run/user` (the first that
/// takes one), else in the temporary directory (`TMPDIR`); a warning when it is not on a
/// RAM-backed filesystem.
fn private_dir() -> anyhow::Result<tempfile::TempDir> {
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
            .prefix("aesec-edit-")
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
                         written to disk in '{}' while the editor runs",
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

fn run_editor(file: &Path) -> anyhow::Result<()> {
    let configured = [crate::env::SOPS_EDITOR, crate::env::EDITOR]
        .iter()
        .find_map(|name| {
            std::env::var(name)
                .ok()
                .filter(|value| !value.trim().is_empty())
        });
    let words = match configured {
        Some(command) => aesec::keys::discovery::split_command_line(&command)?,
        None => {
            let found = ["vim", "nano", "vi"]
                .iter()
                .find(|editor| which(editor).is_some());
            vec![
                found
                    .ok_or_else(|| CliError::NoEditor("vim, nano or vi".into()))?
                    .to_string(),
            ]
        }
    };
    let (program, arguments) = words
        .split_first()
        .ok_or_else(|| CliError::NoEditor(String::new()))?;
    let status = Command::new(program)
        .args(arguments)
        .arg(file)
        .status()
        .map_err(|_| CliError::NoEditor(program.clone()))?;
    if !status.success() {
        return Err(CliError::EditorFailed {
            program: program.clone(),
            status,
        }
        .into());
    }
    Ok(())
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os(crate::env::PATH)
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}
