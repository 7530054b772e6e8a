//! Store vectors (`tests/vectors/<store>/`): the cases of a store's vector directory and their
//! checked-in snapshots, shared by the JSON, INI and dotenv store tests.

use std::path::PathBuf;

use crate::Tree;
use crate::store::StoreError;

/// One input of a store's vector directory.
pub(crate) struct Case {
    /// The file name without extension.
    pub(crate) name: String,
    /// The input bytes.
    pub(crate) input: Vec<u8>,
    /// What sops printed for it (`NAME.sops.EXT`), absent for `fail_*` inputs.
    pub(crate) expected: Option<Vec<u8>>,
    /// An encrypted form written by sops (`NAME.enc.EXT`), if any.
    pub(crate) encrypted: Option<Vec<u8>>,
}

/// The directory of a store's vectors.
pub(crate) fn dir(store: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(store)
}

/// Reads one vector file.
pub(crate) fn read(store: &str, file: &str) -> Vec<u8> {
    let path = dir(store).join(file);
    std::fs::read(&path).unwrap_or_else(|error| panic!("reading {}: {error}", path.display()))
}

/// Every input (`NAME.EXT`, NAME without a dot) of a store, sorted by name.
pub(crate) fn cases(store: &str, ext: &str) -> Vec<Case> {
    let dir = dir(store);
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("listing {}: {error}", dir.display()));
    let mut names: Vec<String> = entries
        .map(|entry| {
            entry
                .expect("directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter_map(|file| file.strip_suffix(&format!(".{ext}")).map(str::to_owned))
        .filter(|name| !name.contains('.'))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let optional =
                |kind: &str| std::fs::read(dir.join(format!("{name}.{kind}.{ext}"))).ok();
            let expected = optional("sops");
            let encrypted = optional("enc");
            assert!(
                name.starts_with("fail_") || expected.is_some(),
                "{store}/{name}.{ext} has no .sops.{ext}: run regenerate.sh"
            );
            Case {
                input: read(store, &format!("{name}.{ext}")),
                name,
                expected,
                encrypted,
            }
        })
        .collect()
}

/// Shows bytes for an assertion message.
pub(crate) fn show(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Checks every sops snapshot of a flat store: `emit(parse(input))` equals what sops
/// printed, sops' output is a fixed point, and every `fail_*` input is refused as
/// `refused` says. Returns how many snapshots matched.
pub(crate) fn check_snapshots(
    store: &str,
    ext: &str,
    parse: impl Fn(&[u8]) -> Result<Tree, StoreError>,
    emit: impl Fn(&Tree) -> Result<zeroize::Zeroizing<Vec<u8>>, StoreError>,
    refused: impl Fn(&StoreError) -> bool,
) -> usize {
    let mut checked = 0;
    for case in cases(store, ext) {
        let result = parse(&case.input);
        let Some(expected) = case.expected else {
            assert!(
                result.as_ref().is_err_and(&refused),
                "{}: {result:?}",
                case.name
            );
            continue;
        };
        let ours = emit(&result.unwrap_or_else(|e| panic!("{}: {e}", case.name)))
            .unwrap()
            .to_vec();
        assert_eq!(show(&ours), show(&expected), "{}", case.name);
        assert_eq!(
            emit(&parse(&expected).unwrap()).unwrap().to_vec(),
            expected,
            "{}",
            case.name
        );
        checked += 1;
    }
    checked
}
