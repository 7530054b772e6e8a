//! The `stores:` section of `.sops.yaml`: output indentation per store, read as sops reads it.

use super::ConfigError;
use super::fields::{Context, get};
use crate::store::EmitOptions;
use crate::tree::{Item, Value};

/// The `stores:` section.
pub(super) fn parse_stores(
    stores: &[Item],
    context: &Context<'_>,
) -> Result<EmitOptions, ConfigError> {
    let mut options = EmitOptions::default();
    if let Some(indent) = store_indent(stores, "yaml", context)? {
        options.yaml_indent = match usize::try_from(indent) {
            Ok(0) => 4,
            Ok(indent) => indent,
            Err(_) => return Err(invalid_indent(context, "yaml", indent)),
        };
    }
    options.json_indent = json_indent(store_indent(stores, "json", context)?, "json", context)?;
    options.binary_indent = json_indent(
        store_indent(stores, "json_binary", context)?,
        "json_binary",
        context,
    )?;
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

/// A JSON indent: unset or −1 is a tab (`None`), 0 or more is that many spaces.
fn json_indent(
    indent: Option<i64>,
    store: &'static str,
    context: &Context<'_>,
) -> Result<Option<usize>, ConfigError> {
    match indent {
        None | Some(-1) => Ok(None),
        Some(indent) => usize::try_from(indent)
            .map(Some)
            .map_err(|_| invalid_indent(context, store, indent)),
    }
}

fn invalid_indent(context: &Context<'_>, store: &'static str, indent: i64) -> ConfigError {
    ConfigError::InvalidIndent {
        config: context.config.to_path_buf(),
        store,
        indent,
    }
}
