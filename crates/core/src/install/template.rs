//! Templates: the text of each manifest template, with every secret's placeholder replaced by
//! its decrypted value.

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
        .iter()
        .map(|text| {
            let mut rendered = Zeroizing::new(text.as_bytes().to_vec());
            for (placeholder, value) in &pairs {
                rendered = replace_all(&rendered, placeholder, value);
            }
            rendered
        })
        .collect()
}

fn replace_all(haystack: &[u8], needle: &[u8], with: &[u8]) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(haystack.len()));
    let mut rest = haystack;
    while !needle.is_empty()
        && let Some(at) = rest.windows(needle.len()).position(|w| w == needle)
    {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(with);
        rest = &rest[at + needle.len()..];
    }
    out.extend_from_slice(rest);
    out
}
