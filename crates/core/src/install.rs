//! Activation-time install: sops-nix's `sops-install-secrets`, reading the same manifest.
//!
//! [`install`] takes a [`Manifest`] (what sops-nix's Nix module writes) and [`Options`], and:
//!
//! 1. validates every entry (modes, formats, names, owners and groups by name with the
//!    `uid`/`gid` fallback, placeholders);
//! 2. reads the identities: `ageKeyFile`, and every `ageSshKeyPaths` key converted to age **in
//!    memory** (sops-nix writes them to `<mount>/age-keys.txt`; aesec writes them nowhere).
//!    `sshKeyPaths` and `gnupgHome` (PGP) are refused;
//! 3. decrypts each sops file once, files in parallel, and renders the templates;
//! 4. mounts a RAM file system at `secretsMountPoint` (ramfs, or tmpfs `noswap` with
//!    `useTmpfs`) as the [`MountPolicy`] allows, and writes generation `N+1` beside the live `N`
//!    with every file's owner, group and mode;
//! 5. lists the restart and reload units of the entries whose **content changed** since the live
//!    generation in `<nixos_dir>/activation-{restart,reload}-list`;
//! 6. swaps `symlinkPath` to the new generation in one `rename`, points every custom `path` at
//!    it (replacing a file found there, removing links of entries that disappeared), and prunes
//!    generations `g <= N+1 - keepGenerations`.
//!
//! Any failure before step 6 removes the half-built generation and leaves the live one and its
//! symlink untouched; the error names the secret and the reason. A dry activation
//! ([`Action::DryActivate`]) decrypts and reports, writing only the `dry-activation-*` lists that
//! `switch-to-configuration dry-activate` reads. A check ([`CheckMode`]) needs no key.
//!
//! ```no_run
//! use aesec::install::{install, Manifest, Options};
//!
//! let manifest = Manifest::read("/nix/store/…-manifest.json".as_ref())?;
//! let report = install(&manifest, &Options::default())?;
//! println!("generation {:?}, restart {:?}", report.generation, report.restart_units);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod accounts;
mod decrypt;
mod generation;
mod manifest;
mod mount;

use std::collections::HashSet;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

use zeroize::Zeroizing;

pub use manifest::{DEFAULT_MODE, Logging, Manifest, ManifestError, Secret, Template};
pub use mount::MountOutcome;

use accounts::Accounts;
use decrypt::Request;
use generation::Ownership;

use crate::keys::age::{Identities, ParseIdentityError};
use crate::keys::ssh::add_ssh_identity;
use crate::sops::{OpenError, PathError};
use crate::store::{Format, StoreError};

/// The subdirectory of a generation holding rendered templates.
pub const RENDERED_DIR: &str = "rendered";
/// The file in the mount point recording the custom-path symlinks of the live generation.
const LINKS_FILE: &str = ".aesec-links.json";

/// Build-time validation (sops-nix's `-check-mode`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum CheckMode {
    /// Install.
    #[default]
    Off,
    /// Check the manifest's structure only.
    Manifest,
    /// Also parse every sops file and check that every key exists (no private key needed).
    SopsFile,
}

/// Whether to mount the RAM file system.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum MountPolicy {
    /// Mount (unless one is there already); failing to mount fails the install.
    #[default]
    Required,
    /// Mount when permitted, else use a plain directory and say so in the report.
    IfPermitted,
    /// Never mount (user mode, tests).
    Never,
}

/// The activation being run (`NIXOS_ACTION`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Install and switch.
    #[default]
    Activate,
    /// Report what would change; change nothing.
    DryActivate,
}

/// Options of [`install`] (what sops-nix reads from flags and the environment).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Options {
    /// Validate only.
    pub check_mode: CheckMode,
    /// Install or dry-activate.
    pub action: Action,
    /// Own every file by root (the `neededForUsers` phase, before users exist).
    pub ignore_passwd: bool,
    /// Whether to mount the RAM file system.
    pub mount: MountPolicy,
    /// Where the restart/reload lists go (`/run/nixos`); nothing is listed if it is missing.
    pub nixos_dir: PathBuf,
    /// The user database (`/etc/passwd`).
    pub passwd_file: PathBuf,
    /// The group database (`/etc/group`).
    pub group_file: PathBuf,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            check_mode: CheckMode::Off,
            action: Action::Activate,
            ignore_passwd: false,
            mount: MountPolicy::Required,
            nixos_dir: PathBuf::from("/run/nixos"),
            passwd_file: PathBuf::from("/etc/passwd"),
            group_file: PathBuf::from("/etc/group"),
        }
    }
}

/// What [`install`] did (or, for a dry activation, would do).
#[derive(Clone, Debug, Default, serde::Serialize)]
#[non_exhaustive]
pub struct Report {
    /// The generation made live (`None` for checks and dry activations).
    pub generation: Option<u64>,
    /// The generation live before.
    pub previous: Option<u64>,
    /// What happened at the mount point.
    pub mount: Option<MountOutcome>,
    /// Where the identities came from (paths, never keys).
    pub identities: Vec<String>,
    /// `ageSshKeyPaths` entries that could not be used, with the reason (sops-nix skips them too).
    pub skipped_keys: Vec<String>,
    /// Entries new since the live generation.
    pub added: Vec<String>,
    /// Entries whose content changed.
    pub modified: Vec<String>,
    /// Entries gone since the live generation.
    pub removed: Vec<String>,
    /// Units to restart (listed for `switch-to-configuration`).
    pub restart_units: Vec<String>,
    /// Units to reload.
    pub reload_units: Vec<String>,
    /// Generations pruned.
    pub pruned: Vec<u64>,
    /// This was a dry activation.
    pub dry_run: bool,
}

/// Why an install failed. The live generation and `symlinkPath` are untouched unless the
/// variant says otherwise.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InstallError {
    /// The manifest is invalid.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// A PGP field is set; aesec has no PGP.
    #[error(
        "'{field}' is set in the manifest: PGP keys are not supported by aesec; use age keys (ageKeyFile, ageSshKeyPaths)"
    )]
    Pgp {
        /// `sshKeyPaths` or `gnupgHome`.
        field: &'static str,
    },
    /// A system-mode install (not `userMode`) was started by a user other than root: it could
    /// not mount, nor give files their owners.
    #[error(
        "installing system secrets needs root (uid 0), running as uid {uid}; home-manager manifests set userMode"
    )]
    NotRoot {
        /// The effective uid.
        uid: u32,
    },
    /// The manifest names no identity.
    #[error("no age identity: the manifest sets neither ageKeyFile nor ageSshKeyPaths")]
    NoIdentities,
    /// `ageKeyFile` could not be read.
    #[error("cannot read ageKeyFile '{}'", path.display())]
    AgeKeyFile {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// `ageKeyFile` is not an identity file.
    #[error("ageKeyFile: {source}")]
    AgeKeyFileInvalid {
        /// The cause (names the file).
        #[source]
        source: ParseIdentityError,
    },
    /// An owner name is not in the user database.
    #[error("{kind} '{name}': unknown user '{user}'")]
    UnknownUser {
        /// `secret` or `template`.
        kind: &'static str,
        /// The entry.
        name: String,
        /// The user name.
        user: String,
    },
    /// A group name is not in the group database.
    #[error("{kind} '{name}': unknown group '{group}'")]
    UnknownGroup {
        /// `secret` or `template`.
        kind: &'static str,
        /// The entry.
        name: String,
        /// The group name.
        group: String,
    },
    /// Templates exist but a secret has no placeholder.
    #[error("secret '{secret}': no placeholder in placeholderBySecretName")]
    MissingPlaceholder {
        /// The secret.
        secret: String,
    },
    /// A template has neither `content` nor `file`.
    #[error("template '{template}': neither content nor file is given")]
    EmptyTemplate {
        /// The template.
        template: String,
    },
    /// Two secrets read one sops file in different formats (sops-nix refuses this too).
    #[error("secret '{secret}': '{}' is read as {format:?} here but as {other:?} by secret '{first}'", file.display())]
    FormatConflict {
        /// The secret naming the second format.
        secret: String,
        /// The first secret using the file.
        first: String,
        /// The file.
        file: PathBuf,
        /// This secret's format.
        format: Format,
        /// The first secret's format.
        other: Format,
    },
    /// A sops file could not be read.
    #[error("secret '{secret}': cannot read '{}'", file.display())]
    ReadSopsFile {
        /// The first secret using the file.
        secret: String,
        /// The file.
        file: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A sops file could not be decrypted (no matching key, MAC mismatch, clear value where
    /// the file's rule demands ciphertext, …).
    #[error("secret '{secret}': cannot decrypt '{}'", file.display())]
    Decrypt {
        /// The first secret using the file.
        secret: String,
        /// The file.
        file: PathBuf,
        /// The cause.
        #[source]
        source: OpenError,
    },
    /// A sops file does not parse as its format (check mode).
    #[error("secret '{secret}': cannot parse '{}'", file.display())]
    Parse {
        /// The first secret using the file.
        secret: String,
        /// The file.
        file: PathBuf,
        /// The cause.
        #[source]
        source: StoreError,
    },
    /// A whole-file secret could not be written out in its format.
    #[error("secret '{secret}': cannot emit '{}'", file.display())]
    Emit {
        /// The secret.
        secret: String,
        /// The file.
        file: PathBuf,
        /// The cause.
        #[source]
        source: StoreError,
    },
    /// The secret's key is not in its file.
    #[error("secret '{secret}': key '{key}' not found in '{}'", file.display())]
    MissingKey {
        /// The secret.
        secret: String,
        /// The file.
        file: PathBuf,
        /// The `/`-separated key.
        key: String,
        /// Where the walk stopped.
        #[source]
        source: Box<PathError>,
    },
    /// The secret's key holds a map, list or non-string scalar.
    #[error("secret '{secret}': the value of key '{key}' in '{}' is not a string", file.display())]
    NotString {
        /// The secret.
        secret: String,
        /// The file.
        file: PathBuf,
        /// The key.
        key: String,
    },
    /// The RAM file system could not be mounted.
    #[error("cannot mount {kind} at '{}'", path.display())]
    Mount {
        /// The mount point.
        path: PathBuf,
        /// `ramfs` or `tmpfs`.
        kind: &'static str,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The record of custom-path links could not be written.
    #[error(transparent)]
    Fs(#[from] crate::fs::FsError),
    /// A file operation failed.
    #[error("cannot {action} '{}'", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// One file of the generation: a secret or a rendered template.
struct Entry<'a> {
    /// Path inside the generation (`db/password`, `rendered/app.toml`).
    relative: String,
    /// The manifest's `path` (a custom path gets a symlink).
    path: &'a Path,
    mode: u32,
    ownership: Ownership,
    restart_units: &'a [String],
    reload_units: &'a [String],
}

/// Installs the manifest's secrets (see the module docs for the steps and guarantees).
pub fn install(manifest: &Manifest, options: &Options) -> Result<Report, InstallError> {
    if !manifest.gnupg_home.is_empty() {
        return Err(InstallError::Pgp { field: "gnupgHome" });
    }
    if !manifest.ssh_key_paths.is_empty() {
        return Err(InstallError::Pgp {
            field: "sshKeyPaths",
        });
    }
    let dry_run = options.action == Action::DryActivate;
    let resolve_owners = options.check_mode == CheckMode::Off
        && !options.ignore_passwd
        && !dry_run
        && !manifest.user_mode;
    let accounts = if resolve_owners {
        Some(Accounts::read(&options.passwd_file, &options.group_file)?)
    } else {
        None
    };
    let (entries, requests) = plan(manifest, accounts.as_ref())?;
    let templates = template_texts(manifest)?;
    match options.check_mode {
        CheckMode::Manifest => return Ok(Report::default()),
        CheckMode::SopsFile => {
            decrypt::check_files(&requests)?;
            return Ok(Report::default());
        }
        CheckMode::Off => {}
    }

    let uid = rustix::process::geteuid();
    if !manifest.user_mode && !dry_run && !uid.is_root() {
        return Err(InstallError::NotRoot { uid: uid.as_raw() });
    }
    let mut report = Report {
        dry_run,
        ..Report::default()
    };
    let identities = identities(manifest, &mut report)?;
    let secret_values = decrypt::values(&requests, &identities)?;
    let mut values = secret_values.clone();
    values.extend(render(manifest, &templates, &secret_values));

    let mount_point = &manifest.secrets_mount_point;
    let symlink = &manifest.symlink_path;
    report.previous = generation::live_generation(symlink, mount_point);
    diff(symlink, &entries, &values, &mut report)?;
    let lists = (!manifest.user_mode).then_some(options.nixos_dir.as_path());
    if dry_run {
        write_unit_lists(lists, "dry-activation", &report)?;
        return Ok(report);
    }

    let keys_gid = keys_group(manifest, options, accounts.as_ref());
    let dir_owner = keys_gid.map(|gid| (0, gid));
    if std::fs::symlink_metadata(mount_point).is_err() {
        std::fs::create_dir_all(mount_point).map_err(|source| InstallError::Io {
            path: mount_point.clone(),
            action: "create mount point",
            source,
        })?;
    }
    let policy = if manifest.user_mode {
        MountPolicy::Never
    } else {
        options.mount
    };
    report.mount = Some(mount::prepare(mount_point, manifest.use_tmpfs, policy)?);
    generation::make_dir_mode(mount_point, dir_owner)?;

    let next = report.previous.map_or(1, |n| n + 1);
    let dir = mount_point.join(next.to_string());
    generation::fresh_dir(&dir, dir_owner)?;
    if let Err(error) = write_generation(&dir, &entries, &values, dir_owner) {
        // The live generation is untouched; the half-built one goes.
        let _cleanup = std::fs::remove_dir_all(&dir);
        return Err(error);
    }
    write_unit_lists(lists, "activation", &report)?;
    generation::clear_directory_at(symlink)?;
    generation::swap_symlink(&dir, symlink, None)?;
    report.generation = Some(next);

    link_custom_paths(manifest, &entries)?;
    report.pruned = generation::prune(mount_point, next, manifest.keep_generations)?;
    Ok(report)
}

/// Validates the manifest into generation entries (secrets, then templates) and decryption
/// requests (one per secret).
fn plan<'m>(
    manifest: &'m Manifest,
    accounts: Option<&Accounts>,
) -> Result<(Vec<Entry<'m>>, Vec<Request<'m>>), InstallError> {
    let mut entries = Vec::new();
    let mut requests: Vec<Request<'m>> = Vec::new();
    for secret in &manifest.secrets {
        check_name("secret", &secret.name)?;
        let format = secret.format()?;
        let same_file = requests.iter().find(|r| r.file == secret.sops_file);
        if let Some(first) = same_file.filter(|first| first.format != format) {
            return Err(InstallError::FormatConflict {
                secret: secret.name.clone(),
                first: first.name.to_owned(),
                file: secret.sops_file.clone(),
                format,
                other: first.format,
            });
        }
        if !manifest.templates.is_empty()
            && !manifest
                .placeholder_by_secret_name
                .contains_key(&secret.name)
        {
            return Err(InstallError::MissingPlaceholder {
                secret: secret.name.clone(),
            });
        }
        let ids = (&secret.owner, secret.uid, &secret.group, secret.gid);
        entries.push(Entry {
            relative: secret.name.clone(),
            path: &secret.path,
            mode: secret.mode()?,
            ownership: ownership("secret", &secret.name, ids, accounts)?,
            restart_units: &secret.restart_units,
            reload_units: &secret.reload_units,
        });
        requests.push(Request::new(
            &secret.name,
            &secret.sops_file,
            format,
            &secret.key,
        ));
    }
    for template in &manifest.templates {
        check_name("template", &template.name)?;
        let ids = (&template.owner, template.uid, &template.group, template.gid);
        entries.push(Entry {
            relative: format!("{RENDERED_DIR}/{}", template.name),
            path: &template.path,
            mode: template.mode()?,
            ownership: ownership("template", &template.name, ids, accounts)?,
            restart_units: &template.restart_units,
            reload_units: &template.reload_units,
        });
    }
    Ok((entries, requests))
}

/// A name must stay inside the generation: relative, no `.` or `..` steps.
fn check_name(kind: &'static str, name: &str) -> Result<(), InstallError> {
    let path = Path::new(name);
    let clean = !name.is_empty()
        && path.components().all(|c| matches!(c, Component::Normal(_)))
        && !name.ends_with('/');
    if clean {
        Ok(())
    } else {
        Err(manifest::field_error(
            kind,
            name,
            "name",
            name,
            "not a relative path inside the generation",
        )
        .into())
    }
}

/// Owner and group numbers: names through the databases, else `uid`/`gid`; `None` databases
/// (dry run, `ignore_passwd`, user mode, checks) mean root, or no change in user mode.
fn ownership(
    kind: &'static str,
    name: &str,
    (owner, uid, group, gid): (&Option<String>, u32, &Option<String>, u32),
    accounts: Option<&Accounts>,
) -> Result<Ownership, InstallError> {
    let Some(accounts) = accounts else {
        return Ok(Some((0, 0)));
    };
    let uid = match owner {
        Some(user) => accounts
            .user(user)
            .ok_or_else(|| InstallError::UnknownUser {
                kind,
                name: name.to_owned(),
                user: user.clone(),
            })?,
        None => uid,
    };
    let gid = match group {
        Some(group) => accounts
            .group(group)
            .ok_or_else(|| InstallError::UnknownGroup {
                kind,
                name: name.to_owned(),
                group: group.clone(),
            })?,
        None => gid,
    };
    Ok(Some((uid, gid)))
}

/// The `keys` group (else `nogroup`, else 0) owning the directories; `None` in user mode.
fn keys_group(manifest: &Manifest, options: &Options, accounts: Option<&Accounts>) -> Option<u32> {
    if manifest.user_mode {
        return None;
    }
    if options.ignore_passwd {
        return Some(0);
    }
    let accounts = accounts?;
    Some(
        accounts
            .group("keys")
            .or_else(|| accounts.group("nogroup"))
            .unwrap_or(0),
    )
}

/// Each template's text (`content`, else the `file`'s).
fn template_texts(manifest: &Manifest) -> Result<Vec<String>, InstallError> {
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
fn render(
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

/// The identities: `ageKeyFile`, then each `ageSshKeyPaths` key converted in memory.
fn identities(manifest: &Manifest, report: &mut Report) -> Result<Identities, InstallError> {
    let mut identities = Identities::new();
    if !manifest.age_key_file.is_empty() {
        let path = PathBuf::from(&manifest.age_key_file);
        let text = Zeroizing::new(std::fs::read_to_string(&path).map_err(|source| {
            InstallError::AgeKeyFile {
                path: path.clone(),
                source,
            }
        })?);
        identities
            .add_identity_file_text(&text, &manifest.age_key_file)
            .map_err(|source| InstallError::AgeKeyFileInvalid { source })?;
    }
    for path in &manifest.age_ssh_key_paths {
        let name = path.display().to_string();
        let added = std::fs::read(path)
            .map(Zeroizing::new)
            .map_err(|error| error.to_string())
            .and_then(|pem| {
                add_ssh_identity(&mut identities, &pem, None, &name).map_err(|e| e.to_string())
            });
        if let Err(reason) = added {
            report.skipped_keys.push(format!("{name}: {reason}"));
        }
    }
    if identities.is_empty() && report.skipped_keys.is_empty() {
        return Err(InstallError::NoIdentities);
    }
    report.identities = identities
        .source_names()
        .into_iter()
        .map(str::to_owned)
        .collect();
    report.identities.dedup();
    Ok(identities)
}

/// Compares each entry with the live generation's file and collects the units to restart or
/// reload. Nothing is listed when no generation is live (first boot).
fn diff(
    symlink: &Path,
    entries: &[Entry<'_>],
    values: &[Zeroizing<Vec<u8>>],
    report: &mut Report,
) -> Result<(), InstallError> {
    if std::fs::metadata(symlink).is_err() {
        return Ok(());
    }
    let mut restart = Vec::new();
    let mut reload = Vec::new();
    let mut present = HashSet::new();
    for (entry, value) in entries.iter().zip(values) {
        present.insert(entry.relative.clone());
        let live = symlink.join(&entry.relative);
        match std::fs::read(&live).map(Zeroizing::new) {
            Ok(old) if old.as_slice() == value.as_slice() => continue,
            Ok(_) => report.modified.push(entry.relative.clone()),
            Err(_) => report.added.push(entry.relative.clone()),
        }
        restart.extend(entry.restart_units.iter().cloned());
        reload.extend(entry.reload_units.iter().cloned());
    }
    for old in list_files(symlink, symlink)? {
        if !present.contains(&old) {
            report.removed.push(old);
        }
    }
    report.removed.sort();
    report.restart_units = dedup(restart);
    report.reload_units = dedup(reload);
    Ok(())
}

fn dedup(mut units: Vec<String>) -> Vec<String> {
    let mut seen = HashSet::new();
    units.retain(|unit| seen.insert(unit.clone()));
    units
}

/// Files under `dir` as `/`-joined paths relative to `base`.
fn list_files(base: &Path, dir: &Path) -> Result<Vec<String>, InstallError> {
    let mut files = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|source| InstallError::Io {
        path: dir.to_owned(),
        action: "list",
        source,
    })?;
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            files.extend(list_files(base, &path)?);
        } else if let Ok(relative) = path.strip_prefix(base) {
            files.push(relative.to_string_lossy().into_owned());
        }
    }
    Ok(files)
}

/// Appends the units to `<dir>/<prefix>-{restart,reload}-list` when `dir` exists.
fn write_unit_lists(dir: Option<&Path>, prefix: &str, report: &Report) -> Result<(), InstallError> {
    let Some(dir) = dir.filter(|dir| dir.is_dir()) else {
        return Ok(());
    };
    for (kind, units) in [
        ("restart", &report.restart_units),
        ("reload", &report.reload_units),
    ] {
        if units.is_empty() {
            continue;
        }
        let path = dir.join(format!("{prefix}-{kind}-list"));
        let io = |source| InstallError::Io {
            path: path.clone(),
            action: "append to",
            source,
        };
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o644)
            .open(&path)
            .map_err(io)?;
        let text: String = units.iter().map(|unit| format!("{unit}\n")).collect();
        file.write_all(text.as_bytes()).map_err(io)?;
    }
    Ok(())
}

/// Writes every entry into the new generation directory.
fn write_generation(
    dir: &Path,
    entries: &[Entry<'_>],
    values: &[Zeroizing<Vec<u8>>],
    dir_owner: Ownership,
) -> Result<(), InstallError> {
    for (entry, value) in entries.iter().zip(values) {
        let path = dir.join(&entry.relative);
        generation::make_parents(dir, &path, dir_owner)?;
        let ownership = entry.ownership.filter(|_| dir_owner.is_some());
        generation::write_new(&path, value, entry.mode, ownership)?;
    }
    Ok(())
}

/// Points each custom `path` at `<symlinkPath>/<name>` and removes the links recorded for the
/// previous generation that no entry claims any more.
fn link_custom_paths(manifest: &Manifest, entries: &[Entry<'_>]) -> Result<(), InstallError> {
    let symlink = &manifest.symlink_path;
    let mut links = Vec::new();
    for entry in entries {
        let target = symlink.join(&entry.relative);
        if entry.path.as_os_str().is_empty() || entry.path == target {
            continue;
        }
        if let Some(parent) = entry.path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| InstallError::Io {
                path: parent.to_owned(),
                action: "create parent of",
                source,
            })?;
        }
        let ownership = entry.ownership.filter(|_| !manifest.user_mode);
        if std::fs::read_link(entry.path).ok().as_deref() != Some(target.as_path()) {
            generation::swap_symlink(&target, entry.path, ownership)?;
        }
        links.push(entry.path.to_path_buf());
    }
    let record = manifest.secrets_mount_point.join(LINKS_FILE);
    let previous: Vec<PathBuf> = std::fs::read(&record)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default();
    for old in previous.iter().filter(|old| !links.contains(old)) {
        let ours = std::fs::read_link(old).is_ok_and(|target| target.starts_with(symlink));
        if ours {
            std::fs::remove_file(old).map_err(|source| InstallError::Io {
                path: old.clone(),
                action: "remove stale symlink",
                source,
            })?;
        }
    }
    let json = serde_json::to_vec(&links).map_err(|error| InstallError::Io {
        path: record.clone(),
        action: "record links in",
        source: error.into(),
    })?;
    crate::fs::write_atomic(&record, &json, crate::fs::WriteOptions::with_mode(0o600))?;
    Ok(())
}
