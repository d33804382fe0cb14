//! Replay the cargo-fuzz seed corpus of the facade's target (fuzz/corpus/extended_name).

#[test]
fn extended_name_corpus() {
    let n = nd_core::fuzzing::replay_corpus("extended_name", nd::fuzzing::extended_name);
    assert!(n > 0, "fuzz/corpus/extended_name is empty");
}
