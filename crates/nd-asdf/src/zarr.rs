//! Zarr arrays stored inside ASDF files, as the asdf-zarr package writes them ("internal" storage):
//! a node tagged `asdf://asdf-format.org/zarr/tags/zarr-1.0.0` (or the older
//! `asdf://stsci.edu/example-project/tags/zarr-1.0.0`) holding the `.zarray` metadata and
//! `chunk_block_map`, the index of a block of int32 (little-endian) block indices over the chunk
//! grid in C order, -1 for a chunk that was never written (fill value). Each chunk block holds the
//! Zarr-encoded chunk bytes. Chunk decoding is nd-codecs' Zarr v2 logic.

use crate::blocks::Blocks;
use crate::error::{Error, Result};
use crate::yaml::{Node, Value};
use bytes::Bytes;
use nd_codecs::zarr_v2::ArrayMetadataV2;
use nd_codecs::Pipeline;
use nd_core::{ArrayBuf, ChunkDecoder, ChunkGrid, ChunkedLayout, DataType, Region};
use std::collections::HashMap;
use std::sync::Arc;

/// The tag written for Zarr-in-ASDF arrays.
pub const ZARR_TAG_WRITE: &str = "asdf://asdf-format.org/zarr/tags/zarr-1.0.0";

/// Chunked storage of a Zarr-in-ASDF array.
#[derive(Debug)]
pub struct ZarrStorage {
    meta: ArrayMetadataV2,
    pipeline: Pipeline,
    blocks: Arc<Blocks>,
    /// Block index of each chunk (C order over the grid), -1 for missing.
    map: Vec<i32>,
    layout: ChunkedLayout,
    path: String,
}

struct Decoder<'a> {
    z: &'a ZarrStorage,
    /// Stored bytes of chunk blocks fetched ahead in one batch (block index -> bytes).
    fetched: HashMap<usize, Bytes>,
}

/// Stored bytes a region read fetches ahead in one batch beyond the output's size: the chunks
/// covering a region may hold more than the region (edge chunks partly covered); chunks past
/// this budget are read one by one as they are decoded.
const PREFETCH_SLACK: u64 = 8 << 20;

impl ChunkDecoder for Decoder<'_> {
    type Error = Error;
    fn decode_chunk(&self, chunk: &[u64], dst: &mut [u8]) -> Result<bool> {
        let z = self.z;
        let lin = z.layout.grid.linear_index(chunk);
        let b = *z
            .map
            .get(lin as usize)
            .ok_or_else(|| Error::node(&z.path, "chunk outside the chunk_block_map"))?;
        if b < 0 {
            return Ok(false);
        }
        let bi = z.blocks.resolve(b as i64)?;
        let data = match self.fetched.get(&bi) {
            Some(d) => d.clone(),
            None => z.blocks.data(bi)?,
        };
        z.meta
            .decode_chunk_into(&z.pipeline, &data, dst)
            .map_err(|e| Error::Codec {
                block: bi,
                message: format!(
                    "zarr chunk {chunk_s} of '{}': {e}",
                    z.path,
                    chunk_s = nd_core::fmt_shape(chunk.iter())
                ),
            })?;
        Ok(true)
    }
}

impl ZarrStorage {
    pub(crate) fn chunk_shape(&self) -> Vec<u64> {
        self.meta.chunks.clone()
    }

    pub(crate) fn read(&self, region: &Region, out: &mut [u8]) -> Result<()> {
        let fetched = self.prefetch(region, out.len() as u64)?;
        let dec = Decoder { z: self, fetched };
        nd_core::read_chunked(&self.layout, region, out, &dec, true)
    }

    /// Fetch the stored bytes of the (uncompressed) chunk blocks covering `region` with one
    /// `read_ranges` call, in C order of the chunks, up to `out_len + PREFETCH_SLACK` bytes, so
    /// that a remote source can coalesce them or send one multi-range request.
    fn prefetch(&self, region: &Region, out_len: u64) -> Result<HashMap<usize, Bytes>> {
        let mut fetched = HashMap::new();
        if region.is_empty() {
            return Ok(fetched);
        }
        let budget = out_len.saturating_add(PREFETCH_SLACK);
        let mut total = 0u64;
        let mut want: Vec<(usize, std::ops::Range<u64>)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for p in self.layout.grid.pieces(region)? {
            let lin = self.layout.grid.linear_index(&p.chunk);
            let Some(&b) = self.map.get(lin as usize) else {
                continue; // the decoder reports it
            };
            if b < 0 {
                continue; // never written: the fill value
            }
            let Ok(bi) = self.blocks.resolve(b as i64) else {
                continue; // the decoder reports it
            };
            if self.blocks.is_compressed(bi) || !seen.insert(bi) {
                continue;
            }
            let h = self.blocks.header(bi)?;
            if total.saturating_add(h.used) > budget {
                break;
            }
            total += h.used;
            let s = h.data_offset();
            want.push((bi, s..s + h.used));
        }
        if want.len() < 2 {
            return Ok(fetched); // nothing to batch
        }
        let ranges: Vec<std::ops::Range<u64>> = want.iter().map(|(_, r)| r.clone()).collect();
        let got = self.blocks.source().read_ranges(&ranges)?;
        if got.len() != want.len() {
            return Err(Error::node(
                &self.path,
                "byte source returned the wrong number of ranges",
            ));
        }
        for ((bi, r), g) in want.into_iter().zip(got) {
            if g.len() as u64 != r.end - r.start {
                return Err(Error::block(bi, r.start, "short read of a chunk block"));
            }
            fetched.insert(bi, g);
        }
        Ok(fetched)
    }

    /// The `.zarray` metadata.
    pub fn metadata(&self) -> &ArrayMetadataV2 {
        &self.meta
    }

    /// Where each chunk's Zarr-encoded bytes lie in the file, `(offset, length)`, in C order over
    /// the chunk grid; `None` for a chunk never written (it reads as the fill value).
    ///
    /// # Errors
    /// A chunk block that does not exist, or one compressed at the ASDF level (its stored bytes
    /// are then not the chunk's), named by its block index.
    pub fn chunk_ranges(&self) -> Result<Vec<Option<(u64, u64)>>> {
        self.map
            .iter()
            .map(|&b| {
                if b < 0 {
                    return Ok(None);
                }
                let bi = self.blocks.resolve(i64::from(b))?;
                let h = self.blocks.header(bi)?;
                if self.blocks.is_compressed(bi) {
                    return Err(Error::block(
                        bi,
                        h.data_offset(),
                        "chunk block compressed at the ASDF level",
                    ));
                }
                Ok(Some((h.data_offset(), h.used)))
            })
            .collect()
    }

    /// The codec name of the array: `zarr:` and the compressor id.
    pub(crate) fn codec(&self) -> Option<String> {
        self.meta
            .compressor
            .get("id")
            .and_then(|v| v.as_str())
            .map(|s| format!("zarr:{s}"))
    }
}

fn metadata_of(node: &Node, path: &str) -> Result<ArrayMetadataV2> {
    let za = node.get(".zarray").ok_or_else(|| {
        Error::node(
            path,
            "zarr node without .zarray (external storage is not supported)",
        )
    })?;
    ArrayMetadataV2::from_json(&za.to_json())
        .map_err(|e| Error::node(path, format!(".zarray: {e}")))
}

/// Shape, dtype and compressor id of a Zarr node, if its `.zarray` can be read.
pub(crate) fn zarr_info(node: &Node) -> Option<(Vec<u64>, DataType, Option<String>)> {
    let m = metadata_of(node, "").ok()?;
    let comp = m
        .compressor
        .get("id")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    Some((m.shape.clone(), m.dtype.clone(), comp))
}

/// Open the chunk storage of a Zarr-in-ASDF array.
pub(crate) fn open_zarr(node: &Node, path: &str, blocks: &Arc<Blocks>) -> Result<ZarrStorage> {
    let meta = metadata_of(node, path)?;
    let pipeline = meta
        .pipeline()
        .map_err(|e| Error::node(path, format!("zarr codecs: {e}")))?;
    let grid = ChunkGrid::new(meta.shape.clone(), meta.chunks.clone())?;
    let n = grid.num_chunks();
    let map_block = node
        .get("chunk_block_map")
        .and_then(|n| n.as_int())
        .and_then(|i| i64::try_from(i).ok())
        .ok_or_else(|| Error::node(path, "zarr node without an integer chunk_block_map"))?;
    let mb = blocks.resolve(map_block)?;
    let raw = blocks.data(mb)?;
    if (raw.len() as u64) != n.saturating_mul(4) {
        return Err(Error::node(
            path,
            format!("chunk_block_map has {} bytes for {n} chunks", raw.len()),
        ));
    }
    let map: Vec<i32> = raw
        .chunks_exact(4)
        .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let native = meta.dtype.to_native();
    let layout = ChunkedLayout {
        grid,
        elem_size: native.size(),
        order: meta.order,
        fill: meta.fill_value.clone().unwrap_or_default(),
    };
    Ok(ZarrStorage {
        pipeline,
        blocks: blocks.clone(),
        map,
        layout,
        path: path.to_string(),
        meta,
    })
}

/// Build the asdf-zarr node for `data`; its chunk blocks and its `chunk_block_map` block are
/// handed to `push_block`, which returns the number each block gets.
pub(crate) fn write_zarr(
    push_block: &mut dyn FnMut(Vec<u8>) -> usize,
    data: &ArrayBuf,
    chunks: &[u64],
    compressor: &serde_json::Value,
    fill: Option<f64>,
    path: &str,
) -> Result<Node> {
    let dt = data.dtype().clone();
    let mut meta = ArrayMetadataV2::new(data.shape().to_vec(), chunks.to_vec(), dt.clone())
        .map_err(|e| Error::node(path, e.to_string()))?;
    meta.compressor = compressor.clone();
    if let Some(f) = fill {
        meta.fill_value = Some(
            fill_bytes(&dt, f)
                .ok_or_else(|| Error::node(path, "fill value needs a numeric type"))?,
        );
    }
    let pipeline = meta
        .pipeline()
        .map_err(|e| Error::node(path, e.to_string()))?;
    let grid = ChunkGrid::new(meta.shape.clone(), meta.chunks.clone())?;
    let gshape = grid.grid_shape();
    let elem = dt.size();
    let mut map = Vec::new();
    let nchunks = grid.num_chunks();
    let mut idx = vec![0u64; gshape.len()];
    for _ in 0..nchunks {
        let r = grid.chunk_region(&idx);
        // full-size chunk, edge padded with the fill value
        let chunk_bytes = meta.chunk_bytes();
        let mut buf = vec![0u8; chunk_bytes];
        nd_core::array::fill_slice(&mut buf, meta.fill_value.as_deref().unwrap_or(&[]));
        nd_core::shape::copy_region(
            data.bytes(),
            data.shape(),
            nd_core::Order::C,
            &r,
            &mut buf,
            &meta.chunks,
            &vec![0; r.ndim()],
            elem,
        )?;
        if meta.is_fill_chunk(&buf) {
            map.push(-1i32);
        } else {
            let enc = meta
                .encode_chunk(&pipeline, &buf)
                .map_err(|e| Error::node(path, e.to_string()))?;
            map.push(push_block(enc) as i32);
        }
        nd_core::next_index(&mut idx, &gshape);
    }
    let map_bytes: Vec<u8> = map.iter().flat_map(|v| v.to_le_bytes()).collect();
    let mb = push_block(map_bytes);
    Ok(zarr_node(&meta, mb))
}

/// The asdf-zarr node of an array: its `.zarray` metadata and the number of its
/// `chunk_block_map` block.
pub(crate) fn zarr_node(meta: &ArrayMetadataV2, map_block: usize) -> Node {
    Node::tagged(
        ZARR_TAG_WRITE,
        Value::Map(thin_vec::thin_vec![
            (Node::str(".zarray"), Node::from_json(&meta.to_json())),
            (
                Node::str("chunk_block_map"),
                Node::new(Value::int(map_block as i128)),
            ),
        ]),
    )
}

/// The bytes of a numeric fill value in type `dt` (native byte order), `None` for other types.
pub(crate) fn fill_bytes(dt: &DataType, f: f64) -> Option<Vec<u8>> {
    Some(match dt {
        DataType::Int8 => (f as i8).to_ne_bytes().to_vec(),
        DataType::Int16 => (f as i16).to_ne_bytes().to_vec(),
        DataType::Int32 => (f as i32).to_ne_bytes().to_vec(),
        DataType::Int64 => (f as i64).to_ne_bytes().to_vec(),
        DataType::UInt8 => (f as u8).to_ne_bytes().to_vec(),
        DataType::UInt16 => (f as u16).to_ne_bytes().to_vec(),
        DataType::UInt32 => (f as u32).to_ne_bytes().to_vec(),
        DataType::UInt64 => (f as u64).to_ne_bytes().to_vec(),
        DataType::Float32 => (f as f32).to_ne_bytes().to_vec(),
        DataType::Float64 => f.to_ne_bytes().to_vec(),
        _ => return None,
    })
}
