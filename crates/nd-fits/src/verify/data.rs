//! Data checks: the data unit present in full, fill bytes, table cells, compressed tiles.

use super::{HduCheck, Severity};
use crate::hdu::HduKind;
use crate::table::ColumnFormat;
use nd_core::{ArrayRead, ChunkGrid, Region};

impl HduCheck<'_> {
    /// The data unit: present in full, fill bytes, table cells, compressed tiles.
    pub(super) fn data(&mut self, size: u64) {
        let h = self.hdu;
        let end = h.data_offset.saturating_add(h.data_len);
        if end > size {
            self.push(
                Severity::Error,
                None,
                format!(
                    "the data at byte {} needs {} bytes but the file ends at byte {size}",
                    h.data_offset, h.data_len
                ),
            );
            if matches!(h.kind, HduKind::BinTable | HduKind::Table) {
                self.table_cells(size);
            }
            return;
        }
        let padded = h.end_offset();
        if padded > size {
            self.push(
                Severity::Error,
                None,
                format!("the data fill ends at byte {padded}, past the end of the file ({size})"),
            );
        } else if padded > end {
            let pad = if h.kind == HduKind::Table { b' ' } else { 0 };
            match self.src.read_range(end..padded) {
                Ok(b) if b.iter().any(|&x| x != pad) => self.push(
                    Severity::Error,
                    None,
                    format!(
                        "the data fill (bytes {end}..{padded}) is not all {}",
                        if pad == 0 { "zeros" } else { "blanks" }
                    ),
                ),
                Ok(_) => {}
                Err(e) => self.push(Severity::Error, None, format!("data fill unreadable: {e}")),
            }
        }
        let before = self.out.len();
        if matches!(
            h.kind,
            HduKind::BinTable | HduKind::CompressedImage | HduKind::Table
        ) {
            self.table_cells(size);
        }
        // tiles are decoded only when their descriptors are sound (a descriptor past the heap
        // is already reported, as fitsverify reports it)
        if h.kind == HduKind::CompressedImage && self.out.len() == before {
            self.tiles();
        }
    }

    /// Binary table cells fitsverify checks: logical values (fixed and variable-length),
    /// bit-vector justification (first per column), string text, descriptors inside the heap;
    /// the first ASCII-table field that is not a number. Rows cut off by the end of the file
    /// are skipped (the truncation is reported once).
    fn table_cells(&mut self, size: u64) {
        let h = self.hdu;
        let t = match self.fits.table(h.index) {
            Ok(t) => t,
            Err(e) => {
                self.push(Severity::Error, None, e.to_string());
                return;
            }
        };
        let row_len = t.row_len();
        // cfitsio refuses a binary table whose columns do not fill NAXIS1 exactly (BAD_ROW_WIDTH),
        // and fitsverify then checks nothing more of the HDU
        let width = t.columns_width();
        // (without TFIELDS there are no columns: that error is reported by the header checks)
        if !t.is_ascii() && width != row_len && t.header().get_int("TFIELDS").is_some() {
            self.push(
                Severity::Error,
                None,
                format!(
                    "NAXIS1 = {row_len} is not equal to the sum of the TFORMn widths ({width})"
                ),
            );
            return;
        }
        let (heap_start, heap_len) = t.heap();
        let in_file = size.saturating_sub(h.data_offset);
        let nrows = in_file.checked_div(row_len).map_or(0, |n| t.nrows().min(n));
        let heap_readable = in_file >= heap_start.saturating_add(heap_len);
        let mut x_reported = vec![false; t.columns().len()];
        const ROWS_PER_READ: u64 = 4096;
        let mut row = 0u64;
        while row < nrows {
            let n = ROWS_PER_READ.min(nrows - row);
            let start = h.data_offset + row * row_len;
            let bytes = match self.src.read_range(start..start + n * row_len) {
                Ok(b) => b,
                Err(e) => {
                    self.push(Severity::Error, None, format!("rows unreadable: {e}"));
                    return;
                }
            };
            for r in 0..n {
                let rb = &bytes[(r * row_len) as usize..((r + 1) * row_len) as usize];
                let rown = row + r + 1;
                for c in t.columns() {
                    let cell = &rb[c.offset as usize..(c.offset + c.width) as usize];
                    let coln = c.index + 1;
                    let problem = match c.format {
                        ColumnFormat::Ascii { code, .. } if code != 'A' => {
                            if ascii_number_ok(cell, code, c.null.as_ref()) {
                                None
                            } else {
                                // fitsverify stops reading the table at the first such field
                                self.push(
                                    Severity::Error,
                                    None,
                                    format!(
                                        "row {rown}, column {coln}: field '{}' is neither a number nor TNULL{coln}",
                                        String::from_utf8_lossy(cell).escape_default()
                                    ),
                                );
                                return;
                            }
                        }
                        ColumnFormat::Fixed { code: 'L', .. } => cell
                            .iter()
                            .any(|&b| !matches!(b, b'T' | b'F' | 0))
                            .then(|| format!("logical value in row {rown}, column {coln} is not 'T', 'F' or 0")),
                        ColumnFormat::Fixed { code: 'X', repeat } => {
                            let unused = (8 - repeat % 8) % 8;
                            let last = cell.last().copied().unwrap_or(0);
                            (unused > 0
                                && last & ((1u8 << unused) - 1) != 0
                                && !std::mem::replace(&mut x_reported[c.index], true))
                            .then(|| format!("row {rown}, column {coln}: bit vector 0x{last:02x} is not left-justified"))
                        }
                        ColumnFormat::Fixed { code: 'A', .. } => {
                            let text = cell.split(|&b| b == 0).next().unwrap_or(&[]);
                            text.iter()
                                .any(|&b| !(32..=126).contains(&b))
                                .then(|| format!("string in row {rown}, column {coln} holds non-ASCII text"))
                        }
                        ColumnFormat::Var { q, code, .. } => {
                            let word = |i: usize, w: usize| -> u64 {
                                cell.get(i * w..(i + 1) * w).map_or(0, |b| {
                                    b.iter().fold(0u64, |acc, &x| acc << 8 | u64::from(x))
                                })
                            };
                            let w = if q { 8 } else { 4 };
                            let (count, off) = (word(0, w), word(1, w));
                            let bytes = if code == 'X' {
                                count.div_ceil(8)
                            } else {
                                count.saturating_mul(var_element_bytes(code))
                            };
                            if count > 0 && off.saturating_add(bytes) > heap_len {
                                Some(format!("row {rown}, column {coln}: descriptor (count {count}, offset {off}) reaches past the heap of {heap_len} bytes"))
                            } else if code == 'L' && count > 0 && heap_readable {
                                let at = h.data_offset + heap_start + off;
                                match self.src.read_range(at..at + bytes) {
                                    Ok(v) if v.iter().any(|&b| !matches!(b, b'T' | b'F' | 0)) => {
                                        Some(format!("logical value in row {rown}, column {coln} is not 'T', 'F' or 0"))
                                    }
                                    Ok(_) => None,
                                    Err(e) => Some(format!("row {rown}, column {coln}: heap unreadable: {e}")),
                                }
                            } else {
                                None
                            }
                        }
                        _ => None,
                    };
                    if let Some(m) = problem {
                        self.push(Severity::Error, None, m);
                    }
                }
            }
            row += n;
        }
    }

    /// Every tile of a tile-compressed image decodes (fitsverify does not decode tiles).
    fn tiles(&mut self) {
        let h = self.hdu;
        let c = match self.fits.compressed_image(h.index) {
            Ok(c) => c,
            Err(e) => {
                self.push(Severity::Error, None, e.to_string());
                return;
            }
        };
        let grid = match ChunkGrid::new(c.shape().to_vec(), c.tile_shape().to_vec()) {
            Ok(g) => g,
            Err(e) => {
                self.push(Severity::Error, None, format!("tile grid: {e}"));
                return;
            }
        };
        let pieces = match grid.pieces(&Region::full(c.shape())) {
            Ok(p) => p,
            Err(e) => {
                self.push(Severity::Error, None, format!("tile grid: {e}"));
                return;
            }
        };
        let mut bad = 0usize;
        let mut first = String::new();
        for p in &pieces {
            if let Err(e) = c.read(&grid.chunk_region(&p.chunk)) {
                bad += 1;
                if first.is_empty() {
                    first = e.to_string();
                }
            }
        }
        if bad > 0 {
            self.push(
                Severity::Error,
                None,
                format!(
                    "{bad} of {} tiles do not decode; first: {first}",
                    pieces.len()
                ),
            );
        }
    }
}

/// Bytes per element of a variable-length array of type `code`.
fn var_element_bytes(code: char) -> u64 {
    match code {
        'L' | 'B' | 'A' | 'X' => 1,
        'I' => 2,
        'J' | 'E' => 4,
        'K' | 'D' | 'C' => 8,
        'M' => 16,
        _ => 1,
    }
}

/// An ASCII-table numeric field as cfitsio reads it: blank, equal to TNULL (leading blanks
/// significant, trailing ignored), or a number (`D` exponents allowed; integers for `I`).
fn ascii_number_ok(cell: &[u8], code: char, null: Option<&crate::card::Value>) -> bool {
    let text = String::from_utf8_lossy(cell);
    if text.trim().is_empty() {
        return true;
    }
    if let Some(crate::card::Value::Str(n)) = null {
        if text.trim_end() == n.trim_end() {
            return true;
        }
    }
    let t = text.trim();
    if code == 'I' || code == 'J' {
        return t.strip_prefix('+').unwrap_or(t).parse::<i64>().is_ok();
    }
    t.replace(['D', 'd'], "E").parse::<f64>().is_ok()
}
