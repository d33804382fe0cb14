//! Building `zarr.json` documents as zarr-python 3 writes them: data type and fill value
//! spellings, the codecs of a chain (`bytes`, compressors, `crc32c`, `sharding_indexed`), array
//! and group documents.

use super::meta::{ArrayMetadataV3, ChunkKeyEncoding, MetadataErrorV3};
use base64::Engine as _;
use nd_core::DataType;
use serde_json::{json, Map, Value};

type MResult<T> = std::result::Result<T, MetadataErrorV3>;

fn unsupported(field: &'static str, what: impl Into<String>) -> MetadataErrorV3 {
    MetadataErrorV3::Unsupported {
        field,
        what: what.into(),
    }
}

/// The v3 `data_type` of an nd type, spelled as zarr-python 3 spells it (core names, and its
/// `fixed_length_utf32`, `null_terminated_bytes`, `raw_bytes`, `numpy.datetime64` /
/// `numpy.timedelta64` extension types).
///
/// # Errors
/// Records (`Struct`) and other types zarr-python 3 has no fixed-size v3 spelling for here.
pub fn data_type_to_json(dt: &DataType) -> MResult<Value> {
    let named = |name: &str, n: usize| json!({"name": name, "configuration": {"length_bytes": n}});
    Ok(match dt {
        DataType::Bool => json!("bool"),
        DataType::Int8 => json!("int8"),
        DataType::Int16 => json!("int16"),
        DataType::Int32 => json!("int32"),
        DataType::Int64 => json!("int64"),
        DataType::UInt8 => json!("uint8"),
        DataType::UInt16 => json!("uint16"),
        DataType::UInt32 => json!("uint32"),
        DataType::UInt64 => json!("uint64"),
        DataType::Float16 => json!("float16"),
        DataType::Float32 => json!("float32"),
        DataType::Float64 => json!("float64"),
        DataType::Complex64 => json!("complex64"),
        DataType::Complex128 => json!("complex128"),
        DataType::Ucs4(n) => named("fixed_length_utf32", n * 4),
        DataType::Bytes(n) => named("null_terminated_bytes", *n),
        DataType::Raw(n) => named("raw_bytes", *n),
        DataType::DateTime64(u) | DataType::TimeDelta64(u) => {
            let name = if matches!(dt, DataType::DateTime64(_)) {
                "numpy.datetime64"
            } else {
                "numpy.timedelta64"
            };
            let digits = u.bytes().take_while(u8::is_ascii_digit).count();
            let scale: u64 = u[..digits].parse().unwrap_or(1);
            let unit = if u.is_empty() {
                "generic"
            } else {
                &u[digits..]
            };
            json!({"name": name, "configuration": {"unit": unit, "scale_factor": scale}})
        }
        other => {
            return Err(unsupported(
                "data_type",
                format!("{other} in Zarr v3 output"),
            ))
        }
    })
}

fn float_json(bits: u64, size: usize) -> Value {
    let (x, canonical_nan) = match size {
        2 => {
            let h = half::f16::from_bits(bits as u16);
            (h.to_f64(), bits as u16 & 0x7fff == 0x7e00)
        }
        4 => (
            f64::from(f32::from_bits(bits as u32)),
            bits as u32 & 0x7fff_ffff == 0x7fc0_0000,
        ),
        _ => (
            f64::from_bits(bits),
            bits & 0x7fff_ffff_ffff_ffff == 0x7ff8_0000_0000_0000,
        ),
    };
    if x.is_nan() {
        if canonical_nan {
            json!("NaN")
        } else {
            // keep the payload: the spec's hex spelling of the bit pattern
            json!(format!("0x{bits:0width$x}", width = 2 * size))
        }
    } else if x == f64::INFINITY {
        json!("Infinity")
    } else if x == f64::NEG_INFINITY {
        json!("-Infinity")
    } else {
        json!(x)
    }
}

fn ne_uint(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    if cfg!(target_endian = "little") {
        a[..b.len()].copy_from_slice(b);
        u64::from_le_bytes(a)
    } else {
        a[8 - b.len()..].copy_from_slice(b);
        u64::from_be_bytes(a)
    }
}

fn ne_int(b: &[u8]) -> i64 {
    let u = ne_uint(b);
    let bits = 8 * b.len() as u32;
    if bits == 64 {
        u as i64
    } else {
        ((u << (64 - bits)) as i64) >> (64 - bits)
    }
}

/// One native-endian element as a v3 `fill_value`, as zarr-python 3 writes it: numbers,
/// `"NaN"` / `"Infinity"` / `"-Infinity"` (a NaN with another payload as its `"0x…"` bit
/// pattern), `[re, im]`, integers for datetimes (NaT is `-9223372036854775808`), a string for
/// `fixed_length_utf32`, base64 for `null_terminated_bytes` (trailing NULs dropped, as numpy
/// does) and `raw_bytes`.
pub fn fill_value_to_json(b: &[u8], dt: &DataType) -> Value {
    let b64 = |x: &[u8]| json!(base64::engine::general_purpose::STANDARD.encode(x));
    match dt {
        DataType::Bool => json!(b.first().is_some_and(|&x| x != 0)),
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::DateTime64(_)
        | DataType::TimeDelta64(_) => json!(ne_int(b)),
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => {
            json!(ne_uint(b))
        }
        DataType::Float16 | DataType::Float32 | DataType::Float64 => {
            float_json(ne_uint(b), b.len())
        }
        DataType::Complex64 | DataType::Complex128 => {
            let h = b.len() / 2;
            json!([
                float_json(ne_uint(&b[..h]), h),
                float_json(ne_uint(&b[h..]), h)
            ])
        }
        DataType::Ucs4(_) => {
            let s: String = b
                .chunks_exact(4)
                .map(|c| u32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
                .take_while(|&u| u != 0)
                .map(|u| char::from_u32(u).unwrap_or('\u{fffd}'))
                .collect();
            json!(s)
        }
        DataType::Bytes(_) => {
            let end = b.iter().rposition(|&x| x != 0).map_or(0, |i| i + 1);
            b64(&b[..end])
        }
        _ => b64(b),
    }
}

/// The `bytes` codec for `dt`: little endian, or no configuration for one-byte types (as
/// zarr-python 3 writes it).
pub fn bytes_codec(dt: &DataType) -> Value {
    if dt.swap_unit() > 1 {
        json!({"name": "bytes", "configuration": {"endian": "little"}})
    } else {
        json!({"name": "bytes"})
    }
}

/// The `crc32c` codec.
pub fn crc32c_codec() -> Value {
    json!({"name": "crc32c"})
}

/// A numcodecs compressor configuration (`{"id": "zstd", "level": 3}`, as `.zarray` holds it)
/// as the v3 bytes→bytes codec zarr-python 3 writes: `zstd` (`level`, `checksum`), `gzip`
/// (`level`), `blosc` (`typesize` from `dt`, `cname`, `clevel`, `shuffle` as a name,
/// `blocksize`). `null` gives `None`.
///
/// # Errors
/// A compressor with no v3 codec (zlib, bz2, lz4, lzma: zarr-python 3 has them only as
/// `numcodecs.*` wrappers, which other readers do not know).
pub fn compressor_from_v2(cfg: &Value, dt: &DataType) -> MResult<Option<Value>> {
    const F: &str = "codecs";
    if cfg.is_null() {
        return Ok(None);
    }
    let id = cfg.get("id").and_then(Value::as_str).unwrap_or("?");
    let int = |k: &str, d: i64| cfg.get(k).and_then(Value::as_i64).unwrap_or(d);
    Ok(Some(match id {
        "zstd" => json!({"name": "zstd", "configuration": {
            "level": int("level", 0),
            "checksum": cfg.get("checksum").and_then(Value::as_bool).unwrap_or(false)}}),
        "gzip" => json!({"name": "gzip", "configuration": {"level": int("level", 5)}}),
        "blosc" => {
            let shuffle = match int("shuffle", 1) {
                0 => "noshuffle",
                2 => "bitshuffle",
                // -1 (auto) is byte shuffle unless the items are single bytes
                -1 if dt.size() == 1 => "bitshuffle",
                _ => "shuffle",
            };
            json!({"name": "blosc", "configuration": {
                "typesize": dt.swap_unit().max(1),
                "cname": cfg.get("cname").and_then(Value::as_str).unwrap_or("lz4"),
                "clevel": int("clevel", 5),
                "shuffle": shuffle,
                "blocksize": int("blocksize", 0)}})
        }
        other => {
            return Err(unsupported(
                F,
                format!(
                    "compressor '{other}' in Zarr v3 output (zstd, gzip and blosc are v3 codecs)"
                ),
            ))
        }
    }))
}

/// The codecs of an unsharded chunk: `bytes` then `bytes_to_bytes` (compressors, `crc32c`).
pub fn chain_json(dt: &DataType, bytes_to_bytes: &[Value]) -> Vec<Value> {
    let mut v = vec![bytes_codec(dt)];
    v.extend(bytes_to_bytes.iter().cloned());
    v
}

/// The codecs of a sharded array as zarr-python 3 writes them: `sharding_indexed` alone, inner
/// chunks of `inner_chunks` encoded by `bytes` + `bytes_to_bytes`, the index by little-endian
/// `bytes` + `crc32c` at the end of the shard.
pub fn sharded_chain_json(
    dt: &DataType,
    inner_chunks: &[u64],
    bytes_to_bytes: &[Value],
) -> Vec<Value> {
    vec![json!({"name": "sharding_indexed", "configuration": {
        "chunk_shape": inner_chunks,
        "codecs": chain_json(dt, bytes_to_bytes),
        "index_codecs": [
            {"name": "bytes", "configuration": {"endian": "little"}},
            {"name": "crc32c"}
        ],
        "index_location": "end"}})]
}

/// A group document (`zarr.json` with `"node_type": "group"`).
pub fn group_json(attributes: &Map<String, Value>) -> Value {
    json!({"attributes": attributes, "zarr_format": 3, "node_type": "group"})
}

impl ArrayMetadataV3 {
    /// The metadata of a new array: the `regular` grid of `chunk_shape` (the shard shape when
    /// `codecs` shard), `default` chunk keys with `/`, fill value zero, no attributes and no
    /// dimension names. The codecs are checked when the array is created.
    ///
    /// # Errors
    /// A data type with no v3 spelling (see [`data_type_to_json`]), or a chunk shape that does
    /// not fit the shape.
    pub fn new(
        shape: Vec<u64>,
        chunk_shape: Vec<u64>,
        data_type: DataType,
        codecs: Vec<Value>,
    ) -> MResult<ArrayMetadataV3> {
        let dt_json = data_type_to_json(&data_type)?;
        let fill = vec![0u8; data_type.size()];
        let doc = json!({
            "zarr_format": 3,
            "node_type": "array",
            "shape": shape,
            "data_type": dt_json,
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": chunk_shape}},
            "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
            "fill_value": fill_value_to_json(&fill, &data_type),
            "codecs": codecs,
        });
        Self::from_json(&doc)
    }

    /// Set the fill value (one native-endian element) and its JSON spelling.
    ///
    /// # Errors
    /// Not one element of the data type.
    pub fn set_fill_value(&mut self, fill: Vec<u8>) -> MResult<()> {
        if fill.len() != self.data_type.size() {
            return Err(MetadataErrorV3::Invalid {
                field: "fill_value",
                reason: format!("{} bytes is not one {} element", fill.len(), self.data_type),
            });
        }
        self.fill_value_json = fill_value_to_json(&fill, &self.data_type);
        self.fill_value = fill;
        Ok(())
    }

    /// The `zarr.json` document, keys as zarr-python 3 orders them when written with
    /// [`ArrayMetadataV3::to_json_bytes`].
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("shape".into(), json!(self.shape));
        m.insert("data_type".into(), self.data_type_json.clone());
        m.insert(
            "chunk_grid".into(),
            json!({"name": "regular", "configuration": {"chunk_shape": self.chunk_shape}}),
        );
        let (name, sep) = match self.chunk_key_encoding {
            ChunkKeyEncoding::Default { separator } => ("default", separator),
            ChunkKeyEncoding::V2 { separator } => ("v2", separator),
        };
        m.insert(
            "chunk_key_encoding".into(),
            json!({"name": name, "configuration": {"separator": sep.to_string()}}),
        );
        m.insert("fill_value".into(), self.fill_value_json.clone());
        m.insert("codecs".into(), Value::Array(self.codecs.clone()));
        m.insert("attributes".into(), Value::Object(self.attributes.clone()));
        if let Some(d) = &self.dimension_names {
            m.insert("dimension_names".into(), json!(d));
        }
        m.insert("zarr_format".into(), json!(3));
        m.insert("node_type".into(), json!("array"));
        m.insert("storage_transformers".into(), json!([]));
        Value::Object(m)
    }

    /// `zarr.json` bytes as zarr-python 3 writes them (see [`crate::v3::to_json_bytes`]).
    pub fn to_json_bytes(&self) -> Vec<u8> {
        super::json::to_json_bytes(&self.to_json())
    }
}

#[cfg(test)]
mod tests {
    use super::super::meta::parse_fill_value;
    use super::*;

    #[test]
    fn fills_round_trip() {
        for (dt, fill) in [
            (DataType::Float32, f32::NAN.to_ne_bytes().to_vec()),
            (DataType::Float32, 0x7fc0_0001u32.to_ne_bytes().to_vec()),
            (DataType::Float64, f64::NEG_INFINITY.to_ne_bytes().to_vec()),
            (
                DataType::Float16,
                half::f16::INFINITY.to_ne_bytes().to_vec(),
            ),
            (DataType::Int16, (-5i16).to_ne_bytes().to_vec()),
            (DataType::UInt64, u64::MAX.to_ne_bytes().to_vec()),
            (
                DataType::DateTime64("10ms".into()),
                i64::MIN.to_ne_bytes().to_vec(),
            ),
            (DataType::Bytes(3), b"ab\0".to_vec()),
            (DataType::Raw(2), vec![1, 2]),
            (DataType::Bool, vec![1]),
        ] {
            let v = fill_value_to_json(&fill, &dt);
            assert_eq!(parse_fill_value(&v, &dt).unwrap(), fill, "{dt} {v}");
        }
        assert_eq!(
            fill_value_to_json(&f32::NAN.to_ne_bytes(), &DataType::Float32),
            "NaN"
        );
        assert_eq!(fill_value_to_json(&[0, 0, 0], &DataType::Bytes(3)), "");
        assert_eq!(
            fill_value_to_json(&0f64.to_ne_bytes(), &DataType::Float64).to_string(),
            "0.0"
        );
    }

    #[test]
    fn data_types_round_trip() {
        for dt in [
            DataType::Ucs4(3),
            DataType::DateTime64("10ms".into()),
            DataType::TimeDelta64("s".into()),
            DataType::Raw(5),
            DataType::Complex64,
        ] {
            let v = data_type_to_json(&dt).unwrap();
            assert_eq!(super::super::meta::parse_data_type(&v).unwrap(), dt, "{v}");
        }
    }
}
