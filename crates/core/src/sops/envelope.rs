//! How each store carries the `sops` metadata inside a file.
//!
//! YAML, JSON and the binary store's JSON envelope hold it as a top-level `sops` map (YAML: in
//! every document); dotenv holds flattened `sops_*` keys; INI a `[sops]` section of flattened
//! keys. This module parses encrypted and plaintext files, splits the metadata off, and puts it
//! back, so the rest of aesec sees a [`Tree`] and a metadata [`Branch`] whatever the format.

use crate::sops::metadata::{
    self, DOTENV_PREFIX, INI_SECTION, METADATA_KEY, Metadata, MetadataError, NullStyle,
};
use crate::store::{EmitOptions, Format, StoreError, binary, dotenv, ini, json, yaml};
use crate::tree::{Branch, Item, Tree, Value};

/// A file split into its document tree and its metadata, as the file holds it.
pub(crate) struct Split {
    /// The document without metadata.
    pub(crate) tree: Tree,
    /// The metadata, if the file has any.
    pub(crate) metadata: Option<RawMetadata>,
}

/// Metadata as found in a file, before it is interpreted.
pub(crate) enum RawMetadata {
    /// A nested `sops` map (YAML, JSON, binary envelope).
    Map(Branch),
    /// Flattened `sops_*` dotenv entries, prefix included.
    Dotenv(Vec<(String, String)>),
    /// Flattened entries of the INI `[sops]` section, newlines still escaped.
    Ini(Vec<(String, String)>),
}

impl RawMetadata {
    /// The metadata as a nested map.
    pub(crate) fn into_branch(self) -> Result<Branch, MetadataError> {
        match self {
            Self::Map(branch) => Ok(branch),
            Self::Dotenv(pairs) => metadata::unflatten_dotenv(&pairs),
            Self::Ini(pairs) => metadata::unflatten_ini(&pairs),
        }
    }

    /// Whether this is the metadata of a sops file: `version` and `mac` are set (what
    /// [`crate::file::encryption_status`] asks).
    pub(crate) fn is_sops_metadata(&self) -> bool {
        self.has_field("version") && self.has_field("mac")
    }

    /// Whether a top-level field holds a non-empty value (`sops filestatus` looks at `version`
    /// and `mac`).
    pub(crate) fn has_field(&self, field: &str) -> bool {
        let flat = |pairs: &[(String, String)], key: &str| {
            pairs.iter().any(|(k, v)| k == key && !v.is_empty())
        };
        match self {
            Self::Map(branch) => crate::tree::get(branch, field).is_some_and(|value| match value {
                Value::Str(text) => !text.is_empty(),
                Value::Null => false,
                _ => true,
            }),
            Self::Dotenv(pairs) => flat(pairs, &format!("{DOTENV_PREFIX}{field}")),
            Self::Ini(pairs) => flat(pairs, field),
        }
    }
}

/// Parses a file in `format` as it is on disk: for the binary store that is the JSON envelope.
pub(crate) fn parse_encrypted(format: Format, input: &[u8]) -> Result<Split, StoreError> {
    let tree = match format {
        Format::Yaml => yaml::parse(input)?,
        Format::Json | Format::Binary => json::parse(input)?,
        Format::Dotenv => dotenv::parse(input)?,
        Format::Ini => ini::parse(input)?,
    };
    Ok(split(format, tree))
}

/// Parses a plaintext file: the binary store takes the bytes as they are.
pub(crate) fn parse_plain(format: Format, input: &[u8]) -> Result<Split, StoreError> {
    match format {
        Format::Binary => Ok(Split {
            tree: binary::parse(input),
            metadata: None,
        }),
        _ => parse_encrypted(format, input),
    }
}

/// Emits a plaintext document.
pub(crate) fn emit_plain(
    format: Format,
    tree: &Tree,
    options: &EmitOptions,
) -> Result<zeroize::Zeroizing<Vec<u8>>, StoreError> {
    match format {
        Format::Yaml => yaml::emit(tree, options.yaml_indent),
        Format::Json => json::emit(tree, options.json_indent),
        Format::Dotenv => dotenv::emit(tree),
        Format::Ini => ini::emit(tree),
        Format::Binary => binary::emit(tree),
    }
}

/// Emits an encrypted document with its metadata attached the way `format` carries it.
pub(crate) fn emit_encrypted(
    format: Format,
    mut tree: Tree,
    metadata: &Metadata,
    options: &EmitOptions,
) -> Result<Vec<u8>, StoreError> {
    let entry = |key: String, value: String| Item::Entry {
        key,
        value: Value::Str(value.into()),
    };
    let mut emitted = match format {
        Format::Yaml => {
            let sops = metadata.to_branch(NullStyle::Yaml);
            for branch in &mut tree.branches {
                branch.push(Item::Entry {
                    key: METADATA_KEY.to_owned(),
                    value: Value::Map(sops.clone()),
                });
            }
            yaml::emit(&tree, options.yaml_indent)
        }
        Format::Json | Format::Binary => {
            let sops = metadata.to_branch(NullStyle::Json);
            first_branch(&mut tree).push(Item::Entry {
                key: METADATA_KEY.to_owned(),
                value: Value::Map(sops),
            });
            let indent = if format == Format::Json {
                options.json_indent
            } else {
                options.binary_indent
            };
            json::emit(&tree, indent)
        }
        Format::Dotenv => {
            let pairs = metadata::flatten_dotenv(&metadata.to_branch(NullStyle::Json));
            first_branch(&mut tree).extend(pairs.into_iter().map(|(key, value)| entry(key, value)));
            dotenv::emit(&tree)
        }
        Format::Ini => {
            let pairs = metadata::flatten_ini(&metadata.to_branch(NullStyle::Json));
            let section = pairs
                .into_iter()
                .map(|(key, value)| entry(key, value))
                .collect();
            first_branch(&mut tree).push(Item::Entry {
                key: INI_SECTION.to_owned(),
                value: Value::Map(section),
            });
            ini::emit(&tree)
        }
    }?;
    tree.drop_in_parallel();
    // An encrypted file holds no plaintext: its bytes leave the wiping buffer.
    Ok(std::mem::take(&mut *emitted))
}

fn first_branch(tree: &mut Tree) -> &mut Branch {
    if tree.branches.is_empty() {
        tree.branches.push(Branch::new());
    }
    &mut tree.branches[0]
}

/// Takes the metadata out of a parsed tree.
fn split(format: Format, mut tree: Tree) -> Split {
    let metadata = match format {
        Format::Yaml | Format::Json | Format::Binary => {
            let mut found = None;
            for branch in &mut tree.branches {
                if let Some(Value::Map(items)) = take_entry(branch, METADATA_KEY) {
                    found.get_or_insert(items);
                }
            }
            found.map(RawMetadata::Map)
        }
        Format::Dotenv => {
            let mut pairs = Vec::new();
            for branch in &mut tree.branches {
                branch.retain(|item| match item {
                    Item::Entry { key, value } if metadata::is_dotenv_metadata_key(key) => {
                        pairs.push((key.clone(), scalar_text(value)));
                        false
                    }
                    _ => true,
                });
            }
            (!pairs.is_empty()).then_some(RawMetadata::Dotenv(pairs))
        }
        Format::Ini => {
            let section = tree
                .branches
                .first_mut()
                .and_then(|branch| take_entry(branch, INI_SECTION));
            match section {
                Some(Value::Map(items)) => Some(RawMetadata::Ini(
                    items
                        .iter()
                        .filter_map(|item| match item {
                            Item::Entry { key, value } => Some((key.clone(), scalar_text(value))),
                            Item::Comment(_) => None,
                        })
                        .collect(),
                )),
                _ => None,
            }
        }
    };
    Split { tree, metadata }
}

fn take_entry(branch: &mut Branch, wanted: &str) -> Option<Value> {
    let position = branch
        .iter()
        .position(|item| matches!(item, Item::Entry { key, .. } if key == wanted))?;
    match branch.remove(position) {
        Item::Entry { value, .. } => Some(value),
        Item::Comment(_) => None,
    }
}

/// The text of a flattened metadata value (dotenv and INI hold only strings).
fn scalar_text(value: &Value) -> String {
    match value {
        Value::Str(text) => text.to_string_lossy().into_owned(),
        _ => String::new(),
    }
}
