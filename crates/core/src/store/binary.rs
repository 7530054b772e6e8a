//! The binary store: any file that is not YAML, JSON, dotenv or INI, held as one string.
//!
//! As in sops 3.11 (`BinaryStore` in `stores/json/store.go`), the plaintext file becomes a tree
//! with a single entry `data` holding its raw bytes (which need not be UTF-8; an empty file gives
//! an empty string), and writing the plaintext gives those bytes back with nothing added. The
//! encrypted form is a JSON document `{"data": "ENC[…]", "sops": {…}}` read and written by
//! [`crate::store::json`].

use crate::store::StoreError;
use crate::tree::{Item, Text, Tree, Value};

/// The format name used in errors.
const FORMAT: &str = "binary";

/// The key under which the binary store keeps the file content.
pub const DATA_KEY: &str = "data";

/// Wraps the whole input as `{"data": <bytes>}`.
///
/// ```
/// use aesec::store::binary;
/// let tree = binary::parse(b"\x00\xffraw");
/// assert_eq!(*binary::emit(&tree)?, b"\x00\xffraw");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn parse(input: &[u8]) -> Tree {
    Tree::single(vec![Item::Entry {
        key: DATA_KEY.to_owned(),
        value: Value::Str(Text::new(input.to_vec())),
    }])
}

/// The raw bytes of the first `data` entry of the tree's only branch.
///
/// Fails with [`StoreError::Empty`] when the tree does not have exactly one branch or has no
/// `data` entry, and with [`StoreError::UnsupportedValue`] when `data` is not a string (sops:
/// "'data' key in tree does not have a string value").
pub fn emit(tree: &Tree) -> Result<zeroize::Zeroizing<Vec<u8>>, StoreError> {
    let [branch] = tree.branches.as_slice() else {
        return Err(StoreError::Empty { format: FORMAT });
    };
    let data = branch.iter().find_map(|item| match item {
        Item::Entry { key, value } if key == DATA_KEY => Some(value),
        _ => None,
    });
    match data {
        // An exact-size copy: no growth, nothing left behind.
        Some(Value::Str(text)) => Ok(zeroize::Zeroizing::new(text.as_bytes().to_vec())),
        Some(_) => Err(StoreError::UnsupportedValue {
            path: format!("[{DATA_KEY:?}]"),
            reason: "the binary store needs a string under 'data'".to_owned(),
        }),
        None => Err(StoreError::Empty { format: FORMAT }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_raw_bytes() {
        for input in [&b""[..], b"\x00\xff\xfe", b"text\n", b"no newline"] {
            assert_eq!(emit(&parse(input)).unwrap().to_vec(), input);
        }
    }

    #[test]
    fn sops_envelope_round_trips_through_the_json_store() {
        use crate::store::json;
        use crate::test_support::store_vectors::read;
        let envelope = read("binary", "sample.bin.enc.json");
        let tree = json::parse(&envelope).unwrap();
        assert_eq!(json::emit(&tree, None).unwrap().to_vec(), envelope);
        assert!(matches!(
            crate::tree::get(&tree.branches[0], DATA_KEY),
            Some(Value::Str(text)) if text.as_bytes().starts_with(b"ENC[AES256_GCM,")
        ));
        let raw = read("binary", "sample.bin");
        assert_eq!(emit(&parse(&raw)).unwrap().to_vec(), raw);
    }

    #[test]
    fn empty_file_is_empty_string() {
        let tree = parse(b"");
        assert!(matches!(
            crate::tree::get(&tree.branches[0], DATA_KEY),
            Some(Value::Str(text)) if text.is_empty()
        ));
    }

    #[test]
    fn missing_or_non_string_data_fails() {
        let no_data = Tree::single(vec![Item::Entry {
            key: "x".into(),
            value: Value::Null,
        }]);
        assert!(matches!(
            emit(&no_data),
            Err(StoreError::Empty { format: "binary" })
        ));
        let not_string = Tree::single(vec![Item::Entry {
            key: DATA_KEY.into(),
            value: Value::Int(1),
        }]);
        assert!(matches!(
            emit(&not_string),
            Err(StoreError::UnsupportedValue { .. })
        ));
        assert!(matches!(
            emit(&Tree::default()),
            Err(StoreError::Empty { .. })
        ));
        let two = Tree {
            branches: vec![Vec::new(), Vec::new()],
        };
        assert!(matches!(emit(&two), Err(StoreError::Empty { .. })));
    }
}
