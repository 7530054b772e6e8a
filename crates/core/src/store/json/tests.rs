//! Tests of the JSON store: sops 3.11 vectors, Go's escaping and number formatting, indentation
//! and errors.

use proptest::prelude::*;

use super::*;
use crate::store::MAX_DEPTH;
use crate::test_support::store_vectors::{cases, read, show};
use crate::tree::{Branch, Item, Text};

/// The indent a vector is written with: `indentN_*` names use N spaces.
fn indent_of(name: &str) -> Option<usize> {
    let rest = name.strip_prefix("indent")?;
    rest.split('_').next()?.parse().ok()
}

#[test]
fn sops_snapshots() {
    let cases = cases("json", "json");
    let mut checked = 0;
    for case in cases.iter().filter(|case| !case.name.starts_with("fail_")) {
        let indent = indent_of(&case.name);
        let tree = parse(&case.input).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let expected = case.expected.as_deref().expect("checked by cases()");
        let ours = emit(&tree, indent).unwrap().to_vec();
        assert_eq!(
            show(&ours),
            show(expected),
            "plaintext layout of {}",
            case.name
        );
        assert_eq!(ours, expected, "{}", case.name);
        // sops' own output is a fixed point.
        assert_eq!(
            emit(&parse(expected).unwrap(), indent).unwrap().to_vec(),
            expected,
            "{}",
            case.name
        );
        let encrypted = case
            .encrypted
            .as_deref()
            .expect("every JSON input has .enc.json");
        let ours = emit(&parse(encrypted).unwrap(), indent).unwrap().to_vec();
        assert_eq!(
            show(&ours),
            show(encrypted),
            "encrypted layout of {}",
            case.name
        );
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} JSON snapshots");
}

#[test]
fn sops_rejections() {
    for case in cases("json", "json")
        .iter()
        .filter(|case| case.name.starts_with("fail_"))
    {
        let result = parse(&case.input);
        let ok = match case.name.as_str() {
            "fail_empty" => matches!(result, Err(StoreError::Empty { format: "json" })),
            "fail_top_array" => matches!(result, Err(StoreError::TopLevelNotMap { .. })),
            _ => matches!(result, Err(StoreError::Syntax { format: "json", .. })),
        };
        assert!(ok, "{}: {result:?}", case.name);
    }
}

#[test]
fn golden_vec_round_trips() {
    let encrypted = read("json", "golden.vec.enc.json");
    assert_eq!(
        show(&emit(&parse(&encrypted).unwrap(), None).unwrap()),
        show(&encrypted)
    );
    // shared_vec.sops.json is `sops decrypt tests/vectors/sops/vec.enc.json`.
    let plain = emit(&parse(&read("json", "shared_vec.json")).unwrap(), None)
        .unwrap()
        .to_vec();
    assert_eq!(plain, read("json", "shared_vec.sops.json"));
}

#[test]
fn numbers_are_floats_with_go_precision() {
    let tree = parse(br#"{"a": 42, "b": 12345678901234567890, "c": -0}"#).unwrap();
    let branch = &tree.branches[0];
    assert!(matches!(crate::tree::get(branch, "a"), Some(Value::Float(f)) if *f == 42.0));
    assert!(
        matches!(crate::tree::get(branch, "b"), Some(Value::Float(f)) if *f == 12345678901234567000.0)
    );
    assert!(matches!(crate::tree::get(branch, "c"), Some(Value::Float(f)) if f.is_sign_negative()));
}

#[test]
fn duplicate_keys_are_kept_in_order() {
    let tree = parse(br#"{"a": 1, "b": 2, "a": 3}"#).unwrap();
    let keys: Vec<&str> = tree.branches[0]
        .iter()
        .filter_map(|item| match item {
            Item::Entry { key, .. } => Some(key.as_str()),
            Item::Comment(_) => None,
        })
        .collect();
    assert_eq!(keys, ["a", "b", "a"]);
}

#[test]
fn invalid_utf8_and_surrogates_become_replacement_characters() {
    let tree = parse(b"{\"a\": \"x\xe2\x82y\\ud800\\u0041\"}").unwrap();
    let Some(Value::Str(text)) = crate::tree::get(&tree.branches[0], "a") else {
        panic!("not a string");
    };
    assert_eq!(text.as_str(), Some("x\u{fffd}\u{fffd}y\u{fffd}A"));
    // A raw invalid byte written out is Go's `\ufffd` escape.
    let tree = Tree::single(vec![Item::Entry {
        key: "k".into(),
        value: Value::Str(Text::new(b"\xff".to_vec())),
    }]);
    assert_eq!(
        emit(&tree, Some(0)).unwrap().to_vec(),
        b"{\n\"k\": \"\\ufffd\"\n}\n"
    );
}

#[test]
fn typed_values_print_as_go_marshals_them() {
    let tree = Tree::single(vec![
        Item::Comment("dropped".into()),
        Item::Entry {
            key: "int".into(),
            value: Value::Int(-7),
        },
        Item::Entry {
            key: "time".into(),
            value: Value::Time("2002-12-14T00:00:00Z".into()),
        },
        Item::Entry {
            key: "bytes".into(),
            value: Value::Bytes(Text::new(b"hi".to_vec())),
        },
        Item::Entry {
            key: "list".into(),
            value: Value::List(vec![Value::Comment("gone".into()), Value::Bool(true)]),
        },
        Item::Entry {
            key: "only_comment".into(),
            value: Value::List(vec![Value::Comment("x".into())]),
        },
    ]);
    let expected = "{\n  \"int\": -7,\n  \"time\": \"2002-12-14T00:00:00Z\",\n  \"bytes\": \"aGk=\",\n  \"list\": [\n    true\n  ],\n  \"only_comment\": []\n}\n";
    assert_eq!(show(&emit(&tree, Some(2)).unwrap()), expected);
}

#[test]
fn non_finite_floats_cannot_be_written() {
    for f in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let inner = vec![Item::Entry {
            key: "b".into(),
            value: Value::List(vec![Value::Float(f)]),
        }];
        let tree = Tree::single(vec![Item::Entry {
            key: "a".into(),
            value: Value::Map(inner),
        }]);
        let result = emit(&tree, None);
        assert!(
            matches!(&result, Err(StoreError::UnsupportedValue { path, .. }) if path == "[\"a\"][\"b\"][0]"),
            "{result:?}"
        );
    }
}

#[test]
fn emit_value_matches_extract() {
    assert_eq!(*emit_value(&Value::Float(1e21), None).unwrap(), b"1e+21");
    assert_eq!(
        emit_value(&Value::Str("<".into()), None).unwrap().to_vec(),
        b"\"\\u003c\""
    );
    assert_eq!(*emit_value(&Value::List(vec![]), None).unwrap(), b"[]");
    let map = Value::Map(vec![Item::Entry {
        key: "k".into(),
        value: Value::Null,
    }]);
    assert_eq!(*emit_value(&map, None).unwrap(), b"{\n\t\"k\": null\n}\n");
}

#[test]
fn malformed_input_is_rejected_with_the_right_variant() {
    assert!(matches!(parse(b""), Err(StoreError::Empty { .. })));
    assert!(matches!(parse(b" \n\t"), Err(StoreError::Empty { .. })));
    assert!(matches!(
        parse(b"\"s\""),
        Err(StoreError::TopLevelNotMap { .. })
    ));
    assert!(matches!(
        parse(b"42"),
        Err(StoreError::TopLevelNotMap { .. })
    ));
    assert!(matches!(
        parse(b"\xef\xbb\xbf{}"),
        Err(StoreError::Syntax { .. })
    ));
    for bad in [
        &b"{"[..],
        b"{\"a\"}",
        b"{\"a\":}",
        b"{a: 1}",
        b"{\"a\": 01}",
        b"{\"a\": 1.}",
        b"{\"a\": -}",
        b"{\"a\": 1e}",
        b"{\"a\": tru}",
        b"{\"a\": \"\\x\"}",
        b"{\"a\": \"\\u12\"}",
        b"{\"a\": \"unterminated}",
        b"{\"a\": [1 2]}",
        b"{\"a\": 1 \"b\": 2}",
        b"{\"a\": 'x'}",
    ] {
        let result = parse(bad);
        assert!(
            matches!(result, Err(StoreError::Syntax { format: "json", .. })),
            "{}: {result:?}",
            show(bad)
        );
    }
    let deep = format!("{{\"a\": {}{}}}", "[".repeat(5000), "]".repeat(5000));
    assert!(matches!(
        parse(deep.as_bytes()),
        Err(StoreError::TooDeep {
            format: "json",
            line: 1,
            limit: MAX_DEPTH
        })
    ));
}

#[test]
fn syntax_errors_carry_the_position() {
    let result = parse(b"{\n  \"a\": x}");
    assert!(
        matches!(
            result,
            Err(StoreError::Syntax {
                line: 2,
                column: 8,
                ..
            })
        ),
        "{result:?}"
    );
}

#[test]
fn emit_without_branches_fails() {
    assert!(matches!(
        emit(&Tree::default(), None),
        Err(StoreError::Empty { .. })
    ));
}

/// Plain JSON values (no comments, times, ints or bytes: JSON reads those back differently).
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::Float),
        any::<String>().prop_map(|s| Value::Str(s.into())),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::List),
            prop::collection::vec((any::<String>(), inner), 0..6).prop_map(|entries| {
                Value::Map(
                    entries
                        .into_iter()
                        .map(|(key, value)| Item::Entry { key, value })
                        .collect(),
                )
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn parse_inverts_emit(
        entries in prop::collection::vec((any::<String>(), json_value()), 0..8),
        indent in prop_oneof![Just(None), (0usize..5).prop_map(Some)],
    ) {
        let branch: Branch = entries.into_iter().map(|(key, value)| Item::Entry { key, value }).collect();
        let tree = Tree::single(branch);
        let bytes = emit(&tree, indent).unwrap().to_vec();
        prop_assert_eq!(parse(&bytes).unwrap(), tree);
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse(&bytes);
        let mut framed = b"{\"k\": ".to_vec();
        framed.extend_from_slice(&bytes);
        let _ = parse(&framed);
    }
}
