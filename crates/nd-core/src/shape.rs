//! Shapes, regions, memory orders, chunk grids and strided copies between them.
//!
//! All shapes and regions are in numpy axis order (slowest-varying axis first).

use crate::error::{Error, Result};
use std::ops::Range;

/// Memory order of an array or chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Order {
    /// Row-major: the last axis varies fastest.
    #[default]
    C,
    /// Column-major: the first axis varies fastest.
    F,
}

/// A shape, index or other list of numbers in plain words for messages: `[2, 3]` (the form
/// `nd info` prints shapes in), never Rust debug output. Call it with `shape.iter()`.
pub fn fmt_shape<I>(items: I) -> String
where
    I: IntoIterator,
    I::Item: std::fmt::Display,
{
    let parts: Vec<String> = items.into_iter().map(|x| x.to_string()).collect();
    format!("[{}]", parts.join(", "))
}

/// Number of elements of a shape, or `None` when the product overflows `u64`.
pub fn num_elements(shape: &[u64]) -> Option<u64> {
    shape.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d))
}

/// Number of bytes of a shape of `elem_size`-byte elements, checked against overflow and `usize`.
pub fn num_bytes(shape: &[u64], elem_size: usize) -> Result<usize> {
    num_elements(shape)
        .and_then(|n| n.checked_mul(elem_size as u64))
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| {
            Error::Shape(format!(
                "array of shape {shape_s} x {elem_size} bytes is too large",
                shape_s = fmt_shape(shape.iter())
            ))
        })
}

/// Element strides (in elements) of a shape in the given order.
pub fn strides(shape: &[u64], order: Order) -> Vec<u64> {
    let mut s = vec![1u64; shape.len()];
    for_each_stride(shape, order, s.iter_mut(), |o, step| *o = step);
    s
}

/// Hand each of `out` (one per axis of `shape`, fewer when `out` is shorter) its axis's element
/// stride: the product of the sizes of the axes after it (C) or before it (F), saturating.
fn for_each_stride<'o, O: 'o>(
    shape: &[u64],
    order: Order,
    out: impl DoubleEndedIterator<Item = &'o mut O> + ExactSizeIterator,
    mut set: impl FnMut(&mut O, u64),
) {
    let mut step = 1u64;
    let mut visit = |(o, &d): (&mut O, &u64)| {
        set(o, step);
        step = step.saturating_mul(d);
    };
    let axes = out.zip(shape);
    match order {
        Order::C => axes.rev().for_each(&mut visit),
        Order::F => axes.for_each(&mut visit),
    }
}

/// Byte strides of a contiguous array of `shape` in `order`, of `elem`-byte elements, as the
/// signed strides of a strided view (numpy's `strides`). Saturates at `i64::MAX` (an array that
/// large cannot be addressed; bounds checks against the data then fail).
pub fn byte_strides(shape: &[u64], order: Order, elem: usize) -> Vec<i64> {
    let mut out = vec![0; shape.len()];
    byte_strides_into(shape, order, elem, &mut out);
    out
}

/// [`byte_strides`] written into `out` (one per axis of `shape`; extra items are left alone):
/// for a caller that keeps them without an allocation of their own.
pub fn byte_strides_into(shape: &[u64], order: Order, elem: usize, out: &mut [i64]) {
    for_each_stride(shape, order, out.iter_mut(), |o, step| {
        *o = i64::try_from(step.saturating_mul(elem as u64)).unwrap_or(i64::MAX);
    });
}

/// The C-order linear index of `coords` in a grid of `counts` per axis (the last axis varies
/// fastest): how chunk and tile tables, chunk maps and shard indexes number their entries.
/// Saturates at `u64::MAX` (past every table) instead of overflowing.
#[inline]
pub fn linear_index(coords: &[u64], counts: &[u64]) -> u64 {
    coords
        .iter()
        .zip(counts)
        .fold(0u64, |a, (&c, &n)| a.saturating_mul(n).saturating_add(c))
}

/// The coordinates of C-order linear index `index` in a grid of `counts` per axis (the inverse
/// of [`linear_index`] for `index` below the grid's size).
pub fn coords_of(mut index: u64, counts: &[u64]) -> Vec<u64> {
    let mut c = vec![0u64; counts.len()];
    for (ax, &n) in counts.iter().enumerate().rev() {
        let n = n.max(1);
        c[ax] = index % n;
        index /= n;
    }
    c
}

/// A hyper-rectangle of an array: one half-open range per axis, numpy axis order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Region {
    /// The range of each axis.
    pub ranges: Vec<Range<u64>>,
}

impl Region {
    /// A region from per-axis ranges.
    pub fn new(ranges: Vec<Range<u64>>) -> Self {
        Region { ranges }
    }

    /// The whole of an array of this shape.
    pub fn full(shape: &[u64]) -> Self {
        Region {
            ranges: shape.iter().map(|&d| 0..d).collect(),
        }
    }

    /// A region from a start corner and a shape.
    pub fn from_start_shape(start: &[u64], shape: &[u64]) -> Self {
        Region {
            ranges: start.iter().zip(shape).map(|(&s, &n)| s..s + n).collect(),
        }
    }

    /// Number of axes.
    pub fn ndim(&self) -> usize {
        self.ranges.len()
    }

    /// The extent of each axis.
    pub fn shape(&self) -> Vec<u64> {
        self.ranges
            .iter()
            .map(|r| r.end.saturating_sub(r.start))
            .collect()
    }

    /// The start corner.
    pub fn start(&self) -> Vec<u64> {
        self.ranges.iter().map(|r| r.start).collect()
    }

    /// Number of elements (saturating).
    pub fn num_elements(&self) -> u64 {
        self.checked_num_elements().unwrap_or(u64::MAX)
    }

    /// Number of elements, `None` when it overflows `u64` (no allocation).
    pub fn checked_num_elements(&self) -> Option<u64> {
        self.ranges.iter().try_fold(1u64, |acc, r| {
            acc.checked_mul(r.end.saturating_sub(r.start))
        })
    }

    /// True when any axis is empty.
    pub fn is_empty(&self) -> bool {
        self.ranges.iter().any(|r| r.end <= r.start)
    }

    /// Check that this region lies within an array of `shape`.
    pub fn check_within(&self, shape: &[u64]) -> Result<()> {
        if self.ranges.len() != shape.len() {
            return Err(Error::Shape(format!(
                "region has {} axes, array has {}",
                self.ranges.len(),
                shape.len()
            )));
        }
        for (i, (r, &d)) in self.ranges.iter().zip(shape).enumerate() {
            if r.start > r.end || r.end > d {
                return Err(Error::Shape(format!(
                    "region {}:{} on axis {i} is outside 0:{d}",
                    r.start, r.end
                )));
            }
        }
        Ok(())
    }

    /// The intersection with another region of the same rank (may be empty).
    pub fn intersect(&self, other: &Region) -> Region {
        Region {
            ranges: self
                .ranges
                .iter()
                .zip(&other.ranges)
                .map(|(a, b)| {
                    let s = a.start.max(b.start);
                    let e = a.end.min(b.end).max(s);
                    s..e
                })
                .collect(),
        }
    }

    /// This region shifted so that `origin` becomes zero (origin must be <= start on every axis).
    pub fn relative_to(&self, origin: &[u64]) -> Region {
        Region {
            ranges: self
                .ranges
                .iter()
                .zip(origin)
                .map(|(r, &o)| r.start - o..r.end - o)
                .collect(),
        }
    }
}

/// A regular grid of chunks over an array. Edge chunks are stored full size and cropped on read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkGrid {
    array_shape: Vec<u64>,
    chunk_shape: Vec<u64>,
}

/// One chunk's share of a region read: which chunk, which part of it, and where that part goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkPiece {
    /// Grid index of the chunk.
    pub chunk: Vec<u64>,
    /// The part of the (full-size) chunk to take, relative to the chunk's origin.
    pub in_chunk: Region,
    /// Where that part goes, relative to the region's origin.
    pub in_out: Region,
}

impl ChunkGrid {
    /// A grid of `chunk_shape` chunks over `array_shape`. Every chunk extent must be positive.
    pub fn new(array_shape: Vec<u64>, chunk_shape: Vec<u64>) -> Result<Self> {
        if array_shape.len() != chunk_shape.len() {
            return Err(Error::Shape(format!(
                "chunk shape {chunk_shape_s} does not match array shape {array_shape_s}",
                chunk_shape_s = fmt_shape(chunk_shape.iter()),
                array_shape_s = fmt_shape(array_shape.iter())
            )));
        }
        if chunk_shape.contains(&0) {
            return Err(Error::Shape(format!(
                "chunk shape {chunk_shape_s} has a zero extent",
                chunk_shape_s = fmt_shape(chunk_shape.iter())
            )));
        }
        Ok(ChunkGrid {
            array_shape,
            chunk_shape,
        })
    }

    /// Shape of the array.
    pub fn array_shape(&self) -> &[u64] {
        &self.array_shape
    }

    /// Shape of one (full) chunk.
    pub fn chunk_shape(&self) -> &[u64] {
        &self.chunk_shape
    }

    /// Number of chunks along each axis.
    pub fn grid_shape(&self) -> Vec<u64> {
        self.array_shape
            .iter()
            .zip(&self.chunk_shape)
            .map(|(&a, &c)| a.div_ceil(c))
            .collect()
    }

    /// Total number of chunks (saturating).
    pub fn num_chunks(&self) -> u64 {
        num_elements(&self.grid_shape()).unwrap_or(u64::MAX)
    }

    /// The C-order linear index of chunk `chunk` (grid coordinates), as chunk tables number
    /// chunks ([`linear_index`] over [`ChunkGrid::grid_shape`], without allocating).
    pub fn linear_index(&self, chunk: &[u64]) -> u64 {
        chunk
            .iter()
            .zip(self.array_shape.iter().zip(&self.chunk_shape))
            .fold(0u64, |a, (&c, (&n, &s))| {
                a.saturating_mul(n.div_ceil(s)).saturating_add(c)
            })
    }

    /// The grid coordinates of the chunk with C-order linear index `index` (the inverse of
    /// [`ChunkGrid::linear_index`] for `index < num_chunks()`).
    pub fn coords_of(&self, index: u64) -> Vec<u64> {
        coords_of(index, &self.grid_shape())
    }

    /// The array region a chunk covers, cropped to the array.
    pub fn chunk_region(&self, chunk: &[u64]) -> Region {
        Region {
            ranges: chunk
                .iter()
                .zip(&self.chunk_shape)
                .zip(&self.array_shape)
                .map(|((&i, &c), &a)| {
                    let s = i.saturating_mul(c).min(a);
                    s..s.saturating_add(c).min(a)
                })
                .collect(),
        }
    }

    /// The chunk grid indices a region touches, in C order, and the part of each to copy.
    /// The region must lie within the array.
    pub fn pieces(&self, region: &Region) -> Result<Vec<ChunkPiece>> {
        region.check_within(&self.array_shape)?;
        if region.is_empty() {
            return Ok(vec![]);
        }
        let nd = self.array_shape.len();
        let lo: Vec<u64> = (0..nd)
            .map(|i| region.ranges[i].start / self.chunk_shape[i])
            .collect();
        let hi: Vec<u64> = (0..nd)
            .map(|i| (region.ranges[i].end - 1) / self.chunk_shape[i] + 1)
            .collect();
        let count = num_elements(&hi.iter().zip(&lo).map(|(h, l)| h - l).collect::<Vec<_>>())
            .ok_or_else(|| Error::Shape("too many chunks".into()))?;
        let mut out = Vec::with_capacity(usize::try_from(count.min(1 << 20)).unwrap_or(0));
        let mut idx = lo.clone();
        let origin = region.start();
        loop {
            let creg = self.chunk_region(&idx);
            let part = creg.intersect(region);
            let cstart: Vec<u64> = idx
                .iter()
                .zip(&self.chunk_shape)
                .map(|(i, c)| i * c)
                .collect();
            out.push(ChunkPiece {
                chunk: idx.clone(),
                in_chunk: part.relative_to(&cstart),
                in_out: part.relative_to(&origin),
            });
            // advance C-order odometer
            let mut ax = nd;
            loop {
                if ax == 0 {
                    return Ok(out);
                }
                ax -= 1;
                idx[ax] += 1;
                if idx[ax] < hi[ax] {
                    break;
                }
                idx[ax] = lo[ax];
            }
            if nd == 0 {
                return Ok(out);
            }
        }
    }
}

/// A strided view description for [`copy_strided`]: byte offset of the first element and byte stride of each axis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Strided {
    /// Byte offset of the first element.
    pub offset: usize,
    /// Byte stride of each axis.
    pub strides: Vec<usize>,
}

impl Strided {
    /// The view of `region` inside a contiguous array of `shape` in `order`.
    pub fn of_region(shape: &[u64], region_start: &[u64], order: Order, elem: usize) -> Strided {
        let st = strides(shape, order);
        let offset = region_start
            .iter()
            .zip(&st)
            .map(|(&s, &t)| (s * t) as usize * elem)
            .sum();
        Strided {
            offset,
            strides: st.iter().map(|&t| t as usize * elem).collect(),
        }
    }

    /// One past the last byte touched by a block of `count` elements of `elem` bytes (0 if empty).
    pub fn extent(&self, count: &[u64], elem: usize) -> Option<usize> {
        if count.contains(&0) {
            return Some(0);
        }
        let mut end = self.offset.checked_add(elem)?;
        for (&c, &s) in count.iter().zip(&self.strides) {
            end = end.checked_add((c as usize - 1).checked_mul(s)?)?;
        }
        Some(end)
    }
}

/// Copy a block of `count` elements (each `elem` bytes) between two strided views. Contiguous inner
/// runs are copied with `memcpy`. Returns an error if either view reaches past its buffer.
pub fn copy_strided(
    src: &[u8],
    src_view: &Strided,
    dst: &mut [u8],
    dst_view: &Strided,
    count: &[u64],
    elem: usize,
) -> Result<()> {
    check_view(src.len(), src_view, count, elem)?;
    check_view(dst.len(), dst_view, count, elem)?;
    // SAFETY: both views were bounds-checked above and `dst` is exclusively borrowed.
    unsafe { copy_strided_raw(src, src_view, dst.as_mut_ptr(), dst_view, count, elem) };
    Ok(())
}

/// Check that a strided block stays inside a buffer of `len` bytes.
pub fn check_view(len: usize, view: &Strided, count: &[u64], elem: usize) -> Result<()> {
    if view.strides.len() != count.len() {
        return Err(Error::Shape("view rank does not match block rank".into()));
    }
    match view.extent(count, elem) {
        Some(end) if end <= len => Ok(()),
        _ => Err(Error::Shape(format!(
            "strided block {count_s} at offset {} reaches past a buffer of {len} bytes",
            view.offset,
            count_s = fmt_shape(count.iter())
        ))),
    }
}

/// Copy a strided block into raw memory.
///
/// # Safety
/// `src_view` must have been checked against `src` and `dst_view` against the buffer behind `dst`
/// (see [`check_view`]), and no other thread may access the destination bytes this block touches.
pub unsafe fn copy_strided_raw(
    src: &[u8],
    src_view: &Strided,
    dst: *mut u8,
    dst_view: &Strided,
    count: &[u64],
    elem: usize,
) {
    if count.contains(&0) {
        return;
    }
    let nd = count.len();
    // Merge the innermost axes that are contiguous in both views into one run.
    let mut run = elem;
    let mut inner = nd;
    while inner > 0 {
        let ax = inner - 1;
        if src_view.strides[ax] == run && dst_view.strides[ax] == run {
            run *= count[ax] as usize;
            inner -= 1;
        } else {
            break;
        }
    }
    let outer = &count[..inner];
    let mut idx = vec![0u64; inner];
    loop {
        let mut so = src_view.offset;
        let mut d_o = dst_view.offset;
        for (ax, &i) in idx.iter().enumerate() {
            so += i as usize * src_view.strides[ax];
            d_o += i as usize * dst_view.strides[ax];
        }
        // SAFETY: the caller guarantees every run of both views lies within its buffer, and that
        // the destination runs of concurrent callers are disjoint (this function's contract).
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr().add(so), dst.add(d_o), run) };
        if !next_index(&mut idx, outer) {
            return;
        }
    }
}

/// Advance the C-order multi-index `idx` (each `idx[ax] < outer[ax]`) by one; `false` once it has
/// gone past the last index (it is then all zeros again).
#[inline]
pub fn next_index(idx: &mut [u64], outer: &[u64]) -> bool {
    for (i, &n) in idx.iter_mut().zip(outer).rev() {
        *i += 1;
        if *i < n {
            return true;
        }
        *i = 0;
    }
    false
}

/// Copy `region` of a contiguous source array (`src_shape`, `src_order`) into a contiguous C-order
/// destination array (`dst_shape`) at `dst_start`.
#[allow(clippy::too_many_arguments)]
pub fn copy_region(
    src: &[u8],
    src_shape: &[u64],
    src_order: Order,
    region: &Region,
    dst: &mut [u8],
    dst_shape: &[u64],
    dst_start: &[u64],
    elem: usize,
) -> Result<()> {
    let count = region.shape();
    let sv = Strided::of_region(src_shape, &region.start(), src_order, elem);
    let dv = Strided::of_region(dst_shape, dst_start, Order::C, elem);
    copy_strided(src, &sv, dst, &dv, &count, elem)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shapes in messages read `[2, 3]`, never Rust debug output.
    #[test]
    fn shapes_in_messages_are_plain() {
        assert_eq!(fmt_shape([2u64, 3].iter()), "[2, 3]");
        assert_eq!(fmt_shape(Vec::<u64>::new().iter()), "[]");
        let e = ChunkGrid::new(vec![10, 7], vec![4])
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "shape error: chunk shape [4] does not match array shape [10, 7]"
        );
        let e = ChunkGrid::new(vec![10], vec![0]).unwrap_err().to_string();
        assert!(e.contains("chunk shape [0] has a zero extent"), "{e}");
    }

    #[test]
    fn parse_regions() {
        let r = Region::parse("1:3,:", &[5, 4]).unwrap();
        assert_eq!(r.ranges, vec![1..3, 0..4]);
        let r = Region::parse("-2:,2", &[5, 4]).unwrap();
        assert_eq!(r.ranges, vec![3..5, 2..3]);
        assert!(Region::parse("1,2,3", &[5, 4]).is_err());
        assert!(Region::parse("x:2", &[5]).is_err());
        assert!(Region::parse("7", &[5]).is_err());
        assert_eq!(Region::parse("", &[5]).unwrap().ranges, vec![0..5]);
    }

    #[test]
    fn grid_pieces_cover_region_once() {
        let g = ChunkGrid::new(vec![10, 7], vec![4, 3]).unwrap();
        assert_eq!(g.grid_shape(), vec![3, 3]);
        let region = Region::new(vec![3..9, 1..7]);
        let pieces = g.pieces(&region).unwrap();
        let mut cover = [0u32; 6 * 6];
        for p in &pieces {
            let s = p.in_out.start();
            for (a, b) in p.in_out.shape().iter().zip(p.in_chunk.shape()) {
                assert_eq!(*a, b);
            }
            for i in 0..p.in_out.shape()[0] {
                for j in 0..p.in_out.shape()[1] {
                    cover[((s[0] + i) * 6 + s[1] + j) as usize] += 1;
                }
            }
        }
        assert!(cover.iter().all(|&c| c == 1));
        assert_eq!(pieces.len(), 3 * 3);
        assert_eq!(g.chunk_region(&[2, 2]).ranges, vec![8..10, 6..7]);
    }

    #[test]
    fn linear_indexes_number_chunks_in_c_order() {
        let g = ChunkGrid::new(vec![10, 7, 5], vec![4, 3, 5]).unwrap();
        assert_eq!(g.grid_shape(), vec![3, 3, 1]);
        let mut idx = vec![0u64; 3];
        for k in 0..g.num_chunks() {
            assert_eq!(g.linear_index(&idx), k);
            assert_eq!(linear_index(&idx, &g.grid_shape()), k);
            assert_eq!(g.coords_of(k), idx);
            next_index(&mut idx, &g.grid_shape());
        }
        assert_eq!(linear_index(&[1, 2], &[3, 4]), 6);
        assert_eq!(linear_index(&[], &[]), 0);
        assert_eq!(coords_of(0, &[]), Vec::<u64>::new());
        assert_eq!(linear_index(&[u64::MAX, 1], &[u64::MAX, 2]), u64::MAX);
        assert_eq!(byte_strides(&[2, 3, 4], Order::C, 8), vec![96, 32, 8]);
        assert_eq!(byte_strides(&[2, 3, 4], Order::F, 2), vec![2, 4, 12]);
        assert_eq!(byte_strides(&[2, u64::MAX], Order::C, 8)[0], i64::MAX);
        // the element strides, times the element size, in both orders
        for shape in [&[][..], &[5], &[3, 1, 7], &[2, 3, 4, 5, 6], &[0, 9]] {
            for order in [Order::C, Order::F] {
                let want: Vec<i64> = strides(shape, order)
                    .iter()
                    .map(|&s| s as i64 * 4)
                    .collect();
                assert_eq!(byte_strides(shape, order, 4), want);
                // into a longer buffer: the extra items are left alone
                let mut out = vec![-1; shape.len() + 2];
                byte_strides_into(shape, order, 4, &mut out);
                assert_eq!(out[..shape.len()], want[..]);
                assert_eq!(out[shape.len()..], [-1, -1]);
            }
        }
    }

    #[test]
    fn zero_dim_grid() {
        let g = ChunkGrid::new(vec![], vec![]).unwrap();
        let p = g.pieces(&Region::full(&[])).unwrap();
        assert_eq!(p.len(), 1);
    }

    #[test]
    fn copy_f_order_region() {
        // 2x3 array in F order: element (i,j) = 10*i + j
        let shape = [2u64, 3];
        let mut src = vec![0u8; 6];
        for i in 0..2 {
            for j in 0..3 {
                src[i + 2 * j] = (10 * i + j) as u8;
            }
        }
        let mut dst = vec![0u8; 4];
        copy_region(
            &src,
            &shape,
            Order::F,
            &Region::new(vec![0..2, 1..3]),
            &mut dst,
            &[2, 2],
            &[0, 0],
            1,
        )
        .unwrap();
        assert_eq!(dst, vec![1, 2, 11, 12]);
    }

    #[test]
    fn copy_checks_bounds() {
        let src = vec![0u8; 4];
        let mut dst = vec![0u8; 4];
        let r = copy_region(
            &src,
            &[2, 2],
            Order::C,
            &Region::new(vec![0..2, 0..2]),
            &mut dst,
            &[1, 4],
            &[0, 0],
            1,
        );
        assert!(r.is_err());
    }
}
