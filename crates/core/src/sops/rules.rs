//! Crypt rules: which leaves of a tree are encrypted (sops' `Tree.shouldBeEncrypted`).

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
