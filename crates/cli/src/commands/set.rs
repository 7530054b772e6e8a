//! `aesec set` and `aesec unset`: change one value of an encrypted file in place, keeping the
//! data key and the ciphertext of every other value.

use std::io::Read;

use aesec::sops::{AgeDecryptor, TreePath};
use anyhow::Context as _;

use crate::cli::{SetArgs, UnsetArgs};
use crate::commands::{Context, input_format, read_input, write_file};
use crate::output::CliError;

pub(crate) fn run_set(context: &Context, args: &SetArgs) -> anyhow::Result<u8> {
    let path: TreePath = args.index.parse()?;
    let json = match (&args.value, &args.value_file, args.value_stdin) {
        (Some(value), _, _) => value.clone().into_bytes(),
        (None, Some(file), _) => aesec::fs::read(context.path(file))?,
        (None, None, _) => {
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .map_err(|source| CliError::Read {
                    path: "<stdin>".into(),
                    source,
                })?;
            bytes
        }
    };
    let value = aesec::file::value_from_json(&json).context("the value is not valid JSON")?;
    let format = input_format(&args.types, Some(&args.file));
    let encrypted = read_input(context, Some(&args.file))?;
    let identities = context.identities()?;
    let changed = aesec::file::set(
        &encrypted,
        format,
        &[&AgeDecryptor::new(&identities)],
        &path,
        value,
        &context.emit_options()?,
    )
    .with_context(|| format!("cannot set {path} in '{}'", args.file.display()))?;
    match changed {
        Some(bytes) => write_file(
            &context.path(&args.file),
            &bytes,
            aesec::fs::WriteOptions::keep_mode_or(0o644),
        )?,
        None if args.idempotent => {}
        None => {}
    }
    Ok(0)
}

pub(crate) fn run_unset(context: &Context, args: &UnsetArgs) -> anyhow::Result<u8> {
    let path: TreePath = args.index.parse()?;
    let format = input_format(&args.types, Some(&args.file));
    let encrypted = read_input(context, Some(&args.file))?;
    let identities = context.identities()?;
    let result = aesec::file::unset(
        &encrypted,
        format,
        &[&AgeDecryptor::new(&identities)],
        &path,
        &context.emit_options()?,
    );
    match result {
        Ok(bytes) => {
            write_file(
                &context.path(&args.file),
                &bytes,
                aesec::fs::WriteOptions::keep_mode_or(0o644),
            )?;
            Ok(0)
        }
        Err(aesec::file::FileError::Path(aesec::sops::PathError::NotFound { .. }))
            if args.idempotent =>
        {
            Ok(0)
        }
        Err(error) => Err(anyhow::Error::new(error)
            .context(format!("cannot unset {path} in '{}'", args.file.display()))),
    }
}
