//! Test support: the `sops` block of vector files, read with the real stores.

use crate::tree::{Branch, Item, Tree, Value};

/// The first document of a YAML file.
pub(crate) fn yaml_tree(text: &str) -> Tree {
    crate::store::yaml::parse(text.as_bytes()).expect("vector YAML parses")
}

/// The `sops` map of a tree's first document.
pub(crate) fn sops_of(tree: &Tree) -> Branch {
    match crate::tree::get(&tree.branches[0], "sops") {
        Some(Value::Map(b)) => b.clone(),
        _ => panic!("no sops map in document"),
    }
}

/// Replaces the `sops` map of a tree's first document.
pub(crate) fn set_sops(tree: &mut Tree, block: Branch) {
    for item in &mut tree.branches[0] {
        if let Item::Entry { key, value } = item
            && key == "sops"
        {
            *value = Value::Map(block);
            return;
        }
    }
    panic!("no sops map in document");
}

/// The `sops` map of a YAML document.
pub(crate) fn sops_block(text: &str) -> Branch {
    sops_of(&yaml_tree(text))
}

/// The `sops` map of a JSON document (numbers are floats, as in sops 3.11's JSON store).
pub(crate) fn sops_block_json(text: &str) -> Branch {
    sops_of(&crate::store::json::parse(text.as_bytes()).expect("vector JSON parses"))
}

/// The `sops_*` lines of a dotenv file, `\n` unescaped, in file order.
pub(crate) fn dotenv_sops_pairs(text: &str) -> Vec<(String, String)> {
    text.split('\n')
        .filter(|line| line.starts_with("sops_"))
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.replace("\\n", "\n")))
        .collect()
}
