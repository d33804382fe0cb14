//! numcodecs `FixedScaleOffset`: scaled, offset, rounded integers (and the Python numbers of its config).

use super::*;

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
            .ok_or_else(|| Error::Config(format!("{codec}: missing '{key}'")))?;
        if let Some(i) = x.as_i64() {
            Ok(PyNum::Int(i))
        } else if let Some(f) = x.as_f64() {
            Ok(PyNum::Float(f))
        } else {
            Err(Error::Config(format!(
                "{codec}: '{key}' must be a number, got {x}"
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
