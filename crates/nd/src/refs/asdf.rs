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
use nd_asdf::{ArrayMask, AsdfArray, AsdfFile, StorageKind};
use nd_codecs::zarr_v2::descr_to_json;
use nd_core::{ArrayRead, DataType, Endian};
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
    for (_, e) in f.unreadable_arrays() {
        b.skip(format!("{e}; not mapped"));
    }
    let mut groups = dims::Groups::default();
    for (path, info) in &arrays {
        let what = format!("array {path:?}");
        let name = zarr_name(path, &paths);
        let Some(mut shape) = info.shape.clone() else {
            b.skip(format!("{what}: its shape is not known; not mapped"));
            continue;
        };
        // a mask array as python asdf gives it, `numpy.ma.getmaskarray` of its array: fitted to
        // the array's shape (reshaped, or one element repeated)
        let parent = path.strip_suffix("/mask").and_then(|p| f.array(p).ok());
        let fitted = match parent.as_ref().and_then(|p| p.array_mask()) {
            Some(ArrayMask::Array(m)) if m.shape() != shape.as_slice() => {
                shape = m.shape().to_vec();
                match one_element_mask(m, &info.shape) {
                    Some(v) => Fitted::Constant(
                        v.map_err(|e| Error::input(format!("{file}: {what}: {e}")))?,
                    ),
                    None => Fitted::Reshaped(Box::new(m.clone())),
                }
            }
            Some(ArrayMask::Constant(v)) => {
                shape = parent.as_ref().map(|p| p.shape().to_vec()).unwrap_or(shape);
                Fitted::Constant(v)
            }
            _ => Fitted::AsStored,
        };
        let names = dims::names(&Map::new(), shape.len(), false);
        let mut attrs = Map::new();
        attrs.insert(
            "_ARRAY_DIMENSIONS".into(),
            json!(groups.place(&name, &shape, names)),
        );
        attrs.insert("asdf_tag".into(), json!(&*info.tag));
        if name != *path {
            attrs.insert("asdf_path".into(), json!(path));
        }
        let fitted = match fitted {
            Fitted::Constant(v) => {
                // every element masked or none: one chunk of the repeated value, given inline as
                // inline arrays are (a fill value instead would make xarray mask the values and
                // hand out objects)
                // (a shape whose count overflows is over the bound too)
                let n = shape
                    .iter()
                    .try_fold(1u64, |a, &d| a.checked_mul(d))
                    .unwrap_or(u64::MAX);
                if n > INLINE_MAX {
                    b.skip(format!(
                        "{what}: a one-element mask repeated over {n} elements (more than {INLINE_MAX} are not copied into references); not mapped"
                    ));
                    continue;
                }
                if n > 0 {
                    b.bytes(
                        &name,
                        &chunk_key(shape.len()),
                        vec![u8::from(v); n as usize],
                    );
                }
                b.array(ArraySpec {
                    path: name,
                    chunks: shape.iter().map(|&d| d.max(1)).collect(),
                    shape,
                    dtype: "|b1".into(),
                    compressor: None,
                    filters: None,
                    fill_value: Value::Null,
                    attrs,
                });
                continue;
            }
            Fitted::Reshaped(m) => Some(*m),
            Fitted::AsStored => None,
        };
        match &info.storage {
            StorageKind::Block(_) | StorageKind::External(_) => {
                block_array(f, path, fitted, name, shape, attrs, &info.storage, b)?
            }
            StorageKind::Inline => {
                let nbytes = shape.iter().product::<u64>() * info.dtype.size() as u64;
                if nbytes > INLINE_MAX {
                    b.skip(format!(
                        "{what}: inline data of {nbytes} bytes (more than {INLINE_MAX} are not copied into references); not mapped"
                    ));
                    continue;
                }
                let a = match fitted {
                    Some(m) => m,
                    None => f
                        .array(path)
                        .map_err(|e| Error::input(format!("{file}: {e}")))?,
                };
                let buf = a
                    .read_all()
                    .map_err(|e| Error::input(format!("{file}: {what}: {e}")))?;
                let dtype = match buf.dtype() {
                    DataType::Struct(_) => descr_to_json(&buf.dtype().to_descr(Endian::NATIVE)),
                    other => crate::backend::typestr(other).into(),
                };
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
            StorageKind::Zarr => zarr_chunks(f, path, name, shape, attrs, b)?,
        }
    }
    Ok(())
}

/// An ndarray whose values are a view into a block: of this file, or the first block of
/// another file (exploded storage, `source: name0000.asdf`, referenced as the file beside this
/// one). A C-contiguous view of an uncompressed block is chunked like a FITS image; a whole
/// compressed block is one chunk with the codec of its compression; any other view of an
/// uncompressed block (strides, negative strides, Fortran order) goes through
/// [`super::ND_ASDF_STRIDED`], a chunk being the span of its elements.
#[allow(clippy::too_many_arguments)]
fn block_array(
    f: &AsdfFile,
    path: &str,
    fitted: Option<AsdfArray>,
    name: String,
    shape: Vec<u64>,
    mut attrs: Map<String, Value>,
    storage: &StorageKind,
    b: &mut Builder,
) -> Result<()> {
    let what = format!("array {path:?}");
    let node = f
        .tree()
        .get_path(path)
        .ok_or_else(|| Error::input(format!("{what}: not in the tree")))?;
    let meta = parse_ndarray(node, path).map_err(|e| Error::input(e.to_string()))?;
    // the file that holds the block: this one, or a sibling named by a relative `source`
    let external = match storage {
        StorageKind::External(uri) => match external_name(uri) {
            Ok(rel) => Some((uri.as_str(), rel)),
            Err(why) => {
                b.skip(format!(
                    "{what}: exploded storage in {uri:?}: {why}; not mapped"
                ));
                return Ok(());
            }
        },
        _ => None,
    };
    let a = match fitted.map(Ok).unwrap_or_else(|| f.array(path)) {
        Ok(a) => a,
        Err(e) => {
            b.skip(format!("{what}: {e}; not mapped"));
            return Ok(());
        }
    };
    let Some(view) = a.block_view() else {
        b.skip(format!("{what}: not a view of a block; not mapped"));
        return Ok(());
    };
    let blocks = view.blocks().clone();
    let bi = view.block();
    let block = match external {
        Some((uri, _)) => format!("the block of {uri:?}"),
        None => format!("block {bi}"),
    };
    let Ok(h) = blocks.header(bi) else {
        b.skip(format!("{what}: {block} does not exist; not mapped"));
        return Ok(());
    };
    let file = match external {
        Some((_, rel)) => b.sibling(rel),
        None => 0,
    };
    let src = blocks.source().clone();
    let file_len = src.len();
    if let Some(Mask::Scalar(v)) = meta.mask {
        // asdf gives a masked array; the references give its values
        attrs.insert("asdf_mask_value".into(), super::attr_json_f64(v));
    }
    let elem = meta.dtype.size() as u64;
    let nbytes = shape.iter().product::<u64>() * elem;
    let c_strides = nd_core::byte_strides(&shape, nd_core::Order::C, elem as usize);
    // strides of length-1 axes do not matter
    let contiguous = view.strides().len() == shape.len()
        && view
            .strides()
            .iter()
            .zip(&c_strides)
            .zip(&shape)
            .all(|((a, c), &d)| d <= 1 || a == c);
    let dtype = descr_to_json(&meta.dtype.to_descr(meta.endian));
    let spec = |chunks: Vec<u64>, compressor: Option<Value>, attrs| ArraySpec {
        path: name.clone(),
        shape: shape.clone(),
        chunks,
        dtype: dtype.clone(),
        compressor,
        filters: None,
        fill_value: Value::Null,
        attrs,
    };
    let codec = h.compression_name();
    if !contiguous || view.offset().saturating_add(nbytes) > h.decoded_len() {
        if let Some(codec) = codec {
            b.skip(format!(
                "{what}: a strided view (strides {:?}, offset {}) of compressed {block} ({codec}); a chunk must be a whole compressed stream; not mapped",
                view.strides(),
                view.offset()
            ));
            return Ok(());
        }
        let plan = super::strided::plan(&shape, view.strides(), view.offset(), elem, b.chunk_bytes);
        let Some(plan) = plan.filter(|p| {
            p.refs
                .iter()
                .all(|r| h.data_offset() + r.offset + r.length <= file_len)
        }) else {
            b.skip(format!(
                "{what}: a strided view of {block} that does not lie within the file; not mapped"
            ));
            return Ok(());
        };
        for r in &plan.refs {
            b.range_in(file, &name, &r.key, h.data_offset() + r.offset, r.length);
        }
        b.array(spec(plan.chunks, Some(plan.config), attrs));
        return Ok(());
    }
    let Some(codec) = codec else {
        let rd = src.clone();
        let read = move |off: u64, len: u64| -> Result<Vec<u8>> {
            rd.read_range(off..off + len)
                .map(|b| b.to_vec())
                .map_err(|e| Error::input(e.to_string()))
        };
        let start = h.data_offset() + view.offset();
        let Some(chunks) = b.contiguous(file, &name, &shape, elem, start, file_len, &read)? else {
            b.skip(format!(
                "{what}: {block} does not lie within the file; not mapped"
            ));
            return Ok(());
        };
        b.array(spec(chunks, None, attrs));
        return Ok(());
    };
    if view.offset() != 0 || nbytes != h.data_size {
        b.skip(format!(
            "{what}: a part of compressed {block} ({codec}); a chunk must be a whole compressed stream; not mapped"
        ));
        return Ok(());
    }
    let (mut offset, mut length) = (h.data_offset(), h.used);
    let compressor = match codec.as_str() {
        "zlib" => json!({"id": "zlib", "level": 1}),
        "bzp2" => json!({"id": "bz2", "level": 1}),
        "lz4" => {
            let head = src
                .read_range(offset..offset + 4.min(length))
                .map_err(|e| Error::input(format!("{block}: {e}")))?;
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
                "{what}: {block} compressed with {other:?}, which no numcodecs codec decodes; not mapped"
            ));
            return Ok(());
        }
    };
    let chunks: Vec<u64> = shape.iter().map(|&d| d.max(1)).collect();
    if nbytes > 0 {
        b.range_in(file, &name, &chunk_key(shape.len()), offset, length);
    }
    b.array(spec(chunks, Some(compressor), attrs));
    Ok(())
}

/// A mask array as its array's references give it.
enum Fitted {
    /// As the mask node stores it (its shape is the array's).
    AsStored,
    /// Reshaped to the array's shape (as many elements, stored contiguously).
    Reshaped(Box<AsdfArray>),
    /// One element repeated: every element masked or none.
    Constant(bool),
}

/// The value of a one-element mask (a mask node of `stored` shape with one element, fitted to a
/// larger array by repetition): `true` when its element has a non-zero byte; `None` for a
/// mask of more elements.
fn one_element_mask(m: &AsdfArray, stored: &Option<Vec<u64>>) -> Option<nd_core::Result<bool>> {
    let count = |s: &[u64]| s.iter().try_fold(1u64, |a, &d| a.checked_mul(d));
    let one = count(stored.as_ref()?) == Some(1) && count(m.shape()) != Some(1);
    one.then(|| {
        let first = nd_core::Region::new(m.shape().iter().map(|_| 0..1).collect());
        m.read_region(&first)
            .map(|b| b.bytes().iter().any(|&x| x != 0))
    })
}

/// The file name of an exploded array's `source` (`name0000.asdf`, `file://name0000.asdf`):
/// a relative name inside the ASDF file's directory, or why it is not one.
fn external_name(uri: &str) -> std::result::Result<&str, &'static str> {
    let rel = uri.strip_prefix("file://").unwrap_or(uri);
    if rel.contains("://") {
        Err("a URL, not a file beside the ASDF file")
    } else if rel.starts_with('/') || rel.starts_with('\\') || rel.get(1..2) == Some(":") {
        Err("an absolute path, not a file beside the ASDF file")
    } else if rel.is_empty() || rel.split(['/', '\\']).any(|s| s == "..") {
        Err("a path that leaves the ASDF file's directory")
    } else {
        Ok(rel)
    }
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
        dtype: dtype.into(),
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
