//! The dotenv store: sops 3.11's `stores/dotenv` reader and writer.
//!
//! sops 3.11 reads dotenv files with a deliberately simple line parser, and aesec copies it
//! exactly: the input is split on `\n`; empty lines are skipped; a line starting with `#` is a
//! comment (the text after the `#`); any other line is split at its first `=`, the key kept
//! untrimmed (`export A` and ` B ` are keys) and the value kept verbatim except that the two
//! characters `\n` become a newline. Quotes are not processed (they stay part of the value, sops
//! issue #1127) and a `\r` from a CRLF file stays at the end of the value. Every value is a string.
//!
//! Writing gives `KEY=VALUE\n` per entry and `#text\n` per comment, with newlines in values
//! written back as `\n`. The `sops` metadata is a set of ordinary `sops_*` keys here.

use crate::gofmt;
use crate::secret::SecretBuf;
use crate::store::StoreError;
use crate::tree::{Item, Text, Tree, Value};

/// The format name used in errors.
const FORMAT: &str = "dotenv";

/// Parses a dotenv file into a tree of one branch.
///
/// ```
/// use aesec::store::dotenv;
/// let tree = dotenv::parse(b"# note\nA=x\\ny\n")?;
/// assert_eq!(tree.branches[0].len(), 2);
/// assert_eq!(*dotenv::emit(&tree)?, b"# note\nA=x\\ny\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn parse(input: &[u8]) -> Result<Tree, StoreError> {
    let mut branch = Vec::new();
    for (index, line) in input.split(|&b| b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix(b"#") {
            branch.push(Item::Comment(Text::new(comment.to_vec())));
            continue;
        }
        let Some(equals) = line.iter().position(|&b| b == b'=') else {
            return Err(StoreError::DotenvLine { line: index + 1 });
        };
        let key = line.get(..equals).unwrap_or_default();
        let key =
            String::from_utf8(key.to_vec()).map_err(|_| StoreError::NotUtf8 { format: FORMAT })?;
        let raw = line.get(equals + 1..).unwrap_or_default();
        branch.push(Item::Entry {
            key,
            value: Value::Str(Text::new(replace(raw, b"\\n", b"\n"))),
        });
    }
    Ok(Tree::single(branch))
}

/// Writes the first branch of `tree` as a dotenv file.
///
/// Non-string scalars are written with sops' `ValToString` (`value_to_string`); a map or a
/// list fails with [`StoreError::NotFlat`].
///
/// ```
/// use aesec::{Item, Tree, Value, store::dotenv};
/// let tree = Tree::single(vec![Item::Entry { key: "N".into(), value: Value::Float(3.0) }]);
/// assert_eq!(*dotenv::emit(&tree)?, b"N=3.0\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn emit(tree: &Tree) -> Result<zeroize::Zeroizing<Vec<u8>>, StoreError> {
    let branch = tree
        .branches
        .first()
        .ok_or(StoreError::Empty { format: FORMAT })?;
    let mut out = SecretBuf::new();
    for item in branch {
        match item {
            Item::Comment(text) => {
                out.push(b'#');
                out.extend_from_slice(text.as_bytes());
            }
            Item::Entry { key, value } => {
                out.extend_from_slice(key.as_bytes());
                out.push(b'=');
                match value {
                    Value::Str(text) => {
                        // Written piece by piece: no temporary copy of the value grows.
                        for (index, line) in text.as_bytes().split(|&b| b == b'\n').enumerate() {
                            if index > 0 {
                                out.extend_from_slice(b"\\n");
                            }
                            out.extend_from_slice(line);
                        }
                    }
                    Value::Map(_) | Value::List(_) => {
                        return Err(StoreError::NotFlat {
                            format: FORMAT,
                            path: format!("[{key:?}]"),
                            supported: "top-level scalar values",
                        });
                    }
                    other => out.extend_from_slice(&value_to_string(other)),
                }
            }
        }
        out.push(b'\n');
    }
    Ok(out.into_inner())
}

/// sops' `stores.ValToString`, used by the dotenv and INI writers for non-string scalars.
///
/// Floats use Go's `%G` with at least one decimal (`3` → `3.0`, `1e21` → `1E+21`), booleans
/// `true`/`false`, timestamps RFC 3339 without fractional seconds, `null` Go's `<nil>`, and raw
/// bytes Go's `%v` of a byte slice (`[104 105]`). Strings are returned unchanged.
pub(crate) fn value_to_string(value: &Value) -> Vec<u8> {
    match value {
        Value::Float(f) => {
            let text = gofmt::format_g(*f).replace('e', "E");
            if text.contains(['.', 'E']) || !f.is_finite() {
                text.into_bytes()
            } else {
                format!("{f:.1}").into_bytes()
            }
        }
        Value::Bool(b) => b.to_string().into_bytes(),
        Value::Int(i) => i.to_string().into_bytes(),
        Value::Time(time) => rfc3339_seconds(time).into_bytes(),
        Value::Null => b"<nil>".to_vec(),
        Value::Str(text) | Value::Comment(text) => text.as_bytes().to_vec(),
        Value::Bytes(bytes) => {
            let numbers: Vec<String> = bytes.as_bytes().iter().map(u8::to_string).collect();
            format!("[{}]", numbers.join(" ")).into_bytes()
        }
        // Callers reject nested values first; Go's `%v` of them is meaningless anyway.
        Value::Map(_) | Value::List(_) => Vec::new(),
    }
}

/// Go's `time.RFC3339` layout of an RFC 3339 "nano" timestamp: the fractional seconds dropped.
fn rfc3339_seconds(time: &str) -> String {
    match time.find('.') {
        Some(dot) => {
            let rest = time.get(dot + 1..).unwrap_or_default();
            let zone = rest.trim_start_matches(|c: char| c.is_ascii_digit());
            format!("{}{zone}", time.get(..dot).unwrap_or_default())
        }
        None => time.to_owned(),
    }
}

/// `bytes` with every occurrence of `from` replaced by `to`, scanning left to right.
fn replace(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while !rest.is_empty() {
        if rest.starts_with(from) {
            out.extend_from_slice(to);
            rest = rest.get(from.len()..).unwrap_or_default();
        } else {
            out.extend_from_slice(rest.get(..1).unwrap_or_default());
            rest = rest.get(1..).unwrap_or_default();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::test_support::store_vectors::{check_snapshots, read, show};

    #[test]
    fn sops_snapshots() {
        let checked = check_snapshots("dotenv", "env", parse, emit, |error| {
            matches!(error, StoreError::DotenvLine { line: 2 })
        });
        assert!(checked >= 15, "only {checked} dotenv snapshots");
    }

    #[test]
    fn golden_sample_round_trips() {
        let encrypted = read("dotenv", "golden.sample.enc.env");
        assert_eq!(
            show(&emit(&parse(&encrypted).unwrap()).unwrap()),
            show(&encrypted)
        );
        // shared_sample.sops.env is `sops decrypt tests/vectors/sops/other/sample.enc.env`.
        let plain = emit(&parse(&read("dotenv", "shared_sample.env")).unwrap())
            .unwrap()
            .to_vec();
        assert_eq!(plain, read("dotenv", "shared_sample.sops.env"));
    }

    #[test]
    fn parse_follows_sops_line_rules() {
        let tree = parse(b"#c\n export K = \"v\"\\n\r\n\nA=b=c").unwrap();
        let branch = &tree.branches[0];
        assert_eq!(branch.len(), 3);
        assert!(matches!(&branch[0], Item::Comment(text) if text.as_bytes() == b"c"));
        assert!(matches!(
            &branch[1],
            Item::Entry { key, value: Value::Str(text) } if key == " export K " && text.as_bytes() == b" \"v\"\n\r"
        ));
        assert!(
            matches!(&branch[2], Item::Entry { value: Value::Str(text), .. } if text.as_bytes() == b"b=c")
        );
    }

    #[test]
    fn metadata_newlines_are_escaped() {
        let value = Value::Str("-----BEGIN-----\nabc\n-----END-----\n".into());
        let tree = Tree::single(vec![Item::Entry {
            key: "sops_age__list_0__map_enc".into(),
            value,
        }]);
        let out = emit(&tree).unwrap().to_vec();
        assert_eq!(
            out,
            b"sops_age__list_0__map_enc=-----BEGIN-----\\nabc\\n-----END-----\\n\n"
        );
        assert_eq!(parse(&out).unwrap(), tree);
    }

    #[test]
    fn non_strings_use_val_to_string() {
        let cases: [(Value, &str); 12] = [
            (Value::Float(3.0), "3.0"),
            (Value::Float(-0.0), "-0.0"),
            (Value::Float(0.75), "0.75"),
            (Value::Float(1e21), "1E+21"),
            (Value::Float(1234567.0), "1.234567E+06"),
            (Value::Float(1e-5), "1E-05"),
            (Value::Float(f64::INFINITY), "+Inf"),
            (Value::Bool(true), "true"),
            (Value::Int(-5), "-5"),
            (Value::Null, "<nil>"),
            (
                Value::Time("2001-12-14T21:59:43.1-05:00".into()),
                "2001-12-14T21:59:43-05:00",
            ),
            (Value::Bytes(Text::new(b"hi".to_vec())), "[104 105]"),
        ];
        for (value, expected) in cases {
            assert_eq!(show(&value_to_string(&value)), expected);
        }
    }

    #[test]
    fn bad_input_is_rejected() {
        assert!(matches!(
            parse(b"A=1\n\nno_equals\n"),
            Err(StoreError::DotenvLine { line: 3 })
        ));
        assert!(matches!(
            parse(b"\xff=1\n"),
            Err(StoreError::NotUtf8 { format: "dotenv" })
        ));
        let nested = Tree::single(vec![Item::Entry {
            key: "m".into(),
            value: Value::Map(Vec::new()),
        }]);
        assert!(matches!(
            emit(&nested),
            Err(StoreError::NotFlat {
                format: "dotenv",
                ..
            })
        ));
        let list = Tree::single(vec![Item::Entry {
            key: "l".into(),
            value: Value::List(Vec::new()),
        }]);
        assert!(matches!(emit(&list), Err(StoreError::NotFlat { .. })));
        assert!(matches!(
            emit(&Tree::default()),
            Err(StoreError::Empty { .. })
        ));
    }

    fn flat_item() -> impl Strategy<Value = Item> {
        prop_oneof![
            ("[^=\n#][^=\n]*", "[^\n]*")
                .prop_filter("no literal \\n", |(_, v)| !v.contains("\\n"))
                .prop_map(|(key, value): (String, String)| Item::Entry {
                    key,
                    value: Value::Str(value.into())
                }),
            ("[^=\n#][^=\n]*", "[^\\\\]*").prop_map(|(key, value): (String, String)| Item::Entry {
                key,
                value: Value::Str(value.into())
            }),
            "[^\n]*".prop_map(|text: String| Item::Comment(text.into())),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn parse_inverts_emit(items in prop::collection::vec(flat_item(), 0..10)) {
            let tree = Tree::single(items);
            prop_assert_eq!(parse(&emit(&tree).unwrap()).unwrap(), tree);
        }

        #[test]
        fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            if let Ok(tree) = parse(&bytes) {
                let _ = emit(&tree).unwrap();
            }
        }
    }
}
