//! Differential interop suite against the real sops 3.11: proptest-generated plaintexts for every
//! store (YAML, JSON, dotenv, INI, binary), encrypted by one tool and decrypted by the other.
//!
//! For each store and direction, 200 generated documents:
//!
//! - **aesec → sops**: `aesec encrypt --age R`, then `sops decrypt` must print exactly what
//!   `sops decrypt` prints for `sops encrypt` of the same plaintext (the reference is computed by
//!   sops on every case, never written down). When sops refuses the plaintext, aesec must refuse
//!   it too.
//! - **sops → aesec**: `sops encrypt`, then `aesec decrypt` must be byte-equal to `sops decrypt`.
//!
//! - **encrypted shape**: aesec's encrypted file, ciphertexts masked to `ENC[type]` and
//!   metadata cut off, must equal sops' byte for byte (same values in clear, same types, same
//!   layout and comment placement).
//!
//! The generators ([`documents`]) render nested maps and lists, unicode, empty strings, nulls,
//! integers near ±2^63, tiny/huge/negative-zero floats, floats midway between two shortest
//! decimals, multi-line strings (also mixing `\n` with NEL, LS and PS, which go-yaml writes as
//! literal blocks), strings that look like other types (quoted and plain), awkward keys and
//! comments, within what each store can hold. Under `AESEC_REQUIRE_PEERS=1` a missing sops fails the tests (see the harness).

use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use aesec_tests::{SopsFixture as Fixture, mask_ciphertexts, require_peer};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// Generated documents per store and direction.
const CASES: u32 = 200;

/// Bound on shrinking steps: each step runs several peer processes.
const MAX_SHRINK_ITERS: u32 = 200;

// ---------------------------------------------------------------------------------------------
// Fixture
// ---------------------------------------------------------------------------------------------

/// Text for assertion messages: printed as an escaped string when UTF-8, as escaped bytes
/// otherwise.
#[derive(PartialEq, Eq)]
struct Text(Vec<u8>);

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match std::str::from_utf8(&self.0) {
            Ok(text) => write!(f, "{text:?}"),
            Err(_) => write!(f, "b\"{}\"", self.0.escape_ascii()),
        }
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The five stores, with the file extension sops uses to detect each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Store {
    Yaml,
    Json,
    Dotenv,
    Ini,
    Binary,
}

impl Store {
    fn name(self) -> &'static str {
        match self {
            Self::Yaml => "yaml",
            Self::Json => "json",
            Self::Dotenv => "dotenv",
            Self::Ini => "ini",
            Self::Binary => "binary",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Self::Yaml => "yaml",
            Self::Json => "json",
            Self::Dotenv => "env",
            Self::Ini => "ini",
            Self::Binary => "bin",
        }
    }

    fn file(self, stem: &str) -> String {
        format!("{stem}.{}", self.extension())
    }
}

/// Runs `check` on [`CASES`] documents of `store`, then prints the count.
fn run_property(
    store: Store,
    direction: &str,
    check: impl Fn(&Fixture, Store, &[u8]) -> Result<(), TestCaseError>,
) {
    let fixture = require_peer!(Fixture::new());
    let config = Config {
        cases: CASES,
        max_shrink_iters: MAX_SHRINK_ITERS,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let ran = AtomicUsize::new(0);
    let result = runner.run(&documents(store), |document| {
        ran.fetch_add(1, Ordering::Relaxed);
        check(&fixture, store, &document.0)
    });
    if let Err(err) = result {
        panic!("{} {direction}: {err}", store.name());
    }
    eprintln!(
        "{} {direction}: {} cases ({} discarded so far because sops could not read its own output)",
        store.name(),
        ran.load(Ordering::Relaxed),
        SOPS_SELF_FAILURES.load(Ordering::Relaxed)
    );
}

/// aesec encrypts, sops decrypts; the reference is sops' own round trip.
fn check_aesec_to_sops(fx: &Fixture, store: Store, plain: &[u8]) -> Result<(), TestCaseError> {
    let plain_path = fx.home.write(store.file("plain"), plain);
    let sops_encrypted = fx
        .sops()
        .args(["encrypt", "--age", &fx.key.recipient])
        .arg(&plain_path)
        .output();
    let aesec_encrypted = fx
        .aesec()
        .args(["encrypt", "--age", &fx.key.recipient])
        .arg(&plain_path)
        .output();
    if !sops_encrypted.status.success() {
        prop_assert!(
            !aesec_encrypted.status.success(),
            "sops refuses this plaintext but aesec encrypts it\nsops stderr: {}",
            lossy(&sops_encrypted.stderr)
        );
        return Ok(());
    }
    prop_assert!(
        aesec_encrypted.status.success(),
        "aesec encrypt failed where sops succeeded\naesec stderr: {}",
        lossy(&aesec_encrypted.stderr)
    );
    let by_sops = fx.home.write(store.file("by-sops"), &sops_encrypted.stdout);
    let by_aesec = fx
        .home
        .write(store.file("by-aesec"), &aesec_encrypted.stdout);
    let reference = decrypt_with_sops(fx, &by_sops)?;
    let actual = fx.sops().arg("decrypt").arg(&by_aesec).output();
    prop_assert!(
        actual.status.success(),
        "sops cannot decrypt aesec's file\nsops stderr: {}\naesec's file:\n{}",
        lossy(&actual.stderr),
        lossy(&aesec_encrypted.stdout)
    );
    prop_assert_eq!(
        Text(actual.stdout),
        Text(reference),
        "sops decrypt of aesec's file (left) differs from sops' own round trip (right)"
    );
    Ok(())
}

/// sops encrypts; aesec decrypt must equal sops decrypt.
fn check_sops_to_aesec(fx: &Fixture, store: Store, plain: &[u8]) -> Result<(), TestCaseError> {
    let plain_path = fx.home.write(store.file("plain"), plain);
    let sops_encrypted = fx
        .sops()
        .args(["encrypt", "--age", &fx.key.recipient])
        .arg(&plain_path)
        .output();
    if !sops_encrypted.status.success() {
        return Err(TestCaseError::reject("sops refuses this plaintext"));
    }
    let by_sops = fx.home.write(store.file("by-sops"), &sops_encrypted.stdout);
    let reference = decrypt_with_sops(fx, &by_sops)?;
    let actual = fx.aesec().arg("decrypt").arg(&by_sops).output();
    prop_assert!(
        actual.status.success(),
        "aesec cannot decrypt sops' file\naesec stderr: {}\nsops' file:\n{}",
        lossy(&actual.stderr),
        lossy(&sops_encrypted.stdout)
    );
    prop_assert_eq!(
        Text(actual.stdout),
        Text(reference),
        "aesec decrypt (left) differs from sops decrypt (right)"
    );
    Ok(())
}

/// aesec's encrypted file must have the shape of sops': the same bytes once every ciphertext is
/// masked to `ENC[type]` and the metadata (keys, dates, MAC) is cut off.
fn check_encrypted_shape(fx: &Fixture, store: Store, plain: &[u8]) -> Result<(), TestCaseError> {
    let plain_path = fx.home.write(store.file("plain"), plain);
    let sops_encrypted = fx
        .sops()
        .args(["encrypt", "--age", &fx.key.recipient])
        .arg(&plain_path)
        .output();
    if !sops_encrypted.status.success() {
        return Err(TestCaseError::reject("sops refuses this plaintext"));
    }
    let aesec_encrypted = fx
        .aesec()
        .args(["encrypt", "--age", &fx.key.recipient])
        .arg(&plain_path)
        .output();
    prop_assert!(
        aesec_encrypted.status.success(),
        "aesec encrypt failed where sops succeeded\naesec stderr: {}",
        lossy(&aesec_encrypted.stderr)
    );
    let shape = |bytes: &[u8]| mask_ciphertexts(&values_part(store, &lossy(bytes)));
    prop_assert_eq!(
        Text(shape(&aesec_encrypted.stdout).into_bytes()),
        Text(shape(&sops_encrypted.stdout).into_bytes()),
        "aesec's encrypted values (left) differ in shape from sops' (right)"
    );
    Ok(())
}

/// The part of an encrypted file that holds the document, without the sops metadata.
fn values_part(store: Store, encrypted: &str) -> String {
    match store {
        Store::Yaml => {
            // The metadata is the last top-level key. The line before it may end with any of
            // go-yaml's line breaks: a block scalar's last line can be U+2028 (or U+0085,
            // U+2029) instead of '\n'.
            let cut = encrypted
                .rmatch_indices("sops:\n")
                .map(|(at, _)| at)
                .find(|&at| {
                    at == 0 || encrypted[..at].ends_with(['\n', '\u{85}', '\u{2028}', '\u{2029}'])
                });
            cut.map_or(encrypted, |at| &encrypted[..at]).to_owned()
        }
        Store::Json | Store::Binary => encrypted
            .rfind("\"sops\": ")
            .map_or(encrypted, |at| &encrypted[..at])
            .to_owned(),
        Store::Dotenv => encrypted
            .split_inclusive('\n')
            .filter(|line| !line.starts_with("sops_"))
            .collect(),
        Store::Ini => encrypted
            .find("[sops]")
            .map_or(encrypted, |at| &encrypted[..at])
            .to_owned(),
    }
}

/// Documents sops cannot read back after writing them itself (go-yaml's `|4-` indentation
/// bug in lists, negative zero, …): they give no reference, so the case is discarded and
/// counted instead of judged.
static SOPS_SELF_FAILURES: AtomicUsize = AtomicUsize::new(0);

/// The reference: sops' decryption of the file sops itself wrote.
fn decrypt_with_sops(fx: &Fixture, path: &Path) -> Result<Vec<u8>, TestCaseError> {
    let output = fx.sops().arg("decrypt").arg(path).output();
    if !output.status.success() {
        SOPS_SELF_FAILURES.fetch_add(1, Ordering::Relaxed);
    }
    prop_assume!(
        output.status.success(),
        "sops cannot decrypt its own file: {}",
        lossy(&output.stderr)
    );
    Ok(output.stdout)
}

// ---------------------------------------------------------------------------------------------
// Tests: every store, both directions
// ---------------------------------------------------------------------------------------------

#[test]
fn yaml_aesec_to_sops() {
    run_property(Store::Yaml, "aesec->sops", check_aesec_to_sops);
}

#[test]
fn yaml_sops_to_aesec() {
    run_property(Store::Yaml, "sops->aesec", check_sops_to_aesec);
}

#[test]
fn json_aesec_to_sops() {
    run_property(Store::Json, "aesec->sops", check_aesec_to_sops);
}

#[test]
fn json_sops_to_aesec() {
    run_property(Store::Json, "sops->aesec", check_sops_to_aesec);
}

#[test]
fn dotenv_aesec_to_sops() {
    run_property(Store::Dotenv, "aesec->sops", check_aesec_to_sops);
}

#[test]
fn dotenv_sops_to_aesec() {
    run_property(Store::Dotenv, "sops->aesec", check_sops_to_aesec);
}

#[test]
fn ini_aesec_to_sops() {
    run_property(Store::Ini, "aesec->sops", check_aesec_to_sops);
}

#[test]
fn ini_sops_to_aesec() {
    run_property(Store::Ini, "sops->aesec", check_sops_to_aesec);
}

#[test]
fn binary_aesec_to_sops() {
    run_property(Store::Binary, "aesec->sops", check_aesec_to_sops);
}

#[test]
fn binary_sops_to_aesec() {
    run_property(Store::Binary, "sops->aesec", check_sops_to_aesec);
}

#[test]
fn yaml_encrypted_shape() {
    run_property(Store::Yaml, "encrypted shape", check_encrypted_shape);
}

#[test]
fn json_encrypted_shape() {
    run_property(Store::Json, "encrypted shape", check_encrypted_shape);
}

#[test]
fn dotenv_encrypted_shape() {
    run_property(Store::Dotenv, "encrypted shape", check_encrypted_shape);
}

#[test]
fn ini_encrypted_shape() {
    run_property(Store::Ini, "encrypted shape", check_encrypted_shape);
}

#[test]
fn binary_encrypted_shape() {
    run_property(Store::Binary, "encrypted shape", check_encrypted_shape);
}

// ---------------------------------------------------------------------------------------------
// YAML block scalars where they end (issue 11 §3)
// ---------------------------------------------------------------------------------------------

/// Block scalar headers: every chomping indicator, with and without an indentation indicator.
const BLOCK_HEADERS: [&str; 14] = [
    "|", "|-", "|+", ">", ">-", ">+", "|2", "|2-", "|+2", "|1+", ">1-", ">2", ">+1", "|4+",
];

/// Where a block scalar ends, as a document with `H` in place of the header: at the end of the
/// file with and without a final newline, with trailing blank lines (empty, with fewer, as many
/// and more spaces than the indentation, unterminated), before a comment, before a less
/// indented key, in lists and nested maps, after an anchor or tag, with CRLF line ends.
const BLOCK_ENDINGS: [&str; 40] = [
    "k: H\n  a\n  b",
    "k: H\n  a\n  b\n",
    "k: H\n  a\n  b\n\n\n",
    "k: H\n  a\n  b\n\n",
    "k: H\n  a\n  b\n  \n \n",
    "k: H\n  a\n  b\n\n   ",
    "k: H\n  a\n  b\n  ",
    "k: H\n  a\n  b\n ",
    "k: H\n  a\n  b\n    ",
    "k: H\n  a\n\n  ",
    "k: H\n  a\n\n   b\n  c\n\n",
    "k: H\n  a\n  \tb",
    "k: H # c\n  a",
    "k: H\n    a\n  b",
    "k: H",
    "k: H\n",
    "k: H\n  ",
    "k: H\n ",
    "k: H\n\n  ",
    "k: H\n\n  \n",
    "k: H\n\n\nz: 1\n",
    "k: H\n  a\n  b\n# c\nz: 1\n",
    "k: H\n  a\n  b\n\n# c\n\nz: 1\n",
    "k: H\n  a\n  b\n # c\nz: 1\n",
    "k: H\n  a\n  b\n# c",
    "m:\n  k: H\n    a\n    b\n  y: 2\nz: 1\n",
    "m:\n  k: H\n    a\n    b\n\n  \nz: 1\n",
    "m:\n  k: H\n    a\n   ",
    "m:\n  k: H\n    a\n    ",
    "l:\n  - H\n    a\n    b",
    "l:\n  - H\n    a\n    b\n\n  - x\n",
    "l:\n- H\n  a\n\n  b\n\n",
    "l:\n- H\n  a\n  ",
    "l:\n  - H\n     a\n    ",
    "k: &x H\n  a\n  ",
    "k: &x H\n  a\n ",
    "k: !!str H\n  a",
    "k: &x\n  H\n  ",
    "k: H\r\n  a\r\n  b",
    "j: H\n  x\nk: H\n  a\n  ",
];

/// One direction of a differential check on one plaintext.
type Check = fn(&Fixture, Store, &[u8]) -> Result<(), TestCaseError>;

/// Every block scalar header in every ending, both directions: sops 3.11 decrypts aesec's
/// encryption to what it decrypts from its own, and aesec decrypts sops' file as sops does.
/// Regression (issue 11 §3): a block whose last line ends the file without a line break read
/// with one more `\n` than go-yaml reads (`k: |\n  a` was `"a\n"`, sops reads `"a"`).
#[test]
fn yaml_block_scalar_endings() {
    let fixture = require_peer!(Fixture::new());
    let documents = BLOCK_ENDINGS.iter().flat_map(|ending| {
        BLOCK_HEADERS
            .iter()
            .map(move |header| ending.replace('H', header))
    });
    let (compared, failures) = both_directions(&fixture, documents);
    eprintln!("yaml block scalar endings: {compared} comparisons");
    assert!(compared >= 800, "only {compared} comparisons ran");
    assert!(
        failures.is_empty(),
        "{} of the block scalar endings differ from sops:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// YAML blanks: tabs after a key's `:`, blanks after a list item
// ---------------------------------------------------------------------------------------------

/// Documents that go-yaml reads with tabs and blanks where aesec's readers once differed:
/// `key:\tvalue` (saphyr refuses a tab before a value starting with a letter, digit or `-`; aesec
/// rewrites it, also inside lists and flow collections, never inside a scalar or a comment), and
/// blanks after a list item (the line reader kept them: `- x ` was `"x "`, `- 036 ` a string).
const YAML_BLANKS: [&str; 16] = [
    "a:\tb\n",
    "a:\t\tb\n",
    "a: \tb\n",
    "a:\t-1\n",
    "a:\t\"q\"\n",
    "l:\n  - k:\tv\n  - m:\t2\n",
    "a: |\n  x:\ty\nb:\tc\n",
    "a: 'x:\ty'\nb:\tc\n",
    "# c:\tx\na:\tb\n",
    "a:\tb # c:\td\n",
    "{a:\tb}\n",
    "a: [b:\tc]\n",
    "a: b\t\n",
    "a:\n  - x \n  - 036  \n  - 'q' \n  - k: v \n",
    "l:\n- x \n- 1.5 \n",
    "m:\n  a:\t1\n  b:\ttrue\n  c:\tx y\n",
];

/// Every document of [`YAML_BLANKS`], and one aligned with tabs on 300 lines, both directions
/// (sops reads them all, so every one is compared).
#[test]
fn yaml_tabs_and_blanks() {
    let fixture = require_peer!(Fixture::new());
    let aligned: String = (0..300).map(|i| format!("key_{i}:\tvalue {i}\n")).collect();
    let documents = YAML_BLANKS.iter().map(|&document| document.to_owned());
    let (compared, failures) = both_directions(&fixture, documents.chain([aligned]));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(compared, 2 * (YAML_BLANKS.len() + 1));
}

/// Both directions of the differential check on every YAML document: how many comparisons ran
/// (a document sops refuses, and aesec too, compares nothing) and what failed.
fn both_directions(
    fixture: &Fixture,
    documents: impl IntoIterator<Item = String>,
) -> (usize, Vec<String>) {
    let checks: [(&str, Check); 2] = [
        ("aesec->sops", check_aesec_to_sops),
        ("sops->aesec", check_sops_to_aesec),
    ];
    let mut failures = Vec::new();
    let mut compared = 0;
    for document in documents {
        for (direction, check) in checks {
            match check(fixture, Store::Yaml, document.as_bytes()) {
                Ok(()) => compared += 1,
                Err(TestCaseError::Reject(_)) => {}
                Err(TestCaseError::Fail(why)) => {
                    failures.push(format!("{direction} {document:?}: {why}"));
                }
            }
        }
    }
    (compared, failures)
}

// ---------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------

/// A rendered plaintext document (the bytes written to `plain.<ext>`).
#[derive(Clone, PartialEq, Eq)]
struct Document(Vec<u8>);

impl fmt::Debug for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&Text(self.0.clone()), f)
    }
}

/// Plaintext documents for `store`.
fn documents(store: Store) -> BoxedStrategy<Document> {
    match store {
        Store::Yaml => tree_documents(Flavor::Yaml)
            .prop_map(|doc| Document(render_yaml(&doc).into_bytes()))
            .boxed(),
        Store::Json => tree_documents(Flavor::Json)
            .prop_map(|doc| Document(render_json(&doc).into_bytes()))
            .boxed(),
        Store::Dotenv => dotenv_documents()
            .prop_map(|text| Document(text.into_bytes()))
            .boxed(),
        Store::Ini => ini_documents()
            .prop_map(|text| Document(text.into_bytes()))
            .boxed(),
        Store::Binary => prop_oneof![
            3 => prop::collection::vec(any::<u8>(), 0..600),
            1 => string().prop_map(String::into_bytes),
            1 => Just(Vec::new()),
        ]
        .prop_map(Document)
        .boxed(),
    }
}

/// Which tree store a generated tree is for: YAML has comments, plain scalars and `.inf`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavor {
    Yaml,
    Json,
}

#[derive(Debug, Clone)]
enum Scalar {
    /// A string; `block` asks for a literal block (`|`/`|-`) when the string allows one.
    Str {
        text: String,
        block: bool,
    },
    Int(i64),
    /// A float literal, written as is.
    Float(String),
    Bool(bool),
    Null,
    /// An unquoted YAML scalar written as is (`yes`, `2024-01-01`, `0x1F`, …).
    Plain(&'static str),
}

#[derive(Debug, Clone)]
enum Node {
    Scalar(Scalar),
    Map(Vec<Entry>),
    List(Vec<Item>),
}

#[derive(Debug, Clone)]
struct Entry {
    comment: Option<String>,
    key: String,
    value: Node,
    /// A comment after a scalar value on the same line (YAML).
    inline: Option<String>,
}

#[derive(Debug, Clone)]
struct Item {
    comment: Option<String>,
    value: Node,
}

#[derive(Debug, Clone)]
struct TreeDocument {
    entries: Vec<Entry>,
    foot: Option<String>,
}

/// Strings that look like other types, or that stress quoting and escaping.
const SPECIAL_STRINGS: &[&str] = &[
    "",
    " ",
    "true",
    "false",
    "True",
    "yes",
    "no",
    "on",
    "off",
    "y",
    "n",
    "null",
    "Null",
    "~",
    "1",
    "-1",
    "0",
    "007",
    "1.0",
    "-0.0",
    "1e3",
    ".5",
    "0x10",
    "0o17",
    "0b101",
    "1_000",
    "+12",
    ".inf",
    "-.Inf",
    ".NaN",
    "2024-01-01",
    "2024-01-01T12:00:00Z",
    "2001-12-14t21:59:43.10-05:00",
    "12:30:45",
    " leading",
    "trailing ",
    "a: b",
    "a:b",
    "#hash",
    "a #b",
    "- dash",
    "-",
    "@at",
    "`tick",
    "!bang",
    "&anchor",
    "*alias",
    "|pipe",
    ">fold",
    "%pct",
    "'single'",
    "\"double\"",
    "back\\slash",
    "<script>&</script>",
    "tab\there",
    "line\nbreak",
    "ends\n",
    "two\n\nblank",
    "trailing  \nspaces",
    "\r\n",
    "crlf\r",
    "bell\u{7}",
    "nul\u{0}",
    "del\u{7f}",
    "\u{85}nel",
    "\u{2028}ls",
    "\u{feff}bom",
    "émoji 😀",
    "日本語",
    "ключ",
    "👨\u{200d}👩\u{200d}👧",
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775808",
    "18446744073709551616",
    "1e400",
];

/// Unquoted YAML scalars that resolve (or not) to other types.
const PLAIN_SCALARS: &[&str] = &[
    "yes",
    "no",
    "on",
    "off",
    "y",
    "n",
    "True",
    "FALSE",
    "Null",
    "NULL",
    "~",
    "2024-01-01",
    "2024-01-01T12:00:00Z",
    "2001-12-14 21:59:43.10 -5",
    "2024-02-30",
    "0x1F",
    "0o17",
    "0b101",
    "1_000",
    "+12",
    ".5",
    "1e3",
    "012",
    "0777",
    "08",
    "12:30:45",
    "hello world",
    "a-b",
    "1.2.3",
    "3.11.0",
    "1.",
    "+.inf",
    "-.inf",
    ".NAN",
    "9223372036854775807",
    "-9223372036854775808",
];

const EDGE_INTS: &[i64] = &[
    i64::MAX,
    i64::MIN,
    i64::MAX - 1,
    i64::MIN + 1,
    1 << 53,
    (1 << 53) + 1,
    -(1 << 53) - 1,
    0,
    -1,
    1,
    4_294_967_296,
    -2_147_483_649,
    1_000,
];

const FLOAT_LITERALS: &[&str] = &[
    "0.5",
    "-0.0",
    "0.0",
    "1e-300",
    "5e-324",
    "1.7976931348623157e+308",
    "-2.5e+10",
    "3.14159",
    "1e21",
    "1e20",
    "123456.789",
    "0.000001",
    "1e-7",
    "1.0",
    "100.0",
    "6.02e23",
    "-1.5",
    "1E+2",
    "12345678901234567890",
    "0.1",
];

const YAML_ONLY_FLOATS: &[&str] = &[".inf", "-.inf", ".nan", "+.5"];

const SPECIAL_KEYS: &[&str] = &[
    "key with spaces",
    "colon:key",
    "a: b",
    "ключ",
    "日本",
    "emoji😀",
    "",
    "true",
    "123",
    "1.5",
    "null",
    "-dash",
    "#hash",
    "x_unencrypted",
    "_unencrypted",
    "tab\tkey",
    "quote\"key",
    "?question",
    "[bracket]",
    "{brace}",
    "2024-01-01",
];

/// Line breaks for multi-line strings: go-yaml also breaks lines at NEL, LS and PS, and writes a
/// string mixing them with `\n` as a literal block (NEL only double quoted).
const LINE_BREAKS: &[&str] = &["\n", "\n", "\u{2028}", "\u{2029}", "\u{85}"];

fn string() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => select(SPECIAL_STRINGS).prop_map(String::from),
        3 => "[a-zA-Z0-9 _.:#@/-]{0,16}",
        2 => "\\PC{0,12}",
        1 => prop::collection::vec("[a-z ]{0,8}", 1..4).prop_map(|lines| lines.join("\n")),
        1 => prop::collection::vec(("[a-z ]{0,4}", select(LINE_BREAKS)), 1..5)
            .prop_map(|parts| parts.into_iter().map(|(text, eol)| text + eol).collect()),
        1 => ".{0,8}",
    ]
}

fn int() -> impl Strategy<Value = i64> {
    prop_oneof![select(EDGE_INTS), any::<i64>(), -1000_i64..1000]
}

fn float(flavor: Flavor) -> BoxedStrategy<String> {
    let finite = prop_oneof![
        3 => select(FLOAT_LITERALS).prop_map(String::from),
        1 => any::<f64>()
            .prop_filter("finite", |value| value.is_finite())
            .prop_map(|value| format!("{value:?}")),
        // Halfway cases: from 2^50 to 2^51 doubles lie a quarter apart, so `n + 0.25` is exactly
        // midway between the 17-digit decimals `n.2` and `n.3`; Go takes the even one, Rust's
        // shortest formatting the upper one (written here as Rust prints it).
        1 => (1_u64 << 50..1_u64 << 51, select(&[0.25, 0.75][..]))
            .prop_map(|(whole, fraction)| format!("{:?}", whole as f64 + fraction)),
    ];
    match flavor {
        Flavor::Json => finite.boxed(),
        // sops 3.11 writes a YAML -0.0 as `-0` and then fails its own MAC check on decrypt, so
        // negative zero says nothing about aesec in YAML.
        Flavor::Yaml => prop_oneof![
            5 => finite.prop_filter("sops cannot round-trip -0.0 in YAML", |text| {
                text.parse::<f64>().map_or(true, |f| f != 0.0 || f.is_sign_positive())
            }),
            1 => select(YAML_ONLY_FLOATS).prop_map(String::from),
        ]
        .boxed(),
    }
}

fn scalar(flavor: Flavor) -> BoxedStrategy<Scalar> {
    let common = prop_oneof![
        6 => (string(), any::<bool>()).prop_map(|(text, block)| Scalar::Str { text, block }),
        2 => int().prop_map(Scalar::Int),
        2 => float(flavor).prop_map(Scalar::Float),
        1 => any::<bool>().prop_map(Scalar::Bool),
        1 => Just(Scalar::Null),
    ];
    match flavor {
        Flavor::Json => common.boxed(),
        Flavor::Yaml => prop_oneof![
            6 => common,
            1 => select(PLAIN_SCALARS).prop_map(Scalar::Plain),
        ]
        .boxed(),
    }
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z][a-z0-9_]{0,10}",
        1 => select(SPECIAL_KEYS).prop_map(String::from),
        1 => "\\PC{1,8}",
    ]
}

fn comment(flavor: Flavor) -> BoxedStrategy<Option<String>> {
    match flavor {
        Flavor::Json => Just(None).boxed(),
        Flavor::Yaml => prop::option::weighted(
            0.2,
            prop_oneof![" [ -~]{0,20}", "[!-~][ -~]{0,10}", " \\PC{0,10}"],
        )
        .boxed(),
    }
}

fn entries(
    value: impl Strategy<Value = Node> + Clone + 'static,
    flavor: Flavor,
    size: std::ops::Range<usize>,
) -> BoxedStrategy<Vec<Entry>> {
    prop::collection::vec((comment(flavor), key(), value, comment(flavor)), size)
        .prop_map(|raw| {
            let mut seen = std::collections::HashSet::new();
            raw.into_iter()
                .filter(|(_, key, _, _)| seen.insert(key.clone()))
                .map(|(comment, key, value, inline)| Entry {
                    comment,
                    key,
                    value,
                    inline,
                })
                .collect()
        })
        .boxed()
}

fn node(flavor: Flavor) -> BoxedStrategy<Node> {
    scalar(flavor)
        .prop_map(Node::Scalar)
        .prop_recursive(4, 40, 5, move |inner| {
            prop_oneof![
                entries(inner.clone(), flavor, 0..5).prop_map(Node::Map),
                prop::collection::vec(
                    (comment(flavor), inner).prop_map(|(comment, value)| Item { comment, value }),
                    0..5,
                )
                .prop_map(Node::List),
            ]
        })
        .boxed()
}

fn tree_documents(flavor: Flavor) -> impl Strategy<Value = TreeDocument> {
    (entries(node(flavor), flavor, 1..8), comment(flavor)).prop_map(|(entries, foot)| {
        let entries: Vec<Entry> = entries
            .into_iter()
            .filter(|entry| entry.key != "sops")
            .collect();
        TreeDocument { entries, foot }
    })
}

// ---- YAML ----

fn render_yaml(doc: &TreeDocument) -> String {
    let mut out = String::new();
    if doc.entries.is_empty() {
        out.push_str("{}\n");
    }
    yaml_entries(&mut out, &doc.entries, 0);
    if let Some(foot) = &doc.foot {
        out.push('#');
        out.push_str(foot);
        out.push('\n');
    }
    out
}

fn yaml_entries(out: &mut String, entries: &[Entry], indent: usize) {
    for entry in entries {
        yaml_comment(out, entry.comment.as_deref(), indent);
        push_indent(out, indent);
        out.push_str(&yaml_key(&entry.key));
        out.push(':');
        yaml_value(out, &entry.value, indent, entry.inline.as_deref());
    }
}

fn yaml_items(out: &mut String, items: &[Item], indent: usize) {
    for item in items {
        yaml_comment(out, item.comment.as_deref(), indent);
        push_indent(out, indent);
        out.push('-');
        yaml_value(out, &item.value, indent, None);
    }
}

fn yaml_comment(out: &mut String, comment: Option<&str>, indent: usize) {
    if let Some(comment) = comment {
        push_indent(out, indent);
        out.push('#');
        out.push_str(comment);
        out.push('\n');
    }
}

/// Writes a value after `key:` or `-`, ending with a newline.
fn yaml_value(out: &mut String, node: &Node, indent: usize, inline: Option<&str>) {
    match node {
        Node::Scalar(scalar) => {
            out.push(' ');
            let block = yaml_scalar(out, scalar, indent + 2);
            if let (false, Some(inline)) = (block, inline) {
                out.push_str("  #");
                out.push_str(inline);
            }
            if !block {
                out.push('\n');
            }
        }
        Node::Map(entries) if entries.is_empty() => out.push_str(" {}\n"),
        Node::List(items) if items.is_empty() => out.push_str(" []\n"),
        Node::Map(entries) => {
            out.push('\n');
            yaml_entries(out, entries, indent + 2);
        }
        Node::List(items) => {
            out.push('\n');
            yaml_items(out, items, indent + 2);
        }
    }
}

/// Writes a scalar; returns whether it wrote a literal block (which ends with its newline).
fn yaml_scalar(out: &mut String, scalar: &Scalar, block_indent: usize) -> bool {
    match scalar {
        Scalar::Str { text, block } if *block && literal_block_ok(text) => {
            out.push_str(if text.ends_with('\n') { "|\n" } else { "|-\n" });
            for line in text.strip_suffix('\n').unwrap_or(text).split('\n') {
                if !line.is_empty() {
                    push_indent(out, block_indent);
                    out.push_str(line);
                }
                out.push('\n');
            }
            return true;
        }
        Scalar::Str { text, .. } => out.push_str(&yaml_double_quoted(text)),
        Scalar::Int(value) => out.push_str(&value.to_string()),
        Scalar::Float(literal) => out.push_str(literal),
        Scalar::Bool(value) => out.push_str(if *value { "true" } else { "false" }),
        Scalar::Null => out.push_str("null"),
        Scalar::Plain(text) => out.push_str(text),
    }
    false
}

/// Whether `text` can be written as a literal block without an indentation indicator or `|+`.
fn literal_block_ok(text: &str) -> bool {
    let body = text.strip_suffix('\n').unwrap_or(text);
    text.contains('\n')
        && !body.is_empty()
        && !body.ends_with('\n')
        && !body.starts_with([' ', '\t', '\n'])
        && body
            .split('\n')
            .all(|line| !line.ends_with([' ', '\t']) && !line.chars().any(needs_escape))
}

fn yaml_key(key: &str) -> String {
    let plain = key.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !matches!(
            key,
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n"
        );
    if plain {
        key.to_owned()
    } else {
        yaml_double_quoted(key)
    }
}

fn needs_escape(c: char) -> bool {
    matches!(c, '\0'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{feff}')
}

fn yaml_double_quoted(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn push_indent(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

// ---- JSON ----

fn render_json(doc: &TreeDocument) -> String {
    let mut out = String::new();
    json_map(&mut out, &doc.entries, 0);
    out.push('\n');
    out
}

fn json_node(out: &mut String, node: &Node, indent: usize) {
    match node {
        Node::Scalar(scalar) => match scalar {
            Scalar::Str { text, .. } => out.push_str(&json_string(text)),
            Scalar::Int(value) => out.push_str(&value.to_string()),
            Scalar::Float(literal) => out.push_str(literal),
            Scalar::Bool(value) => out.push_str(if *value { "true" } else { "false" }),
            Scalar::Null => out.push_str("null"),
            Scalar::Plain(text) => out.push_str(&json_string(text)),
        },
        Node::Map(entries) => json_map(out, entries, indent),
        Node::List(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push_str("[\n");
            for (index, item) in items.iter().enumerate() {
                push_indent(out, indent + 2);
                json_node(out, &item.value, indent + 2);
                out.push_str(if index + 1 < items.len() { ",\n" } else { "\n" });
            }
            push_indent(out, indent);
            out.push(']');
        }
    }
}

fn json_map(out: &mut String, entries: &[Entry], indent: usize) {
    if entries.is_empty() {
        out.push_str("{}");
        return;
    }
    out.push_str("{\n");
    for (index, entry) in entries.iter().enumerate() {
        push_indent(out, indent + 2);
        out.push_str(&json_string(&entry.key));
        out.push_str(": ");
        json_node(out, &entry.value, indent + 2);
        out.push_str(if index + 1 < entries.len() {
            ",\n"
        } else {
            "\n"
        });
    }
    push_indent(out, indent);
    out.push('}');
}

fn json_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

// ---- dotenv ----

#[derive(Debug, Clone)]
enum DotenvLine {
    Comment(String),
    Blank,
    Pair(String, String),
}

const DOTENV_KEYS: &[&str] = &[
    "export FOO",
    " SPACED ",
    "dotted.key",
    "ключ",
    "a-b",
    "lower",
    "with space",
    "x_unencrypted",
    "日本",
    "1digit",
];

fn dotenv_documents() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        4 => "[A-Za-z_][A-Za-z0-9_]{0,12}",
        1 => select(DOTENV_KEYS).prop_map(String::from),
    ];
    let line = prop_oneof![
        6 => (key, string()).prop_map(|(key, value)| DotenvLine::Pair(key, value)),
        1 => "[ -~]{0,20}".prop_map(DotenvLine::Comment),
        1 => Just(DotenvLine::Blank),
    ];
    prop::collection::vec(line, 1..12)
        .prop_map(|lines| {
            let mut seen = std::collections::HashSet::new();
            let mut out = String::new();
            for line in lines {
                match line {
                    DotenvLine::Comment(text) => {
                        out.push('#');
                        out.push_str(&text);
                    }
                    DotenvLine::Blank => {}
                    DotenvLine::Pair(key, value) => {
                        if key.to_lowercase().starts_with("sops") || !seen.insert(key.clone()) {
                            continue;
                        }
                        out.push_str(&key);
                        out.push('=');
                        out.push_str(&value.replace('\n', "\\n"));
                    }
                }
                out.push('\n');
            }
            out
        })
        .prop_filter("at least one pair", |text| {
            text.lines().any(|line| line.contains('='))
        })
}

// ---- INI ----

#[derive(Debug, Clone)]
struct IniSection {
    comment: Option<String>,
    name: String,
    pairs: Vec<IniPair>,
}

#[derive(Debug, Clone)]
struct IniPair {
    comment: Option<String>,
    key: String,
    value: String,
    tight: bool,
}

const INI_VALUES: &[&str] = &[
    "true",
    "123",
    "1.5",
    "",
    "a=b",
    "x: y",
    "ünïcödé",
    "😀",
    "http://x/y?a=b",
    "-0.0",
    "null",
    "2024-01-01",
];

const INI_KEYS: &[&str] = &[
    "key with space",
    "ключ",
    "dotted.key",
    "UPPER",
    "x_unencrypted",
];

const INI_SECTIONS: &[&str] = &["with space", "セクション", "a.b", "Upper"];

fn ini_comment() -> impl Strategy<Value = Option<String>> {
    prop::option::weighted(
        0.25,
        ("[;#]", "[ -~]{0,16}").prop_map(|(mark, text)| format!("{mark} {}", text.trim())),
    )
}

fn ini_pairs() -> impl Strategy<Value = Vec<IniPair>> {
    let key = prop_oneof![
        4 => "[A-Za-z_][A-Za-z0-9_.-]{0,10}",
        1 => select(INI_KEYS).prop_map(String::from),
    ];
    let value = prop_oneof![
        4 => "[A-Za-z0-9 _.,/@+!?()=:-]{0,20}".prop_map(|text| text.trim().to_owned()),
        1 => "\\p{L}{1,6}",
        2 => select(INI_VALUES).prop_map(String::from),
    ];
    prop::collection::vec((ini_comment(), key, value, any::<bool>()), 0..6).prop_map(|raw| {
        let mut seen = std::collections::HashSet::new();
        raw.into_iter()
            .filter(|(_, key, _, _)| seen.insert(key.clone()))
            .map(|(comment, key, value, tight)| IniPair {
                comment,
                key,
                value,
                tight,
            })
            .collect()
    })
}

fn ini_documents() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        4 => "[A-Za-z][A-Za-z0-9_.-]{0,10}",
        1 => select(INI_SECTIONS).prop_map(String::from),
    ];
    let section =
        (ini_comment(), name, ini_pairs()).prop_map(|(comment, name, pairs)| IniSection {
            comment,
            name,
            pairs,
        });
    (
        prop::option::weighted(0.3, ini_pairs()),
        prop::collection::vec(section, 1..5),
    )
        .prop_map(|(defaults, sections)| {
            let mut out = String::new();
            if let Some(defaults) = defaults {
                ini_write_pairs(&mut out, &defaults);
                out.push('\n');
            }
            let mut seen = std::collections::HashSet::new();
            for section in sections {
                let lower = section.name.to_lowercase();
                if lower == "sops" || lower == "default" || !seen.insert(section.name.clone()) {
                    continue;
                }
                if let Some(comment) = &section.comment {
                    out.push_str(comment);
                    out.push('\n');
                }
                out.push('[');
                out.push_str(&section.name);
                out.push_str("]\n");
                ini_write_pairs(&mut out, &section.pairs);
                out.push('\n');
            }
            out
        })
        .prop_filter("at least one section", |text| text.contains('['))
}

fn ini_write_pairs(out: &mut String, pairs: &[IniPair]) {
    for pair in pairs {
        if let Some(comment) = &pair.comment {
            out.push_str(comment);
            out.push('\n');
        }
        out.push_str(&pair.key);
        out.push_str(if pair.tight { "=" } else { " = " });
        out.push_str(&pair.value);
        out.push('\n');
    }
}
