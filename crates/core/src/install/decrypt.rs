//! Secret values: each sops file opened once (files in parallel), then each secret's value
//! taken from it as `sops-install-secrets` does: the whole plaintext for `binary`, `dotenv`,
//! `ini` and an empty `key`; otherwise the string at the `/`-separated `key`.
//!
//! The build-time check (`check-mode=sopsfile`) reads the same files without any key: sops keeps
//! map keys in clear, so a key's presence is checked on the ciphertext.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use zeroize::Zeroizing;

use super::InstallError;
use crate::keys::age::Identities;
use crate::sops::{AgeDecryptor, Document, OpenOptions, PathStep, TreePath};
use crate::store::{EmitOptions, Format};
use crate::tree::{Item, Value};

/// What one secret asks of its file.
pub(crate) struct Request<'a> {
    /// The secret's name (for errors).
    pub(crate) name: &'a str,
    pub(crate) file: &'a Path,
    pub(crate) format: Format,
    /// `None` for the whole file.
    pub(crate) key: Option<&'a str>,
}

impl<'a> Request<'a> {
    pub(crate) fn new(name: &'a str, file: &'a Path, format: Format, key: &'a str) -> Self {
        let whole =
            key.is_empty() || matches!(format, Format::Binary | Format::Dotenv | Format::Ini);
        Self {
            name,
            file,
            format,
            key: (!whole).then_some(key),
        }
    }
}

/// The value of every request, in order; each distinct (file, format) is decrypted once.
pub(crate) fn values(
    requests: &[Request<'_>],
    identities: &Identities,
) -> Result<Vec<Zeroizing<Vec<u8>>>, InstallError> {
    let mut files: HashMap<(&Path, Format), Vec<usize>> = HashMap::new();
    for (index, request) in requests.iter().enumerate() {
        files
            .entry((request.file, request.format))
            .or_default()
            .push(index);
    }
    let groups: Vec<_> = files.into_iter().collect();
    let opened: Vec<Vec<(usize, Zeroizing<Vec<u8>>)>> = groups
        .par_iter()
        .map(|((file, format), indices)| {
            let first = requests[indices[0]].name;
            let bytes = read_file(first, file)?;
            let decryptor = AgeDecryptor::new(identities);
            let options = OpenOptions {
                read_only: true,
                ..OpenOptions::default()
            };
            let document =
                Document::open(&bytes, *format, &[&decryptor], &options).map_err(|source| {
                    InstallError::Decrypt {
                        secret: first.to_owned(),
                        file: file.to_path_buf(),
                        source,
                    }
                })?;
            indices
                .iter()
                .map(|&index| Ok((index, extract(&requests[index], &document)?)))
                .collect()
        })
        .collect::<Result<_, InstallError>>()?;
    let mut values: Vec<Option<Zeroizing<Vec<u8>>>> = (0..requests.len()).map(|_| None).collect();
    for (index, value) in opened.into_iter().flatten() {
        values[index] = Some(value);
    }
    Ok(values.into_iter().map(Option::unwrap_or_default).collect())
}

fn extract(request: &Request<'_>, document: &Document) -> Result<Zeroizing<Vec<u8>>, InstallError> {
    let Some(key) = request.key else {
        return document
            .to_plaintext(request.format, &EmitOptions::default())
            .map_err(|source| InstallError::Emit {
                secret: request.name.to_owned(),
                file: request.file.to_path_buf(),
                source,
            });
    };
    let first = document
        .tree()
        .branches
        .first()
        .map(Vec::as_slice)
        .unwrap_or_default();
    match lookup(request, first, key)? {
        Value::Str(text) | Value::Bytes(text) => Ok(Zeroizing::new(text.as_bytes().to_vec())),
        _ => Err(InstallError::NotString {
            secret: request.name.to_owned(),
            file: request.file.to_path_buf(),
            key: key.to_owned(),
        }),
    }
}

fn lookup<'t>(
    request: &Request<'_>,
    branch: &'t [Item],
    key: &str,
) -> Result<&'t Value, InstallError> {
    let path = TreePath(
        key.split('/')
            .map(|step| PathStep::Key(step.to_owned()))
            .collect(),
    );
    path.get(branch).map_err(|source| InstallError::MissingKey {
        secret: request.name.to_owned(),
        file: request.file.to_path_buf(),
        key: key.to_owned(),
        source: Box::new(source),
    })
}

fn read_file(secret: &str, file: &Path) -> Result<Vec<u8>, InstallError> {
    std::fs::read(file).map_err(|source| InstallError::ReadSopsFile {
        secret: secret.to_owned(),
        file: file.to_path_buf(),
        source,
    })
}

/// `check-mode=sopsfile`: every file parses as its format and holds every requested key.
pub(crate) fn check_files(requests: &[Request<'_>]) -> Result<(), InstallError> {
    let mut parsed: HashMap<(PathBuf, Format), crate::sops::envelope::Split> = HashMap::new();
    for request in requests {
        let entry = (request.file.to_path_buf(), request.format);
        if !parsed.contains_key(&entry) {
            let bytes = read_file(request.name, request.file)?;
            let split = crate::sops::envelope::parse_encrypted(request.format, &bytes).map_err(
                |source| InstallError::Parse {
                    secret: request.name.to_owned(),
                    file: request.file.to_path_buf(),
                    source,
                },
            )?;
            parsed.insert(entry.clone(), split);
        }
        let (Some(key), Some(split)) = (request.key, parsed.get(&entry)) else {
            continue;
        };
        let first = split
            .tree
            .branches
            .first()
            .map(Vec::as_slice)
            .unwrap_or_default();
        lookup(request, first, key)?;
    }
    Ok(())
}
