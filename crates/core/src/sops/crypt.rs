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

use std::ops::Range;

use rayon::prelude::*;
use zeroize::Zeroizing;

use crate::sops::mac::{MacHasher, MacHex, MacScope};
use crate::sops::rules::{CompiledRule, CryptRule, InvalidRuleRegexError};
use crate::sops::value::{
    Cipher, DataKey, EncryptedValue, IV_BYTES, IvStash, ParseEncryptedValueError, RandomError,
    ValueError, ValueType, fill_random, plaintext_bytes, typed_plaintext,
};
use crate::tree::{Text, Tree, Value};

mod audit;
mod walk;

pub(crate) use audit::{Anomaly, audit_tree};
use walk::{Slot, count_leaves, key_path_of, walk_tree};

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

/// A leaf waiting for encryption (kept small: a large file has one per value).
struct Job<'t> {
    slot: Slot<'t>,
    /// The leaf's number in walk order (for error paths).
    leaf: usize,
    /// The AAD, as a range of the shared arena.
    aad: Range<usize>,
}

/// The IVs the stash holds for unchanged values, each with the number of its job, in job order
/// (a value without one gets a random IV).
type StashedIvs = Vec<(usize, [u8; IV_BYTES])>;

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
    let mut jobs = Vec::with_capacity(count_leaves(tree));
    let mut stashed = StashedIvs::new();
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
                if let Some(iv) = stash.lookup(context.aad, value_type, &plaintext) {
                    stashed.push((jobs.len(), iv));
                }
                let start = arena.len();
                arena.extend_from_slice(context.aad);
                jobs.push(Job {
                    slot,
                    leaf,
                    aad: start..arena.len(),
                });
            } else if context.encrypt {
                // sops returns "" for an empty comment; in a list it becomes a string element.
                if let Slot::Value(value @ Value::Comment(_)) = slot {
                    *value = Value::Str(Text::default());
                }
            }
        }
        leaf += 1;
    });

    let unencrypted_comment_rule = compiled
        .as_ref()
        .filter(|rule| rule.uses_comments())
        .cloned();
    // Blocks of jobs in parallel, each drawing the random IVs it needs at once; the first
    // failure in document order is the one reported.
    let failure = jobs
        .par_chunks_mut(MIN_LEAVES_PER_TASK)
        .enumerate()
        .map(|(index, block)| {
            let first = index * MIN_LEAVES_PER_TASK;
            let ivs = stashed_between(&stashed, first..first + block.len());
            encrypt_block(
                &cipher,
                &arena,
                first,
                block,
                ivs,
                unencrypted_comment_rule.as_ref(),
            )
        })
        .find_first(Option::is_some)
        .flatten();
    drop(jobs);
    match failure {
        None => Ok(hasher.finish()),
        Some(Failure::Random(error)) => Err(error.into()),
        Some(Failure::Value(leaf, source)) => Err(EncryptError::Value {
            key_path: key_path_of(tree, leaf),
            source,
        }),
        Some(Failure::CommentMatchesRule(leaf)) => Err(EncryptError::EncryptedCommentMatchesRule {
            key_path: key_path_of(tree, leaf),
        }),
    }
}

/// Why a block of encryption jobs stopped.
enum Failure {
    /// No random IVs could be drawn.
    Random(RandomError),
    /// The value of this leaf could not be encrypted.
    Value(usize, ValueError),
    /// This leaf, an encrypted comment, matches `unencrypted_comment_regex`.
    CommentMatchesRule(usize),
}

/// The stashed IVs of the jobs numbered `jobs`.
fn stashed_between(
    stashed: &[(usize, [u8; IV_BYTES])],
    jobs: Range<usize>,
) -> &[(usize, [u8; IV_BYTES])] {
    let start = stashed.partition_point(|(job, _)| *job < jobs.start);
    let end = stashed.partition_point(|(job, _)| *job < jobs.end);
    stashed.get(start..end).unwrap_or_default()
}

/// Encrypts a block of jobs (numbered from `first`) in place, in order, with their `stashed`
/// IVs or random ones drawn for the block; the first failure stops it.
fn encrypt_block(
    cipher: &Cipher,
    arena: &[u8],
    first: usize,
    block: &mut [Job<'_>],
    stashed: &[(usize, [u8; IV_BYTES])],
    comment_rule: Option<&CompiledRule>,
) -> Option<Failure> {
    let mut random = Zeroizing::new(vec![0u8; (block.len() - stashed.len()) * IV_BYTES]);
    if let Err(error) = fill_random(&mut random) {
        return Some(Failure::Random(error));
    }
    let mut random_ivs = random.chunks_exact(IV_BYTES);
    let mut stashed = stashed.iter().peekable();
    let mut buffer = Zeroizing::new(Vec::new());
    for (number, job) in (first..).zip(block) {
        let iv = match stashed.next_if(|(job, _)| *job == number) {
            Some((_, iv)) => *iv,
            None => random_ivs
                .next()
                .and_then(|chunk| chunk.try_into().ok())
                .expect("one random IV was drawn per job without a stashed IV"),
        };
        if let Some(failure) = encrypt_job(cipher, arena, job, &iv, &mut buffer, comment_rule) {
            return Some(failure);
        }
    }
    None
}

/// Encrypts one job in place with `iv`; `Some` with the failure when it cannot.
fn encrypt_job(
    cipher: &Cipher,
    arena: &[u8],
    job: &mut Job<'_>,
    iv: &[u8; IV_BYTES],
    buffer: &mut Zeroizing<Vec<u8>>,
    comment_rule: Option<&CompiledRule>,
) -> Option<Failure> {
    let aad = arena.get(job.aad.clone()).unwrap_or_default();
    let value_type = match &job.slot {
        Slot::Value(value) => plaintext_bytes(value, buffer),
        Slot::MapComment(text) => {
            buffer.clear();
            buffer.extend_from_slice(text.as_bytes());
            Some(ValueType::Comment)
        }
    }?;
    let text = match cipher.encrypt_to_text(buffer, value_type, aad, iv) {
        Ok(text) => text,
        Err(error) => return Some(Failure::Value(job.leaf, error)),
    };
    if value_type == ValueType::Comment
        && comment_rule.is_some_and(|rule| rule.is_unencrypted_comment_match(text.as_bytes()))
    {
        return Some(Failure::CommentMatchesRule(job.leaf));
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
    let leaves = count_leaves(tree);
    let mut arena = Vec::new();
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

    // In document order: the MAC, the stash, and the first problem.
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
            Some(Outcome::Clear(found)) => {
                problem = Some((leaf, Some(*found)));
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
                    problem = Some((leaf, None));
                    break;
                }
            }
        }
    }
    let Some((leaf, found)) = problem else {
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
    if let Some(found) = found {
        return Err(DecryptError::NotEncrypted { key_path, found });
    }
    let source = outcomes
        .into_iter()
        .nth(leaf)
        .and_then(|outcome| match outcome {
            Some(Outcome::Decrypted(Err(source))) => Some(source),
            _ => None,
        })
        .expect("the first problem found is this leaf's decryption error");
    Err(DecryptError::Value { key_path, source })
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
