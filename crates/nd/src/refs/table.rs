//! FITS tables (BINTABLE and ASCII TABLE) as Zarr groups of column arrays whose chunks are runs
//! of whole rows.
//!
//! A column's values are strided within the rows and a reference names one contiguous byte
//! range, so a chunk of every column is the same run of rows (`rows` rows, about
//! `--chunk-mib`), and nd's codec [`super::ND_FITS_COLUMN`] takes the column out of those rows and
//! converts it to astropy's values with nd-fits' own table conversions
//! ([`nd_fits::table::decode_rows`]): TSCAL/TZERO, the unsigned conventions, logicals, bits,
//! strings, complex, TDIM cells, ASCII fields with their TNULL. The last chunk references only the
//! table's remaining rows; the codec fills the rest of its output with zeros (cropped by zarr), so
//! no chunk is ever given inline. Names are `nd convert`'s (`<table>/<column>`, `dim_0` the row
//! axis shared by the columns), so the references and a converted store open as the same
//! xarray datasets (`spec-notes/virtual-zarr.md`, "Tables").

use super::{attrs_json, ArraySpec, Builder, ND_FITS_COLUMN};
use crate::backend::{ConvertItem, TableSpec};
use crate::convert::dims;
use crate::error::{Error, Result};
use crate::formats::fits::is_table_structural;
use nd_core::DataType;
use nd_fits::{Column, Fits};
use serde_json::{json, Map, Value};

/// The column keywords a `nd_fits_column` configuration carries (as column 1), the values
/// [`Column::from_keywords`] decides the column from.
const KEYWORDS: [&str; 7] = ["TTYPE", "TFORM", "TSCAL", "TZERO", "TNULL", "TDIM", "TBCOL"];

/// Add the table HDU `index` (planned as `item` with the columns of `spec`): a group named
/// `item.name` with one array per fixed-width column. Returns the reason when the table cannot
/// be mapped at all; columns that cannot be mapped are listed in `nd_skipped`.
pub(super) fn build(
    f: &Fits,
    index: usize,
    item: &ConvertItem,
    spec: &TableSpec,
    groups: &mut dims::Groups,
    b: &mut Builder,
) -> std::result::Result<(), String> {
    let t = f.table(index).map_err(|e| e.to_string())?;
    let h = f.hdu(index).map_err(|e| e.to_string())?;
    let what = match h.name() {
        n if n.is_empty() => format!("HDU {index}"),
        n => format!("HDU {index} ({n})"),
    };
    let (row_len, nrows) = (t.row_len(), t.nrows());
    let end = row_len
        .checked_mul(nrows)
        .and_then(|n| n.checked_add(h.data_offset))
        .ok_or("the table's size overflows")?;
    let file_len = f.source().len();
    if end > file_len {
        return Err(format!(
            "the rows end at byte {end}, past the end of the file ({file_len} bytes)"
        ));
    }
    for c in t.columns().iter().filter(|c| c.is_variable()) {
        b.skip(format!(
            "{what} column '{}' ({}): variable-length arrays lie in the heap at per-row offsets and have no fixed-shape form; not mapped",
            c.label(),
            c.tform
        ));
    }
    // the planned columns (fixed-width, named as `nd convert` names them)
    let mut cols: Vec<(&str, &Column)> = Vec::new();
    for tc in &spec.columns {
        let n = tc
            .selector
            .rsplit_once("/#")
            .and_then(|(_, n)| n.parse::<usize>().ok())
            .filter(|&n| n >= 1 && n <= t.columns().len())
            .ok_or_else(|| format!("column selector {:?}", tc.selector))?;
        cols.push((tc.key.as_str(), &t.columns()[n - 1]));
    }
    // rows per chunk: the rows and every column's decoded rows about `chunk_bytes`
    let widest = cols
        .iter()
        .map(|(_, c)| c.cell_bytes())
        .chain([row_len])
        .max()
        .unwrap_or(1)
        .max(1);
    let rows = (b.chunk_bytes / widest).clamp(1, nrows.max(1));
    let nchunks = nrows.div_ceil(rows);
    if nchunks > super::chunks::MAX_CHUNKS {
        return Err(format!("{nchunks} chunks of {rows} rows: too many"));
    }
    let mut group = attrs_json(&h.attributes());
    group.retain(|k, _| !is_table_structural(k));
    group.insert("fits_hdu".into(), json!(index));
    if let Some(ft) = item.meta.get("fits_table") {
        group.insert("fits_table".into(), ft.clone());
    }
    b.group(&item.name, group);
    for (key, c) in cols {
        let path = format!("{}/{key}", item.name);
        let config = match codec_config(t.header(), c, index, t.is_ascii(), row_len, rows) {
            Ok(cfg) => cfg,
            Err(why) => {
                b.skip(format!(
                    "{what} column '{}' ({}): {why}; not mapped",
                    c.label(),
                    c.tform
                ));
                continue;
            }
        };
        let mut shape = vec![nrows];
        shape.extend_from_slice(&c.shape);
        let mut chunks = vec![rows];
        chunks.extend(c.shape.iter().map(|&d| d.max(1)));
        let names = dims::names(&Map::new(), shape.len(), false);
        let mut attrs = Map::new();
        attrs.insert(
            "_ARRAY_DIMENSIONS".into(),
            json!(groups.place(&path, &shape, names)),
        );
        attrs.insert("fits_hdu".into(), json!(index));
        attrs.insert("fits_column".into(), json!(c.index + 1));
        attrs.insert("fits_name".into(), json!(c.name));
        attrs.insert("fits_tform".into(), json!(c.tform));
        if let Some(u) = c.unit.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
            attrs.insert("units".into(), json!(u));
        }
        // an empty cell or no rows: no chunk is ever read
        if c.shape.iter().product::<u64>() > 0 && row_len > 0 {
            let cell_key: String = c.shape.iter().map(|_| ".0").collect();
            for k in 0..nchunks {
                let first = k * rows;
                let n = rows.min(nrows - first);
                b.range(
                    &path,
                    &format!("{k}{cell_key}"),
                    h.data_offset + first * row_len,
                    n * row_len,
                );
            }
        }
        b.array(ArraySpec {
            path,
            shape,
            chunks,
            dtype: crate::typestr(&c.dtype).into(),
            compressor: Some(config),
            filters: None,
            fill_value: Value::Null,
            attrs,
        });
    }
    Ok(())
}

/// The `nd_fits_column` configuration of column `c` of a table with `header`: the HDU (for
/// errors), the row layout, the rows of a chunk and the column's keywords as column 1; else why
/// the column has none (a keyword value JSON cannot carry exactly).
fn codec_config(
    header: &nd_fits::Header,
    c: &Column,
    hdu: usize,
    ascii: bool,
    row_len: u64,
    rows: u64,
) -> std::result::Result<Value, String> {
    let mut kw = Map::new();
    for k in KEYWORDS {
        let key = format!("{k}{}", c.index + 1);
        let Some(v) = header.get(&key) else { continue };
        let j = match v {
            nd_fits::Value::Int(i) => json!(i),
            nd_fits::Value::BigInt(s) => match (s.parse::<u64>(), s.parse::<i64>()) {
                (Ok(u), _) => json!(u),
                (_, Ok(i)) => json!(i),
                _ => return Err(format!("{key} = {s} does not fit a 64-bit JSON integer")),
            },
            nd_fits::Value::Float(x) => serde_json::Number::from_f64(*x)
                .map(Value::Number)
                .ok_or_else(|| format!("{key} = {x} is not finite"))?,
            nd_fits::Value::Str(s) => json!(s),
            // other types: astropy and nd read them as absent (TNULL) or refuse the table
            _ => continue,
        };
        kw.insert(k.to_string(), j);
    }
    Ok(json!({
        "id": ND_FITS_COLUMN,
        "hdu": hdu,
        "ascii": ascii,
        "row_bytes": row_len,
        "rows": rows,
        "offset": c.offset,
        "keywords": kw,
    }))
}

/// Decode one chunk with a `nd_fits_column` configuration: the column's values for `rows` rows
/// from `data` (whole rows; a short last chunk's missing rows are zeros), at most `max_len`
/// bytes. Returns the values' type and bytes (native byte order).
pub(super) fn decode(config: &Value, data: &[u8], max_len: usize) -> Result<(DataType, Vec<u8>)> {
    let bad = |what: &str| Error::input(format!("codec {ND_FITS_COLUMN:?}: {what}"));
    let uint = |k: &str| {
        config[k]
            .as_u64()
            .ok_or_else(|| bad(&format!("`{k}` must be a non-negative integer")))
    };
    let (hdu, row_len, rows, offset) = (
        uint("hdu")?,
        uint("row_bytes")?,
        uint("rows")?,
        uint("offset")?,
    );
    let ascii = config["ascii"]
        .as_bool()
        .ok_or_else(|| bad("`ascii` must be true or false"))?;
    let kw = config["keywords"]
        .as_object()
        .ok_or_else(|| bad("`keywords` must be an object"))?;
    let mut h = nd_fits::Header::new();
    for (k, v) in kw {
        if !KEYWORDS.contains(&k.as_str()) {
            return Err(bad(&format!("unknown keyword {k:?}")));
        }
        let v = match v {
            Value::String(s) => nd_fits::Value::Str(s.clone()),
            Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(i), _, _) => nd_fits::Value::Int(i),
                (None, Some(u), _) => nd_fits::Value::BigInt(u.to_string()),
                (_, _, Some(x)) => nd_fits::Value::Float(x),
                _ => return Err(bad(&format!("keyword {k}: {n}"))),
            },
            other => {
                return Err(bad(&format!(
                    "keyword {k}: {other} is not a number or text"
                )))
            }
        };
        h.set(&format!("{k}1"), v, None)
            .map_err(|e| bad(&e.to_string()))?;
    }
    let hdu = usize::try_from(hdu).map_err(|_| bad("`hdu` too large"))?;
    let c = Column::from_keywords(&h, 1, ascii, offset, hdu).map_err(|e| bad(&e.to_string()))?;
    rows.checked_mul(c.cell_bytes())
        .filter(|&n| n <= max_len as u64)
        .ok_or_else(|| bad("decoded chunk larger than allowed"))?;
    let out = nd_fits::table::decode_rows(&c, hdu, row_len, data, rows)
        .map_err(|e| bad(&e.to_string()))?;
    Ok((c.dtype, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configurations_that_are_not_valid_are_errors() {
        let ok = json!({"id": ND_FITS_COLUMN, "hdu": 1, "ascii": false, "row_bytes": 4,
                        "rows": 2, "offset": 0, "keywords": {"TFORM": "1J", "TZERO": 2147483648u64}});
        let (dt, out) = decode(&ok, &[0x80, 0, 0, 5], 64).unwrap();
        assert_eq!(dt, DataType::UInt32);
        assert_eq!(
            out,
            [5, 0, 0, 0, 0, 0, 0, 0],
            "unsigned, the missing row zero"
        );
        let with = |k: &str, v: Value| {
            let mut c = ok.clone();
            c[k] = v;
            decode(&c, &[0; 8], 64).unwrap_err().to_string()
        };
        assert!(with("rows", json!(1u64 << 40)).contains("larger than allowed"));
        assert!(with("rows", json!(-1)).contains("`rows`"));
        assert!(with("ascii", json!(1)).contains("`ascii`"));
        assert!(with("offset", json!(2)).contains("does not lie within"));
        assert!(with("keywords", json!({"TFORM": "1PJ"})).contains("variable-length"));
        assert!(with("keywords", json!({"TFORM": "Z"})).contains("TFORM1"));
        assert!(with("keywords", json!({"TFORM": "J", "BSCALE": 2})).contains("BSCALE"));
        assert!(with("keywords", json!({"TFORM": "J", "TSCAL": [1]})).contains("TSCAL"));
        // an ASCII field that is not a number names the row
        let a = json!({"id": ND_FITS_COLUMN, "hdu": 2, "ascii": true, "row_bytes": 3,
                       "rows": 2, "offset": 0, "keywords": {"TFORM": "I3", "TBCOL": 1}});
        let e = decode(&a, b" 12abc", 64).unwrap_err().to_string();
        assert!(e.contains("HDU 2, row 1"), "{e}");
    }
}
