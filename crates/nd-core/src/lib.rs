//! # nd-core
//!
//! The thin shared ground of the nd workspace: data types ([`DataType`]), shapes, regions and
//! chunk grids ([`Region`], [`ChunkGrid`]), owned arrays ([`ArrayBuf`]) and `.npy` files, conversion
//! of numeric values to any [`Scalar`] as numpy's `astype` does ([`cast`]), random-access
//! byte sources ([`ByteSource`]: memory, file, mmap), key-value stores ([`Store`]: directory, memory),
//! and the array traits every format implements ([`ArrayRead`], [`ArrayWrite`]).
//!
//! ```
//! use nd_core::{ArrayBuf, ByteSource, MemSource, Region};
//! let src = MemSource::new(vec![1u8, 2, 3, 4]);
//! assert_eq!(&src.read_range(1..3)?[..], &[2, 3]);
//! let a = ArrayBuf::from_vec(vec![2, 2], &[1.0f32, 2.0, 3.0, 4.0])?;
//! assert_eq!(a.as_slice::<f32>()?[3], 4.0);
//! let r = Region::parse("0:1,:", a.shape())?;
//! assert_eq!(r.shape(), vec![1, 2]);
//! # Ok::<(), nd_core::Error>(())
//! ```

pub mod array;
pub mod buf;
pub mod cast;
pub mod dtype;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod io;
pub mod limits;
pub mod npy;
pub mod scratch;
pub mod selection;
pub mod shape;
pub mod source;
pub mod store;

pub use array::{
    read_chunked, read_chunked_grouped, ArrayRead, ArrayWrite, AttrValue, Attributes, ChunkDecoder,
    ChunkedLayout, GroupedDecoder, GROUP_BATCH_BYTES,
};
pub use buf::{AlignedBuf, ArrayBuf};
pub use cast::{cast_into, Scalar};
pub use dtype::{DataType, Descr, DescrField, Element, Endian, Field, StructType};
pub use error::{Error, Result};
pub use limits::Limits;
pub use npy::NpyWriter;
pub use selection::{AxisSelection, Selection};
pub use shape::{
    byte_strides, byte_strides_into, coords_of, fmt_shape, linear_index, next_index, num_bytes,
    num_elements, ChunkGrid, ChunkPiece, Order, Region,
};
pub use source::{open_local, ByteSource, CountingSource, FileSource, MemSource, MmapSource};
pub use store::{validate_key, write_atomic, DirStore, Fetched, MemStore, Store, MAP_VALUE_MIN};

pub use bytes::Bytes;
