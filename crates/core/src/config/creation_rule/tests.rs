//! Tests of creation rules read as sops 3.11 reads them.

use super::super::fields::*;
use super::super::{Config, ConfigError};
use super::*;

fn load(yaml: &str) -> Config {
    Config::from_yaml(yaml.as_bytes(), "/repo/.sops.yaml").unwrap()
}

fn load_err(yaml: &str) -> ConfigError {
    Config::from_yaml(yaml.as_bytes(), "/repo/.sops.yaml").unwrap_err()
}

fn group(config: &Config, rule: usize) -> &KeyGroupSpec {
    let groups = &config.creation_rules[rule].key_groups;
    assert_eq!(groups.len(), 1);
    &groups[0]
}

#[test]
fn flat_comma_string_is_trimmed_and_empty_entries_dropped() {
    let config = load("creation_rules:\n  - age: ' age1a , age1b,,age1c ,'\n");
    assert_eq!(group(&config, 0).age, ["age1a", "age1b", "age1c"]);
}

#[test]
fn flat_list_and_other_key_types() {
    let config = load(
        "creation_rules:
  - age:
      - age1a
      - age1b, age1c
    pgp: FP1,FP2
    hc_vault_transit_uri: https://vault:8200/v1/transit/keys/k
    gcp_kms: projects/p/locations/l/keyRings/r/cryptoKeys/k
    azure_keyvault: https://v.vault.azure.net/keys/k/1
    kms: arn:aws:kms:eu:1:key/a+arn:aws:iam::1:role/r, arn:aws:kms:eu:1:key/b
    aws_profile: prod
",
    );
    let group = group(&config, 0);
    assert_eq!(group.age, ["age1a", "age1b", "age1c"]);
    assert_eq!(group.pgp, ["FP1", "FP2"]);
    assert_eq!(group.hc_vault, ["https://vault:8200/v1/transit/keys/k"]);
    assert_eq!(
        group.gcp_kms,
        ["projects/p/locations/l/keyRings/r/cryptoKeys/k"]
    );
    assert_eq!(group.azure_keyvault, ["https://v.vault.azure.net/keys/k/1"]);
    assert_eq!(group.kms.len(), 2);
    assert_eq!(group.kms[0].arn, "arn:aws:kms:eu:1:key/a");
    assert_eq!(group.kms[0].role.as_deref(), Some("arn:aws:iam::1:role/r"));
    assert_eq!(group.kms[1].role, None);
    assert_eq!(group.kms[1].aws_profile.as_deref(), Some("prod"));
}

#[test]
fn flat_keys_keep_repeats_as_sops_does() {
    let config = load("creation_rules:\n  - age: age1a,age1b,age1a\n");
    assert_eq!(group(&config, 0).age, ["age1a", "age1b", "age1a"]);
}

#[test]
fn rule_without_keys_has_no_group() {
    let config = load("creation_rules:\n  - path_regex: x\n");
    assert!(config.creation_rules[0].key_groups.is_empty());
    assert_eq!(config.creation_rules[0].crypt_rule, None);
    assert!(!config.creation_rules[0].mac_only_encrypted);
}

#[test]
fn anchors_and_aliases_as_in_design() {
    let config = load(
        "keys:
  - &admin_alice age1alice   # admins
  - &trinity age1trinity     # ssh-ed25519 AAAA... trinity
  - &oracle age1oracle
creation_rules:
  - path_regex: ^secrets/trinity/
    key_groups:
      - age: [*admin_alice, *trinity]
  - path_regex: ^secrets/common\\.yaml$
    key_groups:
      - age: [*admin_alice, *trinity, *oracle]
",
    );
    assert_eq!(group(&config, 0).age, ["age1alice", "age1trinity"]);
    assert_eq!(
        group(&config, 1).age,
        ["age1alice", "age1trinity", "age1oracle"]
    );
}

#[test]
fn key_groups_with_shamir_threshold_replace_flat_keys() {
    let config = load(
        "creation_rules:
  - age: age1ignored
    shamir_threshold: 2
    key_groups:
      - age: [age1a]
        pgp: [FP1]
      - age: ['age1b,age1c']
        hc_vault: [https://vault:8200/v1/transit/keys/k]
      - kms:
          - arn: arn:aws:kms:k
            role: arn:aws:iam::1:role/r
            context: {app: db}
        gcp_kms:
          - resource_id: projects/p/k
        azure_keyvault:
          - vaultUrl: https://v.vault.azure.net
            key: k
            version: '1'
",
    );
    let rule = &config.creation_rules[0];
    assert_eq!(rule.shamir_threshold, Some(2));
    assert_eq!(rule.key_groups.len(), 3);
    assert_eq!(rule.key_groups[0].age, ["age1a"]);
    assert_eq!(rule.key_groups[0].pgp, ["FP1"]);
    assert_eq!(rule.key_groups[1].age, ["age1b", "age1c"]);
    assert_eq!(
        rule.key_groups[1].hc_vault,
        ["https://vault:8200/v1/transit/keys/k"]
    );
    let kms = &rule.key_groups[2].kms[0];
    assert_eq!(kms.arn, "arn:aws:kms:k");
    assert_eq!(kms.role.as_deref(), Some("arn:aws:iam::1:role/r"));
    assert_eq!(kms.context.get("app").map(String::as_str), Some("db"));
    assert_eq!(rule.key_groups[2].gcp_kms, ["projects/p/k"]);
    assert_eq!(
        rule.key_groups[2].azure_keyvault,
        ["https://v.vault.azure.net/keys/k/1"]
    );
}

#[test]
fn shamir_threshold_zero_means_all() {
    let config = load("creation_rules:\n  - shamir_threshold: 0\n    age: a\n");
    assert_eq!(config.creation_rules[0].shamir_threshold, None);
    let error = load_err("creation_rules:\n  - shamir_threshold: -1\n");
    assert!(matches!(
        error,
        ConfigError::InvalidShamirThreshold {
            rule: 0,
            threshold: -1,
            ..
        }
    ));
}

#[test]
fn merge_is_recursive_and_deduplicated() {
    let config = load(
        "creation_rules:
  - key_groups:
      - merge:
          - age: [age1a, age1b]
          - merge:
              - age: [age1c, age1a]
                pgp: [FP1]
        age: [age1b, age1d]
        pgp: [FP1]
",
    );
    let group = group(&config, 0);
    assert_eq!(group.age, ["age1a", "age1b", "age1c", "age1d"]);
    assert_eq!(group.pgp, ["FP1"]);
}

#[test]
fn crypt_rule_and_mac_only_encrypted() {
    let config = load(
        "creation_rules:
  - encrypted_regex: ^(data|stringData)$
    mac_only_encrypted: true
  - unencrypted_suffix: ''
    encrypted_suffix: _enc
    mac_only_encrypted: yes
  - encrypted_comment_regex: sops:enc
",
    );
    let rules = &config.creation_rules;
    assert_eq!(
        rules[0].crypt_rule,
        Some(CryptRule::EncryptedRegex("^(data|stringData)$".into()))
    );
    assert!(rules[0].mac_only_encrypted);
    assert_eq!(
        rules[1].crypt_rule,
        Some(CryptRule::EncryptedSuffix("_enc".into()))
    );
    assert!(rules[1].mac_only_encrypted);
    assert_eq!(
        rules[2].crypt_rule,
        Some(CryptRule::EncryptedCommentRegex("sops:enc".into()))
    );
}

#[test]
fn two_crypt_rules_name_the_rule() {
    let error = load_err(
        "creation_rules:
  - age: a
  - encrypted_regex: ^data$
    unencrypted_suffix: _plain
",
    );
    let ConfigError::MultipleCryptRules { rule, fields, .. } = error else {
        panic!("unexpected error: {error:?}");
    };
    assert_eq!(rule, 1);
    assert_eq!(fields, ["unencrypted_suffix", "encrypted_regex"]);
}

#[test]
fn invalid_regex_is_refused() {
    let error = load_err("creation_rules:\n  - path_regex: '['\n  - path_regex: '(a'\n");
    assert!(
        matches!(error, ConfigError::InvalidRegex { rule: 0, ref pattern, .. } if pattern == "[")
    );
}

#[test]
fn wrong_field_types_are_refused() {
    let cases = [
        ("creation_rules: x\n", None, "creation_rules"),
        (
            "creation_rules:\n  - age: {a: b}\n",
            Some(0),
            "creation_rules[0].age",
        ),
        (
            "creation_rules:\n  - key_groups:\n      - age: age1a\n",
            Some(0),
            "creation_rules[0].key_groups[0].age",
        ),
        (
            "creation_rules:\n  - mac_only_encrypted: maybe\n",
            Some(0),
            "creation_rules[0].mac_only_encrypted",
        ),
        (
            "creation_rules:\n  - a: 1\n  - shamir_threshold: two\n",
            Some(1),
            "creation_rules[1].shamir_threshold",
        ),
        ("- a\n- b\n", None, "the top level"),
    ];
    for (yaml, expected_rule, expected_field) in cases {
        let error = load_err(yaml);
        assert!(
            matches!(&error, ConfigError::FieldType { rule, field, .. } if *rule == expected_rule && field == expected_field),
            "{yaml:?}: {error:?}"
        );
    }
}

#[test]
fn unknown_keys_are_ignored() {
    let config = load(
        "input_type: yaml
destination_rules:
  - s3_bucket: b
creation_rules:
  - path_regex: x
    input_type: json
    some_future_field: {nested: [1, 2]}
    age: age1a
    key_groups_typo: []
",
    );
    assert_eq!(group(&config, 0).age, ["age1a"]);
}

#[test]
fn comma_splitting_as_sops_does() {
    // A flat field's string: blank pieces dropped.
    assert_eq!(split_commas(" a ,, b ,"), ["a", "b"]);
    assert!(split_commas("").is_empty());
    // A joined list or a group's entry made into master keys: blank pieces kept (and refused
    // as recipients later), nothing from an empty text.
    assert_eq!(split_keys(" a ,, b ,"), ["a", "", "b", ""]);
    assert!(split_keys("").is_empty());
}

#[test]
fn kms_role_split_needs_an_arn_before_it() {
    let spec = kms_from_arn("+arn:aws:iam::1:role/r", None);
    assert_eq!(spec.role, None);
    let spec = kms_from_arn("arn:aws:kms:k +arn:aws:iam::1:role/r", None);
    assert_eq!(spec.arn, "arn:aws:kms:k");
    assert_eq!(spec.role.as_deref(), Some("arn:aws:iam::1:role/r"));
}
