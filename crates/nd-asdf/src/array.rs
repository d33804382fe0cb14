//! Arrays of an ASDF file: block-backed (strided views into one block, lazily read), inline, or
//! Zarr-chunked; all implement [`nd_core::ArrayRead`] and deliver native-endian values.

use crate::error::Result;
use crate::storage::{c_strides, Storage};
use crate::zarr::ZarrStorage;
use nd_core::{ArrayBuf, ArrayRead, DataType, Region};
use std::sync::Arc;

pub use crate::storage::BlockView;

/// One array of an ASDF file.
#[derive(Debug, Clone)]
pub struct AsdfArray {
    pub(crate) path: String,
    pub(crate) shape: Shape,
    /// Stored type (with per-field byte orders for records).
    pub(crate) stored: DataType,
    /// Native type delivered by reads.
    pub(crate) native: DataType,
    pub(crate) storage: Storage,
    /// Boxed: most arrays have none, and a listing holds one array per node.
    pub(crate) mask: Option<Box<MaskSource>>,
    pub(crate) codec: Option<String>,
}

/// The shape of an array, held inline up to 4 axes (no allocation for the arrays of a listing).
pub(crate) type Shape = smallvec::SmallVec<[u64; 4]>;

/// Where the mask of a masked array comes from.
#[derive(Debug, Clone)]
pub(crate) enum MaskSource {
    Array(Box<AsdfArray>),
    Scalar(f64),
    Inline(Arc<Vec<bool>>),
    /// A one-element mask array: every element masked, or none.
    Constant(bool),
    /// A mask node nd cannot read (why): python asdf leaves such a node unconverted and the
    /// array unmasked, and so does nd.
    Unreadable(String),
}

/// A mask array as an array's mask: numpy's `ma.array(data, mask=mask)` reshapes a mask of as
/// many elements and repeats a one-element one.
#[derive(Debug, Clone, Copy)]
pub enum ArrayMask<'a> {
    /// A mask of the array's shape: the mask node's values (reshaped in C order if stored in
    /// another shape; a one-element block mask is a view with zero strides).
    Array(&'a AsdfArray),
    /// An inline one-element mask: every element masked (`true`) or none.
    Constant(bool),
}

/// The mask source for a mask array `mask` of an array of shape `shape`, as python asdf reads it
/// through `numpy.ma.array(data, mask=mask)`: a mask of the array's shape as it is; one of
/// another shape but as many elements reshaped in C order (numpy's rule, e.g. a streamed
/// `shape: ['*']` mask); a one-element mask repeated. Any other shape is refused, as numpy
/// refuses it ("Mask and data not compatible"). A reshaped mask must be stored contiguously
/// (C order in a block, or inline): a strided view or Zarr chunks of another shape are refused.
pub(crate) fn fit_mask(mut mask: AsdfArray, shape: &[u64], path: &str) -> Result<MaskSource> {
    if *mask.shape == *shape {
        return Ok(MaskSource::Array(Box::new(mask)));
    }
    let count = |s: &[u64]| s.iter().map(|&d| d as u128).product::<u128>();
    let (n, m) = (count(shape), count(&mask.shape));
    let refuse = |why: &str| {
        crate::error::Error::node(
            path,
            format!(
                "mask of shape {:?} does not fit the array's shape {shape:?}: {why}",
                mask.shape
            ),
        )
    };
    if m != n && m != 1 {
        return Err(refuse(
            "numpy.ma takes a mask of the same number of elements (reshaped) or of one",
        ));
    }
    let elem = mask.stored.size();
    match &mut mask.storage {
        Storage::Block(view) => {
            let contiguous = view.strides == c_strides(&mask.shape, elem);
            view.strides = if m == 1 {
                smallvec::smallvec![0; shape.len()]
            } else if contiguous {
                c_strides(shape, elem)
            } else {
                return Err(refuse("a strided mask of another shape is not reshaped"));
            };
        }
        Storage::Inline(buf) if m == 1 => {
            return Ok(MaskSource::Constant(buf.bytes().iter().any(|&b| b != 0)));
        }
        Storage::Inline(buf) => {
            *buf = Arc::new(buf.as_ref().clone().reshape(shape.to_vec())?);
        }
        Storage::Zarr(_) => {
            return Err(refuse(
                "a Zarr-chunked mask of another shape is not reshaped",
            ))
        }
    }
    mask.shape = Shape::from_slice(shape);
    Ok(MaskSource::Array(Box::new(mask)))
}

impl AsdfArray {
    /// A Zarr-in-ASDF array over its chunks: native byte order, no mask.
    pub(crate) fn from_zarr(path: &str, z: ZarrStorage) -> AsdfArray {
        let native = z.metadata().dtype.to_native();
        AsdfArray {
            path: path.to_string(),
            shape: Shape::from_slice(&z.metadata().shape),
            stored: native.clone(),
            native,
            codec: z.codec(),
            storage: Storage::Zarr(Arc::new(z)),
            mask: None,
        }
    }

    /// Tree path of the array.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The chunk storage of a Zarr-in-ASDF array (its `.zarray` and where each chunk lies);
    /// `None` for an ndarray.
    pub fn zarr_storage(&self) -> Option<&crate::zarr::ZarrStorage> {
        match &self.storage {
            Storage::Zarr(z) => Some(z),
            _ => None,
        }
    }

    /// The view into a block that holds an ndarray's values (a block of this file, or the first
    /// block of an external file for exploded storage); `None` for inline and Zarr-in-ASDF
    /// arrays.
    pub fn block_view(&self) -> Option<&BlockView> {
        match &self.storage {
            Storage::Block(v) => Some(v),
            _ => None,
        }
    }

    /// The stored element type (with its byte order, per field for records).
    pub fn stored_dtype(&self) -> &DataType {
        &self.stored
    }

    /// The mask of a masked array whose `mask` is an ndarray, fitted to this array's shape as
    /// python asdf reads it (see [`ArrayMask`]); `None` without a mask, for a scalar `mask` value
    /// and for the nulls of inline data.
    pub fn array_mask(&self) -> Option<ArrayMask<'_>> {
        match &**self.mask.as_ref()? {
            MaskSource::Array(a) => Some(ArrayMask::Array(a)),
            MaskSource::Constant(b) => Some(ArrayMask::Constant(*b)),
            MaskSource::Scalar(_) | MaskSource::Inline(_) | MaskSource::Unreadable(_) => None,
        }
    }

    /// Why the array's mask was left out: its `mask` is an ndarray node that cannot be read (an
    /// invalid description, a missing block, ...). python asdf leaves that node unconverted (an
    /// AsdfConversionWarning) and gives the array unmasked; nd reads it unmasked too.
    pub fn unreadable_mask(&self) -> Option<&str> {
        match self.mask.as_deref() {
            Some(MaskSource::Unreadable(why)) => Some(why),
            _ => None,
        }
    }

    /// True when the array has a mask (python asdf returns a `numpy.ma.MaskedArray`).
    pub fn is_masked(&self) -> bool {
        !matches!(self.mask.as_deref(), None | Some(MaskSource::Unreadable(_)))
    }

    /// The mask of `region` (true = masked), if the array is masked.
    pub fn read_mask(&self, region: &Region) -> Result<Option<Vec<bool>>> {
        let Some(m) = self.mask.as_deref() else {
            return Ok(None);
        };
        let n = region.num_elements() as usize;
        Ok(Some(match m {
            MaskSource::Array(a) => {
                let buf = a.read_region(region)?;
                let sz = a.native.size().max(1);
                buf.bytes()
                    .chunks(sz)
                    .map(|c| c.iter().any(|&b| b != 0))
                    .collect()
            }
            MaskSource::Inline(v) => {
                let full = Region::full(&self.shape);
                if *region == full {
                    v.as_ref().clone()
                } else {
                    let bools: Vec<u8> = v.iter().map(|&b| b as u8).collect();
                    let mut out = vec![0u8; n];
                    nd_core::shape::copy_region(
                        &bools,
                        &self.shape,
                        nd_core::Order::C,
                        region,
                        &mut out,
                        &region.shape(),
                        &vec![0; region.ndim()],
                        1,
                    )?;
                    out.into_iter().map(|b| b != 0).collect()
                }
            }
            MaskSource::Scalar(v) => {
                let buf = self.read_region(region)?;
                scalar_mask(&buf, *v)
            }
            MaskSource::Constant(b) => vec![*b; n],
            MaskSource::Unreadable(_) => return Ok(None),
        }))
    }

    fn read_into(&self, region: &Region, out: &mut [u8]) -> Result<()> {
        region.check_within(&self.shape)?;
        nd_core::array::check_out_len(region, &self.native, out)?;
        let elem = self.stored.size();
        match &self.storage {
            Storage::Block(v) => v.read(region, &self.stored, out),
            Storage::Inline(buf) => {
                nd_core::shape::copy_region(
                    buf.bytes(),
                    &self.shape,
                    nd_core::Order::C,
                    region,
                    out,
                    &region.shape(),
                    &vec![0; region.ndim()],
                    elem,
                )?;
                Ok(())
            }
            Storage::Zarr(z) => z.read(region, out),
        }
    }
}

/// The mask python asdf gives a scalar `mask` value: `isnan(array)` for NaN, otherwise numpy's
/// `ma.masked_values(array, v)` — for floating types `np.isclose(x, v)` with rtol 1e-5 and atol
/// 1e-8 computed in the array's precision (NumPy 2 casts the Python float to the array type:
/// `|x - v| <= atol + rtol * |v|` and `v` finite, or `x == v`), for other types exact equality.
pub(crate) fn scalar_mask(buf: &ArrayBuf, v: f64) -> Vec<bool> {
    const RTOL: f64 = 1e-5;
    const ATOL: f64 = 1e-8;
    let tol = ATOL + RTOL * v.abs();
    let finite = v.is_finite();
    let n = buf.len();
    let bytes = buf.bytes();
    let size = buf.dtype().size().max(1);
    macro_rules! each {
        ($t:ty, $f:expr) => {{
            let f = $f;
            bytes
                .chunks_exact(std::mem::size_of::<$t>())
                .map(|c| {
                    let mut a = [0u8; std::mem::size_of::<$t>()];
                    a.copy_from_slice(c);
                    f(<$t>::from_ne_bytes(a))
                })
                .collect::<Vec<bool>>()
        }};
    }
    // exact equality of an integer with a float (numpy compares an int array with a Python
    // float in float64, and with a Python int exactly)
    let int_eq = |x: i128| v.fract() == 0.0 && finite && (x as f64) == v && x == v as i128;
    let nan = v.is_nan();
    let out: Vec<bool> = match buf.dtype() {
        DataType::Float64 => each!(f64, |x: f64| if nan {
            x.is_nan()
        } else {
            ((x - v).abs() <= tol && finite) || x == v
        }),
        DataType::Float32 => {
            let (y, t) = (v as f32, tol as f32);
            each!(f32, |x: f32| if nan {
                x.is_nan()
            } else {
                ((x - y).abs() <= t && finite) || x == y
            })
        }
        DataType::Float16 => {
            let y = half::f16::from_f64(v).to_f32();
            let t = half::f16::from_f64(tol).to_f32();
            each!(u16, |b: u16| {
                let x = half::f16::from_bits(b).to_f32();
                if nan {
                    x.is_nan()
                } else {
                    let d = half::f16::from_f32(x - y).to_f32().abs();
                    (d <= t && finite) || x == y
                }
            })
        }
        DataType::Complex64 => {
            let y = v as f32;
            bytes
                .chunks_exact(8)
                .map(|c| {
                    let re = f32::from_ne_bytes([c[0], c[1], c[2], c[3]]);
                    let im = f32::from_ne_bytes([c[4], c[5], c[6], c[7]]);
                    if nan {
                        re.is_nan() || im.is_nan()
                    } else {
                        re == y && im == 0.0
                    }
                })
                .collect()
        }
        DataType::Complex128 => bytes
            .chunks_exact(16)
            .map(|c| {
                let mut a = [0u8; 8];
                a.copy_from_slice(&c[..8]);
                let re = f64::from_ne_bytes(a);
                a.copy_from_slice(&c[8..16]);
                let im = f64::from_ne_bytes(a);
                if nan {
                    re.is_nan() || im.is_nan()
                } else {
                    re == v && im == 0.0
                }
            })
            .collect(),
        DataType::Int8 => each!(i8, |x: i8| int_eq(x as i128)),
        DataType::Int16 => each!(i16, |x: i16| int_eq(x as i128)),
        DataType::Int32 => each!(i32, |x: i32| int_eq(x as i128)),
        DataType::Int64 => each!(i64, |x: i64| int_eq(x as i128)),
        DataType::UInt8 => each!(u8, |x: u8| int_eq(x as i128)),
        DataType::UInt16 => each!(u16, |x: u16| int_eq(x as i128)),
        DataType::UInt32 => each!(u32, |x: u32| int_eq(x as i128)),
        DataType::UInt64 => each!(u64, |x: u64| int_eq(x as i128)),
        DataType::Bool => each!(u8, |x: u8| int_eq((x != 0) as i128)),
        // strings and records never equal a number
        _ => vec![false; bytes.len() / size],
    };
    debug_assert_eq!(out.len(), n);
    out
}

impl ArrayRead for AsdfArray {
    fn shape(&self) -> &[u64] {
        &self.shape
    }

    fn dtype(&self) -> &DataType {
        &self.native
    }

    fn chunk_shape(&self) -> Vec<u64> {
        match &self.storage {
            Storage::Zarr(z) => z.chunk_shape(),
            _ => {
                // slabs of about 4 MiB along the first axis
                let mut c = self.shape.to_vec();
                if let Some(first) = c.first_mut() {
                    let row: u64 = self.shape[1..].iter().product::<u64>().max(1)
                        * self.native.size().max(1) as u64;
                    *first = ((4u64 << 20) / row).clamp(1, (*first).max(1));
                }
                c
            }
        }
    }

    fn read_region_into(&self, region: &Region, out: &mut [u8]) -> nd_core::Result<()> {
        Ok(self.read_into(region, out)?)
    }

    fn codec(&self) -> Option<String> {
        self.codec.clone()
    }
}
