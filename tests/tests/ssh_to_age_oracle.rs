//! ssh-to-age conversions checked against oracles that share no code with aesec: vectors
//! published by Mic92/ssh-to-age, the independent implementation in
//! [`aesec_tests::ssh_to_age`] (written from the math), and the real `age-keygen -y`, which
//! derives the recipient of a converted private key by itself.
//!
//! Covered: `aesec keys ssh-to-age` on the published vectors and on fresh `ssh-keygen` keys
//! (public and private), and the anchors of the example fleet (`secrets/.sops.yaml`) against
//! the demo keys they were made from.

use std::path::Path;

use aesec_tests::{TempHome, age_keygen, require_peer, ssh_keygen, ssh_to_age, workspace_root};

/// ssh-to-age's own test asset `cmd/ssh-to-age/test-assets/keyscan.txt` (the Ed25519 host keys
/// of eve and eva) and the recipients its README prints for them
/// (`ssh-keyscan eve.thalheim.io eva.thalheim.io | ssh-to-age`).
const PUBLISHED: [(&str, &str); 2] = [
    (
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF/KPU3Z5LSjbBI6hrq25wCcseq2UpqSzUFZRr+ux6LM",
        "age1hjm3aujg9e79f5yth8a2cejzdjg5n9vnu96l05p70uvfpeltnpms7yy3pp",
    ),
    (
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIL2vjdqpppuCn7yPdF2muINriAG7zBWrsELKpPWkhn5",
        "age1v8zjc47jmlqwefyu66s0d4ke98qr4vnuj3cpvs4z9npfdw833dxqwjrhzv",
    ),
];

/// ssh-to-age's test key `cmd/ssh-to-age/test-assets/id_ed25519` (published, protects
/// nothing), its `.pub`, and the identity and recipient its README prints for them
/// (`ssh-to-age -private-key -i …` and `ssh-to-age -i ….pub`).
const PUBLISHED_PRIVATE_KEY: &str = "-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACDh8/lNGLYyDXOeHWYiTXJX5hBYnxe0VwhZTZU27mQY4gAAAJjpEFzo6RBc
6AAAAAtzc2gtZWQyNTUxOQAAACDh8/lNGLYyDXOeHWYiTXJX5hBYnxe0VwhZTZU27mQY4g
AAAEDsBo0iLkC2U9CS5XgSo7zS/nQvjxaPfhfFCR+BshxoL+Hz+U0YtjINc54dZiJNclfm
EFifF7RXCFlNlTbuZBjiAAAAE2pvZXJnQHR1cmluZ21hY2hpbmUBAg==
-----END OPENSSH PRIVATE KEY-----
";
const PUBLISHED_PUBLIC_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOHz+U0YtjINc54dZiJNclfmEFifF7RXCFlNlTbuZBji";
const PUBLISHED_IDENTITY: &str =
    "AGE-SECRET-KEY-1K3VN4N03PTHJWSJSCCMQCN33RY5FSKQPJ4KRRTG3JMQUYE0TUSEQEDH6V8";
const PUBLISHED_RECIPIENT: &str = "age17044m9wgakla6pzftf4srtl3h5mcsr85jysgt5fg23zpnta8sfdqhzn452";

/// `age-keygen -y`: the recipient of an identity, computed by the real age.
fn age_recipient_of(home: &TempHome, keygen: &Path, identity: &str) -> String {
    let file = home.write("identity.txt", format!("{identity}\n"));
    home.cmd(keygen)
        .arg("-y")
        .arg(file)
        .stdout()
        .trim()
        .to_owned()
}

#[test]
fn the_oracle_reproduces_the_published_vectors() {
    for (public, expected) in PUBLISHED {
        assert_eq!(ssh_to_age::recipient(public), expected, "{public}");
    }
}

#[test]
fn the_oracle_reproduces_the_published_key_pair() {
    assert!(
        ssh_to_age::identity(PUBLISHED_PRIVATE_KEY) == PUBLISHED_IDENTITY,
        "the oracle's identity of ssh-to-age's test key differs from its README's"
    );
    assert_eq!(
        ssh_to_age::recipient(PUBLISHED_PUBLIC_KEY),
        PUBLISHED_RECIPIENT
    );
}

#[test]
fn aesec_converts_the_published_key_pair() {
    let home = TempHome::new();
    let private = home.write("id_ed25519", PUBLISHED_PRIVATE_KEY);
    std::fs::set_permissions(
        &private,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .expect("chmod");
    let identity = home
        .aesec()
        .args(["keys", "ssh-to-age", "--private-key", "-i"])
        .arg(&private)
        .stdout();
    assert!(
        identity.trim() == PUBLISHED_IDENTITY,
        "aesec's identity of ssh-to-age's test key differs from ssh-to-age's README"
    );
    let recipient = home
        .aesec()
        .args(["keys", "ssh-to-age"])
        .stdin(format!("{PUBLISHED_PUBLIC_KEY}\n"))
        .stdout();
    assert_eq!(recipient.trim(), PUBLISHED_RECIPIENT);
}

#[test]
fn aesec_converts_the_published_vectors() {
    let home = TempHome::new();
    let lines: String = PUBLISHED
        .iter()
        .map(|(public, _)| format!("{public}\n"))
        .collect();
    let converted = home
        .aesec()
        .args(["keys", "ssh-to-age"])
        .stdin(lines)
        .stdout();
    let expected: Vec<&str> = PUBLISHED.iter().map(|(_, recipient)| *recipient).collect();
    assert_eq!(converted.lines().collect::<Vec<_>>(), expected);
}

/// Fresh `ssh-keygen` keys: aesec's public and private conversions equal the oracle's, and the
/// real `age-keygen -y` of the converted identity is the converted recipient.
#[test]
fn aesec_ssh_to_age_matches_the_oracle_on_ssh_keygen_keys() {
    let keygen = require_peer!(ssh_keygen());
    let age_keygen = require_peer!(age_keygen());
    let home = TempHome::new();
    for index in 0..8 {
        let name = format!("id_{index}");
        home.cmd(&keygen)
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "oracle", "-f", &name])
            .run();
        let public = home.read(format!("{name}.pub"));
        let private = home.read(&name);
        let recipient = ssh_to_age::recipient(public.trim());
        let identity = ssh_to_age::identity(&private);

        let converted = home
            .aesec()
            .args(["keys", "ssh-to-age", "-i"])
            .arg(home.join(format!("{name}.pub")))
            .stdout();
        assert_eq!(converted.trim(), recipient, "{name}: public key");
        let converted = home
            .aesec()
            .args(["keys", "ssh-to-age", "--private-key", "-i"])
            .arg(home.join(&name))
            .stdout();
        assert!(
            converted.trim() == identity,
            "{name}: aesec's private conversion differs from the oracle's"
        );
        assert_eq!(
            age_recipient_of(&home, &age_keygen, &identity),
            recipient,
            "{name}: age-keygen -y of the converted identity"
        );
    }
}

/// The example fleet: every anchor of `secrets/.sops.yaml` made from an SSH host key is the
/// oracle's conversion of `secrets/demo-keys/<name>_ssh_host_ed25519_key.pub`, the private demo
/// key converts to an identity of that recipient, and the admin anchor is the recipient of
/// `demo-keys/admin.agekey` by the real age.
#[test]
fn example_fleet_anchors_are_the_ssh_to_age_of_the_demo_keys() {
    let age_keygen = require_peer!(age_keygen());
    let home = TempHome::new();
    let secrets = workspace_root().join("secrets");
    let config = std::fs::read_to_string(secrets.join(".sops.yaml")).expect(".sops.yaml");
    let demo = secrets.join("demo-keys");
    let mut hosts = 0;
    let mut admin = 0;
    for line in config.lines() {
        let Some(anchor) = line.trim().strip_prefix("- &") else {
            continue;
        };
        let mut fields = anchor.split_whitespace();
        let (name, recipient) = (
            fields.next().expect("anchor name"),
            fields.next().expect("anchor recipient"),
        );
        let host_key = demo.join(format!("{name}_ssh_host_ed25519_key"));
        if host_key.exists() {
            let public = std::fs::read_to_string(host_key.with_extension("pub")).expect("pub");
            assert_eq!(
                recipient,
                ssh_to_age::recipient(public.trim()),
                "anchor {name}"
            );
            let key: Vec<&str> = public.split_whitespace().take(2).collect();
            assert!(
                line.contains(&key.join(" ")),
                "anchor {name}: the comment names another key"
            );
            let private = std::fs::read_to_string(&host_key).expect("private demo key");
            let identity = ssh_to_age::identity(&private);
            assert_eq!(
                age_recipient_of(&home, &age_keygen, &identity),
                recipient,
                "anchor {name}: age-keygen -y of the converted private key"
            );
            hosts += 1;
        } else if name == "admin_demo" {
            let identity = std::fs::read_to_string(demo.join("admin.agekey")).expect("admin key");
            let identity = identity
                .lines()
                .find(|line| line.starts_with("AGE-SECRET-KEY-1"))
                .expect("an identity line");
            assert_eq!(
                age_recipient_of(&home, &age_keygen, identity),
                recipient,
                "anchor admin_demo"
            );
            admin += 1;
        } else {
            panic!("anchor {name} has no demo key to check it against");
        }
    }
    assert_eq!((hosts, admin), (3, 1), "{config}");
}
