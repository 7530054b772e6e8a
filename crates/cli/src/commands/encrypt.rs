//! `aesec encrypt`: encrypt a plaintext file for the recipients of its creation rule (or `--age`).

use aesec::file::{EncryptOptions, RuleOverrides};
use aesec::fs::WriteOptions;
use anyhow::Context as _;

use crate::cli::EncryptArgs;
use crate::commands::{
    Context, KeyBackends, input_format, output_format, output_target, read_input, write_output,
};
use crate::output::CliError;

/// Mode of a new encrypted file (it is meant to be committed).
const ENCRYPTED_MODE: u32 = 0o644;

pub(crate) fn run(context: &Context, args: &EncryptArgs) -> anyhow::Result<u8> {
    let name = args.filename_override.as_deref().or(args.file.as_deref());
    let Some(name) = name.filter(|name| name.as_os_str() != "-") else {
        return Err(CliError::Usage(
            "encrypting stdin needs --filename-override NAME (for the format and the creation rule)",
        )
        .into());
    };
    let target = output_target(context, &args.output, args.file.as_deref())?;
    let plaintext = zeroize::Zeroizing::new(read_input(context, args.file.as_deref())?);
    let input = input_format(&args.types, Some(name));
    let mut overrides = RuleOverrides::default();
    overrides.age = args.age.clone();
    overrides.hc_vault_transit = args.hc_vault_transit.clone();
    overrides.unencrypted_suffix = args.unencrypted_suffix.clone();
    overrides.encrypted_suffix = args.encrypted_suffix.clone();
    overrides.unencrypted_regex = args.unencrypted_regex.clone();
    overrides.encrypted_regex = args.encrypted_regex.clone();
    overrides.unencrypted_comment_regex = args.unencrypted_comment_regex.clone();
    overrides.encrypted_comment_regex = args.encrypted_comment_regex.clone();
    overrides.mac_only_encrypted = args.mac_only_encrypted;
    overrides.shamir_threshold = args.shamir_secret_sharing_threshold;
    let config = context.config()?;
    let backends = KeyBackends::new(context);
    let (recipients, rules) = aesec::file::creation_recipients(
        config.as_ref(),
        &context.path(name),
        &context.cwd,
        &overrides,
        &backends.list(),
    )
    .with_context(|| {
        format!(
            "cannot choose recipients for '{}' ({})",
            name.display(),
            context.describe_config()
        )
    })?;
    let mut options = EncryptOptions::new(input, output_format(&args.types, input));
    options.emit = context.emit_options(&args.types, options.output)?;
    options.rules = rules;
    let encrypted = aesec::file::encrypt(&plaintext, &recipients, &options)
        .with_context(|| format!("cannot encrypt '{}'", name.display()))?;
    write_output(
        target.as_deref(),
        &encrypted,
        WriteOptions::keep_mode_or(ENCRYPTED_MODE),
    )?;
    Ok(0)
}
