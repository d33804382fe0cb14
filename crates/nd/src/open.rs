//! Format detection from content (never from the name) and opening.

use crate::backend::Backend;
use crate::dataset::{Dataset, Format};
use crate::error::{Error, Result};
use nd_core::{ByteSource, Store};
use std::io::Read;
use std::path::Path;

/// Detect the format of a path from its content.
pub fn detect(path: &str) -> Result<Format> {
    let p = Path::new(path);
    let meta = std::fs::metadata(p).map_err(|e| Error::input(format!("{path}: {e}")))?;
    if meta.is_dir() {
        for k in ["zarr.json", ".zarray", ".zgroup", ".zmetadata"] {
            if p.join(k).is_file() {
                return Ok(Format::Zarr);
            }
        }
        return Err(Error::input(format!(
            "{path}: a directory without zarr.json, .zarray, .zgroup or .zmetadata is not a Zarr store"
        )));
    }
    let mut head = [0u8; 9];
    let mut f = std::fs::File::open(p).map_err(|e| Error::input(format!("{path}: {e}")))?;
    let n = f
        .read(&mut head)
        .map_err(|e| Error::input(format!("{path}: {e}")))?;
    let head = &head[..n];
    if head.starts_with(b"SIMPLE  =")
        || head.starts_with(&[0x1f, 0x8b])
        || crate::formats::packed::is_bzip2(head)
    {
        Ok(Format::Fits)
    } else if head.starts_with(b"#ASDF") {
        Ok(Format::Asdf)
    } else if head.starts_with(crate::formats::npy::NPY_MAGIC) {
        Ok(Format::Npy)
    } else if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        // a zip file: .npy members (an .npz), one FITS member (astropy reads those), else a
        // Zarr store as zarr-python's ZipStore writes them
        let zip = nd_zarr::ZipStore::open(p).map_err(|e| Error::input(format!("{path}: {e}")))?;
        let members = zip
            .list_prefix("")
            .map_err(|e| Error::input(format!("{path}: {e}")))?;
        if !members.is_empty() && members.iter().all(|m| m.ends_with(".npy")) {
            return Ok(Format::Npy);
        }
        if crate::formats::packed::zip_fits_member(path, &zip, &nd_core::Limits::default())
            .is_ok_and(|m| m.is_some())
        {
            return Ok(Format::Fits);
        }
        Ok(Format::Zarr)
    } else {
        Err(Error::input(format!(
            "{path}: not a FITS, ASDF, Zarr or .npy/.npz file (unrecognised first bytes)"
        )))
    }
}

/// Options for URLs from the environment (`AWS_*`, `GOOGLE_*`, `AZURE_*`, `ND_REMOTE_*`), shared by
/// everything a process opens without options of its own, so its request counters add up.
fn remote_options() -> Result<&'static nd_remote::RemoteOptions> {
    static OPTS: std::sync::OnceLock<Result<nd_remote::RemoteOptions, String>> =
        std::sync::OnceLock::new();
    OPTS.get_or_init(|| nd_remote::RemoteOptions::from_env().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| Error::input(format!("remote options: {e}")))
}

/// Requests and bytes sent to remote servers so far by everything opened with the options from
/// the environment (the default).
pub fn remote_stats() -> Option<nd_remote::StatsSnapshot> {
    remote_options().ok().map(|o| o.stats.snapshot())
}

/// Warnings of remote reads by everything opened with the options from the environment (the
/// default, also when [`OpenOptions::timeout`] or [`OpenOptions::anonymous`] adjust them): e.g.
/// a server that ignores range requests, read by downloading the whole object once. Each
/// distinct warning once; front ends print them.
pub fn remote_warnings() -> Vec<String> {
    remote_options()
        .map(|o| o.stats.warnings())
        .unwrap_or_default()
}

/// Open a URL (`http(s)://`, `s3://`, `gs://`, `az://`): a Zarr store when the prefix holds Zarr
/// metadata, otherwise one object whose first bytes say FITS or ASDF.
fn open_url(
    url: &str,
    opts: &nd_remote::RemoteOptions,
    limits: &nd_core::Limits,
) -> Result<Box<dyn Backend>> {
    // nd-remote's errors name the URL already
    let fail = |e: nd_remote::Error| Error::input(e.to_string());
    let trimmed = url.trim_end_matches('/');
    let looks_zarr = trimmed.ends_with(".zarr") || url.ends_with('/');
    if looks_zarr {
        let store = nd_remote::open_store(trimmed, opts).map_err(fail)?;
        for k in [".zmetadata", "zarr.json", ".zgroup", ".zarray"] {
            if store
                .get(k)
                .map_err(|e| Error::input(format!("{url}: {e}")))?
                .is_some()
            {
                return Ok(Box::new(crate::formats::zarr::ZarrDataset::from_store(
                    url, store, limits,
                )?));
            }
        }
        return Err(Error::input(format!(
            "{url}: no zarr.json, .zarray, .zgroup or .zmetadata: not a Zarr store"
        )));
    }
    let src = nd_remote::open_source(url, opts).map_err(fail)?;
    let mut head = [0u8; 9];
    let n = (src.len() as usize).min(head.len());
    src.read_exact_at(0, &mut head[..n])
        .map_err(|e| Error::input(format!("{url}: {e}")))?;
    let head = &head[..n];
    if head.starts_with(b"SIMPLE  =") || head.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(crate::formats::fits::FitsDataset::from_source(
            url, src, limits,
        )?))
    } else if crate::formats::packed::is_bzip2(head) {
        let src = crate::formats::packed::bzip2_source(url, &*src, limits)?;
        Ok(Box::new(crate::formats::fits::FitsDataset::from_source(
            url, src, limits,
        )?))
    } else if head.starts_with(crate::formats::npy::NPY_MAGIC) {
        Ok(Box::new(crate::formats::npy::NpyDataset::from_npy(
            url, src, limits,
        )?))
    } else if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        let zip = nd_zarr::ZipStore::from_source(src, url.to_string())
            .map_err(|e| Error::input(format!("{url}: {e}")))?;
        if let Some(npz) = crate::formats::npy::NpyDataset::from_npz(url, &zip, limits)? {
            return Ok(Box::new(npz));
        }
        match crate::formats::packed::zip_fits_member(url, &zip, limits)? {
            Some(member) => Ok(Box::new(crate::formats::fits::FitsDataset::from_source(
                url, member, limits,
            )?)),
            None => Ok(Box::new(crate::formats::zarr::ZarrDataset::from_store(
                url,
                std::sync::Arc::new(zip),
                limits,
            )?)),
        }
    } else if head.starts_with(b"#ASDF") {
        Ok(Box::new(crate::formats::asdf::AsdfDataset::from_source(
            url, src, limits,
        )?))
    } else {
        Err(Error::input(format!(
            "{url}: not a FITS, ASDF or Zarr v2 object (unrecognised first bytes)"
        )))
    }
}

/// How to open a dataset: a builder, then [`OpenOptions::open`].
///
/// ```no_run
/// let ds = nd::OpenOptions::new().open("s3://bucket/cube.fits")?;
/// # Ok::<(), nd::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct OpenOptions {
    remote: Option<nd_remote::RemoteOptions>,
    cache_size: Option<u64>,
    threads: Option<usize>,
    timeout: Option<std::time::Duration>,
    anonymous: bool,
    limits: nd_core::Limits,
}

impl std::fmt::Debug for OpenOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenOptions")
            .field("remote", &self.remote.as_ref().map(|_| "custom"))
            .field("cache_size", &self.cache_size)
            .field("threads", &self.threads)
            .field("timeout", &self.timeout)
            .field("anonymous", &self.anonymous)
            .field("limits", &self.limits)
            .finish()
    }
}

impl OpenOptions {
    /// Default options: remote credentials and endpoints from the environment (`AWS_*`,
    /// `GOOGLE_*`, `AZURE_*`, `ND_REMOTE_*`).
    pub fn new() -> Self {
        Self::default()
    }

    /// Options for URLs (endpoints, credentials, anonymous access, block cache, concurrency)
    /// instead of the environment's.
    pub fn remote(mut self, options: nd_remote::RemoteOptions) -> Self {
        self.remote = Some(options);
        self
    }

    /// Bytes of the block cache of each remote object (default 64 MiB; see
    /// [`nd_remote::RemoteOptions::cache_size`]).
    pub fn cache_size(mut self, bytes: u64) -> Self {
        self.cache_size = Some(bytes);
        self
    }

    /// Decode with `n` threads (a pool of the dataset's own) instead of rayon's global pool (one
    /// thread per core). `0` means the global pool.
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = (n > 0).then_some(n);
        self
    }

    /// Timeout for URLs: the longest wait for a server to answer (and then between pieces of
    /// its answer), and at most this long to connect. A timed-out request is not retried, so a
    /// server that accepts and never answers fails after this long, with one line naming the
    /// URL. Default 30 s (connect 10 s), or `ND_REMOTE_TIMEOUT` / `ND_REMOTE_CONNECT_TIMEOUT`.
    /// Applies on top of [`OpenOptions::remote`] or the environment's options.
    pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Anonymous access for URLs (public buckets): unsigned requests, no credential lookup.
    /// Default off, or `ND_REMOTE_ANONYMOUS=1` / `AWS_NO_SIGN_REQUEST=YES`.
    pub fn anonymous(mut self, anonymous: bool) -> Self {
        self.anonymous = anonymous;
        self
    }

    /// The remote options for a URL: the given or the environment's, with `timeout`,
    /// `anonymous` and `cache_size` applied (a clone shares the counters and warnings of the original).
    fn remote_for_url(&self) -> Result<std::borrow::Cow<'_, nd_remote::RemoteOptions>> {
        let base = match &self.remote {
            Some(o) => o,
            None => remote_options()?,
        };
        if self.timeout.is_none() && !self.anonymous && self.cache_size.is_none() {
            return Ok(std::borrow::Cow::Borrowed(base));
        }
        let mut o = base.clone();
        if let Some(bytes) = self.cache_size {
            o.cache_size = bytes;
        }
        if let Some(t) = self.timeout {
            o.timeout = t;
            o.connect_timeout = o.connect_timeout.min(t);
        }
        o.anonymous |= self.anonymous;
        o.validate()
            .map_err(|e| Error::input(format!("remote options: {e}")))?;
        Ok(std::borrow::Cow::Owned(o))
    }

    /// Bounds on what the file may make nd allocate or walk (decompressed size of a `.fits.gz`,
    /// ASDF blocks, YAML nodes and depth; see [`nd_core::Limits`] for the defaults and why).
    /// Opening a file over one fails with [`Error::Input`] naming the limit and where.
    pub fn limits(mut self, limits: nd_core::Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Open a local path, a `file://` URL, or an `http(s)://`, `s3://`, `gs://` or `az://` URL.
    /// The format is detected from the content (FITS, gzip-compressed FITS, ASDF, a Zarr v2
    /// store); only metadata is read (headers, the tree, `.zarray`/`.zmetadata`).
    ///
    /// A FITS name may end in cfitsio's extended filename brackets (`f.fits[SCI]`,
    /// `f.fits.gz[1][1:100,*]`; see [`crate::extended`]): the file is opened without them and
    /// [`Dataset::selected`] / [`Dataset::pick`] give the array they select.
    ///
    /// # Errors
    /// [`Error::Input`] when the path cannot be read or is not a format nd reads; for URLs,
    /// one line naming the URL and the cause in plain words (`not found (HTTP 404)`, `access
    /// denied (HTTP 403)`, `timed out after 30 s`, `connection refused`, `cannot resolve host
    /// …`, `no credentials: …`).
    pub fn open(&self, path_or_url: &str) -> Result<Dataset> {
        let extended = crate::extended::ExtendedName::parse(path_or_url)?;
        let path_or_url = extended.as_ref().map_or(path_or_url, |x| x.path.as_str());
        let backend = if let Some(local) = path_or_url.strip_prefix("file://") {
            open_local(local, &self.limits)?
        } else if nd_remote::is_url(path_or_url) {
            open_url(path_or_url, &*self.remote_for_url()?, &self.limits)?
        } else {
            open_local(path_or_url, &self.limits)?
        };
        let pool = match self.threads {
            Some(n) => Some(std::sync::Arc::new(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(n)
                    .build()
                    .map_err(|e| {
                        Error::input(format!("{path_or_url}: a pool of {n} threads: {e}"))
                    })?,
            )),
            None => None,
        };
        if let Some(x) = &extended {
            if backend.format() != "fits" {
                return Err(Error::input(format!(
                    "{path_or_url}{}: extended filename brackets are for FITS files; this is {} \
                     (give the array as a selector, a cutout with --region)",
                    x.brackets,
                    backend.format()
                )));
            }
        }
        Ok(Dataset::new(path_or_url, backend, pool).with_extended(extended))
    }
}

impl OpenOptions {
    /// Open and verify (see [`Dataset::verify`]). A local file that starts as FITS but whose
    /// primary header cannot be read (no END, an invalid BITPIX, mandatory keywords out of
    /// order) is itself a finding: one error, as fitsverify counts a file it gives up on.
    ///
    /// # Errors
    /// As [`OpenOptions::open`] for everything else (a missing file, another format, a URL that
    /// cannot be read).
    pub fn verify(&self, path_or_url: &str) -> Result<crate::VerifyReport> {
        match self.open(path_or_url) {
            Ok(ds) => ds.verify(),
            Err(e) => {
                let local = path_or_url.strip_prefix("file://").unwrap_or(path_or_url);
                if nd_remote::is_url(path_or_url) || !matches!(detect(local), Ok(Format::Fits)) {
                    return Err(e);
                }
                let msg = e.to_string();
                let msg = msg
                    .strip_prefix(&format!("{local}: "))
                    .unwrap_or(&msg)
                    .to_string();
                Ok(crate::VerifyReport {
                    format: Format::Fits.name(),
                    findings: vec![crate::Finding::error("file", "structure", msg)],
                })
            }
        }
    }
}

/// Open a path or URL with default options (see [`OpenOptions::open`]).
///
/// ```
/// let ds = nd::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/example/cube.fits"))?;
/// let sci = ds.array("SCI")?;
/// assert_eq!(sci.shape(), &[32, 64, 64]);
/// # Ok::<(), nd::Error>(())
/// ```
///
/// # Errors
/// As [`OpenOptions::open`].
pub fn open(path_or_url: &str) -> Result<Dataset> {
    OpenOptions::new().open(path_or_url)
}

fn open_local(path: &str, limits: &nd_core::Limits) -> Result<Box<dyn Backend>> {
    if let Some(fits) = open_plain_fits(path, limits)? {
        return Ok(Box::new(fits));
    }
    let packed = |e: nd_core::Error| Error::input(format!("{path}: {e}"));
    match detect(path)? {
        Format::Fits if Path::new(path).is_file() && !starts_plain_or_gzip(path)? => {
            // bzip2, or a one-member zip
            let src = nd_core::open_local(path).map_err(packed)?;
            let mut head = [0u8; 4];
            let n = (src.len() as usize).min(4);
            src.read_exact_at(0, &mut head[..n]).map_err(packed)?;
            let inner = if crate::formats::packed::is_bzip2(&head[..n]) {
                crate::formats::packed::bzip2_source(path, &*src, limits)?
            } else {
                let zip = nd_zarr::ZipStore::from_source(src, path.to_string())
                    .map_err(|e| Error::input(format!("{path}: {e}")))?;
                crate::formats::packed::zip_fits_member(path, &zip, limits)?.ok_or_else(|| {
                    Error::input(format!("{path}: no FITS member in the zip file"))
                })?
            };
            Ok(Box::new(crate::formats::fits::FitsDataset::from_source(
                path, inner, limits,
            )?))
        }
        Format::Fits => Ok(Box::new(crate::formats::fits::FitsDataset::open(
            path, limits,
        )?)),
        Format::Zarr if Path::new(path).is_file() => {
            let zip =
                nd_zarr::ZipStore::open(path).map_err(|e| Error::input(format!("{path}: {e}")))?;
            Ok(Box::new(crate::formats::zarr::ZarrDataset::from_store(
                path,
                std::sync::Arc::new(zip),
                limits,
            )?))
        }
        Format::Zarr => Ok(Box::new(crate::formats::zarr::ZarrDataset::open(
            path, limits,
        )?)),
        Format::Asdf => Ok(Box::new(crate::formats::asdf::AsdfDataset::open(
            path, limits,
        )?)),
        Format::Npy => {
            let src = nd_core::open_local(path).map_err(packed)?;
            if src.len() >= 6
                && src.read_range(0..6).map_err(packed)?[..] == *crate::formats::npy::NPY_MAGIC
            {
                return Ok(Box::new(crate::formats::npy::NpyDataset::from_npy(
                    path, src, limits,
                )?));
            }
            let zip = nd_zarr::ZipStore::from_source(src, path.to_string())
                .map_err(|e| Error::input(format!("{path}: {e}")))?;
            crate::formats::npy::NpyDataset::from_npz(path, &zip, limits)?
                .map(|d| Box::new(d) as Box<dyn Backend>)
                .ok_or_else(|| Error::input(format!("{path}: not an .npz file")))
        }
    }
}

/// A local file that starts as plain FITS (the common case), opened once: its first bytes are
/// read through the handle the dataset then reads from, where detecting the format the general
/// way looks the path up five more times (the kind of file, its first bytes, whether it is
/// compressed) before opening it: ~5 µs of a 50 µs cutout. `None` for anything else, or a file
/// that cannot be opened: the general way then detects it, or says why not.
fn open_plain_fits(
    path: &str,
    limits: &nd_core::Limits,
) -> Result<Option<crate::formats::fits::FitsDataset>> {
    let Ok(src) = nd_core::MmapSource::open(path) else {
        return Ok(None);
    };
    let mut head = [0u8; 9];
    // a directory opens too (on Linux), and then cannot be read
    if src.len() < head.len() as u64 || src.read_exact_at(0, &mut head).is_err() {
        return Ok(None);
    }
    if &head != b"SIMPLE  =" {
        return Ok(None);
    }
    crate::formats::fits::FitsDataset::from_source(path, std::sync::Arc::new(src), limits).map(Some)
}

/// Whether a local FITS file is plain or gzip-compressed (read by nd-fits directly), not a
/// bzip2 stream or a zip.
fn starts_plain_or_gzip(path: &str) -> Result<bool> {
    let mut head = [0u8; 9];
    let mut f = std::fs::File::open(path).map_err(|e| Error::input(format!("{path}: {e}")))?;
    let n = f
        .read(&mut head)
        .map_err(|e| Error::input(format!("{path}: {e}")))?;
    Ok(head[..n].starts_with(b"SIMPLE  =") || head[..n].starts_with(&[0x1f, 0x8b]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timeout_and_anonymous_apply_over_the_remote_options() {
        let base = nd_remote::RemoteOptions::default();
        let o = OpenOptions::new()
            .remote(base.clone())
            .timeout(Duration::from_secs(3))
            .anonymous(true);
        let r = o.remote_for_url().unwrap();
        assert_eq!(r.timeout, Duration::from_secs(3));
        assert_eq!(r.connect_timeout, Duration::from_secs(3));
        assert!(r.anonymous);
        // the same counters and warnings as the options it came from
        base.stats.reset();
        assert_eq!(r.stats.requests(), 0);
        let long = OpenOptions::new()
            .remote(base)
            .timeout(Duration::from_secs(120));
        let r = long.remote_for_url().unwrap();
        assert_eq!(r.connect_timeout, Duration::from_secs(10));
        assert!(!r.anonymous);
        let e = OpenOptions::new()
            .remote(nd_remote::RemoteOptions::default())
            .timeout(Duration::ZERO)
            .remote_for_url()
            .unwrap_err();
        assert!(e.to_string().contains("timeout"), "{e}");
    }
}
