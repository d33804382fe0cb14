//! `nd convert`: every array of a source (or one) into a FITS file, an ASDF file or a Zarr store,
//! streamed through nd-ops with bounded memory. The metadata mapping is in `spec-notes/convert.md`.

use crate::backend::{Backend, ConvertItem, ConvertPlan, TableColumn, TableSpec};
use crate::error::{Error, Result};
use nd_core::io::TempDir;
use nd_core::{ArrayRead, DataType, DirStore, Store};
use nd_ops::Options;
use serde_json::{json, Map, Value};
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
pub fn target_of(dst: &str) -> Result<Target> {
    let lower = dst.trim_end_matches('/').to_ascii_lowercase();
    if lower.ends_with(".zarr") {
        Ok(Target::Zarr)
    } else if lower.ends_with(".asdf") {
        Ok(Target::Asdf)
    } else if lower.ends_with(".fits") || lower.ends_with(".fit") || lower.ends_with(".fts") {
        Ok(Target::Fits)
    } else {
        Err(Error::input(format!(
            "{dst}: the destination's name must end with .zarr, .asdf or .fits"
        )))
    }
}

/// A compressor spec (`none`, `zlib:6`, `gzip:6`, `bz2:9`, `zstd:3`, `lz4:1`, `blosc:lz4:5:shuffle`)
/// as a numcodecs JSON config (`null` for none).
pub fn parse_compressor(spec: &str) -> Result<Value> {
    let bad = |why: &str| Error::input(format!("--compressor {spec:?}: {why}"));
    let parts: Vec<&str> = spec.trim().split(':').collect();
    let num = |i: usize, default: i64| -> Result<i64> {
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

/// Options of a conversion (`nd convert`): which arrays, chunks, compression, replacing, memory.
pub struct ConvertOptions<'a> {
    /// Only this array (by selector): it becomes the root array / tree key `data` / primary HDU.
    pub array: Option<String>,
    /// Chunk shape of Zarr (and chunked ASDF) output; tile shape of tile-compressed FITS output.
    pub chunks: Option<Vec<u64>>,
    /// Compressor spec: Zarr/ASDF `none`, `zlib:6`, `gzip:6`, `bz2:9`, `zstd:3`, `lz4:1`,
    /// `blosc:lz4:5:shuffle`; FITS `none`, `rice`, `gzip_1`, `gzip_2`, `plio` with options.
    pub compressor: Option<String>,
    /// Replace an existing destination that nd writes (see [`crate::export`]).
    pub force: bool,
    /// Write CHECKSUM and DATASUM cards (FITS output).
    pub checksum: bool,
    /// Most bytes of array data held in memory at once.
    pub budget: usize,
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// Called with (bytes done, bytes total) as the conversion goes.
    pub progress: Option<&'a (dyn Fn(u64, u64) + Sync)>,
}

impl Default for ConvertOptions<'_> {
    fn default() -> Self {
        ConvertOptions {
            array: None,
            chunks: None,
            compressor: None,
            force: false,
            checksum: false,
            budget: nd_ops::DEFAULT_BUDGET,
            threads: 0,
            progress: None,
        }
    }
}

/// Convert every array of `src` (or the one `options.array` names) into `dst`, whose name says
/// the format (`.zarr`, `.asdf`, `.fits`), streaming with memory bounded by `options.budget`.
/// The destination appears complete or not at all. Returns notes worth showing the user (what
/// was skipped and why). The metadata mapping is in `spec-notes/convert.md`.
///
/// # Errors
/// [`crate::Error::Input`] when the destination is refused (it overlaps the source, exists
/// without `force`, or is not something nd replaces), an option does not fit, or reading fails;
/// [`crate::Error::Output`] when writing fails.
pub fn convert(src: &crate::Dataset, dst: &str, options: &ConvertOptions) -> Result<Vec<String>> {
    run(
        src.backend(),
        ConvertArgs {
            src: src.path(),
            dst,
            array: options.array.as_deref(),
            chunks: options.chunks.clone(),
            compressor: options.compressor.as_deref(),
            force: options.force,
            checksum: options.checksum,
            opts: Options {
                budget: options.budget,
                threads: options.threads,
                progress: options.progress,
            },
        },
    )
}

/// What one conversion was asked to do.
struct ConvertArgs<'a> {
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

fn run(ds: &dyn Backend, a: ConvertArgs) -> Result<Vec<String>> {
    crate::export::check_overlap(a.dst, &[a.src])?;
    let target = target_of(a.dst)?;
    crate::export::check_convert_destination(a.dst, target == Target::Zarr, a.force)?;
    let mut plan = ds.convert_plan()?;
    let mut notes: Vec<String> = plan
        .skipped
        .iter()
        .map(|s| format!("skipped {s}"))
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
                table: None,
            }],
            skipped: vec![],
        };
    }
    if plan.items.is_empty() {
        return Err(Error::input(format!("{}: no arrays to convert", a.src)));
    }
    // tables are converted with each column read whole: refuse one over the budget before writing
    for item in &plan.items {
        if let Some(b) = item.table.as_ref().and_then(|t| t.bytes) {
            if b > a.opts.budget as u64 {
                return Err(table_over_budget(&a, &item.name, b));
            }
        }
    }
    let compressor = match a.compressor {
        Some(s) if target != Target::Fits => Some(parse_compressor(s)?),
        _ => None,
    };
    let fits_compressor = match a.compressor {
        Some(s) if target == Target::Fits => parse_fits_compressor(s)?,
        _ => None,
    };
    let single = a.array.is_some();
    let src_err = |e: nd_core::Error| Error::input(format!("{}: {e}", a.src));
    let dst_err = |e: &dyn std::fmt::Display| Error::input(format!("{}: {e}", a.dst));
    match target {
        Target::Zarr => {
            // built under a temporary name, renamed into place when complete
            let building = TempDir::new(a.dst).map_err(|e| dst_err(&e))?;
            let store: Arc<dyn Store> =
                Arc::new(DirStore::open(building.path()).map_err(|e| dst_err(&e))?);
            if !single {
                nd_zarr::create_group(store.as_ref(), "", Some(&plan.meta))
                    .map_err(|e| dst_err(&e))?;
            }
            let comp = compressor.unwrap_or_else(|| json!({"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1, "blocksize": 0}));
            for item in &plan.items {
                if let Some(spec) = &item.table {
                    // a group holding one array per column, the table's metadata as its attributes
                    let cols = open_table(ds, item, spec, &a)?;
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
                        nd_ops::copy(&*src, &z, &a.opts).map_err(|e| {
                            Error::input(format!("{} -> {}: {path}: {e}", a.src, a.dst))
                        })?;
                    }
                    continue;
                }
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
                .map_err(|e| Error::input(format!("{}: array {:?}: {e}", a.dst, item.name)))?;
                meta.compressor = comp.clone();
                let path = if single { "" } else { item.name.as_str() };
                let mut z = nd_zarr::ZarrArray::create(store.clone(), path, meta)
                    .map_err(|e| dst_err(&e))?;
                if !item.meta.is_empty() {
                    z.set_attributes(item.meta.clone())
                        .map_err(|e| dst_err(&e))?;
                }
                nd_ops::copy(&*src, &z, &a.opts).map_err(|e| {
                    Error::input(format!("{} -> {}: {}: {e}", a.src, a.dst, item.name))
                })?;
            }
            if !single {
                nd_zarr::write_consolidated(store).map_err(|e| dst_err(&e))?;
            }
            building.commit(a.force).map_err(|e| dst_err(&e))?;
        }
        Target::Fits => convert_to_fits(ds, &plan, single, &a, fits_compressor, &mut notes)?,
        Target::Asdf => convert_to_asdf(ds, &plan, single, &a, compressor.as_ref())?,
    }
    let _ = src_err;
    Ok(notes)
}

fn fit_chunks(c: &[u64], shape: &[u64], name: &str) -> Result<Vec<u64>> {
    if c.len() != shape.len() || c.contains(&0) {
        return Err(Error::input(format!(
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
) -> Result<Vec<nd_fits::Card>> {
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
                Some(val) if ok_key && !crate::formats::fits::is_structural(&key) => {
                    let card = nd_fits::Card::new(&key, val, None)
                        .map_err(|e| Error::input(format!("attribute {k:?}: {e}")))?;
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
        .map_err(|e| Error::input(format!("metadata cards: {e}")))?;
    let mut cards: Vec<nd_fits::Card> = h.cards().to_vec();
    if let Some(name) = extname {
        if !cards.iter().any(|c| c.keyword() == "EXTNAME") {
            cards.insert(
                0,
                nd_fits::Card::new("EXTNAME", nd_fits::Value::Str(name.to_string()), None)
                    .map_err(|e| Error::input(e.to_string()))?,
            );
        }
    }
    Ok(cards)
}

fn check_fits_dtype(dt: &DataType, name: &str, dst: &str) -> Result<()> {
    use DataType::*;
    match dt {
        Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 | Float32 | Float64 => {
            Ok(())
        }
        other => Err(Error::input(format!(
            "{dst}: array {name:?} holds {other} values, which a FITS image cannot hold"
        ))),
    }
}

fn table_over_budget(a: &ConvertArgs, name: &str, bytes: u64) -> Error {
    Error::input(format!(
        "{}: table {name:?} holds {} MiB of column values, over the memory budget ({} MiB): tables are converted with each column read whole; raise --budget-mib",
        a.src,
        bytes.div_ceil(1 << 20),
        a.opts.budget >> 20
    ))
}

/// Open a table's columns, after checking that the table fits in the memory budget (each column
/// is read whole).
fn open_table<'d, 'i>(
    ds: &'d dyn Backend,
    item: &'i ConvertItem,
    spec: &'i TableSpec,
    a: &ConvertArgs,
) -> Result<Vec<(&'i TableColumn, Box<dyn ArrayRead + 'd>)>> {
    let over = |bytes: u64| table_over_budget(a, &item.name, bytes);
    if let Some(b) = spec.bytes {
        if b > a.opts.budget as u64 {
            return Err(over(b));
        }
    }
    let mut total: u64 = 0;
    let mut out = Vec::with_capacity(spec.columns.len());
    for col in &spec.columns {
        let src = ds.open_array(&col.selector)?;
        let b = nd_core::num_bytes(src.shape(), src.dtype().size()).unwrap_or(usize::MAX) as u64;
        total = total.saturating_add(b);
        if total > a.opts.budget as u64 {
            return Err(over(total));
        }
        out.push((col, src));
    }
    Ok(out)
}

/// A tile-compression spec for FITS output: `none`, `rice` (`rice_1`), `gzip_1` (`gzip`), `gzip_2`,
/// `plio` (`plio_1`), each with `:`-separated options `q=LEVEL` (float quantization level,
/// astropy's `quantize_level`; negative = the step itself), `lossless` (floats stored exactly;
/// gzip only), `dither=none|1|2`, `seed=1..10000`, `level=0..9` (gzip level; a bare number too),
/// `blocksize=N` (RICE_1).
pub fn parse_fits_compressor(spec: &str) -> Result<Option<nd_fits::CompressOptions>> {
    use nd_fits::{Algorithm, CompressOptions, Dither, Quantization};
    let bad = |why: &str| Error::input(format!("--compressor {spec:?}: {why}"));
    let mut parts = spec.trim().split(':');
    let algo = match parts.next().unwrap_or("").to_ascii_lowercase().as_str() {
        "none" | "raw" => {
            if parts.next().is_some() {
                return Err(bad("`none` takes no options"));
            }
            return Ok(None);
        }
        "rice" | "rice_1" => Algorithm::Rice,
        "gzip" | "gzip_1" => Algorithm::Gzip1,
        "gzip_2" => Algorithm::Gzip2,
        "plio" | "plio_1" => Algorithm::Plio,
        "hcompress" | "hcompress_1" => {
            return Err(bad(
                "HCOMPRESS_1 is read but not written; FITS output takes rice, gzip_1, gzip_2, plio or none",
            ))
        }
        _ => {
            return Err(bad(
                "FITS output is tile-compressed with rice, gzip_1 (gzip), gzip_2 or plio, or not at all (none)",
            ))
        }
    };
    let gzip = matches!(algo, Algorithm::Gzip1 | Algorithm::Gzip2);
    let mut o = CompressOptions::new(algo);
    let mut q = Quantization::default();
    let (mut lossless, mut quant_opt) = (false, false);
    for p in parts {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        let k = k.trim().to_ascii_lowercase();
        let v = v.trim();
        match k.as_str() {
            "lossless" if v.is_empty() => {
                if !gzip {
                    return Err(bad("only gzip_1 and gzip_2 store floats losslessly (rice and plio quantize them)"));
                }
                lossless = true;
            }
            "q" | "quantize" | "quantize_level" => {
                let l: f32 = v
                    .parse()
                    .ok()
                    .filter(|l: &f32| l.is_finite() && *l != 0.0)
                    .ok_or_else(|| bad("q= takes a non-zero number (16: step = noise / 16; negative: the step itself)"))?;
                q.level = l;
                quant_opt = true;
            }
            "dither" => {
                q.dither = match v.to_ascii_lowercase().as_str() {
                    "none" | "no_dither" | "0" => Dither::None,
                    "1" | "subtractive_dither_1" => Dither::Subtractive1,
                    "2" | "subtractive_dither_2" => Dither::Subtractive2,
                    _ => return Err(bad("dither= is none, 1 or 2")),
                };
                quant_opt = true;
            }
            "seed" => {
                q.seed = v
                    .parse()
                    .ok()
                    .filter(|s| (1..=10000).contains(s))
                    .ok_or_else(|| bad("seed= is 1 ..= 10000"))?;
                quant_opt = true;
            }
            "level" if gzip => {
                o.gzip_level = v
                    .parse()
                    .ok()
                    .filter(|l| *l <= 9)
                    .ok_or_else(|| bad("level= is 0 ..= 9"))?;
            }
            _ if gzip && v.is_empty() && k.parse::<u32>().is_ok() => {
                o.gzip_level = k
                    .parse()
                    .ok()
                    .filter(|l| *l <= 9)
                    .ok_or_else(|| bad("a gzip level is 0 ..= 9"))?;
            }
            "blocksize" if algo == Algorithm::Rice => {
                o.blocksize = v
                    .parse()
                    .ok()
                    .filter(|b| *b > 0)
                    .ok_or_else(|| bad("blocksize= takes a positive integer"))?;
            }
            _ => {
                return Err(bad(&format!(
                    "unknown option {p:?} (q=LEVEL, dither=none|1|2, seed=N{}{})",
                    if gzip { ", lossless, level=N" } else { "" },
                    if algo == Algorithm::Rice {
                        ", blocksize=N"
                    } else {
                        ""
                    }
                )))
            }
        }
    }
    if lossless && quant_opt {
        return Err(bad(
            "`lossless` and quantization options exclude each other",
        ));
    }
    o.quantize = if lossless { None } else { Some(q) };
    Ok(Some(o))
}

/// Add one HDU built in memory (a table or a compressed image) at the end of the partial FITS
/// file `tmp`: when nothing is written yet, the file starts with an empty primary HDU; otherwise
/// the HDU is written to a scratch file and its bytes appended.
fn add_memory_hdu(
    tmp: &str,
    started: bool,
    checksum: bool,
    add: impl FnOnce(&mut nd_fits::FitsWriter) -> nd_fits::Result<()>,
) -> Result<(), String> {
    use std::io::{Seek, SeekFrom};
    // after the first HDU, a scratch file beside the partial one (removed when done)
    let scratch = if started {
        Some(nd_core::io::TempFile::create(format!("{tmp}.hdu")).map_err(|e| e.to_string())?)
    } else {
        None
    };
    let target = match &scratch {
        Some(t) => t.path().display().to_string(),
        None => tmp.to_string(),
    };
    let mut w = nd_fits::FitsWriter::create(&target);
    w.set_checksums(checksum);
    w.add_empty_primary(&[]).map_err(|e| e.to_string())?;
    add(&mut w).map_err(|e| e.to_string())?;
    w.finish().map_err(|e| e.to_string())?;
    if !started {
        return Ok(());
    }
    let res = (|| -> Result<(), String> {
        let off = {
            let f = nd_fits::Fits::open(&target).map_err(|e| e.to_string())?;
            f.hdu(1).map_err(|e| e.to_string())?.header_offset
        };
        let mut inp = std::fs::File::open(&target).map_err(|e| e.to_string())?;
        inp.seek(SeekFrom::Start(off)).map_err(|e| e.to_string())?;
        let mut out = std::fs::OpenOptions::new()
            .append(true)
            .open(tmp)
            .map_err(|e| e.to_string())?;
        std::io::copy(&mut inp, &mut out).map_err(|e| e.to_string())?;
        Ok(())
    })();
    drop(scratch);
    res
}

/// The FITS columns of a table item: values read whole, names, units, TNULL and bits from
/// `fits_table.columns` (when the table came from FITS).
fn table_columns(
    ds: &dyn Backend,
    item: &ConvertItem,
    spec: &TableSpec,
    a: &ConvertArgs,
) -> Result<Vec<nd_fits::ColumnData>> {
    use nd_fits::{ColumnData, ColumnValues};
    let described: Vec<&Map<String, Value>> = item
        .meta
        .get("fits_table")
        .and_then(|t| t.get("columns"))
        .and_then(|c| c.as_array())
        .map(|v| v.iter().filter_map(|c| c.as_object()).collect())
        .unwrap_or_default();
    let mut out = Vec::new();
    for (col, src) in open_table(ds, item, spec, a)? {
        let d = described
            .iter()
            .find(|d| d.get("array").and_then(|x| x.as_str()) == Some(col.key.as_str()));
        let field = |k: &str| d.and_then(|d| d.get(k));
        let buf = src
            .read_all()
            .map_err(|e| Error::input(format!("{}: {}: {e}", a.src, col.selector)))?;
        let name = field("name")
            .and_then(|n| n.as_str())
            .unwrap_or(&col.key)
            .to_string();
        let bits =
            field("bits").and_then(|b| b.as_bool()) == Some(true) && buf.dtype() == &DataType::Bool;
        let mut c = if bits {
            ColumnData::new(name, ColumnValues::Bits(buf))
        } else {
            ColumnData::array(name, buf)
        };
        if let Some(u) = field("unit").and_then(|u| u.as_str()) {
            c = c.with_unit(u);
        }
        if let Some(n) = field("null").and_then(|n| n.as_i64()) {
            if c_is_integer(&c) {
                c = c.with_null(n);
            }
        }
        out.push(c);
    }
    Ok(out)
}

fn c_is_integer(c: &nd_fits::ColumnData) -> bool {
    matches!(&c.values, nd_fits::ColumnValues::Array(b) if b.dtype().is_integer())
}

fn convert_to_fits(
    ds: &dyn Backend,
    plan: &ConvertPlan,
    single: bool,
    a: &ConvertArgs,
    compress: Option<nd_fits::CompressOptions>,
    notes: &mut Vec<String>,
) -> Result<()> {
    let dst = a.dst;
    let dst_err = |e: &dyn std::fmt::Display| Error::input(format!("{dst}: {e}"));
    let budget_mib = a.opts.budget >> 20;
    // Types, sizes and compression first, so nothing is written when an item cannot go.
    let mut items = Vec::new();
    for item in &plan.items {
        if item.table.is_some() {
            items.push((item, None));
            continue;
        }
        let src = ds.open_array(&item.selector)?;
        check_fits_dtype(src.dtype(), &item.name, dst)?;
        if let Some(o) = &compress {
            use nd_fits::Algorithm;
            let dt = src.dtype();
            let float = matches!(dt, DataType::Float32 | DataType::Float64);
            let wide = matches!(dt, DataType::Int64 | DataType::UInt64);
            let why = match o.algorithm {
                Algorithm::Rice | Algorithm::Plio if wide => {
                    Some("64-bit integers need gzip_1 or gzip_2")
                }
                Algorithm::Plio if float => Some("PLIO_1 takes integer images only"),
                _ if src.shape().is_empty() => Some("a compressed image needs at least one axis"),
                _ => None,
            };
            if let Some(why) = why {
                return Err(Error::input(format!(
                    "{dst}: array {:?} ({dt}) cannot be written with {}: {why}",
                    item.name,
                    o.algorithm.name()
                )));
            }
            let bytes = nd_core::num_bytes(src.shape(), dt.size()).unwrap_or(usize::MAX);
            if bytes > a.opts.budget {
                return Err(Error::input(format!(
                    "{dst}: array {:?} ({} MiB) would be held in memory to tile-compress it, over the memory budget ({budget_mib} MiB); use --compressor none (streamed), or raise --budget-mib",
                    item.name,
                    bytes.div_ceil(1 << 20),
                )));
            }
        }
        items.push((item, Some(src)));
    }
    // the file is built under a temporary name (removed on failure or interruption)
    let building = nd_core::io::TempFile::create(dst).map_err(|e| dst_err(&e))?;
    let tmp_dst = building.path().display().to_string();
    let res = (|| -> Result<()> {
        let mut started = false;
        if !single {
            if let Some(Value::Array(_)) = plan.meta.get("fits_header") {
                let cards = fits_cards(&plan.meta, None, notes)?;
                let mut w = nd_fits::FitsWriter::create(&tmp_dst);
                w.set_checksums(a.checksum);
                w.add_empty_primary(&cards).map_err(|e| dst_err(&e))?;
                w.finish().map_err(|e| dst_err(&e))?;
                started = true;
            }
        }
        for (item, src) in items {
            let Some(src) = src else {
                // a table: a BINTABLE built in memory
                let Some(spec) = &item.table else { continue };
                let cols = table_columns(ds, item, spec, a)?;
                let extname = (!single).then_some(item.name.as_str());
                let cards = fits_cards(&item.meta, extname, notes)?;
                add_memory_hdu(&tmp_dst, started, a.checksum, |w| {
                    w.add_bintable(&cols, &cards)
                })
                .map_err(|e| Error::input(format!("{dst}: table {:?}: {e}", item.name)))?;
                started = true;
                continue;
            };
            if let Some(o) = &compress {
                // a tile-compressed image: held in memory (checked against the budget above)
                let mut o = o.clone();
                if let Some(c) = &a.chunks {
                    o.tile = Some(fit_chunks(c, src.shape(), &item.name)?);
                }
                let buf = src
                    .read_all()
                    .map_err(|e| Error::input(format!("{}: {}: {e}", a.src, item.name)))?;
                let extname = (!single).then_some(item.name.as_str());
                let cards = fits_cards(&item.meta, extname, notes)?;
                add_memory_hdu(&tmp_dst, started, a.checksum, |w| {
                    w.add_compressed_image(&buf, &o, &cards)
                })
                .map_err(|e| Error::input(format!("{dst}: array {:?}: {e}", item.name)))?;
                started = true;
                if single {
                    break;
                }
                continue;
            }
            let extname = if started && !single {
                Some(item.name.as_str())
            } else {
                None
            };
            let cards = fits_cards(&item.meta, extname, notes)?;
            let w = if started {
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
                .map_err(|e| Error::input(format!("{} -> {dst}: {}: {e}", a.src, item.name)))?;
            started = true;
            if single {
                break;
            }
        }
        building.persist().map_err(|e| dst_err(&e))
    })();
    res
}

fn convert_to_asdf(
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
            for (col, src) in open_table(ds, item, spec, a)? {
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
                    "{dst}: array {:?} ({} MiB) would be held in memory to compress it as one block, over the memory budget ({} MiB); use --compressor none, or a chunked compressor such as zstd:3 or blosc:lz4:5:shuffle",
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
