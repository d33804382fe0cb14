//! `nd convert`: every array of a source (or one) into a FITS file, an ASDF file or a Zarr store,
//! streamed through nd-ops with bounded memory. The metadata mapping is in `spec-notes/convert.md`.

mod asdf;
pub mod codec;
mod cutout;
pub(crate) mod dims;
mod fits;
mod gzip_out;
mod zarr;

use crate::backend::{Backend, ConvertItem, ConvertPlan, TableColumn, TableSpec};
use crate::error::{Error, Result};
use nd_core::ArrayRead;
use nd_ops::Options;
use serde_json::Map;

pub use codec::{parse_compressor, parse_fits_compressor};

/// The destination format, from the destination's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `.fits`, `.fit`, `.fts`, and those with `.gz` (gzip-compressed FITS)
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
    } else if [".fits", ".fit", ".fts"]
        .iter()
        .any(|s| lower.ends_with(s) || lower.ends_with(&format!("{s}.gz")))
    {
        // `.fits.gz`: gzip-compressed FITS, as astropy writes for that name
        Ok(Target::Fits)
    } else {
        Err(Error::input(format!(
            "{dst}: the destination's name must end with .zarr, .asdf, .fits or .fits.gz"
        )))
    }
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
    /// With `shards`, the inner chunk shape (it must divide the shard shape).
    pub chunks: Option<Vec<u64>>,
    /// Zarr output format: 2 (the default) or 3.
    pub zarr_format: u8,
    /// Zarr v3 output: the shard shape (`sharding_indexed`, inner chunks of `chunks`).
    pub shards: Option<Vec<u64>>,
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
            zarr_format: 2,
            shards: None,
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
    // a FITS extended filename (`f.fits[SCI][1:100,*]`) converts the array it selects, alone
    let cut;
    let (backend, array): (&dyn Backend, Option<String>) = match src.extended() {
        Some(x) if x.hdu.is_some() || x.section.is_some() => {
            let arr = src.pick(options.array.as_deref())?;
            let selector = options
                .array
                .clone()
                .or_else(|| x.hdu.clone())
                .unwrap_or_else(|| arr.selector().to_string());
            let selection = match &x.section {
                Some(_) => Some(x.selection(src.array(&selector)?.shape())?),
                None => None,
            };
            cut = cutout::Cutout {
                inner: src.backend(),
                selector: selector.clone(),
                selection,
            };
            (&cut, Some(selector))
        }
        _ => (src.backend(), options.array.clone()),
    };
    run(
        backend,
        ConvertArgs {
            src: src.path(),
            dst,
            array: array.as_deref(),
            chunks: options.chunks.clone(),
            zarr_format: options.zarr_format,
            shards: options.shards.clone(),
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
    /// Zarr format of Zarr output (2 or 3).
    pub zarr_format: u8,
    /// Shard shape of Zarr v3 output.
    pub shards: Option<Vec<u64>>,
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
    if !matches!(a.zarr_format, 2 | 3) {
        return Err(Error::input(format!(
            "--zarr-format {}: Zarr output is format 2 or 3",
            a.zarr_format
        )));
    }
    if a.shards.is_some() && (target != Target::Zarr || a.zarr_format != 3) {
        return Err(Error::input(
            "--shards is for Zarr v3 output (--zarr-format 3 and a .zarr destination)",
        ));
    }
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
    if target == Target::Fits {
        // a FITS image holds no booleans: the masks of masked ASDF arrays stay behind
        plan.items.retain(|i| match i.meta.get("mask_of").and_then(|v| v.as_str()) {
            Some(of) => {
                notes.push(format!(
                    "the mask of {of} is not written (a FITS image holds no booleans; convert to .zarr or .asdf to keep it)"
                ));
                false
            }
            None => true,
        });
    }
    if plan.items.is_empty() {
        return Err(Error::input(format!("{}: no arrays to convert", a.src)));
    }
    let compressor = match a.compressor {
        Some(s) if target != Target::Fits => Some(codec::parse_compressor(s)?),
        _ => None,
    };
    let fits_compressor = match a.compressor {
        Some(s) if target == Target::Fits => codec::parse_fits_compressor(s)?,
        _ => None,
    };
    let single = a.array.is_some();
    match target {
        Target::Zarr => zarr::convert_to_zarr(ds, &plan, single, &a, compressor)?,
        Target::Fits => fits::convert_to_fits(ds, &plan, single, &a, fits_compressor, &mut notes)?,
        Target::Asdf => asdf::convert_to_asdf(ds, &plan, single, &a, compressor.as_ref())?,
    }
    Ok(notes)
}

fn fit_chunks(c: &[u64], shape: &[u64], name: &str) -> Result<Vec<u64>> {
    if c.len() != shape.len() || c.contains(&0) {
        return Err(Error::input(format!(
            "--chunks {} does not fit array '{name}' of shape {} (one positive extent per axis)",
            nd_core::fmt_shape(c.iter()),
            nd_core::fmt_shape(shape.iter())
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

/// Open a table's columns; every output copies them a block of rows at a time (Zarr and ASDF
/// like any array, FITS row by row into the BINTABLE).
fn open_table<'d, 'i>(
    ds: &'d dyn Backend,
    spec: &'i TableSpec,
) -> Result<Vec<(&'i TableColumn, Box<dyn ArrayRead + 'd>)>> {
    spec.columns
        .iter()
        .map(|col| Ok((col, ds.open_array(&col.selector)?)))
        .collect()
}
