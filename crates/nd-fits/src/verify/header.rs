//! Header checks: mandatory keywords (place, value, fixed format), legal characters, null and
//! unreadable values, duplicates, deprecated keywords, fill after END, table column keywords.

use super::{HduCheck, Severity};
use crate::card::parse_value_comment;
use crate::hdu::HduKind;
use crate::table::ColumnFormat;
use std::collections::BTreeMap;

const REGISTERED_XTENSIONS: [&str; 7] = [
    "TABLE   ", "BINTABLE", "A3DTABLE", "IUEIMAGE", "FOREIGN ", "DUMP    ", "IMAGE   ",
];

/// Keywords that describe image scaling, not allowed in table headers.
const NOT_IN_TABLES: [&str; 4] = ["BSCALE", "BZERO", "BUNIT", "BLANK"];

impl HduCheck<'_> {
    /// The header checks, on the records as bytes.
    /// The header checks, on the records as bytes.
    pub(super) fn header(&mut self) {
        let h = self.hdu;
        let len = h.data_offset.saturating_sub(h.header_offset);
        let bytes = match self.src.read_range(h.header_offset..h.header_offset + len) {
            Ok(b) => b,
            Err(e) => {
                self.push(Severity::Error, None, format!("header unreadable: {e}"));
                return;
            }
        };
        let cards: Vec<&[u8]> = bytes.chunks(80).collect();
        let end = cards
            .iter()
            .position(|c| c.starts_with(b"END") && c[3..].iter().all(|&b| b == b' '))
            .unwrap_or(cards.len());
        // fill after END: blanks only
        let fill = &bytes[((end + 1) * 80).min(bytes.len())..];
        if fill.iter().any(|&b| b != b' ') {
            self.push(
                Severity::Error,
                None,
                "the header fill area after END is not all blanks".into(),
            );
        }
        let cards = &cards[..end];
        self.mandatory(cards);
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        let mut continue_used = false;
        for (i, c) in cards.iter().enumerate() {
            let k = i + 1;
            let name = String::from_utf8_lossy(&c[..8.min(c.len())])
                .trim_end()
                .to_string();
            if let Some(bad) = name.bytes().find(|b| {
                !(b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'-' || *b == b'_')
            }) {
                if name != "HIERARCH" && !name.starts_with("HIERARCH ") {
                    self.error(
                        k,
                        format!(
                            "keyword {name}: character '{}' is not an upper-case letter, digit, - or _",
                            char::from(bad).escape_default()
                        ),
                    );
                }
            }
            if c.iter().any(|&b| !(32..=126).contains(&b)) {
                self.error(
                    k,
                    format!("keyword {name}: the card holds characters outside printable ASCII"),
                );
            }
            if name == "CONTINUE" {
                continue_used = true;
            }
            let commentary = matches!(name.as_str(), "" | "COMMENT" | "HISTORY" | "CONTINUE")
                || name.starts_with("HIERARCH");
            let value_card = c.len() >= 10 && &c[8..10] == b"= ";
            if commentary || !value_card {
                continue;
            }
            if k > 3 + h.naxes.len() {
                if let Some(&first) = seen.get(&name) {
                    self.warning(
                        k,
                        format!("keyword {name} is duplicated in card {first} and card {k}"),
                    );
                } else {
                    seen.insert(name.clone(), k);
                }
            }
            let field = String::from_utf8_lossy(&c[10..]);
            match parse_value(&field) {
                Parsed::Null => self.warning(k, format!("keyword {name} has a null value")),
                Parsed::Bad => self.error(
                    k,
                    format!("keyword {name}: the value cannot be read (value and comment not separated by /)"),
                ),
                Parsed::Ok => {}
            }
            match name.as_str() {
                "EPOCH" => self.warning(k, "EPOCH is deprecated; use EQUINOX".into()),
                "BLOCKED" => self.warning(k, "BLOCKED is deprecated".into()),
                _ => {}
            }
            // a tile-compressed image keeps the image's scaling keywords in its table header
            let table = matches!(h.kind, HduKind::Table | HduKind::BinTable);
            if table && NOT_IN_TABLES.contains(&name.as_str()) {
                self.error(k, format!("{name} is not allowed in a table header"));
            }
            if name == "BLANK" && h.kind.is_image() && h.bitpix < 0 {
                self.error(k, "BLANK must not be used with floating-point data".into());
            }
        }
        if continue_used && !h.header.contains("LONGSTRN") {
            self.push(
                Severity::Warning,
                None,
                "the long-string (CONTINUE) convention is used without the LONGSTRN keyword".into(),
            );
        }
        self.groups_params();
        self.wcs_counts();
        if matches!(
            h.kind,
            HduKind::Table | HduKind::BinTable | HduKind::CompressedImage
        ) {
            self.table_header();
        }
    }

    /// SIMPLE/XTENSION, BITPIX, NAXIS, NAXISn, PCOUNT, GCOUNT, TFIELDS: place, value, fixed
    /// format.
    fn mandatory(&mut self, cards: &[&[u8]]) {
        let h = self.hdu;
        let name_at = |i: usize| -> String {
            cards
                .get(i)
                .map(|c| String::from_utf8_lossy(&c[..8]).trim_end().to_string())
                .unwrap_or_default()
        };
        if h.index == 0 {
            if name_at(0) != "SIMPLE" {
                self.error(
                    1,
                    "the first keyword of the primary header is not SIMPLE".into(),
                );
            } else {
                let c = cards[0];
                if c[29] != b'T' && c[29] != b'F' || c[10..29].iter().any(|&b| b != b' ') {
                    self.error(
                        1,
                        "SIMPLE is not in logical fixed format (column 30)".into(),
                    );
                }
                if h.header.get_bool("SIMPLE") != Some(true) {
                    self.warning(
                        1,
                        "SIMPLE != T: the file may not conform to the standard".into(),
                    );
                }
            }
        } else if name_at(0) != "XTENSION" {
            self.error(
                1,
                "the first keyword of an extension is not XTENSION".into(),
            );
        } else {
            let c = cards[0];
            let v = &c[10..];
            let q = v.iter().position(|&b| b != b' ');
            let fixed = q == Some(0);
            let text = q.map(|q| &v[q..]).unwrap_or(&[]);
            let value = text
                .get(1..9)
                .map(|s| String::from_utf8_lossy(s).to_string());
            if !fixed {
                self.error(
                    1,
                    "XTENSION is not in string fixed format (quote in column 11)".into(),
                );
            }
            match value {
                Some(v) if REGISTERED_XTENSIONS.contains(&v.as_str()) => {}
                other => self.error(
                    1,
                    format!(
                        "unregistered XTENSION value '{}'",
                        other.unwrap_or_default().trim_end()
                    ),
                ),
            }
        }
        let mut seq = vec!["BITPIX".to_string(), "NAXIS".to_string()];
        seq.extend((1..=h.naxes.len()).map(|n| format!("NAXIS{n}")));
        if h.index > 0 {
            seq.extend(["PCOUNT".to_string(), "GCOUNT".to_string()]);
            if matches!(
                h.kind,
                HduKind::Table | HduKind::BinTable | HduKind::CompressedImage
            ) {
                seq.push("TFIELDS".into());
            }
        }
        for (j, key) in seq.iter().enumerate() {
            let i = j + 1;
            if name_at(i) != *key {
                // the keywords after it are shifted: one error (fitsverify stops here too)
                self.error(
                    i + 1,
                    format!(
                        "keyword {key} is not present or is out of order (card {})",
                        i + 1
                    ),
                );
                break;
            }
            if !fixed_int(cards[i]) {
                self.error(
                    i + 1,
                    format!("{key} is not in integer fixed format (right-justified to column 30)"),
                );
            }
        }
        if h.index > 0 {
            let pcount = h.header.get_int("PCOUNT").unwrap_or(0);
            let gcount = h.header.get_int("GCOUNT").unwrap_or(1);
            let image = matches!(h.kind, HduKind::Image);
            let table = matches!(h.kind, HduKind::Table);
            if (image || table) && pcount != 0 {
                self.push(
                    Severity::Error,
                    None,
                    format!(
                        "illegal PCOUNT {pcount} for an {} extension (must be 0)",
                        h.kind
                    ),
                );
            }
            if !matches!(h.kind, HduKind::Other(_)) && gcount != 1 {
                self.push(
                    Severity::Error,
                    None,
                    format!(
                        "illegal GCOUNT {gcount} for an {} extension (must be 1)",
                        h.kind
                    ),
                );
            }
        }
    }

    /// Random groups: PTYPEn / PSCALn / PZEROn with n beyond PCOUNT.
    fn groups_params(&mut self) {
        if self.hdu.kind != HduKind::RandomGroups {
            return;
        }
        let pcount = self.hdu.header.get_int("PCOUNT").unwrap_or(0);
        let mut bad = Vec::new();
        for (i, c) in self.hdu.header.cards().iter().enumerate() {
            let kw = c.keyword();
            for p in ["PTYPE", "PSCAL", "PZERO"] {
                if let Some(n) = kw.strip_prefix(p).and_then(|n| n.parse::<i64>().ok()) {
                    if n > pcount || n < 1 {
                        bad.push((
                            i + 1,
                            format!("{kw}: index {n} is beyond PCOUNT = {pcount}"),
                        ));
                    }
                }
            }
        }
        for (k, m) in bad {
            self.error(k, m);
        }
    }

    /// fitsverify's WCS completeness: when CRPIXi / CRVALi / CTYPEi keywords exist, one of each
    /// for every axis up to the highest index used (at most NAXIS, or WCSAXES).
    fn wcs_counts(&mut self) {
        let h = &self.hdu.header;
        if !self.hdu.kind.is_image() && self.hdu.kind != HduKind::RandomGroups {
            return;
        }
        let index_of = |kw: &str, p: &str| -> Option<usize> {
            kw.strip_prefix(p).and_then(|n| n.parse::<usize>().ok())
        };
        let mut nmax = 0;
        let mut counts = [0usize; 3];
        let keys = ["CRPIX", "CRVAL", "CTYPE"];
        let all = [
            "CRPIX", "CRVAL", "CDELT", "CROTA", "CRDER", "CSYER", "CTYPE", "CUNIT",
        ];
        for c in h.cards() {
            for p in all {
                if let Some(n) = index_of(c.keyword(), p) {
                    nmax = nmax.max(n);
                }
            }
            for (j, p) in keys.iter().enumerate() {
                if index_of(c.keyword(), p).is_some() {
                    counts[j] += 1;
                }
            }
        }
        let limit = match h.get_int("WCSAXES") {
            Some(w) if w > 0 => w as usize,
            _ => self.hdu.naxes.len(),
        };
        let nmax = nmax.min(limit);
        for (j, p) in keys.iter().enumerate() {
            if counts[j] < nmax {
                self.push(
                    Severity::Warning,
                    None,
                    format!("some {p}i keywords appear to be missing; expected {nmax}"),
                );
            }
        }
    }

    /// Table column keywords: TTYPE characters, TDIM against the repeat count, PCOUNT without
    /// variable-length columns.
    fn table_header(&mut self) {
        let h = self.hdu;
        let tfields = h.header.get_int("TFIELDS").unwrap_or(0).clamp(0, 999) as usize;
        let binary = h.kind != HduKind::Table;
        let mut any_var = false;
        for k in 1..=tfields {
            if let Some(name) = h.header.get_str(&format!("TTYPE{k}")) {
                // one warning per offending character, as fitsverify counts
                let bad: Vec<char> = name
                    .trim_end()
                    .chars()
                    .filter(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
                    .collect();
                for c in bad {
                    self.push(
                        Severity::Warning,
                        None,
                        format!("column {k}: name '{name}' holds '{c}', not a letter, digit or _"),
                    );
                }
            }
            let tform = h.header.get_str(&format!("TFORM{k}")).unwrap_or("").trim();
            if !binary {
                continue;
            }
            let fmt = crate::table::parse_bintable_tform(tform);
            if matches!(fmt, Some(ColumnFormat::Var { .. })) {
                any_var = true;
            }
            if let (Some(ColumnFormat::Fixed { code, repeat }), Some(tdim)) =
                (fmt, h.header.get_str(&format!("TDIM{k}")))
            {
                let dims: Option<Vec<u64>> = tdim
                    .trim()
                    .strip_prefix('(')
                    .and_then(|s| s.strip_suffix(')'))
                    .map(|s| s.split(',').map(|d| d.trim().parse::<u64>().ok()).collect())
                    .and_then(|d: Option<Vec<u64>>| d);
                let product = dims.as_ref().map(|d| d.iter().product::<u64>());
                let ok = match product {
                    Some(p) if code == 'A' => p <= repeat,
                    Some(p) => p == repeat,
                    None => false,
                };
                if !ok {
                    let card = h.header.position(&format!("TDIM{k}")).map_or(0, |p| p + 1);
                    self.error(
                        card,
                        format!("TDIM{k} = '{tdim}' does not match TFORM{k} = '{tform}'"),
                    );
                }
            }
        }
        let pcount = h.header.get_int("PCOUNT").unwrap_or(0);
        let main = h.naxes.iter().product::<u64>();
        if let (true, Some(theap)) = (binary, h.header.get_int("THEAP")) {
            if theap < 0 || (theap as u64) < main || theap > main as i64 + pcount {
                let card = h.header.position("THEAP").map_or(0, |p| p + 1);
                self.error(
                    card,
                    format!(
                        "THEAP = {theap} is outside NAXIS1 x NAXIS2 = {main} .. NAXIS1 x NAXIS2 + PCOUNT = {}",
                        main as i64 + pcount
                    ),
                );
            }
        }
        if binary && pcount > 0 && !any_var {
            self.push(
                Severity::Warning,
                None,
                format!("PCOUNT = {pcount}, but there are no variable-length array columns"),
            );
        }
    }
}

/// An integer value right-justified to column 30 (fixed format).
fn fixed_int(card: &[u8]) -> bool {
    if card.len() < 30 || &card[8..10] != b"= " {
        return false;
    }
    let field = &card[10..30];
    let digits = field.iter().rposition(|&b| b != b' ');
    digits == Some(19)
        && field
            .iter()
            .skip_while(|&&b| b == b' ')
            .enumerate()
            .all(|(i, &b)| b.is_ascii_digit() || (i == 0 && (b == b'-' || b == b'+')))
}

enum Parsed {
    Ok,
    Null,
    Bad,
}

/// Whether a value field (columns 11-80) holds one value, optionally followed by `/ comment`.
fn parse_value(field: &str) -> Parsed {
    let f = field.trim_matches(' ');
    if f.is_empty() || f.starts_with('/') {
        return Parsed::Null;
    }
    match parse_value_comment(f) {
        Some(_) => Parsed::Ok,
        None => Parsed::Bad,
    }
}
