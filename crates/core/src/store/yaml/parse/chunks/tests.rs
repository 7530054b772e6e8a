//! Reading in pieces against reading whole: every YAML file of the test data and generated
//! documents full of the constructs that could reach across a cut, each read at every allowed
//! cut, at some, and as one piece ([`crate::fuzzing::yaml_pieces_agree`], which the yaml fuzz
//! target runs too); and where cuts are allowed.

use proptest::prelude::*;

use super::{cut, parse};
use crate::fuzzing::yaml_pieces_agree;
use crate::store::StoreError;
use crate::store::yaml::parse::{parse as parse_yaml, simple};

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
        read_by_lines >= 25,
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
        "a: 'x'\n",
        "a: x # c\n",
        "1: x\n",
        "a: 18446744073709551615\n",
        "  a: 1\n",
        "# only a comment\n",
        "\n",
    ] {
        assert_eq!(simple::parse(text), None, "{text:?}");
    }
    let branch = simple::parse("a:\n  b: 1\n  c:\nd: x y  \n").unwrap();
    let expected = parse_yaml(b"a:\n  b: 1\n  c:\nd: x y  \n").unwrap();
    assert!(expected.branches == vec![branch]);
}
