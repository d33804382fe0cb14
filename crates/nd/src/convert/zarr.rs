//! Zarr output (v2, or v3 with optional sharding): a directory store built under a temporary
//! name and renamed into place. Every array carries dimension names (see [`super::dims`]).

use super::dims::{self, Groups};
use super::{default_chunks, fit_chunks, natural_chunks, open_table, ConvertArgs};
use crate::backend::{Backend, ConvertPlan};
use crate::error::{Error, Result};
use nd_core::io::TempDir;
use nd_core::{ArrayRead, ArrayWrite, DataType, DirStore, Store};
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// The chunking of one array: chunks, or shards of inner chunks (Zarr v3).
enum Grid {
    Chunks(Vec<u64>),
    Sharded { shard: Vec<u64>, inner: Vec<u64> },
}

/// How the arrays of one conversion are written.
struct Writer<'a> {
    store: Arc<dyn Store>,
    /// 2 or 3.
    format: u8,
    /// The numcodecs compressor config (`null`: none).
    comp: Value,
    a: &'a ConvertArgs<'a>,
}

/// Inner chunks for a shard when `--chunks` is not given: the shard halved axis by axis (only
/// even extents, so the halves divide it), slowest first, until an inner chunk is at most 1 MiB.
fn inner_of_shard(shard: &[u64], elem: usize) -> Vec<u64> {
    let mut c = shard.to_vec();
    let bytes = |c: &[u64]| c.iter().fold(elem.max(1) as u128, |a, &d| a * d as u128);
    let mut ax = 0;
    let mut stuck = 0;
    while bytes(&c) > 1 << 20 && stuck < c.len() {
        if c[ax] > 1 && c[ax].is_multiple_of(2) {
            c[ax] /= 2;
            stuck = 0;
        } else {
            stuck += 1;
        }
        ax = (ax + 1) % c.len().max(1);
    }
    c
}

/// The (shard, inner chunk) shapes of a sharded array of `shape`.
fn shard_layout(
    shards: &[u64],
    chunks: Option<&[u64]>,
    shape: &[u64],
    elem: usize,
    name: &str,
) -> Result<(Vec<u64>, Vec<u64>)> {
    if shards.len() != shape.len() || shards.contains(&0) {
        return Err(Error::input(format!(
            "--shards {} does not fit array '{name}' of shape {} (one positive extent per axis)",
            nd_core::fmt_shape(shards.iter()),
            nd_core::fmt_shape(shape.iter())
        )));
    }
    match chunks {
        None => {
            let shard: Vec<u64> = shards
                .iter()
                .zip(shape)
                .map(|(&s, &n)| s.min(n.max(1)))
                .collect();
            let inner = inner_of_shard(&shard, elem);
            Ok((shard, inner))
        }
        Some(c) => {
            let inner = fit_chunks(c, shape, name)?;
            if shards.iter().zip(c).any(|(s, c)| s % c != 0) {
                return Err(Error::input(format!(
                    "--shards {} is not a multiple of --chunks {} (inner chunks must divide shards)",
                    nd_core::fmt_shape(shards.iter()),
                    nd_core::fmt_shape(c.iter())
                )));
            }
            // a shard no larger than the array rounded up to whole inner chunks
            let shard = shards
                .iter()
                .zip(shape)
                .zip(&inner)
                .map(|((&s, &n), &c)| s.min(n.max(1).div_ceil(c) * c))
                .collect();
            Ok((shard, inner))
        }
    }
}

/// The v2 fill value xarray writes: NaN for floats, none (`null`) otherwise. xarray reads a v2
/// `fill_value` as `_FillValue` and masks it, so a fill of 0 would turn every real 0 into NaN (and
/// integers into floats); NaN masks only NaN. nd writes every chunk, so the fill value never
/// stands for data (with `null`, even all-zero chunks are stored).
fn xarray_v2_fill(dt: &DataType) -> Option<Vec<u8>> {
    match dt {
        DataType::Float16 => Some(half::f16::NAN.to_ne_bytes().to_vec()),
        DataType::Float32 => Some(f32::NAN.to_ne_bytes().to_vec()),
        DataType::Float64 => Some(f64::NAN.to_ne_bytes().to_vec()),
        _ => None,
    }
}

impl Writer<'_> {
    fn dst_err(&self, e: &dyn std::fmt::Display) -> Error {
        Error::input(format!("{}: {e}", self.a.dst))
    }

    fn group(&self, path: &str, attrs: &Map<String, Value>) -> Result<()> {
        let r = if self.format == 3 {
            nd_zarr::v3::create_group(self.store.as_ref(), path, Some(attrs))
        } else {
            nd_zarr::create_group(self.store.as_ref(), path, Some(attrs))
        };
        r.map_err(|e| self.dst_err(&e))
    }

    /// Create the array at `path` with `attrs` and dimension names `dims`.
    fn array(
        &self,
        path: &str,
        name: &str,
        src: &dyn ArrayRead,
        grid: Grid,
        attrs: &Map<String, Value>,
        dims: Vec<String>,
    ) -> Result<Box<dyn ArrayWrite>> {
        let bad = |e: &dyn std::fmt::Display| {
            Error::input(format!("{}: array '{name}': {e}", self.a.dst))
        };
        let shape = src.shape().to_vec();
        let dt: DataType = src.dtype().clone();
        let mut attrs = attrs.clone();
        if self.format == 2 {
            let Grid::Chunks(chunks) = grid else {
                return Err(bad(&"shards need Zarr v3"));
            };
            attrs.insert("_ARRAY_DIMENSIONS".into(), json!(dims));
            let mut meta = nd_zarr::ArrayMetadataV2::new(shape, chunks, dt).map_err(|e| bad(&e))?;
            meta.compressor = self.comp.clone();
            meta.fill_value = xarray_v2_fill(&meta.dtype);
            let mut z = nd_zarr::ZarrArray::create(self.store.clone(), path, meta)
                .map_err(|e| self.dst_err(&e))?;
            z.set_attributes(attrs).map_err(|e| self.dst_err(&e))?;
            return Ok(Box::new(z));
        }
        // v3: the names go to dimension_names, not to an attribute
        attrs.remove("_ARRAY_DIMENSIONS");
        let b2b: Vec<Value> = nd_zarr::v3::compressor_from_v2(&self.comp, &dt)
            .map_err(|e| {
                Error::input(format!(
                    "--compressor {}: {e}",
                    self.a.compressor.unwrap_or("")
                ))
            })?
            .into_iter()
            .collect();
        let (grid, codecs) = match grid {
            Grid::Sharded { shard, inner } => {
                (shard, nd_zarr::v3::sharded_chain_json(&dt, &inner, &b2b))
            }
            Grid::Chunks(chunks) => (chunks, nd_zarr::v3::chain_json(&dt, &b2b)),
        };
        let mut meta =
            nd_zarr::ArrayMetadataV3::new(shape, grid, dt, codecs).map_err(|e| bad(&e))?;
        meta.dimension_names = Some(dims.into_iter().map(Some).collect());
        meta.attributes = attrs;
        let z = nd_zarr::ZarrArrayV3::create(self.store.clone(), path, meta)
            .map_err(|e| self.dst_err(&e))?;
        Ok(Box::new(z))
    }
}

/// Write every item of `plan` as a Zarr array (v2 or v3 as asked; a table as a group of column
/// arrays), with dimension names.
pub(super) fn convert_to_zarr(
    ds: &dyn Backend,
    plan: &ConvertPlan,
    single: bool,
    a: &ConvertArgs,
    compressor: Option<Value>,
) -> Result<()> {
    let dst_err = |e: &dyn std::fmt::Display| Error::input(format!("{}: {e}", a.dst));
    // built under a temporary name, renamed into place when complete
    let building = TempDir::new(a.dst).map_err(|e| dst_err(&e))?;
    // values are not synced one by one: the commit syncs the tree once
    let store: Arc<dyn Store> = Arc::new(DirStore::staging(&building).map_err(|e| dst_err(&e))?);
    // the writers' defaults: zarr-python 2's blosc lz4 + shuffle, zarr-python 3's zstd
    let comp = compressor.unwrap_or_else(|| {
        if a.zarr_format == 3 {
            json!({"id": "zstd", "level": 0})
        } else {
            json!({"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1, "blocksize": 0})
        }
    });
    let w = Writer {
        store: store.clone(),
        format: a.zarr_format,
        comp,
        a,
    };
    if !single {
        w.group("", &plan.meta)?;
    }
    let mut groups = Groups::default();
    for item in &plan.items {
        if let Some(spec) = &item.table {
            // a group holding one array per column, the table's metadata as its attributes
            let cols = open_table(ds, spec)?;
            w.group(&item.name, &item.meta)?;
            for (col, src) in cols {
                let path = format!("{}/{}", item.name, col.key);
                let d = dims::names(&Map::new(), src.shape().len(), false);
                let d = groups.place(&path, src.shape(), d);
                let chunks = default_chunks(src.shape(), src.dtype().size());
                let z = w.array(&path, &path, &*src, Grid::Chunks(chunks), &Map::new(), d)?;
                nd_ops::copy(&*src, &*z, &a.opts)
                    .map_err(|e| Error::input(format!("{} -> {}: {path}: {e}", a.src, a.dst)))?;
            }
            continue;
        }
        let src = ds.open_array(&item.selector)?;
        let shape = src.shape().to_vec();
        let grid = match &a.shards {
            Some(s) => {
                let (shard, inner) = shard_layout(
                    s,
                    a.chunks.as_deref(),
                    &shape,
                    src.dtype().size(),
                    &item.name,
                )?;
                Grid::Sharded { shard, inner }
            }
            None => Grid::Chunks(match &a.chunks {
                Some(c) => fit_chunks(c, &shape, &item.name)?,
                None => natural_chunks(&*src),
            }),
        };
        let path = if single { "" } else { item.name.as_str() };
        let d = dims::names(&item.meta, shape.len(), true);
        let d = groups.place(path, &shape, d);
        let z = w.array(path, &item.name, &*src, grid, &item.meta, d)?;
        nd_ops::copy(&*src, &*z, &a.opts)
            .map_err(|e| Error::input(format!("{} -> {}: {}: {e}", a.src, a.dst, item.name)))?;
    }
    if !single {
        let r = if a.zarr_format == 3 {
            nd_zarr::v3::write_consolidated(store.as_ref())
        } else {
            nd_zarr::write_consolidated(store).map(|_| ())
        };
        r.map_err(|e| dst_err(&e))?;
    }
    building.commit(a.force).map_err(|e| dst_err(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_layouts() {
        // inner chunks of --chunks, shards cut to the array rounded up to whole inner chunks
        let (s, c) = shard_layout(&[64, 64], Some(&[16, 16]), &[100, 40], 4, "a").unwrap();
        assert_eq!((s, c), (vec![64, 48], vec![16, 16]));
        assert!(shard_layout(&[64, 64], Some(&[24, 16]), &[100, 40], 4, "a").is_err());
        assert!(shard_layout(&[64], None, &[100, 40], 4, "a").is_err());
        // no --chunks: the shard halved until an inner chunk is at most 1 MiB
        let (s, c) = shard_layout(&[4096, 4096], None, &[10000, 3000], 4, "a").unwrap();
        assert_eq!(s, vec![4096, 3000]);
        assert!(c.iter().product::<u64>() * 4 <= 1 << 20);
        assert!(s.iter().zip(&c).all(|(s, c)| s % c == 0));
    }
}
