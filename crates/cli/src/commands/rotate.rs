//! `aesec rotate`: give each file a new data key, wrapped for the file's own recipients, and
//! re-encrypt every value with it.

use aesec::sops::AgeDecryptor;
use anyhow::Context as _;

use crate::cli::RotateArgs;
use crate::commands::{Context, input_format, read_input, write_output};

pub(crate) fn run(context: &Context, args: &RotateArgs) -> anyhow::Result<u8> {
    if args.files.len() > 1 && !args.output.in_place {
        return Err(crate::output::CliError::Usage(
            "rotating several files needs --in-place".into(),
        )
        .into());
    }
    let identities = context.identities()?;
    let emit = context.emit_options()?;
    for file in &args.files {
        let format = input_format(&args.types, Some(file));
        let encrypted = read_input(context, Some(file))?;
        let rotated = aesec::file::rotate(
            &encrypted,
            format,
            &[&AgeDecryptor::new(&identities)],
            &emit,
        )
        .with_context(|| format!("cannot rotate '{}'", file.display()))?;
        write_output(context, &args.output, Some(file), &rotated, 0o644)?;
    }
    Ok(0)
}
