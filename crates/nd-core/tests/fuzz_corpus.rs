//! Replays the seed corpus of every nd-core fuzz target.

#[test]
fn npy_corpus() {
    let n = nd_core::fuzzing::replay_corpus("npy", nd_core::fuzzing::npy);
    assert!(n > 0, "fuzz/corpus/npy is empty");
}
