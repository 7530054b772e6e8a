//! Why a `.sops.yaml` cannot be edited, or an edit was refused: one variant per construct the
//! editor will not touch and per refusal, each with the line or rule it is about.

use crate::config::ConfigError;

/// Why a `.sops.yaml` cannot be edited, or an edit was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EditError {
    /// The text is not valid YAML.
    #[error("invalid YAML at line {line}, column {column}: {message}")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// The file holds more than one YAML document.
    #[error("second YAML document at line {line}: only single-document files can be edited")]
    MultipleDocuments {
        /// Where the second document starts.
        line: usize,
    },
    /// A line is indented with a tab: YAML indents with spaces (go-yaml refuses a tab at the
    /// start of a line), and the editor writes new lines in the file's indentation.
    #[error("tab in the indentation of line {line}: indent with spaces")]
    TabIndentation {
        /// The line.
        line: usize,
    },
    /// A line break other than `\n` and `\r\n` (a lone `\r`, NEL, LS or PS, which YAML
    /// reads as line breaks too).
    #[error("unusual line break on line {line} (a lone CR, NEL, LS or PS): use LF or CRLF")]
    LineBreak {
        /// The line, counted by `\n`.
        line: usize,
    },
    /// An explicit key (`? key`) is in the way.
    #[error("explicit key ('? ') at line {line} cannot be edited: write 'key: value'")]
    ExplicitKey {
        /// Its line.
        line: usize,
    },
    /// A YAML tag (`!!str`, `!custom`) is in the way.
    #[error("YAML tag at line {line} cannot be edited safely")]
    Tag {
        /// The line of the tagged node.
        line: usize,
    },
    /// `keys:` is a flow sequence (`keys: [&a age1…]`).
    #[error(
        "flow-style 'keys' at line {line} cannot be edited: write one '- &name recipient' per line"
    )]
    FlowKeys {
        /// The line of the `[`.
        line: usize,
    },
    /// An anchor names a mapping or a list.
    #[error("anchor on a collection at line {line} cannot be edited safely")]
    AnchorOnCollection {
        /// The line of the anchored collection.
        line: usize,
    },
    /// The top level, a rule or a key group is written in flow style (`{…}`).
    #[error("flow-style {what} at line {line} cannot be edited: write it in block style")]
    FlowMapping {
        /// What is in flow style.
        what: &'static str,
        /// Its line.
        line: usize,
    },
    /// A `keys:` entry is not `- &name recipient [# comment]` on one line.
    #[error("key at line {line} is not of the form '- &name recipient' on one line")]
    UnsupportedMember {
        /// Its line.
        line: usize,
    },
    /// A field has a type the editor does not expect.
    #[error("{field} at line {line} must be {expected}")]
    FieldType {
        /// The field.
        field: String,
        /// Its line.
        line: usize,
        /// What it must be.
        expected: &'static str,
    },
    /// An anchor name is defined twice.
    #[error("anchor '{name}' at line {line} is defined twice")]
    DuplicateAnchor {
        /// The anchor name.
        name: String,
        /// The line of the second definition.
        line: usize,
    },
    /// The file (or the edited file) does not load as a sops config.
    #[error("the config does not load")]
    Config(#[source] ConfigError),
    /// The member name cannot be an anchor name.
    #[error("invalid member name '{name}': use letters, digits, '_', '-' and '.'")]
    InvalidName {
        /// The name.
        name: String,
    },
    /// The recipient is empty, holds a line break or control character, or a comma (which
    /// sops reads as a separator between keys).
    #[error("invalid recipient for member '{name}': empty, or with a comma or control characters")]
    InvalidRecipient {
        /// The member name.
        name: String,
    },
    /// The comment holds a line break or control character.
    #[error("invalid comment for member '{name}': line breaks are not allowed")]
    InvalidComment {
        /// The member name.
        name: String,
    },
    /// A member (or another anchor) with that name exists.
    #[error("member '{name}' already exists (line {line})")]
    MemberExists {
        /// The name.
        name: String,
        /// The line of the existing anchor.
        line: usize,
    },
    /// The member's value is a comma-separated list: the editor changes one recipient per
    /// member (sops reads such an anchor as several keys wherever it is named).
    #[error(
        "member '{name}' at line {line} holds several recipients (a comma-separated list): give each its own anchor"
    )]
    SeveralRecipients {
        /// The name.
        name: String,
        /// The member's line.
        line: usize,
    },
    /// The member's anchor comes after the place its alias would go: YAML defines an anchor
    /// before its aliases.
    #[error(
        "member '{name}' is defined at line {line}, after the rule that would name it: move keys: above creation_rules"
    )]
    AnchorAfterUse {
        /// The name.
        name: String,
        /// The member's line.
        line: usize,
    },
    /// Another member holds the same recipient.
    #[error(
        "member '{name}' holds the same recipient as member '{other}' (line {line}): remove one of them by hand"
    )]
    SharedRecipient {
        /// The member to change.
        name: String,
        /// The other member.
        other: String,
        /// The other member's line.
        line: usize,
    },
    /// No member has that name.
    #[error("no member named '{name}' in keys")]
    NoSuchMember {
        /// The name.
        name: String,
    },
    /// The rule index is out of range.
    #[error("no creation rule {rule} (the config has {rules})")]
    NoSuchRule {
        /// The 0-based index asked for.
        rule: usize,
        /// How many rules there are.
        rules: usize,
    },
    /// The key group index is out of range.
    #[error("creation rule {rule} has no key group {group} (it has {groups})")]
    NoSuchGroup {
        /// The rule.
        rule: usize,
        /// The 0-based group index asked for.
        group: usize,
        /// How many groups the rule has.
        groups: usize,
    },
    /// The edit would leave a key group of a rule without any key.
    #[error("removing '{name}' would leave creation rule {rule} (key group {group}) without a key")]
    LastRecipient {
        /// The member.
        name: String,
        /// The rule.
        rule: usize,
        /// The key group.
        group: usize,
    },
    /// The edit would leave a rule that named an admin without one.
    #[error("removing '{name}' would leave creation rule {rule} without an admin")]
    LastAdmin {
        /// The member.
        name: String,
        /// The rule.
        rule: usize,
    },
    /// A rule to insert names no member.
    #[error("a new creation rule needs at least one recipient")]
    EmptyRule,
    /// The `path_regex` of a new rule does not compile.
    #[error("invalid path_regex '{pattern}'")]
    InvalidPathRegex {
        /// The pattern.
        pattern: String,
        /// The regex error.
        #[source]
        source: regex::Error,
    },
    /// An alias of the member sits outside any `age:` field, where the editor cannot remove it.
    #[error("alias '*{name}' at line {line} is outside creation_rules' age fields")]
    AliasOutsideRules {
        /// The member.
        name: String,
        /// The alias' line.
        line: usize,
    },
    /// An `age:` field that must change is a block scalar (`|`, `>`) or holds a collection.
    #[error("age field of creation rule {rule} at line {line} cannot be edited: use a list")]
    UnsupportedAgeField {
        /// The rule.
        rule: usize,
        /// The field's line.
        line: usize,
    },
    /// The recipient to change is inside a scalar shared through another anchor.
    #[error("recipient sits in the value of anchor '&{anchor}', used at line {line}")]
    SharedAnchor {
        /// The anchor holding it.
        anchor: String,
        /// The line of the alias.
        line: usize,
    },
    /// The edited text did not give the expected recipients; nothing was changed.
    #[error("{operation}: the edited config does not read as intended, nothing was changed")]
    Unverified {
        /// The operation.
        operation: &'static str,
    },
}
