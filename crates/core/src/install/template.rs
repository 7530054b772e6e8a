//! Templates: the text of each manifest template, with every secret's placeholder replaced by
//! its decrypted value.

use memchr::memmem;
use rayon::prelude::*;
use zeroize::Zeroizing;

use super::error::InstallError;
use super::manifest::Manifest;

/// Each template's text (`content`, else the `file`'s).
pub(super) fn template_texts(manifest: &Manifest) -> Result<Vec<String>, InstallError> {
    manifest
        .templates
        .iter()
        .map(|template| {
            if !template.content.is_empty() {
                return Ok(template.content.clone());
            }
            if template.file.as_os_str().is_empty() {
                return Err(InstallError::EmptyTemplate {
                    template: template.name.clone(),
                });
            }
            std::fs::read_to_string(&template.file).map_err(|source| InstallError::Io {
                path: template.file.clone(),
                action: "read template",
                source,
            })
        })
        .collect()
}

/// Replaces every placeholder in every template (plain `ReplaceAll`, as sops-nix does).
pub(super) fn render(
    manifest: &Manifest,
    templates: &[String],
    secret_values: &[Zeroizing<Vec<u8>>],
) -> Vec<Zeroizing<Vec<u8>>> {
    let pairs: Vec<(&[u8], &[u8])> = manifest
        .secrets
        .iter()
        .zip(secret_values)
        .filter_map(|(secret, value)| {
            let placeholder = manifest.placeholder_by_secret_name.get(&secret.name)?;
            Some((placeholder.as_bytes(), value.as_slice()))
        })
        .collect();
    templates
        .par_iter()
        .map(|text| {
            let mut rendered = Zeroizing::new(text.as_bytes().to_vec());
            for (placeholder, value) in &pairs {
                if let Some(replaced) = replace_all(&rendered, placeholder, value) {
                    rendered = replaced;
                }
            }
            rendered
        })
        .collect()
}

/// `haystack` with every occurrence of `needle` (left to right, not overlapping) replaced by
/// `with`; `None` when there is none (or `needle` is empty), so nothing is copied.
fn replace_all(haystack: &[u8], needle: &[u8], with: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    if needle.is_empty() {
        return None;
    }
    let mut found = memmem::find_iter(haystack, needle).peekable();
    found.peek()?;
    let mut out = Zeroizing::new(Vec::with_capacity(haystack.len()));
    let mut copied = 0;
    for at in found {
        out.extend_from_slice(&haystack[copied..at]);
        out.extend_from_slice(with);
        copied = at + needle.len();
    }
    out.extend_from_slice(&haystack[copied..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replaced(haystack: &str, needle: &str, with: &str) -> Option<String> {
        replace_all(haystack.as_bytes(), needle.as_bytes(), with.as_bytes())
            .map(|out| String::from_utf8(out.to_vec()).unwrap())
    }

    #[test]
    fn replaces_as_go_replace_all() {
        assert_eq!(replaced("a<P>b<P>", "<P>", "x").as_deref(), Some("axbx"));
        assert_eq!(replaced("<P>", "<P>", "").as_deref(), Some(""));
        // Left to right, never overlapping (strings.ReplaceAll("aaa", "aa", "X") is "Xa").
        assert_eq!(replaced("aaa", "aa", "X").as_deref(), Some("Xa"));
        // A replacement is not searched again within the same pass.
        assert_eq!(replaced("<P>", "<P>", "<P><P>").as_deref(), Some("<P><P>"));
        assert_eq!(replaced("nothing here", "<P>", "x"), None);
        assert_eq!(replaced("abc", "", "x"), None);
    }
}
