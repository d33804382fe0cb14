//! numcodecs `PCodec` (`{"id": "pcodec", "level": 8, "mode_spec": "auto", "delta_spec": "auto",
//! "paging_spec": "equal_pages_up_to", "delta_encoding_order": null, "equal_pages_up_to":
//! 262144}`): Pcodec's *standalone* format (`pcodec.standalone.simple_compress`), through the
//! `pco` crate's standalone API.
//!
//! A standalone file is a header, then chunks (one per page here) each starting with the number
//! type byte (u16 7, u32 1, u64 2, i16 8, i32 3, i64 4, f16 9, f32 5, f64 6), then a termination
//! byte. Decoding takes the number type from the file and writes the numbers in native byte
//! order (what numcodecs returns for a native-order array). Every chunk states its count, which
//! is checked against the output limit before anything is allocated for it.
//!
//! Encoding needs the array's element type, which the config does not state (numcodecs takes it
//! from the array): [`crate::Codec::set_dtype`], called by [`crate::Pipeline::set_dtype`] when
//! the codec is the compressor of an array without filters.

use crate::{Codec, Error, Result};
use nd_core::{DataType, Endian};
use pco::data_types::Number;
use pco::standalone::{FileDecompressor, MaybeChunkDecompressor, NumberTypeOrTermination};
use pco::{ChunkConfig, DeltaSpec, ModeSpec, PagingSpec};
use serde_json::{json, Value};

/// numcodecs `PCodec`.
#[derive(Debug, Clone, PartialEq)]
pub struct PCodec {
    /// The config as given (kept for `config()`).
    config: Value,
    /// The chunk config for encoding.
    chunk: ChunkConfigSpec,
    /// The array's element type, when told ([`Codec::set_dtype`]).
    dtype: Option<DataType>,
}

#[derive(Debug, Clone, PartialEq)]
struct ChunkConfigSpec {
    level: usize,
    classic: bool,
    delta: DeltaSpec,
    pages_up_to: usize,
}

fn pco_err(e: pco::errors::PcoError) -> Error {
    Error::corrupt("pcodec", e.to_string())
}

impl PCodec {
    /// From its numcodecs config (missing keys take numcodecs' defaults).
    ///
    /// # Errors
    /// [`Error::Config`] for values numcodecs refuses (`mode_spec` other than auto/classic, a
    /// `delta_encoding_order` with a `delta_spec` other than auto/try_consecutive, ...).
    pub fn from_config(v: &Value) -> Result<Self> {
        let uint = |key: &str, default: u64| -> Result<u64> {
            match v.get(key) {
                None | Some(Value::Null) => Ok(default),
                Some(x) => x.as_u64().ok_or_else(|| {
                    Error::Config(format!(
                        "pcodec: '{key}' must be a non-negative integer, got {x}"
                    ))
                }),
            }
        };
        let text = |key: &str, default: &'static str| -> Result<String> {
            match v.get(key) {
                None | Some(Value::Null) => Ok(default.to_string()),
                Some(Value::String(s)) => Ok(s.clone()),
                Some(x) => Err(Error::Config(format!(
                    "pcodec: '{key}' must be a string, got {x}"
                ))),
            }
        };
        let level = uint("level", 8)?;
        if level > 12 {
            return Err(Error::Config(format!(
                "pcodec: level {level} is outside 0..=12"
            )));
        }
        let classic = match text("mode_spec", "auto")?.as_str() {
            "auto" => false,
            "classic" => true,
            other => return Err(Error::Config(format!("pcodec: mode_spec '{other}'"))),
        };
        let order = match v.get("delta_encoding_order") {
            None | Some(Value::Null) => None,
            Some(x) => Some(x.as_u64().filter(|&o| o <= 7).ok_or_else(|| {
                Error::Config(format!("pcodec: delta_encoding_order {x} is outside 0..=7"))
            })? as usize),
        };
        let delta = match (text("delta_spec", "auto")?.as_str(), order) {
            ("auto", None) => DeltaSpec::Auto,
            ("auto" | "try_consecutive", Some(o)) => DeltaSpec::TryConsecutive(o),
            ("try_consecutive", None) => {
                return Err(Error::Config(
                    "pcodec: delta_spec try_consecutive needs delta_encoding_order".into(),
                ))
            }
            ("none", None) => DeltaSpec::None,
            ("try_lookback", None) => DeltaSpec::TryLookback,
            (other, _) => {
                return Err(Error::Config(format!(
                    "pcodec: delta_spec '{other}' (with {})",
                    match order {
                        Some(o) => format!("delta_encoding_order {o}"),
                        None => "no delta_encoding_order".to_string(),
                    }
                )))
            }
        };
        match text("paging_spec", "equal_pages_up_to")?.as_str() {
            "equal_pages_up_to" => {}
            other => return Err(Error::Config(format!("pcodec: paging_spec '{other}'"))),
        }
        let pages_up_to = uint("equal_pages_up_to", 262_144)?;
        if pages_up_to == 0 {
            return Err(Error::Config(
                "pcodec: equal_pages_up_to must be positive".into(),
            ));
        }
        Ok(PCodec {
            config: v.clone(),
            chunk: ChunkConfigSpec {
                level: level as usize,
                classic,
                delta,
                pages_up_to: usize::try_from(pages_up_to).unwrap_or(usize::MAX),
            },
            dtype: None,
        })
    }

    fn chunk_config(&self) -> ChunkConfig {
        ChunkConfig::default()
            .with_compression_level(self.chunk.level)
            .with_mode_spec(if self.chunk.classic {
                ModeSpec::Classic
            } else {
                ModeSpec::Auto
            })
            .with_delta_spec(self.chunk.delta)
            .with_paging_spec(PagingSpec::EqualPagesUpTo(self.chunk.pages_up_to))
    }
}

/// Decode every chunk of a standalone file of `T`s, appending native bytes to `out`; at most
/// `max_len` bytes (a chunk's stated count is checked before it is decoded).
fn decode_typed<T: Number>(
    data: &[u8],
    max_len: usize,
    out: &mut Vec<u8>,
    to_ne: fn(&T, &mut Vec<u8>),
) -> Result<()> {
    let size = std::mem::size_of::<T>();
    let (fd, mut src) = FileDecompressor::new(data).map_err(pco_err)?;
    let mut nums: Vec<T> = Vec::new();
    loop {
        match fd.chunk_decompressor::<T, &[u8]>(src).map_err(pco_err)? {
            MaybeChunkDecompressor::Some(mut cd) => {
                let n = cd.n();
                let total = out.len().saturating_add(n.saturating_mul(size));
                crate::check_limit("pcodec", total, max_len)?;
                nums.clear();
                nums.resize(n, T::default());
                let p = cd.decompress(&mut nums).map_err(pco_err)?;
                if p.n_processed != n || !p.finished {
                    return Err(Error::corrupt("pcodec", "a chunk decoded short"));
                }
                out.reserve(n * size);
                for x in &nums {
                    to_ne(x, out);
                }
                src = cd.into_src();
            }
            MaybeChunkDecompressor::EndOfData(_) => return Ok(()),
        }
    }
}

fn encode_typed<T: Number>(
    data: &[u8],
    config: &ChunkConfig,
    from_ne: fn(&[u8]) -> T,
) -> Result<Vec<u8>> {
    let size = std::mem::size_of::<T>();
    if !data.len().is_multiple_of(size) {
        return Err(Error::Encode {
            codec: "pcodec",
            reason: format!(
                "{} bytes are not a whole number of {size}-byte items",
                data.len()
            ),
        });
    }
    let nums: Vec<T> = data.chunks_exact(size).map(from_ne).collect();
    pco::standalone::simple_compress(&nums, config).map_err(|e| Error::Encode {
        codec: "pcodec",
        reason: e.to_string(),
    })
}

macro_rules! ne {
    ($t:ty) => {
        (
            (|x: &$t, o: &mut Vec<u8>| o.extend_from_slice(&x.to_ne_bytes()))
                as fn(&$t, &mut Vec<u8>),
            (|b: &[u8]| <$t>::from_ne_bytes(b.try_into().unwrap_or_default())) as fn(&[u8]) -> $t,
        )
    };
}

impl Codec for PCodec {
    fn id(&self) -> &str {
        "pcodec"
    }
    fn config(&self) -> Value {
        let mut c = self.config.clone();
        if let Some(m) = c.as_object_mut() {
            m.insert("id".into(), json!("pcodec"));
        }
        c
    }
    fn set_dtype(&mut self, dtype: &DataType, _endian: Endian) {
        self.dtype = Some(dtype.clone());
    }
    fn encode(&self, data: &[u8]) -> Result<Vec<u8>> {
        let c = self.chunk_config();
        match &self.dtype {
            Some(DataType::UInt16) => encode_typed::<u16>(data, &c, ne!(u16).1),
            Some(DataType::UInt32) => encode_typed::<u32>(data, &c, ne!(u32).1),
            Some(DataType::UInt64) => encode_typed::<u64>(data, &c, ne!(u64).1),
            Some(DataType::Int16) => encode_typed::<i16>(data, &c, ne!(i16).1),
            Some(DataType::Int32) => encode_typed::<i32>(data, &c, ne!(i32).1),
            Some(DataType::Int64) => encode_typed::<i64>(data, &c, ne!(i64).1),
            Some(DataType::Float16) => encode_typed::<half::f16>(data, &c, ne!(half::f16).1),
            Some(DataType::Float32) => encode_typed::<f32>(data, &c, ne!(f32).1),
            Some(DataType::Float64) => encode_typed::<f64>(data, &c, ne!(f64).1),
            other => Err(Error::Unsupported(format!(
                "pcodec encodes u2/u4/u8/i2/i4/i8/f2/f4/f8 arrays, not {}",
                other
                    .as_ref()
                    .map_or("an unknown type".to_string(), ToString::to_string)
            ))),
        }
    }
    fn decode(&self, data: &[u8], max_len: usize) -> Result<Vec<u8>> {
        // pco 0.4 can panic on corrupt input (an integer overflow in debug builds, found by
        // fuzzing): contain it as corrupt data
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| decode_any(data, max_len)))
            .unwrap_or_else(|_| Err(Error::corrupt("pcodec", "the decoder failed on this data")))
    }
}

/// Decode a standalone file of any number type (see [`PCodec`]).
fn decode_any(data: &[u8], max_len: usize) -> Result<Vec<u8>> {
    let (fd, rest) = FileDecompressor::new(data).map_err(pco_err)?;
    let byte = match fd.peek_number_type_or_termination(rest).map_err(pco_err)? {
        NumberTypeOrTermination::Termination => return Ok(Vec::new()),
        t => u8::from(t),
    };
    let mut out = Vec::new();
    match byte {
        b if b == u16::NUMBER_TYPE_BYTE => decode_typed(data, max_len, &mut out, ne!(u16).0),
        b if b == u32::NUMBER_TYPE_BYTE => decode_typed(data, max_len, &mut out, ne!(u32).0),
        b if b == u64::NUMBER_TYPE_BYTE => decode_typed(data, max_len, &mut out, ne!(u64).0),
        b if b == i16::NUMBER_TYPE_BYTE => decode_typed(data, max_len, &mut out, ne!(i16).0),
        b if b == i32::NUMBER_TYPE_BYTE => decode_typed(data, max_len, &mut out, ne!(i32).0),
        b if b == i64::NUMBER_TYPE_BYTE => decode_typed(data, max_len, &mut out, ne!(i64).0),
        b if b == half::f16::NUMBER_TYPE_BYTE => {
            decode_typed(data, max_len, &mut out, ne!(half::f16).0)
        }
        b if b == f32::NUMBER_TYPE_BYTE => decode_typed(data, max_len, &mut out, ne!(f32).0),
        b if b == f64::NUMBER_TYPE_BYTE => decode_typed(data, max_len, &mut out, ne!(f64).0),
        other => Err(Error::corrupt(
            "pcodec",
            format!("unknown number type byte {other}"),
        )),
    }?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec_from_config;

    #[test]
    fn config_round_trip_and_encode_decode() {
        let cfg = json!({"id": "pcodec", "level": 8, "mode_spec": "auto", "delta_spec": "auto",
            "paging_spec": "equal_pages_up_to", "delta_encoding_order": null,
            "equal_pages_up_to": 100});
        let mut c = codec_from_config(&cfg).unwrap();
        assert_eq!(c.config(), cfg);
        let data: Vec<u8> = (0..1000i32)
            .flat_map(|i| (i * 3 - 7).to_ne_bytes())
            .collect();
        assert!(c.encode(&data).is_err(), "no dtype yet");
        c.set_dtype(&DataType::Int32, Endian::NATIVE);
        let enc = c.encode(&data).unwrap();
        assert_eq!(c.decode(&enc, data.len()).unwrap(), data);
        assert!(matches!(
            c.decode(&enc, data.len() - 4),
            Err(Error::TooLarge { .. })
        ));
        let mut out = vec![0u8; data.len()];
        assert_eq!(c.decode_into(&enc, &mut out).unwrap(), data.len());
        assert!(c.decode(&enc[..enc.len() / 2], data.len()).is_err());
        for bad in [
            json!({"id": "pcodec", "mode_spec": "try_float_mult"}),
            json!({"id": "pcodec", "delta_spec": "none", "delta_encoding_order": 2}),
            json!({"id": "pcodec", "level": 13}),
            json!({"id": "pcodec", "paging_spec": "exact"}),
        ] {
            assert!(codec_from_config(&bad).is_err(), "{bad}");
        }
    }
}
