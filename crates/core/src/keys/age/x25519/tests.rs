//! The classic X25519 keys against the `age` crate's own: the same text, stanzas each side
//! opens, and the same answer to every malformed stanza.

use age::secrecy::ExposeSecret;
use age_core::format::{FileKey, Stanza};
use std::io::{Read, Write};

use super::*;

/// A fresh identity, as ours and as the age crate's.
fn identity_pair() -> (Identity, age::x25519::Identity) {
    let theirs = age::x25519::Identity::generate();
    (Identity::from(&theirs), theirs)
}

fn file_key(byte: u8) -> FileKey {
    FileKey::new(Box::new([byte; FILE_KEY_BYTES]))
}

/// What an unwrap gave, comparable across implementations.
fn outcome(result: Option<Result<FileKey, DecryptError>>) -> String {
    match result {
        None => "not ours".to_owned(),
        Some(Ok(key)) => format!("key {:02x?}", key.expose_secret()),
        Some(Err(error)) => format!("error {error}"),
    }
}

/// A whole age file to `recipient`, then read back with `identity`.
fn round_trip(recipient: &dyn age::Recipient, identity: &dyn age::Identity) -> Vec<u8> {
    let encryptor = age::Encryptor::with_recipients(std::iter::once(recipient)).unwrap();
    let mut file = Vec::new();
    let mut writer = encryptor.wrap_output(&mut file).unwrap();
    writer.write_all(b"the data key").unwrap();
    writer.finish().unwrap();
    let decryptor = age::Decryptor::new(file.as_slice()).unwrap();
    let mut plaintext = Vec::new();
    decryptor
        .decrypt(std::iter::once(identity))
        .unwrap()
        .read_to_end(&mut plaintext)
        .unwrap();
    plaintext
}

#[test]
fn text_forms_are_the_age_crates() {
    let (ours, theirs) = identity_pair();
    assert_eq!(
        ours.to_secret_string().expose_secret(),
        theirs.to_string().expose_secret()
    );
    assert_eq!(ours.to_public().to_string(), theirs.to_public().to_string());
    let text = theirs.to_public().to_string();
    assert_eq!(text.parse::<Recipient>().unwrap().to_string(), text);
    let secret = theirs.to_string();
    let parsed: Identity = secret.expose_secret().parse().unwrap();
    assert_eq!(parsed.to_public().to_string(), text);
}

#[test]
fn the_same_strings_are_accepted_as_by_the_age_crate() {
    let (_, theirs) = identity_pair();
    let recipient = theirs.to_public().to_string();
    let secret = theirs.to_string().expose_secret().to_owned();
    let mut flipped = recipient.clone();
    flipped.replace_range(10..11, if &recipient[10..11] == "q" { "p" } else { "q" });
    let recipients = [
        recipient.clone(),
        recipient.to_uppercase(),
        flipped,
        format!(" {recipient}"),
        recipient[..recipient.len() - 1].to_owned(),
        recipient.replacen("age1", "agf1", 1),
        "age1".to_owned(),
        String::new(),
    ];
    for text in &recipients {
        assert_eq!(
            text.parse::<Recipient>().map(|r| r.to_string()),
            age::x25519::Recipient::from_str(text).map(|r| r.to_string()),
            "{text}"
        );
    }
    let identities = [
        secret.clone(),
        secret.to_lowercase(),
        format!("{secret} "),
        secret[..secret.len() - 2].to_owned(),
        secret.replacen("AGE-SECRET-KEY-1", "AGE-SECRET-KEY-PQ-1", 1),
        recipient,
    ];
    for text in &identities {
        let ours = text.parse::<Identity>().map(|i| i.to_public().to_string());
        let theirs = age::x25519::Identity::from_str(text).map(|i| i.to_public().to_string());
        assert_eq!(ours, theirs);
    }
}

#[test]
fn files_made_by_either_side_open_with_the_other() {
    let (ours, theirs) = identity_pair();
    let recipient = ours.to_public();
    assert_eq!(round_trip(&recipient, &theirs), b"the data key");
    assert_eq!(round_trip(&theirs.to_public(), &ours), b"the data key");
    assert_eq!(round_trip(&recipient, &ours), b"the data key");
}

#[test]
fn every_stanza_gets_the_age_crates_answer() {
    let (ours, theirs) = identity_pair();
    let (_, stranger) = identity_pair();
    let key = file_key(7);
    let good = wrap(&ours.to_public().point, &key).unwrap();
    let for_stranger = wrap(&Identity::from(&stranger).to_public().point, &key).unwrap();
    let with = |edit: &dyn Fn(&mut Stanza)| {
        let mut stanza = Stanza {
            tag: good.tag.clone(),
            args: good.args.clone(),
            body: good.body.clone(),
        };
        edit(&mut stanza);
        stanza
    };
    let epk = STANDARD_NO_PAD.decode(&good.args[0]).unwrap();
    let mut stanzas = vec![
        with(&|_| {}),
        for_stranger,
        with(&|s| s.tag = "x25519".to_owned()),
        with(&|s| s.tag = "scrypt".to_owned()),
        with(&|s| s.args.push("extra".to_owned())),
        with(&|s| s.args.clear()),
        with(&|s| s.args[0].push('=')),
        with(&|s| s.args[0].push_str("AA")),
        with(&|s| s.args[0].pop().map(drop).unwrap_or(())),
        with(&|s| s.body.pop().map(drop).unwrap_or(())),
        with(&|s| s.body.push(0)),
        with(&|s| s.body[0] ^= 1),
        with(&|s| s.args[0] = STANDARD_NO_PAD.encode([0u8; 32])),
        with(&|s| {
            let mut one = [0u8; 32];
            one[0] = 1;
            s.args[0] = STANDARD_NO_PAD.encode(one);
        }),
        // The last character carries 4 bits of which 2 are unused: set one.
        with(&|s| {
            let mut text = STANDARD_NO_PAD.encode(&epk).into_bytes();
            let last = text.len() - 1;
            let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            let value = alphabet.iter().position(|c| *c == text[last]).unwrap();
            text[last] = alphabet[value ^ 1];
            s.args[0] = String::from_utf8(text).unwrap();
        }),
        with(&|s| s.args[0] = "x".repeat(10_000)),
    ];
    // A file key wrapped by the age crate, for good measure.
    stanzas.push(
        age::Recipient::wrap_file_key(&theirs.to_public(), &key)
            .unwrap()
            .0
            .remove(0),
    );
    for stanza in &stanzas {
        let expected = outcome(age::Identity::unwrap_stanza(&theirs, stanza));
        assert_eq!(
            outcome(age::Identity::unwrap_stanza(&ours, stanza)),
            expected,
            "{} {:?}",
            stanza.tag,
            stanza.args
        );
    }
    assert_eq!(
        outcome(age::Identity::unwrap_stanza(&ours, &stanzas[0])),
        outcome(Some(Ok(file_key(7))))
    );
}

#[test]
fn a_low_order_recipient_is_refused_not_a_panic() {
    for low_order in ["00", "01"] {
        let mut bytes = [0u8; KEY_BYTES];
        bytes[0] = u8::from_str_radix(low_order, 16).unwrap();
        let recipient: Recipient = bech32::encode(RECIPIENT_HRP, &bytes).parse().unwrap();
        let result = age::Recipient::wrap_file_key(&recipient, &file_key(1));
        assert!(
            matches!(&result, Err(EncryptError::Io(e)) if e.kind() == io::ErrorKind::InvalidInput),
            "{low_order}"
        );
    }
}

#[test]
fn every_wrap_takes_a_new_ephemeral_key() {
    let (ours, _) = identity_pair();
    let recipient = ours.to_public();
    let first = wrap(&recipient.point, &file_key(3)).unwrap();
    let second = wrap(&recipient.point, &file_key(3)).unwrap();
    assert_ne!(first.args, second.args);
    assert_ne!(first.body, second.body);
}

#[test]
fn debug_output_holds_no_secret() {
    let (ours, _) = identity_pair();
    let shown = format!("{ours:?}");
    assert!(shown.contains("age1"));
    let secret = ours.to_secret_string();
    let data = &secret.expose_secret()["AGE-SECRET-KEY-1".len()..][..20];
    assert!(!shown.to_uppercase().contains(data));
}
