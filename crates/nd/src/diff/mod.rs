//! `nd diff`: compare two datasets of any formats, as astropy's `fitsdiff` does for FITS.
//!
//! Two modes (see `spec-notes/diff.md`):
//! - **FITS against FITS** follows astropy's `FITSDiff` exactly: HDUs paired by position, their
//!   names, versions, levels and extension types; headers keyword by keyword ([`diff_cards`]); images
//!   value by value and tables column by column ([`diff_arrays`]); the same options
//!   (`ignore_keywords`, `ignore_comments`, `ignore_hdus`, `rtol`, `atol`, `numdiffs`) and
//!   defaults (`rtol = atol = 0`, ten differences listed).
//! - **Any other pair** (a FITS file against its Zarr or ASDF conversion, two Zarr stores, …)
//!   compares what conversion keeps: the arrays and tables by the names `nd convert` gives them
//!   (FITS `SCI_1`, `HDU0`, …), their shapes, types and values, and their metadata — the FITS
//!   header cards carried in `fits_header` compared as cards (the structural keywords a
//!   conversion regenerates, listed in `spec-notes/diff.md`, are not carried, so not
//!   compared), the other attributes as JSON values. When one side is FITS, only the metadata
//!   a conversion writes (`fits_header`, `fits_table`, `fits_hdu_order`) is compared.
//!
//! Values stream slab by slab: memory stays within [`DiffOptions::budget`] whatever the size.

mod cards;
mod data;

pub use cards::{diff_cards, HeaderDiff};
pub use data::{diff_arrays, DataDiff, ValueDiff};

use crate::dataset::{Dataset, Format};
use crate::error::{Error, Result};
use nd_fits::{Card, Hdu, HduKind};
use serde_json::{json, Value as J};
use std::fmt::Write as _;

/// What `nd diff` compares and how (fitsdiff's options and defaults).
#[derive(Debug, Clone)]
pub struct DiffOptions {
    /// Keywords not compared (wildcards `*`, `?`, `[…]`; case-insensitive). `*` ignores every
    /// keyword difference (the card count still counts, as in astropy).
    pub ignore_keywords: Vec<String>,
    /// Keywords whose comments are not compared (wildcards).
    pub ignore_comments: Vec<String>,
    /// HDUs (EXTNAME, wildcards) or converted arrays (names) left out.
    pub ignore_hdus: Vec<String>,
    /// Table columns not compared (names, case-insensitive; `*` all).
    pub ignore_fields: Vec<String>,
    /// Relative tolerance for floating-point values (header values too).
    pub rtol: f64,
    /// Absolute tolerance for floating-point values.
    pub atol: f64,
    /// Differences listed per HDU (all are counted).
    pub numdiffs: usize,
    /// Memory for values at once, bytes.
    pub budget: usize,
}

impl Default for DiffOptions {
    fn default() -> Self {
        DiffOptions {
            ignore_keywords: Vec::new(),
            ignore_comments: Vec::new(),
            ignore_hdus: Vec::new(),
            ignore_fields: Vec::new(),
            rtol: 0.0,
            atol: 0.0,
            numdiffs: 10,
            budget: 256 << 20,
        }
    }
}

impl DiffOptions {
    /// The same options with keyword and HDU names in upper case (as fitsdiff compares them).
    fn normalized(&self) -> DiffOptions {
        let up = |v: &[String]| v.iter().map(|s| s.trim().to_ascii_uppercase()).collect();
        DiffOptions {
            ignore_keywords: up(&self.ignore_keywords),
            ignore_comments: up(&self.ignore_comments),
            ignore_hdus: up(&self.ignore_hdus),
            ignore_fields: self
                .ignore_fields
                .iter()
                .map(|s| s.trim().to_ascii_lowercase())
                .collect(),
            ..self.clone()
        }
    }
}

/// The column-by-column differences of two tables (astropy's `TableDataDiff`).
#[derive(Debug, Clone, Default)]
pub struct TableDiff {
    /// The numbers of columns, when they differ.
    pub column_count: Option<(usize, usize)>,
    /// Columns only in a (by name and format).
    pub only_in_a: Vec<String>,
    /// Columns only in b.
    pub only_in_b: Vec<String>,
    /// The numbers of rows, when they differ (then values are not compared).
    pub rows: Option<(u64, u64)>,
    /// Differing rows summed over the columns (astropy's `diff_total`).
    pub total: u64,
    /// Rows × columns of a (astropy's denominator of the ratio).
    pub size: u64,
    /// Each column with differences and its differences (rows counted once per column).
    pub columns: Vec<(String, DataDiff)>,
    /// Columns whose values could not be compared, with the reason.
    pub not_compared: Vec<String>,
}

impl TableDiff {
    /// True when nothing differs.
    pub fn is_identical(&self) -> bool {
        self.column_count.is_none()
            && self.only_in_a.is_empty()
            && self.only_in_b.is_empty()
            && self.rows.is_none()
            && self.total == 0
    }

    fn to_json(&self) -> J {
        json!({
            "identical": self.is_identical(),
            "column_count": self.column_count.map(|(a, b)| json!([a, b])),
            "only_in_a": self.only_in_a,
            "only_in_b": self.only_in_b,
            "rows": self.rows.map(|(a, b)| json!([a, b])),
            "total": self.total,
            "ratio": if self.size > 0 { self.total as f64 / self.size as f64 } else { 0.0 },
            "columns": self.columns.iter().map(|(n, d)| {
                let mut j = d.to_json();
                j["name"] = J::from(n.as_str());
                j
            }).collect::<Vec<_>>(),
            "not_compared": self.not_compared,
        })
    }
}

/// The differences of one HDU (FITS mode) or one converted array or table.
#[derive(Debug, Clone, Default)]
pub struct UnitDiff {
    /// HDU index (FITS mode).
    pub index: Option<usize>,
    /// The HDU's name (EXTNAME, `PRIMARY`) or the converted array's name.
    pub name: String,
    /// EXTNAMEs, when they differ.
    pub names: Option<(String, String)>,
    /// EXTVERs, when they differ.
    pub vers: Option<(i64, i64)>,
    /// EXTLEVELs, when they differ.
    pub levels: Option<(i64, i64)>,
    /// XTENSION values (or kinds: image, table, none), when they differ.
    pub kinds: Option<(String, String)>,
    /// Header card differences.
    pub header: HeaderDiff,
    /// Other metadata differences: (key, value in a, value in b; `null` when absent).
    pub attributes: Vec<(String, J, J)>,
    /// Image (array) value differences.
    pub data: Option<DataDiff>,
    /// Table differences.
    pub table: Option<TableDiff>,
    /// What was not compared, and why.
    pub notes: Vec<String>,
}

impl UnitDiff {
    /// True when nothing differs.
    pub fn is_identical(&self) -> bool {
        self.names.is_none()
            && self.vers.is_none()
            && self.levels.is_none()
            && self.kinds.is_none()
            && self.header.is_identical()
            && self.attributes.is_empty()
            && self.data.as_ref().is_none_or(DataDiff::is_identical)
            && self.table.as_ref().is_none_or(TableDiff::is_identical)
    }

    fn to_json(&self) -> J {
        let pair = |p: &Option<(String, String)>| p.as_ref().map(|(a, b)| json!([a, b]));
        json!({
            "index": self.index,
            "name": self.name,
            "identical": self.is_identical(),
            "extnames": pair(&self.names),
            "extvers": self.vers.map(|(a, b)| json!([a, b])),
            "extlevels": self.levels.map(|(a, b)| json!([a, b])),
            "kinds": pair(&self.kinds),
            "header": self.header.to_json(),
            "attributes": self.attributes.iter().map(|(k, a, b)| json!({"key": k, "a": a, "b": b})).collect::<Vec<_>>(),
            "data": self.data.as_ref().map(DataDiff::to_json),
            "table": self.table.as_ref().map(TableDiff::to_json),
            "notes": self.notes,
        })
    }
}

/// The result of [`diff`].
#[derive(Debug, Clone)]
pub struct DiffReport {
    /// Path of a.
    pub a: String,
    /// Path of b.
    pub b: String,
    /// `fits` (FITS against FITS, fitsdiff's rules) or `converted` (by converted names).
    pub mode: &'static str,
    /// Numbers of HDUs (arrays and tables), when they differ.
    pub count: Option<(usize, usize)>,
    /// Arrays or tables only in a (converted mode).
    pub only_in_a: Vec<String>,
    /// Arrays or tables only in b (converted mode).
    pub only_in_b: Vec<String>,
    /// Every compared HDU or array, identical or not.
    pub units: Vec<UnitDiff>,
    /// What could not be compared (converted mode: what conversion leaves out, such as
    /// variable-length table columns), each naming its side.
    pub notes: Vec<String>,
    /// The options the comparison ran with.
    pub options: DiffOptions,
}

impl DiffReport {
    /// True when no difference was found.
    pub fn is_identical(&self) -> bool {
        self.count.is_none()
            && self.only_in_a.is_empty()
            && self.only_in_b.is_empty()
            && self.units.iter().all(UnitDiff::is_identical)
    }

    /// `nd diff`'s exit status: 0 identical, 1 different.
    pub fn exit_code(&self) -> u8 {
        u8::from(!self.is_identical())
    }

    /// The object `nd diff --json` prints: `identical`, `mode`, `a`, `b`, `count`,
    /// `only_in_a`, `only_in_b`, and `units` (the HDUs or arrays that differ, each with
    /// `header`, `attributes`, `data` or `table`).
    pub fn to_json(&self) -> J {
        json!({
            "identical": self.is_identical(),
            "mode": self.mode,
            "a": self.a,
            "b": self.b,
            "count": self.count.map(|(a, b)| json!([a, b])),
            "only_in_a": self.only_in_a,
            "only_in_b": self.only_in_b,
            "rtol": self.options.rtol,
            "atol": self.options.atol,
            "units": self.units.iter().filter(|u| !u.is_identical() || !u.notes.is_empty()).map(UnitDiff::to_json).collect::<Vec<_>>(),
            "notes": self.notes,
        })
    }

    /// The human report, in fitsdiff's words. FITS image indices are shown as fitsdiff shows
    /// them (1-based, FITS axis order); other arrays' as numpy does (0-based).
    pub fn to_text(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(o, " a: {}\n b: {}", self.a, self.b);
        let opts = &self.options;
        if !opts.ignore_hdus.is_empty() {
            let _ = writeln!(
                o,
                " HDU(s) not to be compared:\n  {}",
                opts.ignore_hdus.join(" ")
            );
        }
        if !opts.ignore_keywords.is_empty() {
            let _ = writeln!(
                o,
                " Keyword(s) not to be compared:\n  {}",
                opts.ignore_keywords.join(" ")
            );
        }
        if !opts.ignore_comments.is_empty() {
            let _ = writeln!(
                o,
                " Keyword(s) whose comments are not to be compared:\n  {}",
                opts.ignore_comments.join(" ")
            );
        }
        let _ = writeln!(
            o,
            " Maximum number of different data values to be reported: {}",
            opts.numdiffs
        );
        let _ = writeln!(
            o,
            " Relative tolerance: {}, Absolute tolerance: {}",
            opts.rtol, opts.atol
        );
        if self.mode == "converted" {
            let _ = writeln!(
                o,
                " Compared by converted names; FITS structural keywords are not compared."
            );
        }
        for n in &self.notes {
            let _ = writeln!(o, " Not compared: {n}");
        }
        if self.is_identical() {
            let _ = writeln!(o, "\nNo differences found.");
        }
        if let Some((a, b)) = self.count {
            let what = if self.mode == "fits" {
                "HDUs"
            } else {
                "arrays and tables"
            };
            let _ = writeln!(
                o,
                "Files contain different numbers of {what}:\n a: {a}\n b: {b}"
            );
        }
        for n in &self.only_in_a {
            let _ = writeln!(o, "Only in a: {n}");
        }
        for n in &self.only_in_b {
            let _ = writeln!(o, "Only in b: {n}");
        }
        for u in &self.units {
            if u.is_identical() && u.notes.is_empty() {
                continue;
            }
            let title = match u.index {
                Some(0) => "Primary HDU".to_string(),
                Some(i) => format!("Extension HDU {i} ({})", u.name),
                None => format!("Array {}", u.name),
            };
            let _ = writeln!(o, "\n{title}:");
            if let Some((a, b)) = &u.kinds {
                let _ = writeln!(o, "\n   Extension types differ:\n    a: {a}\n    b: {b}");
            }
            if let Some((a, b)) = &u.names {
                let _ = writeln!(o, "\n   Extension names differ:\n    a: {a}\n    b: {b}");
            }
            if let Some((a, b)) = &u.vers {
                let _ = writeln!(o, "\n   Extension versions differ:\n    a: {a}\n    b: {b}");
            }
            if let Some((a, b)) = &u.levels {
                let _ = writeln!(o, "\n   Extension levels differ:\n    a: {a}\n    b: {b}");
            }
            if !u.header.is_identical() || !u.attributes.is_empty() {
                let _ = writeln!(o, "\n   Headers contain differences:");
                u.header.report("     ", &mut o);
                for (k, a, b) in &u.attributes {
                    let _ = writeln!(
                        o,
                        "     Attribute {k} has different values:\n        a> {}\n        b> {}",
                        cards::show(a),
                        cards::show(b)
                    );
                }
            }
            let fits_index = self.mode == "fits";
            if let Some(d) = u.data.as_ref().filter(|d| !d.is_identical()) {
                let _ = writeln!(o, "\n   Data contains differences:");
                report_data(d, fits_index, &mut o);
            }
            if let Some(t) = u.table.as_ref().filter(|t| !t.is_identical()) {
                let _ = writeln!(o, "\n   Data contains differences:");
                report_table(t, opts.numdiffs, &mut o);
            }
            for n in &u.notes {
                let _ = writeln!(o, "   Note: {n}");
            }
        }
        o
    }
}

fn report_data(d: &DataDiff, fits_index: bool, o: &mut String) {
    if let Some((a, b)) = &d.shapes {
        let dims = |s: &[u64]| {
            s.iter()
                .rev()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(" x ")
        };
        let _ = writeln!(
            o,
            "     Data dimensions differ:\n      a: {}\n      b: {}\n     No further data comparison performed.",
            dims(a),
            dims(b)
        );
        return;
    }
    if let Some((a, b)) = &d.dtypes {
        let _ = writeln!(o, "     Data types differ: a: {a}  b: {b}");
    }
    for v in &d.first {
        let idx: Vec<u64> = if fits_index {
            v.index.iter().rev().map(|i| i + 1).collect()
        } else {
            v.index.clone()
        };
        let _ = writeln!(
            o,
            "     Data differs at {idx:?}:\n        a> {}\n        b> {}",
            cards::show(&v.a),
            cards::show(&v.b)
        );
    }
    if d.total > d.first.len() as u64 {
        let _ = writeln!(o, "     ...");
    }
    let pct = if d.size > 0 {
        100.0 * d.total as f64 / d.size as f64
    } else {
        0.0
    };
    let _ = writeln!(
        o,
        "     {} different pixels found ({pct:.2}% different).\n     Maximum relative difference: {}\n     Maximum absolute difference: {}",
        d.total, d.max_relative, d.max_absolute
    );
}

fn report_table(t: &TableDiff, numdiffs: usize, o: &mut String) {
    if let Some((a, b)) = t.column_count {
        let _ = writeln!(
            o,
            "     Tables have different number of columns:\n      a: {a}\n      b: {b}"
        );
    }
    for c in &t.only_in_a {
        let _ = writeln!(o, "     Extra column {c} in a");
    }
    for c in &t.only_in_b {
        let _ = writeln!(o, "     Extra column {c} in b");
    }
    if let Some((a, b)) = t.rows {
        let _ = writeln!(
            o,
            "     Table rows differ:\n      a: {a}\n      b: {b}\n     No further data comparison performed."
        );
        return;
    }
    let mut shown = 0;
    for (name, d) in &t.columns {
        for v in &d.first {
            if shown >= numdiffs {
                break;
            }
            shown += 1;
            let row = v.index.first().copied().unwrap_or(0);
            let _ = writeln!(
                o,
                "     Column {name} data differs in row {row}:\n        a> {}\n        b> {}",
                cards::show(&v.a),
                cards::show(&v.b)
            );
        }
    }
    if t.total > shown as u64 {
        let _ = writeln!(
            o,
            "     ...{} additional difference(s) found.",
            t.total - shown as u64
        );
    }
    let pct = if t.size > 0 {
        100.0 * t.total as f64 / t.size as f64
    } else {
        0.0
    };
    let _ = writeln!(
        o,
        "     {} different table data element(s) found ({pct:.2}% different).",
        t.total
    );
}

/// Compare two datasets (see the module documentation for what is compared). Reads headers
/// and every value of both (streamed, within `options.budget`).
///
/// ```
/// let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/diff/");
/// let a = nd::open(&format!("{dir}pix_a.fits"))?;
/// let b = nd::open(&format!("{dir}pix_b.fits"))?;
/// let report = nd::diff::diff(&a, &b, &nd::diff::DiffOptions::default())?;
/// assert!(!report.is_identical());
/// let sci = report.units[1].data.as_ref().ok_or_else(|| nd::Error::input("no values compared"))?;
/// assert_eq!(sci.total, 12); // differing pixels, as astropy's fitsdiff counts them
/// # Ok::<(), nd::Error>(())
/// ```
///
/// # Errors
/// [`Error::Input`] when a file's structure or values cannot be read.
pub fn diff(a: &Dataset, b: &Dataset, options: &DiffOptions) -> Result<DiffReport> {
    let opts = options.normalized();
    let mut report = DiffReport {
        a: a.path().to_string(),
        b: b.path().to_string(),
        mode: "fits",
        count: None,
        only_in_a: Vec::new(),
        only_in_b: Vec::new(),
        units: Vec::new(),
        notes: Vec::new(),
        options: opts.clone(),
    };
    match (a.native(), b.native()) {
        (crate::Native::Fits(fa), crate::Native::Fits(fb)) => {
            fits_mode(a, fa, b, fb, &opts, &mut report)?
        }
        _ => {
            report.mode = "converted";
            converted_mode(a, b, &opts, &mut report)?
        }
    }
    Ok(report)
}

/// fitsdiff's `FITSDiff`: HDUs paired by position after the ignored ones are taken out.
fn fits_mode(
    a: &Dataset,
    fa: &nd_fits::Fits,
    b: &Dataset,
    fb: &nd_fits::Fits,
    opts: &DiffOptions,
    report: &mut DiffReport,
) -> Result<()> {
    let ha = fa
        .hdus()
        .map_err(|e| Error::input(format!("{}: {e}", a.path())))?;
    let hb = fb
        .hdus()
        .map_err(|e| Error::input(format!("{}: {e}", b.path())))?;
    if ha.len() != hb.len() {
        report.count = Some((ha.len(), hb.len()));
    }
    let keep = |h: &&&Hdu| !cards::ignored(&opts.ignore_hdus, &h.name().to_ascii_uppercase());
    let ha: Vec<&Hdu> = ha.iter().filter(keep).copied().collect();
    let hb: Vec<&Hdu> = hb.iter().filter(keep).copied().collect();
    for (i, (x, y)) in ha.iter().zip(&hb).enumerate() {
        let mut u = UnitDiff {
            index: Some(i),
            name: x.name(),
            ..UnitDiff::default()
        };
        if x.name() != y.name() {
            u.names = Some((x.name(), y.name()));
        }
        if x.ver() != y.ver() {
            u.vers = Some((x.ver(), y.ver()));
        }
        let level = |h: &Hdu| h.header.get_int("EXTLEVEL").unwrap_or(1);
        if level(x) != level(y) {
            u.levels = Some((level(x), level(y)));
        }
        let xt = |h: &Hdu| h.header.get_str("XTENSION").map(str::to_string);
        if xt(x) != xt(y) {
            let s = |v: Option<String>| v.unwrap_or_else(|| "None".into());
            u.kinds = Some((s(xt(x)), s(xt(y))));
        }
        let (hx, hy) = (image_header(fa, x, a)?, image_header(fb, y, b)?);
        u.header = diff_cards(hx.cards(), hy.cards(), opts);
        let has_image = |h: &Hdu| {
            (h.kind.is_image() && !h.naxes.is_empty() && h.kind != HduKind::RandomGroups)
                || h.kind == HduKind::CompressedImage
        };
        let is_table = |h: &Hdu| matches!(h.kind, HduKind::BinTable | HduKind::Table);
        if has_image(x) && has_image(y) {
            let (ax, ay) = (
                a.array(&x.index.to_string())?,
                b.array(&y.index.to_string())?,
            );
            u.data = Some(diff_arrays(&ax, &ay, opts, false, opts.numdiffs)?);
        } else if is_table(x) && is_table(y) {
            u.table = Some(fits_tables(a, x, b, y, opts)?);
        } else if u.kinds.is_none()
            && x.data_len > 0
            && y.data_len > 0
            && !(has_image(x) || has_image(y) || is_table(x) || is_table(y))
        {
            u.notes.push(format!(
                "the data of {} HDUs is not compared",
                crate::formats::fits::kind_name(&x.kind)
            ));
        }
        report.units.push(u);
    }
    Ok(())
}

/// The header astropy shows for an HDU: of a tile-compressed image, the image's.
fn image_header(f: &nd_fits::Fits, h: &Hdu, d: &Dataset) -> Result<nd_fits::Header> {
    if h.kind == HduKind::CompressedImage {
        let c = f
            .compressed_image(h.index)
            .map_err(|e| Error::input(format!("{}: HDU {}: {e}", d.path(), h.index)))?;
        return Ok(c.image_header().clone());
    }
    Ok(h.header.clone())
}

/// astropy's `TableDataDiff`: columns paired by lower-case name and format.
fn fits_tables(
    a: &Dataset,
    x: &Hdu,
    b: &Dataset,
    y: &Hdu,
    opts: &DiffOptions,
) -> Result<TableDiff> {
    let (tx, ty) = (
        a.table(&x.index.to_string())?,
        b.table(&y.index.to_string())?,
    );
    let (nx, ny) = (native_columns(a, x)?, native_columns(b, y)?);
    let mut t = TableDiff::default();
    if nx.len() != ny.len() {
        t.column_count = Some((nx.len(), ny.len()));
    }
    if opts.ignore_fields.iter().any(|f| f == "*") {
        return Ok(t);
    }
    let key = |c: &nd_fits::table::Column| (c.name.to_ascii_lowercase(), tform_key(&c.tform));
    let skip =
        |c: &nd_fits::table::Column| opts.ignore_fields.contains(&c.name.to_ascii_lowercase());
    let ky: Vec<_> = ny.iter().filter(|c| !skip(c)).map(key).collect();
    let kx: Vec<_> = nx.iter().filter(|c| !skip(c)).map(key).collect();
    t.only_in_a = nx
        .iter()
        .filter(|c| !skip(c) && !ky.contains(&key(c)))
        .map(|c| format!("{} of format {}", c.name, c.tform))
        .collect();
    t.only_in_b = ny
        .iter()
        .filter(|c| !skip(c) && !kx.contains(&key(c)))
        .map(|c| format!("{} of format {}", c.name, c.tform))
        .collect();
    if tx.nrows() != ty.nrows() {
        t.rows = Some((tx.nrows(), ty.nrows()));
        return Ok(t);
    }
    t.size = tx.nrows().saturating_mul(nx.len() as u64);
    if tx.nrows() == 0 {
        return Ok(t);
    }
    // common columns in name order, as astropy sorts them
    let mut common: Vec<(&nd_fits::table::Column, &nd_fits::table::Column)> = nx
        .iter()
        .filter(|c| !skip(c))
        .filter_map(|c| ny.iter().find(|d| key(d) == key(c)).map(|d| (c, d)))
        .collect();
    common.sort_by(|p, q| p.0.name.cmp(&q.0.name));
    let mut room = opts.numdiffs;
    for (cx, cy) in common {
        let d = if cx.is_variable() || cy.is_variable() {
            if !(cx.is_variable() && cy.is_variable()) {
                t.not_compared
                    .push(format!("{}: variable-length in one table only", cx.name));
                continue;
            }
            variable_columns(&tx, cx.index, &ty, cy.index, opts, room)?
        } else {
            let ax = a.array(&format!("{}/#{}", x.index, cx.index + 1))?;
            let ay = b.array(&format!("{}/#{}", y.index, cy.index + 1))?;
            diff_arrays(&ax, &ay, opts, true, room)?
        };
        t.total += d.total;
        room = room.saturating_sub(d.first.len());
        if !d.is_identical() {
            t.columns.push((cx.name.clone(), d));
        }
    }
    Ok(t)
}

/// A TFORM as astropy's column format compares it: a repeat count of 1 dropped, upper case.
fn tform_key(tform: &str) -> String {
    let t = tform.trim().to_ascii_uppercase();
    match t.strip_prefix('1') {
        Some(rest) if rest.starts_with(|c: char| c.is_ascii_alphabetic()) => rest.to_string(),
        _ => t,
    }
}

fn native_columns(d: &Dataset, h: &Hdu) -> Result<Vec<nd_fits::table::Column>> {
    let crate::Native::Fits(f) = d.native() else {
        return Err(Error::input(format!("{}: not a FITS file", d.path())));
    };
    let t = f
        .table(h.index)
        .map_err(|e| Error::input(format!("{}: HDU {}: {e}", d.path(), h.index)))?;
    Ok(t.columns().to_vec())
}

/// Variable-length columns row by row: a row differs when its arrays differ in length or in
/// any value beyond the tolerances (numpy's `allclose`: NaN differs), as astropy compares them.
fn variable_columns(
    tx: &crate::Table,
    cx: usize,
    ty: &crate::Table,
    cy: usize,
    opts: &DiffOptions,
    room: usize,
) -> Result<DataDiff> {
    let n = tx.nrows();
    let mut d = DataDiff {
        size: n,
        ..DataDiff::default()
    };
    let step = 4096u64;
    let mut r = 0;
    while r < n {
        let end = (r + step).min(n);
        let (vx, vy) = (tx.read_variable(cx, r..end)?, ty.read_variable(cy, r..end)?);
        for (i, (p, q)) in vx.iter().zip(&vy).enumerate() {
            let same = if p.shape() != q.shape() {
                false
            } else {
                match (
                    nd_core::cast::cast_to_vec::<f64>(p.dtype(), p.bytes()),
                    nd_core::cast::cast_to_vec::<f64>(q.dtype(), q.bytes()),
                ) {
                    (Ok(u), Ok(v)) => u
                        .iter()
                        .zip(&v)
                        .all(|(x, y)| (x - y).abs() <= opts.atol + opts.rtol * y.abs()),
                    _ => p.bytes() == q.bytes(),
                }
            };
            if !same {
                d.total += 1;
                if d.first.len() < room {
                    let show = |b: &nd_core::ArrayBuf| {
                        nd_core::cast::cast_to_vec::<f64>(b.dtype(), b.bytes())
                            .map(|v| json!(v))
                            .unwrap_or_else(|_| {
                                J::String(String::from_utf8_lossy(b.bytes()).into_owned())
                            })
                    };
                    d.first.push(ValueDiff {
                        index: vec![r + i as u64],
                        a: show(p),
                        b: show(q),
                    });
                }
            }
        }
        r = end;
    }
    Ok(d)
}

/// One array or table as `nd convert` names it, with its metadata.
struct Unit {
    name: String,
    meta: serde_json::Map<String, J>,
    /// The array's selector, or the table's columns (key, selector).
    what: UnitData,
}

enum UnitData {
    None,
    Array(String),
    Table(Vec<(String, String)>),
}

/// The units of a dataset: its file-level metadata first (name `/`), then its arrays and tables.
fn units(d: &Dataset, opts: &DiffOptions, notes: &mut Vec<String>) -> Result<Vec<Unit>> {
    let plan = d.backend().convert_plan()?;
    notes.extend(plan.skipped.iter().map(|s| format!("{}: {s}", d.path())));
    let mut out = vec![Unit {
        name: "/".into(),
        meta: plan.meta,
        what: UnitData::None,
    }];
    for it in plan.items {
        if cards::ignored(&opts.ignore_hdus, &it.name.to_ascii_uppercase()) {
            continue;
        }
        let what = match it.table {
            Some(t) => {
                UnitData::Table(t.columns.into_iter().map(|c| (c.key, c.selector)).collect())
            }
            None => UnitData::Array(it.selector),
        };
        out.push(Unit {
            name: it.name,
            meta: it.meta,
            what,
        });
    }
    Ok(out)
}

/// Keys a conversion writes from a FITS file (the only ones compared when one side is FITS).
const FITS_KEYS: [&str; 3] = ["fits_header", "fits_table", "fits_hdu_order"];
/// Keys that describe storage, not content (never compared).
const LAYOUT_KEYS: [&str; 1] = ["_ARRAY_DIMENSIONS"];

/// Any pair that is not FITS against FITS: units paired by converted name.
fn converted_mode(
    a: &Dataset,
    b: &Dataset,
    opts: &DiffOptions,
    report: &mut DiffReport,
) -> Result<()> {
    let (ua, ub) = (
        units(a, opts, &mut report.notes)?,
        units(b, opts, &mut report.notes)?,
    );
    let fits_side = a.format() == Format::Fits || b.format() == Format::Fits;
    if ua.len() != ub.len() {
        report.count = Some((ua.len() - 1, ub.len() - 1));
    }
    report.only_in_a = ua
        .iter()
        .filter(|u| !ub.iter().any(|v| v.name == u.name))
        .map(|u| u.name.clone())
        .collect();
    report.only_in_b = ub
        .iter()
        .filter(|u| !ua.iter().any(|v| v.name == u.name))
        .map(|u| u.name.clone())
        .collect();
    for x in &ua {
        let Some(y) = ub.iter().find(|v| v.name == x.name) else {
            continue;
        };
        let mut u = UnitDiff {
            name: x.name.clone(),
            ..UnitDiff::default()
        };
        let mut keys: Vec<&String> = x.meta.keys().chain(y.meta.keys()).collect();
        keys.sort();
        keys.dedup();
        for k in keys {
            if LAYOUT_KEYS.contains(&k.as_str()) || (fits_side && !FITS_KEYS.contains(&k.as_str()))
            {
                continue;
            }
            let (p, q) = (x.meta.get(k), y.meta.get(k));
            if k == "fits_header" {
                let (cp, cq) = (meta_cards(p, a, &x.name)?, meta_cards(q, b, &y.name)?);
                u.header = diff_cards(&cp, &cq, opts);
            } else if p != q {
                u.attributes.push((
                    k.clone(),
                    p.cloned().unwrap_or(J::Null),
                    q.cloned().unwrap_or(J::Null),
                ));
            }
        }
        let kind = |w: &UnitData| match w {
            UnitData::None => "none",
            UnitData::Array(_) => "array",
            UnitData::Table(_) => "table",
        };
        match (&x.what, &y.what) {
            (UnitData::Array(p), UnitData::Array(q)) => {
                u.data = Some(diff_arrays(
                    &a.array(p)?,
                    &b.array(q)?,
                    opts,
                    false,
                    opts.numdiffs,
                )?);
            }
            (UnitData::Table(p), UnitData::Table(q)) => {
                u.table = Some(converted_table(a, p, b, q, opts)?);
            }
            (p, q) if kind(p) != kind(q) => {
                u.kinds = Some((kind(p).into(), kind(q).into()));
            }
            _ => {}
        }
        report.units.push(u);
    }
    Ok(())
}

/// Tables by converted column name: values of the columns both have, row by row.
fn converted_table(
    a: &Dataset,
    p: &[(String, String)],
    b: &Dataset,
    q: &[(String, String)],
    opts: &DiffOptions,
) -> Result<TableDiff> {
    let mut t = TableDiff::default();
    if p.len() != q.len() {
        t.column_count = Some((p.len(), q.len()));
    }
    let skip = |k: &str| {
        opts.ignore_fields
            .iter()
            .any(|f| f == "*" || *f == k.to_ascii_lowercase())
    };
    t.only_in_a = p
        .iter()
        .filter(|(k, _)| !skip(k) && !q.iter().any(|(l, _)| l == k))
        .map(|(k, _)| k.clone())
        .collect();
    t.only_in_b = q
        .iter()
        .filter(|(k, _)| !skip(k) && !p.iter().any(|(l, _)| l == k))
        .map(|(k, _)| k.clone())
        .collect();
    let mut room = opts.numdiffs;
    let mut common: Vec<(&String, &String, &String)> = p
        .iter()
        .filter(|(k, _)| !skip(k))
        .filter_map(|(k, s)| q.iter().find(|(l, _)| l == k).map(|(_, r)| (k, s, r)))
        .collect();
    common.sort();
    for (k, s, r) in common {
        let (x, y) = (a.array(s)?, b.array(r)?);
        let (rx, ry) = (
            x.shape().first().copied().unwrap_or(0),
            y.shape().first().copied().unwrap_or(0),
        );
        if rx != ry {
            t.rows = Some((rx, ry));
            return Ok(t);
        }
        t.size = t.size.saturating_add(rx);
        let d = diff_arrays(&x, &y, opts, true, room)?;
        t.total += d.total;
        room = room.saturating_sub(d.first.len());
        if !d.is_identical() {
            t.columns.push((k.clone(), d));
        }
    }
    Ok(t)
}

/// The cards of a `fits_header` attribute (a list of raw card texts), parsed as a header.
fn meta_cards(v: Option<&J>, d: &Dataset, name: &str) -> Result<Vec<Card>> {
    let Some(v) = v else {
        return Ok(Vec::new());
    };
    let bad = || {
        Error::input(format!(
            "{}: {name}: fits_header is not a list of card texts",
            d.path()
        ))
    };
    let list = v.as_array().ok_or_else(bad)?;
    let mut bytes = Vec::new();
    for c in list {
        let s = c.as_str().ok_or_else(bad)?;
        let mut img = s.as_bytes().to_vec();
        img.resize(img.len().div_ceil(80).max(1) * 80, b' ');
        bytes.extend_from_slice(&img);
    }
    bytes.extend_from_slice(b"END");
    bytes.resize(bytes.len().div_ceil(2880) * 2880, b' ');
    let (h, _) = nd_fits::Header::from_bytes(&bytes)
        .map_err(|e| Error::input(format!("{}: {name}: fits_header: {e}", d.path())))?;
    Ok(h.cards().to_vec())
}
