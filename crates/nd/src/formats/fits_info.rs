//! `nd info` of a FITS file, as astropy's `HDUList.info()` prints it: dimensions in FITS order
//! (`NAXIS1` first) and numpy type names (`float32`, `int16 (rescales to float32)`), tables as
//! `3R x 2C` with their `TFORM`s. nd's selectors, `--region` and `nd info --json` use numpy
//! order (the reverse); the listing ends with a line saying so.

use nd_fits::{Hdu, HduKind};
use std::io::Write;

/// astropy's class name of an HDU kind.
fn class_name(k: &HduKind) -> &'static str {
    match k {
        HduKind::Primary => "PrimaryHDU",
        HduKind::Image => "ImageHDU",
        HduKind::BinTable => "BinTableHDU",
        HduKind::Table => "TableHDU",
        HduKind::CompressedImage => "CompImageHDU",
        HduKind::RandomGroups => "GroupsHDU",
        HduKind::Other(_) => "NonstandardExtHDU",
    }
}

/// The Dimensions column: FITS order, `()` for no data, `NR x MC` for a table.
fn dimensions(h: &Hdu) -> String {
    if matches!(h.kind, HduKind::BinTable | HduKind::Table) {
        return format!(
            "{}R x {}C",
            h.header.get_int("NAXIS2").unwrap_or(0),
            h.header.get_int("TFIELDS").unwrap_or(0)
        );
    }
    let mut shape = h.shape();
    if h.kind == HduKind::RandomGroups && !shape.is_empty() {
        shape.remove(0); // GCOUNT is not a dimension in astropy's listing
    }
    if shape.is_empty() {
        return "()".into();
    }
    let items: Vec<String> = shape.iter().rev().map(u64::to_string).collect();
    if items.len() == 1 {
        format!("({},)", items[0])
    } else {
        format!("({})", items.join(", "))
    }
}

/// The Format column: the stored type, `(rescales to …)` when BSCALE/BZERO change it; a
/// table's TFORMs; random groups' group and parameter counts.
fn format(h: &Hdu) -> String {
    if matches!(h.kind, HduKind::BinTable | HduKind::Table) {
        let n = h.header.get_int("TFIELDS").unwrap_or(0).clamp(0, 999);
        let forms: Vec<String> = (1..=n)
            .map(|k| {
                h.header
                    .get_str(&format!("TFORM{k}"))
                    .unwrap_or("")
                    .trim()
                    .to_string()
            })
            .collect();
        return format!("[{}]", forms.join(", "));
    }
    let stored = if h.kind == HduKind::CompressedImage {
        // the image's BITPIX, as astropy's CompImageHDU shows it
        match h.header.get_int("ZBITPIX") {
            Some(8) => Some(nd_core::DataType::UInt8),
            Some(16) => Some(nd_core::DataType::Int16),
            Some(32) => Some(nd_core::DataType::Int32),
            Some(64) => Some(nd_core::DataType::Int64),
            Some(-32) => Some(nd_core::DataType::Float32),
            Some(-64) => Some(nd_core::DataType::Float64),
            _ => None,
        }
    } else {
        h.stored_dtype()
    };
    let Some(stored) = stored else {
        return String::new();
    };
    if h.shape().is_empty() {
        return String::new();
    }
    let mut text = stored.to_string();
    let bscale = h.header.get_float("BSCALE").unwrap_or(1.0);
    let bzero = h.header.get_float("BZERO").unwrap_or(0.0);
    if bscale != 1.0 || bzero != 0.0 {
        if let Some(p) = h.physical_dtype() {
            text = format!("{text} (rescales to {})", p);
        }
    }
    if h.kind == HduKind::RandomGroups {
        text = format!(
            "{text}   {} Groups  {} Parameters",
            h.header.get_int("GCOUNT").unwrap_or(0),
            h.header.get_int("PCOUNT").unwrap_or(0)
        );
    }
    text
}

/// The Cards column: of a compressed image, the image header astropy shows.
fn cards(h: &Hdu) -> usize {
    if h.kind == HduKind::CompressedImage {
        if let Ok(img) = nd_fits::tile::image_header(&h.header) {
            return img.len();
        }
    }
    h.header.len()
}

/// Write the listing of `hdus` (astropy's `info()` columns, then a line on axis order).
pub(crate) fn write_info(
    w: &mut dyn Write,
    path: &str,
    gzipped: bool,
    hdus: Result<Vec<&Hdu>, String>,
) -> std::io::Result<()> {
    writeln!(
        w,
        "Filename: {path}{}",
        if gzipped { " (gzip)" } else { "" }
    )?;
    writeln!(
        w,
        "{:>4}  {:<20} {:>4}  {:<12} {:>5}   {:<14} Format",
        "No.", "Name", "Ver", "Type", "Cards", "Dimensions"
    )?;
    let hdus = match hdus {
        Ok(h) => h,
        Err(e) => return writeln!(w, "error: {e}"),
    };
    for h in hdus {
        writeln!(
            w,
            "{:>4}  {:<20} {:>4}  {:<12} {:>5}   {:<14} {}",
            h.index,
            h.name(),
            h.ver(),
            class_name(&h.kind),
            cards(h),
            dimensions(h),
            format(h)
        )?;
    }
    writeln!(
        w,
        "Dimensions in FITS order (NAXIS1 first), as astropy's info(); numpy order (selectors, \
         --region, `nd info --json`) is reversed."
    )
}
