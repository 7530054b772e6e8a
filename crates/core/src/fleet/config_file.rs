//! The `.sops.yaml` as a file of a repository: its directory, edited text loaded as if it were
//! there, and paths relative to that directory. Enrollment, removal and bootstrap share these.

use std::path::{Component, Path, PathBuf};

use crate::config::{Config, ConfigError};

/// Loads the config from edited text, as if it were at `path`.
pub(crate) fn load_text(text: &str, path: &Path) -> Result<Config, ConfigError> {
    Config::from_yaml(text.as_bytes(), path)
}

/// The config's directory, absolute when possible.
pub(crate) fn config_base(config_path: &Path) -> PathBuf {
    let dir = match config_path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::canonicalize(&dir)
        .or_else(|_| std::path::absolute(&dir))
        .unwrap_or(dir)
}

/// `path` with symlinks and `..` resolved as far as it exists (the rest kept as written).
fn resolve(path: &Path) -> PathBuf {
    if let Ok(resolved) = std::fs::canonicalize(path) {
        return resolved;
    }
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) if !parent.as_os_str().is_empty() => resolve(parent).join(name),
        _ => path.to_path_buf(),
    }
}

/// `path` relative to `base` (a relative `path` is taken as relative to `base` already), clean of
/// `.`; `None` when it is outside `base` or names `base` itself.
pub(crate) fn relative_to(base: &Path, path: &Path) -> Option<PathBuf> {
    let relative = if path.is_absolute() {
        resolve(path).strip_prefix(base).ok()?.to_path_buf()
    } else {
        path.to_path_buf()
    };
    let mut clean = PathBuf::new();
    for component in relative.components() {
        match component {
            Component::Normal(part) => clean.push(part),
            Component::CurDir => {}
            _ => return None,
        }
    }
    (!clean.as_os_str().is_empty()).then_some(clean)
}
