//! Dispatch to one file per subcommand, and the context they share: the working directory,
//! the `.sops.yaml`, the identities found the way sops finds them, and output writing.

mod bao;
mod bao_bootstrap;
mod bao_login;
mod bao_transit;
mod bootstrap;
mod check;
mod decrypt;
mod deploy;
mod edit;
mod encrypt;
mod enroll;
mod exec;
mod filestatus;
mod groups;
mod install;
mod keys;
mod remove;
mod rotate;
mod set;
mod status;
mod updatekeys;

use std::io::Read;
use std::path::{Path, PathBuf};

use aesec::config::Config;
use aesec::file::FileError;
use aesec::keys::age::Identities;
use aesec::keys::discovery::{self, Sources};
use aesec::sops::{AgeDecryptor, KeyDecryptor};
use aesec::store::{EmitOptions, Format};
use aesec_bao_bridge::TransitBackend;
use anyhow::Context as _;

use crate::cli::{Cli, Command, FormatArg, OutputArgs, TypeArgs};
use crate::output::{CliError, KeySearch};

/// Runs the parsed command; `Ok` carries the exit code (0, or 200 for an unchanged edit).
pub(crate) fn run(cli: Cli) -> anyhow::Result<u8> {
    let context = Context::new(&cli)?;
    match &cli.command {
        Command::Encrypt(args) => encrypt::run(&context, args),
        Command::Decrypt(args) => decrypt::run(&context, args),
        Command::Edit(args) => edit::run(&context, args),
        Command::Set(args) => set::run_set(&context, args),
        Command::Unset(args) => set::run_unset(&context, args),
        Command::ExecEnv(args) => exec::run_env(&context, args),
        Command::ExecFile(args) => exec::run_file(&context, args),
        Command::Filestatus(args) => filestatus::run(&context, args),
        Command::Rotate(args) => rotate::run(&context, args),
        Command::Updatekeys(args) => updatekeys::run(&context, args),
        Command::Check(args) => check::run(&context, args),
        Command::Status(args) => status::run(&context, args),
        Command::Enroll(args) => enroll::run(&context, args),
        Command::Remove(args) => remove::run(&context, args),
        Command::Bootstrap(args) => bootstrap::run(&context, args),
        Command::Groups(command) => groups::run(&context, command),
        Command::Install(args) => install::run(&context, args),
        Command::Deploy(args) => deploy::run(&context, args),
        Command::Keys(command) => keys::run(&context, command),
        Command::Bao(command) => bao::run(&context, command),
        Command::Completions(args) => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(args.shell, &mut command, "aesec", &mut std::io::stdout());
            Ok(0)
        }
        Command::Man => {
            let command = <Cli as clap::CommandFactory>::command();
            let mut page = Vec::new();
            clap_mangen::Man::new(command).render(&mut page)?;
            crate::output::stdout(&page)?;
            Ok(0)
        }
    }
}

/// What every command may need, resolved once from flags and environment.
pub(crate) struct Context {
    /// The directory relative paths are resolved against.
    pub(crate) cwd: PathBuf,
    /// `--config` or the `.sops.yaml` found by walking up from `cwd`.
    pub(crate) config_path: Option<PathBuf>,
    /// A `.sops.yml` seen on the way up, which sops (and aesec) ignore.
    pub(crate) ignored_config: Option<PathBuf>,
    /// `--identity` files.
    pub(crate) identity_files: Vec<PathBuf>,
    /// `--quiet`.
    pub(crate) quiet: bool,
    /// `--json`.
    pub(crate) json: bool,
    /// `--insecure-http`.
    pub(crate) insecure_http: bool,
}

/// The identities of a run and where they were looked for.
pub(crate) struct Keys {
    /// Every identity found.
    pub(crate) identities: Identities,
    /// The backends of master keys of other kinds (OpenBao/Vault Transit).
    backends: KeyBackends,
    /// Where they were looked for, for the exit-128 report.
    pub(crate) search: KeySearch,
}

impl Keys {
    /// The one decryptor list every command opens and re-wraps files with: age identities, and
    /// OpenBao/Vault Transit for `hc_vault` entries and specs.
    pub(crate) fn decryptors(&self) -> Decryptors<'_> {
        Decryptors {
            age: AgeDecryptor::new(&self.identities),
            backends: &self.backends,
        }
    }

    /// Wraps a failure to open or change `file` so that the report can list the key sources.
    pub(crate) fn error(
        &self,
        action: impl Into<String>,
        file: &Path,
        source: impl Into<FileError>,
    ) -> anyhow::Error {
        CliError::File {
            action: action.into(),
            file: file.display().to_string(),
            search: self.search.clone(),
            source: source.into(),
        }
        .into()
    }
}

/// The decryptors of a run ([`Keys::decryptors`]).
pub(crate) struct Decryptors<'k> {
    age: AgeDecryptor<'k>,
    backends: &'k KeyBackends,
}

impl Decryptors<'_> {
    /// The list the library takes.
    pub(crate) fn list(&self) -> Vec<&dyn KeyDecryptor> {
        let mut list: Vec<&dyn KeyDecryptor> = vec![&self.age];
        list.extend(self.backends.list());
        list
    }
}

/// The backends of master keys of kinds other than age (built once per run, part of every
/// decryptor list). Alone they serve encrypting a new file under a creation rule, for which no
/// age identity is looked for (sops' `encrypt` looks for none, and `SOPS_AGE_KEY_CMD` is not run).
pub(crate) struct KeyBackends {
    transit: Option<TransitBackend>,
}

impl KeyBackends {
    /// The backends of this run's environment.
    pub(crate) fn new(context: &Context) -> Self {
        Self {
            transit: transit_backend(context),
        }
    }

    /// The list the library takes.
    pub(crate) fn list(&self) -> Vec<&dyn KeyDecryptor> {
        self.transit
            .iter()
            .map(|transit| transit as &dyn KeyDecryptor)
            .collect()
    }
}

/// OpenBao's settings: the environment (`BAO_X`, else `VAULT_X`) and `--insecure-http`.
pub(crate) fn bao_settings(
    context: &Context,
) -> Result<aesec_bao_bridge::Config, aesec_bao_bridge::ConfigError> {
    Ok(
        aesec_bao_bridge::Config::from_env_with(|name| std::env::var(name).ok())?
            .insecure_http(context.insecure_http),
    )
}

/// The `hc_vault` backend: [`bao_settings`], with sops' token fallback `~/.vault-token` when
/// neither `BAO_TOKEN` nor `VAULT_TOKEN` is set.
pub(crate) fn transit_backend(context: &Context) -> Option<TransitBackend> {
    let mut settings = match bao_settings(context) {
        Ok(settings) => settings,
        Err(error) => {
            tracing::warn!("OpenBao settings ignored, hc_vault keys unavailable: {error}");
            return None;
        }
    };
    if settings.token.is_none()
        && let Some(home) = var_os(crate::env::HOME)
    {
        let file = Path::new(&home).join(".vault-token");
        if let Ok(bytes) = aesec::fs::read(&file).map(zeroize::Zeroizing::new) {
            let token = String::from_utf8_lossy(&bytes).trim().to_owned();
            if !token.is_empty() {
                settings = settings.token(token.into());
            }
        }
    }
    Some(TransitBackend::new(settings))
}

impl Context {
    fn new(cli: &Cli) -> anyhow::Result<Self> {
        let cwd = std::env::current_dir().context("cannot determine the working directory")?;
        let cwd = match &cli.directory {
            Some(dir) => cwd.join(dir),
            None => cwd,
        };
        let (config_path, ignored_config) = match &cli.config {
            Some(path) => (Some(cwd.join(path)), None),
            None => {
                let lookup = aesec::config::find_config(&cwd);
                (lookup.path, lookup.ignored)
            }
        };
        Ok(Self {
            cwd,
            config_path,
            ignored_config,
            identity_files: cli.identities.clone(),
            quiet: cli.quiet,
            json: cli.json,
            insecure_http: cli.insecure_http,
        })
    }

    /// The loaded `.sops.yaml`, if there is one (`/dev/null` counts as none, as in sops).
    pub(crate) fn config(&self) -> anyhow::Result<Option<Config>> {
        match &self.config_path {
            None => Ok(None),
            Some(path) if path == Path::new("/dev/null") => Ok(None),
            Some(path) => {
                Ok(Some(Config::load(path).with_context(|| {
                    format!("cannot load '{}'", path.display())
                })?))
            }
        }
    }

    /// The `.sops.yaml` the fleet commands work under; its absence is an error (exit 61).
    pub(crate) fn fleet_config(&self) -> anyhow::Result<Config> {
        self.config()?
            .ok_or_else(|| CliError::NoConfig(self.describe_config()).into())
    }

    /// A path as shown to the user: relative to the working directory when it is inside it.
    pub(crate) fn shown(&self, path: &Path) -> PathBuf {
        crate::output::shown(&self.cwd, path)
    }

    /// Which `.sops.yaml` is in use, for messages.
    pub(crate) fn describe_config(&self) -> String {
        match (&self.config_path, &self.ignored_config) {
            (Some(path), _) => format!("config '{}'", path.display()),
            (None, Some(ignored)) => format!(
                "no .sops.yaml found; '{}' is ignored, as sops ignores it",
                ignored.display()
            ),
            (None, None) => format!("no .sops.yaml found in '{}' or above", self.cwd.display()),
        }
    }

    /// Output options for a document written as `output`: `.sops.yaml`'s `stores:` section,
    /// then `--indent`.
    pub(crate) fn emit_options(
        &self,
        types: &TypeArgs,
        output: Format,
    ) -> anyhow::Result<EmitOptions> {
        let stores = self
            .config()?
            .map(|config| config.stores)
            .unwrap_or_default();
        Ok(match types.indent {
            Some(indent) => stores.with_indent(indent, output)?,
            None => stores,
        })
    }

    /// A path as given on the command line, resolved against `-C`.
    pub(crate) fn path(&self, path: &Path) -> PathBuf {
        self.cwd.join(path)
    }

    /// The identities sops would find, plus `--identity` files, and where they were looked for.
    pub(crate) fn keys(&self) -> Keys {
        let mut sources = Sources::new();
        for file in &self.identity_files {
            sources = sources.identity_file(self.path(file));
        }
        if let Some(path) = var_os(crate::env::SOPS_AGE_SSH_PRIVATE_KEY_FILE) {
            sources = sources.ssh_private_key_file(path);
        }
        if let Some(home) = var_os(crate::env::HOME) {
            sources = sources.home_dir(home);
        }
        if let Some(text) = var(crate::env::SOPS_AGE_KEY) {
            sources = sources.age_key(text.into());
        }
        if let Some(path) = var_os(crate::env::SOPS_AGE_KEY_FILE) {
            sources = sources.age_key_file(path);
        }
        if let Some(command) = var(crate::env::SOPS_AGE_KEY_CMD) {
            sources = sources.age_key_cmd(command);
        }
        if let Some(dir) = var_os(crate::env::XDG_CONFIG_HOME) {
            sources = sources.config_dir(dir);
        }
        let found = discovery::discover_all(&sources, &crate::output::TerminalPrompt);
        let problems: Vec<String> = found
            .errors
            .iter()
            .map(|e| crate::output::chain(e))
            .collect();
        for problem in &problems {
            tracing::debug!("skipping identity source: {problem}");
        }
        Keys {
            identities: found.identities,
            backends: KeyBackends::new(self),
            search: KeySearch {
                looked: discovery::describe(&sources),
                problems,
            },
        }
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

fn var_os(name: &str) -> Option<std::ffi::OsString> {
    std::env::var_os(name).filter(|value| !value.is_empty())
}

/// The format of an input: `--input-type`, else from the file name.
pub(crate) fn input_format(types: &TypeArgs, name: Option<&Path>) -> Format {
    types
        .input_type
        .map(format_of)
        .unwrap_or_else(|| name.map(Format::from_path).unwrap_or(Format::Binary))
}

/// The format of the output: `--output-type`, else the input's.
pub(crate) fn output_format(types: &TypeArgs, input: Format) -> Format {
    types.output_type.map(format_of).unwrap_or(input)
}

fn format_of(arg: FormatArg) -> Format {
    match arg {
        FormatArg::Yaml => Format::Yaml,
        FormatArg::Json => Format::Json,
        FormatArg::Dotenv => Format::Dotenv,
        FormatArg::Ini => Format::Ini,
        FormatArg::Binary => Format::Binary,
    }
}

/// Reads a file argument (`None` or `-`: stdin).
pub(crate) fn read_input(context: &Context, file: Option<&Path>) -> anyhow::Result<Vec<u8>> {
    match file {
        None => read_stdin(),
        Some(path) if path == Path::new("-") => read_stdin(),
        Some(path) => {
            let path = context.path(path);
            if !path.exists() {
                return Err(CliError::NoSuchFile(path.display().to_string()).into());
            }
            Ok(aesec::fs::read(&path)?)
        }
    }
}

pub(crate) fn read_stdin() -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .read_to_end(&mut bytes)
        .map_err(CliError::ReadStdin)?;
    Ok(bytes)
}

/// Where a result goes, as `-i`/`--output`/stdout say (`None`: stdout). Checked before any
/// work, so that `--in-place` with stdin fails at once.
pub(crate) fn output_target(
    context: &Context,
    output: &OutputArgs,
    input: Option<&Path>,
) -> anyhow::Result<Option<PathBuf>> {
    if output.in_place {
        return match input {
            Some(path) if path != Path::new("-") => Ok(Some(context.path(path))),
            _ => Err(CliError::Usage("--in-place cannot be used with stdin").into()),
        };
    }
    Ok(output.output.as_ref().map(|path| context.path(path)))
}

/// Writes a result to the target chosen by [`output_target`].
pub(crate) fn write_output(
    target: Option<&Path>,
    bytes: &[u8],
    options: aesec::fs::WriteOptions,
) -> anyhow::Result<()> {
    match target {
        Some(path) => write_file(path, bytes, options),
        None => crate::output::stdout(bytes),
    }
}

/// Writes a file atomically.
pub(crate) fn write_file(
    path: &Path,
    bytes: &[u8],
    options: aesec::fs::WriteOptions,
) -> anyhow::Result<()> {
    aesec::fs::write_atomic(path, bytes, options)?;
    Ok(())
}

/// Where `program` is on `PATH`.
pub(crate) fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os(crate::env::PATH)
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}
