//! Kubernetes auth: a service-account token read from a file is exchanged for an OpenBao
//! token. kube-apiserver cannot run here, so its TokenReview endpoint is the one stand-in: a
//! loopback HTTP server that vouches for one service account and records what OpenBao sent.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::{SystemTime, UNIX_EPOCH};

use aesec_bao_bridge::secrecy::{ExposeSecret, SecretString};
use aesec_bao_bridge::serde_json::{self, json};
use aesec_bao_bridge::{Error, Login};
use aesec_tests::require_peer;

use crate::server::Server;

/// Starts the TokenReview stand-in; returns its address and a channel of the request bodies
/// it received. It authenticates `accepted` only.
fn token_review(accepted: String) -> (String, mpsc::Receiver<serde_json::Value>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding the TokenReview stand-in");
    let addr = format!(
        "http://{}",
        listener
            .local_addr()
            .expect("a bound listener has an address")
    );
    let (seen, received) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("cloning the stream"));
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let review: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let token = review["spec"]["token"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let ok = request_line.starts_with("POST /apis/authentication.k8s.io/v1/tokenreviews")
                && token == accepted;
            drop(seen.send(review));
            let status = if ok {
                json!({
                    "authenticated": true,
                    "user": {
                        "username": "system:serviceaccount:external-secrets:external-secrets",
                        "uid": "5d5b1f4e-0000-4000-8000-000000000001",
                        "groups": ["system:serviceaccounts", "system:serviceaccounts:external-secrets"],
                    },
                    "audiences": ["openbao"],
                })
            } else {
                json!({"authenticated": false, "error": "token not recognised"})
            };
            let answer = json!({
                "kind": "TokenReview",
                "apiVersion": "authentication.k8s.io/v1",
                "spec": {"token": token},
                "status": status,
            })
            .to_string();
            drop(write!(
                stream,
                "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            ));
        }
    });
    (addr, received)
}

/// External Secrets' service account in the stand-in cluster.
pub(crate) struct ServiceAccount {
    /// The key its token was signed with.
    pub(crate) key: rsa::RsaPrivateKey,
    /// When the token was issued (Unix seconds).
    pub(crate) now: u64,
    /// Its projected token.
    pub(crate) jwt: SecretString,
    /// What OpenBao sent to the TokenReview stand-in.
    pub(crate) reviews: mpsc::Receiver<serde_json::Value>,
}

/// Enables Kubernetes auth at `auth/kubernetes`, configured against the TokenReview stand-in,
/// which vouches for External Secrets' service account (`external-secrets/external-secrets`,
/// audience `openbao`) and nothing else.
pub(crate) fn enable_kubernetes_auth(server: &Server) -> ServiceAccount {
    // A projected service-account token, as a pod sees it (signed with a throwaway key; only
    // the TokenReview decides whether it is valid).
    let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).expect("an RSA key");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs();
    let jwt = crate::jwt::sign(
        &key,
        &json!({
            "iss": "https://kubernetes.default.svc",
            "sub": "system:serviceaccount:external-secrets:external-secrets",
            "aud": ["openbao"],
            "iat": now,
            "nbf": now,
            "exp": now + 600,
            "kubernetes.io": {
                "namespace": "external-secrets",
                "serviceaccount": {"name": "external-secrets", "uid": "5d5b1f4e-0000-4000-8000-000000000001"},
            },
        }),
    );
    let (host, reviews) = token_review(jwt.expose_secret().to_owned());

    // The auth config wants a CA for the API server even over HTTP; the dev server's own PKI
    // engine makes one.
    server.setup("sys/mounts/pki", json!({"type": "pki"}));
    let root = server
        .root()
        .write(
            "pki/root/generate/internal",
            &json!({"common_name": "kubernetes", "ttl": "1h"}),
        )
        .expect("a PKI root");
    let ca = root.data.expect("the root certificate")["certificate"]
        .as_str()
        .expect("a PEM string")
        .to_owned();
    server.setup("sys/auth/kubernetes", json!({"type": "kubernetes"}));
    server.setup(
        "auth/kubernetes/config",
        json!({"kubernetes_host": host, "disable_local_ca_jwt": true, "kubernetes_ca_cert": ca}),
    );
    ServiceAccount {
        key,
        now,
        jwt,
        reviews,
    }
}

#[test]
fn a_service_account_token_file_logs_in_through_token_review() {
    let server = require_peer!(Server::start());
    let ServiceAccount {
        key,
        now,
        jwt,
        reviews,
    } = enable_kubernetes_auth(&server);
    let token_file = tempfile::NamedTempFile::new().expect("a temporary token file");
    std::fs::write(token_file.path(), format!("{}\n", jwt.expose_secret()))
        .expect("writing the token file");
    server.setup(
        "auth/kubernetes/role/eso",
        json!({
            "bound_service_account_names": ["external-secrets"],
            "bound_service_account_namespaces": ["external-secrets"],
            "audience": "openbao",
            "token_policies": ["default", "eso"],
            "token_ttl": "30m",
        }),
    );

    let client = server.anonymous();
    let login =
        Login::kubernetes_from_file("eso", token_file.path()).expect("the token file reads");
    let auth = client.login(&login).unwrap();
    assert!(auth.policies.contains(&"eso".to_owned()), "{auth:?}");
    assert_eq!(auth.metadata["service_account_name"], "external-secrets");
    assert_eq!(
        auth.metadata["service_account_namespace"],
        "external-secrets"
    );
    let review = reviews
        .try_recv()
        .expect("OpenBao asked the TokenReview endpoint");
    assert_eq!(
        review["spec"]["token"],
        jwt.expose_secret(),
        "the file's token, trimmed"
    );

    // A token the API server does not vouch for is refused, and not retried.
    let other = crate::jwt::sign(
        &key,
        &json!({"sub": "system:serviceaccount:x:y", "exp": now + 600}),
    );
    let stranger = server.anonymous();
    let refused = stranger.login(&Login::Kubernetes {
        mount: "kubernetes".to_owned(),
        role: "eso".to_owned(),
        jwt: other,
    });
    assert!(
        matches!(refused, Err(Error::PermissionDenied { .. })),
        "{refused:?}"
    );
    assert_eq!(stranger.stats().requests, 1);

    assert!(matches!(
        Login::kubernetes_from_file("eso", &token_file.path().with_extension("missing")),
        Err(Error::ReadFile { .. })
    ));
}
