//! JWT/OIDC login with a CI-style RS256 token signed here, the server trusting the key through
//! `jwt_validation_pubkeys` (no network, no OIDC discovery); the token also from a file, through
//! the library and `aesec bao login`.

use std::time::{SystemTime, UNIX_EPOCH};

use aesec_bao_bridge::secrecy::{ExposeSecret as _, SecretString};
use aesec_bao_bridge::serde_json::{self, json};
use aesec_bao_bridge::{Error, Login};
use aesec_tests::{TempHome, require_peer};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use rsa::signature::{SignatureEncoding, Signer};
use sha2::Sha256;

use crate::server::Server;

/// A compact RS256 JWT of `claims`.
pub(crate) fn sign(key: &rsa::RsaPrivateKey, claims: &serde_json::Value) -> SecretString {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims are JSON"));
    let signing_input = format!("{header}.{payload}");
    let signature = SigningKey::<Sha256>::new(key.clone()).sign(signing_input.as_bytes());
    SecretString::from(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature.to_bytes())
    ))
}

#[test]
fn a_locally_signed_rs256_token_logs_in_and_a_wrong_claim_is_refused() {
    let server = require_peer!(Server::start());
    let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap();
    let public_pem = key
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    server.setup("sys/auth/jwt", json!({"type": "jwt"}));
    server.setup(
        "auth/jwt/config",
        json!({"jwt_validation_pubkeys": [public_pem], "bound_issuer": "https://ci.example"}),
    );
    server.setup(
        "auth/jwt/role/ci",
        json!({
            "role_type": "jwt",
            "user_claim": "sub",
            "bound_audiences": ["openbao"],
            "bound_claims": {"repo": "fleet/secrets"},
            "token_policies": ["default", "ci"],
            "token_ttl": "15m",
        }),
    );
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = |repo: &str| {
        json!({
            "iss": "https://ci.example",
            "sub": "repo:fleet/secrets:ref:refs/heads/main",
            "aud": "openbao",
            "repo": repo,
            "iat": now,
            "nbf": now - 5,
            "exp": now + 300,
        })
    };

    let client = server.anonymous();
    let auth = client
        .login(&Login::jwt("ci", sign(&key, &claims("fleet/secrets"))))
        .unwrap();
    assert!(auth.policies.contains(&"ci".to_owned()), "{auth:?}");
    assert_eq!(auth.lease_duration, 900);
    let me = client.lookup_self().unwrap();
    assert!(me.display_name.starts_with("jwt-"), "{me:?}");

    // As a CI job does it: the identity token in a file, through the library and the CLI.
    let home = TempHome::new();
    let token = sign(&key, &claims("fleet/secrets"));
    let token_file = home.write("id-token", format!("{}\n", token.expose_secret()));
    let auth = server
        .anonymous()
        .login(&Login::jwt_from_file("ci", &token_file).unwrap())
        .unwrap();
    assert!(auth.policies.contains(&"ci".to_owned()), "{auth:?}");
    let mut login = home.aesec();
    login
        .env("BAO_ADDR", server.addr())
        .args(["bao", "login", "--method", "jwt", "--role", "ci", "--json"])
        .arg("--jwt-file")
        .arg(&token_file);
    let output = login.run();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["method"], "jwt");
    assert_eq!(report["mount"], "jwt");
    assert_eq!(report["ttl"], 900);
    assert!(
        !String::from_utf8_lossy(&output.stdout).contains(token.expose_secret()),
        "the JWT was printed"
    );

    let other = server.anonymous();
    let refused = other.login(&Login::jwt("ci", sign(&key, &claims("someone/else"))));
    assert!(
        matches!(&refused, Err(Error::InvalidRequest { status: 400, errors, .. })
            if errors.iter().any(|e| e.contains("repo"))),
        "{refused:?}"
    );
    assert!(!other.has_token());
}
