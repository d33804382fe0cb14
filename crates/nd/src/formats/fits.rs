//! FITS in the `nd` command.

use crate::backend::{
    typestr, ArrayEntry, ArrayKind, Backend, ConvertItem, ConvertPlan, Finding, Severity,
    TableColumn, TableSpec,
};
use crate::error::{Error, Result};
use nd_core::ArrayRead;
use nd_fits::{ChecksumStatus, Fits, Hdu, HduKind};
use std::io::Write;

/// An opened FITS file.
pub struct FitsDataset {
    path: String,
    fits: Fits,
}

impl FitsDataset {
    /// Open (reads the primary header only), within `limits`.
    pub fn open(path: &str, limits: &nd_core::Limits) -> Result<Self> {
        let opts = nd_fits::OpenOptions {
            limits: *limits,
            ..Default::default()
        };
        let fits = Fits::open_with(path, opts).map_err(|e| Error::input(format!("{path}: {e}")))?;
        Ok(FitsDataset {
            path: path.to_string(),
            fits,
        })
    }

    /// Open from any byte source (a URL), within `limits`.
    pub fn from_source(
        name: &str,
        src: std::sync::Arc<dyn nd_core::ByteSource>,
        limits: &nd_core::Limits,
    ) -> Result<Self> {
        let opts = nd_fits::OpenOptions {
            limits: *limits,
            ..Default::default()
        };
        let fits =
            Fits::from_source_with(src, opts).map_err(|e| Error::input(format!("{name}: {e}")))?;
        Ok(FitsDataset {
            path: name.to_string(),
            fits,
        })
    }

    fn err(&self, e: impl std::fmt::Display) -> Error {
        Error::input(format!("{}: {e}", self.path))
    }

    /// Every HDU; a header that cannot be read ends the walk with an error naming it.
    fn all(&self) -> Result<Vec<&Hdu>> {
        self.fits.hdus().map_err(|e| self.err(e))
    }

    /// The non-structural cards of an image HDU, each as its raw text; of a compressed image,
    /// those of the image header astropy shows, not the compressed table's.
    fn image_cards(&self, h: &Hdu) -> Result<serde_json::Value> {
        if h.kind == HduKind::CompressedImage {
            let c = self
                .fits
                .compressed_image(h.index)
                .map_err(|e| self.err(e))?;
            return Ok(cards_json(c.image_header(), is_structural));
        }
        Ok(header_cards_json(h))
    }

    /// The reader of an image HDU's values.
    fn hdu_image(&self, h: &Hdu) -> Result<nd_fits::FitsImage> {
        self.fits
            .image(h.index)
            .map_err(|e| Error::input(e.to_string()))
    }

    /// The arrays of one HDU, in [`Backend::arrays`] form.
    fn hdu_arrays(&self, h: &Hdu) -> Result<Vec<ArrayEntry>> {
        let mut out = Vec::new();
        match h.kind {
            HduKind::Primary | HduKind::Image if !h.naxes.is_empty() => {
                let img = self.hdu_image(h)?;
                out.push(ArrayEntry {
                    path: h.index.to_string(),
                    shape: img.shape().to_vec(),
                    dtype: typestr(img.dtype()),
                    chunks: None,
                    codec: None,
                    kind: ArrayKind::Image,
                });
            }
            HduKind::CompressedImage => {
                let c = self
                    .fits
                    .compressed_image(h.index)
                    .map_err(|e| Error::input(e.to_string()))?;
                out.push(ArrayEntry {
                    path: h.index.to_string(),
                    shape: c.shape().to_vec(),
                    dtype: typestr(c.dtype()),
                    chunks: Some(c.tile_shape().to_vec()),
                    codec: Some(c.algorithm().name().to_string()),
                    kind: ArrayKind::Image,
                });
            }
            HduKind::BinTable | HduKind::Table => {
                let t = self
                    .fits
                    .table(h.index)
                    .map_err(|e| Error::input(e.to_string()))?;
                for col in t.columns() {
                    if col.is_variable() {
                        continue;
                    }
                    let mut shape = vec![t.nrows()];
                    shape.extend_from_slice(&col.shape);
                    out.push(ArrayEntry {
                        path: format!("{}/{}", h.index, column_label(col)),
                        shape,
                        dtype: typestr(&col.dtype),
                        chunks: None,
                        codec: None,
                        kind: ArrayKind::Column,
                    });
                }
            }
            _ => {}
        }
        Ok(out)
    }

    /// An HDU by index or EXTNAME (`NAME` or `NAME,VER`).
    fn select(&self, sel: &str) -> Result<&Hdu> {
        let sel = sel.trim();
        if let Ok(i) = sel.parse::<usize>() {
            return self.fits.hdu(i).map_err(|e| self.err(e));
        }
        let (name, ver) = match sel.split_once(',') {
            Some((n, v)) => (
                n.trim(),
                Some(
                    v.trim()
                        .parse::<i64>()
                        .map_err(|_| self.err(format!("bad EXTVER in '{sel}'")))?,
                ),
            ),
            None => (sel, None),
        };
        self.fits.find(name, ver).map_err(|e| self.err(e))
    }
}

/// The name of an HDU's kind in [`crate::Dataset::metadata`] and `nd info --json`: `primary`,
/// `image`, `bintable`, `table`, `compressed_image`, `random_groups` or `other`.
pub fn kind_name(k: &HduKind) -> &'static str {
    match k {
        HduKind::Primary => "primary",
        HduKind::Image => "image",
        HduKind::BinTable => "bintable",
        HduKind::Table => "table",
        HduKind::CompressedImage => "compressed_image",
        HduKind::RandomGroups => "random_groups",
        HduKind::Other(_) => "other",
    }
}

/// A column's name in selectors: TTYPE, or `col<N>` (1-based, as astropy names unnamed columns).
pub(crate) fn column_label(c: &nd_fits::table::Column) -> String {
    if c.name.is_empty() {
        format!("col{}", c.index + 1)
    } else {
        c.name.clone()
    }
}

/// The index of the column `col` of a table: `#K` is the K-th column (1-based, as conversions
/// name columns), else the column whose label ([`column_label`]) is `col`, else astropy's
/// lookup by name (`Table::find_column`: case-insensitive).
pub(crate) fn column_index(t: &nd_fits::Table, col: &str) -> Option<usize> {
    let by_pos = col
        .strip_prefix('#')
        .and_then(|k| k.parse::<usize>().ok())
        .and_then(|k| k.checked_sub(1))
        .filter(|&i| i < t.columns().len());
    by_pos
        .or_else(|| {
            t.columns()
                .iter()
                .find(|c| column_label(c) == col)
                .map(|c| c.index)
        })
        .or_else(|| t.find_column(col).ok().map(|c| c.index))
}

fn is_table(h: &Hdu) -> bool {
    matches!(h.kind, HduKind::BinTable | HduKind::Table)
}

fn hdu_dtype(h: &Hdu) -> Option<String> {
    if is_table(h) {
        return None;
    }
    h.physical_dtype()
        .or_else(|| h.stored_dtype())
        .map(|d| typestr(&d))
}

/// The shape `nd info` shows: the image's, or `[rows]` for a table.
fn hdu_shape(h: &Hdu) -> Vec<u64> {
    if is_table(h) {
        return vec![h.header.get_int("NAXIS2").unwrap_or(0).max(0) as u64];
    }
    h.shape()
}

/// Keywords that describe the data layout; conversions regenerate them instead of copying them.
/// The data is converted as physical values, so the scaling keywords go too.
pub fn is_structural(key: &str) -> bool {
    const FIXED: &[&str] = &[
        "SIMPLE", "BITPIX", "NAXIS", "EXTEND", "PCOUNT", "GCOUNT", "XTENSION", "BSCALE", "BZERO",
        "BLANK", "CHECKSUM", "DATASUM", "GROUPS", "END",
    ];
    FIXED.contains(&key)
        || (key.starts_with("NAXIS") && key[5..].bytes().all(|b| b.is_ascii_digit()))
}

/// The non-structural cards of a header, each as its raw text (several 80-column images for CONTINUE).
pub fn header_cards_json(h: &Hdu) -> serde_json::Value {
    cards_json(&h.header, is_structural)
}

/// The cards of a header that `skip` does not reject, each as its raw text.
fn cards_json(h: &nd_fits::Header, skip: fn(&str) -> bool) -> serde_json::Value {
    h.cards()
        .iter()
        .filter(|c| !skip(c.keyword()))
        .map(|c| serde_json::Value::String(c.raw().trim_end().to_string()))
        .collect::<Vec<_>>()
        .into()
}

/// Keywords a table conversion regenerates from its columns: the structural ones and the
/// column-defining ones (the keywords the nd-fits table writer does not take from user cards).
pub fn is_table_structural(key: &str) -> bool {
    if is_structural(key) || matches!(key, "TFIELDS" | "THEAP") {
        return true;
    }
    [
        "TTYPE", "TFORM", "TUNIT", "TNULL", "TSCAL", "TZERO", "TDIM", "TDISP", "TBCOL",
    ]
    .iter()
    .any(|p| {
        key.strip_prefix(p)
            .is_some_and(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// A table's conversion metadata (`fits_header`, `fits_table`) and columns. Variable-length
/// columns are listed in `skipped` (Zarr v2 and ASDF ndarrays have no ragged arrays).
fn table_plan(
    h: &Hdu,
    t: &nd_fits::Table,
    skipped: &mut Vec<String>,
) -> Result<(serde_json::Map<String, serde_json::Value>, TableSpec)> {
    use serde_json::{json, Value};
    let mut spec = TableSpec::default();
    let mut cols = Vec::new();
    let mut skipped_cols = Vec::new();
    let mut used: Vec<String> = Vec::new();
    for c in t.columns() {
        if c.is_variable() {
            skipped.push(format!(
                "HDU {} ({}) column '{}' ({}): variable-length arrays have no fixed-shape array form; not converted",
                h.index,
                h.name(),
                c.label(),
                c.tform
            ));
            skipped_cols.push(json!({"name": c.name, "tform": c.tform}));
            continue;
        }
        // the array's name: the cleaned TTYPE, `col<N>` when empty or taken
        let mut key = clean_name(&column_label(c));
        if key.starts_with('.') {
            key.insert(0, '_');
        }
        if used.contains(&key) {
            key = format!("col{}", c.index + 1);
        }
        used.push(key.clone());
        let mut d = serde_json::Map::new();
        d.insert("name".into(), Value::String(c.name.clone()));
        d.insert("array".into(), Value::String(key.clone()));
        d.insert("tform".into(), Value::String(c.tform.clone()));
        if let Some(u) = &c.unit {
            d.insert("unit".into(), Value::String(u.clone()));
        }
        let bits = matches!(c.format, nd_fits::ColumnFormat::Fixed { code: 'X', .. });
        if bits {
            d.insert("bits".into(), Value::Bool(true));
        }
        // TNULL travels for integer columns whose values are the stored ones (not scaled to floats)
        if let Some(nd_fits::Value::Int(n)) = &c.null {
            if c.dtype.is_integer() && !matches!(c.scaling, nd_fits::ColumnScaling::Float { .. }) {
                d.insert("null".into(), json!(n));
            }
        }
        cols.push(Value::Object(d));
        spec.columns.push(TableColumn {
            key,
            selector: format!("{}/#{}", h.index, c.index + 1),
        });
    }
    let mut meta = serde_json::Map::new();
    meta.insert(
        "fits_header".into(),
        cards_json(&h.header, is_table_structural),
    );
    let mut ft = serde_json::Map::new();
    ft.insert(
        "xtension".into(),
        Value::String(if t.is_ascii() { "TABLE" } else { "BINTABLE" }.into()),
    );
    ft.insert("nrows".into(), json!(t.nrows()));
    ft.insert("columns".into(), Value::Array(cols));
    if !skipped_cols.is_empty() {
        ft.insert("skipped_columns".into(), Value::Array(skipped_cols));
    }
    meta.insert("fits_table".into(), Value::Object(ft));
    Ok((meta, spec))
}

/// A name usable as a Zarr key and ASDF tree key: letters, digits, `_`, `-`, `.`; others become `_`.
fn clean_name(s: &str) -> String {
    let t: String = s
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_-.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if t.is_empty() || t.chars().all(|c| c == '.') {
        "_".into()
    } else {
        t
    }
}

impl Backend for FitsDataset {
    fn format(&self) -> &'static str {
        "fits"
    }

    fn arrays(&self) -> Result<Vec<ArrayEntry>> {
        // An HDU whose data cannot be described is left out (and named by `warnings`): one
        // defective HDU does not hide the others.
        let mut out = Vec::new();
        for h in self.all()? {
            if let Ok(entries) = self.hdu_arrays(h) {
                out.extend(entries);
            }
        }
        Ok(out)
    }

    fn open_array(&self, selector: &str) -> Result<Box<dyn ArrayRead>> {
        // `N/COLUMN` (or `EXTNAME/COLUMN`) selects a table column
        if let Some((hsel, col)) = selector.split_once('/') {
            let h = self.select(hsel)?;
            if !matches!(h.kind, HduKind::BinTable | HduKind::Table) {
                return Err(self.err(format!("HDU {} ({}) is not a table", h.index, h.name())));
            }
            let t = self.fits.table(h.index).map_err(|e| self.err(e))?;
            let c = column_index(&t, col)
                .and_then(|i| t.columns().get(i))
                .ok_or_else(|| self.err(format!("HDU {}: no column '{col}'", h.index)))?;
            if c.is_variable() {
                return Err(self.err(format!(
                    "HDU {}: column '{col}' holds variable-length arrays (astropy gives an object array, which .npy cannot hold without pickle; export it to .npz, one member a row)",
                    h.index
                )));
            }
            let col = nd_fits::ColumnArray::new(t.clone(), c.index).map_err(|e| self.err(e))?;
            return Ok(Box::new(col));
        }
        let h = self.select(selector)?;
        match h.kind {
            HduKind::Primary | HduKind::Image | HduKind::CompressedImage => {}
            ref k => {
                return Err(self.err(format!(
                    "HDU {} ({}) is a {}, not an image (select a column as {}/COLUMN)",
                    h.index,
                    h.name(),
                    kind_name(k),
                    h.index
                )));
            }
        }
        let img = self.fits.image(h.index).map_err(|e| self.err(e))?;
        Ok(Box::new(img))
    }

    fn info_human(&self, w: &mut dyn Write) -> std::io::Result<()> {
        let hdus = self.fits.hdus().map_err(|e| e.to_string());
        super::fits_info::write_info(w, &self.path, self.fits.is_gzipped(), hdus)
    }

    fn info_json_extra(&self, obj: &mut serde_json::Map<String, serde_json::Value>) -> Result<()> {
        let hdus: Vec<serde_json::Value> = self
            .all()?
            .iter()
            .map(|h| {
                serde_json::json!({
                    "index": h.index,
                    "kind": kind_name(&h.kind),
                    "name": h.name(),
                    "shape": hdu_shape(h),
                    "dtype": hdu_dtype(h),
                    "cards": h.header.len(),
                })
            })
            .collect();
        obj.insert("hdus".into(), hdus.into());
        // the variable-length columns "arrays" leaves out (no .npy form; `nd export` writes
        // one to .npz), with their position among the table's columns (0-based)
        let mut variable = Vec::new();
        for h in self.all()?.iter().filter(|h| is_table(h)) {
            let Ok(t) = self.fits.table(h.index) else {
                continue;
            };
            for c in t.columns().iter().filter(|c| c.is_variable()) {
                variable.push(serde_json::json!({
                    "path": format!("{}/{}", h.index, column_label(c)),
                    "index": c.index,
                }));
            }
        }
        obj.insert("variable_columns".into(), variable.into());
        Ok(())
    }

    fn table(&self, selector: &str) -> Result<nd_fits::Table> {
        let h = self.select(selector)?;
        if !is_table(h) {
            return Err(self.err(format!(
                "HDU {} ({}) is a {}, not a table",
                h.index,
                h.name(),
                kind_name(&h.kind)
            )));
        }
        self.fits.table(h.index).map_err(|e| self.err(e))
    }

    fn attributes(&self, selector: &str) -> Result<serde_json::Map<String, serde_json::Value>> {
        let hsel = selector.split_once('/').map_or(selector, |(h, _)| h);
        let h = self.select(hsel)?;
        if h.kind == HduKind::CompressedImage {
            let c = self
                .fits
                .compressed_image(h.index)
                .map_err(|e| self.err(e))?;
            return Ok(header_attributes(c.image_header(), is_structural));
        }
        let skip = if is_table(h) {
            is_table_structural
        } else {
            is_structural
        };
        Ok(header_attributes(&h.header, skip))
    }

    fn dimension_names(&self, selector: &str, ndim: usize) -> Result<Vec<String>> {
        let mut meta = serde_json::Map::new();
        // a table column has no CTYPE of its own
        let image = !selector.contains('/');
        if image {
            let h = self.select(selector)?;
            meta.insert("fits_header".into(), self.image_cards(h)?);
        }
        Ok(crate::convert::dims::names(&meta, ndim, image))
    }

    fn metadata(&self) -> Result<serde_json::Value> {
        let hdus: Vec<serde_json::Value> = self
            .all()?
            .iter()
            .map(|h| {
                let cards: Vec<serde_json::Value> = h
                    .header
                    .cards()
                    .iter()
                    .map(|c| {
                        super::json_object([
                            ("keyword", c.keyword().into()),
                            ("value", card_value(c.value())),
                            ("comment", c.comment().into()),
                        ])
                    })
                    .collect();
                super::json_object([
                    ("index", h.index.into()),
                    ("name", h.name().into()),
                    ("kind", kind_name(&h.kind).into()),
                    ("cards", cards.into()),
                ])
            })
            .collect();
        Ok(super::json_object([("hdus", hdus.into())]))
    }

    fn native(&self) -> crate::Native<'_> {
        crate::Native::Fits(&self.fits)
    }

    fn header_text(&self, hdu: Option<&str>) -> Result<String> {
        let hdus = match hdu {
            Some(s) => vec![self.select(s)?],
            None => self.all()?,
        };
        let mut out = String::new();
        for (i, h) in hdus.iter().enumerate() {
            if hdu.is_none() {
                if i > 0 {
                    out.push('\n');
                }
                out.push_str(&format!("# HDU {} {}\n", h.index, h.name()));
            }
            for c in h.header.cards() {
                // A long-string card is several 80-column cards (CONTINUE): one line each.
                let raw = c.raw().as_bytes();
                for line in raw.chunks(80) {
                    out.push_str(String::from_utf8_lossy(line).trim_end());
                    out.push('\n');
                }
            }
            out.push_str("END\n");
        }
        Ok(out)
    }

    fn convert_plan(&self) -> Result<ConvertPlan> {
        let hdus = self.all()?;
        let mut plan = ConvertPlan::default();
        let mut order = Vec::new();
        let base_names: Vec<String> = hdus
            .iter()
            .map(|h| {
                let n = h.name();
                if n.is_empty() {
                    format!("HDU{}", h.index)
                } else {
                    clean_name(&n)
                }
            })
            .collect();
        for (h, base) in hdus.iter().zip(&base_names) {
            let has_data =
                (h.kind.is_image() && !h.naxes.is_empty()) || h.kind == HduKind::CompressedImage;
            if h.index == 0 && !has_data {
                plan.meta.insert("fits_header".into(), header_cards_json(h));
                continue;
            }
            let dup = base_names.iter().filter(|b| *b == base).count() > 1;
            let name = if dup {
                format!("{base}_{}", h.ver())
            } else {
                base.clone()
            };
            if is_table(h) {
                let t = self.fits.table(h.index).map_err(|e| self.err(e))?;
                let (meta, spec) = table_plan(h, &t, &mut plan.skipped)?;
                order.push(serde_json::Value::String(name.clone()));
                plan.items.push(ConvertItem {
                    name,
                    selector: h.index.to_string(),
                    meta,
                    table: Some(spec),
                });
                continue;
            }
            if !has_data {
                plan.skipped.push(format!(
                    "HDU {} ({}, {}): {}; not converted",
                    h.index,
                    h.name(),
                    kind_name(&h.kind),
                    if h.kind.is_image() {
                        "no data"
                    } else {
                        "neither an image nor a table"
                    }
                ));
                continue;
            }
            let mut meta = serde_json::Map::new();
            meta.insert("fits_header".into(), self.image_cards(h)?);
            order.push(serde_json::Value::String(name.clone()));
            plan.items.push(ConvertItem {
                name,
                selector: h.index.to_string(),
                meta,
                table: None,
            });
        }
        plan.meta.insert("fits_hdu_order".into(), order.into());
        Ok(plan)
    }

    fn warnings(&self, so_far: bool) -> Vec<String> {
        let header_warnings = if so_far {
            self.fits.warnings_so_far()
        } else {
            self.fits.warnings()
        };
        let mut w: Vec<String> = header_warnings
            .into_iter()
            .map(|(i, w)| format!("HDU {i}: {w}"))
            .collect();
        if let Some(e) = self.fits.walk_error() {
            w.push(format!(
                "{e} (ignored, as astropy does; the HDUs before it are listed)"
            ));
        }
        let size = self.fits.source().len();
        for h in self.fits.hdus().unwrap_or_default() {
            let end = h.data_offset.saturating_add(h.data_len);
            if end > size {
                // astropy: "File may have been truncated"; its `data` fails, `section` reads
                // what lies before the cut.
                w.push(format!(
                    "HDU {}: the file may have been truncated: the data at byte {} needs {} \
                     bytes but the file ends at byte {size}; reads reaching past the cut fail, \
                     regions before it read",
                    h.index, h.data_offset, h.data_len
                ));
            }
            if matches!(h.kind, HduKind::Primary | HduKind::Image) {
                // astropy warns when it opens the HDU; the BLANK is ignored either way
                for msg in nd_fits::Scaling::blank_warnings(&h.header, h.bitpix) {
                    w.push(format!("HDU {}: {msg}", h.index));
                }
            }
            // whether its arrays can be listed: for an image, whether its reader can be built
            // (what listing it costs beyond that is its entry's strings)
            let listable = match h.kind {
                HduKind::Primary | HduKind::Image if !h.naxes.is_empty() => {
                    self.hdu_image(h).map(drop)
                }
                _ => self.hdu_arrays(h).map(drop),
            };
            if let Err(e) = listable {
                w.push(format!("{e} (its data is not listed)"));
            }
            if matches!(h.kind, HduKind::Table | HduKind::BinTable) {
                if let Ok(t) = self.fits.table(h.index) {
                    w.extend(t.reading_notes());
                }
            }
        }
        w
    }

    fn verify(&self) -> Result<Vec<Finding>> {
        // nd_fits::verify: fitsverify's checks and classification (spec-notes/fits.md,
        // "Verification"); an HDU without findings gets one `ok` finding.
        let issues = nd_fits::verify(&self.fits);
        let mut out = Vec::new();
        let hdus = self.fits.hdus().unwrap_or_default();
        for h in &hdus {
            let mine: Vec<&nd_fits::Issue> =
                issues.iter().filter(|i| i.hdu == Some(h.index)).collect();
            let place = format!("HDU {}", h.index);
            if mine.is_empty() {
                let sums = match nd_fits::checksum::hdu_checksums(&**self.fits.source(), h) {
                    Ok(r) if r.checksum == ChecksumStatus::Valid => ", CHECKSUM valid",
                    Ok(r) if r.checksum == ChecksumStatus::Absent => ", CHECKSUM absent",
                    _ => "",
                };
                out.push(Finding::ok(
                    place,
                    "structure",
                    format!("header, data and fill conform{sums}"),
                ));
                continue;
            }
            for i in mine {
                out.push(issue_finding(&place, i));
            }
        }
        for i in issues.iter().filter(|i| i.hdu.is_none()) {
            out.push(issue_finding("file", i));
        }
        Ok(out)
    }
}

/// A header's cards as attributes (keyword → value), those `skip` rejects left out: the first
/// card of a keyword wins (as astropy's `header[keyword]`), commentary cards (`COMMENT`,
/// `HISTORY`) are joined by newlines, cards with a blank keyword, an undefined or an unparsable
/// value are left out.
fn header_attributes(
    h: &nd_fits::Header,
    skip: fn(&str) -> bool,
) -> serde_json::Map<String, serde_json::Value> {
    let mut out = serde_json::Map::new();
    for c in h.cards() {
        let key = c.keyword();
        if key.is_empty() || skip(key) {
            continue;
        }
        match c.value() {
            nd_fits::Value::Undefined | nd_fits::Value::Invalid(_) => {}
            nd_fits::Value::Text(t) if matches!(key, "COMMENT" | "HISTORY") => {
                match out.get_mut(key) {
                    Some(serde_json::Value::String(s)) => {
                        s.push('\n');
                        s.push_str(t);
                    }
                    _ => {
                        out.insert(key.to_string(), t.clone().into());
                    }
                }
            }
            v => {
                out.entry(key.to_string()).or_insert_with(|| card_value(v));
            }
        }
    }
    out
}

fn issue_finding(place: &str, i: &nd_fits::Issue) -> Finding {
    let what = match i.card {
        Some(k) => format!("card {k}"),
        None => "structure".into(),
    };
    let sev = match i.severity {
        nd_fits::Severity::Error => Severity::Error,
        _ => Severity::Warning,
    };
    Finding::new(sev, place, what, i.msg.clone())
}

/// A card's value as JSON: booleans, numbers and strings as they are; a complex value `[re, im]`;
/// an integer beyond 64 bits, commentary text and unparsable fields as strings; undefined `null`.
pub fn card_value(v: &nd_fits::Value) -> serde_json::Value {
    use nd_fits::Value as V;
    use serde_json::Value as J;
    let real = |x: f64| serde_json::Number::from_f64(x).map_or(J::Null, J::Number);
    match v {
        V::Undefined => J::Null,
        V::Bool(b) => J::Bool(*b),
        V::Int(i) => J::from(*i),
        V::Float(x) => real(*x),
        V::Complex(re, im) => J::Array(vec![real(*re), real(*im)]),
        V::BigInt(s) | V::Str(s) | V::Text(s) | V::Invalid(s) => J::String(s.clone()),
    }
}
