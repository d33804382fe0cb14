//! numcodecs `Base64` (`{"id": "base64"}`): the data as standard base64 text (RFC 4648 alphabet
//! `+/`, `=` padding), as Python's `base64.standard_b64encode` / `standard_b64decode` write and
//! read it. Decoding is Python's non-validating decode: bytes outside the alphabet (line breaks,
//! spaces) are dropped first; the padding must then be right.

use crate::{Codec, Error, Result};
use base64::Engine as _;
use serde_json::{json, Value};

/// numcodecs `Base64`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Base64;

fn in_alphabet(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')
}

impl Codec for Base64 {
    fn id(&self) -> &str {
        "base64"
    }
    fn config(&self) -> Value {
        json!({"id": "base64"})
    }
    fn encode(&self, data: &[u8]) -> Result<Vec<u8>> {
        Ok(base64::engine::general_purpose::STANDARD
            .encode(data)
            .into_bytes())
    }
    /// Base64 text of `n` bytes is `4 * ceil(n / 3)` bytes (a filter before a compressor).
    fn encoded_len(&self, decoded_len: usize) -> usize {
        decoded_len.div_ceil(3).saturating_mul(4)
    }
    /// Text: the compressor after it sees single bytes.
    fn encoded_itemsize(&self, _itemsize: usize) -> usize {
        1
    }
    fn decode(&self, data: &[u8], max_len: usize) -> Result<Vec<u8>> {
        // the decoded size is at most 3/4 of the text: checked before allocating
        let text: Vec<u8> = if data.iter().all(|&b| in_alphabet(b)) {
            data.to_vec()
        } else {
            data.iter().copied().filter(|&b| in_alphabet(b)).collect()
        };
        let bound = text.len() / 4 * 3;
        if bound > max_len.saturating_add(2) {
            // only padding can make the real size smaller than the bound, by at most 2
            return Err(Error::TooLarge {
                codec: "base64",
                limit: max_len,
            });
        }
        let out = base64::engine::general_purpose::STANDARD
            .decode(&text)
            .map_err(|e| Error::corrupt("base64", e.to_string()))?;
        crate::check_limit("base64", out.len(), max_len)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_python_leniency() {
        let data: Vec<u8> = (0..=255).collect();
        let enc = Base64.encode(&data).unwrap();
        assert_eq!(Base64.decode(&enc, 256).unwrap(), data);
        // Python's b64decode drops line breaks and other non-alphabet bytes
        assert_eq!(Base64.decode(b"aGVs\nbG8=\n", 5).unwrap(), b"hello");
        assert!(matches!(
            Base64.decode(b"aGVsbG8=", 4),
            Err(Error::TooLarge { .. })
        ));
        assert!(Base64.decode(b"aGVsbG8", 10).is_err()); // bad padding, as Python
        assert_eq!(Base64.decode(b"", 0).unwrap(), b"");
    }
}
