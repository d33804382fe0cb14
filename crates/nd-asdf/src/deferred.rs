//! Out-of-core writing of several arrays into one ASDF file.
//!
//! Arrays are declared up front on an [`AsdfWriter`] ([`AsdfWriter::add_array_deferred`] for an
//! uncompressed array in a preallocated block, [`AsdfWriter::add_zarr_deferred`] for a chunked,
//! compressed asdf-zarr array), then [`AsdfWriter::write_deferred`] creates the temporary file:
//! header, tree, the writer's in-memory blocks, then one block per declared array with its data
//! area preallocated (the `chunk_block_map` block of a Zarr array too). Each array gets a handle
//! ([`DeferredFile::array`]) implementing [`nd_core::ArrayWrite`]: positional writes, safe to use
//! from several threads at once. Zarr chunks are encoded as they are written and appended as new
//! blocks (in whatever order they come: the `chunk_block_map` maps them). [`DeferredFile::finish`]
//! computes the MD5 checksums (streamed, 8 MiB at a time), writes the maps and the block index and
//! renames the file into place.
//!
//! File layout: `tree | in-memory blocks | declared blocks (preallocated) | appended chunk blocks | index`.

use crate::blocks::md5;
use crate::encode::{
    byteorder, datatype_node, insert_path, int_seq, write_block_header, write_index,
    NDARRAY_TAG_WRITE,
};
use crate::error::{Error, Result};
use crate::write::{io_err, temp_beside, AsdfWriter, Declared, DeclaredKind};
use crate::yaml::{Node, Value};
use crate::zarr::{fill_bytes, zarr_node};
use md5::Digest;
use nd_codecs::zarr_v2::ArrayMetadataV2;
use nd_codecs::Pipeline;
use nd_core::io::region_runs;
use nd_core::io::{read_exact_at, write_all_at};
use nd_core::{ArrayRead, ChunkDecoder, ChunkGrid, ChunkedLayout, DataType, Endian, Region};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// Bytes of a block header as written (magic, size, 48 header bytes).
const HEADER_LEN: u64 = 54;
/// Offset of the checksum inside a written block header.
const CHECKSUM_AT: u64 = 6 + 32;

/// Identifies an array declared with [`AsdfWriter::add_array_deferred`] or
/// [`AsdfWriter::add_zarr_deferred`]; pass it to [`DeferredFile::array`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArrayHandleId(usize);

fn raw_node(dtype: &DataType, shape: &[u64], block: usize) -> Result<Node> {
    let m = vec![
        (Node::str("source"), Node::new(Value::int(block as i128))),
        (Node::str("datatype"), datatype_node(dtype, Endian::NATIVE)?),
        (Node::str("byteorder"), Node::str(byteorder(Endian::NATIVE))),
        (Node::str("shape"), int_seq(shape)),
    ];
    Ok(Node::tagged(NDARRAY_TAG_WRITE, Value::Map(m.into())))
}

impl AsdfWriter {
    /// Declare an uncompressed array (native byte order) at a tree path whose values are written
    /// later, out of core, through the handle of [`AsdfWriter::write_deferred`].
    pub fn add_array_deferred(
        &mut self,
        path: &str,
        dtype: &DataType,
        shape: &[u64],
    ) -> Result<ArrayHandleId> {
        let dtype = dtype.to_native();
        nd_core::num_bytes(shape, dtype.size())?;
        // the node takes its place in the tree now; its block number is set when writing
        self.set(path, raw_node(&dtype, shape, 0)?)?;
        self.deferred.push(Declared {
            path: path.to_string(),
            kind: DeclaredKind::Raw {
                dtype,
                shape: shape.to_vec(),
            },
        });
        Ok(ArrayHandleId(self.deferred.len() - 1))
    }

    /// Declare a chunked asdf-zarr array (Zarr v2 chunks of `chunks`, numcodecs `compressor`
    /// config or `null`, optional fill value) whose chunks are encoded and appended as they are
    /// written through the handle of [`AsdfWriter::write_deferred`]. Chunks never written, or
    /// written as all fill value, are not stored (map entry -1), like zarr-python.
    pub fn add_zarr_deferred(
        &mut self,
        path: &str,
        dtype: &DataType,
        shape: &[u64],
        chunks: &[u64],
        compressor: &serde_json::Value,
        fill_value: Option<f64>,
    ) -> Result<ArrayHandleId> {
        let dtype = dtype.to_native();
        let mut meta = ArrayMetadataV2::new(shape.to_vec(), chunks.to_vec(), dtype.clone())
            .map_err(|e| Error::node(path, e.to_string()))?;
        meta.compressor = compressor.clone();
        if let Some(f) = fill_value {
            meta.fill_value = Some(
                fill_bytes(&dtype, f)
                    .ok_or_else(|| Error::node(path, "fill value needs a numeric type"))?,
            );
        }
        meta.pipeline()
            .map_err(|e| Error::node(path, format!("zarr codecs: {e}")))?;
        if meta.order != nd_core::Order::C {
            return Err(Error::node(path, "only C-order chunks are written"));
        }
        let grid = ChunkGrid::new(shape.to_vec(), chunks.to_vec())?;
        let n = grid.num_chunks();
        if n > i32::MAX as u64 / 2 {
            return Err(Error::node(path, format!("{n} chunks is too many")));
        }
        self.set(path, zarr_node(&meta, 0))?;
        self.deferred.push(Declared {
            path: path.to_string(),
            kind: DeclaredKind::Zarr {
                meta: Box::new(meta),
            },
        });
        Ok(ArrayHandleId(self.deferred.len() - 1))
    }

    /// Create the temporary file beside `dest` with the tree, the in-memory blocks and a
    /// preallocated block for every declared array; the values are then written through
    /// [`DeferredFile::array`] and [`DeferredFile::finish`] puts the file in place.
    pub fn write_deferred(&self, dest: impl AsRef<Path>) -> Result<DeferredFile> {
        if self.stream.is_some() {
            return Err(Error::node(
                "",
                "a streamed array cannot be combined with deferred arrays",
            ));
        }
        let first_declared = self.blocks.len();
        let mut tree = self.tree.clone();
        for (j, d) in self.deferred.iter().enumerate() {
            let node = match &d.kind {
                DeclaredKind::Raw { dtype, shape } => raw_node(dtype, shape, first_declared + j)?,
                DeclaredKind::Zarr { meta } => zarr_node(meta, first_declared + j),
            };
            insert_path(&mut tree, &d.path, node)?;
        }
        let mut head = AsdfWriter::head(&tree);
        let mut offsets = self.append_blocks(&mut head)?;
        let mut pos = head.len() as u64;
        let mut arrays = Vec::new();
        let mut fixed = Vec::new(); // (header_at, data_len) of each declared block
        for d in &self.deferred {
            let data_len = match &d.kind {
                DeclaredKind::Raw { dtype, shape } => {
                    nd_core::num_bytes(shape, dtype.size())? as u64
                }
                DeclaredKind::Zarr { meta } => {
                    ChunkGrid::new(meta.shape.clone(), meta.chunks.clone())?.num_chunks() * 4
                }
            };
            offsets.push(pos);
            fixed.push((pos, data_len));
            pos = pos
                .checked_add(HEADER_LEN + data_len)
                .ok_or_else(|| Error::node(&d.path, "file size overflows"))?;
        }
        let (temp, file) = temp_beside(dest.as_ref())?;
        let shared = Arc::new(Shared {
            file,
            temp,
            dest: dest.as_ref().to_path_buf(),
            state: RwLock::new(State::Open),
            append: Mutex::new(Appended {
                next_block: offsets.len(),
                end: pos,
                blocks: Vec::new(),
            }),
            first_appended: offsets.len(),
            fixed_offsets: offsets,
            failed: AtomicBool::new(false),
            checksums: self.checksums,
            block_index: self.block_index,
            live: AtomicU64::new(0),
            peak: AtomicU64::new(0),
        });
        let f = &shared.file;
        write_all_at(f, &head, 0).map_err(|e| io_err(shared.temp.path(), e))?;
        for (d, &(at, data_len)) in self.deferred.iter().zip(&fixed) {
            let mut h = Vec::with_capacity(HEADER_LEN as usize);
            write_block_header(&mut h, 0, [0; 4], data_len, data_len, data_len, [0; 16]);
            write_all_at(f, &h, at).map_err(|e| io_err(shared.temp.path(), e))?;
            let data_at = at + HEADER_LEN;
            let kind = match &d.kind {
                DeclaredKind::Raw { dtype, shape } => Kind::Raw {
                    dtype: dtype.clone(),
                    shape: shape.clone(),
                    header_at: at,
                    data_at,
                    data_len,
                },
                DeclaredKind::Zarr { meta } => {
                    let grid = ChunkGrid::new(meta.shape.clone(), meta.chunks.clone())?;
                    let n = grid.num_chunks() as usize;
                    let pipeline = meta
                        .pipeline()
                        .map_err(|e| Error::node(&d.path, format!("zarr codecs: {e}")))?;
                    Kind::Zarr(Box::new(ZarrOut {
                        layout: ChunkedLayout {
                            grid,
                            elem_size: meta.dtype.size(),
                            order: nd_core::Order::C,
                            fill: meta.fill_value.clone().unwrap_or_default(),
                        },
                        meta: (**meta).clone(),
                        pipeline,
                        map: Mutex::new(vec![-1; n]),
                        header_at: at,
                        data_at,
                    }))
                }
            };
            arrays.push(Arc::new(DeferredArray {
                shared: shared.clone(),
                path: d.path.clone(),
                kind,
            }));
        }
        f.set_len(shared.append_end()?)
            .map_err(|e| io_err(shared.temp.path(), e))?;
        Ok(DeferredFile { shared, arrays })
    }
}

#[derive(Debug, PartialEq, Eq)]
enum State {
    Open,
    Finished,
}

#[derive(Debug)]
struct Appended {
    next_block: usize,
    end: u64,
    /// (data offset, stored length) of each appended block, in block order.
    blocks: Vec<(u64, u64)>,
}

#[derive(Debug)]
struct Shared {
    file: std::fs::File,
    /// The file under its temporary name: removed unless finished.
    temp: nd_core::io::TempFile,
    dest: PathBuf,
    state: RwLock<State>,
    append: Mutex<Appended>,
    fixed_offsets: Vec<u64>,
    first_appended: usize,
    failed: AtomicBool,
    checksums: bool,
    block_index: bool,
    live: AtomicU64,
    peak: AtomicU64,
}

fn poisoned() -> nd_core::Error {
    nd_core::Error::Unsupported("a writer thread panicked".into())
}

impl Shared {
    fn ioe(&self, e: std::io::Error) -> nd_core::Error {
        nd_core::Error::io(self.temp.path().display().to_string(), e)
    }

    fn append_end(&self) -> nd_core::Result<u64> {
        Ok(self.append.lock().map_err(|_| poisoned())?.end)
    }

    /// Append one block (header + stored bytes); its block number.
    fn append_block(&self, stored: &[u8]) -> nd_core::Result<usize> {
        let len = stored.len() as u64;
        let (block, at) = {
            let mut a = self.append.lock().map_err(|_| poisoned())?;
            let block = a.next_block;
            let at = a.end;
            a.next_block += 1;
            a.end += HEADER_LEN + len;
            a.blocks.push((at + HEADER_LEN, len));
            (block, at)
        };
        let sum = if self.checksums { md5(stored) } else { [0; 16] };
        let mut h = Vec::with_capacity(HEADER_LEN as usize);
        write_block_header(&mut h, 0, [0; 4], len, len, len, sum);
        let r = write_all_at(&self.file, &h, at)
            .and_then(|_| write_all_at(&self.file, stored, at + HEADER_LEN));
        if let Err(e) = r {
            // a reserved block without its bytes: the file cannot be finished
            self.failed.store(true, Ordering::SeqCst);
            return Err(self.ioe(e));
        }
        Ok(block)
    }

    fn appended(&self, block: usize) -> nd_core::Result<(u64, u64)> {
        let a = self.append.lock().map_err(|_| poisoned())?;
        block
            .checked_sub(self.first_appended)
            .and_then(|i| a.blocks.get(i).copied())
            .ok_or_else(|| nd_core::Error::Unsupported(format!("no appended block {block}")))
    }

    fn hold(&self, n: u64) -> Held<'_> {
        let now = self.live.fetch_add(n, Ordering::SeqCst) + n;
        self.peak.fetch_max(now, Ordering::SeqCst);
        Held(self, n)
    }

    /// MD5 of `len` bytes at `at`, read back 8 MiB at a time.
    fn md5_of(&self, at: u64, len: u64) -> nd_core::Result<[u8; 16]> {
        let mut h = md5::Md5::new();
        let mut buf = vec![0u8; (len.min(8 << 20)) as usize];
        let _held = self.hold(buf.len() as u64);
        let mut off = 0u64;
        while off < len {
            let n = (len - off).min(buf.len() as u64) as usize;
            let piece = &mut buf[..n]; // ok: n <= buf.len()
            read_exact_at(&self.file, piece, at + off).map_err(|e| self.ioe(e))?;
            h.update(&*piece);
            off += n as u64;
        }
        Ok(h.finalize().into())
    }
}

/// Counts buffer bytes the writer holds while they are alive.
struct Held<'a>(&'a Shared, u64);

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.0.live.fetch_sub(self.1, Ordering::SeqCst);
    }
}

/// A file being written out of core: one handle per declared array, then [`DeferredFile::finish`].
/// Dropping it without finishing removes the temporary file.
#[derive(Debug)]
pub struct DeferredFile {
    shared: Arc<Shared>,
    arrays: Vec<Arc<DeferredArray>>,
}

impl DeferredFile {
    /// The write handle of a declared array (cheap to clone, usable from several threads).
    pub fn array(&self, id: ArrayHandleId) -> Result<Arc<DeferredArray>> {
        self.arrays
            .get(id.0)
            .cloned()
            .ok_or_else(|| Error::node("", format!("no deferred array {}", id.0)))
    }

    /// The most bytes of chunk and checksum buffers the writer held at once so far (a Zarr
    /// write holds one decoded and one encoded chunk per chunk in flight).
    pub fn peak_buffered_bytes(&self) -> u64 {
        self.shared.peak.load(Ordering::SeqCst)
    }

    /// Compute the checksums, write the chunk maps and the block index, and rename the file into
    /// place. Waits for writes in flight; later writes through the handles fail.
    pub fn finish(self) -> Result<()> {
        finish_shared(&self.shared, &self.arrays)?;
        Ok(())
    }
}

fn finish_shared(sh: &Shared, arrays: &[Arc<DeferredArray>]) -> nd_core::Result<()> {
    let mut state = sh.state.write().map_err(|_| poisoned())?;
    if *state == State::Finished {
        return Ok(());
    }
    if sh.failed.load(Ordering::SeqCst) {
        return Err(nd_core::Error::Unsupported(
            "an earlier write failed; the file is incomplete".into(),
        ));
    }
    for a in arrays {
        let (header_at, data_at, len) = match &a.kind {
            Kind::Raw {
                header_at,
                data_at,
                data_len,
                ..
            } => (*header_at, *data_at, *data_len),
            Kind::Zarr(z) => {
                let map = z.map.lock().map_err(|_| poisoned())?;
                let bytes: Vec<u8> = map.iter().flat_map(|v| v.to_le_bytes()).collect();
                write_all_at(&sh.file, &bytes, z.data_at).map_err(|e| sh.ioe(e))?;
                (z.header_at, z.data_at, bytes.len() as u64)
            }
        };
        if sh.checksums {
            let sum = sh.md5_of(data_at, len)?;
            write_all_at(&sh.file, &sum, header_at + CHECKSUM_AT).map_err(|e| sh.ioe(e))?;
        }
    }
    let (end, mut offsets) = {
        let a = sh.append.lock().map_err(|_| poisoned())?;
        let appended: Vec<u64> = a.blocks.iter().map(|&(d, _)| d - HEADER_LEN).collect();
        (a.end, appended)
    };
    let mut all = sh.fixed_offsets.clone();
    all.append(&mut offsets);
    let mut idx = Vec::new();
    if sh.block_index && !all.is_empty() {
        write_index(&mut idx, &all);
    }
    sh.file.set_len(end).map_err(|e| sh.ioe(e))?;
    write_all_at(&sh.file, &idx, end).map_err(|e| sh.ioe(e))?;
    sh.temp.persist()?;
    *state = State::Finished;
    Ok(())
}

struct ZarrOut {
    meta: ArrayMetadataV2,
    pipeline: Pipeline,
    layout: ChunkedLayout,
    /// Block number of each chunk (C order over the grid), -1 for none.
    map: Mutex<Vec<i32>>,
    header_at: u64,
    data_at: u64,
}

enum Kind {
    Raw {
        dtype: DataType,
        shape: Vec<u64>,
        header_at: u64,
        data_at: u64,
        data_len: u64,
    },
    Zarr(Box<ZarrOut>),
}

/// The write handle of one declared array ([`nd_core::ArrayWrite`]). Its `finish` does nothing:
/// the file is finished by [`DeferredFile::finish`] (or, for [`crate::AsdfArrayWriter`], by its own
/// `finish`). Reads return what was written so far.
pub struct DeferredArray {
    shared: Arc<Shared>,
    path: String,
    kind: Kind,
}

impl std::fmt::Debug for DeferredArray {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "DeferredArray({:?} in {})",
            self.path,
            self.shared.dest.display()
        )
    }
}

impl DeferredArray {
    /// The tree path of the array.
    pub fn path(&self) -> &str {
        &self.path
    }

    fn check_open<'a>(
        &'a self,
        guard: &'a std::sync::RwLockReadGuard<'a, State>,
    ) -> nd_core::Result<()> {
        if **guard == State::Finished {
            return Err(nd_core::Error::Unsupported(format!(
                "{}: the file is finished",
                self.shared.dest.display()
            )));
        }
        Ok(())
    }

    fn write_zarr(&self, z: &ZarrOut, region: &Region, data: &[u8]) -> nd_core::Result<()> {
        let chunks = &z.meta.chunks;
        let shape = &z.meta.shape;
        for (ax, r) in region.ranges.iter().enumerate() {
            let (c, s) = (chunks[ax], shape[ax]); // ok: region checked against the shape
            if r.start % c != 0 || (r.end % c != 0 && r.end != s) {
                return Err(nd_core::Error::Shape(format!(
                    "{}: region {} is not aligned to the chunks {chunks_s}",
                    self.path,
                    nd_core::fmt_shape(
                        region
                            .ranges
                            .iter()
                            .map(|r| format!("{}:{}", r.start, r.end))
                    ),
                    chunks_s = nd_core::fmt_shape(chunks.iter())
                )));
            }
        }
        let elem = z.layout.elem_size;
        let chunk_bytes = z.meta.chunk_bytes();
        let rshape = region.shape();
        for piece in z.layout.grid.pieces(region)? {
            let _held = self.shared.hold(chunk_bytes as u64);
            let mut buf = vec![0u8; chunk_bytes];
            nd_core::array::fill_slice(&mut buf, &z.layout.fill);
            nd_core::shape::copy_region(
                data,
                &rshape,
                nd_core::Order::C,
                &piece.in_out,
                &mut buf,
                chunks,
                &piece.in_chunk.start(),
                elem,
            )?;
            let block = if z.meta.is_fill_chunk(&buf) {
                -1
            } else {
                let enc = z
                    .meta
                    .encode_chunk(&z.pipeline, &buf)
                    .map_err(|e| nd_core::Error::Unsupported(format!("{}: {e}", self.path)))?;
                drop(buf);
                let _held_enc = self.shared.hold(enc.len() as u64);
                let b = self.shared.append_block(&enc)?;
                i32::try_from(b).map_err(|_| {
                    nd_core::Error::Unsupported(format!("{}: block {b} is too many", self.path))
                })?
            };
            let lin = z.layout.grid.linear_index(&piece.chunk);
            let mut map = z.map.lock().map_err(|_| poisoned())?;
            if let Some(slot) = map.get_mut(lin as usize) {
                *slot = block;
            }
        }
        Ok(())
    }
}

struct ReadBack<'a>(&'a DeferredArray, &'a ZarrOut);

impl ChunkDecoder for ReadBack<'_> {
    type Error = nd_core::Error;
    fn decode_chunk(&self, chunk: &[u64], dst: &mut [u8]) -> nd_core::Result<bool> {
        let (a, z) = (self.0, self.1);
        let lin = z.layout.grid.linear_index(chunk);
        let b = {
            let map = z.map.lock().map_err(|_| poisoned())?;
            map.get(lin as usize).copied().unwrap_or(-1)
        };
        if b < 0 {
            return Ok(false);
        }
        let (at, len) = a.shared.appended(b as usize)?;
        let mut stored = vec![0u8; len as usize];
        read_exact_at(&a.shared.file, &mut stored, at).map_err(|e| a.shared.ioe(e))?;
        z.meta
            .decode_chunk_into(&z.pipeline, &stored, dst)
            .map_err(|e| nd_core::Error::Unsupported(format!("{}: {e}", a.path)))?;
        Ok(true)
    }
}

impl ArrayRead for DeferredArray {
    fn shape(&self) -> &[u64] {
        match &self.kind {
            Kind::Raw { shape, .. } => shape,
            Kind::Zarr(z) => &z.meta.shape,
        }
    }
    fn dtype(&self) -> &DataType {
        match &self.kind {
            Kind::Raw { dtype, .. } => dtype,
            Kind::Zarr(z) => &z.meta.dtype,
        }
    }
    fn chunk_shape(&self) -> Vec<u64> {
        match &self.kind {
            Kind::Raw { shape, dtype, .. } => {
                // slabs of whole rows, about 8 MiB
                let mut c = shape.clone();
                if let Some(f) = c.first_mut() {
                    let row: u64 = shape[1..].iter().product::<u64>().max(1) * dtype.size() as u64;
                    *f = ((8u64 << 20) / row.max(1)).clamp(1, (*f).max(1));
                }
                c
            }
            Kind::Zarr(z) => z.meta.chunks.clone(),
        }
    }
    fn read_region_into(&self, region: &Region, out: &mut [u8]) -> nd_core::Result<()> {
        region.check_within(self.shape())?;
        nd_core::array::check_out_len(region, self.dtype(), out)?;
        match &self.kind {
            Kind::Raw {
                dtype,
                shape,
                data_at,
                ..
            } => {
                let elem = dtype.size() as u64;
                let mut pos = 0usize;
                region_runs(shape, nd_core::Order::C, region, |first, n| {
                    let (off, len) = (first * elem, (n * elem) as usize);
                    let dst = out
                        .get_mut(pos..pos + len)
                        .ok_or_else(|| nd_core::Error::Shape("output too small".into()))?;
                    read_exact_at(&self.shared.file, dst, data_at + off)
                        .map_err(|e| self.shared.ioe(e))?;
                    pos += len;
                    Ok::<(), nd_core::Error>(())
                })
            }
            Kind::Zarr(z) => {
                nd_core::read_chunked(&z.layout, region, out, &ReadBack(self, z), false)
            }
        }
    }
}

impl nd_core::ArrayWrite for DeferredArray {
    fn write_region(&self, region: &Region, data: &[u8]) -> nd_core::Result<()> {
        let guard = self.shared.state.read().map_err(|_| poisoned())?;
        self.check_open(&guard)?;
        region.check_within(self.shape())?;
        nd_core::array::check_out_len(region, self.dtype(), data)?;
        match &self.kind {
            Kind::Raw {
                dtype,
                shape,
                data_at,
                ..
            } => {
                let elem = dtype.size() as u64;
                let mut pos = 0usize;
                region_runs(shape, nd_core::Order::C, region, |first, n| {
                    let (off, len) = (first * elem, (n * elem) as usize);
                    let src = data
                        .get(pos..pos + len)
                        .ok_or_else(|| nd_core::Error::Shape("input too small".into()))?;
                    write_all_at(&self.shared.file, src, data_at + off)
                        .map_err(|e| self.shared.ioe(e))?;
                    pos += len;
                    Ok::<(), nd_core::Error>(())
                })
            }
            Kind::Zarr(z) => self.write_zarr(z, region, data),
        }
    }

    /// Nothing: the file is finished by [`DeferredFile::finish`].
    fn finish(&self) -> nd_core::Result<()> {
        Ok(())
    }
}

/// Writes one big uncompressed array block by block (out of core): the single-array case of
/// [`AsdfWriter::write_deferred`]. The file (tree, block header, preallocated block) is created as
/// a temporary file, regions are written with positional writes, and
/// [`ArrayWrite::finish`](nd_core::ArrayWrite::finish) writes the checksum and index and renames.
pub struct AsdfArrayWriter {
    file: DeferredFile,
    array: Arc<DeferredArray>,
}

impl std::fmt::Debug for AsdfArrayWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AsdfArrayWriter({})", self.file.shared.dest.display())
    }
}

impl AsdfArrayWriter {
    /// Create `path` with the tree of `writer` plus one array at `array_path` of `dtype` and `shape`
    /// (native byte order) whose block is the file's last block.
    pub fn create(
        path: impl AsRef<Path>,
        mut writer: AsdfWriter,
        array_path: &str,
        dtype: &DataType,
        shape: &[u64],
    ) -> Result<AsdfArrayWriter> {
        let id = writer.add_array_deferred(array_path, dtype, shape)?;
        let file = writer.write_deferred(path)?;
        let array = file.array(id)?;
        Ok(AsdfArrayWriter { file, array })
    }
}

impl ArrayRead for AsdfArrayWriter {
    fn shape(&self) -> &[u64] {
        self.array.shape()
    }
    fn dtype(&self) -> &DataType {
        self.array.dtype()
    }
    fn chunk_shape(&self) -> Vec<u64> {
        self.array.chunk_shape()
    }
    fn read_region_into(&self, region: &Region, out: &mut [u8]) -> nd_core::Result<()> {
        self.array.read_region_into(region, out)
    }
}

impl nd_core::ArrayWrite for AsdfArrayWriter {
    fn write_region(&self, region: &Region, data: &[u8]) -> nd_core::Result<()> {
        self.array.write_region(region, data)
    }

    fn finish(&self) -> nd_core::Result<()> {
        finish_shared(&self.file.shared, &self.file.arrays)
    }
}
