//! The OpenBao side of `aesec bao manifests` (`publish::OpenBaoSetup`) against a real dev
//! server: External Secrets logs in through Kubernetes auth with the generated role (the
//! TokenReview stand-in vouches for its service account) and may read exactly the published
//! paths, data and metadata, and nothing else.

use aesec_bao_bridge::publish::{self, OpenBaoSetup, PlanOptions};
use aesec_bao_bridge::{Client, Error, Login, RetryPolicy, SecretData};
use aesec_tests::require_peer;

use crate::kubernetes::enable_kubernetes_auth;
use crate::publish::{MOUNT, Repo, server_with_mount};

const GRAFANA: &str = "homelab/monitoring/grafana-admin";

#[test]
fn the_generated_role_and_policy_read_exactly_the_published_paths() {
    let server = require_peer!(server_with_mount());
    let root = server.root();
    let repo = Repo::new();
    let mapping = repo.mapping(&[(r#"["grafana"]"#, GRAFANA)]);
    let plan = repo.plan(&root, &mapping, &PlanOptions::default());
    publish::push(&root, &plan, &mut |_| {}).unwrap();
    server.bao(&[
        "kv",
        "put",
        &format!("-mount={MOUNT}"),
        "homelab/apps/other",
        "k=v",
    ]);

    let account = enable_kubernetes_auth(&server);
    let setup = OpenBaoSetup::new(&mapping);
    setup.apply(&root).unwrap();
    let yaml = publish::manifests(&mapping, &server.addr());
    assert!(
        yaml.contains("# bao policy write eso-read - <<'EOF'"),
        "{yaml}"
    );

    // External Secrets' login, as its Vault provider does it with `auth.kubernetes`.
    let login = server.anonymous().login(&Login::Kubernetes {
        mount: mapping.manifests.auth_mount.clone(),
        role: mapping.manifests.role,
        jwt: account.jwt,
    });
    let auth = login.unwrap();
    assert!(auth.policies.contains(&setup.policy_name), "{auth:?}");
    let eso = Client::new(
        server
            .client_with(RetryPolicy::default())
            .token(auth.client_token),
    )
    .unwrap();
    let kv = eso.kv2(MOUNT);

    // `dataFrom.extract` reads the data; `metadataPolicy: Fetch` reads the metadata.
    let read = kv.read(GRAFANA).unwrap();
    assert_eq!(read.data.get_str("admin-password"), Some("first"));
    assert!(kv.read_metadata(GRAFANA).unwrap().is_some());
    // Nothing else: not another path, not a write, not a list.
    for denied in [
        kv.read("homelab/apps/other").err(),
        kv.write(
            GRAFANA,
            &SecretData::from_iter([("k", "v")]),
            aesec_bao_bridge::Cas::Version(1),
        )
        .err(),
        kv.list("homelab/").err(),
    ] {
        assert!(
            matches!(denied, Some(Error::PermissionDenied { .. })),
            "{denied:?}"
        );
    }
}
