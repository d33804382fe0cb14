//! An in-memory array implementing both traits, for tests and small results.

use nd_core::{
    array::check_out_len, shape::copy_region, ArrayBuf, ArrayRead, ArrayWrite, DataType, Order,
    Region, Result,
};
use std::sync::RwLock;

/// An array held in memory (an [`ArrayBuf`] behind a lock), readable and writable by region.
#[derive(Debug)]
pub struct MemArray {
    shape: Vec<u64>,
    dtype: DataType,
    chunks: Vec<u64>,
    buf: RwLock<ArrayBuf>,
}

impl MemArray {
    /// Wrap a buffer. Its natural chunk is the whole array.
    pub fn new(buf: ArrayBuf) -> Self {
        let shape = buf.shape().to_vec();
        MemArray {
            chunks: shape.clone(),
            shape,
            dtype: buf.dtype().clone(),
            buf: RwLock::new(buf),
        }
    }

    /// A zero-filled array with a given natural chunk shape.
    pub fn zeros(dtype: DataType, shape: Vec<u64>, chunks: Vec<u64>) -> Result<Self> {
        let mut a = MemArray::new(ArrayBuf::zeros(dtype, shape)?);
        a.chunks = chunks;
        Ok(a)
    }

    /// The buffer.
    pub fn into_inner(self) -> ArrayBuf {
        match self.buf.into_inner() {
            Ok(b) => b,
            Err(p) => p.into_inner(),
        }
    }
}

impl ArrayRead for MemArray {
    fn shape(&self) -> &[u64] {
        &self.shape
    }
    fn dtype(&self) -> &DataType {
        &self.dtype
    }
    fn chunk_shape(&self) -> Vec<u64> {
        self.chunks.clone()
    }
    fn read_region_into(&self, region: &Region, out: &mut [u8]) -> Result<()> {
        region.check_within(&self.shape)?;
        check_out_len(region, &self.dtype, out)?;
        let b = self.buf.read().unwrap_or_else(|p| p.into_inner());
        let rs = region.shape();
        copy_region(
            b.bytes(),
            &self.shape,
            Order::C,
            region,
            out,
            &rs,
            &vec![0; rs.len()],
            self.dtype.size(),
        )
    }
}

impl ArrayWrite for MemArray {
    fn write_region(&self, region: &Region, data: &[u8]) -> Result<()> {
        region.check_within(&self.shape)?;
        check_out_len(region, &self.dtype, data)?;
        let rs = region.shape();
        let mut b = self.buf.write().unwrap_or_else(|p| p.into_inner());
        let shape = self.shape.clone();
        copy_region(
            data,
            &rs,
            Order::C,
            &Region::full(&rs),
            b.bytes_mut(),
            &shape,
            &region.start(),
            self.dtype.size(),
        )
    }
}
