//! What the commands need from a format: list arrays, open one by selector, describe, verify.

use nd_core::ArrayRead;
use std::io::Write;

/// A failure with the exit status it maps to.
#[derive(Debug)]
pub struct CliError {
    /// 1: verification found damage; 2: bad usage or unreadable input.
    pub code: i32,
    /// One line, naming the file and where it failed.
    pub msg: String,
}

impl CliError {
    /// Exit status 2 with a message.
    pub fn input(msg: impl Into<String>) -> Self {
        CliError {
            code: 2,
            msg: msg.into(),
        }
    }
}

/// Result of the commands.
pub type CliResult<T> = Result<T, CliError>;

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
    /// What cannot be converted (tables, ...), for a warning.
    pub skipped: Vec<String>,
}

/// One array to convert.
#[derive(Debug)]
pub struct ConvertItem {
    /// Name in the destination (Zarr path, ASDF tree key, FITS EXTNAME).
    pub name: String,
    /// Selector that opens it in the source.
    pub selector: String,
    /// Its metadata (FITS: `fits_header`, the raw non-structural cards).
    pub meta: serde_json::Map<String, serde_json::Value>,
}

/// An opened file or store of any format.
pub trait Dataset {
    /// `fits`, `asdf` or `zarr`.
    fn format(&self) -> &'static str;
    /// Every array, in file order.
    fn arrays(&self) -> CliResult<Vec<ArrayEntry>>;
    /// Open one array by selector.
    fn open_array(&self, selector: &str) -> CliResult<Box<dyn ArrayRead + '_>>;
    /// The human `nd info` listing.
    fn info_human(&self, w: &mut dyn Write) -> std::io::Result<()>;
    /// Extra keys of `nd info --json` (FITS: `hdus`).
    fn info_json_extra(
        &self,
        _obj: &mut serde_json::Map<String, serde_json::Value>,
    ) -> CliResult<()> {
        Ok(())
    }
    /// Header cards of one HDU (FITS only).
    fn header_text(&self, _hdu: Option<&str>) -> CliResult<String> {
        Err(CliError::input(format!(
            "`nd header` is for FITS files; this is {}",
            self.format()
        )))
    }
    /// Problems that make the file unreadable in part (truncated data): `nd info` lists what it can,
    /// then fails with this.
    fn check_readable(&self) -> CliResult<()> {
        Ok(())
    }
    /// Irregularities worth a warning on stderr (trailing bytes, lenient header fixes).
    fn warnings(&self) -> Vec<String> {
        Vec::new()
    }
    /// What `nd convert` copies.
    fn convert_plan(&self) -> CliResult<ConvertPlan>;
    /// Everything the format can check.
    fn verify(&self) -> CliResult<Vec<Finding>>;
}

/// Typestr of a native-endian type (what numpy would show).
pub fn typestr(dt: &nd_core::DataType) -> String {
    match dt {
        nd_core::DataType::Struct(_) => format!("|V{}", dt.size()),
        other => other.typestr(nd_core::Endian::NATIVE),
    }
}
