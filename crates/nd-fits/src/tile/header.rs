//! The Z keywords of a tile-compressed HDU: the algorithm (ZCMPTYPE), its ZNAMEn/ZVALn
//! settings, and the image header astropy shows, rebuilt from the table header.

use crate::card::{Card, Value};
use crate::error::Result;
use crate::header::Header;

/// A tile compression algorithm (ZCMPTYPE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// RICE_1 (also spelled RICE_ONE).
    Rice,
    /// GZIP_1: gzip of the big-endian pixels.
    Gzip1,
    /// GZIP_2: gzip of the byte-shuffled big-endian pixels.
    Gzip2,
    /// PLIO_1: IRAF pixel lists.
    Plio,
    /// HCOMPRESS_1: H-transform, quantized, quadtree coded.
    Hcompress,
    /// NOCOMPRESS: big-endian pixels as they are.
    NoCompress,
}

impl Algorithm {
    /// From a ZCMPTYPE value.
    pub fn from_name(s: &str) -> Option<Algorithm> {
        Some(match s.trim() {
            "RICE_1" | "RICE_ONE" => Algorithm::Rice,
            "GZIP_1" => Algorithm::Gzip1,
            "GZIP_2" => Algorithm::Gzip2,
            "PLIO_1" => Algorithm::Plio,
            "HCOMPRESS_1" => Algorithm::Hcompress,
            "NOCOMPRESS" => Algorithm::NoCompress,
            _ => return None,
        })
    }

    /// The ZCMPTYPE name.
    pub fn name(&self) -> &'static str {
        match self {
            Algorithm::Rice => "RICE_1",
            Algorithm::Gzip1 => "GZIP_1",
            Algorithm::Gzip2 => "GZIP_2",
            Algorithm::Plio => "PLIO_1",
            Algorithm::Hcompress => "HCOMPRESS_1",
            Algorithm::NoCompress => "NOCOMPRESS",
        }
    }
}

/// Keywords of the table that do not belong to the image header (astropy's reserved set).
fn is_reserved(k: &str) -> bool {
    const FIXED: &[&str] = &[
        "XTENSION", "BITPIX", "NAXIS", "PCOUNT", "GCOUNT", "TFIELDS", "THEAP", "CHECKSUM",
        "DATASUM", "ZIMAGE", "ZCMPTYPE", "ZMASKCMP", "ZQUANTIZ", "ZDITHER0", "ZBLANK", "ZSCALE",
        "ZZERO", "ZSIMPLE", "ZTENSION", "ZBITPIX", "ZNAXIS", "ZEXTEND", "ZBLOCKED", "ZPCOUNT",
        "ZGCOUNT", "ZHECKSUM", "ZDATASUM", "SIMPLE", "EXTEND",
    ];
    if FIXED.contains(&k) {
        return true;
    }
    let indexed = |p: &str| {
        k.strip_prefix(p)
            .is_some_and(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_digit()))
    };
    [
        "NAXIS", "ZNAXIS", "ZTILE", "ZNAME", "ZVAL", "TTYPE", "TFORM", "TUNIT", "TNULL", "TSCAL",
        "TZERO", "TDISP", "TBCOL", "TDIM", "TCTYP", "TCUNI", "TCRPX", "TCRVL", "TCDLT", "TCROT",
    ]
    .iter()
    .any(|p| indexed(p))
}

/// The image header astropy shows for a compressed HDU: the table header without its table
/// and compression keywords, SIMPLE/XTENSION, BITPIX, NAXIS, NAXISn, PCOUNT, GCOUNT (and
/// EXTEND, CHECKSUM, DATASUM) from their Z counterparts.
pub fn image_header(table: &Header) -> Result<Header> {
    let mut h = Header::new();
    let get = |k: &str| {
        table
            .card(k)
            .map(|c| (c.value().clone(), c.comment().map(String::from)))
    };
    let push = |h: &mut Header, k: &str, v: Value, c: Option<String>| -> Result<()> {
        h.push(Card::new(k, v, c.as_deref())?);
        Ok(())
    };
    if let Some((v, c)) = get("ZSIMPLE") {
        push(&mut h, "SIMPLE", v, c)?;
    } else {
        let c = get("ZTENSION").and_then(|x| x.1);
        push(&mut h, "XTENSION", Value::Str("IMAGE".into()), c)?;
    }
    let (bp, bpc) = get("ZBITPIX").unwrap_or((Value::Int(8), None));
    push(&mut h, "BITPIX", bp, bpc)?;
    let (nx, nxc) = get("ZNAXIS").unwrap_or((Value::Int(0), None));
    let n = nx.as_i128().unwrap_or(0).clamp(0, 999) as usize;
    push(&mut h, "NAXIS", nx, nxc)?;
    for k in 1..=n {
        if let Some((v, c)) = get(&format!("ZNAXIS{k}")) {
            push(&mut h, &format!("NAXIS{k}"), v, c)?;
        }
    }
    if get("ZSIMPLE").is_none() {
        let (p, pc) = get("ZPCOUNT").unwrap_or((Value::Int(0), None));
        push(&mut h, "PCOUNT", p, pc)?;
        let (g, gc) = get("ZGCOUNT").unwrap_or((Value::Int(1), None));
        push(&mut h, "GCOUNT", g, gc)?;
    }
    // The table's EXTNAME: the last one (the image's, when both are present), dropped when it
    // is the default 'COMPRESSED_IMAGE'.
    let last_extname = table
        .cards_named("EXTNAME")
        .last()
        .map(|c| c.raw().to_string());
    for card in table.cards() {
        let k = card.keyword();
        if is_reserved(k) || k == "BSCALE" || k == "BZERO" || k == "GROUPS" {
            continue;
        }
        if k == "EXTNAME" {
            let is_last = last_extname.as_deref() == Some(card.raw());
            let default = matches!(card.value(), Value::Str(s) if s.trim() == "COMPRESSED_IMAGE");
            if !is_last || default || h.contains("EXTNAME") {
                continue;
            }
        }
        h.push(card.clone());
    }
    // BSCALE / BZERO move to the end, and only when truthy (astropy strips and re-adds them).
    for k in ["BSCALE", "BZERO"] {
        if let Some((v, c)) = get(k) {
            if !v.num_eq(0) && v != Value::Bool(false) {
                push(&mut h, k, v, c)?;
            }
        }
    }
    for (z, k) in [
        ("ZEXTEND", "EXTEND"),
        ("ZBLOCKED", "BLOCKED"),
        ("ZHECKSUM", "CHECKSUM"),
        ("ZDATASUM", "DATASUM"),
    ] {
        if let Some((v, c)) = get(z) {
            push(&mut h, k, v, c)?;
        }
    }
    // Integer images get a BLANK from ZBLANK (or the most negative value when only a ZBLANK
    // column exists), as astropy fills it in.
    let bitpix = h.get_int("BITPIX").unwrap_or(0);
    if bitpix > 0 && !h.contains("BLANK") {
        if let Some((v, _)) = get("ZBLANK") {
            push(&mut h, "BLANK", v, None)?;
        } else {
            let tf = table.get_int("TFIELDS").unwrap_or(0).clamp(0, 999);
            let has_col = (1..=tf)
                .any(|i| table.get_str(&format!("TTYPE{i}")).map(|s| s.trim()) == Some("ZBLANK"));
            if has_col && bitpix < 64 {
                push(&mut h, "BLANK", Value::Int(-(1i64 << (bitpix - 1))), None)?;
            }
        }
    }
    Ok(h)
}

/// ZVALn for the ZNAMEn equal to `name` (case-insensitive), as astropy looks it up.
pub(super) fn zval(h: &Header, name: &str) -> Option<Value> {
    for i in 1..1000 {
        let n = h.get_str(&format!("ZNAME{i}"))?;
        if n.trim().eq_ignore_ascii_case(name) {
            return h.get(&format!("ZVAL{i}")).cloned();
        }
    }
    None
}
