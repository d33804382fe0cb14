//! LZ4 in the framings nd meets:
//!
//! - the raw LZ4 block ([`decompress_block`], [`compress_block`]);
//! - numcodecs' `LZ4` codec: a 4-byte little-endian uncompressed length, then one raw block
//!   ([`decode_numcodecs`], [`encode_numcodecs`], the [`Lz4`] codec);
//! - python asdf's `lz4` block compression: the input in 4 MiB chunks, each stored as
//!   `[u32 BE length of what follows][u32 LE uncompressed length][raw LZ4 block]`
//!   ([`decode_asdf`], [`encode_asdf`]);
//! - the LZ4 frame format (magic `04 22 4d 18`), used by the asdf-compression plugin's `lz4f`
//!   ([`decode_frame`], [`encode_frame`]).
//!
//! Decompression-bomb bound: a raw LZ4 block expands at most 255 times (plus a few bytes),
//! so a stated size larger than `255 * compressed + 16`, or larger than `max_len`, is refused
//! before anything is allocated.

use crate::compress::read_bounded;
use crate::{cfg_i64, Codec, Error, Result};
use serde_json::{json, Value};

const NAME: &str = "lz4";

/// Largest output a raw LZ4 block of `compressed_len` bytes can produce.
pub fn max_block_output(compressed_len: usize) -> usize {
    compressed_len.saturating_mul(255).saturating_add(16)
}

/// Decompress one raw LZ4 block into exactly `out` (an output of another size is an error).
pub fn decompress_block(data: &[u8], out: &mut [u8]) -> Result<usize> {
    if out.len() > max_block_output(data.len()) {
        return Err(Error::corrupt(
            NAME,
            format!(
                "stated size {} is impossible for a {}-byte block",
                out.len(),
                data.len()
            ),
        ));
    }
    let n = lz4_flex::block::decompress_into(data, out).map_err(|e| match e {
        lz4_flex::block::DecompressError::OutputTooSmall { .. } => Error::TooLarge {
            codec: NAME,
            limit: out.len(),
        },
        other => Error::corrupt(NAME, other.to_string()),
    })?;
    crate::check_size(NAME, out.len(), n)?;
    Ok(n)
}

/// Compress `data` into one raw LZ4 block.
pub fn compress_block(data: &[u8]) -> Vec<u8> {
    lz4_flex::block::compress(data)
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]])) // ok: s has 4 bytes
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]])) // ok: s has 4 bytes
}

/// The uncompressed size stated by a numcodecs LZ4 buffer, checked against `max_len` and the
/// LZ4 expansion bound.
fn numcodecs_size(data: &[u8], max_len: usize) -> Result<usize> {
    let n =
        le32(data, 0).ok_or_else(|| Error::corrupt(NAME, "shorter than the 4-byte size"))? as usize;
    crate::check_limit(NAME, n, max_len)?;
    Ok(n)
}

/// Decode numcodecs' LZ4 framing (4-byte LE size + raw block), bounded by `max_len`.
pub fn decode_numcodecs(data: &[u8], max_len: usize) -> Result<Vec<u8>> {
    let n = numcodecs_size(data, max_len)?;
    let block = &data[4..]; // ok: numcodecs_size checked 4 bytes
    if n > max_block_output(block.len()) {
        return Err(Error::corrupt(
            NAME,
            format!(
                "stated size {n} is impossible for a {}-byte block",
                block.len()
            ),
        ));
    }
    let mut out = vec![0u8; n];
    decompress_block(block, &mut out)?;
    Ok(out)
}

/// Decode numcodecs' LZ4 framing into exactly `out`.
pub fn decode_numcodecs_into(data: &[u8], out: &mut [u8]) -> Result<usize> {
    let n = numcodecs_size(data, out.len())?;
    crate::check_size(NAME, out.len(), n)?;
    decompress_block(&data[4..], out) // ok: numcodecs_size checked 4 bytes
}

/// Encode in numcodecs' LZ4 framing.
pub fn encode_numcodecs(data: &[u8]) -> Result<Vec<u8>> {
    let n = u32::try_from(data.len()).map_err(|_| Error::Encode {
        codec: NAME,
        reason: "input larger than 4 GiB".into(),
    })?;
    let mut out = Vec::with_capacity(data.len() / 2 + 16);
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&compress_block(data));
    Ok(out)
}

/// Chunk size python asdf uses for lz4 blocks (4 MiB of input per chunk).
pub const ASDF_CHUNK: usize = 1 << 22;

/// Decode python asdf's lz4 block framing, bounded by `max_len`.
pub fn decode_asdf(data: &[u8], max_len: usize) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < data.len() {
        let clen = be32(data, pos)
            .ok_or_else(|| Error::corrupt(NAME, format!("truncated chunk length at byte {pos}")))?
            as usize;
        let start = pos + 4;
        let end = start
            .checked_add(clen)
            .filter(|&e| e <= data.len())
            .ok_or_else(|| {
                Error::corrupt(
                    NAME,
                    format!("chunk at byte {pos} of {clen} bytes runs past the end"),
                )
            })?;
        let chunk = &data[start..end]; // ok: bounds checked above
        let n = le32(chunk, 0)
            .ok_or_else(|| Error::corrupt(NAME, format!("chunk at byte {pos} has no size")))?
            as usize;
        let total = out.len().saturating_add(n);
        if total > max_len {
            return Err(Error::TooLarge {
                codec: NAME,
                limit: max_len,
            });
        }
        let block = &chunk[4..]; // ok: le32 checked 4 bytes
        if n > max_block_output(block.len()) {
            return Err(Error::corrupt(
                NAME,
                format!("chunk at byte {pos}: stated size {n} is impossible"),
            ));
        }
        let old = out.len();
        out.resize(total, 0);
        decompress_block(block, &mut out[old..])
            .map_err(|e| Error::corrupt(NAME, format!("chunk at byte {pos}: {e}")))?;
        pos = end;
    }
    Ok(out)
}

/// Encode in python asdf's lz4 block framing (4 MiB chunks).
pub fn encode_asdf(data: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len() / 2 + 16);
    for chunk in data.chunks(ASDF_CHUNK) {
        let block = compress_block(chunk);
        let len = u32::try_from(block.len() + 4).map_err(|_| Error::Encode {
            codec: NAME,
            reason: "chunk too large".into(),
        })?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&(chunk.len() as u32).to_le_bytes());
        out.extend_from_slice(&block);
    }
    Ok(out)
}

/// Decode an LZ4 frame stream (one or more frames), bounded by `max_len`.
pub fn decode_frame(data: &[u8], max_len: usize) -> Result<Vec<u8>> {
    read_bounded(
        "lz4f",
        lz4_flex::frame::FrameDecoder::new(data),
        max_len,
        data.len().saturating_mul(4),
    )
}

/// Encode one LZ4 frame (with content checksum off, block independence on).
pub fn encode_frame(data: &[u8]) -> Result<Vec<u8>> {
    use std::io::Write;
    let mut enc = lz4_flex::frame::FrameEncoder::new(Vec::with_capacity(data.len() / 2 + 32));
    enc.write_all(data).map_err(|e| Error::Encode {
        codec: "lz4f",
        reason: e.to_string(),
    })?;
    enc.finish().map_err(|e| Error::Encode {
        codec: "lz4f",
        reason: e.to_string(),
    })
}

/// numcodecs `LZ4` codec (`{"id": "lz4", "acceleration": 1}`).
///
/// Encoding uses lz4_flex's compressor (acceleration is kept in the config but does not change
/// the output); decoding reads whatever numcodecs wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lz4 {
    /// numcodecs' acceleration parameter.
    pub acceleration: i64,
}

impl Lz4 {
    /// From `{"id": "lz4", "acceleration": 1}`.
    pub fn from_config(v: &Value) -> Result<Self> {
        Ok(Lz4 {
            acceleration: cfg_i64(v, "acceleration", 1)?,
        })
    }
}

impl Codec for Lz4 {
    fn id(&self) -> &str {
        "lz4"
    }
    fn config(&self) -> Value {
        json!({"id": "lz4", "acceleration": self.acceleration})
    }
    fn encode(&self, data: &[u8]) -> Result<Vec<u8>> {
        encode_numcodecs(data)
    }
    fn decode(&self, data: &[u8], max_len: usize) -> Result<Vec<u8>> {
        decode_numcodecs(data, max_len)
    }
    fn decode_into(&self, data: &[u8], out: &mut [u8]) -> Result<usize> {
        decode_numcodecs_into(data, out)
    }
}
