//! Tampered and malformed input at the library level: every case asserts the error variant,
//! and the key path where one is involved, for each store where the case applies.
//!
//! The fixtures are the sops-made vectors in `tests/vectors/`: a flipped bit in a value's
//! data, IV or tag, a value moved to another key, list elements swapped, an edited MAC or
//! `lastmodified`, a removed recipient, truncation at every offset, invalid syntax, plaintext
//! files, missing keys, `ignore_mac` on a hand-edited file, and clear values injected where the
//! crypt rule requires encryption (issue 6).

mod support;

use std::panic::{self, AssertUnwindSafe};

use aesec::file::{DecryptOptions, FileError, decrypt};
use aesec::keys::age::{GeneratedIdentity, Identities};
use aesec::secrecy::ExposeSecret;
use aesec::sops::{
    AgeDecryptor, AgeMasterKey, DataKeyError, DecryptError, Document, MasterKeyError, OpenError,
    OpenOptions, Recipients, TreePath, ValueError, ValueType,
};
use aesec::store::{EmitOptions, Format, StoreError};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use support::{identities, read};

/// A line of a fixture: the `n`th line (from 0) whose trimmed text starts with `prefix`.
#[derive(Clone, Copy, Debug)]
struct Line(&'static str, usize);

/// One sops-made encrypted file and where its interesting lines are.
struct Fixture {
    file: &'static str,
    key: &'static str,
    format: Format,
    /// An encrypted value, and its key path as errors print it.
    target: (Line, &'static str),
    /// Two encrypted values of the same type under different keys, the first one's key path
    /// (the first to fail when they are exchanged).
    swap: Option<(Line, Line, &'static str)>,
    /// Two encrypted elements of one list.
    list: Option<(Line, Line)>,
    /// A value line that can be deleted and leave a well-formed file.
    removable: Option<Line>,
    lastmodified: Line,
    mac: Line,
    /// A file in this format that is not valid.
    invalid: &'static [u8],
    /// A well-formed file in this format without sops metadata.
    plain: &'static [u8],
}

const VEC_KEY: &str = "vectors/sops/vec.key";
const OTHER_KEY: &str = "vectors/sops/other/key1.txt";

fn fixtures() -> Vec<Fixture> {
    vec![
        Fixture {
            file: "vectors/sops/vec.enc.yaml",
            key: VEC_KEY,
            format: Format::Yaml,
            target: (Line("password: ENC[", 0), r#"["db"]["password"]"#),
            swap: Some((
                Line("user: ENC[", 0),
                Line("password: ENC[", 0),
                r#"["user"]"#,
            )),
            list: Some((Line("- ENC[", 0), Line("- ENC[", 1))),
            removable: Some(Line("port: ", 0)),
            lastmodified: Line("lastmodified:", 0),
            mac: Line("mac: ENC[", 0),
            invalid: b"a: [1, 2\nb: {\n",
            plain: b"user: alice\ndb:\n    password: s3cret\n",
        },
        Fixture {
            file: "vectors/sops/vec.enc.json",
            key: VEC_KEY,
            format: Format::Json,
            target: (Line("\"token\": \"ENC[", 0), r#"["nested"]["token"]"#),
            swap: Some((
                Line("\"user\": \"ENC[", 0),
                Line("\"token\": \"ENC[", 0),
                r#"["user"]"#,
            )),
            list: Some((Line("\"ENC[", 0), Line("\"ENC[", 1))),
            removable: Some(Line("\"n\": ", 0)),
            lastmodified: Line("\"lastmodified\":", 0),
            mac: Line("\"mac\": \"ENC[", 0),
            invalid: b"{\"a\": \"b\",\n",
            plain: b"{\"user\": \"alice\"}\n",
        },
        Fixture {
            file: "vectors/sops/other/sample.enc.env",
            key: OTHER_KEY,
            format: Format::Dotenv,
            target: (Line("DB_PASS=ENC[", 0), r#"["DB_PASS"]"#),
            swap: Some((
                Line("DB_USER=ENC[", 0),
                Line("DB_PASS=ENC[", 0),
                r#"["DB_USER"]"#,
            )),
            list: None,
            removable: Some(Line("MULTI=", 0)),
            lastmodified: Line("sops_lastmodified=", 0),
            mac: Line("sops_mac=ENC[", 0),
            invalid: b"A=1\nno equals sign here\n",
            plain: b"DB_USER=alice\nDB_PASS=s3cret\n",
        },
        Fixture {
            file: "vectors/sops/other/sample.enc.ini",
            key: OTHER_KEY,
            format: Format::Ini,
            target: (Line("password = ENC[", 0), r#"["database"]["password"]"#),
            swap: Some((
                Line("user ", 0),
                Line("password = ENC[", 0),
                r#"["database"]["user"]"#,
            )),
            list: None,
            removable: Some(Line("port = ", 0)),
            lastmodified: Line("lastmodified ", 0),
            mac: Line("mac ", 0),
            invalid: b"[database\nuser = alice\n",
            plain: b"[database]\nuser = alice\n",
        },
        Fixture {
            file: "vectors/binary/sample.bin.enc.json",
            key: VEC_KEY,
            format: Format::Binary,
            target: (Line("\"data\": \"ENC[", 0), r#"["data"]"#),
            swap: None,
            list: None,
            removable: None,
            lastmodified: Line("\"lastmodified\":", 0),
            mac: Line("\"mac\": \"ENC[", 0),
            invalid: b"{\"data\": \"ENC[\n",
            plain: b"{\"data\": \"not encrypted\"}\n",
        },
    ]
}

impl Fixture {
    fn text(&self) -> String {
        String::from_utf8(read(self.file)).expect("the vectors are UTF-8")
    }

    fn identities(&self) -> Identities {
        identities(self.key)
    }

    fn open_with(&self, bytes: &[u8], options: &OpenOptions) -> Result<Document, OpenError> {
        let ids = self.identities();
        let decryptor = AgeDecryptor::new(&ids);
        Document::open(bytes, self.format, &[&decryptor], options)
    }

    fn open(&self, text: &str) -> Result<Document, OpenError> {
        self.open_with(text.as_bytes(), &OpenOptions::default())
    }
}

/// The index of `line` in `lines`.
fn find(lines: &[String], line: Line, file: &str) -> usize {
    lines
        .iter()
        .enumerate()
        .filter(|(_, text)| text.trim_start().starts_with(line.0))
        .nth(line.1)
        .map(|(index, _)| index)
        .unwrap_or_else(|| panic!("{file}: no line {line:?}"))
}

fn lines_of(text: &str) -> Vec<String> {
    text.split_inclusive('\n').map(str::to_owned).collect()
}

/// Applies `edit` to the fixture's line `line` and returns the whole text.
fn edit_line(fixture: &Fixture, line: Line, edit: impl FnOnce(&str) -> String) -> String {
    let mut lines = lines_of(&fixture.text());
    let index = find(&lines, line, fixture.file);
    let edited = edit(&lines[index]);
    assert_ne!(
        edited, lines[index],
        "{}: the edit changes {line:?}",
        fixture.file
    );
    lines[index] = edited;
    lines.concat()
}

/// The `ENC[...]` span of a line, as a byte range.
fn enc_span(line: &str) -> std::ops::Range<usize> {
    let start = line.find("ENC[").expect("the line holds an ENC[...] value");
    let end = start + line[start..].find(']').expect("ENC[...] is closed") + 1;
    start..end
}

/// Flips the lowest bit of the first byte of the base64 `field` (`data`, `iv`, `tag`) of the
/// line's `ENC[...]` value.
fn flip_field(line: &str, field: &str) -> String {
    let span = enc_span(line);
    let value = &line[span.clone()];
    let marker = format!("{field}:");
    let start = value.find(&marker).expect("the field is present") + marker.len();
    let end = start + value[start..].find([',', ']']).expect("fields end");
    let mut bytes = STANDARD
        .decode(&value[start..end])
        .expect("fields are base64");
    bytes[0] ^= 1;
    let flipped = format!(
        "{}{}{}",
        &value[..start],
        STANDARD.encode(&bytes),
        &value[end..]
    );
    format!("{}{flipped}{}", &line[..span.start], &line[span.end..])
}

/// The fixture with the `ENC[...]` values of lines `a` and `b` exchanged.
fn swap_values(fixture: &Fixture, a: Line, b: Line) -> String {
    let mut lines = lines_of(&fixture.text());
    let (ia, ib) = (find(&lines, a, fixture.file), find(&lines, b, fixture.file));
    let (sa, sb) = (enc_span(&lines[ia]), enc_span(&lines[ib]));
    let (va, vb) = (
        lines[ia][sa.clone()].to_owned(),
        lines[ib][sb.clone()].to_owned(),
    );
    lines[ia].replace_range(sa, &vb);
    lines[ib].replace_range(sb, &va);
    lines.concat()
}

fn value_error_path(result: Result<Document, OpenError>) -> (String, String) {
    match result {
        Err(error @ OpenError::Value(DecryptError::Value { .. })) => {
            let display = error.to_string();
            let OpenError::Value(DecryptError::Value { key_path, source }) = error else {
                unreachable!("matched above")
            };
            assert!(
                matches!(source, ValueError::Authentication),
                "authentication error expected, got {source:?}"
            );
            (key_path, display)
        }
        other => panic!("a value error expected, got {other:?}"),
    }
}

#[test]
fn flipped_bit_in_data_iv_or_tag_names_the_key_path() {
    for fixture in fixtures() {
        let (line, path) = fixture.target;
        for field in ["data", "iv", "tag"] {
            let text = edit_line(&fixture, line, |l| flip_field(l, field));
            let (key_path, display) = value_error_path(fixture.open(&text));
            assert_eq!(key_path, path, "{} ({field})", fixture.file);
            assert!(
                display.contains(path),
                "{} ({field}): '{display}' names {path}",
                fixture.file
            );
        }
    }
}

#[test]
fn value_moved_to_another_key_fails_authentication() {
    for fixture in fixtures() {
        let Some((a, b, first_path)) = fixture.swap else {
            continue;
        };
        let text = swap_values(&fixture, a, b);
        let (key_path, display) = value_error_path(fixture.open(&text));
        assert_eq!(key_path, first_path, "{}", fixture.file);
        assert!(display.contains(first_path), "{}: {display}", fixture.file);
    }
}

#[test]
fn swapped_list_elements_fail_the_mac() {
    // List indices are not part of the AAD: both elements decrypt, but the MAC hashes the
    // values in document order.
    let mut tested = 0;
    for fixture in fixtures() {
        let Some((a, b)) = fixture.list else { continue };
        let text = swap_values(&fixture, a, b);
        let result = fixture.open(&text);
        assert!(
            matches!(result, Err(OpenError::MacMismatch)),
            "{}: {result:?}",
            fixture.file
        );
        tested += 1;
    }
    assert_eq!(tested, 2, "YAML and JSON have lists");
}

#[test]
fn edited_mac_is_undecryptable() {
    for fixture in fixtures() {
        for field in ["data", "iv", "tag"] {
            let text = edit_line(&fixture, fixture.mac, |l| flip_field(l, field));
            let result = fixture.open(&text);
            assert!(
                matches!(result, Err(OpenError::MacUndecryptable(_))),
                "{} ({field}): {result:?}",
                fixture.file
            );
        }
    }
}

#[test]
fn edited_lastmodified_makes_the_mac_undecryptable() {
    for fixture in fixtures() {
        // The year 2026 becomes 2025: still a valid timestamp, but not the MAC's AAD.
        let text = edit_line(&fixture, fixture.lastmodified, |l| {
            l.replace("2026-", "2025-")
        });
        let result = fixture.open(&text);
        assert!(
            matches!(result, Err(OpenError::MacUndecryptable(_))),
            "{}: {result:?}",
            fixture.file
        );
    }
}

#[test]
fn ignore_mac_reads_a_hand_edited_file() {
    for fixture in fixtures() {
        let Some(line) = fixture.removable else {
            continue;
        };
        let mut lines = lines_of(&fixture.text());
        lines.remove(find(&lines, line, fixture.file));
        let text = lines.concat();
        let result = fixture.open(&text);
        assert!(
            matches!(result, Err(OpenError::MacMismatch)),
            "{}: {result:?}",
            fixture.file
        );
        let mut options = OpenOptions::default();
        options.ignore_mac = true;
        let ids = fixture.identities();
        let decryptor = AgeDecryptor::new(&ids);
        let mut decrypt_options = DecryptOptions::new(fixture.format, fixture.format);
        decrypt_options.ignore_mac = options.ignore_mac;
        let plain = decrypt(text.as_bytes(), &[&decryptor], &decrypt_options)
            .unwrap_or_else(|e| panic!("{}: ignore_mac: {e}", fixture.file));
        // `"n":`, `port:`, `MULTI=`, `port =`: the key as the plaintext writes it.
        let removed = line.0.trim_end();
        assert!(
            !String::from_utf8_lossy(&plain).contains(removed),
            "{}: the removed value stays removed",
            fixture.file
        );
    }
}

#[test]
fn ignore_mac_reads_an_edited_unencrypted_value() {
    let fixture = &fixtures()[0];
    let text = fixture
        .text()
        .replace("host_unencrypted: db.local", "host_unencrypted: db.evil");
    assert!(matches!(fixture.open(&text), Err(OpenError::MacMismatch)));
    let mut options = OpenOptions::default();
    options.ignore_mac = true;
    let document = fixture
        .open_with(text.as_bytes(), &options)
        .expect("ignore_mac skips the MAC");
    let plain = document
        .to_plaintext(Format::Yaml, &EmitOptions::default())
        .expect("emits");
    assert!(String::from_utf8_lossy(&plain).contains("host_unencrypted: db.evil"));
}

/// The fixture re-sealed for `recipients` only (its own key removed), same values.
fn rewrapped_for(fixture: &Fixture, recipients: &Recipients) -> Vec<u8> {
    let mut document = fixture.open(&fixture.text()).expect("the fixture opens");
    document.rewrap(recipients).expect("rewraps");
    document.seal(&EmitOptions::default()).expect("seals")
}

#[test]
fn removed_recipient_leaves_only_keys_that_are_not_ours() {
    let other = GeneratedIdentity::generate();
    for fixture in fixtures() {
        let recipients =
            Recipients::single_group(vec![Box::new(AgeMasterKey::new(other.recipient()))]);
        let bytes = rewrapped_for(&fixture, &recipients);
        let result = fixture.open_with(&bytes, &OpenOptions::default());
        let Err(OpenError::DataKey(DataKeyError::Failed { groups, .. })) = &result else {
            panic!(
                "{}: a data-key error expected, got {result:?}",
                fixture.file
            );
        };
        let failures: Vec<_> = groups.iter().flat_map(|g| &g.failures).collect();
        assert_eq!(failures.len(), 1, "{}", fixture.file);
        assert!(
            matches!(
                &failures[0].error,
                MasterKeyError::NoMatchingIdentity { recipient } if *recipient == other.recipient().to_string()
            ),
            "{}: {:?}",
            fixture.file,
            failures[0].error
        );
        // The other key still opens it.
        let mut ids = Identities::new();
        ids.add_identity_file_text(
            other
                .to_identity_file("2026-01-01T00:00:00Z")
                .expose_secret(),
            "generated",
        )
        .expect("a generated identity parses");
        let decryptor = AgeDecryptor::new(&ids);
        Document::open(
            &bytes,
            fixture.format,
            &[&decryptor],
            &OpenOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{}: the remaining key opens it: {e}", fixture.file));
    }
}

#[test]
fn removed_recipient_entry_in_yaml_text() {
    // Two recipients, ours and another; the lines of our entry are deleted by hand.
    let fixture = &fixtures()[0];
    let ours = identities(fixture.key);
    let other = GeneratedIdentity::generate();
    let our_recipient = "age1m69ryw24zjg9pmxr033synsftwkt4f8nh7xp7cm07at3n3r67yfswcwm58";
    let recipients = Recipients::single_group(vec![
        Box::new(AgeMasterKey::new(
            our_recipient.parse().expect("valid recipient"),
        )),
        Box::new(AgeMasterKey::new(other.recipient())),
    ]);
    let text = String::from_utf8(rewrapped_for(fixture, &recipients)).expect("UTF-8");
    let lines = lines_of(&text);
    let start = lines
        .iter()
        .position(|l| l.contains(our_recipient))
        .expect("our entry is written");
    let end = start
        + 1
        + lines[start + 1..]
            .iter()
            .position(|l| l.starts_with("        - ") || !l.starts_with("      "))
            .expect("the entry ends");
    let edited = [&lines[..start], &lines[end..]].concat().concat();
    assert!(!edited.contains(our_recipient));
    assert!(edited.contains(&other.recipient().to_string()));
    let decryptor = AgeDecryptor::new(&ours);
    let result = Document::open(
        edited.as_bytes(),
        Format::Yaml,
        &[&decryptor],
        &OpenOptions::default(),
    );
    assert!(
        matches!(result, Err(OpenError::DataKey(DataKeyError::Failed { .. }))),
        "{result:?}"
    );
}

#[test]
fn truncated_files_never_panic() {
    for fixture in fixtures() {
        let bytes = read(fixture.file);
        // Everything before the `version` line of the metadata is required.
        let text = fixture.text();
        let required = text.rfind("version").expect("the vectors have a version");
        for len in 0..bytes.len() {
            let truncated = &bytes[..len];
            let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
                fixture.open_with(truncated, &OpenOptions::default())
            }));
            let result = outcome.unwrap_or_else(|_| {
                panic!("{}: panic when truncated to {len} bytes", fixture.file)
            });
            if len < required {
                assert!(
                    result.is_err(),
                    "{}: truncated to {len} bytes still opens",
                    fixture.file
                );
            }
        }
    }
}

#[test]
fn invalid_syntax_is_a_store_error() {
    for fixture in fixtures() {
        let result = fixture.open_with(fixture.invalid, &OpenOptions::default());
        assert!(
            matches!(
                (fixture.format, &result),
                (_, Err(OpenError::Store(StoreError::Syntax { .. })))
                    | (
                        Format::Dotenv,
                        Err(OpenError::Store(StoreError::DotenvLine { line: 2 }))
                    )
            ),
            "{}: {result:?}",
            fixture.file
        );
    }
}

#[test]
fn plaintext_is_not_encrypted() {
    for fixture in fixtures() {
        let result = fixture.open_with(fixture.plain, &OpenOptions::default());
        assert!(
            matches!(result, Err(OpenError::NotEncrypted)),
            "{}: {result:?}",
            fixture.file
        );
        assert!(!aesec::file::is_encrypted(fixture.plain, fixture.format));
        assert!(aesec::file::is_encrypted(
            &read(fixture.file),
            fixture.format
        ));
    }
}

#[test]
fn no_usable_key_is_a_data_key_error() {
    let stranger = GeneratedIdentity::generate();
    let mut wrong = Identities::new();
    wrong
        .add_identity_file_text(
            stranger
                .to_identity_file("2026-01-01T00:00:00Z")
                .expose_secret(),
            "stranger",
        )
        .expect("a generated identity parses");
    for fixture in fixtures() {
        let bytes = read(fixture.file);
        for ids in [&Identities::new(), &wrong] {
            let decryptor = AgeDecryptor::new(ids);
            let result = Document::open(
                &bytes,
                fixture.format,
                &[&decryptor],
                &OpenOptions::default(),
            );
            let Err(OpenError::DataKey(DataKeyError::Failed {
                groups,
                needed,
                recovered,
            })) = &result
            else {
                panic!("{}: {result:?}", fixture.file);
            };
            assert_eq!((*needed, *recovered), (1, 0), "{}", fixture.file);
            assert!(
                groups
                    .iter()
                    .flat_map(|g| &g.failures)
                    .all(|f| f.kind == "age"),
                "{}",
                fixture.file
            );
        }
        // Through the file API too.
        let decryptor = AgeDecryptor::new(&wrong);
        let result = decrypt(
            &bytes,
            &[&decryptor],
            &DecryptOptions::new(fixture.format, fixture.format),
        );
        assert!(
            matches!(result, Err(FileError::Open(OpenError::DataKey(_)))),
            "{}",
            fixture.file
        );
    }
}

#[test]
fn debug_of_an_open_document_shows_no_plaintext() {
    let secrets: &[&str] = &["alice", "5432", "s3cret", "db.local", "top-level comment"];
    let fixture = &fixtures()[0];
    let document = fixture.open(&fixture.text()).expect("opens");
    let debug = format!("{document:?} {:?}", document.tree());
    for secret in secrets {
        assert!(!debug.contains(secret), "Debug shows '{secret}': {debug}");
    }
    // The Shamir vector's data key is known: it must not appear in any encoding.
    let ids = {
        let mut ids = identities("vectors/sops/shamir/key1.txt");
        ids.extend(identities("vectors/sops/shamir/key2.txt"));
        ids
    };
    let decryptor = AgeDecryptor::new(&ids);
    let document = Document::open(
        &read("vectors/sops/shamir/s.enc.yaml"),
        Format::Yaml,
        &[&decryptor],
        &OpenOptions::default(),
    )
    .expect("two of three groups open the Shamir vector");
    let key = read("vectors/sops/shamir/datakey.bin");
    let debug = format!("{document:?}");
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    assert!(!debug.to_lowercase().contains(&hex));
    assert!(!debug.contains(&STANDARD.encode(&key)));
    assert!(!debug.contains(&format!("{:?}", key.as_slice())));
    assert!(!debug.contains("s3cret") && !debug.contains("hunter"));
}

/// The fixture with the `ENC[...]` value of `line` replaced by `clear`.
fn with_clear_value(fixture: &Fixture, line: Line, clear: &str) -> String {
    edit_line(fixture, line, |l| {
        let span = enc_span(l);
        format!("{}{clear}{}", &l[..span.start], &l[span.end..])
    })
}

/// The key path and type of a [`DecryptError::NotEncrypted`] refusal.
fn not_encrypted(result: Result<Document, OpenError>) -> (String, ValueType) {
    match result {
        Err(OpenError::Value(DecryptError::NotEncrypted { key_path, found })) => (key_path, found),
        other => panic!("a clear-value refusal expected, got {other:?}"),
    }
}

/// Regression (issue 6): a value in clear where the file's crypt rule requires encryption is
/// refused (sops 3.11: "Could not decrypt value: Input string … does not match sops' data
/// format", exit 25), in every store, with or without the MAC check.
#[test]
fn clear_value_in_an_encrypted_position_is_refused() {
    for fixture in fixtures() {
        let (line, path) = fixture.target;
        let text = with_clear_value(&fixture, line, "injected");
        for ignore_mac in [false, true] {
            let mut options = OpenOptions::default();
            options.ignore_mac = ignore_mac;
            let (key_path, found) = not_encrypted(fixture.open_with(text.as_bytes(), &options));
            assert_eq!(
                (key_path.as_str(), found),
                (path, ValueType::Str),
                "{}",
                fixture.file
            );
        }
    }
}

/// Regression (issue 6): the attacks that keep the MAC valid, because the MAC hashes the
/// plaintext values in order without their key names or types. Each was decrypted with exit 0
/// before; each is refused now, as sops 3.11 refuses it.
#[test]
fn mac_preserving_injections_are_refused() {
    let yaml = &fixtures()[0];
    let dotenv = &fixtures()[2];
    let cases: [(&Fixture, String, &str, ValueType); 5] = [
        // A clear value renamed under a key the rule encrypts.
        (
            yaml,
            yaml.text()
                .replace("host_unencrypted: db.local", "admin_token: db.local"),
            r#"["db"]["admin_token"]"#,
            ValueType::Str,
        ),
        // One clear value split in two, the second half under an encrypted key.
        (
            yaml,
            yaml.text().replace(
                "    host_unencrypted: db.local\n",
                "    host_unencrypted: db.\n    injected: local\n",
            ),
            r#"["db"]["injected"]"#,
            ValueType::Str,
        ),
        // An encrypted value replaced by its plaintext as a number or a boolean: `5432` and
        // `True` hash as the ciphertexts' plaintexts did (sops 3.11 panics on these, exit 2).
        (
            yaml,
            with_clear_value(yaml, Line("port: ENC[", 0), "5432"),
            r#"["port"]"#,
            ValueType::Int,
        ),
        (
            yaml,
            with_clear_value(yaml, Line("enabled: ENC[", 0), "true"),
            r#"["enabled"]"#,
            ValueType::Bool,
        ),
        (
            dotenv,
            dotenv
                .text()
                .replace("some_unencrypted=plain", "API_TOKEN=plain"),
            r#"["API_TOKEN"]"#,
            ValueType::Str,
        ),
    ];
    for (fixture, text, path, expected) in cases {
        let (key_path, found) = not_encrypted(fixture.open(&text));
        assert_eq!((key_path.as_str(), found), (path, expected), "{text}");
    }
    // Where the rule leaves the renamed key in clear, the format cannot tell: the MAC still
    // matches (the README's security model says so, and `check` cannot see it either).
    let renamed = yaml
        .text()
        .replace("host_unencrypted: db.local", "admin_unencrypted: db.local");
    assert!(yaml.open(&renamed).is_ok());
}

/// Regression (issue 6): every library entry point that opens a file refuses the rename attack,
/// so `set` and `rotate` cannot launder an injected value into a fresh `ENC[...]` and MAC.
#[test]
fn every_entry_point_refuses_an_injected_clear_value() {
    let fixture = &fixtures()[0];
    let text = fixture
        .text()
        .replace("host_unencrypted: db.local", "admin_token: db.local");
    let ids = fixture.identities();
    let decryptor = AgeDecryptor::new(&ids);
    let decryptors: [&dyn aesec::sops::KeyDecryptor; 1] = [&decryptor];
    let path: TreePath = r#"["db"]["password"]"#.parse().expect("a valid path");
    let emit = EmitOptions::default();
    let change = aesec::file::ChangeOptions::new(Format::Yaml);
    let mut extract = DecryptOptions::new(Format::Yaml, Format::Yaml);
    extract.extract = Some(path.clone());
    let results: [(&str, Result<(), FileError>); 5] = [
        (
            "decrypt",
            decrypt(
                text.as_bytes(),
                &decryptors,
                &DecryptOptions::new(Format::Yaml, Format::Yaml),
            )
            .map(drop),
        ),
        (
            "extract",
            decrypt(text.as_bytes(), &decryptors, &extract).map(drop),
        ),
        (
            "set",
            aesec::file::set(
                text.as_bytes(),
                &decryptors,
                &path,
                aesec::Value::Str("x".into()),
                &change,
            )
            .map(drop),
        ),
        (
            "unset",
            aesec::file::unset(text.as_bytes(), &decryptors, &path, &change).map(drop),
        ),
        (
            "rotate",
            aesec::file::rotate(
                text.as_bytes(),
                Format::Yaml,
                &decryptors,
                aesec::file::KeyChanges::default(),
                &emit,
            )
            .map(drop),
        ),
    ];
    for (operation, result) in results {
        assert!(
            matches!(
                &result,
                Err(FileError::Open(OpenError::Value(DecryptError::NotEncrypted { key_path, .. })))
                    if key_path == r#"["db"]["admin_token"]"#
            ),
            "{operation}: {result:?}"
        );
    }
}
