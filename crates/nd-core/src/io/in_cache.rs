//! Reads converted where they land, while the bytes are still in the core's cache.

use crate::error::{Error, Result};
use crate::source::ByteSource;

/// Most bytes [`read_converting`] reads before it converts them: well inside a core's own cache
/// (L2, 1-2 MiB on the machines nd is measured on), so that the conversion reads what the read
/// has just written there instead of what a larger read has already pushed out to memory.
pub const IN_CACHE_BYTES: usize = 256 << 10;

/// Fill `out` with the bytes of `src` at `offset..offset + out.len()`, in parts of at most
/// [`IN_CACHE_BYTES`] (whole `elem`-byte elements), calling `convert` on each part as soon as it
/// is read (a byte swap to native order, an offset of unsigned values). A range reaching past the
/// end of `src` is [`Error::OutOfBounds`] for the whole range, as one read of it would be.
///
/// # Errors
/// What `src` reports; `out` is then partly filled.
pub fn read_converting(
    src: &dyn ByteSource,
    offset: u64,
    out: &mut [u8],
    elem: usize,
    mut convert: impl FnMut(&mut [u8]),
) -> Result<()> {
    let len = out.len() as u64;
    let part = (IN_CACHE_BYTES / elem.max(1)).max(1) * elem.max(1);
    let mut at = offset;
    for dst in out.chunks_mut(part) {
        src.read_exact_at(at, dst).map_err(|e| match e {
            Error::OutOfBounds { size, .. } => Error::OutOfBounds { offset, len, size },
            e => e,
        })?;
        convert(dst);
        at += dst.len() as u64;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::MemSource;

    #[test]
    fn parts_are_converted_once_each_and_past_the_end_names_the_whole_range() {
        let n = IN_CACHE_BYTES * 2 + 6; // three parts, the last short
        let data: Vec<u8> = (0..n + 10).map(|i| (i % 251) as u8).collect();
        let src = MemSource::new(data.clone());
        let mut out = vec![0u8; n];
        let mut parts = Vec::new();
        read_converting(&src, 10, &mut out, 2, |p| {
            parts.push(p.len());
            p.chunks_exact_mut(2).for_each(|e| e.swap(0, 1));
        })
        .unwrap();
        assert_eq!(parts, vec![IN_CACHE_BYTES, IN_CACHE_BYTES, 6]);
        let mut want = data[10..10 + n].to_vec();
        want.chunks_exact_mut(2).for_each(|e| e.swap(0, 1));
        assert_eq!(out, want);
        // parts of whole elements: 3-byte elements never split across parts
        let mut sizes = Vec::new();
        let m = (IN_CACHE_BYTES / 3 + 2) * 3;
        read_converting(&src, 0, &mut out[..m], 3, |p| sizes.push(p.len())).unwrap();
        assert_eq!(sizes.len(), 2);
        assert!(sizes.iter().all(|s| s % 3 == 0), "{sizes:?}");
        // a range past the end: the error names the whole range, not the part that failed
        let mut out = vec![0u8; n + 20];
        match read_converting(&src, 0, &mut out, 2, |_| {}) {
            Err(Error::OutOfBounds { offset, len, size }) => {
                assert_eq!((offset, len, size), (0, n as u64 + 20, n as u64 + 10));
            }
            other => panic!("{other:?}"),
        }
    }
}
