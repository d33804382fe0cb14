//! A Zarr v3 array in a store: open, read regions.
//!
//! Unsharded arrays decode one stored chunk per grid chunk. Sharded arrays (`sharding_indexed`
//! alone in the chain) are read by inner chunk: the engine walks the inner chunk grid, each
//! inner chunk costs one ranged get, and each shard's index one ranged get (a suffix when the
//! index is at the end), fetched once per read and shared by the threads that need it.
//!
//! Writes go by stored chunk (for a sharded array, by shard): a write that covers a chunk's
//! part of the array encodes it from the written values alone; a partial one reads, decodes
//! and re-encodes it. A chunk holding only the fill value is deleted rather than stored, and
//! inner chunks holding only the fill value are left out of their shard (zarr-python 3's
//! `write_empty_chunks=False`). Parallel writers must not share a chunk:
//! [`ArrayRead::chunk_shape`] is the shard shape, the unit nd-ops aligns its blocks to.

use super::codec::{CodecChain, Ctx, Sharding};
use super::meta::ArrayMetadataV3;
use super::meta::ZARR_JSON;
use super::shard::{ShardFetch, ShardIndex};
use crate::error::{store_err, Error, Result};
use crate::node::{get_json, join, norm_path};
use bytes::Bytes;
use nd_core::shape::{copy_strided, Strided};
use nd_core::{
    num_bytes, ArrayRead, ArrayWrite, Attributes, ByteSource, ChunkDecoder, ChunkGrid,
    ChunkedLayout, DataType, GroupedDecoder, Order, Region, Store,
};
use rayon::prelude::*;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// A Zarr v3 array: its metadata and codec chain, over a store.
#[derive(Debug)]
pub struct ZarrArrayV3 {
    store: Arc<dyn Store>,
    path: String,
    meta: ArrayMetadataV3,
    chain: CodecChain,
    /// The grid reads walk: the chunk grid, or for a sharded array the inner chunk grid.
    layout: ChunkedLayout,
    /// The chunk grid of the metadata (shards for a sharded array): the unit of writes.
    grid: ChunkGrid,
    parallel: bool,
    /// How sharded reads merge the inner chunks' byte ranges.
    fetch: ShardFetch,
}

impl ZarrArrayV3 {
    /// Open the array at `path` (`""` for the store root): one get of its `zarr.json`.
    ///
    /// # Errors
    /// No `zarr.json`, invalid metadata, or a data type or codec nd does not implement.
    pub fn open(store: Arc<dyn Store>, path: &str) -> Result<ZarrArrayV3> {
        let path = norm_path(path);
        let key = join(&path, ZARR_JSON);
        let v = get_json(store.as_ref(), &key)?.ok_or_else(|| Error::NotFound {
            what: "array",
            path: path.clone(),
        })?;
        let meta = ArrayMetadataV3::from_json(&v).map_err(|source| Error::MetadataV3 {
            key: key.clone(),
            source,
        })?;
        Self::from_metadata(store, &path, meta)
    }

    /// An array handle from metadata already read (consolidated metadata, a walk).
    ///
    /// # Errors
    /// A codec chain that is invalid or not implemented.
    pub fn from_metadata(
        store: Arc<dyn Store>,
        path: &str,
        meta: ArrayMetadataV3,
    ) -> Result<ZarrArrayV3> {
        let path = norm_path(path);
        let key = join(&path, ZARR_JSON);
        let chain = CodecChain::parse(&meta.codecs, &meta.chunk_shape, &meta.data_type)
            .map_err(|source| Error::MetadataV3 { key, source })?;
        let read_chunk = match chain.sharding_only() {
            Some(s) => s.chunk_shape.clone(),
            None => meta.chunk_shape.clone(),
        };
        let layout = ChunkedLayout {
            grid: ChunkGrid::new(meta.shape.clone(), read_chunk)?,
            elem_size: meta.data_type.size(),
            order: Order::C,
            fill: meta.fill_value.clone(),
        };
        let grid = ChunkGrid::new(meta.shape.clone(), meta.chunk_shape.clone())?;
        Ok(ZarrArrayV3 {
            store,
            path,
            meta,
            chain,
            layout,
            grid,
            parallel: true,
            fetch: ShardFetch::DEFAULT,
        })
    }

    /// Create (or replace) an array at `path`: removes what was there, writes a group
    /// `zarr.json` into every ancestor that has none, and writes the array's `zarr.json`.
    ///
    /// # Errors
    /// A codec chain nd cannot encode, an ancestor that is an array, store errors.
    pub fn create(store: Arc<dyn Store>, path: &str, meta: ArrayMetadataV3) -> Result<ZarrArrayV3> {
        let path = norm_path(path);
        // check the codecs before anything is removed
        let arr = Self::from_metadata(store, &path, meta)?;
        super::group::prepare_node(arr.store.as_ref(), &path)?;
        arr.write_metadata()?;
        Ok(arr)
    }

    fn write_metadata(&self) -> Result<()> {
        let key = join(&self.path, ZARR_JSON);
        self.store
            .set(&key, &self.meta.to_json_bytes())
            .map_err(store_err(&key))
    }

    /// Replace the attributes and rewrite `zarr.json`.
    ///
    /// # Errors
    /// Store errors.
    pub fn set_attributes(&mut self, attrs: Map<String, Value>) -> Result<()> {
        self.meta.attributes = attrs;
        self.write_metadata()
    }

    /// Write `data` (native-endian, C order, exactly the region's size) into `region`.
    ///
    /// Each stored chunk (shard) the region touches is encoded and stored with one `set` (or
    /// deleted when it holds only the fill value); one the region covers only in part is first
    /// read and decoded (one `get`). Chunks are processed in parallel; memory is about one
    /// decoded and one encoded chunk per thread.
    ///
    /// # Errors
    /// A region outside the array, a wrong data size, store errors, codec errors, a corrupt
    /// chunk met by a partial write.
    pub fn write(&self, region: &Region, data: &[u8]) -> Result<()> {
        region.check_within(&self.meta.shape)?;
        let rshape = region.shape();
        let want = num_bytes(&rshape, self.meta.data_type.size())?;
        if data.len() != want {
            return Err(Error::Core(nd_core::Error::Shape(format!(
                "write of region {rshape_s} needs {want} bytes, got {}",
                data.len(),
                rshape_s = nd_core::fmt_shape(rshape.iter())
            ))));
        }
        let pieces = self.grid.pieces(region)?;
        let work = |p: &nd_core::ChunkPiece| self.write_piece(&rshape, data, p);
        if self.parallel && pieces.len() > 1 {
            pieces.par_iter().try_for_each(work)
        } else {
            pieces.iter().try_for_each(work)
        }
    }

    fn write_piece(&self, rshape: &[u64], data: &[u8], p: &nd_core::ChunkPiece) -> Result<()> {
        let key = self.chunk_key(&p.chunk);
        let stored = self.grid.chunk_region(&p.chunk);
        let covers = p.in_chunk.shape() == stored.shape();
        // this thread's chunk buffer, reused from chunk to chunk (no fresh pages per chunk)
        nd_core::scratch::with_scratch(|buf: &mut Vec<u8>| {
            self.write_piece_into(rshape, data, p, &key, covers, buf)
        })
    }

    /// [`ZarrArrayV3::write_piece`] assembling the chunk in `buf`. A reused buffer keeps its old
    /// contents: every byte is overwritten (by the stored chunk, the fill value, or a write
    /// covering the whole chunk).
    fn write_piece_into(
        &self,
        rshape: &[u64],
        data: &[u8],
        p: &nd_core::ChunkPiece,
        key: &str,
        covers: bool,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        let elem = self.meta.data_type.size();
        let cshape = &self.meta.chunk_shape;
        let ctx = self.ctx(key);
        buf.resize(self.meta.chunk_bytes(), 0);
        let present = if covers {
            false
        } else {
            match self.store.get(key).map_err(store_err(key))? {
                Some(old) => {
                    self.chain.decode_into(&ctx, &old, buf)?;
                    true
                }
                None => false,
            }
        };
        // a write covering a whole (non-edge) chunk overwrites every byte: no fill needed
        let whole = covers && p.in_chunk.shape() == *cshape;
        if !present && !whole {
            nd_core::array::fill_slice(buf, &self.meta.fill_value);
        }
        let count = p.in_out.shape();
        let sv = Strided::of_region(rshape, &p.in_out.start(), Order::C, elem);
        let dv = Strided::of_region(cshape, &p.in_chunk.start(), Order::C, elem);
        copy_strided(data, &sv, buf, &dv, &count, elem)?;
        if nd_codecs::zarr_v2::is_fill(&self.meta.data_type, &self.meta.fill_value, buf) {
            return self.store.delete(key).map_err(store_err(key));
        }
        let enc = self.chain.encode(&ctx, buf)?;
        self.store.set(key, &enc).map_err(store_err(key))
    }

    /// Decode chunks on one thread only (for callers that parallelise themselves).
    pub fn set_parallel(&mut self, parallel: bool) {
        self.parallel = parallel;
    }

    /// How reads of a sharded array merge the byte ranges of the inner chunks of one shard
    /// (default [`ShardFetch::DEFAULT`]: gaps up to 1 MiB, requests up to 16 MiB).
    pub fn set_shard_fetch(&mut self, fetch: ShardFetch) {
        self.fetch = fetch;
    }

    /// The parsed codec chain.
    pub(crate) fn chain(&self) -> &CodecChain {
        &self.chain
    }

    /// The array's metadata.
    pub fn metadata(&self) -> &ArrayMetadataV3 {
        &self.meta
    }

    /// The array's attributes, as JSON.
    pub fn attributes(&self) -> &Map<String, Value> {
        &self.meta.attributes
    }

    /// The names of the dimensions, when `zarr.json` gives them.
    pub fn dimension_names(&self) -> Option<&[Option<String>]> {
        self.meta.dimension_names.as_deref()
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The path of the array in its store (`""` for the root).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The store key of a chunk (or shard) of the chunk grid.
    pub fn chunk_key(&self, chunk: &[u64]) -> String {
        join(&self.path, &self.meta.chunk_key_encoding.key(chunk))
    }

    /// The inner chunk shape when the array is sharded (`sharding_indexed` alone in its chain).
    pub fn inner_chunk_shape(&self) -> Option<&[u64]> {
        self.chain.sharding_only().map(|s| s.chunk_shape.as_slice())
    }

    /// Read `region` into `out` (native-endian, C order, exactly the region's size).
    ///
    /// Costs one get per stored chunk the region touches; for a sharded array one ranged get
    /// per shard index and one per inner chunk touched. Missing chunks, shards and empty inner
    /// chunks read as the fill value.
    ///
    /// # Errors
    /// A region outside the array, a wrong buffer size, store errors, corrupt chunks or shards.
    pub fn read_into(&self, region: &Region, out: &mut [u8]) -> Result<()> {
        region.check_within(&self.meta.shape)?;
        match self.chain.sharding_only() {
            Some(s) => {
                let reader = ShardReader {
                    array: self,
                    sharding: s,
                    indexes: std::sync::Mutex::new(HashMap::new()),
                };
                nd_core::read_chunked_grouped(&self.layout, region, out, &reader, self.parallel)
            }
            None => nd_core::read_chunked(&self.layout, region, out, self, self.parallel),
        }
    }

    pub(crate) fn ctx<'a>(&'a self, key: &'a str) -> Ctx<'a> {
        Ctx {
            key,
            dtype: &self.meta.data_type,
            fill: &self.meta.fill_value,
        }
    }
}

impl ChunkDecoder for ZarrArrayV3 {
    type Error = Error;
    fn decode_chunk(&self, chunk: &[u64], dst: &mut [u8]) -> Result<bool> {
        let key = self.chunk_key(chunk);
        if self.chain.stores_chunks_as_is(&self.meta.data_type)
            && dst.len() == self.chain.decoded_len()
        {
            // stored as it is: read from the store straight into `dst`
            match self
                .store
                .get_sized_into(&key, dst)
                .map_err(crate::error::store_err(&key))?
            {
                None => return Ok(false),
                Some(len) if len == dst.len() as u64 => return Ok(true),
                // not a chunk's size: the codec path below says what is wrong with it
                Some(_) => {}
            }
        }
        // the stored bytes in this thread's reused buffer or a map of the file, as for Zarr v2
        nd_core::scratch::with_scratch(|stored: &mut crate::array::StoredChunk| {
            let Some(fetched) = self
                .store
                .get_reusing(&key, &mut stored.0)
                .map_err(crate::error::store_err(&key))?
            else {
                return Ok(false);
            };
            self.chain
                .decode_into(&self.ctx(&key), fetched.bytes(&stored.0), dst)?;
            Ok(true)
        })
    }

    fn stored_as_is(&self, chunk: &[u64]) -> Result<Option<Box<dyn ByteSource>>> {
        if !self.chain.stores_chunks_as_is(&self.meta.data_type) {
            return Ok(None);
        }
        let key = self.chunk_key(chunk);
        // a chunk of the wrong size (or absent) goes to `decode_chunk`, which says what it is
        Ok(self
            .store
            .get_source(&key)
            .map_err(crate::error::store_err(&key))?
            .filter(|src| src.len() == self.chain.decoded_len() as u64))
    }
}

/// The decoder of one read of a sharded array, by shard: [`GroupedDecoder::open_group`] fetches
/// a shard's index (once per read: a large shard is opened once per batch of its inner chunks),
/// then the inner chunks the batch needs (coalesced ranges).
struct ShardReader<'a> {
    array: &'a ZarrArrayV3,
    sharding: &'a Sharding,
    /// The indexes fetched by this read, by shard key (`None`: the shard is absent).
    indexes: std::sync::Mutex<HashMap<String, Option<ShardIndex>>>,
}

/// One shard opened for a read: the encoded bytes of the inner chunks the read needs.
struct OpenShard<'a> {
    array: &'a ZarrArrayV3,
    sharding: &'a Sharding,
    key: String,
    /// By C-order position in the shard: the inner chunk's bytes (`None`: empty, reads as fill).
    chunks: HashMap<usize, Option<Bytes>>,
}

impl ShardReader<'_> {
    /// The decoded index of the shard at `key`, `None` when the shard is absent: one request
    /// (a suffix for an index at the end).
    fn index(&self, key: &str) -> Result<Option<ShardIndex>> {
        if let Some(i) = self.indexes.lock().ok().and_then(|m| m.get(key).cloned()) {
            return Ok(i);
        }
        let i = self.fetch_index(key)?;
        if let Ok(mut m) = self.indexes.lock() {
            m.insert(key.to_string(), i.clone());
        }
        Ok(i)
    }

    /// [`Self::index`] from the store: one request.
    fn fetch_index(&self, key: &str) -> Result<Option<ShardIndex>> {
        let ctx = self.array.ctx(key);
        let store = &self.array.store;
        let bytes = match self.sharding.index_range(None) {
            Ok(r) => store.get_range(key, r),
            Err(len) => store.get_suffix(key, len),
        };
        match bytes {
            Ok(None) => Ok(None),
            Ok(Some(b)) => Ok(Some(self.sharding.decode_index(&ctx, &b)?)),
            Err(nd_core::Error::OutOfBounds { size, .. }) => Err(ctx.err(format!(
                "shard of {size} bytes cannot hold its {}-byte index",
                self.sharding.index_bytes
            ))),
            Err(e) => Err(crate::error::store_err(key)(e)),
        }
    }
}

impl<'a> GroupedDecoder for ShardReader<'a> {
    type Error = Error;
    type Group = OpenShard<'a>;

    fn group_of(&self, chunk: &[u64]) -> Vec<u64> {
        chunk
            .iter()
            .zip(&self.sharding.per_shard)
            .map(|(c, p)| c / p)
            .collect()
    }

    fn open_group(&self, shard: &[u64], chunks: &[&[u64]]) -> Result<OpenShard<'a>> {
        let key = self.array.chunk_key(shard);
        let mut open = OpenShard {
            array: self.array,
            sharding: self.sharding,
            chunks: HashMap::with_capacity(chunks.len()),
            key,
        };
        let Some(index) = self.index(&open.key)? else {
            return Ok(open); // an absent shard: every chunk reads as fill
        };
        let ctx = self.array.ctx(&open.key);
        let mut wanted: Vec<(usize, std::ops::Range<u64>)> = Vec::with_capacity(chunks.len());
        for chunk in chunks {
            let pos = shard_pos(chunk, &self.sharding.per_shard);
            let range = index
                .range(pos, None)
                .map_err(|e| ctx.err(format!("shard index: {e}")))?;
            match range {
                None => {
                    open.chunks.insert(pos, None);
                }
                Some(r) => {
                    if self.sharding.location == super::shard::IndexLocation::Start
                        && r.start < self.sharding.index_bytes
                        && r.end > r.start
                    {
                        return Err(ctx.err(format!(
                            "inner chunk {chunk_s}: bytes {r0}..{r1} overlap the index",
                            chunk_s = nd_core::fmt_shape(chunk.iter()),
                            r0 = r.start,
                            r1 = r.end
                        )));
                    }
                    wanted.push((pos, r));
                }
            }
        }
        let fetch = self.array.fetch;
        let merged = nd_core::io::coalesce(
            wanted.iter().map(|(_, r)| r.clone()).collect(),
            fetch.coalesce_gap,
            fetch.max_request,
        );
        let get = |r: &std::ops::Range<u64>| -> Result<Bytes> {
            match self.array.store.get_range(&open.key, r.clone()) {
                Ok(Some(d)) => Ok(d),
                Ok(None) => Err(ctx.err("shard vanished while it was read")),
                Err(nd_core::Error::OutOfBounds { size, .. }) => Err(ctx.err(format!(
                    "inner chunk bytes {r0}..{r1} are past the end of the shard ({size} bytes)",
                    r0 = r.start,
                    r1 = r.end
                ))),
                Err(e) => Err(crate::error::store_err(&open.key)(e)),
            }
        };
        let data: Vec<Bytes> = if self.array.parallel && merged.len() > 1 {
            merged.par_iter().map(get).collect::<Result<_>>()?
        } else {
            merged.iter().map(get).collect::<Result<_>>()?
        };
        for (pos, r) in wanted {
            if r.is_empty() {
                // an inner chunk of 0 bytes (coalescing drops empty ranges): its codecs decide
                open.chunks.insert(pos, Some(Bytes::new()));
                continue;
            }
            // the merged range holding r: the last one starting at or before it
            let i = merged
                .partition_point(|m| m.start <= r.start)
                .saturating_sub(1);
            let (Some(m), Some(d)) = (merged.get(i), data.get(i)) else {
                return Err(ctx.err(format!(
                    "inner chunk bytes {r0}..{r1}: not fetched",
                    r0 = r.start,
                    r1 = r.end
                )));
            };
            if m.start > r.start || m.end < r.end {
                return Err(ctx.err(format!(
                    "inner chunk bytes {r0}..{r1}: not fetched",
                    r0 = r.start,
                    r1 = r.end
                )));
            }
            let (a, b) = ((r.start - m.start) as usize, (r.end - m.start) as usize);
            if b > d.len() {
                return Err(ctx.err(format!(
                    "inner chunk bytes {r0}..{r1}: short read",
                    r0 = r.start,
                    r1 = r.end
                )));
            }
            open.chunks.insert(pos, Some(d.slice(a..b)));
        }
        Ok(open)
    }
}

/// The C-order position of inner chunk `chunk` (array inner-grid index) within its shard.
fn shard_pos(chunk: &[u64], per_shard: &[u64]) -> usize {
    let local: Vec<u64> = chunk.iter().zip(per_shard).map(|(c, p)| c % p).collect();
    nd_core::linear_index(&local, per_shard) as usize
}

impl ChunkDecoder for OpenShard<'_> {
    type Error = Error;
    fn decode_chunk(&self, chunk: &[u64], dst: &mut [u8]) -> Result<bool> {
        match self.chunks.get(&shard_pos(chunk, &self.sharding.per_shard)) {
            None | Some(None) => Ok(false),
            Some(Some(data)) => {
                let ctx = self.array.ctx(&self.key);
                self.sharding.inner.decode_into(&ctx, data, dst)?;
                Ok(true)
            }
        }
    }
}

impl ArrayWrite for ZarrArrayV3 {
    fn write_region(&self, region: &Region, data: &[u8]) -> nd_core::Result<()> {
        Ok(self.write(region, data)?)
    }
}

impl ArrayRead for ZarrArrayV3 {
    fn shape(&self) -> &[u64] {
        &self.meta.shape
    }
    fn dtype(&self) -> &DataType {
        &self.meta.data_type
    }
    /// The chunk grid's chunk shape (for a sharded array, the shard: one index fetch serves
    /// all its inner chunks, and it is the unit of writes, so nd-ops never splits one between
    /// two writers).
    fn chunk_shape(&self) -> Vec<u64> {
        self.meta.chunk_shape.clone()
    }
    fn read_region_into(&self, region: &Region, out: &mut [u8]) -> nd_core::Result<()> {
        Ok(self.read_into(region, out)?)
    }
    fn codec(&self) -> Option<String> {
        Some(self.chain.describe())
    }
    fn attributes(&self) -> Attributes {
        self.meta
            .attributes
            .iter()
            .map(|(k, v)| (k.clone(), crate::array::json_to_attr(v)))
            .collect()
    }
}
