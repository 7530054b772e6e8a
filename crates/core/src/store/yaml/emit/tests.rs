//! The root map written in parallel parts against the same map written in one pass.

use super::{Emitter, ROOT_ITEMS_PER_PART, emit};
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

#[test]
fn a_large_root_map_written_in_parts_is_written_as_in_one_pass() {
    for size in [2 * ROOT_ITEMS_PER_PART + 1, 5 * ROOT_ITEMS_PER_PART + 17] {
        let branch: Vec<Item> = (0..size).map(root_item).collect();
        let mut one_pass = Emitter {
            out: SecretBuf::new(),
            indent: 4,
        };
        one_pass.map(&branch, 0);
        let parts = emit(&Tree::single(branch), 4);
        assert!(
            parts.as_slice() == one_pass.out.as_slice(),
            "{size} root items"
        );
    }
}

/// Documents around a large one keep their places and separators when the pieces are joined.
#[test]
fn documents_around_a_large_root_map_keep_their_order() {
    let small = |i: usize| vec![root_item(i), root_item(i + 1)];
    let large: Vec<Item> = (0..3 * ROOT_ITEMS_PER_PART).map(root_item).collect();
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
