//! A binary table written a block of rows at a time (out-of-core conversion): the header is
//! written first (its layout taken from the first block), each block of rows is laid out and
//! written at its place, and finishing pads, fills in CHECKSUM/DATASUM if asked and renames into
//! place. Fixed-width columns only (a variable-length column's heap needs every row first).

use crate::card::Card;
use crate::error::{Error, Result};
use crate::header::Header;
use crate::write::{copy_prefix, existing_end, finish_checksums, pad_len, write_at};
use crate::write_table::{bintable_header, interleave, lay_out_fixed, with_user_cards, ColumnData};
use nd_core::io::TempFile;
use std::path::Path;

/// A BINTABLE extension appended to a FITS file a block of rows at a time.
///
/// ```no_run
/// use nd_core::ArrayBuf;
/// use nd_fits::{ColumnData, FitsTableWriter, FitsWriter};
/// let mut w = FitsWriter::create("t.fits");
/// w.add_empty_primary(&[])?;
/// w.finish()?;
/// let block = |r0: i32| -> nd_core::Result<Vec<ColumnData>> {
///     Ok(vec![ColumnData::array("N", ArrayBuf::from_vec(vec![2], &[r0, r0 + 1])?)])
/// };
/// let mut t = FitsTableWriter::append("t.fits", 4, &block(0)?, &[], false)?;
/// t.write_rows(&block(2)?)?;
/// t.finish()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct FitsTableWriter {
    file: TempFile,
    header: Header,
    header_offset: u64,
    data_offset: u64,
    row_len: u64,
    nrows: u64,
    written: u64,
    tforms: Vec<String>,
    checksums: bool,
}

impl std::fmt::Debug for FitsTableWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FitsTableWriter")
            .field("nrows", &self.nrows)
            .field("row_len", &self.row_len)
            .field("written", &self.written)
            .finish()
    }
}

impl FitsTableWriter {
    /// Start appending a table of `nrows` rows to the FITS file at `path` (copied to a temporary
    /// file beside it; the original is replaced on [`Self::finish`]). `first` is the first block
    /// of rows (it may hold zero rows): its columns fix the layout (TFORM, TDIM, TZERO, TNULL,
    /// TUNIT). Structural and column keywords in `cards` are ignored.
    ///
    /// # Errors
    /// A variable-length column, columns of different lengths, more rows than `nrows`, or the
    /// file cannot be read or written.
    pub fn append(
        path: impl AsRef<Path>,
        nrows: u64,
        first: &[ColumnData],
        cards: &[Card],
        checksums: bool,
    ) -> Result<Self> {
        let path = path.as_ref();
        if first.len() > 999 {
            return Err(Error::Invalid(format!(
                "a table holds at most 999 columns, not {}",
                first.len()
            )));
        }
        let block = block_rows(first)?;
        let laid = lay_out_fixed(first, block)?;
        let header = with_user_cards(
            bintable_header(first, &laid, nrows, 0)?,
            cards,
            &[],
            checksums,
        )?;
        let end = existing_end(path)?;
        let mut file = TempFile::create(path)?;
        copy_prefix(path, file.file_mut(), end)?;
        let hbytes = header.to_bytes();
        write_at(file.file(), end, &hbytes)?;
        let row_len: u64 = laid.iter().map(|l| l.width as u64).sum();
        let data_len = row_len
            .checked_mul(nrows)
            .ok_or_else(|| Error::Invalid("table size overflows".into()))?;
        let data_offset = end + hbytes.len() as u64;
        let name = file.path().display().to_string();
        file.file()
            .set_len(data_offset + data_len + pad_len(data_len))
            .map_err(|e| Error::io(name, e))?;
        let mut w = FitsTableWriter {
            file,
            header,
            header_offset: end,
            data_offset,
            row_len,
            nrows,
            written: 0,
            tforms: laid.iter().map(|l| l.tform.clone()).collect(),
            checksums,
        };
        w.write_laid(&laid, block)?;
        Ok(w)
    }

    /// Write the next block of rows (every column with the same number of rows, laid out as the
    /// first block).
    ///
    /// # Errors
    /// A column whose layout differs from the first block's, more rows than announced, or a
    /// write error.
    pub fn write_rows(&mut self, block: &[ColumnData]) -> Result<()> {
        if block.len() != self.tforms.len() {
            return Err(Error::Invalid(format!(
                "a block of {} columns for a table of {}",
                block.len(),
                self.tforms.len()
            )));
        }
        let n = block_rows(block)?;
        let laid = lay_out_fixed(block, n)?;
        for (i, (l, t)) in laid.iter().zip(&self.tforms).enumerate() {
            if &l.tform != t {
                return Err(Error::Invalid(format!(
                    "column {} ('{}'): TFORM '{}' in this block, '{t}' in the first",
                    i + 1,
                    block[i].name,
                    l.tform
                )));
            }
        }
        self.write_laid(&laid, n)
    }

    fn write_laid(&mut self, laid: &[crate::write_table::Laid], n: u64) -> Result<()> {
        if self.written + n > self.nrows {
            return Err(Error::Invalid(format!(
                "{} rows written to a table of {}",
                self.written + n,
                self.nrows
            )));
        }
        if n == 0 || self.row_len == 0 {
            self.written += n;
            return Ok(());
        }
        let mut rows = vec![0u8; (self.row_len * n) as usize];
        interleave(laid, self.row_len as usize, &mut rows);
        write_at(
            self.file.file(),
            self.data_offset + self.written * self.row_len,
            &rows,
        )?;
        self.written += n;
        Ok(())
    }

    /// Rows written so far.
    pub fn rows_written(&self) -> u64 {
        self.written
    }

    /// Check that every row was written, fill in the checksums if asked, and rename the file
    /// into place.
    ///
    /// # Errors
    /// Fewer rows written than announced, or a write error.
    pub fn finish(mut self) -> Result<()> {
        if self.written != self.nrows {
            return Err(Error::Invalid(format!(
                "{} of {} rows written",
                self.written, self.nrows
            )));
        }
        if self.checksums {
            let data_len = self.row_len * self.nrows;
            let src = nd_core::FileSource::open(self.file.path())?;
            let end = self.data_offset + data_len + pad_len(data_len);
            let dsum = crate::checksum::data_sum(&src, self.data_offset, end)?;
            let hb = finish_checksums(&mut self.header, dsum)?;
            write_at(self.file.file(), self.header_offset, &hb)?;
        }
        self.file.persist()?;
        Ok(())
    }
}

/// The rows of a block (every column the same; zero columns: zero rows).
fn block_rows(block: &[ColumnData]) -> Result<u64> {
    let Some(c) = block.first() else {
        return Ok(0);
    };
    match &c.values {
        crate::ColumnValues::Array(a) | crate::ColumnValues::Bits(a) => {
            a.shape().first().copied().ok_or_else(|| {
                Error::Invalid(format!(
                    "column '{}': a column array needs a row axis",
                    c.name
                ))
            })
        }
        _ => Err(Error::Invalid(format!(
            "column '{}': only array columns can be written a block of rows at a time",
            c.name
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ColumnValues, FitsWriter};
    use nd_core::ArrayBuf;

    fn block(r0: u64, n: u64) -> Vec<ColumnData> {
        let t: Vec<f64> = (r0..r0 + n).map(|r| r as f64).collect();
        let xy: Vec<u16> = (r0..r0 + n).flat_map(|r| [r as u16, 7]).collect();
        let s: Vec<u8> = (r0..r0 + n)
            .flat_map(|r| format!("r{:03}", r % 1000).into_bytes())
            .collect();
        let bits: Vec<u8> = (r0..r0 + n).flat_map(|r| [(r % 2) as u8, 1, 0]).collect();
        vec![
            ColumnData::array("T", ArrayBuf::from_vec(vec![n], &t).unwrap()).with_unit("s"),
            ColumnData::array("XY", ArrayBuf::from_vec(vec![n, 2], &xy).unwrap()),
            ColumnData::array(
                "S",
                ArrayBuf::from_bytes(nd_core::DataType::Bytes(4), vec![n], &s).unwrap(),
            ),
            ColumnData::new(
                "B",
                ColumnValues::Bits(
                    ArrayBuf::from_bytes(nd_core::DataType::Bool, vec![n, 3], &bits).unwrap(),
                ),
            ),
        ]
    }

    #[test]
    fn blocks_make_the_same_file_as_one_table() {
        let dir = tempfile::tempdir().unwrap();
        let whole = dir.path().join("whole.fits");
        let mut w = FitsWriter::create(&whole);
        w.set_checksums(true);
        w.add_bintable(&block(0, 10), &[Card::new("EXTNAME", "EV", None).unwrap()])
            .unwrap();
        w.finish().unwrap();
        let streamed = dir.path().join("streamed.fits");
        let mut w = FitsWriter::create(&streamed);
        w.set_checksums(true);
        w.add_empty_primary(&[]).unwrap();
        w.finish().unwrap();
        let cards = [Card::new("EXTNAME", "EV", None).unwrap()];
        let mut t = FitsTableWriter::append(&streamed, 10, &block(0, 4), &cards, true).unwrap();
        t.write_rows(&block(4, 0)).unwrap();
        t.write_rows(&block(4, 6)).unwrap();
        assert!(t.write_rows(&block(10, 1)).is_err());
        t.finish().unwrap();
        assert_eq!(
            std::fs::read(&whole).unwrap(),
            std::fs::read(&streamed).unwrap()
        );
    }

    #[test]
    fn missing_rows_and_changed_layouts_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.fits");
        let mut w = FitsWriter::create(&p);
        w.add_empty_primary(&[]).unwrap();
        w.finish().unwrap();
        let t = FitsTableWriter::append(&p, 10, &block(0, 4), &[], false).unwrap();
        assert!(t.finish().is_err());
        let mut t = FitsTableWriter::append(&p, 10, &block(0, 4), &[], false).unwrap();
        let mut b = block(4, 2);
        b[2] = ColumnData::array(
            "S",
            ArrayBuf::from_bytes(nd_core::DataType::Bytes(5), vec![2], &[b'x'; 10]).unwrap(),
        );
        assert!(t.write_rows(&b).is_err());
        // nothing replaced the file: it still holds the primary HDU only
        drop(t);
        assert_eq!(crate::Fits::open(&p).unwrap().len(), 1);
    }
}
