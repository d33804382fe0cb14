//! Property tests: every codec and filter round-trips what it encodes (exactly for lossless ones,
//! within the documented error for lossy filters), and refuses a too-small output limit.

use nd_codecs::{codec_from_config, Codec, Error, Pipeline};
use proptest::prelude::*;
use serde_json::json;

fn cfg() -> ProptestConfig {
    ProptestConfig {
        cases: 24,
        ..ProptestConfig::default()
    }
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..max),
        // compressible: runs of a few values
        prop::collection::vec((0u8..4, 1usize..64), 0..64).prop_map(|runs| runs
            .into_iter()
            .flat_map(|(b, n)| std::iter::repeat_n(b, n))
            .collect()),
    ]
}

fn roundtrip(c: &dyn Codec, data: &[u8]) {
    let enc = c
        .encode(data)
        .unwrap_or_else(|e| panic!("{}: encode: {e}", c.id()));
    let dec = c
        .decode(&enc, data.len())
        .unwrap_or_else(|e| panic!("{}: decode: {e}", c.id()));
    assert_eq!(dec, data, "{}", c.config());
    let mut out = vec![0u8; data.len()];
    c.decode_into(&enc, &mut out).unwrap();
    assert_eq!(out, data);
    if !data.is_empty() {
        let e = c.decode(&enc, data.len() - 1).unwrap_err();
        assert!(matches!(e, Error::TooLarge { .. }), "{}: {e}", c.config());
    }
}

fn compressors() -> Vec<Box<dyn Codec>> {
    let mut v = vec![
        json!({"id": "zlib", "level": 1}),
        json!({"id": "zlib", "level": 9}),
        json!({"id": "gzip", "level": 5}),
        json!({"id": "bz2", "level": 1}),
        json!({"id": "zstd", "level": 1}),
        json!({"id": "zstd", "level": -3, "checksum": true}),
        json!({"id": "lz4", "acceleration": 1}),
        json!({"id": "lzma", "preset": 1}),
        json!({"id": "lzma", "format": 2, "preset": 0}),
        json!({"id": "lzma", "format": 1, "check": 10, "preset": 0}),
        json!({"id": "crc32"}),
        json!({"id": "adler32", "location": "end"}),
        json!({"id": "fletcher32"}),
    ];
    for cname in nd_codecs::blosc::CNAMES {
        for shuffle in [-1, 0, 1, 2] {
            v.push(json!({"id": "blosc", "cname": cname, "clevel": 5, "shuffle": shuffle, "blocksize": 0}));
        }
        v.push(json!({"id": "blosc", "cname": cname, "clevel": 9, "shuffle": 1, "blocksize": 256}));
    }
    v.iter().map(|c| codec_from_config(c).unwrap()).collect()
}

proptest! {
    #![proptest_config(cfg())]

    #[test]
    fn compressors_roundtrip(data in bytes(4096), typesize in prop::sample::select(vec![1usize, 2, 4, 8])) {
        for mut c in compressors() {
            c.set_typesize(typesize);
            roundtrip(c.as_ref(), &data);
        }
    }

    #[test]
    fn lz4_framings(data in bytes(4096)) {
        use nd_codecs::lz4;
        prop_assert_eq!(lz4::decode_numcodecs(&lz4::encode_numcodecs(&data).unwrap(), data.len()).unwrap(), data.clone());
        prop_assert_eq!(lz4::decode_asdf(&lz4::encode_asdf(&data).unwrap(), data.len()).unwrap(), data.clone());
        prop_assert_eq!(lz4::decode_frame(&lz4::encode_frame(&data).unwrap(), data.len()).unwrap(), data.clone());
        if !data.is_empty() {
            prop_assert!(lz4::decode_asdf(&lz4::encode_asdf(&data).unwrap(), data.len() - 1).is_err());
            prop_assert!(lz4::decode_frame(&lz4::encode_frame(&data).unwrap(), data.len() - 1).is_err());
        }
    }

    #[test]
    fn asdf_ids(data in bytes(4096)) {
        for id in [b"\0\0\0\0", b"zlib", b"bzp2", b"lz4\0", b"lz4b", b"lz4f", b"zstd", b"blsc"] {
            let enc = nd_codecs::asdf::encode(id, &data).unwrap();
            prop_assert_eq!(nd_codecs::asdf::decode(id, &enc, data.len()).unwrap(), data.clone());
            if !data.is_empty() {
                let e = nd_codecs::asdf::decode(id, &enc, data.len() - 1).unwrap_err();
                prop_assert!(matches!(e, Error::TooLarge { .. }), "{:?}: {}", id, e);
            }
        }
    }

    #[test]
    fn shuffle_roundtrip(es in 1usize..17, n in 0usize..300, seed in any::<u64>()) {
        let data: Vec<u8> = (0..es * n).map(|i| (i as u64).wrapping_mul(seed | 1).to_le_bytes()[3]).collect();
        let c = codec_from_config(&json!({"id": "shuffle", "elementsize": es})).unwrap();
        roundtrip(c.as_ref(), &data);
    }

    #[test]
    fn delta_integers_exact(values in prop::collection::vec(any::<i64>(), 1..300),
                            ty in prop::sample::select(vec!["<i4", "<u2", "|u1", ">i8", "<i2", ">u4"])) {
        let size: usize = ty[2..].parse().unwrap();
        let data: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()[..size].to_vec()).collect();
        let c = codec_from_config(&json!({"id": "delta", "dtype": ty})).unwrap();
        roundtrip(c.as_ref(), &data);
    }

    #[test]
    fn fixedscaleoffset_error_bound(values in prop::collection::vec(0.0f64..600.0, 1..300)) {
        let c = codec_from_config(&json!({"id": "fixedscaleoffset", "offset": 0, "scale": 100, "dtype": "<f8", "astype": "<u2"})).unwrap();
        let data: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let enc = c.encode(&data).unwrap();
        prop_assert_eq!(enc.len(), values.len() * 2);
        prop_assert_eq!(c.encoded_len(data.len()), enc.len());
        let dec = c.decode(&enc, data.len()).unwrap();
        for (x, y) in values.iter().zip(dec.chunks_exact(8)) {
            let y = f64::from_le_bytes(y.try_into().unwrap());
            prop_assert!((x - y).abs() <= 0.005 + 1e-9, "{} -> {}", x, y);
        }
    }

    #[test]
    fn quantize_error_bound(values in prop::collection::vec(-1e3f64..1e3, 1..300), digits in 1i64..6) {
        let c = codec_from_config(&json!({"id": "quantize", "digits": digits, "dtype": "<f8"})).unwrap();
        let data: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let dec = c.decode(&c.encode(&data).unwrap(), data.len()).unwrap();
        for (x, y) in values.iter().zip(dec.chunks_exact(8)) {
            let y = f64::from_le_bytes(y.try_into().unwrap());
            prop_assert!((x - y).abs() <= 10f64.powi(-(digits as i32)), "{} -> {}", x, y);
        }
    }

    #[test]
    fn astype_widening_exact(values in prop::collection::vec(any::<f32>().prop_filter("not nan", |f| !f.is_nan()), 0..300)) {
        let c = codec_from_config(&json!({"id": "astype", "encode_dtype": "<f8", "decode_dtype": "<f4"})).unwrap();
        let data: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        roundtrip(c.as_ref(), &data);
    }

    #[test]
    fn bitround_is_round_half_even_on_the_mantissa(
        values in prop::collection::vec(prop_oneof![1e-30f32..1e30, -1e30f32..-1e-30], 1..200),
        keepbits in 0u32..23,
    ) {
        let mut c = codec_from_config(&json!({"id": "bitround", "keepbits": keepbits})).unwrap();
        c.set_dtype(&nd_core::DataType::Float32, nd_core::Endian::Little);
        let data: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let enc = c.encode(&data).unwrap();
        prop_assert_eq!(c.decode(&enc, enc.len()).unwrap(), enc.clone());
        for (x, y) in values.iter().zip(enc.chunks_exact(4)) {
            let y = f32::from_le_bytes(y.try_into().unwrap());
            // the spacing of floats with keepbits mantissa bits in x's binade
            let e = (x.abs() as f64).log2().floor() as i32;
            let e = if 2f64.powi(e + 1) <= x.abs() as f64 { e + 1 } else if 2f64.powi(e) > x.abs() as f64 { e - 1 } else { e };
            let ulp = 2f64.powi(e - keepbits as i32);
            let want = ((*x as f64) / ulp).round_ties_even() * ulp;
            prop_assert_eq!(y as f64, want, "x={} keepbits={}", x, keepbits);
        }
    }

    #[test]
    fn checksums_detect_any_single_bit_flip(data in bytes(512), bit in any::<usize>()) {
        for cfg in [json!({"id": "crc32"}), json!({"id": "adler32"}), json!({"id": "fletcher32"})] {
            let c = codec_from_config(&cfg).unwrap();
            let mut enc = c.encode(&data).unwrap();
            prop_assert_eq!(enc.len(), data.len() + 4);
            let b = bit % (enc.len() * 8);
            enc[b / 8] ^= 1 << (b % 8);
            let r = c.decode(&enc, data.len());
            // a flip changes the sum by ±2^k, never 0 modulo 65521 / 65535: always detected
            prop_assert!(matches!(r, Err(Error::Checksum { .. })), "{}", cfg);
        }
    }

    #[test]
    fn packbits_roundtrip(bits in prop::collection::vec(0u8..2, 0..300)) {
        let c = codec_from_config(&json!({"id": "packbits"})).unwrap();
        let enc = c.encode(&bits).unwrap();
        prop_assert_eq!(enc.len(), c.encoded_len(bits.len()));
        prop_assert_eq!(c.decode(&enc, bits.len()).unwrap(), bits);
    }

    #[test]
    fn categorize_roundtrip(idx in prop::collection::vec(0usize..4, 0..100)) {
        let labels = ["", "ab", "ƒöö", "wxyz"];
        let c = codec_from_config(&json!({"id": "categorize", "labels": ["ab", "ƒöö", "wxyz"], "dtype": "<U4", "astype": "|u1"})).unwrap();
        let mut data = Vec::new();
        for &i in &idx {
            let mut item = [0u8; 16];
            for (k, ch) in labels[i].chars().enumerate() {
                item[4 * k..4 * k + 4].copy_from_slice(&(ch as u32).to_le_bytes());
            }
            data.extend_from_slice(&item);
        }
        let enc = c.encode(&data).unwrap();
        prop_assert_eq!(enc.iter().map(|&b| b as usize).collect::<Vec<_>>(), idx.clone());
        prop_assert_eq!(c.decode(&enc, data.len()).unwrap(), data);
    }

    #[test]
    fn pipeline_roundtrip(values in prop::collection::vec(-30000i32..30000, 0..2000)) {
        let mut p = Pipeline::from_zarr_json(
            &json!({"id": "blosc", "cname": "zstd", "clevel": 3, "shuffle": -1, "blocksize": 0}),
            &json!([{"id": "delta", "dtype": "<i4", "astype": "<i4"}, {"id": "shuffle", "elementsize": 4}]),
        ).unwrap();
        p.set_itemsize(4);
        let data: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let enc = p.encode(&data).unwrap();
        prop_assert_eq!(p.decode(&enc, data.len()).unwrap(), data.clone());
        prop_assert!(p.decode(&enc, data.len() + 4).is_err());
    }
}
