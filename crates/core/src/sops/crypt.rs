//! Encrypting and decrypting a whole tree, and computing its MAC on the way.
//!
//! One walk ([`walk_tree`]) visits the leaves in document order exactly as sops' `walkBranch` /
//! `walkSlice` do, keeping the AAD (map keys joined by `:`, plus a trailing `:`, list indices
//! left out), the crypt-rule state and the comment stack up to date incrementally. Encryption,
//! decryption and MAC computation all run on it:
//!
//! 1. the walk collects the leaves (and, for encryption, hashes the plaintexts into the MAC);
//! 2. the AES-GCM work runs in parallel over the collected leaves (rayon);
//! 3. results are written back in document order (for decryption, hashed into the MAC there).
//!
//! sops quirks kept on purpose: an encrypted comment inside a list becomes a *string* list
//! element (`ENC[...,type:comment]`), and decrypting such an element gives back a comment; a
//! comment that fails to decrypt stays as a plain comment; empty strings are never encrypted.
//! Decryption follows the crypt rule as sops' `Tree.Decrypt` does: a leaf the rule leaves in
//! clear is kept as it is, and a leaf the rule encrypts must be `ENC[AES256_GCM,...]` text or
//! an empty string. Anything else there is refused ([`DecryptError::NotEncrypted`]): the MAC
//! hashes values without their keys, so a clear value renamed into an encrypted position (or
//! one clear value split in two) would otherwise pass as authentic.

use std::fmt::Write as _;
use std::ops::Range;

use rayon::prelude::*;
use zeroize::Zeroizing;

use crate::sops::mac::{MacHasher, MacHex, MacScope};
use crate::sops::rules::{CompiledRule, CryptRule, InvalidRuleRegexError};
use crate::sops::value::{
    Cipher, DataKey, EncryptedValue, IV_BYTES, IvStash, ParseEncryptedValueError, RandomError,
    ValueError, ValueType, fill_random, plaintext_bytes, typed_plaintext,
};
use crate::tree::{Branch, Item, Text, Tree, Value};

/// Leaves per rayon task: small trees stay on one thread.
const MIN_LEAVES_PER_TASK: usize = 256;

/// Why `encrypt_tree` failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncryptError {
    /// The crypt rule's regex does not compile.
    #[error(transparent)]
    InvalidRule(#[from] InvalidRuleRegexError),
    /// No random IVs could be generated.
    #[error(transparent)]
    Random(#[from] RandomError),
    /// A value could not be encrypted.
    #[error("cannot encrypt value at {key_path}")]
    Value {
        /// Where the value is, like `["db"]["password"]`.
        key_path: String,
        /// Why.
        #[source]
        source: ValueError,
    },
    /// An encrypted comment would match `unencrypted_comment_regex`, so sops could not read the
    /// file back; sops refuses this too.
    #[error("encrypted comment at {key_path} matches unencrypted_comment_regex")]
    EncryptedCommentMatchesRule {
        /// The path of the comment's container.
        key_path: String,
    },
}

/// Why `decrypt_tree` failed. The tree may be partly decrypted afterwards; discard it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecryptError {
    /// A value could not be decrypted (sops: "Could not decrypt value", exit 25).
    #[error("cannot decrypt value at {key_path}")]
    Value {
        /// Where the value is, like `["db"]["password"]` or `["list"][0]`.
        key_path: String,
        /// Why (never the value itself).
        #[source]
        source: ValueError,
    },
    /// A value the file's crypt rule says is encrypted is in clear: not `ENC[...]` text and not
    /// an empty string (sops: "Could not decrypt value: Input string … does not match sops'
    /// data format", exit 25; for a number, boolean or time there sops 3.11 panics). The file
    /// was edited without the key: the MAC does not cover key names, so such a value could be
    /// an injected one even when the MAC matches.
    #[error(
        "value at {key_path} is in clear ({found}) where the file's crypt rule requires it encrypted"
    )]
    NotEncrypted {
        /// Where the value is, like `["db"]["password"]`.
        key_path: String,
        /// What was found there (`str` for text, `int`, `bool`, ...).
        found: ValueType,
    },
    /// The file's crypt rule has a regex that does not compile.
    #[error(transparent)]
    InvalidRule(#[from] InvalidRuleRegexError),
    /// The IV stash could not be salted.
    #[error(transparent)]
    Random(#[from] RandomError),
}

/// A place in the tree where a leaf lives.
enum Slot<'t> {
    /// A leaf value, in a map or a list (list comments included).
    Value(&'t mut Value),
    /// A comment between the entries of a map.
    MapComment(&'t mut Text),
}

impl Slot<'_> {
    fn is_comment(&self) -> bool {
        matches!(self, Self::MapComment(_) | Self::Value(Value::Comment(_)))
    }

    /// The type of a leaf that stands in clear where the crypt rule requires encryption, as
    /// sops' `Tree.Decrypt` judges it: only `ENC[...]` text or an empty string may stand there
    /// (`Cipher.Decrypt` returns `""` for an empty value and fails to parse anything else); a
    /// number, boolean or time there makes sops 3.11 panic. Comments are never refused: one
    /// that does not decrypt stays a plain comment, as in sops.
    fn clear_type(&self) -> Option<ValueType> {
        let Self::Value(value) = self else {
            return None;
        };
        let found = match value {
            Value::Str(text)
                if text.is_empty() || EncryptedValue::is_encrypted(text.as_bytes()) =>
            {
                return None;
            }
            Value::Str(_) => ValueType::Str,
            Value::Bytes(bytes) if bytes.is_empty() => return None,
            Value::Bytes(_) => ValueType::Bytes,
            Value::Int(_) => ValueType::Int,
            Value::Float(_) => ValueType::Float,
            Value::Bool(_) => ValueType::Bool,
            Value::Time(_) => ValueType::Time,
            Value::Comment(_) | Value::Null | Value::Map(_) | Value::List(_) => return None,
        };
        Some(found)
    }

    /// The text of a string leaf or comment, if it is one.
    fn text(&self) -> Option<&[u8]> {
        match self {
            Self::Value(Value::Str(t) | Value::Comment(t)) => Some(t.as_bytes()),
            Self::MapComment(t) => Some(t.as_bytes()),
            Self::Value(_) => None,
        }
    }
}

/// One step of a key path, for error messages.
enum Segment<'t> {
    Key(&'t str),
    Index(usize),
}

/// What a visitor learns about a leaf.
struct Context<'w, 't> {
    /// The AAD: `k1:k2:`, or `:` at the top level.
    aad: &'w [u8],
    /// Whether the crypt rule says to encrypt it (always true without a rule).
    encrypt: bool,
    /// Map keys and list indices from the root.
    segments: &'w [Segment<'t>],
}

impl Context<'_, '_> {
    fn key_path(&self) -> String {
        format_key_path(self.segments)
    }
}

fn format_key_path(segments: &[Segment<'_>]) -> String {
    let mut out = String::new();
    for segment in segments {
        match segment {
            Segment::Key(key) => write!(out, "[{key:?}]"),
            Segment::Index(index) => write!(out, "[{index}]"),
        }
        .expect("writing to a String cannot fail");
    }
    out
}

/// The walk state shared by encryption, decryption and the MAC.
struct Walker<'r, 't> {
    rule: Option<&'r CompiledRule>,
    /// `k1:k2:` for the current path.
    aad: Vec<u8>,
    segments: Vec<Segment<'t>>,
    /// For each key segment: whether it matched the rule.
    key_matches: Vec<bool>,
    matching_keys: usize,
    /// The comment stack (only kept when the rule reads comments), flattened.
    comments: Vec<Text>,
    /// Where each level's group starts in `comments`.
    groups: Vec<usize>,
}

impl<'r, 't> Walker<'r, 't> {
    fn new(rule: Option<&'r CompiledRule>) -> Self {
        Self {
            rule,
            aad: Vec::with_capacity(128),
            segments: Vec::with_capacity(16),
            key_matches: Vec::with_capacity(16),
            matching_keys: 0,
            comments: Vec::new(),
            groups: Vec::new(),
        }
    }

    fn keeps_comments(&self) -> bool {
        self.rule.is_some_and(CompiledRule::uses_comments)
    }

    fn visit<F: FnMut(Slot<'t>, &Context<'_, 't>)>(&self, slot: Slot<'t>, visit: &mut F) {
        let is_comment = slot.is_comment();
        let encrypt = match self.rule {
            None => true,
            Some(rule) if rule.uses_comments() => {
                let stack: Vec<&[u8]> = self.comments.iter().map(Text::as_bytes).collect();
                rule.decide(self.matching_keys, &stack, is_comment)
            }
            Some(rule) => rule.decide(self.matching_keys, &[], is_comment),
        };
        let aad: &[u8] = if self.aad.is_empty() { b":" } else { &self.aad };
        visit(
            slot,
            &Context {
                aad,
                encrypt,
                segments: &self.segments,
            },
        );
    }

    fn open_group(&mut self) {
        self.groups.push(self.comments.len());
    }

    fn clear_group(&mut self) {
        if let Some(&start) = self.groups.last() {
            self.comments.truncate(start);
        }
    }

    fn close_group(&mut self) {
        if let Some(start) = self.groups.pop() {
            self.comments.truncate(start);
        }
    }

    fn push_comment(&mut self, text: &Text) {
        if self.keeps_comments() {
            self.comments.push(text.clone());
        }
    }

    fn walk_branch<F: FnMut(Slot<'t>, &Context<'_, 't>)>(
        &mut self,
        branch: &'t mut Branch,
        visit: &mut F,
    ) {
        self.open_group();
        for item in branch.iter_mut() {
            match item {
                Item::Comment(text) => {
                    self.push_comment(text);
                    self.visit(Slot::MapComment(text), visit);
                }
                Item::Entry { key, value } => {
                    let key: &'t str = key;
                    let matched = self.rule.is_some_and(|rule| rule.key_matches(key));
                    let aad_len = self.aad.len();
                    self.aad.extend_from_slice(key.as_bytes());
                    self.aad.push(b':');
                    self.segments.push(Segment::Key(key));
                    self.key_matches.push(matched);
                    self.matching_keys += usize::from(matched);

                    self.walk_value(value, visit);

                    self.matching_keys -= usize::from(self.key_matches.pop().unwrap_or(false));
                    self.segments.pop();
                    self.aad.truncate(aad_len);
                    self.clear_group();
                }
            }
        }
        self.close_group();
    }

    fn walk_value<F: FnMut(Slot<'t>, &Context<'_, 't>)>(
        &mut self,
        value: &'t mut Value,
        visit: &mut F,
    ) {
        match value {
            Value::Null => {}
            Value::Map(branch) => self.walk_branch(branch, visit),
            Value::List(items) => {
                self.open_group();
                for (index, item) in items.iter_mut().enumerate() {
                    self.segments.push(Segment::Index(index));
                    if let Value::Comment(text) = &*item {
                        self.push_comment(text);
                        self.visit(Slot::Value(item), visit);
                    } else {
                        self.walk_value(item, visit);
                        self.clear_group();
                    }
                    self.segments.pop();
                }
                self.close_group();
            }
            leaf => self.visit(Slot::Value(leaf), visit),
        }
    }
}

/// Visits every leaf of `tree` in document order (sops' walk), null values excepted.
fn walk_tree<'t, F: FnMut(Slot<'t>, &Context<'_, 't>)>(
    tree: &'t mut Tree,
    rule: Option<&CompiledRule>,
    mut visit: F,
) {
    for branch in &mut tree.branches {
        let mut walker = Walker::new(rule);
        walker.walk_branch(branch, &mut visit);
    }
}

/// The key path of the `target`-th leaf (in walk order), for error messages.
fn key_path_of(tree: &mut Tree, target: usize) -> String {
    let mut index = 0;
    let mut found = String::new();
    walk_tree(tree, None, |_, context| {
        if index == target {
            found = context.key_path();
        }
        index += 1;
    });
    found
}

/// A leaf waiting for the cipher.
struct Job<'t> {
    slot: Slot<'t>,
    /// The leaf's number in walk order (for error paths).
    leaf: usize,
    /// The AAD, as a range of the shared arena.
    aad: Range<usize>,
    /// Encryption: the IV to use. Decryption: the IV found.
    iv: [u8; IV_BYTES],
    /// Decryption only: the outcome.
    decrypted: Option<Result<Decrypted, ValueError>>,
}

/// Encrypts the leaves of `tree` in place and returns the MAC of its plaintext.
///
/// `rule == None` encrypts every leaf (the binary store). Strings, comments and bytes become
/// `ENC[...]` text; ints, floats, bools and times become `Value::Str` holding `ENC[...,type:…]`;
/// nulls are untouched; an encrypted comment inside a list becomes a `Value::Str` element (as
/// sops writes it). IVs found in `stash` for an unchanged value are reused; others are random.
///
/// # Errors
///
/// [`EncryptError`] on an invalid rule regex, a random-number failure, an oversized value, or an
/// encrypted comment that would match `unencrypted_comment_regex`.
pub(crate) fn encrypt_tree(
    tree: &mut Tree,
    key: &DataKey,
    rule: Option<&CryptRule>,
    scope: MacScope,
    stash: &IvStash,
) -> Result<MacHex, EncryptError> {
    let compiled = rule.map(CryptRule::compile).transpose()?;
    let cipher = Cipher::new(key);
    let mut hasher = MacHasher::new(scope);
    let mut arena = Vec::new();
    let mut jobs = Vec::new();
    let mut fresh = 0usize;
    let mut leaf = 0usize;
    let mut plaintext = Zeroizing::new(Vec::new());
    walk_tree(tree, compiled.as_ref(), |slot, context| {
        let value_type = match &slot {
            Slot::Value(value) => plaintext_bytes(value, &mut plaintext),
            Slot::MapComment(text) => {
                plaintext.clear();
                plaintext.extend_from_slice(text.as_bytes());
                Some(ValueType::Comment)
            }
        };
        if let Some(value_type) = value_type {
            if value_type != ValueType::Comment {
                hasher.add_leaf(&plaintext, context.encrypt);
            }
            let empty_text = plaintext.is_empty()
                && matches!(
                    value_type,
                    ValueType::Str | ValueType::Comment | ValueType::Bytes
                );
            if context.encrypt && !empty_text {
                let start = arena.len();
                arena.extend_from_slice(context.aad);
                let iv = stash.lookup(context.aad, value_type, &plaintext);
                fresh += usize::from(iv.is_none());
                jobs.push((
                    Job {
                        slot,
                        leaf,
                        aad: start..arena.len(),
                        iv: [0; IV_BYTES],
                        decrypted: None,
                    },
                    iv,
                ));
            } else if context.encrypt {
                // sops returns "" for an empty comment; in a list it becomes a string element.
                if let Slot::Value(value @ Value::Comment(_)) = slot {
                    *value = Value::Str(Text::default());
                }
            }
        }
        leaf += 1;
    });

    let mut random = Zeroizing::new(vec![0u8; fresh * IV_BYTES]);
    fill_random(&mut random)?;
    let mut random_ivs = random.chunks_exact(IV_BYTES);
    let mut jobs: Vec<Job<'_>> = jobs
        .into_iter()
        .map(|(mut job, stashed)| {
            job.iv = match stashed {
                Some(iv) => iv,
                None => random_ivs
                    .next()
                    .and_then(|chunk| chunk.try_into().ok())
                    .expect("one random IV was drawn per job without a stashed IV"),
            };
            job
        })
        .collect();

    let unencrypted_comment_rule = compiled
        .as_ref()
        .filter(|rule| rule.uses_comments())
        .cloned();
    let failure = jobs
        .par_iter_mut()
        .with_min_len(MIN_LEAVES_PER_TASK)
        .map_init(
            || Zeroizing::new(Vec::new()),
            |buffer, job| {
                encrypt_job(
                    &cipher,
                    &arena,
                    job,
                    buffer,
                    unencrypted_comment_rule.as_ref(),
                )
            },
        )
        .find_first(Option::is_some)
        .flatten();
    drop(jobs);
    match failure {
        None => Ok(hasher.finish()),
        Some((leaf, Some(source))) => Err(EncryptError::Value {
            key_path: key_path_of(tree, leaf),
            source,
        }),
        Some((leaf, None)) => Err(EncryptError::EncryptedCommentMatchesRule {
            key_path: key_path_of(tree, leaf),
        }),
    }
}

/// Encrypts one job in place. Returns `Some((leaf, Some(error)))` on a cipher error and
/// `Some((leaf, None))` when an encrypted comment matches `unencrypted_comment_regex`.
fn encrypt_job(
    cipher: &Cipher,
    arena: &[u8],
    job: &mut Job<'_>,
    buffer: &mut Zeroizing<Vec<u8>>,
    comment_rule: Option<&CompiledRule>,
) -> Option<(usize, Option<ValueError>)> {
    let aad = arena.get(job.aad.clone()).unwrap_or_default();
    let value_type = match &job.slot {
        Slot::Value(value) => plaintext_bytes(value, buffer),
        Slot::MapComment(text) => {
            buffer.clear();
            buffer.extend_from_slice(text.as_bytes());
            Some(ValueType::Comment)
        }
    }?;
    let text = match cipher.encrypt(buffer, value_type, aad, &job.iv) {
        Ok(encrypted) => encrypted.to_string(),
        Err(error) => return Some((job.leaf, Some(error))),
    };
    if value_type == ValueType::Comment
        && comment_rule.is_some_and(|rule| rule.is_unencrypted_comment_match(text.as_bytes()))
    {
        return Some((job.leaf, None));
    }
    match &mut job.slot {
        Slot::Value(value) => **value = Value::Str(Text::from(text)),
        Slot::MapComment(comment) => **comment = Text::from(text),
    }
    None
}

/// Decrypts the leaves of `tree` that the file's crypt `rule` says are encrypted, in place,
/// and returns the MAC computed over the plaintext, as sops' `Tree.Decrypt` does.
///
/// `rule == None` means every leaf is encrypted (the binary store). A leaf the rule leaves in
/// clear is kept as it is, even if it looks like `ENC[...]`, and counts in the MAC unless `scope`
/// is [`MacScope::OnlyEncrypted`]. A leaf the rule covers must be `ENC[...]` text or an empty
/// string (kept as it is); anything else there is refused, as sops refuses it. A `type:comment`
/// list element becomes a [`Value::Comment`]; a comment that fails to decrypt, or that is in
/// clear, stays a plain comment.
/// With a `stash`, each value's IV is recorded so that re-encryption keeps unchanged values'
/// ciphertext; a read-only caller passes `None` and saves that work.
///
/// # Errors
///
/// [`DecryptError::Value`] with the key path of the first value (in document order) that does not
/// decrypt, or [`DecryptError::NotEncrypted`] if that value is in clear where the rule requires
/// encryption; [`DecryptError::InvalidRule`] for a rule whose regex does not compile;
/// [`DecryptError::Random`] if the stash cannot be salted.
pub(crate) fn decrypt_tree(
    tree: &mut Tree,
    key: &DataKey,
    rule: Option<&CryptRule>,
    scope: MacScope,
    mut stash: Option<&mut IvStash>,
) -> Result<MacHex, DecryptError> {
    let compiled = rule.map(CryptRule::compile).transpose()?;
    let cipher = Cipher::new(key);
    let mut arena = Vec::new();
    let mut jobs = Vec::new();
    let mut leaf = 0usize;
    // The first leaf in clear where the rule requires encryption: nothing after it is decrypted.
    let mut clear: Option<(String, ValueType)> = None;
    walk_tree(tree, compiled.as_ref(), |slot, context| {
        if clear.is_some() {
            return;
        }
        if context.encrypt
            && let Some(found) = slot.clear_type()
        {
            clear = Some((context.key_path(), found));
            return;
        }
        // An empty AAD range marks a leaf that is not decrypted (a real AAD is never empty).
        let start = arena.len();
        if context.encrypt && slot.text().is_some_and(EncryptedValue::is_encrypted) {
            arena.extend_from_slice(context.aad);
        }
        jobs.push((
            Job {
                slot,
                leaf,
                aad: start..arena.len(),
                iv: [0; IV_BYTES],
                decrypted: None,
            },
            context.encrypt,
        ));
        leaf += 1;
    });

    jobs.par_iter_mut()
        .with_min_len(MIN_LEAVES_PER_TASK)
        .for_each(|(job, _)| {
            if job.aad.is_empty() {
                return;
            }
            let Some(text) = job.slot.text() else { return };
            let aad = arena.get(job.aad.clone()).unwrap_or_default();
            job.decrypted = Some(decrypt_text(&cipher, text, aad));
        });

    let mut hasher = MacHasher::new(scope);
    let mut plaintext = Zeroizing::new(Vec::new());
    let mut failed = None;
    for (job, encrypted) in &mut jobs {
        let aad = arena.get(job.aad.clone()).unwrap_or_default();
        match job.decrypted.take() {
            None => {
                if let Slot::Value(value) = &job.slot
                    && plaintext_bytes(value, &mut plaintext)
                        .is_some_and(|t| t != ValueType::Comment)
                {
                    hasher.add_leaf(&plaintext, *encrypted);
                }
            }
            Some(Ok(Decrypted {
                value,
                plaintext,
                iv,
            })) => {
                let value_type = value_type_of(&value);
                let is_comment = value_type == ValueType::Comment;
                if !is_comment {
                    hasher.add_leaf(&plaintext, true);
                }
                match (&mut job.slot, value) {
                    (Slot::Value(slot), value) => **slot = value,
                    (Slot::MapComment(slot), Value::Comment(text) | Value::Str(text)) => {
                        **slot = text;
                    }
                    // Another type under a map comment: keep the comment as it is.
                    (Slot::MapComment(_), _) => continue,
                }
                if let (Some(stash), Some(iv)) = (stash.as_deref_mut(), iv) {
                    stash.record(aad, value_type, &plaintext, &iv)?;
                }
            }
            Some(Err(source)) => {
                if !job.slot.is_comment() {
                    failed = Some((job.leaf, source));
                    break;
                }
            }
        }
    }
    drop(jobs);
    match (failed, clear) {
        // A value before the clear one failed to decrypt: it comes first in document order.
        (Some((leaf, source)), _) => Err(DecryptError::Value {
            key_path: key_path_of(tree, leaf),
            source,
        }),
        (None, Some((key_path, found))) => Err(DecryptError::NotEncrypted { key_path, found }),
        (None, None) => Ok(hasher.finish()),
    }
}

/// What a keyless look at one leaf finds wrong ([`audit_tree`]).
#[derive(Debug)]
pub(crate) enum Anomaly {
    /// In clear where the crypt rule requires encryption ([`DecryptError::NotEncrypted`]).
    Clear {
        /// What stands there.
        found: ValueType,
    },
    /// `ENC[...]` text that does not parse (bad base64, unknown `type:`): it cannot decrypt.
    Malformed {
        /// Why.
        source: ParseEncryptedValueError,
    },
    /// A `type:` whose plaintext can never have the value's length: the `type:` field is not
    /// authenticated, so it may have been changed (decryption fails or the MAC mismatches).
    TypeLength {
        /// The declared type.
        value_type: ValueType,
        /// The plaintext length in bytes (the length of the decoded `data`).
        length: usize,
    },
}

/// Every leaf of `tree` that the file's crypt `rule` encrypts and that is visibly wrong without
/// the key, with its key path, in document order: a value in clear, a malformed `ENC[...]`, or
/// a `type:` its length cannot hold ([`plausible_length`]). Comments are left out: sops keeps
/// one that does not decrypt as a plain comment.
pub(crate) fn audit_tree(
    tree: &mut Tree,
    rule: Option<&CryptRule>,
) -> Result<Vec<(String, Anomaly)>, InvalidRuleRegexError> {
    let compiled = rule.map(CryptRule::compile).transpose()?;
    let mut found = Vec::new();
    walk_tree(tree, compiled.as_ref(), |slot, context| {
        if !context.encrypt || slot.is_comment() {
            return;
        }
        let anomaly = if let Some(found) = slot.clear_type() {
            Some(Anomaly::Clear { found })
        } else {
            let text = slot.text().filter(|text| !text.is_empty());
            match text.map(EncryptedValue::parse) {
                Some(Err(source)) => Some(Anomaly::Malformed { source }),
                Some(Ok(value)) if !plausible_length(value.value_type, value.data.len()) => {
                    Some(Anomaly::TypeLength {
                        value_type: value.value_type,
                        length: value.data.len(),
                    })
                }
                _ => None,
            }
        };
        if let Some(anomaly) = anomaly {
            found.push((context.key_path(), anomaly));
        }
    });
    Ok(found)
}

/// Whether a plaintext of `length` bytes can be a value of `value_type` as sops (or any tool
/// whose values sops reads back) writes it. GCM keeps lengths, so this needs no key:
///
/// - `bool`: sops writes `True` or `False` (4 or 5 bytes);
/// - `int`: Go's `strconv.Itoa` of an int64, 1 to 20 bytes (`-9223372036854775808`);
/// - `float`: `FormatFloat(f, 'f', -1, 64)` never uses an exponent: at most a sign, `0.`,
///   307 zeros and 17 digits (327 bytes, for values near the smallest normal float);
/// - `time`: RFC 3339 with up to nine fractional digits and an offset, 20 to 35 bytes;
/// - `str`, `bytes`, `comment`: any length.
pub(crate) fn plausible_length(value_type: ValueType, length: usize) -> bool {
    match value_type {
        ValueType::Bool => matches!(length, 4 | 5),
        ValueType::Int => (1..=20).contains(&length),
        ValueType::Float => (1..=327).contains(&length),
        ValueType::Time => (20..=35).contains(&length),
        ValueType::Str | ValueType::Bytes | ValueType::Comment => true,
    }
}

/// The `type:` a decrypted value was stored with.
fn value_type_of(value: &Value) -> ValueType {
    match value {
        Value::Comment(_) => ValueType::Comment,
        Value::Bytes(_) => ValueType::Bytes,
        Value::Int(_) => ValueType::Int,
        Value::Float(_) => ValueType::Float,
        Value::Bool(_) => ValueType::Bool,
        Value::Time(_) => ValueType::Time,
        Value::Str(_) | Value::Null | Value::Map(_) | Value::List(_) => ValueType::Str,
    }
}

/// A decrypted leaf.
struct Decrypted {
    /// The typed value.
    value: Value,
    /// Its `ToBytes` serialization: what the MAC and the stash see.
    plaintext: Zeroizing<Vec<u8>>,
    /// The IV, when it has sops' 32 bytes (only those are stashed).
    iv: Option<[u8; IV_BYTES]>,
}

/// Decrypts one `ENC[...]` text.
fn decrypt_text(cipher: &Cipher, text: &[u8], aad: &[u8]) -> Result<Decrypted, ValueError> {
    let encrypted = EncryptedValue::parse(text)?;
    let raw = cipher.decrypt(&encrypted, aad)?;
    let iv = <[u8; IV_BYTES]>::try_from(encrypted.iv.as_slice()).ok();
    let value = typed_plaintext(encrypted.value_type, raw)?;
    let mut plaintext = Zeroizing::new(Vec::new());
    plaintext_bytes(&value, &mut plaintext);
    Ok(Decrypted {
        value,
        plaintext,
        iv,
    })
}

#[cfg(test)]
mod tests;
