//! # nd
//!
//! One front door to the array formats of astronomy: **FITS**, **ASDF** and **Zarr**, read
//! exactly as astropy, python asdf and zarr-python read them, from local disk or object storage.
//!
//! ```
//! let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/example/cube.fits");
//! let ds = nd::open(path)?; // format detected from content; metadata only
//! for a in ds.arrays()? {
//!     println!("{} {:?} {}", a.path, a.shape, a.dtype);
//! }
//! let sci = ds.array("SCI")?;
//! assert_eq!(sci.shape(), &[32, 64, 64]);
//! # Ok::<(), nd::Error>(())
//! ```

mod array;
mod backend;
pub mod convert;
mod dataset;
pub mod diff;
mod error;
pub mod export;
pub mod extended;
mod formats;
pub mod fuzzing;
pub mod header;
mod npz;
mod open;
mod reduce;
pub mod refs;
mod table;
pub mod table_export;
mod table_parquet;
mod tree;

pub use array::Array;
pub use backend::{typestr, ArrayEntry, ArrayKind, Finding, Severity, VerifyReport};
pub use dataset::{Dataset, Format};
pub use error::{Error, Result};
/// How [`Dataset::metadata`] describes a FITS HDU: its kind's name and a card's value as JSON
/// (for front ends that build the same description in their own objects, card by card).
pub use formats::fits::{card_value as fits_card_value, kind_name as fits_hdu_kind};
pub use open::{detect, open, remote_stats, remote_warnings, OpenOptions};
pub use reduce::stat_reduction;
pub use table::{Table, TableColumn};
pub use tree::TreeNode;

pub use nd_core::cast::Scalar;
/// Destination checks and temporary outputs (what is left after an interruption, and its removal).
pub use nd_core::io;
pub use nd_core::{ArrayBuf, ArrayRead, AxisSelection, DataType, Limits, Region, Selection};
pub use nd_ops::{select, Options as WorkOptions, Stats};
/// Order statistics and reductions along axes (see [`Array::quantiles`], [`Array::reduce_axes`]).
pub use nd_ops::{AxesResult, ClippedStats, Histogram, Quantiles, Reduction, SigmaClip};
/// A dataset's format-native handle (see [`Dataset::native`]).
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Native<'a> {
    /// A FITS file.
    Fits(&'a nd_fits::Fits),
    /// An ASDF file.
    Asdf(&'a nd_asdf::AsdfFile),
    /// A Zarr hierarchy.
    Zarr(&'a nd_zarr::Hierarchy),
    /// A `.npy` or `.npz` file (read whole; no handle of its own).
    Npy,
}

/// The format crates, for their native views.
pub use {nd_asdf as asdf, nd_fits as fits, nd_zarr as zarr};

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// Remote storage options (endpoints, credentials, anonymous access, cache).
pub use nd_remote::RemoteOptions;
/// The `ndarray` crate nd's typed reads return, so callers use the same version.
pub use ndarray;
