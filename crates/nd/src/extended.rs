//! cfitsio's extended filename syntax: `f.fits[1]`, `f.fits[SCI]`, `f.fits[SCI,2]`,
//! `f.fits[SCI][101:200,1:50]`, `f.fits[1:100:2,*]`, also after `.fits.gz` and on URLs.
//!
//! The brackets after a name choose an HDU and cut an image section out of it, with cfitsio's
//! conventions: pixel numbers are 1-based and inclusive, axes in FITS order (`NAXIS1`, the
//! fastest-varying `x`, first), `a:b:s` takes every `s`-th pixel from `a` to `b`, `b < a` runs
//! backwards, `*` is the whole axis and `-*` the whole axis reversed (both with an optional
//! `:s`). [`ExtendedName::selection`] turns the section into nd's numpy-order, 0-based
//! [`Selection`] (the one nd's own `--region` text makes), so every command reads it through the
//! same views.
//!
//! Which text is an extended name:
//! - a local path that exists as written is opened as written (a file may be called `a[1].fits`);
//!   otherwise up to two trailing `[...]` groups are taken off;
//! - on a URL, trailing `[...]` groups of the path are always the syntax: RFC 3986 does not allow
//!   `[` or `]` unescaped in a path (only around an IPv6 host), so a URL whose object name holds
//!   brackets must write them `%5B` and `%5D`;
//! - with two groups the first names the HDU and the second is the section; one group is a
//!   section when it holds `:` or `*`, otherwise it names the HDU (`N`, `EXTNAME` or
//!   `EXTNAME,EXTVER`, names compared without case, as cfitsio does);
//! - a section without an HDU applies, as cfitsio's `fits_open_image` does, to the first HDU
//!   holding an image (the primary array, or the first image extension after an empty primary).

use crate::error::{Error, Result};
use nd_core::{AxisSelection, Selection};

/// One axis of a FITS image section, as written (1-based, inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SectionRange {
    /// `*` (or `-*` when `reversed`), with step `step` (`*:2`).
    All {
        /// `-*`: from the last pixel to the first.
        reversed: bool,
        /// Every `step`-th pixel (≥ 1).
        step: u64,
    },
    /// `first:last:step`, or a single pixel `first`; backwards when `last < first`.
    Span {
        /// The first pixel taken (1-based).
        first: u64,
        /// The last pixel the range reaches (1-based, inclusive; taken when the step lands on it).
        last: u64,
        /// Every `step`-th pixel (≥ 1).
        step: u64,
    },
}

/// A path or URL with cfitsio's extended filename brackets taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtendedName {
    /// The file or URL without the brackets.
    pub path: String,
    /// The HDU as an nd selector (`1`, `SCI`, `SCI,2`), if the brackets name one.
    pub hdu: Option<String>,
    /// The image section, FITS axis order (first entry: `NAXIS1`), if given.
    pub section: Option<Vec<SectionRange>>,
    /// The brackets as written (`[SCI][101:200,1:50]`), for messages.
    pub brackets: String,
}

impl ExtendedName {
    /// Take trailing brackets off `text` (see the module documentation for which text counts).
    /// `Ok(None)` when there are none (or `text` is an existing local path).
    ///
    /// # Errors
    /// [`Error::Input`] naming the text when brackets are there but do not parse: an empty
    /// group, more than two groups, a bad HDU or section item.
    pub fn parse(text: &str) -> Result<Option<ExtendedName>> {
        if !text.ends_with(']') {
            return Ok(None); // no brackets (and no look at the file system)
        }
        let is_url = nd_remote::is_url(text) || text.starts_with("file://");
        if !is_url && std::path::Path::new(text).exists() {
            return Ok(None);
        }
        let mut rest = text;
        let mut groups: Vec<&str> = Vec::new();
        while rest.ends_with(']') {
            let Some(open) = rest.rfind('[') else {
                break;
            };
            // on a URL only the path may carry the syntax (an IPv6 host is bracketed too)
            if is_url && !in_url_path(rest, open) {
                break;
            }
            groups.push(&rest[open + 1..rest.len() - 1]);
            rest = &rest[..open];
        }
        if groups.is_empty() {
            return Ok(None);
        }
        let brackets = text[rest.len()..].to_string();
        let fail =
            |why: String| Error::input(format!("{text}: extended filename {brackets}: {why}"));
        if rest.is_empty() || rest.ends_with('/') {
            return Err(fail("no file name before the brackets".into()));
        }
        if groups.len() > 2 {
            return Err(fail(
                "at most two bracket groups: [HDU] then [section]".into(),
            ));
        }
        groups.reverse();
        let is_section = |g: &str| g.contains(':') || g.contains('*');
        let (hdu, section) = match groups.as_slice() {
            [one] if is_section(one) => (None, Some(*one)),
            [one] => (Some(*one), None),
            [h, s] => (Some(*h), Some(*s)),
            _ => (None, None),
        };
        let hdu = hdu.map(|h| parse_hdu(h).map_err(&fail)).transpose()?;
        let section = section
            .map(|s| parse_section(s).map_err(&fail))
            .transpose()?;
        Ok(Some(ExtendedName {
            path: rest.to_string(),
            hdu,
            section,
            brackets,
        }))
    }

    /// The section as nd's numpy-order, 0-based [`Selection`] of an image of `shape` (numpy
    /// order, as [`crate::Array::shape`] gives it), or the whole image without a section.
    ///
    /// # Errors
    /// [`Error::Input`] when the section names another number of axes than the image has, or a
    /// pixel outside an axis (cfitsio refuses these too).
    pub fn selection(&self, shape: &[u64]) -> Result<Selection> {
        let Some(section) = &self.section else {
            return Ok(Selection::full(shape));
        };
        let fail = |why: String| Error::input(format!("{}{}: {why}", self.path, self.brackets));
        if section.len() != shape.len() {
            return Err(fail(format!(
                "the section names {} axes, the image has {} (FITS dimensions {})",
                section.len(),
                shape.len(),
                nd_core::fmt_shape(shape.iter().rev())
            )));
        }
        let ndim = shape.len();
        let axes = (0..ndim)
            .map(|np_axis| {
                let fits_axis = ndim - 1 - np_axis;
                let n = shape[np_axis];
                to_axis(&section[fits_axis], n).map_err(|why| {
                    fail(format!(
                        "axis {} (NAXIS{} = {n}): {why}",
                        fits_axis + 1,
                        fits_axis + 1
                    ))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Selection { axes })
    }
}

/// The file or URL part of `text` (without extended filename brackets), for checks that
/// compare paths (an output must not overwrite its source).
pub fn file_part(text: &str) -> String {
    match ExtendedName::parse(text) {
        Ok(Some(x)) => x.path,
        _ => text.to_string(),
    }
}

/// Whether byte `at` of `url` lies in its path (after the authority).
fn in_url_path(url: &str, at: usize) -> bool {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    url[after_scheme..]
        .find('/')
        .is_some_and(|slash| after_scheme + slash < at)
}

/// `N`, `EXTNAME` or `EXTNAME,EXTVER` → an nd selector.
fn parse_hdu(text: &str) -> std::result::Result<String, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("an empty HDU".into());
    }
    let mut parts = t.split(',').map(str::trim);
    let name = parts.next().unwrap_or_default();
    let ver = parts.next();
    if parts.next().is_some() {
        return Err(format!(
            "HDU '{t}': give N, EXTNAME or EXTNAME,EXTVER (nd does not take cfitsio's XTENSION type)"
        ));
    }
    if name.is_empty() || name.contains(['[', ']', '/']) {
        return Err(format!("HDU '{t}': not an index or EXTNAME"));
    }
    if let Some(n) = name.strip_prefix('+').or(Some(name)) {
        if ver.is_none() && n.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(n.trim_start_matches('0').to_string()).map(|s| {
                if s.is_empty() {
                    "0".to_string()
                } else {
                    s
                }
            });
        }
    }
    match ver {
        None => Ok(name.to_string()),
        Some(v) => match v.parse::<i64>() {
            Ok(v) if v >= 1 => Ok(format!("{name},{v}")),
            _ => Err(format!("HDU '{t}': EXTVER '{v}' is not a positive integer")),
        },
    }
}

/// `a:b[:s]`, `a`, `*[:s]`, `-*[:s]` per axis, comma-separated, FITS order.
fn parse_section(text: &str) -> std::result::Result<Vec<SectionRange>, String> {
    text.split(',')
        .enumerate()
        .map(|(k, item)| {
            parse_range(item.trim())
                .map_err(|why| format!("axis {}: '{}': {why}", k + 1, item.trim()))
        })
        .collect()
}

fn parse_range(item: &str) -> std::result::Result<SectionRange, String> {
    let pixel = |s: &str| -> std::result::Result<u64, String> {
        match s.trim().parse::<u64>() {
            Ok(v) if v >= 1 => Ok(v),
            _ => Err(format!("'{}' is not a pixel number (1, 2, …)", s.trim())),
        }
    };
    let step = |s: Option<&str>| -> std::result::Result<u64, String> {
        match s {
            None => Ok(1),
            Some(s) => match s.trim().parse::<u64>() {
                Ok(v) if v >= 1 => Ok(v),
                _ => Err(format!("step '{}' is not a positive integer", s.trim())),
            },
        }
    };
    let parts: Vec<&str> = item.split(':').collect();
    match parts.as_slice() {
        [] | [""] => Err("an empty range".into()),
        ["*", rest @ ..] | ["-*", rest @ ..] if rest.len() <= 1 => Ok(SectionRange::All {
            reversed: parts[0] == "-*",
            step: step(rest.first().copied())?,
        }),
        [one] => {
            let p = pixel(one)?;
            Ok(SectionRange::Span {
                first: p,
                last: p,
                step: 1,
            })
        }
        [a, b] | [a, b, _] => Ok(SectionRange::Span {
            first: pixel(a)?,
            last: pixel(b)?,
            step: step(parts.get(2).copied())?,
        }),
        _ => Err("a range is first:last or first:last:step".into()),
    }
}

/// One FITS range on an axis of `n` pixels as a numpy-order 0-based slice.
fn to_axis(r: &SectionRange, n: u64) -> std::result::Result<AxisSelection, String> {
    if n == 0 {
        return Err("the axis is empty".into());
    }
    let (first, last, step) = match *r {
        SectionRange::All {
            reversed: false,
            step,
        } => (1, n, step),
        SectionRange::All {
            reversed: true,
            step,
        } => (n, 1, step),
        SectionRange::Span { first, last, step } => (first, last, step),
    };
    for p in [first, last] {
        if p > n {
            return Err(format!("pixel {p} is outside the axis (1..{n})"));
        }
    }
    let step_i = i64::try_from(step).map_err(|_| format!("step {step} is too large"))?;
    Ok(if last >= first {
        AxisSelection::Slice {
            start: first - 1,
            step: step_i,
            len: (last - first) / step + 1,
        }
    } else {
        AxisSelection::Slice {
            start: first - 1,
            step: -step_i,
            len: (first - last) / step + 1,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(t: &str) -> ExtendedName {
        ExtendedName::parse(t).unwrap().unwrap()
    }

    #[test]
    fn hdu_and_section_groups() {
        let x = parse("no/such/f.fits[SCI][101:200,1:50]");
        assert_eq!(x.path, "no/such/f.fits");
        assert_eq!(x.hdu.as_deref(), Some("SCI"));
        assert_eq!(x.brackets, "[SCI][101:200,1:50]");
        assert_eq!(
            x.section.unwrap(),
            vec![
                SectionRange::Span {
                    first: 101,
                    last: 200,
                    step: 1
                },
                SectionRange::Span {
                    first: 1,
                    last: 50,
                    step: 1
                }
            ]
        );
        assert_eq!(parse("x.fits[1]").hdu.as_deref(), Some("1"));
        assert_eq!(parse("x.fits[+02]").hdu.as_deref(), Some("2"));
        assert_eq!(parse("x.fits[sci, 2]").hdu.as_deref(), Some("sci,2"));
        let s = parse("x.fits.gz[*,-*:2]");
        assert_eq!(s.hdu, None);
        assert_eq!(
            s.section.unwrap(),
            vec![
                SectionRange::All {
                    reversed: false,
                    step: 1
                },
                SectionRange::All {
                    reversed: true,
                    step: 2
                }
            ]
        );
        assert_eq!(ExtendedName::parse("plain.fits").unwrap(), None);
    }

    #[test]
    fn urls_take_brackets_only_in_the_path() {
        let x = parse("https://[::1]:8080/d/f.fits[SCI,2]");
        assert_eq!(x.path, "https://[::1]:8080/d/f.fits");
        assert_eq!(x.hdu.as_deref(), Some("SCI,2"));
        assert_eq!(ExtendedName::parse("http://[::1]").unwrap(), None);
        assert_eq!(parse("s3://b/k.fits[1:2,3]").path, "s3://b/k.fits");
    }

    #[test]
    fn sections_become_numpy_selections() {
        // FITS [101:200, 1:50] of a (NAXIS2=60, NAXIS1=300) image is numpy [0:50, 100:200]
        let s = parse("f.fits[101:200,1:50]").selection(&[60, 300]).unwrap();
        assert_eq!(s.bounding_region().ranges, vec![0..50, 100..200]);
        // reversed and stepped: [200:101:3] takes 200, 197, …, 101 → numpy 199::-3, 34 values
        let s = parse("f.fits[200:101:3,-*]").selection(&[4, 300]).unwrap();
        assert_eq!(
            s.axes,
            vec![
                AxisSelection::Slice {
                    start: 3,
                    step: -1,
                    len: 4
                },
                AxisSelection::Slice {
                    start: 199,
                    step: -3,
                    len: 34
                }
            ]
        );
        let s = parse("f.fits[*:2,5]").selection(&[10, 7]).unwrap();
        assert_eq!(s.shape(), vec![1, 4]);
    }

    #[test]
    fn mistakes_are_named() {
        for (t, words) in [
            ("f.fits[]", "an empty HDU"),
            ("f.fits[1][2][3]", "at most two"),
            ("f.fits[0:5]", "not a pixel number"),
            ("f.fits[1:5:0]", "not a positive integer"),
            ("f.fits[SCI,x]", "EXTVER 'x'"),
            ("f.fits[a,b,c]", "XTENSION"),
            ("[1]", "no file name"),
        ] {
            let e = ExtendedName::parse(t).unwrap_err().to_string();
            assert!(e.contains(words), "{t}: {e}");
        }
        let x = parse("f.fits[1:400,1:5]");
        let e = x.selection(&[60, 300]).unwrap_err().to_string();
        assert!(
            e.contains("axis 1 (NAXIS1 = 300): pixel 400 is outside"),
            "{e}"
        );
        let e = x.selection(&[60]).unwrap_err().to_string();
        assert!(e.contains("names 2 axes, the image has 1"), "{e}");
    }
}
