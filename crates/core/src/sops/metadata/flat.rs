//! Flattened metadata for the dotenv and INI stores (sops `stores/flatten.go`).
//!
//! sops JSON-marshals the metadata, then flattens nested maps with `__map_<key>` and lists with
//! `__list_<index>`: `age__list_0__map_recipient`. The pairs are sorted by key; `null`s are
//! skipped; bools print as `true`/`false` and integers in decimal. The dotenv store prefixes
//! every key with `sops_`; the INI store puts them, unprefixed, in a `[sops]` section. Escaping
//! newlines as `\n` is the store's business, not this module's.

use crate::sops::metadata::MetadataError;
use crate::tree::{Branch, Item, Text, Value};

/// The prefix of flattened metadata keys in a dotenv file.
pub(crate) const DOTENV_PREFIX: &str = "sops_";

/// The name of the INI section holding flattened metadata.
pub(crate) const INI_SECTION: &str = "sops";

const MAP_SEPARATOR: &str = "__map_";
const LIST_SEPARATOR: &str = "__list_";

/// Flattens a branch (normally [`Metadata::to_branch`](super::Metadata::to_branch) with
/// [`NullStyle::Json`](super::NullStyle::Json)) into `(key, value)` pairs sorted by key.
pub(crate) fn flatten(branch: &Branch) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for item in branch {
        if let Item::Entry { key, value } = item {
            flatten_value(key.clone(), value, &mut out);
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// [`flatten`] with every key prefixed by [`DOTENV_PREFIX`].
pub(crate) fn flatten_dotenv(branch: &Branch) -> Vec<(String, String)> {
    flatten(branch)
        .into_iter()
        .map(|(key, value)| (format!("{DOTENV_PREFIX}{key}"), value))
        .collect()
}

/// Whether a dotenv key belongs to the sops metadata (sops treats any `sops_` key so).
pub(crate) fn is_dotenv_metadata_key(key: &str) -> bool {
    key.starts_with(DOTENV_PREFIX)
}

fn flatten_value(path: String, value: &Value, out: &mut Vec<(String, String)>) {
    let text = match value {
        Value::Null | Value::Comment(_) => return,
        Value::Map(branch) => {
            for item in branch {
                if let Item::Entry { key, value } = item {
                    flatten_value(format!("{path}{MAP_SEPARATOR}{key}"), value, out);
                }
            }
            return;
        }
        Value::List(list) => {
            for (i, value) in list.iter().enumerate() {
                flatten_value(format!("{path}{LIST_SEPARATOR}{i}"), value, out);
            }
            return;
        }
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => crate::gofmt::format_f(*f),
        Value::Str(text) | Value::Bytes(text) => text.to_string_lossy().into_owned(),
        Value::Time(text) => text.clone(),
    };
    out.push((path, text));
}

enum Token<'a> {
    Map(&'a str),
    List(usize),
}

/// Splits `s` at the first separator: (text before, rest starting with the separator).
fn split_at_separator(s: &str) -> (&str, &str) {
    let at = [s.find(MAP_SEPARATOR), s.find(LIST_SEPARATOR)]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(s.len());
    s.split_at(at)
}

fn tokenize(key: &str) -> Result<Vec<Token<'_>>, MetadataError> {
    let (first, mut rest) = split_at_separator(key);
    let mut tokens = vec![Token::Map(first)];
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix(MAP_SEPARATOR) {
            let (name, next) = split_at_separator(after);
            tokens.push(Token::Map(name));
            rest = next;
        } else if let Some(after) = rest.strip_prefix(LIST_SEPARATOR) {
            let (index, next) = split_at_separator(after);
            let index = index
                .parse()
                .map_err(|_| MetadataError::InvalidFlattenedKey {
                    key: key.to_owned(),
                })?;
            tokens.push(Token::List(index));
            rest = next;
        } else {
            unreachable!("split_at_separator stops only at a separator or the end");
        }
    }
    Ok(tokens)
}

enum Node {
    Leaf(String),
    Map(Vec<(String, Self)>),
    List(Vec<Option<Self>>),
}

impl Node {
    fn for_token(token: Option<&Token<'_>>, value: &str) -> Self {
        match token {
            None => Self::Leaf(value.to_owned()),
            Some(Token::Map(_)) => Self::Map(Vec::new()),
            Some(Token::List(_)) => Self::List(Vec::new()),
        }
    }

    fn same_shape(&self, token: Option<&Token<'_>>) -> bool {
        matches!(
            (self, token),
            (Self::Map(_), Some(Token::Map(_))) | (Self::List(_), Some(Token::List(_)))
        )
    }

    fn into_value(self) -> Value {
        match self {
            Self::Leaf(text) => Value::Str(Text::from(text)),
            Self::Map(entries) => Value::Map(
                entries
                    .into_iter()
                    .map(|(key, node)| Item::Entry {
                        key,
                        value: node.into_value(),
                    })
                    .collect(),
            ),
            Self::List(items) => Value::List(
                items
                    .into_iter()
                    .map(|node| node.map_or(Value::Null, Self::into_value))
                    .collect(),
            ),
        }
    }
}

fn insert(
    node: &mut Node,
    tokens: &[Token<'_>],
    value: &str,
    key: &str,
    max_index: usize,
) -> Result<(), MetadataError> {
    let conflict = || MetadataError::FlattenConflict {
        key: key.to_owned(),
    };
    let Some((token, rest)) = tokens.split_first() else {
        return Err(conflict());
    };
    let next = rest.first();
    let child: &mut Node = match (node, token) {
        (Node::Map(entries), Token::Map(name)) => {
            match entries.iter().position(|(k, _)| k == name) {
                Some(at) => &mut entries[at].1,
                None => {
                    entries.push(((*name).to_owned(), Node::for_token(next, value)));
                    if next.is_none() {
                        return Ok(());
                    }
                    &mut entries.last_mut().expect("just pushed").1
                }
            }
        }
        (Node::List(items), Token::List(index)) => {
            if *index > max_index {
                return Err(MetadataError::InvalidFlattenedKey {
                    key: key.to_owned(),
                });
            }
            if items.len() <= *index {
                items.resize_with(*index + 1, || None);
            }
            let slot = &mut items[*index];
            if slot.is_none() {
                *slot = Some(Node::for_token(next, value));
                if next.is_none() {
                    return Ok(());
                }
            }
            slot.as_mut().expect("filled above")
        }
        _ => return Err(conflict()),
    };
    if !child.same_shape(next) {
        return Err(conflict());
    }
    insert(child, rest, value, key, max_index)
}

/// Rebuilds the branch from flattened pairs in any order; every leaf becomes a string (the
/// metadata reader accepts `"2"` and `"true"` where numbers and bools belong).
///
/// # Errors
///
/// [`MetadataError::InvalidFlattenedKey`] for a list index that is not a number (or is absurdly
/// large), [`MetadataError::FlattenConflict`] when two keys disagree about a path's shape.
pub(crate) fn unflatten(pairs: &[(String, String)]) -> Result<Branch, MetadataError> {
    let mut root = Node::Map(Vec::new());
    for (key, value) in pairs {
        let tokens = tokenize(key)?;
        insert(&mut root, &tokens, value, key, pairs.len())?;
    }
    match root.into_value() {
        Value::Map(branch) => Ok(branch),
        _ => unreachable!("the root is a map"),
    }
}

/// [`flatten`] for the INI store's `[sops]` section: newlines in values are written as `\n`
/// (sops' `EncodeNewLines`, which the INI store applies to metadata only).
pub(crate) fn flatten_ini(branch: &Branch) -> Vec<(String, String)> {
    flatten(branch)
        .into_iter()
        .map(|(key, value)| (key, value.replace('\n', "\\n")))
        .collect()
}

/// [`unflatten`] of an INI `[sops]` section's pairs: `\n` in values becomes a newline first
/// (sops' `DecodeNewLines`).
///
/// # Errors
///
/// As [`unflatten`].
pub(crate) fn unflatten_ini(pairs: &[(String, String)]) -> Result<Branch, MetadataError> {
    let decoded: Vec<(String, String)> = pairs
        .iter()
        .map(|(key, value)| (key.clone(), value.replace("\\n", "\n")))
        .collect();
    unflatten(&decoded)
}

/// [`unflatten`] of dotenv pairs: every key must start with [`DOTENV_PREFIX`], which is removed.
///
/// # Errors
///
/// [`MetadataError::InvalidFlattenedKey`] for a key without the prefix, and as [`unflatten`].
pub(crate) fn unflatten_dotenv(pairs: &[(String, String)]) -> Result<Branch, MetadataError> {
    let stripped = pairs
        .iter()
        .map(|(key, value)| match key.strip_prefix(DOTENV_PREFIX) {
            Some(rest) => Ok((rest.to_owned(), value.clone())),
            None => Err(MetadataError::InvalidFlattenedKey { key: key.clone() }),
        })
        .collect::<Result<Vec<_>, _>>()?;
    unflatten(&stripped)
}
