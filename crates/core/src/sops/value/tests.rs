//! Tests of the value cipher: `ENC[...]` parsing and printing, typed plaintexts, sops' IVs,
//! authentication failures, the IV stash, and round trips (property tests).

use proptest::prelude::*;

use super::encrypted::split_fields;
use super::*;

fn key() -> DataKey {
    DataKey::from_bytes(&[0x42; 32]).unwrap()
}

#[test]
fn data_key_debug_is_redacted() {
    let key = DataKey::from_bytes(&[0xAB; 32]).unwrap();
    let shown = format!("{key:?} {:?}", Cipher::new(&key));
    assert!(!shown.to_lowercase().contains("ab"), "{shown}");
    assert!(!shown.contains("171"), "{shown}");
    assert!(shown.contains("DataKey"));
}

#[test]
fn data_key_rejects_wrong_length() {
    assert!(matches!(
        DataKey::from_bytes(&[0; 31]),
        Err(DataKeyLengthError { len: 31 })
    ));
    let a = DataKey::generate().unwrap();
    let b = DataKey::generate().unwrap();
    assert_ne!(a.expose_secret(), b.expose_secret());
    assert_eq!(a.clone().expose_secret(), a.expose_secret());
}

#[test]
fn parse_follows_the_greedy_regex() {
    let v = EncryptedValue::parse(b"ENC[AES256_GCM,data:AA==,iv:AQ==,tag:Ag==,type:str]").unwrap();
    assert_eq!(
        (v.data, v.iv, v.tag, v.value_type),
        (vec![0], vec![1], vec![2], ValueType::Str)
    );
    // Not anchored at the end: trailing text after `]` is ignored.
    assert!(
        EncryptedValue::parse(b"ENC[AES256_GCM,data:AA==,iv:AQ==,tag:Ag==,type:int] x").is_ok()
    );
    // Greedy type: the last `]` ends it, so this type is `str]x`.
    assert!(matches!(
        EncryptedValue::parse(b"ENC[AES256_GCM,data:AA==,iv:AQ==,tag:Ag==,type:str]x]"),
        Err(ParseEncryptedValueError::UnknownType { .. })
    ));
    // `.` stops at a newline.
    assert!(matches!(
        EncryptedValue::parse(b"ENC[AES256_GCM,data:AA==,iv:AQ==,tag:Ag==,type:str\n]"),
        Err(ParseEncryptedValueError::NotEncrypted)
    ));
    assert!(matches!(
        EncryptedValue::parse(b"ENC[AES256_GCM,data:,iv:AQ==,tag:Ag==,type:str]"),
        Err(ParseEncryptedValueError::NotEncrypted)
    ));
    assert!(matches!(
        EncryptedValue::parse(b"ENC[AES256_GCM,data:A,iv:AQ==,tag:Ag==,type:str]"),
        Err(ParseEncryptedValueError::InvalidBase64 { field: "data", .. })
    ));
    assert!(matches!(
        EncryptedValue::parse(b"ENC[AES256_GCM,data:AA==,iv:AQ==,tag:Ag==,type:map]"),
        Err(ParseEncryptedValueError::UnknownType { .. })
    ));
    assert!(!EncryptedValue::is_encrypted(b"hello"));
}

#[test]
fn empty_text_is_not_encrypted() {
    let cipher = Cipher::new(&key());
    let iv = [7; 32];
    for value in [
        Value::Str("".into()),
        Value::Comment("".into()),
        Value::Null,
    ] {
        assert_eq!(cipher.encrypt_value(&value, b"a:", &iv).unwrap(), None);
    }
    assert!(
        cipher
            .encrypt_value(&Value::Int(0), b"a:", &iv)
            .unwrap()
            .is_some()
    );
}

#[test]
fn go_bool_parsing() {
    for (text, expected) in [
        ("1", true),
        ("t", true),
        ("TRUE", true),
        ("True", true),
        ("F", false),
        ("false", false),
    ] {
        let v = typed_plaintext(ValueType::Bool, Zeroizing::new(text.as_bytes().to_vec())).unwrap();
        assert_eq!(v, Value::Bool(expected));
    }
    assert!(matches!(
        typed_plaintext(ValueType::Bool, Zeroizing::new(b"yes".to_vec())),
        Err(ValueError::InvalidPlaintext {
            value_type: ValueType::Bool
        })
    ));
    assert!(matches!(
        typed_plaintext(ValueType::Int, Zeroizing::new(b"1.5".to_vec())),
        Err(ValueError::InvalidPlaintext {
            value_type: ValueType::Int
        })
    ));
}

#[test]
fn other_iv_lengths_decrypt_and_odd_ones_are_rejected() {
    let cipher = Cipher::new(&key());
    let mut data = b"hi".to_vec();
    let gcm = aes_gcm::Aes256Gcm::new(key().expose_secret().into());
    let tag = gcm
        .encrypt_in_place_detached(Nonce::<U12>::from_slice(&[3; 12]), b"k:", &mut data)
        .unwrap();
    let value = EncryptedValue {
        data,
        iv: vec![3; 12],
        tag: tag.to_vec(),
        value_type: ValueType::Str,
    };
    assert_eq!(cipher.decrypt(&value, b"k:").unwrap().as_slice(), b"hi");
    let odd = EncryptedValue {
        iv: vec![3; 8],
        ..value
    };
    assert!(matches!(
        cipher.decrypt(&odd, b"k:"),
        Err(ValueError::UnsupportedIvLength { len: 8 })
    ));
}

#[test]
fn stash_returns_recorded_iv_only_for_equal_value() {
    let mut stash = IvStash::new();
    assert_eq!(stash.lookup(b"a:", ValueType::Str, b"x"), None);
    stash.record(b"a:", ValueType::Str, b"x", &[9; 32]).unwrap();
    assert_eq!(stash.lookup(b"a:", ValueType::Str, b"x"), Some([9; 32]));
    assert_eq!(stash.lookup(b"b:", ValueType::Str, b"x"), None);
    assert_eq!(stash.lookup(b"a:", ValueType::Comment, b"x"), None);
    assert_eq!(stash.lookup(b"a:", ValueType::Str, b"y"), None);
    stash.record(b"a:", ValueType::Str, b"z", &[9; 12]).unwrap();
    assert_eq!(stash.len(), 1);
    assert!(!format!("{stash:?}").contains('9'));
}

/// sops' `encre` (`aes/cipher.go`), as the oracle for [`split_fields`].
fn sops_regex() -> regex::bytes::Regex {
    regex::bytes::Regex::new(r"(?-u)^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]")
        .unwrap()
}

/// Issue 6, item 4: a value of repeated delimiters took seconds per 4 KB (every
/// combination of `,iv:`, `,tag:` and `,type:` was tried); it is now one pass.
#[test]
fn repeated_delimiters_split_like_sops_regex() {
    for unit in [&b",iv:x"[..], b",tag:x", b",type:x", b",iv:x,tag:x,type:x"] {
        let mut text = ENC_PREFIX.to_vec();
        for _ in 0..20_000 {
            text.extend_from_slice(unit);
        }
        text.push(b'x');
        let expected = sops_regex()
            .captures(&text)
            .map(|found| [1, 2, 3, 4].map(|group| found.get(group).map(|m| m.as_bytes()).unwrap()));
        assert_eq!(split_fields(&text), expected);
        text.push(b']');
        let expected = sops_regex()
            .captures(&text)
            .map(|found| [1, 2, 3, 4].map(|group| found.get(group).map(|m| m.as_bytes()).unwrap()));
        assert_eq!(split_fields(&text), expected);
    }
}

#[test]
fn values_over_the_limit_are_refused_with_the_limit() {
    let cipher = Cipher::new(&key());
    // Zeroed allocations are not touched: the length is checked first.
    let big = vec![0u8; MAX_VALUE_BYTES + 1];
    assert!(matches!(
        cipher.encrypt(&big, ValueType::Str, b"k:", &[1; 32]),
        Err(ValueError::ValueTooLong { len, limit: MAX_VALUE_BYTES })
            if len == MAX_VALUE_BYTES + 1
    ));
    let text = vec![0u8; MAX_ENCRYPTED_VALUE_BYTES + 1];
    assert!(matches!(
        EncryptedValue::parse(&text),
        Err(ParseEncryptedValueError::TooLong { len, limit: MAX_ENCRYPTED_VALUE_BYTES })
            if len == MAX_ENCRYPTED_VALUE_BYTES + 1
    ));
    // The text limit is exactly what the largest plaintext encrypts to.
    let small = cipher
        .encrypt(b"abc", ValueType::Comment, b"k:", &[1; 32])
        .unwrap()
        .to_string();
    assert_eq!(
        MAX_ENCRYPTED_VALUE_BYTES - small.len(),
        base64_len(MAX_VALUE_BYTES) - base64_len(3)
    );
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<String>().prop_map(|s| Value::Str(s.into())),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(|b| Value::Str(b.into())),
        any::<String>().prop_map(|s| Value::Comment(s.into())),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(|b| Value::Bytes(b.into())),
        any::<i64>().prop_map(Value::Int),
        prop_oneof![
            any::<f64>().prop_filter("NaN never equals itself", |f| !f.is_nan()),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(-0.0),
            Just(1e20),
            Just(f64::MIN_POSITIVE),
            Just(5e-324),
        ]
        .prop_map(Value::Float),
        any::<bool>().prop_map(Value::Bool),
        (0i64..4_000_000_000, 0u32..1_000_000_000).prop_map(|(s, n)| {
            let t = jiff::Timestamp::new(s, i32::try_from(n).unwrap()).unwrap();
            Value::Time(t.to_string())
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn value_round_trip(value in leaf(), aad in any::<String>(), iv in any::<[u8; 32]>()) {
        let cipher = Cipher::new(&key());
        match cipher.encrypt_value(&value, aad.as_bytes(), &iv).unwrap() {
            None => {
                let mut buf = Vec::new();
                prop_assert!(plaintext_bytes(&value, &mut buf).is_some());
                prop_assert!(buf.is_empty());
            }
            Some(text) => {
                prop_assert!(EncryptedValue::is_encrypted(text.as_bytes()));
                let back = cipher.decrypt_value(text.as_bytes(), aad.as_bytes()).unwrap();
                prop_assert_eq!(back, value);
            }
        }
    }

    #[test]
    fn wrong_aad_fails(value in leaf(), aad in "[a-z:]{0,12}", other in "[a-z:]{0,12}") {
        prop_assume!(aad != other);
        let cipher = Cipher::new(&key());
        if let Some(text) = cipher.encrypt_value(&value, aad.as_bytes(), &[1; 32]).unwrap() {
            let result = cipher.decrypt_value(text.as_bytes(), other.as_bytes());
            prop_assert!(matches!(result, Err(ValueError::Authentication)));
        }
    }

    #[test]
    fn codec_round_trip(
        data in proptest::collection::vec(any::<u8>(), 1..64),
        iv in proptest::collection::vec(any::<u8>(), 1..48),
        tag in proptest::collection::vec(any::<u8>(), 1..20),
        type_index in 0usize..7,
    ) {
        let value = EncryptedValue { data, iv, tag, value_type: ValueType::ALL[type_index] };
        let text = value.to_string();
        prop_assert_eq!(EncryptedValue::parse(text.as_bytes()).unwrap(), value);
    }

    /// The linear split agrees with sops' regex, run by the `regex` crate (leftmost-first
    /// and greedy like Go's `regexp`; `(?-u)` so that `.` is any byte but `\n`), on text
    /// built from the delimiters the regex cares about.
    #[test]
    fn split_fields_matches_sops_regex(
        with_prefix in any::<bool>(),
        tokens in proptest::collection::vec(
            prop_oneof![
                Just(&b",iv:"[..]), Just(&b",tag:"[..]), Just(&b",type:"[..]),
                Just(&b"]"[..]), Just(&b"\n"[..]), Just(&b","[..]), Just(&b":"[..]),
                Just(&b"x"[..]), Just(&b"iv"[..]), Just(&b",ta"[..]), Just(&b"\xff"[..]),
                Just(&b"ENC[AES256_GCM,data:"[..]),
            ],
            0..24,
        ),
    ) {
        let mut text = if with_prefix { ENC_PREFIX.to_vec() } else { Vec::new() };
        for token in tokens {
            text.extend_from_slice(token);
        }
        let expected = sops_regex().captures(&text).map(|found| {
            [1, 2, 3, 4].map(|group| found.get(group).map(|m| m.as_bytes()).unwrap())
        });
        prop_assert_eq!(split_fields(&text), expected);
    }
}
