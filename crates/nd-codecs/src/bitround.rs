//! numcodecs `BitRound` (`{"id": "bitround", "keepbits": 6}`): floats with their mantissa rounded
//! to `keepbits` bits (round half to even on the mantissa bits), same item size.
//!
//! Encoding, on the float's bits `b` as a signed integer of the same width and byte order, with
//! `m = mantissa_bits - keepbits` (mantissa bits: 10 for f2, 23 for f4, 52 for f8):
//! `b += ((b >> m) & 1) + (1 << (m - 1)) - 1; b &= !0 << m` (wrapping). `keepbits` equal to the
//! mantissa width leaves the data unchanged; larger is an error when encoding. Decoding is the
//! identity. The config has no dtype: numcodecs takes it from the array, nd from
//! [`Codec::set_dtype`] (which [`crate::Pipeline::set_dtype`] calls).

use crate::{cfg_i64, Codec, Error, Result};
use nd_core::{DataType, Endian};
use serde_json::{json, Value};

/// numcodecs `BitRound`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BitRound {
    /// Mantissa bits kept.
    pub keepbits: u32,
    /// The element type told by `set_dtype`: (item size, big-endian), or the type's name when it
    /// is not a float of 2, 4 or 8 bytes.
    dtype: Option<std::result::Result<(usize, bool), String>>,
}

impl BitRound {
    /// From its numcodecs config.
    pub fn from_config(v: &Value) -> Result<Self> {
        if v.get("keepbits").is_none() {
            return Err(Error::Config("bitround: missing \"keepbits\"".into()));
        }
        let k = cfg_i64(v, "keepbits", 0)?;
        let keepbits = u32::try_from(k).map_err(|_| {
            Error::Config(format!(
                "bitround: keepbits must be zero or positive, got {k}"
            ))
        })?;
        Ok(BitRound {
            keepbits,
            dtype: None,
        })
    }

    /// A codec for floats of `itemsize` bytes (2, 4 or 8) in the given byte order.
    pub fn new(keepbits: u32, itemsize: usize, big_endian: bool) -> Self {
        BitRound {
            keepbits,
            dtype: Some(match itemsize {
                2 | 4 | 8 => Ok((itemsize, big_endian)),
                n => Err(format!("{n}-byte items")),
            }),
        }
    }
}

macro_rules! round_items {
    ($data:expr, $out:expr, $big:expr, $t:ty, $m:expr) => {{
        const W: usize = std::mem::size_of::<$t>();
        let m: u32 = $m;
        let mask: $t = <$t>::MAX << m;
        let half: $t = (1 << (m - 1)) - 1;
        for (src, dst) in $data.chunks_exact(W).zip($out.chunks_exact_mut(W)) {
            let mut a = [0u8; W];
            a.copy_from_slice(src);
            let b = if $big {
                <$t>::from_be_bytes(a)
            } else {
                <$t>::from_le_bytes(a)
            };
            let r = b.wrapping_add(((b >> m) & 1) + half) & mask;
            dst.copy_from_slice(&if $big {
                r.to_be_bytes()
            } else {
                r.to_le_bytes()
            });
        }
    }};
}

impl Codec for BitRound {
    fn id(&self) -> &str {
        "bitround"
    }
    fn config(&self) -> Value {
        json!({"id": "bitround", "keepbits": self.keepbits})
    }
    fn encode(&self, data: &[u8]) -> Result<Vec<u8>> {
        let (size, big) = match &self.dtype {
            None => {
                return Err(Error::Config(
                    "bitround: the data type is not known (Codec::set_dtype or Pipeline::set_dtype tells it)"
                        .into(),
                ))
            }
            Some(Err(t)) => {
                return Err(Error::Unsupported(format!(
                    "bitround: only float arrays (16-64 bit) can be bit-rounded, not {t}"
                )))
            }
            Some(Ok(t)) => *t,
        };
        let bits = match size {
            2 => 10,
            4 => 23,
            _ => 52,
        };
        if self.keepbits > bits {
            return Err(Error::Encode {
                codec: "bitround",
                reason: format!(
                    "keepbits {} too large for {size}-byte floats ({bits} mantissa bits)",
                    self.keepbits
                ),
            });
        }
        if !data.len().is_multiple_of(size) {
            return Err(Error::Encode {
                codec: "bitround",
                reason: format!(
                    "{} bytes is not a whole number of {size}-byte items",
                    data.len()
                ),
            });
        }
        if self.keepbits == bits {
            return Ok(data.to_vec());
        }
        let m = bits - self.keepbits;
        let mut out = vec![0u8; data.len()];
        match size {
            2 => round_items!(data, out, big, u16, m),
            4 => round_items!(data, out, big, u32, m),
            _ => round_items!(data, out, big, u64, m),
        }
        Ok(out)
    }
    fn decode(&self, data: &[u8], max_len: usize) -> Result<Vec<u8>> {
        crate::copy_bounded("bitround", data, max_len)
    }
    fn decode_into(&self, data: &[u8], out: &mut [u8]) -> Result<usize> {
        crate::copy_exact("bitround", data, out)
    }
    fn set_dtype(&mut self, dtype: &DataType, endian: Endian) {
        self.dtype = Some(match dtype {
            DataType::Float16 | DataType::Float32 | DataType::Float64 => {
                Ok((dtype.size(), endian == Endian::Big))
            }
            other => Err(other.to_string()),
        });
    }
}
