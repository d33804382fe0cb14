//! `nd header`: header cards, tree values and attributes of many files, selected by keyword
//! (with wildcards) and HDU, as astropy's `fitsheader` lists them; and header editing.
//!
//! Every format gives rows of (file, unit, keyword, value):
//! - FITS: one unit per HDU (its index, or the `-e` name as given), one row per card; of a
//!   tile-compressed image, the image header astropy shows.
//! - Zarr: one unit per node (its path, `/` for the root), one row per attribute.
//! - ASDF: one unit, `tree`; one row per leaf of the tree, named by its path (`meta/file/x`,
//!   `data/shape`); a list of scalars is one value.

use crate::dataset::{Dataset, Format};
use crate::error::{Error, Result};
use serde_json::{json, Value as J};

/// Which rows `nd header` prints.
#[derive(Debug, Clone, Default)]
pub struct HeaderQuery {
    /// Keywords (FITS, case-insensitive; `*`, `?` and `...` wildcards as astropy's
    /// `header.cards[...]`), attribute names (Zarr) or tree paths (ASDF). Empty: every card.
    /// A keyword without a wildcard gives its first card only, as astropy does.
    pub keywords: Vec<String>,
    /// HDUs by index, `EXTNAME` or `EXTNAME,EXTVER` (FITS); node paths (Zarr); subtree paths
    /// (ASDF). Empty: all.
    pub extensions: Vec<String>,
}

/// One card, attribute or tree value.
#[derive(Debug, Clone, PartialEq)]
pub struct HeaderRow {
    /// The file as given.
    pub filename: String,
    /// The HDU (index, or the extension as given with `-e`), node path or `tree`.
    pub hdu: String,
    /// The keyword, attribute name or tree path.
    pub keyword: String,
    /// The value, typed (a card's value as [`crate::Dataset::metadata`] gives it).
    pub value: J,
    /// The value as `fitsheader -t` prints it (Python's `str` of astropy's value); attributes
    /// and tree values: strings as they are, others as JSON.
    pub text: String,
    /// The card's comment (FITS).
    pub comment: Option<String>,
    /// The card as it is in the file: 80 columns, more for a long string with CONTINUE cards
    /// (FITS).
    pub raw: Option<String>,
}

impl HeaderRow {
    /// The JSON object of `nd header --json`.
    pub fn to_json(&self) -> J {
        json!({
            "filename": self.filename, "hdu": self.hdu, "keyword": self.keyword,
            "value": self.value, "comment": self.comment,
        })
    }
}

/// The rows of one dataset, and a warning for each requested HDU or keyword not found (as
/// fitsheader's warnings). Reads every header (of tile-compressed images, the image header).
///
/// ```
/// use nd::header::{header_rows, HeaderQuery};
/// let ds = nd::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/header/h0.fits"))?;
/// let q = HeaderQuery { keywords: vec!["NAXIS*".into()], extensions: vec!["SCI".into()] };
/// let (rows, _warnings) = header_rows(&ds, &q)?;
/// let shown: Vec<(&str, &str)> = rows.iter().map(|r| (r.keyword.as_str(), r.text.as_str())).collect();
/// assert_eq!(shown, [("NAXIS", "2"), ("NAXIS1", "30"), ("NAXIS2", "20")]);
/// # Ok::<(), nd::Error>(())
/// ```
///
/// # Errors
/// [`Error::Input`] when the headers cannot be read.
pub fn header_rows(ds: &Dataset, q: &HeaderQuery) -> Result<(Vec<HeaderRow>, Vec<String>)> {
    let mut rows = Vec::new();
    let mut warnings = Vec::new();
    let units = units(ds, q, &mut warnings)?;
    for (hdu, cards) in units {
        if q.keywords.is_empty() {
            rows.extend(cards.into_iter().map(|c| c.into_row(ds.path(), &hdu)));
            continue;
        }
        for k in &q.keywords {
            let (pattern, key) = pattern_of(k, ds.format());
            let found: Vec<&Entry> = if pattern {
                cards
                    .iter()
                    .filter(|c| matches(&key, &c.key, ds.format()))
                    .collect()
            } else {
                cards
                    .iter()
                    .find(|c| matches(&key, &c.key, ds.format()))
                    .into_iter()
                    .collect()
            };
            if found.is_empty() {
                warnings.push(format!("{} (HDU {hdu}): Keyword {k} not found.", ds.path()));
            }
            rows.extend(
                found
                    .into_iter()
                    .map(|c| c.clone().into_row(ds.path(), &hdu)),
            );
        }
    }
    Ok((rows, warnings))
}

/// Whether `k` is a pattern, and the key to match (upper case for FITS keywords; astropy's
/// `...` taken as `*`).
fn pattern_of(k: &str, f: Format) -> (bool, String) {
    let k = k.trim();
    let k = if f == Format::Fits {
        k.to_ascii_uppercase()
    } else {
        k.to_string()
    };
    let k = k
        .strip_prefix("HIERARCH ")
        .map_or(k.clone(), |s| s.trim().to_string());
    let pat = k.contains(['*', '?']) || k.ends_with("...");
    (pat, k.replace("...", "*"))
}

fn matches(key: &str, name: &str, f: Format) -> bool {
    let name = if f == Format::Fits {
        name.to_ascii_uppercase()
    } else {
        name.to_string()
    };
    key == name || crate::refs::wildcard_match(key, &name)
}

#[derive(Clone)]
struct Entry {
    key: String,
    value: J,
    text: String,
    comment: Option<String>,
    raw: Option<String>,
}

impl Entry {
    fn into_row(self, file: &str, hdu: &str) -> HeaderRow {
        HeaderRow {
            filename: file.to_string(),
            hdu: hdu.to_string(),
            keyword: self.key,
            value: self.value,
            text: self.text,
            comment: self.comment,
            raw: self.raw,
        }
    }
}

type Units = Vec<(String, Vec<Entry>)>;

fn units(ds: &Dataset, q: &HeaderQuery, warnings: &mut Vec<String>) -> Result<Units> {
    match ds.native() {
        crate::Native::Fits(f) => fits_units(ds, f, q, warnings),
        crate::Native::Zarr(_) => {
            let meta = ds.metadata()?;
            let mut out = Vec::new();
            if let Some(nodes) = meta.get("nodes").and_then(J::as_object) {
                for (path, node) in nodes {
                    let name = if path.is_empty() { "/" } else { path.as_str() };
                    if !q.extensions.is_empty()
                        && !q
                            .extensions
                            .iter()
                            .any(|e| e.trim_matches('/') == path.trim_matches('/'))
                    {
                        continue;
                    }
                    let attrs = node.get("attributes").and_then(J::as_object);
                    let entries = attrs
                        .into_iter()
                        .flatten()
                        .map(|(k, v)| json_entry(k, v))
                        .collect();
                    out.push((name.to_string(), entries));
                }
            }
            Ok(out)
        }
        _ => {
            let meta = ds.metadata()?;
            let tree = meta.get("tree").cloned().unwrap_or(J::Null);
            let mut leaves = Vec::new();
            flatten("", &tree, &mut leaves);
            if !q.extensions.is_empty() {
                leaves.retain(|e| {
                    q.extensions.iter().any(|x| {
                        let x = x.trim_matches('/');
                        e.key == x || e.key.starts_with(&format!("{x}/"))
                    })
                });
            }
            Ok(vec![("tree".to_string(), leaves)])
        }
    }
}

fn json_entry(k: &str, v: &J) -> Entry {
    Entry {
        key: k.to_string(),
        text: match v {
            J::String(s) => s.clone(),
            other => other.to_string(),
        },
        value: v.clone(),
        comment: None,
        raw: None,
    }
}

/// Leaves of an ASDF tree (tagged nodes `{"!": tag, "value": v}` stand for `v`); lists of
/// scalars are one leaf.
fn flatten(path: &str, v: &J, out: &mut Vec<Entry>) {
    let join = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}/{k}")
        }
    };
    match v {
        J::Object(m) if m.contains_key("!") && m.contains_key("value") && m.len() == 2 => {
            flatten(path, &m["value"], out)
        }
        J::Object(m) => {
            for (k, x) in m {
                flatten(&join(k), x, out);
            }
        }
        J::Array(a) if a.iter().any(|x| x.is_object() || x.is_array()) => {
            for (i, x) in a.iter().enumerate() {
                flatten(&join(&i.to_string()), x, out);
            }
        }
        other => out.push(json_entry(path, other)),
    }
}

fn fits_units(
    ds: &Dataset,
    f: &nd_fits::Fits,
    q: &HeaderQuery,
    warnings: &mut Vec<String>,
) -> Result<Units> {
    let fail = |e: nd_fits::Error| Error::input(format!("{}: {e}", ds.path()));
    let hdus = f.hdus().map_err(fail)?;
    let mut picked: Vec<(String, &nd_fits::Hdu)> = Vec::new();
    if q.extensions.is_empty() {
        picked.extend(hdus.iter().map(|h| (h.index.to_string(), *h)));
    }
    for e in &q.extensions {
        let t = e.trim();
        let found = if let Ok(i) = t.parse::<usize>() {
            hdus.get(i).copied()
        } else {
            let (name, ver) = match t.rsplit_once(',') {
                Some((n, v)) => (n.trim(), v.trim().parse::<i64>().ok()),
                None => (t, None),
            };
            hdus.iter()
                .find(|h| h.name().eq_ignore_ascii_case(name) && ver.is_none_or(|v| h.ver() == v))
                .copied()
        };
        match found {
            Some(h) => picked.push((t.to_string(), h)),
            None => warnings.push(format!("{}: Extension {t} not found.", ds.path())),
        }
    }
    let mut out = Vec::new();
    for (key, h) in picked {
        let header = if h.kind == nd_fits::HduKind::CompressedImage {
            f.compressed_image(h.index)
                .map_err(fail)?
                .image_header()
                .clone()
        } else {
            h.header.clone()
        };
        let entries = header
            .cards()
            .iter()
            .map(|c| Entry {
                key: c.keyword().to_string(),
                value: crate::formats::fits::card_value(c.value()),
                text: c.value().python_str(),
                comment: c.comment().map(str::to_string),
                raw: Some(c.raw().to_string()),
            })
            .collect();
        out.push((key, entries));
    }
    Ok(out)
}

/// The rows as `fitsheader -t` prints them (astropy's `ascii.fixed_width` table: columns
/// `filename`, `hdu`, `keyword`, `value`, each right-aligned to its widest cell).
pub fn table_text(rows: &[HeaderRow]) -> String {
    let cells: Vec<[&str; 4]> = rows
        .iter()
        .map(|r| {
            [
                r.filename.as_str(),
                r.hdu.as_str(),
                r.keyword.as_str(),
                r.text.as_str(),
            ]
        })
        .collect();
    let head = ["filename", "hdu", "keyword", "value"];
    let mut w = head.map(str::len);
    for c in &cells {
        for i in 0..4 {
            w[i] = w[i].max(c[i].chars().count());
        }
    }
    let line = |c: &[&str; 4]| {
        let mut s = String::from("|");
        for i in 0..4 {
            s.push_str(&format!(" {:>width$} |", c[i], width = w[i]));
        }
        s.push('\n');
        s
    };
    let mut out = line(&head);
    for c in &cells {
        out.push_str(&line(c));
    }
    out
}

/// The rows in fitsheader's traditional form: `# HDU n in FILE:` then the cards of each HDU
/// (FITS: each card as in the file, a long string with its CONTINUE cards on one line; others:
/// `key = value`), a blank line between HDUs of a file, and between files when `all_cards`
/// (no keyword was asked for), as fitsheader separates them.
pub fn listing_text(rows: &[HeaderRow], all_cards: bool) -> String {
    let mut out = String::new();
    let mut last: Option<(&str, &str)> = None;
    for r in rows {
        if last != Some((r.filename.as_str(), r.hdu.as_str())) {
            match last {
                Some((f, _)) if f == r.filename || all_cards => out.push('\n'),
                _ => {}
            }
            out.push_str(&format!("# HDU {} in {}:\n", r.hdu, r.filename));
            last = Some((&r.filename, &r.hdu));
        }
        match &r.raw {
            Some(raw) => out.push_str(raw),
            None => out.push_str(&format!("{} = {}", r.keyword, r.text)),
        }
        out.push('\n');
    }
    out
}

/// Edit the header of one HDU of a local FITS file (see [`nd_fits::edit`]): `hdu` by index,
/// `EXTNAME` or `EXTNAME,EXTVER` (default the primary, as `fits.setval`).
///
/// # Errors
/// [`Error::Input`] for an unknown HDU, a protected keyword, a bad value, a deletion that
/// matches nothing, a file that is not a local uncompressed FITS file, or a failed write (the
/// file is then unchanged).
pub fn edit_header(
    path: &str,
    hdu: Option<&str>,
    edits: &[nd_fits::edit::Edit],
) -> Result<nd_fits::edit::EditOutcome> {
    let fail = |e: nd_fits::Error| Error::input(format!("{path}: {e}"));
    if nd_remote::is_url(path) {
        return Err(Error::input(format!(
            "{path}: only local files can be edited"
        )));
    }
    let index = match hdu.map(str::trim) {
        None | Some("") => 0,
        Some(s) => match s.parse::<usize>() {
            Ok(i) => i,
            Err(_) => {
                let f = nd_fits::Fits::open(path).map_err(fail)?;
                let (name, ver) =
                    match s.rsplit_once(',') {
                        Some((n, v)) => (
                            n.trim(),
                            Some(v.trim().parse::<i64>().map_err(|_| {
                                Error::input(format!("{path}: bad EXTVER in '{s}'"))
                            })?),
                        ),
                        None => (s, None),
                    };
                f.find(name, ver).map_err(fail)?.index
            }
        },
    };
    nd_fits::edit::edit_file(std::path::Path::new(path), index, edits).map_err(fail)
}
