//! Entry points for the cargo-fuzz targets (`fuzz/fuzz_targets/codec_*.rs`) and the corpus replay
//! tests (`tests/fuzz_corpus.rs`). Each function must never panic, whatever the input; what decodes
//! is encoded again and must decode to the same bytes.

use crate::{codec_from_config, Codec, Pipeline};
use serde_json::json;

/// Output limit used while fuzzing.
const LIMIT: usize = 1 << 22;

fn check_roundtrip(c: &dyn Codec, decoded: &[u8]) {
    if let Ok(enc) = c.encode(decoded) {
        let back = c.decode(&enc, decoded.len());
        assert!(
            back.as_deref().ok() == Some(decoded),
            "{} round trip",
            c.config()
        );
    }
}

/// Decode `data` with `c` both ways (`decode` and `decode_into`) and round-trip what decodes.
fn decode_both(c: &dyn Codec, data: &[u8]) {
    if let Ok(v) = c.decode(data, LIMIT) {
        let mut out = vec![0u8; v.len()];
        let n = c.decode_into(data, &mut out);
        assert!(n.is_ok() && out == v, "{}: decode_into disagrees", c.id());
        if !v.is_empty() {
            assert!(
                c.decode(data, v.len() - 1).is_err(),
                "{}: limit ignored",
                c.id()
            );
        }
        check_roundtrip(c, &v);
    }
}

/// Blosc buffers.
pub fn blosc(data: &[u8]) {
    let c = crate::blosc::Blosc::from_config(&json!({"id": "blosc", "cname": "lz4"}));
    if let Ok(c) = c {
        decode_both(&c, data);
    }
    let _ = crate::blosc::Header::parse(data);
}

/// zstd frames (with and without content sizes, several frames).
pub fn zstd(data: &[u8]) {
    decode_both(
        &crate::Zstd {
            level: 1,
            checksum: false,
        },
        data,
    );
}

/// zlib and gzip streams.
pub fn zlib(data: &[u8]) {
    decode_both(&crate::Zlib { level: 1 }, data);
    decode_both(&crate::Gzip { level: 1 }, data);
}

/// bzip2 streams.
pub fn bz2(data: &[u8]) {
    decode_both(&crate::Bz2 { level: 1 }, data);
}

/// LZ4: numcodecs framing, python asdf's chunked framing, the frame format, and a raw block
/// whose size is taken from the first two bytes.
pub fn lz4(data: &[u8]) {
    decode_both(&crate::lz4::Lz4 { acceleration: 1 }, data);
    if let Ok(v) = crate::lz4::decode_asdf(data, LIMIT) {
        let enc = crate::lz4::encode_asdf(&v).ok();
        let back = enc.and_then(|e| crate::lz4::decode_asdf(&e, v.len()).ok());
        assert!(back.as_deref() == Some(&v[..]), "asdf lz4 round trip");
    }
    if let Ok(v) = crate::lz4::decode_frame(data, LIMIT) {
        let enc = crate::lz4::encode_frame(&v).ok();
        let back = enc.and_then(|e| crate::lz4::decode_frame(&e, v.len()).ok());
        assert!(back.as_deref() == Some(&v[..]), "lz4 frame round trip");
    }
    if let [a, b, rest @ ..] = data {
        let mut out = vec![0u8; u16::from_le_bytes([*a, *b]) as usize];
        let _ = crate::lz4::decompress_block(rest, &mut out);
    }
}

/// lzma (xz, .lzma and auto formats) and the checksum codecs (crc32, adler32 at either end,
/// fletcher32) on the same bytes; bitround decoding (the identity).
pub fn lzma(data: &[u8]) {
    for format in [1, 2, 0] {
        if let Ok(c) = crate::lzma::Lzma::from_config(&json!({"id": "lzma", "format": format})) {
            decode_both(&c, data);
        }
    }
    for cfg in [
        json!({"id": "crc32"}),
        json!({"id": "adler32", "location": "end"}),
        json!({"id": "fletcher32"}),
        json!({"id": "bitround", "keepbits": 3}),
    ] {
        if let Ok(c) = codec_from_config(&cfg) {
            decode_both(c.as_ref(), data);
        }
    }
}

/// The numcodecs codecs added for Zarr v2 completeness on the same bytes: base64, pcodec, lzma
/// raw filter chains, and the object codecs (vlen-utf8, vlen-bytes, json2) with the item count
/// the bytes claim.
pub fn more(data: &[u8]) {
    for cfg in [
        json!({"id": "base64"}),
        json!({"id": "pcodec"}),
        json!({"id": "lzma", "format": 3, "filters": [{"id": 3, "dist": 2}, {"id": 33, "preset": 1}]}),
        json!({"id": "lzma", "format": 3, "filters": [{"id": 4}, {"id": 0x4000_0000_0000_0001u64}]}),
    ] {
        if let Ok(c) = codec_from_config(&cfg) {
            decode_both(c.as_ref(), data);
        }
    }
    let claimed = data
        .get(..4)
        .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize); // ok: 4 bytes
    for c in [
        crate::object::ObjectCodec::VlenUtf8,
        crate::object::ObjectCodec::VlenBytes,
        crate::object::ObjectCodec::Json2,
    ] {
        for n in [claimed, 1, 4] {
            if let Ok(items) = c.decode(data, n) {
                assert_eq!(items.len(), n, "{}: item count", c.id());
                let total: usize = items.iter().map(Vec::len).sum();
                assert!(
                    total <= data.len(),
                    "{}: items larger than the input",
                    c.id()
                );
            }
        }
    }
}

/// Configs the pipeline target chooses from.
fn pipeline_configs() -> Vec<(serde_json::Value, serde_json::Value)> {
    let null = serde_json::Value::Null;
    vec![
        (
            json!({"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1, "blocksize": 0}),
            null.clone(),
        ),
        (
            json!({"id": "blosc", "cname": "zstd", "clevel": 5, "shuffle": 2, "blocksize": 0}),
            json!([{"id": "delta", "dtype": "<i4", "astype": "<i2"}]),
        ),
        (
            json!({"id": "zlib", "level": 1}),
            json!([{"id": "fixedscaleoffset", "offset": 10, "scale": 100, "dtype": "<f8", "astype": "<u2"}]),
        ),
        (
            json!({"id": "zstd", "level": 1}),
            json!([{"id": "quantize", "digits": 2, "dtype": "<f8"}, {"id": "shuffle", "elementsize": 8}]),
        ),
        (
            null.clone(),
            json!([{"id": "astype", "encode_dtype": "<f4", "decode_dtype": "<f8"}]),
        ),
        (
            json!({"id": "lz4", "acceleration": 1}),
            json!([{"id": "packbits"}]),
        ),
        (
            json!({"id": "gzip", "level": 1}),
            json!([{"id": "categorize", "labels": ["a", "bb"], "dtype": "<U2", "astype": "|u1"}]),
        ),
        (
            json!({"id": "bz2", "level": 1}),
            json!([{"id": "delta", "dtype": ">u2"}]),
        ),
        (json!({"id": "zlib", "level": 1}), json!([{"id": "crc32"}])),
        (
            json!({"id": "zstd", "level": 1}),
            json!([{"id": "bitround", "keepbits": 6}]),
        ),
        (
            json!({"id": "lzma", "preset": 1}),
            json!([{"id": "adler32", "location": "end"}]),
        ),
        (json!({"id": "fletcher32"}), null.clone()),
    ]
}

/// A Zarr pipeline: byte 0 chooses the config, bytes 1–2 (LE) the decoded length; the rest is
/// the stored chunk. Also decodes the chunk as an ASDF block with the id chosen by byte 0.
pub fn pipeline(data: &[u8]) {
    let [sel, l0, l1, chunk @ ..] = data else {
        return;
    };
    let configs = pipeline_configs();
    let (comp, filters) = &configs[*sel as usize % configs.len()]; // ok: modulo the length
    let len = u16::from_le_bytes([*l0, *l1]) as usize;
    if let Ok(p) = Pipeline::from_zarr_json(comp, filters) {
        if let Ok(v) = p.decode(chunk, len) {
            assert_eq!(v.len(), len, "pipeline size");
        }
        let _ = p.encode(chunk);
    }
    let ids: [&[u8; 4]; 8] = [
        b"\0\0\0\0",
        b"zlib",
        b"bzp2",
        b"lz4\0",
        b"lz4f",
        b"zstd",
        b"blsc",
        b"bls2",
    ];
    let id = ids[*sel as usize % ids.len()]; // ok: modulo the length
    if let Ok(v) = crate::asdf::decode(id, chunk, LIMIT) {
        assert!(v.len() <= LIMIT);
    }
    // every config also parses and reports itself consistently
    if let Some(c) = filters.as_array().and_then(|f| f.first()) {
        if let Ok(codec) = codec_from_config(c) {
            let _ = codec_from_config(&codec.config());
        }
    }
}
