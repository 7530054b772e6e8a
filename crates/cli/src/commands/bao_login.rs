//! `aesec bao login`: a login as CI jobs, hosts and pods make it (or a look at the token already
//! held), through [`aesec_bao_bridge::Client::login`] and
//! [`aesec_bao_bridge::Client::lookup_self`]. What the token may do is shown; the token itself
//! only with `--field token`, and it is never written anywhere.

use std::fmt::Write as _;
use std::path::Path;

use aesec_bao_bridge::secrecy::ExposeSecret as _;
use aesec_bao_bridge::{Client, KUBERNETES_TOKEN_PATH, Login, read_secret_file};
use anyhow::{Context as _, bail};
use serde::Serialize;

use crate::cli::{BaoLoginArgs, LoginField, LoginMethod};
use crate::commands::Context;

/// What the command shows of a token (never the token).
#[derive(Serialize)]
struct Shown {
    method: &'static str,
    /// The auth mount logged in at; `None` for `--method token`.
    mount: Option<String>,
    accessor: String,
    policies: Vec<String>,
    /// Seconds left; 0 means no expiry.
    ttl: u64,
    renewable: bool,
}

pub(crate) fn run(context: &Context, args: &BaoLoginArgs) -> anyhow::Result<u8> {
    let client = super::bao::client(context)?;
    let method = method_name(args.method);
    let (shown, token) = match login(&client, args)? {
        None => {
            if args.field == Some(LoginField::Token) {
                bail!(
                    "--field token with --method token would only print the token of \
                     BAO_TOKEN/VAULT_TOKEN back; log in with another method to get a new one"
                );
            }
            let info = client
                .lookup_self()
                .context("the token of BAO_TOKEN/VAULT_TOKEN cannot be looked up")?;
            let shown = Shown {
                method,
                mount: None,
                accessor: info.accessor,
                policies: info.policies,
                ttl: info.ttl,
                renewable: info.renewable,
            };
            (shown, None)
        }
        Some((mount, auth)) => {
            let shown = Shown {
                method,
                mount: Some(mount),
                accessor: auth.accessor,
                policies: auth.policies,
                ttl: auth.lease_duration,
                renewable: auth.renewable,
            };
            (shown, Some(auth.client_token))
        }
    };
    let field = match args.field {
        None => None,
        Some(LoginField::Token) => Some(zeroize::Zeroizing::new(
            token
                .as_ref()
                .map(|token| token.expose_secret().to_owned())
                .unwrap_or_default(),
        )),
        Some(LoginField::Accessor) => Some(shown.accessor.clone().into()),
        Some(LoginField::Policies) => Some(shown.policies.join(",").into()),
        Some(LoginField::Ttl) => Some(shown.ttl.to_string().into()),
        Some(LoginField::Renewable) => Some(shown.renewable.to_string().into()),
    };
    if let Some(mut value) = field {
        value.push('\n');
        crate::output::stdout(value.as_bytes())?;
    } else if context.json {
        crate::output::json(&shown)?;
    } else if !context.quiet {
        crate::output::stdout(summary(&shown)?.as_bytes())?;
    }
    Ok(0)
}

/// Logs in with the method of `args`: the mount and the new token's lease, or `None` for
/// `--method token` (nothing to exchange).
fn login(
    client: &Client,
    args: &BaoLoginArgs,
) -> anyhow::Result<Option<(String, aesec_bao_bridge::AuthInfo)>> {
    let mount = args
        .path
        .clone()
        .unwrap_or_else(|| method_name(args.method).to_owned());
    let login = match args.method {
        LoginMethod::Token => return Ok(None),
        LoginMethod::Approle => approle(client, args, &mount)?,
        LoginMethod::Kubernetes => {
            let file = args
                .jwt_file
                .as_deref()
                .unwrap_or(Path::new(KUBERNETES_TOKEN_PATH));
            Login::kubernetes_from_file(required(&args.role, "--role", "kubernetes")?, file)?
        }
        LoginMethod::Jwt => {
            let file = args
                .jwt_file
                .as_deref()
                .context("--method jwt needs --jwt-file FILE (the identity token)")?;
            Login::jwt_from_file(required(&args.role, "--role", "jwt")?, file)?
        }
    };
    let auth = client
        .login(&login.at_mount(mount.clone()))
        .with_context(|| format!("{} login at auth/{mount} failed", method_name(args.method)))?;
    Ok(Some((mount, auth)))
}

/// The AppRole login of `args`: a secret-id from a file, or unwrapped from a response-wrapping
/// token that must come from the role's secret-id endpoint.
fn approle(client: &Client, args: &BaoLoginArgs, mount: &str) -> anyhow::Result<Login> {
    let role_id = required(&args.role_id, "--role-id", "approle")?;
    match (&args.secret_id_file, &args.wrapped_secret_id_file) {
        (Some(file), None) => {
            Ok(Login::approle(role_id, read_secret_file(file)?).at_mount(mount.to_owned()))
        }
        (None, Some(file)) => {
            let role = args.role.as_deref().context(
                "--wrapped-secret-id-file needs --role NAME: the wrapping token is checked to \
                 come from auth/<mount>/role/NAME/secret-id before it is opened",
            )?;
            let wrapping_token = read_secret_file(file)?;
            Ok(Login::approle_wrapped(
                client,
                mount,
                role,
                role_id,
                &wrapping_token,
            )?)
        }
        _ => bail!("--method approle needs --secret-id-file FILE or --wrapped-secret-id-file FILE"),
    }
}

/// The value of a flag the method needs.
fn required(value: &Option<String>, flag: &str, method: &str) -> anyhow::Result<String> {
    value
        .clone()
        .with_context(|| format!("--method {method} needs {flag}"))
}

fn method_name(method: LoginMethod) -> &'static str {
    match method {
        LoginMethod::Token => "token",
        LoginMethod::Approle => "approle",
        LoginMethod::Kubernetes => "kubernetes",
        LoginMethod::Jwt => "jwt",
    }
}

/// The text report: what the token may do, and how to get the token itself.
fn summary(shown: &Shown) -> anyhow::Result<String> {
    let mut text = String::new();
    match &shown.mount {
        Some(mount) => writeln!(text, "{} login at auth/{mount}: ok", shown.method)?,
        None => writeln!(text, "the token of BAO_TOKEN/VAULT_TOKEN is valid")?,
    }
    writeln!(text, "accessor   {}", shown.accessor)?;
    writeln!(text, "policies   {}", shown.policies.join(", "))?;
    let ttl = match shown.ttl {
        0 => "no expiry".to_owned(),
        seconds => format!("{seconds} s"),
    };
    let renewable = if shown.renewable {
        "renewable"
    } else {
        "not renewable"
    };
    writeln!(text, "ttl        {ttl} ({renewable})")?;
    if shown.mount.is_some() {
        writeln!(text, "token      not shown (--field token prints it alone)")?;
    }
    Ok(text)
}
