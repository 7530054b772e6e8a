//! `aesec filestatus`: `{"encrypted":true}` when the file carries sops metadata with a version
//! and a MAC, as sops prints it (the same line with or without `--json`).

use crate::cli::FilestatusArgs;
use crate::commands::{Context, input_format, read_input};

/// What `sops filestatus` prints.
#[derive(serde::Serialize)]
struct FileStatus {
    encrypted: bool,
}

pub(crate) fn run(context: &Context, args: &FilestatusArgs) -> anyhow::Result<u8> {
    let bytes = read_input(context, Some(&args.file))?;
    let encrypted = aesec::file::is_encrypted(&bytes, input_format(&args.types, Some(&args.file)));
    crate::output::json(&FileStatus { encrypted })?;
    Ok(0)
}
