//! Fuzzes `.sops.yaml`: reading it, choosing rules and every membership edit must never panic,
//! and an edit that succeeds must leave a config that reads again.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    aesec::fuzzing::config_edits(data);
});
