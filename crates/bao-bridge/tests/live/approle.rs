//! AppRole login with a response-wrapped secret-id: the wrapping token's creation path is
//! checked before unwrapping, it works once, and a [`Session`] logs in again when its batch
//! token cannot be renewed.

use std::time::Duration;

use aesec_bao_bridge::secrecy::SecretString;
use aesec_bao_bridge::serde_json::json;
use aesec_bao_bridge::{Error, Login, Refresh, Session};
use aesec_tests::require_peer;

use crate::server::Server;

fn role_id(server: &Server, role: &str) -> String {
    let response = server
        .root()
        .read(&format!("auth/approle/role/{role}/role-id"))
        .expect("reading the role-id");
    response.data.expect("role-id answers with data")["role_id"]
        .as_str()
        .expect("role_id is a string")
        .to_owned()
}

#[test]
fn wrapped_secret_id_logs_in_once_and_a_substituted_token_is_refused() {
    let server = require_peer!(Server::start());
    server.setup("sys/auth/approle", json!({"type": "approle"}));
    server.setup(
        "sys/policies/acl/bridge",
        json!({"policy": "path \"secret/data/bridge/*\" { capabilities = [\"create\", \"read\", \"update\"] }"}),
    );
    server.setup(
        "auth/approle/role/aesec-bridge",
        json!({"token_policies": ["bridge"], "token_ttl": "20m", "token_max_ttl": "1h"}),
    );
    let role_id = role_id(&server, "aesec-bridge");
    let root = server.root();
    let wrapped = root
        .write_wrapped(
            "auth/approle/role/aesec-bridge/secret-id",
            &json!({}),
            Duration::from_secs(120),
        )
        .unwrap();
    assert_eq!(
        wrapped.creation_path,
        "auth/approle/role/aesec-bridge/secret-id"
    );

    let client = server.anonymous();
    let login = Login::approle_wrapped(
        &client,
        "approle",
        "aesec-bridge",
        role_id.clone(),
        &wrapped.token,
    )
    .unwrap();
    let auth = client.login(&login).unwrap();
    assert!(auth.policies.contains(&"bridge".to_owned()), "{auth:?}");
    assert_eq!(auth.lease_duration, 1200);
    assert_eq!(auth.metadata["role_name"], "aesec-bridge");
    let me = client.lookup_self().unwrap();
    assert!(me.policies.contains(&"bridge".to_owned()));

    // The wrapping token was used up.
    let again = Login::approle_wrapped(
        &client,
        "approle",
        "aesec-bridge",
        role_id.clone(),
        &wrapped.token,
    );
    assert!(
        matches!(again, Err(Error::InvalidRequest { status: 400, .. })),
        "{again:?}"
    );

    // A wrapping token made elsewhere (here: sys/wrapping/wrap) is refused before unwrapping.
    let substituted = root
        .write_wrapped(
            "sys/wrapping/wrap",
            &json!({"secret_id": "attacker-chosen"}),
            Duration::from_secs(120),
        )
        .unwrap();
    let refused = Login::approle_wrapped(
        &client,
        "approle",
        "aesec-bridge",
        role_id.clone(),
        &substituted.token,
    );
    assert!(
        matches!(&refused, Err(Error::WrapPathMismatch { actual, .. }) if actual == "sys/wrapping/wrap"),
        "{refused:?}"
    );
    // Refusing did not consume it: its rightful reader can still unwrap it.
    let payload = client
        .unwrap(&substituted.token, "sys/wrapping/wrap")
        .unwrap();
    assert_eq!(payload.data.unwrap()["secret_id"], "attacker-chosen");

    // A wrong secret-id is a 400 from OpenBao, not retried.
    let before = client.stats();
    let wrong = client.login(&Login::approle(
        role_id,
        SecretString::from("00000000-0000-0000-0000-000000000000".to_owned()),
    ));
    assert!(
        matches!(wrong, Err(Error::InvalidRequest { status: 400, .. })),
        "{wrong:?}"
    );
    assert_eq!(client.stats().requests - before.requests, 1);
}

#[test]
fn a_session_logs_in_again_when_its_batch_token_cannot_be_renewed() {
    let server = require_peer!(Server::start());
    server.setup("sys/auth/approle", json!({"type": "approle"}));
    server.setup(
        "auth/approle/role/batch",
        json!({"token_policies": ["default"], "token_type": "batch", "token_ttl": "10m"}),
    );
    let role_id = role_id(&server, "batch");
    let secret_id = server
        .root()
        .write("auth/approle/role/batch/secret-id", &json!({}))
        .unwrap()
        .data
        .unwrap()["secret_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let client = server.anonymous();
    let mut session = Session::login(
        &client,
        Login::approle(role_id, SecretString::from(secret_id)),
    )
    .unwrap();
    let first = client.lookup_self().unwrap();
    assert_eq!(first.token_type, "batch");
    assert!(!first.renewable);
    let due = session.due_at().expect("a batch token expires");
    assert!(matches!(
        session.refresh_if_due(due).unwrap(),
        Refresh::LoggedInAgain { ttl } if ttl == Duration::from_secs(600)
    ));
    let second = client.lookup_self().unwrap();
    assert_eq!(second.token_type, "batch");
    assert!(
        second.ttl >= 590,
        "the new token has a fresh TTL: {}",
        second.ttl
    );
}
