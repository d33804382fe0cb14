//! `.fits.gz` output: the FITS file is built as usual under a temporary name, then compressed
//! through flate2 (streaming, a 1 MiB buffer) into a second temporary name beside the destination,
//! which is renamed into place only when complete. astropy writes a `.fits.gz` name the same way
//! (a plain FITS stream through gzip) and reads it back transparently.
//!
//! Cost: the uncompressed file needs its size in free disk beside the destination while it is
//! compressed (the FITS writer writes images positionally, in parallel, so it cannot write into
//! a gzip stream directly).

use crate::error::{Error, Result};
use nd_core::io::TempFile;
use std::io::Write;

/// Whether `dst` names gzip-compressed output (`…​.gz`, any case).
pub(crate) fn is_gzip_name(dst: &str) -> bool {
    dst.to_ascii_lowercase().ends_with(".gz")
}

/// Compress the complete plain file `plain` into `dst` (atomically: a temporary beside `dst`,
/// renamed into place). `plain` stays for its owner to drop.
///
/// # Errors
/// [`Error::Output`]-style input errors naming `dst` when reading, compressing or renaming fails.
pub(crate) fn persist_gzipped(plain: &TempFile, dst: &str) -> Result<()> {
    let fail = |e: &dyn std::fmt::Display| Error::input(format!("{dst}: writing gzip: {e}"));
    let mut src = std::fs::File::open(plain.path()).map_err(|e| fail(&e))?;
    let mut out = TempFile::create(dst).map_err(|e| fail(&e))?;
    {
        let buffered = std::io::BufWriter::with_capacity(1 << 20, out.file_mut());
        let mut enc = flate2::write::GzEncoder::new(buffered, flate2::Compression::default());
        std::io::copy(&mut src, &mut enc).map_err(|e| fail(&e))?;
        let mut buffered = enc.finish().map_err(|e| fail(&e))?;
        buffered.flush().map_err(|e| fail(&e))?;
    }
    out.persist().map_err(|e| fail(&e))
}
