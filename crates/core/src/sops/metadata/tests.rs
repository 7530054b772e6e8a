//! Tests of metadata reading, writing and flattening against real sops output.

use proptest::prelude::*;

use super::*;
use crate::test_support::{
    dotenv_sops_pairs, set_sops, sops_block, sops_block_json, sops_of, yaml_tree,
};
use crate::tree::{Branch, Item, Text, Value};

use crate::test_support::VECTORS;

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{VECTORS}/{path}"))
        .unwrap_or_else(|e| panic!("cannot read vector {path}: {e}"))
}

fn s(text: &str) -> Value {
    Value::Str(Text::from(text))
}

fn entry(key: &str, value: Value) -> Item {
    Item::Entry {
        key: key.to_owned(),
        value,
    }
}

fn age_entry(recipient: &str) -> Value {
    Value::Map(vec![entry("recipient", s(recipient)), entry("enc", s("E"))])
}

fn minimal() -> Branch {
    vec![
        entry("age", Value::List(vec![age_entry("age1a")])),
        entry("lastmodified", s("2026-11-22T03:22:16Z")),
        entry("mac", s("ENC[x]")),
        entry("version", s("3.11.0")),
    ]
}

#[test]
fn yaml_vectors_round_trip() {
    for path in ["vec.enc.yaml", "shamir/s.enc.yaml", "other/sample.enc.yaml"] {
        let block = sops_block(&read(path));
        let metadata = Metadata::from_branch(&block).unwrap();
        assert_eq!(metadata.to_branch(NullStyle::Yaml), block, "{path}");
    }
}

/// Re-writing the metadata of sops' own files through the real stores gives the same bytes.
#[test]
fn stores_reproduce_vector_bytes() {
    for path in ["vec.enc.yaml", "shamir/s.enc.yaml", "other/sample.enc.yaml"] {
        let text = read(path);
        let mut tree = yaml_tree(&text);
        let metadata = Metadata::from_branch(&sops_of(&tree)).unwrap();
        set_sops(&mut tree, metadata.to_branch(NullStyle::Yaml));
        let out = String::from_utf8(crate::store::yaml::emit(&tree, 4).unwrap().to_vec()).unwrap();
        // Only the metadata block is this module's output; the rest belongs to the YAML store.
        let block = |doc: &str| doc.split_once("\nsops:\n").map(|(_, b)| b.to_owned());
        assert_eq!(block(&out), block(&text), "{path}");
        assert!(block(&out).is_some(), "{path}");
    }

    let text = read("vec.enc.json");
    let mut tree = crate::store::json::parse(text.as_bytes()).unwrap();
    let metadata = Metadata::from_branch(&sops_of(&tree)).unwrap();
    set_sops(&mut tree, metadata.to_branch(NullStyle::Json));
    let out = crate::store::json::emit(&tree, None).unwrap().to_vec();
    assert_eq!(String::from_utf8(out).unwrap(), text);

    let text = read("other/sample.enc.env");
    let tree = crate::store::dotenv::parse(text.as_bytes()).unwrap();
    let (meta_items, mut items): (Vec<Item>, Vec<Item>) = tree.branches[0]
        .iter()
        .cloned()
        .partition(|item| matches!(item, Item::Entry { key, .. } if is_dotenv_metadata_key(key)));
    let pairs: Vec<(String, String)> = meta_items
        .iter()
        .filter_map(|item| match item {
            Item::Entry {
                key,
                value: Value::Str(t),
            } => Some((key.clone(), t.as_str().unwrap().to_owned())),
            _ => None,
        })
        .collect();
    let metadata = Metadata::from_branch(&unflatten_dotenv(&pairs).unwrap()).unwrap();
    for (key, value) in flatten_dotenv(&metadata.to_branch(NullStyle::Json)) {
        items.push(entry(&key, s(&value)));
    }
    let out = crate::store::dotenv::emit(&crate::tree::Tree::single(items))
        .unwrap()
        .to_vec();
    assert_eq!(String::from_utf8(out).unwrap(), text);
}

#[test]
fn vec_yaml_fields() {
    let metadata = Metadata::from_branch(&sops_block(&read("vec.enc.yaml"))).unwrap();
    assert_eq!(metadata.key_groups.len(), 1);
    assert_eq!(metadata.shamir_threshold, None);
    assert_eq!(metadata.last_modified, "2026-11-22T03:22:16Z");
    assert!(metadata.mac.starts_with("ENC[AES256_GCM,data:P0K2"));
    assert_eq!(
        metadata.crypt_rule,
        Some(CryptRule::UnencryptedSuffix("_unencrypted".into()))
    );
    assert_eq!(metadata.version, "3.11.0");
    let [KeyEntry::Age { recipient, enc }] = metadata.key_groups[0].as_slice() else {
        panic!("expected one age entry");
    };
    assert_eq!(
        recipient,
        "age1m69ryw24zjg9pmxr033synsftwkt4f8nh7xp7cm07at3n3r67yfswcwm58"
    );
    assert!(enc.starts_with("-----BEGIN AGE ENCRYPTED FILE-----\n"));
    assert!(enc.ends_with("-----END AGE ENCRYPTED FILE-----\n"));
}

#[test]
fn shamir_vector_fields() {
    let metadata = Metadata::from_branch(&sops_block(&read("shamir/s.enc.yaml"))).unwrap();
    assert_eq!(metadata.key_groups.len(), 3);
    assert_eq!(metadata.shamir_threshold, Some(2));
    assert_eq!(metadata.effective_threshold(), 2);
    let json = metadata.to_branch(NullStyle::Json);
    let Some(Value::List(groups)) = crate::tree::get(&json, "key_groups") else {
        panic!("key_groups missing");
    };
    let Value::Map(first) = &groups[0] else {
        panic!("group is not a map")
    };
    assert_eq!(crate::tree::get(first, "hc_vault"), Some(&Value::Null));
}

#[test]
fn json_vector_round_trips() {
    let block = sops_block_json(&read("vec.enc.json"));
    let metadata = Metadata::from_branch(&block).unwrap();
    assert_eq!(metadata.to_branch(NullStyle::Json), block);
}

#[test]
fn dotenv_vector_flattens_exactly() {
    let pairs = dotenv_sops_pairs(&read("other/sample.enc.env"));
    assert_eq!(pairs.len(), 6);
    let metadata = Metadata::from_branch(&unflatten_dotenv(&pairs).unwrap()).unwrap();
    assert_eq!(
        flatten_dotenv(&metadata.to_branch(NullStyle::Json)),
        pairs,
        "sorted sops_ lines as sops writes them"
    );
    assert!(pairs.iter().all(|(k, _)| is_dotenv_metadata_key(k)));
}

#[test]
fn ini_vector_reads_in_any_order() {
    let text = read("other/sample.enc.ini");
    let section = text
        .split("[sops]")
        .nth(1)
        .expect("the vector has a [sops] section");
    let pairs: Vec<(String, String)> = section
        .lines()
        .filter_map(|line| line.split_once(" = "))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().replace("\\n", "\n")))
        .collect();
    let metadata = Metadata::from_flat(&pairs).unwrap();
    let mut sorted = pairs;
    sorted.sort();
    assert_eq!(metadata.to_flat(), sorted);
}

#[test]
fn shamir_flattened_like_sops() {
    let metadata = Metadata::from_branch(&sops_block(&read("shamir/s.enc.yaml"))).unwrap();
    let flat = flatten_dotenv(&metadata.to_branch(NullStyle::Json));
    assert!(flat.contains(&("sops_shamir_threshold".into(), "2".into())));
    assert!(
        flat.iter()
            .any(|(k, _)| k == "sops_key_groups__list_2__map_age__list_0__map_enc")
    );
    assert!(!flat.iter().any(|(k, _)| k.contains("hc_vault")));
    let back = Metadata::from_branch(&unflatten_dotenv(&flat).unwrap()).unwrap();
    assert_eq!(back, metadata);
}

#[test]
fn legacy_and_loose_forms_are_read() {
    let mut branch = minimal();
    branch.insert(0, entry("kms", Value::List(Vec::new())));
    branch.insert(0, entry("pgp", Value::Null));
    branch.insert(0, entry("shamir_threshold", Value::Float(0.0)));
    branch.push(entry("mac_only_encrypted", s("true")));
    branch[4] = entry("lastmodified", Value::Time("2026-11-22T03:22:16Z".into()));
    let metadata = Metadata::from_branch(&branch).unwrap();
    assert_eq!(metadata.shamir_threshold, None);
    assert!(metadata.mac_only_encrypted);
    assert_eq!(metadata.last_modified, "2026-11-22T03:22:16Z");
    assert_eq!(metadata.crypt_rule, None);
    assert_eq!(
        metadata.effective_crypt_rule(),
        CryptRule::UnencryptedSuffix("_unencrypted".into())
    );

    for threshold in [s("2"), s("2.0"), Value::Float(2.0), Value::Int(2)] {
        let mut branch = minimal();
        branch.push(entry("shamir_threshold", threshold));
        assert_eq!(
            Metadata::from_branch(&branch).unwrap().shamir_threshold,
            Some(2)
        );
    }
}

#[test]
fn top_level_keys_win_over_key_groups() {
    let mut branch = minimal();
    branch.push(entry(
        "key_groups",
        Value::List(vec![
            Value::Map(vec![entry("age", Value::List(vec![age_entry("age1g")]))]),
            Value::Map(vec![entry("age", Value::List(vec![age_entry("age1h")]))]),
        ]),
    ));
    let metadata = Metadata::from_branch(&branch).unwrap();
    assert_eq!(metadata.key_groups.len(), 1);
    assert_eq!(metadata.key_groups[0][0].identifier(), "age1a");

    branch.remove(0);
    let metadata = Metadata::from_branch(&branch).unwrap();
    assert_eq!(metadata.key_groups.len(), 2);
    assert_eq!(metadata.effective_threshold(), 2);
}

#[test]
fn groups_load_in_sops_order_and_identify_keys() {
    let vault = Value::Map(vec![
        entry("vault_address", s("https://v:8200")),
        entry("engine_path", s("team/transit")),
        entry("key_name", s("k")),
        entry("created_at", s("2026-01-01T00:00:00Z")),
        entry("enc", s("vault:v1:x")),
    ]);
    let mut branch = minimal();
    branch.insert(0, entry("hc_vault", Value::List(vec![vault])));
    let metadata = Metadata::from_branch(&branch).unwrap();
    let kinds: Vec<&str> = metadata.key_groups[0].iter().map(KeyEntry::kind).collect();
    assert_eq!(kinds, ["hc_vault", "age"]);
    assert_eq!(
        metadata.key_groups[0][0].identifier(),
        "https://v:8200/v1/team/transit/keys/k"
    );
    let out = metadata.to_branch(NullStyle::Yaml);
    let keys: Vec<&str> = out
        .iter()
        .filter_map(|i| match i {
            Item::Entry { key, .. } => Some(key.as_str()),
            Item::Comment(_) => None,
        })
        .collect();
    assert_eq!(keys, ["hc_vault", "age", "lastmodified", "mac", "version"]);
}

#[test]
fn more_key_entries_than_the_bound_are_refused() {
    let with_entries = |count: usize| {
        let mut branch = minimal();
        branch[0] = entry(
            "key_groups",
            Value::List(vec![
                Value::Map(vec![entry(
                    "age",
                    Value::List(
                        (0..count / 2)
                            .map(|i| age_entry(&format!("age1{i}")))
                            .collect(),
                    ),
                )]),
                Value::Map(vec![entry(
                    "age",
                    Value::List(
                        (count / 2..count)
                            .map(|i| age_entry(&format!("age1{i}")))
                            .collect(),
                    ),
                )]),
            ]),
        );
        Metadata::from_branch(&branch)
    };
    let read = with_entries(MAX_KEY_ENTRIES).unwrap();
    assert_eq!(
        read.key_groups.iter().map(Vec::len).sum::<usize>(),
        MAX_KEY_ENTRIES
    );
    match with_entries(MAX_KEY_ENTRIES + 1) {
        Err(error @ MetadataError::TooManyKeyEntries { count }) => {
            assert_eq!(count, MAX_KEY_ENTRIES + 1);
            assert!(error.to_string().contains("4097 key entries"), "{error}");
        }
        other => panic!("expected TooManyKeyEntries, got {other:?}"),
    }
}

#[test]
fn errors_name_their_cause() {
    let mut branch = minimal();
    branch.pop();
    match Metadata::from_branch(&branch) {
        Err(MetadataError::MissingVersion { metadata }) => {
            assert_eq!(metadata.key_groups.len(), 1);
        }
        other => panic!("expected MissingVersion, got {other:?}"),
    }

    let branch: Branch = minimal().into_iter().skip(1).collect();
    assert!(matches!(
        Metadata::from_branch(&branch),
        Err(MetadataError::NoKeys)
    ));

    let mut branch = minimal();
    branch.remove(1);
    assert!(matches!(
        Metadata::from_branch(&branch),
        Err(MetadataError::MissingField { field }) if field == "lastmodified"
    ));

    let mut branch = minimal();
    branch[0] = entry("age", Value::List(vec![s("age1a")]));
    assert!(matches!(
        Metadata::from_branch(&branch),
        Err(MetadataError::InvalidType { field, .. }) if field == "age[0]"
    ));

    let mut branch = minimal();
    branch[0] = entry(
        "age",
        Value::List(vec![Value::Map(vec![entry(
            "recipient",
            Value::List(vec![]),
        )])]),
    );
    assert!(matches!(
        Metadata::from_branch(&branch),
        Err(MetadataError::InvalidType { field, .. }) if field == "age[0].recipient"
    ));

    for bad in [s("two"), s("2.5"), Value::Float(-1.0), Value::Int(-3)] {
        let mut branch = minimal();
        branch.push(entry("shamir_threshold", bad));
        assert!(matches!(
            Metadata::from_branch(&branch),
            Err(MetadataError::InvalidNumber { field, .. }) if field == "shamir_threshold"
        ));
    }

    let mut branch = minimal();
    branch.push(entry("unencrypted_suffix", s("_u")));
    branch.push(entry("encrypted_regex", s("^a")));
    assert!(matches!(
        Metadata::from_branch(&branch),
        Err(MetadataError::ConflictingCryptRules {
            first: "unencrypted_suffix",
            second: "encrypted_regex"
        })
    ));

    let pair = |k: &str| (k.to_owned(), "v".to_owned());
    assert!(matches!(
        unflatten(&[pair("age__list_x__map_enc")]),
        Err(MetadataError::InvalidFlattenedKey { .. })
    ));
    assert!(matches!(
        unflatten(&[pair("age__list_99999999999__map_enc")]),
        Err(MetadataError::InvalidFlattenedKey { .. })
    ));
    assert!(matches!(
        unflatten_dotenv(&[pair("version")]),
        Err(MetadataError::InvalidFlattenedKey { .. })
    ));
    assert!(matches!(
        unflatten(&[pair("age"), pair("age__list_0__map_enc")]),
        Err(MetadataError::FlattenConflict { .. })
    ));
    assert!(matches!(
        unflatten(&[pair("age__map_x"), pair("age__list_0")]),
        Err(MetadataError::FlattenConflict { .. })
    ));
    assert!(matches!(
        unflatten(&[pair("mac"), pair("mac")]),
        Err(MetadataError::FlattenConflict { .. })
    ));
}

/// Every JSON-shaped file of the real-world corpus has readable metadata (or only lacks a
/// version), and writing it back gives the same block where sops 3.11 wrote it.
#[test]
fn corpus_json_metadata_reads() {
    let index =
        std::fs::read_to_string(format!("{}/index.json", crate::test_support::CORPUS)).unwrap();
    let index: serde_json::Value = serde_json::from_str(&index).unwrap();
    let mut seen = 0;
    for item in index.as_array().unwrap() {
        let store = item["store"].as_str().unwrap_or_default();
        if store != "json" && store != "binary" {
            continue;
        }
        let path = format!(
            "{}/{}",
            crate::test_support::CORPUS,
            item["file"].as_str().unwrap()
        );
        let text = std::fs::read_to_string(&path).unwrap();
        let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        if json.get("sops").is_none() {
            continue;
        }
        seen += 1;
        match Metadata::from_branch(&sops_block_json(&text)) {
            Ok(_) | Err(MetadataError::MissingVersion { .. }) => {}
            Err(e) => panic!("{path}: {e}"),
        }
    }
    assert!(seen >= 5, "only {seen} corpus files checked");
}

#[test]
fn debug_shows_no_surprises() {
    let metadata = Metadata::from_branch(&minimal()).unwrap();
    let shown = format!("{metadata:?}");
    assert!(shown.contains("age1a"));
}

fn text_strategy() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9:/+=. -]{0,12}"
}

fn nonempty_text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9:/+=.-]{1,12}"
}

fn entry_strategy() -> impl Strategy<Value = KeyEntry> {
    let t = text_strategy;
    prop_oneof![
        (t(), "[a-zA-Z0-9\n-]{0,40}").prop_map(|(recipient, enc)| KeyEntry::Age { recipient, enc }),
        (t(), t(), t(), t(), t()).prop_map(|(a, b, c, d, e)| KeyEntry::HcVault {
            vault_address: a,
            engine_path: b,
            key_name: c,
            created_at: d,
            enc: e,
        }),
        (t(), t(), t()).prop_map(|(a, b, c)| KeyEntry::Pgp {
            created_at: a,
            enc: b,
            fp: c,
        }),
        (
            t(),
            t(),
            proptest::collection::vec(("[a-z]{1,6}", nonempty_text()), 0..3),
            t(),
            t(),
            t()
        )
            .prop_map(|(arn, role, context, created_at, enc, aws_profile)| {
                let mut context: Vec<(String, String)> = context;
                context.sort();
                context.dedup_by(|a, b| a.0 == b.0);
                KeyEntry::Kms {
                    arn,
                    role,
                    context,
                    created_at,
                    enc,
                    aws_profile,
                }
            }),
        (t(), t(), t()).prop_map(|(a, b, c)| KeyEntry::GcpKms {
            resource_id: a,
            created_at: b,
            enc: c,
        }),
        (t(), t(), t(), t(), t()).prop_map(|(a, b, c, d, e)| KeyEntry::AzureKv {
            vault_url: a,
            name: b,
            version: c,
            created_at: d,
            enc: e,
        }),
    ]
}

fn group_strategy() -> impl Strategy<Value = KeyGroup> {
    proptest::collection::vec(entry_strategy(), 1..5).prop_map(|mut group| {
        sort_group(&mut group);
        group
    })
}

fn rule_strategy() -> impl Strategy<Value = Option<CryptRule>> {
    prop_oneof![
        Just(None),
        nonempty_text().prop_map(|t| Some(CryptRule::UnencryptedSuffix(t))),
        nonempty_text().prop_map(|t| Some(CryptRule::EncryptedSuffix(t))),
        nonempty_text().prop_map(|t| Some(CryptRule::UnencryptedRegex(t))),
        nonempty_text().prop_map(|t| Some(CryptRule::EncryptedRegex(t))),
        nonempty_text().prop_map(|t| Some(CryptRule::UnencryptedCommentRegex(t))),
        nonempty_text().prop_map(|t| Some(CryptRule::EncryptedCommentRegex(t))),
    ]
}

fn metadata_strategy() -> impl Strategy<Value = Metadata> {
    (
        proptest::collection::vec(group_strategy(), 1..4),
        proptest::option::of(1usize..6),
        nonempty_text(),
        text_strategy(),
        rule_strategy(),
        any::<bool>(),
        nonempty_text(),
    )
        .prop_map(
            |(key_groups, shamir_threshold, last_modified, mac, crypt_rule, mac_only, version)| {
                Metadata {
                    key_groups,
                    shamir_threshold,
                    last_modified,
                    mac,
                    crypt_rule,
                    mac_only_encrypted: mac_only,
                    version,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn branch_round_trip(metadata in metadata_strategy()) {
        for style in [NullStyle::Yaml, NullStyle::Json] {
            let back = Metadata::from_branch(&metadata.to_branch(style)).unwrap();
            prop_assert_eq!(&back, &metadata);
        }
    }

    #[test]
    fn flat_round_trip(metadata in metadata_strategy()) {
        let flat = metadata.to_flat();
        let mut sorted = flat.clone();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        prop_assert_eq!(&flat, &sorted);
        prop_assert_eq!(&Metadata::from_flat(&flat).unwrap(), &metadata);
        let ini = flatten_ini(&metadata.to_branch(NullStyle::Json));
        prop_assert!(ini.iter().all(|(_, v)| !v.contains('\n')));
        let back = Metadata::from_branch(&unflatten_ini(&ini).unwrap()).unwrap();
        prop_assert_eq!(&back, &metadata);
        let dotenv = flatten_dotenv(&metadata.to_branch(NullStyle::Json));
        let back = Metadata::from_branch(&unflatten_dotenv(&dotenv).unwrap()).unwrap();
        prop_assert_eq!(&back, &metadata);
    }
}

/// Flattening sorts the pairs by key (was the doctest of the crate-private `flatten`).
#[test]
fn flatten_sorts_pairs_by_key() {
    let metadata = Metadata {
        key_groups: vec![vec![KeyEntry::Age {
            recipient: "age1r".into(),
            enc: "E".into(),
        }]],
        shamir_threshold: None,
        last_modified: "2026-11-22T03:19:01Z".into(),
        mac: "ENC[…]".into(),
        crypt_rule: None,
        mac_only_encrypted: false,
        version: "3.11.0".into(),
    };
    let pairs = flatten(&metadata.to_branch(NullStyle::Json));
    assert_eq!(
        pairs[0],
        ("age__list_0__map_enc".to_owned(), "E".to_owned())
    );
}
