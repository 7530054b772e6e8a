//! `aesec set` and `aesec unset`: change one value of an encrypted file in place, keeping the
//! data key and the ciphertext of every other value.

use aesec::file::{FileError, Unchanged};
use aesec::fs::WriteOptions;
use aesec::sops::{AgeDecryptor, PathError, TreePath};

use crate::cli::{SetArgs, UnsetArgs};
use crate::commands::{Context, input_format, read_input, read_stdin, write_file};
use crate::output::CliError;

/// Mode of the rewritten file when it has none to keep (it always exists here).
const ENCRYPTED_MODE: u32 = 0o644;

/// The index argument of `set`/`unset` (sops exits 7, not `--extract`'s 91, when it is not a
/// path).
fn parse_index(index: &str) -> anyhow::Result<TreePath> {
    index.parse().map_err(|source| {
        CliError::InvalidIndex {
            index: index.to_owned(),
            source,
        }
        .into()
    })
}

pub(crate) fn run_set(context: &Context, args: &SetArgs) -> anyhow::Result<u8> {
    let path = parse_index(&args.index)?;
    let json = zeroize::Zeroizing::new(match (&args.value, &args.value_file) {
        (Some(value), _) => value.clone().into_bytes(),
        (None, Some(file)) => aesec::fs::read(context.path(file))?,
        (None, None) => read_stdin()?,
    });
    let value = aesec::file::value_from_json(&json)?;
    let format = input_format(&args.types, Some(&args.file));
    let encrypted = read_input(context, Some(&args.file))?;
    let keys = context.keys();
    let changed = aesec::file::set(
        &encrypted,
        format,
        &[&AgeDecryptor::new(&keys.identities)],
        &path,
        value,
        if args.idempotent {
            Unchanged::Skip
        } else {
            Unchanged::Rewrite
        },
        &context.emit_options()?,
    )
    .map_err(|error| keys.error(format!("set {path} in"), &args.file, error))?;
    // `None`: --idempotent and the value was already there.
    if let Some(bytes) = changed {
        write_file(
            &context.path(&args.file),
            &bytes,
            WriteOptions::keep_mode_or(ENCRYPTED_MODE),
        )?;
    }
    Ok(0)
}

pub(crate) fn run_unset(context: &Context, args: &UnsetArgs) -> anyhow::Result<u8> {
    let path = parse_index(&args.index)?;
    let format = input_format(&args.types, Some(&args.file));
    let encrypted = read_input(context, Some(&args.file))?;
    let keys = context.keys();
    let result = aesec::file::unset(
        &encrypted,
        format,
        &[&AgeDecryptor::new(&keys.identities)],
        &path,
        &context.emit_options()?,
    );
    match result {
        Ok(bytes) => {
            write_file(
                &context.path(&args.file),
                &bytes,
                WriteOptions::keep_mode_or(ENCRYPTED_MODE),
            )?;
            Ok(0)
        }
        Err(FileError::Path(PathError::NotFound { .. })) if args.idempotent => Ok(0),
        Err(error) => Err(keys.error(format!("unset {path} in"), &args.file, error)),
    }
}
