//! `aesec filestatus`: `{"encrypted":true}` when the file carries sops metadata with a version
//! and a MAC, as sops prints it.

use crate::cli::FilestatusArgs;
use crate::commands::{Context, input_format, read_input};

pub(crate) fn run(context: &Context, args: &FilestatusArgs) -> anyhow::Result<u8> {
    let bytes = read_input(context, Some(&args.file))?;
    let encrypted = aesec::file::is_encrypted(&bytes, input_format(&args.types, Some(&args.file)));
    crate::output::stdout(format!("{{\"encrypted\":{encrypted}}}\n").as_bytes())?;
    Ok(0)
}
