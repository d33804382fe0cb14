//! [`Dataset`]: an opened file or store of any format.

use crate::array::Array;
use crate::backend::{ArrayEntry, Backend, VerifyReport};
use crate::error::Result;
use crate::extended::ExtendedName;

/// The formats nd reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// FITS (plain or gzip-compressed).
    Fits,
    /// ASDF.
    Asdf,
    /// Zarr v2 or v3 (a directory store).
    Zarr,
    /// numpy's `.npy` (one array) or `.npz` (a zip of `.npy` members).
    Npy,
}

impl Format {
    /// `fits`, `asdf` or `zarr`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Fits => "fits",
            Format::Asdf => "asdf",
            Format::Zarr => "zarr",
            Format::Npy => "npy",
        }
    }
}

/// An opened FITS file, ASDF file or Zarr store (local or remote): its arrays by selector, its
/// description, its checks. Opening read metadata only; arrays read data when asked.
pub struct Dataset {
    path: String,
    backend: Box<dyn Backend>,
    pool: Option<std::sync::Arc<rayon::ThreadPool>>,
    /// cfitsio extended filename brackets it was opened with (`f.fits[SCI][1:10,1:10]`).
    extended: Option<ExtendedName>,
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
            extended: None,
        }
    }

    /// The same dataset, remembering the extended filename brackets it was opened with.
    pub(crate) fn with_extended(mut self, extended: Option<ExtendedName>) -> Self {
        self.extended = extended;
        self
    }

    /// The cfitsio extended filename brackets the dataset was opened with (`f.fits[SCI]`,
    /// `f.fits[1][1:100,*]`), if any; [`Dataset::path`] is the name without them.
    pub fn extended(&self) -> Option<&ExtendedName> {
        self.extended.as_ref()
    }

    /// The array the extended filename selects: its HDU (or, for a section alone, the first HDU
    /// holding an image, as cfitsio's `fits_open_image`), cut to its section. `None` when the
    /// dataset was opened without brackets.
    ///
    /// # Errors
    /// [`crate::Error::Input`] when the HDU is not an image nd reads, or the section does not
    /// fit it.
    pub fn selected(&self) -> Result<Option<Array>> {
        let Some(x) = &self.extended else {
            return Ok(None);
        };
        let selector = match &x.hdu {
            Some(h) => h.clone(),
            None => self
                .arrays()?
                .into_iter()
                .find(|a| a.kind == crate::ArrayKind::Image && !a.shape.is_empty())
                .map(|a| a.path)
                .ok_or_else(|| {
                    crate::Error::input(format!(
                        "{}{}: no image HDU for the section",
                        self.path, x.brackets
                    ))
                })?,
        };
        let arr = self.array(&selector)?;
        if x.section.is_none() {
            return Ok(Some(arr));
        }
        let sel = x.selection(arr.shape())?;
        arr.select(sel).map(Some)
    }

    /// The array a command works on: the one `selector` names, or the one the extended filename
    /// selects ([`Dataset::selected`]). Giving both is refused when the brackets name an HDU
    /// (which one was meant?); a section alone applies to the array `selector` names.
    ///
    /// # Errors
    /// [`crate::Error::Input`] when neither says which array, both name one, or the selection
    /// fails.
    pub fn pick(&self, selector: Option<&str>) -> Result<Array> {
        match (selector, &self.extended) {
            (None, Some(_)) => self
                .selected()?
                .ok_or_else(|| crate::Error::input(format!("{}: no array selected", self.path))),
            (None, None) => Err(crate::Error::input(format!(
                "{}: which array? give a selector (see `nd info {}`) or an extended filename \
                 such as {}[1]",
                self.path, self.path, self.path
            ))),
            (Some(s), Some(x)) if x.hdu.is_some() => Err(crate::Error::input(format!(
                "{}{}: the brackets name the HDU already; drop the selector '{s}' or the brackets",
                self.path, x.brackets
            ))),
            (Some(s), Some(x)) => {
                let arr = self.array(s)?;
                let sel = x.selection(arr.shape())?;
                arr.select(sel)
            }
            (Some(s), None) => self.array(s),
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
            "npy" => Format::Npy,
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
        Ok(Array::shared(
            selector,
            self.backend.open_array_shared(selector)?,
            self.pool.clone(),
        ))
    }

    /// The mask of the array `selector` when it is masked (python asdf's `core/ndarray` with
    /// `mask`, read as a `numpy.ma.MaskedArray`): a boolean array, `true` where masked, as
    /// `numpy.ma.getmaskarray` gives it. `None` for an array without a mask.
    ///
    /// # Errors
    /// [`crate::Error::Input`] when the selector matches no array.
    pub fn mask(&self, selector: &str) -> Result<Option<Array>> {
        Ok(self
            .backend
            .mask(selector)?
            .map(|m| Array::new(&format!("{selector}/mask"), m, self.pool.clone())))
    }

    /// The FITS table a command's selector (or the extended filename's HDU) names, when it is a
    /// table HDU (binary or ASCII) rather than an array: `nd export t.fits 1 -o t.parquet`
    /// exports the whole table. `None` for an array, a column (`1/NAME`), a section or another
    /// format.
    ///
    /// # Errors
    /// [`crate::Error::Input`] when the brackets and the selector both name an HDU.
    pub fn pick_table(&self, selector: Option<&str>) -> Result<Option<crate::Table>> {
        if self.format() != Format::Fits {
            return Ok(None);
        }
        let from_brackets = self.extended.as_ref().and_then(|x| x.hdu.as_deref());
        let sel = match (selector, from_brackets) {
            (Some(s), Some(_)) => {
                // refused by `pick` with the message naming both
                return self.pick(Some(s)).map(|_| None);
            }
            (Some(s), None) | (None, Some(s)) => s,
            (None, None) => return Ok(None),
        };
        if sel.contains('/') || self.extended.as_ref().is_some_and(|x| x.section.is_some()) {
            return Ok(None);
        }
        Ok(self.table(sel).ok())
    }

    /// The variable-length column (`P`/`Q` TFORM, an object array in astropy) a selector
    /// `HDU/COLUMN` names, with its index: it has no fixed-shape array form, and `nd export`
    /// writes it to `.npz`, one member a row ([`crate::table_export::export_variable`]).
    /// `None` for anything else (a fixed-width column, an array, another format).
    ///
    /// # Errors
    /// [`crate::Error::Input`] when the HDU is a table that cannot be opened.
    pub fn variable_column(&self, selector: Option<&str>) -> Result<Option<(crate::Table, usize)>> {
        let Some((sel, (hdu, col))) = selector.and_then(|s| Some((s, s.split_once('/')?))) else {
            return Ok(None);
        };
        if self.format() != Format::Fits || self.extended.is_some() {
            return Ok(None);
        }
        let Ok(inner) = self.backend.table(hdu) else {
            return Ok(None); // not a table: `pick` says why
        };
        match crate::formats::fits::column_index(&inner, col) {
            Some(i) if inner.columns().get(i).is_some_and(|c| c.is_variable()) => {
                Ok(Some((crate::Table::new(sel, inner, self.pool.clone()), i)))
            }
            _ => Ok(None),
        }
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
        let mut text = String::from_utf8_lossy(&out).into_owned();
        if let Some(x) = &self.extended {
            text.push_str(&match self.selected() {
                Ok(Some(a)) => format!(
                    "Selected {}: {} {}, shape {} (numpy order)\n",
                    x.brackets,
                    a.selector(),
                    crate::typestr(a.dtype()),
                    nd_core::fmt_shape(a.shape().iter())
                ),
                Ok(None) => String::new(),
                Err(e) => format!("Selected {}: {e}\n", x.brackets),
            });
        }
        text
    }

    /// The description `nd info --json` prints: `format`, `arrays` (as [`ArrayEntry::to_json`]),
    /// `warnings` (as [`Dataset::warnings`]), `tree` (the whole structure, as
    /// [`crate::TreeNode::to_json`]: FITS HDUs and columns, the ASDF tree with tags, Zarr groups,
    /// arrays and attributes), and per format more (FITS: `hdus`).
    ///
    /// # Errors
    /// As [`Dataset::arrays`].
    pub fn info_json(&self) -> Result<serde_json::Value> {
        let mut obj = self.info_base()?;
        if let Some(o) = obj.as_object_mut() {
            o.insert("tree".into(), crate::tree::tree_json(self)?);
        }
        Ok(obj)
    }

    /// [`Dataset::info_json`] without the tree.
    pub(crate) fn info_base(&self) -> Result<serde_json::Value> {
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
        if let Some(x) = &self.extended {
            let a = self.selected()?;
            obj.insert(
                "selected".into(),
                serde_json::json!({
                    "brackets": x.brackets,
                    "array": a.as_ref().map(|a| a.selector().to_string()),
                    "shape": a.as_ref().map(|a| a.shape().to_vec()),
                    "dtype": a.as_ref().map(|a| crate::typestr(a.dtype())),
                }),
            );
        }
        obj.insert("warnings".into(), self.warnings().into());
        Ok(serde_json::Value::Object(obj))
    }

    /// The header cards of one HDU (or every HDU), as they are in the file (FITS only).
    ///
    /// # Errors
    /// [`crate::Error::Input`] for another format or an unknown HDU.
    /// Without `hdu`, the HDU the extended filename names (`f.fits[SCI]`), else every HDU.
    pub fn header_text(&self, hdu: Option<&str>) -> Result<String> {
        let from_brackets = self.extended.as_ref().and_then(|x| x.hdu.as_deref());
        self.backend.header_text(hdu.or(from_brackets))
    }

    /// Irregularities worth a warning: trailing bytes, lenient header fixes, a data unit cut short
    /// by the end of the file (listed, readable before the cut), a field read differently from
    /// the reference library. `nd info` prints them and lists them in `--json` as `warnings`.
    pub fn warnings(&self) -> Vec<String> {
        self.backend.warnings(false)
    }

    /// [`Dataset::warnings`] without parsing more than was parsed so far: of a FITS header
    /// whose cards were not parsed yet (by [`Dataset::metadata`], [`Dataset::attributes`], ...),
    /// only the irregularities its block scan found. The card-level fixes come once the header
    /// is parsed, as astropy gives them when a header is looked at rather than at open. Python's
    /// `ndfiles.open` issues these, and the new ones after reading metadata.
    pub fn warnings_so_far(&self) -> Vec<String> {
        self.backend.warnings(true)
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
