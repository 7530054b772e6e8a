//! `aesec bootstrap NAME --out DIR`: write the host key made by `enroll --generate` as
//! `DIR/etc/ssh/ssh_host_ed25519_key` (0600) and `.pub` (0644) for `nixos-anywhere
//! --extra-files DIR` ([`aesec::fleet::bootstrap`]).

use aesec::fleet::{self, BootstrapOptions};
use anyhow::Context as _;

use crate::cli::BootstrapArgs;
use crate::commands::Context;

pub(crate) fn run(context: &Context, args: &BootstrapArgs) -> anyhow::Result<u8> {
    let config = context.fleet_config()?;
    let keys = context.keys();
    let decryptors = keys.decryptors();
    let mut options = BootstrapOptions::default();
    options.private_key_path = args.key_path.as_ref().map(|p| context.path(p));
    let outcome = fleet::bootstrap(
        &config.path,
        &args.name,
        &context.path(&args.out),
        &decryptors.list(),
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
