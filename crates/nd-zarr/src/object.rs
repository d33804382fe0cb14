//! Arrays of variable-length strings and bytes, read as fixed-width numpy strings: Zarr v2
//! object (`|O`) arrays and Zarr v3 arrays of the data types `string` and `bytes`.
//!
//! zarr-python 2 stores a `|O` array with an object codec as its first filter (`vlen-utf8`,
//! `vlen-bytes`, `json2`, `pickle`, ...; see [`nd_codecs::object`]); zarr-python 3 stores a
//! `string` / `bytes` array with the array→bytes codec `vlen-utf8` / `vlen-bytes`, maybe inside
//! `sharding_indexed` ([`crate::v3::ObjectMetadataV3`]). nd-core has no variable-length element
//! type, so nd reads such an array as numpy does after `astype(str)` (text: `U<w>`) or
//! `astype(bytes)` (`vlen-bytes`: `S<w>`), `w` the longest element (characters for text, bytes
//! for bytes; at least 1). Finding `w` decodes every stored chunk (shard) once when the array is
//! opened ([`ObjectArray::open`], [`ObjectArray::from_metadata`]; at most [`MAX_OBJECT_CHUNKS`]
//! chunks); reads decode the chunks they touch again, a sharded v3 array by whole shard.
//! A missing chunk reads as the fill value as Python's `str()` shows it (v2: `0` → `"0"`,
//! `null` → `"None"`, as zarr-python fills with the Python object; v3: see
//! [`crate::v3::ObjectMetadataV3`]).

use crate::array::{json_to_attr, ZarrArray};
use crate::error::{codec_err, meta_err, Error, Result};
use crate::node::{get_json, join, norm_path};
use crate::v3::{ObjectMetadataV3, VlenChunks, ZARR_JSON};
use nd_codecs::object::{python_str, ObjectCodec};
use nd_codecs::zarr_v2::{ArrayMetadataV2, MetadataError, MAX_CHUNK_BYTES};
use nd_codecs::Pipeline;
use nd_core::{
    ArrayRead, Attributes, ChunkDecoder, ChunkGrid, ChunkedLayout, DataType, Order, Region, Store,
};
use rayon::prelude::*;
use serde_json::{Map, Value};
use std::sync::Arc;

/// The most chunks an object array may have: opening one reads every chunk (to find the
/// string width), which must stay bounded for metadata from untrusted stores.
pub const MAX_OBJECT_CHUNKS: u64 = 1 << 20;

/// True when a `.zarray` document declares an object (`|O`) dtype.
pub fn is_object_dtype(zarray: &Value) -> bool {
    matches!(
        zarray.get("dtype").and_then(Value::as_str),
        Some("|O" | "O" | "<O" | ">O")
    )
}

/// The `.zarray` of an object array: its grid, object codec and bytes codecs.
#[derive(Debug, Clone)]
pub struct ObjectMetadataV2 {
    /// Shape, chunks, order and separator, parsed as for a one-byte array (`dtype` is the
    /// stand-in `|u1`, no codecs, no fill value: use the fields below).
    pub grid: ArrayMetadataV2,
    /// The object codec (the first filter).
    pub codec: ObjectCodec,
    /// The compressor (object or null).
    pub compressor: Value,
    /// The filters after the object codec (bytes to bytes).
    pub filters: Vec<Value>,
    /// The fill value as written (a Python object: zarr-python leaves it as JSON decodes it).
    pub fill_value: Value,
}

impl ObjectMetadataV2 {
    /// Parse the `.zarray` (at store key `key`) of an object array.
    ///
    /// # Errors
    /// [`Error::Metadata`] for an invalid document or one that is not `|O`;
    /// [`Error::Codec`] for an object codec nd does not decode (pickle, ...) or bad codecs.
    pub fn from_json(key: &str, v: &Value) -> Result<ObjectMetadataV2> {
        let invalid = |field, reason: &str| Error::Metadata {
            key: key.to_string(),
            source: MetadataError::Invalid {
                field,
                reason: reason.to_string(),
            },
        };
        if !is_object_dtype(v) {
            return Err(invalid("dtype", "not an object (|O) array"));
        }
        let mut standin = v.clone();
        if let Some(m) = standin.as_object_mut() {
            m.insert("dtype".into(), Value::from("|u1"));
            m.insert("fill_value".into(), Value::Null);
            m.insert("filters".into(), Value::Null);
            m.insert("compressor".into(), Value::Null);
        }
        let grid = ArrayMetadataV2::from_json(&standin).map_err(meta_err(key))?;
        let filters = v
            .get("filters")
            .and_then(Value::as_array)
            .filter(|f| !f.is_empty())
            .ok_or_else(|| {
                invalid(
                    "filters",
                    "an object array needs an object codec as first filter",
                )
            })?;
        let codec = ObjectCodec::from_config(&filters[0]).map_err(codec_err(key))?; // ok: non-empty
        let rest: Vec<Value> = filters[1..].to_vec(); // ok: non-empty
        let compressor = v.get("compressor").cloned().unwrap_or(Value::Null);
        // the bytes codecs must be ones nd has
        Pipeline::from_zarr_json(&compressor, &Value::Array(rest.clone()))
            .map_err(codec_err(key))?;
        Ok(ObjectMetadataV2 {
            grid,
            codec,
            compressor,
            filters: rest,
            fill_value: v.get("fill_value").cloned().unwrap_or(Value::Null),
        })
    }

    /// The dtype shown before the width is known: `|O` and the codec (`|O (vlen-utf8)`).
    pub fn describe(&self) -> String {
        format!("|O ({})", self.codec.id())
    }
}

/// The metadata of an array of variable-length strings or bytes, Zarr v2 or v3.
#[derive(Debug, Clone)]
pub enum ObjectMetadata {
    /// A Zarr v2 object (`|O`) array.
    V2(ObjectMetadataV2),
    /// A Zarr v3 array of data type `string` or `bytes`.
    V3(ObjectMetadataV3),
}

impl ObjectMetadata {
    /// The shape.
    pub fn shape(&self) -> &[u64] {
        match self {
            ObjectMetadata::V2(m) => &m.grid.shape,
            ObjectMetadata::V3(m) => &m.grid.shape,
        }
    }

    /// The shape of a stored chunk (a shard, for a sharded v3 array).
    pub fn chunks(&self) -> &[u64] {
        match self {
            ObjectMetadata::V2(m) => &m.grid.chunks,
            ObjectMetadata::V3(m) => &m.grid.chunk_shape,
        }
    }

    /// The memory order of the elements in a chunk (always C for v3).
    pub fn order(&self) -> Order {
        match self {
            ObjectMetadata::V2(m) => m.grid.order,
            ObjectMetadata::V3(_) => Order::C,
        }
    }

    /// The object codec: text (`vlen-utf8`, `json2`; read as numpy `U`) or bytes
    /// (`vlen-bytes`; numpy `S`).
    pub fn codec(&self) -> ObjectCodec {
        match self {
            ObjectMetadata::V2(m) => m.codec,
            ObjectMetadata::V3(m) => m.codec,
        }
    }

    /// The dtype shown before the width is known: `|O (vlen-utf8)` (v2), `string (vlen-utf8)`
    /// (v3).
    pub fn describe(&self) -> String {
        match self {
            ObjectMetadata::V2(m) => m.describe(),
            ObjectMetadata::V3(m) => m.describe(),
        }
    }

    /// The codecs, short: v2 the object codec, the filters after it and the compressor
    /// (`vlen-utf8+zstd`); v3 the chain (`sharding_indexed(vlen-utf8+zstd)`).
    pub fn codecs(&self) -> String {
        match self {
            ObjectMetadata::V2(m) => {
                let mut parts = vec![m.codec.id().to_string()];
                parts.extend(m.filters.iter().map(|f| {
                    f.get("id")
                        .and_then(Value::as_str)
                        .unwrap_or("?")
                        .to_string()
                }));
                if let Some(c) = m.compressor.get("id").and_then(Value::as_str) {
                    parts.push(c.to_string());
                }
                parts.join("+")
            }
            ObjectMetadata::V3(m) => m.codecs_described.clone(),
        }
    }

    /// The names of the dimensions, when a v3 `zarr.json` gives them.
    pub fn dimension_names(&self) -> Option<&[Option<String>]> {
        match self {
            ObjectMetadata::V2(_) => None,
            ObjectMetadata::V3(m) => m.grid.dimension_names.as_deref(),
        }
    }

    /// The fill value as one item: v2 Python's `str()` of the JSON value, v3 as
    /// [`ObjectMetadataV3::fill`].
    fn fill_item(&self) -> Vec<u8> {
        match self {
            ObjectMetadata::V2(m) => python_str(&m.fill_value)
                .unwrap_or_else(|| m.fill_value.to_string())
                .into_bytes(),
            ObjectMetadata::V3(m) => m.fill.clone(),
        }
    }

    /// The key of the metadata document, under the array at `path`.
    fn doc_key(&self, path: &str) -> String {
        match self {
            ObjectMetadata::V2(_) => join(path, ".zarray"),
            ObjectMetadata::V3(_) => join(path, ZARR_JSON),
        }
    }
}

/// Where the items of a stored chunk come from.
#[derive(Debug)]
enum Chunks {
    /// Zarr v2: the array over a stand-in `|u1` metadata (chunk keys and the legacy separator
    /// probe), the bytes codecs, then the object codec.
    V2 { keys: ZarrArray, pipeline: Pipeline },
    /// Zarr v3: the chunk key encoding and the codec chain around `vlen-*`.
    V3(VlenChunks),
}

/// An array of variable-length strings or bytes (Zarr v2 `|O`, Zarr v3 `string` / `bytes`),
/// read as `U<w>` / `S<w>` (see the module docs).
#[derive(Debug)]
pub struct ObjectArray {
    chunks: Chunks,
    meta: ObjectMetadata,
    dtype: DataType,
    layout: ChunkedLayout,
    attrs: Map<String, Value>,
}

impl ObjectArray {
    /// Open the object array at `path`: reads `.zarray`, `.zattrs`, and every chunk once (to
    /// find the longest element).
    ///
    /// # Errors
    /// Metadata and codec errors naming the key; a chunk that does not decode.
    pub fn open(store: Arc<dyn Store>, path: &str) -> Result<ObjectArray> {
        let path = norm_path(path);
        let key = join(&path, ".zarray");
        let v = get_json(store.as_ref(), &key)?.ok_or_else(|| Error::NotFound {
            what: "array",
            path: path.clone(),
        })?;
        let meta = ObjectMetadataV2::from_json(&key, &v)?;
        let akey = join(&path, ".zattrs");
        let attrs = match get_json(store.as_ref(), &akey)? {
            Some(Value::Object(m)) => m,
            _ => Map::new(),
        };
        Self::from_parts(store, &path, meta, attrs)
    }

    /// From Zarr v2 metadata already read; decodes every chunk once to find the width.
    ///
    /// # Errors
    /// As [`ObjectArray::open`].
    pub fn from_parts(
        store: Arc<dyn Store>,
        path: &str,
        meta: ObjectMetadataV2,
        attrs: Map<String, Value>,
    ) -> Result<ObjectArray> {
        Self::from_metadata(store, path, ObjectMetadata::V2(meta), attrs)
    }

    /// From Zarr v2 or v3 metadata already read (a [`crate::Node::object`]); decodes every
    /// stored chunk once to find the width.
    ///
    /// # Errors
    /// Codec chains nd cannot decode; more than [`MAX_OBJECT_CHUNKS`] chunks; a chunk that does
    /// not decode (naming its key); strings so long that a chunk of them would exceed
    /// [`MAX_CHUNK_BYTES`].
    pub fn from_metadata(
        store: Arc<dyn Store>,
        path: &str,
        meta: ObjectMetadata,
        attrs: Map<String, Value>,
    ) -> Result<ObjectArray> {
        let key = meta.doc_key(path);
        let chunks = ChunkGrid::new(meta.shape().to_vec(), meta.chunks().to_vec())?
            .grid_shape()
            .iter()
            .try_fold(1u64, |a, &b| a.checked_mul(b))
            .unwrap_or(u64::MAX);
        if chunks > MAX_OBJECT_CHUNKS {
            return Err(Error::Core(nd_core::Error::Unsupported(format!(
                "{key}: an object array of {chunks} chunks (nd reads every chunk of an object \
                 array to find its string width, up to {MAX_OBJECT_CHUNKS} chunks)"
            ))));
        }
        let source = match &meta {
            ObjectMetadata::V2(m) => {
                let pipeline =
                    Pipeline::from_zarr_json(&m.compressor, &Value::Array(m.filters.clone()))
                        .map_err(codec_err(&key))?;
                let keys = ZarrArray::from_parts(store, path, m.grid.clone(), Map::new())?;
                Chunks::V2 { keys, pipeline }
            }
            ObjectMetadata::V3(m) => Chunks::V3(VlenChunks::new(store, path, m.clone())?),
        };
        let mut a = ObjectArray {
            chunks: source,
            dtype: DataType::Bytes(1),
            layout: ChunkedLayout {
                grid: ChunkGrid::new(meta.shape().to_vec(), meta.chunks().to_vec())?,
                elem_size: 1,
                order: meta.order(),
                fill: Vec::new(),
            },
            meta,
            attrs,
        };
        let width = a.scan_width()?.max(1);
        a.dtype = if a.meta.codec().is_text() {
            DataType::Ucs4(width)
        } else {
            DataType::Bytes(width)
        };
        let chunk_elems = nd_core::num_elements(a.meta.chunks()).unwrap_or(u64::MAX);
        let elem = a.dtype.size();
        if chunk_elems.saturating_mul(elem as u64) > MAX_CHUNK_BYTES {
            return Err(Error::Metadata {
                key,
                source: MetadataError::Shape(format!(
                    "chunks {} of {elem}-byte strings exceed {MAX_CHUNK_BYTES} bytes",
                    nd_core::fmt_shape(a.meta.chunks().iter())
                )),
            });
        }
        a.layout.elem_size = elem;
        a.layout.fill = a.element(&a.meta.fill_item());
        Ok(a)
    }

    /// The metadata.
    pub fn metadata(&self) -> &ObjectMetadata {
        &self.meta
    }

    /// The width of one item: characters for text, bytes for bytes.
    fn width(&self, item: &[u8]) -> usize {
        if self.meta.codec().is_text() {
            String::from_utf8_lossy(item).chars().count()
        } else {
            item.len()
        }
    }

    /// One element of the read dtype (native byte order), truncated to its width.
    fn element(&self, item: &[u8]) -> Vec<u8> {
        let mut out = vec![0u8; self.dtype.size()];
        self.write_element(item, &mut out);
        out
    }

    fn write_element(&self, item: &[u8], dst: &mut [u8]) {
        dst.fill(0);
        if self.meta.codec().is_text() {
            for (c, d) in String::from_utf8_lossy(item)
                .chars()
                .zip(dst.chunks_exact_mut(4))
            {
                d.copy_from_slice(&(c as u32).to_ne_bytes());
            }
        } else {
            let n = item.len().min(dst.len());
            dst[..n].copy_from_slice(&item[..n]); // ok: n <= both
        }
    }

    /// Decode the stored chunk at grid index `chunk`, calling `emit(k, item)` for each element,
    /// `k` its position in the chunk's memory order; `false` (nothing emitted) when the chunk
    /// is absent.
    fn for_each_item(&self, chunk: &[u64], emit: &mut dyn FnMut(u64, &[u8])) -> Result<bool> {
        match &self.chunks {
            Chunks::V2 { keys, pipeline } => {
                let Some((key, data)) = keys.get_chunk(chunk)? else {
                    return Ok(false);
                };
                let max = usize::try_from(MAX_CHUNK_BYTES).unwrap_or(usize::MAX);
                let bytes = pipeline
                    .decode_bounded(&data, max)
                    .map_err(codec_err(&key))?;
                let n = nd_core::num_elements(self.meta.chunks()).unwrap_or(0) as usize;
                let items = self
                    .meta
                    .codec()
                    .decode(&bytes, n)
                    .map_err(codec_err(&key))?;
                for (k, it) in items.iter().enumerate() {
                    emit(k as u64, it);
                }
                Ok(true)
            }
            Chunks::V3(v) => v.for_each_item(chunk, emit),
        }
    }

    /// The longest element inside the array (edge chunks' padding does not count; a missing
    /// chunk counts its fill value).
    fn scan_width(&self) -> Result<usize> {
        let shape = self.meta.shape();
        let pieces = self.layout.grid.pieces(&Region::full(shape))?;
        let cs = self.meta.chunks().to_vec();
        let order = self.meta.order();
        let fill = self.meta.fill_item();
        pieces
            .par_iter()
            .map(|p| -> Result<usize> {
                let full = p.in_chunk.shape() == cs;
                let mut w = 0;
                let present = self.for_each_item(&p.chunk, &mut |k, it| {
                    if full || inside(k, &cs, order, &p.in_chunk) {
                        w = w.max(self.width(it));
                    }
                })?;
                Ok(if present { w } else { self.width(&fill) })
            })
            .try_reduce(|| 0, |a, b| Ok(a.max(b)))
    }
}

/// True when item `k` (in `order` inside a chunk of shape `cs`) lies in `part`.
fn inside(mut k: u64, cs: &[u64], order: Order, part: &Region) -> bool {
    let axes: Vec<usize> = match order {
        Order::F => (0..cs.len()).collect(),
        _ => (0..cs.len()).rev().collect(),
    };
    for ax in axes {
        let c = k % cs[ax];
        k /= cs[ax];
        if !part.ranges[ax].contains(&c) {
            return false;
        }
    }
    true
}

impl ChunkDecoder for ObjectArray {
    type Error = Error;
    fn decode_chunk(&self, chunk: &[u64], dst: &mut [u8]) -> Result<bool> {
        let elem = self.dtype.size();
        self.for_each_item(chunk, &mut |k, it| {
            let at = usize::try_from(k).ok().and_then(|k| k.checked_mul(elem));
            if let Some(d) = at.and_then(|a| dst.get_mut(a..a + elem)) {
                self.write_element(it, d);
            }
        })
    }
}

impl ArrayRead for ObjectArray {
    fn shape(&self) -> &[u64] {
        self.meta.shape()
    }
    fn dtype(&self) -> &DataType {
        &self.dtype
    }
    fn chunk_shape(&self) -> Vec<u64> {
        self.meta.chunks().to_vec()
    }
    fn read_region_into(&self, region: &Region, out: &mut [u8]) -> nd_core::Result<()> {
        region.check_within(self.shape())?;
        Ok(nd_core::read_chunked(
            &self.layout,
            region,
            out,
            self,
            true,
        )?)
    }
    fn codec(&self) -> Option<String> {
        Some(self.meta.codecs())
    }
    fn attributes(&self) -> Attributes {
        self.attrs
            .iter()
            .map(|(k, v)| (k.clone(), json_to_attr(v)))
            .collect()
    }
}
