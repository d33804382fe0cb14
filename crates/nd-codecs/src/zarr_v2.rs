//! Zarr v2 array metadata (`.zarray`) and chunk decoding, shared by nd-zarr and nd-asdf (asdf-zarr).
//!
//! [`ArrayMetadataV2::parse`] reads `.zarray` bytes leniently (bare `NaN`, `Infinity` and
//! `-Infinity`, which zarr-python's `json.dumps` writes, are accepted); [`ArrayMetadataV2::to_json_bytes`]
//! writes strict JSON laid out as zarr-python writes it (sorted keys, 4-space indent, ASCII only).
//!
//! ```
//! use nd_codecs::zarr_v2::ArrayMetadataV2;
//! let m = ArrayMetadataV2::parse(br#"{"zarr_format": 2, "shape": [10, 7], "chunks": [4, 4],
//!     "dtype": ">f4", "compressor": {"id": "zlib", "level": 1}, "fill_value": NaN,
//!     "order": "C", "filters": null}"#)?;
//! assert_eq!(m.grid_shape(), vec![3, 2]);
//! let fill: [u8; 4] = m.fill_value.as_deref().ok_or("no fill value")?.try_into()?;
//! assert!(f32::from_ne_bytes(fill).is_nan());
//! let pipeline = m.pipeline()?;
//! let native: Vec<u8> = (0..16).flat_map(|i| (i as f32).to_ne_bytes()).collect();
//! let stored = m.encode_chunk(&pipeline, &native)?;
//! let mut back = vec![0u8; m.chunk_bytes()];
//! m.decode_chunk_into(&pipeline, &stored, &mut back)?;
//! assert_eq!(back, native);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::Pipeline;
use base64::Engine as _;
use nd_core::{DataType, Descr, DescrField, Endian, Order};
use serde_json::{Map, Value};

/// Largest decoded chunk accepted (16 GiB): a bigger chunk in a `.zarray` is refused as an impossible shape.
pub const MAX_CHUNK_BYTES: u64 = 1 << 34;

/// What is wrong with a `.zarray` (or other Zarr v2 JSON document).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MetadataError {
    /// Not JSON, even read leniently.
    #[error("invalid JSON: {0}")]
    Json(String),
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
    /// A shape or chunk shape that cannot be (zero chunk extent, overflow, too large).
    #[error("impossible shape: {0}")]
    Shape(String),
}

impl From<MetadataError> for nd_core::Error {
    fn from(e: MetadataError) -> Self {
        nd_core::Error::other(e)
    }
}

type MResult<T> = std::result::Result<T, MetadataError>;

fn invalid(field: &'static str, reason: impl Into<String>) -> MetadataError {
    MetadataError::Invalid {
        field,
        reason: reason.into(),
    }
}

/// Parse JSON as Python's `json.loads` does: bare `NaN`, `Infinity` and `-Infinity` (outside
/// strings) are accepted and become the strings `"NaN"`, `"Infinity"` and `"-Infinity"`
/// (the spellings Zarr uses for non-finite fill values). Everything else must be strict JSON.
pub fn parse_json_lenient(bytes: &[u8]) -> MResult<Value> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    match serde_json::from_slice(bytes) {
        Ok(v) => return Ok(v),
        Err(e) if !e.is_syntax() => return Err(MetadataError::Json(e.to_string())),
        Err(_) => {}
    }
    let mut out = Vec::with_capacity(bytes.len() + 16);
    let mut i = 0;
    let mut in_str = false;
    while i < bytes.len() {
        let b = bytes[i]; // ok: i < len
        if in_str {
            out.push(b);
            if b == b'\\' {
                if let Some(&n) = bytes.get(i + 1) {
                    out.push(n);
                }
                i += 2;
                continue;
            }
            if b == b'"' {
                in_str = false;
            }
            i += 1;
            continue;
        }
        let rest = &bytes[i..]; // ok: i < len
        let token: Option<&[u8]> = if rest.starts_with(b"NaN") {
            Some(b"NaN")
        } else if rest.starts_with(b"Infinity") {
            Some(b"Infinity")
        } else if rest.starts_with(b"-Infinity") {
            Some(b"-Infinity")
        } else {
            None
        };
        if let Some(t) = token {
            out.push(b'"');
            out.extend_from_slice(t);
            out.push(b'"');
            i += t.len();
            continue;
        }
        if b == b'"' {
            in_str = true;
        }
        out.push(b);
        i += 1;
    }
    serde_json::from_slice(&out).map_err(|e| MetadataError::Json(e.to_string()))
}

/// Write JSON as zarr-python's `json_dumps` does: keys sorted, 4-space indent, `": "` separators,
/// non-ASCII characters escaped as `\uXXXX`. Non-finite numbers cannot occur (serde_json has none).
pub fn to_json_pretty(v: &Value) -> Vec<u8> {
    let sorted = sort_keys(v);
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    // ok to ignore: serialising a Value into a Vec cannot fail
    let _ = serde::Serialize::serialize(&sorted, &mut ser);
    let s = String::from_utf8(buf).unwrap_or_default();
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    out.into_bytes()
}

fn sort_keys(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let mut out = Map::new();
            for k in keys {
                if let Some(x) = m.get(k) {
                    out.insert(k.clone(), sort_keys(x));
                }
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(sort_keys).collect()),
        other => other.clone(),
    }
}

/// The parsed contents of a `.zarray`.
#[derive(Debug, Clone, PartialEq)]
pub struct ArrayMetadataV2 {
    /// Array shape (numpy axis order).
    pub shape: Vec<u64>,
    /// Chunk shape; every extent is positive.
    pub chunks: Vec<u64>,
    /// Element type as stored.
    pub dtype: DataType,
    /// Byte order of stored values ([`Endian::NotApplicable`] for single bytes and records, whose
    /// fields carry their own order).
    pub endian: Endian,
    /// The compressor config (an object with `"id"`) or null.
    pub compressor: Value,
    /// The filters: a list of configs, or null (`[]` is kept as written).
    pub filters: Value,
    /// One element of fill value, native byte order; `None` when `fill_value` is null.
    pub fill_value: Option<Vec<u8>>,
    /// Memory order inside a chunk.
    pub order: Order,
    /// The `dimension_separator` key: `Some('.')`, `Some('/')`, or `None` when absent (legacy).
    pub dimension_separator: Option<char>,
}

fn get_shape(m: &Map<String, Value>, field: &'static str) -> MResult<Vec<u64>> {
    let v = m.get(field).ok_or(MetadataError::Missing(field))?;
    let list = v
        .as_array()
        .ok_or_else(|| invalid(field, format!("must be a list of integers, got {v}")))?;
    list.iter()
        .map(|x| {
            x.as_u64()
                .ok_or_else(|| invalid(field, format!("{x} is not a non-negative integer")))
        })
        .collect()
}

impl ArrayMetadataV2 {
    /// A new C-order, uncompressed, dot-separated array of `dtype` in native byte order with fill value 0.
    pub fn new(shape: Vec<u64>, chunks: Vec<u64>, dtype: DataType) -> MResult<Self> {
        let endian = if dtype.has_byte_order() && !matches!(dtype, DataType::Struct(_)) {
            Endian::NATIVE
        } else {
            Endian::NotApplicable
        };
        let fill = vec![0u8; dtype.size()];
        let m = ArrayMetadataV2 {
            shape,
            chunks,
            dtype,
            endian,
            compressor: Value::Null,
            filters: Value::Null,
            fill_value: Some(fill),
            order: Order::C,
            dimension_separator: Some('.'),
        };
        m.validate()?;
        Ok(m)
    }

    /// Parse `.zarray` bytes (lenient JSON). Unknown keys are ignored.
    pub fn parse(bytes: &[u8]) -> MResult<Self> {
        Self::from_json(&parse_json_lenient(bytes)?)
    }

    /// Build from an already parsed `.zarray` object (as found inside `.zmetadata`).
    pub fn from_json(v: &Value) -> MResult<Self> {
        let m = v
            .as_object()
            .ok_or_else(|| MetadataError::Json(".zarray is not a JSON object".into()))?;
        match m.get("zarr_format") {
            Some(f) if f.as_u64() == Some(2) => {}
            Some(f) => return Err(invalid("zarr_format", format!("unsupported version {f}"))),
            None => return Err(MetadataError::Missing("zarr_format")),
        }
        let shape = get_shape(m, "shape")?;
        let chunks = get_shape(m, "chunks")?;
        let dt = m.get("dtype").ok_or(MetadataError::Missing("dtype"))?;
        let (dtype, endian) = parse_dtype(dt)?;
        let compressor = m.get("compressor").cloned().unwrap_or(Value::Null);
        if !(compressor.is_null() || compressor.is_object()) {
            return Err(invalid("compressor", "must be an object or null"));
        }
        let filters = m.get("filters").cloned().unwrap_or(Value::Null);
        if !(filters.is_null() || filters.is_array()) {
            return Err(invalid("filters", "must be a list or null"));
        }
        let order = match m.get("order").and_then(Value::as_str) {
            Some("C") => Order::C,
            Some("F") => Order::F,
            None if !m.contains_key("order") => Order::C,
            _ => return Err(invalid("order", "must be \"C\" or \"F\"")),
        };
        let dimension_separator = match m.get("dimension_separator") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s == "." => Some('.'),
            Some(Value::String(s)) if s == "/" => Some('/'),
            Some(Value::String(s)) if s.is_empty() => None,
            Some(other) => {
                return Err(invalid(
                    "dimension_separator",
                    format!("must be \".\" or \"/\", got {other}"),
                ))
            }
        };
        let fill_value =
            decode_fill_value(m.get("fill_value").unwrap_or(&Value::Null), &dtype, endian)?;
        let meta = ArrayMetadataV2 {
            shape,
            chunks,
            dtype,
            endian,
            compressor,
            filters,
            fill_value,
            order,
            dimension_separator,
        };
        meta.validate()?;
        Ok(meta)
    }

    /// Check the shapes: same rank, positive chunk extents, element counts and chunk bytes that fit.
    pub fn validate(&self) -> MResult<()> {
        if self.shape.len() != self.chunks.len() {
            return Err(MetadataError::Shape(format!(
                "shape {} and chunks {} have different lengths",
                nd_core::fmt_shape(self.shape.iter()),
                nd_core::fmt_shape(self.chunks.iter())
            )));
        }
        if self.chunks.contains(&0) {
            return Err(MetadataError::Shape(format!(
                "chunks {} has a zero extent",
                nd_core::fmt_shape(self.chunks.iter())
            )));
        }
        if self.dtype.size() == 0 {
            return Err(invalid("dtype", "zero-sized elements"));
        }
        nd_core::num_elements(&self.shape)
            .and_then(|n| n.checked_mul(self.dtype.size() as u64))
            .ok_or_else(|| {
                MetadataError::Shape(format!(
                    "shape {} is too large",
                    nd_core::fmt_shape(self.shape.iter())
                ))
            })?;
        let cb = nd_core::num_elements(&self.chunks)
            .and_then(|n| n.checked_mul(self.dtype.size() as u64))
            .filter(|&n| n <= MAX_CHUNK_BYTES && usize::try_from(n).is_ok())
            .ok_or_else(|| {
                MetadataError::Shape(format!(
                    "chunks {} of {}-byte elements exceed the limit of {MAX_CHUNK_BYTES} bytes",
                    nd_core::fmt_shape(self.chunks.iter()),
                    self.dtype.size()
                ))
            })?;
        let _ = cb;
        Ok(())
    }

    /// Bytes of one decoded (full-size) chunk.
    pub fn chunk_bytes(&self) -> usize {
        // ok: validate() checked that this fits in usize
        (nd_core::num_elements(&self.chunks).unwrap_or(0) as usize) * self.dtype.size()
    }

    /// Number of chunks along each axis.
    pub fn grid_shape(&self) -> Vec<u64> {
        self.shape
            .iter()
            .zip(&self.chunks)
            .map(|(&a, &c)| a.div_ceil(c.max(1)))
            .collect()
    }

    /// The separator chunk keys use (`.` when the key is absent).
    pub fn separator(&self) -> char {
        self.dimension_separator.unwrap_or('.')
    }

    /// The key of a chunk relative to the array's prefix (`"0"` for a zero-dimensional array).
    pub fn chunk_key(&self, chunk: &[u64], separator: char) -> String {
        if chunk.is_empty() {
            return "0".to_string();
        }
        let mut s = String::new();
        for (i, c) in chunk.iter().enumerate() {
            if i > 0 {
                s.push(separator);
            }
            s.push_str(&c.to_string());
        }
        s
    }

    /// The dtype as `.zarray` JSON (typestr, or record list).
    pub fn dtype_json(&self) -> Value {
        descr_to_json(&self.dtype.to_descr(self.endian))
    }

    /// The fill value as `.zarray` JSON (as zarr-python encodes it).
    pub fn fill_value_json(&self) -> Value {
        match &self.fill_value {
            None => Value::Null,
            Some(b) => encode_fill_value(b, &self.dtype, self.endian),
        }
    }

    /// The `.zarray` object.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("chunks".into(), Value::from(self.chunks.clone()));
        m.insert("compressor".into(), self.compressor.clone());
        if let Some(sep) = self.dimension_separator {
            m.insert("dimension_separator".into(), Value::from(sep.to_string()));
        }
        m.insert("dtype".into(), self.dtype_json());
        m.insert("fill_value".into(), self.fill_value_json());
        m.insert("filters".into(), self.filters.clone());
        m.insert(
            "order".into(),
            Value::from(if self.order == Order::F { "F" } else { "C" }),
        );
        m.insert("shape".into(), Value::from(self.shape.clone()));
        m.insert("zarr_format".into(), Value::from(2));
        Value::Object(m)
    }

    /// The `.zarray` bytes, strict JSON in zarr-python's layout.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        to_json_pretty(&self.to_json())
    }

    /// The codec pipeline of the filters and compressor, told the item size (blosc typesize).
    pub fn pipeline(&self) -> crate::Result<Pipeline> {
        let mut p = Pipeline::from_zarr_json(&self.compressor, &self.filters)?;
        p.set_dtype(&self.dtype, self.endian);
        Ok(p)
    }

    /// Decode one stored chunk into `out` (exactly [`ArrayMetadataV2::chunk_bytes`] bytes) as
    /// native-endian values in the chunk's order: the pipeline, then a byte swap to native.
    /// A chunk that decodes to a different size is an error.
    pub fn decode_chunk_into(
        &self,
        pipeline: &Pipeline,
        data: &[u8],
        out: &mut [u8],
    ) -> crate::Result<()> {
        crate::check_size("zarr chunk", self.chunk_bytes(), out.len())?;
        pipeline.decode_into(data, out)?;
        self.dtype.swap_to_native(self.endian, out);
        Ok(())
    }

    /// Encode one chunk of native-endian values (chunk order, full size): byte swap to the stored
    /// order, then the pipeline.
    pub fn encode_chunk(&self, pipeline: &Pipeline, native: &[u8]) -> crate::Result<Vec<u8>> {
        crate::check_size("zarr chunk", self.chunk_bytes(), native.len())?;
        if self.dtype.swaps_from(self.endian) {
            let mut v = native.to_vec();
            self.dtype.swap_from_native(self.endian, &mut v);
            pipeline.encode(&v)
        } else {
            pipeline.encode(native)
        }
    }

    /// Encode one native-endian chunk into `out` (replacing its contents): as
    /// [`ArrayMetadataV2::encode_chunk`], reusing `out`'s allocation.
    pub fn encode_chunk_into(
        &self,
        pipeline: &Pipeline,
        native: &[u8],
        out: &mut Vec<u8>,
    ) -> crate::Result<()> {
        crate::check_size("zarr chunk", self.chunk_bytes(), native.len())?;
        if self.dtype.swaps_from(self.endian) {
            let mut v = native.to_vec();
            self.dtype.swap_from_native(self.endian, &mut v);
            pipeline.encode_into(&v, out)
        } else {
            pipeline.encode_into(native, out)
        }
    }

    /// True when a native-endian chunk consists only of the fill value (NaN fill matches any NaN).
    /// Always false when there is no fill value (zarr-python's rule).
    pub fn is_fill_chunk(&self, native: &[u8]) -> bool {
        match &self.fill_value {
            Some(fill) => is_fill(&self.dtype, fill, native),
            None => false,
        }
    }
}

/// True when native-endian `data` holds only the element `fill` of `dtype` (a NaN fill matches
/// any NaN); false when `fill` is empty or does not divide `data`. Compares runs of the repeated
/// pattern (memcmp), not element by element.
pub fn is_fill(dtype: &DataType, fill: &[u8], native: &[u8]) -> bool {
    let n = fill.len();
    if n == 0 || !native.len().is_multiple_of(n) {
        return false;
    }
    match dtype {
        DataType::Float32 => float_all_eq::<4>(native, fill, |b| f32::from_ne_bytes(b).is_nan()),
        DataType::Float64 => float_all_eq::<8>(native, fill, |b| f64::from_ne_bytes(b).is_nan()),
        DataType::Float16 => {
            float_all_eq::<2>(native, fill, |b| half::f16::from_ne_bytes(b).is_nan())
        }
        _ if fill.iter().all(|&b| b == 0) => native.iter().all(|&b| b == 0),
        _ => {
            let pattern: Vec<u8> = fill.iter().copied().cycle().take(n * 64).collect();
            native
                .chunks(pattern.len())
                .all(|c| c == &pattern[..c.len()])
        }
    }
}

fn float_all_eq<const N: usize>(
    data: &[u8],
    fill: &[u8],
    is_nan: impl Fn([u8; N]) -> bool,
) -> bool {
    let Ok(f) = <[u8; N]>::try_from(fill) else {
        return false;
    };
    if is_nan(f) {
        data.chunks_exact(N)
            .all(|c| <[u8; N]>::try_from(c).is_ok_and(&is_nan))
    } else {
        data.chunks_exact(N).all(|c| c == f)
    }
}

/// Parse a `.zarray` dtype: a numpy typestr or a (nested) record list `[[name, dtype(, shape)], ...]`.
pub fn parse_dtype(v: &Value) -> MResult<(DataType, Endian)> {
    let d = json_to_descr(v, 0)?;
    let (dt, e) = DataType::from_descr(&d).map_err(|e| invalid("dtype", e.to_string()))?;
    if dt.size() == 0 {
        return Err(invalid("dtype", format!("{v} has zero-sized elements")));
    }
    Ok((dt, e))
}

fn json_to_descr(v: &Value, depth: usize) -> MResult<Descr> {
    if depth > 32 {
        return Err(invalid("dtype", "records nested too deeply"));
    }
    match v {
        Value::String(s) => {
            if s.ends_with('O') || s == "|O" {
                return Err(invalid(
                    "dtype",
                    "object (|O) arrays have no fixed-size element type (nd-zarr reads those of \
                     strings and bytes as numpy U/S)",
                ));
            }
            Ok(Descr::Simple(s.clone()))
        }
        Value::Array(fields) => {
            if fields.is_empty() {
                return Err(invalid("dtype", "empty record"));
            }
            let mut out = Vec::with_capacity(fields.len());
            for f in fields {
                let parts = f
                    .as_array()
                    .filter(|p| p.len() == 2 || p.len() == 3)
                    .ok_or_else(|| invalid("dtype", format!("bad record field {f}")))?;
                let name = parts[0] // ok: len >= 2
                    .as_str()
                    .ok_or_else(|| {
                        invalid("dtype", format!("field name {} is not a string", parts[0]))
                    })?
                    .to_string();
                let descr = json_to_descr(&parts[1], depth + 1)?; // ok: len >= 2
                let shape = match parts.get(2) {
                    None => vec![],
                    Some(Value::Number(n)) => vec![n
                        .as_u64()
                        .and_then(|x| usize::try_from(x).ok())
                        .ok_or_else(|| invalid("dtype", format!("bad field shape {n}")))?],
                    Some(Value::Array(a)) => a
                        .iter()
                        .map(|x| {
                            x.as_u64()
                                .and_then(|x| usize::try_from(x).ok())
                                .ok_or_else(|| invalid("dtype", format!("bad field shape {x}")))
                        })
                        .collect::<MResult<Vec<_>>>()?,
                    Some(other) => {
                        return Err(invalid("dtype", format!("bad field shape {other}")))
                    }
                };
                shape
                    .iter()
                    .try_fold(1usize, |a, &b| a.checked_mul(b))
                    .filter(|&n| n <= 1 << 32)
                    .ok_or_else(|| invalid("dtype", "field shape too large"))?;
                out.push(DescrField { name, descr, shape });
            }
            Ok(Descr::Record(out))
        }
        other => Err(invalid(
            "dtype",
            format!("{other} is not a typestr or record list"),
        )),
    }
}

/// A numpy-style type description as Zarr v2 `.zarray` JSON: a typestr, or a record list of
/// `[name, descr]` / `[name, descr, shape]`.
pub fn descr_to_json(d: &Descr) -> Value {
    match d {
        Descr::Simple(s) => Value::from(s.clone()),
        Descr::Record(fields) => Value::Array(
            fields
                .iter()
                .map(|f| {
                    let mut v = vec![Value::from(f.name.clone()), descr_to_json(&f.descr)];
                    if !f.shape.is_empty() {
                        v.push(Value::from(f.shape.clone()));
                    }
                    Value::Array(v)
                })
                .collect(),
        ),
    }
}

fn json_f64(v: &Value) -> MResult<f64> {
    match v {
        Value::Number(n) => n
            .as_f64()
            .ok_or_else(|| invalid("fill_value", format!("{n} is not a number"))),
        Value::String(s) => match s.as_str() {
            "NaN" | "nan" => Ok(f64::NAN),
            "Infinity" | "inf" => Ok(f64::INFINITY),
            "-Infinity" | "-inf" => Ok(f64::NEG_INFINITY),
            other => other
                .trim()
                .parse::<f64>()
                .map_err(|_| invalid("fill_value", format!("'{other}' is not a number"))),
        },
        Value::Bool(b) => Ok(f64::from(u8::from(*b))),
        other => Err(invalid("fill_value", format!("{other} is not a number"))),
    }
}

fn json_int(v: &Value) -> MResult<i128> {
    match v {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Ok(i128::from(i))
            } else if let Some(u) = n.as_u64() {
                Ok(i128::from(u))
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                if f.is_finite() && f.abs() < 1.8e19 {
                    Ok(f.trunc() as i128)
                } else {
                    Err(invalid("fill_value", format!("{n} is not an integer")))
                }
            }
        }
        Value::Bool(b) => Ok(i128::from(u8::from(*b))),
        Value::String(s) => s
            .trim()
            .parse::<i128>()
            .map_err(|_| invalid("fill_value", format!("'{s}' is not an integer"))),
        other => Err(invalid("fill_value", format!("{other} is not an integer"))),
    }
}

fn int_bytes(v: i128, dtype: &DataType) -> MResult<Vec<u8>> {
    /// `v` as a native-endian `T`, when it fits.
    fn fit<T: TryFrom<i128> + bytemuck::Pod>(v: i128, dtype: &DataType) -> MResult<Vec<u8>> {
        let x = T::try_from(v)
            .map_err(|_| invalid("fill_value", format!("{v} does not fit in {dtype}")))?;
        Ok(bytemuck::bytes_of(&x).to_vec())
    }
    match dtype {
        DataType::Int8 => fit::<i8>(v, dtype),
        DataType::Int16 => fit::<i16>(v, dtype),
        DataType::Int32 => fit::<i32>(v, dtype),
        DataType::Int64 | DataType::DateTime64(_) | DataType::TimeDelta64(_) => {
            fit::<i64>(v, dtype)
        }
        DataType::UInt8 => fit::<u8>(v, dtype),
        DataType::UInt16 => fit::<u16>(v, dtype),
        DataType::UInt32 => fit::<u32>(v, dtype),
        DataType::UInt64 => fit::<u64>(v, dtype),
        other => Err(invalid(
            "fill_value",
            format!("{other} is not an integer type"),
        )),
    }
}

fn float_bytes(f: f64, dtype: &DataType) -> Vec<u8> {
    match dtype {
        DataType::Float16 => half::f16::from_f64(f).to_ne_bytes().to_vec(),
        DataType::Float32 | DataType::Complex64 => (f as f32).to_ne_bytes().to_vec(),
        _ => f.to_ne_bytes().to_vec(),
    }
}

/// `b` cut or padded with zeros to `n` bytes. The padding is a zeroed allocation (its pages are
/// not touched): an element can be up to 2 GiB ([`nd_core::dtype::MAX_ITEMSIZE`]) while its fill
/// value in the metadata is a few bytes.
fn fixed(mut b: Vec<u8>, n: usize) -> Vec<u8> {
    if b.len() >= n {
        b.truncate(n);
        return b;
    }
    let mut out = vec![0u8; n];
    out[..b.len()].copy_from_slice(&b);
    out
}

/// The text numpy makes of a non-string JSON fill value for a string dtype (`np.array(v,
/// dtype="S4")`): Python's `str` of the number or boolean (`1.5`, `-1`, `True`, `1e+20`), and of
/// the one element of a one-element list (numpy broadcasts it). Other lists and objects are
/// refused: numpy would broadcast a list over the chunk's last axis, and the text of an object
/// is Python's `repr` of a dict.
fn python_str(v: &Value) -> MResult<String> {
    match v {
        Value::Bool(true) => Ok("True".into()),
        Value::Bool(false) => Ok("False".into()),
        Value::Number(n) => Ok(match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (None, Some(u), _) => u.to_string(),
            // serde_json reads an integer beyond 64 bits as a float: an integral value that
            // large is taken for an integer literal (Python's `str(2**70)` prints every digit;
            // a float literal that large, `1e20`, would be `1e+20` in Python: not told apart)
            (None, None, Some(f)) if f.fract() == 0.0 && f.abs() >= 9.2e18 && f.abs() < 1e300 => {
                format!("{f:.0}")
            }
            (None, None, Some(f)) => python_float_repr(f),
            _ => return Err(invalid("fill_value", format!("{n} is not a number"))),
        }),
        Value::Array(a) if a.len() == 1 => python_str(&a[0]), // ok: len 1
        Value::String(s) => Ok(s.clone()),
        other => Err(invalid(
            "fill_value",
            format!("{other} cannot be the fill value of a string data type"),
        )),
    }
}

/// Python's `repr` of a float: the shortest digits that read back to it, in fixed notation
/// (with `.0` when integral) for decimal exponents -4 to 15, else `d.ddde+XX`.
fn python_float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.into();
    }
    let sci = format!("{f:e}"); // shortest round-trip digits, `1.5e0`, `-1e20`
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..16).contains(&exp) {
        let s = format!("{f}");
        if s.contains('.') {
            s
        } else {
            format!("{s}.0")
        }
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    }
}

/// Decode a `.zarray` fill value to one native-endian element (`None` for null), as zarr-python's
/// `Metadata2.decode_fill_value` does.
pub fn decode_fill_value(v: &Value, dtype: &DataType, endian: Endian) -> MResult<Option<Vec<u8>>> {
    if v.is_null() {
        return Ok(None);
    }
    let b64 = |s: &str| {
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(|e| invalid("fill_value", format!("bad base64 '{s}': {e}")))
    };
    let out = match dtype {
        DataType::Bool => match v {
            Value::Bool(b) => vec![u8::from(*b)],
            other => vec![u8::from(json_f64(other)? != 0.0)],
        },
        DataType::Float16 | DataType::Float32 | DataType::Float64 => {
            float_bytes(json_f64(v)?, dtype)
        }
        DataType::Complex64 | DataType::Complex128 => {
            let pair = v.as_array().filter(|a| a.len() == 2).ok_or_else(|| {
                invalid("fill_value", format!("complex fill {v} is not [re, im]"))
            })?;
            let (re, im) = (json_f64(&pair[0])?, json_f64(&pair[1])?); // ok: len 2
                                                                       // zarr-python computes `re + 1j * im` in Python complex arithmetic: a NaN or
                                                                       // infinite imaginary part turns the real part into NaN.
            let (jr, ji) = (0.0 * im - 1.0 * 0.0, 0.0 * 0.0 + 1.0 * im);
            let mut b = float_bytes(re + jr, dtype);
            b.extend(float_bytes(0.0 + ji, dtype));
            b
        }
        DataType::DateTime64(_) | DataType::TimeDelta64(_) => match v {
            Value::String(s) if s == "NaT" => i64::MIN.to_ne_bytes().to_vec(),
            other => int_bytes(json_int(other)?, dtype)?,
        },
        d if d.is_integer() => int_bytes(json_int(v)?, dtype)?,
        DataType::Bytes(n) => {
            let raw = match v {
                // zarr-python falls back to the value itself when it is not base64
                Value::String(s) => b64(s).unwrap_or_else(|_| s.as_bytes().to_vec()),
                other => python_str(other)?.into_bytes(),
            };
            fixed(raw, *n)
        }
        DataType::Ucs4(n) => {
            let s = match v {
                Value::String(s) => s.clone(),
                other => python_str(other)?,
            };
            let b: Vec<u8> = s
                .chars()
                .take(*n)
                .flat_map(|c| (c as u32).to_ne_bytes())
                .collect();
            fixed(b, 4 * n)
        }
        DataType::Raw(n) => {
            let s = v
                .as_str()
                .ok_or_else(|| invalid("fill_value", format!("{v} is not base64 text")))?;
            fixed(b64(s)?, *n)
        }
        DataType::Struct(st) => {
            let s = v
                .as_str()
                .ok_or_else(|| invalid("fill_value", format!("{v} is not base64 text")))?;
            let mut b = fixed(b64(s)?, st.itemsize);
            dtype.swap_to_native(endian, &mut b);
            b
        }
        other => return Err(invalid("fill_value", format!("unsupported type {other}"))),
    };
    Ok(Some(out))
}

fn f64_json(f: f64) -> Value {
    if f.is_nan() {
        Value::from("NaN")
    } else if f == f64::INFINITY {
        Value::from("Infinity")
    } else if f == f64::NEG_INFINITY {
        Value::from("-Infinity")
    } else {
        Value::from(f)
    }
}

fn arr<const N: usize>(b: &[u8]) -> [u8; N] {
    let mut a = [0u8; N];
    let n = b.len().min(N);
    a[..n].copy_from_slice(&b[..n]); // ok: n <= both lengths
    a
}

/// Encode one native-endian element as a `.zarray` fill value, as zarr-python's
/// `Metadata2.encode_fill_value` does.
pub fn encode_fill_value(b: &[u8], dtype: &DataType, endian: Endian) -> Value {
    let b64 = |x: &[u8]| Value::from(base64::engine::general_purpose::STANDARD.encode(x));
    match dtype {
        DataType::Bool => Value::from(b.first().is_some_and(|&x| x != 0)),
        DataType::Int8 => Value::from(i8::from_ne_bytes(arr(b))),
        DataType::Int16 => Value::from(i16::from_ne_bytes(arr(b))),
        DataType::Int32 => Value::from(i32::from_ne_bytes(arr(b))),
        DataType::Int64 | DataType::DateTime64(_) | DataType::TimeDelta64(_) => {
            Value::from(i64::from_ne_bytes(arr(b)))
        }
        DataType::UInt8 => Value::from(u8::from_ne_bytes(arr(b))),
        DataType::UInt16 => Value::from(u16::from_ne_bytes(arr(b))),
        DataType::UInt32 => Value::from(u32::from_ne_bytes(arr(b))),
        DataType::UInt64 => Value::from(u64::from_ne_bytes(arr(b))),
        DataType::Float16 => f64_json(half::f16::from_ne_bytes(arr(b)).to_f64()),
        DataType::Float32 => f64_json(f64::from(f32::from_ne_bytes(arr(b)))),
        DataType::Float64 => f64_json(f64::from_ne_bytes(arr(b))),
        DataType::Complex64 => {
            let re = f32::from_ne_bytes(arr(b));
            let im = f32::from_ne_bytes(arr(b.get(4..).unwrap_or(&[])));
            Value::Array(vec![f64_json(re.into()), f64_json(im.into())])
        }
        DataType::Complex128 => {
            let re = f64::from_ne_bytes(arr(b));
            let im = f64::from_ne_bytes(arr(b.get(8..).unwrap_or(&[])));
            Value::Array(vec![f64_json(re), f64_json(im)])
        }
        // The whole element, trailing NULs included: zarr-python 2.18 drops them (numpy's bytes_
        // scalar does, so it writes "" for b"" and "eno=" for b"zz\0\0\0"), but tensorstore
        // refuses a base64 fill whose length is not the element size; zarr-python reads both
        // spellings as the same value.
        DataType::Bytes(_) | DataType::Raw(_) => b64(b),
        DataType::Struct(_) => {
            let mut v = b.to_vec();
            dtype.swap_from_native(endian, &mut v);
            b64(&v)
        }
        DataType::Ucs4(_) => {
            let s: String = b
                .chunks_exact(4)
                .map(|c| u32::from_ne_bytes(arr(c)))
                .take_while(|&u| u != 0)
                .map(|u| char::from_u32(u).unwrap_or('\u{fffd}'))
                .collect();
            Value::from(s)
        }
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(extra: &str) -> String {
        format!(
            r#"{{"zarr_format": 2, "shape": [5, 6], "chunks": [2, 4], "compressor": null,
            "order": "C", "filters": null, {extra}}}"#
        )
    }

    #[test]
    fn lenient_json() {
        let v = parse_json_lenient(
            br#"{"a": NaN, "b": [Infinity, -Infinity], "c": "NaN x", "d": "\"NaN"}"#,
        )
        .unwrap();
        assert_eq!(v["a"], "NaN");
        assert_eq!(v["b"][1], "-Infinity");
        assert_eq!(v["c"], "NaN x");
        assert_eq!(v["d"], "\"NaN");
        assert!(parse_json_lenient(b"{\"a\": nan}").is_err());
        assert!(parse_json_lenient(b"{\"a\": 1").is_err());
    }

    #[test]
    fn fill_values() {
        let m =
            ArrayMetadataV2::parse(meta(r#""dtype": "<f8", "fill_value": "-Infinity""#).as_bytes())
                .unwrap();
        assert_eq!(m.fill_value, Some(f64::NEG_INFINITY.to_ne_bytes().to_vec()));
        assert_eq!(m.fill_value_json(), "-Infinity");
        let m = ArrayMetadataV2::parse(
            meta(r#""dtype": ">u8", "fill_value": 18446744073709551615"#).as_bytes(),
        )
        .unwrap();
        assert_eq!(m.fill_value, Some(u64::MAX.to_ne_bytes().to_vec()));
        assert!(
            ArrayMetadataV2::parse(meta(r#""dtype": "|u1", "fill_value": 256"#).as_bytes())
                .is_err()
        );
        let m = ArrayMetadataV2::parse(
            meta(r#""dtype": "<c8", "fill_value": [1.5, "NaN"]"#).as_bytes(),
        )
        .unwrap();
        let f = m.fill_value.clone().unwrap();
        // as zarr-python: 1.5 + 1j * nan is (nan+nanj)
        assert!(f32::from_ne_bytes(arr(&f)).is_nan());
        assert!(f32::from_ne_bytes(arr(&f[4..])).is_nan());
        let m = ArrayMetadataV2::parse(
            meta(r#""dtype": "<c16", "fill_value": [1.5, -2.0]"#).as_bytes(),
        )
        .unwrap();
        let f = m.fill_value.clone().unwrap();
        assert_eq!(f64::from_ne_bytes(arr(&f)), 1.5);
        assert_eq!(f64::from_ne_bytes(arr(&f[8..])), -2.0);
        let m = ArrayMetadataV2::parse(meta(r#""dtype": "|S3", "fill_value": "eno=""#).as_bytes())
            .unwrap();
        assert_eq!(m.fill_value.as_deref(), Some(&b"zz\0"[..]));
        // written as the whole element (tensorstore needs the item size), zarr-python reads it equal
        assert_eq!(m.fill_value_json(), "enoA");
        let m = ArrayMetadataV2::parse(meta(r#""dtype": ">U2", "fill_value": "é""#).as_bytes())
            .unwrap();
        assert_eq!(m.fill_value_json(), "é");
        let m =
            ArrayMetadataV2::parse(meta(r#""dtype": "<M8[ns]", "fill_value": "NaT""#).as_bytes())
                .unwrap();
        assert_eq!(m.fill_value, Some(i64::MIN.to_ne_bytes().to_vec()));
        let m = ArrayMetadataV2::parse(meta(r#""dtype": "<i2", "fill_value": null"#).as_bytes())
            .unwrap();
        assert_eq!(m.fill_value, None);
        assert!(!m.is_fill_chunk(&[0, 0]));
        let m = ArrayMetadataV2::parse(meta(r#""dtype": ">i4", "fill_value": -42"#).as_bytes())
            .unwrap();
        let mut chunk: Vec<u8> = (0..8 * 300).flat_map(|_| (-42i32).to_ne_bytes()).collect();
        assert!(m.is_fill_chunk(&chunk));
        chunk[4 * 299] = 1;
        assert!(!m.is_fill_chunk(&chunk));
        let m = ArrayMetadataV2::parse(meta(r#""dtype": "<f4", "fill_value": "NaN""#).as_bytes())
            .unwrap();
        let mut chunk: Vec<u8> = (0..8)
            .flat_map(|i| (f32::NAN * i as f32).to_ne_bytes())
            .collect();
        assert!(m.is_fill_chunk(&chunk));
        chunk[..4].copy_from_slice(&0f32.to_ne_bytes());
        assert!(!m.is_fill_chunk(&chunk));
    }

    #[test]
    fn impossible_shapes() {
        for bad in [
            r#""shape": [5], "chunks": [0], "dtype": "<i2", "fill_value": 0"#,
            r#""shape": [5, 5], "chunks": [2], "dtype": "<i2", "fill_value": 0"#,
            r#""shape": [18446744073709551615, 4], "chunks": [1, 1], "dtype": "<i2", "fill_value": 0"#,
            r#""shape": [5, 5], "chunks": [4294967296, 4294967296], "dtype": "<i2", "fill_value": 0"#,
            r#""shape": [-1], "chunks": [1], "dtype": "<i2", "fill_value": 0"#,
        ] {
            let s = format!(
                r#"{{"zarr_format": 2, "compressor": null, "order": "C", "filters": null, {bad}}}"#
            );
            assert!(ArrayMetadataV2::parse(s.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn structured_round_trip() {
        let text = meta(
            r#""dtype": [["a", "<i4"], ["p", [["x", ">f4"], ["y", "<f4"]]], ["m", "<i2", [2, 2]]], "fill_value": null"#,
        );
        let m = ArrayMetadataV2::parse(text.as_bytes()).unwrap();
        assert_eq!(m.dtype.size(), 4 + 8 + 8);
        let back = ArrayMetadataV2::parse(&m.to_json_bytes()).unwrap();
        assert_eq!(back, m);
        let j = String::from_utf8(m.to_json_bytes()).unwrap();
        assert!(
            j.starts_with("{\n    \"chunks\": [\n        2,\n        4\n    ],"),
            "{j}"
        );
    }

    /// A number, boolean or one-element list as the fill value of a string dtype: the text
    /// zarr-python 2 (numpy) makes of it (checked against zarr 2.18.7: `np.array(v, "S4")`).
    #[test]
    fn string_fill_values_given_as_numbers_read_as_numpy_makes_them() {
        let fill = |dt: &str, v: &str| {
            ArrayMetadataV2::parse(
                meta(&format!(r#""dtype": "{dt}", "fill_value": {v}"#)).as_bytes(),
            )
            .map(|m| m.fill_value.unwrap())
        };
        for (v, want) in [
            ("0", &b"0\0\0\0"[..]),
            ("1.5", &b"1.5\0"[..]),
            ("-1", &b"-1\0\0"[..]),
            ("1180591620717411303424", &b"1180"[..]),
            ("[1]", &b"1\0\0\0"[..]),
            ("true", &b"True"[..]),
            ("1e17", &b"1e+1"[..]),
            ("1e16", &b"1e+1"[..]),
            ("1e15", &b"1000"[..]),
            ("0.0001", &b"0.00"[..]),
        ] {
            assert_eq!(fill("|S4", v).unwrap(), want, "{v}");
        }
        let ucs4 =
            |s: &str| -> Vec<u8> { s.chars().flat_map(|c| (c as u32).to_ne_bytes()).collect() };
        assert_eq!(fill("<U3", "true").unwrap(), ucs4("Tru"));
        assert_eq!(fill("<U3", "[1]").unwrap(), ucs4("1\0\0"));
        assert_eq!(fill("<U3", "1e-05").unwrap(), ucs4("1e-"));
        assert!(fill("|S4", "[1, 2]").is_err());
        assert!(fill("|S4", r#"{"a": 1}"#).is_err());
    }
}
