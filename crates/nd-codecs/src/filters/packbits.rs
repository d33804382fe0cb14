//! numcodecs `PackBits`: booleans packed eight to a byte.

use super::*;

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
