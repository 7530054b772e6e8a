//! `aesec decrypt`: print (or write) the plaintext of an encrypted file.

use std::path::Path;

use aesec::file::DecryptOptions;
use aesec::fs::WriteOptions;

use crate::cli::DecryptArgs;
use crate::commands::{
    Context, input_format, output_format, output_target, read_input, write_output,
};

/// Plaintext written to a file is readable by its owner only.
const PLAINTEXT_MODE: u32 = 0o600;

pub(crate) fn run(context: &Context, args: &DecryptArgs) -> anyhow::Result<u8> {
    let name = args.filename_override.as_deref().or(args.file.as_deref());
    let input = input_format(&args.types, name);
    let mut options = DecryptOptions::new(input, output_format(&args.types, input));
    options.emit = context.emit_options(&args.types, options.output)?;
    options.ignore_mac = args.ignore_mac;
    options.extract = args.extract.as_deref().map(str::parse).transpose()?;
    let target = output_target(context, &args.output, args.file.as_deref())?;
    let encrypted = read_input(context, args.file.as_deref())?;
    let keys = context.keys();
    let shown = name.unwrap_or(Path::new("<stdin>"));
    let plaintext = aesec::file::decrypt(&encrypted, &keys.decryptors().list(), &options)
        .map_err(|error| keys.error("decrypt", shown, error))?;
    write_output(
        target.as_deref(),
        &plaintext,
        // Plaintext goes only to a new file or the caller's own, never through a link.
        WriteOptions::private(PLAINTEXT_MODE),
    )?;
    Ok(0)
}
