//! One fixed-width column of a table as a lazy array: reading a region reads only its rows
//! (a block of rows at a time), so a column larger than memory streams like an image.

use super::Table;
use crate::error::Result;
use nd_core::{ArrayRead, DataType, Order, Region};

/// A fixed-width column of a [`Table`] as an [`ArrayRead`] of shape `(nrows, *cell shape)`,
/// with astropy's dtype and values (what [`Table::column`] returns whole).
#[derive(Debug, Clone)]
pub struct ColumnArray {
    table: Table,
    index: usize,
    shape: Vec<u64>,
    dtype: DataType,
}

/// Bytes of values per natural chunk (a run of whole rows).
const CHUNK_BYTES: u64 = 1 << 20;

impl ColumnArray {
    /// The column at `index` of `table` (a variable-length column is an error, as for
    /// [`Table::column`]).
    pub fn new(table: Table, index: usize) -> Result<ColumnArray> {
        let empty = {
            let c = table.columns().get(index).ok_or_else(|| {
                crate::Error::Invalid(format!("HDU {}: no column {index}", table.hdu_index()))
            })?;
            table.read_columns(&[c], 0..0)?.remove(0)
        };
        let mut shape = empty.shape().to_vec();
        shape[0] = table.nrows();
        Ok(ColumnArray {
            dtype: empty.dtype().clone(),
            table,
            index,
            shape,
        })
    }
}

impl ArrayRead for ColumnArray {
    fn shape(&self) -> &[u64] {
        &self.shape
    }

    fn dtype(&self) -> &DataType {
        &self.dtype
    }

    fn chunk_shape(&self) -> Vec<u64> {
        let cell: u64 = self.shape[1..].iter().product::<u64>() * self.dtype.size() as u64;
        let mut c = self.shape.clone();
        c[0] = (CHUNK_BYTES / cell.max(1)).clamp(1, self.shape[0].max(1));
        c
    }

    fn read_region_into(&self, region: &Region, out: &mut [u8]) -> nd_core::Result<()> {
        region.check_within(&self.shape)?;
        nd_core::array::check_out_len(region, &self.dtype, out)?;
        if region.is_empty() {
            return Ok(());
        }
        let rows = region.ranges[0].clone();
        let c = &self.table.columns()[self.index];
        let buf = self
            .table
            .read_columns(&[c], rows.clone())
            .map_err(nd_core::Error::from)?
            .remove(0);
        let mut origin = vec![0u64; self.shape.len()];
        origin[0] = rows.start;
        let rs = region.shape();
        nd_core::shape::copy_region(
            buf.bytes(),
            buf.shape(),
            Order::C,
            &region.relative_to(&origin),
            out,
            &rs,
            &vec![0; rs.len()],
            self.dtype.size(),
        )
    }
}
