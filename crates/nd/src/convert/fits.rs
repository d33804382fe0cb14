//! FITS output: images streamed into place, tables a block of rows at a time, tile-compressed
//! images built in memory
//! (within the budget), all in one file under a temporary name.

use super::{fit_chunks, open_table, ConvertArgs};
use crate::backend::{Backend, ConvertItem, ConvertPlan, TableSpec};
use crate::error::{Error, Result};
use nd_core::DataType;
use serde_json::{Map, Value};

/// FITS cards from an array's metadata: the raw cards of `fits_header` when present (as written by
/// a conversion from FITS), otherwise one card per scalar attribute.
fn fits_cards(
    meta: &Map<String, Value>,
    extname: Option<&str>,
    notes: &mut Vec<String>,
) -> Result<Vec<nd_fits::Card>> {
    let mut text = Vec::new();
    if let Some(list) = meta.get("fits_header").and_then(|v| v.as_array()) {
        for c in list {
            if let Some(s) = c.as_str() {
                let b = s.as_bytes();
                for img in b.chunks(80) {
                    let mut card = img.to_vec();
                    card.resize(80, b' ');
                    text.extend_from_slice(&card);
                }
            }
        }
    } else {
        for (k, v) in meta {
            if k == "_ARRAY_DIMENSIONS" {
                // xarray's dimension names (Zarr v2): FITS has no card for them
                continue;
            }
            let key = k.to_ascii_uppercase();
            let scalar: Option<nd_fits::Value> = match v {
                Value::Bool(b) => Some(nd_fits::Value::Bool(*b)),
                Value::Number(n) if n.is_i64() => n.as_i64().map(nd_fits::Value::Int),
                Value::Number(n) => n.as_f64().map(nd_fits::Value::Float),
                Value::String(s) => Some(nd_fits::Value::Str(s.clone())),
                _ => None,
            };
            let ok_key = !key.is_empty()
                && key.len() <= 8
                && key.bytes().all(|b| {
                    b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_' || b == b'-'
                });
            match scalar {
                Some(val) if ok_key && !crate::formats::fits::is_structural(&key) => {
                    let card = nd_fits::Card::new(&key, val, None)
                        .map_err(|e| Error::input(format!("attribute '{k}': {e}")))?;
                    let raw = card.raw().as_bytes().to_vec();
                    for img in raw.chunks(80) {
                        let mut c = img.to_vec();
                        c.resize(80, b' ');
                        text.extend_from_slice(&c);
                    }
                }
                _ => notes.push(format!(
                    "attribute '{k}' has no FITS card form; not written"
                )),
            }
        }
    }
    let mut end = b"END".to_vec();
    end.resize(80, b' ');
    text.extend_from_slice(&end);
    let (h, _) = nd_fits::Header::from_bytes(&text)
        .map_err(|e| Error::input(format!("metadata cards: {e}")))?;
    let mut cards: Vec<nd_fits::Card> = h.cards().to_vec();
    if let Some(name) = extname {
        if !cards.iter().any(|c| c.keyword() == "EXTNAME") {
            cards.insert(
                0,
                nd_fits::Card::new("EXTNAME", nd_fits::Value::Str(name.to_string()), None)
                    .map_err(|e| Error::input(e.to_string()))?,
            );
        }
    }
    Ok(cards)
}

fn check_fits_dtype(dt: &DataType, name: &str, dst: &str) -> Result<()> {
    use DataType::*;
    match dt {
        Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 | Float32 | Float64 => {
            Ok(())
        }
        other => Err(Error::input(format!(
            "{dst}: array '{name}' holds {other} values, which a FITS image cannot hold"
        ))),
    }
}

/// Add one HDU built in memory (a table or a compressed image) at the end of the partial FITS
/// file `tmp`: when nothing is written yet, the file starts with an empty primary HDU; otherwise
/// the HDU is written to a scratch file and its bytes appended.
fn add_memory_hdu(
    tmp: &str,
    started: bool,
    checksum: bool,
    add: impl FnOnce(&mut nd_fits::FitsWriter) -> nd_fits::Result<()>,
) -> Result<(), String> {
    use std::io::{Seek, SeekFrom};
    // after the first HDU, a scratch file beside the partial one (removed when done)
    let scratch = if started {
        Some(nd_core::io::TempFile::create(format!("{tmp}.hdu")).map_err(|e| e.to_string())?)
    } else {
        None
    };
    let target = match &scratch {
        Some(t) => t.path().display().to_string(),
        None => tmp.to_string(),
    };
    let mut w = nd_fits::FitsWriter::create(&target);
    w.set_checksums(checksum);
    w.add_empty_primary(&[]).map_err(|e| e.to_string())?;
    add(&mut w).map_err(|e| e.to_string())?;
    w.finish().map_err(|e| e.to_string())?;
    if !started {
        return Ok(());
    }
    let res = (|| -> Result<(), String> {
        let off = {
            let f = nd_fits::Fits::open(&target).map_err(|e| e.to_string())?;
            f.hdu(1).map_err(|e| e.to_string())?.header_offset
        };
        let mut inp = std::fs::File::open(&target).map_err(|e| e.to_string())?;
        inp.seek(SeekFrom::Start(off)).map_err(|e| e.to_string())?;
        let mut out = std::fs::OpenOptions::new()
            .append(true)
            .open(tmp)
            .map_err(|e| e.to_string())?;
        std::io::copy(&mut inp, &mut out).map_err(|e| e.to_string())?;
        Ok(())
    })();
    drop(scratch);
    res
}

/// Write a table item as a BINTABLE appended to the partial FITS file `tmp`, a block of rows at
/// a time: every column's rows of the block are read (names, units, TNULL and bits from
/// `fits_table.columns` when the table came from FITS), laid out and written. A block's values,
/// their cells and the interleaved rows take about three times its size: a block is a quarter of
/// the memory budget (at least one row).
fn stream_table(
    ds: &dyn Backend,
    item: &ConvertItem,
    spec: &TableSpec,
    a: &ConvertArgs,
    tmp: &str,
    cards: &[nd_fits::Card],
) -> Result<()> {
    use nd_fits::{ColumnData, ColumnValues};
    let described: Vec<&Map<String, Value>> = item
        .meta
        .get("fits_table")
        .and_then(|t| t.get("columns"))
        .and_then(|c| c.as_array())
        .map(|v| v.iter().filter_map(|c| c.as_object()).collect())
        .unwrap_or_default();
    let cols = open_table(ds, spec)?;
    let nrows = cols
        .first()
        .and_then(|(_, s)| s.shape().first().copied())
        .unwrap_or(0);
    let mut row_bytes: u64 = 0;
    for (col, src) in &cols {
        if src.shape().first() != Some(&nrows) {
            return Err(Error::input(format!(
                "{}: table '{}': column '{}' has shape {}, not {nrows} rows",
                a.src,
                item.name,
                col.key,
                nd_core::fmt_shape(src.shape().iter())
            )));
        }
        let cell: u64 = src.shape()[1..].iter().product();
        row_bytes = row_bytes.saturating_add(cell.saturating_mul(src.dtype().size() as u64));
    }
    let block = (a.opts.budget as u64 / 4 / row_bytes.max(1)).clamp(1, nrows.max(1));
    let read_block = |r0: u64, n: u64| -> Result<Vec<ColumnData>> {
        let mut out = Vec::with_capacity(cols.len());
        for (col, src) in &cols {
            let d = described
                .iter()
                .find(|d| d.get("array").and_then(|x| x.as_str()) == Some(col.key.as_str()));
            let field = |k: &str| d.and_then(|d| d.get(k));
            let mut start = vec![0u64; src.shape().len()];
            let mut count = src.shape().to_vec();
            start[0] = r0;
            count[0] = n;
            let buf = src
                .read_region(&nd_core::Region::from_start_shape(&start, &count))
                .map_err(|e| Error::input(format!("{}: {}: {e}", a.src, col.selector)))?;
            let name = field("name")
                .and_then(|n| n.as_str())
                .unwrap_or(&col.key)
                .to_string();
            let bits = field("bits").and_then(|b| b.as_bool()) == Some(true)
                && buf.dtype() == &DataType::Bool;
            let mut c = if bits {
                ColumnData::new(name, ColumnValues::Bits(buf))
            } else {
                ColumnData::array(name, buf)
            };
            if let Some(u) = field("unit").and_then(|u| u.as_str()) {
                c = c.with_unit(u);
            }
            if let Some(nl) = field("null").and_then(|n| n.as_i64()) {
                if c_is_integer(&c) {
                    c = c.with_null(nl);
                }
            }
            out.push(c);
        }
        Ok(out)
    };
    let err =
        |e: &dyn std::fmt::Display| Error::input(format!("{}: table '{}': {e}", a.dst, item.name));
    let first = block.min(nrows);
    let mut w =
        nd_fits::FitsTableWriter::append(tmp, nrows, &read_block(0, first)?, cards, a.checksum)
            .map_err(|e| err(&e))?;
    let mut r = first;
    while r < nrows {
        let n = block.min(nrows - r);
        w.write_rows(&read_block(r, n)?).map_err(|e| err(&e))?;
        r += n;
    }
    w.finish().map_err(|e| err(&e))
}

fn c_is_integer(c: &nd_fits::ColumnData) -> bool {
    matches!(&c.values, nd_fits::ColumnValues::Array(b) if b.dtype().is_integer())
}

pub(super) fn convert_to_fits(
    ds: &dyn Backend,
    plan: &ConvertPlan,
    single: bool,
    a: &ConvertArgs,
    compress: Option<nd_fits::CompressOptions>,
    notes: &mut Vec<String>,
) -> Result<()> {
    let dst = a.dst;
    let dst_err = |e: &dyn std::fmt::Display| Error::input(format!("{dst}: {e}"));
    // Types, sizes and compression first, so nothing is written when an item cannot go.
    let mut items = Vec::new();
    for item in &plan.items {
        if item.table.is_some() {
            items.push((item, None));
            continue;
        }
        let src = ds.open_array(&item.selector)?;
        check_fits_dtype(src.dtype(), &item.name, dst)?;
        if let Some(o) = &compress {
            use nd_fits::Algorithm;
            let dt = src.dtype();
            let float = matches!(dt, DataType::Float32 | DataType::Float64);
            let wide = matches!(dt, DataType::Int64 | DataType::UInt64);
            let why = match o.algorithm {
                Algorithm::Rice | Algorithm::Plio if wide => {
                    Some("64-bit integers need gzip_1 or gzip_2")
                }
                Algorithm::Plio if float => Some("PLIO_1 takes integer images only"),
                _ if src.shape().is_empty() => Some("a compressed image needs at least one axis"),
                _ => None,
            };
            if let Some(why) = why {
                return Err(Error::input(format!(
                    "{dst}: array '{}' ({dt}) cannot be written with {}: {why}",
                    item.name,
                    o.algorithm.name()
                )));
            }
        }
        items.push((item, Some(src)));
    }
    // the file is built under a temporary name (removed on failure or interruption)
    let building = nd_core::io::TempFile::create(dst).map_err(|e| dst_err(&e))?;
    let tmp_dst = building.path().display().to_string();
    let res = (|| -> Result<()> {
        let mut started = false;
        if !single {
            if let Some(Value::Array(_)) = plan.meta.get("fits_header") {
                let cards = fits_cards(&plan.meta, None, notes)?;
                let mut w = nd_fits::FitsWriter::create(&tmp_dst);
                w.set_checksums(a.checksum);
                w.add_empty_primary(&cards).map_err(|e| dst_err(&e))?;
                w.finish().map_err(|e| dst_err(&e))?;
                started = true;
            }
        }
        for (item, src) in items {
            let Some(src) = src else {
                // a table: a BINTABLE written a block of rows at a time, after an empty primary
                let Some(spec) = &item.table else { continue };
                let extname = (!single).then_some(item.name.as_str());
                let cards = fits_cards(&item.meta, extname, notes)?;
                if !started {
                    let mut w = nd_fits::FitsWriter::create(&tmp_dst);
                    w.set_checksums(a.checksum);
                    w.add_empty_primary(&[]).map_err(|e| dst_err(&e))?;
                    w.finish().map_err(|e| dst_err(&e))?;
                    started = true;
                }
                stream_table(ds, item, spec, a, &tmp_dst, &cards)?;
                continue;
            };
            if let Some(o) = &compress {
                // a tile-compressed image: read a slab of tile rows at a time (half the budget),
                // its compressed tiles held until the HDU is written (at most a quarter of the
                // budget: building the HDU takes about three times their size)
                let mut o = o.clone();
                if let Some(c) = &a.chunks {
                    o.tile = Some(fit_chunks(c, src.shape(), &item.name)?);
                }
                let extname = (!single).then_some(item.name.as_str());
                let cards = fits_cards(&item.meta, extname, notes)?;
                add_memory_hdu(&tmp_dst, started, a.checksum, |w| {
                    w.add_compressed_image_from(&*src, a.opts.budget / 2, &o, &cards)
                })
                .map_err(|e| Error::input(format!("{dst}: array '{}': {e}", item.name)))?;
                started = true;
                if single {
                    break;
                }
                continue;
            }
            let extname = if started && !single {
                Some(item.name.as_str())
            } else {
                None
            };
            let cards = fits_cards(&item.meta, extname, notes)?;
            let w = if started {
                nd_fits::FitsImageWriter::append(
                    &tmp_dst,
                    src.dtype().clone(),
                    src.shape(),
                    &cards,
                    a.checksum,
                )
            } else {
                nd_fits::FitsImageWriter::create(
                    &tmp_dst,
                    src.dtype().clone(),
                    src.shape(),
                    &cards,
                    a.checksum,
                )
            }
            .map_err(|e| dst_err(&e))?;
            nd_ops::copy(&*src, &w, &a.opts)
                .map_err(|e| Error::input(format!("{} -> {dst}: {}: {e}", a.src, item.name)))?;
            started = true;
            if single {
                break;
            }
        }
        if super::gzip_out::is_gzip_name(dst) {
            super::gzip_out::persist_gzipped(&building, dst)
        } else {
            building.persist().map_err(|e| dst_err(&e))
        }
    })();
    res
}
