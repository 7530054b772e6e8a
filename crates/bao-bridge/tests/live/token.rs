//! Token endpoints: lookup-self, renew-self (the new TTL is the increment), revoke-self, and a
//! [`Session`] renewing a token it watches.

use std::time::{Duration, Instant};

use aesec_bao_bridge::secrecy::{ExposeSecret, SecretString};
use aesec_bao_bridge::{Client, Error, Refresh, RetryPolicy, Session, serde_json::json};
use aesec_tests::require_peer;

use crate::server::Server;

#[test]
fn lookup_renew_and_revoke_a_child_token() {
    let server = require_peer!(Server::start());
    let root = server.root();
    let me = root.lookup_self().unwrap();
    assert_eq!(me.policies, ["root"]);
    assert_eq!(me.ttl, 0, "the root token never expires");

    let created = root
        .write(
            "auth/token/create",
            &json!({"policies": ["default"], "ttl": "1h", "renewable": true}),
        )
        .unwrap();
    let auth = created.auth.expect("token/create answers with auth");
    let child = Client::new(
        server
            .client_with(RetryPolicy::default())
            .token(auth.client_token.clone()),
    )
    .unwrap();
    let info = child.lookup_self().unwrap();
    assert!(info.renewable);
    assert!(info.ttl > 3000 && info.ttl <= 3600, "ttl {}", info.ttl);
    assert_eq!(info.accessor, auth.accessor);

    let renewed = child.renew_self(Some(Duration::from_secs(1800))).unwrap();
    assert_eq!(
        renewed.lease_duration, 1800,
        "OpenBao sets the TTL to the increment"
    );
    assert!(child.lookup_self().unwrap().ttl <= 1800);

    // A session watching this token renews it once it is due, not before.
    let mut session = Session::from_token(&child).unwrap();
    assert_eq!(
        session.refresh_if_due(Instant::now()).unwrap(),
        Refresh::NotDue
    );
    let due = session.due_at().expect("the token expires");
    assert!(matches!(
        session.refresh_if_due(due).unwrap(),
        Refresh::Renewed { ttl } if ttl > Duration::ZERO
    ));

    child.revoke_self().unwrap();
    let before = child.stats();
    assert!(matches!(
        child.lookup_self(),
        Err(Error::PermissionDenied { .. })
    ));
    assert_eq!(
        child.stats().requests - before.requests,
        1,
        "a 403 is never retried"
    );
}

#[test]
fn no_token_and_a_bad_token_are_typed_errors_that_never_show_the_token() {
    let server = require_peer!(Server::start());
    let anonymous = server.anonymous();
    assert!(matches!(
        anonymous.lookup_self(),
        Err(Error::NoToken { .. })
    ));

    let wrong = "s.not-a-real-token-1234";
    let client = Client::new(
        server
            .client_with(RetryPolicy::default())
            .token(SecretString::from(wrong.to_owned())),
    )
    .unwrap();
    let error = client.lookup_self().unwrap_err();
    assert!(matches!(error, Error::PermissionDenied { .. }), "{error:?}");
    for shown in [
        error.to_string(),
        format!("{error:?}"),
        format!("{client:?}"),
    ] {
        assert!(!shown.contains(wrong), "{shown}");
        assert!(!shown.contains(server.token().expose_secret()), "{shown}");
    }

    let bad_header = Client::new(
        server
            .client_with(RetryPolicy::default())
            .token(SecretString::from("line\nbreak".to_owned())),
    )
    .unwrap();
    assert!(matches!(bad_header.lookup_self(), Err(Error::InvalidToken)));
}
