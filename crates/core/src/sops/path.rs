//! Tree paths in sops' index syntax: `["db"]["password"]`, `['list'][0]`.
//!
//! `decrypt --extract`, `set` and `unset` name a value with this syntax. Keys are quoted with
//! double or single quotes, list positions are bare integers. Paths act on the first document
//! of a multi-document YAML file, as in sops.

use std::fmt;

use crate::tree::{Branch, Item, Value};

/// One step of a [`TreePath`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathStep {
    /// A map key.
    Key(String),
    /// A list position.
    Index(usize),
}

/// A path from the root of a document to a value.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct TreePath(pub Vec<PathStep>);

/// Why a path could not be parsed or followed.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PathError {
    /// The path text is not in `["key"][0]` syntax (sops exit code 91).
    #[error("invalid tree path '{text}': {reason}")]
    Syntax {
        /// The path as given.
        text: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A step of the path does not exist in the document.
    #[error("component {step} of {path} not found")]
    NotFound {
        /// The whole path.
        path: TreePath,
        /// The first missing step.
        step: String,
    },
    /// A step expects a map or list where the document has a scalar.
    #[error("cannot descend into {path}: the value at {step} is not a {expected}")]
    NotAContainer {
        /// The whole path.
        path: TreePath,
        /// The step whose value has the wrong kind.
        step: String,
        /// `map` or `list`.
        expected: &'static str,
    },
    /// The path is empty, which `set` and `unset` cannot act on.
    #[error("the path is empty")]
    Empty,
}

impl fmt::Display for PathStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Key(key) => write!(f, "[{key:?}]"),
            Self::Index(index) => write!(f, "[{index}]"),
        }
    }
}

impl fmt::Display for TreePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|step| write!(f, "{step}"))
    }
}

impl std::str::FromStr for TreePath {
    type Err = PathError;

    /// Parses `["a"]['b'][0]`; white space between steps is allowed.
    ///
    /// ```
    /// use aesec::sops::{PathStep, TreePath};
    /// let path: TreePath = r#"["db"][0]"#.parse()?;
    /// assert_eq!(path.0, vec![PathStep::Key("db".into()), PathStep::Index(0)]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let syntax = |reason| PathError::Syntax {
            text: text.to_owned(),
            reason,
        };
        let mut steps = Vec::new();
        let mut rest = text.trim();
        while !rest.is_empty() {
            rest = rest
                .strip_prefix('[')
                .ok_or_else(|| syntax("expected '['"))?;
            let quote = rest
                .chars()
                .next()
                .ok_or_else(|| syntax("unterminated '['"))?;
            if quote == '"' || quote == '\'' {
                let body = &rest[1..];
                let end = body
                    .find(quote)
                    .ok_or_else(|| syntax("unterminated quoted key"))?;
                steps.push(PathStep::Key(body[..end].to_owned()));
                rest = &body[end + 1..];
            } else {
                let end = rest.find(']').ok_or_else(|| syntax("unterminated '['"))?;
                let index = rest[..end]
                    .trim()
                    .parse()
                    .map_err(|_| syntax("expected a quoted key or a list index"))?;
                steps.push(PathStep::Index(index));
                rest = &rest[end..];
            }
            rest = rest
                .strip_prefix(']')
                .ok_or_else(|| syntax("expected ']'"))?
                .trim_start();
        }
        Ok(Self(steps))
    }
}

impl TreePath {
    fn not_found(&self, step: &PathStep) -> PathError {
        PathError::NotFound {
            path: self.clone(),
            step: step.to_string(),
        }
    }

    /// The error for a value that is not the container that step `index` needs: it names the
    /// path of that value (the steps before `index`).
    fn not_container(&self, index: usize, expected: &'static str) -> PathError {
        let prefix = Self(self.0.get(..index).unwrap_or_default().to_vec());
        PathError::NotAContainer {
            path: self.clone(),
            step: prefix.to_string(),
            expected,
        }
    }

    /// The value at this path in `branch`.
    ///
    /// ```
    /// use aesec::{Item, Value};
    /// use aesec::sops::TreePath;
    /// let branch = vec![Item::Entry { key: "a".into(), value: Value::Int(5) }];
    /// let path: TreePath = r#"["a"]"#.parse()?;
    /// assert_eq!(path.get(&branch)?, &Value::Int(5));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get<'a>(&self, branch: &'a [Item]) -> Result<&'a Value, PathError> {
        let (first, rest) = self.0.split_first().ok_or(PathError::Empty)?;
        let PathStep::Key(key) = first else {
            return Err(self.not_container(0, "list"));
        };
        let mut current = entry(branch, key).ok_or_else(|| self.not_found(first))?;
        for (index, step) in rest.iter().enumerate() {
            current = match (step, current) {
                (PathStep::Key(key), Value::Map(items)) => {
                    entry(items, key).ok_or_else(|| self.not_found(step))?
                }
                (PathStep::Index(index), Value::List(values)) => values
                    .iter()
                    .filter(|v| !matches!(v, Value::Comment(_)))
                    .nth(*index)
                    .ok_or_else(|| self.not_found(step))?,
                (PathStep::Key(_), _) => return Err(self.not_container(index + 1, "map")),
                (PathStep::Index(_), _) => return Err(self.not_container(index + 1, "list")),
            };
        }
        Ok(current)
    }

    /// Sets the value at this path, creating missing map keys; an index past the end of a list
    /// appends, as `sops set` does. Returns whether the document changed.
    pub fn set(&self, branch: &mut Branch, value: Value) -> Result<bool, PathError> {
        let (first, rest) = self.0.split_first().ok_or(PathError::Empty)?;
        let PathStep::Key(key) = first else {
            return Err(self.not_container(0, "list"));
        };
        let mut slot = entry_mut_or_insert(branch, key);
        for (index, step) in rest.iter().enumerate() {
            if matches!(slot, Value::Null) {
                *slot = match step {
                    PathStep::Key(_) => Value::Map(Vec::new()),
                    PathStep::Index(_) => Value::List(Vec::new()),
                };
            }
            slot = match (step, slot) {
                (PathStep::Key(key), Value::Map(items)) => entry_mut_or_insert(items, key),
                (PathStep::Index(index), Value::List(values)) => list_slot(values, *index),
                (PathStep::Key(_), _) => return Err(self.not_container(index + 1, "map")),
                (PathStep::Index(_), _) => return Err(self.not_container(index + 1, "list")),
            };
        }
        let changed = *slot != value;
        *slot = value;
        Ok(changed)
    }

    /// Removes the value at this path (`sops unset`).
    pub fn unset(&self, branch: &mut Branch) -> Result<(), PathError> {
        let (last, parents) = self.0.split_last().ok_or(PathError::Empty)?;
        if parents.is_empty() {
            return remove_entry(branch, last).ok_or_else(|| self.not_found(last));
        }
        let parent = Self(parents.to_vec());
        let parent_value = parent.get_mut(branch)?;
        let removed = match (last, parent_value) {
            (PathStep::Key(_), Value::Map(items)) => remove_entry(items, last),
            (PathStep::Index(index), Value::List(values)) => {
                let position = values
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| !matches!(v, Value::Comment(_)))
                    .nth(*index)
                    .map(|(position, _)| position);
                position.map(|position| {
                    values.remove(position);
                })
            }
            _ => None,
        };
        removed.ok_or_else(|| self.not_found(last))
    }

    fn get_mut<'a>(&self, branch: &'a mut Branch) -> Result<&'a mut Value, PathError> {
        let (first, rest) = self.0.split_first().ok_or(PathError::Empty)?;
        let PathStep::Key(key) = first else {
            return Err(self.not_container(0, "list"));
        };
        let mut current = entry_mut(branch, key).ok_or_else(|| self.not_found(first))?;
        for (index, step) in rest.iter().enumerate() {
            current = match (step, current) {
                (PathStep::Key(key), Value::Map(items)) => {
                    entry_mut(items, key).ok_or_else(|| self.not_found(step))?
                }
                (PathStep::Index(index), Value::List(values)) => values
                    .iter_mut()
                    .filter(|v| !matches!(v, Value::Comment(_)))
                    .nth(*index)
                    .ok_or_else(|| self.not_found(step))?,
                (PathStep::Key(_), _) => return Err(self.not_container(index + 1, "map")),
                (PathStep::Index(_), _) => return Err(self.not_container(index + 1, "list")),
            };
        }
        Ok(current)
    }
}

fn entry<'a>(items: &'a [Item], key: &str) -> Option<&'a Value> {
    items.iter().find_map(|item| match item {
        Item::Entry { key: k, value } if k == key => Some(value),
        _ => None,
    })
}

fn entry_mut<'a>(items: &'a mut [Item], key: &str) -> Option<&'a mut Value> {
    items.iter_mut().find_map(|item| match item {
        Item::Entry { key: k, value } if k == key => Some(value),
        _ => None,
    })
}

fn entry_mut_or_insert<'a>(items: &'a mut Branch, key: &str) -> &'a mut Value {
    let position = items
        .iter()
        .position(|item| matches!(item, Item::Entry { key: k, .. } if k == key));
    let position = position.unwrap_or_else(|| {
        items.push(Item::Entry {
            key: key.to_owned(),
            value: Value::Null,
        });
        items.len() - 1
    });
    match &mut items[position] {
        Item::Entry { value, .. } => value,
        Item::Comment(_) => unreachable!("position points at an entry"),
    }
}

fn list_slot(values: &mut Vec<Value>, index: usize) -> &mut Value {
    let position = values
        .iter()
        .enumerate()
        .filter(|(_, v)| !matches!(v, Value::Comment(_)))
        .nth(index)
        .map(|(position, _)| position);
    let position = position.unwrap_or_else(|| {
        values.push(Value::Null);
        values.len() - 1
    });
    &mut values[position]
}

fn remove_entry(items: &mut Branch, step: &PathStep) -> Option<()> {
    let PathStep::Key(key) = step else {
        return None;
    };
    let position = items
        .iter()
        .position(|item| matches!(item, Item::Entry { key: k, .. } if k == key))?;
    items.remove(position);
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Branch {
        vec![
            Item::Entry {
                key: "a".into(),
                value: Value::Map(vec![Item::Entry {
                    key: "b".into(),
                    value: Value::Int(1),
                }]),
            },
            Item::Entry {
                key: "l".into(),
                value: Value::List(vec![
                    Value::Comment("c".into()),
                    Value::Int(7),
                    Value::Int(8),
                ]),
            },
        ]
    }

    #[test]
    fn parses_sops_syntax() {
        let path: TreePath = r#"["a"] ['b'][10]"#.parse().unwrap();
        assert_eq!(
            path.0,
            vec![
                PathStep::Key("a".into()),
                PathStep::Key("b".into()),
                PathStep::Index(10)
            ]
        );
        assert_eq!(path.to_string(), r#"["a"]["b"][10]"#);
        for bad in [r#"["a""#, "a", "[x]", r#"["a"]b"#, "["] {
            assert!(
                matches!(bad.parse::<TreePath>(), Err(PathError::Syntax { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn get_set_unset() {
        let mut d = doc();
        let p: TreePath = r#"["l"][1]"#.parse().unwrap();
        assert_eq!(p.get(&d).unwrap(), &Value::Int(8));
        assert!(p.set(&mut d, Value::Int(9)).unwrap());
        assert!(!p.set(&mut d, Value::Int(9)).unwrap());
        let new: TreePath = r#"["x"]["y"][0]"#.parse().unwrap();
        new.set(&mut d, Value::Bool(true)).unwrap();
        assert_eq!(new.get(&d).unwrap(), &Value::Bool(true));
        let ab: TreePath = r#"["a"]["b"]"#.parse().unwrap();
        ab.unset(&mut d).unwrap();
        assert!(matches!(ab.get(&d), Err(PathError::NotFound { .. })));
        assert!(matches!(ab.unset(&mut d), Err(PathError::NotFound { .. })));
        p.unset(&mut d).unwrap();
        let deep: TreePath = r#"["a"]["b"]["c"]"#.parse().unwrap();
        assert!(matches!(
            deep.get(&doc()),
            Err(PathError::NotAContainer { .. })
        ));
    }
}
