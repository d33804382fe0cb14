//! ASDF block compression, selected by the block header's 4-byte compression id.
//!
//! Python asdf writes `\0\0\0\0` (none), `zlib`, `bzp2` and `lz4\0`; the asdf-compression plugin
//! adds `blsc`, `lz4f` and `zstd`.

use crate::{Error, Result};

fn label(c: &[u8; 4]) -> String {
    c.iter()
        .map(|&b| if b.is_ascii_graphic() { b as char } else { '.' })
        .collect()
}

/// Decode an ASDF block's stored bytes compressed with `compression`; more than `max_len`
/// decoded bytes is [`Error::TooLarge`].
pub fn decode(compression: &[u8; 4], data: &[u8], max_len: usize) -> Result<Vec<u8>> {
    match compression {
        b"\0\0\0\0" => {
            if data.len() > max_len {
                return Err(Error::TooLarge {
                    codec: "none",
                    limit: max_len,
                });
            }
            Ok(data.to_vec())
        }
        b"zlib" => crate::Zlib::decode_stream(data, max_len),
        b"bzp2" => crate::Bz2::decode_stream(data, max_len),
        b"lz4\0" => crate::lz4::decode_asdf(data, max_len),
        other => Err(Error::Unsupported(format!(
            "ASDF block compression {:?}",
            label(other)
        ))),
    }
}

/// Encode bytes for an ASDF block with `compression`, as python asdf would.
pub fn encode(compression: &[u8; 4], data: &[u8]) -> Result<Vec<u8>> {
    match compression {
        b"\0\0\0\0" => Ok(data.to_vec()),
        b"zlib" => crate::Zlib::encode_stream(data, 6),
        b"bzp2" => crate::Bz2::encode_stream(data, 9),
        b"lz4\0" => crate::lz4::encode_asdf(data),
        other => Err(Error::Unsupported(format!(
            "ASDF block compression {:?}",
            label(other)
        ))),
    }
}
