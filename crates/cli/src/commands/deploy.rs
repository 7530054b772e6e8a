//! `aesec deploy HOST…`: resolves the flags and `.sops.yaml`'s members into
//! [`aesec::deploy::Options`], then prints the plans (`--dry-run`) or runs
//! [`aesec::deploy::deploy`] (a bar counts finished hosts on a terminal) and prints one row per
//! host (or the report with `--json`).

use std::fmt::Write as _;
use std::time::Duration;

use aesec::deploy::{
    self, Action, Host, HostReport, Options, Report, Status, TOPLEVEL_PLACEHOLDER,
};

use crate::cli::{DeployActionArg, DeployArgs};
use crate::commands::Context;
use crate::exit;
use crate::output::CliError;

/// The run id shown in dry-run plans (a real run draws a random one).
const DRY_RUN_ID: &str = "<run-id>";

pub(crate) fn run(context: &Context, args: &DeployArgs) -> anyhow::Result<u8> {
    let hosts = hosts(args)?;
    let options = options(context, args);
    if args.dry_run {
        let plans: Vec<deploy::Plan> = hosts
            .iter()
            .map(|host| deploy::plan(host, &options, TOPLEVEL_PLACEHOLDER, DRY_RUN_ID))
            .collect();
        if context.json {
            crate::output::json(&plans)?;
        } else {
            let mut text = String::new();
            for plan in &plans {
                writeln!(text, "# {} ({})", plan.host, plan.target)?;
                for step in &plan.steps {
                    writeln!(text, "{}", step.command)?;
                }
            }
            crate::output::stdout(text.as_bytes())?;
        }
        return Ok(0);
    }
    let bar = crate::progress::Bar::new(context.quiet || context.json);
    let report = deploy::deploy(&hosts, &options, &bar);
    if context.json {
        crate::output::json(&report)?;
    } else if !context.quiet || !report.is_success() {
        crate::output::stdout(render(&report).as_bytes())?;
    }
    Ok(if report.is_success() {
        0
    } else {
        exit::GENERIC
    })
}

/// The hosts, `--target` applied to the only one.
fn hosts(args: &DeployArgs) -> anyhow::Result<Vec<Host>> {
    let mut hosts: Vec<Host> = args.hosts.iter().map(Host::new).collect();
    if let Some(target) = &args.target {
        let [host] = hosts.as_mut_slice() else {
            return Err(
                CliError::Usage("--target names the address of one host; give one host").into(),
            );
        };
        host.target.clone_from(target);
    }
    Ok(hosts)
}

fn options(context: &Context, args: &DeployArgs) -> Options {
    let mut options = Options::default();
    options.flake.clone_from(&args.flake);
    options.action = match args.action {
        DeployActionArg::Switch => Action::Switch,
        DeployActionArg::Boot => Action::Boot,
        DeployActionArg::Test => Action::Test,
        DeployActionArg::DryActivate => Action::DryActivate,
    };
    options.ssh_options = args
        .ssh_opts
        .as_deref()
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    options.sudo = args.sudo;
    options.build_host.clone_from(&args.build_host);
    options.profile.clone_from(&args.profile);
    options.target_store.clone_from(&args.target_store);
    options.temp_dir.clone_from(&args.temp_dir);
    options.magic_rollback = !args.no_magic_rollback;
    options.confirm_timeout = Duration::from_secs(args.confirm_timeout);
    options.nix_options = args
        .nix_options
        .chunks_exact(2)
        .map(|pair| (pair[0].clone(), pair[1].clone()))
        .collect();
    options.members = members(context);
    options.jobs = args.jobs;
    options
}

/// `(name, recipient)` of every `.sops.yaml` member; none without a config (a host whose
/// configuration names sops files is then refused for want of a recipient).
fn members(context: &Context) -> Vec<(String, String)> {
    let Some(path) = &context.config_path else {
        return Vec::new();
    };
    match aesec::config::read_members(path) {
        Ok(members) => members
            .into_iter()
            .map(|member| (member.name, member.recipient))
            .collect(),
        Err(error) => {
            tracing::warn!("no host recipients from '{}': {error}", path.display());
            Vec::new()
        }
    }
}

fn status_word(status: Status) -> &'static str {
    match status {
        Status::Deployed => "deployed",
        Status::Refused => "refused",
        Status::RolledBack => "rolled back",
        Status::Unconfirmed => "unconfirmed",
        _ => "failed",
    }
}

/// One row per host (host, target, status, sops files checked, seconds), then each error.
fn render(report: &Report) -> String {
    let header = ["HOST", "TARGET", "STATUS", "FILES", "TIME"];
    let rows: Vec<[String; 5]> = report
        .hosts
        .iter()
        .map(|host| {
            [
                host.host.clone(),
                host.target.clone(),
                status_word(host.status).to_owned(),
                host.files_checked.to_string(),
                format!("{:.1}s", host.seconds),
            ]
        })
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|column| {
            rows.iter()
                .map(|row| row[column].chars().count())
                .chain([header[column].len()])
                .max()
                .unwrap_or_default()
        })
        .collect();
    let mut text = String::new();
    for row in std::iter::once(header.map(str::to_owned)).chain(rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        let _infallible = writeln!(text, "{}", cells.join("  ").trim_end());
    }
    for host in &report.hosts {
        if let Some(error) = error_line(host) {
            let _infallible = writeln!(text, "{}: {error}", host.host);
        }
    }
    text
}

fn error_line(host: &HostReport) -> Option<String> {
    host.error
        .as_ref()
        .map(|error| crate::output::chain(error as &dyn std::error::Error))
}
