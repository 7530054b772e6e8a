//! Crypt rules: which leaves of a tree are encrypted (sops' `Tree.shouldBeEncrypted`).
//!
//! A leaf's *path* is every map key from the root down to it (list indices are not part of it),
//! so a rule that matches a parent key covers the whole subtree. Suffix and regex rules test
//! each key separately — a regex is never matched against the joined path (sops issue #1367).
//! Comment rules look at the *comment stack*: the comments directly above the leaf at its level
//! and directly above each of its ancestors. For `encrypted_comment_regex` the matching comment
//! itself stays in clear. Regexes are RE2 in sops; the `regex` crate accepts the same syntax for
//! everything sops users write, unanchored like Go's `regexp.Match`.

use regex::bytes::Regex;

/// The one crypt rule of a file (sops allows at most one; default `unencrypted_suffix: _unencrypted`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CryptRule {
    /// A leaf is left in clear when any key on its path ends with the suffix.
    UnencryptedSuffix(String),
    /// A leaf is encrypted only when any key on its path ends with the suffix.
    EncryptedSuffix(String),
    /// A leaf is left in clear when any key on its path matches the (RE2-style) regex.
    UnencryptedRegex(String),
    /// A leaf is encrypted only when any key on its path matches the regex.
    EncryptedRegex(String),
    /// A leaf is left in clear when a comment above it (or above an ancestor) matches.
    UnencryptedCommentRegex(String),
    /// A leaf is encrypted only when a comment above it (or above an ancestor) matches.
    EncryptedCommentRegex(String),
}

impl Default for CryptRule {
    fn default() -> Self {
        Self::UnencryptedSuffix("_unencrypted".to_owned())
    }
}

/// A crypt rule's regex does not compile.
#[derive(Debug, thiserror::Error)]
#[error("invalid {field} '{pattern}'")]
pub struct InvalidRuleRegexError {
    /// The metadata field name (`encrypted_regex`, …).
    pub field: &'static str,
    /// The pattern.
    pub pattern: String,
    /// The regex compiler's error.
    #[source]
    pub source: regex::Error,
}

/// What a rule's matcher applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    /// Each key of the path.
    Keys,
    /// The comment stack.
    Comments,
}

/// A [`CryptRule`] ready to be applied: its regex compiled once per operation.
#[derive(Clone, Debug)]
pub struct CompiledRule {
    matcher: Matcher,
    target: Target,
    /// Whether a match means "encrypt" (the `encrypted_*` rules) rather than "leave in clear".
    match_encrypts: bool,
}

#[derive(Clone, Debug)]
enum Matcher {
    Suffix(Vec<u8>),
    Regex(Regex),
}

impl Matcher {
    fn is_match(&self, text: &[u8]) -> bool {
        match self {
            Self::Suffix(suffix) => text.ends_with(suffix),
            Self::Regex(regex) => regex.is_match(text),
        }
    }
}

impl CryptRule {
    /// The name of the metadata field that holds this rule.
    pub fn field_name(&self) -> &'static str {
        match self {
            Self::UnencryptedSuffix(_) => "unencrypted_suffix",
            Self::EncryptedSuffix(_) => "encrypted_suffix",
            Self::UnencryptedRegex(_) => "unencrypted_regex",
            Self::EncryptedRegex(_) => "encrypted_regex",
            Self::UnencryptedCommentRegex(_) => "unencrypted_comment_regex",
            Self::EncryptedCommentRegex(_) => "encrypted_comment_regex",
        }
    }

    /// The rule's suffix or pattern.
    pub fn pattern(&self) -> &str {
        match self {
            Self::UnencryptedSuffix(p)
            | Self::EncryptedSuffix(p)
            | Self::UnencryptedRegex(p)
            | Self::EncryptedRegex(p)
            | Self::UnencryptedCommentRegex(p)
            | Self::EncryptedCommentRegex(p) => p,
        }
    }

    /// Compiles the rule's regex (once per operation, not per leaf).
    ///
    /// # Errors
    ///
    /// [`InvalidRuleRegexError`] when the pattern is not a valid regex.
    pub fn compile(&self) -> Result<CompiledRule, InvalidRuleRegexError> {
        let regex = |pattern: &str| {
            Regex::new(pattern)
                .map(Matcher::Regex)
                .map_err(|source| InvalidRuleRegexError {
                    field: self.field_name(),
                    pattern: pattern.to_owned(),
                    source,
                })
        };
        let suffix = |s: &str| Matcher::Suffix(s.as_bytes().to_vec());
        let (matcher, target, match_encrypts) = match self {
            Self::UnencryptedSuffix(s) => (suffix(s), Target::Keys, false),
            Self::EncryptedSuffix(s) => (suffix(s), Target::Keys, true),
            Self::UnencryptedRegex(p) => (regex(p)?, Target::Keys, false),
            Self::EncryptedRegex(p) => (regex(p)?, Target::Keys, true),
            Self::UnencryptedCommentRegex(p) => (regex(p)?, Target::Comments, false),
            Self::EncryptedCommentRegex(p) => (regex(p)?, Target::Comments, true),
        };
        Ok(CompiledRule {
            matcher,
            target,
            match_encrypts,
        })
    }
}

impl CompiledRule {
    /// Whether one key on a path matches a suffix or key-regex rule (always `false` for comment
    /// rules). Walks cache this per level.
    pub fn key_matches(&self, key: &str) -> bool {
        self.target == Target::Keys && self.matcher.is_match(key.as_bytes())
    }

    /// Whether a comment matches an `unencrypted_comment_regex` rule (sops refuses to write an
    /// encrypted comment that would match it).
    pub fn is_unencrypted_comment_match(&self, text: &[u8]) -> bool {
        self.target == Target::Comments && !self.match_encrypts && self.matcher.is_match(text)
    }

    /// Whether this rule reads the comment stack (walks only keep one when it does).
    pub fn uses_comments(&self) -> bool {
        self.target == Target::Comments
    }

    /// sops' `shouldBeEncrypted` with the key matches already counted: `matching_keys` is how
    /// many keys on the path satisfy [`CompiledRule::key_matches`]; `comments` is the comment
    /// stack flattened, outermost first; for a comment leaf the comment itself is the last one.
    pub fn decide(&self, matching_keys: usize, comments: &[&[u8]], is_comment: bool) -> bool {
        let matched = match self.target {
            Target::Keys => matching_keys > 0,
            Target::Comments => {
                let considered = match (self.match_encrypts, is_comment) {
                    (true, true) => comments.split_last().map_or(&[][..], |(_, rest)| rest),
                    _ => comments,
                };
                considered.iter().any(|c| self.matcher.is_match(c))
            }
        };
        matched == self.match_encrypts
    }

    /// Whether the leaf at `path` (map keys from the root), under the comment stack `comments`
    /// (flattened, outermost first, a comment leaf last), is encrypted.
    pub fn should_encrypt(&self, path: &[&str], comments: &[&[u8]], is_comment: bool) -> bool {
        let matching = path.iter().filter(|key| self.key_matches(key)).count();
        self.decide(matching, comments, is_comment)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(rule: CryptRule) -> CompiledRule {
        rule.compile().unwrap()
    }

    #[test]
    fn default_is_unencrypted_suffix() {
        let r = rule(CryptRule::default());
        assert!(r.should_encrypt(&["db", "password"], &[], false));
        assert!(!r.should_encrypt(&["db", "host_unencrypted"], &[], false));
        // A parent key covers its subtree.
        assert!(!r.should_encrypt(&["cfg_unencrypted", "a", "b"], &[], false));
        // Comments follow the rule with their container's path.
        assert!(!r.should_encrypt(&["cfg_unencrypted"], &[b" note"], true));
        assert!(r.should_encrypt(&[], &[b" note"], true));
    }

    #[test]
    fn encrypted_suffix() {
        let r = rule(CryptRule::EncryptedSuffix("_secret".into()));
        assert!(r.should_encrypt(&["db_secret"], &[], false));
        assert!(r.should_encrypt(&["db_secret", "nested", "x"], &[], false));
        assert!(!r.should_encrypt(&["db", "password"], &[], false));
        assert!(!r.should_encrypt(&[], &[b" c"], true));
    }

    #[test]
    fn regexes_match_each_key_separately() {
        let r = rule(CryptRule::EncryptedRegex("^(data|stringData)$".into()));
        assert!(r.should_encrypt(&["data", "x"], &[], false));
        assert!(!r.should_encrypt(&["metadata", "name"], &[], false));
        // Never against the joined path: `a:b` does not exist as a key.
        let joined = rule(CryptRule::EncryptedRegex("a:b".into()));
        assert!(!joined.should_encrypt(&["a", "b"], &[], false));
        let clear = rule(CryptRule::UnencryptedRegex("^pub".into()));
        assert!(!clear.should_encrypt(&["public_key"], &[], false));
        assert!(!clear.should_encrypt(&["x", "pubs", "y"], &[], false));
        assert!(clear.should_encrypt(&["private", "xpub"], &[], false));
        // Unanchored, like Go's regexp.Match.
        let mid = rule(CryptRule::EncryptedRegex("ass".into()));
        assert!(mid.should_encrypt(&["password"], &[], false));
    }

    #[test]
    fn unencrypted_comment_regex() {
        let r = rule(CryptRule::UnencryptedCommentRegex("sops:clear".into()));
        assert!(!r.should_encrypt(&["a"], &[b" sops:clear"], false));
        // From an ancestor's comment block.
        assert!(!r.should_encrypt(&["a", "b"], &[b" sops:clear", b" other"], false));
        assert!(r.should_encrypt(&["a"], &[b" other"], false));
        // The matching comment itself stays clear.
        assert!(!r.should_encrypt(&[], &[b" sops:clear"], true));
        assert!(r.is_unencrypted_comment_match(b"x sops:clear"));
    }

    #[test]
    fn encrypted_comment_regex_keeps_matching_comment_clear() {
        let r = rule(CryptRule::EncryptedCommentRegex("sops:enc".into()));
        assert!(r.should_encrypt(&["a"], &[b" sops:enc"], false));
        assert!(!r.should_encrypt(&["a"], &[b" other"], false));
        assert!(!r.should_encrypt(&["a"], &[], false));
        // The marker comment itself (last on the stack) stays clear ...
        assert!(!r.should_encrypt(&[], &[b" sops:enc"], true));
        // ... while a comment after it in the same block is encrypted.
        assert!(r.should_encrypt(&[], &[b" sops:enc", b" more"], true));
    }

    #[test]
    fn invalid_regex_is_a_typed_error() {
        let error = CryptRule::EncryptedRegex("(".into()).compile().unwrap_err();
        assert!(matches!(
            error,
            InvalidRuleRegexError {
                field: "encrypted_regex",
                ..
            }
        ));
        assert!(matches!(
            CryptRule::UnencryptedCommentRegex("[".into()).compile(),
            Err(InvalidRuleRegexError {
                field: "unencrypted_comment_regex",
                ..
            })
        ));
    }
}
