//! `aesec bao push`, `pull` and `manifests` end to end: a sops file made by the real `sops`
//! published to a real `bao server -dev` on 127.0.0.1, pulled back into a sops file that the
//! real `sops` decrypts, and the External Secrets manifests printed; and sops' own `publish`
//! against the same OpenBao.

use std::path::PathBuf;

use aesec_tests::{BaoDev, Cmd, SopsFixture, require_peer};

const PATH: &str = "homelab/monitoring/grafana-admin";

struct Setup {
    bao: BaoDev,
    fixture: SopsFixture,
    repo: PathBuf,
}

impl Setup {
    fn new() -> Option<Self> {
        let bao = BaoDev::start()?;
        let fixture = SopsFixture::new()?;
        bao.cmd()
            .args(["secrets", "enable", "-path=kv-k8s", "kv-v2"])
            .run();
        let home = &fixture.home;
        home.write(
            "repo/.sops.yaml",
            format!("creation_rules:\n  - age: {}\n", fixture.key.recipient),
        );
        home.write(
            "repo/k8s/monitoring.yaml",
            "grafana:\n  admin-user: admin\n  admin-password: first\n",
        );
        home.write(
            "repo/.aesec.yaml",
            format!(
                "bao:\n  kv_mount: kv-k8s\n  publish:\n    - file: k8s/monitoring.yaml\n      keys: '[\"grafana\"]'\n      path: {PATH}\n"
            ),
        );
        let repo = home.join("repo");
        let setup = Self { bao, fixture, repo };
        setup
            .sops()
            .args(["encrypt", "-i", "k8s/monitoring.yaml"])
            .run();
        Some(setup)
    }

    /// The real sops in the repository, finding its `.sops.yaml`.
    fn sops(&self) -> Cmd {
        let mut cmd = self.fixture.home.cmd(&self.fixture.sops);
        cmd.env("SOPS_AGE_KEY_FILE", &self.fixture.key.identity_file)
            .env("SOPS_DISABLE_VERSION_CHECK", "1")
            .current_dir(&self.repo);
        cmd
    }

    /// `aesec bao ARGS` in the repository, with the key and the server's address and token.
    fn aesec(&self, args: &[&str]) -> Cmd {
        let mut cmd = self.fixture.home.aesec();
        cmd.env("SOPS_AGE_KEY_FILE", &self.fixture.key.identity_file)
            .current_dir(&self.repo)
            .args(args);
        for (key, value) in self.bao.env_vars() {
            cmd.env(key, value);
        }
        cmd
    }

    fn current_version(&self, path: &str) -> u64 {
        let json = self
            .bao
            .cmd()
            .args([
                "kv",
                "metadata",
                "get",
                "-mount=kv-k8s",
                "-format=json",
                path,
            ])
            .stdout();
        let metadata: serde_json::Value =
            serde_json::from_str(&json).unwrap_or_else(|error| panic!("{error}: {json}"));
        metadata["data"]["current_version"]
            .as_u64()
            .unwrap_or_else(|| panic!("no current_version in {json}"))
    }
}

#[test]
fn push_plan_confirm_unchanged_foreign_adopt_pull_and_manifests() {
    let setup = require_peer!(Setup::new());

    // A dry run shows the plan and writes nothing.
    let plan = setup.aesec(&["bao", "push", "--dry-run"]).stdout();
    assert!(
        plan.contains("+ create") && plan.contains(&format!("kv-k8s/{PATH}")),
        "{plan}"
    );
    setup
        .bao
        .cmd()
        .args(["kv", "get", "-mount=kv-k8s", PATH])
        .run_failure();

    // Declining writes nothing; confirming writes once.
    let declined = setup.aesec(&["bao", "push"]).stdin("n\n").stdout();
    assert!(declined.ends_with("nothing written\n"), "{declined}");
    let pushed = setup.aesec(&["bao", "push"]).stdin("y\n").stdout();
    assert!(
        pushed.ends_with("1 written, 0 pruned, 0 unchanged\n"),
        "{pushed}"
    );
    assert_eq!(setup.current_version(PATH), 1);

    // Unchanged: no new version, and the JSON says so.
    let again = setup.aesec(&["bao", "push", "-y"]).stdout();
    assert!(
        again.contains("= unchanged") && again.ends_with("nothing to push\n"),
        "{again}"
    );
    let json = setup.aesec(&["--json", "bao", "push", "-y"]).stdout();
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["plan"]["changes"][0]["action"], "unchanged", "{json}");
    assert_eq!(setup.current_version(PATH), 1);

    // A path another tool wrote is refused (exit 1) until adopted.
    setup
        .bao
        .cmd()
        .args(["kv", "put", "-mount=kv-k8s", "homelab/apps/db", "k=v"])
        .run();
    setup.fixture.home.write(
        "repo/.aesec.yaml",
        format!(
            "bao:\n  kv_mount: kv-k8s\n  publish:\n    - {{file: k8s/monitoring.yaml, keys: '[\"grafana\"]', path: {PATH}}}\n    - {{file: k8s/monitoring.yaml, keys: '[\"grafana\"]', path: homelab/apps/db}}\n"
        ),
    );
    let refused = setup.aesec(&["bao", "push", "-y"]).run_code(1);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("'kv-k8s/homelab/apps/db' is not managed by aesec")
            && stderr.contains("--adopt"),
        "{stderr}"
    );
    assert_eq!(setup.current_version("homelab/apps/db"), 1);
    setup.aesec(&["bao", "push", "-y", "--adopt"]).run();
    assert_eq!(setup.current_version("homelab/apps/db"), 2);

    // Pulled into a new sops file under the creation rule, which the real sops decrypts.
    setup
        .aesec(&["bao", "pull", PATH, "--to", "k8s/pulled.yaml"])
        .run();
    let decrypted = setup.sops().args(["decrypt", "k8s/pulled.yaml"]).stdout();
    assert_eq!(decrypted, "admin-password: first\nadmin-user: admin\n");

    let manifests = setup.aesec(&["bao", "manifests"]).stdout();
    assert_eq!(
        manifests.matches("\nkind: ExternalSecret\n").count(),
        2,
        "{manifests}"
    );
    assert!(
        manifests.contains(&format!("server: \"{}\"", setup.bao.addr())),
        "{manifests}"
    );
}

/// sops' own `publish` with `.sops.yaml` `destination_rules` works against OpenBao as against
/// Vault (KV v2 and v1, `VAULT_ADDR`/`VAULT_TOKEN`), so existing sops pipelines keep working.
#[test]
fn sops_publish_with_destination_rules_writes_to_openbao() {
    let setup = require_peer!(Setup::new());
    setup
        .bao
        .cmd()
        .args(["secrets", "enable", "-path=kv1", "-version=1", "kv"])
        .run();
    let home = &setup.fixture.home;
    home.write(
        "repo/.sops.yaml",
        format!(
            "creation_rules:\n  - age: {}\ndestination_rules:\n  - path_regex: v1/\n    vault_path: legacy/\n    vault_kv_mount_name: kv1/\n    vault_kv_version: 1\n  - vault_path: sops/\n    vault_kv_mount_name: kv-k8s/\n    vault_kv_version: 2\n",
            setup.fixture.key.recipient
        ),
    );
    home.write("repo/v1/app.yaml", "token: abc\n");
    setup.sops().args(["encrypt", "-i", "v1/app.yaml"]).run();
    let publish = |file: &str| {
        let mut sops = setup.sops();
        for (key, value) in setup.bao.env_vars() {
            sops.env(key, value);
        }
        sops.args(["publish", "-y", file]).run();
    };
    let get = |args: &[&str]| -> serde_json::Value {
        let json = setup
            .bao
            .cmd()
            .args(["kv", "get", "-format=json"])
            .args(args)
            .stdout();
        serde_json::from_str(&json).unwrap_or_else(|error| panic!("{error}: {json}"))
    };

    publish("k8s/monitoring.yaml");
    let v2 = get(&["-mount=kv-k8s", "sops/monitoring.yaml"]);
    assert_eq!(
        v2["data"]["data"]["grafana"]["admin-password"], "first",
        "{v2}"
    );
    // sops compares before writing: an unchanged file makes no new version.
    publish("k8s/monitoring.yaml");
    assert_eq!(setup.current_version("sops/monitoring.yaml"), 1);

    publish("v1/app.yaml");
    let v1 = get(&["-mount=kv1", "legacy/app.yaml"]);
    assert_eq!(v1["data"]["token"], "abc", "{v1}");
}
