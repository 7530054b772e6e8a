//! The cases that the fuzz round-trip check (`crates/core/src/fuzzing.rs`, `known_unparsable`
//! and `known_divergence`) excuses, shown on the real sops 3.11: sops writes each document and
//! cannot read its own output back (it refuses it, or reads another document), and aesec writes
//! the same bytes.
//!
//! Each case is a YAML document that sops encrypts; `sops decrypt --output-type <store>` writes it
//! in the store under test, `aesec decrypt` must write the same bytes, and `sops encrypt` of those
//! bytes must fail or decrypt to something else. Under `AESEC_REQUIRE_PEERS=1` a missing sops
//! fails the tests (see the harness).

use aesec_tests::{SopsFixture as Fixture, require_peer};

/// Shows that sops writes `yaml` as `store` (`ini`, `yaml`) in a form it cannot read back,
/// and that aesec writes the same bytes; returns sops' output, for the caller to check that
/// it holds the case.
fn assert_unreadable(fx: &Fixture, name: &str, yaml: &str, store: &str) -> String {
    let input = fx.home.write(format!("{name}.yaml"), yaml);
    let encrypted = fx
        .sops()
        .args(["encrypt", "--age", &fx.key.recipient])
        .arg(&input)
        .stdout();
    let encrypted = fx.home.write(format!("{name}.enc.yaml"), encrypted);
    let written = fx
        .sops()
        .args(["decrypt", "--output-type", store])
        .arg(&encrypted)
        .stdout();
    let ours = fx
        .aesec()
        .args(["decrypt", "--output-type", store])
        .arg(&encrypted)
        .stdout();
    assert_eq!(ours, written, "{name}: aesec writes other bytes than sops");
    let output = fx.home.write(format!("{name}.out.{store}"), &written);
    let reencrypted = fx
        .sops()
        .args(["encrypt", "--age", &fx.key.recipient])
        .arg(&output)
        .output();
    if reencrypted.status.success() {
        let again = fx
            .home
            .write(format!("{name}.again.{store}"), reencrypted.stdout);
        let read_back = fx.sops().arg("decrypt").arg(&again).output();
        assert!(
            !read_back.status.success() || read_back.stdout != written.as_bytes(),
            "{name}: sops reads back its own output {written:?}"
        );
    }
    written
}

/// go-ini's `"""` quoting closes at the first line that holds `"""` before the value's last.
#[test]
fn ini_triple_quote_closed_early() {
    let fx = require_peer!(Fixture::new());
    for (name, yaml) in [
        ("first", "s: {k: \"x\\\"\\\"\\\"\\ny\"}\n"),
        ("inside", "s: {k: \"ab\\\"\\\"\\\"cd\\nx\"}\n"),
        ("middle", "s: {k: \"x\\nab\\\"\\\"\\\"cd\\ny\"}\n"),
    ] {
        let written = assert_unreadable(&fx, name, yaml, "ini");
        assert!(written.contains("k = \"\"\""), "{written}");
    }
}

/// A value written bare or in `"…"` that starts with `"""` reads as an opening `"""`; go-ini
/// strips the quotes around a bare value, and a bare value ending with `\` takes in the next
/// line.
#[test]
fn ini_value_opens_triple_quote() {
    let fx = require_peer!(Fixture::new());
    for (name, yaml, line) in [
        ("bare", "s: {k: '\"\"\"'}\n", "k = \"\"\"\n"),
        (
            "bare_closed",
            "s: {k: '\"\"\"x\"\"\"'}\n",
            "k = \"\"\"x\"\"\"\n",
        ),
        ("blanks", "s: {k: '\"\" rl  '}\n", "k = \"\"\" rl  \"\n"),
        // go-ini's quote stripping: the surrounding quotes of a bare value go.
        ("double", "s: {k: '\"x\"'}\n", "k = \"x\"\n"),
        ("single", "s: {k: \"'y'\"}\n", "k = 'y'\n"),
        // A bare value ending with `\` continues on the next line.
        ("continued", "s: {z: \"1\", k: \"a \\\\\"}\n", "k = a \\\n"),
    ] {
        let written = assert_unreadable(&fx, name, yaml, "ini");
        assert!(written.ends_with(line), "{written}");
    }
}

/// A key holding a backtick and `"`, `=` or `:` is quoted with backticks, which it contains.
#[test]
fn ini_key_with_backtick_in_backticks() {
    let fx = require_peer!(Fixture::new());
    for (name, key) in [("equals", "a`=b"), ("colon", "a`:b"), ("quote", "a`\\\"b")] {
        let written = assert_unreadable(&fx, name, &format!("s: {{\"{key}\": \"1\"}}\n"), "ini");
        assert!(
            written.contains(&format!("`{}` = 1", key.replace('\\', ""))),
            "{written}"
        );
    }
}

/// A key starting with `[`, `#` or `;` is written bare: a section header or a comment; a first
/// DEFAULT key starting with U+FEFF reads as a byte-order mark.
#[test]
fn ini_key_read_as_header_or_comment() {
    let fx = require_peer!(Fixture::new());
    for (name, key) in [("bracket", "[x"), ("hash", "#x"), ("semicolon", ";x")] {
        let written = assert_unreadable(&fx, name, &format!("s: {{\"{key}\": \"1\"}}\n"), "ini");
        assert!(written.contains(&format!("\n{key} = 1\n")), "{written}");
    } // A DEFAULT key starting with U+FEFF is the file's first line: read as a byte-order mark.
    let written = assert_unreadable(&fx, "bom", "DEFAULT: {\"\\ufeffx\": \"1\"}\n", "ini");
    assert!(written.starts_with("\u{feff}x = 1\n"), "{written:?}");
}

/// go-yaml's `|4-` for a string whose first line starts with a blank or a break, as a list item
/// or in a list item's map: the indicator is counted from the wrong column.
#[test]
fn yaml_indentation_indicator_in_list_item() {
    let fx = require_peer!(Fixture::new());
    for (name, yaml) in [
        ("item_map", "l:\n  - k: \"  x\\ny\"\n"),
        ("item", "l:\n  - \"  x\\ny\"\n"),
        ("item_break", "l:\n  - k: \"\\nx\\ny\"\n"),
        // Read back, but without its leading blanks.
        ("item_map_kept_newline", "l:\n  - k: \"  x\\n\"\n"),
    ] {
        let written = assert_unreadable(&fx, name, yaml, "yaml");
        assert!(written.contains("|4"), "{written}");
    }
}

/// go-ini rewrites INI comments on sops' first round trip, and aesec writes the same bytes:
/// each later line of a comment becomes `;`/`#`, one space and the trimmed text; an empty
/// comment (a bare `;` or `; `) is not written, and a `DEFAULT` section holding nothing else goes
/// with it; the first line of a key's comment is trimmed (the `\r` of a CRLF file); a comment
/// text starting with `#` (inline `;#x`) is written `# x`, read back as `x`.
#[test]
fn ini_comments_rewritten_by_go_ini() {
    let fx = require_peer!(Fixture::new());
    for (name, input, expected) in [
        (
            "respaced",
            "[sec]\nk = v\n# before second\n;  two lines\nk2 = v2\n",
            "[sec]\nk  = v\n; before second\n; two lines\nk2 = v2\n",
        ),
        ("default", "; \n\n[t]\nx = 1\n", "[t]\nx = 1\n"),
        ("section", "[s]\n;\n[t]\nx = 1\n", "[s]\n\n[t]\nx = 1\n"),
        ("inline", "[s]\na = v ;#x\n", "[s]\n# x\na = v\n"),
        (
            "crlf",
            "[s]\na = 1\n; x\r\n; c\r\nb = 2\n",
            "[s]\na = 1\n; x\n; c\nb = 2\n",
        ),
    ] {
        let path = fx.home.write(format!("{name}.ini"), input);
        let encrypted = fx
            .sops()
            .args(["encrypt", "--age", &fx.key.recipient])
            .arg(&path)
            .stdout();
        let encrypted = fx.home.write(format!("{name}.enc.ini"), encrypted);
        let written = fx.sops().arg("decrypt").arg(&encrypted).stdout();
        assert_eq!(written, expected, "{name}: sops");
        let ours = fx.aesec().arg("decrypt").arg(&encrypted).stdout();
        assert_eq!(ours, written, "{name}: aesec");
    }
}

/// A value that go-ini quotes with `"` for its outer blanks and that holds another `"` keeps its
/// quotes when read back (go-ini strips only a quote pair with nothing alike inside): sops 3.11
/// writes `k = " q"r "` for ` q"r ` and reads `" q"r "`; aesec writes the same bytes.
#[test]
fn ini_quoted_value_with_inner_quote_keeps_its_quotes() {
    let fx = require_peer!(Fixture::new());
    let input = fx.home.write("inner.yaml", "s: {k: ' q\"r '}\n");
    let encrypted = fx
        .sops()
        .args(["encrypt", "--age", &fx.key.recipient])
        .arg(&input)
        .stdout();
    let encrypted = fx.home.write("inner.enc.yaml", encrypted);
    let written = fx
        .sops()
        .args(["decrypt", "--output-type", "ini"])
        .arg(&encrypted)
        .stdout();
    assert!(written.ends_with("k = \" q\"r \"\n"), "{written}");
    let ours = fx
        .aesec()
        .args(["decrypt", "--output-type", "ini"])
        .arg(&encrypted)
        .stdout();
    assert_eq!(ours, written);
    let output = fx.home.write("inner.ini", &written);
    let again = fx
        .sops()
        .args(["encrypt", "--age", &fx.key.recipient])
        .arg(&output)
        .stdout();
    let again = fx.home.write("inner.enc.ini", again);
    let json = fx
        .sops()
        .args(["decrypt", "--output-type", "json"])
        .arg(&again)
        .stdout();
    assert!(json.contains(r#""k": "\" q\"r \"""#), "{json}");
}
