//! Decode every fixture of testdata/codecs (written by numcodecs, python asdf, lz4 and the zstd
//! tool: see testdata/gen_codecs.py) byte-exactly; encode the originals with our encoders and
//! decode them again; check the decompression-bomb limit of every codec.

use md5::{Digest, Md5};
use nd_codecs::{codec_from_config, Error, Pipeline};
use serde_json::Value;
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/codecs")
}

fn cases() -> Vec<Value> {
    let text =
        std::fs::read_to_string(dir().join("index.json")).expect("testdata/codecs/index.json");
    let v: Value = serde_json::from_str(&text).expect("index.json parses");
    v.as_array().expect("a list").clone()
}

/// An expected output: the bytes themselves, or (length, md5) for large ones.
enum Expect {
    Bytes(Vec<u8>),
    Md5(usize, String),
}

impl Expect {
    fn load(field: &Value) -> Expect {
        let s = field.as_str().expect("path");
        if let Some(rest) = s.strip_prefix("md5:") {
            let (len, hex) = rest.split_once(':').expect("md5:len:hex");
            Expect::Md5(len.parse().expect("len"), hex.to_string())
        } else {
            Expect::Bytes(std::fs::read(dir().join(s)).expect("fixture file"))
        }
    }
    fn len(&self) -> usize {
        match self {
            Expect::Bytes(b) => b.len(),
            Expect::Md5(n, _) => *n,
        }
    }
    fn check(&self, name: &str, what: &str, got: &[u8]) {
        match self {
            Expect::Bytes(b) => assert!(
                b == got,
                "{name}: {what}: decoded bytes differ ({} vs {} bytes)",
                got.len(),
                b.len()
            ),
            Expect::Md5(n, hex) => {
                assert_eq!(got.len(), *n, "{name}: {what}: length");
                let h: String = Md5::digest(got)
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                assert_eq!(&h, hex, "{name}: {what}: md5");
            }
        }
    }
}

fn is_too_large(e: &Error) -> bool {
    matches!(e, Error::TooLarge { .. })
}

/// Codecs whose encoding is deterministic and must equal numcodecs' byte for byte.
const EXACT_ENCODE: [&str; 12] = [
    "shuffle",
    "delta",
    "fixedscaleoffset",
    "quantize",
    "astype",
    "packbits",
    "categorize",
    "bitround",
    "crc32",
    "adler32",
    "fletcher32",
    // liblzma 5.8 (static) and Python's liblzma give the same bytes for the same preset and check
    "lzma",
];

/// The numpy dtype a case was encoded from.
fn case_dtype(case: &Value) -> Option<(nd_core::DataType, nd_core::Endian)> {
    nd_core::DataType::from_typestr(case.get("dtype")?.as_str()?).ok()
}

/// The zstd that nd links (1.5.7) pre-splits blocks from level 3 on; the one numcodecs 0.15
/// bundles (1.5.6) does not, and nd turns it off: on an input long enough to be split (the
/// generator's `steps_u2`, made again here and checked against the fixture's MD5), nd's frames
/// are numcodecs' byte for byte.
#[test]
fn zstd_frames_are_numcodecs_on_inputs_zstd_would_pre_split() {
    let orig: Vec<u8> = (0..131_073u32)
        .flat_map(|i| ((i % 251 * (i / 4096 % 3)) as u16).to_le_bytes())
        .collect();
    let mut n = 0;
    for case in cases() {
        let name = case["name"].as_str().unwrap();
        if !(name.starts_with("zstd_") && name.ends_with("_steps_u2")) {
            continue;
        }
        Expect::load(&case["original"]).check(name, "the array made again", &orig);
        let want = std::fs::read(dir().join(case["encoded"].as_str().unwrap())).unwrap();
        let codec = codec_from_config(&case["config"]).unwrap();
        let ours = codec.encode(&orig).unwrap();
        assert!(ours == want, "{name}: our frame differs from numcodecs'");
        let mut again = Vec::new();
        codec.encode_into(&orig, &mut again).unwrap();
        assert!(again == want, "{name}: encode_into differs from numcodecs'");
        n += 1;
    }
    assert_eq!(n, 3, "levels 3, 9 and 19");
}

#[test]
fn numcodecs_codecs() {
    let mut n = 0;
    for case in cases().iter().filter(|c| c["kind"] == "codec") {
        let name = case["name"].as_str().unwrap();
        let config = &case["config"];
        let enc = std::fs::read(dir().join(case["encoded"].as_str().unwrap())).unwrap();
        let exp = Expect::load(&case["decoded"]);
        let mut codec = codec_from_config(config).unwrap_or_else(|e| panic!("{name}: {e}"));
        // config round trip, and the same JSON numcodecs wrote
        assert_eq!(
            &codec.config(),
            config,
            "{name}: config differs from numcodecs' get_config()"
        );
        assert_eq!(
            codec_from_config(&codec.config()).unwrap().config(),
            codec.config(),
            "{name}"
        );

        let got = codec
            .decode(&enc, exp.len())
            .unwrap_or_else(|e| panic!("{name}: decode: {e}"));
        exp.check(name, "decode", &got);
        let mut out = vec![0u8; exp.len()];
        let w = codec
            .decode_into(&enc, &mut out)
            .unwrap_or_else(|e| panic!("{name}: decode_into: {e}"));
        assert_eq!(w, exp.len(), "{name}");
        exp.check(name, "decode_into", &out);
        if exp.len() > 0 {
            let e = codec.decode(&enc, exp.len() - 1).expect_err(name);
            assert!(is_too_large(&e), "{name}: small max_len gave {e}");
            let mut short = vec![0u8; exp.len() - 1];
            assert!(
                codec.decode_into(&enc, &mut short).is_err(),
                "{name}: short buffer accepted"
            );
        }
        let mut long = vec![0u8; exp.len() + 8];
        assert!(
            codec.decode_into(&enc, &mut long).is_err(),
            "{name}: long buffer accepted"
        );

        // our encoder, then our decoder, gives what numcodecs decodes
        if let Some(orig) = case.get("original").filter(|o| !o.is_null()) {
            let Expect::Bytes(orig) = Expect::load(orig) else {
                continue;
            };
            codec.set_typesize(case["itemsize"].as_u64().unwrap_or(1) as usize);
            if let Some((dt, en)) = case_dtype(case) {
                codec.set_dtype(&dt, en);
            }
            let ours = codec
                .encode(&orig)
                .unwrap_or_else(|e| panic!("{name}: encode: {e}"));
            let id = config["id"].as_str().unwrap();
            if EXACT_ENCODE.contains(&id) && !name.contains("two_streams") && !name.contains("junk")
            {
                assert!(ours == enc, "{name}: our encoding differs from numcodecs'");
            }
            let back = codec
                .decode(&ours, exp.len())
                .unwrap_or_else(|e| panic!("{name}: decode ours: {e}"));
            exp.check(name, "decode(our encode)", &back);
        }
        n += 1;
    }
    assert!(n > 150, "only {n} codec fixtures");
}

#[test]
fn zarr_pipelines() {
    let mut n = 0;
    for case in cases().iter().filter(|c| c["kind"] == "pipeline") {
        let name = case["name"].as_str().unwrap();
        let cfg = &case["config"];
        let enc = std::fs::read(dir().join(case["encoded"].as_str().unwrap())).unwrap();
        let Expect::Bytes(exp) = Expect::load(&case["decoded"]) else {
            panic!()
        };
        let mut p = Pipeline::from_zarr_json(&cfg["compressor"], &cfg["filters"]).unwrap();
        p.set_itemsize(case["itemsize"].as_u64().unwrap() as usize);
        if let Some((dt, en)) = case_dtype(case) {
            p.set_dtype(&dt, en);
        }
        assert_eq!(&p.compressor_json(), &cfg["compressor"], "{name}");
        assert_eq!(&p.filters_json(), &cfg["filters"], "{name}");
        assert_eq!(p.decode(&enc, exp.len()).unwrap(), exp, "{name}");
        assert!(p.decode(&enc, exp.len() + 1).is_err(), "{name}");
        assert!(p.decode(&enc, exp.len() - 1).is_err(), "{name}");
        let Expect::Bytes(orig) = Expect::load(&case["original"]) else {
            panic!()
        };
        let ours = p.encode(&orig).unwrap();
        assert_eq!(
            p.decode(&ours, exp.len()).unwrap(),
            exp,
            "{name}: our encoding"
        );
        n += 1;
    }
    assert!(n >= 5);
}

fn hex4(s: &str) -> [u8; 4] {
    let b: Vec<u8> = (0..4)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    [b[0], b[1], b[2], b[3]]
}

#[test]
fn asdf_blocks() {
    let mut n = 0;
    for case in cases().iter().filter(|c| c["kind"] == "asdf") {
        let name = case["name"].as_str().unwrap();
        let comp = hex4(case["compression"].as_str().unwrap());
        let enc = std::fs::read(dir().join(case["encoded"].as_str().unwrap())).unwrap();
        let exp = Expect::load(&case["decoded"]);
        let got = nd_codecs::asdf::decode(&comp, &enc, exp.len())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        exp.check(name, "asdf decode", &got);
        let e = nd_codecs::asdf::decode(&comp, &enc, exp.len() - 1).expect_err(name);
        assert!(is_too_large(&e), "{name}: {e}");
        let ours = nd_codecs::asdf::encode(&comp, &got).unwrap();
        exp.check(
            name,
            "asdf decode(our encode)",
            &nd_codecs::asdf::decode(&comp, &ours, exp.len()).unwrap(),
        );
        n += 1;
    }
    assert!(n >= 10, "{n}");
}

#[test]
fn asdf_lz4_chunks_are_4mib() {
    // python asdf splits lz4 input in 4 MiB chunks; the 5 MiB fixture has two.
    let enc = std::fs::read(dir().join("enc/asdf_lz4_big5m.bin")).unwrap();
    let first = u32::from_be_bytes(enc[0..4].try_into().unwrap()) as usize;
    let usize0 = u32::from_le_bytes(enc[4..8].try_into().unwrap()) as usize;
    assert_eq!(usize0, 4 << 20);
    assert!(enc.len() > first + 8);
    let ours = nd_codecs::lz4::encode_asdf(&vec![7u8; (5 << 20) + 3]).unwrap();
    let first = u32::from_be_bytes(ours[0..4].try_into().unwrap()) as usize;
    assert_eq!(u32::from_le_bytes(ours[4..8].try_into().unwrap()), 4 << 20);
    let second = u32::from_le_bytes(ours[first + 8..first + 12].try_into().unwrap());
    assert_eq!(second as usize, (1 << 20) + 3);
}

#[test]
fn checksum_mismatch_is_a_typed_error() {
    let mut n = 0;
    for case in cases().iter().filter(|c| c["kind"] == "codec") {
        let id = case["config"]["id"].as_str().unwrap();
        if !["crc32", "adler32", "fletcher32"].contains(&id) {
            continue;
        }
        let name = case["name"].as_str().unwrap();
        let enc = std::fs::read(dir().join(case["encoded"].as_str().unwrap())).unwrap();
        let codec = codec_from_config(&case["config"]).unwrap();
        // flip one bit of the payload, then one of the stored checksum
        let payload_at = if enc.len() > 4 {
            if case["config"]["location"] == "end" || id == "fletcher32" {
                0
            } else {
                4
            }
        } else {
            continue;
        };
        let checksum_at = if payload_at == 4 { 0 } else { enc.len() - 1 };
        for at in [payload_at, checksum_at] {
            let mut bad = enc.clone();
            bad[at] ^= 0x10;
            let e = codec.decode(&bad, enc.len()).expect_err(name);
            assert!(
                matches!(e, Error::Checksum { codec, .. } if codec == id),
                "{name}: {e}"
            );
            assert!(e.to_string().contains(id), "{name}: {e}");
            let mut out = vec![0u8; enc.len() - 4];
            assert!(matches!(
                codec.decode_into(&bad, &mut out),
                Err(Error::Checksum { .. })
            ));
        }
        assert!(codec.decode(&enc[..3], 100).is_err(), "{name}: 3 bytes");
        n += 1;
    }
    assert!(n >= 8, "{n}");
}

#[test]
fn bitround_big_endian_rounds_like_little_endian() {
    // numcodecs refuses big-endian floats; nd rounds them as the same values in little-endian
    for case in cases().iter().filter(|c| c["config"]["id"] == "bitround") {
        let name = case["name"].as_str().unwrap();
        let Expect::Bytes(orig) = Expect::load(&case["original"]) else {
            panic!()
        };
        let enc = std::fs::read(dir().join(case["encoded"].as_str().unwrap())).unwrap();
        let (dt, _) = case_dtype(case).unwrap();
        let size = dt.size();
        let swap = |b: &[u8]| -> Vec<u8> {
            b.chunks_exact(size)
                .flat_map(|c| c.iter().rev().copied().collect::<Vec<_>>())
                .collect()
        };
        let mut c = codec_from_config(&case["config"]).unwrap();
        c.set_dtype(&dt, nd_core::Endian::Big);
        assert_eq!(c.encode(&swap(&orig)).unwrap(), swap(&enc), "{name}");
    }
}

#[test]
fn bitround_needs_a_float_dtype() {
    let mut c = codec_from_config(&serde_json::json!({"id": "bitround", "keepbits": 3})).unwrap();
    assert!(c.encode(&[0u8; 8]).is_err(), "unknown dtype");
    c.set_dtype(&nd_core::DataType::Int32, nd_core::Endian::Little);
    assert!(matches!(c.encode(&[0u8; 8]), Err(Error::Unsupported(_))));
    c.set_dtype(&nd_core::DataType::Float16, nd_core::Endian::Little);
    assert!(c.encode(&[0u8; 8]).is_ok());
    let mut c = codec_from_config(&serde_json::json!({"id": "bitround", "keepbits": 11})).unwrap();
    c.set_dtype(&nd_core::DataType::Float16, nd_core::Endian::Little);
    assert!(
        c.encode(&[0u8; 8]).is_err(),
        "keepbits above the mantissa width"
    );
    assert!(codec_from_config(&serde_json::json!({"id": "bitround", "keepbits": -1})).is_err());
}
