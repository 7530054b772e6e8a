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
mod error;
mod generation;
mod links;
mod manifest;
mod mount;
mod template;
mod units;

use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;
use zeroize::Zeroizing;

pub use error::InstallError;
pub use manifest::{DEFAULT_MODE, Logging, Manifest, ManifestError, Secret, Template};
pub use mount::MountOutcome;

use accounts::Accounts;
use decrypt::Request;
use generation::Ownership;
use links::link_custom_paths;
use template::{render, template_texts};
use units::{diff, restart_with_systemctl, write_unit_lists};

use crate::keys::age::Identities;
use crate::keys::ssh::add_ssh_identity;

/// The subdirectory of a generation holding rendered templates.
pub const RENDERED_DIR: &str = "rendered";

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

/// How the units of secrets that changed are restarted or reloaded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnitRestarts {
    /// Append them to `activation-{restart,reload}-list` under [`Options::nixos_dir`], which
    /// `switch-to-configuration` reads (sops-nix's activation-script mode).
    #[default]
    ActivationLists,
    /// Run `PROGRAM --no-block try-restart UNITS` and `PROGRAM --no-block
    /// try-reload-or-restart UNITS` once the new generation is live (sops-nix's systemd mode,
    /// `SOPS_RESTART_UNITS_VIA_SYSTEMCTL`: the install runs as a unit ordered before
    /// `sysinit-reactivation.target`, after switch-to-configuration has read the lists).
    /// `--no-block`: the install unit must not wait for units ordered after it.
    Systemctl {
        /// `systemctl`.
        program: PathBuf,
    },
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
    /// Lists or `systemctl`.
    pub restarts: UnitRestarts,
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
            restarts: UnitRestarts::ActivationLists,
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
    /// Milliseconds spent reading and decrypting the sops files and rendering templates.
    pub decrypt_ms: f64,
    /// Milliseconds spent writing the generation (files, owners, modes, the symlink swap,
    /// custom-path links and pruning).
    pub write_ms: f64,
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
    let decrypting = Instant::now();
    let identities = identities(manifest, &mut report)?;
    let secret_values = decrypt::values(&requests, &identities)?;
    let mut values = secret_values.clone();
    values.extend(render(manifest, &templates, &secret_values));
    report.decrypt_ms = milliseconds(decrypting);

    let mount_point = &manifest.secrets_mount_point;
    let symlink = &manifest.symlink_path;
    report.previous = generation::live_generation(symlink, mount_point);
    diff(symlink, &entries, &values, &mut report)?;
    // User mode restarts nothing (no system units); systemd mode restarts once the new
    // generation is live, below.
    let lists = (!manifest.user_mode && options.restarts == UnitRestarts::ActivationLists)
        .then_some(options.nixos_dir.as_path());
    if dry_run {
        write_unit_lists(lists, "dry-activation", &report)?;
        return Ok(report);
    }

    let writing = Instant::now();
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
    report.write_ms = milliseconds(writing);
    if let (false, UnitRestarts::Systemctl { program }) = (manifest.user_mode, &options.restarts) {
        restart_with_systemctl(program, &report)?;
    }
    Ok(report)
}

/// Milliseconds since `start`, for the report.
fn milliseconds(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1000.0
}

/// Validates the manifest into generation entries (secrets, then templates) and decryption
/// requests (one per secret).
fn plan<'m>(
    manifest: &'m Manifest,
    accounts: Option<&Accounts>,
) -> Result<(Vec<Entry<'m>>, Vec<Request<'m>>), InstallError> {
    let mut entries = Vec::new();
    let mut requests: Vec<Request<'m>> = Vec::new();
    // The first request of each sops file, by file: a lookup per secret, not a scan.
    let mut first_of_file: HashMap<&Path, usize> = HashMap::new();
    for secret in &manifest.secrets {
        check_name("secret", &secret.name)?;
        let format = secret.format()?;
        let same_file = first_of_file
            .get(secret.sops_file.as_path())
            .map(|&index| &requests[index]);
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
        first_of_file
            .entry(secret.sops_file.as_path())
            .or_insert(requests.len());
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
    check_names_apart(&entries)?;
    Ok((entries, requests))
}

/// Every entry needs a path of its own: no two with one name, and none inside another's (the
/// other would have to be a file and a directory). Checked before anything is decrypted or
/// written, naming the first entry in manifest order that cannot be written.
fn check_names_apart(entries: &[Entry<'_>]) -> Result<(), InstallError> {
    let mut names: HashSet<&str> = HashSet::with_capacity(entries.len());
    let mut repeated = None;
    for entry in entries {
        if !names.insert(&entry.relative) && repeated.is_none() {
            repeated = Some(entry.relative.as_str());
        }
    }
    for entry in entries {
        let name = entry.relative.as_str();
        let inside = name
            .match_indices('/')
            .map(|(at, _)| &name[..at])
            .find(|parent| names.contains(parent));
        if let Some(other) = inside.or(repeated.filter(|repeated| *repeated == name)) {
            return Err(InstallError::NameConflict {
                name: name.to_owned(),
                other: other.to_owned(),
            });
        }
    }
    Ok(())
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

/// Writes every entry into the new generation directory: the directories first, each once,
/// then the files on every core (each is new, so none waits on another).
fn write_generation(
    dir: &Path,
    entries: &[Entry<'_>],
    values: &[Zeroizing<Vec<u8>>],
    dir_owner: Ownership,
) -> Result<(), InstallError> {
    let paths: Vec<PathBuf> = entries
        .iter()
        .map(|entry| dir.join(&entry.relative))
        .collect();
    generation::make_dirs(
        dir,
        paths.iter().filter_map(|path| path.parent()),
        dir_owner,
    )?;
    let written: Vec<Result<(), InstallError>> = paths
        .par_iter()
        .zip(entries)
        .zip(values)
        .map(|((path, entry), value)| {
            let ownership = entry.ownership.filter(|_| dir_owner.is_some());
            generation::write_new(path, value, entry.mode, ownership)
        })
        .collect();
    // The first failure in manifest order, whichever thread met it first.
    written.into_iter().collect()
}
