//! `nd refs`: a FITS or ASDF file described as a virtual Zarr v2 hierarchy, in kerchunk's
//! reference format (version 1 JSON): `{"version": 1, "refs": {key: "json text" | [url, offset,
//! length] | "base64:…"}}`. fsspec's `reference://` filesystem serves it to zarr-python and
//! xarray, which then read the values from the original file (local path or URL), fetching only
//! the chunks a selection touches.
//!
//! The mapping of each layout to chunks and codecs, and what cannot be mapped, is in
//! `spec-notes/virtual-zarr.md`. In short: uncompressed images and blocks are split into
//! chunks of whole rows/planes ([`RefsOptions::chunk_bytes`]); stored big-endian values keep
//! their byte order in the Zarr dtype; scaling goes through numcodecs `fixedscaleoffset` where
//! that reproduces astropy's values bit for bit, and through nd's own codec id
//! ([`ND_FITS_SCALE`]) otherwise; tile-compressed images are one tile per chunk
//! ([`ND_FITS_TILE`], or [`ND_FITS_TILE_TABLE`] for tiles with their own parameters), or a run of
//! whole tile rows per chunk for images with many tiles ([`ND_FITS_TILE_GROUP`],
//! [`RefsOptions::group_tiles_above`]); compressed ASDF blocks are one chunk each with the
//! numcodecs codec that decodes their framing.
//!
//! ```
//! let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/fits/gen/dim2.fits");
//! let ds = nd::open(path)?;
//! let set = nd::refs::build(&ds, &nd::refs::RefsOptions::default())?;
//! let json = set.to_json();
//! assert_eq!(json["version"], 1);
//! assert!(json["refs"][".zgroup"].is_string());
//! # Ok::<(), nd::Error>(())
//! ```

mod asdf;
mod chunks;
pub mod codec;
mod concat;
mod fits;
mod parq;
mod sources;
mod strided;
mod table;
mod tiles;
mod v3;

pub use concat::concat;
pub use parq::{is_parquet_path, write_parquet, RECORD_SIZE};
pub use sources::{expand_sources, is_pattern, wildcard_match};
pub use v3::to_v3;

use crate::error::{Error, Result};
use crate::Dataset;
use nd_core::{AttrValue, Attributes};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// The numcodecs codec id nd uses for FITS scaling that `fixedscaleoffset` cannot reproduce
/// exactly (BSCALE not a power of two, BLANK → NaN, BZERO = 2^63). Its configuration:
/// `{"id": "nd_fits_scale", "bitpix": 16, "bscale": 0.1, "bzero": 5.0, "blank": -32768}`;
/// decoding gives astropy's physical values (`spec-notes/virtual-zarr.md`).
pub const ND_FITS_SCALE: &str = "nd_fits_scale";

/// The numcodecs codec id nd uses for one RICE_1, PLIO_1 or HCOMPRESS_1 tile of a
/// tile-compressed FITS image (lossless integer tiles; one tile is one chunk). Its
/// configuration: `{"id": "nd_fits_tile", "zcmptype": "RICE_1", "zbitpix": 16, "tile": [1, 100],
/// "blocksize": 32, "bytepix": 2, "hscale": 0, "hsmooth": false, "plio_big_endian": true}`;
/// decoding gives the tile's values as ZBITPIX big-endian bytes.
pub const ND_FITS_TILE: &str = "nd_fits_tile";

/// The numcodecs codec id nd uses for one column of a FITS table (a chunk is a run of whole
/// rows, the same byte range for every column of the table). Its configuration:
/// `{"id": "nd_fits_column", "hdu": 1, "ascii": false, "row_bytes": 24, "rows": 1000,
/// "offset": 8, "keywords": {"TTYPE": "FLUX", "TFORM": "1J", "TSCAL": 0.5, "TNULL": -1}}`;
/// decoding gives astropy's values of the column (`hdu.data[name]`) for `rows` rows, native
/// byte order.
pub const ND_FITS_COLUMN: &str = "nd_fits_column";

/// The numcodecs codec id nd uses for one tile of a tile-compressed FITS image whose tiles need
/// their own parameters: quantized tiles (per-tile ZSCALE / ZZERO, dither seeded by the tile's
/// index), null pixels (ZBLANK), tiles in GZIP_COMPRESSED_DATA / UNCOMPRESSED_DATA, tiles that
/// do not divide the image. Its configuration holds the image's settings (those of
/// [`ND_FITS_TILE`], `shape`, `zquantiz`, `zdither0`, `zblank`, `bscale`, `bzero`, `blank`) and a
/// table `tiles` (per tile: `length` and `checksum` of its bytes, which identify it, and its
/// `zscale`, `zzero`, `zblank`, `column` where they apply); decoding gives the full tile's
/// physical values as astropy gives them, an edge tile zero-padded to the chunk shape.
pub const ND_FITS_TILE_TABLE: &str = "nd_fits_tile_table";

/// The numcodecs codec id nd uses for a group of tiles of a tile-compressed FITS image (a run of
/// whole tile rows, or of tiles along the last axis, contiguous in the heap): one chunk is the
/// compressed streams of its tiles one after another. Its configuration holds the image's
/// settings (those of [`ND_FITS_TILE_TABLE`]), `chunk_shape` (the chunk in pixels), `tiles` (per
/// tile, base64 of little-endian binary columns: `length` u32 and, where they apply, `zscale`
/// and `zzero` f64, `zblank` i64, `column` u8) and `chunks` (per chunk: `checksum` u64, CRC-32C
/// and CRC-32 of its bytes, which with its length identify it); decoding splits the chunk at its
/// tiles' lengths, decodes each with its own parameters (dither seeded by its index) and places
/// it, giving the chunk's physical values as astropy gives them (zeros past the image's edge).
pub const ND_FITS_TILE_GROUP: &str = "nd_fits_tile_group";

/// The numcodecs codec id nd uses for python asdf's lz4 block framing when a block holds more
/// than one frame: `{"id": "nd_asdf_lz4"}`.
pub const ND_ASDF_LZ4: &str = "nd_asdf_lz4";

/// The numcodecs codec id nd uses for a strided view of an uncompressed ASDF block (`strides`,
/// `offset`, negative strides, Fortran order): a chunk is the byte range spanning its elements,
/// and decoding gathers them into C order, each element's stored bytes unchanged. Its
/// configuration: `{"id": "nd_asdf_strided", "shape": [4, 20], "strides": [-160, 4],
/// "itemsize": 4, "axis": 0}` (`shape` the chunk's, `axis` the one the array is split along; a
/// shorter last chunk along it is recognised by its length and zero-filled).
pub const ND_ASDF_STRIDED: &str = "nd_asdf_strided";

/// The default of [`RefsOptions::group_tiles_above`].
pub const DEFAULT_GROUP_TILES_ABOVE: u64 = 65_536;

/// Options of [`build`].
#[derive(Debug, Clone)]
pub struct RefsOptions {
    /// Largest chunk of an uncompressed array, in bytes (a chunk is at least one row, or one
    /// element of a 1-D array). Default 8 MiB.
    pub chunk_bytes: u64,
    /// Write the references to `PREFIX` + the file's name instead of the source's own path or
    /// URL (for a file that will be served from elsewhere: `s3://bucket/dir/`).
    pub url_prefix: Option<String>,
    /// A tile-compressed image with more tiles than this maps a group of tiles (whole tile rows,
    /// about [`Self::chunk_bytes`] of values) to one chunk through [`ND_FITS_TILE_GROUP`] where
    /// the tiles lie in order in the heap; at most this many, one tile to one chunk. Default
    /// 65,536 (the most tiles [`ND_FITS_TILE_TABLE`] holds).
    pub group_tiles_above: u64,
}

impl Default for RefsOptions {
    fn default() -> Self {
        RefsOptions {
            chunk_bytes: 8 << 20,
            url_prefix: None,
            group_tiles_above: DEFAULT_GROUP_TILES_ABOVE,
        }
    }
}

/// One reference.
#[derive(Debug, Clone, PartialEq)]
pub enum Ref {
    /// A metadata document (`.zarray`, `.zattrs`, `.zgroup`), as JSON.
    Json(Value),
    /// Bytes given inline (written `base64:…`).
    Bytes(Vec<u8>),
    /// A byte range of one of the set's files.
    Range {
        /// Index of the file in [`RefSet::urls`] (0 for a set built from one file).
        file: usize,
        /// Byte offset.
        offset: u64,
        /// Length in bytes.
        length: u64,
    },
}

/// A reference set: one file (or several concatenated, [`concat()`]) as a Zarr v2 hierarchy.
#[derive(Debug, Clone, PartialEq)]
pub struct RefSet {
    /// The paths or URLs the byte ranges refer to ([`Ref::Range::file`] indexes this list).
    pub urls: Vec<String>,
    /// Key → reference (Zarr keys: `.zgroup`, `SCI/.zarray`, `SCI/0.0`, …).
    pub refs: BTreeMap<String, Ref>,
    /// Parts of the file that are not in the hierarchy, each with the reason (also in the root
    /// `.zattrs` as `nd_skipped`).
    pub skipped: Vec<String>,
    /// Arrays that need one of nd's codecs ([`ND_FITS_SCALE`], [`ND_ASDF_LZ4`], [`ND_ASDF_STRIDED`],
    /// [`ND_FITS_TILE`], [`ND_FITS_TILE_TABLE`], [`ND_FITS_TILE_GROUP`], [`ND_FITS_COLUMN`]) to be
    /// read.
    pub needs_nd_codec: Vec<String>,
}

impl RefSet {
    /// The arrays in the set (their Zarr paths), in key order.
    pub fn arrays(&self) -> Vec<&str> {
        self.refs
            .keys()
            .filter_map(|k| {
                k.strip_suffix("/.zarray")
                    .or((k == ".zarray").then_some(""))
            })
            .collect()
    }

    /// Number of byte-range references.
    pub fn num_ranges(&self) -> usize {
        self.refs
            .values()
            .filter(|r| matches!(r, Ref::Range { .. }))
            .count()
    }

    /// kerchunk's version 1 JSON.
    pub fn to_json(&self) -> Value {
        let mut refs = Map::new();
        for (k, r) in &self.refs {
            let v = match r {
                Ref::Json(v) => Value::String(v.to_string()),
                Ref::Bytes(b) => Value::String(format!("base64:{}", base64(b))),
                Ref::Range {
                    file,
                    offset,
                    length,
                } => json!([self.urls[*file], offset, length]),
            };
            refs.insert(k.clone(), v);
        }
        json!({"version": 1, "refs": refs})
    }
}

/// Build the reference set of one FITS or ASDF file. Reads the headers (FITS) or the tree and
/// block headers (ASDF), plus a few bytes per lz4 block; never the data, except the last chunk
/// of an array that ends exactly at the end of the file with no chunk size fitting (given inline)
/// and the tiles of a tile-compressed image mapped through [`ND_FITS_TILE_TABLE`] or
/// [`ND_FITS_TILE_GROUP`] (read once, for the checksums that identify them).
///
/// # Errors
/// [`Error::Input`] for a Zarr source (already Zarr), a gzip-compressed FITS file (its byte
/// offsets are those of the decompressed stream), or a file whose structure cannot be read.
pub fn build(ds: &Dataset, opts: &RefsOptions) -> Result<RefSet> {
    let url = target_url(ds.path(), opts.url_prefix.as_deref())?;
    let mut b = Builder {
        set: RefSet {
            urls: vec![url],
            refs: BTreeMap::new(),
            skipped: Vec::new(),
            needs_nd_codec: Vec::new(),
        },
        root_attrs: Map::new(),
        chunk_bytes: opts.chunk_bytes.max(1),
        group_tiles_above: opts.group_tiles_above,
    };
    if let Some(x) = ds.extended() {
        return Err(Error::input(format!(
            "{}{}: references describe whole files; give the file without the brackets",
            ds.path(),
            x.brackets
        )));
    }
    match ds.native() {
        crate::Native::Fits(f) => fits::build(ds, f, &mut b)?,
        crate::Native::Asdf(a) => asdf::build(ds, a, &mut b)?,
        crate::Native::Npy => {
            return Err(Error::input(format!(
                "{}: an .npy/.npz file; references are made for FITS and ASDF files",
                ds.path()
            )))
        }
        crate::Native::Zarr(_) => {
            return Err(Error::input(format!(
                "{}: already a Zarr store; references are made for FITS and ASDF files",
                ds.path()
            )))
        }
    }
    b.finish()
}

/// The reference set of the sources of `nd refs`: local patterns expanded
/// ([`expand_sources`]), each file opened with `open` and described by [`build`]; several files
/// combined along `concat_dim` ([`concat()`]); rewritten as Zarr v3 ([`to_v3`]) when
/// `zarr_format` is 3. Returns the expanded sources too.
///
/// # Errors
/// [`Error::Input`] for no source, more than one without `concat_dim`, a `zarr_format` other
/// than 2 or 3, and the errors of the steps above.
pub fn build_sources(
    sources: &[String],
    opts: &RefsOptions,
    concat_dim: Option<&str>,
    zarr_format: u8,
    open: &dyn Fn(&str) -> Result<Dataset>,
) -> Result<(Vec<String>, RefSet)> {
    if !matches!(zarr_format, 2 | 3) {
        return Err(Error::input(format!(
            "Zarr format {zarr_format}: references are written as Zarr 2 or 3"
        )));
    }
    let sources = expand_sources(sources)?;
    if sources.len() > 1 && concat_dim.is_none() {
        return Err(Error::input(format!(
            "{} sources: give --concat-dim NAME to combine them into one dataset",
            sources.len()
        )));
    }
    let mut sets = Vec::with_capacity(sources.len());
    for s in &sources {
        sets.push(build(&open(s)?, opts)?);
    }
    let set = match concat_dim {
        Some(dim) => concat(&sets, dim)?,
        None => sets.pop().ok_or_else(|| Error::input("no source"))?,
    };
    let set = if zarr_format == 3 { to_v3(&set)? } else { set };
    Ok((sources, set))
}

/// Write a reference set to `dst`: kerchunk's parquet layout ([`write_parquet`]) for a
/// destination ending in `.parq` or `.parquet`, else version 1 JSON ([`write_json`]).
///
/// # Errors
/// Those of [`write_parquet`] and [`write_json`].
pub fn write(set: &RefSet, dst: &str, force: bool, sources: &[&str]) -> Result<()> {
    if dst != "-" && is_parquet_path(dst) {
        write_parquet(set, dst, force, sources)
    } else {
        write_json(set, dst, force, sources)
    }
}

/// Write a reference set as JSON to `dst` (`-` for standard output), refusing a destination
/// that overlaps one of `sources`; an existing file is replaced only with `force`, and never a
/// link, directory, FIFO or device. The file is written under a temporary name and renamed into
/// place.
///
/// # Errors
/// [`Error::Input`] for a refused destination (nothing written), [`Error::Output`] when writing
/// fails.
pub fn write_json(set: &RefSet, dst: &str, force: bool, sources: &[&str]) -> Result<()> {
    use nd_core::io::{existing, Existing};
    use std::io::Write;
    let text = serde_json::to_vec(&set.to_json()).map_err(|e| Error::input(e.to_string()))?;
    let out_err = |source: std::io::Error| Error::Output {
        context: dst.to_string(),
        source,
    };
    if dst == "-" {
        let mut o = std::io::stdout().lock();
        o.write_all(&text).map_err(out_err)?;
        return o.write_all(b"\n").map_err(out_err);
    }
    crate::export::check_overlap(dst, sources)?;
    let path = std::path::Path::new(dst);
    let refuse = |what: String| Error::input(format!("{dst}: {what}; nothing was written"));
    match existing(path).map_err(|e| Error::input(e.to_string()))? {
        Existing::Nothing => {}
        Existing::File if force => {}
        Existing::File => return Err(refuse("exists (use --force to replace it)".into())),
        other => {
            return Err(refuse(format!(
                "is {}, which nd does not replace",
                other.describe()
            )))
        }
    }
    let mut tmp = nd_core::io::TempFile::create(path).map_err(|e| Error::input(e.to_string()))?;
    tmp.file_mut().write_all(&text).map_err(out_err)?;
    tmp.persist().map_err(|e| Error::input(e.to_string()))
}

/// The path or URL written into the references: `prefix` + the file's name when a prefix is
/// given, else a URL as given, else the local file's absolute path.
fn target_url(path: &str, prefix: Option<&str>) -> Result<String> {
    if let Some(p) = prefix {
        let name = path
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or(path);
        let sep = if p.is_empty() || p.ends_with('/') {
            ""
        } else {
            "/"
        };
        return Ok(format!("{p}{sep}{name}"));
    }
    if nd_remote::is_url(path) && !path.starts_with("file://") {
        return Ok(path.to_string());
    }
    let local = path.strip_prefix("file://").unwrap_or(path);
    let abs = std::fs::canonicalize(local)
        .map_err(|e| Error::input(format!("{path}: cannot resolve its absolute path: {e}")))?;
    abs.to_str()
        .map(String::from)
        .ok_or_else(|| Error::input(format!("{path}: the path is not valid UTF-8")))
}

/// Collects references while the format modules walk a file.
pub(crate) struct Builder {
    set: RefSet,
    root_attrs: Map<String, Value>,
    chunk_bytes: u64,
    group_tiles_above: u64,
}

/// What a format module says about one array.
pub(crate) struct ArraySpec {
    /// Zarr path (`SCI`, `data`, `group/sub`).
    pub path: String,
    /// Shape (numpy order).
    pub shape: Vec<u64>,
    /// Chunk shape.
    pub chunks: Vec<u64>,
    /// Zarr v2 dtype (`">i2"`, `"<f4"`, `"|u1"`, or a record list `[["x", "<f4"], …]`).
    pub dtype: Value,
    /// numcodecs compressor configuration.
    pub compressor: Option<Value>,
    /// numcodecs filter configurations.
    pub filters: Option<Vec<Value>>,
    /// The `fill_value` of `.zarray`: null (every chunk is referenced) except for stores whose
    /// unwritten chunks read as a fill value (Zarr-in-ASDF).
    pub fill_value: Value,
    /// `.zattrs` (`_ARRAY_DIMENSIONS` included).
    pub attrs: Map<String, Value>,
}

impl Builder {
    /// Record a part that is not mapped, with the reason.
    pub(crate) fn skip(&mut self, what: String) {
        self.set.skipped.push(what);
    }

    /// Attributes of the root group.
    pub(crate) fn root_attrs(&mut self) -> &mut Map<String, Value> {
        &mut self.root_attrs
    }

    /// Add an array's metadata (and the groups above it).
    pub(crate) fn array(&mut self, a: ArraySpec) {
        if a.filters.iter().flatten().chain(&a.compressor).any(|c| {
            matches!(
                c["id"].as_str(),
                Some(
                    ND_FITS_SCALE
                        | ND_ASDF_LZ4
                        | ND_ASDF_STRIDED
                        | ND_FITS_TILE
                        | ND_FITS_TILE_TABLE
                        | ND_FITS_TILE_GROUP
                        | ND_FITS_COLUMN
                )
            )
        }) {
            self.set.needs_nd_codec.push(a.path.clone());
        }
        let zarray = json!({
            "zarr_format": 2,
            "shape": a.shape,
            "chunks": a.chunks,
            "dtype": a.dtype,
            "compressor": a.compressor,
            "fill_value": a.fill_value,
            "order": "C",
            "filters": a.filters,
        });
        let mut parts: Vec<&str> = a.path.split('/').collect();
        parts.pop();
        for i in 1..=parts.len() {
            let g = parts[..i].join("/");
            self.set
                .refs
                .entry(format!("{g}/.zgroup"))
                .or_insert_with(|| Ref::Json(json!({"zarr_format": 2})));
        }
        self.set
            .refs
            .insert(key(&a.path, ".zarray"), Ref::Json(zarray));
        self.set
            .refs
            .insert(key(&a.path, ".zattrs"), Ref::Json(Value::Object(a.attrs)));
    }

    /// Add a group's `.zgroup` and `.zattrs` (and the groups above it).
    pub(crate) fn group(&mut self, path: &str, attrs: Map<String, Value>) {
        let mut g = String::new();
        for part in path.split('/') {
            if !g.is_empty() {
                g.push('/');
            }
            g.push_str(part);
            self.set
                .refs
                .entry(key(&g, ".zgroup"))
                .or_insert_with(|| Ref::Json(json!({"zarr_format": 2})));
        }
        self.set
            .refs
            .insert(key(path, ".zattrs"), Ref::Json(Value::Object(attrs)));
    }

    /// Add one chunk as a byte range of the set's file.
    pub(crate) fn range(&mut self, path: &str, chunk: &str, offset: u64, length: u64) {
        self.range_in(0, path, chunk, offset, length);
    }

    /// Add one chunk as a byte range of file `file` (an index from [`Builder::sibling`]).
    pub(crate) fn range_in(
        &mut self,
        file: usize,
        path: &str,
        chunk: &str,
        offset: u64,
        length: u64,
    ) {
        self.set.refs.insert(
            key(path, chunk),
            Ref::Range {
                file,
                offset,
                length,
            },
        );
    }

    /// The index of the file `rel` (a relative name without `..`) in the directory of the set's
    /// file, as the references name it: the file's URL with its last component replaced (so
    /// a `--url-prefix` applies to it too). Added to the set's URLs once.
    pub(crate) fn sibling(&mut self, rel: &str) -> usize {
        let main = &self.set.urls[0];
        let url = match main.rsplit_once('/') {
            Some((dir, _)) => format!("{dir}/{rel}"),
            None => rel.to_string(),
        };
        match self.set.urls.iter().position(|u| *u == url) {
            Some(i) => i,
            None => {
                self.set.urls.push(url);
                self.set.urls.len() - 1
            }
        }
    }

    /// Add one chunk inline.
    pub(crate) fn bytes(&mut self, path: &str, chunk: &str, data: Vec<u8>) {
        self.set.refs.insert(key(path, chunk), Ref::Bytes(data));
    }

    /// Add the chunks of a contiguous uncompressed array at `start` in file `file` (0, or an
    /// index from [`Builder::sibling`]) of `file_len` bytes; returns the chunk shape, or `None`
    /// when no grid fits (see `chunks.rs`). `read` reads the bytes of an inline last chunk.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn contiguous(
        &mut self,
        file: usize,
        path: &str,
        shape: &[u64],
        elem: u64,
        start: u64,
        file_len: u64,
        read: &dyn Fn(u64, u64) -> Result<Vec<u8>>,
    ) -> Result<Option<Vec<u64>>> {
        let Some(plan) = chunks::plan_contiguous(shape, elem, start, file_len, self.chunk_bytes)
        else {
            return Ok(None);
        };
        for r in &plan.refs {
            match r.inline_valid {
                None => self.range_in(file, path, &r.key, r.offset, r.length),
                Some(valid) => {
                    let mut data = read(r.offset, valid)?;
                    data.resize(r.length as usize, 0);
                    self.bytes(path, &r.key, data);
                }
            }
        }
        Ok(Some(plan.chunks))
    }

    fn finish(mut self) -> Result<RefSet> {
        if !self.set.skipped.is_empty() {
            self.root_attrs
                .insert("nd_skipped".into(), json!(self.set.skipped));
        }
        self.set
            .refs
            .insert(".zgroup".into(), Ref::Json(json!({"zarr_format": 2})));
        self.set
            .refs
            .insert(".zattrs".into(), Ref::Json(Value::Object(self.root_attrs)));
        Ok(self.set)
    }
}

/// `path/name`, or `name` for the root.
fn key(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}/{name}")
    }
}

/// nd's attribute values as JSON (non-finite floats as the strings zarr-python writes).
pub(crate) fn attrs_json(a: &Attributes) -> Map<String, Value> {
    a.iter().map(|(k, v)| (k.clone(), attr_json(v))).collect()
}

/// A float as JSON (non-finite as the strings zarr-python writes).
pub(crate) fn attr_json_f64(f: f64) -> Value {
    attr_json(&AttrValue::Float(f))
}

fn attr_json(v: &AttrValue) -> Value {
    match v {
        AttrValue::Null => Value::Null,
        AttrValue::Bool(b) => Value::Bool(*b),
        AttrValue::Int(i) => json!(i),
        AttrValue::Float(f) => match serde_json::Number::from_f64(*f) {
            Some(n) => Value::Number(n),
            None if f.is_nan() => Value::String("NaN".into()),
            None if *f > 0.0 => Value::String("Infinity".into()),
            None => Value::String("-Infinity".into()),
        },
        AttrValue::Str(s) => Value::String(s.clone()),
        AttrValue::List(l) => Value::Array(l.iter().map(attr_json).collect()),
        AttrValue::Map(m) => {
            Value::Object(m.iter().map(|(k, v)| (k.clone(), attr_json(v))).collect())
        }
    }
}

/// Standard base64 with padding (nd-codecs' numcodecs `Base64`, as Python's `b64encode`).
pub(crate) fn base64(data: &[u8]) -> String {
    use nd_codecs::Codec;
    let text = nd_codecs::b64::Base64.encode(data).unwrap_or_default();
    String::from_utf8_lossy(&text).into_owned()
}

/// The bytes of base64 `text`, which must be exactly `len` bytes (checked before decoding
/// allocates more than the text justifies).
pub(crate) fn unbase64(text: &str, len: usize) -> std::result::Result<Vec<u8>, String> {
    use nd_codecs::Codec;
    let out = nd_codecs::b64::Base64
        .decode(text.as_bytes(), len)
        .map_err(|e| e.to_string())?;
    if out.len() != len {
        return Err(format!("{} bytes where {len} are needed", out.len()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_rfc_examples() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (i, o) in cases {
            assert_eq!(base64(i.as_bytes()), o);
            assert_eq!(unbase64(o, i.len()).unwrap(), i.as_bytes());
        }
        assert!(unbase64("Zm9v", 2).is_err(), "longer than asked");
        assert!(unbase64("Zg==", 2).is_err(), "shorter than asked");
    }

    #[test]
    fn url_prefix_replaces_the_directory() {
        assert_eq!(
            target_url("/data/x/img.fits", Some("s3://b/d")).unwrap(),
            "s3://b/d/img.fits"
        );
        assert_eq!(
            target_url("https://h/a/img.fits", Some("s3://b/")).unwrap(),
            "s3://b/img.fits"
        );
        assert_eq!(
            target_url("https://h/a/img.fits", None).unwrap(),
            "https://h/a/img.fits"
        );
    }
}
