//! Corrupt pcodec streams found by fuzzing decode exactly as the reference decodes them
//! (testdata/pcodec_corrupt, written by pcodec 0.3.6 through testdata/gen_pcodec_corrupt.py):
//! the same values where pcodec returns values, an error where it refuses.

use nd_codecs::codec_from_config;
use serde_json::{json, Value};
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/pcodec_corrupt")
}

/// Native-order items of `size` bytes to little-endian.
fn to_le(bytes: &[u8], size: usize) -> Vec<u8> {
    let mut out = bytes.to_vec();
    if cfg!(target_endian = "big") {
        for item in out.chunks_mut(size) {
            item.reverse();
        }
    }
    out
}

#[test]
fn corrupt_streams_decode_as_pcodec_decodes_them() {
    let index: Value =
        serde_json::from_str(&std::fs::read_to_string(dir().join("index.json")).unwrap()).unwrap();
    let cases = index.as_array().unwrap();
    assert!(!cases.is_empty());
    let codec = codec_from_config(&json!({"id": "pcodec"})).unwrap();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let data = std::fs::read(dir().join(case["input"].as_str().unwrap())).unwrap();
        let got = codec.decode(&data, 1 << 20);
        match case["decoded"].as_str() {
            None => assert!(got.is_err(), "{name}: pcodec refuses it, nd decoded it"),
            Some(file) => {
                let want = std::fs::read(dir().join(file)).unwrap();
                let size: usize = case["dtype"].as_str().unwrap()[2..].parse().unwrap();
                let got = got.unwrap_or_else(|e| panic!("{name}: pcodec decodes it, nd: {e}"));
                assert_eq!(
                    to_le(&got, size),
                    want,
                    "{name}: values differ from pcodec's"
                );
            }
        }
    }
}
