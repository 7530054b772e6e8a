//! `aesec install` on files the real sops encrypted: every sops-nix format (nested YAML keys,
//! JSON, whole-file YAML, dotenv and binary written as `sops decrypt` prints them), a second
//! install that lists only the changed secret's units, `NIXOS_ACTION=dry-activate`, and a
//! failure that names the secret and leaves the live generation.

use std::path::{Path, PathBuf};

use aesec_tests::SopsFixture;

/// Encrypts `name` (already written in the fixture's home) with the real sops.
fn sops_encrypt(fixture: &SopsFixture, name: &str, extra: &[&str]) -> PathBuf {
    let plain = fixture.home.join(name);
    let out = fixture
        .sops()
        .arg("encrypt")
        .args(["--age", &fixture.key.recipient])
        .args(extra)
        .arg(&plain)
        .stdout();
    fixture.home.write(format!("enc-{name}"), out)
}

fn manifest(fixture: &SopsFixture, files: &[(&str, &Path, &str, &str)], extra: &str) -> PathBuf {
    let root = fixture.home.join("root");
    let secrets: Vec<String> = files
        .iter()
        .map(|(name, file, format, key)| {
            format!(
                r#"{{"name":"{name}","key":"{key}","path":"{root}/run/secrets/{name}","owner":null,
                "uid":0,"group":null,"gid":0,"sopsFile":"{file}","format":"{format}","mode":"0400",
                "restartUnits":["{name}.service"],"reloadUnits":[],"neededForUsers":false}}"#,
                root = root.display(),
                file = file.display()
            )
        })
        .collect();
    let json = format!(
        r#"{{"secrets":[{secrets}{extra}],"templates":[],"placeholderBySecretName":{{}},
        "secretsMountPoint":"{root}/run/secrets.d","symlinkPath":"{root}/run/secrets",
        "keepGenerations":1,"sshKeyPaths":[],"gnupgHome":null,"ageKeyFile":"{key}",
        "ageSshKeyPaths":[],"useTmpfs":false,"userMode":false,
        "logging":{{"keyImport":true,"secretChanges":true}}}}"#,
        secrets = secrets.join(","),
        root = root.display(),
        key = fixture.key.identity_file.display(),
    );
    std::fs::create_dir_all(root.join("run/nixos")).expect("nixos dir");
    fixture.home.write("manifest.json", json)
}

fn install(fixture: &SopsFixture, manifest: &Path) -> aesec_tests::Cmd {
    let mut cmd = fixture.aesec();
    cmd.args(["install", "--mount", "never", "--manifest"])
        .arg(manifest)
        .arg("--nixos-dir")
        .arg(fixture.home.join("root/run/nixos"));
    cmd
}

#[test]
fn install_reads_every_format_sops_writes() {
    let Some(fixture) = SopsFixture::new() else {
        return;
    };
    let home = &fixture.home;
    home.write("a.yaml", "db:\n    password: yaml-pw-1\nplain: x\n");
    home.write("b.json", "{\"api\": {\"token\": \"json-token\"}}\n");
    home.write("c.env", "USER=svc\nPASS=env-pw\n");
    home.write("d.bin", "\u{0}binary\u{1}secret\n");
    let yaml = sops_encrypt(&fixture, "a.yaml", &[]);
    let json = sops_encrypt(
        &fixture,
        "b.json",
        &["--input-type", "json", "--output-type", "json"],
    );
    let env = sops_encrypt(
        &fixture,
        "c.env",
        &["--input-type", "dotenv", "--output-type", "dotenv"],
    );
    let bin = sops_encrypt(
        &fixture,
        "d.bin",
        &["--input-type", "binary", "--output-type", "binary"],
    );
    let files = [
        ("db", yaml.as_path(), "", "db/password"),
        ("whole", yaml.as_path(), "yaml", ""),
        ("api", json.as_path(), "json", "api/token"),
        ("env", env.as_path(), "dotenv", ""),
        ("bin", bin.as_path(), "binary", ""),
    ];
    let manifest_path = manifest(&fixture, &files, "");
    install(&fixture, &manifest_path).run();

    let live = home.join("root/run/secrets");
    let read = |name: &str| std::fs::read(live.join(name)).expect("installed secret");
    assert_eq!(read("db"), b"yaml-pw-1");
    assert_eq!(read("api"), b"json-token");
    for (name, file, types) in [
        ("whole", &yaml, ["yaml", "yaml"]),
        ("env", &env, ["dotenv", "dotenv"]),
        ("bin", &bin, ["binary", "binary"]),
    ] {
        let decrypted = fixture
            .sops()
            .arg("decrypt")
            .args(["--input-type", types[0], "--output-type", types[1]])
            .arg(file)
            .output();
        assert!(decrypted.status.success());
        assert_eq!(
            read(name),
            decrypted.stdout,
            "{name} as sops decrypt prints it"
        );
    }

    // Change only db/password with the real sops: only db.service (and `whole`, the same
    // file's full text) are listed.
    fixture
        .sops()
        .args(["set"])
        .arg(&yaml)
        .args(["[\"db\"][\"password\"]", "\"yaml-pw-2\""])
        .run();
    let dry = install(&fixture, &manifest_path)
        .env("NIXOS_ACTION", "dry-activate")
        .stdout();
    assert!(dry.contains("would modify secret(s): db, whole"), "{dry}");
    assert_eq!(read("db"), b"yaml-pw-1", "a dry activation changes nothing");
    let out = install(&fixture, &manifest_path).stdout();
    assert!(out.contains("modifying secret(s): db, whole"), "{out}");
    assert_eq!(read("db"), b"yaml-pw-2");
    let restart = std::fs::read_to_string(home.join("root/run/nixos/activation-restart-list"))
        .expect("restart list");
    assert_eq!(restart, "db.service\nwhole.service\n");

    // A secret whose key is missing: exit non-zero, the secret named, generation 2 stays live.
    let missing = format!(
        r#",{{"name":"gone","key":"no/such","sopsFile":"{}","mode":"0400"}}"#,
        yaml.display()
    );
    let bad = manifest(&fixture, &files, &missing);
    let output = install(&fixture, &bad).output();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("secret 'gone'") && stderr.contains("no/such"),
        "{stderr}"
    );
    let target = std::fs::read_link(&live).expect("live symlink");
    assert!(target.ends_with("2"), "{}", target.display());
    assert_eq!(read("db"), b"yaml-pw-2");
}

/// As an ordinary user, a system install is refused up front with a clear message (and a
/// home-manager manifest, `userMode`, still installs).
#[test]
fn install_as_a_user_is_refused_unless_user_mode() {
    let Some(fixture) = SopsFixture::new() else {
        return;
    };
    if !is_root() {
        return refused_as(&fixture, None);
    }
    refused_as(
        &fixture,
        Some([
            "setpriv",
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
        ]),
    );
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .expect("status")
        .lines()
        .any(|line| line.starts_with("Uid:") && line.split_whitespace().nth(2) == Some("0"))
}

fn refused_as(fixture: &SopsFixture, drop_to: Option<[&str; 4]>) {
    use std::os::unix::fs::PermissionsExt;
    let home = &fixture.home;
    home.write("u.yaml", "token: user-secret\n");
    let file = sops_encrypt(fixture, "u.yaml", &[]);
    let manifest_path = manifest(fixture, &[("token", file.as_path(), "yaml", "token")], "");
    for path in [home.path(), &home.join("root"), &home.join("root/run")] {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    }
    std::fs::set_permissions(
        &fixture.key.identity_file,
        std::fs::Permissions::from_mode(0o644),
    )
    .expect("chmod key");
    let run = |manifest: &Path| {
        let aesec = aesec_tests::aesec_bin();
        let mut cmd = match drop_to {
            Some(prefix) => {
                let mut cmd = home.cmd(prefix[0]);
                cmd.args(&prefix[1..]).arg(&aesec);
                cmd
            }
            None => home.cmd(&aesec),
        };
        cmd.args(["install", "--mount", "if-permitted", "--manifest"])
            .arg(manifest)
            .env("XDG_RUNTIME_DIR", home.join("root/run"));
        cmd.output()
    };
    let output = run(&manifest_path);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("needs root"), "{stderr}");
    assert!(
        !home.join("root/run/secrets.d").exists(),
        "nothing was written"
    );

    let user_mode = std::fs::read_to_string(&manifest_path)
        .expect("manifest")
        .replace("\"userMode\":false", "\"userMode\":true");
    let user_manifest = home.write("user-manifest.json", user_mode);
    let output = run(&user_manifest);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let value = std::fs::read_to_string(home.join("root/run/secrets/token")).expect("token");
    assert_eq!(value, "user-secret");
}
