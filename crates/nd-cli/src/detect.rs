//! Format detection from content (never from the name) and opening.

use crate::dataset::{CliError, CliResult, Dataset};
use std::io::Read;
use std::path::Path;

/// The formats nd reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// FITS (plain or gzip-compressed).
    Fits,
    /// ASDF.
    Asdf,
    /// Zarr v2 (a directory store).
    Zarr,
}

/// Detect the format of a path from its content.
pub fn detect(path: &str) -> CliResult<Format> {
    let p = Path::new(path);
    let meta = std::fs::metadata(p).map_err(|e| CliError::input(format!("{path}: {e}")))?;
    if meta.is_dir() {
        for k in [".zarray", ".zgroup", ".zmetadata"] {
            if p.join(k).is_file() {
                return Ok(Format::Zarr);
            }
        }
        return Err(CliError::input(format!(
            "{path}: a directory without .zarray, .zgroup or .zmetadata is not a Zarr v2 store"
        )));
    }
    let mut head = [0u8; 9];
    let mut f = std::fs::File::open(p).map_err(|e| CliError::input(format!("{path}: {e}")))?;
    let n = f
        .read(&mut head)
        .map_err(|e| CliError::input(format!("{path}: {e}")))?;
    let head = &head[..n];
    if head.starts_with(b"SIMPLE  =") || head.starts_with(&[0x1f, 0x8b]) {
        Ok(Format::Fits)
    } else if head.starts_with(b"#ASDF") {
        Ok(Format::Asdf)
    } else {
        Err(CliError::input(format!(
            "{path}: not a FITS, ASDF or Zarr v2 file (unrecognised first bytes)"
        )))
    }
}

/// Open a path as a dataset of its detected format.
pub fn open(path: &str) -> CliResult<Box<dyn Dataset>> {
    match detect(path)? {
        Format::Fits => Ok(Box::new(crate::fits::FitsDataset::open(path)?)),
        Format::Zarr => Ok(Box::new(crate::zarr::ZarrDataset::open(path)?)),
        Format::Asdf => Ok(Box::new(crate::asdf::AsdfDataset::open(path)?)),
    }
}
