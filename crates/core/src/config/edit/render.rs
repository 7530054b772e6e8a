//! How new YAML text is written: scalars quoted only when YAML would misread them plain, member
//! lines with aligned comments, comma strings in their original quoting.

use saphyr_parser::ScalarStyle;

use super::EditError;
use super::layout::split_commas;

/// A comma string as flow-list entries (one per recipient).
pub(super) fn flow_parts(text: &str, separator: &str) -> String {
    split_commas(text)
        .iter()
        .map(|part| render_flow(part, true))
        .collect::<Vec<_>>()
        .join(separator)
}

/// Checks that a member can be written: an anchor-safe name, a one-line recipient and comment.
pub(super) fn check_member_text(
    name: &str,
    recipient: &str,
    comment: Option<&str>,
) -> Result<(), EditError> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Err(EditError::InvalidName {
            name: name.to_owned(),
        });
    }
    if recipient.trim().is_empty()
        || recipient.contains(',')
        || recipient.chars().any(char::is_control)
    {
        return Err(EditError::InvalidRecipient {
            name: name.to_owned(),
        });
    }
    if comment.is_some_and(|comment| comment.chars().any(char::is_control)) {
        return Err(EditError::InvalidComment {
            name: name.to_owned(),
        });
    }
    Ok(())
}

/// `- &name recipient # comment` at `indent`.
pub(super) fn member_line(
    indent: &str,
    name: &str,
    recipient: &str,
    comment: Option<&str>,
) -> String {
    let mut line = format!(
        "{indent}- &{name} {}",
        render(recipient, ScalarStyle::Plain)
    );
    if let Some(comment) = comment {
        push_comment(&mut line, comment, None, 1);
    }
    line
}

/// Appends ` # comment`, aligned at `column` when the line is shorter, `gap` blanks after it
/// otherwise.
pub(super) fn push_comment(line: &mut String, comment: &str, column: Option<usize>, gap: usize) {
    let width = line.chars().count();
    let pad = match column {
        Some(column) if column > width => column - width,
        _ => gap.max(1),
    };
    line.push_str(&" ".repeat(pad));
    line.push('#');
    if !comment.is_empty() {
        line.push(' ');
        line.push_str(comment);
    }
}

/// A block-context scalar for `text` in the preferred quoting `style`.
pub(super) fn render(text: &str, style: ScalarStyle) -> String {
    match style {
        ScalarStyle::DoubleQuoted => double_quote(text),
        ScalarStyle::SingleQuoted => single_quote(text),
        _ => render_flow(text, false),
    }
}

/// `text` plain when YAML reads it back as the same string, single-quoted otherwise.
pub(super) fn render_flow(text: &str, flow: bool) -> String {
    if is_plain_safe(text, flow) {
        text.to_owned()
    } else {
        single_quote(text)
    }
}

/// A comma string rewritten to `value` in its original quoting.
pub(super) fn render_comma_string(original: &str, value: &str, style: ScalarStyle) -> String {
    let separator = if original.contains(", ") { ", " } else { "," };
    let value = split_commas(value).join(separator);
    match style {
        ScalarStyle::SingleQuoted => single_quote(&value),
        ScalarStyle::DoubleQuoted => double_quote(&value),
        _ => render_flow(&value, false),
    }
}

fn single_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn double_quote(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Whether `text` can be written as a plain scalar and read back as the same string.
fn is_plain_safe(text: &str, flow: bool) -> bool {
    let Some(first) = text.chars().next() else {
        return false;
    };
    if !(first.is_ascii_alphabetic() || matches!(first, '^' | '/' | '_' | '(' | '\\' | '$')) {
        return false;
    }
    if text != text.trim()
        || text.ends_with(':')
        || text.contains(": ")
        || text.contains(" #")
        || text.chars().any(|c| c.is_control() || matches!(c, '\t'))
        || (flow && text.contains([',', '[', ']', '{', '}']))
    {
        return false;
    }
    let lower = text.to_ascii_lowercase();
    !matches!(
        lower.as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "null" | "~"
    )
}
