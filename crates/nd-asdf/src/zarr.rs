//! Zarr arrays stored inside ASDF files (the asdf-zarr package's internal storage).

use crate::error::Result;
use nd_core::Region;

/// Chunked storage of a Zarr-in-ASDF array.
#[derive(Debug)]
pub struct ZarrStorage {
    chunks: Vec<u64>,
}

impl ZarrStorage {
    pub(crate) fn chunk_shape(&self) -> Vec<u64> {
        self.chunks.clone()
    }
    pub(crate) fn read(&self, _region: &Region, _out: &mut [u8]) -> Result<()> {
        Err(crate::Error::node("", "zarr not implemented yet"))
    }
}

/// Shape, dtype and compressor of a Zarr node, if its `.zarray` can be read.
pub(crate) fn zarr_info(_node: &crate::yaml::Node) -> Option<(Vec<u64>, nd_core::DataType, Option<String>)> {
    None
}

/// Open a Zarr-in-ASDF array.
pub(crate) fn open_zarr(
    _node: &crate::yaml::Node,
    path: &str,
    _blocks: &std::sync::Arc<crate::blocks::Blocks>,
) -> Result<crate::AsdfArray> {
    Err(crate::Error::node(path, "zarr not implemented yet"))
}
