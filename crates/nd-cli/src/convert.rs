//! `nd convert`: every array of a source (or one) into a FITS file, an ASDF file or a Zarr store,
//! streamed through nd-ops with bounded memory. The metadata mapping is in `spec-notes/convert.md`.

use crate::dataset::{CliError, CliResult, ConvertItem, ConvertPlan, Dataset};
use nd_core::{ArrayRead, DataType, DirStore, Store};
use nd_ops::Options;
use serde_json::{json, Map, Value};
use std::path::Path;
use std::sync::Arc;

/// The destination format, from the destination's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `.fits`, `.fit`, `.fts`
    Fits,
    /// `.asdf`
    Asdf,
    /// `.zarr` (a directory store)
    Zarr,
}

/// The target format of a destination path, from its extension.
pub fn target_of(dst: &str) -> CliResult<Target> {
    let lower = dst.trim_end_matches('/').to_ascii_lowercase();
    if lower.ends_with(".zarr") {
        Ok(Target::Zarr)
    } else if lower.ends_with(".asdf") {
        Ok(Target::Asdf)
    } else if lower.ends_with(".fits") || lower.ends_with(".fit") || lower.ends_with(".fts") {
        Ok(Target::Fits)
    } else {
        Err(CliError::input(format!(
            "{dst}: the destination's name must end with .zarr, .asdf or .fits"
        )))
    }
}

/// A compressor spec (`none`, `zlib:6`, `gzip:6`, `bz2:9`, `zstd:3`, `lz4:1`, `blosc:lz4:5:shuffle`)
/// as a numcodecs JSON config (`null` for none).
pub fn parse_compressor(spec: &str) -> CliResult<Value> {
    let bad = |why: &str| CliError::input(format!("--compressor {spec:?}: {why}"));
    let parts: Vec<&str> = spec.trim().split(':').collect();
    let num = |i: usize, default: i64| -> CliResult<i64> {
        match parts.get(i) {
            None | Some(&"") => Ok(default),
            Some(s) => s.parse().map_err(|_| bad("a level must be an integer")),
        }
    };
    let v = match parts[0] {
        "none" | "raw" => Value::Null,
        "zlib" => json!({"id": "zlib", "level": num(1, 6)?}),
        "gzip" => json!({"id": "gzip", "level": num(1, 6)?}),
        "bz2" | "bzip2" => json!({"id": "bz2", "level": num(1, 9)?}),
        "zstd" => json!({"id": "zstd", "level": num(1, 3)?}),
        "lz4" => json!({"id": "lz4", "acceleration": num(1, 1)?}),
        "blosc" => {
            let cname = parts
                .get(1)
                .copied()
                .filter(|s| !s.is_empty())
                .unwrap_or("lz4");
            if !["blosclz", "lz4", "lz4hc", "snappy", "zlib", "zstd"].contains(&cname) {
                return Err(bad(
                    "blosc compressors are blosclz, lz4, lz4hc, snappy, zlib, zstd",
                ));
            }
            let shuffle = match parts.get(3).copied().unwrap_or("shuffle") {
                "noshuffle" | "0" => 0,
                "shuffle" | "1" | "" => 1,
                "bitshuffle" | "2" => 2,
                _ => return Err(bad("blosc shuffle is noshuffle, shuffle or bitshuffle")),
            };
            json!({"id": "blosc", "cname": cname, "clevel": num(2, 5)?, "shuffle": shuffle, "blocksize": 0})
        }
        _ => {
            return Err(bad(
                "unknown compressor (none, zlib, gzip, bz2, zstd, lz4, blosc)",
            ))
        }
    };
    if let Value::Object(_) = &v {
        nd_codecs::codec_from_config(&v).map_err(|e| bad(&e.to_string()))?;
    }
    Ok(v)
}

/// Chunks for an unchunked array: halve the axes in turn, slowest first, until a chunk is at most
/// 4 MiB (zarr-python guesses chunks in the same spirit).
pub fn default_chunks(shape: &[u64], elem: usize) -> Vec<u64> {
    let mut c: Vec<u64> = shape.iter().map(|&d| d.max(1)).collect();
    let limit = 4u128 << 20;
    let bytes = |c: &[u64]| c.iter().fold(elem.max(1) as u128, |a, &d| a * d as u128);
    let mut ax = 0;
    let mut stuck = 0;
    while bytes(&c) > limit && stuck < c.len() {
        if c[ax] > 1 {
            c[ax] = c[ax].div_ceil(2);
            stuck = 0;
        } else {
            stuck += 1;
        }
        ax = (ax + 1) % c.len().max(1);
    }
    c
}

/// Options of `nd convert`.
pub struct ConvertArgs<'a> {
    /// Source path.
    pub src: &'a str,
    /// Destination path.
    pub dst: &'a str,
    /// Only this array.
    pub array: Option<&'a str>,
    /// Chunk shape for chunked outputs.
    pub chunks: Option<Vec<u64>>,
    /// Compressor spec.
    pub compressor: Option<&'a str>,
    /// Replace an existing destination.
    pub force: bool,
    /// Write CHECKSUM and DATASUM in FITS output.
    pub checksum: bool,
    /// Memory budget and progress.
    pub opts: Options<'a>,
}

/// Run a conversion.
pub fn convert(ds: &dyn Dataset, a: ConvertArgs) -> CliResult<Vec<String>> {
    let target = target_of(a.dst)?;
    if Path::new(a.dst).exists() && !a.force {
        return Err(CliError::input(format!(
            "{}: exists (use --force to replace it)",
            a.dst
        )));
    }
    let mut plan = ds.convert_plan()?;
    let mut notes: Vec<String> = plan
        .skipped
        .iter()
        .map(|s| format!("skipped {s}: not an image array"))
        .collect();
    if let Some(sel) = a.array {
        // one array: find its metadata in the plan when listed there
        let found = plan
            .items
            .iter()
            .position(|i| i.selector == sel || i.name == sel);
        let meta = found
            .map(|i| plan.items[i].meta.clone())
            .unwrap_or_default();
        plan = ConvertPlan {
            meta: Map::new(),
            items: vec![ConvertItem {
                name: "data".into(),
                selector: sel.to_string(),
                meta,
            }],
            skipped: vec![],
        };
    }
    if plan.items.is_empty() {
        return Err(CliError::input(format!("{}: no arrays to convert", a.src)));
    }
    let compressor = match a.compressor {
        Some(s) => Some(parse_compressor(s)?),
        None => None,
    };
    let single = a.array.is_some();
    let src_err = |e: nd_core::Error| CliError::input(format!("{}: {e}", a.src));
    let dst_err = |e: &dyn std::fmt::Display| CliError::input(format!("{}: {e}", a.dst));
    match target {
        Target::Zarr => {
            if a.force && Path::new(a.dst).exists() {
                std::fs::remove_dir_all(a.dst).map_err(|e| dst_err(&e))?;
            }
            let store: Arc<dyn Store> = Arc::new(DirStore::create(a.dst).map_err(|e| dst_err(&e))?);
            if !single {
                nd_zarr::create_group(store.as_ref(), "", Some(&plan.meta))
                    .map_err(|e| dst_err(&e))?;
            }
            let comp = compressor.unwrap_or_else(|| json!({"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1, "blocksize": 0}));
            for item in &plan.items {
                let src = ds.open_array(&item.selector)?;
                let chunks = match &a.chunks {
                    Some(c) => fit_chunks(c, src.shape(), &item.name)?,
                    None => natural_chunks(&*src),
                };
                let mut meta = nd_zarr::ArrayMetadataV2::new(
                    src.shape().to_vec(),
                    chunks,
                    src.dtype().clone(),
                )
                .map_err(|e| CliError::input(format!("{}: array {:?}: {e}", a.dst, item.name)))?;
                meta.compressor = comp.clone();
                let path = if single { "" } else { item.name.as_str() };
                let mut z = nd_zarr::ZarrArray::create(store.clone(), path, meta)
                    .map_err(|e| dst_err(&e))?;
                if !item.meta.is_empty() {
                    z.set_attributes(item.meta.clone())
                        .map_err(|e| dst_err(&e))?;
                }
                nd_ops::copy(&*src, &z, &a.opts).map_err(|e| {
                    CliError::input(format!("{} -> {}: {}: {e}", a.src, a.dst, item.name))
                })?;
            }
            if !single {
                nd_zarr::write_consolidated(store).map_err(|e| dst_err(&e))?;
            }
        }
        Target::Fits => convert_to_fits(ds, &plan, single, &a, &mut notes)?,
        Target::Asdf => convert_to_asdf(ds, &plan, single, &a, compressor.as_ref())?,
    }
    let _ = src_err;
    Ok(notes)
}

fn fit_chunks(c: &[u64], shape: &[u64], name: &str) -> CliResult<Vec<u64>> {
    if c.len() != shape.len() || c.contains(&0) {
        return Err(CliError::input(format!(
            "--chunks {c:?} does not fit array {name:?} of shape {shape:?} (one positive extent per axis)"
        )));
    }
    Ok(c.iter()
        .zip(shape)
        .map(|(&c, &s)| c.min(s.max(1)))
        .collect())
}

fn natural_chunks(src: &dyn ArrayRead) -> Vec<u64> {
    let cs = src.chunk_shape();
    let shape = src.shape();
    let whole = cs.as_slice() == shape;
    let bytes: u128 = cs
        .iter()
        .fold(src.dtype().size() as u128, |a, &d| a * d as u128);
    if cs.len() == shape.len() && !cs.contains(&0) && !whole && bytes <= 64 << 20 {
        cs
    } else {
        default_chunks(shape, src.dtype().size())
    }
}

/// FITS cards from an array's metadata: the raw cards of `fits_header` when present (as written by
/// a conversion from FITS), otherwise one card per scalar attribute.
fn fits_cards(
    meta: &Map<String, Value>,
    extname: Option<&str>,
    notes: &mut Vec<String>,
) -> CliResult<Vec<nd_fits::Card>> {
    let mut text = Vec::new();
    if let Some(list) = meta.get("fits_header").and_then(|v| v.as_array()) {
        for c in list {
            if let Some(s) = c.as_str() {
                let b = s.as_bytes();
                for img in b.chunks(80) {
                    let mut card = img.to_vec();
                    card.resize(80, b' ');
                    text.extend_from_slice(&card);
                }
            }
        }
    } else {
        for (k, v) in meta {
            let key = k.to_ascii_uppercase();
            let scalar: Option<nd_fits::Value> = match v {
                Value::Bool(b) => Some(nd_fits::Value::Bool(*b)),
                Value::Number(n) if n.is_i64() => n.as_i64().map(nd_fits::Value::Int),
                Value::Number(n) => n.as_f64().map(nd_fits::Value::Float),
                Value::String(s) => Some(nd_fits::Value::Str(s.clone())),
                _ => None,
            };
            let ok_key = !key.is_empty()
                && key.len() <= 8
                && key.bytes().all(|b| {
                    b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_' || b == b'-'
                });
            match scalar {
                Some(val) if ok_key && !crate::fits::is_structural(&key) => {
                    let card = nd_fits::Card::new(&key, val, None)
                        .map_err(|e| CliError::input(format!("attribute {k:?}: {e}")))?;
                    let raw = card.raw().as_bytes().to_vec();
                    for img in raw.chunks(80) {
                        let mut c = img.to_vec();
                        c.resize(80, b' ');
                        text.extend_from_slice(&c);
                    }
                }
                _ => notes.push(format!(
                    "attribute {k:?} has no FITS card form; not written"
                )),
            }
        }
    }
    let mut end = b"END".to_vec();
    end.resize(80, b' ');
    text.extend_from_slice(&end);
    let (h, _) = nd_fits::Header::from_bytes(&text)
        .map_err(|e| CliError::input(format!("metadata cards: {e}")))?;
    let mut cards: Vec<nd_fits::Card> = h.cards().to_vec();
    if let Some(name) = extname {
        if !cards.iter().any(|c| c.keyword() == "EXTNAME") {
            cards.insert(
                0,
                nd_fits::Card::new("EXTNAME", nd_fits::Value::Str(name.to_string()), None)
                    .map_err(|e| CliError::input(e.to_string()))?,
            );
        }
    }
    Ok(cards)
}

fn check_fits_dtype(dt: &DataType, name: &str, dst: &str) -> CliResult<()> {
    use DataType::*;
    match dt {
        Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 | Float32 | Float64 => {
            Ok(())
        }
        other => Err(CliError::input(format!(
            "{dst}: array {name:?} holds {other} values, which a FITS image cannot hold"
        ))),
    }
}

fn convert_to_fits(
    ds: &dyn Dataset,
    plan: &ConvertPlan,
    single: bool,
    a: &ConvertArgs,
    notes: &mut Vec<String>,
) -> CliResult<()> {
    let dst = a.dst;
    let dst_err = |e: &dyn std::fmt::Display| CliError::input(format!("{dst}: {e}"));
    // Types first, so nothing is written when an array cannot go.
    let mut arrays = Vec::new();
    for item in &plan.items {
        let src = ds.open_array(&item.selector)?;
        check_fits_dtype(src.dtype(), &item.name, dst)?;
        arrays.push((item, src));
    }
    let tmp_dst = format!("{dst}.nd-partial");
    let _ = std::fs::remove_file(&tmp_dst);
    let mut have_primary = false;
    if !single {
        if let Some(Value::Array(_)) = plan.meta.get("fits_header") {
            let cards = fits_cards(&plan.meta, None, notes)?;
            let mut w = nd_fits::FitsWriter::create(&tmp_dst);
            w.set_checksums(a.checksum);
            w.add_empty_primary(&cards).map_err(|e| dst_err(&e))?;
            w.finish().map_err(|e| dst_err(&e))?;
            have_primary = true;
        }
    }
    for (item, src) in arrays {
        let extname = if have_primary && !single {
            Some(item.name.as_str())
        } else {
            None
        };
        let cards = fits_cards(&item.meta, extname, notes)?;
        let w = if have_primary {
            nd_fits::FitsImageWriter::append(
                &tmp_dst,
                src.dtype().clone(),
                src.shape(),
                &cards,
                a.checksum,
            )
        } else {
            nd_fits::FitsImageWriter::create(
                &tmp_dst,
                src.dtype().clone(),
                src.shape(),
                &cards,
                a.checksum,
            )
        }
        .map_err(|e| dst_err(&e))?;
        nd_ops::copy(&*src, &w, &a.opts)
            .map_err(|e| CliError::input(format!("{} -> {dst}: {}: {e}", a.src, item.name)))?;
        have_primary = true;
        if single {
            break;
        }
    }
    std::fs::rename(&tmp_dst, dst).map_err(|e| dst_err(&e))
}

fn convert_to_asdf(
    ds: &dyn Dataset,
    plan: &ConvertPlan,
    single: bool,
    a: &ConvertArgs,
    compressor: Option<&Value>,
) -> CliResult<()> {
    use nd_asdf::{ArrayOptions, AsdfWriter, Compression, Node};
    let dst = a.dst;
    let dst_err = |e: &dyn std::fmt::Display| CliError::input(format!("{dst}: {e}"));
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
    for item in &plan.items {
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
        if let Some(c) = block_comp {
            // A compressed block is one stream: the array is held in memory, within the budget.
            let bytes = nd_core::num_bytes(src.shape(), src.dtype().size()).unwrap_or(usize::MAX);
            if bytes > a.opts.budget {
                return Err(CliError::input(format!(
                    "{dst}: array {:?} ({} MiB) would be held in memory to compress it as one block, over the memory budget ({} MiB); use --compressor none, or a chunked compressor such as zstd:3 or blosc:lz4:5:shuffle",
                    item.name,
                    bytes >> 20,
                    a.opts.budget >> 20
                )));
            }
            let buf = src
                .read_all()
                .map_err(|e| CliError::input(format!("{}: {}: {e}", a.src, item.name)))?;
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
                    Some(c) => fit_chunks(c, src.shape(), &item.name)?,
                    None => natural_chunks(&*src),
                };
                w.add_zarr_deferred(&key, src.dtype(), src.shape(), &chunks, zc, None)
            }
            None => w.add_array_deferred(&key, src.dtype(), src.shape()),
        }
        .map_err(|e| dst_err(&e))?;
        deferred.push((id, item, src));
    }
    let file = w.write_deferred(dst).map_err(|e| dst_err(&e))?;
    for (id, item, src) in deferred {
        let handle = file.array(id).map_err(|e| dst_err(&e))?;
        nd_ops::copy(&*src, &*handle, &a.opts)
            .map_err(|e| CliError::input(format!("{} -> {dst}: {}: {e}", a.src, item.name)))?;
    }
    file.finish().map_err(|e| dst_err(&e))
}
