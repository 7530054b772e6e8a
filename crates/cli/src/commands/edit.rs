//! `aesec edit`: decrypt into a private directory on a RAM-backed filesystem, run the editor,
//! and re-encrypt with the same data key only if the plaintext changed (exit 200 otherwise).
//!
//! The directory is created 0700 (whatever the umask) and the file 0600. It is removed when the
//! edit ends, and also when aesec gets SIGINT, SIGTERM or SIGHUP while the editor runs (a closed
//! terminal must not leave the plaintext behind). A warning goes to stderr when the directory
//! is not on a RAM-backed filesystem.

use std::path::Path;
use std::process::Command;

use aesec::file::{FileError, RuleOverrides};
use aesec::fs::WriteOptions;
use aesec::sops::{AgeDecryptor, Document, OpenOptions};
use anyhow::Context as _;

use crate::cli::EditArgs;
use crate::commands::{Context, input_format, read_input, which, write_file};
use crate::exit;
use crate::output::CliError;
use crate::scratch::Scratch;

pub(crate) fn run(context: &Context, args: &EditArgs) -> anyhow::Result<u8> {
    let path = context.path(&args.file);
    let format = input_format(&args.types, Some(&args.file));
    let emit = context.emit_options()?;
    let existed = path.exists();
    let mut document = if existed {
        let encrypted = read_input(context, Some(&args.file))?;
        let keys = context.keys();
        Document::open(
            &encrypted,
            format,
            &[&AgeDecryptor::new(&keys.identities)],
            &OpenOptions::default(),
        )
        .map_err(|error| keys.error("edit", &args.file, FileError::Open(error)))?
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
        let mut document =
            Document::from_plaintext(aesec::file::example_document(format), format, &rules)?;
        document.rewrap(&recipients)?;
        document
    };
    let plaintext = document.to_plaintext(format, &emit)?;
    let dir = Scratch::new("aesec-edit-", "the editor runs")?;
    let name = path
        .file_name()
        .map_or_else(|| "secret".into(), |n| n.to_os_string());
    let scratch = dir.path().join(name);
    write_file(&scratch, &plaintext, WriteOptions::private(0o600))?;
    run_editor(&scratch)?;
    let edited = zeroize::Zeroizing::new(aesec::fs::read(&scratch)?);
    drop(dir);
    if *edited == *plaintext {
        if !context.quiet {
            eprintln!("file has not changed, exiting");
        }
        return Ok(exit::FILE_HAS_NOT_BEEN_MODIFIED);
    }
    document
        .replace_plaintext(&edited, format)
        .with_context(|| {
            format!(
                "the edited '{}' is not valid {}; nothing was written",
                args.file.display(),
                format.name()
            )
        })?;
    let encrypted = document
        .seal(&emit)
        .with_context(|| format!("cannot encrypt '{}'", args.file.display()))?;
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
