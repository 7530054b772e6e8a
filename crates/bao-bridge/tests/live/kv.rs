//! KV v2 primitives of the publish protocol: CAS write (a conflict writes nothing), metadata
//! read and merge-patch, soft delete (the 404 with a body), list.

use aesec_bao_bridge::serde_json::json;
use aesec_bao_bridge::{Cas, Error, MetadataPatch, SecretData};
use aesec_tests::require_peer;

use crate::server::Server;

fn data(pairs: &[(&str, &str)]) -> SecretData {
    pairs.iter().copied().collect()
}

#[test]
fn cas_writes_metadata_patches_soft_delete_and_list() {
    let server = require_peer!(Server::start());
    server.setup(
        "sys/mounts/kv-k8s",
        json!({"type": "kv", "options": {"version": "2"}}),
    );
    let client = server.root();
    let kv = client.kv2("kv-k8s");
    let path = "homelab/monitoring/grafana-admin";

    assert_eq!(kv.read_metadata(path).unwrap(), None);
    assert!(matches!(kv.read(path), Err(Error::NotFound { .. })));

    let first = kv
        .write(path, &data(&[("admin-password", "one")]), Cas::Absent)
        .unwrap();
    assert_eq!(first.version, 1);

    // "Only if absent" on an existing secret: a conflict, and the value is untouched.
    let before = client.stats();
    let conflict = kv.write(path, &data(&[("admin-password", "clobber")]), Cas::Absent);
    assert!(
        matches!(conflict, Err(Error::CasMismatch { .. })),
        "{conflict:?}"
    );
    assert_eq!(
        client.stats().requests - before.requests,
        1,
        "a CAS conflict is final"
    );
    assert_eq!(
        kv.read(path).unwrap().data.get_str("admin-password"),
        Some("one")
    );

    let second = kv
        .write(path, &data(&[("admin-password", "two")]), Cas::Version(1))
        .unwrap();
    assert_eq!(second.version, 2);
    let stale = kv.write(path, &data(&[("admin-password", "three")]), Cas::Version(1));
    assert!(matches!(stale, Err(Error::CasMismatch { .. })), "{stale:?}");
    let read = kv.read(path).unwrap();
    assert_eq!(read.data.get_str("admin-password"), Some("two"));
    assert_eq!(read.metadata.version, 2);
    assert_eq!(
        kv.read_version(path, 1)
            .unwrap()
            .data
            .get_str("admin-password"),
        Some("one")
    );
    // Debug of the values lists keys only.
    assert_eq!(format!("{:?}", read.data), r#"{"admin-password"}"#);

    // Metadata: a merge-patch keeps keys other tools wrote; `None` removes a key.
    kv.patch_metadata(
        path,
        &MetadataPatch::set([("managed-by", "aesec"), ("aesec.fingerprint", "sha256:aa")]),
    )
    .unwrap();
    server.bao(&[
        "kv",
        "metadata",
        "patch",
        "-mount=kv-k8s",
        "-custom-metadata=owner=team-a",
        path,
    ]);
    let mut patch = MetadataPatch::set([("aesec.fingerprint", "sha256:bb")]);
    patch.custom_metadata.insert("managed-by".to_owned(), None);
    kv.patch_metadata(path, &patch).unwrap();
    let meta = kv.read_metadata(path).unwrap().expect("the secret exists");
    assert_eq!(meta.current_version, 2);
    assert_eq!(
        meta.custom_metadata,
        [("aesec.fingerprint", "sha256:bb"), ("owner", "team-a")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    );
    assert!(matches!(
        kv.patch_metadata("homelab/none", &MetadataPatch::set([("a", "b")])),
        Err(Error::NotFound { .. })
    ));

    // Soft delete: the read is a typed error naming the deleted version; metadata remains.
    kv.soft_delete(path).unwrap();
    let deleted = kv.read(path);
    assert!(
        matches!(&deleted, Err(Error::SoftDeleted { version: 2, deletion_time, .. }) if !deletion_time.is_empty()),
        "{deleted:?}"
    );
    let meta = kv.read_metadata(path).unwrap().expect("metadata survives");
    assert!(!meta.versions["2"].deletion_time.is_empty());
    // The next CAS write makes version 3.
    let third = kv
        .write(path, &data(&[("admin-password", "four")]), Cas::Version(2))
        .unwrap();
    assert_eq!(third.version, 3);

    kv.write(
        "homelab/db/app",
        &data(&[("url", "postgres://")]),
        Cas::Absent,
    )
    .unwrap();
    assert_eq!(kv.list("homelab").unwrap(), ["db/", "monitoring/"]);
    assert_eq!(kv.list("homelab/db").unwrap(), ["app"]);
    assert!(kv.list("nothing-here").unwrap().is_empty());

    // Cross-check with the real CLI: what the library wrote is what `bao kv get` reads.
    assert_eq!(
        server.bao_text(&["kv", "get", "-mount=kv-k8s", "-field=admin-password", path]),
        "four"
    );
}
