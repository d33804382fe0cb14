//! # nd-zarr
//!
//! Zarr v2 arrays and hierarchies, read and written as zarr-python 2.x reads and writes them:
//! every numpy dtype zarr-python stores (byte strings, unicode, datetimes, records), every
//! compressor and filter of [`nd_codecs`], C and F order, `.` and `/` chunk keys (and the legacy
//! nested layout), missing chunks as the fill value, groups, attributes and consolidated metadata.
//! Zarr v3 (including sharding) is read and written as zarr-python 3 does: see [`v3`].
//!
//! ```
//! use std::sync::Arc;
//! use nd_core::{ArrayRead, DataType, MemStore, Region, Store};
//! use nd_zarr::{ArrayMetadataV2, Hierarchy, ZarrArray};
//!
//! let store: Arc<dyn Store> = Arc::new(MemStore::new());
//! let mut meta = ArrayMetadataV2::new(vec![6, 5], vec![4, 4], DataType::UInt16)?;
//! meta.compressor = serde_json::json!({"id": "zstd", "level": 1});
//! let a = ZarrArray::create(store.clone(), "g/a", meta)?;
//! let values: Vec<u16> = (0..30).collect();
//! let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_ne_bytes()).collect();
//! a.write(&Region::full(&[6, 5]), &bytes)?;
//! nd_zarr::write_consolidated(store.clone())?;
//!
//! let h = Hierarchy::open(store)?;
//! assert!(h.is_consolidated());
//! assert_eq!(h.arrays(), vec!["g/a"]);
//! let back = h.array("g/a")?.read_region(&Region::parse("1:3,2:4", &[6, 5])?)?;
//! assert_eq!(back.as_slice::<u16>()?, &[7, 8, 12, 13]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod array;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod hierarchy;
mod node;
pub mod object;
pub mod v3;
pub mod zip;

pub use array::ZarrArray;
pub use error::{Error, Result};
pub use hierarchy::{create_group, write_consolidated, Hierarchy, Node, NodeKind, ZMETADATA};
pub use nd_codecs::zarr_v2::ArrayMetadataV2;
pub use object::{ObjectArray, ObjectMetadata, ObjectMetadataV2};
pub use v3::{ArrayMetadataV3, ZarrArrayV3};
pub use zip::ZipStore;
