//! Binary (BINTABLE) and ASCII (TABLE) tables: column descriptions and column values exactly as
//! astropy returns them (`hdul[i].data[name]`), variable-length arrays from the heap, and row
//! ranges that read only the rows' bytes.
//!
//! Result types follow astropy's `FITS_rec`: `L` → bool, `X` → bool bits, strings → `|S` with
//! trailing whitespace stripped, `TSCAL`/`TZERO` → float64 (uint16/32/64 for the unsigned
//! conventions on `I`/`J`/`K`), `TDIM` → the cell shape. See `spec-notes/fits-tables.md`.
//!
//! Here: [`Table`] and its header; `column` parses the column keywords (TFORM, TDIM, TSCAL/TZERO)
//! into [`Column`]s; `read` reads rows and heap arrays; `convert` turns stored cells into values,
//! with `ascii` for ASCII-table fields; `rows` decodes one column from rows fetched elsewhere.

mod array;
mod ascii;
mod column;
mod convert;
mod read;
mod rows;

use crate::card::Value;
use crate::error::{Error, Result};
use crate::hdu::{Hdu, HduKind};
use crate::header::Header;
use nd_core::ByteSource;
use std::sync::Arc;

pub use array::ColumnArray;
pub use column::{
    parse_ascii_tform, parse_bintable_tform, Column, ColumnFormat, ColumnScaling, ColumnSel,
};
pub use rows::decode_rows;

/// A table HDU opened for reading.
#[derive(Debug, Clone)]
pub struct Table {
    source: Arc<dyn ByteSource>,
    hdu: usize,
    ascii: bool,
    data_offset: u64,
    row_len: u64,
    nrows: u64,
    heap_start: u64,
    heap_len: u64,
    columns: Vec<Column>,
    header: Header,
}

impl Table {
    pub(crate) fn new(source: Arc<dyn ByteSource>, hdu: &Hdu) -> Result<Table> {
        let ascii = match hdu.kind {
            HduKind::BinTable | HduKind::CompressedImage => false,
            HduKind::Table => true,
            _ => {
                return Err(Error::Unsupported {
                    hdu: hdu.index,
                    msg: format!("HDU is not a table ({})", hdu.kind),
                })
            }
        };
        let h = &hdu.header;
        let terr = |column: Option<String>, msg: String| Error::Table {
            hdu: hdu.index,
            row: None,
            column,
            msg,
        };
        if hdu.naxes.len() != 2 || hdu.bitpix != 8 {
            return Err(terr(
                None,
                format!(
                    "a table needs BITPIX = 8 and NAXIS = 2 (found {} and {})",
                    hdu.bitpix,
                    hdu.naxes.len()
                ),
            ));
        }
        let row_len = hdu.naxes[0];
        let nrows = hdu.naxes[1];
        let tfields = h.get_int("TFIELDS").unwrap_or(0);
        if !(0..=999).contains(&tfields) {
            return Err(terr(None, format!("invalid TFIELDS {tfields}")));
        }
        let mut columns = Vec::with_capacity(tfields as usize);
        let mut offset = 0u64;
        for k in 1..=tfields as usize {
            let col = Column::from_header(h, k, ascii, offset, hdu.index)?;
            if !ascii {
                offset = offset
                    .checked_add(col.width)
                    .ok_or_else(|| terr(Some(col.label()), "row width overflows".into()))?;
            }
            if col.offset.saturating_add(col.width) > row_len {
                return Err(terr(
                    Some(col.label()),
                    format!(
                        "column {k} ({}) ends at byte {} of a row, past NAXIS1 = {row_len}",
                        col.tform,
                        col.offset.saturating_add(col.width)
                    ),
                ));
            }
            columns.push(col);
        }
        let table_bytes = row_len
            .checked_mul(nrows)
            .ok_or_else(|| terr(None, "table size overflows".into()))?;
        let theap = match h.get("THEAP") {
            Some(Value::Int(t)) if !ascii => {
                if *t < 0 {
                    return Err(terr(None, format!("negative THEAP {t}")));
                }
                *t as u64
            }
            _ => table_bytes,
        };
        let (heap_start, heap_len) = if theap > hdu.data_len {
            (hdu.data_len, 0)
        } else {
            (theap, hdu.data_len - theap)
        };
        Ok(Table {
            source,
            hdu: hdu.index,
            ascii,
            data_offset: hdu.data_offset,
            row_len,
            nrows,
            heap_start,
            heap_len,
            columns,
            header: hdu.header.clone(),
        })
    }

    /// The sum of the column widths (the bytes of a row the columns describe); a binary table
    /// conforms when it equals NAXIS1 (cfitsio refuses the HDU otherwise).
    pub fn columns_width(&self) -> u64 {
        self.columns
            .iter()
            .fold(0u64, |acc, c| acc.saturating_add(c.width))
    }

    /// Where nd reads this table differently from astropy, in words (empty when it does not):
    /// an ASCII table whose last column is a string field ending before the end of the row
    /// (TBCOL + width - 1 < NAXIS1). astropy widens that field to the end of the row, taking in
    /// the bytes after it; nd reads the TFORM width, as the standard defines the field
    /// (`spec-notes/fits-tables.md`, "ASCII tables"). A binary table whose TFORMn widths sum to
    /// less than NAXIS1: astropy steps through the rows by the sum of the widths, so from the
    /// second row on it reads every column from the wrong bytes; nd steps by NAXIS1, the row
    /// length as the standard defines it (`spec-notes/differential.md`).
    pub fn reading_notes(&self) -> Vec<String> {
        let mut out = Vec::new();
        let width = self.columns_width();
        if !self.ascii && width < self.row_len && self.nrows > 1 {
            out.push(format!(
                "HDU {}: the TFORMn widths of the binary table sum to {width} bytes, NAXIS1 = {}; \
                 astropy steps through the rows {width} bytes apart (every row after the first \
                 misread), nd reads rows of NAXIS1 bytes",
                self.hdu, self.row_len
            ));
        }
        if let Some(c) = self.columns.last() {
            let end = c.offset + c.width;
            let is_text = matches!(c.format, ColumnFormat::Ascii { code: 'A', .. });
            if self.ascii && is_text && end < self.row_len {
                out.push(format!(
                    "HDU {}: ASCII table column {} ({}) ends at byte {end} of a {}-byte row; \
                     astropy reads it {} bytes wide (to the end of the row), nd reads the TFORM \
                     width {}",
                    self.hdu,
                    c.label(),
                    c.tform,
                    self.row_len,
                    self.row_len - c.offset,
                    c.width
                ));
            }
        }
        out
    }

    /// The HDU index.
    pub fn hdu_index(&self) -> usize {
        self.hdu
    }

    /// True for an ASCII table.
    pub fn is_ascii(&self) -> bool {
        self.ascii
    }

    /// Number of rows (NAXIS2).
    pub fn nrows(&self) -> u64 {
        self.nrows
    }

    /// Bytes per row (NAXIS1).
    pub fn row_len(&self) -> u64 {
        self.row_len
    }

    /// The heap: byte offset from the start of the data (THEAP) and length.
    pub fn heap(&self) -> (u64, u64) {
        (self.heap_start, self.heap_len)
    }

    /// The table's header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The columns.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// Find a column by index or by name (exact match first, then case-insensitive).
    pub fn find_column<'a>(&self, sel: impl Into<ColumnSel<'a>>) -> Result<&Column> {
        let sel = sel.into();
        let found = match sel {
            ColumnSel::Index(i) => self.columns.get(i),
            ColumnSel::Name(n) => self.columns.iter().find(|c| c.name == n).or_else(|| {
                self.columns
                    .iter()
                    .find(|c| c.name.eq_ignore_ascii_case(n.trim()))
            }),
        };
        found.ok_or_else(|| Error::Table {
            hdu: self.hdu,
            row: None,
            column: Some(match sel {
                ColumnSel::Index(i) => format!("#{}", i + 1),
                ColumnSel::Name(n) => n.to_string(),
            }),
            msg: format!("no such column (the table has {})", self.columns.len()),
        })
    }

    /// The source the table reads from.
    pub(crate) fn source(&self) -> &Arc<dyn ByteSource> {
        &self.source
    }
}
