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

/// How serious a verification finding is. One scale for every format: fitsverify's errors and
/// warnings for FITS, the same words for ASDF and Zarr (see `spec-notes/fits.md`,
/// "Verification").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Severity {
    /// Checked and fine (or absent and not required).
    Ok,
    /// Allowed but questionable: a stale checksum, a duplicate or deprecated keyword.
    Warning,
    /// Breaks the format's standard, or data that cannot be read back.
    Error,
}

impl Severity {
    /// `ok`, `warning` or `error`, as `nd verify --json` writes it.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Ok => "ok",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One verification finding.
#[derive(Debug, Clone)]
pub struct Finding {
    /// Where (HDU, block, key).
    pub place: String,
    /// What was checked.
    pub what: String,
    /// How serious.
    pub severity: Severity,
    /// Details.
    pub detail: String,
}

impl Finding {
    /// A finding of the given severity.
    pub fn new(
        severity: Severity,
        place: impl Into<String>,
        what: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Finding {
            place: place.into(),
            what: what.into(),
            severity,
            detail: detail.into(),
        }
    }
    /// A check that passed.
    pub fn ok(
        place: impl Into<String>,
        what: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Finding::new(Severity::Ok, place, what, detail)
    }
    /// A warning.
    pub fn warning(
        place: impl Into<String>,
        what: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Finding::new(Severity::Warning, place, what, detail)
    }
    /// An error.
    pub fn error(
        place: impl Into<String>,
        what: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Finding::new(Severity::Error, place, what, detail)
    }
    /// True when the check passed.
    pub fn is_ok(&self) -> bool {
        self.severity == Severity::Ok
    }
}

/// The result of `nd verify`: the findings and their counts, one shape for every format.
#[derive(Debug, Clone)]
pub struct VerifyReport {
    /// `fits`, `asdf` or `zarr`.
    pub format: &'static str,
    /// Every finding, in file order.
    pub findings: Vec<Finding>,
}

impl VerifyReport {
    /// Number of errors.
    pub fn errors(&self) -> usize {
        self.count(Severity::Error)
    }
    /// Number of warnings.
    pub fn warnings(&self) -> usize {
        self.count(Severity::Warning)
    }
    fn count(&self, s: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity == s).count()
    }
    /// The exit status convention of `nd verify`: 0 clean, 1 errors or warnings found (2, could
    /// not read, is the caller's when verification could not start).
    pub fn exit_code(&self) -> u8 {
        u8::from(self.errors() + self.warnings() > 0)
    }
    /// The object `nd verify --json` prints: `path`, `format`, `errors`, `warnings`, `problems`
    /// (errors + warnings) and `checks` (`place`, `what`, `severity`, `ok`, `detail`).
    pub fn to_json(&self, path: &str) -> serde_json::Value {
        let checks: Vec<serde_json::Value> = self
            .findings
            .iter()
            .map(|f| {
                serde_json::json!({
                    "place": f.place, "what": f.what, "severity": f.severity.name(),
                    "ok": f.is_ok(), "detail": f.detail,
                })
            })
            .collect();
        serde_json::json!({
            "path": path,
            "format": self.format,
            "errors": self.errors(),
            "warnings": self.warnings(),
            "problems": self.errors() + self.warnings(),
            "checks": checks,
        })
    }
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
    /// [`Backend::open_array`] as the shared reader a [`crate::Array`] holds. A backend that
    /// has the array at hand (ASDF after a listing) hands it over without the box and its copy.
    fn open_array_shared(&self, selector: &str) -> Result<std::sync::Arc<dyn ArrayRead>> {
        self.open_array(selector).map(std::sync::Arc::from)
    }
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
    /// Irregularities worth a warning (trailing bytes, lenient header fixes, a data unit cut
    /// short by the end of the file, a field nd reads differently from the reference library).
    /// With `so_far`, only what is known without parsing more (FITS: the card-level fixes of
    /// headers whose cards were not parsed yet are left out).
    fn warnings(&self, _so_far: bool) -> Vec<String> {
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
    /// The mask of the array `selector` (a masked ASDF array), as a boolean array; by default
    /// none.
    fn mask(&self, _selector: &str) -> Result<Option<Box<dyn ArrayRead>>> {
        Ok(None)
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
    })
}
