//! The numcodecs filters: shuffle, delta, fixedscaleoffset, quantize, astype, packbits, categorize.
//!
//! Each works on a flat buffer of items whose numpy typestrs come from the config; byte order is
//! honoured on both sides (`>i2` items are read and written big-endian). Arithmetic follows numpy 2
//! (NEP 50: a Python scalar takes the array's type), so float32 data is computed in float32.

use crate::numeric::{check_items, NumType, Val};
use crate::{cfg_i64, cfg_str, check_limit as bound, check_size, Codec, Error, Result};
use serde_json::{json, Number, Value};

/// The astype of a config: the "astype" key, or `default` when it is absent or null.
fn astype_or(
    codec: &'static str,
    v: &Value,
    default: impl FnOnce() -> Result<NumType>,
) -> Result<NumType> {
    match v.get("astype") {
        None | Some(Value::Null) => default(),
        Some(Value::String(s)) => NumType::parse(codec, s),
        Some(x) => Err(Error::Config(format!("{codec}: bad astype {x}"))),
    }
}

/// The astype of a config: the "astype" key, or the dtype when it is absent or null.
fn astype_of(codec: &'static str, v: &Value, dtype: &NumType) -> Result<NumType> {
    astype_or(codec, v, || Ok(dtype.clone()))
}

/// Map every `from`-typed item of `data` to a `to`-typed item with `f`.
fn map_items(
    codec: &'static str,
    data: &[u8],
    from: &NumType,
    to: &NumType,
    out: &mut [u8],
    mut f: impl FnMut(Val) -> Val,
) -> Result<usize> {
    let need = check_mapped(codec, data, from, to, out)?;
    for (src, dst) in data
        .chunks_exact(from.size())
        .zip(out.chunks_exact_mut(to.size()))
    {
        to.write(f(from.read(src)), dst);
    }
    Ok(need)
}

/// Check that `data` is whole `from` items and `out` exactly as many `to` items; the byte count.
fn check_mapped(
    codec: &'static str,
    data: &[u8],
    from: &NumType,
    to: &NumType,
    out: &[u8],
) -> Result<usize> {
    let n = check_items(codec, data.len(), from.size())?;
    let need = n * to.size();
    check_size(codec, out.len(), need)?;
    Ok(need)
}

/// Decode into a new buffer of `mapped_len` bytes (bounded by `max_len`) with `decode_into`.
fn decode_alloc(
    codec: &'static str,
    data: &[u8],
    max_len: usize,
    from: &NumType,
    to: &NumType,
    decode_into: impl FnOnce(&[u8], &mut [u8]) -> Result<usize>,
) -> Result<Vec<u8>> {
    check_items(codec, data.len(), from.size())?;
    let len = mapped_len(data.len(), from, to);
    bound(codec, len, max_len)?;
    let mut out = vec![0u8; len];
    decode_into(data, &mut out)?;
    Ok(out)
}

/// Output size of mapping `len` bytes of `from` items to `to` items (0 when not whole items).
fn mapped_len(len: usize, from: &NumType, to: &NumType) -> usize {
    len / from.size() * to.size()
}

fn run_encode(
    codec: &'static str,
    data: &[u8],
    from: &NumType,
    to: &NumType,
    f: impl FnMut(Val) -> Val,
) -> Result<Vec<u8>> {
    check_items(codec, data.len(), from.size())?;
    let mut out = vec![0u8; mapped_len(data.len(), from, to)];
    map_items(codec, data, from, to, &mut out, f)?;
    Ok(out)
}

fn run_decode(
    codec: &'static str,
    data: &[u8],
    max_len: usize,
    from: &NumType,
    to: &NumType,
    f: impl FnMut(Val) -> Val,
) -> Result<Vec<u8>> {
    decode_alloc(codec, data, max_len, from, to, |d, o| {
        map_items(codec, d, from, to, o, f)
    })
}

// ---------------------------------------------------------------------------------------------

/// numcodecs `Shuffle` (`{"id": "shuffle", "elementsize": 4}`): byte `j` of item `i` goes to
/// position `j * count + i`. An element size of 0 or 1 leaves the data unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shuffle {
    /// Bytes per item.
    pub elementsize: usize,
}

impl Shuffle {
    /// From its numcodecs config.
    pub fn from_config(v: &Value) -> Result<Self> {
        let e = cfg_i64(v, "elementsize", 4)?;
        Ok(Shuffle {
            elementsize: usize::try_from(e)
                .map_err(|_| Error::Config(format!("shuffle: bad elementsize {e}")))?,
        })
    }

    fn check(&self, len: usize) -> Result<()> {
        if self.elementsize > 1 && len % self.elementsize != 0 {
            return Err(Error::corrupt(
                "shuffle",
                format!(
                    "{len} bytes is not a multiple of elementsize {}",
                    self.elementsize
                ),
            ));
        }
        Ok(())
    }

    /// `check`, and `out` exactly as long as `data`.
    fn check_into(&self, data: &[u8], out: &[u8]) -> Result<()> {
        self.check(data.len())?;
        check_size("shuffle", out.len(), data.len())
    }

    fn unshuffle_into(&self, data: &[u8], out: &mut [u8]) {
        if !crate::fast::unshuffle(self.elementsize, data, out) {
            self.unshuffle_generic(data, out);
        }
    }

    fn unshuffle_generic(&self, data: &[u8], out: &mut [u8]) {
        let es = self.elementsize;
        if es <= 1 {
            out.copy_from_slice(data);
            return;
        }
        let count = data.len() / es;
        for (j, plane) in data.chunks_exact(count.max(1)).enumerate().take(es) {
            for (i, &b) in plane.iter().enumerate() {
                out[i * es + j] = b; // ok: i < count, j < es
            }
        }
    }
}

impl Shuffle {
    /// `decode_into` by the byte-by-byte path only (benchmarks and tests compare the typed paths
    /// with it).
    #[doc(hidden)]
    pub fn decode_into_generic(&self, data: &[u8], out: &mut [u8]) -> Result<usize> {
        self.check_into(data, out)?;
        self.unshuffle_generic(data, out);
        Ok(out.len())
    }
}

impl Codec for Shuffle {
    fn id(&self) -> &str {
        "shuffle"
    }
    fn config(&self) -> Value {
        json!({"id": "shuffle", "elementsize": self.elementsize})
    }
    fn encode(&self, data: &[u8]) -> Result<Vec<u8>> {
        self.check(data.len())?;
        let es = self.elementsize;
        if es <= 1 {
            return Ok(data.to_vec());
        }
        let count = data.len() / es;
        let mut out = vec![0u8; data.len()];
        for (i, item) in data.chunks_exact(es).enumerate() {
            for (j, &b) in item.iter().enumerate() {
                out[j * count + i] = b; // ok: j < es, i < count
            }
        }
        Ok(out)
    }
    fn decode(&self, data: &[u8], max_len: usize) -> Result<Vec<u8>> {
        self.check(data.len())?;
        bound("shuffle", data.len(), max_len)?;
        let mut out = vec![0u8; data.len()];
        self.unshuffle_into(data, &mut out);
        Ok(out)
    }
    fn decode_into(&self, data: &[u8], out: &mut [u8]) -> Result<usize> {
        self.check_into(data, out)?;
        self.unshuffle_into(data, out);
        Ok(out.len())
    }
}

// ---------------------------------------------------------------------------------------------

/// numcodecs `Delta` (`{"id": "delta", "dtype": "<i4", "astype": "<i2"}`): the first item as is,
/// then the differences of neighbours computed in `dtype` (wrapping), stored as `astype`.
/// Decoding accumulates in `dtype`, as `np.cumsum(enc, out=dec)` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delta {
    dtype: NumType,
    astype: NumType,
}

impl Delta {
    /// From its numcodecs config.
    pub fn from_config(v: &Value) -> Result<Self> {
        let dtype = NumType::parse("delta", cfg_str(v, "dtype")?)?;
        let astype = astype_of("delta", v, &dtype)?;
        Ok(Delta { dtype, astype })
    }

    fn decode_to(&self, data: &[u8], out: &mut [u8]) -> Result<usize> {
        let need = check_mapped("delta", data, &self.astype, &self.dtype, out)?;
        if crate::fast::delta(&self.astype, &self.dtype, data, out).is_some() {
            return Ok(need);
        }
        self.decode_into_generic(data, out)
    }

    /// `decode_into` by the element-by-element path only (benchmarks and tests compare the typed
    /// paths with it).
    #[doc(hidden)]
    pub fn decode_into_generic(&self, data: &[u8], out: &mut [u8]) -> Result<usize> {
        let mut acc: Option<Val> = None;
        let dt = &self.dtype;
        map_items("delta", data, &self.astype, &self.dtype, out, |v| {
            let v = dt.cast(v);
            let next = match acc {
                None => v,
                Some(a) => dt.add(a, v),
            };
            acc = Some(next);
            next
        })
    }
}

impl Codec for Delta {
    fn id(&self) -> &str {
        "delta"
    }
    fn config(&self) -> Value {
        json!({"id": "delta", "dtype": self.dtype.typestr, "astype": self.astype.typestr})
    }
    fn encode(&self, data: &[u8]) -> Result<Vec<u8>> {
        let mut prev: Option<Val> = None;
        let dt = &self.dtype;
        run_encode("delta", data, &self.dtype, &self.astype, |v| {
            let d = match prev {
                None => v,
                Some(p) => dt.sub(v, p),
            };
            prev = Some(v);
            d
        })
    }
    fn decode(&self, data: &[u8], max_len: usize) -> Result<Vec<u8>> {
        decode_alloc("delta", data, max_len, &self.astype, &self.dtype, |d, o| {
            self.decode_to(d, o)
        })
    }
    fn decode_into(&self, data: &[u8], out: &mut [u8]) -> Result<usize> {
        self.decode_to(data, out)
    }
    fn encoded_len(&self, decoded_len: usize) -> usize {
        mapped_len(decoded_len, &self.dtype, &self.astype)
    }
    fn encoded_itemsize(&self, _itemsize: usize) -> usize {
        self.astype.size()
    }
}

// ---------------------------------------------------------------------------------------------

/// A Python number from a config, remembering whether it was an int or a float
/// (numpy treats them differently).
#[derive(Debug, Clone, PartialEq)]
enum PyNum {
    Int(i64),
    Float(f64),
}

impl PyNum {
    fn parse(codec: &str, v: &Value, key: &str) -> Result<PyNum> {
        let x = v
            .get(key)
            .ok_or_else(|| Error::Config(format!("{codec}: missing {key:?}")))?;
        if let Some(i) = x.as_i64() {
            Ok(PyNum::Int(i))
        } else if let Some(f) = x.as_f64() {
            Ok(PyNum::Float(f))
        } else {
            Err(Error::Config(format!(
                "{codec}: {key:?} must be a number, got {x}"
            )))
        }
    }
    fn json(&self) -> Value {
        match self {
            PyNum::Int(i) => json!(i),
            PyNum::Float(f) => Number::from_f64(*f)
                .map(Value::Number)
                .unwrap_or(Value::Null),
        }
    }
    fn val(&self) -> Val {
        match self {
            PyNum::Int(i) => Val::I(*i),
            PyNum::Float(f) => Val::F(*f),
        }
    }
    fn f64(&self) -> f64 {
        self.val().as_f64()
    }
}

/// numcodecs `FixedScaleOffset` (`{"id": "fixedscaleoffset", "offset": 1000, "scale": 10,
/// "dtype": "<f8", "astype": "<u2"}`): encode `round_half_even((x - offset) * scale)` as astype;
/// decode `enc / scale + offset` cast to dtype.
#[derive(Debug, Clone, PartialEq)]
pub struct FixedScaleOffset {
    offset: PyNum,
    scale: PyNum,
    dtype: NumType,
    astype: NumType,
}

impl FixedScaleOffset {
    /// From its numcodecs config.
    pub fn from_config(v: &Value) -> Result<Self> {
        let dtype = NumType::parse("fixedscaleoffset", cfg_str(v, "dtype")?)?;
        let astype = astype_of("fixedscaleoffset", v, &dtype)?;
        Ok(FixedScaleOffset {
            offset: PyNum::parse("fixedscaleoffset", v, "offset")?,
            scale: PyNum::parse("fixedscaleoffset", v, "scale")?,
            dtype,
            astype,
        })
    }

    /// `decode_into` by the element-by-element path only (benchmarks and tests compare the typed
    /// paths with it).
    #[doc(hidden)]
    pub fn decode_into_generic(&self, data: &[u8], out: &mut [u8]) -> Result<usize> {
        map_items(
            "fixedscaleoffset",
            data,
            &self.astype,
            &self.dtype,
            out,
            self.decode_fn(),
        )
    }

    fn decode_fn(&self) -> impl Fn(Val) -> Val + '_ {
        // enc / scale: true division, float64 for integer enc, enc's float type otherwise.
        let float_enc = self.astype.is_float();
        move |e: Val| {
            let q = if float_enc {
                let s = self.astype.round_float(self.scale.f64());
                let o = self.astype.round_float(self.offset.f64());
                let q = self.astype.round_float(e.as_f64() / s);
                self.astype.round_float(q + o)
            } else {
                e.as_f64() / self.scale.f64() + self.offset.f64()
            };
            Val::F(q)
        }
    }
}

impl Codec for FixedScaleOffset {
    fn id(&self) -> &str {
        "fixedscaleoffset"
    }
    fn config(&self) -> Value {
        json!({
            "id": "fixedscaleoffset",
            "scale": self.scale.json(),
            "offset": self.offset.json(),
            "dtype": self.dtype.typestr,
            "astype": self.astype.typestr,
        })
    }
    fn encode(&self, data: &[u8]) -> Result<Vec<u8>> {
        let dt = &self.dtype;
        let int_math = !dt.is_float()
            && matches!(self.offset, PyNum::Int(_))
            && matches!(self.scale, PyNum::Int(_));
        run_encode("fixedscaleoffset", data, dt, &self.astype, |x| {
            if int_math {
                // integer array with Python ints: stays in the array's integer type, wrapping.
                let d = dt.sub(x, dt.cast(self.offset.val()));
                dt.mul(d, dt.cast(self.scale.val()))
            } else if dt.is_float() {
                let o = dt.round_float(self.offset.f64());
                let s = dt.round_float(self.scale.f64());
                let d = dt.round_float(x.as_f64() - o);
                Val::F(dt.round_float(d * s).round_ties_even())
            } else {
                // integer array with a float scalar: float64.
                let d = if let PyNum::Int(o) = self.offset {
                    // int - int stays integer, then * float
                    dt.sub(x, dt.cast(Val::I(o))).as_f64()
                } else {
                    x.as_f64() - self.offset.f64()
                };
                Val::F((d * self.scale.f64()).round_ties_even())
            }
        })
    }
    fn decode(&self, data: &[u8], max_len: usize) -> Result<Vec<u8>> {
        decode_alloc(
            "fixedscaleoffset",
            data,
            max_len,
            &self.astype,
            &self.dtype,
            |d, o| self.decode_into(d, o),
        )
    }
    fn decode_into(&self, data: &[u8], out: &mut [u8]) -> Result<usize> {
        let need = check_mapped("fixedscaleoffset", data, &self.astype, &self.dtype, out)?;
        let (scale, offset) = (self.scale.f64(), self.offset.f64());
        if crate::fast::scale_offset(&self.astype, &self.dtype, scale, offset, data, out).is_some()
        {
            return Ok(need);
        }
        self.decode_into_generic(data, out)
    }
    fn encoded_len(&self, decoded_len: usize) -> usize {
        mapped_len(decoded_len, &self.dtype, &self.astype)
    }
    fn encoded_itemsize(&self, _itemsize: usize) -> usize {
        self.astype.size()
    }
}

// ---------------------------------------------------------------------------------------------

/// numcodecs `Quantize` (`{"id": "quantize", "digits": 3, "dtype": "<f8", "astype": "<f4"}`):
/// encode `round_half_even(x * 2^bits) / 2^bits` with `bits = ceil(log2(10^digits))`, as astype;
/// decoding is a plain cast back to dtype.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantize {
    /// Decimal digits kept.
    pub digits: i64,
    dtype: NumType,
    astype: NumType,
}

impl Quantize {
    /// From its numcodecs config.
    pub fn from_config(v: &Value) -> Result<Self> {
        let digits = cfg_i64(v, "digits", 0)?;
        if v.get("digits").is_none() {
            return Err(Error::Config("quantize: missing \"digits\"".into()));
        }
        let dtype = NumType::parse("quantize", cfg_str(v, "dtype")?)?;
        let astype = astype_of("quantize", v, &dtype)?;
        if !dtype.is_float() || !astype.is_float() {
            return Err(Error::Config(
                "quantize: only floating point data types are supported".into(),
            ));
        }
        if !(-300..=300).contains(&digits) {
            return Err(Error::Config(format!(
                "quantize: digits {digits} out of range"
            )));
        }
        Ok(Quantize {
            digits,
            dtype,
            astype,
        })
    }

    /// The power-of-two scale numcodecs computes from `digits`.
    pub fn scale(&self) -> f64 {
        let precision = 10f64.powf(-(self.digits as f64));
        let e = precision.log10();
        let e = if e < 0.0 { e.floor() } else { e.ceil() };
        let bits = 10f64.powf(-e).log2().ceil();
        2f64.powf(bits)
    }
}

impl Codec for Quantize {
    fn id(&self) -> &str {
        "quantize"
    }
    fn config(&self) -> Value {
        json!({
            "id": "quantize",
            "digits": self.digits,
            "dtype": self.dtype.typestr,
            "astype": self.astype.typestr,
        })
    }
    fn encode(&self, data: &[u8]) -> Result<Vec<u8>> {
        let dt = &self.dtype;
        let s = dt.round_float(self.scale());
        run_encode("quantize", data, dt, &self.astype, |x| {
            let m = dt.round_float(s * x.as_f64()).round_ties_even();
            Val::F(dt.round_float(m / s))
        })
    }
    fn decode(&self, data: &[u8], max_len: usize) -> Result<Vec<u8>> {
        run_decode("quantize", data, max_len, &self.astype, &self.dtype, |v| v)
    }
    fn decode_into(&self, data: &[u8], out: &mut [u8]) -> Result<usize> {
        map_items("quantize", data, &self.astype, &self.dtype, out, |v| v)
    }
    fn encoded_len(&self, decoded_len: usize) -> usize {
        mapped_len(decoded_len, &self.dtype, &self.astype)
    }
    fn encoded_itemsize(&self, _itemsize: usize) -> usize {
        self.astype.size()
    }
}

// ---------------------------------------------------------------------------------------------

/// numcodecs `AsType` (`{"id": "astype", "encode_dtype": "<f4", "decode_dtype": "<f8"}`):
/// numpy `astype` casts both ways.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsType {
    encode_dtype: NumType,
    decode_dtype: NumType,
}

impl AsType {
    /// From its numcodecs config.
    pub fn from_config(v: &Value) -> Result<Self> {
        Ok(AsType {
            encode_dtype: NumType::parse("astype", cfg_str(v, "encode_dtype")?)?,
            decode_dtype: NumType::parse("astype", cfg_str(v, "decode_dtype")?)?,
        })
    }
}

impl AsType {
    /// `decode_into` by the element-by-element path only (benchmarks and tests compare the typed
    /// paths with it).
    #[doc(hidden)]
    pub fn decode_into_generic(&self, data: &[u8], out: &mut [u8]) -> Result<usize> {
        map_items(
            "astype",
            data,
            &self.encode_dtype,
            &self.decode_dtype,
            out,
            |v| v,
        )
    }
}

impl Codec for AsType {
    fn id(&self) -> &str {
        "astype"
    }
    fn config(&self) -> Value {
        json!({
            "id": "astype",
            "encode_dtype": self.encode_dtype.typestr,
            "decode_dtype": self.decode_dtype.typestr,
        })
    }
    fn encode(&self, data: &[u8]) -> Result<Vec<u8>> {
        run_encode(
            "astype",
            data,
            &self.decode_dtype,
            &self.encode_dtype,
            |v| v,
        )
    }
    fn decode(&self, data: &[u8], max_len: usize) -> Result<Vec<u8>> {
        decode_alloc(
            "astype",
            data,
            max_len,
            &self.encode_dtype,
            &self.decode_dtype,
            |d, o| self.decode_into(d, o),
        )
    }
    fn decode_into(&self, data: &[u8], out: &mut [u8]) -> Result<usize> {
        let need = check_mapped("astype", data, &self.encode_dtype, &self.decode_dtype, out)?;
        if crate::fast::cast(&self.encode_dtype, &self.decode_dtype, data, out).is_some() {
            return Ok(need);
        }
        self.decode_into_generic(data, out)
    }
    fn encoded_len(&self, decoded_len: usize) -> usize {
        mapped_len(decoded_len, &self.decode_dtype, &self.encode_dtype)
    }
    fn encoded_itemsize(&self, _itemsize: usize) -> usize {
        self.encode_dtype.size()
    }
}

// ---------------------------------------------------------------------------------------------

/// numcodecs `PackBits` (`{"id": "packbits"}`): booleans packed 8 to a byte, most significant
/// bit first, after one byte giving the number of padding bits in the last byte.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PackBits;

impl PackBits {
    /// From its numcodecs config.
    pub fn from_config(_v: &Value) -> Result<Self> {
        Ok(PackBits)
    }

    fn unpacked_len(data: &[u8]) -> Result<usize> {
        let (&pad, rest) = data
            .split_first()
            .ok_or_else(|| Error::corrupt("packbits", "empty input (no padding byte)"))?;
        if pad > 7 || (rest.is_empty() && pad != 0) {
            return Err(Error::corrupt(
                "packbits",
                format!("bad padding count {pad}"),
            ));
        }
        Ok(rest.len() * 8 - pad as usize)
    }

    fn unpack(data: &[u8], out: &mut [u8]) {
        for (i, o) in out.iter_mut().enumerate() {
            let byte = data[1 + i / 8]; // ok: out.len() <= (data.len() - 1) * 8
            *o = (byte >> (7 - (i % 8))) & 1;
        }
    }
}

impl Codec for PackBits {
    fn id(&self) -> &str {
        "packbits"
    }
    fn config(&self) -> Value {
        json!({"id": "packbits"})
    }
    fn encode(&self, data: &[u8]) -> Result<Vec<u8>> {
        let mut out = vec![0u8; 1 + data.len().div_ceil(8)];
        out[0] = ((8 - data.len() % 8) % 8) as u8; // ok: out has at least one byte
        for (i, &b) in data.iter().enumerate() {
            if b != 0 {
                out[1 + i / 8] |= 0x80 >> (i % 8); // ok: i / 8 < div_ceil(len, 8)
            }
        }
        Ok(out)
    }
    fn decode(&self, data: &[u8], max_len: usize) -> Result<Vec<u8>> {
        let n = PackBits::unpacked_len(data)?;
        bound("packbits", n, max_len)?;
        let mut out = vec![0u8; n];
        PackBits::unpack(data, &mut out);
        Ok(out)
    }
    fn decode_into(&self, data: &[u8], out: &mut [u8]) -> Result<usize> {
        let n = PackBits::unpacked_len(data)?;
        check_size("packbits", out.len(), n)?;
        PackBits::unpack(data, out);
        Ok(n)
    }
    fn encoded_len(&self, decoded_len: usize) -> usize {
        1 + decoded_len.div_ceil(8)
    }
}

// ---------------------------------------------------------------------------------------------

/// numcodecs `Categorize` (`{"id": "categorize", "labels": [...], "dtype": "<U5", "astype": "|u1"}`):
/// fixed-width unicode strings replaced by 1 + their index in `labels` (0 for anything else).
/// Object (`|O`) arrays are not supported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Categorize {
    labels: Vec<String>,
    /// Characters per string.
    nchars: usize,
    big: bool,
    dtype: String,
    astype: NumType,
}

impl Categorize {
    /// From its numcodecs config.
    pub fn from_config(v: &Value) -> Result<Self> {
        let dtype = cfg_str(v, "dtype")?;
        let (dt, endian) = nd_core::dtype::DataType::from_typestr(dtype)
            .map_err(|e| Error::Config(format!("categorize: {e}")))?;
        let nchars = match dt {
            nd_core::dtype::DataType::Ucs4(n) if n > 0 => n,
            _ => {
                return Err(Error::Unsupported(format!(
                    "categorize: dtype {dtype:?} (only fixed-width unicode is supported)"
                )))
            }
        };
        let labels = v
            .get("labels")
            .and_then(Value::as_array)
            .ok_or_else(|| Error::Config("categorize: missing \"labels\" list".into()))?
            .iter()
            .map(|l| {
                l.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| Error::Config(format!("categorize: label {l} is not a string")))
            })
            .collect::<Result<Vec<_>>>()?;
        let astype = astype_or("categorize", v, || NumType::parse("categorize", "|u1"))?;
        Ok(Categorize {
            labels,
            nchars,
            big: endian == nd_core::dtype::Endian::Big,
            dtype: dt.typestr(endian),
            astype,
        })
    }

    fn item_size(&self) -> usize {
        self.nchars * 4
    }

    fn chars(&self, item: &[u8]) -> Vec<u32> {
        let mut v: Vec<u32> = item
            .chunks_exact(4)
            .map(|c| {
                let a = [c[0], c[1], c[2], c[3]]; // ok: chunks of 4
                if self.big {
                    u32::from_be_bytes(a)
                } else {
                    u32::from_le_bytes(a)
                }
            })
            .collect();
        while v.last() == Some(&0) {
            v.pop();
        }
        v
    }

    fn write_label(&self, label: Option<&String>, out: &mut [u8]) {
        out.fill(0);
        if let Some(l) = label {
            for (c, dst) in l.chars().zip(out.chunks_exact_mut(4)) {
                let b = if self.big {
                    (c as u32).to_be_bytes()
                } else {
                    (c as u32).to_le_bytes()
                };
                dst.copy_from_slice(&b);
            }
        }
    }

    fn decode_to(&self, data: &[u8], out: &mut [u8]) -> Result<usize> {
        let n = check_items("categorize", data.len(), self.astype.size())?;
        let need = n * self.item_size();
        check_size("categorize", out.len(), need)?;
        for (src, dst) in data
            .chunks_exact(self.astype.size())
            .zip(out.chunks_exact_mut(self.item_size()))
        {
            let idx = match self.astype.read(src) {
                Val::I(i) if i > 0 => Some(i as u64 as usize - 1),
                Val::U(u) if u > 0 => usize::try_from(u - 1).ok(),
                _ => None,
            };
            self.write_label(idx.and_then(|i| self.labels.get(i)), dst);
        }
        Ok(need)
    }
}

impl Codec for Categorize {
    fn id(&self) -> &str {
        "categorize"
    }
    fn config(&self) -> Value {
        json!({
            "id": "categorize",
            "labels": self.labels,
            "dtype": self.dtype,
            "astype": self.astype.typestr,
        })
    }
    fn encode(&self, data: &[u8]) -> Result<Vec<u8>> {
        let n = check_items("categorize", data.len(), self.item_size())?;
        let wanted: Vec<Vec<u32>> = self
            .labels
            .iter()
            .map(|l| l.chars().map(|c| c as u32).collect())
            .collect();
        let mut out = vec![0u8; n * self.astype.size()];
        for (item, dst) in data
            .chunks_exact(self.item_size())
            .zip(out.chunks_exact_mut(self.astype.size()))
        {
            let s = self.chars(item);
            // numpy assigns in label order, so a repeated label takes its last index.
            let code = wanted
                .iter()
                .rposition(|w| *w == s)
                .map(|i| i as u64 + 1)
                .unwrap_or(0);
            self.astype.write(Val::U(code), dst);
        }
        Ok(out)
    }
    fn decode(&self, data: &[u8], max_len: usize) -> Result<Vec<u8>> {
        let n = check_items("categorize", data.len(), self.astype.size())?;
        let len = n.saturating_mul(self.item_size());
        bound("categorize", len, max_len)?;
        let mut out = vec![0u8; len];
        self.decode_to(data, &mut out)?;
        Ok(out)
    }
    fn decode_into(&self, data: &[u8], out: &mut [u8]) -> Result<usize> {
        self.decode_to(data, out)
    }
    fn encoded_len(&self, decoded_len: usize) -> usize {
        decoded_len / self.item_size() * self.astype.size()
    }
    fn encoded_itemsize(&self, _itemsize: usize) -> usize {
        self.astype.size()
    }
}
