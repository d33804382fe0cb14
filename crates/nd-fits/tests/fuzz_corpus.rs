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

#[test]
fn fits_table_corpus() {
    assert!(replay_corpus("fits_table", nd_fits::fuzzing::table) > 0);
}

#[test]
fn fits_rice_corpus() {
    assert!(replay_corpus("fits_rice", nd_fits::fuzzing::rice) > 0);
}

#[test]
fn fits_plio_corpus() {
    assert!(replay_corpus("fits_plio", nd_fits::fuzzing::plio) > 0);
}

#[test]
fn fits_gzip_tile_corpus() {
    assert!(replay_corpus("fits_gzip_tile", nd_fits::fuzzing::gzip_tile) > 0);
}

#[test]
fn fits_hcompress_corpus() {
    assert!(replay_corpus("fits_hcompress", nd_fits::fuzzing::hcompress) > 0);
}

#[test]
fn fits_header_chain_corpus() {
    assert!(replay_corpus("fits_header_chain", nd_fits::fuzzing::header_chain) > 0);
}

#[test]
fn fits_tile_codec_corpus() {
    assert!(replay_corpus("fits_tile_codec", nd_fits::fuzzing::tile_codec) > 0);
}

#[test]
fn fits_tile_image_corpus() {
    assert!(replay_corpus("fits_tile_image", nd_fits::fuzzing::tile_image) > 0);
}
