//! `aesec bao transit rewrap`: after a Transit key rotation, show which files hold `hc_vault`
//! entries wrapped with an older key version, ask, then re-wrap them inside OpenBao
//! ([`aesec_bao_bridge::TransitBackend::rewrap_file`]), one atomic write per file, with a
//! progress bar on a terminal; `--json` prints the plan and the files written, as `updatekeys`
//! does.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

use aesec::fleet;
use aesec::fs::WriteOptions;
use aesec::progress::Observer as _;
use aesec::store::{EmitOptions, Format};
use aesec_bao_bridge::{StaleEntry, TransitBackend};
use anyhow::Context as _;
use serde::Serialize;

use crate::cli::{BaoTransitCommand, BaoTransitRewrapArgs};
use crate::commands::{Context, write_file};
use crate::progress::Bar;

pub(crate) fn run(context: &Context, command: &BaoTransitCommand) -> anyhow::Result<u8> {
    match command {
        BaoTransitCommand::Rewrap(args) => rewrap(context, args),
    }
}

/// A file with stale `hc_vault` entries.
#[derive(Serialize)]
struct Stale {
    /// As shown: relative to the working directory.
    file: PathBuf,
    #[serde(skip)]
    path: PathBuf,
    #[serde(skip)]
    format: Format,
    entries: Vec<StaleEntry>,
}

fn rewrap(context: &Context, args: &BaoTransitRewrapArgs) -> anyhow::Result<u8> {
    let config = context.fleet_config()?;
    let transit = crate::commands::transit_backend(context)
        .context("the OpenBao settings (BAO_*/VAULT_*) cannot be used")?;
    let files = fleet::discover(&config, &args.paths, &context.cwd)?;
    let stale = plan(context, &transit, files)?;
    let mut shown = String::new();
    for file in &stale {
        writeln!(shown, "~ {}", file.file.display())?;
        for entry in &file.entries {
            writeln!(
                shown,
                "    {}: v{} -> v{}",
                entry.key, entry.version, entry.latest
            )?;
        }
    }
    writeln!(shown, "{} file(s) to re-wrap", stale.len())?;
    if !(context.json || context.quiet && args.yes) {
        crate::output::stdout(shown.as_bytes())?;
    }
    let unapplied = |context: &Context| -> anyhow::Result<u8> {
        if context.json {
            crate::output::json(&serde_json::json!({ "plan": stale, "rewrapped": null }))?;
        }
        Ok(0)
    };
    if args.dry_run || stale.is_empty() {
        return unapplied(context);
    }
    if !args.yes {
        if context.json {
            // The JSON goes to stdout at the end; the person answering reads the plan here.
            write!(std::io::stderr().lock(), "{shown}")?;
        }
        if !crate::output::confirm()? {
            if !context.json && !context.quiet {
                crate::output::stdout(b"nothing written\n")?;
            }
            return unapplied(context);
        }
    }
    let bar = Bar::new(context.quiet || context.json);
    bar.start(stale.len() as u64, "re-wrapping");
    let written = rewrap_all(&transit, &stale, &config.stores, &bar);
    bar.finish();
    let written = written?;
    if context.json {
        crate::output::json(&serde_json::json!({ "plan": stale, "rewrapped": written }))?;
    } else if !context.quiet {
        crate::output::stdout(format!("{} file(s) re-wrapped\n", written.len()).as_bytes())?;
    }
    Ok(0)
}

/// Re-wraps each stale file (one atomic write each); returns the files written, as shown.
fn rewrap_all(
    transit: &TransitBackend,
    stale: &[Stale],
    stores: &EmitOptions,
    bar: &Bar,
) -> anyhow::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for file in stale {
        let encrypted = aesec::fs::read(&file.path)?;
        let rewrapped = transit
            .rewrap_file(&encrypted, file.format, stores)
            .with_context(|| format!("cannot re-wrap {}", file.file.display()))?;
        if let Some(bytes) = rewrapped {
            write_file(&file.path, &bytes, WriteOptions::keep_mode_or(0o644))?;
            written.push(file.file.clone());
        }
        bar.advance(1);
    }
    Ok(written)
}

/// The files among `files` that hold stale `hc_vault` entries (files that are not sops files
/// are passed over, as `updatekeys` does).
fn plan(
    context: &Context,
    transit: &TransitBackend,
    files: Vec<PathBuf>,
) -> anyhow::Result<Vec<Stale>> {
    let mut stale = Vec::new();
    for path in files {
        let format = Format::from_path(&path);
        let bytes = aesec::fs::read(&path)?;
        let Ok(metadata) = aesec::file::read_metadata(&bytes, format) else {
            continue;
        };
        let entries = transit
            .stale_entries(&metadata)
            .with_context(|| format!("cannot check {}", path.display()))?;
        if !entries.is_empty() {
            stale.push(Stale {
                file: context.shown(&path),
                path,
                format,
                entries,
            });
        }
    }
    Ok(stale)
}
