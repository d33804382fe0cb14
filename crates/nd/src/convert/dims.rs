//! Dimension names of Zarr output, so `xarray.open_zarr` opens every store nd writes: Zarr v2
//! `.zattrs["_ARRAY_DIMENSIONS"]`, Zarr v3 `dimension_names`.
//!
//! - A source that names its dimensions keeps them: `_ARRAY_DIMENSIONS` in the item's metadata
//!   (a Zarr v2 source, an ASDF file converted from Zarr; the Zarr backend also puts a v3
//!   source's `dimension_names` there).
//! - A FITS image: from `CTYPEn` when present, numpy axis `i` being FITS axis `NAXIS - i`; the
//!   name is the coordinate type without its projection code, lowercased (`RA---SIN` → `ra`,
//!   `DEC--SIN` → `dec`, `FREQ` → `freq`, `STOKES` → `stokes`); characters other than ASCII letters,
//!   digits and `_` become `_`.
//! - Otherwise `dim_0, dim_1, …`, as xarray names the dimensions of an unnamed array.
//!
//! Names repeated within one array get `_1`, `_2`, … (xarray refuses a repeated dimension). xarray
//! also refuses a dataset where one name has two lengths, so within one group a name already
//! bound to another length becomes `<name>_<array>` (`dim_0_SCI`), then with a counter.

use serde_json::{Map, Value};
use std::collections::HashMap;

/// The names a source gives: `_ARRAY_DIMENSIONS` of the item's metadata, when it is a list of
/// `ndim` strings.
fn from_attributes(meta: &Map<String, Value>, ndim: usize) -> Option<Vec<String>> {
    let list = meta.get("_ARRAY_DIMENSIONS")?.as_array()?;
    if list.len() != ndim {
        return None;
    }
    list.iter().map(|v| v.as_str().map(String::from)).collect()
}

/// `CTYPEn` values of a FITS header given as raw cards (`fits_header`).
fn ctypes(meta: &Map<String, Value>) -> HashMap<usize, String> {
    let mut out = HashMap::new();
    let Some(cards) = meta.get("fits_header").and_then(Value::as_array) else {
        return out;
    };
    for c in cards.iter().filter_map(Value::as_str) {
        let key = c.get(..8).unwrap_or(c).trim_end();
        let Some(n) = key
            .strip_prefix("CTYPE")
            .and_then(|d| d.parse::<usize>().ok())
        else {
            continue;
        };
        if c.get(8..10) != Some("= ") {
            continue;
        }
        // the quoted value: '' inside is a quote
        let rest = c[10..].trim_start();
        let Some(body) = rest.strip_prefix('\'') else {
            continue;
        };
        let mut val = String::new();
        let mut chars = body.chars().peekable();
        while let Some(ch) = chars.next() {
            if ch == '\'' {
                if chars.peek() == Some(&'\'') {
                    chars.next();
                    val.push('\'');
                    continue;
                }
                break;
            }
            val.push(ch);
        }
        out.insert(n, val.trim_end().to_string());
    }
    out
}

/// `RA---SIN` → `ra`; `FREQ` → `freq`; `` → None.
pub(crate) fn ctype_name(ctype: &str) -> Option<String> {
    let t = ctype.trim();
    // the WCS form: a 4-character coordinate type padded with '-', '-', a 3-letter code
    let base = match (t.len(), t.as_bytes().get(4)) {
        (8, Some(b'-')) => t[..4].trim_end_matches('-'),
        _ => t,
    };
    let name: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let name = name.trim_matches('_').to_string();
    (!name.is_empty()).then_some(name)
}

/// The dimension names of one array of `ndim` axes, before names are made consistent within
/// its group.
pub(crate) fn names(meta: &Map<String, Value>, ndim: usize, image: bool) -> Vec<String> {
    if let Some(d) = from_attributes(meta, ndim) {
        return d;
    }
    let ct = if image { ctypes(meta) } else { HashMap::new() };
    let mut out: Vec<String> = (0..ndim)
        .map(|i| {
            ct.get(&(ndim - i))
                .and_then(|c| ctype_name(c))
                .unwrap_or_else(|| format!("dim_{i}"))
        })
        .collect();
    // a name used twice in one array gets a counter
    for i in 1..out.len() {
        if out[..i].contains(&out[i]) {
            let mut k = 1;
            while out.contains(&format!("{}_{k}", out[i])) {
                k += 1;
            }
            out[i] = format!("{}_{k}", out[i]);
        }
    }
    out
}

/// Keeps one length per dimension name in each group (what xarray needs to open the group).
#[derive(Default)]
pub(crate) struct Groups {
    /// group path → name → length.
    seen: HashMap<String, HashMap<String, u64>>,
}

impl Groups {
    /// Make `dims` of the array at `path` (shape `shape`) consistent with the arrays already
    /// placed in its group, and record them.
    pub(crate) fn place(&mut self, path: &str, shape: &[u64], dims: Vec<String>) -> Vec<String> {
        let (group, base) = path.rsplit_once('/').unwrap_or(("", path));
        let base: String = base
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let seen = self.seen.entry(group.to_string()).or_default();
        let mut out = Vec::with_capacity(dims.len());
        for (d, &len) in dims.into_iter().zip(shape) {
            let free = |n: &str, out: &Vec<String>| {
                seen.get(n).is_none_or(|&l| l == len) && !out.iter().any(|o| o == n)
            };
            let name = if free(&d, &out) {
                d
            } else {
                let alt = format!("{d}_{base}");
                let mut cand = alt.clone();
                let mut k = 1;
                while !free(&cand, &out) {
                    cand = format!("{alt}_{k}");
                    k += 1;
                }
                cand
            };
            seen.insert(name.clone(), len);
            out.push(name);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ctype_names() {
        assert_eq!(ctype_name("RA---SIN").as_deref(), Some("ra"));
        assert_eq!(ctype_name("DEC--TAN").as_deref(), Some("dec"));
        assert_eq!(ctype_name("GLON-CAR").as_deref(), Some("glon"));
        assert_eq!(ctype_name("FREQ").as_deref(), Some("freq"));
        assert_eq!(ctype_name("STOKES").as_deref(), Some("stokes"));
        assert_eq!(ctype_name("WAVE-F2W").as_deref(), Some("wave"));
        assert_eq!(ctype_name("  ").as_deref(), None);
    }

    #[test]
    fn from_fits_cards_reversed_and_deduplicated() {
        let m = json!({"fits_header": [
            "CTYPE1  = 'RA---SIN'           / right ascension",
            "CTYPE2  = 'DEC--SIN'",
            "CTYPE3  = 'FREQ    '",
        ]});
        let m = m.as_object().unwrap();
        assert_eq!(names(m, 3, true), vec!["freq", "dec", "ra"]);
        assert_eq!(names(m, 4, true), vec!["dim_0", "freq", "dec", "ra"]);
        let same = json!({"fits_header": ["CTYPE1  = 'LINEAR'", "CTYPE2  = 'LINEAR'"]});
        assert_eq!(
            names(same.as_object().unwrap(), 2, true),
            vec!["linear", "linear_1"]
        );
        assert_eq!(names(&Map::new(), 2, true), vec!["dim_0", "dim_1"]);
        let z = json!({"_ARRAY_DIMENSIONS": ["t", "y"]});
        assert_eq!(names(z.as_object().unwrap(), 2, true), vec!["t", "y"]);
    }

    #[test]
    fn one_length_per_name_in_a_group() {
        let mut g = Groups::default();
        let d = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            g.place("PRIMARY", &[10, 20], d(&["dim_0", "dim_1"])),
            d(&["dim_0", "dim_1"])
        );
        assert_eq!(
            g.place("SCI", &[10, 5], d(&["dim_0", "dim_1"])),
            d(&["dim_0", "dim_1_SCI"])
        );
        assert_eq!(g.place("t/a", &[5], d(&["dim_0"])), d(&["dim_0"]));
        assert_eq!(
            g.place("ERR", &[10, 5], d(&["dim_0", "dim_1"])),
            d(&["dim_0", "dim_1_ERR"])
        );
    }
}
