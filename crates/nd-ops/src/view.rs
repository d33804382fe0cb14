//! A region of another array, seen as an array of its own.

use nd_core::{ArrayRead, Attributes, DataType, Region, Result};
use std::ops::Deref;

/// The part `region` of `inner`, as an array whose origin is the region's start. `inner` is any
/// pointer to an array: a borrow (`&dyn ArrayRead`) or a shared owner (`Arc<dyn ArrayRead>`).
pub struct RegionView<A> {
    inner: A,
    region: Region,
    shape: Vec<u64>,
}

impl<A: Deref<Target = dyn ArrayRead + 'static> + Send + Sync> RegionView<A> {
    /// A view of `region` of `inner` (checked against its shape).
    pub fn new(inner: A, region: Region) -> Result<Self> {
        region.check_within(inner.shape())?;
        Ok(RegionView {
            inner,
            shape: region.shape(),
            region,
        })
    }
}

impl<A: Deref<Target = dyn ArrayRead + 'static> + Send + Sync> ArrayRead for RegionView<A> {
    fn shape(&self) -> &[u64] {
        &self.shape
    }
    fn dtype(&self) -> &DataType {
        self.inner.dtype()
    }
    fn chunk_shape(&self) -> Vec<u64> {
        self.inner.chunk_shape()
    }
    fn codec(&self) -> Option<String> {
        self.inner.codec()
    }
    fn attributes(&self) -> Attributes {
        self.inner.attributes()
    }
    fn read_region_into(&self, region: &Region, out: &mut [u8]) -> Result<()> {
        region.check_within(&self.shape)?;
        let shifted = Region::new(
            region
                .ranges
                .iter()
                .zip(&self.region.ranges)
                .map(|(r, o)| r.start + o.start..r.end + o.start)
                .collect(),
        );
        self.inner.read_region_into(&shifted, out)
    }
}
