//! Tests of enrollment, removal and bootstrap against temporary repositories.

use std::path::Path;

use age::secrecy::ExposeSecret;

use super::*;
use crate::file::decrypt;
use crate::fleet::{BootstrapOptions, RemoveError, RemoveOptions, bootstrap, remove};
use crate::keys::age::{GeneratedIdentity, Identities};
use crate::progress::NoProgress;
use crate::sops::{AgeDecryptor, AgeMasterKey, Recipients};
use crate::test_support::TempDir;

const WEB_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOHz+U0YtjINc54dZiJNclfmEFifF7RXCFlNlTbuZBji web";
const WEB_AGE: &str = "age17044m9wgakla6pzftf4srtl3h5mcsr85jysgt5fg23zpnta8sfdqhzn452";
const OTHER_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF/KPU3Z5LSjbBI6hrq25wCcseq2UpqSzUFZRr+ux6LM other";

/// A repository with an admin, a host `db`, its per-host rule and a shared file.
struct Repo {
    dir: TempDir,
    admin: GeneratedIdentity,
    db: GeneratedIdentity,
}

impl Repo {
    fn new(name: &str) -> Self {
        let dir = TempDir::new(name);
        let (admin, db) = (GeneratedIdentity::generate(), GeneratedIdentity::generate());
        let config = format!(
            "# fleet\nkeys:\n  - &admin_alice {} # admin\n  - &db {} # db host\n\
             creation_rules:\n  - path_regex: ^hosts/db/\n    key_groups:\n      - age: [*admin_alice, *db]\n  \
             - path_regex: ^shared\\.yaml$\n    key_groups:\n      - age: [*admin_alice, *db]\n  \
             - path_regex: ^hosts/\n    key_groups:\n      - age: [*admin_alice]\n",
            admin.recipient(),
            db.recipient()
        );
        std::fs::write(dir.0.join(".sops.yaml"), config).unwrap();
        let repo = Self { dir, admin, db };
        repo.encrypt("hosts/db/secrets.yaml", b"password: one\n");
        repo.encrypt("shared.yaml", b"token: two\nnested:\n    key: three\n");
        repo
    }

    fn config(&self) -> std::path::PathBuf {
        self.dir.0.join(".sops.yaml")
    }

    fn encrypt(&self, rel: &str, plaintext: &[u8]) {
        let path = self.dir.0.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let recipients = Recipients::single_group(vec![
            Box::new(AgeMasterKey::new(self.admin.recipient())),
            Box::new(AgeMasterKey::new(self.db.recipient())),
        ]);
        let options = EncryptOptions::new(Format::Yaml, Format::Yaml);
        std::fs::write(
            path,
            crate::file::encrypt(plaintext, &recipients, &options).unwrap(),
        )
        .unwrap();
    }

    fn identities(identity: &GeneratedIdentity) -> Identities {
        let mut identities = Identities::new();
        identities
            .add_identity_file_text(identity.to_identity_file("now").expose_secret(), "test")
            .unwrap();
        identities
    }

    fn opens(&self, rel: &str, identity: &GeneratedIdentity) -> bool {
        let identities = Self::identities(identity);
        let bytes = std::fs::read(self.dir.0.join(rel)).unwrap();
        let format = Format::from_path(rel);
        decrypt(
            &bytes,
            &[&AgeDecryptor::new(&identities)],
            &crate::file::DecryptOptions::new(format, format),
        )
        .is_ok()
    }

    fn enroll(
        &self,
        request: &EnrollRequest,
        options: &EnrollOptions,
    ) -> Result<EnrollOutcome, EnrollError> {
        let identities = Self::identities(&self.admin);
        enroll(
            &self.config(),
            request,
            &[&AgeDecryptor::new(&identities)],
            options,
            &NoProgress,
        )
    }
}

fn dated() -> EnrollOptions {
    EnrollOptions {
        enrolled_on: Some(jiff::civil::date(2026, 11, 22)),
        ..EnrollOptions::default()
    }
}

#[test]
fn default_target_creates_the_per_host_rule_in_the_repos_host_dir() {
    let repo = Repo::new("enroll-default");
    let request = EnrollRequest::new("web", KeySource::key(WEB_KEY, "web.pub"), Targets::Default);
    let outcome = repo.enroll(&request, &dated()).unwrap();
    assert_eq!(outcome.membership, Membership::Added);
    assert!(outcome.config_changed);
    let text = std::fs::read_to_string(repo.config()).unwrap();
    assert!(text.starts_with("# fleet\n"), "{text}");
    assert!(
        text.contains(&format!(
            "&web {WEB_AGE}    # ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOHz+U0YtjINc54dZiJNclfmEFifF7RXCFlNlTbuZBji (enrolled 2026-11-22, web.pub)"
        )) || text.contains("(enrolled 2026-11-22, web.pub)"),
        "{text}"
    );
    // Inserted before `^hosts/`, which would otherwise shadow it.
    let config = Config::from_yaml(text.as_bytes(), repo.config()).unwrap();
    let rule = config
        .rule_for(Path::new("hosts/web/x.yaml"), &repo.dir.0)
        .unwrap();
    assert_eq!(rule.path_regex.as_ref().unwrap().as_str(), "^hosts/web/");
    assert_eq!(rule.key_groups[0].age.len(), 2);
    assert_eq!(outcome.rules.len(), 1);
    assert!(outcome.rules[0].created);
    // No file is governed by the new rule yet.
    assert_eq!(outcome.updatekeys.unwrap().changed, 0);
}

#[test]
fn same_key_is_a_no_op_and_a_different_key_is_refused() {
    let repo = Repo::new("enroll-trust");
    let request = EnrollRequest::new("web", KeySource::key(WEB_KEY, "web.pub"), Targets::Default);
    repo.enroll(&request, &dated()).unwrap();
    let before = std::fs::read(repo.config()).unwrap();
    let again = repo.enroll(&request, &dated()).unwrap();
    assert_eq!(again.membership, Membership::Unchanged);
    assert!(!again.config_changed);
    assert_eq!(std::fs::read(repo.config()).unwrap(), before);

    let changed = EnrollRequest::new(
        "web",
        KeySource::key(OTHER_KEY, "new.pub"),
        Targets::Default,
    );
    let error = repo.enroll(&changed, &dated()).unwrap_err();
    let EnrollError::KeyChanged {
        old_fingerprint,
        new_fingerprint,
        ..
    } = &error
    else {
        panic!("{error:?}");
    };
    assert!(old_fingerprint.starts_with("SHA256:"));
    assert!(new_fingerprint.starts_with("SHA256:"));
    assert_ne!(old_fingerprint, new_fingerprint);
    assert_eq!(std::fs::read(repo.config()).unwrap(), before);

    let replace = EnrollOptions {
        replace: true,
        ..dated()
    };
    let outcome = repo.enroll(&changed, &replace).unwrap();
    assert!(matches!(outcome.membership, Membership::Replaced { .. }));
    assert!(
        !std::fs::read_to_string(repo.config())
            .unwrap()
            .contains(WEB_AGE)
    );
}

#[test]
fn like_grants_every_rule_naming_the_other_member_and_rewraps() {
    let repo = Repo::new("enroll-like");
    let host = GeneratedIdentity::generate();
    let request = EnrollRequest::new(
        "web",
        KeySource::key(host.recipient().to_string(), "stdin"),
        Targets::Like("db".to_owned()),
    );
    let outcome = repo.enroll(&request, &dated()).unwrap();
    assert_eq!(outcome.rules.len(), 2);
    let report = outcome.updatekeys.unwrap();
    assert_eq!((report.rewrapped, report.rotated), (2, 0));
    assert!(repo.opens("shared.yaml", &host));
    assert!(repo.opens("hosts/db/secrets.yaml", &host));
    assert!(repo.opens("shared.yaml", &repo.db));

    let error = repo
        .enroll(
            &EnrollRequest::new(
                "x",
                KeySource::key(WEB_KEY, "k"),
                Targets::Like("nobody".into()),
            ),
            &dated(),
        )
        .unwrap_err();
    assert!(matches!(error, EnrollError::UnknownMember { .. }));
    let error = repo
        .enroll(
            &EnrollRequest::new(
                "y",
                KeySource::key(host.recipient().to_string(), "k"),
                Targets::Default,
            ),
            &dated(),
        )
        .unwrap_err();
    assert!(matches!(error, EnrollError::RecipientInUse { .. }));
}

#[test]
fn to_path_grants_the_governing_rule_only() {
    let repo = Repo::new("enroll-to");
    let host = GeneratedIdentity::generate();
    let request = EnrollRequest::new(
        "web",
        KeySource::key(host.recipient().to_string(), "stdin"),
        Targets::Paths(vec![PathBuf::from("shared.yaml")]),
    );
    let outcome = repo.enroll(&request, &dated()).unwrap();
    assert_eq!(outcome.rules.len(), 1);
    assert_eq!(
        outcome.rules[0].path_regex.as_deref(),
        Some("^shared\\.yaml$")
    );
    assert!(repo.opens("shared.yaml", &host));
    assert!(!repo.opens("hosts/db/secrets.yaml", &host));

    let error = repo
        .enroll(
            &EnrollRequest::new(
                "z",
                KeySource::key(WEB_KEY, "k"),
                Targets::Paths(vec!["/etc/x".into()]),
            ),
            &dated(),
        )
        .unwrap_err();
    assert!(matches!(error, EnrollError::PathOutsideRepository { .. }));
}

#[test]
fn to_path_under_a_catch_all_gets_a_rule_keeping_its_readers() {
    let repo = Repo::new("enroll-catch-all");
    let text = std::fs::read_to_string(repo.config()).unwrap();
    let text = text.replace("  - path_regex: ^hosts/\n", "  - path_regex: .*\n");
    std::fs::write(repo.config(), text).unwrap();
    let request = EnrollRequest::new(
        "web",
        KeySource::key(WEB_KEY, "web.pub"),
        Targets::Paths(vec![PathBuf::from("app/config.yaml")]),
    );
    let outcome = repo.enroll(&request, &dated()).unwrap();
    assert!(
        outcome
            .rules
            .iter()
            .any(|r| r.created && r.path_regex.as_deref() == Some("^app/config\\.yaml$"))
    );
    let config = Config::load(repo.config()).unwrap();
    let rule = config
        .rule_for(Path::new("app/config.yaml"), &repo.dir.0)
        .unwrap();
    assert_eq!(
        rule.key_groups[0].age,
        [repo.admin.recipient().to_string(), WEB_AGE.to_owned()]
    );
}

#[test]
fn generate_stores_the_key_for_admins_only_and_bootstrap_writes_it() {
    let repo = Repo::new("enroll-generate");
    let request = EnrollRequest::new("web", KeySource::generate(None), Targets::Default);
    let outcome = repo.enroll(&request, &dated()).unwrap();
    let generated = outcome.generated.clone().unwrap();
    assert_eq!(
        generated.private_key_path,
        repo.dir.0.join("hosts/web/ssh_host_ed25519_key")
    );
    assert!(repo.opens_binary(&generated.private_key_path, &repo.admin));
    let stored = std::fs::read(&generated.private_key_path).unwrap();
    let metadata = crate::fleet::keyless::read_metadata(&stored, Format::Binary).unwrap();
    assert_eq!(
        crate::fleet::keyless::metadata_groups(&metadata),
        [[repo.admin.recipient().to_string()]]
    );
    // The key's own rule keeps its recipients in line; `check` only sees the clear `.pub`.
    let config = Config::load(repo.config()).unwrap();
    let report = crate::fleet::check(&config, &[], &repo.dir.0).unwrap();
    assert!(
        report.findings.iter().all(|finding| matches!(
            finding,
            crate::fleet::Finding::NotEncrypted { path, .. } if path == &generated.public_key_path
        )),
        "{report:?}"
    );
    let public = std::fs::read_to_string(&generated.public_key_path).unwrap();
    assert!(public.starts_with("ssh-ed25519 "));

    let out = repo.dir.0.join("out");
    let identities = Repo::identities(&repo.admin);
    let written = bootstrap(
        &repo.config(),
        "web",
        &out,
        &[&AgeDecryptor::new(&identities)],
        &BootstrapOptions::default(),
    )
    .unwrap();
    assert_eq!(written.key.recipient, outcome.recipient);
    assert_eq!(written.key.fingerprint, outcome.fingerprint);
    use std::os::unix::fs::PermissionsExt as _;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&out.join("etc/ssh/ssh_host_ed25519_key")), 0o600);
    assert_eq!(mode(&out.join("etc/ssh/ssh_host_ed25519_key.pub")), 0o644);
    assert_eq!(
        std::fs::read_to_string(out.join("etc/ssh/ssh_host_ed25519_key.pub")).unwrap(),
        public
    );

    // Generating again for the same name is refused: the key file exists.
    let error = repo.enroll(&request, &dated()).unwrap_err();
    assert!(matches!(error, EnrollError::KeyFileExists { .. }));
    // Bootstrap without an admin key cannot decrypt.
    let error = bootstrap(
        &repo.config(),
        "web",
        &out,
        &[],
        &BootstrapOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(
        error,
        crate::fleet::BootstrapError::Decrypt { .. }
    ));
    let error = bootstrap(
        &repo.config(),
        "db",
        &out,
        &[],
        &BootstrapOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(
        error,
        crate::fleet::BootstrapError::NoStoredKey { .. }
    ));
}

impl Repo {
    fn opens_binary(&self, path: &Path, identity: &GeneratedIdentity) -> bool {
        let identities = Self::identities(identity);
        let bytes = std::fs::read(path).unwrap();
        decrypt(
            &bytes,
            &[&AgeDecryptor::new(&identities)],
            &crate::file::DecryptOptions::new(Format::Binary, Format::Binary),
        )
        .is_ok_and(|pem| pem.starts_with(b"-----BEGIN OPENSSH PRIVATE KEY-----"))
    }
}

/// Issue 6 item 8: `bootstrap --out` never writes the private host key through a symlink
/// planted at its path or on the way, nor into another user's file or directory.
#[test]
fn bootstrap_refuses_links_and_foreign_owners_at_the_key_path() {
    use std::os::unix::fs::{MetadataExt as _, symlink};

    use crate::fs::{FsError, UnsafeReason};

    let repo = Repo::new("bootstrap-links");
    let request = EnrollRequest::new("web", KeySource::generate(None), Targets::Default);
    repo.enroll(&request, &dated()).unwrap();
    let identities = Repo::identities(&repo.admin);
    let run = |out: &Path| {
        bootstrap(
            &repo.config(),
            "web",
            out,
            &[&AgeDecryptor::new(&identities)],
            &BootstrapOptions::default(),
        )
    };
    let refused = |result: Result<_, crate::fleet::BootstrapError>| match result {
        Err(crate::fleet::BootstrapError::Fs(FsError::Unsafe { reason, .. })) => reason,
        Err(other) => panic!("another error: {other}"),
        Ok(_) => panic!("bootstrap wrote through an unsafe path"),
    };
    let victim = repo.dir.0.join("victim");
    std::fs::write(&victim, b"do not overwrite\n").unwrap();

    // A symlink at the key's path.
    let out = repo.dir.0.join("out-link");
    std::fs::create_dir_all(out.join("etc/ssh")).unwrap();
    symlink(
        &victim,
        out.join(crate::fleet::bootstrap::EXTRA_FILES_HOST_KEY),
    )
    .unwrap();
    assert_eq!(refused(run(&out)), UnsafeReason::Symlink);
    assert_eq!(std::fs::read(&victim).unwrap(), b"do not overwrite\n");
    assert!(
        std::fs::symlink_metadata(out.join(crate::fleet::bootstrap::EXTRA_FILES_HOST_KEY))
            .unwrap()
            .file_type()
            .is_symlink()
    );

    // A symlinked directory on the way.
    let elsewhere = repo.dir.0.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let out = repo.dir.0.join("out-dir-link");
    std::fs::create_dir_all(&out).unwrap();
    symlink(&elsewhere, out.join("etc")).unwrap();
    assert!(matches!(
        refused(run(&out)),
        UnsafeReason::DirectoryIsSymlink { .. }
    ));
    assert!(std::fs::read_dir(&elsewhere).unwrap().next().is_none());

    // Another user's file at the key's path, and another user's --out directory (the test
    // runs as root, which may hand them to uid 65534).
    let out = repo.dir.0.join("out-foreign-file");
    std::fs::create_dir_all(out.join("etc/ssh")).unwrap();
    let planted = out.join(crate::fleet::bootstrap::EXTRA_FILES_HOST_KEY);
    std::fs::write(&planted, b"planted\n").unwrap();
    std::os::unix::fs::chown(&planted, Some(65534), Some(65534)).unwrap();
    assert_eq!(refused(run(&out)), UnsafeReason::FileOwnedBy { uid: 65534 });
    assert_eq!(std::fs::read(&planted).unwrap(), b"planted\n");
    let out = repo.dir.0.join("out-foreign-dir");
    std::fs::create_dir_all(&out).unwrap();
    std::os::unix::fs::chown(&out, Some(65534), Some(65534)).unwrap();
    assert!(matches!(
        refused(run(&out)),
        UnsafeReason::DirectoryOwnedBy { uid: 65534, .. }
    ));
    assert!(!out.join("etc").exists());

    // A regular file of the caller's is replaced (a second bootstrap), with mode 0600.
    let out = repo.dir.0.join("out-ok");
    run(&out).unwrap();
    let written = run(&out).unwrap();
    let metadata = std::fs::symlink_metadata(&written.private_key_path).unwrap();
    assert!(metadata.file_type().is_file());
    assert_eq!(metadata.mode() & 0o7777, 0o600);
}

/// `bootstrap_cloud_init` writes a 0600 `#cloud-config` whose `ssh_keys` hold the stored key
/// (the same private key, the `.pub` line as a quoted scalar), and never through a symlink.
#[test]
fn bootstrap_cloud_init_writes_the_key_as_user_data() {
    use std::os::unix::fs::{MetadataExt as _, symlink};

    use crate::fleet::bootstrap_cloud_init;
    use crate::fs::{FsError, UnsafeReason};

    let repo = Repo::new("bootstrap-cloud-init");
    let request = EnrollRequest::new("web", KeySource::generate(None), Targets::Default);
    let enrolled = repo.enroll(&request, &dated()).unwrap();
    let identities = Repo::identities(&repo.admin);
    let run = |user_data: &Path| {
        bootstrap_cloud_init(
            &repo.config(),
            "web",
            user_data,
            &[&AgeDecryptor::new(&identities)],
            &BootstrapOptions::default(),
        )
    };
    let user_data = repo.dir.0.join("web.yaml");
    let outcome = run(&user_data).unwrap();
    assert_eq!(outcome.key.recipient, enrolled.recipient);
    assert_eq!(outcome.key.fingerprint, enrolled.fingerprint);
    let metadata = std::fs::symlink_metadata(&user_data).unwrap();
    assert_eq!(metadata.mode() & 0o7777, 0o600);
    let text = std::fs::read_to_string(&user_data).unwrap();
    let out = repo.dir.0.join("extra");
    let written = bootstrap(
        &repo.config(),
        "web",
        &out,
        &[&AgeDecryptor::new(&identities)],
        &BootstrapOptions::default(),
    )
    .unwrap();
    let pem = std::fs::read_to_string(&written.private_key_path).unwrap();
    let indented: String = pem.lines().map(|line| format!("    {line}\n")).collect();
    let public = std::fs::read_to_string(&written.public_key_path).unwrap();
    assert!(text.starts_with("#cloud-config\n"), "{text}");
    assert!(
        text.contains(&format!("ssh_keys:\n  ed25519_private: |\n{indented}")),
        "{text}"
    );
    assert!(
        text.ends_with(&format!("  ed25519_public: {:?}\n", public.trim_end())),
        "{text}"
    );

    // A symlink planted at the user-data path is refused and left alone.
    let victim = repo.dir.0.join("victim");
    std::fs::write(&victim, b"do not overwrite\n").unwrap();
    let planted = repo.dir.0.join("planted.yaml");
    symlink(&victim, &planted).unwrap();
    match run(&planted) {
        Err(crate::fleet::BootstrapError::Fs(FsError::Unsafe { reason, .. })) => {
            assert_eq!(reason, UnsafeReason::Symlink);
        }
        other => panic!(
            "not refused: {:?}",
            other.map(|outcome| outcome.user_data_path)
        ),
    }
    assert_eq!(std::fs::read(&victim).unwrap(), b"do not overwrite\n");
}

#[test]
fn remove_rotates_and_lists_what_the_member_could_read() {
    let repo = Repo::new("remove");
    let identities = Repo::identities(&repo.admin);
    let shared_before = std::fs::read_to_string(repo.dir.0.join("shared.yaml")).unwrap();
    let outcome = remove(
        &repo.config(),
        "db",
        &[&AgeDecryptor::new(&identities)],
        &RemoveOptions::default(),
        &NoProgress,
    );
    // db is the only host: removing it leaves each rule with the admin, which is allowed.
    let outcome = outcome.unwrap();
    assert_eq!(outcome.rules, [0, 1]);
    assert_eq!(outcome.readable.len(), 2);
    let shared = outcome
        .readable
        .iter()
        .find(|f| f.path.ends_with("shared.yaml"))
        .unwrap();
    assert_eq!(shared.values, ["[\"token\"]", "[\"nested\"][\"key\"]"]);
    assert_eq!(outcome.updatekeys.unwrap().rotated, 2);
    assert!(!repo.opens("shared.yaml", &repo.db));
    assert!(repo.opens("shared.yaml", &repo.admin));
    let shared_after = std::fs::read_to_string(repo.dir.0.join("shared.yaml")).unwrap();
    // New data key: every value's ciphertext changed.
    let token = |text: &str| {
        text.lines()
            .find(|l| l.starts_with("token:"))
            .unwrap()
            .to_owned()
    };
    assert_ne!(token(&shared_before), token(&shared_after));

    let error = remove(
        &repo.config(),
        "admin_alice",
        &[],
        &RemoveOptions::default(),
        &NoProgress,
    )
    .unwrap_err();
    assert!(matches!(error, RemoveError::LastAdmin { .. }));
    let error = remove(
        &repo.config(),
        "db",
        &[],
        &RemoveOptions::default(),
        &NoProgress,
    )
    .unwrap_err();
    assert!(matches!(error, RemoveError::UnknownMember { .. }));
}

#[test]
fn remove_refuses_to_leave_a_rule_without_an_admin() {
    let repo = Repo::new("remove-admin");
    let bob = GeneratedIdentity::generate();
    let text = std::fs::read_to_string(repo.config()).unwrap().replace(
        "  - &db ",
        &format!("  - &admin_bob {}\n  - &db ", bob.recipient()),
    );
    std::fs::write(repo.config(), text).unwrap();
    let before = std::fs::read(repo.config()).unwrap();
    let error = remove(
        &repo.config(),
        "admin_alice",
        &[],
        &RemoveOptions::default(),
        &NoProgress,
    )
    .unwrap_err();
    assert!(
        matches!(
            error,
            RemoveError::RuleWithoutAdmin { .. }
                | RemoveError::Edit {
                    source: EditError::LastAdmin { .. },
                    ..
                }
        ),
        "{error:?}"
    );
    assert_eq!(std::fs::read(repo.config()).unwrap(), before);
}

#[test]
fn anchor_comment_names_key_date_and_origin() {
    let key = source::parse_key_text(WEB_KEY, "keyscan trinity:22").unwrap();
    assert_eq!(
        anchor_comment(&key, Some(jiff::civil::date(2026, 11, 22))),
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOHz+U0YtjINc54dZiJNclfmEFifF7RXCFlNlTbuZBji (enrolled 2026-11-22, keyscan trinity:22)"
    );
}
