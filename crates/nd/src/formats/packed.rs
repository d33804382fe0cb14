//! FITS inside a bzip2 stream (`.fits.bz2`) or a one-member zip (`.fits.zip`), read as astropy
//! reads them.
//!
//! - bzip2: astropy reads through Python's `bz2.BZ2File`. nd decompresses the whole stream
//!   (concatenated streams too, as `BZ2File` does) into memory once, refusing more than
//!   [`nd_core::Limits::decompressed_bytes`] with an error naming the limit. bzip2 has no
//!   access points a reader could keep (unlike gzip, read in place through
//!   `nd_codecs::gzip_source`), so random access needs the decompressed bytes.
//! - zip: astropy accepts a zip holding exactly one member and reads that member ("Zip files
//!   with multiple members are not supported"). nd does the same when the member's first bytes
//!   are a FITS header; a zip of Zarr keys stays a Zarr store (zarr-python's `ZipStore`). A
//!   stored (uncompressed) member is read in place; a deflated one is inflated into memory
//!   within the same limit.

use crate::error::{Error, Result};
use nd_core::{ByteSource, Limits, MemSource, Store};
use std::sync::Arc;

/// bzip2's magic bytes (`BZh` then the block size digit).
pub(crate) fn is_bzip2(head: &[u8]) -> bool {
    head.len() >= 4 && head.starts_with(b"BZh") && (b'1'..=b'9').contains(&head[3])
}

/// The decompressed bytes of a bzip2-compressed source, held in memory.
///
/// # Errors
/// [`Error::Input`] naming `name` when the stream is damaged or decompresses to more than
/// `limits.decompressed_bytes`.
pub(crate) fn bzip2_source(
    name: &str,
    src: &dyn ByteSource,
    limits: &Limits,
) -> Result<Arc<dyn ByteSource>> {
    let raw = src
        .read_range(0..src.len())
        .map_err(|e| Error::input(format!("{name}: {e}")))?;
    let max = usize::try_from(limits.decompressed_bytes).unwrap_or(usize::MAX);
    let out = nd_codecs::Bz2::decode_stream(&raw, max).map_err(|e| {
        Error::input(format!(
            "{name}: bzip2: {e} (a .bz2 file is decompressed whole into memory, at most \
             Limits::decompressed_bytes = {} bytes)",
            limits.decompressed_bytes
        ))
    })?;
    Ok(Arc::new(MemSource::new(out)))
}

/// When `zip` holds exactly one member and it starts with a FITS header, that member's bytes
/// (in place when stored, inflated within `limits.decompressed_bytes` when deflated); `None`
/// otherwise (a Zarr zip store, or anything else).
///
/// # Errors
/// [`Error::Input`] naming `name` when the member cannot be read or is over the limit.
pub(crate) fn zip_fits_member(
    name: &str,
    zip: &nd_zarr::ZipStore,
    limits: &Limits,
) -> Result<Option<Arc<dyn ByteSource>>> {
    let fail = |e: &dyn std::fmt::Display| Error::input(format!("{name}: {e}"));
    let members = zip.list_prefix("").map_err(|e| fail(&e))?;
    let [member] = members.as_slice() else {
        return Ok(None);
    };
    let size = zip.uncompressed_len(member).unwrap_or(0);
    if size > limits.decompressed_bytes {
        // only a FITS member is ours to refuse; peek at its name
        let lower = member.to_ascii_lowercase();
        if [".fits", ".fit", ".fts"].iter().any(|s| lower.ends_with(s)) {
            return Err(fail(&format!(
                "zip member '{member}' holds {size} bytes, over Limits::decompressed_bytes = {}",
                limits.decompressed_bytes
            )));
        }
        return Ok(None);
    }
    let Some(bytes) = zip.get(member).map_err(|e| fail(&e))? else {
        return Ok(None);
    };
    if !bytes.starts_with(b"SIMPLE  =") {
        return Ok(None);
    }
    Ok(Some(Arc::new(MemSource::new(bytes))))
}
