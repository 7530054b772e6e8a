//! `.sops.yaml`: discovery, creation rules and store settings, read as sops 3.11 reads them.
//!
//! [`find_config`] walks up from a directory the way sops does; [`Config::load`] reads the file
//! (non-strict: unknown keys are ignored); [`Config::rule_for`] picks the creation rule that
//! governs a file (path made absolute, the config directory stripped, first match wins). The
//! facts behind each choice are in research/sops-format.md §11. Lossless edits of the file are a
//! separate concern (`config/edit.rs`).
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

pub mod edit;
mod rules;

use std::path::{Component, Path, PathBuf};

pub use rules::{CreationRule, KeyGroupSpec, KmsKeySpec};

use crate::fs::FsError;
use crate::store::{EmitOptions, StoreError};
use crate::tree::{Item, Value};
use rules::{Context, get, list_values};

/// The file name sops looks for.
pub const CONFIG_FILE_NAME: &str = ".sops.yaml";

/// The file name sops ignores (with a warning) although users often write it.
pub const IGNORED_CONFIG_FILE_NAME: &str = ".sops.yml";

/// How many directories [`find_config`] tries, the start directory included (sops' `maxDepth`).
pub const MAX_LOOKUP_DEPTH: usize = 100;

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

/// What [`find_config`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigLookup {
    /// The `.sops.yaml` to use, if any. Parent steps are joined as `..` components (as sops does,
    /// so symlinked directories are walked the way the OS resolves `..`).
    pub path: Option<PathBuf>,
    /// The first `.sops.yml` seen on the way (in a directory no further up than `path`'s), which
    /// sops ignores; the CLI should warn about it.
    pub ignored: Option<PathBuf>,
}

/// Why `.sops.yaml` could not be loaded, or no rule applies.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error(transparent)]
    Read(#[from] FsError),
    /// The file is not valid YAML.
    #[error("invalid config '{}'", config.display())]
    Yaml {
        /// The config file.
        config: PathBuf,
        /// The YAML error.
        #[source]
        source: StoreError,
    },
    /// A field has the wrong type (e.g. a map where a string is expected).
    #[error("invalid config '{}': {field} must be {expected}", config.display())]
    FieldType {
        /// The config file.
        config: PathBuf,
        /// The creation rule, when the field is inside one.
        rule: Option<usize>,
        /// The field, like `creation_rules[1].key_groups[0].age`.
        field: String,
        /// What the field must be.
        expected: &'static str,
    },
    /// A `path_regex` does not compile.
    #[error(
        "invalid config '{}': creation_rules[{rule}].path_regex '{pattern}' is not a valid regex",
        config.display()
    )]
    InvalidRegex {
        /// The config file.
        config: PathBuf,
        /// The 0-based rule index.
        rule: usize,
        /// The pattern as written.
        pattern: String,
        /// The regex error.
        #[source]
        source: regex::Error,
    },
    /// A rule sets more than one crypt rule (sops: "cannot use more than one of …").
    #[error(
        "invalid config '{}': creation_rules[{rule}] sets more than one of {}",
        config.display(),
        fields.join(", ")
    )]
    MultipleCryptRules {
        /// The config file.
        config: PathBuf,
        /// The 0-based rule index.
        rule: usize,
        /// The crypt rule fields the rule sets.
        fields: Vec<&'static str>,
    },
    /// `shamir_threshold` is negative.
    #[error(
        "invalid config '{}': creation_rules[{rule}].shamir_threshold is {threshold}, \
         must not be negative",
        config.display()
    )]
    InvalidShamirThreshold {
        /// The config file.
        config: PathBuf,
        /// The 0-based rule index.
        rule: usize,
        /// The value as written.
        threshold: i64,
    },
    /// A `stores.*.indent` is out of range (YAML: negative; JSON: below −1).
    #[error("invalid config '{}': stores.{store}.indent is {indent}", config.display())]
    InvalidIndent {
        /// The config file.
        config: PathBuf,
        /// `yaml`, `json` or `json_binary`.
        store: &'static str,
        /// The value as written.
        indent: i64,
    },
    /// The config has no `creation_rules`; sops then treats it as no config at all (keys must
    /// come from flags).
    #[error("config '{}' has no creation_rules", config.display())]
    NoCreationRules {
        /// The config file.
        config: PathBuf,
    },
    /// No creation rule matches the file (sops: "no matching creation rules found", exit 1).
    #[error("no matching creation rules found for '{}' in '{}'", file.display(), config.display())]
    NoMatchingRule {
        /// The file, as given.
        file: PathBuf,
        /// The config file.
        config: PathBuf,
    },
}

/// Looks for `.sops.yaml` in `start_dir`, then in its parents, as sops does (at most
/// [`MAX_LOOKUP_DEPTH`] directories; `.sops.yml` is not used but reported).
///
/// sops starts at the current directory, not at the file's: pass the working directory.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("aesec-doc-find-{}", std::process::id()));
/// # std::fs::create_dir_all(dir.join("secrets/host"))?;
/// std::fs::write(dir.join(".sops.yaml"), "creation_rules: []\n")?;
/// let lookup = aesec::config::find_config(&dir.join("secrets/host"));
/// let found = lookup.path.expect("found");
/// assert_eq!(std::fs::canonicalize(&found)?, std::fs::canonicalize(dir.join(".sops.yaml"))?);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn find_config(start_dir: &Path) -> ConfigLookup {
    let mut dir = start_dir.to_path_buf();
    let mut ignored = None;
    for _ in 0..MAX_LOOKUP_DEPTH {
        let candidate = dir.join(CONFIG_FILE_NAME);
        if std::fs::metadata(&candidate).is_ok() {
            return ConfigLookup {
                path: Some(candidate),
                ignored,
            };
        }
        if ignored.is_none() {
            let alternative = dir.join(IGNORED_CONFIG_FILE_NAME);
            if std::fs::metadata(&alternative).is_ok() {
                ignored = Some(alternative);
            }
        }
        dir.push("..");
    }
    ConfigLookup {
        path: None,
        ignored,
    }
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
        let tree = match crate::store::yaml::parse(bytes) {
            Ok(tree) => tree,
            Err(StoreError::Empty { .. }) => crate::Tree::default(),
            Err(StoreError::TopLevelNotMap { .. }) => {
                return Err(context.field_type("the top level", "a map"));
            }
            Err(source) => {
                return Err(ConfigError::Yaml {
                    config: path.clone(),
                    source,
                });
            }
        };
        let items: &[Item] = tree.branches.first().map_or(&[], Vec::as_slice);

        let (creation_rules, has_creation_rules) = match get(items, "creation_rules") {
            None | Some(Value::Null) => (Vec::new(), false),
            Some(Value::List(values)) => {
                let mut rules = Vec::new();
                for (index, value) in list_values(values).enumerate() {
                    rules.push(rules::parse_rule(&path, index, value)?);
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

/// The `stores:` section.
fn parse_stores(stores: &[Item], context: &Context<'_>) -> Result<EmitOptions, ConfigError> {
    let mut options = EmitOptions::default();
    if let Some(indent) = store_indent(stores, "yaml", context)? {
        options.yaml_indent = match usize::try_from(indent) {
            Ok(0) => 4,
            Ok(indent) => indent,
            Err(_) => return Err(invalid_indent(context, "yaml", indent)),
        };
    }
    options.json_indent = json_indent(store_indent(stores, "json", context)?, "json", context)?;
    options.binary_indent = json_indent(
        store_indent(stores, "json_binary", context)?,
        "json_binary",
        context,
    )?;
    Ok(options)
}

/// `stores.<store>.indent`, if set.
fn store_indent(
    stores: &[Item],
    store: &'static str,
    context: &Context<'_>,
) -> Result<Option<i64>, ConfigError> {
    match get(stores, store) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Map(items)) => match get(items, "indent") {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Int(indent)) => Ok(Some(*indent)),
            Some(_) => Err(context.field_type(format!("stores.{store}.indent"), "an integer")),
        },
        Some(_) => Err(context.field_type(format!("stores.{store}"), "a map")),
    }
}

/// A JSON indent: unset or −1 is a tab (`None`), 0 or more is that many spaces.
fn json_indent(
    indent: Option<i64>,
    store: &'static str,
    context: &Context<'_>,
) -> Result<Option<usize>, ConfigError> {
    match indent {
        None | Some(-1) => Ok(None),
        Some(indent) => usize::try_from(indent)
            .map(Some)
            .map_err(|_| invalid_indent(context, store, indent)),
    }
}

fn invalid_indent(context: &Context<'_>, store: &'static str, indent: i64) -> ConfigError {
    ConfigError::InvalidIndent {
        config: context.config.to_path_buf(),
        store,
        indent,
    }
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;
    use crate::test_support::TempDir;

    fn load(yaml: &str, path: &str) -> Config {
        Config::from_yaml(yaml.as_bytes(), path).unwrap()
    }

    const RULES: &str = "creation_rules:
  - path_regex: ^secrets/prod/
    age: age1prod
  - path_regex: \\.prod\\.yaml$
    age: age1prodsuffix
  - path_regex: ^other\\.yaml$
    age: age1other
  - path_regex: dev
    age: age1dev
";

    fn index_for(config: &Config, file: &str, cwd: &str) -> Option<usize> {
        match config.rule_for(Path::new(file), Path::new(cwd)) {
            Ok(rule) => Some(rule.index),
            Err(ConfigError::NoMatchingRule { .. }) => None,
            Err(error) => panic!("unexpected error: {error:?}"),
        }
    }

    #[test]
    fn relative_and_absolute_paths_match_the_same_rule() {
        let config = load(RULES, "/repo/.sops.yaml");
        assert_eq!(index_for(&config, "secrets/prod/a.yaml", "/repo"), Some(0));
        assert_eq!(
            index_for(&config, "/repo/secrets/prod/a.yaml", "/"),
            Some(0)
        );
        assert_eq!(index_for(&config, "prod/a.yaml", "/repo/secrets"), Some(0));
        assert_eq!(index_for(&config, "./other.yaml", "/repo"), Some(2));
        assert_eq!(
            index_for(&config, "../other.yaml", "/repo/secrets"),
            Some(2)
        );
        // Relative to the config directory, not to the working directory.
        assert_eq!(index_for(&config, "other.yaml", "/repo/secrets"), None);
    }

    #[test]
    fn first_match_wins() {
        let config = load(RULES, "/repo/.sops.yaml");
        assert_eq!(
            index_for(&config, "secrets/prod/x.prod.yaml", "/repo"),
            Some(0)
        );
        assert_eq!(
            index_for(&config, "secrets/dev/x.prod.yaml", "/repo"),
            Some(1)
        );
        assert_eq!(index_for(&config, "devices.yaml", "/repo"), Some(3));
    }

    #[test]
    fn paths_are_cleaned_lexically() {
        let config = load(RULES, "/repo/.sops.yaml");
        assert_eq!(
            config.match_path(Path::new("secrets/prod/../dev.yaml"), Path::new("/repo")),
            "secrets/dev.yaml"
        );
        assert_eq!(
            index_for(&config, "secrets/prod/../dev.yaml", "/repo"),
            Some(3)
        );
        assert_eq!(
            index_for(&config, "secrets//prod/./a.yaml", "/repo"),
            Some(0)
        );
    }

    #[test]
    fn file_outside_config_dir_matches_its_absolute_path() {
        let config = load(
            "creation_rules:\n  - path_regex: ^/elsewhere/\n    age: a\n  - path_regex: ^secrets/\n    age: b\n",
            "/repo/.sops.yaml",
        );
        assert_eq!(
            config.match_path(Path::new("../elsewhere/secrets/x"), Path::new("/repo")),
            "/elsewhere/secrets/x"
        );
        assert_eq!(index_for(&config, "../elsewhere/x.yaml", "/repo"), Some(0));
        assert_eq!(index_for(&config, "/repository/secrets/x", "/"), None);
    }

    #[test]
    fn relative_config_path_is_resolved_against_cwd() {
        let config = load(RULES, ".sops.yaml");
        assert_eq!(index_for(&config, "secrets/prod/a.yaml", "/repo"), Some(0));
        let config = load(RULES, "../.sops.yaml");
        assert_eq!(index_for(&config, "prod/a.yaml", "/repo/secrets"), Some(0));
    }

    #[test]
    fn empty_path_regex_matches_everything() {
        let config = load(
            "creation_rules:\n  - path_regex: ''\n    age: a\n  - age: b\n",
            "/repo/.sops.yaml",
        );
        assert_eq!(index_for(&config, "/anything/at/all", "/"), Some(0));
        let config = load(
            "creation_rules:\n  - path_regex: ^x$\n  - age: catchall\n",
            "/repo/.sops.yaml",
        );
        assert_eq!(index_for(&config, "y", "/repo"), Some(1));
    }

    #[test]
    fn config_without_creation_rules_is_no_config() {
        for yaml in [
            "",
            "# just a comment\n",
            "stores: {}\n",
            "creation_rules:\n",
        ] {
            let config = load(yaml, "/repo/.sops.yaml");
            assert!(!config.has_creation_rules(), "{yaml:?}");
            let error = config
                .rule_for(Path::new("a.yaml"), Path::new("/repo"))
                .unwrap_err();
            assert!(
                matches!(error, ConfigError::NoCreationRules { .. }),
                "{yaml:?}"
            );
        }
        let config = load("creation_rules: []\n", "/repo/.sops.yaml");
        assert!(config.has_creation_rules());
        let error = config
            .rule_for(Path::new("a.yaml"), Path::new("/repo"))
            .unwrap_err();
        assert!(matches!(error, ConfigError::NoMatchingRule { .. }));
    }

    #[test]
    fn stores_indent() {
        let config = load(
            "stores:\n  yaml:\n    indent: 2\n  json:\n    indent: 0\n  json_binary:\n    indent: 4\n",
            "c",
        );
        assert_eq!(
            config.stores,
            EmitOptions {
                yaml_indent: 2,
                json_indent: Some(0),
                binary_indent: Some(4)
            }
        );
        let config = load(
            "stores:\n  yaml:\n    indent: 0\n  json:\n    indent: -1\n  dotenv: {}\n",
            "c",
        );
        assert_eq!(config.stores, EmitOptions::default());
        assert_eq!(load("{}", "c").stores, EmitOptions::default());
    }

    #[test]
    fn invalid_stores_indent_is_refused() {
        let cases = [
            ("stores:\n  yaml:\n    indent: -1\n", "yaml", -1),
            ("stores:\n  json:\n    indent: -2\n", "json", -2),
            (
                "stores:\n  json_binary:\n    indent: -5\n",
                "json_binary",
                -5,
            ),
        ];
        for (yaml, expected_store, expected_indent) in cases {
            let error = Config::from_yaml(yaml.as_bytes(), "c").unwrap_err();
            assert!(
                matches!(error, ConfigError::InvalidIndent { store, indent, .. } if store == expected_store && indent == expected_indent),
                "{yaml:?}: {error:?}"
            );
        }
        let error = Config::from_yaml(b"stores:\n  yaml:\n    indent: two\n", "c").unwrap_err();
        assert!(matches!(error, ConfigError::FieldType { .. }));
    }

    #[test]
    fn invalid_yaml_is_refused() {
        let error = Config::from_yaml(b"creation_rules: [\n", "/repo/.sops.yaml").unwrap_err();
        assert!(matches!(error, ConfigError::Yaml { .. }));
        assert!(error.to_string().contains("/repo/.sops.yaml"));
    }

    #[test]
    fn load_reads_the_file_and_names_missing_ones() {
        let dir = TempDir::new("config-load");
        let path = dir.0.join(CONFIG_FILE_NAME);
        let error = Config::load(&path).unwrap_err();
        assert!(matches!(error, ConfigError::Read(_)));
        std::fs::write(&path, RULES).unwrap();
        let config = Config::load(&path).unwrap();
        assert_eq!(config.creation_rules.len(), 4);
        assert_eq!(config.path, path);
    }

    #[test]
    fn find_config_walks_up_and_reports_sops_yml() {
        let dir = TempDir::new("config-find");
        let deep = dir.0.join("a/b/c");
        std::fs::create_dir_all(&deep).unwrap();
        // Nothing under the temp dir yet (a config further up, outside it, may exist).
        let before = find_config(&deep).path;
        assert!(
            before.is_none_or(|path| !std::fs::canonicalize(path).unwrap().starts_with(&dir.0))
        );

        std::fs::write(dir.0.join("a/b").join(IGNORED_CONFIG_FILE_NAME), "").unwrap();
        std::fs::write(dir.0.join("a").join(CONFIG_FILE_NAME), "").unwrap();
        let lookup = find_config(&deep);
        let found = lookup.path.unwrap();
        assert_eq!(found, deep.join("..").join("..").join(CONFIG_FILE_NAME));
        assert_eq!(
            std::fs::canonicalize(found).unwrap(),
            dir.0.join("a").join(CONFIG_FILE_NAME)
        );
        assert_eq!(
            lookup.ignored,
            Some(deep.join("..").join(IGNORED_CONFIG_FILE_NAME))
        );

        // The start directory itself is searched first.
        let lookup = find_config(&dir.0.join("a"));
        assert_eq!(lookup.path, Some(dir.0.join("a").join(CONFIG_FILE_NAME)));
        assert_eq!(lookup.ignored, None);
    }

    proptest::proptest! {
        #[test]
        fn relative_paths_under_the_config_dir_match_as_written(
            segments in proptest::collection::vec("[a-z0-9_-][a-z0-9._-]{0,7}", 1..6)
        ) {
            let config = load("{}", "/repo/.sops.yaml");
            let relative = segments.join("/");
            let cwd = Path::new("/repo");
            proptest::prop_assert_eq!(config.match_path(Path::new(&relative), cwd), relative.as_str());
            let absolute = format!("/repo/{relative}");
            proptest::prop_assert_eq!(config.match_path(Path::new(&absolute), Path::new("/")), relative.as_str());
            let detour = format!("./x/../{relative}");
            proptest::prop_assert_eq!(config.match_path(Path::new(&detour), cwd), relative.as_str());
            let outside = format!("/other/{relative}");
            proptest::prop_assert_eq!(config.match_path(Path::new(&outside), cwd), outside.as_str());
        }
    }

    /// The real sops (see [`crate::test_support::peer`]); these tests need it.
    fn sops_binary() -> PathBuf {
        crate::test_support::peer("sops")
            .expect("the real sops 3.11 is needed: run scripts/setup-peers.sh")
    }

    /// The age recipients of the file `sops encrypt` produced for `file` (run in `cwd`).
    fn sops_recipients(
        sops: &Path,
        cwd: &Path,
        file: &str,
        home: &Path,
    ) -> Result<Vec<String>, String> {
        let output = Command::new(sops)
            .args(["encrypt", file])
            .current_dir(cwd)
            .env("HOME", home)
            .env_remove("SOPS_AGE_RECIPIENTS")
            .env_remove("SOPS_CONFIG")
            .output()
            .unwrap_or_else(|error| panic!("cannot run '{}': {error}", sops.display()));
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        if !output.status.success() {
            return Err(stderr.into_owned());
        }
        let recipients: Vec<String> = stdout
            .lines()
            .filter_map(|line| {
                line.trim()
                    .trim_start_matches("- ")
                    .strip_prefix("recipient: ")
            })
            .map(str::to_owned)
            .collect();
        assert!(
            !recipients.is_empty(),
            "no recipient in sops output for {file} in {}:\n{stdout}\n{stderr}",
            cwd.display()
        );
        Ok(recipients)
    }

    #[test]
    fn matching_agrees_with_real_sops() {
        let sops = sops_binary();
        let root = TempDir::new("config-sops");
        let repo = root.0.join("repo");
        let recipients: Vec<String> = (0..6)
            .map(|_| age::x25519::Identity::generate().to_public().to_string())
            .collect();
        let rules = [
            "path_regex: ^secrets/prod/",
            "path_regex: \\.prod\\.yaml$",
            "path_regex: ^other\\.yaml$",
            "path_regex: dev",
            "path_regex: ^/",
            "mac_only_encrypted: false",
        ];
        let mut yaml = String::from("creation_rules:\n");
        for (rule, recipient) in rules.iter().zip(&recipients) {
            yaml.push_str(&format!("  - {rule}\n    age: {recipient}\n"));
        }
        for dir in ["secrets/prod", "sub"] {
            std::fs::create_dir_all(repo.join(dir)).unwrap();
        }
        std::fs::create_dir_all(root.0.join("outside")).unwrap();
        std::fs::write(repo.join(CONFIG_FILE_NAME), &yaml).unwrap();
        for file in [
            "repo/secrets/prod/db.yaml",
            "repo/secrets/x.prod.yaml",
            "repo/secrets/prod/x.prod.yaml",
            "repo/secrets/dev.yaml",
            "repo/other.yaml",
            "repo/devices.yaml",
            "repo/sub/plain.yaml",
            "repo/sub/other.yaml",
            "outside/x.yaml",
        ] {
            std::fs::write(root.0.join(file), "a: b\n").unwrap();
        }
        let abs_db = repo
            .join("secrets/prod/db.yaml")
            .to_string_lossy()
            .into_owned();
        let cases: [(&str, &str, usize); 13] = [
            ("repo", "secrets/prod/db.yaml", 0),
            ("repo", "secrets/x.prod.yaml", 1),
            ("repo", "secrets/prod/x.prod.yaml", 0),
            ("repo", "other.yaml", 2),
            ("repo", "./other.yaml", 2),
            ("repo", "devices.yaml", 3),
            ("repo", "secrets/prod/../dev.yaml", 3),
            ("repo", "../outside/x.yaml", 4),
            ("repo", &abs_db, 0),
            ("repo", "sub/plain.yaml", 5),
            ("repo/sub", "other.yaml", 5),
            ("repo/sub", "../secrets/x.prod.yaml", 1),
            ("repo/secrets", "prod/db.yaml", 0),
        ];
        for (cwd, file, expected) in cases {
            let cwd = root.0.join(cwd);
            let config_path = find_config(&cwd).path.expect("the test config is found");
            let config = Config::load(&config_path).unwrap();
            let rule = config.rule_for(Path::new(file), &cwd).unwrap();
            assert_eq!(rule.index, expected, "aesec: {file} in {}", cwd.display());
            let chosen = sops_recipients(&sops, &cwd, file, &root.0).unwrap_or_else(|stderr| {
                panic!("sops failed for {file} in {}: {stderr}", cwd.display())
            });
            assert_eq!(
                chosen,
                rule.key_groups[0].age,
                "sops and aesec disagree on {file} in {}",
                cwd.display()
            );
        }

        // No matching rule: sops refuses, and so does aesec.
        let strict = root.0.join("strict");
        std::fs::create_dir_all(&strict).unwrap();
        std::fs::write(
            strict.join(CONFIG_FILE_NAME),
            format!(
                "creation_rules:\n  - path_regex: ^never$\n    age: {}\n",
                recipients[0]
            ),
        )
        .unwrap();
        std::fs::write(strict.join("a.yaml"), "a: b\n").unwrap();
        let stderr =
            sops_recipients(&sops, &strict, "a.yaml", &root.0).expect_err("sops must refuse");
        assert!(
            stderr.contains("no matching creation rules found"),
            "sops said: {stderr}"
        );
        let config = Config::load(strict.join(CONFIG_FILE_NAME)).unwrap();
        let error = config.rule_for(Path::new("a.yaml"), &strict).unwrap_err();
        assert!(matches!(error, ConfigError::NoMatchingRule { .. }));
    }

    #[test]
    fn key_group_parsing_agrees_with_real_sops() {
        let sops = sops_binary();
        let root = TempDir::new("config-sops-groups");
        let [a, b, c]: [String; 3] =
            std::array::from_fn(|_| age::x25519::Identity::generate().to_public().to_string());
        let cases = [
            // Flat: comma string with blanks and a repeat.
            format!("creation_rules:\n  - age: ' {a} ,,{b},{a}'\n"),
            // Flat: a list whose entries hold commas.
            format!("creation_rules:\n  - age:\n      - {a}, {b}\n      - {c}\n"),
            // key_groups with merge and a repeat, flat keys ignored.
            format!(
                "creation_rules:\n  - age: {c}\n    key_groups:\n      - merge:\n          - age: [{a}]\n        age: ['{b},{a}']\n"
            ),
        ];
        std::fs::write(root.0.join("a.yaml"), "a: b\n").unwrap();
        for yaml in cases {
            std::fs::write(root.0.join(CONFIG_FILE_NAME), &yaml).unwrap();
            let config = Config::load(root.0.join(CONFIG_FILE_NAME)).unwrap();
            let rule = config.rule_for(Path::new("a.yaml"), &root.0).unwrap();
            let chosen = sops_recipients(&sops, &root.0, "a.yaml", &root.0)
                .unwrap_or_else(|stderr| panic!("sops failed for {yaml}: {stderr}"));
            let mut ours = rule.key_groups[0].age.clone();
            let mut theirs = chosen;
            ours.sort();
            theirs.sort();
            assert_eq!(
                theirs, ours,
                "sops and aesec disagree on the keys of:\n{yaml}"
            );
        }
    }
}
