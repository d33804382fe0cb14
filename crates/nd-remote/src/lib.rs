//! # nd-remote
//!
//! Remote byte sources and stores for nd, through the [`object_store`] crate: HTTP(S) servers,
//! S3 (and S3-compatible servers), Google Cloud Storage and Azure Blob Storage. The format
//! crates read them unchanged: [`open_source`] gives an `Arc<dyn ByteSource>` for FITS and ASDF,
//! [`open_store`] an `Arc<dyn Store>` for Zarr.
//!
//! The API is synchronous; requests run on a small internal tokio runtime (two worker threads).
//! Latency is handled below the formats: a block cache with sequential read-ahead (a FITS
//! header walk reads 2880 bytes at a time, but costs one request per cache block, fewer as the
//! read-ahead grows), batched reads sent as HTTP multi-range requests (one request for many
//! scattered ranges, only their bytes) or, on object stores, coalesced and run concurrently, a
//! bound on requests in flight, and bounded retries with backoff for errors where retrying is safe.
//! Every response is checked against the object's size and ETag taken at open time, so an
//! object that changes while it is read is an error, never mixed data.
//!
//! ```no_run
//! use nd_core::ByteSource;
//! use nd_remote::{open_source, open_store, RemoteOptions};
//! let opts = RemoteOptions::from_env()?;
//! let src = open_source("https://example.org/data/image.fits", &opts)?;
//! let head = src.read_range(0..2880)?;
//! assert_eq!(&head[..6], b"SIMPLE");
//! println!("{}", opts.stats.snapshot()); // 1 requests (1 GET, ...), 262144 bytes received
//! let fits = nd_fits_like_reader(src);    // e.g. nd_fits::Fits::from_source(src)
//!
//! let s3 = RemoteOptions::default()
//!     .with_option("aws_region", "eu-west-1")
//!     .with_option("aws_access_key_id", "…")
//!     .with_option("aws_secret_access_key", "…");
//! let store = open_store("s3://bucket/cubes/m31.zarr", &s3)?; // e.g. nd_zarr::Hierarchy::open(store)
//! let zmeta = store.get(".zmetadata")?;
//! # fn nd_fits_like_reader(_: std::sync::Arc<dyn ByteSource>) {}
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod backend;
mod error;
pub mod fuzzing;
mod multirange;
mod options;
mod source;
mod stats;
mod store;

pub use backend::{is_url, SCHEMES};
pub use error::{Error, Result};
/// The range-merging rule of batched reads (nd-core's, re-exported where it was).
pub use nd_core::io::coalesce;
pub use options::{RemoteOptions, ENV_VARS};
pub use source::RemoteSource;
pub use stats::{RequestRecord, Stats, StatsSnapshot};
pub use store::RemoteStore;

use nd_core::{ByteSource, Store};
use std::sync::Arc;

/// Open one remote object as a [`ByteSource`] (block cache, read-ahead, coalescing; identity
/// pinned at open). Costs one request (a ranged GET of the first block).
pub fn open_source(url: &str, opts: &RemoteOptions) -> Result<Arc<dyn ByteSource>> {
    Ok(Arc::new(RemoteSource::open(url, opts)?))
}

/// Open a remote prefix as a [`Store`] (read-only unless `opts.writable`). Makes no request.
pub fn open_store(url: &str, opts: &RemoteOptions) -> Result<Arc<dyn Store>> {
    Ok(Arc::new(RemoteStore::open(url, opts)?))
}

/// The README's example, compiled as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
