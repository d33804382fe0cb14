//! # nd-asdf
//!
//! ASDF files opened the way python asdf opens them — lazily: the YAML tree first, blocks only
//! when an array is touched — and written so that python asdf reads them back.
//!
//! - File layout: header, comments, YAML 1.1 tree with `%TAG` directives, blocks (with checksums,
//!   compression, streamed last block), block index (validated, with a scanning fallback).
//! - Tree: [`Node`] keeps every tag (`tag:stsci.edu:asdf/core/ndarray-1.1.0`, `asdf://...`), with
//!   scalars resolved as PyYAML does (YAML 1.1), anchors and aliases expanded under a budget.
//! - Arrays: `core/ndarray` (blocks, exploded files, inline data, strided views, masks, every
//!   datatype) and Zarr-in-ASDF, all through [`nd_core::ArrayRead`].
//!
//! ```no_run
//! use nd_asdf::AsdfFile;
//! use nd_core::ArrayRead;
//! let f = AsdfFile::open("data.asdf")?;
//! for (path, info) in f.arrays() {
//!     println!("{path}: {:?} {}", info.shape, info.dtype);
//! }
//! let a = f.array("data")?;
//! let values = a.read_all()?;
//! println!("{}", f.tree().get_path("meta/author").map(|n| n.to_json()).unwrap_or_default());
//! # Ok::<(), nd_asdf::Error>(())
//! ```

pub mod array;
pub mod blocks;
pub mod deferred;
pub mod emit;
mod encode;
pub mod error;
pub mod file;
#[doc(hidden)]
pub mod fuzzing;
pub mod layout;
pub mod ndarray;
pub mod schema;
mod storage;
pub mod write;
pub mod yaml;
pub mod zarr;

pub use array::{ArrayMask, AsdfArray};
pub use blocks::ChecksumMatch;
pub use deferred::{ArrayHandleId, AsdfArrayWriter, DeferredArray, DeferredFile};
pub use error::{Error, Result};
pub use file::{ArrayInfo, AsdfFile, OpenedArray, StorageKind, VerifyReport};
pub use layout::{BlockHeader, IndexStatus, Layout};
pub use write::{ArrayOptions, AsdfWriter, Compression, StreamWriter};
pub use yaml::{Integer, Node, Tag, ThinVec, Value};
