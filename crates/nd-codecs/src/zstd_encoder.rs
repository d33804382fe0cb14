//! The zstd compression context nd encodes with: numcodecs' frames at the speed of the zstd
//! nd links (see spec-notes/codecs.md, "zstd").
//!
//! zstd 1.5.7 added the pre-splitting of blocks (`ZSTD_c_blockSplitterLevel`, on by default
//! from level 3): on float data it costs half again the time of a compression for under 1% of
//! its size, and it makes frames that differ from those of the zstd numcodecs 0.15 bundles
//! (1.5.6). With pre-splitting off, nd's frames are numcodecs' byte for byte. The parameter is
//! experimental in zstd and not in the `zstd` crate's safe API, hence this wrapper of the C
//! context.

use std::io;
use std::ptr::NonNull;
use zstd::zstd_safe::zstd_sys as sys;

/// The first zstd version that pre-splits blocks (and has `ZSTD_c_blockSplitterLevel`, which
/// is `ZSTD_c_experimentalParam20` in 1.5.7 and 1.6.0).
const PRE_SPLITTING_SINCE: u32 = 10507;

/// `ZSTD_c_blockSplitterLevel`'s value for "no pre-splitting".
const NO_PRE_SPLITTING: i32 = 1;

/// A zstd compression context set to one level and content checksum flag, without
/// pre-splitting of blocks. Frames carry the content size (as `ZSTD_compress2` writes them).
pub(crate) struct ZstdEncoder {
    cctx: NonNull<sys::ZSTD_CCtx>,
    level: i32,
    checksum: bool,
}

/// `code` when it is not one of zstd's error codes; the error's name otherwise.
fn check(code: usize) -> io::Result<usize> {
    // SAFETY: ZSTD_isError and ZSTD_getErrorName take any value; the name is a static string.
    unsafe {
        if sys::ZSTD_isError(code) != 0 {
            let name = std::ffi::CStr::from_ptr(sys::ZSTD_getErrorName(code));
            return Err(io::Error::other(name.to_string_lossy().into_owned()));
        }
    }
    Ok(code)
}

impl ZstdEncoder {
    /// A context compressing at `level` (clamped by zstd to its range), with a content
    /// checksum when `checksum`.
    pub(crate) fn new(level: i32, checksum: bool) -> io::Result<ZstdEncoder> {
        // SAFETY: plain constructor; a null result is an allocation failure.
        let cctx = NonNull::new(unsafe { sys::ZSTD_createCCtx() })
            .ok_or_else(|| io::Error::other("zstd: no memory for a compression context"))?;
        // owned from here: dropped (freed) on an error below
        let enc = ZstdEncoder {
            cctx,
            level,
            checksum,
        };
        enc.set(sys::ZSTD_cParameter::ZSTD_c_compressionLevel, level)?;
        enc.set(
            sys::ZSTD_cParameter::ZSTD_c_checksumFlag,
            i32::from(checksum),
        )?;
        // SAFETY: no arguments.
        if unsafe { sys::ZSTD_versionNumber() } >= PRE_SPLITTING_SINCE {
            enc.set(
                sys::ZSTD_cParameter::ZSTD_c_experimentalParam20,
                NO_PRE_SPLITTING,
            )?;
        }
        Ok(enc)
    }

    fn set(&self, param: sys::ZSTD_cParameter, value: i32) -> io::Result<()> {
        // SAFETY: a live context; zstd checks the parameter and its bounds.
        check(unsafe { sys::ZSTD_CCtx_setParameter(self.cctx.as_ptr(), param, value) }).map(drop)
    }

    /// The level and checksum flag it was made with.
    pub(crate) fn settings(&self) -> (i32, bool) {
        (self.level, self.checksum)
    }

    /// Compress `data` into one frame, replacing the contents of `out` (its allocation reused).
    pub(crate) fn compress_into(&mut self, data: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
        out.clear();
        let bound = zstd::zstd_safe::compress_bound(data.len());
        out.reserve(bound);
        // SAFETY: a live context used by this thread alone (`&mut self`); zstd reads
        // `data.len()` bytes of `data` and writes at most `out.capacity()` bytes (>= the bound)
        // into `out`'s spare capacity, returning how many it wrote, which are then initialised.
        // ZSTD_compress2 starts a new frame whatever the context did before (it resets the
        // session, keeping the parameters).
        let n = check(unsafe {
            sys::ZSTD_compress2(
                self.cctx.as_ptr(),
                out.as_mut_ptr().cast(),
                out.capacity(),
                data.as_ptr().cast(),
                data.len(),
            )
        })?;
        // SAFETY: zstd wrote n <= capacity bytes from the start of the buffer.
        unsafe { out.set_len(n) };
        Ok(())
    }
}

impl Drop for ZstdEncoder {
    fn drop(&mut self) {
        // SAFETY: made by ZSTD_createCCtx, freed once.
        unsafe {
            sys::ZSTD_freeCCtx(self.cctx.as_ptr());
        }
    }
}
