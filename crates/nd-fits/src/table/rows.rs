//! One column decoded from a run of whole rows held in memory, without a [`Table`]: what a
//! reader that fetched the rows' bytes itself needs (nd's `nd_fits_column` codec for virtual-Zarr
//! references, whose chunks are runs of rows). The column comes from its header keywords and the
//! values from the same conversions [`Table::column`] uses, so they are astropy's values.
//!
//! [`Table`]: super::Table
//! [`Table::column`]: super::Table::column

use super::column::Column;
use super::convert::{conv_of, convert_column};
use crate::error::{Error, Result};
use crate::header::Header;

impl Column {
    /// Column `k` (1-based) described by the keywords of `h` (`TTYPEk`, `TFORMk`, `TSCALk`,
    /// `TZEROk`, `TNULLk`, `TDIMk`, `TUNITk`; `TBCOLk` for an ASCII table), at byte `offset` of a
    /// binary table's row (an ASCII table's column starts at `TBCOLk - 1`). The same decisions
    /// (element type, cell shape, scaling) as for a column of a table read from a file.
    ///
    /// # Errors
    /// [`Error::Table`] for a missing or invalid `TFORMk` (or `TBCOLk`), or a `TSCALk` / `TZEROk`
    /// that is not a number.
    /// `hdu` is the HDU index errors name.
    pub fn from_keywords(
        h: &Header,
        k: usize,
        ascii: bool,
        offset: u64,
        hdu: usize,
    ) -> Result<Column> {
        Column::from_header(h, k, ascii, offset, hdu)
    }

    /// Bytes of one row's decoded cell (the element size times the cell's elements).
    pub fn cell_bytes(&self) -> u64 {
        self.cell_elems() * self.dtype.size() as u64
    }
}

/// The values of fixed-width column `c` for `nrows` rows, from `data`: whole rows of `row_len`
/// bytes, the first of them row 0 of the result. Rows that `data` does not hold (a short last run
/// of rows) are zero; bytes past the last whole row are ignored. The result is `nrows` cells of
/// [`Column::cell_bytes`] each, C order, native byte order, in the column's `dtype`.
///
/// # Errors
/// [`Error::Table`] (naming the row within `data`) for a variable-length column, a column that
/// does not lie within the row, or a cell that does not convert (an ASCII field that is not a
/// number); [`Error::Invalid`] when the result would not fit in memory. `hdu` is the HDU index
/// errors name.
pub fn decode_rows(
    c: &Column,
    hdu: usize,
    row_len: u64,
    data: &[u8],
    nrows: u64,
) -> Result<Vec<u8>> {
    let err = |row: Option<u64>, msg: String| Error::Table {
        hdu,
        row,
        column: Some(c.label()),
        msg,
    };
    let conv = conv_of(c).ok_or_else(|| {
        err(
            None,
            "variable-length column: its values are in the heap, not in the rows".into(),
        )
    })?;
    if c.offset.saturating_add(c.width) > row_len {
        return Err(err(
            None,
            format!(
                "column ({} bytes at byte {} of a row) does not lie within a {row_len}-byte row",
                c.width, c.offset
            ),
        ));
    }
    let co = c.cell_bytes();
    let len = nrows
        .checked_mul(co)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| Error::Invalid(format!("{nrows} rows of {co} bytes overflow")))?;
    let mut out = vec![0u8; len];
    if len == 0 || row_len == 0 {
        return Ok(out);
    }
    let have = (data.len() as u64 / row_len).min(nrows) as usize;
    let (off, w) = (c.offset as usize, c.width as usize);
    let cells = data
        .chunks_exact(row_len as usize)
        .take(have)
        .map(|row| &row[off..off + w]);
    convert_column(&conv, cells, co as usize, &mut out[..have * co as usize])
        .map_err(|(i, m)| err(Some(i as u64), m))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::card::Value;

    fn header(cards: &[(&str, Value)]) -> Header {
        let mut h = Header::new();
        for (k, v) in cards {
            h.set(k, v.clone(), None).unwrap();
        }
        h
    }

    #[test]
    fn scaled_unsigned_logical_bits_and_strings() {
        // a row: 1I scaled, 1J unsigned, 2L, 10X, 4A = 2 + 4 + 2 + 2 + 4 = 14 bytes
        let h = header(&[
            ("TFORM1", "1I".into()),
            ("TSCAL1", Value::Float(0.5)),
            ("TZERO1", Value::Float(10.0)),
            ("TFORM2", "1J".into()),
            ("TZERO2", Value::Int(1 << 31)),
            ("TFORM3", "2L".into()),
            ("TFORM4", "10X".into()),
            ("TFORM5", "4A".into()),
        ]);
        let mut rows = Vec::new();
        for r in 0..3i16 {
            rows.extend((r * 4).to_be_bytes());
            rows.extend((i32::MIN + i32::from(r)).to_be_bytes());
            rows.extend(if r == 1 { b"TF" } else { b"F\0" });
            rows.extend([0b1010_0000u8, 0b0100_0000]);
            rows.extend(b"ab  ");
        }
        let offsets = [0, 2, 6, 8, 10];
        let col = |k: usize| Column::from_keywords(&h, k, false, offsets[k - 1], 1).unwrap();
        // two rows asked of three given: the third is ignored; five asked: two are zero
        let v = decode_rows(&col(1), 1, 14, &rows, 2).unwrap();
        let f: Vec<f64> = v
            .chunks(8)
            .map(|b| f64::from_ne_bytes(b.try_into().unwrap()))
            .collect();
        assert_eq!(f, [10.0, 12.0]);
        let v = decode_rows(&col(2), 1, 14, &rows, 5).unwrap();
        let u: Vec<u32> = v
            .chunks(4)
            .map(|b| u32::from_ne_bytes(b.try_into().unwrap()))
            .collect();
        assert_eq!(u, [0, 1, 2, 0, 0]);
        assert_eq!(
            decode_rows(&col(3), 1, 14, &rows, 3).unwrap(),
            [0, 0, 1, 0, 0, 0]
        );
        let bits = decode_rows(&col(4), 1, 14, &rows, 1).unwrap();
        assert_eq!(bits, [1, 0, 1, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(decode_rows(&col(5), 1, 14, &rows, 1).unwrap(), b"ab\0\0");
        // a column past the row, a variable-length column
        assert!(decode_rows(&col(5), 1, 12, &rows, 1).is_err());
        let vla = header(&[("TFORM1", "1PJ(3)".into())]);
        let c = Column::from_keywords(&vla, 1, false, 0, 1).unwrap();
        assert!(decode_rows(&c, 1, 8, &[0; 8], 1).is_err());
    }

    #[test]
    fn ascii_fields_and_their_errors_name_the_row() {
        let h = header(&[
            ("TFORM1", "F6.2".into()),
            ("TBCOL1", Value::Int(2)),
            ("TNULL1", "*".into()),
        ]);
        let c = Column::from_keywords(&h, 1, true, 0, 1).unwrap();
        let v = decode_rows(&c, 1, 7, b" 1.25   *      ", 2).unwrap();
        let f: Vec<f64> = v
            .chunks(8)
            .map(|b| f64::from_ne_bytes(b.try_into().unwrap()))
            .collect();
        assert_eq!(f[0], 1.25);
        assert!(f[1].is_nan());
        let e = decode_rows(&c, 1, 7, b" 1.25   abc   ", 2).unwrap_err();
        assert!(e.to_string().contains("row 1"), "{e}");
    }
}
