//! Fuzzes the dotenv store: parsing arbitrary bytes must never panic, and whatever parses must
//! emit and parse again.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    aesec::fuzzing::store_round_trip(aesec::store::Format::Dotenv, data);
});
