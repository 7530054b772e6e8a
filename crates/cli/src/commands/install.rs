//! `aesec install --manifest FILE`: resolves the environment (`NIXOS_ACTION`,
//! `SOPS_RESTART_UNITS_VIA_SYSTEMCTL`, `XDG_RUNTIME_DIR` in user mode) into
//! [`aesec::install::Options`], runs the install and prints what changed as
//! sops-install-secrets does (or the report with `--json`).

use anyhow::Context as _;

use aesec::install::{
    Action, CheckMode, Manifest, MountOutcome, MountPolicy, Options, UnitRestarts, install,
};

use crate::cli::{CheckModeArg, InstallArgs, MountArg};
use crate::commands::Context;

pub(crate) fn run(context: &Context, args: &InstallArgs) -> anyhow::Result<u8> {
    let path = context.cwd.join(&args.manifest);
    let mut manifest = Manifest::read(&path)?;
    if manifest.user_mode {
        let runtime_dir = std::env::var(crate::env::XDG_RUNTIME_DIR)
            .context("user mode needs XDG_RUNTIME_DIR for %r")?;
        manifest.resolve_runtime_dir(&runtime_dir);
    }
    let dry_env =
        std::env::var(crate::env::NIXOS_ACTION).is_ok_and(|action| action == "dry-activate");
    let mut options = Options::default();
    options.check_mode = match args.check_mode {
        CheckModeArg::Off => CheckMode::Off,
        CheckModeArg::Manifest => CheckMode::Manifest,
        CheckModeArg::Sopsfile => CheckMode::SopsFile,
    };
    options.action = if args.dry_activate || dry_env {
        Action::DryActivate
    } else {
        Action::Activate
    };
    options.ignore_passwd = args.ignore_passwd;
    options.mount = match args.mount {
        MountArg::Required => MountPolicy::Required,
        MountArg::IfPermitted => MountPolicy::IfPermitted,
        MountArg::Never => MountPolicy::Never,
    };
    options.nixos_dir = context.cwd.join(&args.nixos_dir);
    let systemd_env = std::env::var_os(crate::env::SOPS_RESTART_UNITS_VIA_SYSTEMCTL)
        .is_some_and(|value| !value.is_empty());
    if args.restart_via_systemctl || systemd_env {
        options.restarts = UnitRestarts::Systemctl {
            program: "systemctl".into(),
        };
    }
    let report = install(&manifest, &options)
        .with_context(|| format!("cannot install secrets from '{}'", path.display()))?;
    if context.json {
        crate::output::json(&report)?;
        return Ok(0);
    }
    if context.quiet {
        return Ok(0);
    }
    if manifest.logging.key_import {
        for identity in &report.identities {
            println!("imported age key from '{identity}'");
        }
    }
    let verb = |done: &str, would: &str| {
        if report.dry_run {
            would.to_owned()
        } else {
            done.to_owned()
        }
    };
    for (list, done, would) in [
        (&report.added, "adding", "would add"),
        (&report.modified, "modifying", "would modify"),
        (&report.removed, "removing", "would remove"),
    ] {
        if manifest.logging.secret_changes && !list.is_empty() {
            println!("{} secret(s): {}", verb(done, would), list.join(", "));
        }
    }
    for skipped in &report.skipped_keys {
        eprintln!("warning: cannot use ssh key {skipped}");
    }
    if let Some(MountOutcome::Skipped(reason)) = &report.mount {
        eprintln!("note: no RAM file system: {reason}");
    }
    match (options.check_mode, report.generation) {
        (CheckMode::Off, Some(generation)) => {
            println!(
                "installed generation {generation} at '{}'",
                manifest.symlink_path.display()
            );
        }
        (CheckMode::Off, None) => println!("dry activation: nothing changed"),
        _ => println!("manifest '{}' is valid", path.display()),
    }
    Ok(0)
}
