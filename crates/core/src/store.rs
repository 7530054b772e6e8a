//! The five sops file formats ("stores"): YAML, JSON, dotenv, INI and binary.
//!
//! Each store turns bytes into a [`Tree`](crate::Tree) and back, exactly as sops 3.11 does: the
//! same typing of scalars, the same comment handling, the same byte layout on output. Stores know
//! nothing about encryption; the `sops` metadata travels through them as an ordinary map (YAML,
//! JSON, binary) or as flattened keys (dotenv, INI), and [`crate::sops`] splits it off.

pub mod binary;
pub mod dotenv;
pub(crate) mod envelope;
pub(crate) mod gofmt;
pub mod ini;
pub mod json;
pub mod yaml;

use std::path::Path;

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
            yaml_indent: 4,
            json_indent: None,
            binary_indent: None,
        }
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
    /// The input of a text format is not valid UTF-8.
    #[error("the {format} input is not valid UTF-8")]
    NotUtf8 {
        /// The format name.
        format: &'static str,
    },
}
