//! Format detection from content (never from the name) and opening.

use crate::dataset::{CliError, CliResult, Dataset};
use nd_core::ByteSource;
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

/// Options for URLs (from the environment: `AWS_*`, `GOOGLE_*`, `AZURE_*`, `ND_REMOTE_*`), shared by
/// everything one command opens, so its request counters add up.
fn remote_options() -> CliResult<&'static nd_remote::RemoteOptions> {
    static OPTS: std::sync::OnceLock<Result<nd_remote::RemoteOptions, String>> =
        std::sync::OnceLock::new();
    OPTS.get_or_init(|| nd_remote::RemoteOptions::from_env().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| CliError::input(format!("remote options: {e}")))
}

/// Requests and bytes sent to remote servers so far (for `--verbose`).
pub fn remote_stats() -> Option<nd_remote::StatsSnapshot> {
    remote_options().ok().map(|o| o.stats.snapshot())
}

/// Open a URL (`http(s)://`, `s3://`, `gs://`, `az://`): a Zarr store when the prefix holds Zarr
/// metadata, otherwise one object whose first bytes say FITS or ASDF.
fn open_url(url: &str) -> CliResult<Box<dyn Dataset>> {
    let opts = remote_options()?;
    // nd-remote's errors name the URL already
    let fail = |e: nd_remote::Error| CliError::input(e.to_string());
    let trimmed = url.trim_end_matches('/');
    let looks_zarr = trimmed.ends_with(".zarr") || url.ends_with('/');
    if looks_zarr {
        let store = nd_remote::open_store(trimmed, opts).map_err(fail)?;
        for k in [".zmetadata", ".zgroup", ".zarray"] {
            if store
                .get(k)
                .map_err(|e| CliError::input(format!("{url}: {e}")))?
                .is_some()
            {
                return Ok(Box::new(crate::zarr::ZarrDataset::from_store(url, store)?));
            }
        }
        return Err(CliError::input(format!(
            "{url}: no .zarray, .zgroup or .zmetadata: not a Zarr v2 store"
        )));
    }
    let src = nd_remote::open_source(url, opts).map_err(fail)?;
    let mut head = [0u8; 9];
    let n = (src.len() as usize).min(head.len());
    src.read_exact_at(0, &mut head[..n])
        .map_err(|e| CliError::input(format!("{url}: {e}")))?;
    let head = &head[..n];
    if head.starts_with(b"SIMPLE  =") || head.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(crate::fits::FitsDataset::from_source(url, src)?))
    } else if head.starts_with(b"#ASDF") {
        Ok(Box::new(crate::asdf::AsdfDataset::from_source(url, src)?))
    } else {
        Err(CliError::input(format!(
            "{url}: not a FITS, ASDF or Zarr v2 object (unrecognised first bytes)"
        )))
    }
}

/// Open a path or URL as a dataset of its detected format.
pub fn open(path: &str) -> CliResult<Box<dyn Dataset>> {
    if nd_remote::is_url(path) {
        return open_url(path);
    }
    match detect(path)? {
        Format::Fits => Ok(Box::new(crate::fits::FitsDataset::open(path)?)),
        Format::Zarr => Ok(Box::new(crate::zarr::ZarrDataset::open(path)?)),
        Format::Asdf => Ok(Box::new(crate::asdf::AsdfDataset::open(path)?)),
    }
}
