//! Benchmarks of the cryptographic floor: the value cipher on one 32-byte value, the MAC over
//! 20,000 leaves, wrapping and unwrapping the data key for one age recipient, and Shamir
//! splitting and combining the data key over three key groups.
//!
//! Run with `cargo bench -p aesec --bench crypto`; CI smoke-runs it with `-- --quick`.

use std::hint::black_box;

use aesec::Value;
use aesec::fuzzing::bench::{IV_BYTES, MacHasher, ValueCipher};
use aesec::keys::age::{GeneratedIdentity, Identities};
use aesec::secrecy::ExposeSecret;
use aesec::sops::{
    AgeDecryptor, AgeMasterKey, DataKey, KeyDecryptor, KeyEntry, MasterKey, MasterKeyError,
    Metadata, SOPS_VERSION, ValueType, decrypt_data_key, encrypt_data_key,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use zeroize::Zeroizing;

/// The AAD of a value at `database:password:`.
const AAD: &[u8] = b"database:password:";

/// Leaves in the MAC benchmark.
const MAC_LEAVES: usize = 20_000;

/// The value cipher on one 32-byte value, raw and as `ENC[...]` text.
fn cipher(c: &mut Criterion) {
    let key = DataKey::generate().expect("the OS random source works");
    let cipher = ValueCipher::new(&key);
    let plaintext = [0x42u8; 32];
    let iv = [7u8; IV_BYTES];
    let mut group = c.benchmark_group("cipher");
    group.throughput(Throughput::Elements(1));
    group.bench_function("encrypt_32B", |b| {
        b.iter(|| cipher.encrypt(black_box(&plaintext), ValueType::Str, AAD, &iv));
    });
    let encrypted = cipher
        .encrypt(&plaintext, ValueType::Str, AAD, &iv)
        .expect("32 bytes are within GCM's limit");
    group.bench_function("decrypt_32B", |b| {
        b.iter(|| cipher.decrypt(black_box(&encrypted), AAD));
    });
    let value = Value::Str(aesec::Text::new(plaintext.to_vec()));
    group.bench_function("encrypt_value_32B", |b| {
        b.iter(|| cipher.encrypt_value(black_box(&value), AAD, &iv));
    });
    let text = cipher
        .encrypt_value(&value, AAD, &iv)
        .expect("32 bytes are within GCM's limit")
        .expect("a non-empty string is encrypted");
    group.bench_function("decrypt_value_32B", |b| {
        b.iter(|| cipher.decrypt_value(black_box(text.as_bytes()), AAD));
    });
    group.finish();
}

/// The MAC over 20,000 32-byte leaves.
fn mac(c: &mut Criterion) {
    let leaves: Vec<[u8; 32]> = (0..MAC_LEAVES)
        .map(|i| {
            let mut leaf = [b'x'; 32];
            leaf[..8].copy_from_slice(&u64::try_from(i).unwrap_or(0).to_le_bytes());
            leaf
        })
        .collect();
    let mut group = c.benchmark_group("mac");
    group.throughput(Throughput::Elements(MAC_LEAVES as u64));
    group.bench_function("20000_leaves", |b| {
        b.iter(|| {
            let mut hasher = MacHasher::new();
            for leaf in &leaves {
                hasher.add_leaf(leaf, true);
            }
            hasher.finish()
        });
    });
    group.finish();
}

/// Wrapping the data key for one age recipient, and unwrapping it with the identity.
fn data_key(c: &mut Criterion) {
    let identity = GeneratedIdentity::generate();
    let recipient = identity.recipient();
    let mut identities = Identities::new();
    identities
        .add_identity_file_text(
            identity
                .to_identity_file("2026-01-01T00:00:00Z")
                .expose_secret(),
            "bench",
        )
        .expect("a generated identity file parses");
    let key = DataKey::generate().expect("the OS random source works");
    let groups: Vec<Vec<Box<dyn MasterKey>>> = vec![AgeMasterKey::group([recipient])];
    let mut group = c.benchmark_group("data_key");
    group.bench_function("wrap_age_1_recipient", |b| {
        b.iter(|| encrypt_data_key(black_box(&groups), None, &key));
    });
    let (wrapped, _) = encrypt_data_key(&groups, None, &key).expect("age encrypts");
    let Some(entry) = wrapped.first().and_then(|g| g.first()) else {
        unreachable!("one age group was wrapped");
    };
    // A new decryptor each time: one remembers the entries it unwrapped, and this prices the
    // unwrap itself (the X25519 floor of bench/updatekeys.py).
    group.bench_function("unwrap_age_1_recipient", |b| {
        b.iter(|| AgeDecryptor::new(&identities).decrypt(black_box(entry)));
    });
    group.finish();
}

/// A master key that stores its input in hex: measures key-group handling without age.
struct PlainKey(usize);

impl MasterKey for PlainKey {
    fn encrypt(&self, data: &[u8]) -> Result<KeyEntry, MasterKeyError> {
        Ok(KeyEntry::Age {
            recipient: self.identifier(),
            enc: data.iter().map(|b| format!("{b:02x}")).collect(),
        })
    }

    fn identifier(&self) -> String {
        format!("plain-{}", self.0)
    }
}

/// Decrypts [`PlainKey`] entries.
struct PlainDecryptor;

impl KeyDecryptor for PlainDecryptor {
    fn decrypt(&self, entry: &KeyEntry) -> Option<Result<Zeroizing<Vec<u8>>, MasterKeyError>> {
        let KeyEntry::Age { enc, .. } = entry else {
            return None;
        };
        let bytes = (0..enc.len())
            .step_by(2)
            .filter_map(|i| enc.get(i..i + 2))
            .filter_map(|pair| u8::from_str_radix(pair, 16).ok())
            .collect();
        Some(Ok(Zeroizing::new(bytes)))
    }
}

/// Shamir split (3 groups, threshold 2) and combine of the data key, through the key-group
/// code with a trivial master key so that only the sharing is measured.
fn shamir(c: &mut Criterion) {
    let key = DataKey::generate().expect("the OS random source works");
    let groups: Vec<Vec<Box<dyn MasterKey>>> = (0..3)
        .map(|i| vec![Box::new(PlainKey(i)) as Box<dyn MasterKey>])
        .collect();
    let mut group = c.benchmark_group("shamir");
    group.bench_function("split_2_of_3", |b| {
        b.iter(|| encrypt_data_key(black_box(&groups), Some(2), &key));
    });
    let (key_groups, shamir_threshold) =
        encrypt_data_key(&groups, Some(2), &key).expect("plain keys never fail");
    let metadata = Metadata {
        key_groups,
        shamir_threshold,
        last_modified: String::new(),
        mac: String::new(),
        crypt_rule: None,
        mac_only_encrypted: false,
        version: SOPS_VERSION.to_owned(),
    };
    let decryptor = PlainDecryptor;
    group.bench_function("combine_2_of_3", |b| {
        b.iter(|| decrypt_data_key(black_box(&metadata), &[&decryptor]));
    });
    group.finish();
}

criterion_group!(benches, cipher, mac, data_key, shamir);
criterion_main!(benches);
