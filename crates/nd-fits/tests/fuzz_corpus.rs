//! Replay the cargo-fuzz seed corpora of the FITS targets (fuzz/corpus/fits_*).

use nd_core::fuzzing::replay_corpus;

#[test]
fn fits_header_corpus() {
    assert!(replay_corpus("fits_header", nd_fits::fuzzing::header) > 0);
}

#[test]
fn fits_walk_corpus() {
    assert!(replay_corpus("fits_walk", nd_fits::fuzzing::walk) > 0);
}

#[test]
fn fits_region_corpus() {
    assert!(replay_corpus("fits_region", nd_fits::fuzzing::region) > 0);
}
