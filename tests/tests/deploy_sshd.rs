//! `aesec deploy` end to end: the real `nix` (Debian `nix-bin`) builds a flake with no inputs,
//! copies the closure over a real `sshd` on 127.0.0.1 into a store of a temporary directory
//! (`--target-store`, so the copy is a real, checkable one), sets a profile of a temporary
//! directory (`--profile`; the machine's system profile is never touched) and runs the
//! "toplevel"'s `bin/switch-to-configuration`, which runs the real `aesec install` from an
//! aesec manifest and appends its generation to a marker file.
//!
//! The toplevel is a `builtins.derivation`; its manifest names the host's sops file (encrypted
//! by `aesec encrypt` under the flake's `.sops.yaml`), so the deploy's check, the copy and the
//! activation see what a NixOS configuration with the aesec module gives them. Every host
//! resolves to 127.0.0.1 through the ssh options (`HostName`, `HostKeyAlias`), checked against
//! a temporary known_hosts.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aesec_tests::{
    AgeKey, Cmd, Sshd, TempHome, aesec_bin, age_keygen, nix, require_peer, ssh_keygen,
};
use serde_json::Value;

/// The secret's value in generations 1, 2 and 3 of host `web`.
const VALUES: [&str; 3] = [
    "first-db-password-5e1f",
    "second-db-password-9a2c",
    "third-db-password-07be",
];

/// How long the target waits for the confirmation (seconds).
const CONFIRM_TIMEOUT_SECONDS: u64 = 3;

/// The flake, with `@NAME@` placeholders the fixture fills in. A host's toplevel runs
/// `aesec install` from its manifest and appends its generation to `<run>/marker`; then, in
/// mode `cut`, it kills the ssh connections (every child of the listening sshd), in mode `fail`
/// it exits 3.
const FLAKE: &str = r#"{
  outputs = { self }:
    let
      host = name: generation: mode:
        let
          run = "@RUN@/${name}";
          manifest = builtins.toFile "aesec-manifest.json" (builtins.toJSON {
            secrets = [{
              name = "db_password";
              key = "db_password";
              path = "${run}/secrets/db_password";
              sopsFile = ./secrets + "/${name}-${toString generation}.yaml";
              format = "yaml";
              mode = "0400";
            }];
            secretsMountPoint = "${run}/secrets.d";
            symlinkPath = "${run}/secrets";
            keepGenerations = 1;
            ageKeyFile = "${run}/host.key";
            logging = { keyImport = false; secretChanges = false; };
          });
          switch = builtins.toFile "switch-to-configuration" ''
            #!/bin/sh
            set -e
            @AESEC@ install --manifest ${manifest} --mount never --nixos-dir ${run}/nixos
            echo ${toString generation} >> ${run}/marker
            echo "''${SUDO_USER:-direct}" >> ${run}/switched-by
            ${if mode == "cut" then "pkill -KILL -P @SSHD_PID@" else ""}
            ${if mode == "fail" then "exit 3" else ""}
          '';
        in
        builtins.derivation {
          name = "toplevel-${name}-${toString generation}";
          system = "@SYSTEM@";
          builder = "/bin/sh";
          args = [ "-c" "/usr/bin/mkdir -p $out/bin && /usr/bin/cp ${switch} $out/bin/switch-to-configuration && /usr/bin/chmod 755 $out/bin/switch-to-configuration" ];
        };
    in
    {
      nixosConfigurations.web.config.system.build.toplevel = host "web" @WEB_GENERATION@ "@WEB_MODE@";
      nixosConfigurations.mouse.config.system.build.toplevel = host "mouse" 1 "ok";
      nixosConfigurations.ghost.config.system.build.toplevel = host "ghost" 1 "ok";
    };
}
"#;

/// A fleet of three hosts, `web` (in its files' recipients), `mouse` (a member of `.sops.yaml`
/// whose file was never re-encrypted for it) and `ghost` (no member at all), a target store and
/// profile.
struct Fleet {
    sshd: Sshd,
    home: TempHome,
    ssh_options: String,
}

impl Fleet {
    fn new() -> Option<Self> {
        // The deployer's nix; the target side (nix-env, nix-store --serve) is found on the
        // ssh session's PATH, the same installation here.
        nix()?;
        let keygen = ssh_keygen()?;
        let age_keygen = age_keygen()?;
        let sshd = Sshd::start()?;
        let home = TempHome::new();

        let client_key = home.join("client_key");
        home.cmd(&keygen)
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "deployer", "-f"])
            .arg(&client_key)
            .run();
        sshd.authorize(&home.read("client_key.pub"));
        let alias = "aesec-deploy-test";
        home.write(
            "known_hosts",
            format!(
                "{alias} {key}\n[{alias}]:{port} {key}\n",
                key = sshd.host_public_key(),
                port = sshd.port()
            ),
        );
        let ssh_options = format!(
            "-p {port} -i {key} -o IdentitiesOnly=yes -o BatchMode=yes -o User=root \
             -o HostName=127.0.0.1 -o HostKeyAlias={alias} -o StrictHostKeyChecking=yes \
             -o UserKnownHostsFile={known_hosts}",
            port = sshd.port(),
            key = client_key.display(),
            known_hosts = home.join("known_hosts").display(),
        );

        let admin = AgeKey::generate(&age_keygen, &home, "admin");
        let web = AgeKey::generate(&age_keygen, &home, "web");
        let mouse = AgeKey::generate(&age_keygen, &home, "mouse");
        let ghost = AgeKey::generate(&age_keygen, &home, "ghost");
        home.write(
            "fleet/.sops.yaml",
            format!(
                "keys:\n  - &admin_alice {}\n  - &web {}\n  - &mouse {}\n\
                 creation_rules:\n  - path_regex: ^secrets/web-\n    age: [*admin_alice, *web]\n  \
                 - path_regex: ^secrets/(mouse|ghost)-\n    age: [*admin_alice]\n",
                admin.recipient, web.recipient, mouse.recipient
            ),
        );
        let fleet = Self {
            sshd,
            home,
            ssh_options,
        };
        for (file, value) in [
            ("web-1.yaml", VALUES[0]),
            ("web-2.yaml", VALUES[1]),
            ("web-3.yaml", VALUES[2]),
            ("mouse-1.yaml", "mouse-value-0b7d"),
            ("ghost-1.yaml", "ghost-value-52aa"),
        ] {
            let path = format!("fleet/secrets/{file}");
            fleet.home.write(&path, format!("db_password: {value}\n"));
            fleet
                .home
                .aesec()
                .current_dir(fleet.home.join("fleet"))
                .args(["encrypt", "-i", &format!("secrets/{file}")])
                .run();
        }
        for (host, key) in [("web", &web), ("mouse", &mouse), ("ghost", &ghost)] {
            let run = fleet.run_dir(host);
            std::fs::create_dir_all(&run).expect("the run directory");
            std::fs::copy(&key.identity_file, run.join("host.key")).expect("the host key");
        }
        std::fs::create_dir_all(fleet.home.join("profiles")).expect("the profile directory");
        fleet.write_flake(1, "ok");
        Some(fleet)
    }

    /// Where a host's secrets, marker and key live on the "target".
    fn run_dir(&self, host: &str) -> PathBuf {
        self.home.join("run").join(host)
    }

    fn target_store(&self) -> PathBuf {
        self.home.join("target")
    }

    fn profile(&self) -> PathBuf {
        self.home.join("profiles/system")
    }

    fn write_flake(&self, web_generation: u32, web_mode: &str) {
        let text = FLAKE
            .replace("@RUN@", &self.home.join("run").display().to_string())
            .replace("@AESEC@", &aesec_bin().display().to_string())
            .replace("@SSHD_PID@", &self.sshd.pid().to_string())
            .replace("@SYSTEM@", &format!("{}-linux", std::env::consts::ARCH))
            .replace("@WEB_GENERATION@", &web_generation.to_string())
            .replace("@WEB_MODE@", web_mode);
        self.home.write("fleet/flake.nix", text);
    }

    /// `aesec deploy HOSTS… --json` with the test's store, profile, ssh and nix settings.
    fn deploy(&self, hosts: &[&str]) -> Cmd {
        let mut cmd = self.home.aesec();
        cmd.current_dir(self.home.join("fleet"))
            .arg("deploy")
            .args(hosts)
            .arg(format!(
                "--flake=path:{}",
                self.home.join("fleet").display()
            ))
            .arg(format!("--ssh-opts={}", self.ssh_options))
            .arg(format!("--target-store={}", self.target_store().display()))
            .arg(format!("--profile={}", self.profile().display()))
            .arg(format!("--temp-dir={}", self.home.join("tmp").display()))
            .arg(format!("--confirm-timeout={CONFIRM_TIMEOUT_SECONDS}"))
            .args(["--option", "substituters", ""])
            .args(["--option", "build-users-group", ""])
            .args(["--option", "sandbox", "false"])
            .timeout(Duration::from_secs(120));
        std::fs::create_dir_all(self.home.join("tmp")).expect("the temp directory");
        cmd
    }

    fn marker(&self, host: &str) -> String {
        std::fs::read_to_string(self.run_dir(host).join("marker")).unwrap_or_default()
    }

    /// The store path the profile names now.
    fn profile_target(&self) -> PathBuf {
        std::fs::canonicalize(self.profile()).expect("the profile resolves")
    }

    fn secret(&self, host: &str) -> String {
        std::fs::read_to_string(self.run_dir(host).join("secrets/db_password"))
            .expect("the installed secret")
    }

    /// Every file under the target store, and its counterpart in /nix/store, holding one of
    /// `values`.
    fn store_files_with(&self, values: &[&str]) -> Vec<PathBuf> {
        let store = self.target_store().join("nix/store");
        let roots = std::fs::read_dir(&store)
            .expect("the target store")
            .map(|entry| entry.expect("a store entry").path())
            .flat_map(|path| {
                let local = Path::new("/nix/store").join(path.file_name().expect("a name"));
                [path, local]
            });
        aesec_tests::files_containing(roots, values)
    }
}

fn json(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|err| {
        panic!(
            "not JSON ({err}): {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn host_report<'a>(report: &'a Value, host: &str) -> &'a Value {
    report["hosts"]
        .as_array()
        .expect("hosts")
        .iter()
        .find(|entry| entry["host"] == host)
        .unwrap_or_else(|| panic!("no report for {host}: {report}"))
}

fn store_name(path: &str) -> &str {
    path.rsplit('/').next().expect("a store path")
}

/// Waits (polling, bounded) until `ready` holds.
fn wait_until(what: &str, limit: Duration, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !ready() {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn deploy_installs_secrets_at_activation_and_rolls_back_when_cut_off() {
    let fleet = require_peer!(Fleet::new());
    require_peer!(aesec_tests::Peer::Sudo.require());

    // Generation 1: built, checked, copied, profile set, switched, confirmed; every remote
    // command through sudo (the switch records who ran it: sudo sets SUDO_USER).
    let output = fleet.deploy(&["web"]).args(["--json", "--sudo"]).run();
    let report = json(&output);
    let web = host_report(&report, "web");
    assert_eq!(web["status"], "deployed", "{report}");
    assert_eq!(web["files_checked"], 1, "{report}");
    let first = web["toplevel"].as_str().expect("the toplevel").to_owned();
    let copied = fleet
        .target_store()
        .join("nix/store")
        .join(store_name(&first));
    assert!(
        copied.join("bin/switch-to-configuration").is_file(),
        "closure not copied"
    );
    let copied_names = entry_names(&fleet.target_store().join("nix/store"));
    assert!(
        copied_names
            .iter()
            .any(|name| name.ends_with("-aesec-manifest.json"))
            && copied_names
                .iter()
                .any(|name| name.ends_with("-web-1.yaml")),
        "the manifest and the sops file travel with the closure: {copied_names:?}"
    );
    assert_eq!(fleet.profile_target(), Path::new(&first));
    assert_eq!(fleet.marker("web"), "1\n");
    let switched_by = std::fs::read_to_string(fleet.run_dir("web").join("switched-by"))
        .expect("the switch records who ran it");
    assert_eq!(switched_by, "root\n", "the switch did not run through sudo");
    assert_eq!(fleet.secret("web"), VALUES[0]);
    assert_eq!(fleet.store_files_with(&VALUES), Vec::<PathBuf>::new());

    // Generation 2 cuts the connection during its switch: the deployer cannot confirm, and the
    // target rolls back to generation 1 (profile, activation, generation 1's secret).
    fleet.write_flake(2, "cut");
    let started = Instant::now();
    let output = fleet.deploy(&["web"]).arg("--json").run_code(1);
    let report = json(&output);
    let web = host_report(&report, "web");
    assert_eq!(web["status"], "unconfirmed", "{report}");
    assert!(
        web["error"]
            .as_str()
            .expect("an error")
            .contains("lost the connection"),
        "{report}"
    );
    let limit = Duration::from_secs(CONFIRM_TIMEOUT_SECONDS + 20);
    wait_until("the rollback", limit, || fleet.marker("web") == "1\n2\n1\n");
    assert!(started.elapsed() < limit);
    assert_eq!(fleet.profile_target(), Path::new(&first));
    assert_eq!(fleet.secret("web"), VALUES[0]);

    // Generation 3's switch installs its secret, then fails: the target rolls back at once, to
    // generation 1 (generation 2 was deleted by its rollback, so it is not the one below).
    fleet.write_flake(3, "fail");
    let output = fleet.deploy(&["web"]).arg("--json").run_code(1);
    let report = json(&output);
    let web = host_report(&report, "web");
    assert_eq!(web["status"], "rolled_back", "{report}");
    let error = web["error"].as_str().expect("an error");
    assert!(error.contains("exited with 3"), "{error}");
    assert_eq!(fleet.marker("web"), "1\n2\n1\n3\n1\n");
    assert_eq!(fleet.profile_target(), Path::new(&first));
    assert_eq!(fleet.secret("web"), VALUES[0]);
    assert_eq!(fleet.store_files_with(&VALUES), Vec::<PathBuf>::new());
}

#[test]
fn a_host_missing_from_its_sops_file_is_refused_before_anything_is_copied() {
    let fleet = require_peer!(Fleet::new());

    // Both hosts at once: web goes through, mouse (a member whose file was never re-encrypted
    // for it) is refused after its build, before its copy.
    let output = fleet
        .deploy(&["web", "mouse"])
        .args(["--jobs", "2", "--json"])
        .run_code(1);
    let report = json(&output);
    assert_eq!(
        host_report(&report, "web")["status"],
        "deployed",
        "{report}"
    );
    let mouse = host_report(&report, "mouse");
    assert_eq!(mouse["status"], "refused", "{report}");
    let error = mouse["error"].as_str().expect("an error");
    assert!(
        error.contains("'mouse' cannot decrypt 1 sops file"),
        "{error}"
    );
    assert!(error.contains("-mouse-1.yaml"), "{error}");
    let toplevel = mouse["toplevel"].as_str().expect("built before the check");
    let store = fleet.target_store().join("nix/store");
    assert!(
        !store.join(store_name(toplevel)).exists(),
        "mouse's closure was copied"
    );
    let names = entry_names(&store);
    assert!(
        !names.iter().any(|name| name.contains("mouse")),
        "{names:?}"
    );
    assert_eq!(fleet.marker("mouse"), "");
    assert!(!fleet.run_dir("mouse").join("secrets").exists());

    // The table: one row per host, then the errors. A host with no member in .sops.yaml is
    // refused too: there is nothing to check its files against.
    let table = fleet.deploy(&["mouse", "ghost"]).run_code(1);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.lines()
            .next()
            .is_some_and(|header| header.starts_with("HOST")),
        "{text}"
    );
    for host in ["mouse", "ghost"] {
        let row = text
            .lines()
            .find(|line| line.starts_with(&format!("{host} ")))
            .unwrap_or_else(|| panic!("no row for {host}: {text}"));
        assert!(row.contains(" refused "), "{text}");
    }
    assert!(
        text.contains(
            "ghost: 'ghost' has no recipient in .sops.yaml to check its 1 sops file(s) against"
        ),
        "{text}"
    );
    assert!(fleet.run_dir("ghost").join("marker").metadata().is_err());
}

/// The names in a directory (a store's entries).
fn entry_names(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .map(|entry| {
            entry
                .expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}
