//! `aesec::install` under a temporary root: sops-nix's `TestAge` and `TestAgeWithSSH` on its own
//! (MIT) test assets, then generations, owners and modes, templates, restart lists only for
//! changed secrets (as lists, or through `systemctl` in systemd mode), pruning, dry activation,
//! check mode, failures that leave the live generation, and no plaintext outside the
//! generation directory.
//!
//! The RAM file system is mounted where the kernel permits it (and unmounted at the end);
//! elsewhere the report says the mount was skipped, and the test asserts that it says so.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions panic with the error on a broken fixture"
)]

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use aesec::file::{EncryptOptions, encrypt};
use aesec::install::{
    Action, CheckMode, InstallError, Manifest, MountOutcome, MountPolicy, Options, Report,
    UnitRestarts, install,
};
use aesec::keys::age::GeneratedIdentity;
use aesec::sops::{AgeMasterKey, Recipients};
use aesec::store::Format;

const ASSETS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/sops-nix");

/// A temporary root with `run/` (mount point, symlink, nixos dir) that unmounts and removes
/// itself on drop.
struct Root {
    path: PathBuf,
}

impl Root {
    fn new(name: &str) -> Self {
        let mut random = [0u8; 6];
        getrandom::getrandom(&mut random).unwrap();
        let suffix: String = random.iter().map(|b| format!("{b:02x}")).collect();
        let path = std::env::temp_dir().join(format!("aesec-install-{name}-{suffix}"));
        std::fs::create_dir_all(path.join("run/nixos")).unwrap();
        Self { path }
    }
    fn mount_point(&self) -> PathBuf {
        self.path.join("run/secrets.d")
    }
    fn symlink(&self) -> PathBuf {
        self.path.join("run/secrets")
    }
    fn options(&self) -> Options {
        let mut options = Options::default();
        options.mount = MountPolicy::IfPermitted;
        options.nixos_dir = self.path.join("run/nixos");
        options
    }
    fn list(&self, name: &str) -> String {
        std::fs::read_to_string(self.path.join("run/nixos").join(name)).unwrap_or_default()
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        let _ = rustix::mount::unmount(self.mount_point(), rustix::mount::UnmountFlags::DETACH);
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// The report says what happened at the mount point: mounted, or skipped with the reason.
fn assert_mount_said(report: &Report) {
    match report.mount.as_ref().unwrap() {
        MountOutcome::Mounted(kind) | MountOutcome::AlreadyMounted(kind) => {
            assert!(kind == "ramfs" || kind == "tmpfs");
        }
        MountOutcome::Skipped(reason) => assert!(reason.contains("plain directory"), "{reason}"),
        other => panic!("unexpected {other:?}"),
    }
}

/// A manifest as sops-nix's Go test `TestAge` writes it: secret `test` from `secrets.yaml`,
/// `nobody:nogroup`, `0400`, a custom path where a regular file already exists.
fn sops_nix_manifest(root: &Root, key_fields: &str) -> (Manifest, PathBuf) {
    let target = root.path.join("existing-target");
    std::fs::write(&target, b"").unwrap();
    let json = format!(
        r#"{{"secrets":[{{"name":"test","key":"test_key","path":"{target}","owner":"nobody",
        "uid":0,"group":"nogroup","gid":0,"sopsFile":"{ASSETS}/secrets.yaml","format":"",
        "mode":"0400","restartUnits":["affected-service"],"reloadUnits":["affected-reload-service"]}}],
        "templates":null,"placeholderBySecretName":null,"secretsMountPoint":"{mount}",
        "symlinkPath":"{link}","keepGenerations":0,"sshKeyPaths":null,"gnupgHome":"",
        {key_fields},"useTmpfs":false,"userMode":false,
        "logging":{{"keyImport":false,"secretChanges":false}}}}"#,
        target = target.display(),
        mount = root.mount_point().display(),
        link = root.symlink().display(),
    );
    (Manifest::from_json(json.as_bytes()).unwrap(), target)
}

fn assert_sops_nix_result(root: &Root, target: &Path, report: &Report) {
    assert_eq!(report.generation, Some(1));
    assert_mount_said(report);
    assert!(
        std::fs::symlink_metadata(target)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read_to_string(target).unwrap(), "test_value");
    let meta = std::fs::metadata(target).unwrap();
    assert_eq!(meta.permissions().mode() & 0o7777, 0o400);
    if is_root() {
        assert_eq!((meta.uid(), meta.gid()), (65534, 65534), "nobody:nogroup");
    }
    assert_eq!(
        std::fs::read_link(root.symlink()).unwrap(),
        root.mount_point().join("1")
    );
}

#[test]
fn sops_nix_test_age() {
    let root = Root::new("age");
    let keys = format!(r#""ageKeyFile":"{ASSETS}/age-keys.txt","ageSshKeyPaths":null"#);
    let (manifest, target) = sops_nix_manifest(&root, &keys);
    let report = install(&manifest, &root.options()).unwrap();
    assert_sops_nix_result(&root, &target, &report);
}

#[test]
fn sops_nix_test_age_with_ssh() {
    let root = Root::new("agessh");
    let keys = format!(r#""ageKeyFile":"","ageSshKeyPaths":["{ASSETS}/ssh-ed25519-key"]"#);
    let (manifest, target) = sops_nix_manifest(&root, &keys);
    let report = install(&manifest, &root.options()).unwrap();
    assert_sops_nix_result(&root, &target, &report);
    // The converted key is written nowhere: no age-keys.txt, no AGE-SECRET-KEY anywhere.
    for file in files_under(&root.path) {
        let bytes = std::fs::read(&file).unwrap();
        assert!(!contains(&bytes, b"AGE-SECRET-KEY-"), "{}", file.display());
    }
}

#[test]
fn pgp_fields_are_refused() {
    let root = Root::new("pgp");
    let keys = format!(r#""ageKeyFile":"{ASSETS}/age-keys.txt""#);
    let (mut manifest, _) = sops_nix_manifest(&root, &keys);
    manifest.ssh_key_paths = vec!["/etc/ssh/ssh_host_rsa_key".into()];
    let error = install(&manifest, &root.options()).unwrap_err();
    assert!(
        matches!(
            error,
            InstallError::Pgp {
                field: "sshKeyPaths"
            }
        ),
        "{error}"
    );
}

/// A fleet of two sops files encrypted to a fresh key, and a manifest written as the Nix module
/// writes it (every field, `null`s, and fields Go ignores).
struct Fleet {
    root: Root,
    key_file: PathBuf,
    recipient: aesec::keys::age::Recipient,
}

/// A secret name whose last step is longer than any file name (255 bytes): writing it fails.
fn too_long_name() -> String {
    format!("toolong/{}", "n".repeat(300))
}

impl Fleet {
    fn new(name: &str) -> Self {
        let root = Root::new(name);
        let identity = GeneratedIdentity::generate();
        let key_file = root.path.join("key.txt");
        std::fs::write(
            &key_file,
            identity.to_identity_file("now").expose_secret_text(),
        )
        .unwrap();
        Self {
            recipient: identity.recipient(),
            root,
            key_file,
        }
    }

    fn encrypt(&self, name: &str, yaml: &str) -> PathBuf {
        let recipients =
            Recipients::single_group(vec![Box::new(AgeMasterKey::new(self.recipient.clone()))]);
        let options = EncryptOptions::new(Format::Yaml, Format::Yaml);
        let bytes = encrypt(yaml.as_bytes(), &recipients, &options).unwrap();
        let path = self.root.path.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// `db/password` (nested key, custom path, owner nobody), `api` (uid/gid fallback 0440),
    /// and template `app.conf` using both.
    fn manifest(&self, file: &Path, keep: u32, extra_secret: &str) -> Manifest {
        let link = self.root.symlink();
        let json = format!(
            r#"{{
  "secrets": [
    {{"name": "db/password", "key": "db/password", "path": "{custom}", "owner": "nobody",
      "uid": 0, "group": null, "gid": 65534, "sopsFile": "{file}", "format": "yaml",
      "mode": "0400", "restartUnits": ["db.service"], "reloadUnits": [],
      "neededForUsers": false, "sopsFileHash": ""}},
    {{"name": "api", "key": "api", "path": "{link}/api", "owner": null, "uid": 0,
      "group": null, "gid": 0, "sopsFile": "{file}", "format": "yaml", "mode": "0440",
      "restartUnits": ["api.service"], "reloadUnits": ["api-reload.service"],
      "neededForUsers": false, "sopsFileHash": ""}}{extra_secret}
  ],
  "templates": [
    {{"name": "app.conf", "content": "db=<SOPS:db:PLACEHOLDER> api=<SOPS:api:PLACEHOLDER>\n",
      "path": "{link}/rendered/app.conf", "mode": "0400", "owner": null, "uid": 0,
      "group": null, "gid": 0, "file": "/nonexistent", "restartUnits": ["app.service"],
      "reloadUnits": []}}
  ],
  "placeholderBySecretName": {{"db/password": "<SOPS:db:PLACEHOLDER>",
                               "api": "<SOPS:api:PLACEHOLDER>", "extra": "<SOPS:x:PLACEHOLDER>",
                               "api/x": "<SOPS:y:PLACEHOLDER>",
                               "{too_long}": "<SOPS:z:PLACEHOLDER>"}},
  "secretsMountPoint": "{mount}",
  "symlinkPath": "{link}",
  "keepGenerations": {keep},
  "sshKeyPaths": [],
  "gnupgHome": null,
  "ageKeyFile": "{key}",
  "ageSshKeyPaths": [],
  "useTmpfs": false,
  "userMode": false,
  "logging": {{"keyImport": true, "secretChanges": true}}
}}"#,
            custom = self.root.path.join("etc/db-password").display(),
            file = file.display(),
            link = link.display(),
            mount = self.root.mount_point().display(),
            key = self.key_file.display(),
            too_long = too_long_name(),
        );
        Manifest::from_json(json.as_bytes()).unwrap()
    }
}

trait ExposeText {
    fn expose_secret_text(&self) -> String;
}

impl ExposeText for aesec::secrecy::SecretString {
    fn expose_secret_text(&self) -> String {
        use aesec::secrecy::ExposeSecret;
        self.expose_secret().to_owned()
    }
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            out.extend(files_under(&entry.path()));
        } else if kind.is_file() {
            out.push(entry.path());
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn generations_changes_templates_prune_and_plaintext_at_rest() {
    let fleet = Fleet::new("gen");
    let root = &fleet.root;
    let v1 = fleet.encrypt(
        "s1.yaml",
        "db:\n    password: pw-one-4711\napi: api-token-0815\n",
    );
    let report = install(&fleet.manifest(&v1, 1, ""), &root.options()).unwrap();
    assert_eq!(report.generation, Some(1));
    assert_mount_said(&report);
    assert!(
        report.restart_units.is_empty(),
        "first install lists nothing"
    );
    let link = root.symlink();
    assert_eq!(
        std::fs::read_to_string(link.join("db/password")).unwrap(),
        "pw-one-4711"
    );
    assert_eq!(
        std::fs::read_to_string(link.join("rendered/app.conf")).unwrap(),
        "db=pw-one-4711 api=api-token-0815\n"
    );
    let custom = root.path.join("etc/db-password");
    assert_eq!(
        std::fs::read_link(&custom).unwrap(),
        link.join("db/password")
    );
    let api = std::fs::metadata(link.join("api")).unwrap();
    assert_eq!(api.permissions().mode() & 0o7777, 0o440);
    let dir = std::fs::metadata(root.mount_point().join("1/db")).unwrap();
    assert_eq!(dir.permissions().mode() & 0o7777, 0o751);
    if is_root() {
        let db = std::fs::metadata(link.join("db/password")).unwrap();
        assert_eq!(
            (db.uid(), db.gid()),
            (65534, 65534),
            "owner by name, gid fallback"
        );
    }

    // Only `api` changes: its units (and the template's) are listed, not db's.
    let v2 = fleet.encrypt(
        "s2.yaml",
        "db:\n    password: pw-one-4711\napi: api-token-0816\n",
    );
    let report = install(&fleet.manifest(&v2, 1, ""), &root.options()).unwrap();
    assert_eq!((report.previous, report.generation), (Some(1), Some(2)));
    assert_eq!(report.modified, ["api", "rendered/app.conf"]);
    assert_eq!(
        root.list("activation-restart-list"),
        "api.service\napp.service\n"
    );
    assert_eq!(root.list("activation-reload-list"), "api-reload.service\n");
    assert_eq!(
        report.pruned,
        [1],
        "keepGenerations 1 keeps only the live one"
    );
    assert!(!root.mount_point().join("1").exists());
    assert_eq!(
        std::fs::read_link(&link).unwrap(),
        root.mount_point().join("2")
    );

    // Dry activation: reports, writes only the dry lists, switches nothing.
    let v3 = fleet.encrypt(
        "s3.yaml",
        "db:\n    password: pw-two-4712\napi: api-token-0816\n",
    );
    let mut dry = root.options();
    dry.action = Action::DryActivate;
    let report = install(&fleet.manifest(&v3, 1, ""), &dry).unwrap();
    assert!(report.dry_run && report.generation.is_none());
    assert_eq!(report.modified, ["db/password", "rendered/app.conf"]);
    assert_eq!(
        root.list("dry-activation-restart-list"),
        "db.service\napp.service\n"
    );
    assert!(!root.mount_point().join("3").exists());
    assert_eq!(
        std::fs::read_link(&link).unwrap(),
        root.mount_point().join("2")
    );

    // No plaintext at rest: each value appears only inside the live generation directory.
    let generation = root.mount_point().join("2");
    for value in ["pw-one-4711", "api-token-0816"] {
        for file in files_under(&root.path) {
            if contains(&std::fs::read(&file).unwrap(), value.as_bytes()) {
                assert!(
                    file.starts_with(&generation),
                    "{value} in {}",
                    file.display()
                );
            }
        }
    }
}

/// systemd mode: the units of changed secrets go to `systemctl --no-block try-restart` and
/// `try-reload-or-restart` once the new generation is live, and no list is written. systemd
/// cannot run in this test's container (it is not PID 1), so `systemctl` is a script that
/// records its arguments, or fails; the calls themselves are what sops-nix makes.
#[test]
fn systemd_mode_restarts_through_systemctl() {
    let fleet = Fleet::new("systemctl");
    let root = &fleet.root;
    let calls = root.path.join("systemctl-calls");
    let systemctl = root.path.join("systemctl");
    std::fs::write(
        &systemctl,
        format!("#!/bin/sh\necho \"$@\" >> '{}'\n", calls.display()),
    )
    .unwrap();
    std::fs::set_permissions(&systemctl, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut options = root.options();
    options.restarts = UnitRestarts::Systemctl { program: systemctl };
    let v1 = fleet.encrypt("s1.yaml", "db:\n    password: one\napi: a1\n");
    install(&fleet.manifest(&v1, 0, ""), &options).unwrap();
    assert!(!calls.exists(), "a first install restarts nothing");

    let v2 = fleet.encrypt("s2.yaml", "db:\n    password: one\napi: a2\n");
    let report = install(&fleet.manifest(&v2, 0, ""), &options).unwrap();
    assert_eq!(report.generation, Some(2));
    assert_eq!(
        std::fs::read_to_string(&calls).unwrap(),
        "--no-block try-restart api.service app.service\n\
         --no-block try-reload-or-restart api-reload.service\n"
    );
    assert_eq!(root.list("activation-restart-list"), "");
    assert_eq!(root.list("activation-reload-list"), "");

    // A dry activation calls nothing.
    std::fs::remove_file(&calls).unwrap();
    let v3 = fleet.encrypt("s3.yaml", "db:\n    password: two\napi: a2\n");
    let mut dry = options.clone();
    dry.action = Action::DryActivate;
    install(&fleet.manifest(&v3, 0, ""), &dry).unwrap();
    assert!(!calls.exists());

    // systemctl failing: the error says so, and the new generation is live all the same.
    let failing = root.path.join("systemctl-failing");
    std::fs::write(
        &failing,
        "#!/bin/sh\necho 'Failed to connect to bus' >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&failing, std::fs::Permissions::from_mode(0o755)).unwrap();
    options.restarts = UnitRestarts::Systemctl { program: failing };
    let error = install(&fleet.manifest(&v3, 0, ""), &options).unwrap_err();
    assert!(
        matches!(&error, InstallError::Systemctl { verb: "try-restart", units, .. } if units == &["db.service", "app.service"]),
        "{error}"
    );
    assert_eq!(
        std::fs::read_link(root.symlink()).unwrap(),
        root.mount_point().join("3")
    );
}

#[test]
fn failure_leaves_the_live_generation() {
    let fleet = Fleet::new("fail");
    let root = &fleet.root;
    let good = fleet.encrypt("good.yaml", "db:\n    password: pw\napi: a\n");
    install(&fleet.manifest(&good, 0, ""), &root.options()).unwrap();
    let live = || std::fs::read_link(root.symlink()).unwrap();
    assert_eq!(live(), root.mount_point().join("1"));

    let missing = format!(
        r#",{{"name": "extra", "key": "nope/deeper", "sopsFile": "{}", "mode": "0400"}}"#,
        good.display()
    );
    let error = install(&fleet.manifest(&good, 0, &missing), &root.options()).unwrap_err();
    assert!(
        matches!(&error, InstallError::MissingKey { secret, key, .. } if secret == "extra" && key == "nope/deeper"),
        "{error}"
    );
    let unknown_user = format!(
        r#",{{"name": "extra", "key": "api", "sopsFile": "{}", "owner": "no-such-user-aesec"}}"#,
        good.display()
    );
    let error = install(&fleet.manifest(&good, 0, &unknown_user), &root.options()).unwrap_err();
    assert!(
        matches!(&error, InstallError::UnknownUser { name, .. } if name == "extra"),
        "{error}"
    );

    // Two secrets reading one file in different formats.
    let conflict = format!(
        r#",{{"name": "extra", "key": "api", "format": "json", "sopsFile": "{}"}}"#,
        good.display()
    );
    let error = install(&fleet.manifest(&good, 0, &conflict), &root.options()).unwrap_err();
    assert!(
        matches!(&error, InstallError::FormatConflict { secret, .. } if secret == "extra"),
        "{error}"
    );

    // A value left in clear where the file's rule demands ciphertext (hand-edited file).
    let text = std::fs::read_to_string(&good).unwrap();
    let start = text.find("api: ENC[").unwrap() + 5;
    let end = start + text[start..].find('\n').unwrap();
    let clear = root.path.join("clear.yaml");
    std::fs::write(
        &clear,
        format!("{}clear-value{}", &text[..start], &text[end..]),
    )
    .unwrap();
    let error = install(&fleet.manifest(&clear, 0, ""), &root.options()).unwrap_err();
    assert!(
        matches!(&error, InstallError::Decrypt { secret, source: aesec::sops::OpenError::Value(_), .. } if secret == "db/password"),
        "{error}"
    );

    // A file whose MAC does not match (a ciphertext byte of the MAC changed).
    let mut tampered = std::fs::read_to_string(&good).unwrap();
    let at = tampered.find("mac: ENC[AES256_GCM,data:").unwrap() + 25;
    let flipped = if &tampered[at..=at] == "A" { "B" } else { "A" };
    tampered.replace_range(at..=at, flipped);
    let bad = root.path.join("bad.yaml");
    std::fs::write(&bad, tampered).unwrap();
    let error = install(&fleet.manifest(&bad, 0, ""), &root.options()).unwrap_err();
    assert!(
        matches!(&error, InstallError::Decrypt { secret, .. } if secret == "db/password"),
        "{error}"
    );

    // Two entries that need one path (`api` is a secret, so `api/x` cannot be one), or the
    // same one: refused before anything is decrypted or written.
    for extra in ["api/x", "api"] {
        let collide = format!(
            r#",{{"name": "{extra}", "key": "api", "sopsFile": "{}"}}"#,
            good.display()
        );
        let error = install(&fleet.manifest(&good, 0, &collide), &root.options()).unwrap_err();
        assert!(
            matches!(&error, InstallError::NameConflict { name, other } if name == extra && other == "api"),
            "{error}"
        );
    }

    // A failure while writing the generation (a name longer than a file name can be).
    let too_long = format!(
        r#",{{"name": "{}", "key": "api", "sopsFile": "{}"}}"#,
        too_long_name(),
        good.display()
    );
    let error = install(&fleet.manifest(&good, 0, &too_long), &root.options()).unwrap_err();
    assert!(
        matches!(&error, InstallError::Io { path, .. } if path.ends_with(format!("2/{}", too_long_name()))),
        "{error}"
    );

    assert_eq!(live(), root.mount_point().join("1"));
    assert!(
        !root.mount_point().join("2").exists(),
        "the half-built generation is gone"
    );
    assert_eq!(
        std::fs::read_to_string(root.symlink().join("db/password")).unwrap(),
        "pw"
    );
}

#[test]
fn check_mode_needs_no_key() {
    let fleet = Fleet::new("check");
    let file = fleet.encrypt("c.yaml", "db:\n    password: pw\napi: a\n");
    std::fs::remove_file(&fleet.key_file).unwrap();
    let mut options = fleet.root.options();
    options.check_mode = CheckMode::SopsFile;
    install(&fleet.manifest(&file, 1, ""), &options).unwrap();
    let missing = format!(
        r#",{{"name": "extra", "key": "absent", "sopsFile": "{}"}}"#,
        file.display()
    );
    let error = install(&fleet.manifest(&file, 1, &missing), &options).unwrap_err();
    assert!(
        matches!(&error, InstallError::MissingKey { key, .. } if key == "absent"),
        "{error}"
    );
    options.check_mode = CheckMode::Manifest;
    install(&fleet.manifest(&file, 1, &missing), &options).unwrap();
    assert!(!fleet.root.mount_point().exists(), "a check writes nothing");
}

#[test]
fn removed_custom_path_links_are_cleaned() {
    let fleet = Fleet::new("links");
    let root = &fleet.root;
    let file = fleet.encrypt("l.yaml", "db:\n    password: pw\napi: a\nother: o\n");
    let other_path = root.path.join("etc/other");
    let extra = format!(
        r#",{{"name": "extra", "key": "other", "path": "{}", "sopsFile": "{}"}}"#,
        other_path.display(),
        file.display()
    );
    install(&fleet.manifest(&file, 0, &extra), &root.options()).unwrap();
    assert_eq!(std::fs::read_to_string(&other_path).unwrap(), "o");
    let report = install(&fleet.manifest(&file, 0, ""), &root.options()).unwrap();
    assert_eq!(report.removed, ["extra"]);
    assert!(
        std::fs::symlink_metadata(&other_path).is_err(),
        "stale link removed"
    );
    assert!(
        root.mount_point().join("1").exists(),
        "keepGenerations 0 prunes nothing"
    );
}

#[test]
fn users_phase_owns_everything_by_root() {
    let fleet = Fleet::new("users");
    let root = &fleet.root;
    let file = fleet.encrypt("u.yaml", "db:\n    password: pw\napi: a\n");
    // Before users exist: names are not looked up (this one does not exist at all).
    let unknown = format!(
        r#",{{"name": "extra", "key": "api", "sopsFile": "{}", "owner": "not-yet-created-aesec"}}"#,
        file.display()
    );
    let mut options = root.options();
    options.ignore_passwd = true;
    install(&fleet.manifest(&file, 1, &unknown), &options).unwrap();
    for name in ["db/password", "api", "extra", "rendered/app.conf"] {
        let meta = std::fs::metadata(root.symlink().join(name)).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (0, 0), "{name}");
    }
    let dir = std::fs::metadata(root.mount_point().join("1")).unwrap();
    assert_eq!((dir.uid(), dir.gid()), (0, 0));
}

#[test]
fn user_mode_mounts_nothing_and_lists_nothing() {
    let fleet = Fleet::new("user");
    let root = &fleet.root;
    let file = fleet.encrypt("m.yaml", "db:\n    password: pw\napi: a\n");
    let mut manifest = fleet.manifest(&file, 1, "");
    manifest.user_mode = true;
    let first = install(&manifest, &root.options()).unwrap();
    assert!(matches!(first.mount, Some(MountOutcome::Skipped(_))));
    let v2 = fleet.encrypt("m2.yaml", "db:\n    password: pw2\napi: a\n");
    let mut manifest = fleet.manifest(&v2, 1, "");
    manifest.user_mode = true;
    let report = install(&manifest, &root.options()).unwrap();
    assert_eq!(report.modified, ["db/password", "rendered/app.conf"]);
    assert_eq!(
        root.list("activation-restart-list"),
        "",
        "no restart lists in user mode"
    );
    let me = rustix::process::geteuid().as_raw();
    let meta = std::fs::metadata(root.symlink().join("db/password")).unwrap();
    assert_eq!(meta.uid(), me, "no chown in user mode");
}

#[test]
fn runtime_dir_is_substituted_in_user_mode_paths() {
    let mut manifest = Manifest::from_json(
        br#"{"secretsMountPoint":"%r/secrets.d","symlinkPath":"%r/s","userMode":true,
            "secrets":[{"name":"a","path":"%r/a%%b"}]}"#,
    )
    .unwrap();
    manifest.resolve_runtime_dir("/run/user/7");
    assert_eq!(
        manifest.secrets_mount_point,
        Path::new("/run/user/7/secrets.d")
    );
    assert_eq!(manifest.secrets[0].path, Path::new("/run/user/7/a%b"));
}
