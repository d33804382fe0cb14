//! Replays the seed corpus of the `remote_multipart` fuzz target through the same function.

#[test]
fn remote_multipart_corpus() {
    let n = nd_core::fuzzing::replay_corpus("remote_multipart", nd_remote::fuzzing::multipart);
    assert!(n > 0, "no seeds in fuzz/corpus/remote_multipart");
}

#[test]
fn remote_url_corpus() {
    let n = nd_core::fuzzing::replay_corpus("remote_url", nd_remote::fuzzing::url);
    assert!(n > 0, "no seeds in fuzz/corpus/remote_url");
}
