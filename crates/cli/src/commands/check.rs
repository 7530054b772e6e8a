//! `aesec check`: the keyless CI gate ([`aesec::fleet::check`]); lists every finding and
//! exits [`exit::CHECK_FINDINGS`] when there is one.

use std::fmt::Write as _;

use aesec::fleet::{self, CheckReport, Finding};

use crate::cli::CheckArgs;
use crate::commands::Context;
use crate::exit;

pub(crate) fn run(context: &Context, args: &CheckArgs) -> anyhow::Result<u8> {
    let config = context.fleet_config()?;
    let report = fleet::check(&config, &args.paths, &context.cwd)?;
    let report = shown(context, report);
    if context.json {
        crate::output::json(&report)?;
    } else if !context.quiet || !report.is_clean() {
        crate::output::stdout(render(&report).as_bytes())?;
    }
    Ok(if report.is_clean() {
        0
    } else {
        exit::CHECK_FINDINGS
    })
}

/// The report with paths relative to the working directory.
fn shown(context: &Context, mut report: CheckReport) -> CheckReport {
    for finding in &mut report.findings {
        match finding {
            Finding::MissingRecipient { path, .. }
            | Finding::ExtraRecipient { path, .. }
            | Finding::GroupLayout { path, .. }
            | Finding::Threshold { path, .. }
            | Finding::NotEncrypted { path, .. }
            | Finding::NoMatchingRule { path }
            | Finding::ClearValue { path, .. }
            | Finding::MalformedValue { path, .. }
            | Finding::TypeMismatch { path, .. }
            | Finding::Unreadable { path, .. } => *path = context.shown(path),
            _ => {}
        }
    }
    report
}

/// One line per finding, then a summary line.
fn render(report: &CheckReport) -> String {
    let mut text = String::new();
    for finding in &report.findings {
        // Writing to a String cannot fail.
        let _ = match finding {
            Finding::MissingRecipient {
                path,
                group,
                recipient,
            } => writeln!(
                text,
                "{}: missing recipient {recipient} (group {group}): run aesec updatekeys",
                path.display()
            ),
            Finding::ExtraRecipient {
                path,
                group,
                recipient,
            } => writeln!(
                text,
                "{}: extra recipient {recipient} (group {group}) not named by .sops.yaml: drift or tampering",
                path.display()
            ),
            Finding::GroupLayout {
                path,
                expected,
                found,
            } => writeln!(
                text,
                "{}: {found} key group(s), the rule has {expected}",
                path.display()
            ),
            Finding::Threshold {
                path,
                expected,
                found,
            } => writeln!(
                text,
                "{}: {found} key group(s) needed to decrypt, the rule says {expected}",
                path.display()
            ),
            Finding::NotEncrypted { path, rule } => writeln!(
                text,
                "{}: not encrypted, but creation rule {} governs it (plaintext committed?)",
                path.display(),
                rule + 1
            ),
            Finding::NoMatchingRule { path } => writeln!(
                text,
                "{}: encrypted, but no creation rule of .sops.yaml governs it",
                path.display()
            ),
            Finding::ClearValue {
                path,
                key_path,
                found,
            } => writeln!(
                text,
                "{}: value at {key_path} is in clear ({found}) where the file's crypt rule requires encryption: edited without the key, possibly injected (decryption refuses it)",
                path.display()
            ),
            Finding::MalformedValue {
                path,
                key_path,
                reason,
            } => writeln!(
                text,
                "{}: value at {key_path} is not valid ENC[...] text ({reason}): it cannot decrypt",
                path.display()
            ),
            Finding::TypeMismatch {
                path,
                key_path,
                value_type,
                length,
            } => writeln!(
                text,
                "{}: value at {key_path} is type:{value_type} but its plaintext is {length} byte(s), which no {value_type} has: its type: was edited?",
                path.display()
            ),
            Finding::Unreadable { path, reason } => {
                writeln!(text, "{}: cannot check: {reason}", path.display())
            }
            _ => writeln!(text, "{finding:?}"),
        };
    }
    let files: std::collections::BTreeSet<&std::path::Path> =
        report.findings.iter().filter_map(finding_path).collect();
    let _ = writeln!(
        text,
        "{} sops file(s) checked: {}",
        report.files_checked,
        if report.is_clean() {
            "all in line with .sops.yaml".to_owned()
        } else {
            format!(
                "{} problem(s) in {} file(s)",
                report.findings.len(),
                files.len()
            )
        }
    );
    text
}

fn finding_path(finding: &Finding) -> Option<&std::path::Path> {
    match finding {
        Finding::MissingRecipient { path, .. }
        | Finding::ExtraRecipient { path, .. }
        | Finding::GroupLayout { path, .. }
        | Finding::Threshold { path, .. }
        | Finding::NotEncrypted { path, .. }
        | Finding::NoMatchingRule { path }
        | Finding::ClearValue { path, .. }
        | Finding::MalformedValue { path, .. }
        | Finding::TypeMismatch { path, .. }
        | Finding::Unreadable { path, .. } => Some(path),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_are_one_line_each_with_a_summary() {
        let mut report = CheckReport::default();
        report.files_checked = 2;
        report.findings.push(Finding::NotEncrypted {
            path: "secrets/plain.yaml".into(),
            rule: 0,
        });
        let text = render(&report);
        assert!(
            text.starts_with("secrets/plain.yaml: not encrypted, but creation rule 1"),
            "{text}"
        );
        assert!(
            text.ends_with("2 sops file(s) checked: 1 problem(s) in 1 file(s)\n"),
            "{text}"
        );
    }
}
