//! Encrypting and decrypting a whole tree, and computing its MAC on the way.
//!
//! One walk ([`walk_tree`]) visits the leaves in document order exactly as sops' `walkBranch` /
//! `walkSlice` do, keeping the AAD (map keys joined by `:`, plus a trailing `:`, list indices
//! left out), the crypt-rule state and the comment stack up to date incrementally. Encryption,
//! decryption and MAC computation all run on it:
//!
//! - encryption walks runs of root entries in parallel (a run is walked as the whole tree would
//!   be, see [`walk_root_items`]), encrypting each leaf where it finds it; each run gathers the
//!   plaintext it adds to the MAC, and the runs' bytes are hashed in document order after;
//! - decryption collects the leaves in one walk, decrypts them in parallel (rayon), then hashes
//!   the plaintexts into the MAC in document order and puts the values in place in parallel.
//!
//! sops quirks kept on purpose: an encrypted comment inside a list becomes a *string* list
//! element (`ENC[...,type:comment]`), and decrypting such an element gives back a comment; a
//! comment that fails to decrypt stays as a plain comment; empty strings are never encrypted.
//! Decryption follows the crypt rule as sops' `Tree.Decrypt` does: a leaf the rule leaves in
//! clear is kept as it is, and a leaf the rule encrypts must be `ENC[AES256_GCM,...]` text or
//! an empty string. Anything else there is refused ([`DecryptError::NotEncrypted`]): the MAC
//! hashes values without their keys, so a clear value renamed into an encrypted position (or
//! one clear value split in two) would otherwise pass as authentic.

use std::ops::Range;

use chacha20::ChaCha20;
use chacha20::cipher::{KeyIvInit, StreamCipher};
use rayon::prelude::*;
use zeroize::Zeroizing;

use crate::sops::mac::{MacHasher, MacHex, MacScope, MacStream};
use crate::sops::rules::{CompiledRule, CryptRule, InvalidRuleRegexError};
use crate::sops::value::{
    Cipher, DataKey, EncryptedValue, IV_BYTES, IvStash, ParseEncryptedValueError, RandomError,
    ValueError, ValueType, fill_random, plaintext_bytes, typed_plaintext,
};
use crate::tree::{Item, Text, Tree, Value};

mod audit;
mod walk;

pub(crate) use audit::{Anomaly, audit_tree};
use walk::{Context, Slot, count_leaves, key_path_of, leaves_in, walk_root_items, walk_tree};

/// Leaves per rayon task: small trees stay on one thread.
const MIN_LEAVES_PER_TASK: usize = 256;

/// Bytes of AAD (key path) room reserved per leaf in a walk's arena, so that a large file's
/// arena seldom grows by copies; what a shallow tree leaves unused is never touched.
const AAD_BYTES_PER_LEAF: usize = 32;

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

/// Encrypts the leaves of `tree` in place and returns the MAC of its plaintext.
///
/// `rule == None` encrypts every leaf (the binary store). Strings, comments and bytes become
/// `ENC[...]` text; ints, floats, bools and times become `Value::Str` holding `ENC[...,type:…]`;
/// nulls are untouched; an encrypted comment inside a list becomes a `Value::Str` element (as
/// sops writes it). IVs found in `stash` for an unchanged value are reused; others are random.
///
/// The tree is walked in parts ([`root_parts`]) in parallel, each leaf encrypted where the walk
/// finds it; each part gathers the plaintext it adds to the MAC, and the gathered bytes are
/// hashed in document order afterwards.
///
/// # Errors
///
/// [`EncryptError`] on an invalid rule regex, a random-number failure, an oversized value, or an
/// encrypted comment that would match `unencrypted_comment_regex`; the first in document order
/// is reported, and the tree is partly encrypted then (discard it).
pub(crate) fn encrypt_tree(
    tree: &mut Tree,
    key: &DataKey,
    rule: Option<&CryptRule>,
    scope: MacScope,
    stash: &IvStash,
) -> Result<MacHex, EncryptError> {
    let compiled = rule.map(CryptRule::compile).transpose()?;
    let compiled = compiled.as_ref();
    let cipher = Cipher::new(key);
    let comment_rule = compiled.filter(|rule| rule.uses_comments());
    let context = PartContext {
        cipher: &cipher,
        rule: compiled,
        comment_rule,
        scope,
        stash,
    };
    let walked: Vec<Walked> = root_parts(tree, comment_rule.is_none())
        .into_par_iter()
        .map(|(items, leaves)| encrypt_part(items, leaves, &context))
        .collect();
    let mut hasher = MacHasher::new(scope);
    let mut leaves_before = 0;
    for part in walked {
        if let Some((leaf, failure)) = part.failure {
            let leaf = leaves_before + leaf;
            return Err(match failure {
                Failure::Random(error) => EncryptError::Random(error),
                Failure::Value(source) => EncryptError::Value {
                    key_path: key_path_of(tree, leaf),
                    source,
                },
                Failure::CommentMatchesRule => EncryptError::EncryptedCommentMatchesRule {
                    key_path: key_path_of(tree, leaf),
                },
            });
        }
        hasher.add_stream(&part.mac);
        leaves_before += part.leaves;
    }
    Ok(hasher.finish())
}

/// Runs of root entries that [`encrypt_tree`] walks in parallel, each with its number of
/// leaves: about [`MIN_LEAVES_PER_TASK`] leaves each, or whole documents when the crypt rule
/// reads comments (a comment before a root entry then decides for the entries after it).
fn root_parts(tree: &mut Tree, split: bool) -> Vec<(&mut [Item], usize)> {
    let mut parts = Vec::new();
    for branch in &mut tree.branches {
        let mut rest = branch.as_mut_slice();
        while !rest.is_empty() {
            let (mut count, mut leaves) = (0, 0);
            for item in rest.iter() {
                leaves += leaves_in(std::slice::from_ref(item));
                count += 1;
                if split && leaves >= MIN_LEAVES_PER_TASK {
                    break;
                }
            }
            let (part, tail) = std::mem::take(&mut rest).split_at_mut(count);
            parts.push((part, leaves));
            rest = tail;
        }
    }
    parts
}

/// What every part of an encryption shares.
struct PartContext<'c> {
    cipher: &'c Cipher,
    rule: Option<&'c CompiledRule>,
    /// The rule, when it reads comments (an encrypted comment must not match it).
    comment_rule: Option<&'c CompiledRule>,
    scope: MacScope,
    stash: &'c IvStash,
}

/// What encrypting one part found.
struct Walked {
    /// The plaintext the part adds to the MAC.
    mac: MacStream,
    /// How many leaves it has (in walk order).
    leaves: usize,
    /// The first failure, with the number of its leaf within the part.
    failure: Option<(usize, Failure)>,
}

/// Why a leaf could not be encrypted.
enum Failure {
    /// No random IVs could be drawn.
    Random(RandomError),
    /// The value could not be encrypted.
    Value(ValueError),
    /// The leaf, an encrypted comment, matches `unencrypted_comment_regex`.
    CommentMatchesRule,
}

/// Encrypts one part's leaves in place, in walk order; after a failure the rest are only
/// counted.
fn encrypt_part(items: &mut [Item], leaves: usize, context: &PartContext<'_>) -> Walked {
    let mut walked = Walked {
        mac: MacStream::new(context.scope),
        leaves: 0,
        failure: None,
    };
    let mut ivs = RandomIvs::for_leaves(leaves);
    let mut plaintext = Zeroizing::new(Vec::new());
    walk_root_items(items, context.rule, |slot, at| {
        if walked.failure.is_none()
            && let Err(failure) =
                encrypt_leaf(slot, at, context, &mut walked.mac, &mut ivs, &mut plaintext)
        {
            walked.failure = Some((walked.leaves, failure));
        }
        walked.leaves += 1;
    });
    walked
}

/// Encrypts one leaf in place (when the rule says so and it is not empty text) and adds its
/// plaintext to the MAC.
fn encrypt_leaf(
    mut slot: Slot<'_>,
    at: &Context<'_, '_>,
    context: &PartContext<'_>,
    mac: &mut MacStream,
    ivs: &mut RandomIvs,
    plaintext: &mut Zeroizing<Vec<u8>>,
) -> Result<(), Failure> {
    let value_type = match &slot {
        Slot::Value(value) => plaintext_bytes(value, plaintext),
        Slot::MapComment(text) => {
            plaintext.clear();
            plaintext.extend_from_slice(text.as_bytes());
            Some(ValueType::Comment)
        }
    };
    let Some(value_type) = value_type else {
        return Ok(());
    };
    if value_type != ValueType::Comment {
        mac.add_leaf(plaintext, at.encrypt);
    }
    if !at.encrypt {
        return Ok(());
    }
    let empty_text = plaintext.is_empty()
        && matches!(
            value_type,
            ValueType::Str | ValueType::Comment | ValueType::Bytes
        );
    if empty_text {
        // sops returns "" for an empty comment; in a list it becomes a string element.
        if let Slot::Value(value @ Value::Comment(_)) = &mut slot {
            **value = Value::Str(Text::default());
        }
        return Ok(());
    }
    let iv = match context.stash.lookup(at.aad, value_type, plaintext) {
        Some(iv) => iv,
        None => ivs.next().map_err(Failure::Random)?,
    };
    let text = context
        .cipher
        .encrypt_to_text(plaintext, value_type, at.aad, &iv)
        .map_err(Failure::Value)?;
    if value_type == ValueType::Comment
        && context
            .comment_rule
            .is_some_and(|rule| rule.is_unencrypted_comment_match(text.as_bytes()))
    {
        return Err(Failure::CommentMatchesRule);
    }
    match slot {
        Slot::Value(value) => *value = Value::Str(Text::from(text)),
        Slot::MapComment(comment) => *comment = Text::from(text),
    }
    Ok(())
}

/// Random IVs for the leaves of a part, made up to [`MIN_LEAVES_PER_TASK`] at a time (never more
/// than the leaves left could use).
///
/// They are the ChaCha20 keystream under a key drawn from the operating system for this part
/// alone: the construction of the kernel's own generator (and of `arc4random`), computed here
/// with the CPU's vector instructions instead of one `getrandom` call per batch, whose generic
/// ChaCha was 5% of encrypting a 20,000-value file. The key and the stream state are wiped when
/// the part is done; nothing outlives it, so no state is shared across threads or a `fork`.
struct RandomIvs {
    stream: Option<ChaCha20>,
    drawn: Zeroizing<Vec<u8>>,
    used: usize,
    /// Leaves that may still need one.
    left: usize,
}

impl RandomIvs {
    fn for_leaves(leaves: usize) -> Self {
        Self {
            stream: None,
            drawn: Zeroizing::new(Vec::new()),
            used: 0,
            left: leaves,
        }
    }

    fn next(&mut self) -> Result<[u8; IV_BYTES], RandomError> {
        if self.used == self.drawn.len() {
            let stream = match &mut self.stream {
                Some(stream) => stream,
                None => {
                    let mut key = Zeroizing::new([0_u8; 32]);
                    fill_random(key.as_mut_slice())?;
                    self.stream
                        .insert(ChaCha20::new(&(*key).into(), &[0_u8; 12].into()))
                }
            };
            let count = self.left.clamp(1, MIN_LEAVES_PER_TASK);
            self.drawn.clear();
            self.drawn.resize(count * IV_BYTES, 0);
            stream
                .try_apply_keystream(&mut self.drawn)
                .expect("a part's IVs are far below ChaCha20's 256 GiB keystream");
            self.used = 0;
        }
        self.left = self.left.saturating_sub(1);
        let start = self.used;
        self.used += IV_BYTES;
        Ok(self
            .drawn
            .get(start..self.used)
            .and_then(|iv| iv.try_into().ok())
            .expect("the drawn bytes hold whole IVs"))
    }
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
    let leaves = count_leaves(tree);
    let mut arena = Vec::with_capacity(leaves * AAD_BYTES_PER_LEAF);
    // Each leaf in walk order (its index is its leaf number) with its AAD in the arena; an
    // empty range marks a leaf the rule leaves in clear (a real AAD is never empty).
    let mut slots: Vec<(Slot<'_>, Range<usize>)> = Vec::with_capacity(leaves);
    walk_tree(tree, compiled.as_ref(), |slot, context| {
        let start = arena.len();
        if context.encrypt {
            arena.extend_from_slice(context.aad);
        }
        slots.push((slot, start..arena.len()));
    });

    // Every leaf the rule encrypts: decrypted when it is `ENC[...]` text, else checked to be one
    // that may stand in clear there.
    let outcomes: Vec<Option<Outcome>> = slots
        .par_iter()
        .with_min_len(MIN_LEAVES_PER_TASK)
        .map(|(slot, aad)| {
            if aad.is_empty() {
                return None;
            }
            let aad = arena.get(aad.clone()).unwrap_or_default();
            match slot.text().and_then(EncryptedValue::parse_if_encrypted) {
                Some(parsed) => Some(Outcome::Decrypted(decrypt_value(&cipher, parsed, aad))),
                None => slot.clear_type().map(Outcome::Clear),
            }
        })
        .collect();

    // In document order: the MAC, the stash, and the first problem (its leaf number).
    let mut hasher = MacHasher::new(scope);
    let mut plaintext = Zeroizing::new(Vec::new());
    let mut problem = None;
    for (leaf, ((slot, aad), outcome)) in slots.iter().zip(&outcomes).enumerate() {
        let aad = arena.get(aad.clone()).unwrap_or_default();
        match outcome {
            None => {
                if let Slot::Value(value) = slot
                    && plaintext_bytes(value, &mut plaintext)
                        .is_some_and(|t| t != ValueType::Comment)
                {
                    hasher.add_leaf(&plaintext, !aad.is_empty());
                }
            }
            Some(Outcome::Clear(_)) => {
                problem = Some(leaf);
                break;
            }
            Some(Outcome::Decrypted(Ok(Decrypted { value, iv }))) => {
                let value_type = plaintext_bytes(value, &mut plaintext).unwrap_or(ValueType::Str);
                if value_type != ValueType::Comment {
                    hasher.add_leaf(&plaintext, true);
                }
                if let (Some(stash), Some(iv)) = (stash.as_deref_mut(), iv)
                    && placed(slot, value)
                {
                    stash.record(aad, value_type, &plaintext, iv)?;
                }
            }
            Some(Outcome::Decrypted(Err(_))) => {
                if !slot.is_comment() {
                    problem = Some(leaf);
                    break;
                }
            }
        }
    }
    let Some(leaf) = problem else {
        // The values put in place (the encrypted texts they replace wiped as they drop) in
        // parallel.
        slots
            .par_iter_mut()
            .zip(outcomes)
            .with_min_len(MIN_LEAVES_PER_TASK)
            .for_each(|((slot, _), outcome)| {
                if let Some(Outcome::Decrypted(Ok(Decrypted { value, .. }))) = outcome {
                    place(slot, value);
                }
            });
        return Ok(hasher.finish());
    };
    drop(slots);
    let key_path = key_path_of(tree, leaf);
    match outcomes.into_iter().nth(leaf) {
        Some(Some(Outcome::Clear(found))) => Err(DecryptError::NotEncrypted { key_path, found }),
        Some(Some(Outcome::Decrypted(Err(source)))) => {
            Err(DecryptError::Value { key_path, source })
        }
        _ => unreachable!("the first problem is a leaf in clear or one that did not decrypt"),
    }
}

/// Whether a decrypted `value` takes the place of its leaf: anything in a value's place, a
/// comment or string under a map comment (another type there leaves the comment as it is).
fn placed(slot: &Slot<'_>, value: &Value) -> bool {
    matches!(
        (slot, value),
        (Slot::Value(_), _) | (Slot::MapComment(_), Value::Comment(_) | Value::Str(_))
    )
}

/// Puts a decrypted `value` in its leaf's place when it takes it ([`placed`]).
fn place(slot: &mut Slot<'_>, value: Value) {
    match (slot, value) {
        (Slot::Value(slot), value) => **slot = value,
        (Slot::MapComment(slot), Value::Comment(text) | Value::Str(text)) => **slot = text,
        (Slot::MapComment(_), _) => {}
    }
}

/// What the parallel step found for a leaf the rule encrypts.
enum Outcome {
    /// It was `ENC[...]` text: its decryption.
    Decrypted(Result<Decrypted, ValueError>),
    /// It is in clear, with this type, where only encrypted text or an empty string may be.
    Clear(ValueType),
}

/// A decrypted leaf.
struct Decrypted {
    /// The typed value (its `ToBytes` serialization is what the MAC and the stash see).
    value: Value,
    /// The IV, when it has sops' 32 bytes (only those are stashed).
    iv: Option<[u8; IV_BYTES]>,
}

/// Decrypts one parsed `ENC[...]` text.
fn decrypt_value(
    cipher: &Cipher,
    parsed: Result<EncryptedValue, ParseEncryptedValueError>,
    aad: &[u8],
) -> Result<Decrypted, ValueError> {
    let encrypted = parsed?;
    let raw = cipher.decrypt(&encrypted, aad)?;
    let iv = <[u8; IV_BYTES]>::try_from(encrypted.iv.as_slice()).ok();
    let value = typed_plaintext(encrypted.value_type, raw)?;
    Ok(Decrypted { value, iv })
}

#[cfg(test)]
mod tests;
