//! Lazy access to block data: uncompressed blocks are served from the byte source (zero-copy for
//! memory maps), compressed blocks are decoded once on first touch, bounded by their declared size.

use crate::error::{Error, Result};
use crate::layout::BlockHeader;
use bytes::Bytes;
use md5::{Digest, Md5};
use nd_core::ByteSource;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The blocks of one file.
#[derive(Debug)]
pub struct Blocks {
    src: Arc<dyn ByteSource>,
    headers: Arc<Vec<BlockHeader>>,
    /// Compressed blocks decoded so far, by index: a map rather than a slot per block, so a
    /// file of a million tiny blocks costs no more than its headers.
    decoded: Mutex<HashMap<usize, Bytes>>,
}

/// Which bytes a block's checksum matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumMatch {
    /// The block has no checksum.
    None,
    /// MD5 of the stored (possibly compressed) bytes: the standard, and python asdf ≥ 5.3.
    Stored,
    /// MD5 of the decompressed bytes: python asdf before 5.3 (e.g. the reference `compressed.asdf`).
    Decoded,
    /// Neither matched.
    Mismatch,
}

impl Blocks {
    /// Blocks of `src` described by `headers` (a `Vec`, or an `Arc` of one shared with the
    /// file's [`crate::layout::Layout`]).
    pub fn new(src: Arc<dyn ByteSource>, headers: impl Into<Arc<Vec<BlockHeader>>>) -> Self {
        Blocks {
            src,
            headers: headers.into(),
            decoded: Mutex::default(),
        }
    }

    /// Number of blocks.
    pub fn len(&self) -> usize {
        self.headers.len()
    }

    /// True when there are no blocks.
    pub fn is_empty(&self) -> bool {
        self.headers.is_empty()
    }

    /// The headers.
    pub fn headers(&self) -> &[BlockHeader] {
        &self.headers
    }

    /// The byte source.
    pub fn source(&self) -> &Arc<dyn ByteSource> {
        &self.src
    }

    /// Resolve a source index as written in the tree (negative counts from the end).
    pub fn resolve(&self, index: i64) -> Result<usize> {
        let n = self.headers.len() as i64;
        let i = if index < 0 { n + index } else { index };
        if i < 0 || i >= n {
            return Err(Error::NoSuchBlock {
                index,
                count: self.headers.len(),
            });
        }
        Ok(i as usize)
    }

    /// The header of block `i`.
    pub fn header(&self, i: usize) -> Result<&BlockHeader> {
        self.headers.get(i).ok_or(Error::NoSuchBlock {
            index: i as i64,
            count: self.headers.len(),
        })
    }

    /// The stored bytes of block `i` (zero-copy for memory-mapped sources).
    pub fn stored(&self, i: usize) -> Result<Bytes> {
        let h = self.header(i)?;
        let start = h.data_offset();
        Ok(self.src.read_range(start..start + h.used)?)
    }

    /// True when block `i` is compressed.
    pub fn is_compressed(&self, i: usize) -> bool {
        self.headers.get(i).is_some_and(|h| h.compression != [0; 4])
    }

    /// The decoded bytes of block `i`, decoding (once) if compressed.
    pub fn data(&self, i: usize) -> Result<Bytes> {
        let h = self.header(i)?;
        if h.compression == [0; 4] {
            return self.stored(i);
        }
        if let Some(b) = self.cached(i) {
            return Ok(b);
        }
        let stored = self.stored(i)?;
        let max = usize::try_from(h.data_size).map_err(|_| Error::Codec {
            block: i,
            message: "data size too large".into(),
        })?;
        let out =
            nd_codecs::asdf::decode(&h.compression, &stored, max).map_err(|e| Error::Codec {
                block: i,
                message: e.to_string(),
            })?;
        if out.len() as u64 != h.data_size {
            return Err(Error::Codec {
                block: i,
                message: format!(
                    "decoded {} bytes, the header says {}",
                    out.len(),
                    h.data_size
                ),
            });
        }
        let b = Bytes::from(out);
        // Two threads may decode the same block at once; both get equal bytes, one is kept.
        self.decoded
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(i)
            .or_insert_with(|| b.clone());
        Ok(b)
    }

    /// Decode compressed block `i` straight into `out` (exactly its declared decoded size), or
    /// copy it from the decoded copy if one is already held. Unlike [`Blocks::data`] nothing is
    /// kept: a full read holds only the caller's array and, for zlib and bzip2, one buffer of
    /// stored bytes ([`nd_core::io::SourceReader`]: bounded positional reads, so a memory map's
    /// pages are not faulted in either); the other compressions hold the stored bytes while
    /// decoding.
    pub fn decode_into(&self, i: usize, out: &mut [u8]) -> Result<()> {
        let h = self.header(i)?;
        if out.len() as u64 != h.data_size {
            return Err(Error::Codec {
                block: i,
                message: format!(
                    "{} bytes asked for, the header says {}",
                    out.len(),
                    h.data_size
                ),
            });
        }
        if let Some(b) = self.cached(i) {
            out.copy_from_slice(&b);
            return Ok(());
        }
        let codec = |e: nd_codecs::Error| Error::Codec {
            block: i,
            message: e.to_string(),
        };
        if nd_codecs::asdf::streams(&h.compression) {
            let start = h.data_offset();
            let end = start.checked_add(h.used).ok_or(Error::Codec {
                block: i,
                message: "block extends past 2^64 bytes".into(),
            })?;
            let stored = nd_core::io::SourceReader::new(&*self.src, start..end)?;
            return nd_core::buf::fill_with_pages_prefaulted(out, |out| {
                nd_codecs::asdf::decode_stream_into(&h.compression, stored, out)
            })
            .map_err(codec);
        }
        let stored = self.stored(i)?;
        nd_codecs::asdf::decode_into(&h.compression, &stored, out).map_err(codec)
    }

    /// Block `i`'s decoded bytes if already decoded.
    fn cached(&self, i: usize) -> Option<Bytes> {
        self.decoded
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&i)
            .cloned()
    }

    /// Length of the decoded data of block `i`.
    pub fn data_len(&self, i: usize) -> Result<u64> {
        Ok(self.header(i)?.decoded_len())
    }

    /// Verify block `i`'s checksum, trying the stored bytes first, then the decoded bytes.
    pub fn verify(&self, i: usize) -> Result<ChecksumMatch> {
        let h = self.header(i)?;
        if !h.has_checksum() {
            return Ok(ChecksumMatch::None);
        }
        let stored = self.stored(i)?;
        if md5(&stored) == h.checksum {
            return Ok(ChecksumMatch::Stored);
        }
        if h.compression != [0; 4] {
            if let Ok(d) = self.data(i) {
                if md5(&d) == h.checksum {
                    return Ok(ChecksumMatch::Decoded);
                }
            }
        }
        Ok(ChecksumMatch::Mismatch)
    }
}

/// MD5 digest of bytes.
pub fn md5(data: &[u8]) -> [u8; 16] {
    let mut h = Md5::new();
    h.update(data);
    h.finalize().into()
}
