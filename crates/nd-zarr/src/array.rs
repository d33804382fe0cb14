//! A Zarr v2 array in a store: open, read regions, create, write regions.

use crate::error::{codec_err, meta_err, store_err, Error, Result};
use crate::node::{get_json, join, norm_path, prepare_node, set_json};
use nd_codecs::zarr_v2::ArrayMetadataV2;
use nd_codecs::Pipeline;
use nd_core::shape::{copy_strided, Strided};
use nd_core::{
    num_bytes, ArrayRead, ArrayWrite, AttrValue, Attributes, ByteSource, ChunkDecoder, ChunkGrid,
    ChunkedLayout, DataType, Order, Region, Store,
};
use rayon::prelude::*;
use serde_json::{Map, Value};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

const SEP_UNKNOWN: u8 = 0;

/// A Zarr v2 array: its metadata, attributes and codec pipeline, over a store.
///
/// Reads decode the chunks a region touches in parallel, straight into the caller's buffer;
/// missing chunks read as the fill value (zeros when it is null). Writes encode whole chunks,
/// read-modify-write partial ones, and delete chunks that hold only the fill value.
#[derive(Debug)]
pub struct ZarrArray {
    store: Arc<dyn Store>,
    path: String,
    meta: ArrayMetadataV2,
    pipeline: Pipeline,
    attrs: Map<String, Value>,
    layout: ChunkedLayout,
    native: DataType,
    /// Separator of chunk keys: b'.' or b'/', or 0 while unknown (legacy arrays without the key).
    sep: AtomicU8,
    parallel: bool,
    /// True when chunks are stored as native bytes (no codec, no byte swap).
    raw: bool,
}

impl ZarrArray {
    /// Open the array at `path` (`""` for the store root): reads `.zarray` and `.zattrs`.
    pub fn open(store: Arc<dyn Store>, path: &str) -> Result<ZarrArray> {
        let path = norm_path(path);
        let key = join(&path, ".zarray");
        let v = get_json(store.as_ref(), &key)?.ok_or_else(|| Error::NotFound {
            what: "array",
            path: path.clone(),
        })?;
        let meta = ArrayMetadataV2::from_json(&v).map_err(meta_err(&key))?;
        let akey = join(&path, ".zattrs");
        let attrs = match get_json(store.as_ref(), &akey)? {
            None => Map::new(),
            Some(Value::Object(m)) => m,
            Some(_) => {
                return Err(Error::Metadata {
                    key: akey,
                    source: nd_codecs::zarr_v2::MetadataError::Json("not an object".into()),
                })
            }
        };
        Self::from_parts(store, &path, meta, attrs)
    }

    /// An array handle from metadata already read (from `.zmetadata`, or just created).
    pub fn from_parts(
        store: Arc<dyn Store>,
        path: &str,
        meta: ArrayMetadataV2,
        attrs: Map<String, Value>,
    ) -> Result<ZarrArray> {
        let path = norm_path(path);
        let key = join(&path, ".zarray");
        meta.validate().map_err(meta_err(&key))?;
        let pipeline = meta.pipeline().map_err(codec_err(&key))?;
        let grid = ChunkGrid::new(meta.shape.clone(), meta.chunks.clone())?;
        let layout = ChunkedLayout {
            grid,
            elem_size: meta.dtype.size(),
            order: meta.order,
            fill: meta.fill_value.clone().unwrap_or_default(),
        };
        let sep = match meta.dimension_separator {
            Some(c) => c as u8,
            None if meta.shape.len() <= 1 => b'.',
            None => SEP_UNKNOWN,
        };
        let raw = pipeline.filters.is_empty()
            && pipeline.compressor.is_none()
            && meta.dtype.to_native() == meta.dtype
            && !meta.dtype.swaps_from(meta.endian);
        Ok(ZarrArray {
            raw,
            store,
            path,
            native: meta.dtype.to_native(),
            meta,
            pipeline,
            attrs,
            layout,
            sep: AtomicU8::new(sep),
            parallel: true,
        })
    }

    /// Create (or replace) an array at `path`: removes what was there, writes `.zgroup` into
    /// every ancestor that is not yet a group, and writes `.zarray`.
    pub fn create(store: Arc<dyn Store>, path: &str, meta: ArrayMetadataV2) -> Result<ZarrArray> {
        let path = norm_path(path);
        prepare_node(store.as_ref(), &path)?;
        let arr = Self::from_parts(store, &path, meta, Map::new())?;
        let key = join(&path, ".zarray");
        arr.store
            .set(&key, &arr.meta.to_json_bytes())
            .map_err(store_err(&key))?;
        Ok(arr)
    }

    /// Decode chunks on one thread only (for callers that parallelise themselves).
    pub fn set_parallel(&mut self, parallel: bool) {
        self.parallel = parallel;
    }

    /// The array's metadata.
    pub fn metadata(&self) -> &ArrayMetadataV2 {
        &self.meta
    }

    /// The array's attributes (`.zattrs`), as JSON. Bare `NaN`/`Infinity` read as the strings `"NaN"`/`"Infinity"`.
    pub fn attributes(&self) -> &Map<String, Value> {
        &self.attrs
    }

    /// Replace the attributes and write `.zattrs`.
    pub fn set_attributes(&mut self, attrs: Map<String, Value>) -> Result<()> {
        set_json(
            self.store.as_ref(),
            &join(&self.path, ".zattrs"),
            &Value::Object(attrs.clone()),
        )?;
        self.attrs = attrs;
        Ok(())
    }

    /// The path of the array in its store (`""` for the root).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The store key of a chunk (grid index), with the separator in use.
    pub fn chunk_key(&self, chunk: &[u64]) -> String {
        let sep = match self.sep.load(Ordering::Relaxed) {
            b'/' => '/',
            _ => '.',
        };
        join(&self.path, &self.meta.chunk_key(chunk, sep))
    }

    /// The stored bytes of a chunk and its key, `None` when the chunk is absent.
    pub fn get_chunk(&self, chunk: &[u64]) -> Result<Option<(String, bytes::Bytes)>> {
        self.find_chunk(chunk, |key| self.store.get(key))
    }

    /// Chunk `chunk` looked up under the keys its array may use: `fetch(key)` gives what the
    /// store holds there (`None`: absent). A legacy array without `dimension_separator` has
    /// flat `.` keys or nested `/` keys: both are tried, and the one found is kept for the
    /// chunks after. Returns the key found and what `fetch` gave for it.
    fn find_chunk<T>(
        &self,
        chunk: &[u64],
        mut fetch: impl FnMut(&str) -> nd_core::Result<Option<T>>,
    ) -> Result<Option<(String, T)>> {
        let seps: &[u8] = match self.sep.load(Ordering::Relaxed) {
            SEP_UNKNOWN => b"./",
            b'/' => b"/",
            _ => b".",
        };
        for &sep in seps {
            let key = join(&self.path, &self.meta.chunk_key(chunk, sep as char));
            if let Some(found) = fetch(&key).map_err(store_err(&key))? {
                if seps.len() > 1 {
                    self.sep.store(sep, Ordering::Relaxed);
                }
                return Ok(Some((key, found)));
            }
        }
        Ok(None)
    }

    /// Decode chunk `chunk` into `out` (one full chunk, native-endian, in the array's order).
    /// Returns false (and leaves `out` alone) when the chunk is absent. A chunk stored as it is
    /// (no codec, native byte order) is read straight into `out`; other stored bytes go through
    /// a per-thread buffer reused from chunk to chunk, or are decoded where the store has them
    /// ([`nd_core::Store::get_reusing`]: a map of a large file, a remote store's response).
    pub fn decode_chunk_into(&self, chunk: &[u64], out: &mut [u8]) -> Result<bool> {
        if self.raw && out.len() == self.meta.chunk_bytes() {
            match self.find_chunk(chunk, |key| self.store.get_sized_into(key, out))? {
                None => return Ok(false),
                Some((_, len)) if len == out.len() as u64 => return Ok(true),
                // not a chunk's size: the codec path below says what is wrong with it
                Some(_) => {}
            }
        }
        nd_core::scratch::with_scratch(|stored: &mut StoredChunk| {
            let found = self.find_chunk(chunk, |key| self.store.get_reusing(key, &mut stored.0))?;
            let Some((key, fetched)) = found else {
                return Ok(false);
            };
            self.meta
                .decode_chunk_into(&self.pipeline, fetched.bytes(&stored.0), out)
                .map_err(codec_err(&key))?;
            Ok(true)
        })
    }

    /// Read `region` into `out` (native-endian, C order, exactly the region's size).
    pub fn read_into(&self, region: &Region, out: &mut [u8]) -> Result<()> {
        region.check_within(&self.meta.shape)?;
        nd_core::read_chunked(&self.layout, region, out, self, self.parallel)
    }

    /// Write `data` (native-endian, C order, exactly the region's size) into `region`.
    pub fn write(&self, region: &Region, data: &[u8]) -> Result<()> {
        region.check_within(&self.meta.shape)?;
        let elem = self.meta.dtype.size();
        let rshape = region.shape();
        let want = num_bytes(&rshape, elem)?;
        if data.len() != want {
            return Err(Error::Core(nd_core::Error::Shape(format!(
                "write of region {rshape_s} needs {want} bytes, got {}",
                data.len(),
                rshape_s = nd_core::fmt_shape(rshape.iter())
            ))));
        }
        let pieces = self.layout.grid.pieces(region)?;
        let work = |p: &nd_core::ChunkPiece| self.write_piece(&rshape, data, p);
        if self.parallel && pieces.len() > 1 {
            pieces.par_iter().try_for_each(work)
        } else {
            pieces.iter().try_for_each(work)
        }
    }

    fn write_piece(&self, rshape: &[u64], data: &[u8], p: &nd_core::ChunkPiece) -> Result<()> {
        let stored = self.layout.grid.chunk_region(&p.chunk);
        let covers = p.in_chunk.shape() == stored.shape();
        nd_core::scratch::with_scratch(|s: &mut WriteScratch| {
            self.write_piece_with(rshape, data, p, covers, s)
        })
    }

    /// [`ZarrArray::write_piece`] with this thread's chunk and encoding buffers.
    fn write_piece_with(
        &self,
        rshape: &[u64],
        data: &[u8],
        p: &nd_core::ChunkPiece,
        covers: bool,
        s: &mut WriteScratch,
    ) -> Result<()> {
        let elem = self.meta.dtype.size();
        let cshape = &self.meta.chunks;
        let buf = &mut s.chunk;
        // a reused buffer keeps its old contents: every byte is overwritten below (by the decoded
        // chunk, the fill value, or a write covering the whole chunk)
        buf.resize(self.meta.chunk_bytes(), 0);
        let present = !covers && self.decode_chunk_into(&p.chunk, buf)?;
        // A write that covers the whole (non-edge) chunk overwrites every byte: no fill needed.
        let whole = covers && p.in_chunk.shape() == *cshape;
        if !present && !whole {
            nd_core::array::fill_slice(buf, &self.layout.fill);
        }
        let count = p.in_out.shape();
        let sv = Strided::of_region(rshape, &p.in_out.start(), Order::C, elem);
        let dv = Strided::of_region(cshape, &p.in_chunk.start(), self.meta.order, elem);
        copy_strided(data, &sv, buf, &dv, &count, elem)?;
        if self.sep.load(Ordering::Relaxed) == SEP_UNKNOWN {
            // A legacy array: find out which layout its existing chunks use (default `.`).
            let _ = self.get_chunk(&p.chunk)?;
        }
        let key = self.chunk_key(&p.chunk);
        if self.meta.is_fill_chunk(buf) {
            self.store.delete(&key).map_err(store_err(&key))
        } else if self.raw {
            // no filters, no compressor, native byte order: the chunk is stored as it is
            self.store.set(&key, buf).map_err(store_err(&key))
        } else {
            self.meta
                .encode_chunk_into(&self.pipeline, buf, &mut s.encoded)
                .map_err(codec_err(&key))?;
            self.store.set(&key, &s.encoded).map_err(store_err(&key))
        }
    }
}

/// A reader thread's buffer for the stored (encoded) bytes of a chunk, reused from chunk to
/// chunk; its own type, so that it is not the `Vec<u8>` scratch the chunk is decoded into.
#[derive(Default)]
pub(crate) struct StoredChunk(pub(crate) Vec<u8>);

impl nd_core::scratch::Scratch for StoredChunk {
    fn held_bytes(&self) -> usize {
        self.0.capacity()
    }
}

/// A writer thread's buffers, reused from chunk to chunk: the chunk being assembled and its
/// encoded bytes (no fresh allocation, and no fresh pages to fault in, per chunk).
#[derive(Default)]
struct WriteScratch {
    chunk: Vec<u8>,
    encoded: Vec<u8>,
}

impl nd_core::scratch::Scratch for WriteScratch {
    fn held_bytes(&self) -> usize {
        self.chunk.capacity() + self.encoded.capacity()
    }
}

impl ChunkDecoder for ZarrArray {
    type Error = Error;
    fn decode_chunk(&self, chunk: &[u64], dst: &mut [u8]) -> Result<bool> {
        self.decode_chunk_into(chunk, dst)
    }

    fn stored_as_is(&self, chunk: &[u64]) -> Result<Option<Box<dyn ByteSource>>> {
        if !self.raw || self.meta.order != Order::C {
            return Ok(None);
        }
        // a chunk of the wrong size (or absent) goes to `decode_chunk`, which says what it is
        Ok(self
            .find_chunk(chunk, |key| self.store.get_source(key))?
            .map(|(_, src)| src)
            .filter(|src| src.len() == self.meta.chunk_bytes() as u64))
    }
}

/// Convert JSON to an nd-core attribute value.
pub fn json_to_attr(v: &Value) -> AttrValue {
    match v {
        Value::Null => AttrValue::Null,
        Value::Bool(b) => AttrValue::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => AttrValue::Int(i),
            None => AttrValue::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => AttrValue::Str(s.clone()),
        Value::Array(a) => AttrValue::List(a.iter().map(json_to_attr).collect()),
        Value::Object(m) => AttrValue::Map(
            m.iter()
                .map(|(k, v)| (k.clone(), json_to_attr(v)))
                .collect(),
        ),
    }
}

impl ArrayRead for ZarrArray {
    fn shape(&self) -> &[u64] {
        &self.meta.shape
    }
    fn dtype(&self) -> &DataType {
        &self.native
    }
    fn chunk_shape(&self) -> Vec<u64> {
        self.meta.chunks.clone()
    }
    fn read_region_into(&self, region: &Region, out: &mut [u8]) -> nd_core::Result<()> {
        Ok(self.read_into(region, out)?)
    }
    fn codec(&self) -> Option<String> {
        let mut parts: Vec<String> = Vec::new();
        if let Value::Array(fs) = &self.meta.filters {
            for f in fs {
                parts.push(
                    f.get("id")
                        .and_then(Value::as_str)
                        .unwrap_or("?")
                        .to_string(),
                );
            }
        }
        if let Some(c) = self.meta.compressor.get("id").and_then(Value::as_str) {
            match self.meta.compressor.get("cname").and_then(Value::as_str) {
                Some(cn) => parts.push(format!("{c}({cn})")),
                None => parts.push(c.to_string()),
            }
        }
        if parts.is_empty() {
            None
        } else {
            Some(parts.join("+"))
        }
    }
    fn attributes(&self) -> Attributes {
        self.attrs
            .iter()
            .map(|(k, v)| (k.clone(), json_to_attr(v)))
            .collect()
    }
}

impl ArrayWrite for ZarrArray {
    fn write_region(&self, region: &Region, data: &[u8]) -> nd_core::Result<()> {
        Ok(self.write(region, data)?)
    }
}
