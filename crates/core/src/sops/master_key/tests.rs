//! Tests of key groups and the age master key against real sops vectors and Go age.

use std::path::{Path, PathBuf};
use std::process::Command;

use age::secrecy::ExposeSecret;
use proptest::prelude::*;

use super::*;
use crate::keys::age::{GeneratedIdentity, Identities, Recipient};
use crate::sops::age_key::{AgeDecryptor, AgeMasterKey, MAX_STANZAS_PER_ENTRY, armor};
use crate::sops::metadata::{KeyEntry, Metadata};
use crate::test_support::TempDir;
use crate::test_support::sops_block;

use crate::test_support::VECTORS;
const VEC_DATA_KEY: &str = "97d1050fb4b1c52a7dd1a3bf12b831236577c25fe37d08f9941b566498632e70";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn identities_from(path: &str) -> Identities {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut identities = Identities::new();
    identities.add_identity_file_text(&text, path).unwrap();
    identities
}

fn vector_metadata(path: &str) -> Metadata {
    let text = std::fs::read_to_string(format!("{VECTORS}/{path}")).unwrap();
    Metadata::from_branch(&sops_block(&text)).unwrap()
}

fn decrypt_with(metadata: &Metadata, identities: &Identities) -> Result<DataKey, DataKeyError> {
    let age = AgeDecryptor::new(identities);
    decrypt_data_key(metadata, &[&age])
}

struct Generated {
    identity: GeneratedIdentity,
}

impl Generated {
    fn new() -> Self {
        Self {
            identity: GeneratedIdentity::generate(),
        }
    }

    fn recipient(&self) -> Recipient {
        self.identity.recipient()
    }

    fn file_text(&self) -> String {
        self.identity
            .to_identity_file("2026-11-22T00:00:00Z")
            .expose_secret()
            .to_owned()
    }

    fn identities(list: &[&Self]) -> Identities {
        let mut identities = Identities::new();
        for g in list {
            identities
                .add_identity_file_text(&g.file_text(), "gen")
                .unwrap();
        }
        identities
    }
}

fn metadata_for(groups: Vec<KeyGroup>, threshold: Option<usize>) -> Metadata {
    Metadata {
        key_groups: groups,
        shamir_threshold: threshold,
        last_modified: "2026-11-22T00:00:00Z".into(),
        mac: String::new(),
        crypt_rule: None,
        mac_only_encrypted: false,
        version: "3.11.0".into(),
    }
}

#[test]
fn vec_yaml_data_key_matches_sops() {
    let metadata = vector_metadata("vec.enc.yaml");
    let identities = identities_from(&format!("{VECTORS}/vec.key"));
    let key = decrypt_with(&metadata, &identities).unwrap();
    assert_eq!(hex(key.expose_secret()), VEC_DATA_KEY);
}

#[test]
fn shamir_vector_needs_two_groups() {
    let metadata = vector_metadata("shamir/s.enc.yaml");
    let expected = std::fs::read(format!("{VECTORS}/shamir/datakey.bin")).unwrap();
    let key = |n: u8| format!("{VECTORS}/shamir/key{n}.txt");

    let mut one_three = identities_from(&key(1));
    one_three.extend(identities_from(&key(3)));
    let data_key = decrypt_with(&metadata, &one_three).unwrap();
    assert_eq!(data_key.expose_secret().as_slice(), expected.as_slice());

    let mut two_three = identities_from(&key(2));
    two_three.extend(identities_from(&key(3)));
    let data_key = decrypt_with(&metadata, &two_three).unwrap();
    assert_eq!(data_key.expose_secret().as_slice(), expected.as_slice());

    let err = decrypt_with(&metadata, &identities_from(&key(2))).unwrap_err();
    let DataKeyError::Failed {
        groups,
        needed,
        recovered,
    } = &err
    else {
        panic!("expected Failed, got {err:?}");
    };
    assert_eq!((*needed, *recovered), (2, 1));
    assert_eq!(groups.len(), 3);
    assert!(!groups[0].decrypted && groups[1].decrypted && !groups[2].decrypted);
    assert!(matches!(
        groups[0].failures[0].error,
        MasterKeyError::NoMatchingIdentity { .. }
    ));
    let message = err.to_string();
    assert!(message.contains("Group 0: FAILED"), "{message}");
    assert!(message.contains("Group 1: SUCCESS"), "{message}");
    assert!(!message.contains(&hex(&expected)));
}

#[test]
fn three_groups_threshold_two_round_trip() {
    let people: Vec<Generated> = (0..4).map(|_| Generated::new()).collect();
    let groups = vec![
        AgeMasterKey::group([people[0].recipient(), people[3].recipient()]),
        AgeMasterKey::group([people[1].recipient()]),
        AgeMasterKey::group([people[2].recipient()]),
    ];
    let data_key = DataKey::generate().unwrap();
    let (entries, threshold) = encrypt_data_key(&groups, Some(2), &data_key).unwrap();
    assert_eq!(threshold, Some(2));
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[0].len(), 2);
    let metadata = metadata_for(entries, threshold);

    for pair in [[0, 1], [0, 2], [1, 2], [3, 2]] {
        let ids = Generated::identities(&[&people[pair[0]], &people[pair[1]]]);
        let key = decrypt_with(&metadata, &ids).unwrap();
        assert_eq!(key.expose_secret(), data_key.expose_secret(), "{pair:?}");
    }
    let alone = Generated::identities(&[&people[1]]);
    assert!(matches!(
        decrypt_with(&metadata, &alone),
        Err(DataKeyError::Failed {
            needed: 2,
            recovered: 1,
            ..
        })
    ));
}

#[test]
fn missing_threshold_needs_every_group() {
    let people: Vec<Generated> = (0..3).map(|_| Generated::new()).collect();
    let groups: Vec<_> = people
        .iter()
        .map(|p| AgeMasterKey::group([p.recipient()]))
        .collect();
    let data_key = DataKey::generate().unwrap();
    let (entries, threshold) = encrypt_data_key(&groups, None, &data_key).unwrap();
    // Recorded as sops records it (`shamir_threshold: 3`), not left out.
    assert_eq!(threshold, Some(3));
    let metadata = metadata_for(entries, threshold);
    let two = Generated::identities(&[&people[0], &people[2]]);
    assert!(matches!(
        decrypt_with(&metadata, &two),
        Err(DataKeyError::Failed {
            needed: 3,
            recovered: 2,
            ..
        })
    ));
    let all = Generated::identities(&[&people[0], &people[1], &people[2]]);
    let key = decrypt_with(&metadata, &all).unwrap();
    assert_eq!(key.expose_secret(), data_key.expose_secret());
}

#[test]
fn one_group_every_key_wraps_the_whole_key() {
    let people: Vec<Generated> = (0..5).map(|_| Generated::new()).collect();
    let group = AgeMasterKey::group(people.iter().map(Generated::recipient));
    let data_key = DataKey::generate().unwrap();
    let (entries, _) = encrypt_data_key(&[group], None, &data_key).unwrap();
    let metadata = metadata_for(entries, None);
    for person in &people {
        let key = decrypt_with(&metadata, &Generated::identities(&[person])).unwrap();
        assert_eq!(key.expose_secret(), data_key.expose_secret());
    }
    for (entry, person) in metadata.key_groups[0].iter().zip(&people) {
        assert_eq!(entry.identifier(), person.recipient().to_string());
    }
}

/// A decryptor that returns fixed bytes for one identifier, to test the group logic alone.
struct Fixed {
    identifier: &'static str,
    bytes: Vec<u8>,
}

impl KeyDecryptor for Fixed {
    fn decrypt(&self, entry: &KeyEntry) -> Option<Result<Zeroizing<Vec<u8>>, MasterKeyError>> {
        (entry.identifier() == self.identifier).then(|| Ok(Zeroizing::new(self.bytes.clone())))
    }
}

/// A master key that always fails, as an external implementation would.
struct Broken;

#[derive(Debug, thiserror::Error)]
#[error("transit unavailable")]
struct Unavailable;

impl MasterKey for Broken {
    fn encrypt(&self, _data: &[u8]) -> Result<KeyEntry, MasterKeyError> {
        Err(MasterKeyError::Backend {
            identifier: self.identifier(),
            source: Box::new(Unavailable),
        })
    }

    fn identifier(&self) -> String {
        "https://v/v1/transit/keys/k".into()
    }
}

fn age(recipient: &str) -> KeyEntry {
    KeyEntry::Age {
        recipient: recipient.into(),
        enc: String::new(),
    }
}

fn pgp(fp: &str) -> KeyEntry {
    KeyEntry::Pgp {
        created_at: String::new(),
        enc: String::new(),
        fp: fp.into(),
    }
}

#[test]
fn age_entries_are_tried_before_pgp() {
    let metadata = metadata_for(vec![vec![pgp("FP"), age("age1x")]], None);
    let pgp_key = Fixed {
        identifier: "FP",
        bytes: vec![1; 32],
    };
    let age_key = Fixed {
        identifier: "age1x",
        bytes: vec![2; 32],
    };
    let key = decrypt_data_key(&metadata, &[&pgp_key, &age_key]).unwrap();
    assert_eq!(key.expose_secret(), &[2; 32]);
}

#[test]
fn every_error_variant() {
    let recipient = Generated::new().recipient();
    let data_key = DataKey::generate().unwrap();

    // MasterKeyError from building groups.
    assert!(matches!(
        encrypt_data_key(&[], None, &data_key),
        Err(MasterKeyError::NoKeyGroups)
    ));
    let groups = vec![AgeMasterKey::group([recipient.clone()]), Vec::new()];
    assert!(matches!(
        encrypt_data_key(&groups, None, &data_key),
        Err(MasterKeyError::EmptyGroup { index: 1 })
    ));
    let groups = vec![
        AgeMasterKey::group([recipient.clone()]),
        AgeMasterKey::group([recipient]),
    ];
    assert!(matches!(
        encrypt_data_key(&groups, Some(3), &data_key),
        Err(MasterKeyError::Split {
            groups: 2,
            threshold: 3,
            ..
        })
    ));
    let groups: Vec<Vec<Box<dyn MasterKey>>> = vec![vec![Box::new(Broken)]];
    assert!(matches!(
        encrypt_data_key(&groups, None, &data_key),
        Err(MasterKeyError::Backend { .. })
    ));

    // Per-entry decryption errors.
    let owner = Generated::new();
    let ids = Generated::identities(&[&owner]);
    let decryptor = AgeDecryptor::new(&ids);
    let KeyEntry::Age { enc, .. } = AgeMasterKey::new(owner.recipient())
        .encrypt(&[9; 32])
        .unwrap()
    else {
        panic!("not an age entry");
    };
    let entry = |enc: String| KeyEntry::Age {
        recipient: "r".into(),
        enc,
    };
    let wrong = Generated::identities(&[&Generated::new()]);
    assert!(matches!(
        AgeDecryptor::new(&wrong).decrypt(&entry(enc.clone())),
        Some(Err(MasterKeyError::NoMatchingIdentity { .. }))
    ));
    assert!(matches!(
        decryptor.decrypt(&entry("not an age file".into())),
        Some(Err(MasterKeyError::AgeDecrypt { .. }))
    ));
    let mut binary = age_binary(&enc);
    let last = binary.len() - 1;
    binary[last] ^= 1;
    assert!(matches!(
        decryptor.decrypt(&entry(armor(&binary))),
        Some(Err(MasterKeyError::AgeRead { .. }))
    ));
    assert!(decryptor.decrypt(&pgp("FP")).is_none());

    // The group logic's reasons.
    let metadata = metadata_for(vec![vec![pgp("FP")]], None);
    let Err(DataKeyError::Failed { groups, .. }) = decrypt_data_key(&metadata, &[&decryptor])
    else {
        panic!("expected Failed");
    };
    assert!(matches!(
        groups[0].failures[0].error,
        MasterKeyError::NoDecryptor { kind: "pgp", .. }
    ));
    let short = Fixed {
        identifier: "age1x",
        bytes: vec![1; 31],
    };
    let metadata = metadata_for(vec![vec![age("age1x")]], None);
    let Err(DataKeyError::Failed { groups, .. }) = decrypt_data_key(&metadata, &[&short]) else {
        panic!("expected Failed");
    };
    assert!(matches!(
        groups[0].failures[0].error,
        MasterKeyError::UnexpectedLength {
            length: 31,
            expected: 32,
            ..
        }
    ));

    // DataKeyError.
    assert!(matches!(
        decrypt_data_key(&metadata_for(Vec::new(), None), &[&short]),
        Err(DataKeyError::NoKeyGroups)
    ));
    let same_x = Fixed {
        identifier: "age1x",
        bytes: [vec![5; 32], vec![1]].concat(),
    };
    let metadata = metadata_for(vec![vec![age("age1x")], vec![age("age1x")]], Some(2));
    assert!(matches!(
        decrypt_data_key(&metadata, &[&same_x]),
        Err(DataKeyError::Combine(_))
    ));
}

/// An [`AgeDecryptor`] that counts the entries it is asked to decrypt.
struct Counting<'a> {
    inner: AgeDecryptor<'a>,
    tried: std::sync::atomic::AtomicUsize,
}

impl KeyDecryptor for Counting<'_> {
    fn decrypt(&self, entry: &KeyEntry) -> Option<Result<Zeroizing<Vec<u8>>, MasterKeyError>> {
        self.tried
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.decrypt(entry)
    }

    fn holds_key_for(&self, entry: &KeyEntry) -> bool {
        self.inner.holds_key_for(entry)
    }
}

#[test]
fn the_entry_labelled_with_an_own_recipient_is_tried_first() {
    let owner = Generated::new();
    let others: Vec<Generated> = (0..4).map(|_| Generated::new()).collect();
    let ids = Generated::identities(&[&owner]);
    let key = DataKey::from_bytes(&[3; 32]).unwrap();
    let wrap = |recipient: Recipient, label: String| {
        let KeyEntry::Age { enc, .. } = AgeMasterKey::new(recipient)
            .encrypt(key.expose_secret())
            .unwrap()
        else {
            unreachable!()
        };
        KeyEntry::Age {
            recipient: label,
            enc,
        }
    };
    let label = |g: &Generated| g.recipient().to_string();
    // How many entries one decryption tried, and that it found the key.
    let tries = |group: KeyGroup| {
        let counting = Counting {
            inner: AgeDecryptor::new(&ids),
            tried: Default::default(),
        };
        let found = decrypt_data_key(&metadata_for(vec![group], None), &[&counting]).unwrap();
        assert_eq!(found.expose_secret(), key.expose_secret());
        counting.tried.into_inner()
    };
    let mut group: KeyGroup = others
        .iter()
        .map(|g| wrap(g.recipient(), label(g)))
        .collect();
    group.push(wrap(owner.recipient(), label(&owner)));
    assert_eq!(
        tries(group.clone()),
        1,
        "the owner's entry, last of five, first"
    );
    // The label is the file's word: a wrong one costs the other entries, never the key.
    let last = group.len() - 1;
    group[last] = wrap(owner.recipient(), "age1unlabelled".into());
    assert_eq!(tries(group.clone()), 5);
    group[0] = wrap(others[0].recipient(), label(&owner));
    assert_eq!(
        tries(group),
        5,
        "the lying entry first, then the rest in order"
    );
}

#[test]
fn an_entry_with_more_stanzas_than_sops_writes_is_refused_before_any_is_tried() {
    let owner = Generated::new();
    let ids = Generated::identities(&[&owner]);
    let decryptor = AgeDecryptor::new(&ids);
    // One age file for many recipients; the age crate adds a grease stanza.
    let entry_for = |others: usize| {
        let mut recipients: Vec<Recipient> =
            (0..others).map(|_| Generated::new().recipient()).collect();
        recipients.push(owner.recipient());
        let encryptor =
            age::Encryptor::with_recipients(recipients.iter().map(Recipient::as_age)).unwrap();
        let mut binary = Vec::new();
        let mut writer = encryptor.wrap_output(&mut binary).unwrap();
        std::io::Write::write_all(&mut writer, &[7; 32]).unwrap();
        writer.finish().unwrap();
        KeyEntry::Age {
            recipient: owner.recipient().to_string(),
            enc: armor(&binary),
        }
    };
    let at_limit = entry_for(MAX_STANZAS_PER_ENTRY - 2);
    let bytes = decryptor.decrypt(&at_limit).unwrap().unwrap();
    assert_eq!(bytes.as_slice(), &[7; 32]);
    match decryptor.decrypt(&entry_for(MAX_STANZAS_PER_ENTRY - 1)) {
        Some(Err(MasterKeyError::TooManyStanzas { stanzas, .. })) => {
            assert_eq!(stanzas, MAX_STANZAS_PER_ENTRY + 1);
        }
        other => panic!("expected TooManyStanzas, got {other:?}"),
    }
    // A binary (not armored) entry is counted alike.
    let KeyEntry::Age { enc, recipient } = entry_for(MAX_STANZAS_PER_ENTRY) else {
        unreachable!()
    };
    let binary = age_binary(&enc);
    let as_binary = KeyEntry::Age {
        recipient,
        enc: String::from_utf8_lossy(&binary).into_owned(),
    };
    assert!(matches!(
        decryptor.decrypt(&as_binary),
        Some(Err(MasterKeyError::TooManyStanzas { .. }))
    ));
}

fn age_binary(armored: &str) -> Vec<u8> {
    let body: String = armored
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    base64::Engine::decode(&base64::engine::general_purpose::STANDARD, body).unwrap()
}

// ---- Go age interop -------------------------------------------------------------------------

/// The Go `age` binary (see [`crate::test_support::peer`]).
fn go_age() -> Option<PathBuf> {
    crate::test_support::peer("age")
}

fn run(command: &mut Command) -> Vec<u8> {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

fn go_age_decrypts(age: &Path, dir: &TempDir, enc: &str, identity_file: &Path) -> Vec<u8> {
    let armored = dir.write("enc.age", enc.as_bytes());
    run(Command::new(age)
        .arg("-d")
        .arg("-i")
        .arg(identity_file)
        .arg(armored))
}

#[test]
fn go_age_decrypts_our_x25519_enc() {
    let Some(age) = go_age() else { return };
    let dir = TempDir::new("master-key");
    let person = Generated::new();
    let identity_file = dir.write("key.txt", person.file_text().as_bytes());
    let data_key = DataKey::generate().unwrap();
    let (groups, _) = encrypt_data_key(
        &[AgeMasterKey::group([person.recipient()])],
        None,
        &data_key,
    )
    .unwrap();
    let enc = groups[0][0].enc().to_owned();
    let plain = go_age_decrypts(&age, &dir, &enc, &identity_file);
    assert_eq!(plain.as_slice(), data_key.expose_secret());
}

#[test]
fn we_decrypt_go_age_armor() {
    let Some(age) = go_age() else { return };
    let dir = TempDir::new("master-key");
    let person = Generated::new();
    let plain = dir.write("plain.bin", [0x42; 32]);
    let enc = run(Command::new(&age)
        .arg("-a")
        .arg("-r")
        .arg(person.recipient().to_string())
        .arg(plain));
    let enc = String::from_utf8(enc).unwrap();
    let ids = Generated::identities(&[&person]);
    let metadata = metadata_for(
        vec![vec![KeyEntry::Age {
            recipient: person.recipient().to_string(),
            enc,
        }]],
        None,
    );
    let key = decrypt_with(&metadata, &ids).unwrap();
    assert_eq!(key.expose_secret(), &[0x42; 32]);
}

#[test]
fn go_age_decrypts_our_ssh_ed25519_enc() {
    let (Some(age), Some(ssh_keygen)) = (go_age(), crate::test_support::peer("ssh-keygen")) else {
        return;
    };
    let dir = TempDir::new("master-key");
    let key_path = dir.0.join("id_ed25519");
    run(Command::new(ssh_keygen)
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "test@aesec", "-f"])
        .arg(&key_path));
    let public = std::fs::read_to_string(dir.0.join("id_ed25519.pub")).unwrap();
    let recipient: Recipient = public.parse().unwrap();
    assert!(recipient.is_ssh());
    let data = [0x17u8; 33];
    let entry = AgeMasterKey::new(recipient).encrypt(&data).unwrap();
    assert_eq!(entry.identifier(), public.trim());
    let plain = go_age_decrypts(&age, &dir, entry.enc(), &key_path);
    assert_eq!(plain, data);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// Any secret up to a share's length survives wrapping and unwrapping.
    #[test]
    fn age_wrap_round_trip(data in proptest::collection::vec(any::<u8>(), 1..=SHARE_BYTES)) {
        let person = Generated::new();
        let ids = Generated::identities(&[&person]);
        let entry = AgeMasterKey::new(person.recipient()).encrypt(&data).unwrap();
        let plain = AgeDecryptor::new(&ids).decrypt(&entry).unwrap().unwrap();
        prop_assert_eq!(plain.as_slice(), data.as_slice());
    }
}

/// The `sops` metadata of a corpus file, read with the store sops 3.11 would pick.
fn corpus_metadata(store: &str, text: &[u8]) -> Metadata {
    use crate::tree::{Item, Value};
    let pairs = |items: &[Item], strip: bool| -> Vec<(String, String)> {
        items
            .iter()
            .filter_map(|item| match item {
                Item::Entry {
                    key,
                    value: Value::Str(t),
                } if !strip || key.starts_with("sops_") => {
                    Some((key.clone(), t.to_string_lossy().into_owned()))
                }
                _ => None,
            })
            .collect()
    };
    let branch = match store {
        "yaml" => crate::test_support::sops_of(&crate::store::yaml::parse(text).unwrap()),
        "json" | "binary" => {
            crate::test_support::sops_of(&crate::store::json::parse(text).unwrap())
        }
        "dotenv" => {
            let tree = crate::store::dotenv::parse(text).unwrap();
            crate::sops::metadata::unflatten_dotenv(&pairs(&tree.branches[0], true)).unwrap()
        }
        "ini" => {
            let tree = crate::store::ini::parse(text).unwrap();
            let Some(Value::Map(section)) = crate::tree::get(&tree.branches[0], "sops") else {
                panic!("no [sops] section");
            };
            crate::sops::metadata::unflatten_ini(&pairs(section, false)).unwrap()
        }
        other => panic!("unknown store {other}"),
    };
    match Metadata::from_branch(&branch) {
        Ok(metadata) => metadata,
        Err(crate::sops::MetadataError::MissingVersion { metadata }) => *metadata,
        Err(e) => panic!("{e}"),
    }
}

/// Every age-keyed file of the real-world corpus (sops 3.5 to 3.13, rops, several stores) gives
/// up its data key to the project's published identity.
#[test]
fn corpus_age_files_decrypt() {
    let root = crate::test_support::CORPUS;
    let index = std::fs::read_to_string(format!("{root}/index.json")).unwrap();
    let index: serde_json::Value = serde_json::from_str(&index).unwrap();
    let mut checked = 0;
    let mut failures = Vec::new();
    for item in index.as_array().unwrap() {
        if item["key_kind"] != "age" {
            continue;
        }
        let file = item["file"].as_str().unwrap();
        let store = item["store"].as_str().unwrap();
        let text = std::fs::read(format!("{root}/{file}")).unwrap();
        let key_path = format!("{root}/{}", item["key"].as_str().unwrap());
        let key_text = std::fs::read_to_string(&key_path).unwrap();
        let mut identities = Identities::new();
        if identities
            .add_identity_file_text(&key_text, &key_path)
            .is_err()
        {
            // Post-quantum (`age1pq1…`) identities are not read by `keys::age` yet.
            assert!(
                file.ends_with("age-pq.yaml"),
                "{file}: identity does not parse"
            );
            continue;
        }
        let metadata = corpus_metadata(store, &text);
        checked += 1;
        if let Err(e) = decrypt_with(&metadata, &identities) {
            failures.push(format!("{file}: {e}"));
        }
    }
    assert!(checked >= 30, "only {checked} corpus files checked");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
