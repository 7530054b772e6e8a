//! `aesec bao login` against a real `bao server -dev` on 127.0.0.1: the token method looks up
//! the token held, AppRole logs in with a secret-id file or a response-wrapped secret-id (a
//! wrapping token from another path is refused unopened), and no secret (the secret-id, the
//! root token, the new token) is printed unless `--field token` asks for the new token.

use aesec_tests::{BaoDev, Cmd, TempHome, require_peer};

/// A dev server with AppRole enabled and a role `ci` whose tokens carry the policy `reader`.
struct Setup {
    bao: BaoDev,
    home: TempHome,
    role_id: String,
}

impl Setup {
    fn new() -> Option<Self> {
        let bao = BaoDev::start()?;
        bao.cmd().args(["auth", "enable", "approle"]).run();
        bao.cmd()
            .args([
                "write",
                "auth/approle/role/ci",
                "token_policies=reader",
                "token_ttl=1h",
                "secret_id_ttl=10m",
            ])
            .run();
        let role_id = bao
            .cmd()
            .args(["read", "-field=role_id", "auth/approle/role/ci/role-id"])
            .stdout()
            .trim()
            .to_owned();
        Some(Self {
            bao,
            home: TempHome::new(),
            role_id,
        })
    }

    /// A fresh secret-id of role `ci`, or its response-wrapping token with `wrapped` (living 10
    /// minutes: the harness may build aesec before its first run).
    fn secret_id(&self, wrapped: bool) -> String {
        let mut cmd = self.bao.cmd();
        cmd.args(["write", "-f"]);
        if wrapped {
            cmd.args(["-wrap-ttl=10m", "-field=wrapping_token"]);
        } else {
            cmd.arg("-field=secret_id");
        }
        cmd.arg("auth/approle/role/ci/secret-id")
            .stdout()
            .trim()
            .to_owned()
    }

    /// `aesec bao login ARGS` with the server's address and, unless `token` says otherwise,
    /// its root token.
    fn aesec(&self, token: Option<&str>, args: &[&str]) -> Cmd {
        let mut cmd = self.home.aesec();
        cmd.args(["bao", "login"]).args(args);
        for (key, value) in self.bao.env_vars() {
            cmd.env(key, value);
        }
        if let Some(token) = token {
            cmd.env("BAO_TOKEN", token).env("VAULT_TOKEN", token);
        }
        cmd
    }

    /// `aesec bao login --method approle --role-id … ARGS`.
    fn approle(&self, args: &[&str]) -> Cmd {
        let mut cmd = self.aesec(None, &["--method", "approle", "--role-id", &self.role_id]);
        cmd.args(args);
        cmd
    }
}

/// Asserts that none of `secrets` appears in the command's stdout or stderr.
fn assert_hidden(output: &std::process::Output, secrets: &[&str]) {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    for secret in secrets {
        assert!(!text.contains(secret), "a secret was printed:\n{text}");
    }
}

#[test]
fn token_method_shows_what_the_token_may_do_and_never_the_token() {
    let setup = require_peer!(Setup::new());
    let root = setup.bao.token();
    let output = setup.aesec(None, &[]).run();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("policies   root"), "{text}");
    assert!(text.contains("no expiry"), "{text}");
    assert_hidden(&output, &[root]);

    let output = setup.aesec(None, &["--json"]).run();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(report["method"], "token");
    assert_eq!(report["policies"], serde_json::json!(["root"]));
    assert_hidden(&output, &[root]);

    // Printing back the token of the environment is refused; a bad token fails clearly.
    let output = setup.aesec(None, &["--field", "token"]).run_code(1);
    assert_hidden(&output, &[root]);
    let output = setup.aesec(Some("not-a-token"), &[]).run_code(1);
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("cannot be looked up"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_hidden(&output, &["not-a-token"]);
}

#[test]
fn approle_with_a_secret_id_file_prints_the_token_only_when_asked() {
    let setup = require_peer!(Setup::new());
    let secret_id = setup.secret_id(false);
    let file = setup.home.write("secret-id", format!("{secret_id}\n"));
    let file = file.to_str().expect("a UTF-8 path");

    let output = setup.approle(&["--secret-id-file", file]).run();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("approle login at auth/approle: ok"), "{text}");
    assert!(text.contains("policies   default, reader"), "{text}");
    assert!(text.contains("3600 s (renewable)"), "{text}");
    assert_hidden(&output, &[&secret_id, setup.bao.token()]);

    // --field token: the new token alone, and it is a working token with the role's policy.
    let output = setup
        .approle(&["--secret-id-file", file, "--field", "token"])
        .run();
    let token = String::from_utf8(output.stdout).expect("UTF-8");
    let token = token.trim();
    assert!(
        token.starts_with("s.") || token.starts_with("hvs."),
        "{token}"
    );
    let lookup = setup.aesec(Some(token), &["--field", "policies"]).stdout();
    assert_eq!(lookup.trim(), "default,reader");
    let accessor = setup
        .bao
        .cmd()
        .env("BAO_TOKEN", token)
        .args(["token", "lookup", "-field=accessor"])
        .stdout();
    let ours = setup.aesec(Some(token), &["--field", "accessor"]).stdout();
    assert_eq!(ours.trim(), accessor.trim());

    // A wrong secret-id: the login fails, naming the method and mount, showing no secret.
    let wrong = setup.home.write("wrong", "0000-not-the-secret-id");
    let output = setup
        .approle(&["--secret-id-file", wrong.to_str().expect("UTF-8")])
        .run_code(1);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("approle login at auth/approle failed"),
        "{stderr}"
    );
    assert_hidden(&output, &["0000-not-the-secret-id", setup.bao.token()]);
}

#[test]
fn a_wrapped_secret_id_works_once_and_a_foreign_wrapping_token_stays_unopened() {
    let setup = require_peer!(Setup::new());
    let wrapping = setup.secret_id(true);
    let file = setup.home.write("wrapped", &wrapping);
    let file = file.to_str().expect("UTF-8");
    let output = setup
        .approle(&["--wrapped-secret-id-file", file, "--role", "ci", "--json"])
        .run();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(report["method"], "approle");
    assert_eq!(report["mount"], "approle");
    assert_eq!(report["policies"], serde_json::json!(["default", "reader"]));
    assert_hidden(&output, &[&wrapping]);
    // A wrapping token opens once.
    setup
        .approle(&["--wrapped-secret-id-file", file, "--role", "ci"])
        .run_code(1);
    // Without --role the wrapping path cannot be checked: refused before anything is sent.
    setup
        .approle(&["--wrapped-secret-id-file", file])
        .run_code(1);

    // A wrapping token of another path (here sys/wrapping/wrap, as an attacker who can write
    // the file would make one) is refused and left unopened: its owner can still unwrap it.
    let foreign = setup
        .bao
        .cmd()
        .args([
            "write",
            "-wrap-ttl=10m",
            "-field=wrapping_token",
            "sys/wrapping/wrap",
            "secret_id=planted",
        ])
        .stdout();
    let foreign = foreign.trim();
    let planted = setup.home.write("planted", foreign);
    let output = setup
        .approle(&[
            "--wrapped-secret-id-file",
            planted.to_str().expect("UTF-8"),
            "--role",
            "ci",
        ])
        .run_code(1);
    assert_hidden(&output, &[foreign]);
    let unwrapped = setup
        .bao
        .cmd()
        .args(["unwrap", "-field=secret_id", foreign])
        .stdout();
    assert_eq!(unwrapped.trim(), "planted");
}
