//! ASDF ndarrays as Zarr arrays whose chunks are byte ranges of the file's blocks.
//!
//! - An uncompressed block: chunks of whole rows/planes, as FITS images, in the array's own
//!   byte order (`byteorder: big` → `>f8`).
//! - A compressed block: one chunk, the block's stored bytes, with the numcodecs codec that
//!   decodes python asdf's framing: `zlib` (one zlib stream), `bz2` (bzip2 streams), `lz4`
//!   (a block of one frame: the reference skips the frame's 4-byte big-endian length, leaving
//!   exactly numcodecs' `[u32 LE size][LZ4 block]`); an lz4 block of several frames needs nd's
//!   codec [`ND_ASDF_LZ4`].
//! - Inline data: one chunk given inline (native byte order), up to [`INLINE_MAX`] bytes.
//! - Zarr-in-ASDF (asdf-zarr): the array's own `.zarray`, each chunk block one chunk.
//!
//! The Zarr path is the tree path; an array below another array (`x/mask`) is named with `_`
//! (`x_mask`), since a Zarr array cannot hold children.

use super::{ArraySpec, Builder, ND_ASDF_LZ4};
use crate::convert::dims;
use crate::error::{Error, Result};
use crate::Dataset;
use nd_asdf::ndarray::{parse_ndarray, Mask};
use nd_asdf::{AsdfFile, StorageKind};
use nd_core::{ArrayRead, DataType};
use serde_json::{json, Map, Value};

/// Largest inline array given inline in the references (bytes).
pub(crate) const INLINE_MAX: u64 = 1 << 20;

pub(super) fn build(ds: &Dataset, f: &AsdfFile, b: &mut Builder) -> Result<()> {
    let file = ds.path();
    let arrays = f.arrays();
    let paths: Vec<&str> = arrays.iter().map(|(p, _)| p.as_str()).collect();
    // the tree's other parts as root attributes
    if let Some(entries) = f.tree().as_map() {
        for (k, v) in entries {
            let Some(k) = k.key_string() else { continue };
            let holds_array = paths
                .iter()
                .any(|p| *p == k || p.starts_with(&format!("{k}/")));
            if !holds_array {
                b.root_attrs().insert(k, v.to_json());
            }
        }
    }
    let blocks = f.blocks().clone();
    let src = blocks.source().clone();
    let file_len = src.len();
    let mut groups = dims::Groups::default();
    for (path, info) in &arrays {
        let what = format!("array {path:?}");
        let name = zarr_name(path, &paths);
        let Some(shape) = info.shape.clone() else {
            b.skip(format!("{what}: its shape is not known; not mapped"));
            continue;
        };
        if let DataType::Struct(_) = info.dtype {
            b.skip(format!(
                "{what}: a structured (record) type; not mapped (xarray has no record variables)"
            ));
            continue;
        }
        let names = dims::names(&Map::new(), shape.len(), false);
        let mut attrs = Map::new();
        attrs.insert(
            "_ARRAY_DIMENSIONS".into(),
            json!(groups.place(&name, &shape, names)),
        );
        attrs.insert("asdf_tag".into(), json!(info.tag));
        if name != *path {
            attrs.insert("asdf_path".into(), json!(path));
        }
        match &info.storage {
            StorageKind::Block(bi) => {
                let node = f
                    .tree()
                    .get_path(path)
                    .ok_or_else(|| Error::input(format!("{file}: {what}: not in the tree")))?;
                let meta =
                    parse_ndarray(node, path).map_err(|e| Error::input(format!("{file}: {e}")))?;
                let Ok(h) = blocks.header(*bi) else {
                    b.skip(format!("{what}: its block does not exist; not mapped"));
                    continue;
                };
                if let Some(Mask::Scalar(v)) = meta.mask {
                    // asdf gives a masked array; the references give its values
                    attrs.insert("asdf_mask_value".into(), super::attr_json_f64(v));
                }
                let elem = meta.dtype.size() as u64;
                let nbytes = shape.iter().product::<u64>() * elem;
                let c_strides = nd_core::byte_strides(&shape, nd_core::Order::C, elem as usize);
                // strides of length-1 axes do not matter
                let contiguous = meta.strides.as_ref().is_none_or(|s| {
                    s.len() == shape.len()
                        && s.iter()
                            .zip(&c_strides)
                            .zip(&shape)
                            .all(|((a, c), &d)| d <= 1 || a == c)
                });
                if !contiguous {
                    b.skip(format!(
                        "{what}: strided view of block {bi} (strides {:?}): a chunk reference is one contiguous byte range; not mapped",
                        meta.strides.unwrap_or_default()
                    ));
                    continue;
                }
                if meta.offset.saturating_add(nbytes) > h.decoded_len() {
                    b.skip(format!(
                        "{what}: extends past the end of block {bi}; not mapped"
                    ));
                    continue;
                }
                let dtype = meta.dtype.typestr(meta.endian);
                let Some(codec) = h.compression_name() else {
                    let rd = src.clone();
                    let read = move |off: u64, len: u64| -> Result<Vec<u8>> {
                        rd.read_range(off..off + len)
                            .map(|b| b.to_vec())
                            .map_err(|e| Error::input(e.to_string()))
                    };
                    let start = h.data_offset() + meta.offset;
                    let Some(chunks) = b.contiguous(&name, &shape, elem, start, file_len, &read)?
                    else {
                        b.skip(format!(
                            "{what}: block {bi} does not lie within the file; not mapped"
                        ));
                        continue;
                    };
                    b.array(ArraySpec {
                        path: name,
                        shape,
                        chunks,
                        dtype,
                        compressor: None,
                        filters: None,
                        fill_value: Value::Null,
                        attrs,
                    });
                    continue;
                };
                if meta.offset != 0 || nbytes != h.data_size {
                    b.skip(format!(
                        "{what}: a part of compressed block {bi} ({codec}); a chunk must be a whole compressed stream; not mapped"
                    ));
                    continue;
                }
                let (mut offset, mut length) = (h.data_offset(), h.used);
                let compressor = match codec.as_str() {
                    "zlib" => json!({"id": "zlib", "level": 1}),
                    "bzp2" => json!({"id": "bz2", "level": 1}),
                    "lz4" => {
                        let head = src
                            .read_range(offset..offset + 4.min(length))
                            .map_err(|e| Error::input(format!("{file}: block {bi}: {e}")))?;
                        let first = <[u8; 4]>::try_from(&head[..]).map(u32::from_be_bytes).ok();
                        if first.is_some_and(|n| u64::from(n) + 4 == length) {
                            offset += 4;
                            length -= 4;
                            json!({"id": "lz4", "acceleration": 1})
                        } else {
                            json!({"id": ND_ASDF_LZ4})
                        }
                    }
                    other => {
                        b.skip(format!(
                            "{what}: block {bi} compressed with {other:?}, which no numcodecs codec decodes; not mapped"
                        ));
                        continue;
                    }
                };
                let chunks: Vec<u64> = shape.iter().map(|&d| d.max(1)).collect();
                if nbytes > 0 {
                    b.range(&name, &chunk_key(shape.len()), offset, length);
                }
                b.array(ArraySpec {
                    path: name,
                    shape,
                    chunks,
                    dtype,
                    compressor: Some(compressor),
                    filters: None,
                    fill_value: Value::Null,
                    attrs,
                });
            }
            StorageKind::Inline => {
                let nbytes = shape.iter().product::<u64>() * info.dtype.size() as u64;
                if nbytes > INLINE_MAX {
                    b.skip(format!(
                        "{what}: inline data of {nbytes} bytes (more than {INLINE_MAX} are not copied into references); not mapped"
                    ));
                    continue;
                }
                let a = f
                    .array(path)
                    .map_err(|e| Error::input(format!("{file}: {e}")))?;
                let buf = a
                    .read_all()
                    .map_err(|e| Error::input(format!("{file}: {what}: {e}")))?;
                let dtype = crate::backend::typestr(buf.dtype());
                let chunks: Vec<u64> = shape.iter().map(|&d| d.max(1)).collect();
                if nbytes > 0 {
                    b.bytes(&name, &chunk_key(shape.len()), buf.bytes().to_vec());
                }
                b.array(ArraySpec {
                    path: name,
                    shape,
                    chunks,
                    dtype,
                    compressor: None,
                    filters: None,
                    fill_value: Value::Null,
                    attrs,
                });
            }
            StorageKind::External(uri) => b.skip(format!(
                "{what}: exploded storage (values in {uri:?}); not mapped"
            )),
            StorageKind::Zarr => zarr_chunks(f, path, name, shape, attrs, b)?,
        }
    }
    Ok(())
}

/// A Zarr-in-ASDF array (asdf-zarr's internal storage): its own `.zarray` (codecs, fill value),
/// each chunk block one chunk, a chunk never written left out (it reads as the fill value).
fn zarr_chunks(
    f: &AsdfFile,
    path: &str,
    name: String,
    shape: Vec<u64>,
    attrs: Map<String, Value>,
    b: &mut Builder,
) -> Result<()> {
    let what = format!("array {path:?}");
    let a = f
        .array(path)
        .map_err(|e| Error::input(format!("{what}: {e}")))?;
    let (Some(z), Some(node)) = (a.zarr_storage(), f.tree().get_path(path)) else {
        b.skip(format!("{what}: not a Zarr-in-ASDF array; not mapped"));
        return Ok(());
    };
    let meta = z.metadata();
    if meta.order != nd_core::Order::C {
        b.skip(format!(
            "{what}: Zarr chunks in Fortran order (no v3 form in references); not mapped"
        ));
        return Ok(());
    }
    let ranges = match z.chunk_ranges() {
        Ok(r) => r,
        Err(e) => {
            b.skip(format!("{what}: {e}; not mapped"));
            return Ok(());
        }
    };
    let zarray = node.get(".zarray").map(|n| n.to_json()).unwrap_or_default();
    let Some(dtype) = zarray["dtype"].as_str().map(str::to_string) else {
        b.skip(format!("{what}: .zarray dtype is not a string; not mapped"));
        return Ok(());
    };
    let counts: Vec<u64> = shape
        .iter()
        .zip(&meta.chunks)
        .map(|(&d, &c)| d.div_ceil(c.max(1)))
        .collect();
    for (lin, r) in ranges.iter().enumerate() {
        let Some((offset, length)) = *r else { continue };
        let mut rest = lin as u64;
        let mut idx = vec![0u64; counts.len()];
        for (i, &n) in counts.iter().enumerate().rev() {
            idx[i] = rest % n.max(1);
            rest /= n.max(1);
        }
        let key = if idx.is_empty() {
            "0".to_string()
        } else {
            idx.iter().map(u64::to_string).collect::<Vec<_>>().join(".")
        };
        b.range(&name, &key, offset, length);
    }
    b.array(ArraySpec {
        path: name,
        shape,
        chunks: meta.chunks.clone(),
        dtype,
        compressor: Some(zarray["compressor"].clone()).filter(|c| !c.is_null()),
        filters: zarray["filters"].as_array().cloned(),
        fill_value: zarray["fill_value"].clone(),
        attrs,
    });
    Ok(())
}

/// The key of the one chunk of an array of `ndim` axes.
fn chunk_key(ndim: usize) -> String {
    if ndim == 0 {
        "0".into()
    } else {
        vec!["0"; ndim].join(".")
    }
}

/// The Zarr path of the array at tree path `path`: the same, except that below another array
/// the rest is joined with `_` (`x/mask` → `x_mask`).
fn zarr_name(path: &str, all: &[&str]) -> String {
    let parent = all
        .iter()
        .filter(|p| **p != path && path.starts_with(&format!("{p}/")))
        .max_by_key(|p| p.len());
    match parent {
        Some(p) => format!(
            "{}_{}",
            zarr_name(p, all),
            path[p.len() + 1..].replace('/', "_")
        ),
        None => path.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_below_arrays() {
        let all = ["a", "a/mask", "b/c", "a/x/y"];
        assert_eq!(zarr_name("a/mask", &all), "a_mask");
        assert_eq!(zarr_name("a/x/y", &all), "a_x_y");
        assert_eq!(zarr_name("b/c", &all), "b/c");
    }
}
