//! The NixOS module (`nix/module.nix`) and the flake, evaluated by the real `nix-instantiate`
//! (Debian `nix-bin`) without nixpkgs and without the network, into a store of a temporary
//! directory (`local?store=…`), and their output fed to the real `aesec install`:
//!
//! - every Nix file parses;
//! - `nix/manifest.nix` (builtins only) writes a manifest that `aesec::install::Manifest` reads
//!   field by field, that passes `--check-mode sopsfile`, and that installs the vendored
//!   sops-nix secrets; the encrypted file is in the store, no plaintext is;
//! - it refuses sops files outside the store when `validateSopsFiles` is set;
//! - the module itself, through a small stand-in for `lib.evalModules`
//!   (`tests/nix/eval-module.nix`): both manifests, their build-time check run as written, the
//!   activation scripts (the key generation one run as written), and the configurations it
//!   refuses;
//! - the flake's outputs, with a stand-in for nixpkgs that records what they build.
//!
//! Not evaluated (it needs nixpkgs): nixpkgs' own `lib` and module system, `writeTextFile`'s
//! build, `buildRustPackage`, and a NixOS system running the activation scripts.

use std::path::{Path, PathBuf};

use aesec::install::Manifest;
use aesec::store::Format;
use aesec_tests::{Cmd, TempHome, aesec_bin, nix_instantiate, require_peer, workspace_root};
use serde_json::Value;

/// The plaintext values of the vendored sops-nix `secrets.yaml` that the tests install.
const PLAINTEXTS: [&str; 2] = ["test_value", "another value"];

/// `nix-instantiate` with a store of its own in a temporary home, no substituters and no
/// configuration from the machine.
struct Nix {
    home: TempHome,
    program: PathBuf,
}

impl Nix {
    fn new() -> Option<Self> {
        let program = nix_instantiate()?;
        Some(Self {
            home: TempHome::new(),
            program,
        })
    }

    fn store(&self) -> PathBuf {
        self.home.join("nix/store")
    }

    fn cmd(&self) -> Cmd {
        let state = self.home.join("nix/var");
        let log = self.home.join("nix/log");
        let store = format!(
            "local?store={}&state={}&log={}",
            self.store().display(),
            state.display(),
            log.display()
        );
        let mut cmd = self.home.cmd(&self.program);
        cmd.env("NIX_CONF_DIR", self.home.join("nix/etc"))
            .env("NIX_REMOTE", "")
            .args(["--store", &store])
            .args(["--option", "substituters", ""])
            .args(["--option", "build-users-group", ""]);
        cmd
    }

    /// `nix-instantiate --eval --strict --json FILE ARGS…`, writing store paths for real.
    fn eval_cmd(&self, file: &str, args: &[&str]) -> Cmd {
        let mut cmd = self.cmd();
        cmd.args(["--read-write-mode", "--eval", "--strict", "--json"])
            .arg(workspace_root().join(file))
            .args(args);
        cmd
    }

    fn eval(&self, file: &str, args: &[&str]) -> Value {
        let out = self.eval_cmd(file, args).stdout();
        serde_json::from_str(&out).unwrap_or_else(|err| panic!("{file}: not JSON ({err}): {out}"))
    }

    /// Every file of the store whose bytes contain one of the plaintexts.
    fn files_with_plaintext(&self) -> Vec<PathBuf> {
        aesec_tests::files_containing([self.store()], &PLAINTEXTS)
    }
}

fn vectors() -> PathBuf {
    workspace_root().join("crates/core/tests/vectors/sops-nix")
}

fn utf8(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

fn string(value: &Value) -> &str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"))
}

fn read_manifest(path: &Path) -> Manifest {
    Manifest::read(path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

fn read(path: impl AsRef<Path>) -> String {
    let path = path.as_ref();
    std::fs::read_to_string(path).unwrap_or_else(|err| panic!("reading {}: {err}", path.display()))
}

#[test]
fn nix_files_parse() {
    let nix = require_peer!(Nix::new());
    for file in [
        "flake.nix",
        "nix/module.nix",
        "nix/manifest.nix",
        "nix/package.nix",
        "tests/nix/eval-module.nix",
        "tests/nix/manifest-case.nix",
        "tests/nix/module-case.nix",
        "tests/nix/flake-case.nix",
    ] {
        nix.cmd()
            .arg("--parse")
            .arg(workspace_root().join(file))
            .run();
    }
}

/// `tests/nix/manifest-case.nix` with the temporary root; returns the manifest's store path.
fn manifest_case(nix: &Nix, root: &Path, extra: &[&str]) -> PathBuf {
    let vectors = vectors();
    let mut args = vec!["--argstr", "root", utf8(root)];
    args.extend(["--arg", "vectors", utf8(&vectors)]);
    args.extend(extra);
    PathBuf::from(string(&nix.eval("tests/nix/manifest-case.nix", &args)))
}

#[test]
fn manifest_written_by_nix_installs_the_secrets() {
    let nix = require_peer!(Nix::new());
    let root = nix.home.join("root");
    let path = manifest_case(&nix, &root, &[]);
    assert!(path.starts_with(nix.store()), "{}", path.display());

    let manifest = read_manifest(&path);
    let [test_key, nested] = &manifest.secrets[..] else {
        panic!("two secrets expected: {:?}", manifest.secrets);
    };
    assert_eq!(test_key.name, "test_key");
    assert_eq!(test_key.key, "test_key");
    assert_eq!(test_key.path, root.join("run/secrets/test_key"));
    assert_eq!(test_key.format().unwrap(), Format::Yaml);
    assert_eq!(test_key.mode().unwrap(), 0o400);
    assert_eq!((test_key.owner.as_deref(), test_key.uid), (None, 0));
    assert_eq!(test_key.restart_units, ["app.service"]);
    assert_eq!(
        (nested.key.as_str(), nested.mode().unwrap()),
        ("nested/test/file", 0o440)
    );
    assert_eq!(nested.reload_units, ["web.service"]);
    // The encrypted file went to the store unchanged.
    assert!(test_key.sops_file.starts_with(nix.store()));
    assert_eq!(
        read(&test_key.sops_file),
        read(vectors().join("secrets.yaml"))
    );
    let template = &manifest.templates[0];
    assert!(template.file.starts_with(nix.store()));
    assert!(
        template
            .content
            .contains(&manifest.placeholder_by_secret_name["test_key"])
    );
    assert_eq!(manifest.symlink_path, root.join("run/secrets"));
    assert_eq!(manifest.keep_generations, 1);
    assert!(!manifest.logging.key_import && manifest.logging.secret_changes);

    let check = nix
        .home
        .aesec()
        .args(["install", "--check-mode", "sopsfile", "--manifest"])
        .arg(&path)
        .stdout();
    assert!(check.contains("is valid"), "{check}");

    std::fs::create_dir_all(root.join("run/nixos")).expect("nixos dir");
    nix.home
        .aesec()
        .args(["install", "--mount", "never", "--manifest"])
        .arg(&path)
        .arg("--nixos-dir")
        .arg(root.join("run/nixos"))
        .run();
    assert_eq!(read(root.join("run/secrets/test_key")), "test_value");
    assert_eq!(read(root.join("run/secrets/nested/file")), "another value");
    assert_eq!(read(root.join("etc/app/nested")), "another value");
    assert!(root.join("etc/app/nested").is_symlink());
    assert_eq!(
        read(root.join("run/secrets/rendered/app.conf")),
        "value = test_value\n"
    );
    assert!(
        !root.join("run/nixos/activation-restart-list").exists(),
        "first install"
    );

    // `test_key` now names another value: only its unit is listed, not `nested/file`'s.
    let changed = manifest_case(&nix, &root, &["--argstr", "testKey", "nested/test/file"]);
    nix.home
        .aesec()
        .args(["install", "--mount", "never", "--manifest"])
        .arg(&changed)
        .arg("--nixos-dir")
        .arg(root.join("run/nixos"))
        .run();
    assert_eq!(read(root.join("run/secrets/test_key")), "another value");
    let restart = read(root.join("run/nixos/activation-restart-list"));
    assert_eq!(restart.lines().collect::<Vec<_>>(), ["app.service"]);
    assert!(!root.join("run/nixos/activation-reload-list").exists());
    assert_eq!(nix.files_with_plaintext(), Vec::<PathBuf>::new());
}

#[test]
fn sops_files_outside_the_store_are_refused_when_validated() {
    let nix = require_peer!(Nix::new());
    let root = nix.home.join("root");
    let vectors = vectors();
    let mut args = vec!["--argstr", "root", utf8(&root)];
    args.extend(["--arg", "vectors", utf8(&vectors)]);
    args.extend(["--arg", "sopsFileAsString", "true"]);
    let failure = nix
        .eval_cmd("tests/nix/manifest-case.nix", &args)
        .run_failure();
    let stderr = String::from_utf8_lossy(&failure.stderr);
    assert!(
        stderr.contains(r#"set in aesec.secrets."test_key".sopsFile is not in the Nix store"#),
        "{stderr}"
    );

    let path = manifest_case(
        &nix,
        &root,
        &[
            "--arg",
            "sopsFileAsString",
            "true",
            "--arg",
            "validateSopsFiles",
            "false",
        ],
    );
    let manifest = read_manifest(&path);
    assert_eq!(manifest.secrets[0].sops_file, vectors.join("secrets.yaml"));
    let copies: Vec<_> = std::fs::read_dir(nix.store())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with("-secrets.yaml"))
        .collect();
    assert_eq!(copies, Vec::<String>::new());
}

#[test]
fn build_time_check_names_a_missing_key() {
    let nix = require_peer!(Nix::new());
    let root = nix.home.join("root");
    let path = manifest_case(&nix, &root, &["--argstr", "testKey", "no_such_key"]);
    let failure = nix
        .home
        .aesec()
        .args(["install", "--check-mode", "sopsfile", "--manifest"])
        .arg(&path)
        .run_failure();
    let stderr = String::from_utf8_lossy(&failure.stderr);
    assert!(
        stderr.contains("test_key") && stderr.contains("no_such_key"),
        "{stderr}"
    );
}

/// A directory standing for the aesec package: `bin/aesec` is the binary under test.
fn package_dir(home: &TempHome) -> PathBuf {
    let dir = home.join("aesec-package");
    std::fs::create_dir_all(dir.join("bin")).expect("package dir");
    std::os::unix::fs::symlink(aesec_bin(), dir.join("bin/aesec")).expect("bin/aesec link");
    dir
}

fn module_case(nix: &Nix, package: &Path, case: &str, extra: &[&str]) -> Cmd {
    let vectors = vectors();
    let mut args = vec![
        "--arg",
        "vectors",
        utf8(&vectors),
        "--argstr",
        "aesecPackage",
        utf8(package),
        "--argstr",
        "case",
        case,
    ];
    args.extend(extra);
    nix.eval_cmd("tests/nix/module-case.nix", &args)
}

/// The manifest moved under `root`, with the vendored keys instead of the host's, and with
/// every owner and group dropped (root) when `as_root`.
fn relocate(manifest: &Path, root: &Path, into: &Path, as_root: bool) -> PathBuf {
    let mut json: Value = serde_json::from_str(&read(manifest)).expect("manifest JSON");
    let under = |value: &mut Value| {
        let path = root.join(string(value).trim_start_matches('/'));
        *value = Value::from(utf8(&path));
    };
    under(&mut json["secretsMountPoint"]);
    under(&mut json["symlinkPath"]);
    for list in ["secrets", "templates"] {
        for entry in json[list].as_array_mut().expect("a list of entries") {
            under(&mut entry["path"]);
            if as_root {
                entry["owner"] = Value::Null;
                entry["group"] = Value::Null;
            }
        }
    }
    json["ageKeyFile"] = Value::from(utf8(&vectors().join("age-keys.txt")));
    json["ageSshKeyPaths"] = Value::Array(Vec::new());
    std::fs::write(into, json.to_string()).expect("writing the relocated manifest");
    into.to_owned()
}

#[test]
fn module_evaluates_to_checked_manifests_and_activation_scripts() {
    let nix = require_peer!(Nix::new());
    let package = package_dir(&nix.home);
    let out: Value = serde_json::from_str(&module_case(&nix, &package, "fleet", &[]).stdout())
        .expect("module case JSON");
    assert_eq!(out["failed"], Value::Array(Vec::new()));
    let path = PathBuf::from(string(&out["manifest"]));
    let users_path = PathBuf::from(string(&out["manifestForUsers"]));

    let manifest = read_manifest(&path);
    let names: Vec<_> = manifest.secrets.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["nested/file", "test_key"]);
    let test_key = &manifest.secrets[1];
    assert_eq!(test_key.path, Path::new("/run/secrets/test_key"));
    assert_eq!(test_key.key, "test_key");
    assert_eq!(test_key.owner.as_deref(), Some("nginx"));
    assert_eq!(
        test_key.group.as_deref(),
        Some("www"),
        "users.users.nginx.group"
    );
    assert_eq!(test_key.format().unwrap(), Format::Yaml);
    assert_eq!(test_key.mode().unwrap(), 0o400);
    assert!(test_key.sops_file.starts_with(nix.store()));
    assert_eq!(manifest.secrets[0].path, Path::new("/etc/app/nested"));
    assert_eq!(manifest.secrets_mount_point, Path::new("/run/secrets.d"));
    assert_eq!(manifest.symlink_path, Path::new("/run/secrets"));
    assert_eq!(manifest.age_key_file, "/var/lib/aesec/key.txt");
    // The ed25519 host key only: not the RSA one, not one aesec installs itself.
    assert_eq!(
        manifest.age_ssh_key_paths,
        [PathBuf::from("/etc/ssh/ssh_host_ed25519_key")]
    );
    assert!(manifest.logging.key_import && manifest.logging.secret_changes);
    let template = &manifest.templates[0];
    assert_eq!(template.path, Path::new("/run/secrets/rendered/app.conf"));
    assert_eq!(
        template.content,
        format!(
            "value = {}\n",
            manifest.placeholder_by_secret_name["test_key"]
        )
    );
    let users = read_manifest(&users_path);
    assert_eq!(users.secrets.len(), 1);
    assert_eq!(
        users.secrets[0].path,
        Path::new("/run/secrets-for-users/password")
    );
    assert_eq!(
        users.secrets_mount_point,
        Path::new("/run/secrets-for-users.d")
    );
    assert_eq!(users.symlink_path, Path::new("/run/secrets-for-users"));
    assert!(users.templates.is_empty());
    assert_eq!(
        string(&out["sopsFileHash"]).len(),
        64,
        "sha256 of the sops file"
    );

    // The build-time checks, run as the derivations would run them.
    for (check, manifest) in [("check", &path), ("checkForUsers", &users_path)] {
        nix.home
            .cmd("/bin/sh")
            .args(["-euc", string(&out[check])])
            .env("out", manifest)
            .run();
    }

    let exe = package.join("bin/aesec");
    let scripts = &out["scripts"];
    let setup = &scripts["setupSecrets"];
    assert_eq!(
        setup["deps"],
        serde_json::json!(["specialfs", "users", "groups"])
    );
    assert_eq!(setup["supportsDryActivation"], Value::Bool(true));
    assert!(
        string(&setup["text"]).contains(&format!(
            "{} install --manifest {}",
            exe.display(),
            path.display()
        )),
        "{setup}"
    );
    let for_users = &scripts["setupSecretsForUsers"];
    assert_eq!(for_users["deps"], serde_json::json!(["specialfs"]));
    assert!(
        string(&for_users["text"]).contains(&format!(
            "{} install --ignore-passwd --manifest {}",
            exe.display(),
            users_path.display()
        )),
        "{for_users}"
    );
    assert_eq!(
        scripts["users"]["deps"],
        serde_json::json!(["setupSecretsForUsers"])
    );
    assert!(scripts.get("aesec-generate-age-key").is_none(), "{scripts}");

    // The manifests install, moved under a temporary root. The main one first as a dry
    // activation with its owners (not looked up: nothing changes), then for real with root as
    // the owner (no user `nginx` here); the users phase as it is.
    let root = nix.home.join("root");
    let lists = root.join("run/nixos");
    std::fs::create_dir_all(&lists).expect("nixos dir");
    let install = |manifest: &Path, flags: &[&str]| {
        let mut cmd = nix.home.aesec();
        cmd.args(["install", "--mount", "never", "--nixos-dir"])
            .arg(&lists)
            .args(flags)
            .arg("--manifest")
            .arg(manifest);
        cmd.stdout()
    };
    let with_owners = relocate(&path, &root, &nix.home.join("owners.json"), false);
    let dry = install(&with_owners, &["--dry-activate"]);
    let keys = vectors().join("age-keys.txt");
    assert!(
        dry.contains(&format!("imported age key from '{}'", keys.display()))
            && dry.contains("dry activation: nothing changed"),
        "{dry}"
    );
    assert!(!root.join("run/secrets").exists());
    install(
        &relocate(&path, &root, &nix.home.join("main.json"), true),
        &[],
    );
    assert_eq!(read(root.join("run/secrets/test_key")), "test_value");
    assert_eq!(read(root.join("etc/app/nested")), "another value");
    assert_eq!(
        read(root.join("run/secrets/rendered/app.conf")),
        "value = test_value\n"
    );
    install(
        &relocate(&users_path, &root, &nix.home.join("users.json"), false),
        &["--ignore-passwd"],
    );
    assert_eq!(
        read(root.join("run/secrets-for-users/password")),
        "test_value"
    );
    assert_eq!(nix.files_with_plaintext(), Vec::<PathBuf>::new());
}

#[test]
fn module_generates_the_age_key_once() {
    let nix = require_peer!(Nix::new());
    let package = package_dir(&nix.home);
    let key_file = nix.home.join("var/lib/aesec/key.txt");
    let out: Value = serde_json::from_str(
        &module_case(
            &nix,
            &package,
            "generateKey",
            &["--argstr", "keyFile", utf8(&key_file)],
        )
        .stdout(),
    )
    .expect("module case JSON");
    assert_eq!(out["failed"], Value::Array(Vec::new()));
    let scripts = &out["scripts"];
    let generate = &scripts["aesec-generate-age-key"];
    for setup in ["setupSecrets", "setupSecretsForUsers"] {
        let deps = scripts[setup]["deps"].as_array().expect("deps");
        assert!(
            deps.contains(&Value::from("aesec-generate-age-key")),
            "{setup}"
        );
    }
    let run = || {
        nix.home
            .cmd("/bin/sh")
            .args(["-euc", string(&generate["text"])])
            .run()
    };
    run();
    let key = read(&key_file);
    assert!(
        key.lines().any(|line| line.starts_with("AGE-SECRET-KEY-1")),
        "{key}"
    );
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&key_file)
            .expect("key metadata")
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    run();
    assert_eq!(read(&key_file), key, "an existing key is kept");
}

#[test]
fn module_refuses_unsafe_configurations() {
    let nix = require_peer!(Nix::new());
    let package = package_dir(&nix.home);
    let failure = module_case(&nix, &package, "keyFileInStore", &[]).run_failure();
    let stderr = String::from_utf8_lossy(&failure.stderr);
    assert!(
        stderr.contains("option aesec.age.keyFile: the value is not of type"),
        "{stderr}"
    );
    for (case, message) in [
        (
            "usersNotRoot",
            "aesec: neededForUsers secrets must be owned by root",
        ),
        ("sysusers", "aesec: systemd-sysusers and userborn need"),
    ] {
        let out: Value = serde_json::from_str(&module_case(&nix, &package, case, &[]).stdout())
            .expect("module case JSON");
        let failed: Vec<&str> = out["failed"]
            .as_array()
            .unwrap()
            .iter()
            .map(string)
            .collect();
        assert!(
            failed.len() == 1 && failed[0].starts_with(message),
            "{case}: {failed:?}"
        );
    }
}

#[test]
fn flake_outputs_build_the_workspace_and_export_the_module() {
    let nix = require_peer!(Nix::new());
    let out = nix.eval("tests/nix/flake-case.nix", &[]);
    let root = workspace_root();
    let package_file = root.join("nix/package.nix");
    assert_eq!(out["inputs"], serde_json::json!(["nixpkgs"]));
    assert_eq!(
        out["systems"],
        serde_json::json!([
            "aarch64-darwin",
            "aarch64-linux",
            "x86_64-darwin",
            "x86_64-linux"
        ])
    );
    for output in ["default", "aesec", "overlay"] {
        assert_eq!(
            Path::new(string(&out[output]["file"])),
            package_file,
            "{output}"
        );
    }
    assert_eq!(out["default"]["system"], "x86_64-linux");
    assert_eq!(out["aesec"]["system"], "aarch64-darwin");
    assert_eq!(
        Path::new(string(&out["module"])),
        root.join("nix/module.nix")
    );
    let package = &out["package"];
    assert_eq!(package["pname"], "aesec");
    assert_eq!(package["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(package["mainProgram"], "aesec");
    assert_eq!(
        Path::new(string(&package["lockFile"])),
        root.join("Cargo.lock")
    );
    assert_eq!(
        package["cargoBuildFlags"],
        serde_json::json!(["--package", "aesec-cli"])
    );
    // The source holds every workspace member, so Cargo.lock resolves offline.
    let files: Vec<PathBuf> = package["src"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|file| PathBuf::from(string(file)))
        .collect();
    let members = out["members"].as_array().unwrap();
    assert!(!members.is_empty());
    for member in members.iter().map(string) {
        assert!(
            files.iter().any(|file| root.join(member).starts_with(file)),
            "{member} not in {files:?}"
        );
    }
}
