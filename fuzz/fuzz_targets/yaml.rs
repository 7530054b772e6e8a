//! Fuzzes the yaml store: parsing arbitrary bytes must never panic, whatever parses must emit
//! and parse again, and reading in pieces must agree with reading whole.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    aesec::fuzzing::store_round_trip(aesec::store::Format::Yaml, data);
    aesec::fuzzing::yaml_pieces_agree(data);
});
