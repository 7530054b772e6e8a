//! The JSON store: sops 3.11's `stores/json` reader and writer.
//!
//! Reading follows Go's `encoding/json` token stream as sops drives it: the top level must be an
//! object, keys keep their order and duplicates are kept, **every number becomes a
//! [`Value::Float`]** (sops 3.11 decodes JSON numbers as `float64`, so `12345678901234567890`
//! loses precision exactly as in Go), invalid UTF-8 and lone surrogates become U+FFFD, and
//! anything after the closing `}` of the top-level object is ignored (Go's decoder never reads
//! it). Writing reproduces `json.Marshal` per value followed by `json.Indent`: HTML-safe escaping
//! (`<`, `>`, `&`, U+2028, U+2029), Go's float layout (see `gofmt`), `{}`/`[]` for empty
//! containers, a tab per level by default, and a final newline. Comments do not exist in JSON and
//! are dropped on output.

use base64::Engine as _;

use crate::gofmt;
use crate::secret::SecretBuf;
use crate::store::{MAX_DEPTH, StoreError};
use crate::tree::{Branch, Item, Text, Tree, Value};

/// The format name used in errors.
const FORMAT: &str = "json";

/// Parses a JSON document into a tree of one branch.
///
/// ```
/// use aesec::{Item, Value, store::json};
/// let tree = json::parse(br#"{"n": 42, "s": "x"}"#)?;
/// assert!(matches!(&tree.branches[0][0], Item::Entry { value: Value::Float(f), .. } if *f == 42.0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn parse(input: &[u8]) -> Result<Tree, StoreError> {
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

/// Writes the first branch of `tree` as sops writes a JSON file.
///
/// `indent`: `None` is a tab per level (sops' default `-1`), `Some(0)` newlines without
/// indentation, `Some(n)` `n` spaces. Integers print as integers, timestamps and strings as JSON
/// strings, raw bytes as base64 (what `json.Marshal` does with `[]byte`).
///
/// ```
/// use aesec::{Item, Tree, Value, store::json};
/// let tree = Tree::single(vec![Item::Entry { key: "a".into(), value: Value::Str("<b>".into()) }]);
/// assert_eq!(*json::emit(&tree, None)?, b"{\n\t\"a\": \"\\u003cb\\u003e\"\n}\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn emit(tree: &Tree, indent: Option<usize>) -> Result<zeroize::Zeroizing<Vec<u8>>, StoreError> {
    let branch = tree
        .branches
        .first()
        .ok_or(StoreError::Empty { format: FORMAT })?;
    let mut writer = Writer::new(indent);
    writer.map(branch, 0)?;
    writer.out.push(b'\n');
    Ok(writer.out.into_inner())
}

/// What `sops decrypt --extract` prints for a value in JSON output: a map is written like a
/// whole file (with the final newline), any other value as `json.Marshal` + `json.Indent` without
/// a final newline. A string comes out JSON-quoted here; sops prints extracted strings raw, which
/// the caller does without this function.
///
/// ```
/// use aesec::{Value, store::json};
/// let list = Value::List(vec![Value::Float(1.0), Value::Null]);
/// assert_eq!(*json::emit_value(&list, Some(2))?, b"[\n  1,\n  null\n]");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn emit_value(
    value: &Value,
    indent: Option<usize>,
) -> Result<zeroize::Zeroizing<Vec<u8>>, StoreError> {
    let mut writer = Writer::new(indent);
    writer.value(value, 0)?;
    if matches!(value, Value::Map(_)) {
        writer.out.push(b'\n');
    }
    Ok(writer.out.into_inner())
}

/// A recursive-descent reader with Go's acceptance rules.
struct Parser<'a> {
    /// The whole input.
    input: &'a [u8],
    /// The next byte to read.
    pos: usize,
}

impl Parser<'_> {
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

/// Writes values as `json.Marshal` + `json.Indent` would.
struct Writer {
    /// The output so far.
    out: SecretBuf,
    /// One level of indentation.
    unit: Vec<u8>,
    /// The key path of the value being written, for errors.
    path: Vec<String>,
}

impl Writer {
    fn new(indent: Option<usize>) -> Self {
        let unit = match indent {
            None => b"\t".to_vec(),
            Some(n) => vec![b' '; n],
        };
        Self {
            out: SecretBuf::new(),
            unit,
            path: Vec::new(),
        }
    }

    fn newline(&mut self, depth: usize) {
        self.out.push(b'\n');
        for _ in 0..depth {
            self.out.extend_from_slice(&self.unit);
        }
    }

    fn map(&mut self, branch: &[Item], depth: usize) -> Result<(), StoreError> {
        self.out.push(b'{');
        let mut empty = true;
        for item in branch {
            let Item::Entry { key, value } = item else {
                continue;
            };
            if !empty {
                self.out.push(b',');
            }
            empty = false;
            self.newline(depth + 1);
            write_string(&mut self.out, key.as_bytes());
            self.out.extend_from_slice(b": ");
            self.path.push(format!("[{key:?}]"));
            self.value(value, depth + 1)?;
            self.path.pop();
        }
        if !empty {
            self.newline(depth);
        }
        self.out.push(b'}');
        Ok(())
    }

    fn list(&mut self, values: &[Value], depth: usize) -> Result<(), StoreError> {
        self.out.push(b'[');
        let mut empty = true;
        for (index, value) in values.iter().enumerate() {
            if matches!(value, Value::Comment(_)) {
                continue;
            }
            if !empty {
                self.out.push(b',');
            }
            empty = false;
            self.newline(depth + 1);
            self.path.push(format!("[{index}]"));
            self.value(value, depth + 1)?;
            self.path.pop();
        }
        if !empty {
            self.newline(depth);
        }
        self.out.push(b']');
        Ok(())
    }

    fn value(&mut self, value: &Value, depth: usize) -> Result<(), StoreError> {
        match value {
            Value::Null => self.out.extend_from_slice(b"null"),
            Value::Bool(true) => self.out.extend_from_slice(b"true"),
            Value::Bool(false) => self.out.extend_from_slice(b"false"),
            Value::Int(i) => self.out.extend_from_slice(i.to_string().as_bytes()),
            Value::Float(f) if f.is_finite() => {
                self.out
                    .extend_from_slice(gofmt::format_json(*f).as_bytes());
            }
            Value::Float(f) => {
                return Err(StoreError::UnsupportedValue {
                    path: self.path.concat(),
                    reason: format!("json: unsupported value: {}", gofmt::format_f(*f)),
                });
            }
            Value::Str(text) => write_string(&mut self.out, text.as_bytes()),
            Value::Time(time) => write_string(&mut self.out, time.as_bytes()),
            Value::Bytes(bytes) => {
                let encoded = base64::engine::general_purpose::STANDARD.encode(bytes.as_bytes());
                write_string(&mut self.out, encoded.as_bytes());
            }
            Value::Map(branch) => self.map(branch, depth)?,
            Value::List(values) => self.list(values, depth)?,
            // Only reachable for a comment passed directly to `emit_value`.
            Value::Comment(_) => self.out.extend_from_slice(b"null"),
        }
        Ok(())
    }
}

/// The character UTF-8-encoded at the start of `bytes`, or `None` when they do not start with a
/// valid sequence (Go's `utf8.DecodeRune` returning `RuneError` with size 1).
fn first_char(bytes: &[u8]) -> Option<char> {
    let head = bytes.get(..4.min(bytes.len())).unwrap_or_default();
    let valid = match std::str::from_utf8(head) {
        Ok(text) => text,
        Err(error) => std::str::from_utf8(head.get(..error.valid_up_to()).unwrap_or_default())
            .unwrap_or_default(),
    };
    valid.chars().next()
}

/// Appends `bytes` as a JSON string with Go's `json.Marshal` escaping (HTML-safe; invalid UTF-8
/// written as the escape `\ufffd`).
fn write_string(out: &mut SecretBuf, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let mut rest = bytes;
    while let Some(&byte) = rest.first() {
        if byte < 0x80 {
            match byte {
                b'"' => out.extend_from_slice(b"\\\""),
                b'\\' => out.extend_from_slice(b"\\\\"),
                0x08 => out.extend_from_slice(b"\\b"),
                0x0c => out.extend_from_slice(b"\\f"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\t' => out.extend_from_slice(b"\\t"),
                0..=0x1f | b'<' | b'>' | b'&' => {
                    out.extend_from_slice(b"\\u00");
                    out.push(HEX[usize::from(byte >> 4)]);
                    out.push(HEX[usize::from(byte & 0xf)]);
                }
                _ => out.push(byte),
            }
            rest = rest.get(1..).unwrap_or_default();
            continue;
        }
        match first_char(rest) {
            Some('\u{2028}') => {
                out.extend_from_slice(b"\\u2028");
                rest = rest.get(3..).unwrap_or_default();
            }
            Some('\u{2029}') => {
                out.extend_from_slice(b"\\u2029");
                rest = rest.get(3..).unwrap_or_default();
            }
            Some(c) => {
                let len = c.len_utf8();
                out.extend_from_slice(rest.get(..len).unwrap_or_default());
                rest = rest.get(len..).unwrap_or_default();
            }
            None => {
                out.extend_from_slice(b"\\ufffd");
                rest = rest.get(1..).unwrap_or_default();
            }
        }
    }
    out.push(b'"');
}

/// Reading the sops-made vectors under `tests/vectors/<store>/` for the store tests.
#[cfg(test)]
mod tests;
