//! Tests of loading `.sops.yaml` and matching creation rules, against real sops where it helps.

use std::process::Command;

use super::lookup::{IGNORED_CONFIG_FILE_NAME, directories_up_to_root};
use super::*;
use crate::CryptRule;
use crate::test_support::TempDir;
use regex::Regex;

fn load(yaml: &str, path: &str) -> Config {
    Config::from_yaml(yaml.as_bytes(), path).unwrap()
}

const RULES: &str = "creation_rules:
  - path_regex: ^secrets/prod/
    age: age1prod
  - path_regex: \\.prod\\.yaml$
    age: age1prodsuffix
  - path_regex: ^other\\.yaml$
    age: age1other
  - path_regex: dev
    age: age1dev
";

fn index_for(config: &Config, file: &str, cwd: &str) -> Option<usize> {
    match config.rule_for(Path::new(file), Path::new(cwd)) {
        Ok(rule) => Some(rule.index),
        Err(ConfigError::NoMatchingRule { .. }) => None,
        Err(error) => panic!("unexpected error: {error:?}"),
    }
}

#[test]
fn relative_and_absolute_paths_match_the_same_rule() {
    let config = load(RULES, "/repo/.sops.yaml");
    assert_eq!(index_for(&config, "secrets/prod/a.yaml", "/repo"), Some(0));
    assert_eq!(
        index_for(&config, "/repo/secrets/prod/a.yaml", "/"),
        Some(0)
    );
    assert_eq!(index_for(&config, "prod/a.yaml", "/repo/secrets"), Some(0));
    assert_eq!(index_for(&config, "./other.yaml", "/repo"), Some(2));
    assert_eq!(
        index_for(&config, "../other.yaml", "/repo/secrets"),
        Some(2)
    );
    // Relative to the config directory, not to the working directory.
    assert_eq!(index_for(&config, "other.yaml", "/repo/secrets"), None);
}

#[test]
fn first_match_wins() {
    let config = load(RULES, "/repo/.sops.yaml");
    assert_eq!(
        index_for(&config, "secrets/prod/x.prod.yaml", "/repo"),
        Some(0)
    );
    assert_eq!(
        index_for(&config, "secrets/dev/x.prod.yaml", "/repo"),
        Some(1)
    );
    assert_eq!(index_for(&config, "devices.yaml", "/repo"), Some(3));
}

#[test]
fn paths_are_cleaned_lexically() {
    let config = load(RULES, "/repo/.sops.yaml");
    assert_eq!(
        config.match_path(Path::new("secrets/prod/../dev.yaml"), Path::new("/repo")),
        "secrets/dev.yaml"
    );
    assert_eq!(
        index_for(&config, "secrets/prod/../dev.yaml", "/repo"),
        Some(3)
    );
    assert_eq!(
        index_for(&config, "secrets//prod/./a.yaml", "/repo"),
        Some(0)
    );
}

#[test]
fn file_outside_config_dir_matches_its_absolute_path() {
    let config = load(
        "creation_rules:\n  - path_regex: ^/elsewhere/\n    age: a\n  - path_regex: ^secrets/\n    age: b\n",
        "/repo/.sops.yaml",
    );
    assert_eq!(
        config.match_path(Path::new("../elsewhere/secrets/x"), Path::new("/repo")),
        "/elsewhere/secrets/x"
    );
    assert_eq!(index_for(&config, "../elsewhere/x.yaml", "/repo"), Some(0));
    assert_eq!(index_for(&config, "/repository/secrets/x", "/"), None);
}

#[test]
fn relative_config_path_is_resolved_against_cwd() {
    let config = load(RULES, ".sops.yaml");
    assert_eq!(index_for(&config, "secrets/prod/a.yaml", "/repo"), Some(0));
    let config = load(RULES, "../.sops.yaml");
    assert_eq!(index_for(&config, "prod/a.yaml", "/repo/secrets"), Some(0));
}

#[test]
fn empty_path_regex_matches_everything() {
    let config = load(
        "creation_rules:\n  - path_regex: ''\n    age: a\n  - age: b\n",
        "/repo/.sops.yaml",
    );
    assert_eq!(index_for(&config, "/anything/at/all", "/"), Some(0));
    let config = load(
        "creation_rules:\n  - path_regex: ^x$\n  - age: catchall\n",
        "/repo/.sops.yaml",
    );
    assert_eq!(index_for(&config, "y", "/repo"), Some(1));
}

#[test]
fn config_without_creation_rules_is_no_config() {
    for yaml in [
        "",
        "# just a comment\n",
        "stores: {}\n",
        "creation_rules:\n",
    ] {
        let config = load(yaml, "/repo/.sops.yaml");
        assert!(!config.has_creation_rules(), "{yaml:?}");
        let error = config
            .rule_for(Path::new("a.yaml"), Path::new("/repo"))
            .unwrap_err();
        assert!(
            matches!(error, ConfigError::NoCreationRules { .. }),
            "{yaml:?}"
        );
    }
    let config = load("creation_rules: []\n", "/repo/.sops.yaml");
    assert!(config.has_creation_rules());
    let error = config
        .rule_for(Path::new("a.yaml"), Path::new("/repo"))
        .unwrap_err();
    assert!(matches!(error, ConfigError::NoMatchingRule { .. }));
}

#[test]
fn stores_indent() {
    let config = load(
        "stores:\n  yaml:\n    indent: 2\n  json:\n    indent: 0\n  json_binary:\n    indent: 4\n",
        "c",
    );
    assert_eq!(
        config.stores,
        EmitOptions {
            yaml_indent: 2,
            json_indent: Some(0),
            binary_indent: Some(4)
        }
    );
    let config = load(
        "stores:\n  yaml:\n    indent: 0\n  json:\n    indent: -1\n  dotenv: {}\n",
        "c",
    );
    assert_eq!(config.stores, EmitOptions::default());
    assert_eq!(load("{}", "c").stores, EmitOptions::default());
}

#[test]
fn invalid_stores_indent_is_refused() {
    let cases = [
        ("stores:\n  yaml:\n    indent: -1\n", "yaml", -1),
        ("stores:\n  json:\n    indent: -2\n", "json", -2),
        (
            "stores:\n  json_binary:\n    indent: -5\n",
            "json_binary",
            -5,
        ),
        // A hostile repository cannot make every line of output gigabytes long.
        (
            "stores:\n  json:\n    indent: 1000000000000\n",
            "json",
            1_000_000_000_000,
        ),
    ];
    for (yaml, expected_store, expected_indent) in cases {
        let error = Config::from_yaml(yaml.as_bytes(), "c").unwrap_err();
        assert!(
            matches!(error, ConfigError::InvalidIndent { store, indent, .. } if store == expected_store && indent == expected_indent),
            "{yaml:?}: {error:?}"
        );
    }
    // YAML is bounded as go-yaml bounds it: outside 2 to 9 spaces, 2.
    let config = Config::from_yaml(b"stores:\n  yaml:\n    indent: 1000000000000\n", "c").unwrap();
    assert_eq!(config.stores.yaml_indent, 2);
    let error = Config::from_yaml(b"stores:\n  yaml:\n    indent: two\n", "c").unwrap_err();
    assert!(matches!(error, ConfigError::FieldType { .. }));
}

#[test]
fn invalid_yaml_is_refused() {
    let error = Config::from_yaml(b"creation_rules: [\n", "/repo/.sops.yaml").unwrap_err();
    assert!(matches!(error, ConfigError::Yaml { .. }));
    assert!(error.to_string().contains("/repo/.sops.yaml"));
}

#[test]
fn load_reads_the_file_and_names_missing_ones() {
    let dir = TempDir::new("config-load");
    let path = dir.0.join(CONFIG_FILE_NAME);
    let error = Config::load(&path).unwrap_err();
    assert!(matches!(error, ConfigError::Read(_)));
    std::fs::write(&path, RULES).unwrap();
    let config = Config::load(&path).unwrap();
    assert_eq!(config.creation_rules.len(), 4);
    assert_eq!(config.path, path);
}

#[test]
fn find_config_walks_up_and_reports_sops_yml() {
    let dir = TempDir::new("config-find");
    let deep = dir.0.join("a/b/c");
    std::fs::create_dir_all(&deep).unwrap();
    // Nothing under the temp dir yet (a config further up, outside it, may exist).
    let before = find_config(&deep).path;
    assert!(before.is_none_or(|path| !std::fs::canonicalize(path).unwrap().starts_with(&dir.0)));

    std::fs::write(dir.0.join("a/b").join(IGNORED_CONFIG_FILE_NAME), "").unwrap();
    std::fs::write(dir.0.join("a").join(CONFIG_FILE_NAME), "").unwrap();
    let lookup = find_config(&deep);
    let found = lookup.path.unwrap();
    assert_eq!(found, deep.join("..").join("..").join(CONFIG_FILE_NAME));
    assert_eq!(
        std::fs::canonicalize(found).unwrap(),
        dir.0.join("a").join(CONFIG_FILE_NAME)
    );
    assert_eq!(
        lookup.ignored,
        Some(deep.join("..").join(IGNORED_CONFIG_FILE_NAME))
    );

    // The walk ends at the root: the directory, its parents, and `/`.
    let resolved = std::fs::canonicalize(&deep).unwrap();
    assert_eq!(directories_up_to_root(&deep), resolved.ancestors().count());
    assert_eq!(directories_up_to_root(Path::new("/")), 1);

    // The start directory itself is searched first.
    let lookup = find_config(&dir.0.join("a"));
    assert_eq!(lookup.path, Some(dir.0.join("a").join(CONFIG_FILE_NAME)));
    assert_eq!(lookup.ignored, None);
}

proptest::proptest! {
    #[test]
    fn relative_paths_under_the_config_dir_match_as_written(
        segments in proptest::collection::vec("[a-z0-9_-][a-z0-9._-]{0,7}", 1..6)
    ) {
        let config = load("{}", "/repo/.sops.yaml");
        let relative = segments.join("/");
        let cwd = Path::new("/repo");
        proptest::prop_assert_eq!(config.match_path(Path::new(&relative), cwd), relative.as_str());
        let absolute = format!("/repo/{relative}");
        proptest::prop_assert_eq!(config.match_path(Path::new(&absolute), Path::new("/")), relative.as_str());
        let detour = format!("./x/../{relative}");
        proptest::prop_assert_eq!(config.match_path(Path::new(&detour), cwd), relative.as_str());
        let outside = format!("/other/{relative}");
        proptest::prop_assert_eq!(config.match_path(Path::new(&outside), cwd), outside.as_str());
    }
}

/// The real sops (see [`crate::test_support::peer`]); these tests need it.
fn sops_binary() -> PathBuf {
    crate::test_support::peer("sops")
        .expect("the real sops 3.11 is needed: run scripts/setup-peers.sh")
}

/// The age recipients of the file `sops encrypt` produced for `file` (run in `cwd`).
fn sops_recipients(
    sops: &Path,
    cwd: &Path,
    file: &str,
    home: &Path,
) -> Result<Vec<String>, String> {
    let output = Command::new(sops)
        .args(["encrypt", file])
        .current_dir(cwd)
        .env("HOME", home)
        .env_remove("SOPS_AGE_RECIPIENTS")
        .env_remove("SOPS_CONFIG")
        .output()
        .unwrap_or_else(|error| panic!("cannot run '{}': {error}", sops.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(stderr.into_owned());
    }
    let recipients: Vec<String> = stdout
        .lines()
        .filter_map(|line| {
            line.trim()
                .trim_start_matches("- ")
                .strip_prefix("recipient: ")
        })
        .map(str::to_owned)
        .collect();
    assert!(
        !recipients.is_empty(),
        "no recipient in sops output for {file} in {}:\n{stdout}\n{stderr}",
        cwd.display()
    );
    Ok(recipients)
}

#[test]
fn matching_agrees_with_real_sops() {
    let sops = sops_binary();
    let root = TempDir::new("config-sops");
    let repo = root.0.join("repo");
    let recipients: Vec<String> = (0..6)
        .map(|_| age::x25519::Identity::generate().to_public().to_string())
        .collect();
    let rules = [
        "path_regex: ^secrets/prod/",
        "path_regex: \\.prod\\.yaml$",
        "path_regex: ^other\\.yaml$",
        "path_regex: dev",
        "path_regex: ^/",
        "mac_only_encrypted: false",
    ];
    let mut yaml = String::from("creation_rules:\n");
    for (rule, recipient) in rules.iter().zip(&recipients) {
        yaml.push_str(&format!("  - {rule}\n    age: {recipient}\n"));
    }
    for dir in ["secrets/prod", "sub"] {
        std::fs::create_dir_all(repo.join(dir)).unwrap();
    }
    std::fs::create_dir_all(root.0.join("outside")).unwrap();
    std::fs::write(repo.join(CONFIG_FILE_NAME), &yaml).unwrap();
    for file in [
        "repo/secrets/prod/db.yaml",
        "repo/secrets/x.prod.yaml",
        "repo/secrets/prod/x.prod.yaml",
        "repo/secrets/dev.yaml",
        "repo/other.yaml",
        "repo/devices.yaml",
        "repo/sub/plain.yaml",
        "repo/sub/other.yaml",
        "outside/x.yaml",
    ] {
        std::fs::write(root.0.join(file), "a: b\n").unwrap();
    }
    let abs_db = repo
        .join("secrets/prod/db.yaml")
        .to_string_lossy()
        .into_owned();
    let cases: [(&str, &str, usize); 13] = [
        ("repo", "secrets/prod/db.yaml", 0),
        ("repo", "secrets/x.prod.yaml", 1),
        ("repo", "secrets/prod/x.prod.yaml", 0),
        ("repo", "other.yaml", 2),
        ("repo", "./other.yaml", 2),
        ("repo", "devices.yaml", 3),
        ("repo", "secrets/prod/../dev.yaml", 3),
        ("repo", "../outside/x.yaml", 4),
        ("repo", &abs_db, 0),
        ("repo", "sub/plain.yaml", 5),
        ("repo/sub", "other.yaml", 5),
        ("repo/sub", "../secrets/x.prod.yaml", 1),
        ("repo/secrets", "prod/db.yaml", 0),
    ];
    for (cwd, file, expected) in cases {
        let cwd = root.0.join(cwd);
        let config_path = find_config(&cwd).path.expect("the test config is found");
        let config = Config::load(&config_path).unwrap();
        let rule = config.rule_for(Path::new(file), &cwd).unwrap();
        assert_eq!(rule.index, expected, "aesec: {file} in {}", cwd.display());
        let chosen = sops_recipients(&sops, &cwd, file, &root.0).unwrap_or_else(|stderr| {
            panic!("sops failed for {file} in {}: {stderr}", cwd.display())
        });
        assert_eq!(
            chosen,
            rule.key_groups[0].age,
            "sops and aesec disagree on {file} in {}",
            cwd.display()
        );
    }

    // No matching rule: sops refuses, and so does aesec.
    let strict = root.0.join("strict");
    std::fs::create_dir_all(&strict).unwrap();
    std::fs::write(
        strict.join(CONFIG_FILE_NAME),
        format!(
            "creation_rules:\n  - path_regex: ^never$\n    age: {}\n",
            recipients[0]
        ),
    )
    .unwrap();
    std::fs::write(strict.join("a.yaml"), "a: b\n").unwrap();
    let stderr = sops_recipients(&sops, &strict, "a.yaml", &root.0).expect_err("sops must refuse");
    assert!(
        stderr.contains("no matching creation rules found"),
        "sops said: {stderr}"
    );
    let config = Config::load(strict.join(CONFIG_FILE_NAME)).unwrap();
    let error = config.rule_for(Path::new("a.yaml"), &strict).unwrap_err();
    assert!(matches!(error, ConfigError::NoMatchingRule { .. }));
}

#[test]
fn key_group_parsing_agrees_with_real_sops() {
    let sops = sops_binary();
    let root = TempDir::new("config-sops-groups");
    let [a, b, c]: [String; 3] =
        std::array::from_fn(|_| age::x25519::Identity::generate().to_public().to_string());
    let cases = [
        // Flat: comma string with blanks and a repeat.
        format!("creation_rules:\n  - age: ' {a} ,,{b},{a}'\n"),
        // Flat: a list whose entries hold commas.
        format!("creation_rules:\n  - age:\n      - {a}, {b}\n      - {c}\n"),
        // key_groups with merge and a repeat, flat keys ignored.
        format!(
            "creation_rules:\n  - age: {c}\n    key_groups:\n      - merge:\n          - age: [{a}]\n        age: ['{b},{a}']\n"
        ),
    ];
    std::fs::write(root.0.join("a.yaml"), "a: b\n").unwrap();
    for yaml in cases {
        std::fs::write(root.0.join(CONFIG_FILE_NAME), &yaml).unwrap();
        let config = Config::load(root.0.join(CONFIG_FILE_NAME)).unwrap();
        let rule = config.rule_for(Path::new("a.yaml"), &root.0).unwrap();
        let chosen = sops_recipients(&sops, &root.0, "a.yaml", &root.0)
            .unwrap_or_else(|stderr| panic!("sops failed for {yaml}: {stderr}"));
        let mut ours = rule.key_groups[0].age.clone();
        let mut theirs = chosen;
        ours.sort();
        theirs.sort();
        assert_eq!(
            theirs, ours,
            "sops and aesec disagree on the keys of:\n{yaml}"
        );
    }
}

#[test]
fn string_fields_keep_a_plain_scalar_as_written() {
    // go-yaml decodes any scalar into a string field as its own text; a document read would
    // make floats, integers, booleans and timestamps of these.
    for plain in [
        "1.10",
        "0x1F",
        "1_000",
        "007",
        "0o17",
        ".5",
        "1e3",
        "True",
        "2001-12-14",
    ] {
        let config = load(
            &format!("creation_rules:\n  - path_regex: {plain}\n    encrypted_regex: {plain}\n"),
            ".sops.yaml",
        );
        let rule = &config.creation_rules[0];
        assert_eq!(rule.path_regex.as_ref().map(Regex::as_str), Some(plain));
        assert_eq!(
            rule.crypt_rule,
            Some(CryptRule::EncryptedRegex(plain.to_owned()))
        );
    }
    // Null is an empty field; `!!binary` is decoded; quotes are the quoted text.
    let config = load(
        "creation_rules:\n  - path_regex: ~\n  - path_regex: !!binary MS4xMA==\n  - path_regex: '1.10'\n",
        ".sops.yaml",
    );
    let regexes: Vec<Option<&str>> = config
        .creation_rules
        .iter()
        .map(|rule| rule.path_regex.as_ref().map(Regex::as_str))
        .collect();
    assert_eq!(regexes, [None, Some("1.10"), Some("1.10")]);
}

#[test]
fn integer_and_boolean_fields_keep_their_types() {
    let rule = |field: &str| {
        Config::from_yaml(
            format!("creation_rules:\n  - age: age1a\n    {field}\n").as_bytes(),
            ".sops.yaml",
        )
        .map(|config| config.creation_rules[0].clone())
    };
    assert_eq!(
        rule("shamir_threshold: 0x2").unwrap().shamir_threshold,
        Some(2)
    );
    assert!(rule("shamir_threshold: '2'").is_err());
    for (field, expected) in [
        ("mac_only_encrypted: true", true),
        ("mac_only_encrypted: yes", true),
        ("mac_only_encrypted: 'on'", true),
        ("mac_only_encrypted: False", false),
        ("mac_only_encrypted: 'n'", false),
    ] {
        assert_eq!(rule(field).unwrap().mac_only_encrypted, expected, "{field}");
    }
    let error = rule("mac_only_encrypted: 'true'").unwrap_err();
    assert!(
        matches!(&error, ConfigError::FieldType { field, .. } if field.ends_with("mac_only_encrypted")),
        "{error:?}"
    );
}

#[test]
fn plain_scalar_rules_and_quoted_booleans_agree_with_real_sops() {
    let sops = sops_binary();
    let root = TempDir::new("config-sops-scalars");
    let [ours, fallback]: [String; 2] =
        std::array::from_fn(|_| age::x25519::Identity::generate().to_public().to_string());
    // A `path_regex` that a typed read would turn into another text, and files that tell the
    // two readings apart.
    let cases: [(&str, &[&str]); 6] = [
        ("1.10", &["1.10.yaml", "1.1x.yaml"]),
        ("0x1F", &["0x1F.yaml", "31.yaml"]),
        ("1_000", &["1_000.yaml", "1000.yaml"]),
        ("007", &["007.yaml", "7.yaml"]),
        ("True", &["True.yaml", "true.yaml"]),
        (
            "2001-12-14",
            &["2001-12-14.yaml", "x2001-12-14T00:00:00Z.yaml"],
        ),
    ];
    for (plain, files) in cases {
        let yaml = format!(
            "creation_rules:\n  - path_regex: {plain}\n    age: {ours}\n  - age: {fallback}\n"
        );
        std::fs::write(root.0.join(CONFIG_FILE_NAME), &yaml).unwrap();
        let config = Config::load(root.0.join(CONFIG_FILE_NAME)).unwrap();
        for file in files {
            std::fs::write(root.0.join(file), "a: b\n").unwrap();
            let chosen = sops_recipients(&sops, &root.0, file, &root.0)
                .unwrap_or_else(|stderr| panic!("sops failed for {file} under {plain}: {stderr}"));
            let rule = config.rule_for(Path::new(file), &root.0).unwrap();
            assert_eq!(
                chosen, rule.key_groups[0].age,
                "sops and aesec choose different rules for {file} under path_regex: {plain}"
            );
        }
    }
    // Boolean words: sops refuses a quoted 'true' and takes a quoted 'yes'; so does aesec.
    std::fs::write(root.0.join("a.yaml"), "a: b\n").unwrap();
    for value in ["'true'", "'yes'", "yes", "True", "'off'"] {
        let yaml = format!("creation_rules:\n  - age: {ours}\n    mac_only_encrypted: {value}\n");
        std::fs::write(root.0.join(CONFIG_FILE_NAME), &yaml).unwrap();
        let theirs = sops_recipients(&sops, &root.0, "a.yaml", &root.0);
        let mine = Config::load(root.0.join(CONFIG_FILE_NAME));
        assert_eq!(
            theirs.is_ok(),
            mine.is_ok(),
            "mac_only_encrypted: {value}: sops {theirs:?}, aesec {mine:?}"
        );
    }
}
