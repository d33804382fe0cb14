#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    nd_fits::fuzzing::header_chain(data);
});
