//! Post-quantum age identities (`AGE-SECRET-KEY-PQ-1…`, stanza `mlkem768x25519`) against the
//! C2SP CCTV vectors in `tests/vectors/age-pq/` (see its README): each vector names the outcome
//! Go age gives (`expect:`), and decrypting it with aesec's identities must give the same class
//! (and, on success, the payload with the recorded SHA-256).

mod support;

use std::io::{BufRead, BufReader, Read};

use aesec::age;
use aesec::keys::age::Identities;
use sha2::{Digest, Sha256};

use support::{identities, read, test_path};

const DIR: &str = "vectors/age-pq";

/// CCTV's outcome classes (`age/README.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Success,
    NoMatch,
    HmacFailure,
    HeaderFailure,
    PayloadFailure,
    ArmorFailure,
}

impl Outcome {
    fn from_name(name: &str) -> Self {
        match name {
            "success" => Self::Success,
            "no match" => Self::NoMatch,
            "HMAC failure" => Self::HmacFailure,
            "header failure" => Self::HeaderFailure,
            "payload failure" => Self::PayloadFailure,
            "armor failure" => Self::ArmorFailure,
            other => panic!("unknown expectation '{other}'"),
        }
    }
}

/// One vector file, parsed.
struct Vector {
    name: String,
    expect: Outcome,
    payload_sha256: Option<String>,
    identities: Identities,
    armored: bool,
    file: Vec<u8>,
}

fn parse(name: &str) -> Vector {
    let bytes = read(&format!("{DIR}/{name}"));
    let split = bytes
        .windows(2)
        .position(|w| w == b"\n\n")
        .unwrap_or_else(|| panic!("{name}: no blank line after the header"));
    let header = std::str::from_utf8(&bytes[..split]).expect("vector headers are text");
    let mut file = bytes[split + 2..].to_vec();
    let (mut expect, mut payload_sha256, mut armored) = (None, None, false);
    let mut identity_lines = String::new();
    for line in header.lines() {
        let (key, value) = line
            .split_once(": ")
            .unwrap_or_else(|| panic!("{name}: bad header line '{line}'"));
        match key {
            "expect" => expect = Some(Outcome::from_name(value)),
            "payload" => payload_sha256 = Some(value.to_owned()),
            "identity" => {
                identity_lines.push_str(value);
                identity_lines.push('\n');
            }
            "armored" => armored = value == "yes",
            "compressed" => {
                assert_eq!(value, "zlib", "{name}");
                let mut inflated = Vec::new();
                flate2::read::ZlibDecoder::new(file.as_slice())
                    .read_to_end(&mut inflated)
                    .unwrap_or_else(|e| panic!("{name}: bad zlib data: {e}"));
                file = inflated;
            }
            "file key" | "comment" => {}
            other => panic!("{name}: unknown header key '{other}'"),
        }
    }
    let mut identities = Identities::new();
    identities
        .add_identity_file_text(&identity_lines, name)
        .unwrap_or_else(|e| panic!("{name}: identities refused: {e}"));
    Vector {
        name: name.to_owned(),
        expect: expect.unwrap_or_else(|| panic!("{name}: no expect line")),
        payload_sha256,
        identities,
        armored,
        file,
    }
}

/// Decrypts as far as it goes: the outcome class and the plaintext released.
fn decrypt(vector: &Vector) -> (Outcome, Vec<u8>) {
    let classify = |error: age::DecryptError| match error {
        age::DecryptError::NoMatchingKeys => Outcome::NoMatch,
        // The age crate reports a v1 header its parser refuses as an unknown format.
        age::DecryptError::InvalidHeader | age::DecryptError::UnknownFormat => {
            Outcome::HeaderFailure
        }
        age::DecryptError::InvalidMac => Outcome::HmacFailure,
        age::DecryptError::Io(_) if vector.armored => Outcome::ArmorFailure,
        other => panic!("{}: unexpected error {other:?}", vector.name),
    };
    let input: Box<dyn BufRead + '_> = if vector.armored {
        Box::new(BufReader::new(age::armor::ArmoredReader::new(
            vector.file.as_slice(),
        )))
    } else {
        Box::new(vector.file.as_slice())
    };
    let decryptor = match age::Decryptor::new_buffered(input) {
        Ok(decryptor) => decryptor,
        Err(error) => return (classify(error), Vec::new()),
    };
    let mut stream = match decryptor.decrypt(vector.identities.iter()) {
        Ok(stream) => stream,
        Err(error) => return (classify(error), Vec::new()),
    };
    let mut plaintext = Vec::new();
    match stream.read_to_end(&mut plaintext) {
        Ok(_) => (Outcome::Success, plaintext),
        Err(_) => (Outcome::PayloadFailure, plaintext),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn every_hybrid_vector_gives_go_ages_outcome() {
    let mut names: Vec<String> = std::fs::read_dir(test_path(DIR))
        .expect("the vector directory exists")
        .map(|entry| entry.expect("readable directory").file_name())
        .map(|name| name.into_string().expect("ASCII file names"))
        .filter(|name| name.starts_with("hybrid") || name.starts_with("armor_hybrid"))
        .collect();
    names.sort();
    assert_eq!(names.len(), 19, "CCTV has 19 hybrid vectors: {names:?}");

    let mut wrong = Vec::new();
    let mut counts = [0usize; 3];
    for name in &names {
        let vector = parse(name);
        let (outcome, plaintext) = decrypt(&vector);
        if outcome != vector.expect {
            wrong.push(format!(
                "{name}: expected {:?}, got {outcome:?}",
                vector.expect
            ));
            continue;
        }
        if let Some(expected) = &vector.payload_sha256 {
            let got = hex(&Sha256::digest(&plaintext));
            if &got != expected {
                wrong.push(format!("{name}: payload hash {got}, expected {expected}"));
            }
        }
        match outcome {
            Outcome::Success => counts[0] += 1,
            Outcome::NoMatch => counts[1] += 1,
            Outcome::HeaderFailure => counts[2] += 1,
            other => wrong.push(format!("{name}: no hybrid vector expects {other:?}")),
        }
    }
    assert!(
        wrong.is_empty(),
        "vectors decided unlike Go age:\n{}",
        wrong.join("\n")
    );
    assert_eq!(
        counts,
        [5, 5, 9],
        "success, no match and header failure vectors"
    );
}

/// An `age-keygen -pq` identity file (comments, then the key) loads as one identity.
#[test]
fn keygen_pq_identity_file_loads() {
    let loaded =
        identities("corpus/kustomize-controller/internal/controller/testdata/sops/keys/age-pq.txt");
    assert_eq!(loaded.len(), 1);
}
