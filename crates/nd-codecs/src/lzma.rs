//! numcodecs `LZMA` (`{"id": "lzma", "format": 1, "check": -1, "preset": null, "filters": null}`):
//! Python's `lzma.compress` / `lzma.decompress`, through liblzma (built from source, statically).
//!
//! - `format`: 1 `FORMAT_XZ` (the default), 2 `FORMAT_ALONE` (.lzma), 0 `FORMAT_AUTO` (decode
//!   only: xz or .lzma, as Python's auto decoder), 3 `FORMAT_RAW` (a bare filter chain; needs
//!   `filters`).
//! - `filters`: Python's filter specs, a list of `{"id": ..., options}`: delta (`dist`), the BCJ
//!   filters x86, powerpc, ia64, arm, armthumb, sparc, arm64, riscv (`start_offset`), and last
//!   lzma1 or lzma2 (`preset`, `dict_size`, `lc`, `lp`, `pb`, `mode`, `nice_len`, `mf`, `depth`).
//!   Decoding a raw stream needs them; an xz stream names its own chain (Python refuses filters
//!   with a non-raw format on decode; nd decodes the stream). Encoding uses them for xz and raw.
//! - `check` (xz only): -1 the format's default (CRC64), 0 none, 1 CRC32, 4 CRC64, 10 SHA-256.
//! - `preset`: 0..=9, optionally with `PRESET_EXTREME` (`0x80000000`); null is 6.
//!
//! Decoding follows `lzma.decompress`: concatenated streams are decoded one after another; after
//! the first stream, bytes that are not a valid stream are ignored, but a truncated stream is an
//! error. A later stream that goes past the output limit is decoded on without storing (at most
//! 1 GiB) to find out whether it is valid (then `TooLarge`) or junk (ignored, as Python does). Output beyond `max_len` is [`Error::TooLarge`]; the decoder's memory is limited to
//! max(96 MiB, `max_len` + 1 MiB) (a preset-9 stream needs 65 MiB).

use crate::{Codec, Error, Result};
use liblzma::stream::{Action, Check, Filters, LzmaOptions, MatchFinder, Mode, Status, Stream};
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
    /// The `filters` list as configured (`None` for null), checked by [`Lzma::from_config`].
    pub filters: Option<Vec<FilterSpec>>,
}

impl Default for Lzma {
    fn default() -> Self {
        Lzma {
            format: 1,
            check: -1,
            preset: None,
            filters: None,
        }
    }
}

/// Python's `lzma.FILTER_LZMA1`.
pub const FILTER_LZMA1: u64 = 0x4000_0000_0000_0001;
/// Python's `lzma.FILTER_LZMA2`.
pub const FILTER_LZMA2: u64 = 0x21;
/// Python's `lzma.FILTER_DELTA`.
pub const FILTER_DELTA: u64 = 0x03;

/// One entry of a numcodecs/Python lzma filter chain: its id and options, as written in the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterSpec {
    /// The filter id (`FILTER_DELTA`, `FILTER_X86` 4 ... `FILTER_RISCV` 11, `FILTER_LZMA1`, `FILTER_LZMA2`).
    pub id: u64,
    /// The spec object as written (`{"id": 3, "dist": 4}`).
    pub spec: Value,
}

impl FilterSpec {
    fn opt_u32(&self, key: &str) -> Result<Option<u32>> {
        match self.spec.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(x) => x
                .as_u64()
                .and_then(|v| u32::try_from(v).ok())
                .map(Some)
                .ok_or_else(|| Error::Config(format!("lzma filter: '{key}' {x} is not a u32"))),
        }
    }

    fn parse(v: &Value) -> Result<FilterSpec> {
        let id = v
            .get("id")
            .and_then(Value::as_u64)
            .ok_or_else(|| Error::Config(format!("lzma filter without an integer \"id\": {v}")))?;
        if !v.is_object() {
            return Err(Error::Config(format!("lzma filter {v} is not an object")));
        }
        let f = FilterSpec {
            id,
            spec: v.clone(),
        };
        match id {
            FILTER_DELTA => {
                let d = f.opt_u32("dist")?.unwrap_or(1);
                if !(1..=256).contains(&d) {
                    return Err(Error::Config(format!(
                        "lzma delta: dist {d} outside 1..=256"
                    )));
                }
            }
            4..=11 => {
                f.opt_u32("start_offset")?;
            }
            FILTER_LZMA1 | FILTER_LZMA2 => {
                f.lzma_options()?;
            }
            other => {
                return Err(Error::Unsupported(format!("lzma filter id {other:#x}")));
            }
        }
        Ok(f)
    }

    /// The LZMA options of an lzma1/lzma2 spec: the preset's (default 6), then each key given.
    fn lzma_options(&self) -> Result<LzmaOptions> {
        let preset = self.opt_u32("preset")?.unwrap_or(6);
        let mut o = LzmaOptions::new_preset(preset)
            .map_err(|_| Error::Config(format!("lzma filter: invalid preset {preset}")))?;
        if let Some(d) = self.opt_u32("dict_size")? {
            if d < 4096 {
                return Err(Error::Config(format!("lzma filter: dict_size {d} < 4096")));
            }
            o.dict_size(d);
        }
        let small = |key: &str, max: u32| -> Result<Option<u32>> {
            match self.opt_u32(key)? {
                Some(x) if x > max => Err(Error::Config(format!(
                    "lzma filter: '{key}' {x} is larger than {max}"
                ))),
                x => Ok(x),
            }
        };
        if let Some(x) = small("lc", 4)? {
            o.literal_context_bits(x);
        }
        if let Some(x) = small("lp", 4)? {
            o.literal_position_bits(x);
        }
        if let Some(x) = small("pb", 4)? {
            o.position_bits(x);
        }
        match self.opt_u32("mode")? {
            None => {}
            Some(1) => {
                o.mode(Mode::Fast);
            }
            Some(2) => {
                o.mode(Mode::Normal);
            }
            Some(m) => return Err(Error::Config(format!("lzma filter: mode {m}"))),
        }
        if let Some(x) = small("nice_len", 273)? {
            o.nice_len(x);
        }
        match self.opt_u32("mf")? {
            None => {}
            Some(m) => {
                let mf = match m {
                    0x03 => MatchFinder::HashChain3,
                    0x04 => MatchFinder::HashChain4,
                    0x12 => MatchFinder::BinaryTree2,
                    0x13 => MatchFinder::BinaryTree3,
                    0x14 => MatchFinder::BinaryTree4,
                    _ => return Err(Error::Config(format!("lzma filter: mf {m:#x}"))),
                };
                o.match_finder(mf);
            }
        }
        if let Some(x) = self.opt_u32("depth")? {
            o.depth(x);
        }
        Ok(o)
    }
}

/// The liblzma filter chain of `specs`. For decoding, `max_dict` caps the LZMA dictionary: no
/// match reaches further back than the output's start, so a dictionary as large as the output
/// decodes the same stream, and a config claiming a huge dictionary allocates no more.
fn build_filters(specs: &[FilterSpec], max_dict: Option<u32>) -> Result<Filters> {
    let mut f = Filters::new();
    let cfg = |e: liblzma::stream::Error| Error::Config(format!("lzma filter: {e}"));
    for s in specs {
        match s.id {
            FILTER_DELTA => {
                let d = s.opt_u32("dist")?.unwrap_or(1);
                // the property byte is dist - 1
                f.delta_properties(&[(d.clamp(1, 256) - 1) as u8])
                    .map_err(cfg)?;
            }
            FILTER_LZMA1 | FILTER_LZMA2 => {
                let mut o = s.lzma_options()?;
                if let Some(cap) = max_dict {
                    let want = s.opt_u32("dict_size")?.unwrap_or_else(|| {
                        // the preset's dictionary (1 MiB for preset 0 up to 64 MiB for 9)
                        let p = s.opt_u32("preset").ok().flatten().unwrap_or(6) & 0xf;
                        [
                            1u32 << 18,
                            1 << 20,
                            1 << 21,
                            1 << 22,
                            1 << 22,
                            1 << 23,
                            1 << 23,
                            1 << 24,
                            1 << 25,
                            1 << 26,
                        ]
                        .get(p as usize)
                        .copied()
                        .unwrap_or(1 << 26)
                    });
                    o.dict_size(want.min(cap.max(4096)));
                }
                if s.id == FILTER_LZMA1 {
                    f.lzma1(&o);
                } else {
                    f.lzma2(&o);
                }
            }
            bcj => {
                let props = s
                    .opt_u32("start_offset")?
                    .filter(|&o| o != 0)
                    .map(u32::to_le_bytes);
                let p: &[u8] = props.as_ref().map_or(&[], |p| p.as_slice());
                let r = match (bcj, p.is_empty()) {
                    (4, true) => Ok(f.x86()),
                    (4, false) => f.x86_properties(p),
                    (5, true) => Ok(f.powerpc()),
                    (5, false) => f.powerpc_properties(p),
                    (6, true) => Ok(f.ia64()),
                    (6, false) => f.ia64_properties(p),
                    (7, true) => Ok(f.arm()),
                    (7, false) => f.arm_properties(p),
                    (8, true) => Ok(f.arm_thumb()),
                    (8, false) => f.arm_thumb_properties(p),
                    (9, true) => Ok(f.sparc()),
                    (9, false) => f.sparc_properties(p),
                    (10, true) => Ok(f.arm64()),
                    (10, false) => f.arm64_properties(p),
                    (11, true) => Ok(f.riscv()),
                    (11, false) => f.riscv_properties(p),
                    (other, _) => {
                        return Err(Error::Unsupported(format!("lzma filter id {other:#x}")))
                    }
                };
                r.map_err(cfg)?;
            }
        }
    }
    Ok(f)
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
                    Error::Config(format!("lzma: '{key}' must be an integer, got {x}"))
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
        let filters = match v.get("filters") {
            None | Some(Value::Null) => None,
            Some(Value::Array(list)) => {
                let specs = list
                    .iter()
                    .map(FilterSpec::parse)
                    .collect::<Result<Vec<_>>>()?;
                match specs.last() {
                    Some(l) if matches!(l.id, FILTER_LZMA1 | FILTER_LZMA2) => {}
                    _ => {
                        return Err(Error::Config(
                            "lzma: a filter chain must end with lzma1 or lzma2".into(),
                        ))
                    }
                }
                if specs.len() > 4 {
                    return Err(Error::Config("lzma: more than 4 filters".into()));
                }
                Some(specs)
            }
            Some(f) => return Err(Error::Config(format!("lzma: filters {f} is not a list"))),
        };
        if preset.is_some() && filters.is_some() {
            return Err(Error::Config(
                "lzma: preset and filters are mutually exclusive (as in Python)".into(),
            ));
        }
        if !matches!(format, 0..=3) {
            return Err(Error::Config(format!("lzma: unknown format {format}")));
        }
        if format == 3 && filters.is_none() {
            return Err(Error::Config(
                "lzma: FORMAT_RAW needs a filter chain".into(),
            ));
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
            filters,
        })
    }

    /// A decoder; `out_limit` (the most output wanted) caps a raw chain's dictionary.
    fn decoder(&self, memlimit: u64, out_limit: usize) -> Result<Stream> {
        match self.format {
            0 => Stream::new_auto_decoder(memlimit, 0),
            2 => Stream::new_lzma_decoder(memlimit),
            3 => {
                let specs = self.filters.as_deref().unwrap_or(&[]);
                let cap = u32::try_from(out_limit).unwrap_or(u32::MAX);
                Stream::new_raw_decoder(&build_filters(specs, Some(cap))?)
            }
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
        let mut s = self.decoder(memlimit, sink.limit())?;
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
        let err = |e: liblzma::stream::Error| Error::Encode {
            codec: "lzma",
            reason: e.to_string(),
        };
        let preset = self.preset.unwrap_or(6);
        let check = match self.check {
            0 => Check::None,
            1 => Check::Crc32,
            10 => Check::Sha256,
            _ => Check::Crc64,
        };
        let mut s = match (self.format, &self.filters) {
            (1, Some(specs)) => {
                Stream::new_stream_encoder(&build_filters(specs, None)?, check).map_err(err)?
            }
            (3, Some(specs)) => {
                Stream::new_raw_encoder(&build_filters(specs, None)?).map_err(err)?
            }
            (1, None) => Stream::new_easy_encoder(preset, check).map_err(err)?,
            (2, None) => Stream::new_lzma_encoder(&LzmaOptions::new_preset(preset).map_err(err)?)
                .map_err(err)?,
            (f, _) => {
                return Err(Error::Unsupported(format!(
                    "lzma: encoding with format {f} and these filters"
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
        let filters = self
            .filters
            .as_ref()
            .map(|f| Value::Array(f.iter().map(|s| s.spec.clone()).collect()));
        json!({"id": "lzma", "format": self.format, "check": self.check,
               "preset": self.preset, "filters": filters})
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec_from_config;

    #[test]
    fn raw_filter_chains_round_trip_and_keep_their_config() {
        let data: Vec<u8> = (0..5000u32).flat_map(|i| (i * 7).to_le_bytes()).collect();
        for cfg in [
            json!({"id": "lzma", "format": 3, "check": -1, "preset": null,
                   "filters": [{"id": 3, "dist": 4}, {"id": 33, "preset": 1}]}),
            json!({"id": "lzma", "format": 1, "check": 0, "preset": null,
                   "filters": [{"id": 4, "start_offset": 16}, {"id": 33, "dict_size": 65536}]}),
            json!({"id": "lzma", "format": 3, "check": -1, "preset": null,
                   "filters": [{"id": FILTER_LZMA1, "lc": 0, "lp": 2, "pb": 2, "mf": 0x14}]}),
        ] {
            let c = codec_from_config(&cfg).unwrap();
            assert_eq!(c.config(), cfg);
            let enc = c.encode(&data).unwrap();
            assert_eq!(c.decode(&enc, data.len()).unwrap(), data, "{cfg}");
            assert!(matches!(
                c.decode(&enc, data.len() - 1),
                Err(Error::TooLarge { .. })
            ));
        }
        for bad in [
            json!({"id": "lzma", "format": 3}),
            json!({"id": "lzma", "format": 3, "filters": [{"id": 3}]}),
            json!({"id": "lzma", "format": 3, "filters": [{"id": 3, "dist": 300}, {"id": 33}]}),
            json!({"id": "lzma", "format": 3, "filters": [{"id": 33, "lc": 9}]}),
            json!({"id": "lzma", "format": 3, "filters": [{"id": 99}, {"id": 33}]}),
            json!({"id": "lzma", "format": 1, "preset": 1, "filters": [{"id": 33}]}),
        ] {
            assert!(codec_from_config(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_huge_claimed_dictionary_is_capped_by_the_output_size() {
        let cfg = json!({"id": "lzma", "format": 3,
                         "filters": [{"id": 33, "dict_size": 1_500_000_000u32}]});
        let c = codec_from_config(&cfg).unwrap();
        let small = json!({"id": "lzma", "format": 3, "filters": [{"id": 33, "preset": 0}]});
        let enc = codec_from_config(&small)
            .unwrap()
            .encode(b"hello hello hello")
            .unwrap();
        assert_eq!(c.decode(&enc, 17).unwrap(), b"hello hello hello");
    }
}
