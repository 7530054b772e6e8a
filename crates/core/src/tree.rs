//! The format-neutral document tree that every store parses into and emits from.
//!
//! This mirrors sops' `TreeBranches`: a document is a list of branches (one per YAML document,
//! exactly one for the other stores); a branch is an ordered list of items; a comment in a map is
//! an item of its own, and a comment in a list is a list element. The same tree holds plaintext
//! values (after decryption) and `ENC[...]` strings (before decryption): encryption and decryption
//! rewrite leaves in place, so the structure never changes between the two.
//!
//! String values and comments hold their bytes in [`Text`], which zeroizes on drop and never
//! prints its content through `Debug`.

use std::fmt;

use zeroize::Zeroizing;

/// A whole document: one [`Branch`] per YAML document, exactly one for every other store.
#[derive(Clone, Default, PartialEq)]
pub struct Tree {
    /// The documents, in file order.
    pub branches: Vec<Branch>,
}

/// An ordered map: the items of one mapping, in document order.
pub type Branch = Vec<Item>;

/// One entry of a [`Branch`].
#[derive(Clone, PartialEq)]
pub enum Item {
    /// A key with its value.
    Entry {
        /// The map key (sops only allows string keys).
        key: String,
        /// The value under the key.
        value: Value,
    },
    /// A comment standing between entries of a map.
    Comment(Text),
}

/// A value in the tree.
#[derive(Clone, PartialEq)]
pub enum Value {
    /// `null`: never encrypted and never part of the MAC.
    Null,
    /// A boolean (`type:bool`, serialized `True`/`False` before encryption).
    Bool(bool),
    /// A 64-bit integer (`type:int`).
    Int(i64),
    /// A float (`type:float`).
    Float(f64),
    /// A string (`type:str`). The binary store may hold non-UTF-8 bytes here.
    Str(Text),
    /// A timestamp (`type:time`), kept as Go's RFC 3339 "nano" text, e.g. `2002-12-14T00:00:00Z`.
    Time(String),
    /// Raw bytes (`type:bytes`): only ever produced by decrypting such a value.
    Bytes(Text),
    /// A nested map.
    Map(Branch),
    /// A list; its elements may be [`Value::Comment`].
    List(Vec<Self>),
    /// A comment inside a list.
    Comment(Text),
}

/// Bytes of a string value or comment, zeroized on drop and redacted in `Debug`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Text(Zeroizing<Vec<u8>>);

impl Text {
    /// Wraps bytes.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The text, if it is valid UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    /// The text with invalid UTF-8 replaced by U+FFFD.
    pub fn to_string_lossy(&self) -> std::borrow::Cow<'_, str> {
        // `from_utf8` validates faster than the lossy decoder; valid text is the common case.
        match std::str::from_utf8(&self.0) {
            Ok(text) => std::borrow::Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(&self.0),
        }
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The number of bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Self::new(s.as_bytes().to_vec())
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Self::new(s.into_bytes())
    }
}

impl From<Vec<u8>> for Text {
    fn from(bytes: Vec<u8>) -> Self {
        Self::new(bytes)
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Text({} bytes)", self.0.len())
    }
}

impl fmt::Debug for Tree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tree")
            .field("branches", &self.branches)
            .finish()
    }
}

impl fmt::Debug for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Entry { key, value } => f.debug_tuple("Entry").field(key).field(value).finish(),
            Self::Comment(text) => f.debug_tuple("Comment").field(text).finish(),
        }
    }
}

impl fmt::Debug for Value {
    /// Shows the shape of the tree and the kind of each leaf, never the content of a leaf.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Null => f.write_str("Null"),
            Self::Bool(_) => f.write_str("Bool(..)"),
            Self::Int(_) => f.write_str("Int(..)"),
            Self::Float(_) => f.write_str("Float(..)"),
            Self::Str(text) => f.debug_tuple("Str").field(text).finish(),
            Self::Time(_) => f.write_str("Time(..)"),
            Self::Bytes(text) => f.debug_tuple("Bytes").field(text).finish(),
            Self::Map(items) => f.debug_tuple("Map").field(items).finish(),
            Self::List(values) => f.debug_tuple("List").field(values).finish(),
            Self::Comment(text) => f.debug_tuple("Comment").field(text).finish(),
        }
    }
}

/// Root entries per task when a large tree is dropped in parallel.
const DROP_ITEMS_PER_TASK: usize = 1024;

impl Tree {
    /// A tree of one document.
    pub fn single(branch: Branch) -> Self {
        Self {
            branches: vec![branch],
        }
    }

    /// Drops the tree, the entries of a large document spread over the cores: each string is
    /// wiped as it is dropped, work worth sharing for many thousand values.
    pub(crate) fn drop_in_parallel(self) {
        use rayon::prelude::*;
        for branch in self.branches {
            if branch.len() > DROP_ITEMS_PER_TASK {
                branch
                    .into_par_iter()
                    .with_min_len(DROP_ITEMS_PER_TASK)
                    .for_each(drop);
            }
        }
    }
}

/// Looks up `key` among the entries of a branch.
pub(crate) fn get<'a>(branch: &'a [Item], key: &str) -> Option<&'a Value> {
    branch.iter().find_map(|item| match item {
        Item::Entry { key: k, value } if k == key => Some(value),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_content() {
        let tree = Tree::single(vec![
            Item::Entry {
                key: "password".into(),
                value: Value::Str("hunter2".into()),
            },
            Item::Comment("secret comment".into()),
        ]);
        let shown = format!("{tree:?}");
        assert!(!shown.contains("hunter2"));
        assert!(!shown.contains("secret comment"));
        assert!(shown.contains("password"));
    }
}
