//! A decrypted document as environment variables, as sops' `exec-env` builds them.
//!
//! Each top-level entry of the (first) document becomes `NAME=VALUE`: strings as they are,
//! other scalars in sops' text form (`stores.ValToString`: `5`, `true`, `1.5`, `<nil>` for
//! null), comments skipped. A map or list value, or a name containing `=`, cannot stand in an
//! environment and is refused with its name, as sops refuses it.

use std::fmt;

use zeroize::Zeroizing;

use crate::store::dotenv::value_to_string;
use crate::tree::{Item, Tree, Value};

/// One variable for a child's environment; `Debug` shows the name only.
pub struct EnvVar {
    /// The variable's name (a top-level key of the document).
    pub name: String,
    /// The decrypted value, wiped when dropped.
    pub value: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for EnvVar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnvVar")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Why a document cannot become environment variables.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnvironmentError {
    /// A top-level value is a map or a list.
    #[error(
        "cannot use complex value in environment; offending key {key} (only top-level scalar \
         values can be variables: use exec-file for nested documents)"
    )]
    ComplexValue {
        /// The entry's key.
        key: String,
    },
    /// A top-level key contains `=`, which ends a variable's name.
    #[error("cannot use keys with '=' in environment: {key}")]
    EqualsInName {
        /// The entry's key.
        key: String,
    },
}

/// The variables `exec-env` gives its command: every top-level scalar of `tree`'s first
/// document, in the document's order.
///
/// ```
/// use aesec::file::environment;
/// use aesec::store::yaml;
///
/// let tree = yaml::parse(b"user: admin\nport: 5432\n# a comment\ntls: true\n")?;
/// let vars = environment(&tree)?;
/// let pairs: Vec<(&str, &[u8])> = vars.iter().map(|v| (v.name.as_str(), &v.value[..])).collect();
/// assert_eq!(pairs, [("user", &b"admin"[..]), ("port", b"5432"), ("tls", b"true")]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn environment(tree: &Tree) -> Result<Vec<EnvVar>, EnvironmentError> {
    let Some(branch) = tree.branches.first() else {
        return Ok(Vec::new());
    };
    let mut vars = Vec::with_capacity(branch.len());
    for item in branch {
        let Item::Entry { key, value } = item else {
            continue;
        };
        if matches!(value, Value::Map(_) | Value::List(_)) {
            return Err(EnvironmentError::ComplexValue { key: key.clone() });
        }
        if key.contains('=') {
            return Err(EnvironmentError::EqualsInName { key: key.clone() });
        }
        vars.push(EnvVar {
            name: key.clone(),
            value: Zeroizing::new(value_to_string(value)),
        });
    }
    Ok(vars)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::yaml;

    fn names(text: &str) -> Result<Vec<String>, EnvironmentError> {
        let tree = yaml::parse(text.as_bytes()).expect("yaml");
        Ok(environment(&tree)?.into_iter().map(|v| v.name).collect())
    }

    #[test]
    fn scalars_become_variables_in_order() {
        let tree = yaml::parse(b"b: \"x\\ny\"\na: 1.5\nn: null\n").expect("yaml");
        let vars = environment(&tree).expect("scalars");
        let got: Vec<(&str, &[u8])> = vars
            .iter()
            .map(|v| (v.name.as_str(), &v.value[..]))
            .collect();
        assert_eq!(got, [("b", &b"x\ny"[..]), ("a", b"1.5"), ("n", b"<nil>")]);
    }

    #[test]
    fn nested_values_and_equals_signs_are_refused_by_name() {
        assert!(matches!(
            names("ok: 1\ndb:\n    user: x\n"),
            Err(EnvironmentError::ComplexValue { key }) if key == "db"
        ));
        assert!(matches!(
            names("list: [1]\n"),
            Err(EnvironmentError::ComplexValue { key }) if key == "list"
        ));
        assert!(matches!(
            names("\"a=b\": 1\n"),
            Err(EnvironmentError::EqualsInName { key }) if key == "a=b"
        ));
    }

    #[test]
    fn debug_hides_the_value() {
        let var = EnvVar {
            name: "token".into(),
            value: Zeroizing::new(b"hunter2".to_vec()),
        };
        assert!(!format!("{var:?}").contains("hunter2"));
    }
}
