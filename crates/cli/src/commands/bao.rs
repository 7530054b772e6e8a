//! `aesec bao push`, `pull` and `manifests`: flags, the plan and its confirmation, progress
//! and output around [`aesec_bao_bridge::publish`], which does the work. The other `bao`
//! commands are dispatched from here to their own files.
//!
//! The OpenBao settings are read from the environment by
//! [`aesec_bao_bridge::Config::from_env_with`] (`BAO_ADDR`, `BAO_TOKEN`, `BAO_CACERT`,
//! `BAO_NAMESPACE`…, each else its `VAULT_` name, as the `bao` command reads them).

use std::io::Write;
use std::path::PathBuf;

use aesec::fs::WriteOptions;
use aesec::progress::Observer;
use aesec::sops::TreePath;
use aesec_bao_bridge::Client;
use aesec_bao_bridge::publish::{self, Action, MAPPING_FILE, Mapping, PlanOptions, PullTarget};
use anyhow::Context as _;

use crate::cli::{BaoCommand, BaoManifestsArgs, BaoPullArgs, BaoPushArgs, MappingArgs};
use crate::commands::{Context, write_file};
use crate::progress::Bar;

pub(crate) fn run(context: &Context, command: &BaoCommand) -> anyhow::Result<u8> {
    match command {
        BaoCommand::Push(args) => push(context, args),
        BaoCommand::Pull(args) => pull(context, args),
        BaoCommand::Manifests(args) => manifests(context, args),
        BaoCommand::Transit(command) => super::bao_transit::run(context, command),
        BaoCommand::Login(args) => super::bao_login::run(context, args),
        BaoCommand::Init(args) => super::bao_bootstrap::init(context, args),
        BaoCommand::Unseal(args) => super::bao_bootstrap::unseal(context, args),
    }
}

fn push(context: &Context, args: &BaoPushArgs) -> anyhow::Result<u8> {
    let mapping = load_mapping(context, &args.mapping)?;
    let client = client(context)?;
    let keys = context.keys();
    let decryptors = keys.decryptors();
    let mut options = PlanOptions::default();
    options.prune = args.prune;
    options.adopt = args.adopt;
    let plan = publish::plan(&client, &mapping, &decryptors.list(), &options)?;

    if !(context.json || context.quiet && args.yes) {
        crate::output::stdout(plan.to_string().as_bytes())?;
    }
    if args.dry_run || plan.is_empty() {
        if context.json {
            crate::output::json(&serde_json::json!({ "plan": plan, "report": null }))?;
        } else if plan.is_empty() && !context.quiet {
            crate::output::stdout(b"nothing to push\n")?;
        }
        return refused(&plan, None);
    }
    if !args.yes {
        if context.json {
            // The JSON goes to stdout at the end; the person answering reads the plan here.
            write!(std::io::stderr().lock(), "{plan}")?;
        }
        if !crate::output::confirm()? {
            if context.json {
                crate::output::json(&serde_json::json!({ "plan": plan, "report": null }))?;
            } else if !context.quiet {
                crate::output::stdout(b"nothing written\n")?;
            }
            return Ok(0);
        }
    }

    let bar = Bar::new(context.quiet || context.json);
    bar.start(plan.changes.len() as u64, "pushing");
    let report = publish::push(&client, &plan, &mut |_| bar.advance(1));
    bar.finish();
    let report = report?;
    if context.json {
        crate::output::json(&serde_json::json!({ "plan": plan, "report": report }))?;
    } else if !context.quiet {
        let pruned = plan.count(Action::Prune);
        let line = format!(
            "{} written, {pruned} pruned, {} unchanged\n",
            report.written(),
            plan.count(Action::Unchanged)
        );
        crate::output::stdout(line.as_bytes())?;
    }
    refused(&plan, Some(&report))
}

/// Exit status 1, with the paths, when the push left some out (foreign, conflict).
fn refused(plan: &publish::Plan, report: Option<&publish::PushReport>) -> anyhow::Result<u8> {
    let mut problems: Vec<String> = plan
        .foreign()
        .map(|change| {
            format!(
                "'{}/{}' is not managed by aesec (managed-by: {}): --adopt takes it over",
                change.mount,
                change.path,
                change.owner.as_deref().unwrap_or("none")
            )
        })
        .collect();
    for (mount, path) in report.into_iter().flat_map(publish::PushReport::conflicts) {
        problems.push(format!(
            "'{mount}/{path}' was written by someone else since the plan: nothing written there, \
             push again"
        ));
    }
    match problems.as_slice() {
        [] => Ok(0),
        _ => anyhow::bail!(
            "{} path(s) not published:\n{}",
            problems.len(),
            problems.join("\n")
        ),
    }
}

fn pull(context: &Context, args: &BaoPullArgs) -> anyhow::Result<u8> {
    let mount = match &args.mount {
        Some(mount) => mount.clone(),
        None => {
            load_mapping(context, &args.mapping)
                .context("no --mount given, and no mapping to take bao.kv_mount from")?
                .kv_mount
        }
    };
    let file = context.path(&args.to);
    let existing = match file.exists() {
        true => Some(aesec::fs::read(&file)?),
        false => None,
    };
    let keys_path: Option<TreePath> = args.keys.as_deref().map(str::parse).transpose()?;
    let config = context.config()?;
    let keys = context.keys();
    let decryptors = keys.decryptors();
    let decryptors = decryptors.list();
    let mut target = PullTarget::new(&file, &context.cwd);
    target.existing = existing.as_deref();
    target.keys = keys_path.as_ref();
    target.config = config.as_ref();
    target.decryptors = &decryptors;
    let client = client(context)?;
    let shown = context.shown(&file);
    match publish::pull(&client, &mount, &args.path, &target)? {
        Some(bytes) => {
            write_file(&file, &bytes, WriteOptions::keep_mode_or(0o644))?;
            if !context.quiet {
                let line = format!("{mount}/{} → {}\n", args.path, shown.display());
                crate::output::stdout(line.as_bytes())?;
            }
        }
        None if !context.quiet => {
            let line = format!("{} already holds {mount}/{}\n", shown.display(), args.path);
            crate::output::stdout(line.as_bytes())?;
        }
        None => {}
    }
    Ok(0)
}

fn manifests(context: &Context, args: &BaoManifestsArgs) -> anyhow::Result<u8> {
    let mapping = load_mapping(context, &args.mapping)?;
    let server = super::bao_settings(context)?.address;
    crate::output::stdout(publish::manifests(&mapping, &server).as_bytes())?;
    Ok(0)
}

/// `--mapping`, else `.aesec.yaml` beside the `.sops.yaml` in use, else in the working
/// directory.
fn load_mapping(context: &Context, args: &MappingArgs) -> anyhow::Result<Mapping> {
    let file: PathBuf = match &args.mapping {
        Some(file) => context.path(file),
        None => context
            .config_path
            .as_deref()
            .and_then(|config| config.parent())
            .unwrap_or(&context.cwd)
            .join(MAPPING_FILE),
    };
    let bytes = aesec::fs::read(&file)?;
    Ok(Mapping::from_yaml(&bytes, &file)?)
}

pub(super) fn client(context: &Context) -> anyhow::Result<Client> {
    Ok(Client::new(super::bao_settings(context)?)?)
}
