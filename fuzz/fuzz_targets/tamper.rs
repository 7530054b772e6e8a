//! Fuzzes opening attacker-edited encrypted files: the first input byte picks a file that sops
//! encrypted for the test identity, the rest chooses edits (see `aesec::fuzzing::open_tampered`);
//! an edited file must fail to open or hold only values the encryptor made.
#![no_main]

use libfuzzer_sys::fuzz_target;

/// Files sops 3.11 encrypted for the fuzzing test identity: the golden vector (an
/// `unencrypted_suffix` value, comments, a list) and `plain.yaml` of
/// `crates/core/tests/vectors/tamper/` encrypted with an `encrypted_regex`, without and with
/// `mac_only_encrypted` (see the README there).
const SEEDS: [&[u8]; 3] = [
    include_bytes!("../../crates/core/tests/vectors/sops/vec.enc.yaml"),
    include_bytes!("../../crates/core/tests/vectors/tamper/encrypted_regex.enc.yaml"),
    include_bytes!("../../crates/core/tests/vectors/tamper/mac_only_encrypted.enc.yaml"),
];

fuzz_target!(|data: &[u8]| {
    let Some((choice, edits)) = data.split_first() else {
        return;
    };
    let seed = SEEDS[usize::from(*choice) % SEEDS.len()];
    aesec::fuzzing::open_tampered(seed, edits);
});
