//! `aesec bao init` and `aesec bao unseal`: flags, checks before the irreversible step, and
//! output around [`aesec_bao_bridge::bootstrap`], which does the work.

use aesec::fs::WriteOptions;
use aesec_bao_bridge::bootstrap::{self, InitTarget};
use anyhow::Context as _;

use crate::cli::{BaoInitArgs, BaoUnsealArgs};
use crate::commands::{Context, KeyBackends, write_file};

/// Mode of the unseal file: encrypted, but nobody else on the machine needs it.
const UNSEAL_FILE_MODE: u32 = 0o600;

pub(crate) fn init(context: &Context, args: &BaoInitArgs) -> anyhow::Result<u8> {
    let file = context.path(&args.to);
    let shown = context.shown(&file);
    // Checked before the server is touched: once it is initialised, this file is the only copy
    // of its keys, so writing it must not fail for a reason known in advance.
    if file.symlink_metadata().is_ok() {
        anyhow::bail!(
            "'{}' exists: init never overwrites a file (it may hold another server's keys)",
            shown.display()
        );
    }
    if let Some(parent) = file.parent().filter(|parent| !parent.is_dir()) {
        anyhow::bail!("'{}' is not a directory", context.shown(parent).display());
    }
    let config = context.config()?;
    let backends = KeyBackends::new(context);
    let backends = backends.list();
    let mut target = InitTarget::new(&file, &context.cwd);
    target.config = config.as_ref();
    target.backends = &backends;
    target.shares = args.shares;
    target.threshold = args.threshold;
    let client = super::bao::client(context)?;
    let initialised = bootstrap::init(&client, &target)
        .with_context(|| format!("cannot initialise {}", client.address()))?;
    write_file(
        &file,
        &initialised.file,
        WriteOptions::keep_mode_or(UNSEAL_FILE_MODE),
    )?;
    if context.json {
        crate::output::json(&serde_json::json!({
            "address": client.address(),
            "file": shown,
            "shares": initialised.shares,
            "threshold": initialised.threshold,
            "holders": initialised.holders,
        }))?;
    } else if !context.quiet {
        let mut text = format!(
            "initialised {}: {} of {} unseal share(s) unseal it; keys and root token are in {}\n",
            client.address(),
            initialised.threshold,
            initialised.shares,
            shown.display()
        );
        if initialised.holders.len() > 1 {
            for (group, holders) in initialised.holders.iter().enumerate() {
                text.push_str(&format!("  share {group}: {}\n", holders.join(", ")));
            }
        }
        crate::output::stdout(text.as_bytes())?;
    }
    Ok(0)
}

pub(crate) fn unseal(context: &Context, args: &BaoUnsealArgs) -> anyhow::Result<u8> {
    let file = context.path(&args.from);
    let bytes = aesec::fs::read(&file)?;
    let keys = context.keys();
    let decryptors = keys.decryptors();
    let client = super::bao::client(context)?;
    let report = bootstrap::unseal(&client, &file, &bytes, &decryptors.list())
        .with_context(|| format!("cannot unseal {}", client.address()))?;
    if report.sealed && report.groups_opened.is_empty() {
        anyhow::bail!(
            "{} is still sealed ({} more share(s) needed), and your identities open none of the \
             {} key group(s) of '{}'",
            client.address(),
            report.needed,
            report.groups,
            context.shown(&file).display()
        );
    }
    if context.json {
        crate::output::json(&report)?;
    } else if !context.quiet {
        let line = match (report.sealed, report.submitted) {
            (false, 0) => format!("{} is not sealed\n", client.address()),
            (false, _) => format!(
                "{} is unsealed ({} share(s) given)\n",
                client.address(),
                report.submitted
            ),
            (true, _) => format!(
                "{} is still sealed: {} of {} share(s) given, {} more needed (you gave {})\n",
                client.address(),
                report.progress,
                report.threshold,
                report.needed,
                report.submitted
            ),
        };
        crate::output::stdout(line.as_bytes())?;
    }
    Ok(0)
}
