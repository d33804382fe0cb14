//! Zarr v3, read and written as zarr-python 3 does: `zarr.json` for arrays and groups, the
//! `regular` chunk grid, `default` and `v2` chunk key encodings, the core data types plus
//! zarr-python 3's fixed-length string and datetime types, every fill value spelling, the
//! `bytes`, `transpose`, `gzip`, `zstd`, `blosc`, `crc32c` and `sharding_indexed` codecs, and
//! consolidated metadata. Arrays of the variable-length types `string` and `bytes` (codecs
//! `vlen-utf8`, `vlen-bytes`) are read as fixed-width numpy strings, as Zarr v2 object arrays
//! are ([`ObjectMetadataV3`], [`crate::ObjectArray`]).
//!
//! ```
//! use std::sync::Arc;
//! use nd_core::{ArrayRead, DataType, MemStore, Region, Store};
//! use nd_zarr::v3::{self, ArrayMetadataV3, ZarrArrayV3};
//!
//! let store: Arc<dyn Store> = Arc::new(MemStore::new());
//! let dt = DataType::UInt16;
//! let zstd = serde_json::json!({"name": "zstd", "configuration": {"level": 1, "checksum": false}});
//! // shards of 4x4 holding inner chunks of 2x2
//! let codecs = v3::sharded_chain_json(&dt, &[2, 2], &[zstd]);
//! let mut meta = ArrayMetadataV3::new(vec![6, 5], vec![4, 4], dt, codecs)?;
//! meta.dimension_names = Some(vec![Some("y".into()), Some("x".into())]);
//! let a = ZarrArrayV3::create(store.clone(), "g/a", meta)?;
//! let values: Vec<u16> = (0..30).collect();
//! let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_ne_bytes()).collect();
//! a.write(&Region::full(&[6, 5]), &bytes)?;
//! v3::write_consolidated(store.as_ref())?;
//!
//! let h = nd_zarr::Hierarchy::open(store)?;
//! assert!(h.is_consolidated() && h.zarr_format() == 3);
//! let back = h.array_v3("g/a")?.read_region(&Region::parse("1:3,2:4", &[6, 5])?)?;
//! assert_eq!(back.as_slice::<u16>()?, &[7, 8, 12, 13]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Layout, spec points and where zarr-python differs: `spec-notes/zarr-v3.md`.

mod array;
mod build;
mod codec;
mod group;
mod json;
mod meta;
pub mod shard;
mod verify;
mod vlen;
pub(crate) mod walk;

pub use array::ZarrArrayV3;
pub use build::{
    bytes_codec, chain_json, compressor_from_v2, crc32c_codec, data_type_to_json,
    fill_value_to_json, group_json, sharded_chain_json,
};
pub use group::{create_group, write_consolidated};
pub use json::to_json_bytes;
pub use meta::ZARR_JSON;
pub use meta::{
    attributes_of, check_group, node_type, parse_data_type, parse_fill_value, ArrayMetadataV3,
    ChunkKeyEncoding, MetadataErrorV3,
};
pub use shard::ShardFetch;
pub use verify::{ArrayCheck, MAX_DEFECTS_KEPT};
pub use vlen::{vlen_codec_of, ObjectMetadataV3, VlenChunks};
pub use walk::walk_node_paths;

/// The store key of `name` under the node at `path` (`""` for the root): `path/name`.
pub fn join_key(path: &str, name: &str) -> String {
    crate::node::join(path, name)
}
