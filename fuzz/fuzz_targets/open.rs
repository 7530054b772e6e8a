//! Fuzzes opening an encrypted document in every format: any input must give an error or a
//! document, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    aesec::fuzzing::open_any(data);
});
