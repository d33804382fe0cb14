//! The mask of a masked ASDF array (python asdf's `core/ndarray` with `mask`: an array, inline
//! values or a scalar, read by python asdf into a `numpy.ma.MaskedArray`) as a boolean array of
//! its own, so it is exported (`.npz` data + mask) and converted (a sibling `NAME_mask` array)
//! with its data. Selected as `PATH/mask`, whatever form the mask has in the tree.

use nd_asdf::AsdfArray;
use nd_core::{ArrayRead, DataType, Region};

/// The mask of a masked array: `true` where the value is masked, numpy's `getmaskarray`.
pub(crate) struct MaskRead {
    arr: AsdfArray,
    dtype: DataType,
}

impl MaskRead {
    /// The mask of `arr`, or `None` when it has none.
    pub(crate) fn of(arr: AsdfArray) -> Option<Self> {
        arr.is_masked().then_some(MaskRead {
            arr,
            dtype: DataType::Bool,
        })
    }
}

impl ArrayRead for MaskRead {
    fn shape(&self) -> &[u64] {
        self.arr.shape()
    }
    fn dtype(&self) -> &DataType {
        &self.dtype
    }
    fn chunk_shape(&self) -> Vec<u64> {
        self.arr.chunk_shape()
    }
    fn read_region_into(&self, region: &Region, out: &mut [u8]) -> nd_core::Result<()> {
        region.check_within(self.arr.shape())?;
        nd_core::array::check_out_len(region, &DataType::Bool, out)?;
        let mask = self
            .arr
            .read_mask(region)
            .map_err(|e| nd_core::Error::Unsupported(format!("mask of {}: {e}", self.arr.path())))?
            .unwrap_or_default();
        if mask.len() != out.len() {
            return Err(nd_core::Error::Shape(format!(
                "mask of {}: {} values for a region of {}",
                self.arr.path(),
                mask.len(),
                out.len()
            )));
        }
        for (o, m) in out.iter_mut().zip(mask) {
            *o = u8::from(m);
        }
        Ok(())
    }
}
