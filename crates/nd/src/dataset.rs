//! [`Dataset`]: an opened file or store of any format.

use crate::array::Array;
use crate::backend::{ArrayEntry, Backend, VerifyReport};
use crate::error::Result;

/// The formats nd reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// FITS (plain or gzip-compressed).
    Fits,
    /// ASDF.
    Asdf,
    /// Zarr v2 or v3 (a directory store).
    Zarr,
}

impl Format {
    /// `fits`, `asdf` or `zarr`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Fits => "fits",
            Format::Asdf => "asdf",
            Format::Zarr => "zarr",
        }
    }
}

/// An opened FITS file, ASDF file or Zarr store (local or remote): its arrays by selector, its
/// description, its checks. Opening read metadata only; arrays read data when asked.
pub struct Dataset {
    path: String,
    backend: Box<dyn Backend>,
    pool: Option<std::sync::Arc<rayon::ThreadPool>>,
}

impl std::fmt::Debug for Dataset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dataset")
            .field("path", &self.path)
            .field("format", &self.format())
            .finish()
    }
}

impl Dataset {
    pub(crate) fn new(
        path: &str,
        backend: Box<dyn Backend>,
        pool: Option<std::sync::Arc<rayon::ThreadPool>>,
    ) -> Self {
        Dataset {
            path: path.to_string(),
            backend,
            pool,
        }
    }

    pub(crate) fn backend(&self) -> &dyn Backend {
        &*self.backend
    }

    /// The path or URL it was opened from.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Its format.
    pub fn format(&self) -> Format {
        match self.backend.format() {
            "fits" => Format::Fits,
            "asdf" => Format::Asdf,
            _ => Format::Zarr,
        }
    }

    /// Every array and table column it holds, in file order, with the selector that opens it,
    /// its shape, type, chunks and compression.
    ///
    /// # Errors
    /// [`crate::Error::Input`] when the file's structure cannot be read.
    pub fn arrays(&self) -> Result<Vec<ArrayEntry>> {
        self.backend.arrays()
    }

    /// Open one array. Selectors: FITS `N` (HDU index), `EXTNAME` or `EXTNAME,VER`, and
    /// `HDU/COLUMN` (or `HDU/#K`) for a table column; ASDF a tree path (`data`,
    /// `meta/list/1/deep`); Zarr the array's path (`/` or empty for a root array).
    ///
    /// # Errors
    /// [`crate::Error::Input`] when nothing matches the selector, or it is not an array nd reads.
    pub fn array(&self, selector: &str) -> Result<Array> {
        Ok(Array::new(
            selector,
            self.backend.open_array(selector)?,
            self.pool.clone(),
        ))
    }

    /// Headers, tree or attributes in one vocabulary, as JSON:
    /// - FITS: `{"hdus": [{"index", "name", "kind", "cards": [{"keyword", "value", "comment"}]}]}`,
    ///   cards in file order (a complex value is `[re, im]`, an undefined one `null`);
    /// - ASDF: `{"tree": …}`, the whole tree, a tagged node as `{"!": tag, "value": …}`;
    /// - Zarr: `{"nodes": {path: {"kind": "group"|"array", "attributes": {…}}}}`.
    ///
    /// The format's own view stays reachable through [`Dataset::native`].
    ///
    /// # Errors
    /// [`crate::Error::Input`] when the headers cannot be read.
    pub fn metadata(&self) -> Result<serde_json::Value> {
        self.backend.metadata()
    }

    /// Open a FITS table HDU (binary or ASCII) by selector (`N`, `EXTNAME`, `EXTNAME,VER`):
    /// its header only; rows are read when asked.
    ///
    /// # Errors
    /// [`crate::Error::Input`] when nothing matches, the HDU is not a table, or the file is not
    /// FITS.
    pub fn table(&self, selector: &str) -> Result<crate::Table> {
        Ok(crate::Table::new(
            selector,
            self.backend.table(selector)?,
            self.pool.clone(),
        ))
    }

    /// The attributes of one array, as xarray shows them: a FITS image's header cards
    /// (keyword → value; of a compressed image the image header astropy shows; of a table
    /// column its table's) without those describing the layout or the scaling (`NAXISn`,
    /// `BSCALE`, …, `CHECKSUM`; the values read are physical), the first card of a keyword
    /// winning, `COMMENT` and `HISTORY` joined by newlines, undefined values left out; a Zarr
    /// array's attributes without `_ARRAY_DIMENSIONS`; none for ASDF.
    ///
    /// # Errors
    /// [`crate::Error::Input`] when the selector matches no array.
    pub fn attributes(&self, selector: &str) -> Result<serde_json::Map<String, serde_json::Value>> {
        self.backend.attributes(selector)
    }

    /// Dimension names for xarray of the arrays `selectors`, in that order, as `nd convert`
    /// writes them to Zarr (see `spec-notes/convert.md`): a Zarr array's `_ARRAY_DIMENSIONS`
    /// or v3 `dimension_names`; a FITS image's `CTYPEn` without its projection code, lowercased
    /// (`RA---SIN` → `ra`; numpy axis `i` is FITS axis `NAXIS - i`); otherwise `dim_0, dim_1, …`.
    /// A name repeated within an array gets `_1`, `_2`, …; the arrays are taken as one xarray
    /// dataset, so a name already bound to another length by an earlier array becomes
    /// `<name>_<array>` (the array's name being the selector's last `/`-part), then with a
    /// counter.
    ///
    /// # Errors
    /// [`crate::Error::Input`] when a selector matches no array.
    pub fn dimension_names(&self, selectors: &[&str]) -> Result<Vec<Vec<String>>> {
        let mut groups = crate::convert::dims::Groups::default();
        selectors
            .iter()
            .map(|s| {
                let shape = self.array(s)?.shape().to_vec();
                let names = self.backend.dimension_names(s, shape.len())?;
                let name = s.trim().trim_matches('/').rsplit('/').next().unwrap_or("");
                Ok(groups.place(name, &shape, names))
            })
            .collect()
    }

    /// The format crate's own handle (an [`nd_fits::Fits`], [`nd_asdf::AsdfFile`] or
    /// [`nd_zarr::Hierarchy`]), for what the neutral API does not cover.
    pub fn native(&self) -> crate::Native<'_> {
        self.backend.native()
    }

    /// The listing `nd info` prints (like astropy's `hdul.info()` for FITS).
    pub fn info_text(&self) -> String {
        let mut out = Vec::new();
        // writing into a Vec cannot fail
        let _ = self.backend.info_human(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    /// The description `nd info --json` prints: `format`, `arrays` (as [`ArrayEntry::to_json`]),
    /// `warnings` (as [`Dataset::warnings`]), and per format more (FITS: `hdus`).
    ///
    /// # Errors
    /// As [`Dataset::arrays`].
    pub fn info_json(&self) -> Result<serde_json::Value> {
        let mut obj = serde_json::Map::new();
        obj.insert("format".into(), self.backend.format().into());
        obj.insert(
            "arrays".into(),
            self.arrays()?
                .iter()
                .map(ArrayEntry::to_json)
                .collect::<Vec<_>>()
                .into(),
        );
        self.backend.info_json_extra(&mut obj)?;
        obj.insert("warnings".into(), self.warnings().into());
        Ok(serde_json::Value::Object(obj))
    }

    /// The header cards of one HDU (or every HDU), as they are in the file (FITS only).
    ///
    /// # Errors
    /// [`crate::Error::Input`] for another format or an unknown HDU.
    pub fn header_text(&self, hdu: Option<&str>) -> Result<String> {
        self.backend.header_text(hdu)
    }

    /// Irregularities worth a warning: trailing bytes, lenient header fixes, a data unit cut short
    /// by the end of the file (listed, readable before the cut), a field read differently from
    /// the reference library. `nd info` prints them and lists them in `--json` as `warnings`.
    pub fn warnings(&self) -> Vec<String> {
        self.backend.warnings()
    }

    /// Every check the format allows, one finding each, as errors and warnings on one scale for
    /// every format (FITS: as strict as fitsverify; ASDF: header, blocks, index, checksums,
    /// arrays; Zarr: metadata, chunks, stray keys). See [`VerifyReport::exit_code`] for the
    /// exit convention.
    ///
    /// # Errors
    /// [`crate::Error::Input`] when the file cannot be read far enough to check it.
    pub fn verify(&self) -> Result<VerifyReport> {
        Ok(VerifyReport {
            format: self.backend.format(),
            findings: self.backend.verify()?,
        })
    }
}
