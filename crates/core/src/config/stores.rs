//! The `stores:` section of `.sops.yaml`: output indentation per store, read as sops reads it.

use super::ConfigError;
use super::fields::{Context, get};
use crate::store::{EmitOptions, json_indent, yaml_indent};
use crate::tree::{Item, Value};

/// The `stores:` section.
pub(super) fn parse_stores(
    stores: &[Item],
    context: &Context<'_>,
) -> Result<EmitOptions, ConfigError> {
    let mut options = EmitOptions::default();
    if let Some(indent) = store_indent(stores, "yaml", context)? {
        options.yaml_indent =
            yaml_indent(indent).ok_or_else(|| invalid_indent(context, "yaml", indent))?;
    }
    if let Some(indent) = store_indent(stores, "json", context)? {
        options.json_indent =
            json_indent(indent).ok_or_else(|| invalid_indent(context, "json", indent))?;
    }
    if let Some(indent) = store_indent(stores, "json_binary", context)? {
        options.binary_indent =
            json_indent(indent).ok_or_else(|| invalid_indent(context, "json_binary", indent))?;
    }
    Ok(options)
}

/// `stores.<store>.indent`, if set.
fn store_indent(
    stores: &[Item],
    store: &'static str,
    context: &Context<'_>,
) -> Result<Option<i64>, ConfigError> {
    match get(stores, store) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Map(items)) => match get(items, "indent") {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Int(indent)) => Ok(Some(*indent)),
            Some(_) => Err(context.field_type(format!("stores.{store}.indent"), "an integer")),
        },
        Some(_) => Err(context.field_type(format!("stores.{store}"), "a map")),
    }
}

fn invalid_indent(context: &Context<'_>, store: &'static str, indent: i64) -> ConfigError {
    ConfigError::InvalidIndent {
        config: context.config.to_path_buf(),
        store,
        indent,
    }
}
