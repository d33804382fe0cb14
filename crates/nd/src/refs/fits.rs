//! FITS images as Zarr arrays whose chunks are byte ranges of the file (tables: `table.rs`).
//!
//! Names and dimension names are those `nd convert` gives a Zarr store (`PRIMARY`, EXTNAME,
//! `HDU<n>`; `_ARRAY_DIMENSIONS` from CTYPEn, else `dim_0…`), so references and a converted
//! store open as the same xarray dataset.

use super::{attrs_json, ArraySpec, Builder, ND_FITS_SCALE};
use crate::convert::dims;
use crate::error::{Error, Result};
use crate::Dataset;
use nd_core::{ArrayRead, DataType, Endian};
use nd_fits::{Fits, HduKind, Scaling};
use serde_json::{json, Map, Value};

pub(super) fn build(ds: &Dataset, f: &Fits, b: &mut Builder) -> Result<()> {
    let path = ds.path();
    let err = |e: &dyn std::fmt::Display| Error::input(format!("{path}: {e}"));
    if f.is_gzipped() {
        return Err(err(
            &"gzip-compressed FITS: references need byte offsets in the stored file, and the HDUs lie inside a gzip stream (decompress the file first)",
        ));
    }
    let plan = ds.backend().convert_plan()?;
    let primary = f.hdu(0).map_err(|e| err(&e))?;
    if primary.naxes.is_empty() || primary.kind != HduKind::Primary {
        let attrs = attrs_json(&primary.attributes());
        b.root_attrs().extend(attrs);
    }
    // HDUs the plan leaves out (no data, random groups, other extensions), with the reason
    let planned: Vec<&str> = plan.items.iter().map(|i| i.selector.as_str()).collect();
    for h in f.hdus().map_err(|e| err(&e))? {
        let has_data = !h.naxes.is_empty() && h.data_len > 0;
        if planned.contains(&h.index.to_string().as_str()) || (h.index == 0 && !has_data) {
            continue;
        }
        let why = match &h.kind {
            HduKind::RandomGroups => {
                "random groups (a record per group, with parameters)".to_string()
            }
            HduKind::Other(x) => format!("extension type {x:?}"),
            _ if !has_data => "no data".to_string(),
            k => format!("{k:?}"),
        };
        b.skip(format!("HDU {} ({}): {why}; not mapped", h.index, h.name()));
    }
    let file_len = f.source().len();
    let mut groups = dims::Groups::default();
    for item in &plan.items {
        let index: usize = item
            .selector
            .parse()
            .map_err(|_| err(&format!("HDU selector {:?}", item.selector)))?;
        let h = f.hdu(index).map_err(|e| err(&e))?;
        let what = format!("HDU {index} ({})", h.name());
        match h.kind {
            HduKind::Primary | HduKind::Image => {}
            HduKind::CompressedImage => {
                if let Err(why) = tiles(f, index, &item.name, &item.meta, &mut groups, b) {
                    b.skip(format!("{what}: tile-compressed image: {why}; not mapped"));
                }
                continue;
            }
            HduKind::BinTable | HduKind::Table => {
                let built = match &item.table {
                    Some(spec) => super::table::build(f, index, item, spec, &mut groups, b),
                    None => Err("no column plan".into()),
                };
                if let Err(why) = built {
                    b.skip(format!("{what}: table: {why}; not mapped"));
                }
                continue;
            }
            _ => {
                b.skip(format!("{what}: not an image; not mapped"));
                continue;
            }
        }
        let img = match f.image(index) {
            Ok(img) => img,
            Err(e) => {
                b.skip(format!("{what}: {e}; not mapped"));
                continue;
            }
        };
        let shape = img.shape().to_vec();
        let stored = img.stored_dtype().clone();
        let (dtype, filters) = scale_codec(h.bitpix, &stored, img.scaling(), &h.header);
        let mut attrs = attrs_json(&img.attributes());
        let names = dims::names(&item.meta, shape.len(), true);
        let names = groups.place(&item.name, &shape, names);
        attrs.insert("_ARRAY_DIMENSIONS".into(), json!(names));
        attrs.insert("fits_hdu".into(), json!(index));
        let src = f.source().clone();
        let read = move |off: u64, len: u64| -> Result<Vec<u8>> {
            src.read_range(off..off + len)
                .map(|b| b.to_vec())
                .map_err(|e| Error::input(e.to_string()))
        };
        let Some(chunks) = b.contiguous(
            0,
            &item.name,
            &shape,
            stored.size() as u64,
            h.data_offset,
            file_len,
            &read,
        )?
        else {
            b.skip(format!(
                "{what}: the data does not lie within the file, or its chunk grid is too large; not mapped"
            ));
            continue;
        };
        b.array(ArraySpec {
            path: item.name.clone(),
            shape,
            chunks,
            dtype: dtype.into(),
            compressor: None,
            filters,
            fill_value: Value::Null,
            attrs,
        });
    }
    Ok(())
}

/// A tile-compressed image: one tile is one chunk, its bytes in the file. When a codec common to
/// all tiles decodes them (no quantization or null pixels, every tile a full tile in
/// COMPRESSED_DATA): GZIP_1 (`gzip`), GZIP_2 (`gzip` then `shuffle`), NOCOMPRESS (the tile's
/// big-endian values), integer RICE_1 / PLIO_1 / HCOMPRESS_1 (nd's `nd_fits_tile`), then the
/// image's scaling as for a plain image. Otherwise nd's `nd_fits_tile_table`, whose table
/// identifies each tile by its bytes and gives its parameters ([`super::tiles`]). An image with
/// more tiles than `group_tiles_above` maps a group of tiles (whole tile rows, one byte range)
/// to a chunk through `nd_fits_tile_group` where its heap allows, else as above with the reason
/// in the attribute `nd_tiles_not_grouped`. Else the reason.
fn tiles(
    f: &Fits,
    index: usize,
    name: &str,
    meta: &Map<String, Value>,
    groups: &mut dims::Groups,
    b: &mut Builder,
) -> std::result::Result<(), String> {
    let c = f.compressed_image(index).map_err(|e| e.to_string())?;
    let shape = c.shape().to_vec();
    let tile = c.tile_shape().to_vec();
    if tile.contains(&0) {
        return Err(format!("tile shape {tile:?}"));
    }
    let ntiles = shape
        .iter()
        .zip(&tile)
        .try_fold(1u64, |a, (&s, &t)| a.checked_mul(s.div_ceil(t)))
        .unwrap_or(u64::MAX);
    let src = f.source().clone();
    let read = move |r: std::ops::Range<u64>| -> std::result::Result<Vec<u8>, String> {
        src.read_range(r)
            .map(|b| b.to_vec())
            .map_err(|e| e.to_string())
    };
    let physical = c.tile_settings().dtype().typestr(Endian::Little);
    // many tiles: a group of tiles a chunk, where the heap holds them in order
    let mut not_grouped = None;
    let mut mapped = None;
    if ntiles > b.group_tiles_above {
        match super::tiles::group_codec(&c, &read, b.chunk_bytes) {
            Ok(m) => mapped = Some((physical.clone(), Some(m.config), vec![], m.chunks, m.ranges)),
            Err(why) => not_grouped = Some(why),
        }
    }
    let mapped = match mapped {
        Some(m) => m,
        None => match common_codec(&c)? {
            Some((dtype, compressor, filters, ranges)) => {
                (dtype, compressor, filters, tile.clone(), ranges)
            }
            None => match super::tiles::table_codec(&c, &read) {
                Ok(m) => (physical, Some(m.config), vec![], m.chunks, m.ranges),
                Err(why) => {
                    return Err(match not_grouped {
                        Some(g) => format!("{why}; and not grouped: {g}"),
                        None => why,
                    })
                }
            },
        },
    };
    let (dtype, compressor, filters, chunks, ranges) = mapped;
    let grid: Vec<u64> = shape
        .iter()
        .zip(&chunks)
        .map(|(&s, &c)| s.div_ceil(c))
        .collect();
    if grid.iter().product::<u64>() != ranges.len() as u64 {
        return Err(format!("{} chunks for a grid of {grid:?}", ranges.len()));
    }
    let mut attrs = attrs_json(&c.attributes());
    let names = dims::names(meta, shape.len(), true);
    attrs.insert(
        "_ARRAY_DIMENSIONS".into(),
        json!(groups.place(name, &shape, names)),
    );
    attrs.insert("fits_hdu".into(), json!(index));
    if let Some(why) = &not_grouped {
        // more tiles than the threshold but mapped one tile a chunk: say why they were not grouped
        attrs.insert("nd_tiles_not_grouped".into(), json!(why));
    }
    for (row, r) in ranges.iter().enumerate() {
        let key: Vec<String> = nd_core::shape::coords_of(row as u64, &grid)
            .iter()
            .map(u64::to_string)
            .collect();
        b.range(name, &key.join("."), r.start, r.end - r.start);
    }
    b.array(ArraySpec {
        path: name.to_string(),
        shape,
        chunks,
        dtype: dtype.into(),
        compressor,
        filters: (!filters.is_empty()).then_some(filters),
        fill_value: Value::Null,
        attrs,
    });
    Ok(())
}

/// The Zarr dtype, compressor and filters of an image whose tiles one codec decodes alone (no
/// quantization or null pixels, every tile a full tile in COMPRESSED_DATA), and the tiles'
/// byte ranges; `None` when the image needs a tile table.
#[allow(clippy::type_complexity)]
fn common_codec(
    c: &nd_fits::CompressedImage,
) -> std::result::Result<
    Option<(String, Option<Value>, Vec<Value>, Vec<std::ops::Range<u64>>)>,
    String,
> {
    let shape = c.shape();
    let tile = c.tile_shape();
    if shape.iter().zip(tile).any(|(&s, &t)| s % t != 0) {
        return Ok(None);
    }
    let Some(ranges) = c.uniform_tile_ranges() else {
        return Ok(None);
    };
    // the compressor, and whether GZIP_2's byte shuffle follows it
    let (compressor, shuffle) = match c.algorithm() {
        nd_fits::Algorithm::Gzip1 => (Some(json!({"id": "gzip", "level": 1})), false),
        nd_fits::Algorithm::Gzip2 => (Some(json!({"id": "gzip", "level": 1})), true),
        nd_fits::Algorithm::NoCompress => (None, false),
        _ => match c.tile_codec() {
            Some(t) if c.zbitpix() > 0 => (Some(super::codec::tile_config(&t, tile)), false),
            _ => return Ok(None),
        },
    };
    let zbitpix = c.zbitpix();
    let stored = match zbitpix {
        8 => DataType::UInt8,
        16 => DataType::Int16,
        32 => DataType::Int32,
        64 => DataType::Int64,
        -32 => DataType::Float32,
        -64 => DataType::Float64,
        z => return Err(format!("ZBITPIX {z}")),
    };
    let (dtype, filters) = scale_codec(zbitpix, &stored, c.scaling(), c.image_header());
    let mut filters = filters.unwrap_or_default();
    if shuffle {
        filters.push(json!({"id": "shuffle", "elementsize": stored.size()}));
    }
    Ok(Some((dtype, compressor, filters, ranges)))
}

/// The Zarr dtype and filters that turn the stored big-endian values into astropy's physical
/// values: the stored dtype alone; numcodecs `fixedscaleoffset` where its arithmetic
/// (`x / scale + offset` in float64, or float32 for float32 input, then `astype`) gives the same
/// floats as astropy's (`x * BSCALE + BZERO` in the result type); else nd's codec.
fn scale_codec(
    bitpix: i64,
    stored: &DataType,
    scaling: &Scaling,
    header: &nd_fits::Header,
) -> (String, Option<Vec<Value>>) {
    let st = stored.typestr(Endian::Big);
    let fso = |scale: f64, offset: f64, dtype: &str| json!({"id": "fixedscaleoffset", "scale": scale, "offset": offset, "dtype": dtype, "astype": st});
    let nd = |dtype: &str| {
        let mut c = Map::new();
        c.insert("id".into(), json!(ND_FITS_SCALE));
        c.insert("bitpix".into(), json!(bitpix));
        c.insert(
            "bscale".into(),
            json!(header.get_float("BSCALE").unwrap_or(1.0)),
        );
        c.insert(
            "bzero".into(),
            json!(header.get_float("BZERO").unwrap_or(0.0)),
        );
        let blank = match scaling {
            Scaling::F32 { blank, .. } | Scaling::F64 { blank, .. } => *blank,
            _ => None,
        };
        c.insert("blank".into(), json!(blank));
        (dtype.to_string(), Some(vec![Value::Object(c)]))
    };
    match scaling {
        Scaling::None => (st.clone(), None),
        Scaling::Int8 => ("|i1".into(), Some(vec![fso(1.0, -128.0, "|i1")])),
        Scaling::Unsigned => match bitpix {
            16 => ("<u2".into(), Some(vec![fso(1.0, 32768.0, "<u2")])),
            32 => ("<u4".into(), Some(vec![fso(1.0, 2147483648.0, "<u4")])),
            // 2^63 + x is not exact in float64
            _ => nd("<u8"),
        },
        Scaling::F32 { scale, zero, blank } => {
            let s = scale.map_or(1.0, f64::from);
            let z = zero.map_or(0.0, f64::from);
            let exact = blank.is_none()
                && power_of_two(s)
                // integer input is computed in float64 by numcodecs and rounded once to
                // float32: the same as astropy's float32 steps when the sum is exact in float64
                && (bitpix == -32 || sum_exact_in_f64(s, bitpix.unsigned_abs() as u32, z));
            if exact {
                ("<f4".into(), Some(vec![fso(1.0 / s, z, "<f4")]))
            } else {
                nd("<f4")
            }
        }
        Scaling::F64 { scale, zero, blank } => {
            let s = scale.unwrap_or(1.0);
            let z = zero.unwrap_or(0.0);
            // x / (1/s) is x * s exactly when s is a power of two; the addition is the same
            if blank.is_none() && power_of_two(s) {
                ("<f8".into(), Some(vec![fso(1.0 / s, z, "<f8")]))
            } else {
                nd("<f8")
            }
        }
    }
}

/// `s` is ± a normal power of two (so `1 / s` is exact and dividing by it is multiplying by `s`).
fn power_of_two(s: f64) -> bool {
    let b = s.abs().to_bits();
    s.is_finite() && b & ((1 << 52) - 1) == 0 && (b >> 52) != 0
}

/// `x * s + z` is exact in float64 for every integer `|x| < 2^bits` (`s` a power of two).
fn sum_exact_in_f64(s: f64, bits: u32, z: f64) -> bool {
    if z == 0.0 {
        return true;
    }
    if !z.is_finite() {
        return false;
    }
    let (mz, ez) = parts(z);
    let (_, es) = parts(s);
    let lo = es.min(ez);
    let hi = (es + bits as i32).max(ez + (64 - mz.leading_zeros()) as i32) + 1;
    hi - lo <= 53
}

/// `v = m * 2^e` with `m` odd (the magnitude), for a finite non-zero `v`.
fn parts(v: f64) -> (u64, i32) {
    let b = v.abs().to_bits();
    let exp = ((b >> 52) & 0x7ff) as i32;
    let frac = b & ((1 << 52) - 1);
    let (mut m, mut e) = if exp == 0 {
        (frac, -1074)
    } else {
        (frac | (1 << 52), exp - 1075)
    };
    while m != 0 && m & 1 == 0 {
        m >>= 1;
        e += 1;
    }
    (m, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn powers_of_two() {
        for s in [1.0, 2.0, 0.5, 0.125, -4.0, 1024.0] {
            assert!(power_of_two(s), "{s}");
        }
        for s in [0.1, 3.0, 0.0, f64::NAN, f64::INFINITY, 1.5] {
            assert!(!power_of_two(s), "{s}");
        }
    }

    #[test]
    fn exact_sums() {
        // int16 * 1 + 32768: spans 17 bits
        assert!(sum_exact_in_f64(1.0, 16, 32768.0));
        // int16 * 2^-20 + 1e6: spans 20 + 20 bits
        assert!(sum_exact_in_f64(2f64.powi(-20), 16, 1e6));
        // int16 * 2^-40 + 2^20: 60 bits, not exact
        assert!(!sum_exact_in_f64(2f64.powi(-40), 16, 2f64.powi(20)));
        // a float32 zero with a long mantissa far from the scale
        let z = f64::from(0.1f32);
        assert!(sum_exact_in_f64(1.0, 16, z));
        assert!(!sum_exact_in_f64(2f64.powi(30), 16, z));
        // brute force over small cases: exact means the f64 sum equals the exact rational sum
        for k in -30..30 {
            let s = 2f64.powi(k);
            for z in [0.3f32, 1e6, -7.25, 3e-5] {
                let z = f64::from(z);
                if sum_exact_in_f64(s, 16, z) {
                    for x in [-32768i64, -1, 0, 1, 12345, 32767] {
                        let p = x as f64 * s;
                        let sum = p + z;
                        // exact: subtracting back gives the parts
                        assert_eq!(sum - z, p, "k {k} z {z} x {x}");
                        assert_eq!(sum - p, z, "k {k} z {z} x {x}");
                    }
                }
            }
        }
    }
}
