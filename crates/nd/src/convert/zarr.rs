//! Zarr output: a directory store built under a temporary name and renamed into place.

use super::{default_chunks, fit_chunks, natural_chunks, open_table, ConvertArgs};
use crate::backend::{Backend, ConvertPlan};
use crate::error::{Error, Result};
use nd_core::io::TempDir;
use nd_core::{DirStore, Store};
use serde_json::{json, Value};
use std::sync::Arc;

/// Write every item of `plan` as a Zarr v2 array (a table as a group of column arrays).
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
    let store: Arc<dyn Store> = Arc::new(DirStore::open(building.path()).map_err(|e| dst_err(&e))?);
    if !single {
        nd_zarr::create_group(store.as_ref(), "", Some(&plan.meta)).map_err(|e| dst_err(&e))?;
    }
    let comp = compressor.unwrap_or_else(
        || json!({"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1, "blocksize": 0}),
    );
    for item in &plan.items {
        if let Some(spec) = &item.table {
            // a group holding one array per column, the table's metadata as its attributes
            let cols = open_table(ds, item, spec, a)?;
            nd_zarr::create_group(store.as_ref(), &item.name, Some(&item.meta))
                .map_err(|e| dst_err(&e))?;
            for (col, src) in cols {
                let mut meta = nd_zarr::ArrayMetadataV2::new(
                    src.shape().to_vec(),
                    default_chunks(src.shape(), src.dtype().size()),
                    src.dtype().clone(),
                )
                .map_err(|e| {
                    Error::input(format!(
                        "{}: table {:?} column {:?}: {e}",
                        a.dst, item.name, col.key
                    ))
                })?;
                meta.compressor = comp.clone();
                let path = format!("{}/{}", item.name, col.key);
                let z = nd_zarr::ZarrArray::create(store.clone(), &path, meta)
                    .map_err(|e| dst_err(&e))?;
                nd_ops::copy(&*src, &z, &a.opts)
                    .map_err(|e| Error::input(format!("{} -> {}: {path}: {e}", a.src, a.dst)))?;
            }
            continue;
        }
        let src = ds.open_array(&item.selector)?;
        let chunks = match &a.chunks {
            Some(c) => fit_chunks(c, src.shape(), &item.name)?,
            None => natural_chunks(&*src),
        };
        let mut meta =
            nd_zarr::ArrayMetadataV2::new(src.shape().to_vec(), chunks, src.dtype().clone())
                .map_err(|e| Error::input(format!("{}: array {:?}: {e}", a.dst, item.name)))?;
        meta.compressor = comp.clone();
        let path = if single { "" } else { item.name.as_str() };
        let mut z =
            nd_zarr::ZarrArray::create(store.clone(), path, meta).map_err(|e| dst_err(&e))?;
        if !item.meta.is_empty() {
            z.set_attributes(item.meta.clone())
                .map_err(|e| dst_err(&e))?;
        }
        nd_ops::copy(&*src, &z, &a.opts)
            .map_err(|e| Error::input(format!("{} -> {}: {}: {e}", a.src, a.dst, item.name)))?;
    }
    if !single {
        nd_zarr::write_consolidated(store).map_err(|e| dst_err(&e))?;
    }
    building.commit(a.force).map_err(|e| dst_err(&e))?;
    Ok(())
}
