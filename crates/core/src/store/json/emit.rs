//! Writing JSON as Go's `json.Marshal` followed by `json.Indent` does (the rules are listed in
//! `store/json.rs`).

use base64::Engine as _;

use crate::gofmt;
use crate::secret::SecretBuf;
use crate::store::StoreError;
use crate::tree::{Item, Value};

/// Writes values as `json.Marshal` + `json.Indent` would.
pub(super) struct Writer {
    /// The output so far.
    pub(super) out: SecretBuf,
    /// One level of indentation.
    unit: Vec<u8>,
    /// The key path of the value being written, for errors.
    path: Vec<String>,
}

impl Writer {
    pub(super) fn new(indent: Option<usize>) -> Self {
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

    pub(super) fn map(&mut self, branch: &[Item], depth: usize) -> Result<(), StoreError> {
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

    pub(super) fn value(&mut self, value: &Value, depth: usize) -> Result<(), StoreError> {
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
pub(super) fn first_char(bytes: &[u8]) -> Option<char> {
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
