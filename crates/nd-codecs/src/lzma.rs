//! numcodecs `LZMA` (`{"id": "lzma", "format": 1, "check": -1, "preset": null, "filters": null}`):
//! Python's `lzma.compress` / `lzma.decompress`, through liblzma (built from source, statically).
//!
//! - `format`: 1 `FORMAT_XZ` (the default), 2 `FORMAT_ALONE` (.lzma), 0 `FORMAT_AUTO` (decode
//!   only: xz or .lzma, as Python's auto decoder); 3 `FORMAT_RAW` needs a filter chain and is not
//!   supported, nor is any non-null `filters`.
//! - `check` (xz only): -1 the format's default (CRC64), 0 none, 1 CRC32, 4 CRC64, 10 SHA-256.
//! - `preset`: 0..=9, optionally with `PRESET_EXTREME` (`0x80000000`); null is 6.
//!
//! Decoding follows `lzma.decompress`: concatenated streams are decoded one after another; after
//! the first stream, bytes that are not a valid stream are ignored, but a truncated stream is an
//! error. A later stream that goes past the output limit is decoded on without storing (at most
//! 1 GiB) to find out whether it is valid (then `TooLarge`) or junk (ignored, as Python does). Output beyond `max_len` is [`Error::TooLarge`]; the decoder's memory is limited to
//! max(96 MiB, `max_len` + 1 MiB) (a preset-9 stream needs 65 MiB).

use crate::{Codec, Error, Result};
use liblzma::stream::{Action, Check, LzmaOptions, Status, Stream};
use serde_json::{json, Value};

/// `lzma.PRESET_EXTREME`.
pub const PRESET_EXTREME: u32 = 0x8000_0000;

/// numcodecs `LZMA`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lzma {
    /// Container: 0 auto (decode only), 1 xz, 2 alone.
    pub format: i64,
    /// Integrity check code (-1 default).
    pub check: i64,
    /// Preset (level | `PRESET_EXTREME`), `None` for the default 6.
    pub preset: Option<u32>,
}

impl Default for Lzma {
    fn default() -> Self {
        Lzma {
            format: 1,
            check: -1,
            preset: None,
        }
    }
}

fn lzma_err(e: liblzma::stream::Error) -> Error {
    use liblzma::stream::Error as E;
    let what = match e {
        E::Data => "corrupt data",
        E::Options => "invalid or unsupported options",
        E::Format => "not an xz/lzma stream",
        E::MemLimit => "the stream needs more memory than the limit",
        E::Mem => "out of memory",
        E::Program => "internal error",
        E::NoCheck => "no integrity check",
        E::UnsupportedCheck => "unsupported integrity check",
    };
    Error::corrupt("lzma", what)
}

/// Where decoded bytes go: a caller's exact buffer, or a vector grown up to a limit.
enum Sink<'a> {
    Fixed(&'a mut [u8]),
    Growing(&'a mut Vec<u8>, usize),
}

impl Sink<'_> {
    fn buf(&mut self) -> &mut [u8] {
        match self {
            Sink::Fixed(b) => b,
            Sink::Growing(v, _) => v,
        }
    }
    fn limit(&self) -> usize {
        match self {
            Sink::Fixed(b) => b.len(),
            Sink::Growing(_, l) => *l,
        }
    }
    /// Make room beyond `pos`; false when the buffer is already at its limit.
    fn grow(&mut self) -> bool {
        match self {
            Sink::Fixed(_) => false,
            Sink::Growing(v, limit) => {
                if v.len() >= *limit {
                    return false;
                }
                let new = v.len().saturating_mul(2).max(64 << 10).min(*limit);
                v.resize(new, 0);
                true
            }
        }
    }
}

impl Lzma {
    /// From its numcodecs config.
    pub fn from_config(v: &Value) -> Result<Self> {
        let int = |key: &str, default: i64| -> Result<i64> {
            match v.get(key) {
                None | Some(Value::Null) => Ok(default),
                Some(x) => x.as_i64().ok_or_else(|| {
                    Error::Config(format!("lzma: {key:?} must be an integer, got {x}"))
                }),
            }
        };
        let format = int("format", 1)?;
        let check = int("check", -1)?;
        let preset = match v.get("preset") {
            None | Some(Value::Null) => None,
            Some(x) => {
                let p = x
                    .as_u64()
                    .and_then(|p| u32::try_from(p).ok())
                    .filter(|p| p & !PRESET_EXTREME <= 9)
                    .ok_or_else(|| Error::Config(format!("lzma: invalid preset {x}")))?;
                Some(p)
            }
        };
        match v.get("filters") {
            None | Some(Value::Null) => {}
            Some(f) => {
                return Err(Error::Unsupported(format!(
                    "lzma: custom filter chains ({f})"
                )))
            }
        }
        if !matches!(format, 0..=2) {
            return Err(Error::Unsupported(format!(
                "lzma: format {format} (FORMAT_RAW needs a filter chain)"
            )));
        }
        if !matches!(check, -1 | 0 | 1 | 4 | 10) {
            return Err(Error::Config(format!("lzma: invalid check {check}")));
        }
        if format == 2 && !matches!(check, -1 | 0) {
            return Err(Error::Config(
                "lzma: FORMAT_ALONE has no integrity check".into(),
            ));
        }
        Ok(Lzma {
            format,
            check,
            preset,
        })
    }

    fn decoder(&self, memlimit: u64) -> Result<Stream> {
        match self.format {
            0 => Stream::new_auto_decoder(memlimit, 0),
            2 => Stream::new_lzma_decoder(memlimit),
            _ => Stream::new_stream_decoder(memlimit, 0),
        }
        .map_err(lzma_err)
    }

    /// Decode one stream from `input` into `sink` from `*pos`. Returns the input bytes used.
    ///
    /// When the sink is full: the first stream must end without another byte (else `TooLarge`);
    /// a later stream is decoded on without storing, up to [`DISCARD_MAX`] bytes, because Python
    /// ignores it if it turns out invalid: an error then (which the caller ignores), `TooLarge`
    /// if it is a valid stream.
    fn one_stream(
        &self,
        input: &[u8],
        sink: &mut Sink,
        pos: &mut usize,
        first: bool,
    ) -> Result<usize> {
        let memlimit = (sink.limit() as u64).saturating_add(1 << 20).max(96 << 20);
        let mut s = self.decoder(memlimit)?;
        let mut used = 0usize;
        let mut scratch: Vec<u8> = Vec::new();
        let mut discarded = 0usize;
        let too_large = |limit| Error::TooLarge {
            codec: "lzma",
            limit,
        };
        loop {
            let full = *pos == sink.buf().len() && !sink.grow();
            if full && scratch.is_empty() {
                scratch = vec![0u8; if first { 1 } else { 64 << 10 }];
            }
            let (i0, o0) = (s.total_in(), s.total_out());
            let st = if full {
                s.process(&input[used..], &mut scratch, Action::Run)
            } else {
                s.process(&input[used..], &mut sink.buf()[*pos..], Action::Run)
            }
            .map_err(lzma_err)?;
            used += (s.total_in() - i0) as usize;
            let produced = (s.total_out() - o0) as usize;
            if full {
                discarded += produced;
                if discarded > 0 && (first || discarded > DISCARD_MAX) {
                    return Err(too_large(sink.limit()));
                }
            } else {
                *pos += produced;
            }
            match st {
                Status::StreamEnd if discarded > 0 => return Err(too_large(sink.limit())),
                Status::StreamEnd => return Ok(used),
                _ if s.total_in() == i0 && produced == 0 => return Err(truncated()),
                _ => {}
            }
        }
    }

    /// Python's `lzma.decompress` loop over concatenated streams.
    fn decode_sink(&self, data: &[u8], sink: &mut Sink) -> Result<usize> {
        let mut pos = 0usize;
        let mut rest = data;
        let mut first = true;
        loop {
            let start = pos;
            match self.one_stream(rest, sink, &mut pos, first) {
                Ok(used) => {
                    rest = rest.get(used..).unwrap_or(&[]);
                }
                // after the first stream, what is not a valid stream is ignored
                Err(Error::Corrupt { reason, .. }) if !first && reason != TRUNCATED => {
                    pos = start;
                    break;
                }
                Err(e) => return Err(e),
            }
            first = false;
            if rest.is_empty() {
                break;
            }
        }
        Ok(pos)
    }

    /// Encode with liblzma: an xz stream (format 1) or a .lzma file (format 2).
    pub fn encode_stream(&self, data: &[u8]) -> Result<Vec<u8>> {
        let err = |e| Error::Encode {
            codec: "lzma",
            reason: format!("{e:?}"),
        };
        let preset = self.preset.unwrap_or(6);
        let mut s = match self.format {
            1 => {
                let check = match self.check {
                    0 => Check::None,
                    1 => Check::Crc32,
                    10 => Check::Sha256,
                    _ => Check::Crc64,
                };
                Stream::new_easy_encoder(preset, check).map_err(err)?
            }
            2 => Stream::new_lzma_encoder(&LzmaOptions::new_preset(preset).map_err(err)?)
                .map_err(err)?,
            f => {
                return Err(Error::Unsupported(format!(
                    "lzma: encoding with format {f} (Python refuses it too)"
                )))
            }
        };
        let mut out = Vec::with_capacity(data.len() / 2 + 128);
        let mut used = 0usize;
        loop {
            if out.len() == out.capacity() {
                out.reserve(out.capacity().max(4096));
            }
            let i0 = s.total_in();
            let st = s
                .process_vec(&data[used..], &mut out, Action::Finish)
                .map_err(err)?;
            used += (s.total_in() - i0) as usize;
            if st == Status::StreamEnd {
                return Ok(out);
            }
        }
    }
}

/// The most a later stream is decoded past the output limit to find out whether it is valid.
const DISCARD_MAX: usize = 1 << 30;

const TRUNCATED: &str = "compressed data ended before the end-of-stream marker";

fn truncated() -> Error {
    Error::corrupt("lzma", TRUNCATED)
}

impl Codec for Lzma {
    fn id(&self) -> &str {
        "lzma"
    }
    fn config(&self) -> Value {
        json!({"id": "lzma", "format": self.format, "check": self.check,
               "preset": self.preset, "filters": null})
    }
    fn encode(&self, data: &[u8]) -> Result<Vec<u8>> {
        self.encode_stream(data)
    }
    fn decode(&self, data: &[u8], max_len: usize) -> Result<Vec<u8>> {
        let first = data.len().saturating_mul(4).clamp(64 << 10, 16 << 20);
        let mut v = vec![0u8; first.min(max_len)];
        let n = self.decode_sink(data, &mut Sink::Growing(&mut v, max_len))?;
        v.truncate(n);
        Ok(v)
    }
    fn decode_into(&self, data: &[u8], out: &mut [u8]) -> Result<usize> {
        let len = out.len();
        let n = self.decode_sink(data, &mut Sink::Fixed(out))?;
        crate::check_size("lzma", len, n)?;
        Ok(n)
    }
}
