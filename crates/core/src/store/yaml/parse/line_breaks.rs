//! go-yaml's line breaks NEL, LS and PS, which saphyr does not know: the text saphyr reads
//! (each one a `\n`, or a blank inside a quoted scalar), and a scalar holding them read again
//! as go-yaml reads it (`yaml_parser_scan_flow_scalar`, `yaml_parser_scan_plain_scalar`, the
//! breaks of a literal block as `READ_LINE` keeps them).

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use super::Builder;
use super::chars::{CharText, quoted_end};

impl Builder<'_, '_> {
    /// The scalar at `span` read as go-yaml reads it when its text holds NEL, LS or PS, which
    /// saphyr saw as `\n` or as a blank (see [`go_yaml_lines`]); `None` when the text holds
    /// none, and for a folded block (left as saphyr read it).
    pub(super) fn with_unicode_breaks(
        &self,
        value: &str,
        style: ScalarStyle,
        span: &Span,
    ) -> Option<String> {
        let (mut start, mut end) = (span.start.index(), span.end.index().max(span.start.index()));
        if style == ScalarStyle::Literal {
            // The span leaves out the empty lines before the first content line and after the
            // last, whose breaks may be LS or PS: read from the end of the `|…` header line to
            // the next content.
            let blank = |c: &char| matches!(c, ' ' | '\t') || is_go_break(*c);
            start = self
                .original
                .get(..start)?
                .iter()
                .rposition(|c| !blank(c))?
                + 1;
            end += self
                .original
                .get(end..)?
                .iter()
                .take_while(|c| blank(c))
                .count();
        }
        let raw = self.original.get(start..end)?;
        if !raw.iter().copied().any(is_unicode_break) {
            return None;
        }
        match style {
            ScalarStyle::Plain => Some(fold_flow(raw, None)),
            ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => {
                let open = raw.iter().position(|&c| c == '\'' || c == '"')?;
                let quote = *raw.get(open)?;
                Some(fold_flow(raw.get(open + 1..)?, Some(quote)))
            }
            ScalarStyle::Literal => {
                // saphyr's value keeps the content's line breaks, in order, as `\n`; the first
                // break read ends the header line.
                let mut breaks = source_breaks(raw).into_iter().skip(1);
                Some(
                    value
                        .chars()
                        .map(|c| match c {
                            '\n' => breaks.next().unwrap_or('\n'),
                            other => other,
                        })
                        .collect(),
                )
            }
            ScalarStyle::Folded => None,
        }
    }
}

/// `text` with NEL, LS and PS as `\n` outside quoted scalars and as a space inside them
/// (go-yaml does not check the indentation of a quoted scalar's lines; saphyr does).
pub(super) fn go_yaml_lines(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut quoted: Vec<(usize, usize)> = Vec::new();
    let mut parser = Parser::new_from_str(text);
    while let Some(Ok((event, span))) = parser.next_event() {
        if let Event::Scalar(_, ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted, ..) = event {
            let start = span.start.index();
            quoted.push((
                start,
                quoted_end(CharText::Decoded(&chars), start, span.end.index()),
            ));
        }
    }
    let mut spans = quoted.into_iter().peekable();
    chars
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            while spans.next_if(|&(_, end)| end <= i).is_some() {}
            if !is_unicode_break(c) {
                c
            } else if spans.peek().is_some_and(|&(start, _)| start <= i) {
                ' '
            } else {
                '\n'
            }
        })
        .collect()
}

/// go-yaml's line breaks that saphyr does not know.
pub(super) fn is_unicode_break(c: char) -> bool {
    matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// Any line break go-yaml reads.
fn is_go_break(c: char) -> bool {
    matches!(c, '\n' | '\r') || is_unicode_break(c)
}

/// The line breaks in `raw` as go-yaml's `READ_LINE` keeps them: CR LF, CR, LF and NEL as
/// `\n`, LS and PS as themselves.
fn source_breaks(raw: &[char]) -> Vec<char> {
    let mut breaks = Vec::new();
    let mut chars = raw.iter().copied().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                chars.next_if_eq(&'\n');
                breaks.push('\n');
            }
            '\n' | '\u{85}' => breaks.push('\n'),
            '\u{2028}' | '\u{2029}' => breaks.push(c),
            _ => {}
        }
    }
    breaks
}

/// go-yaml's reading of a plain scalar (`quote == None`, `raw` its exact text) or of a quoted
/// one (`raw` starts after the opening quote): blanks around a line break are dropped, a lone
/// `\n` folds to a space, an LS or PS break is kept with the breaks that follow it
/// (`yaml_parser_scan_flow_scalar`, `yaml_parser_scan_plain_scalar`).
fn fold_flow(raw: &[char], quote: Option<char>) -> String {
    let mut out = String::new();
    let mut i = 0usize;
    let at = |i: usize| raw.get(i).copied();
    loop {
        let mut leading_blanks = false;
        // Non-blank characters.
        while let Some(c) = at(i) {
            if c == ' ' || c == '\t' || is_go_break(c) {
                break;
            }
            match quote {
                Some('\'') if c == '\'' && at(i + 1) == Some('\'') => {
                    out.push('\'');
                    i += 2;
                }
                Some(q) if c == q => return out,
                Some('"') if c == '\\' => {
                    let next = at(i + 1);
                    if next.is_some_and(is_go_break) {
                        i += 1;
                        i += if at(i) == Some('\r') && at(i + 1) == Some('\n') {
                            2
                        } else {
                            1
                        };
                        leading_blanks = true;
                        break;
                    }
                    i += 2;
                    match next.and_then(simple_escape) {
                        Some(e) => out.push(e),
                        None => {
                            let width = match next {
                                Some('x') => 2,
                                Some('u') => 4,
                                Some('U') => 8,
                                _ => 0,
                            };
                            let digits: String =
                                raw.get(i..i + width).unwrap_or_default().iter().collect();
                            i += width;
                            if let Some(c) = u32::from_str_radix(&digits, 16)
                                .ok()
                                .and_then(char::from_u32)
                            {
                                out.push(c);
                            }
                        }
                    }
                }
                _ => {
                    out.push(c);
                    i += 1;
                }
            }
        }
        let Some(_) = at(i) else {
            return out;
        };
        // Blanks and breaks.
        let mut whitespace = String::new();
        let mut leading_break: Option<char> = None;
        let mut trailing_breaks = String::new();
        while let Some(c) = at(i) {
            if c == ' ' || c == '\t' {
                if !leading_blanks {
                    whitespace.push(c);
                }
                i += 1;
            } else if is_go_break(c) {
                i += if c == '\r' && at(i + 1) == Some('\n') {
                    2
                } else {
                    1
                };
                let read = if matches!(c, '\u{2028}' | '\u{2029}') {
                    c
                } else {
                    '\n'
                };
                if leading_blanks {
                    trailing_breaks.push(read);
                } else {
                    whitespace.clear();
                    leading_break = Some(read);
                    leading_blanks = true;
                }
            } else {
                break;
            }
        }
        if at(i).is_none() && quote.is_none() {
            return out;
        }
        if leading_blanks {
            match leading_break {
                Some('\n') if trailing_breaks.is_empty() => out.push(' '),
                Some('\n') => out.push_str(&trailing_breaks),
                other => {
                    out.extend(other);
                    out.push_str(&trailing_breaks);
                }
            }
        } else {
            out.push_str(&whitespace);
        }
    }
}

/// A one-character double-quoted escape (`\n`, `\L`, ...).
fn simple_escape(c: char) -> Option<char> {
    Some(match c {
        '0' => '\0',
        'a' => '\u{7}',
        'b' => '\u{8}',
        't' | '\t' => '\t',
        'n' => '\n',
        'v' => '\u{b}',
        'f' => '\u{c}',
        'r' => '\r',
        'e' => '\u{1b}',
        ' ' => ' ',
        '"' => '"',
        '/' => '/',
        '\\' => '\\',
        'N' => '\u{85}',
        '_' => '\u{a0}',
        'L' => '\u{2028}',
        'P' => '\u{2029}',
        _ => return None,
    })
}
