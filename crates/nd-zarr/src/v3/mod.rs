//! Zarr v3, read as zarr-python 3 writes it: `zarr.json` for arrays and groups, the `regular`
//! chunk grid, `default` and `v2` chunk key encodings, the core data types plus zarr-python 3's
//! fixed-length string and datetime types, every fill value spelling, the `bytes`, `transpose`,
//! `gzip`, `zstd`, `blosc`, `crc32c` and `sharding_indexed` codecs.
//!
//! Layout, spec points and where zarr-python differs: `spec-notes/zarr-v3.md`.

mod array;
mod codec;
mod meta;
pub mod shard;
pub(crate) mod walk;

pub use array::{ZarrArrayV3, ZARR_JSON};
pub use meta::{
    attributes_of, check_group, node_type, parse_data_type, parse_fill_value, ArrayMetadataV3,
    ChunkKeyEncoding, MetadataErrorV3,
};
