//! `aesec bootstrap NAME --out DIR | --cloud-init FILE`: hand the host key made by `enroll
//! --generate` to a new machine, as `DIR/etc/ssh/ssh_host_ed25519_key` (0600) and `.pub` (0644)
//! for `nixos-anywhere --extra-files DIR` ([`aesec::fleet::bootstrap`]), or as a `#cloud-config`
//! user-data file (0600) for cloud-init ([`aesec::fleet::bootstrap_cloud_init`]); both when
//! both are given.

use aesec::fleet::{self, BootstrapOptions, BootstrappedKey};
use anyhow::Context as _;

use crate::cli::BootstrapArgs;
use crate::commands::Context;

pub(crate) fn run(context: &Context, args: &BootstrapArgs) -> anyhow::Result<u8> {
    let config = context.fleet_config()?;
    let keys = context.keys();
    let decryptors = keys.decryptors();
    let mut options = BootstrapOptions::default();
    options.private_key_path = args.key_path.as_ref().map(|p| context.path(p));
    let failed = || format!("cannot bootstrap '{}'", args.name);
    if let Some(out) = &args.out {
        let out = context.path(out);
        let outcome =
            fleet::bootstrap(&config.path, &args.name, &out, &decryptors.list(), &options)
                .with_context(failed)?;
        report(
            context,
            &outcome,
            &outcome.key,
            &format!(
                "wrote '{}' (0600) and '{}' (0644)",
                context.shown(&outcome.private_key_path).display(),
                context.shown(&outcome.public_key_path).display(),
            ),
            &format!(
                "nixos-anywhere --extra-files {} --flake …#{}",
                context.shown(&out).display(),
                outcome.key.name
            ),
        )?;
    }
    if let Some(user_data) = &args.cloud_init {
        let user_data = context.path(user_data);
        let outcome = fleet::bootstrap_cloud_init(
            &config.path,
            &args.name,
            &user_data,
            &decryptors.list(),
            &options,
        )
        .with_context(failed)?;
        report(
            context,
            &outcome,
            &outcome.key,
            &format!(
                "wrote cloud-init user-data '{}' (0600; it holds the private key: remove it once the host has booted)",
                context.shown(&outcome.user_data_path).display(),
            ),
            "qm set VMID --cicustom user=<storage>:snippets/<file> (Proxmox), or user-data of a NoCloud seed",
        )?;
    }
    Ok(0)
}

/// Prints what was written: the outcome as JSON, or a line with the key and the next step.
fn report(
    context: &Context,
    outcome: &impl serde::Serialize,
    key: &BootstrappedKey,
    wrote: &str,
    next: &str,
) -> anyhow::Result<()> {
    if context.json {
        crate::output::json(outcome)?;
    } else if !context.quiet {
        crate::output::stdout(
            format!(
                "{wrote}: {} ({})\nnext: {next}\n",
                key.fingerprint, key.recipient
            )
            .as_bytes(),
        )?;
    }
    Ok(())
}
