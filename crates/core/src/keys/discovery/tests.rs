//! Tests of key discovery: order, merging, skipping, errors, the key command and word splitting.

use std::io::{Read, Write};
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::command::split_command;
use super::*;
use crate::keys::age::GeneratedIdentity;
use crate::keys::ssh::NoPrompt;
use crate::test_support::TempDir;

const V1_KEY: &str = include_str!("../../../tests/vectors/ssh/id_ed25519");
const V4_KEY: &str = include_str!("../../../tests/vectors/ssh/id_ed25519_passphrase");
const V1_AGE: &str = "age17044m9wgakla6pzftf4srtl3h5mcsr85jysgt5fg23zpnta8sfdqhzn452";
const V4_AGE: &str = "age1pa3t6c94xl4z6k02rt0lw2za7e7tdjsse46xjh8y7tluy59qu5tqaqgauq";

/// A prompt that always answers with the same passphrase and counts its calls.
struct FixedPrompt(&'static str, AtomicUsize);

impl PassphrasePrompt for FixedPrompt {
    fn passphrase(&self, _key_description: &str) -> Option<SecretString> {
        self.1.fetch_add(1, Ordering::Relaxed);
        Some(SecretString::from(self.0.to_owned()))
    }
}

fn key_text(key: &GeneratedIdentity) -> String {
    key.to_identity_file("2026-01-01T00:00:00Z")
        .expose_secret()
        .to_owned()
}

fn encrypt_to(recipient: &str) -> Vec<u8> {
    let recipient = crate::keys::age::Recipient::from_str(recipient).unwrap();
    let encryptor = age::Encryptor::with_recipients(std::iter::once(recipient.as_age())).unwrap();
    let mut out = Vec::new();
    let mut writer = encryptor.wrap_output(&mut out).unwrap();
    writer.write_all(b"data key").unwrap();
    writer.finish().unwrap();
    out
}

fn decrypts(identities: &Identities, ciphertext: &[u8]) -> bool {
    let Ok(decryptor) = age::Decryptor::new(ciphertext) else {
        return false;
    };
    let Ok(mut reader) = decryptor.decrypt(identities.iter()) else {
        return false;
    };
    let mut out = Vec::new();
    reader.read_to_end(&mut out).is_ok() && out == b"data key"
}

#[test]
fn all_sources_are_merged_in_order() {
    let dir = TempDir::new("discovery-merge");
    let (env_key, file_key, cmd_key, default_key, identity_key) = (
        GeneratedIdentity::generate(),
        GeneratedIdentity::generate(),
        GeneratedIdentity::generate(),
        GeneratedIdentity::generate(),
        GeneratedIdentity::generate(),
    );
    let home = dir.0.join("home");
    dir.write("home/.ssh/id_ed25519", V1_KEY);
    let ssh_file = dir.write("ssh/host_key", V4_KEY);
    let key_file = dir.write("keys/file.txt", key_text(&file_key));
    let cmd_file = dir.write("keys/cmd with space.txt", key_text(&cmd_key));
    dir.write("home/.config/sops/age/keys.txt", key_text(&default_key));
    let identity_file = dir.write("keys/identity.txt", key_text(&identity_key));

    let sources = Sources::new()
        .identity_file(&identity_file)
        .ssh_private_key_file(&ssh_file)
        .home_dir(&home)
        .age_key(SecretString::from(key_text(&env_key)))
        .age_key_file(&key_file)
        .age_key_cmd(format!("cat '{}'", cmd_file.display()));
    let prompt = FixedPrompt("test", AtomicUsize::new(0));
    let identities = discover(&sources, &prompt).unwrap();
    assert_eq!(prompt.1.load(Ordering::Relaxed), 1);

    let names = identities.source_names();
    let expected = [
        format!("--identity '{}'", identity_file.display()),
        format!("SOPS_AGE_SSH_PRIVATE_KEY_FILE '{}'", ssh_file.display()),
        format!("'{}'", home.join(".ssh/id_ed25519").display()),
        "SOPS_AGE_KEY".to_owned(),
        format!("SOPS_AGE_KEY_FILE '{}'", key_file.display()),
        "SOPS_AGE_KEY_CMD".to_owned(),
        format!("'{}'", home.join(".config/sops/age/keys.txt").display()),
    ];
    assert_eq!(
        names,
        expected.iter().map(String::as_str).collect::<Vec<_>>()
    );
    // 2 per ssh key (native + converted), 1 per age key.
    assert_eq!(identities.len(), 2 + 2 + 5);

    for recipient in [
        V1_AGE.to_owned(),
        V4_AGE.to_owned(),
        env_key.recipient().to_string(),
        file_key.recipient().to_string(),
        cmd_key.recipient().to_string(),
        default_key.recipient().to_string(),
        identity_key.recipient().to_string(),
        include_str!("../../../tests/vectors/ssh/id_ed25519.pub").to_owned(),
    ] {
        assert!(
            decrypts(&identities, &encrypt_to(&recipient)),
            "{recipient}"
        );
    }
    let shown = format!("{identities:?} {sources:?}");
    assert!(
        !shown.contains("AGE-SECRET-KEY") && !shown.contains("OPENSSH"),
        "{shown}"
    );
}

#[test]
fn xdg_config_dir_wins_over_home() {
    let dir = TempDir::new("discovery-xdg");
    let key = GeneratedIdentity::generate();
    dir.write("xdg/sops/age/keys.txt", key_text(&key));
    let sources = Sources::new()
        .home_dir(dir.0.join("home"))
        .config_dir(dir.0.join("xdg"));
    let found = discover_all(&sources, &NoPrompt);
    assert!(found.errors.is_empty(), "{:?}", found.errors);
    assert_eq!(found.identities.len(), 1);
    // The missing ~/.ssh keys were skipped, not errors.
    assert_eq!(found.skipped.len(), 2, "{:?}", found.skipped);
}

#[test]
fn missing_default_files_are_skipped() {
    let dir = TempDir::new("discovery-empty");
    let sources = Sources::new().home_dir(&dir.0);
    let found = discover_all(&sources, &NoPrompt);
    assert!(found.identities.is_empty());
    assert!(found.errors.is_empty());
    assert_eq!(found.skipped.len(), 3);
    assert!(discover(&sources, &NoPrompt).unwrap().is_empty());
}

#[test]
fn named_missing_files_are_errors() {
    let dir = TempDir::new("discovery-missing");
    let missing = dir.0.join("nope.txt");
    for sources in [
        Sources::new().age_key_file(&missing),
        Sources::new().ssh_private_key_file(&missing),
        Sources::new().identity_file(&missing),
    ] {
        let error = discover(&sources, &NoPrompt).unwrap_err();
        assert!(
            matches!(&error, DiscoveryError::Read { source_name, .. } if source_name.contains("nope.txt")),
            "{error:?}"
        );
    }
}

#[test]
fn bad_sources_are_errors_naming_them() {
    let dir = TempDir::new("discovery-bad");
    let bad = dir.write("bad.txt", "this is not a key\n");
    let error = discover(&Sources::new().age_key_file(&bad), &NoPrompt).unwrap_err();
    assert!(
        matches!(&error, DiscoveryError::Identities { source_name, .. } if source_name.contains("bad.txt"))
    );
    let error = discover(
        &Sources::new().age_key(SecretString::from("garbage".to_owned())),
        &NoPrompt,
    )
    .unwrap_err();
    assert!(
        matches!(&error, DiscoveryError::Identities { source_name, .. } if source_name == "SOPS_AGE_KEY")
    );
    // sops goes on with the other sources; discover_all does the same.
    let good = GeneratedIdentity::generate();
    let sources = Sources::new()
        .age_key_file(&bad)
        .age_key(SecretString::from(key_text(&good)));
    let found = discover_all(&sources, &NoPrompt);
    assert_eq!(found.identities.len(), 1);
    assert_eq!(found.errors.len(), 1);
}

#[test]
fn encrypted_ssh_keys_need_a_passphrase() {
    let dir = TempDir::new("discovery-encrypted");
    let key = dir.write("host_key", V4_KEY);
    // Named: no passphrase is an error.
    let error = discover(&Sources::new().ssh_private_key_file(&key), &NoPrompt).unwrap_err();
    assert!(matches!(
        error,
        DiscoveryError::SshKey {
            source: SshToAgeError::PassphraseRequired,
            ..
        }
    ));
    let wrong = FixedPrompt("wrong", AtomicUsize::new(0));
    let error = discover(&Sources::new().ssh_private_key_file(&key), &wrong).unwrap_err();
    assert!(matches!(
        error,
        DiscoveryError::SshKey {
            source: SshToAgeError::WrongPassphrase,
            ..
        }
    ));
    // Default (~/.ssh/id_ed25519): skipped without a passphrase.
    dir.write("home/.ssh/id_ed25519", V4_KEY);
    let found = discover_all(&Sources::new().home_dir(dir.0.join("home")), &NoPrompt);
    assert!(found.errors.is_empty(), "{:?}", found.errors);
    assert!(found.identities.is_empty());
    assert!(found.skipped.iter().any(|note| note.contains("passphrase")));
}

#[test]
fn passphrase_protected_identity_files_decrypt() {
    let dir = TempDir::new("discovery-scrypt");
    let key = GeneratedIdentity::generate();
    let encryptor = age::Encryptor::with_user_passphrase(SecretString::from("pw".to_owned()));
    let mut armored = Vec::new();
    let armor =
        age::armor::ArmoredWriter::wrap_output(&mut armored, age::armor::Format::AsciiArmor)
            .unwrap();
    let mut writer = encryptor.wrap_output(armor).unwrap();
    writer
        .write_all(key.to_identity_file("now").expose_secret().as_bytes())
        .unwrap();
    writer.finish().unwrap().finish().unwrap();
    let path = dir.0.join("keys.age");
    std::fs::write(&path, &armored).unwrap();

    let prompt = FixedPrompt("pw", AtomicUsize::new(0));
    let identities = discover(&Sources::new().identity_file(&path), &prompt).unwrap();
    assert!(decrypts(
        &identities,
        &encrypt_to(&key.recipient().to_string())
    ));
    assert!(matches!(
        discover(&Sources::new().identity_file(&path), &NoPrompt),
        Err(DiscoveryError::EncryptedIdentityFile { .. })
    ));
}

#[test]
fn key_command_failures() {
    assert!(matches!(
        discover(&Sources::new().age_key_cmd("false"), &NoPrompt),
        Err(DiscoveryError::KeyCommand {
            source: crate::process::ProcessError::Failed { program, .. }
        }) if program == std::path::Path::new("false")
    ));
    assert!(matches!(
        discover(
            &Sources::new().age_key_cmd("/nonexistent/aesec-key-cmd"),
            &NoPrompt
        ),
        Err(DiscoveryError::KeyCommand {
            source: crate::process::ProcessError::Spawn { .. }
        })
    ));
    assert!(matches!(
        discover(&Sources::new().age_key_cmd("echo 'unterminated"), &NoPrompt),
        Err(DiscoveryError::KeyCommandSyntax { .. })
    ));
    assert!(matches!(
        discover(&Sources::new().age_key_cmd("   "), &NoPrompt),
        Err(DiscoveryError::KeyCommandSyntax { .. })
    ));
    assert!(matches!(
        discover(&Sources::new().age_key_cmd("echo not-a-key"), &NoPrompt),
        Err(DiscoveryError::Identities { source_name, .. }) if source_name == "SOPS_AGE_KEY_CMD"
    ));
}

#[test]
fn words_split_like_a_shell() {
    let cases: &[(&str, &[&str])] = &[
        ("a b  c", &["a", "b", "c"]),
        ("  pass show 'age key' ", &["pass", "show", "age key"]),
        (
            r#"op read "op://vault/age key/\"x\"""#,
            &["op", "read", r#"op://vault/age key/"x""#],
        ),
        (r"a\ b c\\d", &["a b", r"c\d"]),
        (r#""a\nb" ''"#, &[r"a\nb", ""]),
        ("x'y'\"z\"", &["xyz"]),
    ];
    for (input, expected) in cases {
        assert_eq!(split_command(input).unwrap(), *expected, "{input}");
    }
    assert_eq!(split_command("").unwrap(), Vec::<String>::new());
    assert!(split_command("a\\").is_err());
    assert!(split_command("\"a").is_err());
    assert!(split_command("'a").is_err());
}

#[test]
fn describe_lists_every_place() {
    let sources = Sources::new()
        .home_dir("/home/u")
        .age_key_file("/k.txt")
        .identity_file("/id");
    assert_eq!(
        describe(&sources),
        [
            "--identity '/id'",
            "SOPS_AGE_SSH_PRIVATE_KEY_FILE (not set)",
            "'/home/u/.ssh/id_ed25519'",
            "'/home/u/.ssh/id_rsa'",
            "SOPS_AGE_KEY (not set)",
            "SOPS_AGE_KEY_FILE '/k.txt'",
            "SOPS_AGE_KEY_CMD (not set)",
            "'/home/u/.config/sops/age/keys.txt'",
        ]
    );
}
