//! Reading in pieces against reading whole: every YAML file of the test data and generated
//! documents full of the constructs that could reach across a cut, each read at every allowed
//! cut, at some, and as one piece ([`crate::fuzzing::yaml_pieces_agree`], which the yaml fuzz
//! target runs too); and where cuts are allowed.

use proptest::prelude::*;

use super::{cut, parse};
use crate::fuzzing::yaml_pieces_agree;
use crate::store::StoreError;
use crate::store::yaml::parse::{parse as parse_yaml, simple};
use crate::tree::{Item, Text, Value};

/// Every `.yaml`/`.yml` file under `dir`, recursively.
fn yaml_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}

/// The vectors, the corpus of real sops files and the golden inputs agree read both ways, and
/// enough of them take the fast paths for that to mean something.
#[test]
fn every_yaml_test_file_reads_the_same_in_pieces() {
    let mut files = Vec::new();
    yaml_files(
        std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests")),
        &mut files,
    );
    assert!(files.len() > 300, "only {} YAML files found", files.len());
    let (mut cut_and_read, mut read_by_lines) = (0, 0);
    for path in &files {
        let bytes = std::fs::read(path).unwrap();
        let result = std::panic::catch_unwind(|| yaml_pieces_agree(&bytes));
        assert!(
            result.is_ok(),
            "{}: pieces and whole disagree",
            path.display()
        );
        let Ok(text) = std::str::from_utf8(&bytes) else {
            continue;
        };
        if cut(text, 1).is_some_and(|pieces| pieces.len() > 1) && parse(text, 1).is_some() {
            cut_and_read += 1;
        }
        if simple::parse(text).is_some() {
            read_by_lines += 1;
        }
    }
    assert!(
        cut_and_read >= 200,
        "only {cut_and_read} files read in pieces"
    );
    assert!(
        read_by_lines >= 90,
        "only {read_by_lines} files read by the line reader"
    );
}

/// Lines that could join across a cut, or that the line reader must refuse: quotes and flow
/// collections over several lines, block scalars (with keep chomping and trailing blank lines),
/// comments at every depth, lists, anchors and aliases, document markers, tabs, typed and
/// special scalars, keys repeated, continued plain scalars and bad indentation.
const FRAGMENTS: &[&str] = &[
    "a: 1",
    "b: x y",
    "c: ENC[AES256_GCM,data:Zm9v,iv:YmFy,tag:YmF6,type:str]",
    "d:",
    "  e: 2",
    "    f: three",
    "  g:",
    "      h: ~",
    "i: true",
    "j: 0x1F",
    "k: 18446744073709551615",
    "l: 2001-12-14",
    "m: .inf",
    "n: \"quoted",
    "  still\"",
    "o: 'single'",
    "p: [1,",
    "  2]",
    "q: {r: 1}",
    "s: |",
    "t: |+",
    "u: >-",
    "  block text",
    "",
    "   ",
    "# top comment",
    "  # nested comment",
    "v: w # line comment",
    "- item",
    "  - nested item",
    "- item ",
    "  - 036  ",
    "- 'q' ",
    "x: &anchor 1",
    "y: *anchor",
    "---",
    "...",
    "%YAML 1.2",
    "z:\tz",
    "\tz: 1",
    "a:b",
    "key with space: 1",
    "1: numeric key",
    "null: key",
    "continued",
    "Null",
    "null",
    " odd: indent",
    "aa: -x",
    "bb: x:",
    "cc: x: y",
    "dd: a#b",
    "ee: }",
    "{",
    "}",
    "? complex",
    ": value",
    "- k: v",
    "  k2: v2",
    "  - r: age1",
    "    enc: |",
    "      -----BEGIN AGE ENCRYPTED FILE-----",
    "      YWdlLWVuY3J5cHRpb24=",
    "     odd block line",
    "        deeper block line",
    "e: |",
    "    block: line # not a comment",
    "f: |-",
    "- ENC[AES256_GCM,data:eA==,iv:eQ==,tag:eg==,type:str]",
    "- |",
    "-",
    "- ",
    "-  x",
    "lm: \"2026-01-01T00:00:00Z\"",
    "dq: \"a \\\" b\"",
    "sq: 'a '' b'",
    "eq: ''",
    "tq: \"x\" # c",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn generated_documents_read_the_same_in_pieces(
        lines in prop::collection::vec(prop::sample::select(FRAGMENTS), 1..40),
        final_newline in any::<bool>(),
    ) {
        let mut text = lines.join("\n");
        if final_newline {
            text.push('\n');
        }
        yaml_pieces_agree(text.as_bytes());
    }
}

/// A generated document: maps and lists nested a few deep, over scalars and literal blocks
/// taken from small pools (repeated keys, keys and values that type as numbers, quotes, flow
/// collections and comment marks among them).
#[derive(Clone, Debug)]
enum Node {
    Scalar(&'static str),
    Block(Vec<&'static str>),
    Map(Vec<(&'static str, Self)>),
    List(Vec<Self>),
}

const KEYS: &[&str] = &[
    "a", "b", "c", "d", "e", "key_1", "x.y", "k-2", "sops", "enc", "age", "mac", "version",
];

/// Keys the line reader refuses (they type as numbers or booleans, or hold a space).
const ODD_KEYS: &[&str] = &["1", "true", "a b", "-k"];

const SCALARS: &[&str] = &[
    "v",
    "a b",
    "ENC[AES256_GCM,data:eA==,iv:eQ==,tag:eg==,type:str]",
    "1",
    "0x1F",
    "1.5",
    ".inf",
    "~",
    "null",
    "true",
    "yes",
    "2001-12-14",
    "x:y",
    "3.11.0",
    "_x",
    "/p",
    "a  b",
    "x]",
    "\"q\"",
    "'s'",
    "\"\"",
    "''",
    "\"a'b\"",
    "'a\"b'",
    "\"2026-01-01T00:00:00Z\"",
];

/// Values the line reader refuses, or reads only in part of their forms.
const ODD_SCALARS: &[&str] = &[
    "-1",
    "18446744073709551615",
    "[x]",
    "{a: 1}",
    "a: b",
    "-x",
    "#c",
    "'a''b'",
    "\"a\\\"b\"",
];

const BLOCK_LINES: &[&str] = &[
    "line",
    "a: b",
    "# hash",
    "-----BEGIN AGE ENCRYPTED FILE-----",
    "x  ",
    "\"q\"",
    "  more",
];

fn node() -> impl Strategy<Value = Node> {
    let scalar = prop_oneof![
        20 => prop::sample::select(SCALARS),
        1 => prop::sample::select(ODD_SCALARS),
    ];
    let leaf = prop_oneof![
        3 => scalar.prop_map(Node::Scalar),
        1 => prop::collection::vec(prop::sample::select(BLOCK_LINES), 1..4).prop_map(Node::Block),
    ];
    leaf.prop_recursive(4, 40, 4, |inner| {
        prop_oneof![
            prop::collection::vec((key(), inner.clone()), 1..4).prop_map(Node::Map),
            prop::collection::vec(inner, 1..4).prop_map(Node::List),
        ]
    })
}

fn key() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        20 => prop::sample::select(KEYS),
        1 => prop::sample::select(ODD_KEYS),
    ]
}

/// Writes map entries in column `indent`, nesting `step` columns deeper.
fn render_map(entries: &[(&str, Node)], indent: usize, step: usize, out: &mut Vec<String>) {
    let pad = " ".repeat(indent);
    for (key, value) in entries {
        match value {
            Node::Scalar(text) => out.push(format!("{pad}{key}: {text}")),
            Node::Block(lines) => {
                out.push(format!("{pad}{key}: |"));
                let inner = " ".repeat(indent + step);
                out.extend(lines.iter().map(|line| format!("{inner}{line}")));
            }
            Node::Map(entries) => {
                out.push(format!("{pad}{key}:"));
                render_map(entries, indent + step, step, out);
            }
            Node::List(items) => {
                out.push(format!("{pad}{key}:"));
                render_list(items, indent + step, step, out);
            }
        }
    }
}

/// Writes list items with their `-` in column `indent`.
fn render_list(items: &[Node], indent: usize, step: usize, out: &mut Vec<String>) {
    let pad = " ".repeat(indent);
    for item in items {
        match item {
            Node::Scalar(text) => out.push(format!("{pad}- {text}")),
            Node::Map(entries) => {
                // The first entry on the `- ` line, the others under it.
                let start = out.len();
                render_map(entries, indent + 2, step, out);
                out[start] = format!("{pad}- {}", &out[start][indent + 2..]);
            }
            Node::Block(_) | Node::List(_) => {
                out.push(format!("{pad}-"));
                match item {
                    Node::List(items) => render_list(items, indent + 2, step, out),
                    _ => render_map(&[("k", item.clone())], indent + 2, step, out),
                }
            }
        }
    }
}

/// A generated document's text, with a few of its lines disturbed (shifted a column either
/// way, followed by a blank line or a comment, given a line comment or a tab).
fn document() -> impl Strategy<Value = String> {
    (
        prop::collection::vec((key(), node()), 1..5),
        prop::sample::select(&[1usize, 2, 4][..]),
        prop::collection::vec((any::<prop::sample::Index>(), 0u8..6), 0..2),
        any::<bool>(),
    )
        .prop_map(|(root, step, disturbances, final_newline)| {
            let mut lines = Vec::new();
            render_map(&root, 0, step, &mut lines);
            for (at, how) in disturbances {
                let at = at.index(lines.len());
                match how {
                    0 => lines[at].insert(0, ' '),
                    1 => {
                        if lines[at].starts_with(' ') {
                            lines[at].remove(0);
                        }
                    }
                    2 => lines.insert(at + 1, String::new()),
                    3 => lines.insert(at + 1, "# c".to_owned()),
                    4 => lines[at].push_str(" # c"),
                    _ => lines[at].insert(0, '\t'),
                }
            }
            let mut text = lines.join("\n");
            if final_newline {
                text.push('\n');
            }
            text
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn generated_nested_documents_read_the_same_in_pieces(text in document()) {
        yaml_pieces_agree(text.as_bytes());
    }
}

/// The generated documents reach the fast paths often enough for the agreement to mean
/// something: a fixed sample of them, counted.
#[test]
fn generated_nested_documents_take_the_fast_paths() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = document();
    let (mut by_lines, mut in_pieces) = (0, 0);
    let total = 2000;
    for _ in 0..total {
        let text = strategy.new_tree(&mut runner).unwrap().current();
        by_lines += usize::from(simple::parse(&text).is_some());
        in_pieces += usize::from(
            cut(&text, 1).is_some_and(|pieces| pieces.len() > 1) && parse(&text, 1).is_some(),
        );
    }
    assert!(
        by_lines >= total / 20,
        "only {by_lines} of {total} read by the line reader"
    );
    assert!(
        in_pieces >= total / 10,
        "only {in_pieces} of {total} read in pieces"
    );
}

#[test]
fn cuts_only_before_a_key_after_a_plain_line() {
    let text = "a: 1\nb:\n  c: 2\nd: 3\n# c\ne: 4\n\nf: 5\ng: |\n  x\nh: 6\n";
    let pieces = cut(text, 1).unwrap();
    assert_eq!(
        pieces,
        [
            "a: 1\n",
            "b:\n  c: 2\n",
            "d: 3\n# c\ne: 4\n\nf: 5\n",
            "g: |\n  x\n",
            "h: 6\n"
        ]
    );
    assert_eq!(cut(text, text.len()).unwrap(), [text]);
    for whole in [
        "a: &x 1\nb: *x\n",
        "a: 1\n---\nb: 2\n",
        "a: 1\r\nb: 2\r\n",
        "a: 1\u{2028}b: 2\n",
    ] {
        assert_eq!(cut(whole, 1), None, "{whole:?}");
    }
}

#[test]
fn a_key_in_two_pieces_is_read_whole_and_refused() {
    let text = "a: 1\nb: 2\na: 3\n";
    assert!(parse(text, 1).is_none());
    assert!(matches!(
        parse_yaml(text.as_bytes()),
        Err(StoreError::DuplicateKey { key }) if key == "a"
    ));
    // In one piece, the line reader leaves the root keys to the same check.
    assert!(simple::parse(text).is_some());
    assert!(parse(text, usize::MAX).is_none());
}

#[test]
fn the_line_reader_refuses_what_it_does_not_read() {
    for text in [
        "a: 1\n  b: 2\n",
        "a:\n    b: 1\n  c: 2\n",
        "a:\n  b: 1\n  b: 2\n",
        "a: 'x''y'\n",
        "a: \"x\\ty\"\n",
        "a: |\n  x\n\n  y\n",
        "a: |\n  x\n    y\n",
        "a: |-\n  x\n",
        "a: |\n  x",
        "a: |\nb: 1\n",
        "a:\n- x\n",
        "a:\n  -  x\n",
        "a: x # c\n",
        "1: x\n",
        "a: 18446744073709551615\n",
        "  a: 1\n",
        "# only a comment\n",
        "\n",
    ] {
        assert_eq!(simple::parse(text), None, "{text:?}");
    }
    for text in [
        "a:\n  b: 1\n  c:\nd: x y  \n",
        "sops:\n    age:\n        - recipient: age1x\n          enc: |\n            -----BEGIN\n            a: #b\n        - recipient: age1y\n          enc: |\n            c\n    lastmodified: \"2026-01-01T00:00:00Z\"\n    version: 3.11.0\n",
        "l:\n  - 1\n  - 'two'\n  - a: x\n    b:\n      - c\nm: ''\n",
    ] {
        let branch = simple::parse(text).unwrap();
        let expected = parse_yaml(text.as_bytes()).unwrap();
        assert!(expected.branches == vec![branch], "{text:?}");
    }
}

/// A null on a line of its own in column 0 is a key without its `:` to the whole reader, but
/// cut off alone it is a document of its own, a null: a piece must read as root entries. Found
/// by the yaml fuzz target.
#[test]
fn a_piece_that_is_a_lone_null_is_not_an_empty_map() {
    let documents = ["a: ~\nNULL\ne: 1\n", "Null\na: 1\n", "# c\nnull\na: 1\n"];
    for text in documents
        .map(String::from)
        .into_iter()
        .chain(["Null", "null", "NULL"].map(|null| format!("a: ~\n{null}\ne: NULL\nf: \"null\"\n")))
    {
        assert!(parse_yaml(text.as_bytes()).is_err(), "{text:?}");
        for piece_bytes in [1, 64, usize::MAX] {
            assert_eq!(parse(&text, piece_bytes), None, "{text:?} in {piece_bytes}");
        }
        yaml_pieces_agree(text.as_bytes());
    }
}

/// Blanks after a list item are not part of it: sops 3.11 reads `- x ` as `x` and `- 036 ` as
/// the integer 30 (tried), and so must the line reader, which kept the blanks (a string `x `,
/// a string `036 `). Found by the yaml fuzz target.
#[test]
fn blanks_after_a_list_item_are_not_part_of_it() {
    let text = "a:\n  - x \n  - 036  \n  - 'q' \n";
    let expected = vec![
        Value::Str(Text::from("x")),
        Value::Int(30),
        Value::Str(Text::from("q")),
    ];
    let branch = simple::parse(text).unwrap();
    assert!(
        branch
            == vec![Item::Entry {
                key: "a".into(),
                value: Value::List(expected)
            }]
    );
    yaml_pieces_agree(text.as_bytes());
}
