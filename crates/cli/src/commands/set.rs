//! `aesec set` and `aesec unset`: change one value of an encrypted file in place, keeping the
//! data key and the ciphertext of every other value.

use aesec::file::ChangeOptions;
use aesec::fs::WriteOptions;
use aesec::sops::TreePath;

use crate::cli::{SetArgs, UnsetArgs};
use crate::commands::{Context, input_format, output_format, read_input, read_stdin, write_file};
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

/// The JSON value of `set`, as sops 3.11 takes it: the third argument; with `--value-file`,
/// the file it names; with `--value-stdin`, standard input (and no third argument).
fn value_json(context: &Context, args: &SetArgs) -> anyhow::Result<zeroize::Zeroizing<Vec<u8>>> {
    let bytes = match (&args.value, args.value_file, args.value_stdin) {
        (_, true, true) => anyhow::bail!("cannot use both --value-file and --value-stdin"),
        (None, _, true) => read_stdin()?,
        (Some(_), _, true) => {
            return Err(CliError::MissingArguments(
                "with --value-stdin, give only the file and the index",
            )
            .into());
        }
        (Some(file), true, false) => aesec::fs::read(context.path(std::path::Path::new(file)))?,
        (Some(value), false, false) => value.clone().into_bytes(),
        (None, _, false) => {
            return Err(CliError::MissingArguments(
                "give the file, the index and the value (or --value-stdin)",
            )
            .into());
        }
    };
    Ok(zeroize::Zeroizing::new(bytes))
}

/// Formats and options of a change, from the flags.
fn change_options(
    context: &Context,
    file: &std::path::Path,
    types: &crate::cli::TypeArgs,
    idempotent: bool,
    ignore_mac: bool,
) -> anyhow::Result<ChangeOptions> {
    let input = input_format(types, Some(file));
    let mut options = ChangeOptions::new(input);
    options.output = output_format(types, input);
    options.idempotent = idempotent;
    options.ignore_mac = ignore_mac;
    options.emit = context.emit_options(types, options.output)?;
    Ok(options)
}

pub(crate) fn run_set(context: &Context, args: &SetArgs) -> anyhow::Result<u8> {
    let path = parse_index(&args.index)?;
    let json = value_json(context, args)?;
    let value = aesec::file::value_from_json(&json)?;
    let options = change_options(
        context,
        &args.file,
        &args.types,
        args.idempotent,
        args.ignore_mac,
    )?;
    let encrypted = read_input(context, Some(&args.file))?;
    let keys = context.keys();
    let changed = aesec::file::set(
        &encrypted,
        &keys.decryptors().list(),
        &path,
        value,
        &options,
    )
    .map_err(|error| keys.error(format!("set {path} in"), &args.file, error))?;
    write_back(context, &args.file, changed)
}

pub(crate) fn run_unset(context: &Context, args: &UnsetArgs) -> anyhow::Result<u8> {
    let path = parse_index(&args.index)?;
    let options = change_options(
        context,
        &args.file,
        &args.types,
        args.idempotent,
        args.ignore_mac,
    )?;
    let encrypted = read_input(context, Some(&args.file))?;
    let keys = context.keys();
    let changed = aesec::file::unset(&encrypted, &keys.decryptors().list(), &path, &options)
        .map_err(|error| keys.error(format!("unset {path} in"), &args.file, error))?;
    write_back(context, &args.file, changed)
}

/// Writes the changed file over the original; `None` (idempotent, nothing to do) writes nothing.
fn write_back(
    context: &Context,
    file: &std::path::Path,
    changed: Option<Vec<u8>>,
) -> anyhow::Result<u8> {
    if let Some(bytes) = changed {
        write_file(
            &context.path(file),
            &bytes,
            WriteOptions::keep_mode_or(ENCRYPTED_MODE),
        )?;
    }
    Ok(0)
}
