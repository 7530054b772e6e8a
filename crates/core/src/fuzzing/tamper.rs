//! Attacker edits of a valid encrypted YAML file, for the `tamper` fuzz target.
//!
//! The attacker can write the file but holds no key. The fuzz bytes choose structural edits of
//! a file that sops encrypted (rename keys, move, duplicate, split or delete entries, replace a
//! value with a clear one, change an `ENC[…]` value's `type:`, edit metadata fields, nest and
//! unnest values, flatten `a: {b: X}` into `"a:b": X`, add comments, anchors and aliases), and
//! [`open_tampered`] opens the result. Whatever opens must hold only what the encryptor made:
//!
//! - every leaf that was decrypted has plaintext bytes (sops' `ToBytes`, so a changed `type:`
//!   with the same bytes is not a finding: sops does not authenticate it) equal to a leaf of the
//!   original plaintext;
//! - no leaf where the file's crypt rule demands encryption is in clear, except an empty string
//!   or null, which sops accepts there (and which the MAC cannot see). Where the rule demands
//!   encryption is decided by sealing the opened document again: a leaf the encryptor writes as
//!   `ENC[…]` must have been `ENC[…]` in the opened file.
//!
//! What sops leaves unauthenticated is not a finding: key names, comments, a value's `type:`,
//! nulls and empty strings, and clear values (whose order and bytes, concatenated, are all the
//! MAC sees; none at all with `mac_only_encrypted`).

use std::collections::HashSet;

use crate::sops::envelope;
use crate::sops::value::EncryptedValue;
use crate::sops::value::plaintext_bytes;
use crate::sops::{AgeDecryptor, Document, OpenOptions};
use crate::store::{EmitOptions, Format, yaml};
use crate::{Item, Tree, Value};

use super::test_identities;

mod edit;

use edit::{Input, edit, with_aliases};

/// The most edits applied to one file (the fuzz input is cut there).
const MAX_EDITS: usize = 16;

/// Applies the edits chosen by `edits` to `seed` (a YAML file that the fuzzing test identity
/// opens), opens the result and checks the properties in the module docs.
///
/// # Panics
///
/// When `seed` does not open, or when an edited file opens with a value the encryptor did not
/// make (the finding).
pub fn open_tampered(seed: &[u8], edits: &[u8]) {
    let identities = test_identities();
    let decryptor = AgeDecryptor::new(&identities);
    let options = OpenOptions::default();
    let original = Document::open(seed, Format::Yaml, &[&decryptor], &options)
        .expect("the tamper seed opens with the test identity");
    let known = leaf_bytes(original.tree());
    let Ok(mut tree) = yaml::parse(seed) else {
        panic!("the tamper seed parses");
    };
    let mut input = Input(edits);
    let mut aliases = Vec::new();
    for _ in 0..MAX_EDITS {
        if input.0.is_empty() {
            break;
        }
        edit(&mut tree, &mut input, &known, &mut aliases);
    }
    let Ok(emitted) = yaml::emit(&tree, EmitOptions::default().yaml_indent) else {
        return;
    };
    let tampered = with_aliases(emitted.to_vec(), &aliases);
    let Ok(mut opened) = Document::open(&tampered, Format::Yaml, &[&decryptor], &options) else {
        return;
    };
    let raw = envelope::parse_encrypted(Format::Yaml, &tampered)
        .unwrap_or_else(|error| panic!("a file that opened parses again: {error}"))
        .tree;
    let opened_tree = opened.tree().clone();
    let mut pairs = Vec::new();
    for (raw, open) in raw.branches.iter().zip(&opened_tree.branches) {
        pair_branch(raw, open, &mut pairs);
    }
    let sealed = opened
        .seal(&EmitOptions::default())
        .unwrap_or_else(|error| panic!("an opened file seals again: {error}"));
    let resealed = envelope::parse_encrypted(Format::Yaml, &sealed)
        .unwrap_or_else(|error| panic!("a sealed file parses: {error}"))
        .tree;
    let mut sealed_leaves = Vec::new();
    for branch in &resealed.branches {
        branch_leaves(branch, &mut sealed_leaves);
    }
    let report = || {
        format!(
            "input: {:?}\nopened: {:?}",
            String::from_utf8_lossy(&tampered),
            yaml::emit(&opened_tree, 4).map(|b| String::from_utf8_lossy(&b).into_owned()),
        )
    };
    assert_eq!(
        pairs.len(),
        sealed_leaves.len(),
        "sealing changed the number of leaves\n{}",
        report()
    );
    let mut bytes = Vec::new();
    for ((raw, open), sealed) in pairs.iter().zip(&sealed_leaves) {
        let raw_encrypted = is_enc(raw);
        if raw_encrypted && raw != open && plaintext_bytes(open, &mut bytes).is_some() {
            assert!(
                known.contains(&bytes),
                "a decrypted value is not one the encryptor wrote\n{}",
                report()
            );
        }
        let empty = matches!(open, Value::Null) || matches!(open, Value::Str(t) if t.is_empty());
        assert!(
            raw_encrypted || empty || !is_enc(sealed),
            "a clear value opened where the file's crypt rule demands encryption\n{}",
            report()
        );
    }
}

/// Whether `value` is a string in `ENC[…]` form.
fn is_enc(value: &Value) -> bool {
    matches!(value, Value::Str(text) if EncryptedValue::is_encrypted(text.as_bytes()))
}

/// The plaintext bytes of every leaf of `tree` (comments and nulls left out).
fn leaf_bytes(tree: &Tree) -> HashSet<Vec<u8>> {
    let mut leaves = Vec::new();
    for branch in &tree.branches {
        branch_leaves(branch, &mut leaves);
    }
    leaves
        .into_iter()
        .filter_map(|leaf| {
            let mut bytes = Vec::new();
            plaintext_bytes(leaf, &mut bytes).map(|_| bytes)
        })
        .collect()
}

/// The leaves (scalars) of `branch`, in document order, comments left out.
fn branch_leaves<'t>(branch: &'t [Item], out: &mut Vec<&'t Value>) {
    for item in branch {
        if let Item::Entry { value, .. } = item {
            value_leaves(value, out);
        }
    }
}

/// [`branch_leaves`] for one value.
fn value_leaves<'t>(value: &'t Value, out: &mut Vec<&'t Value>) {
    match value {
        Value::Map(branch) => branch_leaves(branch, out),
        Value::List(values) => values.iter().for_each(|value| value_leaves(value, out)),
        Value::Comment(_) => {}
        leaf => out.push(leaf),
    }
}

/// The leaves of the file as read (`raw`) beside the same leaves decrypted (`open`, the same
/// shape): a list element that decrypted into a comment is left out.
fn pair_branch<'t>(raw: &'t [Item], open: &'t [Item], out: &mut Vec<(&'t Value, &'t Value)>) {
    for pair in raw.iter().zip(open) {
        if let (Item::Entry { value: raw, .. }, Item::Entry { value: open, .. }) = pair {
            pair_value(raw, open, out);
        }
    }
}

/// [`pair_branch`] for one value.
fn pair_value<'t>(raw: &'t Value, open: &'t Value, out: &mut Vec<(&'t Value, &'t Value)>) {
    match (raw, open) {
        (Value::Map(raw), Value::Map(open)) => pair_branch(raw, open, out),
        (Value::List(raw), Value::List(open)) => {
            for (raw, open) in raw.iter().zip(open) {
                pair_value(raw, open, out);
            }
        }
        (_, Value::Comment(_) | Value::Map(_) | Value::List(_)) => {}
        (raw, open) => out.push((raw, open)),
    }
}
