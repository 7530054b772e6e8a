//! The way back (`publish::pull`) against a real dev server: a published secret pulled into a
//! new sops file under its creation rule, publishing that file again is a no-op, a subtree of
//! an existing file, and base64-marked binary values decoded.

use std::path::Path;

use aesec::config::Config;
use aesec::file::DecryptOptions;
use aesec::store::Format;
use aesec_bao_bridge::publish::{self, Action, PlanOptions, PublishError, PullTarget};
use aesec_tests::require_peer;

use crate::publish::{MOUNT, Repo, server_with_mount};

const GRAFANA: &str = "homelab/monitoring/grafana-admin";

fn decrypt(repo: &Repo, rel: &str) -> String {
    let plaintext = aesec::file::decrypt(
        repo.dir.read(rel).as_bytes(),
        &[&repo.decryptor()],
        &DecryptOptions::new(Format::Yaml, Format::Yaml),
    )
    .unwrap_or_else(|error| panic!("decrypting {rel}: {error}"));
    String::from_utf8(plaintext.to_vec()).expect("the test files are UTF-8")
}

#[test]
fn pull_round_trip_new_file_subtree_and_binary() {
    let server = require_peer!(server_with_mount());
    let client = server.root();
    let repo = Repo::new();
    let mapping = repo.mapping(&[(r#"["grafana"]"#, GRAFANA)]);
    let plan = repo.plan(&client, &mapping, &PlanOptions::default());
    publish::push(&client, &plan, &mut |_| {}).unwrap();

    // A new file, encrypted under the creation rule of `.sops.yaml`.
    let rules = format!("creation_rules:\n  - age: {}\n", repo.key.recipient());
    let config_file = repo.dir.write(".sops.yaml", &rules);
    let config = Config::from_yaml(rules.as_bytes(), &config_file).unwrap();
    let root = repo.dir.path();
    let file = root.join("k8s/pulled.yaml");
    let mut target = PullTarget::new(&file, root);
    target.config = Some(&config);
    let bytes = publish::pull(&client, MOUNT, GRAFANA, &target)
        .unwrap()
        .expect("a new file");
    repo.dir.write("k8s/pulled.yaml", &bytes);
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.contains("admin-password: ENC[AES256_GCM,"), "{text}");
    assert!(text.contains(&repo.key.recipient().to_string()), "{text}");
    assert_eq!(
        decrypt(&repo, "k8s/pulled.yaml"),
        "admin-password: first\nadmin-user: admin\n"
    );

    // Publishing the pulled file to the same path: same fingerprint, nothing to write.
    let again = repo.dir.write(
        ".aesec.yaml",
        format!("bao:\n  kv_mount: {MOUNT}\n  publish:\n    - file: k8s/pulled.yaml\n      path: {GRAFANA}\n"),
    );
    let pulled_mapping =
        publish::Mapping::from_yaml(repo.dir.read(".aesec.yaml").as_bytes(), &again).unwrap();
    let plan = repo.plan(&client, &pulled_mapping, &PlanOptions::default());
    assert_eq!(plan.changes[0].action, Action::Unchanged, "{plan}");

    // A subtree of an existing file: the other values keep their ciphertext.
    let existing = repo.dir.read("k8s/monitoring.yaml");
    let subtree = r#"["copy"]"#.parse().unwrap();
    let mut target = PullTarget::new(Path::new("k8s/monitoring.yaml"), root);
    target.existing = Some(existing.as_bytes());
    target.keys = Some(&subtree);
    let decryptor = repo.decryptor();
    let decryptors = [&decryptor as _];
    target.decryptors = &decryptors;
    let bytes = publish::pull(&client, MOUNT, GRAFANA, &target)
        .unwrap()
        .expect("a new subtree changes the file");
    let db_line = |text: &str| {
        text.lines()
            .find(|line| line.trim_start().starts_with("password:"))
            .map(str::to_owned)
    };
    assert_eq!(
        db_line(&String::from_utf8_lossy(&bytes)),
        db_line(&existing)
    );
    repo.dir.write("k8s/monitoring.yaml", &bytes);
    let text = decrypt(&repo, "k8s/monitoring.yaml");
    assert!(
        text.ends_with("copy:\n    admin-password: first\n    admin-user: admin\n"),
        "{text}"
    );
    // Pulling the same again changes nothing.
    let existing = repo.dir.read("k8s/monitoring.yaml");
    target.existing = Some(existing.as_bytes());
    assert_eq!(
        publish::pull(&client, MOUNT, GRAFANA, &target).unwrap(),
        None
    );

    // An existing file needs the subtree to replace.
    target.keys = None;
    let refused = publish::pull(&client, MOUNT, GRAFANA, &target);
    assert!(
        matches!(refused, Err(PublishError::NoSubtree { .. })),
        "{refused:?}"
    );

    // Values marked `aesec.encoding.<key>: base64` come back as their bytes.
    server.bao(&[
        "kv",
        "put",
        &format!("-mount={MOUNT}"),
        "homelab/apps/blob",
        "blob=aGVsbG8=",
        "plain=aGVsbG8=",
    ]);
    server.bao(&[
        "kv",
        "metadata",
        "patch",
        &format!("-mount={MOUNT}"),
        "-custom-metadata=aesec.encoding.blob=base64",
        "homelab/apps/blob",
    ]);
    let file = root.join("k8s/blob.yaml");
    let mut target = PullTarget::new(&file, root);
    target.config = Some(&config);
    let bytes = publish::pull(&client, MOUNT, "homelab/apps/blob", &target)
        .unwrap()
        .expect("a new file");
    repo.dir.write("k8s/blob.yaml", &bytes);
    assert_eq!(
        decrypt(&repo, "k8s/blob.yaml"),
        "blob: hello\nplain: aGVsbG8=\n"
    );
}
