//! Tests of the post-quantum recipient and identity types.

use age::secrecy::ExposeSecret;

use super::*;

/// The corpus' post-quantum key (kustomize-controller `testdata/sops/keys/age-pq.txt`), made by
/// `age-keygen -pq`.
const CORPUS_KEY: &str = include_str!(
    "../../../../tests/corpus/kustomize-controller/internal/controller/testdata/sops/keys/age-pq.txt"
);

#[test]
fn corpus_identity_derives_its_recorded_recipient() {
    let recorded = CORPUS_KEY
        .lines()
        .find_map(|line| line.strip_prefix("# public key: "))
        .expect("age-keygen writes the public key");
    let secret = CORPUS_KEY
        .lines()
        .find(|line| line.starts_with(IDENTITY_PREFIX))
        .expect("one identity line");
    let identity: Identity = secret.parse().unwrap();
    assert_eq!(identity.to_public().to_string(), recorded);
    assert_eq!(recorded.len(), 1959);
    let parsed: Recipient = recorded.parse().unwrap();
    assert_eq!(parsed.to_string(), recorded);
    assert_eq!(identity.to_secret_string().expose_secret(), secret);
}

#[test]
fn keys_are_case_sensitive_and_exact() {
    let identity = Identity::generate().unwrap();
    let secret = identity.to_secret_string();
    let recipient = identity.to_public().to_string();
    assert_eq!(secret.expose_secret().len(), 77);
    assert!(recipient.parse::<Recipient>().is_ok());
    assert!(recipient.to_uppercase().parse::<Recipient>().is_err());
    assert!(format!("{recipient} ").parse::<Recipient>().is_err());
    assert!(
        recipient[..recipient.len() - 1]
            .parse::<Recipient>()
            .is_err()
    );
    assert!(
        secret
            .expose_secret()
            .to_lowercase()
            .parse::<Identity>()
            .is_err()
    );
    assert!(
        format!(" {}", secret.expose_secret())
            .parse::<Identity>()
            .is_err()
    );
    // A 32-byte payload under the recipient's human-readable part is not a public key.
    assert!(
        bech32::encode(RECIPIENT_HRP, &[1u8; 32])
            .parse::<Recipient>()
            .is_err()
    );
}

#[test]
fn public_key_needs_canonical_mlkem_coefficients() {
    let mut bytes = *Identity::generate().unwrap().to_public().key.as_bytes();
    // The first coefficient becomes 0xfff, above q = 3329.
    bytes[0] = 0xff;
    bytes[1] |= 0x0f;
    let text = bech32::encode(RECIPIENT_HRP, &bytes);
    assert_eq!(
        text.parse::<Recipient>().err(),
        Some("invalid ML-KEM-768 public key")
    );
}

#[test]
fn wraps_with_the_postquantum_label_and_round_trips() {
    let identity = Identity::generate().unwrap();
    let file_key = FileKey::new(Box::new([9u8; 16]));
    let (stanzas, labels) =
        age::Recipient::wrap_file_key(&identity.to_public(), &file_key).unwrap();
    assert_eq!(labels, HashSet::from(["postquantum".to_owned()]));
    let [stanza] = stanzas.as_slice() else {
        panic!("one stanza per recipient, got {}", stanzas.len());
    };
    assert_eq!(stanza.tag, "mlkem768x25519");
    assert_eq!(stanza.args.len(), 1);
    assert_eq!(stanza.args[0].len(), 1494);
    assert_eq!(stanza.body.len(), 32);
    let unwrapped = age::Identity::unwrap_stanza(&identity, stanza)
        .expect("our stanza")
        .unwrap();
    assert_eq!(unwrapped.expose_secret(), &[9u8; 16]);
    // Another identity: no match, not an error.
    let other = Identity::generate().unwrap();
    assert!(age::Identity::unwrap_stanza(&other, stanza).is_none());
}

#[test]
fn age_refuses_to_mix_with_classic_recipients() {
    let pq = Identity::generate().unwrap().to_public();
    let classic = age::x25519::Identity::generate().to_public();
    let recipients: [&dyn age::Recipient; 2] = [&pq, &classic];
    let mut out = Vec::new();
    let result = age::Encryptor::with_recipients(recipients.into_iter()).and_then(|encryptor| {
        encryptor
            .wrap_output(&mut out)
            .map_err(age::EncryptError::Io)
    });
    assert!(matches!(
        result,
        Err(age::EncryptError::IncompatibleRecipients { .. })
    ));
}

#[test]
fn low_order_x25519_points_are_refused_on_encrypt() {
    let good = *Identity::generate().unwrap().to_public().key.as_bytes();
    let file_key = FileKey::new(Box::new([1u8; 16]));
    // u = 0 (order 2) and u = 1 (order 4): every clamped scalar gives the all-zero secret.
    for low_order in [[0u8; 32], {
        let mut one = [0u8; 32];
        one[0] = 1;
        one
    }] {
        let mut bytes = good;
        let x25519_at = bytes.len() - 32;
        bytes[x25519_at..].copy_from_slice(&low_order);
        let recipient: Recipient = bech32::encode(RECIPIENT_HRP, &bytes).parse().unwrap();
        let result = age::Recipient::wrap_file_key(&recipient, &file_key);
        assert!(
            matches!(&result, Err(age::EncryptError::Io(e)) if e.kind() == std::io::ErrorKind::InvalidInput),
            "low-order point {low_order:?} was accepted"
        );
    }
}

#[test]
fn debug_output_holds_no_secret() {
    let identity = Identity::generate().unwrap();
    let shown = format!("{identity:?}");
    assert!(shown.contains("age1pq1"));
    assert!(!shown.contains("AGE-SECRET-KEY"));
    let seed_text = identity.to_secret_string();
    let seed_data = &seed_text.expose_secret()[IDENTITY_PREFIX.len()..][..20];
    assert!(!shown.to_uppercase().contains(seed_data));
}
