//! `aesec updatekeys`: show the plan that brings every file in line with `.sops.yaml`, ask,
//! then apply it with a progress bar ([`aesec::fleet::plan`], [`aesec::fleet::update_keys`]).

use std::io::Write;

use aesec::fleet::{self, ApplyOptions, PlanOptions};

use crate::cli::UpdatekeysArgs;
use crate::commands::Context;
use crate::output::{CliError, shown_plan, shown_report, summary};
use crate::progress::Bar;

pub(crate) fn run(context: &Context, args: &UpdatekeysArgs) -> anyhow::Result<u8> {
    let config = context.fleet_config()?;
    let files = fleet::discover(&config, &args.paths, &context.cwd)?;
    let mut options = PlanOptions::default();
    options.no_rotate = args.no_rotate;
    let plan = fleet::plan(&config, &files, &context.cwd, &options)?;
    let shown = shown_plan(&context.cwd, &plan);
    let skipped = plan.changed().filter(|f| f.revocation_skipped).count();

    if !(context.json || context.quiet && args.yes) {
        crate::output::stdout(shown.to_string().as_bytes())?;
    }
    if skipped > 0 {
        warn_no_rotate(skipped)?;
    }
    if args.dry_run {
        if context.json {
            crate::output::json(&serde_json::json!({ "plan": shown, "report": null }))?;
        }
        return Ok(0);
    }
    if !plan.is_empty() && !args.yes {
        if context.json {
            // The JSON goes to stdout at the end; the person answering reads the plan here.
            write!(std::io::stderr().lock(), "{shown}")?;
        }
        if !crate::output::confirm()? {
            if context.json {
                crate::output::json(&serde_json::json!({ "plan": shown, "report": null }))?;
            } else if !context.quiet {
                crate::output::stdout(b"nothing written\n")?;
            }
            return Ok(0);
        }
    }

    let keys = context.keys();
    let decryptors = keys.decryptors();
    let bar = Bar::new(context.quiet || context.json);
    #[cfg_attr(
        not(debug_assertions),
        expect(
            unused_mut,
            reason = "only the test hook of debug builds changes the options"
        )
    )]
    let mut options = ApplyOptions::with_emit(config.stores);
    #[cfg(debug_assertions)]
    crate::test_hooks::install(&mut options);
    let report =
        fleet::update_keys(&plan, &decryptors.list(), &options, &bar).map_err(|source| {
            CliError::Fleet {
                action: "update keys",
                search: keys.search.clone(),
                source,
            }
        })?;
    let report = shown_report(&context.cwd, report);
    if context.json {
        crate::output::json(&serde_json::json!({ "plan": shown, "report": report }))?;
    } else if !context.quiet {
        crate::output::stdout(summary(&report).as_bytes())?;
    }
    Ok(0)
}

/// The loud warning of `--no-rotate` when it actually skips a revocation.
fn warn_no_rotate(files: usize) -> anyhow::Result<()> {
    writeln!(
        std::io::stderr().lock(),
        "\n!!! WARNING: --no-rotate: {files} file(s) lose recipients but KEEP THEIR DATA KEY.\n\
         !!! A removed member who kept an old copy of such a file (a checkout, git history) can\n\
         !!! read every later version of it. Give them new data keys with `aesec rotate -i FILE`\n\
         !!! or run `aesec updatekeys` without --no-rotate.\n"
    )?;
    Ok(())
}
