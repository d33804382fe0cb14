//! Owned, aligned, native-endian array buffers.

use crate::cast::Scalar;
use crate::dtype::{DataType, Element};
use crate::error::{Error, Result};
use crate::shape::num_bytes;

/// A zero-initialised byte buffer aligned to 16 bytes, so that any element type can be viewed in place.
/// Large buffers start on a huge-page boundary and are advised to use transparent huge pages
/// (fewer page faults on first touch; see [`zeroed_values`]).
#[derive(Default)]
pub struct AlignedBuf {
    words: Vec<u128>,
    /// Index of the first word of the buffer in `words` (0 below `HUGE_PAGE_THRESHOLD`).
    start: usize,
    len: usize,
}

impl Clone for AlignedBuf {
    /// A copy of the bytes (in a buffer of its own, laid out as [`AlignedBuf::zeroed`] lays out one).
    fn clone(&self) -> Self {
        AlignedBuf::from_bytes(self.as_slice())
    }
}

impl std::fmt::Debug for AlignedBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AlignedBuf({} bytes)", self.len)
    }
}

/// From this size up, buffers for reads start on a huge-page boundary and are advised to use
/// transparent huge pages.
const HUGE_PAGE_THRESHOLD: usize = 4 << 20;
/// The size of a (PMD) transparent huge page on x86-64 and aarch64 with 4 KiB pages.
const HUGE_PAGE: usize = 2 << 20;

impl AlignedBuf {
    /// A zeroed buffer of `len` bytes. The allocation is lazy (calloc), so untouched pages cost nothing.
    ///
    /// # Panics
    /// When `len` bytes cannot be allocated, as `vec!` does ([`AlignedBuf::try_zeroed`] does not).
    pub fn zeroed(len: usize) -> Self {
        // the caller's size, as for `vec!`; sizes read from a file go through `try_zeroed`
        let buf = Self::try_zeroed(len);
        buf.unwrap_or_else(|| panic!("{len} bytes: no memory")) // ok: the caller's size
    }

    /// [`AlignedBuf::zeroed`], or `None` when `len` bytes cannot be allocated.
    pub fn try_zeroed(len: usize) -> Option<Self> {
        // SAFETY: zero is a valid u128
        let (words, start) = unsafe { zeroed_padded::<u128>(len.div_ceil(16)) }?;
        Some(AlignedBuf { words, start, len })
    }

    /// A buffer holding a copy of `bytes`.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        let mut b = AlignedBuf::zeroed(bytes.len());
        b.as_mut_slice().copy_from_slice(bytes);
        b
    }

    /// Make the buffer `len` bytes long for reuse (a block buffer handed from block to block):
    /// the allocation is kept when it holds `len` bytes, and the bytes are then whatever the
    /// buffer held before (initialised, but not zeroed: the caller overwrites them); otherwise it
    /// is replaced by a fresh [`AlignedBuf::zeroed`] (lazily zeroed pages, huge-page advice).
    pub fn resize_reusing(&mut self, len: usize) {
        if len.div_ceil(16) <= self.words.len() - self.start {
            self.len = len;
        } else {
            *self = AlignedBuf::zeroed(len);
        }
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        &bytemuck::cast_slice(&self.words[self.start..])[..self.len]
    }

    /// The bytes, mutable.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut bytemuck::cast_slice_mut(&mut self.words[self.start..])[..self.len]
    }
}

/// `n` zero values of `T` in a new `Vec`, allocated the way large reads want it, and the index
/// of the first of them in that `Vec`: zeroed by the allocator (`calloc`: fresh pages are not
/// written, so the caller's read is the first touch) and, from 4 MiB up,
/// advised to use transparent huge pages before that first touch (one fault per 2 MiB instead of
/// per 4 KiB), the values starting on a 2 MiB boundary. This is what numpy does for its large
/// arrays, less the boundary: a `calloc` of 256 MiB is a mapping of 256 MiB and a page, which
/// Linux does not place on a 2 MiB boundary, so its first and last 2 MiB would fault in 4 KiB
/// pages (about 500 faults, measured). A large `Vec` therefore holds up to 2 MiB of values more
/// than asked, before the first one: address space only, never touched, so never resident.
/// Below the threshold the index is 0 and the `Vec` holds `n` values.
///
/// # Errors
/// [`Error::Shape`] when `n` values of `T` do not fit in memory (the allocation failed or its
/// size overflows), instead of aborting.
pub fn zeroed_values<T: Scalar>(n: usize) -> Result<(Vec<T>, usize)> {
    // SAFETY: for every `Scalar` type (a sealed set: bool, integers, f16, f32, f64, complex) the
    // all-zero bytes are a valid value (false, 0, +0.0).
    unsafe { zeroed_padded::<T>(n) }
        .ok_or_else(|| Error::Shape(format!("{n} values of {} do not fit in memory", T::DTYPE)))
}

/// See [`zeroed_values`]; `None` when the allocation fails or its size overflows.
///
/// # Safety
/// The all-zero bytes must be a valid `T`.
unsafe fn zeroed_padded<T: Copy>(n: usize) -> Option<(Vec<T>, usize)> {
    let size = std::mem::size_of::<T>();
    if n == 0 || size == 0 {
        let mut v = Vec::new();
        v.try_reserve_exact(n).ok()?;
        // SAFETY: zero-sized values or none: nothing is read
        unsafe { v.set_len(n) };
        return Some((v, 0));
    }
    let bytes = n.checked_mul(size)?;
    // values of padding before the first: enough to reach the next 2 MiB boundary
    let pad = if bytes >= HUGE_PAGE_THRESHOLD {
        HUGE_PAGE.div_ceil(size)
    } else {
        0
    };
    let total = n.checked_add(pad)?;
    let layout = std::alloc::Layout::array::<T>(total).ok()?;
    // SAFETY: the layout has a non-zero size (n > 0, T not zero-sized).
    let ptr = unsafe { std::alloc::alloc_zeroed(layout) }.cast::<T>();
    if ptr.is_null() {
        return None;
    }
    let start = if pad == 0 {
        0
    } else {
        let addr = ptr as usize;
        // a whole number of values: for a type whose size exceeds its alignment (complex) the
        // boundary may fall inside the first value
        let start = (addr.next_multiple_of(HUGE_PAGE) - addr) / size;
        advise_huge_pages(ptr.cast::<u8>(), layout.size());
        start
    };
    // SAFETY: `ptr` was allocated by the global allocator with the layout of `[T; total]`, so
    // length and capacity `total` describe it; all its bytes are zero, a valid `T` (the caller's
    // promise).
    Some((unsafe { Vec::from_raw_parts(ptr, total, total) }, start))
}

#[cfg(target_os = "linux")]
fn advise_huge_pages(ptr: *mut u8, len: usize) {
    // Align the start up to a page boundary; madvise needs page-aligned addresses.
    let page = 4096usize;
    let start = (ptr as usize).div_ceil(page) * page;
    let end = (ptr as usize + len) / page * page;
    if end > start {
        // SAFETY: the range lies inside our own live allocation; MADV_HUGEPAGE is only advice.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge_pages(_ptr: *mut u8, _len: usize) {}

/// An owned array: data type, shape (numpy order) and native-endian, C-order bytes.
#[derive(Clone, Debug)]
pub struct ArrayBuf {
    dtype: DataType,
    shape: Vec<u64>,
    data: AlignedBuf,
}

impl ArrayBuf {
    /// A zero-filled array.
    pub fn zeros(dtype: DataType, shape: Vec<u64>) -> Result<Self> {
        let n = num_bytes(&shape, dtype.size())?;
        let data = AlignedBuf::try_zeroed(n)
            .ok_or_else(|| Error::Shape(format!("{n} bytes do not fit in memory")))?;
        Ok(ArrayBuf {
            dtype: dtype.to_native(),
            shape,
            data,
        })
    }

    /// An array from native-endian C-order bytes. The length must match.
    pub fn from_bytes(dtype: DataType, shape: Vec<u64>, bytes: &[u8]) -> Result<Self> {
        let n = num_bytes(&shape, dtype.size())?;
        if n != bytes.len() {
            return Err(Error::Shape(format!(
                "{} bytes given for shape {shape_s} of {dtype} ({n} bytes)",
                bytes.len(),
                shape_s = crate::fmt_shape(shape.iter())
            )));
        }
        Ok(ArrayBuf {
            dtype: dtype.to_native(),
            shape,
            data: AlignedBuf::from_bytes(bytes),
        })
    }

    /// An array from typed values.
    pub fn from_vec<T: Element>(shape: Vec<u64>, values: &[T]) -> Result<Self> {
        Self::from_bytes(T::DTYPE, shape, bytemuck::cast_slice(values))
    }

    /// The element type (native byte order).
    pub fn dtype(&self) -> &DataType {
        &self.dtype
    }

    /// The shape, numpy order.
    pub fn shape(&self) -> &[u64] {
        &self.shape
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product::<u64>() as usize
    }

    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The raw native-endian bytes.
    pub fn bytes(&self) -> &[u8] {
        self.data.as_slice()
    }

    /// The raw native-endian bytes, mutable.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        self.data.as_mut_slice()
    }

    /// Change the shape (same number of elements).
    pub fn reshape(mut self, shape: Vec<u64>) -> Result<Self> {
        if num_bytes(&shape, self.dtype.size())? != self.data.len() {
            return Err(Error::Shape(format!(
                "cannot reshape {} to {shape_s}",
                crate::fmt_shape(self.shape.iter()),
                shape_s = crate::fmt_shape(shape.iter())
            )));
        }
        self.shape = shape;
        Ok(self)
    }

    /// The values as a typed slice, if `T` is the element type.
    pub fn as_slice<T: Element>(&self) -> Result<&[T]> {
        self.check_type::<T>()?;
        Ok(bytemuck::cast_slice(self.data.as_slice()))
    }

    /// The values as a mutable typed slice, if `T` is the element type.
    pub fn as_slice_mut<T: Element>(&mut self) -> Result<&mut [T]> {
        self.check_type::<T>()?;
        Ok(bytemuck::cast_slice_mut(self.data.as_mut_slice()))
    }

    fn check_type<T: Element>(&self) -> Result<()> {
        if self.dtype != T::DTYPE {
            return Err(Error::DType {
                text: self.dtype.to_string(),
                reason: format!("buffer holds {}, not {}", self.dtype, T::DTYPE),
            });
        }
        Ok(())
    }

    /// Convert to an `ndarray::ArrayD<T>` (copies the values).
    pub fn to_ndarray<T: Element>(&self) -> Result<ndarray::ArrayD<T>> {
        let v = self.as_slice::<T>()?.to_vec();
        let shape: Vec<usize> = self.shape.iter().map(|&d| d as usize).collect();
        ndarray::ArrayD::from_shape_vec(shape, v).map_err(|e| Error::Shape(e.to_string()))
    }

    /// Build from any `ndarray` array (any memory layout; values are copied in C order).
    pub fn from_ndarray<T: Element, S: ndarray::Data<Elem = T>, D: ndarray::Dimension>(
        a: &ndarray::ArrayBase<S, D>,
    ) -> Result<Self> {
        let shape: Vec<u64> = a.shape().iter().map(|&d| d as u64).collect();
        let v: Vec<T> = a.iter().copied().collect();
        Self::from_vec(shape, &v)
    }
}

/// Run `fill` (which writes every byte of `out`, front to back, on this thread) while another
/// thread faults `out`'s pages in ahead of it (`MADV_POPULATE_WRITE`, Linux 5.14+: the kernel
/// maps the pages writable without touching their contents, so nothing observable changes).
/// For a decoder that is one sequential stream into a large fresh buffer (an ASDF zlib or bzip2
/// block), the zeroing of fresh pages and the page faults then cost the other core instead of
/// the decoder. Buffers under [`PREFAULT_THRESHOLD`] and other systems just run `fill`.
pub fn fill_with_pages_prefaulted<R>(out: &mut [u8], fill: impl FnOnce(&mut [u8]) -> R) -> R {
    if out.len() < PREFAULT_THRESHOLD {
        return fill(out);
    }
    prefault_while(out, fill)
}

/// Outputs from this size up are prefaulted by [`fill_with_pages_prefaulted`].
pub const PREFAULT_THRESHOLD: usize = 16 << 20;

#[cfg(target_os = "linux")]
fn prefault_while<R>(out: &mut [u8], fill: impl FnOnce(&mut [u8]) -> R) -> R {
    use std::sync::atomic::{AtomicBool, Ordering};
    const STEP: usize = 2 << 20;
    let page = 4096usize;
    let start = (out.as_ptr() as usize).div_ceil(page) * page;
    let end = (out.as_ptr() as usize + out.len()) / page * page;
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        let done = &done;
        // a thread that cannot be made (a process at its limit) leaves the faults to `fill`
        let _ = std::thread::Builder::new().spawn_scoped(s, move || {
            let mut at = start;
            while at < end && !done.load(Ordering::Relaxed) {
                let n = STEP.min(end - at);
                // SAFETY: [at, at + n) lies inside `out`, which outlives this scope; the
                // advice only maps pages (zero-filled if absent), never changing a byte.
                let rc =
                    unsafe { libc::madvise(at as *mut libc::c_void, n, libc::MADV_POPULATE_WRITE) };
                if rc != 0 {
                    return; // an older kernel: the decoder faults its pages itself
                }
                at += n;
            }
        });
        let r = fill(out);
        done.store(true, Ordering::Relaxed);
        r
    })
}

#[cfg(not(target_os = "linux"))]
fn prefault_while<R>(out: &mut [u8], fill: impl FnOnce(&mut [u8]) -> R) -> R {
    fill(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefaulting_changes_no_byte() {
        // above the threshold, so the helper thread runs beside `fill`
        let n = PREFAULT_THRESHOLD + 3 * 4096 + 7;
        let (mut fresh, at) = zeroed_values::<u8>(n).unwrap();
        let fresh = &mut fresh[at..at + n];
        let sum = fill_with_pages_prefaulted(fresh, |out| {
            for (i, b) in out.iter_mut().enumerate() {
                *b = (i % 251) as u8;
            }
            out.len()
        });
        assert_eq!(sum, n);
        assert!(fresh.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8));
        // a fill that stops half way (a decoder's error): the rest keeps what it held
        let mut held = vec![7u8; n];
        fill_with_pages_prefaulted(&mut held, |out| out[..n / 2].fill(1));
        assert!(held[..n / 2].iter().all(|&b| b == 1));
        assert!(held[n / 2..].iter().all(|&b| b == 7));
        // and the untouched part of a fresh buffer stays zero
        let (mut fresh, at) = zeroed_values::<u8>(n).unwrap();
        let fresh = &mut fresh[at..at + n];
        fill_with_pages_prefaulted(fresh, |out| out[..4096].fill(9));
        assert!(fresh[4096..].iter().all(|&b| b == 0));
    }

    #[test]
    fn resize_reusing_keeps_a_large_enough_allocation() {
        let mut b = AlignedBuf::zeroed(100);
        b.as_mut_slice().fill(7);
        let ptr = b.as_slice().as_ptr();
        b.resize_reusing(40);
        assert_eq!((b.len(), b.as_slice().as_ptr()), (40, ptr));
        assert!(b.as_slice().iter().all(|&x| x == 7));
        b.resize_reusing(112); // still within the 7 words of 16 bytes
        assert_eq!((b.len(), b.as_slice().as_ptr()), (112, ptr));
        b.resize_reusing(1000);
        assert_eq!(b.len(), 1000);
        assert!(b.as_slice().iter().all(|&x| x == 0));
    }

    #[test]
    fn typed_and_ndarray() {
        let a = ArrayBuf::from_vec(vec![2, 3], &[1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
        assert!(a.as_slice::<f32>().is_err());
        let nd = a.to_ndarray::<f64>().unwrap();
        assert_eq!(nd[[1, 2]], 6.0);
        let t = nd.t();
        let b = ArrayBuf::from_ndarray(&t).unwrap();
        assert_eq!(b.shape(), &[3, 2]);
        assert_eq!(
            b.as_slice::<f64>().unwrap(),
            &[1.0, 4.0, 2.0, 5.0, 3.0, 6.0]
        );
    }

    #[test]
    fn zeroed_values_are_zero() {
        // 12 MiB: advised huge pages, the values from a 2 MiB boundary on
        let (v, start) = zeroed_values::<f32>(3 << 20).unwrap();
        assert!(v.len() >= start + (3 << 20));
        assert_eq!(v[start..].as_ptr() as usize % (2 << 20), 0);
        assert!(v.iter().all(|&x| x.to_bits() == 0));
        // complex128 (16 bytes, aligned to 8): the boundary within the first value
        let (c, start) = zeroed_values::<num_complex::Complex<f64>>(1 << 20).unwrap();
        assert!(c.len() >= start + (1 << 20));
        assert!(
            (c[start..].as_ptr() as usize).next_multiple_of(2 << 20)
                - (c[start..].as_ptr() as usize)
                < 16
        );
        // small: exactly the values asked for
        let (b, start) = zeroed_values::<bool>(5).unwrap();
        assert_eq!((b, start), (vec![false; 5], 0));
        assert!(zeroed_values::<u8>(0).unwrap().0.is_empty());
        assert!(zeroed_values::<f64>(usize::MAX / 4).is_err());
    }

    #[test]
    fn large_aligned_buffers_start_on_a_huge_page() {
        let mut b = AlignedBuf::zeroed(5 << 20);
        assert_eq!(b.as_slice().as_ptr() as usize % (2 << 20), 0);
        assert_eq!(b.len(), 5 << 20);
        b.as_mut_slice()[12345] = 3;
        let c = b.clone();
        assert_eq!(c.as_slice(), b.as_slice());
        assert_eq!(c.as_slice().as_ptr() as usize % (2 << 20), 0);
        // reuse counts the words after the start only
        let ptr = b.as_slice().as_ptr();
        b.resize_reusing(5 << 20);
        assert_eq!(b.as_slice().as_ptr(), ptr);
        b.resize_reusing((5 << 20) + (3 << 20));
        assert_eq!(b.len(), 8 << 20);
        assert!(b.as_slice().iter().all(|&x| x == 0));
    }

    #[test]
    fn size_checks() {
        assert!(ArrayBuf::zeros(DataType::Float64, vec![1 << 40, 1 << 40]).is_err());
        // a size no allocation can hold: an error, not a panic or an abort
        assert!(ArrayBuf::zeros(DataType::UInt8, vec![usize::MAX as u64 / 2]).is_err());
        assert!(ArrayBuf::from_bytes(DataType::Int16, vec![3], &[0; 5]).is_err());
    }
}
