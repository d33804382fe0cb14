#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    nd_asdf::fuzzing::yaml_aliases(data);
});
