//! numcodecs `AsType`: a cast between numeric types.

use super::*;

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
