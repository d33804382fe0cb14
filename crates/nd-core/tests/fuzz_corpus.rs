//! Replays the seed corpus of every nd-core fuzz target.

#[test]
fn npy_corpus() {
    let n = nd_core::fuzzing::replay_corpus("npy", nd_core::fuzzing::npy);
    assert!(n > 0, "fuzz/corpus/npy is empty");
}

#[test]
fn core_selection_corpus() {
    let n = nd_core::fuzzing::replay_corpus("core_selection", nd_core::fuzzing::selection);
    assert!(n > 0, "fuzz/corpus/core_selection is empty");
}
