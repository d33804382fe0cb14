//! Replays the seed corpus of every codec_* fuzz target.

use nd_core::fuzzing::replay_corpus;

#[test]
fn codec_blosc_corpus() {
    let n = replay_corpus("codec_blosc", nd_codecs::fuzzing::blosc);
    assert!(n > 0, "fuzz/corpus/codec_blosc is empty");
}

#[test]
fn codec_zstd_corpus() {
    let n = replay_corpus("codec_zstd", nd_codecs::fuzzing::zstd);
    assert!(n > 0, "fuzz/corpus/codec_zstd is empty");
}

#[test]
fn codec_zlib_corpus() {
    let n = replay_corpus("codec_zlib", nd_codecs::fuzzing::zlib);
    assert!(n > 0, "fuzz/corpus/codec_zlib is empty");
}

#[test]
fn codec_lz4_corpus() {
    let n = replay_corpus("codec_lz4", nd_codecs::fuzzing::lz4);
    assert!(n > 0, "fuzz/corpus/codec_lz4 is empty");
}

#[test]
fn codec_bz2_corpus() {
    let n = replay_corpus("codec_bz2", nd_codecs::fuzzing::bz2);
    assert!(n > 0, "fuzz/corpus/codec_bz2 is empty");
}

#[test]
fn codec_pipeline_corpus() {
    let n = replay_corpus("codec_pipeline", nd_codecs::fuzzing::pipeline);
    assert!(n > 0, "fuzz/corpus/codec_pipeline is empty");
}

#[test]
fn codec_lzma_corpus() {
    let n = replay_corpus("codec_lzma", nd_codecs::fuzzing::lzma);
    assert!(n > 0, "fuzz/corpus/codec_lzma is empty");
}
