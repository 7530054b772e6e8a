//! `bootstrap::init` and `bootstrap::unseal` against a real server that is not in dev mode
//! (Raft storage in a temporary directory, started uninitialised): three admins, one key group
//! each, a Shamir threshold of two.

use std::path::Path;

use aesec::age::secrecy::ExposeSecret;
use aesec::config::Config;
use aesec::file::DecryptOptions;
use aesec::keys::age::{GeneratedIdentity, Identities};
use aesec::sops::AgeDecryptor;
use aesec::store::Format;
use aesec_bao_bridge::bootstrap::{BootstrapError, InitTarget, init, unseal};
use aesec_bao_bridge::secrecy::SecretString;
use aesec_bao_bridge::{Client, Config as BaoConfig, RetryPolicy, TransitBackend, serde_json};
use aesec_tests::{BaoCluster, TempHome, require_peer};

/// One admin: an age identity and its decryptor's identities.
struct Admin {
    key: GeneratedIdentity,
    identities: Identities,
}

impl Admin {
    fn new() -> Self {
        let key = GeneratedIdentity::generate();
        let mut identities = Identities::new();
        identities
            .add_identity_file_text(
                key.to_identity_file("2026-12-06T00:00:00Z").expose_secret(),
                "admin",
            )
            .expect("a generated identity parses");
        Self { key, identities }
    }
}

#[test]
fn init_seals_the_keys_per_key_group_and_each_admin_unseals_with_their_share() {
    let mut node = require_peer!(BaoCluster::start(1));
    let admins: Vec<Admin> = (0..3).map(|_| Admin::new()).collect();
    let recipient = |index: usize| admins[index].key.recipient().to_string();
    let home = TempHome::new();
    let config_file = home.write(
        ".sops.yaml",
        format!(
            "creation_rules:\n  - path_regex: ^openbao/\n    shamir_threshold: 2\n    \
             key_groups:\n      - age: [{}]\n      - age: [{}]\n      - age: [{}]\n",
            recipient(0),
            recipient(1),
            recipient(2)
        ),
    );
    let config = Config::load(&config_file).unwrap();
    let client = Client::new(BaoConfig::new(node.addr(0))).unwrap();
    let file = Path::new("openbao/unseal.yaml");
    let mut target = InitTarget::new(file, home.path());
    target.config = Some(&config);

    // Every key is tried before sys/init: a Transit key that cannot wrap (on this very server,
    // not initialised yet) fails the init while the server stays untouched.
    let transit_rule = home.write(
        "transit.sops.yaml",
        format!(
            "creation_rules:\n  - hc_vault_transit_uri: {}/v1/transit/keys/unseal\n",
            node.addr(0)
        ),
    );
    let transit_config = Config::load(&transit_rule).unwrap();
    let transit = TransitBackend::new(
        BaoConfig::new(node.addr(0))
            .token(SecretString::from("s.unused".to_owned()))
            .retry(RetryPolicy::never()),
    );
    let mut unwrappable = InitTarget::new(file, home.path());
    unwrappable.config = Some(&transit_config);
    let backends: [&dyn aesec::sops::KeyDecryptor; 1] = [&transit];
    unwrappable.backends = &backends;
    let refused = init(&client, &unwrappable);
    assert!(
        matches!(refused, Err(BootstrapError::File { .. })),
        "{:?}",
        refused.err()
    );
    assert!(!client.seal_status().unwrap().initialized);

    let initialised = init(&client, &target).unwrap();
    assert_eq!((initialised.shares, initialised.threshold), (3, 2));
    assert_eq!(
        initialised.holders,
        [[recipient(0)], [recipient(1)], [recipient(2)]]
    );
    let status = client.seal_status().unwrap();
    assert!(status.initialized && status.sealed, "{status:?}");
    assert_eq!((status.shares, status.threshold), (3, 2));
    assert!(matches!(
        init(&client, &target),
        Err(BootstrapError::AlreadyInitialised { .. })
    ));
    let bytes = initialised.file;
    let decryptor = |index: usize| AgeDecryptor::new(&admins[index].identities);

    // Admin 0 alone opens only their own share, not the file (two of three groups needed).
    let report = unseal(&client, file, &bytes, &[&decryptor(0)]).unwrap();
    assert_eq!(report.groups_opened, [0]);
    assert_eq!((report.groups, report.submitted), (3, 1));
    assert!(!report.authenticated);
    assert!(report.sealed);
    assert_eq!(
        (report.progress, report.threshold, report.needed),
        (1, 2, 1)
    );

    // Admin 1 adds theirs: unsealed.
    let report = unseal(&client, file, &bytes, &[&decryptor(1)]).unwrap();
    assert_eq!(report.groups_opened, [1]);
    assert!(!report.sealed);
    assert_eq!(report.needed, 0);
    node.wait_health(0, 200);

    // The quorum (admins 0 and 1) opens the whole file; the root token in it works.
    let quorum = [decryptor(0), decryptor(1)];
    let quorum: Vec<&dyn aesec::sops::KeyDecryptor> = quorum.iter().map(|d| d as _).collect();
    let plaintext = aesec::file::decrypt(
        &bytes,
        &quorum,
        &DecryptOptions::new(Format::Yaml, Format::Json),
    )
    .unwrap();
    let opened: serde_json::Value = serde_json::from_slice(&plaintext).unwrap();
    let root_token = opened["root_token"].as_str().unwrap().to_owned();
    let root =
        Client::new(BaoConfig::new(node.addr(0)).token(SecretString::from(root_token.clone())))
            .unwrap();
    assert_eq!(root.lookup_self().unwrap().policies, ["root"]);
    assert_eq!(opened["openbao_unencrypted"]["threshold"], 2);

    // One admin alone cannot read the root token.
    let alone = aesec::file::decrypt(
        &bytes,
        &[&decryptor(2)],
        &DecryptOptions::new(Format::Yaml, Format::Json),
    );
    assert!(
        matches!(alone, Err(aesec::file::FileError::Open(_))),
        "{alone:?}"
    );

    // Neither the root token nor any share is in the file in clear.
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(!text.contains(&root_token));
    let group = &opened["unseal_keys_unencrypted"][2];
    assert_eq!(group["holders"][0], recipient(2).as_str());
    let nested = aesec::file::decrypt(
        group["sops_document"].as_str().unwrap().as_bytes(),
        &[&decryptor(2)],
        &DecryptOptions::new(Format::Json, Format::Json),
    )
    .unwrap();
    let share: serde_json::Value = serde_json::from_slice(&nested).unwrap();
    let share = share["unseal_keys"][0].as_str().unwrap();
    assert!(!text.contains(share));

    // On an unsealed server, unseal gives nothing.
    let report = unseal(&client, file, &bytes, &[&decryptor(2)]).unwrap();
    assert_eq!(report.submitted, 0);
    assert!(!report.sealed);

    // Sealed again: the quorum together opens the whole file (its MAC checked) and unseals
    // in one run.
    root.write("sys/seal", &serde_json::json!({})).unwrap();
    assert!(client.seal_status().unwrap().sealed);
    let report = unseal(&client, file, &bytes, &quorum).unwrap();
    assert!(report.authenticated);
    assert_eq!(report.groups_opened, [0, 1]);
    assert_eq!(report.submitted, 2);
    assert!(!report.sealed);
}
