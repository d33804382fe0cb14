//! One header-data unit: its kind, its header and where its data lies, computed from the
//! header's mandatory keywords; which keywords describe the data layout, and the others as
//! attributes.

use crate::card::Value;
use crate::error::{Error, Result};
use crate::header::{read_header, Header, Strictness, StructuralScan, BLOCK};
use crate::scale::{bitpix_dtype, Scaling};
use nd_core::{AttrValue, Attributes, ByteSource, DataType};

/// The kind of an HDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HduKind {
    /// The primary HDU (an image, possibly empty).
    Primary,
    /// An IMAGE extension.
    Image,
    /// A BINTABLE extension.
    BinTable,
    /// An ASCII TABLE extension.
    Table,
    /// A tile-compressed image (a BINTABLE with ZIMAGE = T).
    CompressedImage,
    /// A primary HDU in the random-groups format (GROUPS = T, NAXIS1 = 0).
    RandomGroups,
    /// Any other extension type (its XTENSION value); skipped by size.
    Other(String),
}

impl std::fmt::Display for HduKind {
    /// The kind in FITS words: `primary`, `IMAGE`, `BINTABLE`, `TABLE`, `tile-compressed image`,
    /// `random groups`, or the XTENSION value of another extension.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HduKind::Primary => f.write_str("primary"),
            HduKind::Image => f.write_str("IMAGE"),
            HduKind::BinTable => f.write_str("BINTABLE"),
            HduKind::Table => f.write_str("TABLE"),
            HduKind::CompressedImage => f.write_str("tile-compressed image"),
            HduKind::RandomGroups => f.write_str("random groups"),
            HduKind::Other(x) => write!(f, "XTENSION = '{x}'"),
        }
    }
}

impl HduKind {
    /// True for kinds whose data is an image array (primary and IMAGE).
    pub fn is_image(&self) -> bool {
        matches!(self, HduKind::Primary | HduKind::Image)
    }
}

/// One header-data unit: its header and where its data lies.
#[derive(Debug, Clone)]
pub struct Hdu {
    /// Position in the file (0 = primary).
    pub index: usize,
    /// What kind of HDU.
    pub kind: HduKind,
    /// The header.
    pub header: Header,
    /// Byte offset of the header.
    pub header_offset: u64,
    /// Byte offset of the data (just after the header's blocks).
    pub data_offset: u64,
    /// Size of the data in bytes, without padding (heap included).
    pub data_len: u64,
    /// BITPIX.
    pub bitpix: i64,
    /// NAXIS1..NAXISn in header (FITS) order.
    pub naxes: Vec<u64>,
}

impl Hdu {
    /// EXTNAME (trimmed), or `"PRIMARY"` for the primary HDU without one, or `""`.
    pub fn name(&self) -> String {
        if self.kind == HduKind::CompressedImage {
            // astropy shows the compressed image's own header: a later EXTNAME (the image's)
            // overrides the table's default 'COMPRESSED_IMAGE'.
            if let Some(Value::Str(s)) =
                self.header.cards_named("EXTNAME").last().map(|c| c.value())
            {
                return s.trim().to_string();
            }
        }
        match self.header.get_str("EXTNAME") {
            Some(s) => s.trim().to_string(),
            None if self.index == 0 => "PRIMARY".into(),
            None => String::new(),
        }
    }

    /// EXTVER (default 1).
    pub fn ver(&self) -> i64 {
        self.header.get_int("EXTVER").unwrap_or(1)
    }

    /// The data shape in numpy order (NAXISn reversed). For random groups: (GCOUNT, NAXISn..NAXIS2).
    pub fn shape(&self) -> Vec<u64> {
        if self.kind == HduKind::CompressedImage {
            // The image's shape (ZNAXISn), as astropy's CompImageHDU reports it.
            let n = self.header.get_int("ZNAXIS").unwrap_or(0).clamp(0, 999);
            return (1..=n)
                .rev()
                .map(|k| {
                    self.header
                        .get_int(&format!("ZNAXIS{k}"))
                        .unwrap_or(0)
                        .max(0) as u64
                })
                .collect();
        }
        if self.kind == HduKind::RandomGroups {
            let gcount = self.header.get_int("GCOUNT").unwrap_or(1).max(0) as u64;
            let mut s: Vec<u64> = self.naxes.iter().skip(1).rev().copied().collect();
            s.insert(0, gcount);
            return s;
        }
        self.naxes.iter().rev().copied().collect()
    }

    /// The stored element type (from BITPIX; BITPIX 8 is unsigned bytes), if BITPIX is valid.
    pub fn stored_dtype(&self) -> Option<DataType> {
        bitpix_dtype(self.bitpix)
    }

    /// The type astropy returns for this image's data (after BSCALE/BZERO/BLANK), if an image.
    pub fn physical_dtype(&self) -> Option<DataType> {
        if self.kind == HduKind::CompressedImage {
            let zbitpix = self.header.get_int("ZBITPIX")?;
            bitpix_dtype(zbitpix)?;
            return Scaling::from_header(&self.header, zbitpix, self.index)
                .ok()
                .map(|s| s.physical_dtype(zbitpix));
        }
        if !self.kind.is_image() {
            return None;
        }
        Scaling::from_header(&self.header, self.bitpix, self.index)
            .ok()
            .map(|s| s.physical_dtype(self.bitpix))
    }

    /// The header's non-structural cards as attributes (what an image's
    /// [`nd_core::ArrayRead::attributes`] gives): values by keyword, COMMENT and HISTORY as lists.
    pub fn attributes(&self) -> Attributes {
        header_attributes(&self.header)
    }

    /// Byte offset just past this HDU (data padded to whole blocks).
    pub fn end_offset(&self) -> u64 {
        self.data_offset.saturating_add(
            self.data_len
                .div_ceil(BLOCK as u64)
                .saturating_mul(BLOCK as u64),
        )
    }
}

fn int_kw(
    h: &StructuralScan<'_>,
    key: &str,
    default: Option<i64>,
    hdu: usize,
    offset: u64,
) -> Result<i64> {
    match h.get(key) {
        Some(Value::Int(v)) => Ok(*v),
        Some(Value::Float(f)) if f.fract() == 0.0 && f.abs() < 9e15 => Ok(*f as i64),
        None => default.ok_or_else(|| Error::Header {
            hdu,
            offset,
            msg: format!("missing mandatory keyword {key}"),
        }),
        Some(v) => Err(Error::Header {
            hdu,
            offset,
            msg: format!("keyword {key} has value {v}, an integer is required"),
        }),
    }
}

/// `NAXISk` for k in 1..=999, written into `buf`.
fn naxis_keyword(k: u16, buf: &mut [u8; 8]) -> &str {
    buf[..5].copy_from_slice(b"NAXIS");
    let mut n = 5;
    for unit in [100, 10, 1] {
        if k >= unit || unit == 1 {
            buf[n] = b'0' + (k / unit % 10) as u8;
            n += 1;
        }
    }
    std::str::from_utf8(&buf[..n]).unwrap_or("NAXIS") // ok: ASCII letters and digits
}

/// Read the header at `offset` and compute where its data is.
pub(crate) fn read_hdu(
    src: &dyn ByteSource,
    index: usize,
    offset: u64,
    strict: Strictness,
) -> Result<Hdu> {
    let (header, hlen) = read_header(src, offset, index, strict)?;
    hdu_from_header(header, index, offset, hlen)
}

pub(crate) fn hdu_from_header(header: Header, index: usize, offset: u64, hlen: u64) -> Result<Hdu> {
    let herr = |msg: String| Error::Header {
        hdu: index,
        offset,
        msg,
    };
    let s = header.structural_scan();
    let kind = if index == 0 {
        let first = s.first_keyword();
        if first.as_deref() != Some("SIMPLE") {
            return Err(herr(format!(
                "not a FITS file: the first keyword is '{}', not SIMPLE",
                first.unwrap_or_default()
            )));
        }
        HduKind::Primary
    } else {
        match s.get("XTENSION") {
            Some(Value::Str(x)) => {
                let x = x.trim();
                let is = |name: &str| x.eq_ignore_ascii_case(name);
                if is("IMAGE") {
                    HduKind::Image
                } else if is("BINTABLE") || is("A3DTABLE") {
                    if s.get("ZIMAGE") == Some(&Value::Bool(true)) {
                        HduKind::CompressedImage
                    } else {
                        HduKind::BinTable
                    }
                } else if is("TABLE") {
                    HduKind::Table
                } else {
                    HduKind::Other(x.to_ascii_uppercase())
                }
            }
            _ => return Err(herr("extension header without XTENSION".into())),
        }
    };
    let bitpix = int_kw(&s, "BITPIX", None, index, offset)?;
    if bitpix_dtype(bitpix).is_none() {
        return Err(herr(format!("invalid BITPIX {bitpix}")));
    }
    let naxis = int_kw(&s, "NAXIS", None, index, offset)?;
    if !(0..=999).contains(&naxis) {
        return Err(herr(format!("invalid NAXIS {naxis}")));
    }
    let mut naxes = Vec::with_capacity(naxis as usize);
    let mut key = [0u8; 8];
    for k in 1..=naxis as u16 {
        let v = int_kw(&s, naxis_keyword(k, &mut key), None, index, offset)?;
        if v < 0 {
            return Err(herr(format!("negative NAXIS{k} = {v}")));
        }
        naxes.push(v as u64);
    }
    let (pdef, gdef) = (0, 1);
    let pcount = int_kw(&s, "PCOUNT", Some(pdef), index, offset)?;
    let gcount = int_kw(&s, "GCOUNT", Some(gdef), index, offset)?;
    if pcount < 0 || gcount < 0 {
        return Err(herr(format!("negative PCOUNT {pcount} or GCOUNT {gcount}")));
    }
    let groups =
        index == 0 && s.get("GROUPS") == Some(&Value::Bool(true)) && naxes.first() == Some(&0);
    drop(s);
    let kind = if groups { HduKind::RandomGroups } else { kind };
    let too_big = || herr("data size overflows".into());
    let data_len = if naxis == 0 {
        0
    } else {
        let axes: &[u64] = if groups { &naxes[1..] } else { &naxes };
        let prod = axes
            .iter()
            .try_fold(1u64, |a, &d| a.checked_mul(d))
            .ok_or_else(too_big)?;
        // astropy applies PCOUNT and GCOUNT to every HDU, the primary one included.
        let (p, g) = (pcount as u64, gcount as u64);
        prod.checked_add(p)
            .and_then(|x| x.checked_mul(g))
            .and_then(|x| x.checked_mul(bitpix.unsigned_abs() / 8))
            .ok_or_else(too_big)?
    };
    let data_offset = offset.checked_add(hlen).ok_or_else(too_big)?;
    data_offset.checked_add(data_len).ok_or_else(too_big)?;
    Ok(Hdu {
        index,
        kind,
        header,
        header_offset: offset,
        data_offset,
        data_len,
        bitpix,
        naxes,
    })
}

/// Keywords that describe the data layout (not carried as attributes).
pub(crate) const STRUCTURAL: &[&str] = &[
    "SIMPLE", "BITPIX", "NAXIS", "EXTEND", "PCOUNT", "GCOUNT", "XTENSION", "BSCALE", "BZERO",
    "BLANK", "CHECKSUM", "DATASUM", "GROUPS",
];

pub(crate) fn is_structural(k: &str) -> bool {
    STRUCTURAL.contains(&k)
        || (k.starts_with("NAXIS") && k[5..].bytes().all(|b| b.is_ascii_digit()))
}

pub(crate) fn header_attributes(h: &Header) -> Attributes {
    let mut a = Attributes::new();
    for c in h.cards() {
        let k = c.keyword();
        if is_structural(k) {
            continue;
        }
        let v = match c.value() {
            Value::Undefined => AttrValue::Null,
            Value::Bool(b) => AttrValue::Bool(*b),
            Value::Int(i) => AttrValue::Int(*i),
            Value::BigInt(s) => AttrValue::Str(s.clone()),
            Value::Float(f) => AttrValue::Float(*f),
            Value::Complex(r, i) => {
                AttrValue::List(vec![AttrValue::Float(*r), AttrValue::Float(*i)])
            }
            Value::Str(s) | Value::Text(s) | Value::Invalid(s) => AttrValue::Str(s.clone()),
        };
        if c.is_commentary() {
            let key = if k.is_empty() { "COMMENT" } else { k };
            match a
                .entry(key.to_string())
                .or_insert_with(|| AttrValue::List(vec![]))
            {
                AttrValue::List(l) => l.push(v),
                other => *other = AttrValue::List(vec![v]),
            }
        } else {
            a.entry(k.to_string()).or_insert(v);
        }
    }
    a
}

#[cfg(test)]
mod tests {
    use super::naxis_keyword;

    #[test]
    fn naxis_keywords_without_allocating() {
        let mut buf = [0u8; 8];
        for k in [1u16, 9, 10, 42, 99, 100, 101, 110, 999] {
            assert_eq!(naxis_keyword(k, &mut buf), format!("NAXIS{k}"));
        }
    }
}
