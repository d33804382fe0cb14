//! Zarr v2 object (`|O`) arrays of strings and bytes, read as fixed-width numpy strings.
//!
//! zarr-python stores a `|O` array with an object codec as its first filter (`vlen-utf8`,
//! `vlen-bytes`, `json2`, `pickle`, ...; see [`nd_codecs::object`]). nd-core has no
//! variable-length element type, so nd reads such an array as numpy does after
//! `astype(str)` (text: `U<w>`) or `astype(bytes)` (`vlen-bytes`: `S<w>`), `w` the longest
//! element (characters for text, bytes for bytes; at least 1). Finding `w` decodes every chunk
//! once when the array is opened ([`ObjectArray::open`]; at most [`MAX_OBJECT_CHUNKS`] chunks);
//! reads decode the chunks they touch again. A missing chunk reads as the fill value as Python's `str()` shows it (`0` → `"0"`,
//! `null` → `"None"`, as zarr-python fills with the Python object).

use crate::array::{json_to_attr, ZarrArray};
use crate::error::{codec_err, meta_err, Error, Result};
use crate::node::{get_json, join, norm_path};
use nd_codecs::object::ObjectCodec;
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

/// A Zarr v2 object array of strings or bytes, read as `U<w>` / `S<w>` (see the module docs).
#[derive(Debug)]
pub struct ObjectArray {
    /// The array over a stand-in `|u1` metadata: chunk keys (and the legacy separator probe).
    keys: ZarrArray,
    meta: ObjectMetadataV2,
    pipeline: Pipeline,
    dtype: DataType,
    layout: ChunkedLayout,
    attrs: Map<String, Value>,
}

/// Python's `str()` of a fill value as JSON decodes it.
fn fill_text(v: &Value) -> Vec<u8> {
    match v {
        Value::String(s) => s.clone().into_bytes(),
        Value::Null => b"None".to_vec(),
        Value::Bool(true) => b"True".to_vec(),
        Value::Bool(false) => b"False".to_vec(),
        other => other.to_string().into_bytes(),
    }
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

    /// From metadata already read; decodes every chunk once to find the width.
    ///
    /// # Errors
    /// As [`ObjectArray::open`].
    pub fn from_parts(
        store: Arc<dyn Store>,
        path: &str,
        meta: ObjectMetadataV2,
        attrs: Map<String, Value>,
    ) -> Result<ObjectArray> {
        let key = join(path, ".zarray");
        let pipeline =
            Pipeline::from_zarr_json(&meta.compressor, &Value::Array(meta.filters.clone()))
                .map_err(codec_err(&key))?;
        let chunks = meta
            .grid
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
        let keys = ZarrArray::from_parts(store, path, meta.grid.clone(), Map::new())?;
        let mut a = ObjectArray {
            keys,
            pipeline,
            dtype: DataType::Bytes(1),
            layout: ChunkedLayout {
                grid: ChunkGrid::new(meta.grid.shape.clone(), meta.grid.chunks.clone())?,
                elem_size: 1,
                order: meta.grid.order,
                fill: Vec::new(),
            },
            meta,
            attrs,
        };
        let width = a.scan_width()?.max(1);
        a.dtype = if a.meta.codec.is_text() {
            DataType::Ucs4(width)
        } else {
            DataType::Bytes(width)
        };
        let chunk_elems = nd_core::num_elements(&a.meta.grid.chunks).unwrap_or(u64::MAX);
        let elem = a.dtype.size();
        if chunk_elems.saturating_mul(elem as u64) > MAX_CHUNK_BYTES {
            return Err(Error::Metadata {
                key,
                source: MetadataError::Shape(format!(
                    "chunks {} of {elem}-byte strings exceed {MAX_CHUNK_BYTES} bytes",
                    nd_core::fmt_shape(a.meta.grid.chunks.iter())
                )),
            });
        }
        a.layout.elem_size = elem;
        a.layout.fill = a.element(&fill_text(&a.meta.fill_value));
        Ok(a)
    }

    /// The metadata.
    pub fn metadata(&self) -> &ObjectMetadataV2 {
        &self.meta
    }

    /// The width of one item: characters for text, bytes for bytes.
    fn width(&self, item: &[u8]) -> usize {
        if self.meta.codec.is_text() {
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
        if self.meta.codec.is_text() {
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

    /// The decoded items of a chunk (in the chunk's memory order), `None` when it is absent.
    fn chunk_items(&self, chunk: &[u64]) -> Result<Option<Vec<Vec<u8>>>> {
        let Some((key, data)) = self.keys.get_chunk(chunk)? else {
            return Ok(None);
        };
        let max = usize::try_from(MAX_CHUNK_BYTES).unwrap_or(usize::MAX);
        let bytes = self
            .pipeline
            .decode_bounded(&data, max)
            .map_err(codec_err(&key))?;
        let n = nd_core::num_elements(&self.meta.grid.chunks).unwrap_or(0) as usize;
        let items = self.meta.codec.decode(&bytes, n).map_err(codec_err(&key))?;
        Ok(Some(items))
    }

    /// The longest element inside the array (edge chunks' padding does not count; a missing
    /// chunk counts its fill value).
    fn scan_width(&self) -> Result<usize> {
        let shape = &self.meta.grid.shape;
        let pieces = self.layout.grid.pieces(&Region::full(shape))?;
        let cs = self.meta.grid.chunks.clone();
        let order = self.meta.grid.order;
        let fill = fill_text(&self.meta.fill_value);
        pieces
            .par_iter()
            .map(|p| -> Result<usize> {
                let Some(items) = self.chunk_items(&p.chunk)? else {
                    return Ok(self.width(&fill));
                };
                let full = p.in_chunk.shape() == cs;
                let mut w = 0;
                for (k, it) in items.iter().enumerate() {
                    if full || inside(k as u64, &cs, order, &p.in_chunk) {
                        w = w.max(self.width(it));
                    }
                }
                Ok(w)
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
        let Some(items) = self.chunk_items(chunk)? else {
            return Ok(false);
        };
        let elem = self.dtype.size();
        for (it, d) in items.iter().zip(dst.chunks_exact_mut(elem)) {
            self.write_element(it, d);
        }
        Ok(true)
    }
}

impl ArrayRead for ObjectArray {
    fn shape(&self) -> &[u64] {
        &self.meta.grid.shape
    }
    fn dtype(&self) -> &DataType {
        &self.dtype
    }
    fn chunk_shape(&self) -> Vec<u64> {
        self.meta.grid.chunks.clone()
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
        let mut parts = vec![self.meta.codec.id().to_string()];
        parts.extend(self.meta.filters.iter().map(|f| {
            f.get("id")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string()
        }));
        if let Some(c) = self.meta.compressor.get("id").and_then(Value::as_str) {
            parts.push(c.to_string());
        }
        Some(parts.join("+"))
    }
    fn attributes(&self) -> Attributes {
        self.attrs
            .iter()
            .map(|(k, v)| (k.clone(), json_to_attr(v)))
            .collect()
    }
}
