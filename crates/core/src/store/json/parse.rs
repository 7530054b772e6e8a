//! Reading JSON as Go's `encoding/json` token stream does when sops drives it (the rules are
//! listed in `store/json.rs`).

use crate::store::{MAX_DEPTH, StoreError};
use crate::tree::{Branch, Item, Text, Tree, Value};

use super::FORMAT;
use super::emit::first_char;

/// A recursive-descent reader with Go's acceptance rules.
pub(super) struct Parser<'a> {
    /// The whole input.
    input: &'a [u8],
    /// The next byte to read.
    pos: usize,
}

impl<'a> Parser<'a> {
    /// Reads a whole document: one top-level object.
    pub(super) fn document(input: &'a [u8]) -> Result<Tree, StoreError> {
        let mut parser = Parser { input, pos: 0 };
        parser.skip_whitespace();
        match parser.peek() {
            None => Err(StoreError::Empty { format: FORMAT }),
            Some(b'{') => {
                parser.pos += 1;
                Ok(Tree::single(parser.object(1)?))
            }
            Some(b'[' | b'"' | b't' | b'f' | b'n' | b'-' | b'0'..=b'9') => {
                Err(StoreError::TopLevelNotMap { format: FORMAT })
            }
            Some(_) => Err(parser.error("invalid character looking for beginning of value")),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// A syntax error at the current position.
    fn error(&self, message: &str) -> StoreError {
        let seen = self.input.get(..self.pos).unwrap_or(self.input);
        let line = seen.iter().filter(|&&b| b == b'\n').count() + 1;
        let column = seen.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
        let message = match self.peek() {
            Some(byte) => format!("{message}, found byte 0x{byte:02x}"),
            None => format!("{message}, found end of input"),
        };
        StoreError::Syntax {
            format: FORMAT,
            line,
            column,
            message,
        }
    }

    /// Nesting past [`MAX_DEPTH`].
    fn too_deep(&self) -> StoreError {
        let line = 1 + self
            .input
            .get(..self.pos)
            .unwrap_or_default()
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        StoreError::TooDeep {
            format: FORMAT,
            line,
            limit: MAX_DEPTH,
        }
    }

    /// Consumes `byte` after optional whitespace, or fails with `message`.
    fn expect_byte(&mut self, byte: u8, message: &str) -> Result<(), StoreError> {
        self.skip_whitespace();
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(message))
        }
    }

    /// The members of an object whose `{` has been consumed.
    fn object(&mut self, depth: usize) -> Result<Branch, StoreError> {
        if depth > MAX_DEPTH {
            return Err(self.too_deep());
        }
        let mut branch = Branch::new();
        self.skip_whitespace();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(branch);
        }
        loop {
            self.skip_whitespace();
            if self.peek() != Some(b'"') {
                return Err(self.error("invalid character looking for beginning of object key"));
            }
            self.pos += 1;
            let key = String::from_utf8(self.string_body()?).map_err(|_| {
                // `string_body` only ever produces valid UTF-8.
                self.error("invalid object key")
            })?;
            self.expect_byte(b':', "invalid character after object key")?;
            let value = self.value(depth)?;
            branch.push(Item::Entry { key, value });
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(branch);
                }
                _ => return Err(self.error("invalid character after object key:value pair")),
            }
        }
    }

    /// The elements of an array whose `[` has been consumed.
    fn array(&mut self, depth: usize) -> Result<Vec<Value>, StoreError> {
        if depth > MAX_DEPTH {
            return Err(self.too_deep());
        }
        let mut values = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(values);
        }
        loop {
            values.push(self.value(depth)?);
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(values);
                }
                _ => return Err(self.error("invalid character after array element")),
            }
        }
    }

    /// Any value, after optional whitespace.
    fn value(&mut self, depth: usize) -> Result<Value, StoreError> {
        self.skip_whitespace();
        match self.peek() {
            Some(b'{') => {
                self.pos += 1;
                Ok(Value::Map(self.object(depth + 1)?))
            }
            Some(b'[') => {
                self.pos += 1;
                Ok(Value::List(self.array(depth + 1)?))
            }
            Some(b'"') => {
                self.pos += 1;
                Ok(Value::Str(Text::new(self.string_body()?)))
            }
            Some(b't') => self.literal(b"true", Value::Bool(true)),
            Some(b'f') => self.literal(b"false", Value::Bool(false)),
            Some(b'n') => self.literal(b"null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.error("invalid character looking for beginning of value")),
        }
    }

    fn literal(&mut self, word: &[u8], value: Value) -> Result<Value, StoreError> {
        if self.input.get(self.pos..self.pos + word.len()) == Some(word) {
            self.pos += word.len();
            Ok(value)
        } else {
            Err(self.error("invalid literal"))
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.pos - start
    }

    /// A number, as Go's scanner accepts it, converted like `strconv.ParseFloat`.
    fn number(&mut self) -> Result<Value, StoreError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.error("invalid character in numeric literal")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(self.error("invalid character after decimal point in numeric literal"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.error("invalid character in exponent of numeric literal"));
            }
        }
        let text = std::str::from_utf8(self.input.get(start..self.pos).unwrap_or_default())
            .unwrap_or_default();
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Value::Float(f)),
            _ => {
                self.pos = start;
                Err(self.error(&format!("number {text} does not fit a 64-bit float")))
            }
        }
    }

    /// The decoded bytes of a string whose opening quote has been consumed, always valid UTF-8:
    /// invalid input bytes and unpaired surrogates become U+FFFD as in Go.
    fn string_body(&mut self) -> Result<Vec<u8>, StoreError> {
        let mut out = Vec::new();
        loop {
            let Some(byte) = self.peek() else {
                return Err(self.error("unexpected end of JSON input in string literal"));
            };
            match byte {
                b'"' => {
                    self.pos += 1;
                    return Ok(out);
                }
                b'\\' => {
                    self.pos += 1;
                    self.escape(&mut out)?;
                }
                0..=0x1f => return Err(self.error("invalid character in string literal")),
                0x20..=0x7f => {
                    out.push(byte);
                    self.pos += 1;
                }
                _ => self.non_ascii(&mut out),
            }
        }
    }

    /// Copies one UTF-8 sequence, or writes U+FFFD for one invalid byte (Go's `DecodeRune`).
    fn non_ascii(&mut self, out: &mut Vec<u8>) {
        match first_char(self.input.get(self.pos..).unwrap_or_default()) {
            Some(c) => {
                let mut buffer = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut buffer).as_bytes());
                self.pos += c.len_utf8();
            }
            None => {
                out.extend_from_slice("\u{fffd}".as_bytes());
                self.pos += 1;
            }
        }
    }

    /// Four hex digits of a `\u` escape, if present.
    fn hex4(&self, at: usize) -> Option<u32> {
        let digits = self.input.get(at..at + 4)?;
        let text = std::str::from_utf8(digits).ok()?;
        if text.bytes().all(|b| b.is_ascii_hexdigit()) {
            u32::from_str_radix(text, 16).ok()
        } else {
            None
        }
    }

    /// One escape sequence whose backslash has been consumed.
    fn escape(&mut self, out: &mut Vec<u8>) -> Result<(), StoreError> {
        let simple = match self.peek() {
            Some(b'"') => Some(b'"'),
            Some(b'\\') => Some(b'\\'),
            Some(b'/') => Some(b'/'),
            Some(b'b') => Some(0x08),
            Some(b'f') => Some(0x0c),
            Some(b'n') => Some(b'\n'),
            Some(b'r') => Some(b'\r'),
            Some(b't') => Some(b'\t'),
            Some(b'u') => None,
            _ => return Err(self.error("invalid character in string escape code")),
        };
        if let Some(byte) = simple {
            out.push(byte);
            self.pos += 1;
            return Ok(());
        }
        let Some(unit) = self.hex4(self.pos + 1) else {
            return Err(self.error("invalid character in \\u hexadecimal character escape"));
        };
        self.pos += 5;
        let mut c = char::from_u32(unit);
        if (0xd800..0xdc00).contains(&unit)
            && self.input.get(self.pos..self.pos + 2) == Some(b"\\u")
            && let Some(low) = self.hex4(self.pos + 2)
            && (0xdc00..0xe000).contains(&low)
        {
            c = char::from_u32(0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00));
            self.pos += 6;
        }
        let c = c.unwrap_or('\u{fffd}');
        let mut buffer = [0; 4];
        out.extend_from_slice(c.encode_utf8(&mut buffer).as_bytes());
        Ok(())
    }
}
