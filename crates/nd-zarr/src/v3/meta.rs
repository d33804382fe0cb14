//! `zarr.json` documents of Zarr v3: array metadata (shape, data type, regular chunk grid, chunk
//! key encoding, fill value, codecs, dimension names, attributes) and group metadata.
//!
//! Parsing is strict where a wrong guess would give wrong values (data type, fill value, codecs,
//! grid) and lenient where zarr-python is (missing `attributes`, `dimension_names`, extra keys
//! marked `"must_understand": false`). See `spec-notes/zarr-v3.md`.

use base64::Engine as _;
use nd_codecs::zarr_v2::MAX_CHUNK_BYTES;
use nd_core::DataType;
use serde_json::{Map, Value};

/// The document key of a v3 node.
pub const ZARR_JSON: &str = "zarr.json";

/// What is wrong with a `zarr.json` document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MetadataErrorV3 {
    /// Not a JSON object.
    #[error("not a JSON object")]
    NotObject,
    /// A required field is missing.
    #[error("missing field '{0}'")]
    Missing(&'static str),
    /// A field has a value that is not allowed.
    #[error("field '{field}': {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// Something valid that nd does not implement (a data type, codec, chunk grid, extension).
    #[error("'{field}': {what} is not supported")]
    Unsupported {
        /// The field (`"data_type"`, `"codecs"`, ...).
        field: &'static str,
        /// What (the data type or codec name, with why when useful).
        what: String,
    },
}

type MResult<T> = std::result::Result<T, MetadataErrorV3>;

fn invalid(field: &'static str, reason: impl Into<String>) -> MetadataErrorV3 {
    MetadataErrorV3::Invalid {
        field,
        reason: reason.into(),
    }
}

fn unsupported(field: &'static str, what: impl Into<String>) -> MetadataErrorV3 {
    MetadataErrorV3::Unsupported {
        field,
        what: what.into(),
    }
}

/// How chunk grid indices become store keys (`chunk_key_encoding`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkKeyEncoding {
    /// `default`: `c` then each index, joined by the separator (`c/0/1`, `c.0.1`; `c` for 0-d).
    Default {
        /// `/` (the default) or `.`.
        separator: char,
    },
    /// `v2`: the indices joined by the separator (`0.1`, `0/1`; `0` for 0-d).
    V2 {
        /// `.` (the default) or `/`.
        separator: char,
    },
}

impl ChunkKeyEncoding {
    /// The key of chunk `idx`, relative to the array's path.
    pub fn key(&self, idx: &[u64]) -> String {
        let (mut s, sep) = match *self {
            ChunkKeyEncoding::Default { separator } => ("c".to_string(), separator),
            ChunkKeyEncoding::V2 { separator } => {
                if idx.is_empty() {
                    return "0".into();
                }
                (String::new(), separator)
            }
        };
        for (i, x) in idx.iter().enumerate() {
            if i > 0 || !s.is_empty() {
                s.push(sep);
            }
            s.push_str(&x.to_string());
        }
        s
    }

    /// The chunk index a key (relative to the array's path) names in an array of `rank`
    /// dimensions, `None` when it is not a key this encoding writes (the inverse of
    /// [`ChunkKeyEncoding::key`]; `c/01/2` is not a key).
    pub fn chunk_of(&self, key: &str, rank: usize) -> Option<Vec<u64>> {
        let (rest, sep) = match *self {
            ChunkKeyEncoding::Default { separator } => {
                let rest = key.strip_prefix('c')?;
                if rank == 0 {
                    return rest.is_empty().then(Vec::new);
                }
                (rest.strip_prefix(separator)?, separator)
            }
            ChunkKeyEncoding::V2 { separator } => {
                if rank == 0 {
                    return (key == "0").then(Vec::new);
                }
                (key, separator)
            }
        };
        let idx: Vec<u64> = rest
            .split(sep)
            .map(|p| {
                if p.bytes().all(|b| b.is_ascii_digit()) {
                    p.parse().ok()
                } else {
                    None
                }
            })
            .collect::<Option<_>>()?;
        (idx.len() == rank && self.key(&idx) == key).then_some(idx)
    }

    fn parse(v: &Value) -> MResult<ChunkKeyEncoding> {
        const F: &str = "chunk_key_encoding";
        let (name, conf) = name_config(v, F)?;
        let sep = |default: char| -> MResult<char> {
            match conf.and_then(|c| c.get("separator")) {
                None => Ok(default),
                Some(Value::String(s)) if s == "/" => Ok('/'),
                Some(Value::String(s)) if s == "." => Ok('.'),
                Some(x) => Err(invalid(
                    F,
                    format!("separator {x} is neither \"/\" nor \".\""),
                )),
            }
        };
        match name {
            "default" => Ok(ChunkKeyEncoding::Default {
                separator: sep('/')?,
            }),
            "v2" => Ok(ChunkKeyEncoding::V2 {
                separator: sep('.')?,
            }),
            other => Err(unsupported(F, format!("chunk key encoding '{other}'"))),
        }
    }
}

/// A `{"name": ..., "configuration": {...}}` object, or a bare name string.
pub(crate) fn name_config<'a>(
    v: &'a Value,
    field: &'static str,
) -> MResult<(&'a str, Option<&'a Map<String, Value>>)> {
    match v {
        Value::String(s) => Ok((s, None)),
        Value::Object(m) => {
            let name = m
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid(field, format!("no string \"name\" in {v}")))?;
            let conf = match m.get("configuration") {
                None | Some(Value::Null) => None,
                Some(Value::Object(c)) => Some(c),
                Some(x) => {
                    return Err(invalid(
                        field,
                        format!("configuration {x} is not an object"),
                    ))
                }
            };
            Ok((name, conf))
        }
        _ => Err(invalid(
            field,
            format!("{v} is neither a name nor an object"),
        )),
    }
}

fn conf_usize(conf: Option<&Map<String, Value>>, key: &str, field: &'static str) -> MResult<usize> {
    conf.and_then(|c| c.get(key))
        .and_then(Value::as_u64)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| invalid(field, format!("configuration needs an integer '{key}'")))
}

/// The nd type of a v3 `data_type` (core names, `r*`, and zarr-python 3's extension types).
/// Variable-length types (`string`, `bytes`) are [`MetadataErrorV3::Unsupported`] here:
/// nd-core has no variable-length element type, and [`ArrayMetadataV3`] describes fixed-size
/// elements only. Their arrays are read as fixed-width strings through
/// [`super::ObjectMetadataV3`] and [`crate::ObjectArray`] ([`crate::Hierarchy::open_array`]).
pub fn parse_data_type(v: &Value) -> MResult<DataType> {
    const F: &str = "data_type";
    let (name, conf) = name_config(v, F)?;
    let length_bytes = || -> MResult<usize> {
        let n = conf_usize(conf, "length_bytes", F)?;
        if n == 0 || n as u64 > MAX_CHUNK_BYTES {
            return Err(invalid(F, format!("length_bytes {n} is out of range")));
        }
        Ok(n)
    };
    Ok(match name {
        "bool" => DataType::Bool,
        "int8" => DataType::Int8,
        "int16" => DataType::Int16,
        "int32" => DataType::Int32,
        "int64" => DataType::Int64,
        "uint8" => DataType::UInt8,
        "uint16" => DataType::UInt16,
        "uint32" => DataType::UInt32,
        "uint64" => DataType::UInt64,
        "float16" => DataType::Float16,
        "float32" => DataType::Float32,
        "float64" => DataType::Float64,
        "complex64" => DataType::Complex64,
        "complex128" => DataType::Complex128,
        "fixed_length_utf32" => {
            let n = length_bytes()?;
            if n % 4 != 0 {
                return Err(invalid(F, format!("fixed_length_utf32 of {n} bytes")));
            }
            DataType::Ucs4(n / 4)
        }
        "null_terminated_bytes" => DataType::Bytes(length_bytes()?),
        "raw_bytes" => DataType::Raw(length_bytes()?),
        "numpy.datetime64" | "numpy.timedelta64" => {
            let unit = conf
                .and_then(|c| c.get("unit"))
                .and_then(Value::as_str)
                .ok_or_else(|| invalid(F, format!("{name} needs a string \"unit\"")))?;
            const UNITS: [&str; 13] = [
                "Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns", "ps", "fs", "as",
            ];
            if !UNITS.contains(&unit) && unit != "generic" {
                return Err(invalid(F, format!("unknown time unit '{unit}'")));
            }
            let scale = match conf.and_then(|c| c.get("scale_factor")) {
                None => 1,
                Some(x) => x
                    .as_u64()
                    .filter(|&n| n > 0 && n < 1 << 31)
                    .ok_or_else(|| invalid(F, format!("scale_factor {x}")))?,
            };
            let unit = match (unit, scale) {
                ("generic", _) => String::new(),
                (u, 1) => u.to_string(),
                (u, n) => format!("{n}{u}"),
            };
            if name == "numpy.datetime64" {
                DataType::DateTime64(unit)
            } else {
                DataType::TimeDelta64(unit)
            }
        }
        "string" | "variable_length_utf8" => {
            return Err(unsupported(
                F,
                format!("data type '{name}' (variable-length UTF-8 strings)"),
            ))
        }
        "variable_length_bytes" | "bytes" => {
            return Err(unsupported(
                F,
                format!("data type '{name}' (variable-length byte strings)"),
            ))
        }
        raw if raw.starts_with('r') => {
            let bits: u64 = raw[1..]
                .parse()
                .map_err(|_| unsupported(F, format!("data type '{raw}'")))?;
            if bits == 0 || !bits.is_multiple_of(8) || bits / 8 > MAX_CHUNK_BYTES {
                return Err(invalid(
                    F,
                    format!("'{raw}': bits must be a positive multiple of 8"),
                ));
            }
            DataType::Raw((bits / 8) as usize)
        }
        other => return Err(unsupported(F, format!("data type '{other}'"))),
    })
}

/// A float from a v3 fill value spelling: a number, `"NaN"`, `"Infinity"`, `"-Infinity"`, or
/// `"0x…"` with exactly `2 * size` hex digits (the IEEE bit pattern, for NaN payloads).
fn float_bits(v: &Value, size: usize) -> MResult<u64> {
    const F: &str = "fill_value";
    let from_f64 = |x: f64| -> u64 {
        match size {
            2 => u64::from(half::f16::from_f64(x).to_bits()),
            4 => u64::from((x as f32).to_bits()),
            _ => x.to_bits(),
        }
    };
    match v {
        Value::Number(n) => n
            .as_f64()
            .map(from_f64)
            .ok_or_else(|| invalid(F, format!("{n} is not a float"))),
        Value::String(s) => match s.as_str() {
            "NaN" => Ok(from_f64(f64::NAN)),
            "Infinity" => Ok(from_f64(f64::INFINITY)),
            "-Infinity" => Ok(from_f64(f64::NEG_INFINITY)),
            hex if hex.starts_with("0x") || hex.starts_with("0X") => {
                let digits = &hex[2..];
                if digits.len() != 2 * size || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(invalid(
                        F,
                        format!("'{hex}' is not {} hex digits", 2 * size),
                    ));
                }
                u64::from_str_radix(digits, 16).map_err(|e| invalid(F, format!("'{hex}': {e}")))
            }
            other => Err(invalid(F, format!("'{other}' is not a float"))),
        },
        other => Err(invalid(F, format!("{other} is not a float"))),
    }
}

fn int_value(v: &Value, signed: bool, bits: u32) -> MResult<u64> {
    const F: &str = "fill_value";
    let bad = || invalid(F, format!("{v} is not an int{bits} / uint{bits}"));
    // zarr-python reads an integral float (7.0) as the integer
    let as_i128 = match v {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i128::from(i)
            } else if let Some(u) = n.as_u64() {
                i128::from(u)
            } else {
                let f = n.as_f64().ok_or_else(bad)?;
                if f.fract() != 0.0 || !f.is_finite() || f.abs() > 2f64.powi(64) {
                    return Err(bad());
                }
                f as i128
            }
        }
        _ => return Err(bad()),
    };
    let (lo, hi) = if signed {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    } else {
        (0, (1i128 << bits) - 1)
    };
    if as_i128 < lo || as_i128 > hi {
        return Err(bad());
    }
    Ok(as_i128 as u64)
}

fn base64_bytes(v: &Value, n: usize) -> MResult<Vec<u8>> {
    const F: &str = "fill_value";
    match v {
        // the v3 spec's `r*` form: one integer per byte
        Value::Array(a) => {
            if a.len() != n {
                return Err(invalid(F, format!("{} bytes given, {n} needed", a.len())));
            }
            a.iter()
                .map(|x| {
                    x.as_u64()
                        .and_then(|b| u8::try_from(b).ok())
                        .ok_or_else(|| invalid(F, format!("{x} is not a byte")))
                })
                .collect()
        }
        // zarr-python 3: base64
        Value::String(s) => {
            let mut b = base64::engine::general_purpose::STANDARD
                .decode(s)
                .map_err(|e| invalid(F, format!("'{s}' is not base64: {e}")))?;
            if b.len() > n {
                return Err(invalid(F, format!("{} bytes is longer than {n}", b.len())));
            }
            b.resize(n, 0);
            Ok(b)
        }
        Value::Number(_) if n == 1 => Ok(vec![int_value(v, false, 8)? as u8]),
        other => Err(invalid(F, format!("{other} is not bytes"))),
    }
}

/// One element of fill value, native-endian, for `dtype`. `null` (not allowed by the spec, but
/// harmless) means zeros.
pub fn parse_fill_value(v: &Value, dtype: &DataType) -> MResult<Vec<u8>> {
    const F: &str = "fill_value";
    let size = dtype.size();
    if v.is_null() {
        return Ok(vec![0; size]);
    }
    let int = |signed: bool| -> MResult<Vec<u8>> {
        let x = int_value(v, signed, (size * 8) as u32)?;
        Ok(if cfg!(target_endian = "little") {
            x.to_le_bytes()[..size].to_vec()
        } else {
            x.to_be_bytes()[8 - size..].to_vec()
        })
    };
    let float = |v: &Value, size: usize| -> MResult<Vec<u8>> {
        let bits = float_bits(v, size)?;
        Ok(match size {
            2 => (bits as u16).to_ne_bytes().to_vec(),
            4 => (bits as u32).to_ne_bytes().to_vec(),
            _ => bits.to_ne_bytes().to_vec(),
        })
    };
    match dtype {
        DataType::Bool => match v {
            Value::Bool(b) => Ok(vec![u8::from(*b)]),
            Value::Number(n) if n.as_u64() == Some(0) || n.as_u64() == Some(1) => {
                Ok(vec![n.as_u64() == Some(1)]
                    .into_iter()
                    .map(u8::from)
                    .collect())
            }
            other => Err(invalid(F, format!("{other} is not a bool"))),
        },
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => int(true),
        DataType::DateTime64(_) | DataType::TimeDelta64(_) => match v {
            Value::String(s) if s == "NaT" => Ok(i64::MIN.to_ne_bytes().to_vec()),
            _ => int(true),
        },
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => int(false),
        DataType::Float16 | DataType::Float32 | DataType::Float64 => float(v, size),
        DataType::Complex64 | DataType::Complex128 => match v {
            Value::Array(a) if a.len() == 2 => {
                let mut out = float(&a[0], size / 2)?;
                out.extend(float(&a[1], size / 2)?);
                Ok(out)
            }
            other => Err(invalid(F, format!("{other} is not [real, imaginary]"))),
        },
        DataType::Ucs4(n) => match v {
            Value::String(s) => {
                let chars: Vec<char> = s.chars().collect();
                if chars.len() > *n {
                    return Err(invalid(F, format!("'{s}' is longer than {n} characters")));
                }
                let mut out = Vec::with_capacity(size);
                for c in chars {
                    out.extend((c as u32).to_ne_bytes());
                }
                out.resize(size, 0);
                Ok(out)
            }
            other => Err(invalid(F, format!("{other} is not a string"))),
        },
        DataType::Bytes(n) | DataType::Raw(n) => base64_bytes(v, *n),
        other => Err(unsupported(F, format!("fill values of {other}"))),
    }
}

/// The metadata of a Zarr v3 array (`zarr.json` with `"node_type": "array"`).
#[derive(Debug, Clone, PartialEq)]
pub struct ArrayMetadataV3 {
    /// The shape.
    pub shape: Vec<u64>,
    /// The element type reads deliver (native byte order).
    pub data_type: DataType,
    /// `data_type` as written.
    pub data_type_json: Value,
    /// The chunk shape of the `regular` chunk grid (for a sharded array, the shard shape).
    pub chunk_shape: Vec<u64>,
    /// How chunk keys are spelled.
    pub chunk_key_encoding: ChunkKeyEncoding,
    /// One element of fill value, native-endian.
    pub fill_value: Vec<u8>,
    /// `fill_value` as written.
    pub fill_value_json: Value,
    /// The codec chain as written (parsed when the array is opened).
    pub codecs: Vec<Value>,
    /// `dimension_names`, when given (`null` entries are unnamed dimensions).
    pub dimension_names: Option<Vec<Option<String>>>,
    /// `attributes` (empty when absent).
    pub attributes: Map<String, Value>,
}

fn u64_list(v: Option<&Value>, field: &'static str) -> MResult<Vec<u64>> {
    let a = v
        .ok_or(MetadataErrorV3::Missing(field))?
        .as_array()
        .ok_or_else(|| invalid(field, "not a list"))?;
    if a.len() > 32 {
        return Err(invalid(
            field,
            format!("{} dimensions (at most 32)", a.len()),
        ));
    }
    a.iter()
        .map(|x| {
            x.as_u64()
                .ok_or_else(|| invalid(field, format!("{x} is not a non-negative integer")))
        })
        .collect()
}

/// Check the keys of a node document: known keys, and extensions only when they are objects
/// that say `"must_understand": false`.
fn check_extensions(m: &Map<String, Value>, known: &[&str]) -> MResult<()> {
    for (k, v) in m {
        if known.contains(&k.as_str()) {
            continue;
        }
        if v.get("must_understand") == Some(&Value::Bool(false)) {
            continue;
        }
        return Err(unsupported(
            "zarr.json",
            format!("extension field '{k}' (not marked \"must_understand\": false)"),
        ));
    }
    Ok(())
}

/// The `zarr_format` and `node_type` of a node document.
pub fn node_type(v: &Value) -> MResult<&str> {
    let m = v.as_object().ok_or(MetadataErrorV3::NotObject)?;
    match m.get("zarr_format") {
        Some(x) if x.as_u64() == Some(3) => {}
        Some(x) => return Err(invalid("zarr_format", format!("{x} is not 3"))),
        None => return Err(MetadataErrorV3::Missing("zarr_format")),
    }
    match m.get("node_type").and_then(Value::as_str) {
        Some(t @ ("array" | "group")) => Ok(t),
        Some(t) => Err(invalid(
            "node_type",
            format!("'{t}' is neither array nor group"),
        )),
        None => Err(MetadataErrorV3::Missing("node_type")),
    }
}

/// The attributes of a node document (empty when absent).
pub fn attributes_of(v: &Value) -> MResult<Map<String, Value>> {
    match v.get("attributes") {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(a)) => Ok(a.clone()),
        Some(_) => Err(invalid("attributes", "not an object")),
    }
}

/// Check a group document (`"node_type": "group"`).
pub fn check_group(v: &Value) -> MResult<()> {
    if node_type(v)? != "group" {
        return Err(invalid("node_type", "not a group"));
    }
    let m = v.as_object().ok_or(MetadataErrorV3::NotObject)?;
    check_extensions(
        m,
        &[
            "zarr_format",
            "node_type",
            "attributes",
            "consolidated_metadata",
        ],
    )?;
    attributes_of(v).map(|_| ())
}

impl ArrayMetadataV3 {
    /// Parse `zarr.json` bytes.
    ///
    /// # Errors
    /// Invalid JSON or metadata, or a data type, grid, key encoding or fill value nd does not implement.
    pub fn parse(bytes: &[u8]) -> MResult<ArrayMetadataV3> {
        let v = nd_codecs::zarr_v2::parse_json_lenient(bytes)
            .map_err(|e| invalid("zarr.json", e.to_string()))?;
        Self::from_json(&v)
    }

    /// From a parsed `zarr.json` document.
    ///
    /// # Errors
    /// As [`ArrayMetadataV3::parse`].
    pub fn from_json(v: &Value) -> MResult<ArrayMetadataV3> {
        if node_type(v)? != "array" {
            return Err(invalid("node_type", "not an array"));
        }
        let m = v.as_object().ok_or(MetadataErrorV3::NotObject)?;
        check_extensions(
            m,
            &[
                "zarr_format",
                "node_type",
                "shape",
                "data_type",
                "chunk_grid",
                "chunk_key_encoding",
                "fill_value",
                "codecs",
                "attributes",
                "dimension_names",
                "storage_transformers",
            ],
        )?;
        let shape = u64_list(m.get("shape"), "shape")?;
        let dt_json = m
            .get("data_type")
            .ok_or(MetadataErrorV3::Missing("data_type"))?;
        let (grid_name, grid_conf) = name_config(
            m.get("chunk_grid")
                .ok_or(MetadataErrorV3::Missing("chunk_grid"))?,
            "chunk_grid",
        )?;
        if grid_name != "regular" {
            return Err(unsupported(
                "chunk_grid",
                format!("chunk grid '{grid_name}'"),
            ));
        }
        let chunk_shape = u64_list(grid_conf.and_then(|c| c.get("chunk_shape")), "chunk_grid")?;
        if chunk_shape.len() != shape.len() {
            return Err(invalid(
                "chunk_grid",
                format!(
                    "chunk shape {chunk_shape_s} does not match shape {shape_s}",
                    chunk_shape_s = nd_core::fmt_shape(chunk_shape.iter()),
                    shape_s = nd_core::fmt_shape(shape.iter())
                ),
            ));
        }
        if chunk_shape.contains(&0) {
            return Err(invalid(
                "chunk_grid",
                format!(
                    "chunk shape {chunk_shape_s} has a zero",
                    chunk_shape_s = nd_core::fmt_shape(chunk_shape.iter())
                ),
            ));
        }
        let chunk_key_encoding = match m.get("chunk_key_encoding") {
            Some(v) => ChunkKeyEncoding::parse(v)?,
            None => return Err(MetadataErrorV3::Missing("chunk_key_encoding")),
        };
        let codecs = match m.get("codecs") {
            Some(Value::Array(c)) if !c.is_empty() => c.clone(),
            Some(_) => return Err(invalid("codecs", "not a non-empty list")),
            None => return Err(MetadataErrorV3::Missing("codecs")),
        };
        match m.get("storage_transformers") {
            None | Some(Value::Null) => {}
            Some(Value::Array(a)) if a.is_empty() => {}
            Some(x) => return Err(unsupported("storage_transformers", format!("{x}"))),
        }
        let dimension_names = match m.get("dimension_names") {
            None | Some(Value::Null) => None,
            Some(Value::Array(a)) if a.len() == shape.len() => Some(
                a.iter()
                    .map(|x| match x {
                        Value::Null => Ok(None),
                        Value::String(s) => Ok(Some(s.clone())),
                        other => Err(invalid("dimension_names", format!("{other} is not a name"))),
                    })
                    .collect::<MResult<Vec<_>>>()?,
            ),
            Some(x) => {
                return Err(invalid(
                    "dimension_names",
                    format!("{x} is not a list of {} names", shape.len()),
                ))
            }
        };
        let attributes = attributes_of(v)?;
        // the data type last among the structural fields: an unsupported type still reports
        // every other problem first
        let data_type = parse_data_type(dt_json)?;
        let fill_value_json = m
            .get("fill_value")
            .cloned()
            .ok_or(MetadataErrorV3::Missing("fill_value"))?;
        let fill_value = parse_fill_value(&fill_value_json, &data_type)?;
        let chunk_bytes = nd_core::num_elements(&chunk_shape)
            .and_then(|n| n.checked_mul(data_type.size() as u64))
            .filter(|&n| n <= MAX_CHUNK_BYTES);
        if chunk_bytes.is_none() {
            return Err(invalid(
                "chunk_grid",
                format!(
                    "chunks of {chunk_shape_s} {data_type} exceed {MAX_CHUNK_BYTES} bytes",
                    chunk_shape_s = nd_core::fmt_shape(chunk_shape.iter())
                ),
            ));
        }
        Ok(ArrayMetadataV3 {
            shape,
            data_type,
            data_type_json: dt_json.clone(),
            chunk_shape,
            chunk_key_encoding,
            fill_value,
            fill_value_json,
            codecs,
            dimension_names,
            attributes,
        })
    }

    /// Bytes of one decoded chunk (checked against the chunk size limit when parsed).
    pub fn chunk_bytes(&self) -> usize {
        nd_core::num_bytes(&self.chunk_shape, self.data_type.size()).unwrap_or(usize::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn chunk_keys() {
        let d = ChunkKeyEncoding::Default { separator: '/' };
        assert_eq!(d.key(&[0, 12]), "c/0/12");
        assert_eq!(d.key(&[]), "c");
        assert_eq!(
            ChunkKeyEncoding::Default { separator: '.' }.key(&[1, 2]),
            "c.1.2"
        );
        assert_eq!(ChunkKeyEncoding::V2 { separator: '.' }.key(&[1, 2]), "1.2");
        assert_eq!(ChunkKeyEncoding::V2 { separator: '/' }.key(&[1, 2]), "1/2");
        assert_eq!(ChunkKeyEncoding::V2 { separator: '.' }.key(&[]), "0");
        // and back
        assert_eq!(d.chunk_of("c/0/12", 2), Some(vec![0, 12]));
        assert_eq!(d.chunk_of("c", 0), Some(vec![]));
        for bad in [
            "c/0", "c/0/12/1", "c/01/2", "c/+1/2", "c/a/2", "0/12", "c.0.12", "c/0/",
        ] {
            assert_eq!(d.chunk_of(bad, 2), None, "{bad}");
        }
        let v2 = ChunkKeyEncoding::V2 { separator: '.' };
        assert_eq!(v2.chunk_of("1.2", 2), Some(vec![1, 2]));
        assert_eq!(v2.chunk_of("0", 0), Some(vec![]));
        assert_eq!(v2.chunk_of("1/2", 2), None);
        assert_eq!(v2.chunk_of("zarr.json", 2), None);
    }

    #[test]
    fn fill_value_spellings() {
        let f32b = |v: Value| parse_fill_value(&v, &DataType::Float32).unwrap();
        assert_eq!(f32b(json!("0x7fc00001")), 0x7fc0_0001u32.to_ne_bytes());
        assert_eq!(f32b(json!("Infinity")), f32::INFINITY.to_ne_bytes());
        assert_eq!(f32b(json!("-Infinity")), f32::NEG_INFINITY.to_ne_bytes());
        assert_eq!(f32b(json!(1.5)), 1.5f32.to_ne_bytes());
        assert!(f32::from_ne_bytes(f32b(json!("NaN")).try_into().unwrap()).is_nan());
        assert!(parse_fill_value(&json!("0x7fc0"), &DataType::Float32).is_err());
        let c = parse_fill_value(&json!([1.0, "NaN"]), &DataType::Complex128).unwrap();
        assert_eq!(&c[..8], &1.0f64.to_ne_bytes());
        assert_eq!(
            parse_fill_value(&json!(-5), &DataType::Int16).unwrap(),
            (-5i16).to_ne_bytes()
        );
        assert!(parse_fill_value(&json!(300), &DataType::UInt8).is_err());
        assert!(parse_fill_value(&json!(-1), &DataType::UInt64).is_err());
        assert_eq!(
            parse_fill_value(&json!(u64::MAX), &DataType::UInt64).unwrap(),
            u64::MAX.to_ne_bytes()
        );
        assert_eq!(
            parse_fill_value(&json!(true), &DataType::Bool).unwrap(),
            [1]
        );
        assert_eq!(
            parse_fill_value(&json!([1, 2]), &DataType::Raw(2)).unwrap(),
            [1, 2]
        );
        assert_eq!(
            parse_fill_value(&json!("YWI="), &DataType::Bytes(3)).unwrap(),
            b"ab\0"
        );
    }

    #[test]
    fn data_types() {
        assert_eq!(parse_data_type(&json!("r16")).unwrap(), DataType::Raw(2));
        assert!(parse_data_type(&json!("r12")).is_err());
        assert!(matches!(
            parse_data_type(&json!("string")),
            Err(MetadataErrorV3::Unsupported { .. })
        ));
        assert_eq!(
            parse_data_type(
                &json!({"name": "fixed_length_utf32", "configuration": {"length_bytes": 12}})
            )
            .unwrap(),
            DataType::Ucs4(3)
        );
        assert_eq!(
            parse_data_type(&json!({"name": "numpy.datetime64", "configuration": {"unit": "ms", "scale_factor": 10}}))
                .unwrap(),
            DataType::DateTime64("10ms".into())
        );
    }
}
