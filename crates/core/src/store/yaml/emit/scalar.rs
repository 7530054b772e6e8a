//! Scalars as go-yaml v3 writes them: the style libyaml's `yaml_emitter_analyze_scalar` and
//! go-yaml's `stringv` pick (plain, single quoted, double quoted with escapes, or a literal
//! block, `!!binary` for invalid UTF-8), and go-yaml's spelling of null, bools and floats.

use base64::Engine as _;

use super::Emitter;
use crate::gofmt::format_g;
use crate::store::yaml::resolve::resolves_to_str;
use crate::tree::{Text, Value};

impl Emitter {
    /// A scalar, or `{}`/`[]` for a collection without entries.
    pub(super) fn scalar_or_empty(&mut self, value: &Value, scalar_indent: usize, key: bool) {
        match value {
            Value::Null => self.out.push_str("null"),
            Value::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) => self.out.push_str(&i.to_string()),
            Value::Float(f) => self.out.push_str(&yaml_float(*f)),
            Value::Time(t) => self.out.push_str(t),
            Value::Str(text) | Value::Bytes(text) => self.text(text, scalar_indent, key),
            Value::Map(_) => self.out.push_str("{}"),
            Value::List(_) => self.out.push_str("[]"),
            Value::Comment(text) => {
                // A comment as a whole value has no YAML form; sops writes its text as a string.
                self.text(text, scalar_indent, key);
            }
        }
    }

    fn text(&mut self, text: &Text, scalar_indent: usize, key: bool) {
        match text.as_str() {
            Some(s) => self.string(s.as_bytes(), scalar_indent, key),
            None => {
                // go-yaml writes invalid UTF-8 as base64 under `!!binary` (encodeBase64).
                let encoded = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
                if encoded.len() < 70 {
                    self.out.push_str("!!binary ");
                    self.out.push_str(&encoded);
                } else {
                    let mut block = String::new();
                    for chunk in encoded.as_bytes().chunks(70) {
                        block.push_str(&String::from_utf8_lossy(chunk));
                        block.push('\n');
                    }
                    self.out.push_str("!!binary ");
                    self.literal(&block, scalar_indent);
                }
            }
        }
    }

    /// A string scalar in the style go-yaml picks; `key` is the simple-key context.
    pub(super) fn string(&mut self, bytes: &[u8], scalar_indent: usize, key: bool) {
        // `from_utf8` validates faster than the lossy decoder; valid text is the common case.
        let s = std::str::from_utf8(bytes).map_or_else(
            |_| String::from_utf8_lossy(bytes),
            std::borrow::Cow::Borrowed,
        );
        let analysis = Analysis::of(&s);
        let style = if s.contains('\n') {
            if analysis.block_allowed && !key {
                Style::Literal
            } else {
                Style::Double
            }
        } else if resolves_to_str(&s) {
            if analysis.block_plain_allowed && !(s.is_empty() && key) {
                Style::Plain
            } else if analysis.single_quoted_allowed {
                Style::Single
            } else {
                Style::Double
            }
        } else {
            Style::Double
        };
        let style = if key && analysis.line_breaks {
            Style::Double
        } else {
            style
        };
        match style {
            Style::Plain => self.out.push_str(&s),
            Style::Single => self.single(&s, scalar_indent),
            Style::Double => self.double(&s),
            Style::Literal => self.literal(&s, scalar_indent),
        }
    }

    fn single(&mut self, s: &str, scalar_indent: usize) {
        self.out.push_char('\'');
        let mut breaks = false;
        for c in s.chars() {
            if is_break(c) {
                self.out.push_char(c);
                breaks = true;
            } else {
                if breaks {
                    self.pad(scalar_indent);
                }
                if c == '\'' {
                    self.out.push_char('\'');
                }
                self.out.push_char(c);
                breaks = false;
            }
        }
        self.out.push_char('\'');
    }

    fn double(&mut self, s: &str) {
        self.out.push_char('"');
        // go-yaml's `is_bom` looks at the first bytes of the string, not at the current
        // character: after a leading BOM every character is escaped (`"\uFEFF\x62"`).
        let bom = s.starts_with('\u{feff}');
        for c in s.chars() {
            if bom || !is_printable(c) || c == '\u{feff}' || is_break(c) || c == '"' || c == '\\' {
                self.out.push_char('\\');
                match c {
                    '\0' => self.out.push_char('0'),
                    '\u{7}' => self.out.push_char('a'),
                    '\u{8}' => self.out.push_char('b'),
                    '\t' => self.out.push_char('t'),
                    '\n' => self.out.push_char('n'),
                    '\u{b}' => self.out.push_char('v'),
                    '\u{c}' => self.out.push_char('f'),
                    '\r' => self.out.push_char('r'),
                    '\u{1b}' => self.out.push_char('e'),
                    '"' => self.out.push_char('"'),
                    '\\' => self.out.push_char('\\'),
                    '\u{85}' => self.out.push_char('N'),
                    '\u{a0}' => self.out.push_char('_'),
                    '\u{2028}' => self.out.push_char('L'),
                    '\u{2029}' => self.out.push_char('P'),
                    _ => {
                        let v = u32::from(c);
                        if v <= 0xFF {
                            self.out.push_str(&format!("x{v:02X}"));
                        } else if v <= 0xFFFF {
                            self.out.push_str(&format!("u{v:04X}"));
                        } else {
                            self.out.push_str(&format!("U{v:08X}"));
                        }
                    }
                }
            } else {
                self.out.push_char(c);
            }
        }
        self.out.push_char('"');
    }

    fn literal(&mut self, s: &str, scalar_indent: usize) {
        self.out.push_char('|');
        let mut chars = s.chars();
        if chars.next().is_some_and(|c| c == ' ' || is_break(c)) {
            self.out.push_str(&self.indent.to_string());
        }
        let mut rev = s.chars().rev();
        match (rev.next(), rev.next()) {
            (None, _) => self.out.push_char('-'),
            (Some(last), _) if !is_break(last) => self.out.push_char('-'),
            (Some(_), None) => self.out.push_char('+'),
            (Some(_), Some(before)) if is_break(before) => self.out.push_char('+'),
            _ => {}
        }
        self.out.push_char('\n');
        // Each run of characters between breaks is copied at once, after the indent when it
        // starts a line (the age stanzas of every metadata block are such lines).
        let mut rest = s;
        while !rest.is_empty() {
            let run = rest.find(is_break).unwrap_or(rest.len());
            if run > 0 {
                self.pad(scalar_indent);
                self.out.push_str(&rest[..run]);
            }
            let Some(line_break) = rest[run..].chars().next() else {
                break;
            };
            self.out.push_char(line_break);
            rest = &rest[run + line_break.len_utf8()..];
        }
    }
}

#[derive(Clone, Copy)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

/// `yaml_emitter_analyze_scalar` (block context, unicode output).
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Analysis {
    pub(super) line_breaks: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

impl Analysis {
    pub(super) fn of(s: &str) -> Self {
        if s.is_empty() {
            return Self {
                line_breaks: false,
                block_plain_allowed: true,
                single_quoted_allowed: true,
                block_allowed: false,
            };
        }
        if is_plain_safe_ascii(s) {
            return Self {
                line_breaks: false,
                block_plain_allowed: true,
                single_quoted_allowed: true,
                block_allowed: true,
            };
        }
        Self::scan(s)
    }

    /// libyaml's `yaml_emitter_analyze_scalar`, character by character.
    fn scan(s: &str) -> Self {
        let mut chars = s.chars().peekable();
        let mut block_indicators = s.starts_with("---") || s.starts_with("...");
        let (mut line_breaks, mut special, mut tabs) = (false, false, false);
        let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) =
            (false, false, false, false);
        let (mut break_space, mut space_break) = (false, false);
        let (mut previous_space, mut previous_break) = (false, false);
        let mut preceded_by_whitespace = true;
        let mut i = 0usize;
        while let Some(c) = chars.next() {
            let next = chars.peek().copied();
            let followed_by_whitespace = next.is_none_or(|n| n == ' ' || n == '\t');
            let last = next.is_none();
            if i == 0 {
                match c {
                    '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\''
                    | '"' | '%' | '@' | '`' => block_indicators = true,
                    '?' | ':' if followed_by_whitespace => block_indicators = true,
                    '-' if followed_by_whitespace => block_indicators = true,
                    _ => {}
                }
            } else {
                match c {
                    ':' if followed_by_whitespace => block_indicators = true,
                    '#' if preceded_by_whitespace => block_indicators = true,
                    _ => {}
                }
            }
            if c == '\t' {
                tabs = true;
            } else if !is_printable(c) {
                special = true;
            }
            if c == ' ' {
                leading_space |= i == 0;
                trailing_space |= last;
                break_space |= previous_break;
                previous_space = true;
                previous_break = false;
            } else if is_break(c) {
                line_breaks = true;
                leading_break |= i == 0;
                trailing_break |= last;
                space_break |= previous_space;
                previous_space = false;
                previous_break = true;
            } else {
                previous_space = false;
                previous_break = false;
            }
            preceded_by_whitespace = matches!(c, ' ' | '\t' | '\0') || is_break(c);
            i += 1;
        }
        let mut block_plain_allowed = true;
        let mut single_quoted_allowed = true;
        let mut block_allowed = true;
        if leading_space || leading_break || trailing_space || trailing_break {
            block_plain_allowed = false;
        }
        if trailing_space {
            block_allowed = false;
        }
        if break_space {
            block_plain_allowed = false;
            single_quoted_allowed = false;
        }
        if space_break || tabs || special {
            block_plain_allowed = false;
            single_quoted_allowed = false;
        }
        if space_break || special {
            block_allowed = false;
        }
        if line_breaks || block_indicators {
            block_plain_allowed = false;
        }
        Self {
            line_breaks,
            block_plain_allowed,
            single_quoted_allowed,
            block_allowed,
        }
    }
}

/// Whether `s` is ASCII text that [`Analysis::of`] would find free of every indicator, break,
/// space and special character: an alphanumeric first byte, a last byte that is not `:`, and
/// nothing but alphanumerics and `+/=,:[]_.` in between. Every `ENC[...]` value is such a
/// string, so the emitter skips the character-by-character analysis for them.
fn is_plain_safe_ascii(s: &str) -> bool {
    let bytes = s.as_bytes();
    let safe = |b: u8| {
        b.is_ascii_alphanumeric()
            | matches!(
                b,
                b'+' | b'/' | b'=' | b',' | b':' | b'[' | b']' | b'_' | b'.'
            )
    };
    // No early exit: one branch-free pass over the bytes.
    bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(|&b| b != b':')
        && bytes.iter().fold(true, |all, &b| all & safe(b))
}

/// libyaml's `is_printable` on the character's UTF-8 form.
fn is_printable(c: char) -> bool {
    let v = u32::from(c);
    v == 0x0A
        || (0x20..=0x7E).contains(&v)
        || (0xA0..=0xD7FF).contains(&v)
        || ((0xE000..=0xFFFD).contains(&v) && v != 0xFEFF)
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// go-yaml `floatv`: `FormatFloat(f, 'g', -1, 64)` with YAML's special values.
fn yaml_float(f: f64) -> String {
    if f.is_nan() {
        ".nan".to_owned()
    } else if f == f64::INFINITY {
        ".inf".to_owned()
    } else if f == f64::NEG_INFINITY {
        "-.inf".to_owned()
    } else {
        format_g(f)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// The ASCII fast path gives what the full analysis gives, for the strings it accepts.
        #[test]
        fn fast_path_agrees_with_the_full_analysis(s in "[A-Za-z0-9+/=,:\\[\\]_. #-]{1,40}") {
            if is_plain_safe_ascii(&s) {
                prop_assert_eq!(Analysis::of(&s), Analysis::scan(&s));
            }
        }
    }

    #[test]
    fn enc_values_take_the_fast_path() {
        let enc = "ENC[AES256_GCM,data:Ye7OymSO,iv:KS+1ZzaNmsaRpT57NYf3aIrAT00VVb29Xp21Z5YZLlg=,tag:fM3Er1MIBFW8KvnYKKgXyg==,type:str]";
        assert!(is_plain_safe_ascii(enc));
        assert_eq!(Analysis::of(enc), Analysis::scan(enc));
        for unsafe_text in ["a:", ":a", "-a", "a b", "a#b", "#a", ""] {
            assert!(!is_plain_safe_ascii(unsafe_text), "{unsafe_text}");
        }
    }
}
