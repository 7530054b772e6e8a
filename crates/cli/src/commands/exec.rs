//! `aesec exec-env` and `aesec exec-file` (sops' commands of the same names): run a command
//! with the decrypted values in its environment, or with the decrypted file at a path.
//!
//! The command runs under `/bin/sh -c`, as in sops, with aesec's stdin, stdout and stderr,
//! and aesec exits with its exit code (128 + the signal number when a signal ended it). The
//! plaintext reaches only the child: its environment (`exec-env`), or a FIFO (default) or a
//! 0600 file (`--no-fifo`) in a private 0700 directory on a RAM-backed filesystem, removed
//! when the command ends or aesec is interrupted (`exec-file`; `{}` in the command is the
//! path).

use std::ffi::OsStr;
use std::io::Write as _;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::process::{CommandExt as _, ExitStatusExt as _};
use std::path::{Component, Path};
use std::process::Command;

use aesec::file::DecryptOptions;
use aesec::fs::WriteOptions;
use aesec::sops::{Document, OpenOptions};
use anyhow::Context as _;

use crate::cli::{ExecEnvArgs, ExecFileArgs, RunAs};
use crate::commands::{Context, input_format, output_format, which, write_file};
use crate::scratch::Scratch;

/// The name of the FIFO or file when `--filename` is not given (sops' `FallbackFilename`).
const DEFAULT_FILENAME: &str = "tmp-file";

pub(crate) fn run_env(context: &Context, args: &ExecEnvArgs) -> anyhow::Result<u8> {
    let format = input_format(&args.types, Some(&args.file));
    // A missing file is "cannot read" (exit 2) here, as in sops' exec commands.
    let encrypted = aesec::fs::read(context.path(&args.file))?;
    let keys = context.keys();
    let document = Document::open(
        &encrypted,
        format,
        &keys.decryptors().list(),
        &OpenOptions::default(),
    )
    .map_err(|error| keys.error("decrypt", &args.file, error))?;
    let vars = aesec::file::environment(document.tree())
        .with_context(|| format!("cannot run a command with '{}'", args.file.display()))?;
    let mut command = shell(&args.command, &args.run_as)?;
    for var in &vars {
        command.env(&var.name, OsStr::from_bytes(&var.value));
    }
    if args.same_process {
        // Only returns when the exec failed.
        let error = command.exec();
        return Err(anyhow::Error::new(error).context("cannot run /bin/sh"));
    }
    wait(command, args.run_as.background)
}

pub(crate) fn run_file(context: &Context, args: &ExecFileArgs) -> anyhow::Result<u8> {
    let name = args.filename.as_deref().unwrap_or(DEFAULT_FILENAME);
    if !is_local(Path::new(name)) {
        anyhow::bail!(
            "--filename '{name}' is not a local path: give a plain file name (no '/' at the \
             start, no '..')"
        );
    }
    let input = input_format(&args.types, Some(&args.file));
    let options = DecryptOptions::new(input, output_format(&args.types, input));
    // A missing file is "cannot read" (exit 2) here, as in sops' exec commands.
    let encrypted = aesec::fs::read(context.path(&args.file))?;
    let keys = context.keys();
    let plaintext = aesec::file::decrypt(&encrypted, &keys.decryptors().list(), &options)
        .map_err(|error| keys.error("decrypt", &args.file, error))?;
    let scratch = Scratch::new("aesec-exec-", "the command runs")?;
    let path = scratch.path().join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create '{}'", parent.display()))?;
    }
    if args.no_fifo {
        write_file(&path, &plaintext, WriteOptions::private(0o600))?;
    } else {
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &path,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .with_context(|| format!("cannot create the FIFO '{}'", path.display()))?;
        // Opening a FIFO to write waits for a reader; a command that never reads leaves this
        // thread waiting until aesec exits.
        let fifo = path.clone();
        std::thread::spawn(move || {
            if let Ok(mut pipe) = std::fs::OpenOptions::new().write(true).open(&fifo) {
                // A reader that stops early closes the pipe: nothing more to do then.
                let _ = pipe.write_all(&plaintext);
            }
        });
    }
    let placeholder = path
        .to_str()
        .context("the scratch directory's path is not UTF-8")?;
    let command = shell(&args.command.replace("{}", placeholder), &args.run_as)?;
    let code = wait(command, args.run_as.background)?;
    drop(scratch);
    Ok(code)
}

/// `/bin/sh -c COMMAND`, without the inherited environment for `--pristine`, as `--user`
/// (through `runuser -u USER --`, which only root may run).
fn shell(line: &str, run_as: &RunAs) -> anyhow::Result<Command> {
    let mut command = match &run_as.user {
        Some(user) => {
            let runuser = which(RUNUSER).with_context(|| {
                format!("--user needs {RUNUSER} (util-linux) on PATH, and aesec running as root")
            })?;
            let mut command = Command::new(runuser);
            command.args(["--preserve-environment", "-u", user, "--", "/bin/sh"]);
            command
        }
        None => Command::new("/bin/sh"),
    };
    command.arg("-c").arg(line);
    if run_as.pristine {
        command.env_clear();
    }
    Ok(command)
}

/// Runs `command` and returns its exit code, or only starts it (`--background`).
fn wait(mut command: Command, background: bool) -> anyhow::Result<u8> {
    let mut child = command.spawn().context("cannot run /bin/sh")?;
    if background {
        eprintln!("warning: --background is deprecated in sops; the command goes on alone");
        return Ok(0);
    }
    let status = child.wait().context("cannot wait for the command")?;
    let code = status
        .code()
        .or_else(|| status.signal().map(|signal| 128 + signal))
        .unwrap_or(1);
    Ok(u8::try_from(code).unwrap_or(1))
}

/// Whether `name` stays inside the directory it is joined to (Go's `filepath.IsLocal`).
fn is_local(name: &Path) -> bool {
    !name.as_os_str().is_empty()
        && name
            .components()
            .all(|part| matches!(part, Component::Normal(_) | Component::CurDir))
}

/// The program that switches user (util-linux): it sets the user's uid, primary group and
/// supplementary groups, as sops' `--user` does with its own system calls (aesec's code has
/// no `unsafe`, which that would take). The environment passes unchanged, `HOME` included, as
/// in sops 3.11 (later sops versions set the user's `HOME`, `USER` and `LOGNAME`).
const RUNUSER: &str = "runuser";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filenames_must_stay_in_the_directory() {
        for name in ["tmp-file", "a.json", "sub/x.yaml", "./x"] {
            assert!(is_local(Path::new(name)), "{name}");
        }
        for name in ["", "/etc/passwd", "../x", "a/../../x"] {
            assert!(!is_local(Path::new(name)), "{name}");
        }
    }
}
