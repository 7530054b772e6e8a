//! `aesec bao transit rewrap`: after a Transit key rotation, show which files hold `hc_vault`
//! entries wrapped with an older key version, ask, then re-wrap them inside OpenBao
//! ([`aesec_bao_bridge::TransitBackend::rewrap_file`]), one atomic write per file.

use std::fmt::Write as _;
use std::path::PathBuf;

use aesec::fleet;
use aesec::fs::WriteOptions;
use aesec::store::Format;
use aesec_bao_bridge::{StaleEntry, TransitBackend};
use anyhow::Context as _;

use crate::cli::{BaoTransitCommand, BaoTransitRewrapArgs};
use crate::commands::{Context, write_file};

pub(crate) fn run(context: &Context, command: &BaoTransitCommand) -> anyhow::Result<u8> {
    match command {
        BaoTransitCommand::Rewrap(args) => rewrap(context, args),
    }
}

/// A file with stale `hc_vault` entries.
struct Stale {
    path: PathBuf,
    format: Format,
    entries: Vec<StaleEntry>,
}

fn rewrap(context: &Context, args: &BaoTransitRewrapArgs) -> anyhow::Result<u8> {
    let config = context.fleet_config()?;
    let transit = crate::commands::transit_backend()
        .context("the OpenBao settings (BAO_*/VAULT_*) cannot be used")?;
    let files = fleet::discover(&config, &args.paths, &context.cwd)?;
    let stale = plan(&transit, files)?;
    let mut shown = String::new();
    for file in &stale {
        let relative = file.path.strip_prefix(&context.cwd).unwrap_or(&file.path);
        writeln!(shown, "~ {}", relative.display())?;
        for entry in &file.entries {
            writeln!(
                shown,
                "    {}: v{} -> v{}",
                entry.key, entry.version, entry.latest
            )?;
        }
    }
    writeln!(shown, "{} file(s) to re-wrap", stale.len())?;
    if !context.quiet || !args.yes {
        crate::output::stdout(shown.as_bytes())?;
    }
    if args.dry_run || stale.is_empty() {
        return Ok(0);
    }
    if !args.yes && !crate::output::confirm()? {
        crate::output::stdout(b"nothing written\n")?;
        return Ok(0);
    }
    for file in &stale {
        let encrypted = aesec::fs::read(&file.path)?;
        let rewrapped = transit
            .rewrap_file(&encrypted, file.format, &config.stores)
            .with_context(|| format!("cannot re-wrap {}", file.path.display()))?;
        if let Some(bytes) = rewrapped {
            write_file(&file.path, &bytes, WriteOptions::keep_mode_or(0o644))?;
        }
    }
    if !context.quiet {
        crate::output::stdout(format!("{} file(s) re-wrapped\n", stale.len()).as_bytes())?;
    }
    Ok(0)
}

/// The files among `files` that hold stale `hc_vault` entries (files that are not sops files
/// are passed over, as `updatekeys` does).
fn plan(transit: &TransitBackend, files: Vec<PathBuf>) -> anyhow::Result<Vec<Stale>> {
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
                path,
                format,
                entries,
            });
        }
    }
    Ok(stale)
}
