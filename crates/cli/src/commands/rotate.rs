//! `aesec rotate`: give each file a new data key, wrapped for the file's own recipients (as
//! sops does, with `--add-age`/`--rm-age` applied), and re-encrypt every value with it; with `--older-than`, the CI rotation job
//! over the tree, wrapping for each file's creation rule
//! ([`aesec::fleet::rotate_older_than`]).

use aesec::file::KeyChanges;
use aesec::fleet::{self, Action, ApplyOptions, PlanOptions};
use aesec::fs::WriteOptions;
use aesec::keys::age::Recipient;
use aesec::sops::{AgeMasterKey, MasterKey};

use crate::cli::RotateArgs;
use crate::commands::{Context, input_format, output_target, read_input, write_output};
use crate::output::{CliError, shown_report, summary};
use crate::progress::Bar;

/// Mode of a rotated file written to a new path.
const ENCRYPTED_MODE: u32 = 0o644;

pub(crate) fn run(context: &Context, args: &RotateArgs) -> anyhow::Result<u8> {
    if let Some(max_age) = args.older_than {
        return run_older_than(context, &args.files, max_age);
    }
    if args.files.len() > 1 && !args.output.in_place {
        return Err(CliError::Usage("rotating several files needs --in-place").into());
    }
    let keys = context.keys();
    let recipients = |list: &Option<String>| -> anyhow::Result<Vec<Box<dyn MasterKey>>> {
        let parsed = match list {
            Some(list) => Recipient::parse_list(list)?,
            None => Vec::new(),
        };
        Ok(AgeMasterKey::group(parsed))
    };
    for file in &args.files {
        let mut changes = KeyChanges::default();
        changes.add = recipients(&args.add_age)?;
        changes.remove = recipients(&args.rm_age)?;
        let format = input_format(&args.types, Some(file));
        let emit = context.emit_options(&args.types, format)?;
        let target = output_target(context, &args.output, Some(file))?;
        let encrypted = read_input(context, Some(file))?;
        let rotated = aesec::file::rotate(
            &encrypted,
            format,
            &keys.decryptors().list(),
            changes,
            &emit,
        )
        .map_err(|error| keys.error("rotate", file, error))?;
        write_output(
            target.as_deref(),
            &rotated,
            WriteOptions::keep_mode_or(ENCRYPTED_MODE),
        )?;
    }
    Ok(0)
}

/// `rotate --older-than`: every due file under the PATHs (default: the tree of `.sops.yaml`)
/// gets a new data key; non-interactive, a JSON report with `--json`.
fn run_older_than(
    context: &Context,
    paths: &[std::path::PathBuf],
    max_age: std::time::Duration,
) -> anyhow::Result<u8> {
    let config = context.fleet_config()?;
    let files = fleet::discover(&config, paths, &context.cwd)?;
    let keys = context.keys();
    let fleet_error = |source| CliError::Fleet {
        action: "rotate data keys",
        search: keys.search.clone(),
        source,
    };
    let plan =
        fleet::plan(&config, &files, &context.cwd, &PlanOptions::default()).map_err(fleet_error)?;
    let decryptors = keys.decryptors();
    let bar = Bar::new(context.quiet || context.json);
    let report = fleet::rotate_older_than(
        &plan,
        max_age,
        std::time::SystemTime::now(),
        &decryptors.list(),
        &ApplyOptions::with_emit(config.stores),
        &bar,
    )
    .map_err(fleet_error)?;
    let report = shown_report(&context.cwd, report);
    if context.json {
        crate::output::json(&report)?;
    } else if !context.quiet {
        let mut text = String::new();
        for file in report.files.iter().filter(|f| f.action == Action::Rotate) {
            text.push_str(&format!(
                "{}: new data key (last modified {})\n",
                file.path.display(),
                file.last_modified.as_deref().unwrap_or("unknown")
            ));
        }
        text.push_str(&summary(&report));
        crate::output::stdout(text.as_bytes())?;
    }
    Ok(0)
}
