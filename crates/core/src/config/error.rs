//! Why a `.sops.yaml` could not be found, read or used.

use std::path::PathBuf;

use crate::fs::FsError;
use crate::store::StoreError;

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
