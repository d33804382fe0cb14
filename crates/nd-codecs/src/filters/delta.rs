//! numcodecs `Delta`: differences of neighbours.

use super::*;

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
