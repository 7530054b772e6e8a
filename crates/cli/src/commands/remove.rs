//! `aesec remove NAME`: take a member out of `.sops.yaml` and give the files it could read new
//! data keys ([`aesec::fleet::remove`]); list the values to change.

use std::io::Write;

use aesec::fleet::{self, RemoveOptions, RemoveOutcome};
use anyhow::Context as _;

use crate::cli::RemoveArgs;
use crate::commands::Context;
use crate::output::summary;
use crate::progress::Bar;

pub(crate) fn run(context: &Context, args: &RemoveArgs) -> anyhow::Result<u8> {
    let config = context.fleet_config()?;
    if !args.yes {
        writeln!(
            std::io::stderr().lock(),
            "remove '{}' from {} and re-encrypt its files with new data keys",
            args.name,
            context.describe_config()
        )?;
        if !crate::output::confirm()? {
            crate::output::stdout(b"nothing written\n")?;
            return Ok(0);
        }
    }
    let keys = context.keys();
    let decryptors = keys.decryptors();
    let bar = Bar::new(context.quiet || context.json);
    let mut outcome = fleet::remove(
        &config.path,
        &args.name,
        &decryptors.list(),
        &RemoveOptions::default(),
        &bar,
    )
    .with_context(|| format!("cannot remove '{}'", args.name))?;
    for file in &mut outcome.readable {
        file.path = context.shown(&file.path);
    }
    if context.json {
        crate::output::json(&outcome)?;
    } else if !context.quiet {
        crate::output::stdout(render(&outcome).as_bytes())?;
    }
    Ok(0)
}

/// The human report.
fn render(outcome: &RemoveOutcome) -> String {
    let mut text = format!(
        "removed '{}' ({}) from .sops.yaml ({} rule(s))\n",
        outcome.name,
        outcome.recipient,
        outcome.rules.len()
    );
    if let Some(report) = &outcome.updatekeys {
        text.push_str(&summary(report));
    }
    if !outcome.readable.is_empty() {
        text.push_str(&format!(
            "'{}' could read these values; old copies and git history keep them readable, so change them:\n",
            outcome.name
        ));
        for file in &outcome.readable {
            text.push_str(&format!("  {}\n", file.path.display()));
            for value in &file.values {
                text.push_str(&format!("    {value}\n"));
            }
        }
    }
    text
}
