//! go-ini's line parser (`gopkg.in/ini.v1` v1.67.0) with the options sops uses; the rules it
//! follows are listed in `store/ini.rs`.

use crate::store::StoreError;

use super::{DEFAULT_SECTION, FORMAT, Section, go_trim_space};

/// go-ini's line parser with the options sops uses.
pub(super) struct Parser<'a> {
    text: &'a str,
    /// Byte offset of the next line.
    pos: usize,
    /// Number of lines read so far (for errors).
    line: usize,
    /// Whether the last read hit the end of the input.
    eof: bool,
    /// The pending comment: comment lines and inline comments not yet attached.
    comment: String,
}

impl<'a> Parser<'a> {
    /// A parser at the start of `text`.
    pub(super) fn new(text: &'a str) -> Self {
        Self {
            text,
            pos: 0,
            line: 0,
            eof: false,
            comment: String::new(),
        }
    }

    /// go-ini's `readUntil('\n')`: the next line with its newline, if any.
    fn read_line(&mut self) -> &'a str {
        let rest = self.text.get(self.pos..).unwrap_or_default();
        self.line += 1;
        match rest.find('\n') {
            Some(end) => {
                self.pos += end + 1;
                rest.get(..=end).unwrap_or_default()
            }
            None => {
                self.pos = self.text.len();
                self.eof = true;
                rest
            }
        }
    }

    fn error(&self, message: &str) -> StoreError {
        StoreError::Syntax {
            format: FORMAT,
            line: self.line,
            column: 1,
            message: message.to_owned(),
        }
    }

    /// Takes the pending comment, trimmed as go-ini stores it.
    fn take_comment(&mut self) -> String {
        let comment = go_trim_space(&self.comment).to_owned();
        self.comment.clear();
        comment
    }

    pub(super) fn run(&mut self) -> Result<Vec<Section>, StoreError> {
        let mut sections = vec![Section::new(DEFAULT_SECTION)];
        let mut counter = 1;
        while !self.eof {
            let line = self.read_line().trim_start();
            let Some(&first) = line.as_bytes().first() else {
                continue;
            };
            if first == b'#' || first == b';' {
                self.comment.push_str(line);
                continue;
            }
            if first == b'[' {
                let Some(close) = line.rfind(']') else {
                    return Err(self.error("unclosed section"));
                };
                let name = line.get(1..close).unwrap_or_default();
                if name.is_empty() {
                    return Err(self.error("empty section name"));
                }
                let after = line.get(close + 1..).unwrap_or_default();
                if let Some(start) = after.find(['#', ';']) {
                    self.comment
                        .push_str(after.get(start..).unwrap_or_default());
                }
                let mut section = Section::new(name);
                section.comment = self.take_comment();
                sections.push(section);
                counter = 1;
                continue;
            }
            let (mut name, offset) = self.key_name(line)?;
            if name == "-" {
                name = format!("#{counter}");
                counter += 1;
            }
            let value = self.value(line.get(offset..).unwrap_or_default())?;
            let comment = self.take_comment();
            let section = sections
                .last_mut()
                .expect("the DEFAULT section is always present");
            let index = section.set(name, value);
            if let Some(key) = section.keys.get_mut(index) {
                key.comment = comment;
            }
        }
        Ok(sections)
    }

    /// go-ini's `readKeyName`: the trimmed key and the offset of the value.
    fn key_name(&self, line: &str) -> Result<(String, usize), StoreError> {
        const DELIMITERS: [char; 2] = ['=', ':'];
        let quote = if line.starts_with('"') {
            if line.len() > 6 && line.starts_with("\"\"\"") {
                "\"\"\""
            } else {
                "\""
            }
        } else if line.starts_with('`') {
            "`"
        } else {
            ""
        };
        if quote.is_empty() {
            let Some(end) = line.find(DELIMITERS) else {
                return Err(self.error("key-value delimiter not found"));
            };
            if end == 0 {
                return Err(self.error("empty key name"));
            }
            let name = go_trim_space(line.get(..end).unwrap_or_default());
            return Ok((name.to_owned(), end + 1));
        }
        let start = quote.len();
        let Some(close) = line.get(start..).and_then(|rest| rest.find(quote)) else {
            return Err(self.error("missing closing key quote"));
        };
        let close = close + start;
        let Some(delimiter) = line
            .get(close + start..)
            .and_then(|rest| rest.find(DELIMITERS))
        else {
            return Err(self.error("key-value delimiter not found"));
        };
        let name = go_trim_space(line.get(start..close).unwrap_or_default());
        if name.is_empty() {
            return Err(self.error("empty key name"));
        }
        Ok((name.to_owned(), close + delimiter + start + 1))
    }

    /// go-ini's `readValue` for the text after the delimiter (with its newline).
    fn value(&mut self, raw: &str) -> Result<String, StoreError> {
        let line = raw.trim_start();
        if line.is_empty() {
            return Ok(String::new());
        }
        let quote = if line.len() > 3 && line.starts_with("\"\"\"") {
            "\"\"\""
        } else if line.starts_with('`') {
            "`"
        } else {
            ""
        };
        if !quote.is_empty() {
            let body = line.get(quote.len()..).unwrap_or_default();
            return match body.rfind(quote) {
                Some(end) => Ok(body.get(..end).unwrap_or_default().to_owned()),
                None => self.multiline(body, quote),
            };
        }
        let line = go_trim_space(line);
        if let Some(head) = line.strip_suffix('\\') {
            return Ok(self.continuation(head));
        }
        let mut line = line;
        if let Some(start) = line.find(['#', ';']) {
            self.comment.push_str(line.get(start..).unwrap_or_default());
            line = go_trim_space(line.get(..start).unwrap_or_default());
        }
        if has_surrounding_quote(line, b'\'') || has_surrounding_quote(line, b'"') {
            line = line.get(1..line.len() - 1).unwrap_or_default();
        }
        Ok(line.to_owned())
    }

    /// go-ini's `readMultilines`: a quoted value that continues on the next lines.
    fn multiline(&mut self, first: &str, quote: &str) -> Result<String, StoreError> {
        let mut value = first.to_owned();
        loop {
            let next = self.read_line();
            if let Some(end) = next.rfind(quote) {
                value.push_str(next.get(..end).unwrap_or_default());
                let after = next.get(end..).unwrap_or_default();
                if let Some(start) = after.find(['#', ';']) {
                    self.comment
                        .push_str(go_trim_space(after.get(start..).unwrap_or_default()));
                }
                return Ok(value);
            }
            value.push_str(next);
            if self.eof {
                return Err(self.error("missing closing value quote"));
            }
        }
    }

    /// go-ini's `readContinuationLines`: lines joined while they end with `\`.
    fn continuation(&mut self, head: &str) -> String {
        let mut value = head.to_owned();
        loop {
            let next = go_trim_space(self.read_line());
            if next.is_empty() {
                return value;
            }
            value.push_str(next);
            match value.strip_suffix('\\') {
                Some(_) => {
                    value.pop();
                }
                None => return value,
            }
            if self.eof {
                return value;
            }
        }
    }
}

/// go-ini's `hasSurroundedQuote`: `quote` at both ends and nowhere else.
fn has_surrounding_quote(text: &str, quote: u8) -> bool {
    let bytes = text.as_bytes();
    bytes.len() >= 2
        && bytes.first() == Some(&quote)
        && bytes.last() == Some(&quote)
        && bytes.iter().skip(1).position(|&b| b == quote) == Some(bytes.len() - 2)
}
