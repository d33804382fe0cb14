//! What the commands need from a format: list arrays, open one by selector, describe, verify.

use crate::error::{Error, Result};
use nd_core::ArrayRead;
use std::io::Write;

/// What an entry of [`crate::Dataset::arrays`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ArrayKind {
    /// A FITS image HDU (plain or tile-compressed).
    Image,
    /// A column of a table (FITS `HDU/COLUMN`).
    Column,
    /// An ASDF ndarray or a Zarr array.
    Array,
}

impl ArrayKind {
    /// `image`, `column` or `array`.
    pub fn name(self) -> &'static str {
        match self {
            ArrayKind::Image => "image",
            ArrayKind::Column => "column",
            ArrayKind::Array => "array",
        }
    }
}

/// One array of a file, as `nd info --json` lists it.
#[derive(Debug, Clone)]
pub struct ArrayEntry {
    /// Selector that opens it (`nd export PATH SELECTOR`).
    pub path: String,
    /// Shape, numpy order.
    pub shape: Vec<u64>,
    /// numpy typestr of the values the reference library returns.
    pub dtype: String,
    /// Chunk (or tile) shape, if stored in chunks.
    pub chunks: Option<Vec<u64>>,
    /// Compression, if any.
    pub codec: Option<String>,
    /// What it is.
    pub kind: ArrayKind,
}

impl ArrayEntry {
    /// The JSON object of `nd info --json`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "path": self.path,
            "shape": self.shape,
            "dtype": self.dtype,
            "chunks": self.chunks,
            "codec": self.codec,
            "kind": self.kind.name(),
        })
    }
}

/// One verification finding.
#[derive(Debug, Clone)]
pub struct Finding {
    /// Where (HDU, block, key).
    pub place: String,
    /// What was checked.
    pub what: String,
    /// True when fine (or absent and not required).
    pub ok: bool,
    /// Details.
    pub detail: String,
}

/// The arrays of a file to convert, with names and metadata (see `spec-notes/convert.md`).
#[derive(Debug, Default)]
pub struct ConvertPlan {
    /// File-level metadata (FITS: the header of an empty primary HDU, the HDU order).
    pub meta: serde_json::Map<String, serde_json::Value>,
    /// The arrays, in file order.
    pub items: Vec<ConvertItem>,
    /// What cannot be converted (random groups, variable-length columns, ...), each with its
    /// reason, for a warning.
    pub skipped: Vec<String>,
}

/// One array to convert.
#[derive(Debug)]
pub struct ConvertItem {
    /// Name in the destination (Zarr path, ASDF tree key, FITS EXTNAME).
    pub name: String,
    /// Selector that opens it in the source.
    pub selector: String,
    /// Its metadata (FITS: `fits_header`, the raw non-structural cards; a table also has
    /// `fits_table`, its column descriptions).
    pub meta: serde_json::Map<String, serde_json::Value>,
    /// A table: its columns (then `selector` names the table, not an array).
    pub table: Option<TableSpec>,
}

/// The columns of a table to convert (see `spec-notes/convert.md`, "Tables").
#[derive(Debug, Clone, Default)]
pub struct TableSpec {
    /// The columns, in table order.
    pub columns: Vec<TableColumn>,
    /// Decoded bytes of all columns, when known before opening them (FITS tables: opening a
    /// column reads it whole, so the budget is checked first).
    pub bytes: Option<u64>,
}

/// One column of a table to convert.
#[derive(Debug, Clone)]
pub struct TableColumn {
    /// Its array name inside the table's group (Zarr) or mapping (ASDF).
    pub key: String,
    /// Selector that opens it in the source.
    pub selector: String,
}

/// What `nd` needs from one format: list arrays, open one by selector, describe, verify, plan a
/// conversion. One implementation per format in [`crate::formats`].
pub trait Backend: Send + Sync {
    /// `fits`, `asdf` or `zarr`.
    fn format(&self) -> &'static str;
    /// Every array, in file order.
    fn arrays(&self) -> Result<Vec<ArrayEntry>>;
    /// Open one array by selector.
    fn open_array(&self, selector: &str) -> Result<Box<dyn ArrayRead>>;
    /// The human `nd info` listing.
    fn info_human(&self, w: &mut dyn Write) -> std::io::Result<()>;
    /// Extra keys of `nd info --json` (FITS: `hdus`).
    fn info_json_extra(&self, _obj: &mut serde_json::Map<String, serde_json::Value>) -> Result<()> {
        Ok(())
    }
    /// Header cards of one HDU (FITS only).
    fn header_text(&self, _hdu: Option<&str>) -> Result<String> {
        Err(Error::input(format!(
            "`nd header` is for FITS files; this is {}",
            self.format()
        )))
    }
    /// Problems that make the file unreadable in part (truncated data): `nd info` lists what it can,
    /// then fails with this.
    fn check_readable(&self) -> Result<()> {
        Ok(())
    }
    /// Irregularities worth a warning on stderr (trailing bytes, lenient header fixes).
    fn warnings(&self) -> Vec<String> {
        Vec::new()
    }
    /// Headers / tree / attributes in one vocabulary (see [`crate::Dataset::metadata`]).
    fn metadata(&self) -> Result<serde_json::Value>;
    /// A table HDU by selector (FITS only).
    fn table(&self, _selector: &str) -> Result<nd_fits::Table> {
        Err(Error::input(format!(
            "tables are FITS tables; this is {}",
            self.format()
        )))
    }
    /// The attributes of the array `selector` for xarray (see [`crate::Dataset::attributes`]);
    /// by default none.
    fn attributes(&self, _selector: &str) -> Result<serde_json::Map<String, serde_json::Value>> {
        Ok(serde_json::Map::new())
    }
    /// The dimension names of the array `selector` (of `ndim` axes) as its source gives them,
    /// before they are made consistent with the other arrays of its group (see
    /// `convert/dims.rs`). By default `dim_0, dim_1, …`.
    fn dimension_names(&self, _selector: &str, ndim: usize) -> Result<Vec<String>> {
        Ok(crate::convert::dims::names(
            &serde_json::Map::new(),
            ndim,
            false,
        ))
    }
    /// The format crate's own handle, for [`crate::Dataset::native`].
    fn native(&self) -> crate::Native<'_>;
    /// What `nd convert` copies.
    fn convert_plan(&self) -> Result<ConvertPlan>;
    /// Everything the format can check.
    fn verify(&self) -> Result<Vec<Finding>>;
}

/// Typestr of a native-endian type (what numpy would show).
pub fn typestr(dt: &nd_core::DataType) -> String {
    match dt {
        nd_core::DataType::Struct(_) => format!("|V{}", dt.size()),
        other => other.typestr(nd_core::Endian::NATIVE),
    }
}

/// The table a group (Zarr) or mapping (ASDF) holds when its metadata has `fits_table`: its
/// columns, in the order `fits_table.columns` lists them (else `children`, the arrays found
/// under it), each opened as `<prefix>/<array>`.
pub fn table_from_meta(
    prefix: &str,
    meta: &serde_json::Map<String, serde_json::Value>,
    children: &[String],
) -> Option<TableSpec> {
    let ft = meta.get("fits_table")?.as_object()?;
    let listed: Vec<String> = ft
        .get("columns")
        .and_then(|c| c.as_array())
        .map(|cols| {
            cols.iter()
                .filter_map(|c| c.get("array").and_then(|a| a.as_str()).map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let keys = if listed.is_empty() {
        children.to_vec()
    } else {
        listed
    };
    Some(TableSpec {
        columns: keys
            .into_iter()
            .map(|k| TableColumn {
                selector: if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}/{k}")
                },
                key: k,
            })
            .collect(),
        bytes: None,
    })
}
