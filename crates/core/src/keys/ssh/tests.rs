//! Tests of the SSH → age conversion: ssh-to-age's vectors, parsing edge cases, every
//! `ssh-keygen -Z` cipher, and interop with Go `age` / `age-keygen`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use proptest::prelude::*;
use ssh_key::private::Ed25519Keypair;

use super::*;
use crate::test_support::TempDir;

const V1_PUB: &str = include_str!("../../../tests/vectors/ssh/id_ed25519.pub");
const V1_KEY: &str = include_str!("../../../tests/vectors/ssh/id_ed25519");
const V4_PUB: &str = include_str!("../../../tests/vectors/ssh/id_ed25519_passphrase.pub");
const V4_KEY: &str = include_str!("../../../tests/vectors/ssh/id_ed25519_passphrase");
const KEYSCAN: &str = include_str!("../../../tests/vectors/ssh/keyscan.txt");

const V1_AGE: &str = "age17044m9wgakla6pzftf4srtl3h5mcsr85jysgt5fg23zpnta8sfdqhzn452";
const V1_SECRET: &str =
    "AGE-SECRET-KEY-1K3VN4N03PTHJWSJSCCMQCN33RY5FSKQPJ4KRRTG3JMQUYE0TUSEQEDH6V8";
const V1_CLAMPED: &str =
    "AGE-SECRET-KEY-1KPVN4N03PTHJWSJSCCMQCN33RY5FSKQPJ4KRRTG3JMQUYE0TU3EQRHV8XC";
const V2_AGE: &str = "age1hjm3aujg9e79f5yth8a2cejzdjg5n9vnu96l05p70uvfpeltnpms7yy3pp";
const V3_AGE: &str = "age1v8zjc47jmlqwefyu66s0d4ke98qr4vnuj3cpvs4z9npfdw833dxqwjrhzv";
const V4_AGE: &str = "age1pa3t6c94xl4z6k02rt0lw2za7e7tdjsse46xjh8y7tluy59qu5tqaqgauq";
const V4_SECRET: &str =
    "AGE-SECRET-KEY-1EJQ0DZ679RZ4MF6KDC8L8F327SHUULYD5XP53C08ZHYT0KQLNWJQHG7X8P";
const V5_PUB: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBI1+Q+ntzANebtnicCiAY29uqLGWOaOGLEa8bUqOVmS";
const V5_AGE: &str = "age1a8pk4akrdamj7nvqy3zywgtny8dxz7t5xzu7u8v9mhrayp9freqsqatyrs";
const ED25519_B64: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIOHz+U0YtjINc54dZiJNclfmEFifF7RXCFlNlTbuZBji";
const ECDSA_LINE: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBDqRsnhKXqfpkB1vddtJpQCgtl5ijbavzhVu6aYk8VjQkmXw3w2l9h5N8g8ALAmeVG8ZMaqRr05ZzjGh9Gc21R4= host";

fn passphrase(text: &str) -> SecretString {
    SecretString::from(text.to_owned())
}

// ---------------------------------------------------------------------------------------------
// ssh-to-age vectors

#[test]
fn public_vectors_v1_to_v5() {
    let v1 = public_key_to_age(V1_PUB).unwrap();
    assert_eq!(v1.recipient.to_string(), V1_AGE);
    assert_eq!(v1.key_type, "ssh-ed25519");
    assert_eq!(v1.comment.as_deref(), Some("joerg@turingmachine"));
    assert_eq!(
        v1.fingerprint,
        "SHA256:wEPu5zkkhaJZhOM5BFhVJnRbJC7OEuRKz/lt2XCrN8I"
    );
    assert_eq!(
        public_key_to_age(V4_PUB).unwrap().recipient.to_string(),
        V4_AGE
    );
    assert_eq!(
        public_key_to_age(V5_PUB).unwrap().recipient.to_string(),
        V5_AGE
    );

    let results = public_keys_to_age(KEYSCAN);
    assert_eq!(results.len(), 4);
    assert!(
        matches!(&results[0], Err(SshToAgeError::UnsupportedKeyType { key_type }) if key_type == "ssh-rsa")
    );
    assert!(matches!(
        &results[2],
        Err(SshToAgeError::UnsupportedKeyType { .. })
    ));
    let v2 = results[1].as_ref().unwrap();
    assert_eq!(v2.recipient.to_string(), V2_AGE);
    assert_eq!(v2.hosts.as_deref(), Some("eve.thalheim.io"));
    assert_eq!(results[3].as_ref().unwrap().recipient.to_string(), V3_AGE);
}

#[test]
fn private_vector_v1_is_unclamped() {
    let (secret, recipient) = private_key_to_age(V1_KEY.as_bytes(), None).unwrap();
    assert_eq!(secret.expose_secret(), V1_SECRET);
    assert_ne!(secret.expose_secret(), V1_CLAMPED);
    assert_eq!(recipient.to_string(), V1_AGE);
    // The clamped form is the same key to age.
    let clamped = age::x25519::Identity::from_str(V1_CLAMPED).unwrap();
    assert_eq!(clamped.to_public().to_string(), V1_AGE);
    // A passphrase for an unencrypted key is ignored.
    let (again, _) = private_key_to_age(V1_KEY.as_bytes(), Some(&passphrase("x"))).unwrap();
    assert_eq!(again.expose_secret(), V1_SECRET);
}

#[test]
fn passphrase_vector_v4() {
    assert!(matches!(
        private_key_to_age(V4_KEY.as_bytes(), None),
        Err(SshToAgeError::PassphraseRequired)
    ));
    assert!(matches!(
        private_key_to_age(V4_KEY.as_bytes(), Some(&passphrase("wrong"))),
        Err(SshToAgeError::WrongPassphrase)
    ));
    let (secret, recipient) =
        private_key_to_age(V4_KEY.as_bytes(), Some(&passphrase("test"))).unwrap();
    assert_eq!(secret.expose_secret(), V4_SECRET);
    assert_eq!(recipient.to_string(), V4_AGE);
}

#[test]
fn intermediate_values_v1() {
    let mut public = [0u8; 32];
    for (i, byte) in public.iter_mut().enumerate() {
        *byte = u8::from_str_radix(
            &"e1f3f94d18b6320d739e1d66224d7257e610589f17b45708594d9536ee6418e2"[2 * i..2 * i + 2],
            16,
        )
        .unwrap();
    }
    assert_eq!(ed25519_to_recipient(public).unwrap().to_string(), V1_AGE);
}

// ---------------------------------------------------------------------------------------------
// Parsing edge cases

fn blob_line(key_type: &str, parts: &[&[u8]]) -> String {
    let mut blob = Vec::new();
    for part in std::iter::once(key_type.as_bytes()).chain(parts.iter().copied()) {
        blob.extend_from_slice(&u32::try_from(part.len()).unwrap().to_be_bytes());
        blob.extend_from_slice(part);
    }
    format!(
        "{key_type} {}",
        base64::engine::general_purpose::STANDARD.encode(blob)
    )
}

#[test]
fn line_forms_all_convert() {
    let lines = [
        format!("ssh-ed25519 {ED25519_B64}"),
        format!("  ssh-ed25519\t{ED25519_B64}   a comment with spaces  "),
        format!(r#"command="echo \"a b\"",no-pty ssh-ed25519 {ED25519_B64} c"#),
        format!("restrict,from=\"10.0.0.1\" ssh-ed25519 {ED25519_B64}"),
        format!("host.example,10.0.0.2 ssh-ed25519 {ED25519_B64}"),
        format!("[host.example]:2222 ssh-ed25519 {ED25519_B64}"),
        format!(
            "|1|JfKTdBh7rNbXkVAQCRp4OQoPfmI=|USECr3SWf1JUPsms5AqfD5QfxkM= ssh-ed25519 {ED25519_B64}"
        ),
        format!("@cert-authority *.example ssh-ed25519 {ED25519_B64}"),
        format!("@revoked * ssh-ed25519 {ED25519_B64}"),
    ];
    for line in &lines {
        let converted = public_key_to_age(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(converted.recipient.to_string(), V1_AGE, "{line}");
    }
    let options = public_key_to_age(&lines[2]).unwrap();
    assert_eq!(
        options.options.as_deref(),
        Some(r#"command="echo \"a b\"",no-pty"#)
    );
    assert_eq!(options.hosts, None);
    let hashed = public_key_to_age(&lines[6]).unwrap();
    assert!(hashed.hosts.as_deref().unwrap().starts_with("|1|"));
    assert_eq!(hashed.options, None);
    let port = public_key_to_age(&lines[5]).unwrap();
    assert_eq!(port.hosts.as_deref(), Some("[host.example]:2222"));
    let ca = public_key_to_age(&lines[7]).unwrap();
    assert_eq!(ca.marker, Some(Marker::CertAuthority));
    assert_eq!(ca.hosts.as_deref(), Some("*.example"));
    assert_eq!(
        public_key_to_age(&lines[8]).unwrap().marker,
        Some(Marker::Revoked)
    );
}

#[test]
fn other_key_types_are_skipped() {
    let rsa = KEYSCAN.lines().nth(1).unwrap();
    assert!(matches!(
        public_key_to_age(rsa),
        Err(SshToAgeError::UnsupportedKeyType { key_type }) if key_type == "ssh-rsa"
    ));
    assert!(matches!(
        public_key_to_age(ECDSA_LINE),
        Err(SshToAgeError::UnsupportedKeyType { key_type }) if key_type == "ecdsa-sha2-nistp256"
    ));
    let cert = blob_line("ssh-ed25519-cert-v01@openssh.com", &[b"nonce", &[7; 32]]);
    assert!(matches!(
        public_key_to_age(&cert),
        Err(SshToAgeError::UnsupportedKeyType { .. })
    ));
    let sk = blob_line("sk-ssh-ed25519@openssh.com", &[&[7; 32], b"ssh:"]);
    assert!(matches!(
        public_key_to_age(&format!("{sk} yubikey")),
        Err(SshToAgeError::SecurityKey { key_type }) if key_type == "sk-ssh-ed25519@openssh.com"
    ));
}

#[test]
fn garbage_is_refused() {
    for line in [
        "",
        "hello world",
        "ssh-ed25519",
        "ssh-ed25519 not-base64!",
        "@marker host ssh-ed25519 AAAA",
        "AGE-SECRET-KEY-1K3VN4N03PTHJWSJSCCMQCN33RY5FSKQPJ4KRRTG3JMQUYE0TUSEQEDH6V8",
    ] {
        assert!(
            matches!(
                public_key_to_age(line),
                Err(SshToAgeError::MalformedPublicKey { .. })
            ),
            "{line:?}"
        );
    }
    let short = blob_line("ssh-ed25519", &[&[1; 31]]);
    assert!(matches!(
        public_key_to_age(&short),
        Err(SshToAgeError::MalformedPublicKey { .. })
    ));
    // A y coordinate with no x on the curve.
    let off_curve = (2u8..=255)
        .map(|y| {
            let mut bytes = [0u8; 32];
            bytes[0] = y;
            bytes
        })
        .find(|bytes| CompressedEdwardsY(*bytes).decompress().is_none())
        .unwrap();
    let line = blob_line("ssh-ed25519", &[&off_curve]);
    assert!(matches!(
        public_key_to_age(&line),
        Err(SshToAgeError::InvalidPoint)
    ));
}

#[test]
fn bad_private_keys_are_refused() {
    assert!(matches!(
        private_key_to_age(b"not a key", None),
        Err(SshToAgeError::MalformedPrivateKey { .. })
    ));
    assert!(matches!(
        private_key_to_age(b"-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n", None),
        Err(SshToAgeError::UnsupportedKeyType { key_type }) if key_type == "ssh-rsa"
    ));
    let truncated = &V1_KEY[..200];
    assert!(matches!(
        private_key_to_age(truncated.as_bytes(), None),
        Err(SshToAgeError::MalformedPrivateKey { .. })
    ));
    let mut ids = Identities::new();
    assert!(matches!(
        add_ssh_identity(&mut ids, V4_KEY.as_bytes(), None, "v4"),
        Err(SshToAgeError::PassphraseRequired)
    ));
    assert!(ids.is_empty());
}

#[test]
fn debug_output_holds_no_key_material() {
    let converted = public_key_to_age(V1_PUB).unwrap();
    let shown = format!("{converted:?}");
    assert!(shown.contains(V1_AGE));
    let (secret, _) = private_key_to_age(V1_KEY.as_bytes(), None).unwrap();
    assert!(!format!("{secret:?}").contains("AGE-SECRET"));
    let mut ids = Identities::new();
    add_ssh_identity(&mut ids, V1_KEY.as_bytes(), None, "id_ed25519").unwrap();
    let shown = format!("{ids:?}");
    assert!(
        !shown.contains("AGE-SECRET") && !shown.contains("OPENSSH"),
        "{shown}"
    );
    assert!(!format!("{:?}", SshToAgeError::WrongPassphrase).contains("test"));
}

proptest! {
    #[test]
    fn random_public_lines_never_panic(line in ".{0,200}") {
        let _ = public_key_to_age(&line);
    }

    #[test]
    fn random_key_blobs_never_panic(key_type in "(ssh-ed25519|sk-ssh-ed25519@openssh.com|x)",
                                    blob in proptest::collection::vec(any::<u8>(), 0..80)) {
        let line = format!("{key_type} {}", base64::engine::general_purpose::STANDARD.encode(&blob));
        let _ = public_key_to_age(&line);
    }

    #[test]
    fn random_private_keys_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = private_key_to_age(&bytes, None);
        let pem = format!(
            "-----BEGIN OPENSSH PRIVATE KEY-----\n{}\n-----END OPENSSH PRIVATE KEY-----\n",
            base64::engine::general_purpose::STANDARD.encode(&bytes)
        );
        let _ = private_key_to_age(pem.as_bytes(), Some(&passphrase("pw")));
        let mut ids = Identities::new();
        let _ = add_ssh_identity(&mut ids, pem.as_bytes(), None, "fuzz");
    }
}

/// A random in-process Ed25519 key: (OpenSSH private key PEM, public key line).
fn random_key(comment: &str) -> (Zeroizing<String>, String) {
    let mut seed = Zeroizing::new([0u8; 32]);
    getrandom::getrandom(seed.as_mut_slice()).unwrap();
    let keypair = Ed25519Keypair::from_seed(&seed);
    let key = PrivateKey::new(KeypairData::Ed25519(keypair), comment).unwrap();
    let public = key.public_key().to_openssh().unwrap();
    (key.to_openssh(LineEnding::LF).unwrap(), public)
}

#[test]
fn random_keys_public_and_private_agree() {
    let age_keygen = peer("age-keygen");
    for i in 0..64 {
        let (pem, public) = random_key(&format!("key{i}"));
        let from_public = public_key_to_age(&public).unwrap().recipient;
        let (secret, from_private) = private_key_to_age(pem.as_bytes(), None).unwrap();
        assert_eq!(from_public, from_private);
        // What `age-keygen -y` computes, in process.
        let identity = age::x25519::Identity::from_str(secret.expose_secret()).unwrap();
        assert_eq!(identity.to_public().to_string(), from_public.to_string());
        if i < 4
            && let Some(age_keygen) = &age_keygen
        {
            let out = run_with_stdin(
                Command::new(age_keygen).arg("-y"),
                format!("{}\n", secret.expose_secret()).as_bytes(),
            );
            assert_eq!(
                String::from_utf8_lossy(&out.stdout).trim(),
                from_public.to_string()
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Peers: ssh-keygen and Go age

/// A peer binary (see [`crate::test_support::peer`]).
fn peer(name: &str) -> Option<PathBuf> {
    crate::test_support::peer(name)
}

fn check(command: &Command, output: Output) -> Output {
    assert!(
        output.status.success(),
        "command failed: {command:?}\nstatus: {}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn run(command: &mut Command) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    check(command, output)
}

fn run_with_stdin(command: &mut Command, stdin: &[u8]) -> Output {
    command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let output = child.wait_with_output().unwrap();
    check(command, output)
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn ssh_keygen_key(ssh_keygen: &Path, path: &Path, args: &[&str]) {
    run(Command::new(ssh_keygen)
        .args(["-q", "-C", "test@aesec", "-f"])
        .arg(path)
        .args(args));
}

fn encrypt_rust(recipient: &dyn age::Recipient, plaintext: &[u8]) -> Vec<u8> {
    let encryptor = age::Encryptor::with_recipients(std::iter::once(recipient)).unwrap();
    let mut out = Vec::new();
    let mut writer = encryptor.wrap_output(&mut out).unwrap();
    writer.write_all(plaintext).unwrap();
    writer.finish().unwrap();
    out
}

fn decrypt_with(identities: &Identities, ciphertext: &[u8]) -> Vec<u8> {
    let decryptor = age::Decryptor::new(ciphertext).unwrap();
    let mut reader = decryptor.decrypt(identities.iter()).unwrap();
    let mut out = Vec::new();
    reader.read_to_end(&mut out).unwrap();
    out
}

/// Ciphers that `ssh -Q cipher` lists but `ssh-keygen -Z` refuses for key encryption, each with
/// the reason. Empty: OpenSSH 9.2 writes a key with every cipher it lists (checked by hand with
/// `ssh-keygen -t ed25519 -N pw -Z CIPHER` for each, and the files name the cipher), so
/// every one must be tested. A cipher refused by some future ssh-keygen goes here with why.
const NOT_WRITTEN_BY_SSH_KEYGEN: &[(&str, &str)] = &[];

/// The cipher name an `openssh-key-v1` file records (its first field).
fn recorded_cipher(pem: &[u8]) -> String {
    use base64::Engine as _;

    let text = String::from_utf8_lossy(pem);
    let body: String = text
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap();
    let rest = bytes.strip_prefix(b"openssh-key-v1\0").unwrap();
    let length = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
    String::from_utf8(rest[4..4 + length].to_vec()).unwrap()
}

#[test]
fn every_ssh_keygen_cipher_decrypts() {
    let (Some(ssh), Some(ssh_keygen)) = (peer("ssh"), peer("ssh-keygen")) else {
        return;
    };
    let ciphers = String::from_utf8(run(Command::new(ssh).args(["-Q", "cipher"])).stdout).unwrap();
    let dir = TempDir::new("ssh-ciphers");
    let mut tested = Vec::new();
    for cipher in ciphers.lines().map(str::trim).filter(|c| !c.is_empty()) {
        let path = dir.join(format!("key-{}", cipher.replace('@', "_")));
        let made = Command::new(&ssh_keygen)
            .args([
                "-q", "-t", "ed25519", "-N", "pw", "-Z", cipher, "-C", "c", "-f",
            ])
            .arg(&path)
            .output()
            .unwrap();
        if !made.status.success() {
            assert!(
                NOT_WRITTEN_BY_SSH_KEYGEN
                    .iter()
                    .any(|(refused, _)| *refused == cipher),
                "ssh-keygen refuses -Z {cipher} ({}), and NOT_WRITTEN_BY_SSH_KEYGEN does not \
                 name it",
                String::from_utf8_lossy(&made.stderr).trim()
            );
            continue;
        }
        let pem = read(&path);
        assert_eq!(
            recorded_cipher(&pem),
            cipher,
            "ssh-keygen used another cipher"
        );
        let plain_path = dir.join(format!("plain-{}", cipher.replace('@', "_")));
        std::fs::copy(&path, &plain_path).unwrap();
        run(Command::new(&ssh_keygen)
            .args(["-q", "-p", "-P", "pw", "-N", "", "-f"])
            .arg(&plain_path));
        let (expected, expected_recipient) = private_key_to_age(&read(&plain_path), None).unwrap();

        let (secret, recipient) = private_key_to_age(&pem, Some(&passphrase("pw")))
            .unwrap_or_else(|e| panic!("{cipher}: {e}"));
        assert_eq!(secret.expose_secret(), expected.expose_secret(), "{cipher}");
        assert_eq!(recipient, expected_recipient, "{cipher}");
        let public =
            String::from_utf8(read(Path::new(&format!("{}.pub", path.display())))).unwrap();
        assert_eq!(
            public_key_to_age(&public).unwrap().recipient,
            recipient,
            "{cipher}"
        );
        assert!(
            matches!(
                private_key_to_age(&pem, Some(&passphrase("wrong"))),
                Err(SshToAgeError::WrongPassphrase)
            ),
            "{cipher}"
        );
        assert!(
            matches!(
                private_key_to_age(&pem, None),
                Err(SshToAgeError::PassphraseRequired)
            ),
            "{cipher}"
        );
        let mut ids = Identities::new();
        add_ssh_identity(&mut ids, &pem, Some(&passphrase("pw")), cipher).unwrap();
        assert_eq!(ids.len(), 2, "{cipher}");
        tested.push(cipher.to_owned());
    }
    // Every listed cipher was tested or is excused by name, and no excuse is stale.
    let listed: Vec<&str> = ciphers
        .lines()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    let untested: Vec<&str> = listed
        .iter()
        .copied()
        .filter(|cipher| !tested.iter().any(|t| t == cipher))
        .collect();
    let excused: Vec<&str> = NOT_WRITTEN_BY_SSH_KEYGEN.iter().map(|(c, _)| *c).collect();
    assert_eq!(
        untested, excused,
        "ciphers listed by ssh -Q cipher: {listed:?}"
    );
    assert!(!tested.is_empty(), "no cipher tested");
    eprintln!("ciphers tested: {tested:?}");
}

#[test]
fn go_age_interop_with_converted_keys() {
    let (Some(age_bin), Some(ssh_keygen)) = (peer("age"), peer("ssh-keygen")) else {
        return;
    };
    let dir = TempDir::new("ssh-interop");
    let key = dir.join("hostkey");
    ssh_keygen_key(
        &ssh_keygen,
        &key,
        &[
            "-t",
            "ed25519",
            "-N",
            "pw",
            "-Z",
            "chacha20-poly1305@openssh.com",
        ],
    );
    let pem = read(&key);
    let public_path = dir.join("hostkey.pub");
    let public = String::from_utf8(read(&public_path)).unwrap();
    let converted = public_key_to_age(&public).unwrap();
    let (secret, _) = private_key_to_age(&pem, Some(&passphrase("pw"))).unwrap();
    let identity_path = dir.join("age-key.txt");
    std::fs::write(&identity_path, format!("{}\n", secret.expose_secret())).unwrap();
    let plaintext = b"sops data key: 0123456789abcdef0123456789abcdef";

    // Rust encrypts to the converted recipient; Go decrypts with the converted identity.
    let ciphertext_path = dir.join("rust.age");
    std::fs::write(
        &ciphertext_path,
        encrypt_rust(converted.recipient.as_age(), plaintext),
    )
    .unwrap();
    let out = run(Command::new(&age_bin)
        .arg("-d")
        .arg("-i")
        .arg(&identity_path)
        .arg(&ciphertext_path));
    assert_eq!(out.stdout, plaintext);

    let mut ids = Identities::new();
    add_ssh_identity(&mut ids, &pem, Some(&passphrase("pw")), "hostkey").unwrap();

    // Go encrypts to the converted recipient; the host key decrypts (converted identity).
    let out = run_with_stdin(
        Command::new(&age_bin)
            .arg("-r")
            .arg(converted.recipient.to_string()),
        plaintext,
    );
    assert_eq!(decrypt_with(&ids, &out.stdout), plaintext);

    // Go encrypts to the ssh public key (native ssh-ed25519 stanza); the host key decrypts.
    let out = run_with_stdin(
        Command::new(&age_bin).arg("-R").arg(&public_path),
        plaintext,
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("ssh-ed25519"));
    assert_eq!(decrypt_with(&ids, &out.stdout), plaintext);
}

#[test]
fn go_age_interop_with_rsa_keys() {
    let (Some(age_bin), Some(ssh_keygen)) = (peer("age"), peer("ssh-keygen")) else {
        return;
    };
    let dir = TempDir::new("ssh-rsa");
    let plaintext = b"rsa interop";
    for (name, args) in [
        (
            "rsa-openssh",
            &["-t", "rsa", "-b", "2048", "-N", "pw", "-Z", "aes128-ctr"][..],
        ),
        (
            "rsa-pem",
            &["-t", "rsa", "-b", "2048", "-N", "", "-m", "PEM"][..],
        ),
    ] {
        let key = dir.join(name);
        ssh_keygen_key(&ssh_keygen, &key, args);
        let pem = read(&key);
        assert!(matches!(
            private_key_to_age(&pem, Some(&passphrase("pw"))),
            Err(SshToAgeError::UnsupportedKeyType { .. })
        ));
        let mut ids = Identities::new();
        add_ssh_identity(&mut ids, &pem, Some(&passphrase("pw")), name).unwrap();
        assert_eq!(ids.len(), 1, "{name}");
        let out = run_with_stdin(
            Command::new(&age_bin)
                .arg("-R")
                .arg(dir.join(format!("{name}.pub"))),
            plaintext,
        );
        assert_eq!(decrypt_with(&ids, &out.stdout), plaintext, "{name}");
    }
    let ecdsa = dir.join("ecdsa");
    ssh_keygen_key(&ssh_keygen, &ecdsa, &["-t", "ecdsa", "-N", ""]);
    let mut ids = Identities::new();
    assert!(matches!(
        add_ssh_identity(&mut ids, &read(&ecdsa), None, "ecdsa"),
        Err(SshToAgeError::UnsupportedKeyType { .. })
    ));
}
