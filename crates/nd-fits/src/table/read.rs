//! Reading a table's rows: fixed-width columns in blocks of rows converted in parallel (only
//! the selected columns' bytes for narrow selections of wide rows), variable-length arrays from
//! the heap.

use super::column::{elem_size, vla_shape, Column, ColumnFormat, ColumnSel};
use super::convert::{conv_of, convert_cell, convert_column, numeric_conv, stripped_len, Conv};
use super::Table;
use crate::error::{Error, Result};
use nd_core::{ArrayBuf, DataType};
use rayon::prelude::*;
use std::ops::Range;

/// Rows per block when reading; blocks are converted in parallel.
const BLOCK_BYTES: u64 = 1 << 20;

impl Table {
    /// The values of a fixed-width column for every row: shape `(nrows, *cell shape)`,
    /// astropy's dtype and values.
    pub fn column<'a>(&self, sel: impl Into<ColumnSel<'a>>) -> Result<ArrayBuf> {
        let c = self.find_column(sel)?;
        let mut v = self.read_columns(&[c], 0..self.nrows)?;
        Ok(v.remove(0))
    }

    /// The values of several columns for a range of rows; only those rows' bytes are read
    /// (and, for narrow selections of wide rows, only the selected columns' bytes).
    pub fn read_rows<'a, S: Into<ColumnSel<'a>> + Copy>(
        &self,
        rows: Range<u64>,
        columns: &[S],
    ) -> Result<Vec<ArrayBuf>> {
        let cols = columns
            .iter()
            .map(|&s| self.find_column(s))
            .collect::<Result<Vec<_>>>()?;
        self.read_columns(&cols, rows)
    }

    /// The elements of a variable-length column, one array per row (astropy's `_VLF`). Strings
    /// (`PA`) are 0-d `|S{n}` arrays with trailing whitespace stripped.
    pub fn vla_column<'a>(&self, sel: impl Into<ColumnSel<'a>>) -> Result<Vec<ArrayBuf>> {
        let c = self.find_column(sel)?;
        self.vla_rows(c, 0..self.nrows)
    }

    /// The heap byte ranges (absolute) and element counts of a variable-length column's rows,
    /// each checked to lie inside the heap.
    pub fn vla_ranges(&self, c: &Column, rows: Range<u64>) -> Result<Vec<(u64, Range<u64>)>> {
        let (q, code) = match c.format {
            ColumnFormat::Var { q, code, .. } => (q, code),
            _ => {
                return Err(self.err(None, c, "not a variable-length column".into()));
            }
        };
        let desc = self.read_cells(c, &Conv::Desc { q }, 16, rows.clone())?;
        let d: &[i64] = bytemuck::cast_slice(desc.as_slice());
        let esize = elem_size(code);
        let mut ranges = Vec::with_capacity(d.len() / 2);
        for (k, pair) in d.chunks_exact(2).enumerate() {
            let row = rows.start + k as u64;
            let (count, off) = (pair[0], pair[1]);
            if count < 0 || off < 0 {
                return Err(self.err(
                    Some(row),
                    c,
                    format!("negative descriptor (count {count}, offset {off})"),
                ));
            }
            let nbytes = if code == 'X' {
                (count as u64).div_ceil(8)
            } else {
                (count as u64).saturating_mul(esize)
            };
            let end = (off as u64).saturating_add(nbytes);
            if end > self.heap_len {
                return Err(self.err(
                    Some(row),
                    c,
                    format!(
                        "descriptor (count {count}, offset {off}) reaches byte {end} of a {}-byte heap",
                        self.heap_len
                    ),
                ));
            }
            let abs = self.data_offset + self.heap_start + off as u64;
            ranges.push((count as u64, abs..abs + nbytes));
        }
        Ok(ranges)
    }

    /// The elements of a variable-length column for a range of rows.
    pub fn vla_rows(&self, c: &Column, rows: Range<u64>) -> Result<Vec<ArrayBuf>> {
        let code = match c.format {
            ColumnFormat::Var { code, .. } => code,
            _ => {
                return Err(self.err(None, c, "not a variable-length column".into()));
            }
        };
        let ranges = self.vla_ranges(c, rows.clone())?;
        let nonempty: Vec<Range<u64>> = ranges
            .iter()
            .filter(|(_, r)| !r.is_empty())
            .map(|(_, r)| r.clone())
            .collect();
        let size = self.source.len();
        if let Some(r) = nonempty.iter().find(|r| r.end > size) {
            return Err(Error::Truncated {
                hdu: self.hdu,
                offset: r.start,
                needed: r.end - r.start,
                size,
            });
        }
        let mut fetched = self.source.read_ranges(&nonempty)?.into_iter();
        // Logical VLAs written by astropy <= 7.2 hold 0/1 bytes (astropy's heuristic).
        let parts: Vec<(u64, nd_core::Bytes)> = ranges
            .iter()
            .map(|(n, r)| {
                let b = if r.is_empty() {
                    nd_core::Bytes::new()
                } else {
                    fetched.next().unwrap_or_default()
                };
                (*n, b)
            })
            .collect();
        let legacy = code == 'L' && {
            let mut any1 = false;
            let mut only01 = true;
            for (_, b) in &parts {
                for &x in b.iter() {
                    any1 |= x == 1;
                    only01 &= x <= 1;
                }
            }
            only01 && any1
        };
        let mut out = Vec::with_capacity(parts.len());
        for (k, (count, b)) in parts.into_iter().enumerate() {
            let row = rows.start + k as u64;
            let a = self
                .vla_element(c, code, count, &b, legacy)
                .map_err(|e| match e {
                    Error::Core(e) => self.err(Some(row), c, e.to_string()),
                    e => e,
                })?;
            out.push(a);
        }
        Ok(out)
    }

    fn vla_element(
        &self,
        c: &Column,
        code: char,
        count: u64,
        b: &[u8],
        legacy: bool,
    ) -> Result<ArrayBuf> {
        let n = count as usize;
        if code == 'A' {
            let k = stripped_len(b);
            let mut v = vec![0u8; n];
            v[..k].copy_from_slice(&b[..k]);
            return Ok(ArrayBuf::from_bytes(DataType::Bytes(n), vec![], &v)?);
        }
        let shape = vla_shape(&c.shape, count);
        let mut a = ArrayBuf::zeros(c.dtype.clone(), shape)?;
        let conv = match code {
            'L' if legacy => {
                for (o, &x) in a.bytes_mut().iter_mut().zip(b) {
                    *o = (x != 0) as u8;
                }
                return Ok(a);
            }
            'L' => Conv::Logical,
            'X' => Conv::Bits(count),
            _ => numeric_conv(code, n, c.scaling),
        };
        convert_cell(&conv, b, a.bytes_mut()).map_err(|m| self.err(None, c, m))?;
        Ok(a)
    }

    fn err(&self, row: Option<u64>, c: &Column, msg: String) -> Error {
        Error::Table {
            hdu: self.hdu,
            row,
            column: Some(c.label()),
            msg,
        }
    }

    fn conv_of(&self, c: &Column) -> Result<Conv> {
        conv_of(c).ok_or_else(|| {
            self.err(
                None,
                c,
                "variable-length column: use vla_column".to_string(),
            )
        })
    }

    pub(super) fn read_columns(&self, cols: &[&Column], rows: Range<u64>) -> Result<Vec<ArrayBuf>> {
        let convs = cols
            .iter()
            .map(|c| self.conv_of(c))
            .collect::<Result<Vec<_>>>()?;
        let mut outs = Vec::with_capacity(cols.len());
        if rows.start > rows.end || rows.end > self.nrows {
            return Err(Error::Invalid(format!(
                "rows {}..{} outside a table of {} rows",
                rows.start, rows.end, self.nrows
            )));
        }
        for c in cols {
            let mut shape = vec![rows.end - rows.start];
            shape.extend_from_slice(&c.shape);
            outs.push(ArrayBuf::zeros(c.dtype.clone(), shape)?);
        }
        let cell_out: Vec<usize> = cols
            .iter()
            .map(|c| c.cell_elems() as usize * c.dtype.size())
            .collect();
        {
            let mut slices: Vec<&mut [u8]> = outs.iter_mut().map(|a| a.bytes_mut()).collect();
            self.convert_rows(cols, &convs, &cell_out, rows, &mut slices)?;
        }
        Ok(outs)
    }

    /// Descriptor / raw cell reads into a plain byte vector.
    fn read_cells(
        &self,
        c: &Column,
        conv: &Conv,
        cell_out: usize,
        rows: Range<u64>,
    ) -> Result<Vec<u64>> {
        let n = (rows.end - rows.start) as usize;
        let mut v = vec![0u64; n * cell_out / 8];
        {
            let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut v);
            let mut s = [bytes];
            self.convert_rows(&[c], std::slice::from_ref(conv), &[cell_out], rows, &mut s)?;
        }
        Ok(v)
    }

    fn convert_rows(
        &self,
        cols: &[&Column],
        convs: &[Conv],
        cell_out: &[usize],
        rows: Range<u64>,
        outs: &mut [&mut [u8]],
    ) -> Result<()> {
        let nrows = rows.end - rows.start;
        if nrows == 0 || cols.is_empty() {
            return Ok(());
        }
        let lo = cols.iter().map(|c| c.offset).min().unwrap_or(0);
        let hi = cols.iter().map(|c| c.offset + c.width).max().unwrap_or(0);
        let span = hi - lo;
        let end = self.data_offset + rows.end * self.row_len;
        let size = self.source.len();
        if end > size {
            return Err(Error::Truncated {
                hdu: self.hdu,
                offset: self.data_offset,
                needed: self.row_len * self.nrows,
                size,
            });
        }
        // Narrow selections of wide rows: read each row's span only.
        let per_row = span.saturating_mul(4) < self.row_len;
        let block_rows = (BLOCK_BYTES / self.row_len.max(1)).clamp(1, nrows);
        let nblocks = nrows.div_ceil(block_rows) as usize;
        // Split every output into per-block pieces.
        let mut per_block: Vec<Vec<&mut [u8]>> = (0..nblocks).map(|_| Vec::new()).collect();
        for (o, &co) in outs.iter_mut().zip(cell_out) {
            let chunk = (block_rows as usize * co).max(1);
            let mut pieces = o.chunks_mut(chunk);
            for slot in per_block.iter_mut() {
                slot.push(pieces.next().unwrap_or(&mut []));
            }
        }
        let work = |(b, dsts): (usize, &mut Vec<&mut [u8]>)| -> Result<()> {
            let r0 = rows.start + b as u64 * block_rows;
            let r1 = (r0 + block_rows).min(rows.end);
            let n = (r1 - r0) as usize;
            let base = self.data_offset + r0 * self.row_len;
            if per_row && span > 0 {
                let ranges: Vec<Range<u64>> = (0..n as u64)
                    .map(|i| {
                        let s = base + i * self.row_len + lo;
                        s..s + span
                    })
                    .collect();
                let parts = self.source.read_ranges(&ranges)?;
                for (ci, c) in cols.iter().enumerate() {
                    let off = (c.offset - lo) as usize;
                    let cells = parts
                        .iter()
                        .map(|row| row.get(off..off + c.width as usize).unwrap_or(&[]));
                    convert_column(&convs[ci], cells, cell_out[ci], &mut dsts[ci][..])
                        .map_err(|(i, m)| self.err(Some(r0 + i as u64), c, m))?;
                }
            } else {
                let bytes = self
                    .source
                    .read_range(base..base + n as u64 * self.row_len)?;
                let rl = self.row_len as usize;
                // Column by column over the block: one dispatch per column, not per cell.
                for (ci, c) in cols.iter().enumerate() {
                    let (off, w) = (c.offset as usize, c.width as usize);
                    let cells = bytes
                        .chunks_exact(rl.max(1))
                        .take(n)
                        .map(|row| row.get(off..off + w).unwrap_or(&[]));
                    convert_column(&convs[ci], cells, cell_out[ci], &mut dsts[ci][..])
                        .map_err(|(i, m)| self.err(Some(r0 + i as u64), c, m))?;
                }
            }
            Ok(())
        };
        if nblocks > 1 {
            per_block.par_iter_mut().enumerate().try_for_each(work)
        } else {
            per_block.iter_mut().enumerate().try_for_each(work)
        }
    }
}
