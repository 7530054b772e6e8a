//! Transit primitives as sops' `hc_vault` master key uses them: a 32-byte data key wrapped to
//! `vault:vN:…`, decrypted, rewrapped after a rotation; the real `bao` CLI decrypts what the
//! library encrypted.

use aesec_bao_bridge::serde_json::json;
use aesec_bao_bridge::{Error, ciphertext_version};
use aesec_tests::require_peer;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::server::Server;

#[test]
fn data_keys_round_trip_rotate_and_rewrap() {
    let server = require_peer!(Server::start());
    server.setup("sys/mounts/transit", json!({"type": "transit"}));
    let client = server.root();
    let transit = client.transit("transit");
    assert!(matches!(
        transit.read_key("sops-key"),
        Err(Error::NotFound { .. })
    ));
    transit.create_key("sops-key").unwrap();
    let key = transit.read_key("sops-key").unwrap();
    assert_eq!(
        (key.latest_version, key.key_type.as_str()),
        (1, "aes256-gcm96")
    );

    let data_key: [u8; 32] = std::array::from_fn(|i| i as u8 * 7);
    let enc = transit.encrypt_data_key("sops-key", &data_key).unwrap();
    assert_eq!(enc.version(), Some(1));
    let back = transit.decrypt_data_key("sops-key", enc.as_str()).unwrap();
    assert_eq!(&back[..], &data_key[..]);

    // The real CLI decrypts the library's ciphertext to base64 of the same 32 bytes.
    let plaintext = server.bao_text(&[
        "write",
        "-field=plaintext",
        "transit/decrypt/sops-key",
        &format!("ciphertext={}", enc.as_str()),
    ]);
    assert_eq!(STANDARD.decode(plaintext).unwrap(), data_key);

    let rotated = transit.rotate("sops-key").unwrap();
    assert_eq!(rotated.latest_version, 2);
    let rewrapped = transit.rewrap("sops-key", enc.as_str()).unwrap();
    assert_eq!(ciphertext_version(rewrapped.as_str()), Some(2));
    assert_eq!(
        &transit
            .decrypt_data_key("sops-key", rewrapped.as_str())
            .unwrap()[..],
        &data_key[..]
    );

    // Retiring version 1 makes the old ciphertext a clear, final error.
    server.setup(
        "transit/keys/sops-key/config",
        json!({"min_decryption_version": 2}),
    );
    let too_old = transit.decrypt_data_key("sops-key", enc.as_str());
    assert!(
        matches!(&too_old, Err(Error::InvalidRequest { status: 400, errors, .. })
            if errors.iter().any(|e| e.contains("too old"))),
        "{too_old:?}"
    );
}
