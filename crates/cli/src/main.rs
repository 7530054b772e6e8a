//! The `aesec` binary: parse flags, set up logging, dispatch, map the outcome to an exit code.

mod cli;
mod commands;
mod env;
mod exit;
mod legacy;
mod output;
mod progress;
mod scratch;
#[cfg(debug_assertions)]
mod test_hooks;

use std::process::ExitCode;

fn main() -> ExitCode {
    // sops' top-level forms (`-d FILE`, `--set '…' FILE`, a bare FILE…) become subcommands.
    let command = <cli::Cli as clap::CommandFactory>::command();
    let mut subcommands: Vec<&str> = vec!["help"];
    for subcommand in command.get_subcommands() {
        subcommands.push(subcommand.get_name());
        subcommands.extend(subcommand.get_all_aliases());
    }
    let args = match legacy::rewrite(std::env::args_os().collect(), &subcommands) {
        Ok(args) => args,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(exit::INVALID_SET_FORMAT);
        }
    };
    // The command built above parses too (building it is a measurable part of a short run).
    let parsed = command
        .try_get_matches_from(args)
        .and_then(|matches| <cli::Cli as clap::FromArgMatches>::from_arg_matches(&matches));
    let cli = match parsed {
        Ok(cli) => cli,
        // Flags that cannot be combined exit with sops' code for the same mistake (8); every
        // other usage error keeps clap's message and code (2; README "Exit codes").
        Err(error) if error.kind() == clap::error::ErrorKind::ArgumentConflict => {
            drop(error.print());
            return ExitCode::from(exit::CONFLICTING_PARAMETERS);
        }
        Err(error) => error.exit(),
    };
    init_tracing(cli.verbose, cli.quiet);
    let json = cli.json;
    match commands::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(error) => output::report_error(&error, json),
    }
}

fn init_tracing(verbose: u8, quiet: bool) {
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env(env::AESEC_LOG)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .init();
}
