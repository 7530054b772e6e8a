//! `aesec rotate`: give each file a new data key, wrapped for the file's own recipients, and
//! re-encrypt every value with it.

use aesec::fs::WriteOptions;
use aesec::sops::AgeDecryptor;

use crate::cli::RotateArgs;
use crate::commands::{Context, input_format, output_target, read_input, write_output};
use crate::output::CliError;

/// Mode of a rotated file written to a new path.
const ENCRYPTED_MODE: u32 = 0o644;

pub(crate) fn run(context: &Context, args: &RotateArgs) -> anyhow::Result<u8> {
    if args.files.len() > 1 && !args.output.in_place {
        return Err(CliError::Usage("rotating several files needs --in-place").into());
    }
    let keys = context.keys();
    let emit = context.emit_options()?;
    for file in &args.files {
        let format = input_format(&args.types, Some(file));
        let target = output_target(context, &args.output, Some(file))?;
        let encrypted = read_input(context, Some(file))?;
        let rotated = aesec::file::rotate(
            &encrypted,
            format,
            &[&AgeDecryptor::new(&keys.identities)],
            &emit,
        )
        .map_err(|error| keys.error("rotate", file, error))?;
        write_output(
            target.as_deref(),
            &rotated,
            WriteOptions::keep_mode_or(ENCRYPTED_MODE),
        )?;
    }
    Ok(0)
}
