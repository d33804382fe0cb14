//! Replay the cargo-fuzz seed corpora through the same entry points.
#[test]
fn replay_asdf_corpora() {
    for (name, f) in [
        ("asdf_open", nd_asdf::fuzzing::asdf_open as fn(&[u8])),
        ("asdf_blocks", nd_asdf::fuzzing::asdf_blocks),
        ("asdf_yaml", nd_asdf::fuzzing::asdf_yaml),
        ("asdf_ndarray", nd_asdf::fuzzing::asdf_ndarray),
        ("asdf_yaml_aliases", nd_asdf::fuzzing::yaml_aliases),
    ] {
        let n = nd_core::fuzzing::replay_corpus(name, f);
        assert!(n > 0, "{name}: empty corpus");
    }
}
