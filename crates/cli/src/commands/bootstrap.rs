//! `aesec bootstrap NAME --out DIR`: write the host key made by `enroll --generate` as
//! `DIR/etc/ssh/ssh_host_ed25519_key` (0600) and `.pub` (0644) for `nixos-anywhere
//! --extra-files DIR` ([`aesec::fleet::bootstrap`]).

use std::path::PathBuf;

use aesec::fleet::{self, BootstrapOptions};
use aesec::sops::AgeDecryptor;
use anyhow::Context as _;
use clap::Args;

use crate::commands::Context;

/// Arguments of `aesec bootstrap`.
#[derive(Debug, Args)]
pub(crate) struct BootstrapArgs {
    /// The member enrolled with `aesec enroll NAME --generate`.
    #[arg(value_name = "NAME")]
    pub(crate) name: String,

    /// The directory to pass to `nixos-anywhere --extra-files`.
    #[arg(long, value_name = "DIR")]
    pub(crate) out: PathBuf,

    /// The stored private key, if not at the default path of `enroll --generate`.
    #[arg(long, value_name = "PATH")]
    pub(crate) key_path: Option<PathBuf>,
}

pub(crate) fn run(context: &Context, args: &BootstrapArgs) -> anyhow::Result<u8> {
    let config = context.fleet_config()?;
    let keys = context.keys();
    let decryptor = AgeDecryptor::new(&keys.identities);
    let mut options = BootstrapOptions::default();
    options.private_key_path = args.key_path.as_ref().map(|p| context.path(p));
    let outcome = fleet::bootstrap(
        &config.path,
        &args.name,
        &context.path(&args.out),
        &[&decryptor],
        &options,
    )
    .with_context(|| format!("cannot bootstrap '{}'", args.name))?;
    if context.json {
        crate::output::json(&outcome)?;
    } else if !context.quiet {
        crate::output::stdout(
            format!(
                "wrote '{}' (0600) and '{}' (0644): {} ({})\nnext: nixos-anywhere --extra-files {} --flake …#{}\n",
                context.shown(&outcome.private_key_path).display(),
                context.shown(&outcome.public_key_path).display(),
                outcome.fingerprint,
                outcome.recipient,
                context.shown(&context.path(&args.out)).display(),
                outcome.name
            )
            .as_bytes(),
        )?;
    }
    Ok(0)
}
