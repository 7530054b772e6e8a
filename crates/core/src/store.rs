//! The five sops file formats ("stores"): YAML, JSON, dotenv, INI and binary.
//!
//! Each store turns bytes into a [`Tree`](crate::Tree) and back, exactly as sops 3.11 does: the
//! same typing of scalars, the same comment handling, the same byte layout on output. Stores know
//! nothing about encryption; the `sops` metadata travels through them as an ordinary map (YAML,
//! JSON, binary) or as flattened keys (dotenv, INI), and [`crate::sops`] splits it off.

pub mod binary;
pub mod dotenv;
pub mod ini;
pub mod json;
pub mod yaml;

use std::path::Path;

/// Deepest nesting of maps and lists (the root map counts as 1) any store reads, so that a
/// hostile file cannot exhaust the stack of the parsers, tree walks, emitters and `Drop`, all
/// of which recurse once per level.
///
/// go-yaml and Go's JSON decoder stop at 10,000, but no real document comes near 500 (and
/// saphyr already stops flow collections at 255). A debug build uses about 2.4 KB of stack
/// per level on the deepest path (JSON parsing, then encryption and every emitter), so 500
/// levels fit a 2 MiB thread stack (the default for rayon workers and spawned threads) with
/// room to spare, which a test checks; release builds use several times less. Flat stores
/// (dotenv, INI, binary) are at most 2 deep.
pub const MAX_DEPTH: usize = 500;

/// A sops file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// YAML (`.yaml`, `.yml`), possibly several documents.
    Yaml,
    /// JSON (`.json`).
    Json,
    /// dotenv (`.env`).
    Dotenv,
    /// INI (`.ini`).
    Ini,
    /// Any other file: its bytes as one value.
    Binary,
}

impl Format {
    /// The format sops infers from a file name: by extension, binary when none matches.
    ///
    /// ```
    /// use aesec::store::Format;
    /// assert_eq!(Format::from_path("secrets/db.yaml"), Format::Yaml);
    /// assert_eq!(Format::from_path("ssh_host_ed25519_key"), Format::Binary);
    /// ```
    pub fn from_path(path: impl AsRef<Path>) -> Self {
        let name = path.as_ref().to_string_lossy();
        if name.ends_with(".yaml") || name.ends_with(".yml") {
            Self::Yaml
        } else if name.ends_with(".json") {
            Self::Json
        } else if name.ends_with(".env") {
            Self::Dotenv
        } else if name.ends_with(".ini") {
            Self::Ini
        } else {
            Self::Binary
        }
    }

    /// The format named by `--input-type`/`--output-type` (`yaml`, `json`, `dotenv`, `ini`,
    /// `binary`), or `None` for any other name.
    ///
    /// ```
    /// use aesec::store::Format;
    /// assert_eq!(Format::from_name("dotenv"), Some(Format::Dotenv));
    /// assert_eq!(Format::from_name("toml"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "yaml" => Some(Self::Yaml),
            "json" => Some(Self::Json),
            "dotenv" => Some(Self::Dotenv),
            "ini" => Some(Self::Ini),
            "binary" => Some(Self::Binary),
            _ => None,
        }
    }

    /// The name sops uses for the format.
    pub fn name(self) -> &'static str {
        match self {
            Self::Yaml => "yaml",
            Self::Json => "json",
            Self::Dotenv => "dotenv",
            Self::Ini => "ini",
            Self::Binary => "binary",
        }
    }
}

/// Output layout options, from `.sops.yaml`'s `stores:` section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct EmitOptions {
    /// YAML indent (sops' default 4).
    pub yaml_indent: usize,
    /// JSON indent: `None` for a tab (sops' `-1`), `Some(n)` for `n` spaces (0: newlines only).
    pub json_indent: Option<usize>,
    /// JSON indent of the binary store's envelope, as `json_indent`.
    pub binary_indent: Option<usize>,
}

impl Default for EmitOptions {
    fn default() -> Self {
        Self {
            yaml_indent: YAML_DEFAULT_INDENT,
            json_indent: None,
            binary_indent: None,
        }
    }
}

/// sops' YAML indent when none (or 0) is given.
const YAML_DEFAULT_INDENT: usize = 4;

impl EmitOptions {
    /// These options with sops' `--indent N` applied for a document written as `format`: as in
    /// sops, N sets the YAML, JSON and binary-envelope indents together, and is judged only by
    /// the store that writes. YAML takes N spaces (0: the default 4, negative refused), JSON
    /// and the binary envelope N spaces (−1: a tab, below −1 refused); dotenv and INI have no
    /// indentation.
    ///
    /// ```
    /// use aesec::store::{EmitOptions, Format};
    ///
    /// let options = EmitOptions::default().with_indent(2, Format::Yaml)?;
    /// assert_eq!((options.yaml_indent, options.json_indent), (2, Some(2)));
    /// let tabs = EmitOptions::default().with_indent(-1, Format::Json)?;
    /// assert_eq!(tabs.json_indent, None);
    /// assert!(EmitOptions::default().with_indent(-1, Format::Yaml).is_err());
    /// # Ok::<(), aesec::store::StoreError>(())
    /// ```
    pub fn with_indent(mut self, indent: i64, format: Format) -> Result<Self, StoreError> {
        let refused = || StoreError::InvalidIndent {
            format: format.name(),
            indent,
        };
        let yaml = yaml_indent(indent);
        let json = json_indent(indent);
        match format {
            Format::Yaml if yaml.is_none() => return Err(refused()),
            Format::Json | Format::Binary if json.is_none() => return Err(refused()),
            _ => {}
        }
        if let Some(yaml) = yaml {
            self.yaml_indent = yaml;
        }
        if let Some(json) = json {
            self.json_indent = json;
            self.binary_indent = json;
        }
        Ok(self)
    }
}

/// The YAML indent sops uses for a configured `indent`: 0 is the default, negative is refused
/// (`None`), and as go-yaml's emitter does, an indent below 2 or above 9 becomes 2 (which also
/// bounds what a hostile `.sops.yaml` can ask for).
pub(crate) fn yaml_indent(indent: i64) -> Option<usize> {
    match usize::try_from(indent) {
        Ok(0) => Some(YAML_DEFAULT_INDENT),
        Ok(indent @ 2..=9) => Some(indent),
        Ok(_) => Some(2),
        Err(_) => None,
    }
}

/// The widest JSON indent aesec writes. sops has no limit; past this one a repository's
/// `.sops.yaml` could make every line of output gigabytes long.
const MAX_JSON_INDENT: usize = 1000;

/// The JSON indent sops uses for a configured `indent`: −1 is a tab (`Some(None)`), 0 or more
/// that many spaces, below −1 (and above [`MAX_JSON_INDENT`]) refused (`None`).
pub(crate) fn json_indent(indent: i64) -> Option<Option<usize>> {
    match indent {
        -1 => Some(None),
        indent => usize::try_from(indent)
            .ok()
            .filter(|spaces| *spaces <= MAX_JSON_INDENT)
            .map(Some),
    }
}

/// Why a document could not be read or written in a given format.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The input is not valid in the format.
    #[error("invalid {format}: {message} at line {line}, column {column}")]
    Syntax {
        /// The format name.
        format: &'static str,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the parser found.
        message: String,
    },
    /// The document holds no data (sops exit code 92 for YAML).
    #[error("the {format} document is empty")]
    Empty {
        /// The format name.
        format: &'static str,
    },
    /// The top level of a document is not a map.
    #[error("the top level of a {format} document must be a map")]
    TopLevelNotMap {
        /// The format name.
        format: &'static str,
    },
    /// A map key is not a string (sops only allows string keys).
    #[error("key {key} is not a string: sops only allows string keys")]
    NonStringKey {
        /// The key as written.
        key: String,
    },
    /// A map has the same key twice.
    #[error("duplicate key '{key}'")]
    DuplicateKey {
        /// The repeated key.
        key: String,
    },
    /// A value cannot be represented (e.g. an integer above the 64-bit signed range in YAML).
    #[error("unsupported value at {path}: {reason}")]
    UnsupportedValue {
        /// Key path of the value, like `["a"]["b"]`.
        path: String,
        /// Why it is unsupported.
        reason: String,
    },
    /// A dotenv line has no `=`.
    #[error("invalid dotenv input line {line}: no '=' found")]
    DotenvLine {
        /// 1-based line.
        line: usize,
    },
    /// A nested value cannot be written in a flat format (dotenv, INI).
    #[error("cannot write {path} as {format}: {format} supports only {supported}")]
    NotFlat {
        /// The format name.
        format: &'static str,
        /// Key path of the value.
        path: String,
        /// What the format can hold.
        supported: &'static str,
    },
    /// An indent the store refuses, as sops does ("YAML Negative indentation not accepted",
    /// "JSON Indentation parameter smaller than -1 is not accepted").
    #[error(
        "cannot write {format} with indent {indent}: {format} accepts {}",
        if *format == "yaml" { "0 (the default, 4) or more spaces" } else { "-1 (a tab) or 0 to 1000 spaces" }
    )]
    InvalidIndent {
        /// The format name.
        format: &'static str,
        /// The indent as given.
        indent: i64,
    },
    /// Maps and lists nest deeper than [`MAX_DEPTH`] (go-yaml's "exceeded max depth", with
    /// a lower limit: see [`MAX_DEPTH`]).
    #[error("invalid {format}: exceeded max depth of {limit} at line {line}")]
    TooDeep {
        /// The format name.
        format: &'static str,
        /// 1-based line where the limit was passed.
        line: usize,
        /// [`MAX_DEPTH`].
        limit: usize,
    },
    /// YAML aliases copy more text than the expansion budget allows (an alias bomb).
    #[error(
        "invalid yaml: aliases expand the document by more than {limit} bytes at alias {alias} \
         on line {line}"
    )]
    AliasExpansion {
        /// The alias that passed the budget, as written (`*name`).
        alias: String,
        /// 1-based line of that alias.
        line: usize,
        /// The budget in bytes.
        limit: usize,
    },
    /// The input of a text format is not valid UTF-8.
    #[error("the {format} input is not valid UTF-8")]
    NotUtf8 {
        /// The format name.
        format: &'static str,
    },
}

#[cfg(test)]
mod tests {
    use age::secrecy::ExposeSecret as _;

    use super::*;
    use crate::file::{DecryptOptions, EncryptOptions, decrypt, encrypt};
    use crate::keys::age::Identities;
    use crate::sops::{AgeDecryptor, AgeMasterKey, Recipients};

    /// The default stack of a spawned thread and of a rayon worker (the CLI's main thread has
    /// 8 MiB).
    const SMALL_STACK_BYTES: usize = 2 << 20;

    /// YAML with [`MAX_DEPTH`] levels, the root map included: maps and lists in turn, a
    /// comment and a value at the bottom.
    fn deepest_yaml() -> String {
        let mut text = String::new();
        for level in 0..MAX_DEPTH {
            let indent = "  ".repeat(level);
            if level % 2 == 0 {
                text.push_str(&format!("{indent}k:\n"));
            } else {
                text.push_str(&format!("{indent}- # c\n"));
            }
        }
        text.push_str(&format!("{}v\n", "  ".repeat(MAX_DEPTH)));
        text
    }

    /// JSON with [`MAX_DEPTH`] levels: objects and arrays in turn.
    fn deepest_json() -> String {
        let open: String = (0..MAX_DEPTH)
            .map(|level| if level % 2 == 0 { "{\"k\": " } else { "[" })
            .collect();
        let close: String = (0..MAX_DEPTH)
            .rev()
            .map(|level| if level % 2 == 0 { "}" } else { "]" })
            .collect();
        format!("{open}1{close}")
    }

    /// Issue 6, item 5: every store stops at [`MAX_DEPTH`], and at that depth encryption,
    /// decryption, the emitters of every format, the tree walks and `Drop` all fit the
    /// smallest stack aesec runs on (debug builds use the most stack per level).
    #[test]
    fn deepest_documents_fit_a_small_stack() {
        let worker = std::thread::Builder::new()
            .stack_size(SMALL_STACK_BYTES)
            .spawn(|| {
                let identity = age::x25519::Identity::generate();
                let mut identities = Identities::new();
                identities
                    .add_identity_file_text(identity.to_string().expose_secret(), "test")
                    .unwrap();
                let recipients = Recipients::single_group(vec![Box::new(AgeMasterKey::new(
                    identity.to_public().to_string().parse().unwrap(),
                ))]);
                let decryptor = AgeDecryptor::new(&identities);
                for (input, plaintext) in [
                    (Format::Yaml, deepest_yaml()),
                    (Format::Json, deepest_json()),
                ] {
                    let tree = match input {
                        Format::Yaml => yaml::parse(plaintext.as_bytes()),
                        _ => json::parse(plaintext.as_bytes()),
                    }
                    .unwrap();
                    assert_eq!(tree.clone(), tree);
                    assert!(!format!("{tree:?}").is_empty());
                    for sealed in [Format::Yaml, Format::Json] {
                        let encrypted = encrypt(
                            plaintext.as_bytes(),
                            &recipients,
                            &EncryptOptions::new(input, sealed),
                        )
                        .unwrap();
                        for output in [
                            Format::Yaml,
                            Format::Json,
                            Format::Dotenv,
                            Format::Ini,
                            Format::Binary,
                        ] {
                            let result = decrypt(
                                &encrypted,
                                &[&decryptor],
                                &DecryptOptions::new(sealed, output),
                            );
                            assert_eq!(
                                result.is_ok(),
                                matches!(output, Format::Yaml | Format::Json),
                                "{input:?} sealed as {sealed:?}, decrypted to {output:?}"
                            );
                        }
                    }
                }
            })
            .unwrap();
        worker.join().unwrap();
    }
}
