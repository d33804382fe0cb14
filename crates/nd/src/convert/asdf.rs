//! ASDF output: blocks preallocated and streamed into (or asdf-zarr chunks), compressed blocks
//! built in memory within the budget.

use super::{fit_chunks, natural_chunks, open_table, ConvertArgs};
use crate::backend::{Backend, ConvertPlan};
use crate::error::{Error, Result};
use nd_core::ArrayRead;
use serde_json::Value;

pub(super) fn convert_to_asdf(
    ds: &dyn Backend,
    plan: &ConvertPlan,
    single: bool,
    a: &ConvertArgs,
    compressor: Option<&Value>,
) -> Result<()> {
    use nd_asdf::{ArrayOptions, AsdfWriter, Compression, Node};
    let dst = a.dst;
    let dst_err = |e: &dyn std::fmt::Display| Error::input(format!("{dst}: {e}"));
    // zlib / bz2 / lz4 compress whole blocks (held in memory); other compressors write the
    // asdf-zarr layout chunk by chunk; none streams into preallocated blocks.
    let block_comp = match compressor
        .and_then(|v| v.get("id"))
        .and_then(|i| i.as_str())
    {
        Some("zlib") => Some(Compression::Zlib),
        Some("bz2") => Some(Compression::Bzip2),
        Some("lz4") => Some(Compression::Lz4),
        _ => None,
    };
    let zarr_comp = match compressor {
        Some(v) if !v.is_null() && block_comp.is_none() => Some(v.clone()),
        _ => None,
    };
    let mut w = AsdfWriter::new();
    if !single && !plan.meta.is_empty() {
        w.set(
            "meta/file",
            Node::from_json(&Value::Object(plan.meta.clone())),
        )
        .map_err(|e| dst_err(&e))?;
    }
    let mut deferred = Vec::new();
    // every array to write: (tree key, source); a table's columns go under its name
    let mut units: Vec<(String, Box<dyn ArrayRead + '_>, bool)> = Vec::new();
    for item in &plan.items {
        if let Some(spec) = &item.table {
            w.set(
                &format!("meta/tables/{}", item.name),
                Node::from_json(&Value::Object(item.meta.clone())),
            )
            .map_err(|e| dst_err(&e))?;
            for (col, src) in open_table(ds, spec)? {
                units.push((format!("{}/{}", item.name, col.key), src, true));
            }
            continue;
        }
        let src = ds.open_array(&item.selector)?;
        let key = if single {
            "data".to_string()
        } else {
            item.name.clone()
        };
        if !item.meta.is_empty() {
            let mpath = if single {
                "meta".to_string()
            } else {
                format!("meta/arrays/{}", item.name)
            };
            w.set(&mpath, Node::from_json(&Value::Object(item.meta.clone())))
                .map_err(|e| dst_err(&e))?;
        }
        units.push((key, src, false));
    }
    for (key, src, column) in units {
        if let Some(c) = block_comp {
            // A compressed block is one stream: the array is held in memory, within the budget.
            let bytes = nd_core::num_bytes(src.shape(), src.dtype().size()).unwrap_or(usize::MAX);
            if bytes > a.opts.budget {
                return Err(Error::input(format!(
                    "{dst}: array '{}' ({} MiB) would be held in memory to compress it as one block, over the memory budget ({} MiB); use --compressor none, or a chunked compressor such as zstd:3 or blosc:lz4:5:shuffle",
                    key,
                    bytes >> 20,
                    a.opts.budget >> 20
                )));
            }
            let buf = src
                .read_all()
                .map_err(|e| Error::input(format!("{}: {key}: {e}", a.src)))?;
            w.add_array(
                &key,
                &buf,
                ArrayOptions {
                    compression: Some(c),
                    ..Default::default()
                },
            )
            .map_err(|e| dst_err(&e))?;
            continue;
        }
        let id = match &zarr_comp {
            Some(zc) => {
                let chunks = match &a.chunks {
                    Some(c) if !column => fit_chunks(c, src.shape(), &key)?,
                    _ => natural_chunks(&*src),
                };
                w.add_zarr_deferred(&key, src.dtype(), src.shape(), &chunks, zc, None)
            }
            None => w.add_array_deferred(&key, src.dtype(), src.shape()),
        }
        .map_err(|e| dst_err(&e))?;
        deferred.push((id, key, src));
    }
    let file = w.write_deferred(dst).map_err(|e| dst_err(&e))?;
    for (id, key, src) in deferred {
        let handle = file.array(id).map_err(|e| dst_err(&e))?;
        nd_ops::copy(&*src, &*handle, &a.opts)
            .map_err(|e| Error::input(format!("{} -> {dst}: {key}: {e}", a.src)))?;
    }
    file.finish().map_err(|e| dst_err(&e))
}
