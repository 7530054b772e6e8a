//! Fault paths against real servers: a sealed server, a rate-limit quota (429 retried until it
//! passes), TLS with and without the CA (`-dev-tls`), a refused connection.

use aesec_bao_bridge::secrecy::SecretString;
use aesec_bao_bridge::serde_json::json;
use aesec_bao_bridge::{Client, Config, Error, RetryPolicy};
use aesec_tests::{free_port, require_peer};

use crate::server::Server;

#[test]
fn a_sealed_server_gives_a_sealed_error_after_the_retries() {
    let server = require_peer!(Server::start());
    let key = server.unseal_key();
    server.bao(&["operator", "seal"]);
    let client = Client::new(server.client_with(RetryPolicy::attempts(2))).unwrap();
    let error = client.kv2("secret").read("anything").unwrap_err();
    assert!(matches!(error, Error::Sealed { .. }), "{error:?}");
    assert!(error.to_string().contains("sealed"), "{error}");
    assert_eq!(
        client.stats().retries,
        1,
        "503 sealed is retried (the server may be unsealed)"
    );

    // Unsealed again, the same client works.
    server.bao(&["operator", "unseal", &key]);
    assert!(matches!(
        client.kv2("secret").read("anything"),
        Err(Error::NotFound { .. })
    ));
}

#[test]
fn a_rate_limit_quota_answers_429_and_the_retries_get_through() {
    let server = require_peer!(Server::start());
    // With the rate-limit headers on, a 429 carries `Retry-After` (OpenBao sends 0 here).
    server.setup(
        "sys/quotas/config",
        json!({"enable_rate_limit_response_headers": true}),
    );
    server.setup(
        "sys/quotas/rate-limit/one-per-second",
        json!({"path": "secret/", "rate": 1, "interval": "1s"}),
    );
    // Without retries the quota shows: a 429 with Retry-After, typed.
    let once = Client::new(server.client_with(RetryPolicy::never())).unwrap();
    let kv = once.kv2("secret");
    let limited = (0..5)
        .map(|_| kv.read_metadata("apps/web"))
        .find_map(|result| result.err())
        .expect("five reads in a row exceed one per second");
    assert!(
        matches!(
            limited,
            Error::RateLimited {
                retry_after: Some(_),
                ..
            }
        ),
        "{limited:?}"
    );

    // With retries, three reads in a row all succeed: at one per second, that takes waiting
    // out at least two 429s.
    let patient = server.root();
    for _ in 0..3 {
        assert_eq!(
            patient.kv2("secret").read_metadata("apps/web").unwrap(),
            None
        );
    }
    assert!(patient.stats().retries >= 2, "{:?}", patient.stats());
}

#[test]
fn tls_works_with_the_ca_and_fails_clearly_without_it() {
    let server = require_peer!(Server::start_tls());
    assert!(server.addr().starts_with("https://"));
    let trusted = server.root();
    assert_eq!(trusted.lookup_self().unwrap().policies, ["root"]);

    let mut config = server.client_with(RetryPolicy::attempts(3));
    config.ca_cert = None;
    let untrusted = Client::new(config).unwrap();
    let error = untrusted.lookup_self().unwrap_err();
    assert!(
        matches!(&error, Error::Tls { reason, .. } if reason.contains("UnknownIssuer")),
        "{error:?}"
    );
    assert!(error.to_string().contains("x509"), "{error}");
    assert_eq!(
        untrusted.stats().requests,
        1,
        "a certificate failure is final"
    );

    // The same CA given through the environment, as VAULT_CACERT (no BAO_CACERT set).
    let ca = server.ca().expect("a -dev-tls server has a CA").clone();
    let addr = server.addr();
    let env = |name: &str| match name {
        "BAO_ADDR" => Some(addr.clone()),
        "VAULT_CACERT" => Some(ca.display().to_string()),
        _ => None,
    };
    let client = Client::new(Config::from_env_with(env).unwrap().token(server.token())).unwrap();
    assert_eq!(client.lookup_self().unwrap().policies, ["root"]);
}

#[test]
fn a_refused_connection_is_retried_then_reported() {
    let client = Client::new(
        Config::new(format!("http://127.0.0.1:{}", free_port()))
            .token(SecretString::from("s.unused".to_owned()))
            .retry(RetryPolicy::attempts(3)),
    )
    .unwrap();
    let error = client.read("sys/health").unwrap_err();
    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
    assert_eq!(client.stats().requests, 3);
}
