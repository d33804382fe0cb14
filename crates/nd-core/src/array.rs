//! The array traits every format implements, and the shared engine that fills one output buffer
//! from many chunks in parallel.

use crate::buf::ArrayBuf;
use crate::dtype::DataType;
use crate::error::{Error, Result};
use crate::io::IN_CACHE_BYTES;
use crate::scratch::with_scratch;
use crate::shape::{
    check_view, copy_strided_raw, num_bytes, ChunkGrid, ChunkPiece, Order, Region, Strided,
};
use crate::source::ByteSource;
use rayon::prelude::*;
use std::collections::BTreeMap;

/// Free-form metadata attached to an array (FITS cards, ASDF tree keys, Zarr attributes), as JSON-like values.
pub type Attributes = BTreeMap<String, AttrValue>;

/// A JSON-like attribute value.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    /// No value.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
    /// A list.
    List(Vec<AttrValue>),
    /// A mapping.
    Map(BTreeMap<String, AttrValue>),
}

/// A readable n-dimensional array of any format.
///
/// Reads deliver values in native byte order, C order, of type [`ArrayRead::dtype`] (the type the
/// reference library returns: for a scaled FITS image that is the physical float type).
pub trait ArrayRead: Send + Sync {
    /// The shape, numpy axis order.
    fn shape(&self) -> &[u64];

    /// The type of the values reads deliver (native byte order).
    fn dtype(&self) -> &DataType;

    /// The natural read unit: the chunk or tile shape, or for contiguous data a slab that is cheap to read.
    fn chunk_shape(&self) -> Vec<u64>;

    /// Read `region` into `out`, which must be exactly `region.num_elements() * dtype.size()` bytes.
    fn read_region_into(&self, region: &Region, out: &mut [u8]) -> Result<()>;

    /// A short description of how values are stored (codec, compression), if any.
    fn codec(&self) -> Option<String> {
        None
    }

    /// Metadata of the array (for conversions between formats).
    fn attributes(&self) -> Attributes {
        Attributes::new()
    }

    /// Read `region` into a new buffer.
    fn read_region(&self, region: &Region) -> Result<ArrayBuf> {
        region.check_within(self.shape())?;
        let mut buf = ArrayBuf::zeros(self.dtype().clone(), region.shape())?;
        self.read_region_into(region, buf.bytes_mut())?;
        Ok(buf)
    }

    /// Read the whole array.
    fn read_all(&self) -> Result<ArrayBuf> {
        self.read_region(&Region::full(self.shape()))
    }
}

/// An array that can be written region by region. Writes may be called concurrently for disjoint
/// regions that are aligned to [`ArrayRead::chunk_shape`].
pub trait ArrayWrite: ArrayRead {
    /// Write `data` (native-endian, C order, exactly the region's size) into `region`.
    fn write_region(&self, region: &Region, data: &[u8]) -> Result<()>;

    /// Make everything written durable (close files, write indexes). Called once at the end.
    fn finish(&self) -> Result<()> {
        Ok(())
    }
}

/// Check that an output buffer has the size a region read needs.
pub fn check_out_len(region: &Region, dtype: &DataType, out: &[u8]) -> Result<()> {
    // counted from the ranges (no shape vector for every read); too large: the shape's error
    let want = match region
        .checked_num_elements()
        .and_then(|n| n.checked_mul(dtype.size() as u64))
        .and_then(|n| usize::try_from(n).ok())
    {
        Some(n) => n,
        None => num_bytes(&region.shape(), dtype.size())?,
    };
    if want != out.len() {
        return Err(Error::Shape(format!(
            "output buffer has {} bytes, region {} of {dtype} needs {want}",
            out.len(),
            crate::fmt_shape(region.shape().iter())
        )));
    }
    Ok(())
}

/// Where a chunk decoder must put a chunk's decoded values.
pub trait ChunkDecoder: Sync {
    /// The decoder's error type.
    type Error: From<Error> + Send;

    /// Decode chunk `chunk` (grid index) into `dst`, which is exactly one full-size chunk of decoded,
    /// native-endian bytes in the layout's order. Return `Ok(false)` when the chunk is absent
    /// (the engine fills its part with the fill value).
    fn decode_chunk(&self, chunk: &[u64], dst: &mut [u8])
        -> std::result::Result<bool, Self::Error>;

    /// Chunk `chunk` as a source of its decoded bytes, when they are stored as they are (no
    /// codec, native byte order, exactly one full chunk of bytes in C order): a read takes what
    /// it needs from it a cache-sized part at a time. `Ok(None)` (the default): the chunk is
    /// decoded whole with [`ChunkDecoder::decode_chunk`] (an absent chunk too).
    fn stored_as_is(
        &self,
        chunk: &[u64],
    ) -> std::result::Result<Option<Box<dyn ByteSource>>, Self::Error> {
        let _ = chunk;
        Ok(None)
    }
}

/// How a chunked array lays out its chunks.
#[derive(Debug, Clone)]
pub struct ChunkedLayout {
    /// The chunk grid.
    pub grid: ChunkGrid,
    /// Bytes per element (decoded).
    pub elem_size: usize,
    /// Order of values inside a decoded chunk.
    pub order: Order,
    /// One element of fill value (native-endian); empty means zeros.
    pub fill: Vec<u8>,
}

struct OutPtr(*mut u8, usize);
// SAFETY: the pointer is only used to write the disjoint parts of one exclusively borrowed buffer
// that different chunk pieces map to (a chunk grid partitions a region).
unsafe impl Sync for OutPtr {}
unsafe impl Send for OutPtr {}

/// Fill `out` (the C-order bytes of `region`) from the chunks that cover it, decoding them in
/// parallel when `parallel` is true. A chunk whose part of the output is one contiguous run and
/// which lies wholly inside the region is decoded straight into the output, with no copy.
pub fn read_chunked<D: ChunkDecoder>(
    layout: &ChunkedLayout,
    region: &Region,
    out: &mut [u8],
    decoder: &D,
    parallel: bool,
) -> std::result::Result<(), D::Error> {
    let out_shape = region.shape();
    check_len(layout, &out_shape, out)?;
    let pieces = layout.grid.pieces(region)?;
    let ptr = OutPtr(out.as_mut_ptr(), out.len());
    fill_pieces(layout, &out_shape, &pieces, &ptr, decoder, parallel)
}

/// Chunks decoded in groups that share one fetch: the inner chunks of a Zarr v3 shard share the
/// shard's index, and their bytes are fetched together (coalesced ranges) before any is decoded.
pub trait GroupedDecoder: Sync {
    /// The decoder's error type.
    type Error: From<Error> + Send;
    /// What [`GroupedDecoder::open_group`] prepares: decodes the group's chunks.
    type Group: ChunkDecoder<Error = Self::Error>;

    /// The group (e.g. the shard) chunk `chunk` of the layout's grid belongs to.
    fn group_of(&self, chunk: &[u64]) -> Vec<u64>;

    /// Prepare group `group` for decoding `chunks` (every chunk of the group the read touches,
    /// each once): fetch what they need.
    fn open_group(
        &self,
        group: &[u64],
        chunks: &[&[u64]],
    ) -> std::result::Result<Self::Group, Self::Error>;
}

/// [`read_chunked`] by groups: the chunks the region touches are grouped by
/// [`GroupedDecoder::group_of`]; each group is opened once (its fetch) and its chunks decoded
/// into `out`, at most [`GROUP_BATCH_BYTES`] of decoded chunks per opening (a larger group is
/// opened once per batch of its chunks). With `parallel`, batches run in parallel and so do the
/// chunks of a batch; memory is what the open batches hold, at most one per thread.
pub fn read_chunked_grouped<G: GroupedDecoder>(
    layout: &ChunkedLayout,
    region: &Region,
    out: &mut [u8],
    decoder: &G,
    parallel: bool,
) -> std::result::Result<(), G::Error> {
    read_grouped_in_batches(layout, region, out, decoder, parallel, GROUP_BATCH_BYTES)
}

/// [`read_chunked_grouped`] with at most `batch_bytes` of decoded chunks per opening.
fn read_grouped_in_batches<G: GroupedDecoder>(
    layout: &ChunkedLayout,
    region: &Region,
    out: &mut [u8],
    decoder: &G,
    parallel: bool,
    batch_bytes: usize,
) -> std::result::Result<(), G::Error> {
    let out_shape = region.shape();
    check_len(layout, &out_shape, out)?;
    let mut groups: BTreeMap<Vec<u64>, Vec<ChunkPiece>> = BTreeMap::new();
    for p in layout.grid.pieces(region)? {
        groups
            .entry(decoder.group_of(&p.chunk))
            .or_default()
            .push(p);
    }
    // A group is opened for at most GROUP_BATCH_BYTES of decoded chunks at a time (at least one
    // chunk): an open group holds the encoded bytes of its chunks, so a read of a whole large
    // shard holds a batch of it, not all of it, beside the output.
    let chunk_bytes = num_bytes(layout.grid.chunk_shape(), layout.elem_size)?.max(1);
    let per_batch = (batch_bytes / chunk_bytes).max(1);
    let batches: Vec<(&Vec<u64>, &[ChunkPiece])> = groups
        .iter()
        .flat_map(|(g, pieces)| pieces.chunks(per_batch).map(move |b| (g, b)))
        .collect();
    let ptr = OutPtr(out.as_mut_ptr(), out.len());
    let work = |&(group, pieces): &(&Vec<u64>, &[ChunkPiece])| {
        let chunks: Vec<&[u64]> = pieces.iter().map(|p| p.chunk.as_slice()).collect();
        let g = decoder.open_group(group, &chunks)?;
        fill_pieces(layout, &out_shape, pieces, &ptr, &g, parallel)
    };
    if parallel && batches.len() > 1 {
        batches.par_iter().try_for_each(work)
    } else {
        batches.iter().try_for_each(work)
    }
}

/// Most decoded bytes of chunks one opened group serves in [`read_chunked_grouped`].
pub const GROUP_BATCH_BYTES: usize = 4 << 20;

fn check_len(layout: &ChunkedLayout, out_shape: &[u64], out: &[u8]) -> Result<()> {
    let want = num_bytes(out_shape, layout.elem_size)?;
    if want != out.len() {
        return Err(Error::Shape(format!(
            "output buffer has {} bytes, region needs {want}",
            out.len()
        )));
    }
    Ok(())
}

/// Decode `pieces` (of a read of shape `out_shape`, a partition of it or part of one) into the
/// buffer behind `ptr`.
fn fill_pieces<D: ChunkDecoder>(
    layout: &ChunkedLayout,
    out_shape: &[u64],
    pieces: &[ChunkPiece],
    ptr: &OutPtr,
    decoder: &D,
    parallel: bool,
) -> std::result::Result<(), D::Error> {
    let elem = layout.elem_size;
    let chunk_shape = layout.grid.chunk_shape().to_vec();
    let chunk_bytes = num_bytes(&chunk_shape, elem)?;
    let work = |scratch: &mut Vec<u8>, piece: &ChunkPiece| -> std::result::Result<(), D::Error> {
        let full_chunk = piece.in_chunk.shape() == chunk_shape;
        if full_chunk && (layout.order == Order::C || chunk_shape.len() <= 1) {
            if let Some(off) = contiguous_offset(out_shape, &piece.in_out, elem) {
                // SAFETY: [off, off + chunk_bytes) lies inside `out` (checked) and belongs to this piece only.
                if off + chunk_bytes <= ptr.1 {
                    let dst =
                        unsafe { std::slice::from_raw_parts_mut(ptr.0.add(off), chunk_bytes) };
                    if !decoder.decode_chunk(&piece.chunk, dst)? {
                        fill_slice(dst, &layout.fill);
                    }
                    return Ok(());
                }
            }
        }
        if layout.order == Order::C && !chunk_shape.is_empty() {
            if let Some(src) = decoder.stored_as_is(&piece.chunk)? {
                return Ok(copy_in_parts(
                    &*src,
                    &chunk_shape,
                    piece,
                    out_shape,
                    ptr,
                    elem,
                    scratch,
                )?);
            }
        }
        scratch.resize(chunk_bytes, 0);
        let present = decoder.decode_chunk(&piece.chunk, scratch)?;
        let dv = Strided::of_region(out_shape, &piece.in_out.start(), Order::C, elem);
        let count = piece.in_out.shape();
        check_view(ptr.1, &dv, &count, elem)?;
        if present {
            let sv = Strided::of_region(&chunk_shape, &piece.in_chunk.start(), layout.order, elem);
            check_view(scratch.len(), &sv, &count, elem)?;
            // SAFETY: both views are bounds-checked; pieces write disjoint parts of `out`.
            unsafe { copy_strided_raw(scratch, &sv, ptr.0, &dv, &count, elem) };
        } else {
            let n = crate::shape::num_elements(&count).unwrap_or(0) as usize;
            let mut fill = vec![0u8; n * elem];
            fill_slice(&mut fill, &layout.fill);
            let sv = Strided::of_region(&count, &vec![0; count.len()], Order::C, elem);
            // SAFETY: as above.
            unsafe { copy_strided_raw(&fill, &sv, ptr.0, &dv, &count, elem) };
        }
        Ok(())
    };
    if parallel && pieces.len() > 1 {
        pieces
            .par_iter()
            .try_for_each(|p| with_scratch(|scratch: &mut Vec<u8>| work(scratch, p)))
    } else {
        pieces
            .iter()
            .try_for_each(|p| with_scratch(|scratch: &mut Vec<u8>| work(scratch, p)))
    }
}

/// The part of `piece` in a chunk stored as it is (`src`: the chunk's bytes, C order) into the
/// output: read in slabs of whole planes along the chunk's first axis, about
/// [`IN_CACHE_BYTES`] each (at least one plane), each scattered into the output while it is
/// in the core's cache; only the planes the piece covers are read.
fn copy_in_parts(
    src: &dyn ByteSource,
    chunk_shape: &[u64],
    piece: &ChunkPiece,
    out_shape: &[u64],
    ptr: &OutPtr,
    elem: usize,
    scratch: &mut Vec<u8>,
) -> Result<()> {
    let plane = num_bytes(&chunk_shape[1..], elem)?; // ok: chunk_shape is not empty
    if plane == 0 {
        return Ok(()); // nothing to copy
    }
    let per_slab = (IN_CACHE_BYTES / plane).max(1) as u64;
    let count = piece.in_out.shape();
    let (first, end) = (piece.in_chunk.ranges[0].start, piece.in_chunk.ranges[0].end); // ok: as above
    let mut slab_shape = chunk_shape.to_vec();
    let mut slab_start = piece.in_chunk.start();
    slab_start[0] = 0; // ok: as above
    let mut at = first;
    while at < end {
        let next = (at + per_slab).min(end);
        let bytes = (next - at) as usize * plane;
        if scratch.len() < bytes {
            scratch.resize(bytes, 0);
        }
        let buf = &mut scratch[..bytes];
        src.read_exact_at(at * plane as u64, buf)?;
        slab_shape[0] = next - at; // ok: as above
        let mut slab_count = count.clone();
        slab_count[0] = next - at; // ok: count has the chunk's rank
        let mut out_start = piece.in_out.start();
        out_start[0] += at - first; // ok: as above
        let sv = Strided::of_region(&slab_shape, &slab_start, Order::C, elem);
        let dv = Strided::of_region(out_shape, &out_start, Order::C, elem);
        check_view(buf.len(), &sv, &slab_count, elem)?;
        check_view(ptr.1, &dv, &slab_count, elem)?;
        // SAFETY: both views are bounds-checked; pieces write disjoint parts of `out`.
        unsafe { copy_strided_raw(buf, &sv, ptr.0, &dv, &slab_count, elem) };
        at = next;
    }
    Ok(())
}

/// Fill a buffer with repeats of one element (`fill` empty means zeros).
pub fn fill_slice(dst: &mut [u8], fill: &[u8]) {
    if fill.is_empty() || fill.iter().all(|&b| b == 0) {
        dst.fill(0);
    } else {
        for c in dst.chunks_mut(fill.len()) {
            c.copy_from_slice(&fill[..c.len()]);
        }
    }
}

/// If `part` (relative to an array of `shape`, C order) is one contiguous run, its byte offset.
pub fn contiguous_offset(shape: &[u64], part: &Region, elem: usize) -> Option<usize> {
    let ps = part.shape();
    let n = shape.len();
    // Find the first axis (from the left) where the part is not a single index; every axis after it must be full.
    let mut k = 0;
    while k < n && ps[k] == 1 {
        k += 1;
    }
    for ax in (k + 1)..n {
        if ps[ax] != shape[ax] || part.ranges[ax].start != 0 {
            return None;
        }
    }
    Some(crate::shape::linear_index(&part.start(), shape) as usize * elem)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// `region` of the array `layout` and `dec` describe, read by [`read_chunked`] into a new
    /// vector of `T`.
    fn read_new<T: bytemuck::Pod, D: ChunkDecoder>(
        layout: &ChunkedLayout,
        region: &Region,
        dec: &D,
        parallel: bool,
    ) -> Vec<T>
    where
        D::Error: std::fmt::Debug,
    {
        let n = region.shape().iter().product::<u64>() as usize;
        let mut out = vec![T::zeroed(); n];
        read_chunked(
            layout,
            region,
            bytemuck::cast_slice_mut(&mut out),
            dec,
            parallel,
        )
        .unwrap();
        out
    }

    /// A 2-D array of u16 with value = 1000*i + j, stored in chunks; chunk (1,1) missing.
    struct Grid {
        order: Order,
        calls: AtomicUsize,
    }

    impl ChunkDecoder for Grid {
        type Error = Error;
        fn decode_chunk(&self, chunk: &[u64], dst: &mut [u8]) -> Result<bool> {
            self.calls.fetch_add(1, Ordering::Relaxed);
            if chunk == [1, 1] {
                return Ok(false);
            }
            let (ci, cj) = (3u64, 4u64);
            let v: &mut [u16] = bytemuck::cast_slice_mut(dst);
            for a in 0..ci {
                for b in 0..cj {
                    let val = (1000 * (chunk[0] * ci + a) + chunk[1] * cj + b) as u16;
                    let idx = match self.order {
                        Order::C => a * cj + b,
                        Order::F => a + b * ci,
                    };
                    v[idx as usize] = val;
                }
            }
            Ok(true)
        }
    }

    fn check(order: Order, parallel: bool, region: Region) {
        let layout = ChunkedLayout {
            grid: ChunkGrid::new(vec![8, 10], vec![3, 4]).unwrap(),
            elem_size: 2,
            order,
            fill: 7u16.to_ne_bytes().to_vec(),
        };
        let dec = Grid {
            order,
            calls: AtomicUsize::new(0),
        };
        let shape = region.shape();
        let out: Vec<u16> = read_new(&layout, &region, &dec, parallel);
        for i in 0..shape[0] {
            for j in 0..shape[1] {
                let (gi, gj) = (i + region.ranges[0].start, j + region.ranges[1].start);
                let want = if gi / 3 == 1 && gj / 4 == 1 {
                    7
                } else {
                    (1000 * gi + gj) as u16
                };
                assert_eq!(out[(i * shape[1] + j) as usize], want, "({gi},{gj})");
            }
        }
        assert_eq!(
            dec.calls.load(Ordering::Relaxed),
            layout.grid.pieces(&region).unwrap().len()
        );
    }

    #[test]
    fn chunked_reads_match_reference() {
        for order in [Order::C, Order::F] {
            for parallel in [false, true] {
                check(order, parallel, Region::new(vec![0..8, 0..10]));
                check(order, parallel, Region::new(vec![2..7, 3..9]));
                check(order, parallel, Region::new(vec![3..6, 4..8]));
                check(order, parallel, Region::new(vec![7..8, 9..10]));
            }
        }
    }

    /// A 3-D array of u32 with value = 1_000_000*i + 1000*j + k in chunks of 40x70x30 (planes
    /// of 8,400 bytes: a slab of `IN_CACHE_BYTES` holds 31 of them, so a chunk is read in two
    /// slabs), every chunk but (1, 0, 1) stored as it is; that one is decoded (or absent).
    struct AsIs {
        absent: bool,
        decoded: AtomicUsize,
    }

    const AS_IS_CHUNK: [u64; 3] = [40, 70, 30];

    fn as_is_bytes(chunk: &[u64]) -> Vec<u8> {
        let [ci, cj, ck] = AS_IS_CHUNK;
        let mut v = Vec::new();
        for a in 0..ci {
            for b in 0..cj {
                for c in 0..ck {
                    let (i, j, k) = (chunk[0] * ci + a, chunk[1] * cj + b, chunk[2] * ck + c);
                    v.extend_from_slice(&((1_000_000 * i + 1000 * j + k) as u32).to_ne_bytes());
                }
            }
        }
        v
    }

    impl ChunkDecoder for AsIs {
        type Error = Error;
        fn decode_chunk(&self, chunk: &[u64], dst: &mut [u8]) -> Result<bool> {
            self.decoded.fetch_add(1, Ordering::Relaxed);
            if self.absent && chunk == [1, 0, 1] {
                return Ok(false);
            }
            dst.copy_from_slice(&as_is_bytes(chunk));
            Ok(true)
        }
        fn stored_as_is(&self, chunk: &[u64]) -> Result<Option<Box<dyn ByteSource>>> {
            if chunk == [1, 0, 1] {
                return Ok(None);
            }
            Ok(Some(Box::new(crate::MemSource::new(as_is_bytes(chunk)))))
        }
    }

    #[test]
    fn chunks_stored_as_they_are_are_read_in_slabs_into_place() {
        let layout = ChunkedLayout {
            grid: ChunkGrid::new(vec![100, 75, 61], AS_IS_CHUNK.to_vec()).unwrap(),
            elem_size: 4,
            order: Order::C,
            fill: 9u32.to_ne_bytes().to_vec(),
        };
        const { assert!(8400 * 31 <= IN_CACHE_BYTES && 8400 * 32 > IN_CACHE_BYTES) };
        for absent in [false, true] {
            for parallel in [false, true] {
                for region in [
                    Region::new(vec![0..100, 0..75, 0..61]),
                    Region::new(vec![3..97, 5..74, 29..61]),
                    Region::new(vec![41..42, 69..71, 0..61]),
                ] {
                    let dec = AsIs {
                        absent,
                        decoded: AtomicUsize::new(0),
                    };
                    let out: Vec<u32> = read_new(&layout, &region, &dec, parallel);
                    let mut at = 0;
                    for i in region.ranges[0].clone() {
                        for j in region.ranges[1].clone() {
                            for k in region.ranges[2].clone() {
                                let in_101 = i / 40 == 1 && j / 70 == 0 && k / 30 == 1;
                                let want = if absent && in_101 {
                                    9
                                } else {
                                    (1_000_000 * i + 1000 * j + k) as u32
                                };
                                assert_eq!(out[at], want, "({i},{j},{k}) {region:?}");
                                at += 1;
                            }
                        }
                    }
                    // only chunk (1, 0, 1) went through decode_chunk
                    let touches_101 = layout
                        .grid
                        .pieces(&region)
                        .unwrap()
                        .iter()
                        .any(|p| p.chunk == [1, 0, 1]);
                    assert_eq!(
                        dec.decoded.load(Ordering::Relaxed),
                        usize::from(touches_101)
                    );
                }
            }
        }
    }

    /// A group opened: its index and the chunks it was opened for.
    type Opened = (Vec<u64>, Vec<Vec<u64>>);

    /// `Grid` in groups of 2x2 chunks; records every group opened with its chunks.
    struct Grouped {
        grid: Grid,
        opened: std::sync::Mutex<Vec<Opened>>,
    }

    impl GroupedDecoder for Grouped {
        type Error = Error;
        type Group = GroupOf;
        fn group_of(&self, chunk: &[u64]) -> Vec<u64> {
            chunk.iter().map(|c| c / 2).collect()
        }
        fn open_group(&self, group: &[u64], chunks: &[&[u64]]) -> Result<GroupOf> {
            let chunks: Vec<Vec<u64>> = chunks.iter().map(|c| c.to_vec()).collect();
            self.opened
                .lock()
                .unwrap()
                .push((group.to_vec(), chunks.clone()));
            Ok(GroupOf {
                chunks,
                grid: Grid {
                    order: self.grid.order,
                    calls: AtomicUsize::new(0),
                },
            })
        }
    }

    /// One opened group: decodes only the chunks it was opened for.
    struct GroupOf {
        chunks: Vec<Vec<u64>>,
        grid: Grid,
    }

    impl ChunkDecoder for GroupOf {
        type Error = Error;
        fn decode_chunk(&self, chunk: &[u64], dst: &mut [u8]) -> Result<bool> {
            assert!(self.chunks.iter().any(|c| c == chunk), "{chunk:?}");
            self.grid.decode_chunk(chunk, dst)
        }
    }

    #[test]
    fn large_groups_are_opened_in_batches() {
        // chunks of 3x4 u16 (24 bytes), groups of 2x2 chunks, batches of 2 chunks (48 bytes)
        let layout = ChunkedLayout {
            grid: ChunkGrid::new(vec![8, 10], vec![3, 4]).unwrap(),
            elem_size: 2,
            order: Order::C,
            fill: 7u16.to_ne_bytes().to_vec(),
        };
        for parallel in [false, true] {
            let dec = Grouped {
                grid: Grid {
                    order: Order::C,
                    calls: AtomicUsize::new(0),
                },
                opened: std::sync::Mutex::new(Vec::new()),
            };
            let region = Region::new(vec![0..8, 0..10]);
            let mut out = vec![0u16; 80];
            read_grouped_in_batches(
                &layout,
                &region,
                bytemuck::cast_slice_mut(&mut out),
                &dec,
                parallel,
                48,
            )
            .unwrap();
            let want: Vec<u16> = read_new(&layout, &region, &dec.grid, false);
            assert_eq!(out, want);
            let opened = dec.opened.into_inner().unwrap();
            assert!(opened.iter().all(|o| o.1.len() <= 2), "{opened:?}");
            // 9 chunks in groups of 4, 2, 2, 1: batches 2+2, 2, 2, 1
            assert_eq!(opened.len(), 5, "{opened:?}");
            let n: usize = opened.iter().map(|o| o.1.len()).sum();
            assert_eq!(n, 9);
        }
    }

    #[test]
    fn grouped_reads_open_each_group_once() {
        for parallel in [false, true] {
            for region in [vec![0..8, 0..10], vec![2..7, 3..9], vec![7..8, 9..10]] {
                let region = Region::new(region);
                let layout = ChunkedLayout {
                    grid: ChunkGrid::new(vec![8, 10], vec![3, 4]).unwrap(),
                    elem_size: 2,
                    order: Order::C,
                    fill: 7u16.to_ne_bytes().to_vec(),
                };
                let dec = Grouped {
                    grid: Grid {
                        order: Order::C,
                        calls: AtomicUsize::new(0),
                    },
                    opened: std::sync::Mutex::new(Vec::new()),
                };
                let shape = region.shape();
                let mut out = vec![0u16; (shape[0] * shape[1]) as usize];
                read_chunked_grouped(
                    &layout,
                    &region,
                    bytemuck::cast_slice_mut(&mut out),
                    &dec,
                    parallel,
                )
                .unwrap();
                let want: Vec<u16> = read_new(&layout, &region, &dec.grid, false);
                assert_eq!(out, want);
                let mut opened = dec.opened.into_inner().unwrap();
                opened.sort();
                let mut groups: Vec<Vec<u64>> = opened.iter().map(|o| o.0.clone()).collect();
                groups.dedup();
                assert_eq!(groups.len(), opened.len(), "a group opened twice");
                let mut chunks: Vec<Vec<u64>> = opened.into_iter().flat_map(|o| o.1).collect();
                chunks.sort();
                let mut all: Vec<Vec<u64>> = layout
                    .grid
                    .pieces(&region)
                    .unwrap()
                    .into_iter()
                    .map(|p| p.chunk)
                    .collect();
                all.sort();
                assert_eq!(chunks, all);
            }
        }
    }

    #[test]
    fn wrong_output_size_is_an_error() {
        let layout = ChunkedLayout {
            grid: ChunkGrid::new(vec![8, 10], vec![3, 4]).unwrap(),
            elem_size: 2,
            order: Order::C,
            fill: vec![],
        };
        let dec = Grid {
            order: Order::C,
            calls: AtomicUsize::new(0),
        };
        let mut out = vec![0u8; 3];
        for region in [vec![0..1, 0..2], vec![0..9, 0..2]] {
            let r = read_chunked(&layout, &Region::new(region), &mut out, &dec, false);
            assert!(r.is_err());
        }
    }

    #[test]
    fn contiguity() {
        let shape = [4u64, 5, 6];
        assert_eq!(
            contiguous_offset(&shape, &Region::new(vec![1..3, 0..5, 0..6]), 1),
            Some(30)
        );
        assert_eq!(
            contiguous_offset(&shape, &Region::new(vec![1..2, 2..4, 0..6]), 1),
            Some(42)
        );
        assert_eq!(
            contiguous_offset(&shape, &Region::new(vec![1..2, 2..3, 1..4]), 1),
            Some(43)
        );
        assert_eq!(
            contiguous_offset(&shape, &Region::new(vec![1..3, 2..4, 0..6]), 1),
            None
        );
    }
}
