//! `aesec groups add` and `aesec groups delete` (sops groups): change a file's key groups,
//! keeping its data key, values and MAC.

use aesec::fs::WriteOptions;
use aesec::keys::age::Recipient;
use aesec::sops::AgeMasterKey;

use crate::cli::{GroupsCommand, GroupsFileArgs};
use crate::commands::{Context, input_format, read_input, write_output};

/// Mode of the rewritten file when it has none to keep.
const ENCRYPTED_MODE: u32 = 0o644;

pub(crate) fn run(context: &Context, command: &GroupsCommand) -> anyhow::Result<u8> {
    let (target, action) = match command {
        GroupsCommand::Add(args) => (&args.target, "add a key group to"),
        GroupsCommand::Delete(args) => (&args.target, "delete a key group of"),
    };
    let format = input_format(&target.types, Some(&target.file));
    let encrypted = read_input(context, Some(&target.file))?;
    let keys = context.keys();
    let decryptors = keys.decryptors();
    let decryptors = decryptors.list();
    let threshold = target.shamir_secret_sharing_threshold;
    let emit = context.emit_options(&target.types, format)?;
    let changed = match command {
        GroupsCommand::Add(args) => {
            let recipients = args
                .age
                .iter()
                .map(|text| text.parse::<Recipient>())
                .collect::<Result<Vec<_>, _>>()?;
            aesec::file::add_key_group(
                &encrypted,
                format,
                &decryptors,
                AgeMasterKey::group(recipients),
                threshold,
                &emit,
            )
        }
        GroupsCommand::Delete(args) => aesec::file::delete_key_group(
            &encrypted,
            format,
            &decryptors,
            args.index,
            threshold,
            &emit,
        ),
    }
    .map_err(|error| keys.error(action, &target.file, error))?;
    write_output(
        destination(context, target).as_deref(),
        &changed,
        WriteOptions::keep_mode_or(ENCRYPTED_MODE),
    )?;
    Ok(0)
}

/// The file itself with `-i`, else stdout.
fn destination(context: &Context, target: &GroupsFileArgs) -> Option<std::path::PathBuf> {
    target.in_place.then(|| context.path(&target.file))
}
