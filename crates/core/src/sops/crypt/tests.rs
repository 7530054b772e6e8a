//! Tests of the tree cipher: sops 3.11 vectors, the walk's AAD and key paths, crypt rules,
//! comments, the MAC, refusals of clear values in encrypted positions, and the audit.

use super::audit::plausible_length;
use super::*;
use crate::sops::mac::{MacError, decrypt_mac, verify_mac};
use crate::sops::value::ParseEncryptedValueError;
use crate::tree::Item;

/// `vec.enc.yaml` as written by sops 3.11.0 (shared/vectors; research/sops-format.md §15).
const VEC_ENC_YAML: &str = r#"#ENC[AES256_GCM,data:W8G+nBbp8CR0L6VdFcZC+6Hm,iv:gSUmP8mj7IDe8EDPe0N/fSPacWqlaxYTmnI42XDwj8s=,tag:aoTJNE6Ilm/SVo5p3ym1WA==,type:comment]
user: ENC[AES256_GCM,data:E1QvyQA=,iv:WvSHmQrT7ECNIOu8Vg4ypL5jvKTVHOaBRDc9aYM1HVA=,tag:khd3WwNey0RhpEHSzUfHFw==,type:str]
port: ENC[AES256_GCM,data:fvL+0A==,iv:NgmMEvg4xPiMi7sELSK1I2ksqzA8yVNe5GmGiys2n58=,tag:K7x9YZGe2N8P5NIBemMlZQ==,type:int]
ratio: ENC[AES256_GCM,data:q4cdfg==,iv:1ZEDOqRWPTs31dNJxtlvRl3Pi09utiPuH4PlbjzWgbU=,tag:t70Asf28ZWEgva1ZvVJRbQ==,type:float]
enabled: ENC[AES256_GCM,data:Z7k17Q==,iv:3c1u4U7u7QkjUpoVAHWHUG9kC0xwFKhb6wF6xkjC6Ow=,tag:bTmX66x8C9oqPQQGKxgjIA==,type:bool]
empty: ""
nothing: null
db:
    password: ENC[AES256_GCM,data:Ye7OymSO,iv:KS+1ZzaNmsaRpT57NYf3aIrAT00VVb29Xp21Z5YZLlg=,tag:fM3Er1MIBFW8KvnYKKgXyg==,type:str]
    host_unencrypted: db.local
list:
    - ENC[AES256_GCM,data:/46G,iv:xA3oKoUdz/JWGdiwAOtV+dsJfAZ7ZgBdYV8Gie56vp8=,tag:4+5KFHYyNt3+bFdBxd/xMA==,type:str]
    - ENC[AES256_GCM,data:Uw==,iv:1fjA2Qrw+4ZvmoheWjVeF1UFmEeLZudyPPnzDPP0Ejg=,tag:1gsX3K4vOExnfaVAfN+GXA==,type:int]
sops:
    age:
        - recipient: age1m69ryw24zjg9pmxr033synsftwkt4f8nh7xp7cm07at3n3r67yfswcwm58
          enc: |
            -----BEGIN AGE ENCRYPTED FILE-----
            YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSBlQkxvbWVWMmlXZEc3Z2pX
            OWp1MElXY2hDQzN3d0dDUi9DeG52YzJIREJzCllwYm9lVUJvYVpsd04rTFJuSEZS
            aStjNEEwYzZUMzI0VFpxbE1xdm9ON1UKLS0tIGNSLzA0VzNmVnNXUGFFYnhUczlv
            MENRWEhaa21Dd2RzWEhGV1daUGh1OFEK8l1DbSqAuQHESiR4Jv/5iEqGfnWDIy8f
            TXDCzOV+TK1jnJ9wvtWiGbCkpt9oCrG85Eq+BIG5DT8QdquGqDj/8w==
            -----END AGE ENCRYPTED FILE-----
    lastmodified: "2026-11-22T03:22:16Z"
    mac: ENC[AES256_GCM,data:P0K2JJkAnrdoQTQc+mxFLPhaEAFbueQxweNc+a1vTYcjhZrug1K90k54wRwTDhyV5GzRkR+ByUue6MftsTh2NDBHEqMjXq++YCGLUp7ITut4kcB+kqJzxv8+MNfalFPItNm+BFlO/ITVfI/4GLWSH2suRDJfcpLJqDwqkLFHgec=,iv:CcMONoxDxjbtkZQ/iw1a2L1xpJ+qWTUMtv7EmZ7ZZjg=,tag:sI1LLoAlZ5RBwAVr99Y9hQ==,type:str]
    unencrypted_suffix: _unencrypted
    version: 3.11.0
"#;
/// `vec.enc.json` as written by sops 3.11.0.
const VEC_ENC_JSON: &str = r#"{
	"user": "ENC[AES256_GCM,data:KR3fMeA=,iv:EgvWPTksUkZIsdl7caiaLpLV8JfSXQ64wWAktW/YDo4=,tag:hh34rdhLpuEpZVtR/yqpFA==,type:str]",
	"n": "ENC[AES256_GCM,data:mgQ=,iv:FONSQJ+9sBWmbUx7ERXV0mgEY7fg6iL4qP9ESohryi0=,tag:D5yCCDlOtZWxyPNObzwgng==,type:float]",
	"ok": "ENC[AES256_GCM,data:DSKMPoA=,iv:evWi4q0FIU7HkoiISh5h3ljUIjJ6zHvyRbU9l3RMmUQ=,tag:YL56xBZu6nR66B0BfZ7wzw==,type:bool]",
	"nested": {
		"token": "ENC[AES256_GCM,data:vy6r,iv:gpavDUKbhSSBe0tvFvZQFWhQudAqMYfLKIj5ifSlaEw=,tag:IicMOGS+i+qW5Tzu33ROSw==,type:str]",
		"arr": [
			"ENC[AES256_GCM,data:Xw==,iv:SW61oZeVeqLj5rULvZ80BWpHal5Z56KPAUDjbLVD9L4=,tag:YxaYSScdsp0rp/O2TR+u8A==,type:str]",
			"ENC[AES256_GCM,data:KPO8,iv:jXMEIPYwT7ExjzUiXYt00KZ5pnWFOyYB9y/XTh8hsk8=,tag:V3wabijb2NmUNuyF0t12UA==,type:float]"
		]
	},
	"sops": {
		"age": [
			{
				"recipient": "age1m69ryw24zjg9pmxr033synsftwkt4f8nh7xp7cm07at3n3r67yfswcwm58",
				"enc": "-----BEGIN AGE ENCRYPTED FILE-----\nYWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSB4ZVdNL0ZFS1FCdnUwQ3RY\nTjBUS1diUVZOTVErUTd6dXZGMmRjVjFNcG5FClBCa1VNbEFyTjVKYVpEaEh1RGpU\nSURPb1l0cXRBL2Q4UmE0Tm9yQUEzYVUKLS0tIDJDZnJLU3cwMGlUWFJ6QlJYdmxo\ncDB5RHoyUGJBczBHV3lJVHFSR29QZVkKCcKD75bwtvqoNe1UjyZa+e6ucR8C7vLf\npvp03dJgpjikiUhIH9QvQU+l/4mzPBeNmOFVNsOsxzYsiwudAL6nWg==\n-----END AGE ENCRYPTED FILE-----\n"
			}
		],
		"lastmodified": "2026-11-22T03:22:16Z",
		"mac": "ENC[AES256_GCM,data:Sg+GcSoy8Z7DbkFo0G5hd7bozsFPt10UdguvvQAXcGCHKu3An2gDDIWmo9Z3HubOQVzPMsuJDFTZsPQrEZipYMNKc9gC6ZBC6r35MXhsOFAbMZwKQ2XhGN4p8b6tNBCgD+pXOcWFM0dS2FtwG7nNndcrZPAidC/ImEMp14agGsA=,iv:HuzNNsgHyaKTy8U0z1oeAo4Z2TDmyOGWyISQRwlCH5A=,tag:XXvFMDvpdMCITsXNQ7YZig==,type:str]",
		"unencrypted_suffix": "_unencrypted",
		"version": "3.11.0"
	}
}
"#;
const YAML_KEY: &str = "97d1050fb4b1c52a7dd1a3bf12b831236577c25fe37d08f9941b566498632e70";
const YAML_MAC: &str = "485A82CC1EB3EBCA9084BBE44444D8091E71B36CC6B3165CE6B9BA946CF42815C6C9351A3526AA9B5E184ABA72D14D86CBB4B148E69AFA326D3CBAC42944F9F2";
const JSON_KEY: &str = "061731bdb93b594c1cfa4d44ba19d1a559f540e50efab4814ab248c1159170ce";
const JSON_MAC: &str = "22E711CAC07D42680436C28BF862364074C8FBA3B0F754495C82BDC7335438A8B5EECBA8B229ED4EB88089F26DD1059A8F4BED609386299302AEB57233E21889";

fn key_from_hex(hex: &str) -> DataKey {
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    DataKey::from_bytes(&bytes).unwrap()
}

/// A simple line scan: every `ENC[...]` in file order (values first, then `mac`), and the
/// `lastmodified` text.
fn scan(file: &str) -> (Vec<String>, String) {
    let mut encs = Vec::new();
    let mut lastmodified = String::new();
    for line in file.lines() {
        if let Some(start) = line.find("ENC[") {
            let enc = line[start..].trim_end_matches(',').trim_end_matches('"');
            encs.push(enc.to_owned());
        }
        if let Some(rest) = line
            .trim()
            .strip_prefix("lastmodified:")
            .or_else(|| line.trim().strip_prefix("\"lastmodified\":"))
        {
            lastmodified = rest
                .trim()
                .trim_end_matches(',')
                .trim_matches('"')
                .to_owned();
        }
    }
    (encs, lastmodified)
}

fn entry(key: &str, value: Value) -> Item {
    Item::Entry {
        key: key.to_owned(),
        value,
    }
}

fn s(text: &str) -> Value {
    Value::Str(text.into())
}

/// The tree of vec.enc.yaml, with its ENC strings in file order.
fn yaml_tree(encs: &[String]) -> Tree {
    Tree::single(vec![
        Item::Comment(encs[0].as_str().into()),
        entry("user", s(&encs[1])),
        entry("port", s(&encs[2])),
        entry("ratio", s(&encs[3])),
        entry("enabled", s(&encs[4])),
        entry("empty", s("")),
        entry("nothing", Value::Null),
        entry(
            "db",
            Value::Map(vec![
                entry("password", s(&encs[5])),
                entry("host_unencrypted", s("db.local")),
            ]),
        ),
        entry("list", Value::List(vec![s(&encs[6]), s(&encs[7])])),
    ])
}

fn yaml_plain() -> Tree {
    Tree::single(vec![
        Item::Comment(" top-level comment".into()),
        entry("user", s("alice")),
        entry("port", Value::Int(5432)),
        entry("ratio", Value::Float(0.75)),
        entry("enabled", Value::Bool(true)),
        entry("empty", s("")),
        entry("nothing", Value::Null),
        entry(
            "db",
            Value::Map(vec![
                entry("password", s("s3cret")),
                entry("host_unencrypted", s("db.local")),
            ]),
        ),
        entry("list", Value::List(vec![s("one"), Value::Int(2)])),
    ])
}

fn json_tree(encs: &[String]) -> Tree {
    Tree::single(vec![
        entry("user", s(&encs[0])),
        entry("n", s(&encs[1])),
        entry("ok", s(&encs[2])),
        entry(
            "nested",
            Value::Map(vec![
                entry("token", s(&encs[3])),
                entry("arr", Value::List(vec![s(&encs[4]), s(&encs[5])])),
            ]),
        ),
    ])
}

fn json_plain() -> Tree {
    Tree::single(vec![
        entry("user", s("alice")),
        entry("n", Value::Float(42.0)),
        entry("ok", Value::Bool(false)),
        entry(
            "nested",
            Value::Map(vec![
                entry("token", s("abc")),
                entry("arr", Value::List(vec![s("x"), Value::Float(1.5)])),
            ]),
        ),
    ])
}

/// Decrypts a sops vector, checks plaintext, MAC and stored MAC, then re-encrypts with the
/// stash and checks that every ENC string comes back byte for byte.
fn check_vector(
    file: &str,
    key_hex: &str,
    mac_hex: &str,
    build: fn(&[String]) -> Tree,
    plain: Tree,
    rule: Option<&CryptRule>,
) {
    let key = key_from_hex(key_hex);
    let (encs, lastmodified) = scan(file);
    let (mac_enc, value_encs) = encs.split_last().unwrap();
    let encrypted = build(value_encs);
    let mut tree = encrypted.clone();
    let mut stash = IvStash::new();
    let mac = decrypt_tree(
        &mut tree,
        &key,
        Some(&CryptRule::default()),
        MacScope::AllValues,
        Some(&mut stash),
    )
    .unwrap();
    assert_eq!(tree, plain);
    assert_eq!(mac.expose_secret(), mac_hex);
    let cipher = Cipher::new(&key);
    assert_eq!(
        decrypt_mac(&cipher, mac_enc, &lastmodified)
            .unwrap()
            .expose_secret(),
        mac_hex
    );
    verify_mac(&cipher, mac_enc, &lastmodified, &mac).unwrap();

    let mac_again = encrypt_tree(&mut tree, &key, rule, MacScope::AllValues, &stash).unwrap();
    assert_eq!(mac_again.expose_secret(), mac_hex);
    assert_eq!(tree, encrypted);
}

#[test]
fn sops_yaml_vector() {
    check_vector(
        VEC_ENC_YAML,
        YAML_KEY,
        YAML_MAC,
        yaml_tree,
        yaml_plain(),
        Some(&CryptRule::default()),
    );
}

#[test]
fn sops_json_vector() {
    check_vector(
        VEC_ENC_JSON,
        JSON_KEY,
        JSON_MAC,
        json_tree,
        json_plain(),
        Some(&CryptRule::default()),
    );
}

#[test]
fn sops_vector_values_reencrypt_with_same_iv() {
    let key = key_from_hex(YAML_KEY);
    let cipher = Cipher::new(&key);
    let (encs, _) = scan(VEC_ENC_YAML);
    for (enc, aad) in encs.iter().zip([
        ":",
        "user:",
        "port:",
        "ratio:",
        "enabled:",
        "db:password:",
        "list:",
        "list:",
    ]) {
        let parsed = EncryptedValue::parse(enc.as_bytes()).unwrap();
        let plain = cipher.decrypt(&parsed, aad.as_bytes()).unwrap();
        let iv: [u8; 32] = parsed.iv.as_slice().try_into().unwrap();
        let again = cipher
            .encrypt(&plain, parsed.value_type, aad.as_bytes(), &iv)
            .unwrap();
        assert_eq!(again.to_string(), *enc);
    }
}

fn sample() -> Tree {
    Tree::single(vec![
        Item::Comment(" top".into()),
        entry(
            "db",
            Value::Map(vec![
                entry("password", s("hunter2")),
                entry("port", Value::Int(5432)),
            ]),
        ),
        entry(
            "list",
            Value::List(vec![
                s("first"),
                Value::Comment(" in list".into()),
                s("second"),
            ]),
        ),
        entry("host_unencrypted", s("db.local")),
    ])
}

fn key() -> DataKey {
    DataKey::from_bytes(&[0x11; 32]).unwrap()
}

fn encrypted_sample() -> (Tree, MacHex) {
    let mut tree = sample();
    let mac = encrypt_tree(
        &mut tree,
        &key(),
        Some(&CryptRule::default()),
        MacScope::AllValues,
        &IvStash::new(),
    )
    .unwrap();
    (tree, mac)
}

fn is_enc(value: &Value) -> bool {
    matches!(value, Value::Str(t) if EncryptedValue::is_encrypted(t.as_bytes()))
}

fn map_value<'a>(tree: &'a Tree, path: &[&str]) -> &'a Value {
    let mut branch = &tree.branches[0];
    let mut value = None;
    for key in path {
        let found = crate::tree::get(branch, key).unwrap();
        if let Value::Map(inner) = found {
            branch = inner;
        }
        value = Some(found);
    }
    value.unwrap()
}

#[test]
fn list_comment_becomes_string_element_and_back() {
    let (mut tree, mac) = encrypted_sample();
    let Value::List(items) = map_value(&tree, &["list"]) else {
        panic!()
    };
    assert!(matches!(&items[1], Value::Str(t) if t.as_str().unwrap().ends_with("type:comment]")));
    assert!(
        matches!(&tree.branches[0][0], Item::Comment(t) if t.as_str().unwrap().starts_with("ENC["))
    );
    assert!(!is_enc(map_value(&tree, &["host_unencrypted"])));
    assert!(is_enc(map_value(&tree, &["db", "port"])));
    let decrypted = decrypt_tree(
        &mut tree,
        &key(),
        Some(&CryptRule::default()),
        MacScope::AllValues,
        Some(&mut IvStash::new()),
    )
    .unwrap();
    assert!(decrypted.ct_eq(&mac));
    assert_eq!(tree, sample());
}

#[test]
fn mac_only_encrypted_skips_clear_values() {
    let mut tree = sample();
    let only = encrypt_tree(
        &mut tree,
        &key(),
        Some(&CryptRule::default()),
        MacScope::OnlyEncrypted,
        &IvStash::new(),
    )
    .unwrap();
    let mut hasher = MacHasher::new(MacScope::OnlyEncrypted);
    for leaf in [&b"hunter2"[..], b"5432", b"first", b"second"] {
        hasher.add_leaf(leaf, true);
    }
    assert!(only.ct_eq(&hasher.finish()));
    let back = decrypt_tree(
        &mut tree,
        &key(),
        Some(&CryptRule::default()),
        MacScope::OnlyEncrypted,
        Some(&mut IvStash::new()),
    )
    .unwrap();
    assert!(back.ct_eq(&only));
}

/// Which leaves (by key path, in order) end up encrypted under `rule`.
fn encrypted_paths(tree: &Tree, rule: &CryptRule) -> Vec<String> {
    let mut tree = tree.clone();
    encrypt_tree(
        &mut tree,
        &key(),
        Some(rule),
        MacScope::AllValues,
        &IvStash::new(),
    )
    .unwrap();
    let mut out = Vec::new();
    walk_tree(&mut tree, None, |slot, context| {
        if slot.text().is_some_and(EncryptedValue::is_encrypted) {
            let kind = if slot.is_comment()
                || matches!(slot.text(), Some(t) if t.ends_with(b"type:comment]"))
            {
                "#"
            } else {
                ""
            };
            out.push(format!("{kind}{}", context.key_path()));
        }
    });
    out
}

fn rules_tree() -> Tree {
    Tree::single(vec![
        Item::Comment(" sops:enc".into()),
        Item::Comment(" after marker".into()),
        entry("a", s("1")),
        entry(
            "data",
            Value::Map(vec![entry("x", s("2")), entry("y_secret", s("3"))]),
        ),
        entry("metadata", Value::Map(vec![entry("name", s("4"))])),
        Item::Comment(" sops:clear".into()),
        entry(
            "cfg_unencrypted",
            Value::Map(vec![Item::Comment(" inner".into()), entry("z", s("5"))]),
        ),
        entry("b", s("6")),
    ])
}

#[test]
fn crypt_rules_on_a_tree() {
    let tree = rules_tree();
    let cases: [(CryptRule, &[&str]); 7] = [
        (
            CryptRule::default(),
            &[
                "#",
                "#",
                r#"["a"]"#,
                r#"["data"]["x"]"#,
                r#"["data"]["y_secret"]"#,
                r#"["metadata"]["name"]"#,
                "#",
                r#"["b"]"#,
            ],
        ),
        (
            CryptRule::EncryptedSuffix("_secret".into()),
            &[r#"["data"]["y_secret"]"#],
        ),
        (
            CryptRule::UnencryptedSuffix("_secret".into()),
            &[
                "#",
                "#",
                r#"["a"]"#,
                r#"["data"]["x"]"#,
                r#"["metadata"]["name"]"#,
                "#",
                "#[\"cfg_unencrypted\"]",
                r#"["cfg_unencrypted"]["z"]"#,
                r#"["b"]"#,
            ],
        ),
        // Each key on its own: `data` matches, `metadata` does not (anchored regex).
        (
            CryptRule::EncryptedRegex("^data$".into()),
            &[r#"["data"]["x"]"#, r#"["data"]["y_secret"]"#],
        ),
        (
            CryptRule::UnencryptedRegex("^(data|cfg_.*)$".into()),
            &[
                "#",
                "#",
                r#"["a"]"#,
                r#"["metadata"]["name"]"#,
                "#",
                r#"["b"]"#,
            ],
        ),
        // The marker comment stays clear, the comment after it and the next entry are encrypted.
        (
            CryptRule::EncryptedCommentRegex("sops:enc".into()),
            &["#", r#"["a"]"#],
        ),
        // The matching comment stays clear; the entry under it (and its subtree) too.
        (
            CryptRule::UnencryptedCommentRegex("sops:clear".into()),
            &[
                "#",
                "#",
                r#"["a"]"#,
                r#"["data"]["x"]"#,
                r#"["data"]["y_secret"]"#,
                r#"["metadata"]["name"]"#,
                r#"["b"]"#,
            ],
        ),
    ];
    for (rule, expected) in cases {
        assert_eq!(encrypted_paths(&tree, &rule), expected, "{rule:?}");
    }
    // Decryption gives the tree back whatever the rule.
    let mut encrypted = tree.clone();
    encrypt_tree(
        &mut encrypted,
        &key(),
        Some(&CryptRule::EncryptedCommentRegex("sops:enc".into())),
        MacScope::AllValues,
        &IvStash::new(),
    )
    .unwrap();
    decrypt_tree(
        &mut encrypted,
        &key(),
        Some(&CryptRule::EncryptedCommentRegex("sops:enc".into())),
        MacScope::AllValues,
        None,
    )
    .unwrap();
    assert_eq!(encrypted, tree);
}

#[test]
fn no_rule_encrypts_everything_and_bad_regex_fails() {
    let mut tree = rules_tree();
    encrypt_tree(
        &mut tree,
        &key(),
        None,
        MacScope::AllValues,
        &IvStash::new(),
    )
    .unwrap();
    let mut clear = 0;
    walk_tree(&mut tree, None, |slot, _| {
        clear += usize::from(!slot.text().is_some_and(EncryptedValue::is_encrypted))
    });
    assert_eq!(clear, 0);
    let mut tree = rules_tree();
    assert!(matches!(
        encrypt_tree(
            &mut tree,
            &key(),
            Some(&CryptRule::EncryptedRegex("(".into())),
            MacScope::AllValues,
            &IvStash::new()
        ),
        Err(EncryptError::InvalidRule(_))
    ));
}

#[test]
fn encrypted_comment_matching_unencrypted_comment_regex_is_refused() {
    let mut tree = Tree::single(vec![Item::Comment(" x".into()), entry("a", s("1"))]);
    let result = encrypt_tree(
        &mut tree,
        &key(),
        Some(&CryptRule::UnencryptedCommentRegex("ENC".into())),
        MacScope::AllValues,
        &IvStash::new(),
    );
    assert!(
        matches!(result, Err(EncryptError::EncryptedCommentMatchesRule { key_path }) if key_path.is_empty())
    );
}

/// Replaces the text of the leaf at `db.password`.
fn edit_password(tree: &mut Tree, edit: impl FnOnce(&str) -> String) {
    let Some(Item::Entry {
        value: Value::Map(db),
        ..
    }) = tree.branches[0].get_mut(1)
    else {
        panic!()
    };
    let Some(Item::Entry {
        value: Value::Str(text),
        ..
    }) = db.get_mut(0)
    else {
        panic!()
    };
    *text = edit(text.as_str().unwrap()).into();
}

fn flip_field(enc: &str, field: &str) -> String {
    let mut value = EncryptedValue::parse(enc.as_bytes()).unwrap();
    let bytes = match field {
        "data" => &mut value.data,
        "iv" => &mut value.iv,
        _ => &mut value.tag,
    };
    bytes[0] ^= 1;
    value.to_string()
}

#[test]
fn tampering_is_detected() {
    for field in ["data", "iv", "tag"] {
        let (mut tree, _) = encrypted_sample();
        edit_password(&mut tree, |enc| flip_field(enc, field));
        let result = decrypt_tree(
            &mut tree,
            &key(),
            Some(&CryptRule::default()),
            MacScope::AllValues,
            Some(&mut IvStash::new()),
        );
        assert!(
            matches!(&result, Err(DecryptError::Value { key_path, source: ValueError::Authentication }) if key_path == r#"["db"]["password"]"#),
            "{field}: {result:?}"
        );
    }
    // A malformed value is a parse error, at its path.
    let (mut tree, _) = encrypted_sample();
    edit_password(&mut tree, |enc| enc.replace("type:str", "type:nope"));
    assert!(matches!(
        decrypt_tree(
            &mut tree,
            &key(),
            Some(&CryptRule::default()),
            MacScope::AllValues,
            Some(&mut IvStash::new())
        ),
        Err(DecryptError::Value {
            source: ValueError::Parse(ParseEncryptedValueError::UnknownType { .. }),
            ..
        })
    ));
    // Moved to another key: the AAD no longer matches.
    let (mut tree, _) = encrypted_sample();
    let password = map_value(&tree, &["db", "password"]).clone();
    if let Some(Item::Entry { value, .. }) = tree.branches[0].get_mut(3) {
        *value = password;
    }
    assert!(matches!(
        decrypt_tree(&mut tree, &key(), None, MacScope::AllValues, Some(&mut IvStash::new())),
        Err(DecryptError::Value { key_path, source: ValueError::Authentication }) if key_path == r#"["host_unencrypted"]"#
    ));
    // Swapped list elements: same AAD, so values decrypt, but the MAC changes.
    let (mut tree, mac) = encrypted_sample();
    if let Some(Item::Entry {
        value: Value::List(items),
        ..
    }) = tree.branches[0].get_mut(2)
    {
        items.swap(0, 2);
    }
    let swapped = decrypt_tree(
        &mut tree,
        &key(),
        Some(&CryptRule::default()),
        MacScope::AllValues,
        Some(&mut IvStash::new()),
    )
    .unwrap();
    assert!(!swapped.ct_eq(&mac));
    // A wrong key fails at the first value.
    let (mut tree, _) = encrypted_sample();
    let wrong = DataKey::from_bytes(&[0x12; 32]).unwrap();
    assert!(matches!(
        decrypt_tree(&mut tree, &wrong, Some(&CryptRule::default()), MacScope::AllValues, Some(&mut IvStash::new())),
        Err(DecryptError::Value { key_path, .. }) if key_path == r#"["db"]["password"]"#
    ));
    // An edited MAC.
    let (mut tree, mac) = encrypted_sample();
    let cipher = Cipher::new(&key());
    let stored = crate::sops::mac::encrypt_mac(&cipher, &mac, "2026-01-01T00:00:00Z").unwrap();
    let computed = decrypt_tree(
        &mut tree,
        &key(),
        Some(&CryptRule::default()),
        MacScope::AllValues,
        Some(&mut IvStash::new()),
    )
    .unwrap();
    verify_mac(&cipher, &stored, "2026-01-01T00:00:00Z", &computed).unwrap();
    assert!(matches!(
        verify_mac(
            &cipher,
            &flip_field(&stored, "data"),
            "2026-01-01T00:00:00Z",
            &computed
        ),
        Err(MacError::Decrypt(ValueError::Authentication))
    ));
    let other_mac = MacHasher::new(MacScope::AllValues).finish();
    let forged =
        crate::sops::mac::encrypt_mac(&cipher, &other_mac, "2026-01-01T00:00:00Z").unwrap();
    assert!(matches!(
        verify_mac(&cipher, &forged, "2026-01-01T00:00:00Z", &computed),
        Err(MacError::Mismatch)
    ));
}

#[test]
fn comments_in_clear_or_undecryptable_stay_plain_and_empty_strings_are_kept() {
    // sops keeps a comment that does not decrypt (or was never encrypted) as a plain
    // comment, and an empty string stands for itself wherever it is.
    let mut tree = Tree::single(vec![
        Item::Comment("ENC[AES256_GCM,data:AA==,iv:AQ==,tag:Ag==,type:comment]".into()),
        Item::Comment(" written in clear".into()),
        entry("empty", s("")),
        entry(
            "list",
            Value::List(vec![Value::Comment(" clear".into()), s("")]),
        ),
        entry("nothing", Value::Null),
        entry("plain_unencrypted", s("visible")),
    ]);
    let before = tree.clone();
    let mac = decrypt_tree(
        &mut tree,
        &key(),
        Some(&CryptRule::default()),
        MacScope::AllValues,
        Some(&mut IvStash::new()),
    )
    .unwrap();
    assert_eq!(tree, before);
    let mut hasher = MacHasher::new(MacScope::AllValues);
    hasher.add_leaf(b"visible", false);
    assert!(mac.ct_eq(&hasher.finish()));
}

/// Regression (issue 6): a value in clear where the crypt rule requires encryption is
/// refused, as sops' `Tree.Decrypt` refuses it, whatever its type and wherever it is.
#[test]
fn clear_values_in_encrypted_positions_are_refused() {
    let cases: [(&str, Value, ValueType); 5] = [
        ("db.local", s("db.local"), ValueType::Str),
        ("an int", Value::Int(5432), ValueType::Int),
        ("a float", Value::Float(0.5), ValueType::Float),
        ("a bool", Value::Bool(false), ValueType::Bool),
        ("bytes", Value::Bytes("x".into()), ValueType::Bytes),
    ];
    for (what, clear, expected) in cases {
        // The rename attack: a clear value moved under a key that the rule encrypts keeps
        // the MAC (values are hashed without their keys).
        let (mut tree, _) = encrypted_sample();
        if let Some(Item::Entry { key, value }) = tree.branches[0].get_mut(3) {
            *key = "admin_token".into();
            *value = clear.clone();
        }
        let result = decrypt_tree(
            &mut tree,
            &key(),
            Some(&CryptRule::default()),
            MacScope::AllValues,
            Some(&mut IvStash::new()),
        );
        assert!(
            matches!(&result, Err(DecryptError::NotEncrypted { key_path, found })
                    if key_path == r#"["admin_token"]"# && *found == expected),
            "{what}: {result:?}"
        );
        // Inside a list, and with no rule (the binary store: every leaf encrypted).
        let (mut tree, _) = encrypted_sample();
        if let Some(Item::Entry {
            value: Value::List(items),
            ..
        }) = tree.branches[0].get_mut(2)
        {
            items[2] = clear.clone();
        }
        for rule in [Some(CryptRule::default()), None] {
            let result = decrypt_tree(
                &mut tree.clone(),
                &key(),
                rule.as_ref(),
                MacScope::OnlyEncrypted,
                None,
            );
            assert!(
                matches!(&result, Err(DecryptError::NotEncrypted { key_path, .. }) if key_path == r#"["list"][2]"#),
                "{what} in a list, {rule:?}: {result:?}"
            );
        }
    }
    // The split attack: `db.local` cut in two, `db.` kept in clear and `local` under a key
    // the rule encrypts. The concatenation, and so the MAC, is unchanged.
    let (mut tree, mac) = encrypted_sample();
    if let Some(Item::Entry { value, .. }) = tree.branches[0].get_mut(3) {
        *value = s("db.");
    }
    tree.branches[0].push(entry("injected", s("local")));
    let result = decrypt_tree(
        &mut tree,
        &key(),
        Some(&CryptRule::default()),
        MacScope::AllValues,
        None,
    );
    assert!(
        matches!(&result, Err(DecryptError::NotEncrypted { key_path, found: ValueType::Str }) if key_path == r#"["injected"]"#),
        "{result:?}"
    );
    // Where the rule leaves both halves in clear, the format cannot tell (the README's
    // security model says so): the MAC still matches.
    let (mut tree, _) = encrypted_sample();
    if let Some(Item::Entry { value, .. }) = tree.branches[0].get_mut(3) {
        *value = s("db.");
    }
    tree.branches[0].push(entry("more_unencrypted", s("local")));
    let same = decrypt_tree(
        &mut tree,
        &key(),
        Some(&CryptRule::default()),
        MacScope::AllValues,
        None,
    )
    .unwrap();
    assert!(same.ct_eq(&mac));
    // A tampered value before the clear one is reported first (document order).
    let (mut tree, _) = encrypted_sample();
    edit_password(&mut tree, |enc| flip_field(enc, "tag"));
    tree.branches[0].push(entry("injected", s("x")));
    assert!(matches!(
        decrypt_tree(&mut tree, &key(), Some(&CryptRule::default()), MacScope::AllValues, None),
        Err(DecryptError::Value { key_path, source: ValueError::Authentication }) if key_path == r#"["db"]["password"]"#
    ));
}

/// `check`'s keyless look (issue 6): clear values where the rule encrypts, malformed
/// `ENC[...]` text, and a `type:` its length rules out; nothing on a clean file.
#[test]
fn audit_finds_what_shows_without_the_key() {
    let (clean, _) = encrypted_sample();
    assert!(
        audit_tree(&mut clean.clone(), Some(&CryptRule::default()))
            .unwrap()
            .is_empty()
    );
    let mut tree = clean;
    // `hunter2` is 7 bytes: no boolean.
    edit_password(&mut tree, |enc| enc.replace("type:str", "type:bool"));
    if let Some(Item::Entry { value, .. }) = tree.branches[0].get_mut(2) {
        *value = Value::List(vec![s("ENC[AES256_GCM,data:!!,iv:AA==,tag:AA==,type:str]")]);
    }
    tree.branches[0].push(entry("injected", Value::Int(1)));
    let found = audit_tree(&mut tree, Some(&CryptRule::default())).unwrap();
    let paths: Vec<&str> = found.iter().map(|(path, _)| path.as_str()).collect();
    assert_eq!(
        paths,
        [r#"["db"]["password"]"#, r#"["list"][0]"#, r#"["injected"]"#]
    );
    assert!(matches!(
        found[0].1,
        Anomaly::TypeLength {
            value_type: ValueType::Bool,
            length: 7
        }
    ));
    assert!(matches!(found[1].1, Anomaly::Malformed { .. }));
    assert!(matches!(
        found[2].1,
        Anomaly::Clear {
            found: ValueType::Int
        }
    ));
    // The longest texts sops writes for each type are plausible; one byte more is not.
    for (value_type, longest) in [
        (ValueType::Bool, "False".len()),
        (ValueType::Int, "-9223372036854775808".len()),
        (ValueType::Time, "2006-01-02T15:04:05.999999999+07:00".len()),
    ] {
        assert!(plausible_length(value_type, longest), "{value_type}");
        assert!(!plausible_length(value_type, longest + 1), "{value_type}");
    }
    let mut float = Vec::new();
    plaintext_bytes(&Value::Float(-f64::MIN_POSITIVE), &mut float);
    assert!(plausible_length(ValueType::Float, float.len()));
    assert!(!plausible_length(ValueType::Float, 328));
}

#[test]
fn stash_keeps_unchanged_ciphertext_only() {
    let (encrypted, _) = encrypted_sample();
    let mut tree = encrypted.clone();
    let mut stash = IvStash::new();
    decrypt_tree(
        &mut tree,
        &key(),
        Some(&CryptRule::default()),
        MacScope::AllValues,
        Some(&mut stash),
    )
    .unwrap();
    edit_password(&mut tree, |_| "changed".to_owned());
    encrypt_tree(
        &mut tree,
        &key(),
        Some(&CryptRule::default()),
        MacScope::AllValues,
        &stash,
    )
    .unwrap();
    assert_ne!(
        map_value(&tree, &["db", "password"]),
        map_value(&encrypted, &["db", "password"])
    );
    assert_eq!(
        map_value(&tree, &["db", "port"]),
        map_value(&encrypted, &["db", "port"])
    );
    assert_eq!(tree.branches[0][0], encrypted.branches[0][0]);
}

/// Over many blocks of parallel work, each value keeps its own stashed IV: an unchanged value
/// comes back byte for byte, a changed one gets a fresh ciphertext, and all decrypt again.
#[test]
fn stash_keeps_each_unchanged_ciphertext_across_blocks() {
    let count = 5 * MIN_LEAVES_PER_TASK + 3;
    let items = (0..count)
        .map(|i| entry(&format!("key{i}"), s(&format!("value {i}"))))
        .collect();
    let rule = Some(&CryptRule::default());
    let mut encrypted = Tree::single(items);
    encrypt_tree(
        &mut encrypted,
        &key(),
        rule,
        MacScope::AllValues,
        &IvStash::new(),
    )
    .unwrap();
    let mut tree = encrypted.clone();
    let mut stash = IvStash::new();
    decrypt_tree(
        &mut tree,
        &key(),
        rule,
        MacScope::AllValues,
        Some(&mut stash),
    )
    .unwrap();
    let changed = |i: usize| i % 7 == 3 || i.is_multiple_of(MIN_LEAVES_PER_TASK);
    for (i, item) in tree.branches[0].iter_mut().enumerate() {
        if changed(i) {
            *item = entry(&format!("key{i}"), s(&format!("new {i}")));
        }
    }
    let mac = encrypt_tree(&mut tree, &key(), rule, MacScope::AllValues, &stash).unwrap();
    for (i, (again, before)) in tree.branches[0]
        .iter()
        .zip(&encrypted.branches[0])
        .enumerate()
    {
        assert_eq!(again == before, !changed(i), "value {i}");
    }
    let mut plain = tree.clone();
    let mac_again = decrypt_tree(&mut plain, &key(), rule, MacScope::AllValues, None).unwrap();
    assert_eq!(mac_again.expose_secret(), mac.expose_secret());
    for (i, item) in plain.branches[0].iter().enumerate() {
        let text = if changed(i) {
            format!("new {i}")
        } else {
            format!("value {i}")
        };
        assert_eq!(*item, entry(&format!("key{i}"), s(&text)));
    }
}

#[test]
fn debug_output_holds_no_secrets() {
    let key = key_from_hex(YAML_KEY);
    let (encs, _) = scan(VEC_ENC_YAML);
    let mut tree = yaml_tree(&encs[..encs.len() - 1]);
    let mut stash = IvStash::new();
    let mac = decrypt_tree(
        &mut tree,
        &key,
        Some(&CryptRule::default()),
        MacScope::AllValues,
        Some(&mut stash),
    )
    .unwrap();
    let shown =
        format!("{key:?} {tree:?} {mac:?} {stash:?} {:?}", Cipher::new(&key)).to_lowercase();
    for secret in [
        "alice",
        "5432",
        "0.75",
        "s3cret",
        "top-level",
        "one",
        "97d1",
        "485a",
        "151",
    ] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    // 0x97 = 151 is the key's first byte.
    assert!(!shown.contains(&key.expose_secret()[0].to_string()));
}

/// A tree of `n` leaves: 100 maps of string, int, float and bool values.
fn big_tree(n: usize) -> Tree {
    let per_map = n / 100;
    Tree::single(
        (0..100)
            .map(|m| {
                let items = (0..per_map)
                    .map(|i| {
                        let value = match i % 4 {
                            0 => Value::Int(i64::try_from(i).unwrap()),
                            1 => Value::Float(f64::from(u32::try_from(i).unwrap()) / 7.0),
                            2 => Value::Bool(i % 3 == 0),
                            _ => s(&format!("secret-value-number-{m}-{i}-padding-padding")),
                        };
                        entry(&format!("key_{i}"), value)
                    })
                    .collect();
                entry(&format!("group_{m}"), Value::Map(items))
            })
            .collect(),
    )
}

#[test]
fn twenty_thousand_values_round_trip() {
    let plain = big_tree(20_000);
    let mut tree = plain.clone();
    let mac = encrypt_tree(
        &mut tree,
        &key(),
        Some(&CryptRule::default()),
        MacScope::AllValues,
        &IvStash::new(),
    )
    .unwrap();
    let mut stash = IvStash::new();
    let back = decrypt_tree(
        &mut tree,
        &key(),
        Some(&CryptRule::default()),
        MacScope::AllValues,
        Some(&mut stash),
    )
    .unwrap();
    assert!(back.ct_eq(&mac));
    assert_eq!(tree, plain);
    assert_eq!(stash.len(), 20_000);
}

/// A large tree of every kind of leaf: `copies` renamed copies of [`sample`]'s entries (maps,
/// a list with a comment, a key left in clear by the default rule), empty values and comments
/// between them, in two documents.
fn large_varied_tree(copies: usize) -> Tree {
    let document = |offset: usize| {
        let mut items = Vec::new();
        for copy in offset..offset + copies {
            for item in sample().branches.remove(0) {
                items.push(match item {
                    Item::Entry { key, value } => entry(&format!("n{copy}_{key}"), value),
                    comment @ Item::Comment(_) => comment,
                });
            }
            items.push(entry(&format!("empty{copy}"), s("")));
            items.push(entry(&format!("flag{copy}"), Value::Bool(copy % 2 == 0)));
        }
        items
    };
    Tree {
        branches: vec![document(0), document(copies)],
    }
}

/// The walk in runs of root entries visits the same leaves, in the same order, with the same
/// AAD, rule decision and key path as the walk of the whole tree, and counts them alike.
#[test]
fn walking_in_root_parts_is_walking_the_tree() {
    let mut tree = large_varied_tree(300);
    let rule = CryptRule::default().compile().unwrap();
    let mut whole = Vec::new();
    walk_tree(&mut tree, Some(&rule), |_, at| {
        whole.push((at.aad.to_vec(), at.encrypt, at.key_path()));
    });
    let mut in_parts = Vec::new();
    let mut counted = 0;
    let parts = root_parts(&mut tree, true);
    assert!(parts.len() > 4, "{} parts", parts.len());
    for (items, leaves) in parts {
        let before = in_parts.len();
        walk_root_items(items, Some(&rule), |_, at| {
            in_parts.push((at.aad.to_vec(), at.encrypt, at.key_path()));
        });
        assert!(in_parts.len() - before <= leaves);
        counted += leaves;
    }
    assert_eq!(counted, count_leaves(&large_varied_tree(300)));
    assert!(in_parts == whole);
}

/// Over a large tree of every kind of leaf, both MAC scopes: the MAC that encryption gathers
/// part by part is the one decryption computes leaf by leaf, and the tree decrypts back.
#[test]
fn the_mac_gathered_in_parts_is_the_mac_of_the_plaintext() {
    for scope in [MacScope::AllValues, MacScope::OnlyEncrypted] {
        let plain = large_varied_tree(300);
        let mut tree = plain.clone();
        let rule = Some(&CryptRule::default());
        let mac = encrypt_tree(&mut tree, &key(), rule, scope, &IvStash::new()).unwrap();
        let mac_again = decrypt_tree(&mut tree, &key(), rule, scope, None).unwrap();
        assert_eq!(mac.expose_secret(), mac_again.expose_secret());
        assert!(tree == plain);
    }
}

/// Every IV a part makes is new, across its batches and across parts (each part's stream has
/// its own key), and a part makes as many as it has leaves.
#[test]
fn random_ivs_never_repeat_within_or_across_parts() {
    let leaves = 3 * MIN_LEAVES_PER_TASK + 5;
    let mut seen = std::collections::HashSet::new();
    for _ in 0..2 {
        let mut ivs = RandomIvs::for_leaves(leaves);
        for _ in 0..leaves {
            assert!(seen.insert(ivs.next().unwrap()), "an IV came twice");
        }
        assert_eq!(ivs.left, 0);
    }
    assert_eq!(seen.len(), 2 * leaves);
}
