//! Replays the seed corpus of every codec_* fuzz target.

use nd_core::fuzzing::replay_corpus;

#[test]
fn codec_corpora() {
    let targets: [(&str, fn(&[u8])); 6] = [
        ("codec_blosc", nd_codecs::fuzzing::blosc),
        ("codec_zstd", nd_codecs::fuzzing::zstd),
        ("codec_zlib", nd_codecs::fuzzing::zlib),
        ("codec_lz4", nd_codecs::fuzzing::lz4),
        ("codec_bz2", nd_codecs::fuzzing::bz2),
        ("codec_pipeline", nd_codecs::fuzzing::pipeline),
    ];
    for (name, f) in targets {
        let n = replay_corpus(name, f);
        assert!(n > 0, "fuzz/corpus/{name} is empty");
    }
}
