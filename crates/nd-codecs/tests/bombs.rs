//! Hostile inputs: stated sizes far beyond the limit are refused before allocation, truncated and
//! inconsistent headers are typed errors.

use nd_codecs::{blosc, codec_from_config, lz4, Error, Zstd};
use serde_json::json;

fn too_large<T: std::fmt::Debug>(r: nd_codecs::Result<T>) -> bool {
    matches!(r, Err(Error::TooLarge { .. }))
}

#[test]
fn blosc_headers() {
    let good = blosc::compress(&[5u8; 4000], "lz4", 5, 1, 2, 0).unwrap();
    assert_eq!(blosc::decompress(&good, 4000).unwrap(), vec![5u8; 4000]);
    // nbytes claims 2 GiB
    let mut h = good.clone();
    h[4..8].copy_from_slice(&0x7fff_0000u32.to_le_bytes());
    assert!(too_large(blosc::decompress(&h, 1 << 20)));
    // cbytes larger than the data
    let mut h = good.clone();
    let c = (good.len() as u32 + 1).to_le_bytes();
    h[12..16].copy_from_slice(&c);
    assert!(matches!(
        blosc::decompress(&h, 4000),
        Err(Error::Corrupt { .. })
    ));
    // truncated: cbytes now exceeds what is there
    assert!(blosc::decompress(&good[..good.len() - 1], 4000).is_err());
    assert!(blosc::decompress(&good[..10], 4000).is_err());
    // unknown version, zero blocksize
    let mut h = good.clone();
    h[0] = 9;
    assert!(blosc::decompress(&h, 4000).is_err());
    let mut h = good.clone();
    h[8..12].copy_from_slice(&0u32.to_le_bytes());
    assert!(blosc::decompress(&h, 4000).is_err());
    // trailing bytes after cbytes are ignored, as numcodecs does
    let mut t = good.clone();
    t.extend_from_slice(b"junk");
    assert_eq!(blosc::decompress(&t, 4000).unwrap(), vec![5u8; 4000]);
    // every corruption of one byte gives an answer, never a crash
    for i in 0..good.len() {
        for v in [0u8, 0xff, good[i] ^ 0x10] {
            let mut b = good.clone();
            b[i] = v;
            let _ = blosc::decompress(&b, 4000);
        }
    }
}

#[test]
fn lz4_sizes() {
    let mut b = vec![0xff, 0xff, 0xff, 0xff];
    b.extend_from_slice(&lz4::compress_block(b"hello"));
    assert!(too_large(lz4::decode_numcodecs(&b, 1 << 20)));
    // within max_len but impossible for the block length
    let mut b = (1u32 << 20).to_le_bytes().to_vec();
    b.extend_from_slice(&[0x10, b'a']);
    assert!(matches!(
        lz4::decode_numcodecs(&b, 1 << 30),
        Err(Error::Corrupt { .. })
    ));
    // asdf chunk whose length runs past the end
    let mut a = lz4::encode_asdf(&[1u8; 1000]).unwrap();
    a[3] = a[3].wrapping_add(1);
    assert!(lz4::decode_asdf(&a, 1000).is_err());
    assert!(lz4::decode_asdf(&[0, 0], 1000).is_err());
}

#[test]
fn zstd_claimed_size() {
    let mut f = Zstd::encode_frame(&[0u8; 1000], 1, false).unwrap();
    assert_eq!(Zstd::decode_frames(&f, 1000).unwrap().len(), 1000);
    assert!(too_large(Zstd::decode_frames(&f, 999)));
    // 64 MiB of zeros is a few KiB of zstd: refused by its stated size
    let big = zstd::bulk::compress(&vec![0u8; 64 << 20], 1).unwrap();
    assert!(big.len() < 64 << 10);
    assert!(too_large(Zstd::decode_frames(&big, 1 << 20)));
    f.truncate(f.len() - 3);
    assert!(Zstd::decode_frames(&f, 1000).is_err());
    assert!(Zstd::decode_frames(&[], 1000).is_err());
}

#[test]
fn streams_without_sizes_are_bounded() {
    let zeros = vec![0u8; 1 << 20];
    for cfg in [
        json!({"id": "zlib", "level": 9}),
        json!({"id": "gzip", "level": 9}),
        json!({"id": "bz2", "level": 9}),
    ] {
        let c = codec_from_config(&cfg).unwrap();
        let enc = c.encode(&zeros).unwrap();
        assert!(enc.len() < 16 << 10, "{cfg}");
        assert!(too_large(c.decode(&enc, 1 << 16)), "{cfg}");
    }
    let f = lz4::encode_frame(&zeros).unwrap();
    assert!(too_large(lz4::decode_frame(&f, 1 << 16)));
}

#[test]
fn bad_configs() {
    for cfg in [
        json!({"id": "nope"}),
        json!({"level": 1}),
        json!([1]),
        json!({"id": "blosc", "cname": "brotli"}),
        json!({"id": "blosc", "shuffle": 7}),
        json!({"id": "zlib", "level": 42}),
        json!({"id": "delta"}),
        json!({"id": "delta", "dtype": "<c16"}),
        json!({"id": "quantize", "digits": 2, "dtype": "<i4"}),
        json!({"id": "categorize", "labels": ["a"], "dtype": "|O"}),
    ] {
        assert!(codec_from_config(&cfg).is_err(), "{cfg}");
    }
    let p = nd_codecs::Pipeline::from_zarr_json(&json!("zlib"), &json!(null));
    assert!(p.is_err());
}

#[test]
fn lzma_bounds() {
    let xz = codec_from_config(&json!({"id": "lzma", "preset": 0})).unwrap();
    let zeros = vec![0u8; 8 << 20];
    let enc = xz.encode(&zeros).unwrap();
    assert!(enc.len() < 8 << 10, "{}", enc.len());
    assert!(too_large(xz.decode(&enc, 1 << 20)));
    let mut small = vec![0u8; 1 << 20];
    assert!(too_large(xz.decode_into(&enc, &mut small)));
    let mut big = vec![0u8; (8 << 20) + 1];
    assert!(matches!(
        xz.decode_into(&enc, &mut big),
        Err(Error::WrongSize { .. })
    ));
    assert_eq!(xz.decode(&enc, 8 << 20).unwrap(), zeros);
    // truncated, empty, and junk before a stream
    let short = xz.encode(b"hello hello hello").unwrap();
    for cut in [0, 1, 12, short.len() - 1] {
        assert!(xz.decode(&short[..cut], 100).is_err(), "cut {cut}");
    }
    let mut junk = b"junk".to_vec();
    junk.extend_from_slice(&short);
    assert!(xz.decode(&junk, 100).is_err());
    // a second stream cut short is an error (Python: "Compressed data ended before ..."),
    // a second one that is not a stream is ignored
    let mut two = short.clone();
    two.extend_from_slice(&short[..short.len() - 3]);
    assert!(xz.decode(&two, 100).is_err());
    let mut tail = short.clone();
    tail.extend_from_slice(b"\0\0\0\0 trailing");
    assert_eq!(xz.decode(&tail, 100).unwrap(), b"hello hello hello");
    // every one-byte corruption gives an answer, never a crash
    for i in 0..short.len() {
        let mut b = short.clone();
        b[i] ^= 0x41;
        let _ = xz.decode(&b, 100);
    }
    // a .lzma header asking for a 1 GiB dictionary is refused by the memory limit
    let alone = codec_from_config(&json!({"id": "lzma", "format": 2, "preset": 0})).unwrap();
    let mut a = alone.encode(b"hello hello hello").unwrap();
    a[1..5].copy_from_slice(&(1u32 << 30).to_le_bytes());
    assert!(matches!(alone.decode(&a, 100), Err(Error::Corrupt { .. })));
}
