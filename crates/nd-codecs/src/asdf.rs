//! ASDF block compression, selected by the block header's 4-byte compression id.
//!
//! Python asdf writes `\0\0\0\0` (none), `zlib`, `bzp2` and `lz4\0`; the asdf-compression plugin
//! adds `blsc` (one Blosc 1 buffer), `lz4f` (LZ4 frames), `zstd` (zstd frames) and `lz4b` (the same
//! chunked LZ4 framing as `lz4\0`). Its `bls2` (Blosc2) is not supported.
//!
//! | id | stored bytes |
//! |---|---|
//! | `\0\0\0\0` | the data |
//! | `zlib` | one zlib stream (RFC 1950) |
//! | `bzp2` | one bzip2 stream |
//! | `lz4\0`, `lz4b` | 4 MiB input chunks, each `[u32 BE n][u32 LE decoded len][raw LZ4 block of n-4 bytes]` |
//! | `lz4f` | LZ4 frame(s) (magic `04 22 4D 18`) |
//! | `zstd` | zstd frame(s) |
//! | `blsc` | one Blosc 1 buffer (16-byte header, see [`crate::blosc`]) |

use crate::{Error, Result};
use std::io::BufRead;

fn label(c: &[u8; 4]) -> String {
    c.iter()
        .map(|&b| if b.is_ascii_graphic() { b as char } else { '.' })
        .collect()
}

/// Decode an ASDF block's stored bytes compressed with `compression`; more than `max_len`
/// decoded bytes is [`Error::TooLarge`].
pub fn decode(compression: &[u8; 4], data: &[u8], max_len: usize) -> Result<Vec<u8>> {
    match compression {
        b"\0\0\0\0" => crate::copy_bounded("none", data, max_len),
        b"zlib" => crate::Zlib::decode_stream(data, max_len),
        b"bzp2" => crate::Bz2::decode_stream(data, max_len),
        b"lz4\0" | b"lz4b" => crate::lz4::decode_asdf(data, max_len),
        b"lz4f" => crate::lz4::decode_frame(data, max_len),
        b"zstd" => crate::Zstd::decode_frames(data, max_len),
        b"blsc" => crate::blosc::decompress(data, max_len),
        b"bls2" => Err(Error::Unsupported(
            "ASDF block compression \"bls2\" (Blosc2 chunks; only Blosc 1 is built in)".into(),
        )),
        other => Err(Error::Unsupported(format!(
            "ASDF block compression '{}'",
            label(other)
        ))),
    }
}

/// Decode an ASDF block's stored bytes into `out`, which holds exactly the decoded size the
/// block header declares: a full read decodes into the caller's array with no second buffer
/// (zlib and bzip2 stream straight into `out`; the other compressions decode, then copy).
///
/// # Errors
/// As [`decode`]; fewer decoded bytes than `out` holds is [`Error::WrongSize`], more is
/// [`Error::TooLarge`].
pub fn decode_into(compression: &[u8; 4], data: &[u8], out: &mut [u8]) -> Result<()> {
    if streams(compression) {
        return decode_stream_into(compression, data, out);
    }
    let v = decode(compression, data, out.len())?;
    crate::check_size(&label(compression), out.len(), v.len())?;
    out.copy_from_slice(&v);
    Ok(())
}

/// True when blocks compressed with `compression` decode from a stream of their stored bytes
/// ([`decode_stream_into`]): one zlib or bzip2 stream, read front to back. A caller can then
/// feed the stored bytes in bounded reads (`nd_core::io::SourceReader`) instead of holding them
/// whole beside the output.
pub fn streams(compression: &[u8; 4]) -> bool {
    matches!(compression, b"zlib" | b"bzp2")
}

/// Decode the stored bytes of a block whose compression [`streams`], read from `stored`, into
/// `out` (exactly the decoded size the block header declares). An error reading `stored` is
/// reported as corrupt data carrying the reader's message.
///
/// # Errors
/// As [`decode_into`]; [`Error::Unsupported`] for a compression that does not stream.
pub fn decode_stream_into<R: BufRead>(
    compression: &[u8; 4],
    stored: R,
    out: &mut [u8],
) -> Result<()> {
    let n = match compression {
        b"zlib" => crate::compress::read_exact_into(
            "zlib",
            flate2::bufread::ZlibDecoder::new(stored),
            out,
        )?,
        b"bzp2" => crate::compress::read_exact_into(
            "bz2",
            bzip2::bufread::MultiBzDecoder::new(stored),
            out,
        )?,
        other => {
            return Err(Error::Unsupported(format!(
                "ASDF block compression '{}' does not decode from a stream",
                label(other)
            )))
        }
    };
    crate::check_size(&label(compression), out.len(), n)
}

/// Encode bytes for an ASDF block with `compression`, as python asdf would.
pub fn encode(compression: &[u8; 4], data: &[u8]) -> Result<Vec<u8>> {
    match compression {
        b"\0\0\0\0" => Ok(data.to_vec()),
        b"zlib" => crate::Zlib::encode_stream(data, 6),
        b"bzp2" => crate::Bz2::encode_stream(data, 9),
        b"lz4\0" | b"lz4b" => crate::lz4::encode_asdf(data),
        b"lz4f" => crate::lz4::encode_frame(data),
        b"zstd" => crate::Zstd::encode_frame(data, 3, false),
        b"blsc" => crate::blosc::compress(data, "blosclz", 9, 1, 1, 0),
        other => Err(Error::Unsupported(format!(
            "ASDF block compression '{}'",
            label(other)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streamed_decode_equals_whole_decode() {
        let data: Vec<u8> = (0..300_000u32)
            .flat_map(|i| (i % 977).to_le_bytes())
            .collect();
        for c in [b"zlib", b"bzp2"] {
            assert!(streams(c));
            let enc = encode(c, &data).unwrap();
            // a reader that hands out 1000 bytes at a time, as a bounded source reader does
            let mut out = vec![0u8; data.len()];
            let r = std::io::BufReader::with_capacity(1000, &enc[..]);
            decode_stream_into(c, r, &mut out).unwrap();
            assert_eq!(out, data, "{}", label(c));
            let mut long = vec![0u8; data.len() + 1];
            let r = std::io::BufReader::with_capacity(1000, &enc[..]);
            assert!(decode_stream_into(c, r, &mut long).is_err());
            // a stream cut short is an error, not a short array
            let r = std::io::BufReader::with_capacity(1000, &enc[..enc.len() / 2]);
            assert!(decode_stream_into(c, r, &mut out).is_err());
        }
        assert!(!streams(b"zstd"));
        let mut out = [0u8; 4];
        assert!(decode_stream_into(b"zstd", &b""[..], &mut out).is_err());
    }

    #[test]
    fn decode_into_fills_exactly_or_fails() {
        let data: Vec<u8> = (0..100_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        for c in [b"zlib", b"zstd", b"bzp2", b"lz4\0"] {
            let enc = encode(c, &data).unwrap();
            let mut out = vec![0u8; data.len()];
            decode_into(c, &enc, &mut out).unwrap();
            assert_eq!(out, data, "{}", label(c));
            let mut short = vec![0u8; data.len() - 1];
            assert!(decode_into(c, &enc, &mut short).is_err(), "{}", label(c));
            let mut long = vec![0u8; data.len() + 1];
            assert!(decode_into(c, &enc, &mut long).is_err(), "{}", label(c));
        }
    }
}
