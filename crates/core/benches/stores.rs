//! Benchmarks of the stores and the tree cipher on generated documents of 2,000 and 20,000 keys:
//! YAML and JSON parse and emit (flat and nested), `encrypt_tree`/`decrypt_tree`, and whole-file
//! `aesec::file::encrypt`/`decrypt` of a YAML document. Throughput is reported per key so the
//! two sizes show whether the cost is linear.
//!
//! Run with `cargo bench -p aesec --bench stores`; CI smoke-runs it with `-- --quick`.

use std::hint::black_box;

use aesec::file::{DecryptOptions, EncryptOptions, decrypt, encrypt};
use aesec::fuzzing::bench::{decrypt_tree, encrypt_tree};
use aesec::keys::age::{GeneratedIdentity, Identities};
use aesec::secrecy::ExposeSecret;
use aesec::sops::{AgeDecryptor, AgeMasterKey, DataKey, Recipients};
use aesec::store::{EmitOptions, StoreError, json, yaml};
use aesec::{CryptRule, Item, Text, Tree, Value};
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

/// Document sizes, in keys (leaves).
const SIZES: [usize; 2] = [2_000, 20_000];

/// Keys per map in nested documents (three levels: sections, groups, keys).
const FAN_OUT: usize = 10;

/// The value of leaf `i`: mostly strings, with ints and bools mixed in as real files have.
fn leaf(i: usize) -> Value {
    match i % 5 {
        0 => Value::Int(i64::try_from(i).unwrap_or(i64::MAX)),
        1 => Value::Bool(i.is_multiple_of(2)),
        _ => Value::Str(Text::from(format!("value-{i:06}-s3cr3t-p4ssw0rd"))),
    }
}

/// A one-level document of `keys` entries.
fn flat(keys: usize) -> Tree {
    Tree::single(
        (0..keys)
            .map(|i| Item::Entry {
                key: format!("key_{i:06}"),
                value: leaf(i),
            })
            .collect(),
    )
}

/// A three-level document of `keys` leaves: sections of [`FAN_OUT`] groups of [`FAN_OUT`] keys.
fn nested(keys: usize) -> Tree {
    let per_section = FAN_OUT * FAN_OUT;
    let sections = keys.div_ceil(per_section);
    Tree::single(
        (0..sections)
            .map(|s| Item::Entry {
                key: format!("section_{s:04}"),
                value: Value::Map(
                    (0..FAN_OUT)
                        .map(|g| Item::Entry {
                            key: format!("group_{g}"),
                            value: Value::Map(
                                (0..FAN_OUT)
                                    .map(|k| Item::Entry {
                                        key: format!("key_{k}"),
                                        value: leaf(s * per_section + g * FAN_OUT + k),
                                    })
                                    .collect(),
                            ),
                        })
                        .collect(),
                ),
            })
            .collect(),
    )
}

/// The generated documents: (shape, keys, tree).
fn documents() -> Vec<(&'static str, usize, Tree)> {
    SIZES
        .iter()
        .flat_map(|&keys| [("flat", keys, flat(keys)), ("nested", keys, nested(keys))])
        .collect()
}

/// A store's emitter with the default layout.
type EmitFn = fn(&Tree) -> Result<zeroize::Zeroizing<Vec<u8>>, StoreError>;

/// A store's parser.
type ParseFn = fn(&[u8]) -> Result<Tree, StoreError>;

/// YAML and JSON parse and emit of flat and nested documents.
fn stores(c: &mut Criterion) {
    let stores: [(&str, EmitFn, ParseFn); 2] = [
        ("yaml", |tree| yaml::emit(tree, 4), yaml::parse),
        (
            "json",
            |tree| json::emit(tree, EmitOptions::default().json_indent),
            json::parse,
        ),
    ];
    for (format, emit_fn, parse_fn) in stores {
        let mut parse_group = c.benchmark_group(format!("{format}_parse"));
        let mut inputs = Vec::new();
        for (shape, keys, tree) in documents() {
            let bytes = emit_fn(&tree).expect("generated documents emit");
            parse_group.throughput(Throughput::Elements(keys as u64));
            parse_group.bench_with_input(BenchmarkId::new(shape, keys), &bytes, |b, bytes| {
                b.iter(|| parse_fn(black_box(bytes)));
            });
            inputs.push((
                shape,
                keys,
                parse_fn(&bytes).expect("emitted output parses"),
            ));
        }
        parse_group.finish();
        let mut emit_group = c.benchmark_group(format!("{format}_emit"));
        for (shape, keys, tree) in &inputs {
            emit_group.throughput(Throughput::Elements(*keys as u64));
            emit_group.bench_with_input(BenchmarkId::new(*shape, keys), tree, |b, tree| {
                b.iter(|| emit_fn(black_box(tree)));
            });
        }
        emit_group.finish();
    }
}

/// `encrypt_tree` and `decrypt_tree` of flat documents (the AES-GCM and MAC work of a file).
fn tree_cipher(c: &mut Criterion) {
    let key = DataKey::generate().expect("the OS random source works");
    let rule = CryptRule::default();
    let mut group = c.benchmark_group("tree");
    for keys in SIZES {
        let plain = flat(keys);
        group.throughput(Throughput::Elements(keys as u64));
        group.bench_with_input(BenchmarkId::new("encrypt", keys), &plain, |b, plain| {
            b.iter_batched(
                || plain.clone(),
                |mut tree| {
                    encrypt_tree(&mut tree, &key, Some(&rule)).expect("generated values encrypt");
                    tree
                },
                BatchSize::LargeInput,
            );
        });
        let mut encrypted = plain.clone();
        encrypt_tree(&mut encrypted, &key, Some(&rule)).expect("generated values encrypt");
        group.bench_with_input(BenchmarkId::new("decrypt", keys), &encrypted, |b, enc| {
            b.iter_batched(
                || enc.clone(),
                |mut tree| {
                    decrypt_tree(&mut tree, &key, Some(&rule))
                        .expect("values decrypt with their key");
                    tree
                },
                BatchSize::LargeInput,
            );
        });
    }
    group.finish();
}

/// Whole-file `encrypt` and `decrypt` of a flat YAML document for one age recipient.
fn file(c: &mut Criterion) {
    let identity = GeneratedIdentity::generate();
    let mut identities = Identities::new();
    identities
        .add_identity_file_text(
            identity
                .to_identity_file("2026-01-01T00:00:00Z")
                .expose_secret(),
            "bench",
        )
        .expect("a generated identity file parses");
    let recipients = Recipients::single_group(AgeMasterKey::group([identity.recipient()]));
    let decryptor = AgeDecryptor::new(&identities);
    let format = aesec::store::Format::Yaml;
    let mut group = c.benchmark_group("file_yaml");
    group.sample_size(10);
    for keys in SIZES {
        let plaintext = yaml::emit(&flat(keys), 4).expect("generated documents emit");
        let encrypt_options = EncryptOptions::new(format, format);
        group.throughput(Throughput::Elements(keys as u64));
        group.bench_with_input(BenchmarkId::new("encrypt", keys), &plaintext, |b, plain| {
            b.iter(|| encrypt(black_box(plain), &recipients, &encrypt_options));
        });
        let encrypted =
            encrypt(&plaintext, &recipients, &encrypt_options).expect("the document encrypts");
        let decrypt_options = DecryptOptions::new(format, format);
        group.bench_with_input(BenchmarkId::new("decrypt", keys), &encrypted, |b, enc| {
            b.iter(|| decrypt(black_box(enc), &[&decryptor], &decrypt_options));
        });
    }
    group.finish();
}

criterion_group!(benches, stores, tree_cipher, file);
criterion_main!(benches);
