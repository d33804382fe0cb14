//! The stream compressors: zlib, gzip, bz2 and zstd, as numcodecs configures them.

use crate::zstd_encoder::ZstdEncoder;
use crate::{cfg_i64, Codec, Error, Result};
use serde_json::{json, Value};
use std::io::Read;

/// Read all of `r` into a new vector, refusing more than `max_len` bytes.
pub(crate) fn read_bounded<R: Read>(
    codec: &'static str,
    r: R,
    max_len: usize,
    size_hint: usize,
) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(size_hint.min(max_len));
    let limit = (max_len as u64).saturating_add(1);
    r.take(limit)
        .read_to_end(&mut out)
        .map_err(|e| Error::corrupt(codec, e.to_string()))?;
    crate::check_limit(codec, out.len(), max_len)?;
    Ok(out)
}

/// Read `r` into exactly `out`: fewer bytes is `WrongSize`, more is `TooLarge`.
pub(crate) fn read_exact_into<R: Read>(
    codec: &'static str,
    mut r: R,
    out: &mut [u8],
) -> Result<usize> {
    let mut filled = 0;
    while filled < out.len() {
        match r.read(&mut out[filled..]) {
            Ok(0) => {
                return Err(Error::WrongSize {
                    codec: codec.to_string(),
                    expected: out.len(),
                    actual: filled,
                })
            }
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::corrupt(codec, e.to_string())),
        }
    }
    let mut one = [0u8; 1];
    loop {
        match r.read(&mut one) {
            Ok(0) => return Ok(filled),
            Ok(_) => {
                return Err(Error::TooLarge {
                    codec,
                    limit: out.len(),
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::corrupt(codec, e.to_string())),
        }
    }
}

/// Read all of the encoder `r` (fed `data`) into a new vector.
fn encode_with<R: Read>(codec: &'static str, data: &[u8], mut r: R) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len() / 2 + 64);
    r.read_to_end(&mut out).map_err(|e| Error::Encode {
        codec,
        reason: e.to_string(),
    })?;
    Ok(out)
}

fn level_in(codec: &str, level: i64, lo: i64, hi: i64) -> Result<i64> {
    if (lo..=hi).contains(&level) {
        Ok(level)
    } else {
        Err(Error::Config(format!(
            "{codec}: level {level} is outside {lo}..={hi}"
        )))
    }
}

/// numcodecs `Zlib`: a zlib stream (RFC 1950). Data after the end of the stream is ignored, as
/// Python's `zlib.decompress` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zlib {
    /// Compression level 0..=9.
    pub level: u32,
}

impl Zlib {
    /// From `{"id": "zlib", "level": 1}`.
    pub fn from_config(v: &Value) -> Result<Self> {
        let level = level_in("zlib", cfg_i64(v, "level", 1)?, -1, 9)?;
        Ok(Zlib {
            level: if level < 0 { 6 } else { level as u32 },
        })
    }

    /// Decode a zlib stream, bounded by `max_len`.
    pub fn decode_stream(data: &[u8], max_len: usize) -> Result<Vec<u8>> {
        read_bounded(
            "zlib",
            flate2::bufread::ZlibDecoder::new(data),
            max_len,
            data.len().saturating_mul(4),
        )
    }

    /// Encode a zlib stream at `level`.
    pub fn encode_stream(data: &[u8], level: u32) -> Result<Vec<u8>> {
        let level = flate2::Compression::new(level.min(9));
        encode_with("zlib", data, flate2::bufread::ZlibEncoder::new(data, level))
    }
}

impl Codec for Zlib {
    fn id(&self) -> &str {
        "zlib"
    }
    fn config(&self) -> Value {
        json!({"id": "zlib", "level": self.level})
    }
    fn encode(&self, data: &[u8]) -> Result<Vec<u8>> {
        Zlib::encode_stream(data, self.level)
    }
    fn decode(&self, data: &[u8], max_len: usize) -> Result<Vec<u8>> {
        Zlib::decode_stream(data, max_len)
    }
    fn decode_into(&self, data: &[u8], out: &mut [u8]) -> Result<usize> {
        read_exact_into("zlib", flate2::bufread::ZlibDecoder::new(data), out)
    }
}

/// numcodecs `GZip`: a gzip file (RFC 1952); several members are decoded one after another,
/// as Python's `gzip` module does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gzip {
    /// Compression level 0..=9, or -1: zlib's default (`Z_DEFAULT_COMPRESSION`, level 6), which
    /// Python's `GzipFile` and so numcodecs accept.
    pub level: i32,
}

impl Gzip {
    /// From `{"id": "gzip", "level": 1}` (`level` -1..=9, as zlib accepts).
    pub fn from_config(v: &Value) -> Result<Self> {
        let level = level_in("gzip", cfg_i64(v, "level", 1)?, -1, 9)?;
        Ok(Gzip {
            level: level as i32,
        })
    }
}

impl Codec for Gzip {
    fn id(&self) -> &str {
        "gzip"
    }
    fn config(&self) -> Value {
        json!({"id": "gzip", "level": self.level})
    }
    fn encode(&self, data: &[u8]) -> Result<Vec<u8>> {
        // -1 is zlib's Z_DEFAULT_COMPRESSION, level 6
        let level = flate2::Compression::new(u32::try_from(self.level).unwrap_or(6).min(9));
        encode_with(
            "gzip",
            data,
            flate2::GzBuilder::new().mtime(0).buf_read(data, level),
        )
    }
    fn decode(&self, data: &[u8], max_len: usize) -> Result<Vec<u8>> {
        read_bounded(
            "gzip",
            flate2::bufread::MultiGzDecoder::new(data),
            max_len,
            data.len().saturating_mul(4),
        )
    }
    fn decode_into(&self, data: &[u8], out: &mut [u8]) -> Result<usize> {
        read_exact_into("gzip", flate2::bufread::MultiGzDecoder::new(data), out)
    }
}

/// numcodecs `BZ2`: a bzip2 stream; several concatenated streams are decoded one after another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bz2 {
    /// Compression level 1..=9.
    pub level: u32,
}

impl Bz2 {
    /// From `{"id": "bz2", "level": 1}`.
    pub fn from_config(v: &Value) -> Result<Self> {
        let level = level_in("bz2", cfg_i64(v, "level", 1)?, 1, 9)?;
        Ok(Bz2 {
            level: level as u32,
        })
    }

    /// Decode bzip2 streams, bounded by `max_len`.
    pub fn decode_stream(data: &[u8], max_len: usize) -> Result<Vec<u8>> {
        read_bounded(
            "bz2",
            bzip2::bufread::MultiBzDecoder::new(data),
            max_len,
            data.len().saturating_mul(4),
        )
    }

    /// Encode one bzip2 stream at `level`.
    pub fn encode_stream(data: &[u8], level: u32) -> Result<Vec<u8>> {
        let level = bzip2::Compression::new(level.clamp(1, 9));
        encode_with("bz2", data, bzip2::bufread::BzEncoder::new(data, level))
    }
}

impl Codec for Bz2 {
    fn id(&self) -> &str {
        "bz2"
    }
    fn config(&self) -> Value {
        json!({"id": "bz2", "level": self.level})
    }
    fn encode(&self, data: &[u8]) -> Result<Vec<u8>> {
        Bz2::encode_stream(data, self.level)
    }
    fn decode(&self, data: &[u8], max_len: usize) -> Result<Vec<u8>> {
        Bz2::decode_stream(data, max_len)
    }
    fn decode_into(&self, data: &[u8], out: &mut [u8]) -> Result<usize> {
        read_exact_into("bz2", bzip2::bufread::MultiBzDecoder::new(data), out)
    }
}

/// zstd's fastest level (`ZSTD_minCLevel()`, -131072).
const ZSTD_MIN_LEVEL: i64 = -(1 << 17);
/// zstd's strongest level (`ZSTD_maxCLevel()`).
const ZSTD_MAX_LEVEL: i64 = 22;

/// numcodecs `Zstd`: one or more zstd frames, with or without the content size in their headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zstd {
    /// Compression level as configured (0 means zstd's default, 3). Any integer: as numcodecs
    /// (the zstd library), encoding clamps it to -131072..=22; decoding does not use it.
    pub level: i64,
    /// Whether frames carry a content checksum.
    pub checksum: bool,
}

impl Zstd {
    /// From `{"id": "zstd", "level": 0, "checksum": false}`.
    pub fn from_config(v: &Value) -> Result<Self> {
        let level = cfg_i64(v, "level", 0)?;
        let checksum = match v.get("checksum") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(x) => return Err(Error::Config(format!("zstd: bad checksum {x}"))),
        };
        Ok(Zstd { level, checksum })
    }

    /// Total content size when every frame states it; `Ok(None)` when one does not.
    fn known_size(data: &[u8]) -> Result<Option<u64>> {
        let mut rest = data;
        let mut total: u64 = 0;
        while !rest.is_empty() {
            let size = match zstd::zstd_safe::get_frame_content_size(rest) {
                Ok(Some(n)) => n,
                Ok(None) => return Ok(None),
                Err(_) => return Err(Error::corrupt("zstd", "bad frame header")),
            };
            let flen = zstd::zstd_safe::find_frame_compressed_size(rest)
                .map_err(|_| Error::corrupt("zstd", "truncated or corrupt frame"))?;
            if flen == 0 || flen > rest.len() {
                return Err(Error::corrupt("zstd", "bad frame length"));
            }
            total = total.saturating_add(size);
            rest = &rest[flen..];
        }
        Ok(Some(total))
    }

    /// Decode zstd frames, bounded by `max_len`.
    pub fn decode_frames(data: &[u8], max_len: usize) -> Result<Vec<u8>> {
        if data.is_empty() {
            return Err(Error::corrupt("zstd", "empty input"));
        }
        match Zstd::known_size(data)? {
            Some(n) if n > max_len as u64 => Err(Error::TooLarge {
                codec: "zstd",
                limit: max_len,
            }),
            Some(n) => {
                let mut out = vec![0u8; n as usize];
                let got = Zstd::bulk_into(data, &mut out)?;
                out.truncate(got);
                Ok(out)
            }
            None => {
                let dec = Zstd::stream_decoder(data, max_len)?;
                read_bounded("zstd", dec, max_len, data.len().saturating_mul(4))
            }
        }
    }

    /// A streaming decoder for frames without a content size. Its window (the memory it
    /// allocates) is limited to 8 MiB (what zstd level 19 uses) or the next power of two above
    /// `max_len`, whichever is larger: a frame asking for more is refused.
    fn stream_decoder(
        data: &[u8],
        max_len: usize,
    ) -> Result<zstd::stream::read::Decoder<'_, &[u8]>> {
        let err = |e: std::io::Error| Error::corrupt("zstd", e.to_string());
        let mut dec = zstd::stream::read::Decoder::with_buffer(data).map_err(err)?;
        let need = usize::BITS - max_len.saturating_sub(1).leading_zeros();
        dec.window_log_max(need.clamp(23, 31)).map_err(err)?;
        Ok(dec)
    }

    fn bulk_into(data: &[u8], out: &mut [u8]) -> Result<usize> {
        let mut d =
            zstd::bulk::Decompressor::new().map_err(|e| Error::corrupt("zstd", e.to_string()))?;
        d.decompress_to_buffer(data, out).map_err(|e| {
            let msg = e.to_string();
            if msg.contains("too small") {
                Error::TooLarge {
                    codec: "zstd",
                    limit: out.len(),
                }
            } else {
                Error::corrupt("zstd", msg)
            }
        })
    }

    /// Encode one zstd frame with the content size.
    pub fn encode_frame(data: &[u8], level: i32, checksum: bool) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        Zstd::encode_frame_into(data, level, checksum, &mut out)?;
        Ok(out)
    }

    /// Encode one zstd frame with the content size into `out` (replacing its contents, reusing
    /// its allocation): numcodecs' frame (spec-notes/codecs.md, "zstd"). The compression context
    /// is kept per thread and reused from call to call (what `ZSTD_compress2` does with a fresh
    /// context, without allocating and initialising one per chunk); the frame is the same as
    /// with a fresh context.
    pub fn encode_frame_into(
        data: &[u8],
        level: i32,
        checksum: bool,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let err = |e: std::io::Error| Error::Encode {
            codec: "zstd",
            reason: e.to_string(),
        };
        let cached = ZSTD_ENCODER.try_with(|slot| {
            let mut slot = slot.borrow_mut();
            let enc = match slot.take() {
                Some(enc) if enc.settings() == (level, checksum) => enc,
                _ => ZstdEncoder::new(level, checksum)?,
            };
            let enc = slot.insert(enc);
            enc.compress_into(data, out)
        });
        match cached {
            Ok(r) => r.map_err(err),
            // the thread is exiting (no thread-local storage): a one-off context
            Err(_) => ZstdEncoder::new(level, checksum)
                .and_then(|mut enc| enc.compress_into(data, out))
                .map_err(err),
        }
    }
}

thread_local! {
    /// The zstd compression context of this thread (see [`Zstd::encode_frame_into`]).
    static ZSTD_ENCODER: std::cell::RefCell<Option<ZstdEncoder>> =
        const { std::cell::RefCell::new(None) };
}

impl Codec for Zstd {
    fn id(&self) -> &str {
        "zstd"
    }
    fn config(&self) -> Value {
        json!({"id": "zstd", "level": self.level, "checksum": self.checksum})
    }
    fn encode(&self, data: &[u8]) -> Result<Vec<u8>> {
        // the zstd library clamps levels outside its range, numcodecs passes any level through
        let level = self.level.clamp(ZSTD_MIN_LEVEL, ZSTD_MAX_LEVEL) as i32;
        Zstd::encode_frame(data, level, self.checksum)
    }
    fn encode_into(&self, data: &[u8], out: &mut Vec<u8>) -> Result<()> {
        let level = self.level.clamp(ZSTD_MIN_LEVEL, ZSTD_MAX_LEVEL) as i32;
        Zstd::encode_frame_into(data, level, self.checksum, out)
    }
    fn decode(&self, data: &[u8], max_len: usize) -> Result<Vec<u8>> {
        Zstd::decode_frames(data, max_len)
    }
    fn decode_into(&self, data: &[u8], out: &mut [u8]) -> Result<usize> {
        if data.is_empty() {
            return Err(Error::corrupt("zstd", "empty input"));
        }
        match Zstd::known_size(data)? {
            Some(n) if n > out.len() as u64 => Err(Error::TooLarge {
                codec: "zstd",
                limit: out.len(),
            }),
            Some(n) if n < out.len() as u64 => Err(Error::WrongSize {
                codec: "zstd".into(),
                expected: out.len(),
                actual: n as usize,
            }),
            Some(_) => Zstd::bulk_into(data, out),
            None => {
                let dec = Zstd::stream_decoder(data, out.len())?;
                read_exact_into("zstd", dec, out)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec_from_config;

    #[test]
    fn zstd_reused_context_gives_the_frames_of_a_fresh_one() {
        let data: Vec<u8> = (0..300_000u32)
            .flat_map(|i| ((i * 7919) % 1013).to_le_bytes())
            .collect();
        let mut out = vec![0xAA; 17]; // old contents are replaced
                                      // levels and checksum flags in turn on one thread: the kept context follows them
        for (level, checksum) in [(3, false), (1, true), (3, false), (19, false), (-5, true)] {
            let mut want = Vec::new();
            ZstdEncoder::new(level, checksum)
                .unwrap()
                .compress_into(
                    &data[..data.len() - level.unsigned_abs() as usize],
                    &mut want,
                )
                .unwrap();
            Zstd::encode_frame_into(
                &data[..data.len() - level.unsigned_abs() as usize],
                level,
                checksum,
                &mut out,
            )
            .unwrap();
            assert_eq!(out, want, "level {level}, checksum {checksum}");
            let back = Zstd::decode_frames(&out, data.len()).unwrap();
            assert_eq!(back, &data[..data.len() - level.unsigned_abs() as usize]);
        }
        let c = Zstd {
            level: 3,
            checksum: false,
        };
        let mut via_trait = Vec::new();
        c.encode_into(&data, &mut via_trait).unwrap();
        assert_eq!(via_trait, c.encode(&data).unwrap());
    }

    #[test]
    fn levels_numcodecs_accepts() {
        let data: Vec<u8> = (0..4000u32).flat_map(|i| (i % 91).to_le_bytes()).collect();
        // gzip -1 is zlib's default; zstd levels outside -131072..=22 are clamped when encoding
        for cfg in [
            json!({"id": "gzip", "level": -1}),
            json!({"id": "zstd", "level": 100, "checksum": false}),
            json!({"id": "zstd", "level": -200000, "checksum": true}),
            json!({"id": "zstd", "level": i64::MIN, "checksum": false}),
        ] {
            let c = codec_from_config(&cfg).unwrap();
            assert_eq!(c.config(), cfg);
            let enc = c.encode(&data).unwrap();
            assert_eq!(c.decode(&enc, data.len()).unwrap(), data, "{cfg}");
        }
        assert!(codec_from_config(&json!({"id": "gzip", "level": 10})).is_err());
        assert!(codec_from_config(&json!({"id": "gzip", "level": -2})).is_err());
    }
}
