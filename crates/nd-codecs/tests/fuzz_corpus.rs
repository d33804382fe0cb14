//! Replays the seed corpus of every codec_* fuzz target.

use nd_core::fuzzing::replay_corpus;

/// Replay `fuzz/corpus/<target>` through `f`, which must find inputs there.
fn replay(target: &str, f: fn(&[u8])) {
    let n = replay_corpus(target, f);
    assert!(n > 0, "fuzz/corpus/{target} is empty");
}

#[test]
fn codec_blosc_corpus() {
    replay("codec_blosc", nd_codecs::fuzzing::blosc);
}

#[test]
fn codec_zstd_corpus() {
    replay("codec_zstd", nd_codecs::fuzzing::zstd);
}

#[test]
fn codec_zlib_corpus() {
    replay("codec_zlib", nd_codecs::fuzzing::zlib);
}

#[test]
fn codec_lz4_corpus() {
    replay("codec_lz4", nd_codecs::fuzzing::lz4);
}

#[test]
fn codec_bz2_corpus() {
    replay("codec_bz2", nd_codecs::fuzzing::bz2);
}

#[test]
fn codec_pipeline_corpus() {
    replay("codec_pipeline", nd_codecs::fuzzing::pipeline);
}

#[test]
fn codec_lzma_corpus() {
    replay("codec_lzma", nd_codecs::fuzzing::lzma);
}

#[test]
fn codec_more_corpus() {
    replay("codec_more", nd_codecs::fuzzing::more);
}
