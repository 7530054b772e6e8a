//! The root map written in parallel parts against the same map written in one pass.

use super::{Emitter, MIN_PARTS, PART_BYTES, emit, root_parts};
use crate::secret::SecretBuf;
use crate::tree::{Item, Text, Tree, Value};

/// Root item `i`: entries of every shape (nested maps and lists, comments inside them, long
/// and multi-line keys, multi-line strings, empty collections) and comments between them.
fn root_item(i: usize) -> Item {
    let value = match i % 7 {
        0 => Value::Str(Text::from(format!("value {i}"))),
        1 => Value::Map(vec![
            Item::Comment(Text::from(" inside")),
            Item::Entry {
                key: "k".into(),
                value: Value::List(vec![Value::Int(1), Value::Comment(Text::from(" c"))]),
            },
        ]),
        2 => Value::Str(Text::from("two\nlines\n")),
        3 => Value::Map(vec![Item::Comment(Text::from(" only a comment"))]),
        4 => Value::List(Vec::new()),
        5 => return Item::Comment(Text::from(format!(" between {i}"))),
        _ => Value::Bool(true),
    };
    let key = match i % 11 {
        0 => format!("long {}", "k".repeat(200)),
        1 => format!("multi\nline {i}"),
        _ => format!("key{i}"),
    };
    Item::Entry { key, value }
}

/// The tree's single document written in one pass.
fn one_pass(branch: &[Item], indent: usize) -> SecretBuf {
    let mut emitter = Emitter {
        out: SecretBuf::new(),
        indent,
    };
    emitter.map(branch, 0);
    emitter.out
}

#[test]
fn a_large_root_map_written_in_parts_is_written_as_in_one_pass() {
    let per_part = PART_BYTES / 40;
    for size in [MIN_PARTS * per_part, 5 * per_part + 17] {
        let branch: Vec<Item> = (0..size).map(root_item).collect();
        assert!(
            root_parts(&branch, 4).len() >= MIN_PARTS,
            "{size} root items"
        );
        let expected = one_pass(&branch, 4);
        let parts = emit(&Tree::single(branch), 4);
        assert!(parts.as_slice() == expected.as_slice(), "{size} root items");
    }
}

/// A root map of a few large entries (nested maps) is cut into parts too.
#[test]
fn a_root_map_of_large_nested_maps_is_written_in_parts() {
    let group = |g: usize| Item::Entry {
        key: format!("group{g}"),
        value: Value::Map(
            (0..PART_BYTES / 200)
                .map(|i| root_item(g * 1000 + i))
                .collect(),
        ),
    };
    let branch: Vec<Item> = (0..4 * MIN_PARTS).map(group).collect();
    assert!(root_parts(&branch, 2).len() >= MIN_PARTS);
    let expected = one_pass(&branch, 2);
    assert!(emit(&Tree::single(branch), 2).as_slice() == expected.as_slice());
}

/// Documents around a large one keep their places and separators when the pieces are joined.
#[test]
fn documents_around_a_large_root_map_keep_their_order() {
    let small = |i: usize| vec![root_item(i), root_item(i + 1)];
    let large: Vec<Item> = (0..MIN_PARTS * PART_BYTES / 20).map(root_item).collect();
    assert!(root_parts(&large, 2).len() >= MIN_PARTS);
    let empty = vec![Item::Comment(Text::from(" nothing"))];
    let branches = vec![small(7), large, empty, small(3)];
    let mut expected = SecretBuf::new();
    for (index, branch) in branches.iter().enumerate() {
        if index > 0 {
            expected.push_str("---\n");
        }
        let mut one_pass = Emitter {
            out: SecretBuf::new(),
            indent: 2,
        };
        one_pass.document(branch);
        expected.extend_from_slice(one_pass.out.as_slice());
    }
    let tree = Tree { branches };
    assert!(emit(&tree, 2).as_slice() == expected.as_slice());
}
