//! `.sops.yaml`: discovery, creation rules and store settings, read as sops 3.11 reads them.
//!
//! [`find_config`] walks up from a directory the way sops does; [`Config::load`] reads the file
//! (non-strict: unknown keys are ignored); [`Config::rule_for`] picks the creation rule that
//! governs a file (path made absolute, the config directory stripped, first match wins). The
//! facts behind each choice are in research/sops-format.md §11. Lossless edits of the file are a
//! separate concern ([`edit`]); who the members are is [`membership`](read_members).
//!
//! ```
//! use std::path::Path;
//!
//! use aesec::config::Config;
//!
//! let yaml = b"
//! creation_rules:
//!   - path_regex: ^secrets/prod/
//!     age: age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p
//!   - age: age1lggyhqrw2nlhcxprm67z43rta597azn8gknawjehu9d9dl0jq3yqqvfafg
//! ";
//! let config = Config::from_yaml(yaml, "/repo/.sops.yaml")?;
//! let rule = config.rule_for(Path::new("secrets/prod/db.yaml"), Path::new("/repo"))?;
//! assert_eq!(rule.index, 0);
//! let rule = config.rule_for(Path::new("/repo/other.yaml"), Path::new("/"))?;
//! assert_eq!(rule.index, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod creation_rule;
pub mod edit;
mod error;
mod fields;
mod lookup;
mod membership;
mod stores;

use std::path::{Component, Path, PathBuf};

pub use creation_rule::{CreationRule, KeyGroupSpec, KmsKeySpec};
pub use error::ConfigError;
pub use lookup::{ConfigLookup, find_config};
pub use membership::{
    ADMIN_PREFIX, Member, ReadMembersError, admin_names, is_admin_name, read_members,
};
pub(crate) use membership::{admin_recipients, read_text};

use crate::store::{EmitOptions, StoreError};
use crate::tree::{Item, Value};
use fields::{Context, get, list_values};
use stores::parse_stores;

/// The entries of a tree's first document (none for an empty file).
fn first_document(tree: &crate::Tree) -> &[Item] {
    tree.branches.first().map_or(&[], Vec::as_slice)
}

/// The file name sops looks for.
pub const CONFIG_FILE_NAME: &str = ".sops.yaml";

/// A parsed `.sops.yaml`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// The config file, as given to [`Config::load`] or [`Config::from_yaml`]; rule matching
    /// strips its directory from file paths.
    pub path: PathBuf,
    /// The creation rules, in file order.
    pub creation_rules: Vec<CreationRule>,
    /// Output layout from the `stores:` section.
    pub stores: EmitOptions,
    /// Whether the file has a `creation_rules` entry at all (even an empty list).
    has_creation_rules: bool,
}

impl Config {
    /// Reads and parses the config file at `path`.
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("aesec-doc-load-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// let path = dir.join(".sops.yaml");
    /// std::fs::write(&path, "stores:\n  yaml:\n    indent: 2\n")?;
    /// let config = aesec::config::Config::load(&path)?;
    /// assert_eq!(config.stores.yaml_indent, 2);
    /// assert!(!config.has_creation_rules());
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let bytes = crate::fs::read(path)?;
        Self::from_yaml(&bytes, path)
    }

    /// Parses config `bytes`; `path` is where they came from (used for matching and errors).
    ///
    /// ```
    /// use aesec::config::{Config, ConfigError};
    ///
    /// let yaml = b"creation_rules:\n  - age: age1a, age1b\n    encrypted_regex: ^data$\n";
    /// let config = Config::from_yaml(yaml, ".sops.yaml")?;
    /// assert_eq!(config.creation_rules[0].key_groups[0].age, ["age1a", "age1b"]);
    ///
    /// let two_rules = b"creation_rules:\n  - encrypted_regex: a\n    unencrypted_suffix: _u\n";
    /// let error = Config::from_yaml(two_rules, ".sops.yaml").unwrap_err();
    /// assert!(matches!(error, ConfigError::MultipleCryptRules { rule: 0, .. }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_yaml(bytes: &[u8], path: impl Into<PathBuf>) -> Result<Self, ConfigError> {
        let path = path.into();
        let context = Context {
            config: &path,
            rule: None,
        };
        // go-yaml's `Unmarshal` reads the first document; an empty file is an empty config.
        let read = |parse: fn(&[u8]) -> Result<crate::Tree, StoreError>| match parse(bytes) {
            Ok(tree) => Ok(tree),
            Err(StoreError::Empty { .. }) => Ok(crate::Tree::default()),
            Err(StoreError::TopLevelNotMap { .. }) => {
                Err(context.field_type("the top level", "a map"))
            }
            Err(source) => Err(ConfigError::Yaml {
                config: path.clone(),
                source,
            }),
        };
        // Read twice, as go-yaml decodes a scalar into the few integer and boolean fields
        // (typed) and into the string fields (its own text: `path_regex: 1.10` is the regex
        // `1.10`, not the float 1.1). The two trees differ only in their scalars.
        let tree = read(crate::store::yaml::parse)?;
        let text_tree = read(crate::store::yaml::parse_as_text)?;
        let (items, text_items) = (first_document(&tree), first_document(&text_tree));

        let (creation_rules, has_creation_rules) = match get(items, "creation_rules") {
            None | Some(Value::Null) => (Vec::new(), false),
            Some(Value::List(values)) => {
                let texts = match get(text_items, "creation_rules") {
                    Some(Value::List(texts)) => texts.as_slice(),
                    _ => &[],
                };
                let mut rules = Vec::new();
                for (index, (typed, text)) in
                    list_values(values).zip(list_values(texts)).enumerate()
                {
                    rules.push(creation_rule::parse_rule(&path, index, typed, text)?);
                }
                (rules, true)
            }
            Some(_) => return Err(context.field_type("creation_rules", "a list")),
        };
        let stores = match get(items, "stores") {
            None | Some(Value::Null) => EmitOptions::default(),
            Some(Value::Map(stores)) => parse_stores(stores, &context)?,
            Some(_) => return Err(context.field_type("stores", "a map")),
        };
        Ok(Self {
            path,
            creation_rules,
            stores,
            has_creation_rules,
        })
    }

    /// Whether the file has `creation_rules`. sops treats a config without them as no config:
    /// keys must then come from flags.
    pub fn has_creation_rules(&self) -> bool {
        self.has_creation_rules
    }

    /// The string sops matches `path_regex` against for `file`: the path made absolute against
    /// `cwd` (an absolute directory) and cleaned lexically, relative to the config's directory
    /// when it lies under it, absolute otherwise.
    ///
    /// ```
    /// use std::path::Path;
    ///
    /// let config = aesec::config::Config::from_yaml(b"{}", "/repo/.sops.yaml")?;
    /// let cwd = Path::new("/repo/secrets");
    /// assert_eq!(config.match_path(Path::new("./a/../b.yaml"), cwd), "secrets/b.yaml");
    /// assert_eq!(config.match_path(Path::new("/elsewhere/c.yaml"), cwd), "/elsewhere/c.yaml");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn match_path(&self, file: &Path, cwd: &Path) -> String {
        let file = absolute_clean(file, cwd);
        let config_dir = match self.path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        let config_dir = absolute_clean(config_dir, cwd);
        let file = file.to_string_lossy();
        let prefix = format!("{}/", config_dir.to_string_lossy());
        file.strip_prefix(&prefix).unwrap_or(&file).to_owned()
    }

    /// The creation rule that governs `file`: the first whose `path_regex` matches
    /// [`match_path`](Self::match_path) (a rule without one matches every file).
    ///
    /// `cwd` is the absolute working directory that a relative `file` is relative to (core never
    /// reads the environment).
    ///
    /// ```
    /// use std::path::Path;
    ///
    /// use aesec::config::{Config, ConfigError};
    ///
    /// let config = Config::from_yaml(
    ///     b"creation_rules:\n  - path_regex: \\.yaml$\n    age: age1example\n",
    ///     "/repo/.sops.yaml",
    /// )?;
    /// let rule = config.rule_for(Path::new("hosts/a.yaml"), Path::new("/repo"))?;
    /// assert_eq!(rule.key_groups[0].age, ["age1example"]);
    /// let error = config.rule_for(Path::new("a.json"), Path::new("/repo")).unwrap_err();
    /// assert!(matches!(error, ConfigError::NoMatchingRule { .. }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn rule_for(&self, file: &Path, cwd: &Path) -> Result<&CreationRule, ConfigError> {
        if !self.has_creation_rules {
            return Err(ConfigError::NoCreationRules {
                config: self.path.clone(),
            });
        }
        let target = self.match_path(file, cwd);
        self.creation_rules
            .iter()
            .find(|rule| {
                rule.path_regex
                    .as_ref()
                    .is_none_or(|regex| regex.is_match(&target))
            })
            .ok_or_else(|| ConfigError::NoMatchingRule {
                file: file.to_path_buf(),
                config: self.path.clone(),
            })
    }
}

/// `path` made absolute against `cwd` and cleaned like Go's `filepath.Abs` (no symlinks
/// resolved: `a/../b` is `b` even when `a` is a link).
fn absolute_clean(path: &Path, cwd: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    };
    let mut out = PathBuf::from("/");
    for component in joined.components() {
        match component {
            Component::Prefix(_) | Component::RootDir | Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(name) => out.push(name),
        }
    }
    out
}

#[cfg(test)]
mod tests;
