//! `aesec edit`: decrypt into a private directory on a RAM-backed filesystem, run the editor,
//! and re-encrypt with the same data key only if the plaintext changed (exit 200 otherwise);
//! opening and sealing are [`aesec::file::EditSession`]'s, the scratch file and the editor ours.
//!
//! The scratch file is 0600 in a [`Scratch`] directory: 0700, RAM-backed when possible, removed
//! when the edit ends and when aesec gets SIGINT, SIGTERM or SIGHUP while the editor runs.

use std::path::Path;
use std::process::Command;

use aesec::file::{EditError, EditSession, FileError, RuleOverrides};
use aesec::fs::WriteOptions;
use anyhow::Context as _;

use crate::cli::EditArgs;
use crate::commands::{Context, KeyBackends, input_format, read_input, which, write_file};
use crate::exit;
use crate::output::CliError;
use crate::scratch::Scratch;

pub(crate) fn run(context: &Context, args: &EditArgs) -> anyhow::Result<u8> {
    let path = context.path(&args.file);
    let format = input_format(&args.types, Some(&args.file));
    let emit = context.emit_options(&args.types, format)?;
    let mut session = if path.exists() {
        let encrypted = read_input(context, Some(&args.file))?;
        let keys = context.keys();
        EditSession::open(&encrypted, format, &keys.decryptors().list(), &emit).map_err(
            |error| match error {
                EditError::Open(open) => keys.error("edit", &args.file, FileError::Open(open)),
                other => other.into(),
            },
        )?
    } else {
        let config = context.config()?;
        let backends = KeyBackends::new(context);
        let (recipients, rules) = aesec::file::creation_recipients(
            config.as_ref(),
            &path,
            &context.cwd,
            &RuleOverrides::default(),
            &backends.list(),
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
    let dir = Scratch::new("aesec-edit-", "the editor runs")?;
    let name = path
        .file_name()
        .map_or_else(|| "secret".into(), |n| n.to_os_string());
    let scratch = dir.path().join(name);
    write_file(&scratch, session.plaintext(), WriteOptions::private(0o600))?;
    run_editor(&scratch)?;
    let edited = zeroize::Zeroizing::new(aesec::fs::read(&scratch)?);
    drop(dir);
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
