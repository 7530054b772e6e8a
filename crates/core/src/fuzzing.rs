//! Entry points for the fuzz targets in `fuzz/` (not a stable API).
//!
//! Each function takes arbitrary bytes and checks a property that must hold for every input;
//! a violation is a panic, which is what libFuzzer reports as a crash. The properties:
//!
//! - [`store_round_trip`]: parsing never panics; a parsed tree emits (with the default layout)
//!   or fails with a [`StoreError`](crate::store::StoreError); for YAML and JSON the emitted
//!   bytes parse again into an equal tree, and for dotenv and INI they parse again at all.
//! - [`yaml_pieces_agree`]: a YAML document read in pieces (the fast path for large files)
//!   gives exactly the tree the whole reader gives, whenever the pieces read at all.
//! - [`open_any`]: opening the bytes as an encrypted document in every format, with a fixed
//!   test identity, gives a document or an error, never a panic; a document that opens seals
//!   again and reopens to the same tree.
//! - [`open_tampered`]: a file that an attacker without the key edited opens only with values
//!   the encryptor made (the edits and the oracle are described in `fuzzing/tamper.rs`).
//! - [`config_edits`]: a `.sops.yaml` reads, chooses rules and takes every membership edit
//!   without a panic, and an edit that succeeds leaves a text that reads again.
//!
//! The targets live in their own workspace under `fuzz/` and are run by `fuzz/smoke.sh`. The
//! module is compiled only with the `fuzzing` feature (which the fuzz crate enables) and in unit
//! tests, so the test identity below is never part of a normal build.

use crate::keys::age::Identities;
use crate::sops::{AgeDecryptor, Document, OpenOptions};
use crate::store::{EmitOptions, Format, StoreError, dotenv, ini, json, yaml};
use crate::{Item, Tree, Value};

pub mod bench;
mod config;
mod tamper;

pub use config::config_edits;
pub use tamper::open_tampered;

/// The identity of the golden vectors (`tests/vectors/sops/vec.key`), public key
/// `age1m69ryw24zjg9pmxr033synsftwkt4f8nh7xp7cm07at3n3r67yfswcwm58`. It is a published test
/// key, so [`open_any`] can decrypt mutations of the vectors and reach past the data key.
const TEST_IDENTITY: &str =
    "AGE-SECRET-KEY-170T7N4UDWW0YHCXDX55SHH7WS780Y2E63GMNLMFAKZ2FMJXVQS7QK3VKNT\n";

/// The formats [`open_any`] tries, in order.
const OPEN_FORMATS: [Format; 5] = [
    Format::Yaml,
    Format::Json,
    Format::Dotenv,
    Format::Ini,
    Format::Binary,
];

/// The piece sizes [`yaml_pieces_agree`] reads with: every allowed cut, some, and none (one
/// piece, the fast line reader alone).
const PIECE_SIZES: [usize; 3] = [1, 64, usize::MAX];

/// Reads `data` as YAML in pieces and whole; when the pieces read, the whole reader must read
/// the same tree (the pieces give `None`, never an error of their own, for anything else).
///
/// # Panics
///
/// When the pieces read a tree the whole reader refuses or reads differently.
pub fn yaml_pieces_agree(data: &[u8]) {
    for piece_bytes in PIECE_SIZES {
        let (pieces, whole) = yaml::parse_both_ways(data, piece_bytes);
        let Some(pieces) = pieces else { continue };
        match whole {
            Ok(whole) => assert!(
                same_tree(&pieces, &whole),
                "read in pieces of {piece_bytes} bytes, the tree differs from the whole reader's"
            ),
            Err(error) => {
                panic!(
                    "read in pieces of {piece_bytes} bytes, but the whole reader refuses: {error}"
                )
            }
        }
    }
}

/// Parses `data` in `format`; if it parses, emits it with the default layout and checks that
/// the output parses again into an equal tree (YAML: equal without comments, and the same
/// comment texts in the same order, since go-yaml moves comments between neighbouring places).
///
/// # Panics
///
/// When a store panics, or when the round-trip property does not hold: that is the finding.
pub fn store_round_trip(format: Format, data: &[u8]) {
    let Ok(tree) = parse(format, data) else {
        return;
    };
    let Ok(emitted) = emit(format, &tree) else {
        return;
    };
    let reparsed = match parse(format, &emitted) {
        Ok(reparsed) => reparsed,
        Err(_) if known_unparsable(format, &tree) => return,
        Err(error) => panic!(
            "{} output does not parse again: {error}\ninput: {:?}\noutput: {:?}",
            format.name(),
            String::from_utf8_lossy(data),
            String::from_utf8_lossy(&emitted),
        ),
    };
    if known_divergence(format, &tree) {
        return;
    }
    let same = if format == Format::Yaml {
        comment_texts(&tree) == comment_texts(&reparsed)
            && same_tree(&without_comments(&tree), &without_comments(&reparsed))
    } else {
        same_tree(&tree, &reparsed)
    };
    assert!(
        same,
        "{} round trip changed the tree\ninput: {:?}\noutput: {:?}",
        format.name(),
        String::from_utf8_lossy(data),
        String::from_utf8_lossy(&emitted),
    );
}

/// Opens `data` as an encrypted document in every format with the test identity; whatever
/// opens is sealed again and must reopen to the same tree.
///
/// # Panics
///
/// When opening or sealing panics, or a sealed document does not reopen to the same tree.
pub fn open_any(data: &[u8]) {
    let identities = test_identities();
    let decryptor = AgeDecryptor::new(&identities);
    let options = OpenOptions::default();
    for format in OPEN_FORMATS {
        let Ok(mut document) = Document::open(data, format, &[&decryptor], &options) else {
            continue;
        };
        // Plaintext output may fail (a nested tree as dotenv), but must not panic.
        let _plaintext = document.to_plaintext(format, &EmitOptions::default());
        if known_divergence(format, document.tree()) {
            continue;
        }
        let Ok(sealed) = document.seal(&EmitOptions::default()) else {
            continue;
        };
        match Document::open(&sealed, format, &[&decryptor], &options) {
            Ok(reopened) => assert!(
                same_tree(document.tree(), reopened.tree()),
                "{} seal/open changed the tree\ninput: {:?}\nsealed: {:?}",
                format.name(),
                String::from_utf8_lossy(data),
                String::from_utf8_lossy(&sealed),
            ),
            Err(error) => panic!(
                "{} sealed document does not reopen: {error}\ninput: {:?}\nsealed: {:?}",
                format.name(),
                String::from_utf8_lossy(data),
                String::from_utf8_lossy(&sealed),
            ),
        }
    }
}

/// The identities holding [`TEST_IDENTITY`].
fn test_identities() -> Identities {
    let mut identities = Identities::new();
    identities
        .add_identity_file_text(TEST_IDENTITY, "fuzzing")
        .expect("the embedded test identity is valid");
    identities
}

/// The store's parser for `format` (binary never fails).
fn parse(format: Format, data: &[u8]) -> Result<Tree, StoreError> {
    match format {
        Format::Yaml => yaml::parse(data),
        Format::Json => json::parse(data),
        Format::Dotenv => dotenv::parse(data),
        Format::Ini => ini::parse(data),
        _ => Ok(crate::store::binary::parse(data)),
    }
}

/// The store's emitter for `format`, with the default layout.
fn emit(format: Format, tree: &Tree) -> Result<zeroize::Zeroizing<Vec<u8>>, StoreError> {
    let options = EmitOptions::default();
    match format {
        Format::Yaml => yaml::emit(tree, options.yaml_indent),
        Format::Json => json::emit(tree, options.json_indent),
        Format::Dotenv => dotenv::emit(tree),
        Format::Ini => ini::emit(tree),
        _ => crate::store::binary::emit(tree),
    }
}

/// Trees that sops 3.11 writes in a form that it cannot parse again, and aesec writes the same
/// bytes: a reparse failure is excused only for these (`tree` is what was emitted). Each case
/// is shown on the real sops by `tests/tests/sops_unreadable.rs`.
fn known_unparsable(format: Format, tree: &Tree) -> bool {
    match format {
        Format::Ini => ini_misread(tree),
        Format::Yaml => tree.branches.iter().any(|branch| {
            branch.iter().any(|item| match item {
                Item::Entry { value, .. } => indicator_block_in_list_item(value, false),
                Item::Comment(_) => false,
            })
        }),
        _ => false,
    }
}

/// INI: whether a key or value of `tree` is one that go-ini writes in a form it reads back as
/// something else or not at all (sops 3.11 writes the same bytes and misreads them too):
///
/// - a value that go-ini quotes with `"""` (it holds a newline or a backtick) and that holds
///   `"""` on a line before its last: the quote closes there (`k = """x"""\ny"""` leaves
///   `y"""`, "key-value delimiter not found");
/// - a value that go-ini writes bare and that starts with `"""`, or quotes with `"` for its
///   outer blanks and that starts with `""`: written `k = """` or `k = """ rl  "`, read as an
///   opening `"""` ("missing closing key quote");
/// - a key holding a backtick and `"`, `=` or `:`: quoted with backticks, which it contains;
/// - a key starting with `[` (read as a section header), `#` or `;` (read as a comment; go-ini's
///   auto-increment keys `- = v` are named `#1`, `#2`, … and written so);
/// - a key of the `DEFAULT` section starting with U+FEFF: written as the file's first line, it
///   reads as a byte-order mark, which go-ini drops (the key and its AAD change);
/// - a comment of several lines whose later line is not `#` or `;`, one space and trimmed text:
///   go-ini writes each line so (`;  two` becomes `; two`), and sops 3.11 does the same;
/// - an empty comment (a bare `;` or `; `): go-ini writes no empty comment, so it is lost (a
///   `DEFAULT` section holding only that comment goes with it), in sops 3.11 too;
/// - a key's comment (any comment of a section but a leading one) whose first line has outer
///   blanks, a `\r` of a CRLF file among them: go-ini trims it (`; x\r` becomes `; x`), and
///   sops 3.11 does the same.
/// - a comment whose first line starts with `#` or `;` (an inline comment `;#x` is read as `#x`):
///   go-ini writes `# x`, which reads back as `x`; sops 3.11 does the same.
fn ini_misread(tree: &Tree) -> bool {
    let renormalized = |text: &crate::Text, is_key_comment: bool| {
        let text = text.to_string_lossy();
        let first = text.split('\n').next().unwrap_or_default();
        text.is_empty()
            || (is_key_comment && first.trim() != first)
            || first.starts_with(['#', ';'])
            || text.split('\n').skip(1).any(|line| {
                let rest = line.get(1..).unwrap_or_default();
                !line.starts_with(['#', ';']) || rest != format!(" {}", rest.trim())
            })
    };
    tree.branches.iter().flatten().any(|item| match item {
        Item::Entry {
            key: name,
            value: Value::Map(section),
        } => section
            .iter()
            .enumerate()
            .any(|(index, entry)| match entry {
                Item::Entry { key, value } => {
                    (name.eq_ignore_ascii_case("DEFAULT") && key.starts_with('\u{feff}'))
                        || (key.contains('`') && key.contains(['"', '=', ':']))
                        || key.starts_with(['[', '#', ';'])
                        || matches!(value, Value::Str(text) if text.as_str().is_some_and(|text| {
                            ini_closes_early(text) || ini_opens_triple_quote(text)
                        }))
                }
                Item::Comment(text) => renormalized(text, index > 0),
            }),
        Item::Comment(text) => renormalized(text, false),
        _ => false,
    })
}

/// Whether go-ini quotes `value` with `"""` and a line before its last holds `"""`.
fn ini_closes_early(value: &str) -> bool {
    value.contains(['\n', '`'])
        && value
            .rsplit_once('\n')
            .is_some_and(|(head, _)| head.contains("\"\"\""))
}

/// Whether go-ini writes `value` bare or as `"value"` (no newline, backtick, `#` or `;`) and
/// that starts with `"""`.
///
/// Also go-ini's quote stripping on read: a value it writes bare that is surrounded by `"` or
/// `'` (with no other such quote inside) loses them (`k = "x"` reads `x`), and a value it quotes
/// with `"` for its outer blanks keeps its quotes when it holds another `"` (`k = " q"r "`).
/// And its line continuation: a value written bare that ends with `\` takes in the next line.
fn ini_opens_triple_quote(value: &str) -> bool {
    let surrounded = |quote: char| {
        value.len() >= 2
            && value.starts_with(quote)
            && value.ends_with(quote)
            && value.get(1..).and_then(|rest| rest.find(quote)) == Some(value.len() - 2)
    };
    let blanks = value.trim().len() != value.len();
    !value.contains(['\n', '`', '#', ';'])
        && (value.starts_with("\"\"\"")
            || (blanks && value.contains('"'))
            || (!blanks && (surrounded('"') || surrounded('\'') || value.ends_with('\\'))))
}

/// YAML: whether `value` holds a string that go-yaml v3 writes as a block scalar with an
/// indentation indicator (`|4-`: a multi-line string whose first line starts with a blank or a
/// line break) as a list item, or as a value of a map that is a list item. The indicator is
/// counted from the wrong column there: sops 3.11 writes `l:\n    - k: |4-\n          x\n
/// y\n` for `l: [{k: "  x\ny"}]` (and `- |4-` for `l: ["  x\ny"]`) and cannot read it back.
/// `in_list_item` says whether `value` is a list item or a value of a map that is one.
fn indicator_block_in_list_item(value: &Value, in_list_item: bool) -> bool {
    match value {
        Value::Str(text) => {
            in_list_item
                && text.as_str().is_some_and(|text| {
                    text.contains('\n') && text.starts_with(|c| c == ' ' || is_yaml_break(c))
                })
        }
        Value::Map(branch) => branch.iter().any(|item| match item {
            Item::Entry { value, .. } => match value {
                Value::Str(_) => indicator_block_in_list_item(value, in_list_item),
                _ => indicator_block_in_list_item(value, false),
            },
            Item::Comment(_) => false,
        }),
        Value::List(values) => values
            .iter()
            .any(|value| indicator_block_in_list_item(value, true)),
        _ => false,
    }
}

/// A YAML line break.
fn is_yaml_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// Trees whose round trip is known to change them, as it does in sops 3.11; skipped so the
/// fuzzer can look for new divergences.
///
/// - INI keys and values that go-ini misreads ([`ini_misread`]).
/// - YAML maps holding nothing but comments: written `a: {\n    # c\n}` and read back empty, as
///   sops 3.11 does (the vector `tests/vectors/yaml/comment_after_empty_flow_map`).
/// - YAML block scalars with an indentation indicator in a list item ([`known_unparsable`]):
///   when the misplaced indicator still parses, the string reads back without its leading
///   blanks (sops 3.11 reads `l: [{k: "  x\n"}]` back as `"x\n"`).
fn known_divergence(format: Format, tree: &Tree) -> bool {
    (format == Format::Ini && ini_misread(tree))
        || format == Format::Yaml
            && (known_unparsable(format, tree)
                || tree
                    .branches
                    .iter()
                    .any(|branch| only_comments_branch(branch)))
}

/// The tree with every comment removed.
fn without_comments(tree: &Tree) -> Tree {
    Tree {
        branches: tree
            .branches
            .iter()
            .map(|b| branch_without_comments(b))
            .collect(),
    }
}

/// [`without_comments`] for one map.
fn branch_without_comments(branch: &[Item]) -> Vec<Item> {
    branch
        .iter()
        .filter_map(|item| match item {
            Item::Entry { key, value } => Some(Item::Entry {
                key: key.clone(),
                value: value_without_comments(value),
            }),
            Item::Comment(_) => None,
        })
        .collect()
}

/// [`without_comments`] for one value.
fn value_without_comments(value: &Value) -> Value {
    match value {
        Value::Map(branch) => Value::Map(branch_without_comments(branch)),
        Value::List(list) => Value::List(
            list.iter()
                .filter(|v| !matches!(v, Value::Comment(_)))
                .map(value_without_comments)
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The texts of the tree's comments, in document order.
fn comment_texts(tree: &Tree) -> Vec<&[u8]> {
    fn in_value<'a>(value: &'a Value, out: &mut Vec<&'a [u8]>) {
        match value {
            Value::Comment(text) => out.push(text.as_bytes()),
            Value::Map(branch) => in_branch(branch, out),
            Value::List(list) => list.iter().for_each(|value| in_value(value, out)),
            _ => {}
        }
    }
    fn in_branch<'a>(branch: &'a [Item], out: &mut Vec<&'a [u8]>) {
        for item in branch {
            match item {
                Item::Entry { value, .. } => in_value(value, out),
                Item::Comment(text) => out.push(text.as_bytes()),
            }
        }
    }
    let mut out = Vec::new();
    for branch in &tree.branches {
        in_branch(branch, &mut out);
    }
    out
}

/// Whether a map below the top level holds comments and nothing else. YAML: sops writes
/// such a map as `a: {\n    # c\n}` (encrypted: `#ENC[...]`) and its comments are lost on
/// reading; aesec writes and reads it the same way (the vector
/// `tests/vectors/yaml/comment_after_empty_flow_map`).
fn only_comments_branch(branch: &[Item]) -> bool {
    branch.iter().any(|item| match item {
        Item::Entry { value, .. } => only_comments_value(value),
        Item::Comment(_) => false,
    })
}

/// [`only_comments_branch`] for a value; also true for a list whose leading comments go-yaml
/// loses, as sops 3.11 does, because its first item is a map or list with leading comments
/// of its own (`x:\n  # p\n  - a: 1 # q\n` is written `x:\n    # q\n    - a: 1\n`).
fn only_comments_value(value: &Value) -> bool {
    match value {
        Value::Map(branch) => {
            (!branch.is_empty() && branch.iter().all(|item| matches!(item, Item::Comment(_))))
                || only_comments_branch(branch)
        }
        Value::List(list) => {
            let first = list.iter().position(|v| !matches!(v, Value::Comment(_)));
            let lost_head = first.is_some_and(|first| {
                first > 0
                    && match list.get(first) {
                        Some(Value::Map(branch)) => {
                            matches!(branch.first(), Some(Item::Comment(_)))
                        }
                        Some(Value::List(inner)) => {
                            matches!(inner.first(), Some(Value::Comment(_)))
                        }
                        _ => false,
                    }
            });
            lost_head || list.iter().any(only_comments_value)
        }
        _ => false,
    }
}

/// Tree equality where a NaN float equals a NaN float (`.nan` round-trips, but `NaN != NaN`) and
/// a whole float equals the same int (sops writes `3.0` as `3`).
fn same_tree(left: &Tree, right: &Tree) -> bool {
    left.branches.len() == right.branches.len()
        && left
            .branches
            .iter()
            .zip(&right.branches)
            .all(|(l, r)| same_branch(l, r))
}

/// [`same_tree`] for one map.
fn same_branch(left: &[Item], right: &[Item]) -> bool {
    left.len() == right.len()
        && left.iter().zip(right).all(|pair| match pair {
            (
                Item::Entry {
                    key: left_key,
                    value: left_value,
                },
                Item::Entry {
                    key: right_key,
                    value: right_value,
                },
            ) => left_key == right_key && same_value(left_value, right_value),
            (Item::Comment(l), Item::Comment(r)) => l == r,
            _ => false,
        })
}

/// [`same_tree`] for one value.
fn same_value(left: &Value, right: &Value) -> bool {
    match (left, right) {
        (Value::Float(l), Value::Float(r)) => l == r || (l.is_nan() && r.is_nan()),
        // A whole float prints without a fraction, as Go does (`3`), and reads back as an int.
        #[expect(clippy::cast_precision_loss, reason = "compared only when exact")]
        (Value::Float(float), Value::Int(int)) | (Value::Int(int), Value::Float(float)) => {
            *float == *int as f64 && float.fract() == 0.0
        }
        (Value::Map(l), Value::Map(r)) => same_branch(l, r),
        (Value::List(l), Value::List(r)) => {
            l.len() == r.len() && l.iter().zip(r).all(|(l, r)| same_value(l, r))
        }
        _ => left == right,
    }
}

#[cfg(test)]
mod tests;
