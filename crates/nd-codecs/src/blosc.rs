//! Blosc 1 (c-blosc 1.21, built by the `blosc-src` crate) behind a safe wrapper.
//!
//! The 16-byte header (all little-endian) is checked in Rust before C sees the buffer:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 1 | format version (2; c-blosc 1.21 decodes no other) |
//! | 1 | 1 | internal compressor's format version |
//! | 2 | 1 | flags: 0x1 byte shuffle, 0x2 memcpyed, 0x4 bit shuffle, 0x10 don't split, bits 5–7 compressor (0 blosclz, 1 lz4/lz4hc, 2 snappy, 3 zlib, 4 zstd) |
//! | 3 | 1 | typesize |
//! | 4 | 4 | nbytes (decoded size) |
//! | 8 | 4 | blocksize |
//! | 12 | 4 | cbytes (size of the whole compressed buffer, header included) |
//!
//! Then (unless memcpyed) one u32 start offset per block, measured from the buffer start.
//! Decoding refuses `nbytes > max_len` and `cbytes > data.len()` before calling C; C itself checks
//! every block offset against `cbytes`. Only the thread-safe `_ctx` functions are used, with one
//! internal thread.

use crate::{cfg_i64, Codec, Error, Result};
use serde_json::{json, Value};
use std::ffi::CString;
use std::os::raw::{c_int, c_void};

const NAME: &str = "blosc";

/// Size of the blosc header.
pub const HEADER_LEN: usize = 16;

/// Largest buffer c-blosc 1 compresses.
pub const MAX_BUFFERSIZE: usize = blosc_src::BLOSC_MAX_BUFFERSIZE as usize;

/// numcodecs' shuffle value meaning "bit shuffle for 1-byte items, byte shuffle otherwise".
pub const AUTOSHUFFLE: i64 = -1;

/// The decoded fields of a blosc header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Format version (2).
    pub version: u8,
    /// Internal compressor format version.
    pub versionlz: u8,
    /// Flags byte.
    pub flags: u8,
    /// Item size used for shuffling.
    pub typesize: u8,
    /// Decoded size.
    pub nbytes: u32,
    /// Block size.
    pub blocksize: u32,
    /// Whole compressed size, header included.
    pub cbytes: u32,
}

impl Header {
    /// Parse the first 16 bytes.
    pub fn parse(data: &[u8]) -> Result<Header> {
        let h: &[u8; HEADER_LEN] = data
            .get(..HEADER_LEN)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| {
                Error::corrupt(
                    NAME,
                    format!("{} bytes is shorter than the 16-byte header", data.len()),
                )
            })?;
        let u = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]); // ok: i + 3 < 16
        Ok(Header {
            version: h[0],
            versionlz: h[1],
            flags: h[2],
            typesize: h[3],
            nbytes: u(4),
            blocksize: u(8),
            cbytes: u(12),
        })
    }

    /// The internal compressor's name from the flags.
    pub fn compressor(&self) -> &'static str {
        match self.flags >> 5 {
            0 => "blosclz",
            1 => "lz4",
            2 => "snappy",
            3 => "zlib",
            4 => "zstd",
            _ => "unknown",
        }
    }

    /// Check the header against the data length and the output limit.
    fn validate(&self, data_len: usize, max_len: usize) -> Result<()> {
        if self.version != blosc_src::BLOSC_VERSION_FORMAT as u8 {
            return Err(Error::corrupt(
                NAME,
                format!("format version {} (only 2 is known)", self.version),
            ));
        }
        crate::check_limit(NAME, self.nbytes as usize, max_len)?;
        if (self.cbytes as usize) < HEADER_LEN || self.cbytes as usize > data_len {
            return Err(Error::corrupt(
                NAME,
                format!(
                    "header cbytes {} does not fit the {data_len} bytes given",
                    self.cbytes
                ),
            ));
        }
        if self.nbytes as usize > MAX_BUFFERSIZE {
            return Err(Error::corrupt(NAME, "nbytes larger than blosc allows"));
        }
        if self.nbytes > 0 {
            if self.typesize == 0 || self.blocksize == 0 {
                return Err(Error::corrupt(NAME, "zero typesize or blocksize"));
            }
            if self.flags & 0x2 != 0 {
                if self.nbytes as usize + HEADER_LEN != self.cbytes as usize {
                    return Err(Error::corrupt(
                        NAME,
                        "memcpyed buffer whose cbytes is not nbytes + 16",
                    ));
                }
            } else {
                let nblocks = (self.nbytes as u64).div_ceil(self.blocksize as u64);
                if nblocks.saturating_mul(4) > (self.cbytes as u64 - HEADER_LEN as u64) {
                    return Err(Error::corrupt(
                        NAME,
                        "cbytes too small for the block offsets",
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Decode a blosc buffer into exactly `out` (its header's nbytes must equal `out.len()`).
pub fn decompress_into(data: &[u8], out: &mut [u8]) -> Result<usize> {
    let h = Header::parse(data)?;
    h.validate(data.len(), out.len())?;
    crate::check_size(NAME, out.len(), h.nbytes as usize)?;
    if out.is_empty() {
        return Ok(0);
    }
    // SAFETY: the header was checked above: cbytes <= data.len(), so c-blosc (which bounds every
    // block offset and block size by cbytes) reads only inside `data`; it writes at most
    // `out.len()` bytes (destsize) into `out`. The _ctx function keeps no global state.
    let n = unsafe {
        blosc_src::blosc_decompress_ctx(
            data.as_ptr() as *const c_void,
            out.as_mut_ptr() as *mut c_void,
            out.len(),
            1,
        )
    };
    if n < 0 {
        return Err(Error::corrupt(
            NAME,
            format!("c-blosc failed ({n}) on a {} buffer", h.compressor()),
        ));
    }
    crate::check_size(NAME, out.len(), n as usize)?;
    Ok(out.len())
}

/// Decode a blosc buffer, refusing a stated size above `max_len`.
pub fn decompress(data: &[u8], max_len: usize) -> Result<Vec<u8>> {
    let h = Header::parse(data)?;
    h.validate(data.len(), max_len)?;
    let mut out = vec![0u8; h.nbytes as usize];
    decompress_into(data, &mut out)?;
    Ok(out)
}

/// Compression names c-blosc knows.
pub const CNAMES: [&str; 6] = ["blosclz", "lz4", "lz4hc", "snappy", "zlib", "zstd"];

/// Compress with c-blosc. `shuffle` is 0 (none), 1 (byte), 2 (bit) or -1 (auto: bit for
/// `typesize` 1, byte otherwise); `blocksize` 0 lets c-blosc choose.
pub fn compress(
    data: &[u8],
    cname: &str,
    clevel: u8,
    shuffle: i64,
    typesize: usize,
    blocksize: usize,
) -> Result<Vec<u8>> {
    if !CNAMES.contains(&cname) {
        return Err(Error::Config(format!("blosc: unknown cname '{cname}'")));
    }
    if data.len() > MAX_BUFFERSIZE {
        return Err(Error::Encode {
            codec: NAME,
            reason: format!("{} bytes is more than blosc's maximum", data.len()),
        });
    }
    // c-blosc itself treats a typesize above 255 as 1.
    let typesize = if (1..=255).contains(&typesize) {
        typesize
    } else {
        1
    };
    let shuffle = match shuffle {
        AUTOSHUFFLE if typesize == 1 => 2,
        AUTOSHUFFLE => 1,
        s @ 0..=2 => s as c_int,
        s => return Err(Error::Config(format!("blosc: bad shuffle {s}"))),
    };
    let cname_c = CString::new(cname).map_err(|_| Error::Config("blosc: bad cname".into()))?;
    let cap = data.len() + HEADER_LEN;
    let mut out = vec![0u8; cap];
    // SAFETY: src points to data.len() readable bytes; dest to `cap` writable bytes, which is
    // the most c-blosc writes (nbytes + BLOSC_MAX_OVERHEAD); cname is NUL-terminated.
    let n = unsafe {
        blosc_src::blosc_compress_ctx(
            clevel.min(9) as c_int,
            shuffle,
            typesize,
            data.len(),
            data.as_ptr() as *const c_void,
            out.as_mut_ptr() as *mut c_void,
            cap,
            cname_c.as_ptr(),
            blocksize,
            1,
        )
    };
    if n <= 0 {
        return Err(Error::Encode {
            codec: NAME,
            reason: format!("c-blosc compress returned {n}"),
        });
    }
    out.truncate(n as usize);
    Ok(out)
}

/// numcodecs `Blosc` codec.
///
/// numcodecs takes the typesize from the array's dtype and does not store it in the config;
/// set it with [`Codec::set_typesize`] (or an extra `"typesize"` key, not written back).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blosc {
    /// Internal compressor: blosclz, lz4, lz4hc, snappy, zlib or zstd.
    pub cname: String,
    /// Compression level 0..=9.
    pub clevel: u8,
    /// 0 none, 1 byte shuffle, 2 bit shuffle, -1 auto.
    pub shuffle: i64,
    /// Block size (0 = automatic).
    pub blocksize: usize,
    /// Item size used when encoding.
    pub typesize: usize,
}

impl Blosc {
    /// From `{"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1, "blocksize": 0}`.
    pub fn from_config(v: &Value) -> Result<Self> {
        let cname = match v.get("cname") {
            None | Some(Value::Null) => "lz4".to_string(),
            Some(Value::String(s)) => s.clone(),
            Some(x) => return Err(Error::Config(format!("blosc: bad cname {x}"))),
        };
        if !CNAMES.contains(&cname.as_str()) {
            return Err(Error::Config(format!("blosc: unknown cname '{cname}'")));
        }
        let clevel = cfg_i64(v, "clevel", 5)?;
        if !(0..=9).contains(&clevel) {
            return Err(Error::Config(format!(
                "blosc: clevel {clevel} outside 0..=9"
            )));
        }
        let shuffle = cfg_i64(v, "shuffle", 1)?;
        if !(-1..=2).contains(&shuffle) {
            return Err(Error::Config(format!(
                "blosc: shuffle {shuffle} outside -1..=2"
            )));
        }
        let blocksize = cfg_i64(v, "blocksize", 0)?;
        let blocksize = usize::try_from(blocksize)
            .map_err(|_| Error::Config(format!("blosc: bad blocksize {blocksize}")))?;
        let typesize = cfg_i64(v, "typesize", 1)?;
        if !(1..=255).contains(&typesize) {
            return Err(Error::Config(format!(
                "blosc: typesize {typesize} outside 1..=255"
            )));
        }
        Ok(Blosc {
            cname,
            clevel: clevel as u8,
            shuffle,
            blocksize,
            typesize: typesize as usize,
        })
    }
}

impl Codec for Blosc {
    fn id(&self) -> &str {
        "blosc"
    }
    fn config(&self) -> Value {
        json!({
            "id": "blosc",
            "cname": self.cname,
            "clevel": self.clevel,
            "shuffle": self.shuffle,
            "blocksize": self.blocksize,
        })
    }
    fn encode(&self, data: &[u8]) -> Result<Vec<u8>> {
        compress(
            data,
            &self.cname,
            self.clevel,
            self.shuffle,
            self.typesize,
            self.blocksize,
        )
    }
    fn decode(&self, data: &[u8], max_len: usize) -> Result<Vec<u8>> {
        decompress(data, max_len)
    }
    fn decode_into(&self, data: &[u8], out: &mut [u8]) -> Result<usize> {
        decompress_into(data, out)
    }
    fn set_typesize(&mut self, typesize: usize) {
        self.typesize = if (1..=255).contains(&typesize) {
            typesize
        } else {
            1
        };
    }
}
