//! numcodecs `Quantize`: floats rounded to a number of decimal digits.

use super::*;

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
