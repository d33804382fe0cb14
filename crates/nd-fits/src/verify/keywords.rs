//! The keyword checks fitsverify makes after the mandatory cards: value syntax of every card,
//! where reserved keywords may appear and which value type they need, WCS keywords, table column
//! keywords (TTYPE, TFORM, TUNIT, TDISP, TNULL, TSCAL, TZERO, TDIM, TBCOL, THEAP), DATE values,
//! duplicates, deprecated keywords and HIERARCH cards (as `fitsverify -H`).
//!
//! Counts follow fitsverify 4.20 check by check (spec-notes/fits.md, "Verification"); the few
//! places where nd is stricter on purpose say so.

use super::keys::{leading_int, parse_card, parse_value, KType, Key, KeyTable, ValueFlags};
use super::{HduCheck, Severity};
use crate::hdu::HduKind;

/// What identifies an HDU for the duplicate-name warning: type, EXTNAME, EXTVER.
pub(super) type HduName = (u8, String, i64);

/// The WCS keywords of each kind that fitsverify checks.
const WCS_FLOAT: [&str; 7] = ["CRPIX", "CRVAL", "CDELT", "CROTA", "CRDER", "CSYER", "PV"];
const WCS_FLOAT_PLAIN: [&str; 11] = [
    "RESTFRQ", "RESTFREQ", "RESTWAV", "OBSGEO-X", "OBSGEO-Y", "OBSGEO-Z", "VELOSYS", "ZSOURCE",
    "VELANGL", "LONPOLE", "LATPOLE",
];
const WCS_STR: [&str; 4] = ["CTYPE", "CUNIT", "PS", "CNAME"];
const RADESYS_VALUES: [&str; 5] = ["ICRS", "FK5", "FK4", "FK4-NO-E", "GAPPT"];
const SPECSYS_VALUES: [&str; 10] = [
    "TOPOCENT", "GEOCENTR", "BARYCENT", "HELIOCEN", "LSRK", "LSRD", "GALACTOC", "LOCALGRP",
    "CMBDIPOL", "SOURCE",
];

/// Per-HDU state of the keyword checks.
struct Ctx {
    t: KeyTable,
    naxis: usize,
    ncols: usize,
    ttype: Vec<String>,
    tform: Vec<String>,
    pcount: i64,
    gcount: i64,
}

/// Whether the byte after `prefix` in `name` is a digit (fitsverify's test for indexed
/// keywords).
fn indexed(name: &str, prefix: &str) -> bool {
    name.as_bytes()
        .get(prefix.len())
        .is_some_and(u8::is_ascii_digit)
}

/// The axis number and alternate-description letter (1 = A … 26 = Z, 0 = none) after `root`.
fn wcs_suffix(name: &str, root: &str) -> (i64, usize) {
    let Some(s) = name.get(root.len()..) else {
        return (0, 0);
    };
    let (axis, rest) = leading_int(s);
    let alt = match rest.as_bytes() {
        [b] if b.is_ascii_uppercase() => usize::from(b - b'A' + 1),
        _ => 0,
    };
    (axis, alt)
}

impl HduCheck<'_> {
    fn kerr(&mut self, k: &Key, msg: String) {
        self.error(k.index, format!("card {}, {msg}", k.index));
    }
    fn kwarn(&mut self, k: &Key, msg: String) {
        self.warning(k.index, format!("card {}, {msg}", k.index));
    }
    fn check_str(&mut self, k: &Key) -> bool {
        if k.ty == KType::Unknown && k.value.is_empty() {
            self.kerr(
                k,
                format!("{} has a null value; a string is required", k.name),
            );
            false
        } else if k.ty != KType::Str {
            self.kerr(k, format!("{} = {} is not a string", k.name, k.value));
            false
        } else {
            true
        }
    }
    fn check_int(&mut self, k: &Key) -> bool {
        if k.ty == KType::Unknown && k.value.is_empty() {
            self.kerr(
                k,
                format!("{} has a null value; an integer is required", k.name),
            );
            false
        } else if k.ty != KType::Int {
            self.kerr(k, format!("{} = {} is not an integer", k.name, k.value));
            false
        } else {
            true
        }
    }
    fn check_flt(&mut self, k: &Key) -> bool {
        if k.ty == KType::Unknown && k.value.is_empty() {
            self.kerr(
                k,
                format!("{} has a null value; a number is required", k.name),
            );
            false
        } else if !matches!(k.ty, KType::Int | KType::Float) {
            self.kerr(k, format!("{} = {} is not a number", k.name, k.value));
            false
        } else {
            true
        }
    }
    fn check_log(&mut self, k: &Key) -> bool {
        if k.ty != KType::Logical {
            self.kerr(k, format!("{} = {} is not T or F", k.name, k.value));
            false
        } else {
            true
        }
    }
    /// An integer right-justified to column 30 (fixed format), as fitsverify tests it.
    fn check_fixed_int(&mut self, card: &[u8], index: usize) {
        let c = super::keys::card_text(card);
        let at = |i: usize| c.get(i).copied().unwrap_or(0);
        let mut p = 10;
        while at(p) == b' ' {
            p += 1;
        }
        if matches!(at(p), b'-' | b'+') {
            p += 1;
        }
        while at(p).is_ascii_digit() {
            p += 1;
        }
        if p != 30 {
            let name = String::from_utf8_lossy(&c[..c.len().min(8)])
                .trim_end()
                .to_string();
            self.error(
                index,
                format!("card {index}: mandatory {name} is not in integer fixed format (right-justified to column 30)"),
            );
        }
    }
    /// A logical `T`/`F` in column 30.
    fn check_fixed_log(&mut self, card: &[u8], index: usize) {
        let c = super::keys::card_text(card);
        let name = String::from_utf8_lossy(&c[..c.len().min(8)])
            .trim_end()
            .to_string();
        let p = 10
            + c.get(10..)
                .unwrap_or(&[])
                .iter()
                .take_while(|&&b| b == b' ')
                .count();
        let v = c.get(p).copied().unwrap_or(0);
        if v != b'T' && v != b'F' {
            self.error(
                index,
                format!("card {index}: mandatory {name} is not T or F"),
            );
        } else if p != 29 {
            self.error(
                index,
                format!(
                    "card {index}: mandatory {name} is not in logical fixed format (column 30)"
                ),
            );
        }
    }
    /// A string starting with its quote in column 11 and closing at column 20 or later.
    fn check_fixed_str(&mut self, card: &[u8], index: usize) {
        let c = super::keys::card_text(card);
        let name = String::from_utf8_lossy(&c[..c.len().min(8)])
            .trim_end()
            .to_string();
        if c.get(10) != Some(&b'\'') {
            self.error(
                index,
                format!("card {index}: mandatory {name} does not start in column 11"),
            );
            return;
        }
        match c[11..].iter().position(|&b| b == b'\'') {
            None => self.error(
                index,
                format!("card {index}: mandatory {name} lacks its closing quote"),
            ),
            Some(q) if 11 + q < 19 => self.error(
                index,
                format!("card {index}: mandatory {name} ends before column 20"),
            ),
            Some(_) => {}
        }
    }

    /// The first card (SIMPLE / XTENSION), BITPIX, NAXIS and NAXISn as fitsverify checks them
    /// once cfitsio has opened the HDU.
    pub(super) fn first_cards(&mut self, cards: &[&[u8]], naxis: usize) {
        let mut errs = Vec::new();
        let Some(&c0) = cards.first() else {
            return;
        };
        let k = parse_card(c0, 1, &mut errs);
        self.card_errors(errs);
        if k.value.starts_with(' ') {
            self.error(
                1,
                format!("card 1: {} value '{}' has a leading blank", k.name, k.value),
            );
        }
        if self.hdu.index == 0 {
            if k.name != "SIMPLE" {
                self.error(
                    1,
                    "the first keyword of the primary header is not SIMPLE".into(),
                );
            }
            if !self.check_log(&k) || k.value != "T" {
                self.warning(
                    1,
                    "SIMPLE != T: the file may not conform to the standard".into(),
                );
            }
            self.check_fixed_log(c0, 1);
        } else {
            if k.name != "XTENSION" {
                self.error(
                    1,
                    "the first keyword of an extension is not XTENSION".into(),
                );
            }
            self.check_str(&k);
            self.check_fixed_str(c0, 1);
            let text = super::keys::card_text(c0);
            let p = 10
                + text
                    .get(10..)
                    .unwrap_or(&[])
                    .iter()
                    .take_while(|&&b| b == b' ')
                    .count()
                + 1;
            let v: Vec<u8> = (p..p + 8)
                .map(|i| text.get(i).copied().unwrap_or(0))
                .collect();
            let registered = [
                b"TABLE   ",
                b"BINTABLE",
                b"A3DTABLE",
                b"IUEIMAGE",
                b"FOREIGN ",
                b"DUMP    ",
                b"IMAGE   ",
            ];
            if !registered.iter().any(|r| v == r.as_slice()) {
                self.error(
                    1,
                    format!(
                        "unregistered XTENSION value '{}'",
                        String::from_utf8_lossy(&v).trim_end().escape_default()
                    ),
                );
            } else if text.get(p + 8) != Some(&b'\'') {
                self.error(
                    1,
                    "characters follow the XTENSION value inside its quotes".into(),
                );
            }
        }
        for i in [1, 2] {
            if let Some(c) = cards.get(i) {
                self.check_fixed_int(c, i + 1);
            }
        }
        let mut seen = vec![false; naxis];
        for j in 3..3 + naxis {
            let Some(&c) = cards.get(j) else { break };
            let mut errs = Vec::new();
            let k = parse_card(c, j + 1, &mut errs);
            self.card_errors(errs);
            if !indexed(&k.name, "NAXIS") {
                continue;
            }
            self.check_int(&k);
            let (n, _) = leading_int(&k.name[5..]);
            if n >= 1 && (n as usize) <= naxis && std::mem::replace(&mut seen[n as usize - 1], true)
            {
                self.kerr(&k, format!("{} is duplicated", k.name));
            }
            self.check_fixed_int(c, j + 1);
        }
        for (j, s) in seen.iter().enumerate() {
            if !s {
                self.push(
                    Severity::Error,
                    None,
                    format!("keyword NAXIS{} is not present or is out of order", j + 1),
                );
            }
        }
    }

    fn card_errors(&mut self, errs: Vec<String>) {
        for e in errs {
            let card = e
                .strip_prefix("card ")
                .and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next())
                .and_then(|n| n.parse().ok());
            self.push(Severity::Error, card, e);
        }
    }

    /// Every keyword check after the mandatory cards. `cards` ends before END; `end` is the END
    /// card; `names` holds the (type, EXTNAME, EXTVER) of the HDUs before this one.
    pub(super) fn keywords(
        &mut self,
        cards: &[&[u8]],
        end: Option<&[u8]>,
        naxis: usize,
        names: &mut Vec<HduName>,
        total: usize,
    ) {
        let h = self.hdu;
        let mut errs = Vec::new();
        let mut keys = Vec::new();
        let mut longstr = false;
        for (i, c) in cards.iter().enumerate().skip(3 + naxis) {
            let k = parse_card(c, i + 1, &mut errs);
            self.card_errors(std::mem::take(&mut errs));
            if k.ty == KType::Unknown && k.value.is_empty() {
                self.kwarn(&k, format!("{} has a null value", k.name));
            }
            if k.name == "CONTINUE" {
                longstr = true;
            }
            if !matches!(k.name.as_str(), "COMMENT" | "HISTORY" | "CONTINUE" | "") {
                keys.push(k);
            }
        }
        if let Some(e) = end {
            parse_card(e, cards.len() + 1, &mut errs);
            self.card_errors(errs);
        }
        let table = matches!(
            h.kind,
            HduKind::Table | HduKind::BinTable | HduKind::CompressedImage
        );
        let ncols = if table {
            h.header.get_int("TFIELDS").unwrap_or(0).clamp(0, 999) as usize
        } else {
            1
        };
        let mut cx = Ctx {
            t: KeyTable::new(keys),
            naxis,
            ncols,
            ttype: vec![String::new(); ncols],
            tform: vec![String::new(); ncols],
            pcount: -99,
            gcount: -99,
        };
        // the name of this HDU, for the duplicate-extension warning
        let hdutype = match h.kind {
            HduKind::Table => 1,
            HduKind::BinTable | HduKind::CompressedImage => 2,
            HduKind::Other(_) => 3,
            _ => 0,
        };
        let extname =
            cx.t.first("EXTNAME")
                .filter(|k| k.ty == KType::Str)
                .map(|k| k.value.clone())
                .unwrap_or_default();
        let extver =
            cx.t.first("EXTVER")
                .filter(|k| k.ty == KType::Int)
                .map_or(-999, |k| leading_int(&k.value).0);
        let me = (hdutype, extname, extver);
        match h.kind {
            HduKind::Primary | HduKind::RandomGroups => self.primary_keys(&mut cx, cards, total),
            HduKind::Image => {
                self.extension_keys(&mut cx, cards, names, &me);
                if cx.pcount != 0 && cx.pcount != -99 {
                    self.push(
                        Severity::Error,
                        None,
                        format!(
                            "illegal PCOUNT {} for an IMAGE extension (must be 0)",
                            cx.pcount
                        ),
                    );
                }
                if cx.gcount != 1 && cx.gcount != -99 {
                    self.push(
                        Severity::Error,
                        None,
                        format!(
                            "illegal GCOUNT {} for an IMAGE extension (must be 1)",
                            cx.gcount
                        ),
                    );
                }
                self.array_keys(&cx);
            }
            HduKind::Table => {
                self.extension_keys(&mut cx, cards, names, &me);
                self.table_keys(&mut cx, cards);
                self.ascii_keys(&cx, cards);
                self.column_names(&cx);
            }
            HduKind::BinTable | HduKind::CompressedImage => {
                self.extension_keys(&mut cx, cards, names, &me);
                self.table_keys(&mut cx, cards);
                self.binary_keys(&cx);
                self.column_names(&cx);
            }
            HduKind::Other(_) => {}
        }
        names.push(me);
        self.general_keys(&cx, cards, longstr);
        self.wcs_keys(&cx);
    }

    /// Primary header: XTENSION, EXTEND, PCOUNT/GCOUNT, BLOCKED, random-groups keywords, then
    /// the array keywords.
    fn primary_keys(&mut self, cx: &mut Ctx, cards: &[&[u8]], total: usize) {
        if let Some(k) = cx.t.first("XTENSION").cloned() {
            self.kerr(&k, "XTENSION is not allowed in a primary header".into());
        }
        let groups = self.hdu.kind == HduKind::RandomGroups;
        if let Some(k) = cx.t.first("GROUPS").cloned() {
            if groups {
                self.check_fixed_log(cards[k.index - 1], k.index);
            }
        }
        if !groups {
            // fitsverify looks at EXTEND only when it is not the first keyword in name order
            let e = cx.t.exact("EXTEND");
            if let Some(k) = e
                .first()
                .filter(|k| !std::ptr::eq(*k, &cx.t.keys[0]))
                .cloned()
            {
                if self.check_log(&k) && k.value != "T" && total > 1 {
                    self.kerr(&k, "EXTEND = F, but the file has extensions".into());
                }
            }
        }
        for name in ["PCOUNT", "GCOUNT"] {
            if let Some(k) = cx.t.first(name).cloned() {
                if !groups {
                    self.kerr(&k, format!("{name} is not allowed in a primary header"));
                } else {
                    if self.check_int(&k) {
                        let v = leading_int(&k.value).0;
                        if name == "PCOUNT" {
                            cx.pcount = v;
                        } else {
                            cx.gcount = v;
                        }
                    }
                    self.check_fixed_int(cards[k.index - 1], k.index);
                }
            }
        }
        if let Some(k) = cx.t.first("BLOCKED").cloned() {
            self.kwarn(&k, "BLOCKED is deprecated".into());
            self.check_log(&k);
        }
        // PSCALn, PZEROn, PTYPEn: only in random groups; n is bounded by PCOUNT (the
        // standard, section 6.1), where fitsverify bounds it by GCOUNT
        for p in ["PSCAL", "PZERO", "PTYPE"] {
            for k in cx.t.prefix(p).to_vec() {
                if !indexed(&k.name, p) {
                    continue;
                }
                if !groups {
                    self.kerr(&k, format!("{} is allowed only in random groups", k.name));
                    continue;
                }
                if p == "PTYPE" {
                    self.check_str(&k);
                } else if self.check_flt(&k) && p == "PSCAL" && k.num() == 0.0 {
                    self.kwarn(&k, format!("{}: the scaling factor is zero", k.name));
                }
                let n = leading_int(&k.name[5..]).0;
                if n < 1 || n > cx.pcount {
                    self.kerr(
                        &k,
                        format!("{}: index {n} is beyond PCOUNT = {}", k.name, cx.pcount),
                    );
                }
            }
        }
        self.array_keys(cx);
    }

    /// Any extension: duplicate HDU names, PCOUNT and GCOUNT (present, in place, integers),
    /// keywords allowed only in a primary header.
    fn extension_keys(&mut self, cx: &mut Ctx, cards: &[&[u8]], names: &[HduName], me: &HduName) {
        if !me.1.is_empty() {
            for (i, n) in names.iter().enumerate().rev() {
                if n == me {
                    self.push(
                        Severity::Warning,
                        None,
                        format!(
                            "HDUs {i} and {} have the same type, EXTNAME and EXTVER",
                            self.hdu.index
                        ),
                    );
                }
            }
        }
        for (name, place) in [("PCOUNT", 4), ("GCOUNT", 5)] {
            match cx.t.first(name).cloned() {
                None => self.push(Severity::Error, None, format!("keyword {name} is missing")),
                Some(k) => {
                    if self.check_int(&k) {
                        let v = if name == "PCOUNT" {
                            super::keys::leading_number(&k.value) as i64
                        } else {
                            leading_int(&k.value).0
                        };
                        if name == "PCOUNT" {
                            cx.pcount = v;
                        } else {
                            cx.gcount = v;
                        }
                    }
                    if k.index != place + cx.naxis {
                        self.kerr(
                            &k,
                            format!("{name} is not in card {} of the header", place + cx.naxis),
                        );
                    }
                    self.check_fixed_int(cards[k.index - 1], k.index);
                }
            }
        }
        for name in ["SIMPLE", "EXTEND", "BLOCKED"] {
            if let Some(k) = cx.t.first(name).cloned() {
                self.kerr(&k, format!("{name} is not allowed in an extension"));
            }
        }
        for p in ["PTYPE", "PSCAL", "PZERO", "GROUPS"] {
            for k in cx.t.prefix(p).to_vec() {
                // fitsverify looks at the sixth character for all four (so GROUPS never)
                if k.name.as_bytes().get(5).is_some_and(u8::is_ascii_digit) {
                    self.kerr(&k, format!("{} is allowed only in random groups", k.name));
                }
            }
        }
    }

    /// Primary array and IMAGE extension: BLANK, BSCALE, table keywords, scaling value types.
    fn array_keys(&mut self, cx: &Ctx) {
        if let Some(k) = cx.t.first("BLANK").cloned() {
            self.check_int(&k);
            if self.hdu.bitpix < 0 {
                self.kerr(&k, "BLANK must not be used with floating-point data".into());
            }
        }
        if let Some(k) = cx.t.first("BSCALE").cloned() {
            if self.check_flt(&k) && k.num() == 0.0 {
                self.kwarn(&k, "BSCALE: the scaling factor is zero".into());
            }
        }
        for name in ["TFIELDS", "THEAP"] {
            for k in cx.t.exact(name).to_vec() {
                self.kerr(&k, format!("{name} is not allowed in an image header"));
            }
        }
        for p in [
            "TBCOL", "TFORM", "TSCAL", "TZERO", "TNULL", "TTYPE", "TUNIT", "TDISP", "TDIM",
            "TCTYP", "TCUNI", "TCRVL", "TCDLT", "TCRPX", "TCROT",
        ] {
            for k in cx.t.prefix(p).to_vec() {
                if indexed(&k.name, p) {
                    self.kerr(&k, format!("{} is not allowed in an image header", k.name));
                }
            }
        }
        for name in ["BZERO", "DATAMAX", "DATAMIN"] {
            for k in cx.t.exact(name).to_vec() {
                self.check_flt(&k);
            }
        }
        for k in cx.t.exact("BUNIT").to_vec() {
            self.check_str(&k);
        }
    }

    /// ASCII and binary tables: TFIELDS, TTYPE, TFORM, TUNIT, TDISP, image keywords, column WCS.
    fn table_keys(&mut self, cx: &mut Ctx, cards: &[&[u8]]) {
        let mcol = cx.ncols;
        if mcol > 0 {
            if let Some(k) = cx.t.first("TFIELDS").cloned() {
                self.check_fixed_int(cards[k.index - 1], k.index);
            }
            for (p, which) in [("TTYPE", 0), ("TFORM", 1), ("TUNIT", 2)] {
                for k in cx.t.prefix(p).to_vec() {
                    if !indexed(&k.name, p) {
                        continue;
                    }
                    self.check_str(&k);
                    if which == 1 && k.value.starts_with(' ') {
                        self.kerr(
                            &k,
                            format!("{} = '{}' has a leading blank", k.name, k.value),
                        );
                    }
                    let i = leading_int(&k.name[5..]).0 - 1;
                    if i >= 0 && (i as usize) < mcol {
                        match which {
                            0 => cx.ttype[i as usize] = k.value.clone(),
                            1 => cx.tform[i as usize] = k.value.clone(),
                            _ => {}
                        }
                    } else {
                        self.kerr(
                            &k,
                            format!("{}: index {} is beyond TFIELDS = {mcol}", k.name, i + 1),
                        );
                    }
                    if which == 1 {
                        for ch in k.value.bytes().take_while(|&b| b != b' ') {
                            if !(ch.is_ascii_digit()
                                || ch.is_ascii_uppercase()
                                || matches!(ch, b'.' | b'(' | b')'))
                            {
                                self.kerr(
                                    &k,
                                    format!(
                                        "{} = '{}' holds '{}', not an upper-case letter",
                                        k.name,
                                        k.value,
                                        char::from(ch).escape_default()
                                    ),
                                );
                            }
                        }
                    }
                }
            }
            for k in cx.t.prefix("TDISP").to_vec() {
                if !indexed(&k.name, "TDISP") || k.value.is_empty() {
                    continue;
                }
                self.check_str(&k);
                if k.value.starts_with(' ') {
                    self.kerr(
                        &k,
                        format!("{} = '{}' has a leading blank", k.name, k.value),
                    );
                }
                let i = leading_int(&k.name[5..]).0 - 1;
                if i < 0 || i as usize >= mcol {
                    self.kerr(
                        &k,
                        format!("{}: index {} is beyond TFIELDS = {mcol}", k.name, i + 1),
                    );
                    continue;
                }
                let tform = cx.tform[i as usize].clone();
                self.tdisp(&k, &tform);
            }
        }
        if self.hdu.kind != HduKind::CompressedImage {
            for name in ["BSCALE", "BZERO", "BUNIT", "BLANK", "DATAMAX", "DATAMIN"] {
                if let Some(k) = cx.t.first(name).cloned() {
                    self.kerr(&k, format!("{name} is not allowed in a table header"));
                }
            }
        }
        for (p, float) in [
            ("TCRVL", true),
            ("TCDLT", true),
            ("TCRPX", true),
            ("TCROT", true),
            ("TCTYP", false),
            ("TCUNI", false),
        ] {
            for k in cx.t.prefix(p).to_vec() {
                if !indexed(&k.name, p) {
                    continue;
                }
                let ok = if float {
                    self.check_flt(&k)
                } else {
                    self.check_str(&k)
                };
                if !ok {
                    continue;
                }
                let m = leading_int(&k.name[p.len()..]).0;
                if m < 1 || m as usize > mcol {
                    self.kerr(
                        &k,
                        format!("{}: index {m} is not in 1..{mcol} (TFIELDS)", k.name),
                    );
                }
            }
        }
    }

    /// A TDISPn value against the TFORMn of its column.
    fn tdisp(&mut self, k: &Key, tform: &str) {
        let v = k.value.as_str();
        let has = |set: &str| set.chars().any(|c| tform.contains(c));
        let after_dot = |s: &str| s.find('.').map(|p| leading_int(&s[p + 1..]).0);
        let bad = |w: i64| w == 0;
        let Some(code) = v.chars().next() else { return };
        let rest = &v[code.len_utf8()..];
        let (valid, fits_type) = match code {
            'A' => (!bad(leading_int(rest).0), has("A")),
            'L' => (!bad(leading_int(rest).0), has("L")),
            'I' | 'B' | 'O' | 'Z' => {
                let w = leading_int(rest).0;
                let m = after_dot(rest).unwrap_or(-1);
                (!bad(w) && w >= m, has("IJKBX"))
            }
            'F' => {
                let w = leading_int(rest).0;
                let d = after_dot(rest).unwrap_or(-1);
                (!bad(w) && d != -1 && w > d, has("EFCDMIJKBX"))
            }
            'E' | 'D' => {
                let mut r = rest;
                let mut e = 0;
                if r.starts_with(['N', 'S']) {
                    r = &r[1..];
                    e = 2;
                }
                let w = leading_int(r).0;
                let mut d = 0;
                let mut tail = r;
                if let Some(p) = r.find('.') {
                    tail = &r[p + 1..];
                    d = leading_int(tail).0;
                }
                e = match tail.find('E') {
                    Some(p) => leading_int(&tail[p + 1..]).0,
                    None if e == 0 => 2,
                    None => 2,
                };
                (
                    w != 0 && d != 0 && e != 0 && w >= d + e + 3,
                    has("EFCDMIJKBX"),
                )
            }
            'G' => {
                let w = leading_int(rest).0;
                let mut d = 0;
                let mut tail = rest;
                if let Some(p) = rest.find('.') {
                    tail = &rest[p + 1..];
                    d = leading_int(tail).0;
                }
                let e = tail.find('E').map_or(2, |p| leading_int(&tail[p + 1..]).0);
                (w != 0 && d != 0 && e != 0, true)
            }
            _ => (false, true),
        };
        if !valid {
            self.kerr(
                k,
                format!("{} = '{v}' is not a valid display format", k.name),
            );
        }
        if !fits_type {
            self.kerr(
                k,
                format!("{} = '{v}' cannot be used for TFORM '{tform}'", k.name),
            );
        }
    }

    /// ASCII tables: TBCOL, TNULL, TSCAL, TZERO (not on A fields), no TDIM or THEAP.
    fn ascii_keys(&mut self, cx: &Ctx, cards: &[&[u8]]) {
        let mcol = cx.ncols;
        for k in cx.t.prefix("TBCOL").to_vec() {
            if !indexed(&k.name, "TBCOL") {
                continue;
            }
            self.check_int(&k);
            let i = leading_int(&k.name[5..]).0;
            if i < 0 || i as usize > mcol {
                self.kerr(
                    &k,
                    format!("{}: index {i} is beyond TFIELDS = {mcol}", k.name),
                );
            } else {
                self.check_fixed_int(cards[k.index - 1], k.index);
            }
        }
        for k in cx.t.prefix("TNULL").to_vec() {
            if !indexed(&k.name, "TNULL") {
                continue;
            }
            let i = leading_int(&k.name[5..]).0 - 1;
            if i < 0 || i as usize >= mcol {
                self.kerr(
                    &k,
                    format!("{}: index {} is beyond TFIELDS = {mcol}", k.name, i + 1),
                );
            }
            self.check_str(&k);
        }
        for p in ["TSCAL", "TZERO"] {
            for k in cx.t.prefix(p).to_vec() {
                if !indexed(&k.name, p) {
                    continue;
                }
                if self.check_flt(&k) && p == "TSCAL" && k.num() == 0.0 {
                    self.kwarn(&k, format!("{}: the scaling factor is zero", k.name));
                }
                let i = leading_int(&k.name[5..]).0 - 1;
                if i < 0 || i as usize >= mcol {
                    self.kerr(
                        &k,
                        format!("{}: index {} is beyond TFIELDS = {mcol}", k.name, i + 1),
                    );
                    continue;
                }
                if cx.tform[i as usize].contains('A') {
                    self.kerr(&k, format!("{} is not allowed for an A field", k.name));
                }
            }
        }
        for k in cx.t.prefix("TDIM").to_vec() {
            if indexed(&k.name, "TDIM") {
                self.kerr(&k, format!("{} is not allowed in an ASCII table", k.name));
            }
        }
        if let Some(k) = cx.t.first("THEAP").cloned() {
            self.kerr(&k, "THEAP is not allowed in an ASCII table".into());
        }
    }

    /// Binary tables: TNULL (integer columns only, in range), TSCAL/TZERO (not on A, L, X),
    /// THEAP with PCOUNT, TDIM syntax and size, the rAw convention, no TBCOL.
    fn binary_keys(&mut self, cx: &Ctx) {
        let mcol = cx.ncols;
        let index = |k: &Key, p: &str| leading_int(&k.name[p.len()..]).0 - 1;
        for k in cx.t.prefix("TNULL").to_vec() {
            if !indexed(&k.name, "TNULL") {
                continue;
            }
            self.check_int(&k);
            let i = index(&k, "TNULL");
            if i < 0 || i as usize >= mcol {
                self.kerr(
                    &k,
                    format!("{}: index {} is beyond TFIELDS = {mcol}", k.name, i + 1),
                );
                continue;
            }
            let tform = &cx.tform[i as usize];
            if !["B", "I", "J", "K"].iter().any(|c| tform.contains(c)) {
                self.kerr(
                    &k,
                    format!(
                        "{} is given for a column of TFORM '{tform}' (integers only)",
                        k.name
                    ),
                );
            }
            let l = leading_int(&k.value).0;
            if tform.contains('B') && !(0..=255).contains(&l) {
                self.kwarn(
                    &k,
                    format!("{} = {l} is outside the range of type B", k.name),
                );
            }
            if tform.contains('I') && !(-32768..=32767).contains(&l) {
                self.kwarn(
                    &k,
                    format!("{} = {l} is outside the range of type I", k.name),
                );
            }
        }
        for p in ["TSCAL", "TZERO"] {
            for k in cx.t.prefix(p).to_vec() {
                if !indexed(&k.name, p) {
                    continue;
                }
                if self.check_flt(&k) && p == "TSCAL" && k.num() == 0.0 {
                    self.kwarn(&k, format!("{}: the scaling factor is zero", k.name));
                }
                let i = index(&k, p);
                if i < 0 || i as usize >= mcol {
                    self.kerr(
                        &k,
                        format!("{}: index {} is beyond TFIELDS = {mcol}", k.name, i + 1),
                    );
                    continue;
                }
                // the standard forbids TSCAL and TZERO on A, L and X columns; fitsverify
                // reports only TSCAL (its TZERO test can never fire): nd reports both
                let tform = &cx.tform[i as usize];
                if ["A", "L", "X"].iter().any(|c| tform.contains(c)) {
                    self.kerr(
                        &k,
                        format!("{} is not allowed on an A, L or X column", k.name),
                    );
                }
            }
        }
        if let Some(k) = cx.t.first("THEAP").cloned() {
            self.check_int(&k);
            if cx.pcount == 0 {
                self.kerr(&k, "THEAP is present, but PCOUNT = 0".into());
            }
        }
        if cx.pcount != 0 {
            let any_var = cx.tform.iter().any(|f| {
                matches!(
                    crate::table::parse_bintable_tform(f),
                    Some(crate::table::ColumnFormat::Var { .. })
                )
            });
            if !any_var {
                self.push(
                    Severity::Warning,
                    None,
                    format!(
                        "PCOUNT = {}, but there are no variable-length array columns",
                        cx.pcount
                    ),
                );
            }
        }
        for k in cx.t.prefix("TDIM").to_vec() {
            if !indexed(&k.name, "TDIM") {
                continue;
            }
            self.check_str(&k);
            if k.value.starts_with(' ') {
                self.kerr(
                    &k,
                    format!("{} = '{}' has a leading blank", k.name, k.value),
                );
                continue;
            }
            let i = index(&k, "TDIM");
            if i < 0 || i as usize >= mcol {
                self.kerr(
                    &k,
                    format!("{}: index {} is beyond TFIELDS = {mcol}", k.name, i + 1),
                );
                continue;
            }
            let tform = cx.tform[i as usize].clone();
            if let Some(m) = tdim_problem(&k.value, &tform) {
                self.kerr(&k, format!("{} = '{}': {m}", k.name, k.value));
            }
        }
        for (i, tform) in cx.tform.iter().enumerate() {
            let Some(p) = tform.find('A') else { continue };
            let repeat = leading_int(tform).0;
            let after = &tform[p + 1..];
            if !after.starts_with(|c: char| c.is_ascii_digit()) {
                continue;
            }
            let width = leading_int(after).0;
            if width != 0 && repeat % width != 0 {
                self.push(
                    Severity::Warning,
                    None,
                    format!(
                        "column {}: TFORM '{tform}': the repeat {repeat} is not a multiple of the width {width}",
                        i + 1
                    ),
                );
            }
        }
        for k in cx.t.prefix("TBCOL").to_vec() {
            if indexed(&k.name, "TBCOL") {
                self.kerr(&k, format!("{} is not allowed in a binary table", k.name));
            }
        }
    }

    /// Column names: present, letters, digits and `_` only, unique ignoring case.
    fn column_names(&mut self, cx: &Ctx) {
        let mut upper = Vec::new();
        for (i, name) in cx.ttype.iter().enumerate() {
            if name.is_empty() {
                self.push(
                    Severity::Warning,
                    None,
                    format!("column {} has no name (no TTYPE{})", i + 1, i + 1),
                );
                upper.push((String::new(), i));
                continue;
            }
            for ch in name.chars() {
                if !(ch.is_ascii_alphanumeric() || ch == '_') {
                    self.push(
                        Severity::Warning,
                        None,
                        format!(
                            "column {}: name '{name}' holds '{}', not a letter, digit or _",
                            i + 1,
                            ch.escape_default()
                        ),
                    );
                }
            }
            upper.push((name.to_ascii_uppercase(), i));
        }
        upper.sort();
        for w in upper.windows(2) {
            if !w[0].0.is_empty() && w[0].0 == w[1].0 {
                self.push(
                    Severity::Warning,
                    None,
                    format!(
                        "columns {} and {} have the same name '{}' (ignoring case)",
                        w[0].1 + 1,
                        w[1].1 + 1,
                        cx.ttype[w[0].1]
                    ),
                );
            }
        }
    }

    /// Keywords of any header: mandatory ones again after NAXISn, NAXISn beyond NAXIS, EPOCH,
    /// DATE values, reserved value types, duplicates, LONGSTRN, HIERARCH, INHERIT.
    fn general_keys(&mut self, cx: &Ctx, cards: &[&[u8]], longstr: bool) {
        for name in ["SIMPLE", "BITPIX", "NAXIS", "XTENSION", "END"] {
            for k in cx.t.exact(name).to_vec() {
                self.kerr(&k, format!("{name} is duplicated or out of order"));
            }
        }
        for k in cx.t.prefix("NAXIS").to_vec() {
            let lv = leading_int(&k.name[5..]).0;
            if lv > 0 {
                if k.index as i64 != 3 + lv {
                    self.kerr(&k, format!("{} is duplicated or out of order", k.name));
                }
                if lv as usize > cx.naxis {
                    self.kerr(
                        &k,
                        format!("{} is not allowed with NAXIS = {}", k.name, cx.naxis),
                    );
                }
            }
        }
        if let Some(k) = cx.t.first("EPOCH").cloned() {
            self.kwarn(&k, "EPOCH is deprecated; use EQUINOX".into());
            self.check_flt(&k);
        }
        for k in cx.t.prefix("DATE").to_vec() {
            self.check_str(&k);
            if !date_ok(&k.value) {
                self.kerr(
                    &k,
                    format!("{} = '{}' is not a date in a FITS format", k.name, k.value),
                );
            }
            if let Some(p) = k.value.find('/') {
                let yy = leading_int(k.value.get(p + 4..).unwrap_or("")).0;
                if (0..=10).contains(&yy) {
                    self.kwarn(
                        &k,
                        format!("{} = '{}': does the year mean 20{yy:02}?", k.name, k.value),
                    );
                }
            }
        }
        for name in [
            "EXTNAME", "ORIGIN", "AUTHOR", "CREATOR", "REFERENC", "TELESCOP", "INSTRUME",
            "OBSERVER", "OBJECT",
        ] {
            if let Some(k) = cx.t.first(name).cloned() {
                self.check_str(&k);
            }
        }
        for name in ["EXTVER", "EXTLEVEL"] {
            if let Some(k) = cx.t.first(name).cloned() {
                self.check_int(&k);
            }
        }
        for name in ["EQUINOX", "MJD-OBS", "MJD-AVG"] {
            if let Some(k) = cx.t.first(name).cloned() {
                self.check_flt(&k);
            }
        }
        for w in cx.t.keys.windows(2) {
            if w[0].name == w[1].name && w[0].name != "HIERARCH" {
                let (a, b) = (w[0].index.min(w[1].index), w[0].index.max(w[1].index));
                self.warning(
                    b,
                    format!(
                        "keyword {} is duplicated in card {a} and card {b}",
                        w[0].name
                    ),
                );
            }
        }
        if longstr && cx.t.first("LONGSTRN").is_none() {
            self.push(
                Severity::Warning,
                None,
                "the long-string (CONTINUE) convention is used without the LONGSTRN keyword".into(),
            );
        }
        self.hierarch(cx, cards);
        if let Some(k) = cx.t.first("INHERIT").cloned() {
            if self.hdu.index == 0 && cx.naxis != 0 {
                self.kwarn(
                    &k,
                    "INHERIT is not allowed when the primary array holds data".into(),
                );
            }
            self.check_log(&k);
        }
    }

    /// HIERARCH cards (fitsverify -H): a blank in column 9, name tokens of A-Z 0-9 - _, an `=`,
    /// a readable value, no name twice.
    fn hierarch(&mut self, cx: &Ctx, cards: &[&[u8]]) {
        let hk: Vec<usize> = cx.t.exact("HIERARCH").iter().map(|k| k.index).collect();
        let text = |i: usize| super::keys::card_text(cards[i - 1]);
        for &i in &hk {
            let c = text(i);
            if c.get(8) != Some(&b' ') {
                self.error(i, format!("card {i}: HIERARCH is not followed by a blank"));
            }
            let eq = c.iter().position(|&b| b == b'=');
            let stop = eq.unwrap_or(c.len());
            if let Some(&b) = c[..stop].iter().find(|&&b| {
                !(b.is_ascii_uppercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b' '))
            }) {
                // fitsverify stops at the first bad character: no value check after it
                self.error(
                    i,
                    format!(
                        "card {i}: HIERARCH name holds '{}', not A-Z, 0-9, - or _",
                        char::from(b).escape_default()
                    ),
                );
                continue;
            }
            match eq {
                None => self.error(i, format!("card {i}: HIERARCH card without '='")),
                Some(e) => {
                    let mut f = ValueFlags::default();
                    let (_, v) = parse_value(&c[e + 1..], &mut f, false);
                    for m in f.messages("HIERARCH", &v) {
                        self.error(i, format!("card {i}, {m}"));
                    }
                }
            }
        }
        // the same name twice (blanks between tokens not significant)
        let name = |i: usize| -> Option<Vec<u8>> {
            let c = text(i);
            let e = c.iter().position(|&b| b == b'=')?;
            Some(
                c.get(8..e)
                    .unwrap_or(&[])
                    .split(|&b| b == b' ')
                    .filter(|t| !t.is_empty())
                    .collect::<Vec<_>>()
                    .join(&b' '),
            )
        };
        // fitsverify compares each HIERARCH card with the next one only
        for w in hk.windows(2) {
            if let Some(na) = name(w[0]) {
                if name(w[1]).as_ref() == Some(&na) {
                    self.warning(
                        w[1],
                        format!(
                            "HIERARCH name is duplicated in card {} and card {}",
                            w[0], w[1]
                        ),
                    );
                }
            }
        }
    }

    /// WCS keywords: value types, zero CDELT, negative CRDER/CSYER, axis numbers within NAXIS
    /// or WCSAXES, missing CRPIX/CRVAL/CTYPE, PC with CD or CROTA2, WCSAXES before the others,
    /// RADESYS and SPECSYS values.
    fn wcs_keys(&mut self, cx: &Ctx) {
        const N: usize = 27;
        let naxis = cx.naxis as i64;
        let crota2 = cx.t.exact("CROTA2").len() == 1;
        let crota2_at = cx.t.first("CROTA2").map(|k| k.index).filter(|_| crota2);
        let (mut wcsaxes, mut wmax, mut exists) = (0i64, 0i64, false);
        let mut axes_pos = [0usize; N];
        let mut key_pos = [usize::MAX; N];
        let mut key_name = vec![String::new(); N];
        let mut nmax = 0i64;
        if let Some(k) = cx.t.first("WCSAXES").cloned() {
            if self.check_int(&k) {
                wcsaxes = leading_int(&k.value).0;
                nmax = wcsaxes;
                wmax = wmax.max(wcsaxes);
                exists = true;
                axes_pos[0] = axes_pos[0].max(k.index);
            }
        }
        for k in cx.t.prefix("WCSAXES").to_vec() {
            if self.check_int(&k) {
                wmax = wmax.max(leading_int(&k.value).0);
                exists = true;
                let (_, alt) = wcs_suffix(&k.name, "WCSAXES");
                axes_pos[alt] = k.index;
            }
        }
        let range = |s: &mut Self, k: &Key, what: &str, n: i64| {
            if exists {
                if n < 1 || n > wmax {
                    s.kerr(
                        k,
                        format!("{}: {what}{n} is not in 1..{wmax} (WCSAXES)", k.name),
                    );
                }
            } else if n < 1 || n > naxis {
                s.kwarn(
                    k,
                    format!("{}: {what}{n} is not in 1..{naxis} (NAXIS)", k.name),
                );
            }
        };
        let note = |k: &Key, alt: usize, pos: &mut [usize; N], names: &mut Vec<String>| {
            if k.index < pos[alt] {
                pos[alt] = k.index;
                names[alt] = k.name.clone();
            }
        };
        let mut counts = [0usize; 7];
        for (i, p) in WCS_FLOAT.iter().enumerate() {
            for k in cx.t.prefix(p).to_vec() {
                if !indexed(&k.name, p) || !self.check_flt(&k) {
                    continue;
                }
                if *p == "CDELT" && k.num() == 0.0 {
                    self.kerr(&k, format!("{} must not be zero", k.name));
                }
                if matches!(*p, "CRDER" | "CSYER") && k.num() < 0.0 {
                    self.kerr(&k, format!("{} = {} must not be negative", k.name, k.value));
                }
                let (axis, alt) = wcs_suffix(&k.name, p);
                range(self, &k, "index ", axis);
                if alt == 0 {
                    counts[i] += 1;
                    nmax = nmax.max(axis);
                }
                note(&k, alt, &mut key_pos, &mut key_name);
            }
        }
        nmax = nmax.min(if wcsaxes == 0 { naxis } else { wcsaxes });
        for (i, p) in ["CRPIX", "CRVAL"].iter().enumerate() {
            if (counts[i] as i64) < nmax {
                self.push(
                    Severity::Warning,
                    None,
                    format!("some {p}i keywords appear to be missing; expected {nmax}"),
                );
            }
        }
        for p in WCS_FLOAT_PLAIN {
            for k in cx.t.prefix(p).to_vec() {
                self.check_flt(&k);
            }
        }
        let mut matrix = [None::<usize>; 2];
        for (i, p) in ["PC", "CD"].iter().enumerate() {
            for k in cx.t.prefix(p).to_vec() {
                if !indexed(&k.name, p) {
                    continue;
                }
                let Some(us) = k.name[2..].find('_') else {
                    continue;
                };
                if !self.check_flt(&k) {
                    continue;
                }
                let first = leading_int(&k.name[2..2 + us]).0;
                range(self, &k, "1st index ", first);
                let (second, tail) = leading_int(&k.name[3 + us..]);
                range(self, &k, "2nd index ", second);
                let mut alt = 0;
                if tail.is_empty() {
                    matrix[i] = Some(k.index);
                } else if let [b] = tail.as_bytes() {
                    if b.is_ascii_uppercase() {
                        alt = usize::from(b - b'A' + 1);
                    }
                }
                note(&k, alt, &mut key_pos, &mut key_name);
            }
        }
        if let (Some(pc), Some(cd)) = (matrix[0], matrix[1]) {
            self.error(
                pc,
                format!("PCi_j (card {pc}) and CDi_j (card {cd}) are mutually exclusive"),
            );
        }
        if let (Some(pc), Some(cr)) = (matrix[0], crota2_at) {
            self.error(
                pc,
                format!("PCi_j (card {pc}) and CROTA2 (card {cr}) are mutually exclusive"),
            );
        }
        let mut ctype = 0usize;
        for p in WCS_STR {
            for k in cx.t.prefix(p).to_vec() {
                if !indexed(&k.name, p) || !self.check_str(&k) {
                    continue;
                }
                let (axis, alt) = wcs_suffix(&k.name, p);
                range(self, &k, "index ", axis);
                if alt == 0 && p == "CTYPE" {
                    ctype += 1;
                }
                note(&k, alt, &mut key_pos, &mut key_name);
            }
        }
        if (ctype as i64) < nmax {
            self.push(
                Severity::Warning,
                None,
                format!("some CTYPEi keywords appear to be missing; expected {nmax}"),
            );
        }
        for a in 0..N {
            if axes_pos[a] > 0 && key_pos[a] < axes_pos[a] {
                self.error(
                    axes_pos[a],
                    format!(
                        "WCSAXES{} (card {}) comes after {} (card {})",
                        if a == 0 {
                            String::new()
                        } else {
                            char::from(b'A' + a as u8 - 1).to_string()
                        },
                        axes_pos[a],
                        key_name[a],
                        key_pos[a]
                    ),
                );
            }
        }
        for (roots, allowed) in [
            (&["RADESYS", "RADECSYS"][..], &RADESYS_VALUES[..]),
            (&["SPECSYS", "SSYSOBS", "SSYSSRC"][..], &SPECSYS_VALUES[..]),
        ] {
            for p in roots {
                for k in cx.t.prefix(p).to_vec() {
                    if self.check_str(&k) && !allowed.contains(&k.value.as_str()) {
                        self.kwarn(
                            &k,
                            format!("{} = '{}' is not an allowed value", k.name, k.value),
                        );
                    }
                }
            }
        }
    }
}

/// What is wrong with a TDIMn value for a column of TFORMn `tform`, as cfitsio decodes it: a
/// `(`, dimensions not negative, a `)`, and (fixed-width columns) their product equal to the
/// repeat count.
fn tdim_problem(tdim: &str, tform: &str) -> Option<String> {
    let Some(open) = tdim.find('(') else {
        return Some("no '('".into());
    };
    let mut loc = &tdim[open..];
    let mut total: i64 = 1;
    let mut last;
    loop {
        let (d, rest) = leading_int(&loc[1..]);
        if d < 0 {
            return Some("a dimension is negative".into());
        }
        total = total.saturating_mul(d);
        last = rest;
        match rest.find(',') {
            Some(p) => loc = &rest[p..],
            None => break,
        }
    }
    if !last.contains(')') {
        return Some("no closing ')'".into());
    }
    match crate::table::parse_bintable_tform(tform) {
        Some(crate::table::ColumnFormat::Fixed { repeat, .. }) if repeat as i64 != total => Some(
            format!("the product of the dimensions, {total}, is not the repeat count {repeat} of TFORM '{tform}'"),
        ),
        _ => None,
    }
}

/// A DATE value as cfitsio reads it: `YYYY-MM-DD[Thh:mm:ss[.s…]]`, `dd/mm/yy` or
/// `hh:mm:ss[.s…]`, with a valid day of the month.
fn date_ok(v: &str) -> bool {
    let b = v.as_bytes();
    let at = |i: usize| b.get(i).copied().unwrap_or(0);
    let digits = |idx: &[usize]| idx.iter().all(|&i| at(i).is_ascii_digit());
    let num =
        |a: usize, n: usize| -> i64 { v.get(a..a + n).and_then(|s| s.parse().ok()).unwrap_or(-1) };
    if at(2) == b'/' || at(4) == b'-' {
        let (y, m, d) = if b.len() == 8 && at(2) == b'/' && at(5) == b'/' {
            if !digits(&[0, 1, 3, 4, 6, 7]) {
                return false;
            }
            (num(6, 2) + 1900, num(3, 2), num(0, 2))
        } else if b.len() >= 10 && at(4) == b'-' && at(7) == b'-' {
            if !digits(&[0, 1, 2, 3, 5, 6, 8, 9]) || (b.len() > 10 && at(10) != b'T') {
                return false;
            }
            (num(0, 4), num(5, 2), num(8, 2))
        } else {
            return false;
        };
        if !(0..=9999).contains(&y) || !(1..=12).contains(&m) {
            return false;
        }
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let days = [
            31,
            if leap { 29 } else { 28 },
            31,
            30,
            31,
            30,
            31,
            31,
            30,
            31,
            30,
            31,
        ];
        if d < 1 || d > days[(m - 1) as usize] {
            return false;
        }
        let n = b.len();
        if n == 8 || n == 10 {
            return true;
        }
        if n < 19 || at(10) != b'T' || at(13) != b':' || at(16) != b':' {
            return false;
        }
        digits(&[11, 12, 14, 15, 17, 18]) && (n == 19 || at(19) == b'.')
    } else {
        at(2) == b':' && at(5) == b':' && digits(&[0, 1, 3, 4, 6, 7])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_as_cfitsio_reads_them() {
        for ok in [
            "2024-02-29",
            "2024-01-01T10:20:30",
            "2024-01-01T10:20:30.5",
            "01/02/03",
            "12:30:00",
        ] {
            assert!(date_ok(ok), "{ok}");
        }
        for bad in [
            "yesterday",
            "2023-02-29",
            "2024-13-01",
            "2024-01-01T10:20",
            "2024-01-01 10:20:30",
            "",
        ] {
            assert!(!date_ok(bad), "{bad}");
        }
    }

    #[test]
    fn tdim_against_tform() {
        assert!(tdim_problem("(2,2)", "4E").is_none());
        assert!(tdim_problem("(2,3)", "4E").is_some());
        assert!(tdim_problem("(2,a)", "4E").is_some());
        assert!(tdim_problem("(2,2", "4E").is_some());
        assert!(tdim_problem("(5,9)", "1PE(45)").is_none());
    }
}
