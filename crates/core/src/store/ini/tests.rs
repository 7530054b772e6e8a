//! Tests of the INI store: sops 3.11 vectors, sections, comments, quoting and errors.

use proptest::prelude::*;

use super::*;
use crate::test_support::store_vectors::{check_snapshots, read, show};

fn section(name: &str, items: Vec<Item>) -> Item {
    Item::Entry {
        key: name.into(),
        value: Value::Map(items),
    }
}

fn entry(key: &str, value: &str) -> Item {
    Item::Entry {
        key: key.into(),
        value: Value::Str(value.into()),
    }
}

#[test]
fn sops_snapshots() {
    let checked = check_snapshots("ini", "ini", parse, emit, |error| {
        matches!(error, StoreError::Syntax { format: "ini", .. })
    });
    assert!(checked >= 15, "only {checked} INI snapshots");
}

#[test]
fn golden_sample_round_trips() {
    let encrypted = read("ini", "golden.sample.enc.ini");
    assert_eq!(
        show(&emit(&parse(&encrypted).unwrap()).unwrap()),
        show(&encrypted)
    );
    // shared_sample.sops.ini is `sops decrypt tests/vectors/sops/other/sample.enc.ini`.
    let plain = emit(&parse(&read("ini", "shared_sample.ini")).unwrap())
        .unwrap()
        .to_vec();
    assert_eq!(plain, read("ini", "shared_sample.sops.ini"));
}

#[test]
fn metadata_section_keeps_escaped_newlines() {
    let tree = parse(&read("ini", "golden.sample.enc.ini")).unwrap();
    let Some(Value::Map(sops)) = crate::tree::get(&tree.branches[0], "sops") else {
        panic!("no [sops] section");
    };
    let Some(Value::Str(enc)) = crate::tree::get(sops, "age__list_0__map_enc") else {
        panic!("no enc key");
    };
    let enc = enc.as_str().expect("ascii");
    assert!(enc.starts_with("-----BEGIN AGE ENCRYPTED FILE-----\\n") && !enc.contains('\n'));
}

#[test]
fn comments_are_attached_as_sops_does() {
    let tree = parse(b"; s\n[a]\n; k\nx = 1 ; inline\ny = 2\n").unwrap();
    let expected = Tree::single(vec![
        section(DEFAULT_SECTION, vec![]),
        section(
            "a",
            vec![
                Item::Comment("s".into()),
                entry("x", "1"),
                Item::Comment("k\n; inline".into()),
                entry("y", "2"),
            ],
        ),
    ]);
    assert_eq!(tree, expected);
    assert_eq!(
        show(&emit(&tree).unwrap()),
        "; s\n[a]\n; k\n; inline\nx = 1\ny = 2\n"
    );
}

#[test]
fn default_section_has_no_header_and_stays_first() {
    let tree = parse(b"a = 1\n[s]\nb = 2\n").unwrap();
    let expected = Tree::single(vec![
        section(DEFAULT_SECTION, vec![entry("a", "1")]),
        section("s", vec![entry("b", "2")]),
    ]);
    assert_eq!(tree, expected);
    assert_eq!(emit(&tree).unwrap().to_vec(), b"a = 1\n\n[s]\nb = 2\n");
    assert_eq!(
        parse(b"").unwrap(),
        Tree::single(vec![section(DEFAULT_SECTION, vec![])])
    );
    assert_eq!(emit(&parse(b"").unwrap()).unwrap().to_vec(), b"");
}

#[test]
fn values_are_quoted_to_read_back() {
    let tree = Tree::single(vec![section(
        "s",
        vec![
            entry("nl", "a\nb"),
            entry("hash", "a#b"),
            entry("pad", " x "),
            entry("k=ey", "v"),
            entry("ti`ck", "v"),
        ],
    )]);
    let out = emit(&tree).unwrap().to_vec();
    assert_eq!(
        show(&out),
        "[s]\nnl          = \"\"\"a\nb\"\"\"\nhash        = `a#b`\npad         = \" x \"\n`k=ey`      = v\n\"\"\"ti`ck\"\"\" = v\n"
    );
    assert_eq!(parse(&out).unwrap().branches[0][1], tree.branches[0][0]);
}

#[test]
fn repeated_keys_keep_first_position_and_last_value() {
    let tree = parse(b"[s]\na = 1\nb = 2\na = 3\n").unwrap();
    assert_eq!(
        tree.branches[0][1],
        section("s", vec![entry("a", "3"), entry("b", "2")])
    );
    let emitted = Tree::single(vec![section(
        "s",
        vec![entry("a", "1"), entry("b", "2"), entry("a", "3")],
    )]);
    assert_eq!(emit(&emitted).unwrap().to_vec(), b"[s]\na = 3\nb = 2\n");
}

#[test]
fn bad_input_is_rejected() {
    for bad in [
        &b"[s\na = 1\n"[..],
        b"[]\n",
        b"[s]\nnokey\n",
        b"= v\n",
        b"[s]\n\"\" = v\n",
        b"[s]\na = \"\"\"open\n",
    ] {
        let result = parse(bad);
        assert!(
            matches!(result, Err(StoreError::Syntax { format: "ini", .. })),
            "{}: {result:?}",
            show(bad)
        );
    }
    assert!(matches!(
        parse(b"[s]\na = \xff\n"),
        Err(StoreError::NotUtf8 { format: "ini" })
    ));
    let not_section = Tree::single(vec![entry("a", "b")]);
    assert!(matches!(
        emit(&not_section),
        Err(StoreError::NotFlat { format: "ini", .. })
    ));
    let nested = Tree::single(vec![section("s", vec![section("n", vec![])])]);
    assert!(matches!(
        emit(&nested),
        Err(StoreError::NotFlat { format: "ini", .. })
    ));
    let unnamed = Tree::single(vec![section("", vec![])]);
    assert!(matches!(
        emit(&unnamed),
        Err(StoreError::UnsupportedValue { .. })
    ));
    let empty_key = Tree::single(vec![section("s", vec![entry("", "v")])]);
    assert!(matches!(
        emit(&empty_key),
        Err(StoreError::UnsupportedValue { .. })
    ));
    assert!(matches!(
        emit(&Tree::default()),
        Err(StoreError::Empty { .. })
    ));
}

/// Flat sections that go-ini reads back unchanged: names and keys without syntax characters
/// or surrounding space, values without newlines, backticks or quotes at both ends, and
/// unique keys per section.
fn flat_section() -> impl Strategy<Value = Item> {
    let key = "[a-zA-Z0-9_.][a-zA-Z0-9_. -]{0,8}[a-zA-Z0-9_.]";
    let value = "[^\n\r`\"'\\\\]{0,20}";
    let comment = "[a-zA-Z0-9]([a-zA-Z0-9 ]{0,10}[a-zA-Z0-9])?";
    (
        "[a-z][a-z0-9 _.-]{0,8}",
        prop::option::of(comment),
        prop::collection::vec((key, value, prop::option::of(comment)), 0..6),
    )
        .prop_map(|(name, section_comment, keys)| {
            let mut items = Vec::new();
            if let Some(text) = section_comment {
                items.push(Item::Comment(text.into()));
            }
            let mut seen = std::collections::HashSet::new();
            for (key, value, comment) in keys {
                if !seen.insert(key.clone()) {
                    continue;
                }
                items.push(entry(&key, &value));
                if let Some(text) = comment {
                    items.push(Item::Comment(text.into()));
                }
            }
            section(&name, items)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn parse_inverts_emit(
        default_keys in prop::collection::btree_map("[a-z][a-z0-9_]{0,6}", "[a-z0-9]{0,6}", 0..4),
        sections in prop::collection::vec(flat_section(), 0..5),
    ) {
        let mut branch = vec![section(
            DEFAULT_SECTION,
            default_keys.iter().map(|(key, value)| entry(key, value)).collect(),
        )];
        branch.extend(sections);
        let tree = Tree::single(branch);
        let out = emit(&tree).unwrap().to_vec();
        prop_assert_eq!(parse(&out).unwrap(), tree, "{}", show(&out));
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(tree) = parse(&bytes) {
            let _ = emit(&tree).unwrap();
        }
    }

    #[test]
    fn random_text_never_panics(text in "[\\[\\]=:;#\"'`\\\\ \na-c\r\t-]{0,80}") {
        if let Ok(tree) = parse(text.as_bytes()) {
            let _ = emit(&tree).unwrap();
        }
    }
}
