//! Compressors and filters shared by the nd formats.
//!
//! Every codec decodes byte-exactly what numcodecs (Zarr v2) and python asdf write, and
//! encodes something they read back. Decoding is bounded: a caller states the largest output it
//! accepts (`max_len`), and a stream that would decode to more is [`Error::TooLarge`], found
//! before the output is allocated whenever the format states its size.
//!
//! - [`Codec`]: one numcodecs codec (compressor or filter), built from its JSON config with
//!   [`codec_from_config`].
//! - [`Pipeline`]: the filters and compressor of a Zarr v2 array.
//! - [`asdf`]: ASDF block compression by its 4-byte id.
//! - [`lz4`], [`blosc`]: the raw framings, for callers that need them directly.
//!
//! Byte layouts and the decompression-bomb rule: `spec-notes/codecs.md`.

pub mod asdf;
pub mod b64;
pub mod bitround;
pub mod blosc;
pub mod checksum;
mod compress;
mod fast;
pub mod filters;
pub mod fuzzing;
pub mod gzip_source;
pub mod lz4;
pub mod lzma;
mod numeric;
pub mod object;
pub mod pcodec;
pub mod zarr_v2;
mod zstd_encoder;

pub use compress::{Bz2, Gzip, Zlib, Zstd};

/// The README's example, compiled and run as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
pub use filters::{AsType, Categorize, Delta, FixedScaleOffset, PackBits, Quantize, Shuffle};

use serde_json::Value;

/// Everything that can go wrong while encoding or decoding.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The encoded data is damaged or not in the codec's format.
    #[error("{codec}: corrupt data: {reason}")]
    Corrupt {
        /// The codec (`"zlib"`, `"blosc"`, ...).
        codec: &'static str,
        /// What was wrong, with the byte offset when known.
        reason: String,
    },
    /// Decoding would produce more than the caller's limit (a decompression bomb or a wrong size).
    #[error("{codec}: decoded data would exceed the limit of {limit} bytes")]
    TooLarge {
        /// The codec.
        codec: &'static str,
        /// The limit that was given.
        limit: usize,
    },
    /// Decoding produced a different size from the one required.
    #[error("{codec}: decoded {actual} bytes, expected {expected}")]
    WrongSize {
        /// The codec id.
        codec: String,
        /// The size required.
        expected: usize,
        /// The size produced.
        actual: usize,
    },
    /// A codec configuration that is invalid (missing key, bad value).
    #[error("codec config: {0}")]
    Config(String),
    /// A checksum codec (`crc32`, `adler32`, `fletcher32`) found a checksum that does not match
    /// the data.
    #[error("{codec}: stored checksum {stored:#010x} does not match the data's {computed:#010x}")]
    Checksum {
        /// The codec.
        codec: &'static str,
        /// The checksum stored with the data.
        stored: u32,
        /// The checksum of the data.
        computed: u32,
    },
    /// A codec, option or data type this crate does not implement.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// Encoding failed (input too large for the format, library error).
    #[error("{codec}: encode failed: {reason}")]
    Encode {
        /// The codec.
        codec: &'static str,
        /// Why.
        reason: String,
    },
}

/// Result alias for nd-codecs.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<Error> for nd_core::Error {
    fn from(e: Error) -> Self {
        nd_core::Error::other(e)
    }
}

impl Error {
    pub(crate) fn corrupt(codec: &'static str, reason: impl Into<String>) -> Self {
        Error::Corrupt {
            codec,
            reason: reason.into(),
        }
    }
}

/// One numcodecs codec: a compressor (zlib, zstd, blosc, ...) or a filter (delta, shuffle, ...).
pub trait Codec: Send + Sync + std::fmt::Debug {
    /// The numcodecs id: `"zlib"`, `"blosc"`, `"delta"`, ...
    fn id(&self) -> &str;

    /// The numcodecs-style JSON config; `codec_from_config(&c.config())` gives back an equal codec.
    fn config(&self) -> Value;

    /// Encode `data`.
    fn encode(&self, data: &[u8]) -> Result<Vec<u8>>;

    /// Encode `data` into `out`, replacing its contents; a codec that can write into a buffer
    /// reuses `out`'s allocation (a writer encoding chunk after chunk keeps one per thread).
    /// The bytes are those of [`Codec::encode`].
    fn encode_into(&self, data: &[u8], out: &mut Vec<u8>) -> Result<()> {
        *out = self.encode(data)?;
        Ok(())
    }

    /// Decode; an output that would exceed `max_len` bytes is [`Error::TooLarge`] (decompression bombs).
    fn decode(&self, data: &[u8], max_len: usize) -> Result<Vec<u8>>;

    /// Decode into a caller's buffer, whose length must be exactly the decoded size
    /// (more output is [`Error::TooLarge`], less is [`Error::WrongSize`]). Returns the bytes written.
    fn decode_into(&self, data: &[u8], out: &mut [u8]) -> Result<usize> {
        let v = self.decode(data, out.len())?;
        check_size(self.id(), out.len(), v.len())?;
        out.copy_from_slice(&v);
        Ok(v.len())
    }

    /// Size of the encoded form of `decoded_len` bytes, for filters that change the item size
    /// (astype, fixedscaleoffset, quantize, delta with astype, packbits...); identity by default.
    /// Compressors return `decoded_len`.
    fn encoded_len(&self, decoded_len: usize) -> usize {
        decoded_len
    }

    /// Item size of the encoded form when the decoded items have `itemsize` bytes
    /// (what a compressor after this filter sees); identity by default.
    fn encoded_itemsize(&self, itemsize: usize) -> usize {
        itemsize
    }

    /// Tell a compressor the item size of the data it will encode (blosc's `typesize`, which
    /// numcodecs takes from the array's dtype and does not store in the config). No-op by default.
    fn set_typesize(&mut self, _typesize: usize) {}

    /// Tell a filter the element type of the data it will encode, for filters whose config does
    /// not state it (`bitround`: numcodecs takes it from the array). No-op by default.
    fn set_dtype(&mut self, _dtype: &nd_core::DataType, _endian: nd_core::Endian) {}
}

/// Build a codec from its numcodecs JSON config (an object with an `"id"`).
pub fn codec_from_config(v: &Value) -> Result<Box<dyn Codec>> {
    let obj = v
        .as_object()
        .ok_or_else(|| Error::Config(format!("codec config is not an object: {v}")))?;
    let id = obj
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::Config(format!("codec config has no string \"id\": {v}")))?;
    Ok(match id {
        "zlib" => Box::new(Zlib::from_config(v)?),
        "gzip" => Box::new(Gzip::from_config(v)?),
        "bz2" => Box::new(Bz2::from_config(v)?),
        "zstd" => Box::new(Zstd::from_config(v)?),
        "lz4" => Box::new(lz4::Lz4::from_config(v)?),
        "blosc" => Box::new(blosc::Blosc::from_config(v)?),
        "shuffle" => Box::new(Shuffle::from_config(v)?),
        "delta" => Box::new(Delta::from_config(v)?),
        "fixedscaleoffset" => Box::new(FixedScaleOffset::from_config(v)?),
        "quantize" => Box::new(Quantize::from_config(v)?),
        "astype" => Box::new(AsType::from_config(v)?),
        "packbits" => Box::new(PackBits::from_config(v)?),
        "categorize" => Box::new(Categorize::from_config(v)?),
        "bitround" => Box::new(bitround::BitRound::from_config(v)?),
        "crc32" | "crc32c" | "adler32" => Box::new(checksum::Checksum32::from_config(v)?),
        "fletcher32" => Box::new(checksum::Fletcher32),
        "lzma" => Box::new(lzma::Lzma::from_config(v)?),
        "base64" => Box::new(b64::Base64),
        "pcodec" => Box::new(pcodec::PCodec::from_config(v)?),
        other => return Err(Error::Unsupported(format!("codec id '{other}'"))),
    })
}

/// Read an optional integer key of a config.
pub(crate) fn cfg_i64(v: &Value, key: &str, default: i64) -> Result<i64> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(x) => x
            .as_i64()
            .ok_or_else(|| Error::Config(format!("'{key}' must be an integer, got {x}"))),
    }
}

/// Read a required string key of a config.
pub(crate) fn cfg_str<'a>(v: &'a Value, key: &str) -> Result<&'a str> {
    v.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| Error::Config(format!("missing string '{key}' in {v}")))
}

/// The filters and compressor of a Zarr v2 array (`.zarray` "filters" and "compressor").
///
/// Encoding applies the filters in order, then the compressor; decoding runs the compressor,
/// then the filters in reverse.
#[derive(Debug, Default)]
pub struct Pipeline {
    /// Filters, in encoding order.
    pub filters: Vec<Box<dyn Codec>>,
    /// The compressor, if any.
    pub compressor: Option<Box<dyn Codec>>,
}

impl Pipeline {
    /// From a Zarr v2 `.zarray`'s "compressor" (object or null) and "filters" (list, null, or `[]`).
    pub fn from_zarr_json(compressor: &Value, filters: &Value) -> Result<Pipeline> {
        let compressor = match compressor {
            Value::Null => None,
            c @ Value::Object(_) => Some(codec_from_config(c)?),
            other => {
                return Err(Error::Config(format!(
                    "compressor must be an object or null, got {other}"
                )))
            }
        };
        let filters = match filters {
            Value::Null => Vec::new(),
            Value::Array(list) => list
                .iter()
                .map(codec_from_config)
                .collect::<Result<Vec<_>>>()?,
            other => {
                return Err(Error::Config(format!(
                    "filters must be a list or null, got {other}"
                )))
            }
        };
        Ok(Pipeline {
            filters,
            compressor,
        })
    }

    /// The "compressor" JSON of this pipeline (object or null).
    pub fn compressor_json(&self) -> Value {
        self.compressor
            .as_ref()
            .map(|c| c.config())
            .unwrap_or(Value::Null)
    }

    /// The "filters" JSON of this pipeline (a list, or null when there are none, as zarr-python writes).
    pub fn filters_json(&self) -> Value {
        if self.filters.is_empty() {
            Value::Null
        } else {
            Value::Array(self.filters.iter().map(|f| f.config()).collect())
        }
    }

    /// Tell the compressor the item size of the array's dtype (blosc's typesize, used when
    /// encoding); the filters' effect on the item size is taken into account.
    pub fn set_itemsize(&mut self, itemsize: usize) {
        let size = self
            .filters
            .iter()
            .fold(itemsize, |s, f| f.encoded_itemsize(s));
        if let Some(c) = self.compressor.as_mut() {
            c.set_typesize(size);
        }
    }

    /// Tell the pipeline the array's element type as stored: the compressor's item size (as
    /// [`Pipeline::set_itemsize`]) and the type the first codec encodes (the first filter's,
    /// bitround; or the compressor's when there are no filters, pcodec).
    pub fn set_dtype(&mut self, dtype: &nd_core::DataType, endian: nd_core::Endian) {
        self.set_itemsize(dtype.size());
        if let Some(f) = self.filters.first_mut() {
            f.set_dtype(dtype, endian);
        } else if let Some(c) = self.compressor.as_mut() {
            // a compressor right after the array sees its elements (pcodec)
            c.set_dtype(dtype, endian);
        }
    }

    /// Size of the compressor's output (filters' encoded form) for `decoded_len` decoded bytes.
    pub fn encoded_len(&self, decoded_len: usize) -> usize {
        self.filters
            .iter()
            .fold(decoded_len, |n, f| f.encoded_len(n))
    }

    /// Decode a stored chunk to exactly `out.len()` bytes (filters decoded in reverse after the
    /// compressor; the compressor's expected size is derived through each filter's `encoded_len`).
    /// A different size is an error.
    pub fn decode_into(&self, data: &[u8], out: &mut [u8]) -> Result<()> {
        if self.filters.is_empty() {
            return match &self.compressor {
                Some(c) => {
                    let n = c.decode_into(data, out)?;
                    check_size(c.id(), out.len(), n)
                }
                None => {
                    check_size("none", out.len(), data.len())?;
                    out.copy_from_slice(data);
                    Ok(())
                }
            };
        }
        // Sizes at each stage: sizes[i] is the input size of filter i when encoding.
        let mut sizes = Vec::with_capacity(self.filters.len() + 1);
        sizes.push(out.len());
        for f in &self.filters {
            let last = sizes.last().copied().unwrap_or(0); // ok: sizes is never empty
            sizes.push(f.encoded_len(last));
        }
        let stored_len = sizes.last().copied().unwrap_or(0); // ok: sizes is never empty
        let mut cur: Vec<u8> = match &self.compressor {
            Some(c) => {
                let mut v = vec![0u8; stored_len];
                let n = c.decode_into(data, &mut v)?;
                check_size(c.id(), stored_len, n)?;
                v
            }
            None => {
                check_size("none", stored_len, data.len())?;
                data.to_vec()
            }
        };
        for (i, f) in self.filters.iter().enumerate().rev() {
            let want = sizes[i]; // ok: sizes has filters.len() + 1 entries
            if i == 0 {
                let n = f.decode_into(&cur, out)?;
                return check_size(f.id(), want, n);
            }
            let mut next = vec![0u8; want];
            let n = f.decode_into(&cur, &mut next)?;
            check_size(f.id(), want, n)?;
            cur = next;
        }
        Ok(())
    }

    /// Decode a stored chunk whose decoded size is not known in advance (the bytes an object
    /// codec reads): the compressor, then the filters in reverse, each bounded by `max_len`.
    ///
    /// # Errors
    /// As each codec's `decode`; [`Error::TooLarge`] past `max_len`.
    pub fn decode_bounded(&self, data: &[u8], max_len: usize) -> Result<Vec<u8>> {
        let mut cur = match &self.compressor {
            Some(c) => c.decode(data, max_len)?,
            None => copy_bounded("none", data, max_len)?,
        };
        for f in self.filters.iter().rev() {
            cur = f.decode(&cur, max_len)?;
        }
        Ok(cur)
    }

    /// Decode a stored chunk to exactly `decoded_len` bytes.
    pub fn decode(&self, data: &[u8], decoded_len: usize) -> Result<Vec<u8>> {
        let mut out = vec![0u8; decoded_len];
        self.decode_into(data, &mut out)?;
        Ok(out)
    }

    /// Encode a chunk into `out` (replacing its contents): as [`Pipeline::encode`], reusing
    /// `out`'s allocation when there are no filters.
    pub fn encode_into(&self, data: &[u8], out: &mut Vec<u8>) -> Result<()> {
        match &self.compressor {
            Some(c) if self.filters.is_empty() => c.encode_into(data, out),
            _ => {
                *out = self.encode(data)?;
                Ok(())
            }
        }
    }

    /// Encode a chunk: the filters in order, then the compressor.
    pub fn encode(&self, data: &[u8]) -> Result<Vec<u8>> {
        let mut cur: Option<Vec<u8>> = None;
        for f in &self.filters {
            let next = f.encode(cur.as_deref().unwrap_or(data))?;
            cur = Some(next);
        }
        match &self.compressor {
            Some(c) => c.encode(cur.as_deref().unwrap_or(data)),
            None => Ok(cur.unwrap_or_else(|| data.to_vec())),
        }
    }
}

/// `WrongSize` unless `actual` bytes are the `expected` ones.
pub(crate) fn check_size(codec: &str, expected: usize, actual: usize) -> Result<()> {
    if expected == actual {
        Ok(())
    } else {
        Err(Error::WrongSize {
            codec: codec.to_string(),
            expected,
            actual,
        })
    }
}

/// `TooLarge` when `len` bytes exceed `max_len`.
pub(crate) fn check_limit(codec: &'static str, len: usize, max_len: usize) -> Result<()> {
    if len > max_len {
        Err(Error::TooLarge {
            codec,
            limit: max_len,
        })
    } else {
        Ok(())
    }
}

/// A copy of `data`, refused (`TooLarge`) when longer than `max_len`.
pub(crate) fn copy_bounded(codec: &'static str, data: &[u8], max_len: usize) -> Result<Vec<u8>> {
    check_limit(codec, data.len(), max_len)?;
    Ok(data.to_vec())
}

/// Copy `data` into exactly `out`: longer is `TooLarge`, shorter is `WrongSize`.
pub(crate) fn copy_exact(codec: &'static str, data: &[u8], out: &mut [u8]) -> Result<usize> {
    check_limit(codec, data.len(), out.len())?;
    check_size(codec, out.len(), data.len())?;
    out.copy_from_slice(data);
    Ok(data.len())
}
