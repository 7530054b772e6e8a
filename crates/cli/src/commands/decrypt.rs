//! `aesec decrypt`: print (or write) the plaintext of an encrypted file.

use aesec::file::DecryptOptions;
use aesec::sops::AgeDecryptor;
use anyhow::Context as _;

use crate::cli::DecryptArgs;
use crate::commands::{Context, input_format, output_format, read_input, write_output};

pub(crate) fn run(context: &Context, args: &DecryptArgs) -> anyhow::Result<u8> {
    let name = args.filename_override.as_deref().or(args.file.as_deref());
    let input = input_format(&args.types, name);
    let mut options = DecryptOptions::new(input, output_format(&args.types, input));
    options.emit = context.emit_options()?;
    options.ignore_mac = args.ignore_mac;
    options.extract = args.extract.as_deref().map(str::parse).transpose()?;
    let encrypted = read_input(context, args.file.as_deref())?;
    let identities = context.identities()?;
    let shown = name.map_or_else(|| "<stdin>".to_owned(), |p| p.display().to_string());
    let plaintext = aesec::file::decrypt(&encrypted, &[&AgeDecryptor::new(&identities)], &options)
        .with_context(|| format!("cannot decrypt '{shown}'"))?;
    write_output(
        context,
        &args.output,
        args.file.as_deref(),
        &plaintext,
        0o600,
    )?;
    Ok(0)
}
