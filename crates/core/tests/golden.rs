//! Byte-identity against files written by the real sops 3.11.0.
//!
//! - Re-sealing: [`Document::open`] then [`Document::seal`] with the same data key must give
//!   back the original file byte for byte, except the values of `lastmodified` and `mac` (the
//!   IV stash keeps every value's ciphertext). INI's `[sops]` section is compared as a sorted
//!   set of lines, since sops writes it in random order.
//! - Formatting snapshots: [`aesec::file::encrypt`] with `--encrypted-regex '^nothing$'` must
//!   give sops' encrypted file byte for byte, except the random fields of the metadata block
//!   (`enc`, `lastmodified`, `mac`). See `tests/vectors/snapshots/README.md`.

mod support;

use std::path::Path;

use aesec::CryptRule;
use aesec::file::{DecryptOptions, EncryptOptions, decrypt, encrypt};
use aesec::keys::age::Identities;
use aesec::sops::{AgeDecryptor, AgeMasterKey, Document, EncryptionRules, OpenOptions, Recipients};
use aesec::store::{EmitOptions, Format};

use support::{identities, read, test_path};

/// The recipient of `tests/vectors/sops/vec.key`, which the snapshots are encrypted to.
const VEC_RECIPIENT: &str = "age1m69ryw24zjg9pmxr033synsftwkt4f8nh7xp7cm07at3n3r67yfswcwm58";

/// What replaces a masked value.
const MASK: &str = "<masked>";

/// The key of a metadata line (`key: v`, `"key": v`, `key = v`, `sops_key=v`), and the length of
/// the line up to and including its separator.
fn line_key(line: &str) -> Option<(&str, usize)> {
    let indent = line.len() - line.trim_start().len();
    let rest = line.get(indent..)?;
    let (quoted, rest) = match rest.strip_prefix('"') {
        Some(rest) => (1, rest),
        None => (0, rest),
    };
    let end = rest.find(['"', ':', '=', ' '])?;
    let key = rest.get(..end)?;
    let after = rest.get(end..)?;
    let separator = after.len() - after.trim_start_matches(['"', ':', '=', ' ']).len();
    Some((key, indent + quoted + end + separator))
}

/// Replaces the value of every line whose key is one of `keys` with [`MASK`]; returns the text
/// and how many lines were masked.
fn mask_lines(text: &str, keys: &[&str]) -> (String, usize) {
    let mut count = 0;
    let lines: Vec<String> = text
        .split_inclusive('\n')
        .map(|line| match line_key(line) {
            Some((key, value_at)) if keys.contains(&key) => {
                count += 1;
                let ending = if line.ends_with('\n') { "\n" } else { "" };
                format!("{}{MASK}{ending}", line.get(..value_at).unwrap_or(line))
            }
            _ => line.to_owned(),
        })
        .collect();
    (lines.concat(), count)
}

/// The re-seal mask: `lastmodified` and `mac` in any store's spelling.
fn mask_reseal(text: &str) -> (String, usize) {
    mask_lines(
        text,
        &["lastmodified", "mac", "sops_lastmodified", "sops_mac"],
    )
}

/// Splits an INI file into the part before `[sops]` and the sorted lines of that section.
fn split_ini_metadata(text: &str) -> (String, Vec<String>) {
    match text.find("[sops]\n") {
        Some(at) => {
            let (data, metadata) = text.split_at(at);
            let mut lines: Vec<String> = metadata.lines().map(str::to_owned).collect();
            lines.sort();
            (data.to_owned(), lines)
        }
        None => (text.to_owned(), Vec::new()),
    }
}

/// Opens `file` with `keys`, seals it again, and compares the result with the original.
fn check_reseal(file: &str, keys: &[&str]) {
    let original = read(file);
    let format = Format::from_path(file);
    let mut ids = Identities::new();
    for key in keys {
        ids.extend(identities(key));
    }
    let decryptor = AgeDecryptor::new(&ids);
    let mut document = Document::open(&original, format, &[&decryptor], &OpenOptions::default())
        .unwrap_or_else(|e| panic!("{file}: cannot open: {e}"));
    let resealed = document
        .seal(&EmitOptions::default())
        .unwrap_or_else(|e| panic!("{file}: cannot seal: {e}"));
    let original = String::from_utf8(original).expect("vectors are UTF-8");
    let resealed = String::from_utf8(resealed).expect("aesec writes UTF-8 here");
    let (expected, expected_count) = mask_reseal(&original);
    let (actual, actual_count) = mask_reseal(&resealed);
    assert_eq!(
        expected_count, 2,
        "{file}: one lastmodified and one mac line"
    );
    assert_eq!(
        actual_count, 2,
        "{file}: resealed has one lastmodified and one mac line"
    );
    assert_ne!(
        original, resealed,
        "{file}: a new lastmodified and mac are written"
    );
    if format == Format::Ini {
        let (expected_data, expected_metadata) = split_ini_metadata(&expected);
        let (actual_data, actual_metadata) = split_ini_metadata(&actual);
        assert_eq!(actual_data, expected_data, "{file}: values");
        assert_eq!(actual_metadata, expected_metadata, "{file}: [sops] section");
    } else {
        assert_eq!(actual, expected, "{file}");
    }
    // The sealed file opens again, and gives the same plaintext.
    let options = DecryptOptions::new(format, format);
    let before = decrypt(original.as_bytes(), &[&decryptor], &options)
        .unwrap_or_else(|e| panic!("{file}: {e}"));
    let after = decrypt(resealed.as_bytes(), &[&decryptor], &options)
        .unwrap_or_else(|e| panic!("{file}: resealed file does not open: {e}"));
    assert!(before == after, "{file}: plaintext changed by re-sealing");
}

#[test]
fn reseal_keeps_every_byte_but_lastmodified_and_mac() {
    let vec_key = "vectors/sops/vec.key";
    let other_key = "vectors/sops/other/key1.txt";
    check_reseal("vectors/sops/vec.enc.yaml", &[vec_key]);
    check_reseal("vectors/sops/vec.enc.json", &[vec_key]);
    check_reseal("vectors/sops/other/sample.enc.yaml", &[other_key]);
    check_reseal("vectors/sops/other/sample.enc.env", &[other_key]);
    check_reseal("vectors/sops/other/sample.enc.ini", &[other_key]);
}

#[test]
fn reseal_keeps_shamir_key_groups() {
    // Two of three groups suffice; the re-sealed file keeps all three groups' entries as they
    // were (same data key, same shares).
    check_reseal(
        "vectors/sops/shamir/s.enc.yaml",
        &[
            "vectors/sops/shamir/key1.txt",
            "vectors/sops/shamir/key2.txt",
        ],
    );
    check_reseal(
        "vectors/sops/shamir/s.enc.yaml",
        &[
            "vectors/sops/shamir/key1.txt",
            "vectors/sops/shamir/key2.txt",
            "vectors/sops/shamir/key3.txt",
        ],
    );
}

#[test]
fn mask_reseal_masks_exactly_the_two_values() {
    let (masked, count) = mask_reseal(
        "a: 1\nmac: x\nsops:\n    lastmodified: \"2026\"\n    mac: ENC[x]\n    version: 3\n",
    );
    assert_eq!(count, 3);
    assert_eq!(
        masked,
        "a: 1\nmac: <masked>\nsops:\n    lastmodified: \"<masked>\n    mac: <masked>\n    version: 3\n"
    );
    let (masked, _) = mask_reseal("\t\t\"mac\": \"ENC[x]\",\nsops_mac=ENC[y]\nmac        = z\n");
    assert_eq!(
        masked,
        "\t\t\"mac\": \"<masked>\nsops_mac=<masked>\nmac        = <masked>\n"
    );
}

/// Masks the random fields of the metadata blocks only: the armoured `enc` bodies,
/// `lastmodified` and `mac`. A YAML block runs from `sops:` at column 0 to the next `---`; the
/// JSON block is everything after the last `"sops":` line.
fn mask_snapshot(text: &str, format: Format) -> String {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let json_start = lines
        .iter()
        .rposition(|line| line.trim_start().starts_with("\"sops\":"));
    let mut in_metadata = false;
    let mut in_armor = false;
    let mut armor_masked = false;
    let mut out = String::new();
    for (index, line) in lines.iter().enumerate() {
        match format {
            Format::Json => in_metadata = json_start.is_some_and(|start| index > start),
            _ if *line == "sops:\n" => in_metadata = true,
            _ if *line == "---\n" => in_metadata = false,
            _ => {}
        }
        if !in_metadata {
            out.push_str(line);
            continue;
        }
        if line.contains("-----END AGE ENCRYPTED FILE-----") && in_armor {
            in_armor = false;
            out.push_str(line);
            continue;
        }
        if in_armor {
            // The body's length varies (age implementations may add grease stanzas): the
            // whole body becomes one masked line with the first line's indent.
            if !armor_masked {
                let indent = line.len() - line.trim_start().len();
                out.push_str(line.get(..indent).unwrap_or_default());
                out.push_str(MASK);
                out.push('\n');
                armor_masked = true;
            }
            continue;
        }
        if line
            .trim_end()
            .ends_with("-----BEGIN AGE ENCRYPTED FILE-----")
        {
            in_armor = true;
            armor_masked = false;
            out.push_str(line);
            continue;
        }
        let (masked, _) = mask_lines(line, &["enc", "lastmodified", "mac"]);
        out.push_str(&masked);
    }
    out
}

/// Encrypts `input` as sops did for the snapshot `reference`, and compares them masked.
fn check_snapshot(input: &Path, reference: &Path, format: Format, emit: EmitOptions) -> bool {
    let plaintext = std::fs::read(input).expect("inputs are readable");
    let expected = std::fs::read(reference).expect("snapshots are readable");
    let recipient = VEC_RECIPIENT.parse().expect("a valid recipient");
    let recipients = Recipients::single_group(vec![Box::new(AgeMasterKey::new(recipient))]);
    let mut options = EncryptOptions::new(format, format);
    options.rules = EncryptionRules::with_crypt_rule(
        Some(CryptRule::EncryptedRegex("^nothing$".to_owned())),
        false,
    );
    options.emit = emit;
    let actual = match encrypt(&plaintext, &recipients, &options) {
        Ok(actual) => actual,
        Err(error) => {
            eprintln!(
                "{}: aesec refuses what sops encrypts: {error}",
                input.display()
            );
            return false;
        }
    };
    let expected = mask_snapshot(&String::from_utf8_lossy(&expected), format);
    let actual = mask_snapshot(&String::from_utf8_lossy(&actual), format);
    if actual != expected {
        let diff: Vec<String> = expected
            .lines()
            .zip(actual.lines())
            .enumerate()
            .filter(|(_, (e, a))| e != a)
            .take(5)
            .map(|(n, (e, a))| format!("line {}:\n  sops:  {e:?}\n  aesec: {a:?}", n + 1))
            .collect();
        eprintln!(
            "{}: differs from {} ({} vs {} lines)\n{}",
            input.display(),
            reference.display(),
            expected.lines().count(),
            actual.lines().count(),
            diff.join("\n")
        );
        return false;
    }
    true
}

/// The snapshot pairs of a directory: `(input, reference)` for every `NAME.enc.EXT` in
/// `snapshots`, with input `inputs/NAME.EXT`.
fn snapshot_pairs(inputs: &str, snapshots: &str, ext: &str) -> Vec<(std::path::PathBuf, String)> {
    let suffix = format!(".enc.{ext}");
    let mut pairs: Vec<_> = std::fs::read_dir(test_path(snapshots))
        .expect("the snapshot directory exists")
        .map(|entry| entry.expect("a readable directory").path())
        .filter_map(|path| {
            let name = path
                .file_name()?
                .to_str()?
                .strip_suffix(&suffix)?
                .to_owned();
            (!name.contains('.') && !name.starts_with("golden")).then_some((path, name))
        })
        .collect();
    pairs.sort();
    pairs
        .into_iter()
        .map(|(path, name)| {
            (
                test_path(&format!("{inputs}/{name}.{ext}")),
                path.display().to_string(),
            )
        })
        .collect()
}

/// The file names in `crates/core/tests/<dir>`, sorted.
fn file_names(dir: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(test_path(dir))
        .unwrap_or_else(|e| panic!("cannot list {dir}: {e}"))
        .map(|entry| {
            let entry = entry.unwrap_or_else(|e| panic!("cannot list {dir}: {e}"));
            entry.file_name().to_string_lossy().into_owned()
        })
        .collect();
    names.sort();
    names
}

/// Checks that the YAML vectors made by `vectors/yaml/regenerate.sh` are complete: every input
/// `NAME.yaml` either was refused by sops (`NAME.error.txt`, and then has no output) or has its
/// layout `NAME.sops.yaml`, its full snapshot `snapshots/yaml/NAME.enc.yaml` and exactly one of
/// `NAME.plain.yaml` / `NAME.plain-error.txt`; and every output belongs to an input. Returns
/// the problems found in the listings `inputs` (of `vectors/yaml`) and `snapshots` (of
/// `vectors/snapshots/yaml`).
fn yaml_vector_coverage_problems(inputs: &[String], snapshots: &[String]) -> Vec<String> {
    let has = |name: &str| inputs.iter().any(|file| file == name);
    let is_input = |name: &str| !name.contains('.') && has(&format!("{name}.yaml"));
    let mut problems = Vec::new();
    for file in inputs {
        let Some((name, kind)) = file.split_once('.') else {
            problems.push(format!("vectors/yaml/{file}: not a vector"));
            continue;
        };
        match kind {
            "yaml" => {
                let refused = has(&format!("{name}.error.txt"));
                let snapshot = snapshots.contains(&format!("{name}.enc.yaml"));
                let layout = has(&format!("{name}.sops.yaml"));
                let plain = has(&format!("{name}.plain.yaml"));
                let plain_error = has(&format!("{name}.plain-error.txt"));
                let complete = if refused {
                    !snapshot && !layout && !plain && !plain_error
                } else {
                    snapshot && layout && plain != plain_error
                };
                if !complete {
                    problems.push(format!(
                        "vectors/yaml/{file}: refused {refused}, snapshot {snapshot}, \
                         .sops.yaml {layout}, .plain.yaml {plain}, .plain-error.txt {plain_error} \
                         (run vectors/yaml/regenerate.sh)"
                    ));
                }
            }
            "sops.yaml" | "plain.yaml" | "error.txt" | "plain-error.txt" if is_input(name) => {}
            "md" | "sh" if name == "README" || name == "regenerate" => {}
            _ => problems.push(format!("vectors/yaml/{file}: no input {name}.yaml")),
        }
    }
    for file in snapshots {
        match file.strip_suffix(".enc.yaml") {
            Some(name) if is_input(name) => {}
            _ => problems.push(format!("vectors/snapshots/yaml/{file}: no input")),
        }
    }
    problems
}

#[test]
fn yaml_snapshots_cover_every_accepted_input() {
    let inputs = file_names("vectors/yaml");
    let snapshots = file_names("vectors/snapshots/yaml");
    let problems = yaml_vector_coverage_problems(&inputs, &snapshots);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The check itself: a missing snapshot, a stray snapshot and a refused input with output
    // are each reported.
    let names = |list: &[&str]| {
        list.iter()
            .map(|name| (*name).to_owned())
            .collect::<Vec<_>>()
    };
    let inputs = names(&[
        "a.yaml",
        "a.sops.yaml",
        "a.plain.yaml",
        "b.yaml",
        "b.error.txt",
    ]);
    assert!(yaml_vector_coverage_problems(&inputs, &names(&["a.enc.yaml"])).is_empty());
    assert_eq!(yaml_vector_coverage_problems(&inputs, &[]).len(), 1);
    let stray = names(&["a.enc.yaml", "c.enc.yaml"]);
    assert_eq!(yaml_vector_coverage_problems(&inputs, &stray).len(), 1);
    let refused_with_output = names(&["a.enc.yaml", "b.enc.yaml"]);
    assert_eq!(
        yaml_vector_coverage_problems(&inputs, &refused_with_output).len(),
        1
    );
}

/// The names of the inputs sops accepted: `NAME.yaml` without a `NAME.error.txt`.
fn yaml_accepted_inputs() -> Vec<String> {
    let inputs = file_names("vectors/yaml");
    inputs
        .iter()
        .filter_map(|file| file.strip_suffix(".yaml"))
        .filter(|name| !name.contains('.'))
        .filter(|name| !inputs.contains(&format!("{name}.error.txt")))
        .map(str::to_owned)
        .collect()
}

#[test]
fn yaml_encrypt_matches_sops_snapshots() {
    let pairs = snapshot_pairs("vectors/yaml", "vectors/snapshots/yaml", "yaml");
    let snapshotted: Vec<String> = pairs
        .iter()
        .filter_map(|(input, _)| Some(input.file_stem()?.to_str()?.to_owned()))
        .collect();
    assert_eq!(
        snapshotted,
        yaml_accepted_inputs(),
        "one snapshot per accepted input"
    );
    let failed: Vec<&str> = pairs
        .iter()
        .filter(|(input, reference)| {
            !check_snapshot(
                input,
                Path::new(reference),
                Format::Yaml,
                EmitOptions::default(),
            )
        })
        .map(|(_, reference)| reference.as_str())
        .collect();
    assert!(
        failed.is_empty(),
        "{} differ:\n{}",
        failed.len(),
        failed.join("\n")
    );
}

#[test]
fn json_encrypt_matches_sops_snapshots() {
    let pairs = snapshot_pairs("vectors/json", "vectors/json", "json");
    assert_eq!(pairs.len(), 35, "NAME.enc.json snapshots in vectors/json");
    let failed: Vec<&str> = pairs
        .iter()
        .filter(|(input, reference)| {
            let name = input
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            let mut emit = EmitOptions::default();
            // indentN_* files were made with `stores: {json: {indent: N}}`.
            if let Some(rest) = name.strip_prefix("indent") {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                emit.json_indent = digits.parse().ok();
            }
            !check_snapshot(input, Path::new(reference), Format::Json, emit)
        })
        .map(|(_, reference)| reference.as_str())
        .collect();
    assert!(
        failed.is_empty(),
        "{} differ:\n{}",
        failed.len(),
        failed.join("\n")
    );
}

/// Decrypts each sops YAML snapshot with aesec and compares with what `sops decrypt` printed
/// (`../yaml/NAME.plain.yaml`); returns the snapshots that differ or fail.
fn yaml_snapshot_decrypt_failures(names: &[&str]) -> Vec<String> {
    let ids = identities("vectors/sops/vec.key");
    let decryptor = AgeDecryptor::new(&ids);
    let options = DecryptOptions::new(Format::Yaml, Format::Yaml);
    let mut failed = Vec::new();
    for name in names {
        let plain = test_path(&format!("vectors/yaml/{name}.plain.yaml"));
        let encrypted = read(&format!("vectors/snapshots/yaml/{name}.enc.yaml"));
        let expected = std::fs::read(&plain).expect("plaintext snapshots are readable");
        match decrypt(&encrypted, &[&decryptor], &options) {
            Ok(actual) if actual.as_slice() == expected.as_slice() => {}
            Ok(actual) => failed.push(format!(
                "{name}: differs\n--- aesec\n{}\n--- sops\n{}",
                String::from_utf8_lossy(&actual),
                String::from_utf8_lossy(&expected)
            )),
            Err(error) => failed.push(format!("{name}: {error}")),
        }
    }
    failed
}

/// The snapshots sops can decrypt again (it has a `NAME.plain.yaml`).
fn yaml_decryptable_snapshots() -> Vec<String> {
    let pairs = snapshot_pairs("vectors/yaml", "vectors/snapshots/yaml", "yaml");
    pairs
        .iter()
        .filter_map(|(input, _)| {
            let name = input.file_stem()?.to_str()?.to_owned();
            test_path(&format!("vectors/yaml/{name}.plain.yaml"))
                .exists()
                .then_some(name)
        })
        .collect()
}

/// Snapshots whose decryption fails because of a library bug, each with its own test.
const YAML_DECRYPT_KNOWN_BUGS: &[&str] = &["sops_like"];

#[test]
fn yaml_decrypt_of_sops_snapshots_matches_sops_decrypt() {
    let names = yaml_decryptable_snapshots();
    let expected: Vec<String> = yaml_accepted_inputs()
        .into_iter()
        .filter(|name| !test_path(&format!("vectors/yaml/{name}.plain-error.txt")).exists())
        .collect();
    assert_eq!(
        names, expected,
        "decryptable snapshots: every accepted input without a NAME.plain-error.txt"
    );
    let names: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .filter(|name| !YAML_DECRYPT_KNOWN_BUGS.contains(name))
        .collect();
    let failed = yaml_snapshot_decrypt_failures(&names);
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

/// `sops_like.yaml` holds strings that look like `ENC[…]` values; with `--encrypted-regex
/// '^nothing$'` sops leaves them as they are and prints them back on decrypt. aesec tries to
/// decrypt every `ENC[…]` string whatever the crypt rule (see `corpus.rs`,
/// `ciphertext_outside_encrypted_regex_is_not_decrypted`).
#[test]
fn yaml_decrypt_leaves_enc_lookalikes_outside_the_crypt_rule() {
    let failed = yaml_snapshot_decrypt_failures(YAML_DECRYPT_KNOWN_BUGS);
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
