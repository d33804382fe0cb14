//! Entry points for the cargo-fuzz targets (`fuzz/fuzz_targets/codec_*.rs`) and the corpus replay
//! tests. Each function must never panic, whatever the input.

/// Decode `data` as a zlib stream (bounded), and round-trip what decodes.
pub fn zlib(data: &[u8]) {
    if let Ok(v) = crate::Zlib::decode_stream(data, 1 << 20) {
        let enc = crate::Zlib::encode_stream(&v, 1).ok();
        let back = enc.and_then(|e| crate::Zlib::decode_stream(&e, v.len()).ok());
        assert_eq!(back.as_deref(), Some(&v[..]), "zlib round trip");
    }
}
