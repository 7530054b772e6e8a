//! Publishing sops files to KV v2 (`publish::plan` and `publish::push`) against a real dev
//! server: an unchanged secret gets no new version, a changed value exactly one, a
//! check-and-set conflict is reported and not overwritten, a foreign path is refused unless
//! adopted, and pruning soft-deletes.

use aesec::age::secrecy::ExposeSecret;
use aesec::file::{ChangeOptions, EncryptOptions};
use aesec::keys::age::{GeneratedIdentity, Identities};
use aesec::sops::{AgeDecryptor, AgeMasterKey, Recipients};
use aesec::store::Format;
use aesec_bao_bridge::publish::{
    self, Action, FINGERPRINT_KEY, MANAGED_BY_KEY, Mapping, Outcome, Plan, PlanOptions, SOURCE_KEY,
    SOURCE_PATH_KEY,
};
use aesec_bao_bridge::serde_json::json;
use aesec_bao_bridge::{Client, Error};
use aesec_tests::{TempHome, require_peer};

use crate::server::Server;

pub(crate) const MOUNT: &str = "kv-k8s";
const GRAFANA: &str = "homelab/monitoring/grafana-admin";
const DATABASE: &str = "homelab/apps/db";

/// A sops tree on disk: one age key, `k8s/monitoring.yaml`, and `.aesec.yaml`.
pub(crate) struct Repo {
    pub(crate) dir: TempHome,
    pub(crate) key: GeneratedIdentity,
    identities: Identities,
}

impl Repo {
    pub(crate) fn new() -> Self {
        let key = GeneratedIdentity::generate();
        let mut identities = Identities::new();
        identities
            .add_identity_file_text(
                key.to_identity_file("2026-12-06T00:00:00Z").expose_secret(),
                "test.key",
            )
            .expect("a generated identity parses");
        let repo = Self {
            dir: TempHome::new(),
            key,
            identities,
        };
        repo.write_sops(
            "k8s/monitoring.yaml",
            "grafana:\n  admin-user: admin\n  admin-password: first\ndb:\n  password: pw\n  port: 5432\n",
        );
        repo
    }

    /// Encrypts `plaintext` (YAML) for the repo's key into `rel`.
    pub(crate) fn write_sops(&self, rel: &str, plaintext: &str) {
        let recipients =
            Recipients::single_group(vec![Box::new(AgeMasterKey::new(self.key.recipient()))]);
        let encrypted = aesec::file::encrypt(
            plaintext.as_bytes(),
            &recipients,
            &EncryptOptions::new(Format::Yaml, Format::Yaml),
        )
        .unwrap_or_else(|error| panic!("encrypting {rel}: {error}"));
        self.dir.write(rel, encrypted);
    }

    /// `sops set FILE PATH JSON` through the core library.
    pub(crate) fn set(&self, rel: &str, path: &str, json_value: &str) {
        let path = path.parse().expect("a valid tree path");
        let value = aesec::file::value_from_json(json_value.as_bytes()).expect("valid JSON");
        let changed = aesec::file::set(
            self.dir.read(rel).as_bytes(),
            &[&self.decryptor()],
            &path,
            value,
            &ChangeOptions::new(Format::Yaml),
        )
        .unwrap_or_else(|error| panic!("setting {rel}: {error}"))
        .expect("a new value gives a new file");
        self.dir.write(rel, changed);
    }

    pub(crate) fn decryptor(&self) -> AgeDecryptor<'_> {
        AgeDecryptor::new(&self.identities)
    }

    /// Writes `.aesec.yaml` with these `(keys, path)` entries of `k8s/monitoring.yaml`.
    pub(crate) fn mapping(&self, entries: &[(&str, &str)]) -> Mapping {
        let mut yaml = format!("bao:\n  kv_mount: {MOUNT}\n  publish:\n");
        for (keys, path) in entries {
            yaml.push_str(&format!(
                "    - file: k8s/monitoring.yaml\n      keys: '{keys}'\n      path: {path}\n"
            ));
        }
        let file = self.dir.write(".aesec.yaml", &yaml);
        Mapping::from_yaml(yaml.as_bytes(), &file).unwrap_or_else(|error| panic!("{yaml}: {error}"))
    }

    pub(crate) fn plan(&self, client: &Client, mapping: &Mapping, options: &PlanOptions) -> Plan {
        publish::plan(client, mapping, &[&self.decryptor()], options)
            .unwrap_or_else(|error| panic!("plan: {error:?}"))
    }
}

/// A dev server with the `kv-k8s` KV v2 mount.
pub(crate) fn server_with_mount() -> Option<Server> {
    let server = Server::start()?;
    server.setup(
        &format!("sys/mounts/{MOUNT}"),
        json!({"type": "kv", "options": {"version": "2"}}),
    );
    Some(server)
}

fn actions(plan: &Plan) -> Vec<(Action, &str)> {
    plan.changes
        .iter()
        .map(|change| (change.action, change.path.as_str()))
        .collect()
}

fn current_version(client: &Client, path: &str) -> u64 {
    client
        .kv2(MOUNT)
        .read_metadata(path)
        .unwrap_or_else(|error| panic!("metadata of {path}: {error}"))
        .expect("the path exists")
        .current_version
}

fn both(repo: &Repo) -> Mapping {
    repo.mapping(&[(r#"["grafana"]"#, GRAFANA), (r#"["db"]"#, DATABASE)])
}

#[test]
fn unchanged_push_makes_no_version_and_a_change_makes_one() {
    let server = require_peer!(server_with_mount());
    let client = server.root();
    let repo = Repo::new();
    let mapping = both(&repo);
    let no_options = PlanOptions::default();

    let plan = repo.plan(&client, &mapping, &no_options);
    assert_eq!(
        actions(&plan),
        [(Action::Create, GRAFANA), (Action::Create, DATABASE)]
    );
    let report = publish::push(&client, &plan, &mut |_| {}).unwrap();
    assert_eq!(report.written(), 2);

    // Flat strings (numbers stringified), and aesec's ownership in the custom metadata.
    let db = client.kv2(MOUNT).read(DATABASE).unwrap();
    assert_eq!(db.data.get_str("password"), Some("pw"));
    assert_eq!(db.data.get_str("port"), Some("5432"));
    assert_eq!(db.data.expose().len(), 2);
    let meta = &db.metadata.custom_metadata;
    assert_eq!(meta[MANAGED_BY_KEY], "aesec");
    assert_eq!(meta[SOURCE_KEY], "k8s/monitoring.yaml");
    assert_eq!(meta[SOURCE_PATH_KEY], r#"["db"]"#);
    assert!(meta[FINGERPRINT_KEY].starts_with("sha256:"), "{meta:?}");

    // Unchanged: one metadata read per path, no write, no new version.
    let before = client.stats().requests;
    let plan = repo.plan(&client, &mapping, &no_options);
    assert_eq!(client.stats().requests - before, 2);
    assert_eq!(
        actions(&plan),
        [(Action::Unchanged, GRAFANA), (Action::Unchanged, DATABASE)]
    );
    assert!(plan.is_empty());
    let before = client.stats().requests;
    let report = publish::push(&client, &plan, &mut |_| {}).unwrap();
    assert_eq!(
        client.stats().requests,
        before,
        "an unchanged push sends nothing"
    );
    assert_eq!(report.written(), 0);
    assert_eq!(current_version(&client, GRAFANA), 1);
    assert_eq!(current_version(&client, DATABASE), 1);

    // One value changes: exactly one new version, on that path only.
    repo.set(
        "k8s/monitoring.yaml",
        r#"["grafana"]["admin-password"]"#,
        r#""second""#,
    );
    let plan = repo.plan(&client, &mapping, &no_options);
    assert_eq!(
        actions(&plan),
        [(Action::Update, GRAFANA), (Action::Unchanged, DATABASE)]
    );
    assert!(format!("{plan}").contains("~ update"), "{plan}");
    // The plan holds the decrypted values, and neither shows them.
    for shown in [format!("{plan}"), format!("{plan:?}")] {
        assert!(
            !shown.contains("second") && !shown.contains("pw"),
            "{shown}"
        );
    }
    let report = publish::push(&client, &plan, &mut |_| {}).unwrap();
    assert_eq!(report.written(), 1);
    assert_eq!(current_version(&client, GRAFANA), 2);
    assert_eq!(current_version(&client, DATABASE), 1);
    let grafana = client.kv2(MOUNT).read(GRAFANA).unwrap();
    assert_eq!(grafana.data.get_str("admin-password"), Some("second"));
    assert_eq!(grafana.data.get_str("admin-user"), Some("admin"));

    // And a second push of the same content is a no-op again.
    let plan = repo.plan(&client, &mapping, &no_options);
    assert!(plan.is_empty(), "{plan}");
}

#[test]
fn a_concurrent_write_is_a_conflict_and_is_not_overwritten() {
    let server = require_peer!(server_with_mount());
    let client = server.root();
    let repo = Repo::new();
    let mapping = both(&repo);
    let plan = repo.plan(&client, &mapping, &PlanOptions::default());
    publish::push(&client, &plan, &mut |_| {}).unwrap();

    repo.set(
        "k8s/monitoring.yaml",
        r#"["grafana"]["admin-password"]"#,
        r#""mine""#,
    );
    let plan = repo.plan(&client, &mapping, &PlanOptions::default());
    assert_eq!(plan.changes[0].action, Action::Update);
    // Someone writes between the plan and the push.
    server.bao(&[
        "kv",
        "put",
        &format!("-mount={MOUNT}"),
        GRAFANA,
        "admin-password=theirs",
    ]);

    let report = publish::push(&client, &plan, &mut |_| {}).unwrap();
    assert_eq!(report.conflicts().collect::<Vec<_>>(), [(MOUNT, GRAFANA)]);
    assert!(matches!(report.results[0].outcome, Outcome::Conflict));
    assert_eq!(report.written(), 0);
    let grafana = client.kv2(MOUNT).read(GRAFANA).unwrap();
    assert_eq!(grafana.data.get_str("admin-password"), Some("theirs"));
    assert_eq!(grafana.metadata.version, 2);

    // A new plan sees the other writer's version (and a changed fingerprint): an update.
    let plan = repo.plan(&client, &mapping, &PlanOptions::default());
    assert_eq!(plan.changes[0].action, Action::Update);
    assert_eq!(plan.changes[0].current_version, 2);
}

/// What a leader that commits a write and dies before answering leaves behind: the planned
/// content already at the next version, unmarked. The push takes it as its own (marks it, no
/// conflict, no second version); the failover itself is in `raft.rs`.
#[test]
fn a_write_committed_without_an_answer_is_taken_as_the_push_own() {
    let server = require_peer!(server_with_mount());
    let client = server.root();
    let repo = Repo::new();
    let mapping = repo.mapping(&[(r#"["grafana"]"#, GRAFANA)]);
    let plan = repo.plan(&client, &mapping, &PlanOptions::default());
    assert_eq!(actions(&plan), [(Action::Create, GRAFANA)]);
    // The "lost" first attempt: exactly the planned values, at version 1.
    server.bao(&[
        "kv",
        "put",
        &format!("-mount={MOUNT}"),
        GRAFANA,
        "admin-user=admin",
        "admin-password=first",
    ]);

    let report = publish::push(&client, &plan, &mut |_| {}).unwrap();
    assert!(
        matches!(report.results[0].outcome, Outcome::Written { version: 1 }),
        "{report:?}"
    );
    assert_eq!(report.conflicts().count(), 0);
    let grafana = client.kv2(MOUNT).read(GRAFANA).unwrap();
    assert_eq!(grafana.metadata.version, 1);
    assert_eq!(grafana.metadata.custom_metadata[MANAGED_BY_KEY], "aesec");
    let again = repo.plan(&client, &mapping, &PlanOptions::default());
    assert_eq!(actions(&again), [(Action::Unchanged, GRAFANA)]);
}

#[test]
fn a_foreign_path_is_refused_unless_adopted() {
    let server = require_peer!(server_with_mount());
    let client = server.root();
    let repo = Repo::new();
    let mapping = repo.mapping(&[(r#"["grafana"]"#, GRAFANA)]);
    server.bao(&["kv", "put", &format!("-mount={MOUNT}"), GRAFANA, "k=v"]);
    server.bao(&[
        "kv",
        "metadata",
        "patch",
        &format!("-mount={MOUNT}"),
        "-custom-metadata=managed-by=external-secrets",
        "-custom-metadata=team=a",
        GRAFANA,
    ]);

    let plan = repo.plan(&client, &mapping, &PlanOptions::default());
    assert_eq!(actions(&plan), [(Action::Foreign, GRAFANA)]);
    assert_eq!(plan.changes[0].owner.as_deref(), Some("external-secrets"));
    assert_eq!(plan.foreign().count(), 1);
    assert!(
        format!("{plan}").contains("managed by 'external-secrets'"),
        "{plan}"
    );
    let report = publish::push(&client, &plan, &mut |_| {}).unwrap();
    assert!(matches!(report.results[0].outcome, Outcome::Skipped));
    let untouched = client.kv2(MOUNT).read(GRAFANA).unwrap();
    assert_eq!(untouched.data.get_str("k"), Some("v"));
    assert_eq!(untouched.metadata.version, 1);

    let mut adopt = PlanOptions::default();
    adopt.adopt = true;
    let plan = repo.plan(&client, &mapping, &adopt);
    assert_eq!(actions(&plan), [(Action::Adopt, GRAFANA)]);
    let report = publish::push(&client, &plan, &mut |_| {}).unwrap();
    assert_eq!(report.written(), 1);
    let adopted = client.kv2(MOUNT).read(GRAFANA).unwrap();
    assert_eq!(adopted.data.get_str("admin-password"), Some("first"));
    assert_eq!(adopted.data.get_str("k"), None);
    let meta = &adopted.metadata.custom_metadata;
    assert_eq!(meta[MANAGED_BY_KEY], "aesec");
    assert_eq!(
        meta["team"], "a",
        "other tools' metadata survives: {meta:?}"
    );
    // Adopted once, managed from then on.
    let plan = repo.plan(&client, &mapping, &PlanOptions::default());
    assert_eq!(actions(&plan), [(Action::Unchanged, GRAFANA)]);
}

#[test]
fn prune_soft_deletes_managed_paths_that_left_the_mapping() {
    let server = require_peer!(server_with_mount());
    let client = server.root();
    let repo = Repo::new();
    let plan = repo.plan(&client, &both(&repo), &PlanOptions::default());
    publish::push(&client, &plan, &mut |_| {}).unwrap();
    // A path aesec never managed, beside them.
    server.bao(&[
        "kv",
        "put",
        &format!("-mount={MOUNT}"),
        "homelab/apps/other",
        "k=v",
    ]);

    let only_grafana = repo.mapping(&[(r#"["grafana"]"#, GRAFANA)]);
    // Without --prune the departed path is left alone.
    let plan = repo.plan(&client, &only_grafana, &PlanOptions::default());
    assert_eq!(actions(&plan), [(Action::Unchanged, GRAFANA)]);

    let mut prune = PlanOptions::default();
    prune.prune = true;
    let plan = repo.plan(&client, &only_grafana, &prune);
    assert_eq!(
        actions(&plan),
        [(Action::Unchanged, GRAFANA), (Action::Prune, DATABASE)]
    );
    assert_eq!(
        plan.changes[1].source.as_deref(),
        Some("k8s/monitoring.yaml")
    );
    let report = publish::push(&client, &plan, &mut |_| {}).unwrap();
    assert!(matches!(report.results[1].outcome, Outcome::Deleted));

    // Soft: the metadata and the old version stay, the latest reads as deleted.
    let read = client.kv2(MOUNT).read(DATABASE);
    assert!(
        matches!(read, Err(Error::SoftDeleted { version: 1, .. })),
        "{read:?}"
    );
    assert_eq!(current_version(&client, DATABASE), 1);
    assert_eq!(
        client
            .kv2(MOUNT)
            .read("homelab/apps/other")
            .unwrap()
            .data
            .get_str("k"),
        Some("v")
    );
    // Pruned once: nothing more to prune.
    let plan = repo.plan(&client, &only_grafana, &prune);
    assert!(plan.is_empty(), "{plan}");

    // Mapped again: an update writes a new version over the deleted one.
    let plan = repo.plan(&client, &both(&repo), &prune);
    assert_eq!(
        actions(&plan),
        [(Action::Unchanged, GRAFANA), (Action::Update, DATABASE)]
    );
    publish::push(&client, &plan, &mut |_| {}).unwrap();
    assert_eq!(current_version(&client, DATABASE), 2);
}
