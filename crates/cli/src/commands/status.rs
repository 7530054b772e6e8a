//! `aesec status`: the files × members matrix ([`aesec::fleet::status`]), members named by
//! the anchors of `.sops.yaml`'s `keys:` list.

use std::fmt::Write as _;

use aesec::fleet::{self, StatusCell, StatusColumn, StatusMatrix};

use crate::cli::StatusArgs;
use crate::commands::Context;

/// Recipients without a name are shown by this many leading and trailing characters.
const SHORT_RECIPIENT_CHARS: usize = 8;

pub(crate) fn run(context: &Context, args: &StatusArgs) -> anyhow::Result<u8> {
    let config = context.fleet_config()?;
    let files = fleet::discover(&config, &args.paths, &context.cwd)?;
    let names = member_names(&config.path);
    let mut matrix = fleet::status(&config, &files, &context.cwd, &names);
    for row in &mut matrix.rows {
        row.path = context.shown(&row.path);
    }
    if context.json {
        crate::output::json(&matrix)?;
    } else {
        crate::output::stdout(render(&matrix).as_bytes())?;
    }
    Ok(0)
}

/// `(anchor, recipient)` for every member of the `keys:` list; none when the library cannot
/// read them (the matrix then labels members by recipient).
fn member_names(config: &std::path::Path) -> Vec<(String, String)> {
    match aesec::config::read_members(config) {
        Ok(members) => members
            .into_iter()
            .map(|member| (member.name, member.recipient))
            .collect(),
        Err(error) => {
            tracing::debug!("members shown by recipient: {error}");
            Vec::new()
        }
    }
}

/// A column label: the member's name, or a shortened recipient.
fn label(member: &StatusColumn) -> String {
    short_label(member.name.as_deref(), &member.recipient)
}

fn short_label(name: Option<&str>, recipient: &str) -> String {
    if let Some(name) = name {
        return name.to_owned();
    }
    let chars: Vec<char> = recipient.chars().collect();
    if chars.len() <= 2 * SHORT_RECIPIENT_CHARS + 1 {
        return recipient.to_owned();
    }
    let head: String = chars.iter().take(SHORT_RECIPIENT_CHARS).collect();
    let tail: String = chars
        .iter()
        .skip(chars.len() - SHORT_RECIPIENT_CHARS)
        .collect();
    format!("{head}…{tail}")
}

fn glyph(cell: StatusCell) -> &'static str {
    match cell {
        StatusCell::Reads => "x",
        StatusCell::Missing => "-",
        StatusCell::Extra => "+",
        _ => ".",
    }
}

/// The matrix as a table: one column per member, one row per file, drift marked at the end.
fn render(matrix: &StatusMatrix) -> String {
    let labels: Vec<String> = matrix.members.iter().map(label).collect();
    let widths: Vec<usize> = labels.iter().map(|l| l.chars().count().max(1)).collect();
    let paths: Vec<String> = matrix
        .rows
        .iter()
        .map(|row| row.path.display().to_string())
        .collect();
    let file_width = paths
        .iter()
        .map(|p| p.chars().count())
        .chain(std::iter::once("file".len()))
        .max()
        .unwrap_or_default();
    let mut text = String::new();
    // Writing to a String cannot fail.
    let _ = write!(text, "{:file_width$}", "file");
    for (label, width) in labels.iter().zip(&widths) {
        let _ = write!(text, "  {label:^width$}");
    }
    text.truncate(text.trim_end().len());
    text.push('\n');
    let mut drifting = 0;
    for (row, path) in matrix.rows.iter().zip(&paths) {
        let _ = write!(text, "{path:file_width$}");
        for (cell, width) in row.cells.iter().zip(&widths) {
            let _ = write!(text, "  {:^width$}", glyph(*cell));
        }
        if row.drift {
            drifting += 1;
            text.push_str("  drift");
        }
        if let Some(problem) = &row.problem {
            let _ = write!(text, " ({problem})");
        }
        text.truncate(text.trim_end().len());
        text.push('\n');
    }
    let _ = writeln!(
        text,
        "\n{} file(s), {} member(s), {drifting} with drift. x reads, - missing (run aesec updatekeys), + extra (not in .sops.yaml), . none",
        matrix.rows.len(),
        matrix.members.len()
    );
    let unnamed: Vec<&StatusColumn> = matrix.members.iter().filter(|m| m.name.is_none()).collect();
    if !unnamed.is_empty() {
        let _ = writeln!(text, "unnamed recipients:");
        for member in unnamed {
            let _ = writeln!(text, "  {} = {}", label(member), member.recipient);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_recipients_are_shortened_and_names_kept() {
        assert_eq!(short_label(Some("oracle"), "age1xyz"), "oracle");
        assert_eq!(short_label(None, "age1xyz"), "age1xyz");
        assert_eq!(
            short_label(None, "age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqzzzzzzzz"),
            "age1qqqq…zzzzzzzz"
        );
    }
}
