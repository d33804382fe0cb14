//! Binary (BINTABLE) and ASCII (TABLE) tables: column descriptions and column values exactly as
//! astropy returns them (`hdul[i].data[name]`), variable-length arrays from the heap, and row
//! ranges that read only the rows' bytes.
//!
//! Result types follow astropy's `FITS_rec`: `L` → bool, `X` → bool bits, strings → `|S` with
//! trailing whitespace stripped, `TSCAL`/`TZERO` → float64 (uint16/32/64 for the unsigned
//! conventions on `I`/`J`/`K`), `TDIM` → the cell shape. See `spec-notes/fits-tables.md`.

use crate::card::Value;
use crate::error::{Error, Result};
use crate::hdu::{Hdu, HduKind};
use crate::header::Header;
use nd_core::{ArrayBuf, ByteSource, DataType};
use rayon::prelude::*;
use std::ops::Range;
use std::sync::Arc;

/// The storage of a column's cells.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnFormat {
    /// A binary-table fixed-width column: `rT` (T one of L X B I J K A E D C M).
    Fixed {
        /// The type code.
        code: char,
        /// The repeat count (bits for `X`, characters for `A`).
        repeat: u64,
    },
    /// A binary-table variable-length column: `rPT(max)` / `rQT(max)`.
    Var {
        /// True for `Q` (64-bit descriptors), false for `P` (32-bit).
        q: bool,
        /// The element type code.
        code: char,
        /// The declared maximum length, if given.
        max: Option<u64>,
    },
    /// An ASCII-table field: `Aw`, `Iw`, `Fw.d`, `Ew.d`, `Dw.d` (and the non-standard `Jw`).
    Ascii {
        /// The type code.
        code: char,
        /// Field width in characters.
        width: u64,
        /// Decimals (`d`), when given. Ignored on reading, as astropy does.
        decimals: Option<u64>,
    },
}

/// How one column's stored values are scaled (TSCALn / TZEROn), as astropy decides.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ColumnScaling {
    /// No scaling.
    None,
    /// `I`/`J`/`K` with TZERO = 2^15 / 2^31 / 2^63 and TSCAL = 1: unsigned integers.
    Unsigned,
    /// float64 result: `f64(x) * scale + zero` (steps skipped when 1 / 0).
    Float {
        /// TSCAL, when not 1.
        scale: Option<f64>,
        /// TZERO, when not 0.
        zero: Option<f64>,
    },
}

/// One column of a table.
#[derive(Debug, Clone)]
pub struct Column {
    /// Position (0-based; the header's keywords use `index + 1`).
    pub index: usize,
    /// TTYPEn (trimmed), or `""` when absent.
    pub name: String,
    /// TFORMn as written (trimmed).
    pub tform: String,
    /// The parsed format.
    pub format: ColumnFormat,
    /// Byte offset of the column within a row.
    pub offset: u64,
    /// Bytes the column occupies in a row.
    pub width: u64,
    /// The element type astropy returns (for strings, `Bytes(n)`).
    pub dtype: DataType,
    /// The cell shape (numpy order) astropy returns: `[]` for scalars, `[repeat]` for vectors,
    /// the reversed TDIM when it applies. For variable-length columns, the TDIM shape if any.
    pub shape: Vec<u64>,
    /// TSCAL / TZERO.
    pub scaling: ColumnScaling,
    /// TNULLn as found (integer for binary tables, text for ASCII tables); not applied to
    /// values, as astropy does not apply it to binary tables.
    pub null: Option<Value>,
    /// TDIMn as written, when present.
    pub tdim: Option<String>,
    /// TUNITn, when present.
    pub unit: Option<String>,
}

impl Column {
    /// True for variable-length (P/Q) columns.
    pub fn is_variable(&self) -> bool {
        matches!(self.format, ColumnFormat::Var { .. })
    }

    /// A label for error messages: the name, or `#n` (1-based) when unnamed.
    pub fn label(&self) -> String {
        if self.name.is_empty() {
            format!("#{}", self.index + 1)
        } else {
            self.name.clone()
        }
    }

    fn cell_elems(&self) -> u64 {
        self.shape.iter().product()
    }
}

/// Which column: by index or by name (exact first, then case-insensitive, as astropy).
#[derive(Debug, Clone, Copy)]
pub enum ColumnSel<'a> {
    /// 0-based position.
    Index(usize),
    /// TTYPE.
    Name(&'a str),
}

impl From<usize> for ColumnSel<'_> {
    fn from(i: usize) -> Self {
        ColumnSel::Index(i)
    }
}

impl<'a> From<&'a str> for ColumnSel<'a> {
    fn from(s: &'a str) -> Self {
        ColumnSel::Name(s)
    }
}

impl<'a> From<&'a String> for ColumnSel<'a> {
    fn from(s: &'a String) -> Self {
        ColumnSel::Name(s)
    }
}

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

/// Rows per block when reading; blocks are converted in parallel.
const BLOCK_BYTES: u64 = 1 << 20;

fn num_value(h: &Header, key: &str, hdu: usize, col: &str) -> Result<Option<Value>> {
    match h.get(key) {
        None | Some(Value::Undefined) => Ok(None),
        Some(v) if v.is_number() => Ok(Some(v.clone())),
        Some(v) => Err(Error::Table {
            hdu,
            row: None,
            column: Some(col.to_string()),
            msg: format!("{key} = {v:?} is not a number"),
        }),
    }
}

/// Parse a binary-table TFORM (astropy's rules: repeat, code, ignored option text).
pub fn parse_bintable_tform(t: &str) -> Option<ColumnFormat> {
    let t = t.trim().to_ascii_uppercase();
    let digits = t.bytes().take_while(|b| b.is_ascii_digit()).count();
    let repeat: u64 = if digits == 0 {
        1
    } else {
        t[..digits].parse().ok()?
    };
    let rest = &t[digits..];
    let code = rest.chars().next()?;
    match code {
        'L' | 'X' | 'B' | 'I' | 'J' | 'K' | 'A' | 'E' | 'D' | 'C' | 'M' => {
            Some(ColumnFormat::Fixed { code, repeat })
        }
        'P' | 'Q' => {
            if repeat > 1 {
                return None;
            }
            let inner = rest[1..].trim();
            let ecode = inner.chars().next()?;
            if !"LXBIJKAEDCM".contains(ecode) {
                return None;
            }
            let after = inner[1..].trim();
            let max = if let Some(m) = after.strip_prefix('(') {
                let m = m.strip_suffix(')')?;
                if m.trim().is_empty() {
                    None
                } else {
                    Some(m.trim().parse().ok()?)
                }
            } else if after.is_empty() {
                None
            } else {
                return None;
            };
            Some(ColumnFormat::Var {
                q: code == 'Q',
                code: ecode,
                max,
            })
        }
        _ => None,
    }
}

/// Parse an ASCII-table TFORM (`Aw`, `Iw`, `Jw`, `Fw.d`, `Ew.d`, `Dw.d`; astropy's default
/// widths when `w` is missing).
pub fn parse_ascii_tform(t: &str) -> Option<ColumnFormat> {
    let t = t.trim().to_ascii_uppercase();
    let code = t.chars().next()?;
    let (dw, dd) = match code {
        'A' => (1, None),
        'I' => (10, None),
        'J' => (15, None),
        'E' => (15, Some(7)),
        'F' => (16, Some(7)),
        'D' => (25, Some(17)),
        _ => return None,
    };
    let rest = t[1..].trim();
    let (w, d) = match rest.split_once('.') {
        Some((w, d)) => (w, Some(d)),
        None => (rest, None),
    };
    let width = if w.is_empty() { dw } else { w.parse().ok()? };
    let decimals = match d {
        Some(d) => Some(d.parse().ok()?),
        None => dd.filter(|_| w.is_empty()),
    };
    if width == 0 {
        return None;
    }
    Some(ColumnFormat::Ascii {
        code,
        width,
        decimals,
    })
}

fn elem_size(code: char) -> u64 {
    match code {
        'L' | 'B' | 'A' | 'X' => 1,
        'I' => 2,
        'J' | 'E' => 4,
        'K' | 'D' | 'C' => 8,
        'M' => 16,
        _ => 0,
    }
}

fn stored_dtype(code: char) -> DataType {
    match code {
        'L' | 'X' => DataType::Bool,
        'B' => DataType::UInt8,
        'I' => DataType::Int16,
        'J' => DataType::Int32,
        'K' => DataType::Int64,
        'E' => DataType::Float32,
        'D' => DataType::Float64,
        'C' => DataType::Complex64,
        'M' => DataType::Complex128,
        _ => DataType::UInt8,
    }
}

/// Parse `(a,b,c)` into numpy-order dims (reversed).
fn parse_tdim(s: &str) -> Option<Vec<u64>> {
    let inner = s.trim().strip_prefix('(')?.strip_suffix(')')?;
    let mut v = Vec::new();
    for part in inner.split(',') {
        v.push(part.trim().parse::<u64>().ok()?);
    }
    v.reverse();
    Some(v)
}

/// Strip as astropy's chararray does: trailing NULs (numpy `S`), then trailing whitespace.
/// Returns the kept length.
#[inline]
fn stripped_len(b: &[u8]) -> usize {
    let mut n = b.len();
    while n > 0 && b[n - 1] == 0 {
        n -= 1;
    }
    while n > 0
        && matches!(
            b[n - 1],
            b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c | 0x1c..=0x1f
        )
    {
        n -= 1;
    }
    n
}

/// Per-column conversion from stored row bytes to astropy's values.
#[derive(Debug, Clone)]
enum Conv {
    Logical,
    Bits(u64),
    Str {
        item: usize,
        count: usize,
    },
    /// Big-endian elements of `unit` bytes to native (count units).
    Swap {
        unit: usize,
        count: usize,
    },
    Unsigned {
        unit: usize,
        count: usize,
    },
    Scaled {
        code: char,
        count: usize,
        scale: Option<f64>,
        zero: Option<f64>,
    },
    Ascii {
        code: char,
        out: DataType,
        null: Vec<u8>,
        scaling: ColumnScaling,
    },
    /// P/Q descriptors as (count, offset) i64 pairs.
    Desc {
        q: bool,
    },
}

impl Table {
    pub(crate) fn new(source: Arc<dyn ByteSource>, hdu: &Hdu) -> Result<Table> {
        let ascii = match hdu.kind {
            HduKind::BinTable | HduKind::CompressedImage => false,
            HduKind::Table => true,
            _ => {
                return Err(Error::Unsupported {
                    hdu: hdu.index,
                    msg: format!("HDU is not a table ({:?})", hdu.kind),
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
            let name = h
                .get_str(&format!("TTYPE{k}"))
                .map(|s| s.trim().to_string())
                .unwrap_or_default();
            let label = if name.is_empty() {
                format!("#{k}")
            } else {
                name.clone()
            };
            let tform = h
                .get_str(&format!("TFORM{k}"))
                .ok_or_else(|| terr(Some(label.clone()), format!("TFORM{k} missing")))?
                .trim()
                .to_string();
            let format = if ascii {
                parse_ascii_tform(&tform)
            } else {
                parse_bintable_tform(&tform)
            }
            .ok_or_else(|| terr(Some(label.clone()), format!("invalid TFORM{k} {tform:?}")))?;
            let scale = num_value(h, &format!("TSCAL{k}"), hdu.index, &label)?;
            let zero = num_value(h, &format!("TZERO{k}"), hdu.index, &label)?;
            let null = h.get(&format!("TNULL{k}")).cloned();
            let tdim = h.get_str(&format!("TDIM{k}")).map(|s| s.to_string());
            let unit = h.get_str(&format!("TUNIT{k}")).map(|s| s.to_string());
            let code = match &format {
                ColumnFormat::Fixed { code, .. }
                | ColumnFormat::Var { code, .. }
                | ColumnFormat::Ascii { code, .. } => *code,
            };
            // astropy: `_scale = bscale not in ('', None, 1)`, `_zero = bzero not in ('', None, 0)`.
            let numeric = !matches!(code, 'L' | 'A' | 'X');
            let has_scale = scale.as_ref().is_some_and(|v| !v.num_eq(1));
            let has_zero = zero.as_ref().is_some_and(|v| !v.num_eq(0));
            let scaling = if numeric && (has_scale || has_zero) {
                let z = zero.as_ref();
                let unsigned = !ascii
                    && !has_scale
                    && z.is_some_and(|z| match code {
                        'I' => z.num_eq(1 << 15),
                        'J' => z.num_eq(1 << 31),
                        'K' => z.num_eq(1 << 63),
                        _ => false,
                    });
                if unsigned {
                    ColumnScaling::Unsigned
                } else {
                    ColumnScaling::Float {
                        scale: if has_scale {
                            scale.as_ref().and_then(|v| v.as_f64())
                        } else {
                            None
                        },
                        zero: if has_zero {
                            z.and_then(|v| v.as_f64())
                        } else {
                            None
                        },
                    }
                }
            } else {
                ColumnScaling::None
            };
            let (col_offset, width, dtype, shape) = match &format {
                ColumnFormat::Ascii { code, width, .. } => {
                    let tbcol = h
                        .get_int(&format!("TBCOL{k}"))
                        .ok_or_else(|| terr(Some(label.clone()), format!("TBCOL{k} missing")))?;
                    if tbcol < 1 {
                        return Err(terr(Some(label.clone()), format!("TBCOL{k} = {tbcol}")));
                    }
                    let dt = match code {
                        'A' => DataType::Bytes(*width as usize),
                        'I' if *width <= 4 => DataType::Int16,
                        'I' if *width <= 9 => DataType::Int32,
                        'I' | 'J' => DataType::Int64,
                        _ => DataType::Float64,
                    };
                    let dt = match scaling {
                        ColumnScaling::Float { .. } => DataType::Float64,
                        _ => dt,
                    };
                    (tbcol as u64 - 1, *width, dt, vec![])
                }
                ColumnFormat::Var { q, .. } => {
                    let w = if *q { 16 } else { 8 };
                    let el = match (code, scaling) {
                        ('A', _) => DataType::Bytes(1),
                        (_, ColumnScaling::Float { .. }) => DataType::Float64,
                        (c, ColumnScaling::Unsigned) => unsigned_of(c),
                        (c, _) => stored_dtype(c),
                    };
                    let vshape = tdim.as_deref().and_then(parse_tdim).unwrap_or_default();
                    (offset, w, el, vshape)
                }
                ColumnFormat::Fixed { code, repeat } => {
                    let w = if *code == 'X' {
                        repeat.div_ceil(8)
                    } else {
                        repeat.checked_mul(elem_size(*code)).ok_or_else(|| {
                            terr(Some(label.clone()), "column width overflows".into())
                        })?
                    };
                    let (dt, shape) = fixed_shape(*code, *repeat, tdim.as_deref(), scaling);
                    (offset, w, dt, shape)
                }
            };
            if !ascii {
                offset = offset
                    .checked_add(width)
                    .ok_or_else(|| terr(Some(label.clone()), "row width overflows".into()))?;
            }
            if col_offset.saturating_add(width) > row_len {
                return Err(terr(
                    Some(label.clone()),
                    format!(
                        "column {k} ({tform}) ends at byte {} of a row, past NAXIS1 = {row_len}",
                        col_offset.saturating_add(width)
                    ),
                ));
            }
            columns.push(Column {
                index: k - 1,
                name,
                tform,
                format,
                offset: col_offset,
                width,
                dtype,
                shape,
                scaling,
                null,
                tdim,
                unit,
            });
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

    /// The source the table reads from.
    pub(crate) fn source(&self) -> &Arc<dyn ByteSource> {
        &self.source
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
        Ok(match c.format {
            ColumnFormat::Var { .. } => {
                return Err(self.err(
                    None,
                    c,
                    "variable-length column: use vla_column".to_string(),
                ))
            }
            ColumnFormat::Ascii { code, .. } => {
                let null = match &c.null {
                    Some(Value::Str(s)) => s.trim().as_bytes().to_vec(),
                    Some(Value::Int(i)) => i.to_string().into_bytes(),
                    Some(Value::BigInt(b)) => b.clone().into_bytes(),
                    Some(Value::Float(f)) => format!("{f:?}").into_bytes(),
                    // astropy: str(None) when TNULL is absent.
                    _ => b"None".to_vec(),
                };
                let mut null = null;
                null.truncate(c.width as usize);
                Conv::Ascii {
                    code,
                    out: c.dtype.clone(),
                    null,
                    scaling: c.scaling,
                }
            }
            ColumnFormat::Fixed { code, repeat } => match code {
                'L' => Conv::Logical,
                'X' => Conv::Bits(repeat),
                'A' => {
                    let item = c.dtype.size();
                    Conv::Str {
                        item,
                        count: c.cell_elems() as usize,
                    }
                }
                _ => numeric_conv(code, c.cell_elems() as usize, c.scaling),
            },
        })
    }

    fn read_columns(&self, cols: &[&Column], rows: Range<u64>) -> Result<Vec<ArrayBuf>> {
        let convs = cols
            .iter()
            .map(|c| self.conv_of(c))
            .collect::<Result<Vec<_>>>()?;
        let mut outs = Vec::with_capacity(cols.len());
        if rows.start > rows.end || rows.end > self.nrows {
            return Err(Error::Invalid(format!(
                "rows {rows:?} outside a table of {} rows",
                self.nrows
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

fn unsigned_of(code: char) -> DataType {
    match code {
        'I' => DataType::UInt16,
        'J' => DataType::UInt32,
        _ => DataType::UInt64,
    }
}

fn numeric_conv(code: char, count: usize, scaling: ColumnScaling) -> Conv {
    match scaling {
        ColumnScaling::None => Conv::Swap {
            unit: match code {
                'C' => 4,
                'M' => 8,
                c => elem_size(c) as usize,
            },
            count: match code {
                'C' | 'M' => count * 2,
                _ => count,
            },
        },
        ColumnScaling::Unsigned => Conv::Unsigned {
            unit: elem_size(code) as usize,
            count,
        },
        ColumnScaling::Float { scale, zero } => Conv::Scaled {
            code,
            count,
            scale,
            zero,
        },
    }
}

/// The element type and cell shape of a fixed column, astropy's `_convert_other` rules.
fn fixed_shape(
    code: char,
    repeat: u64,
    tdim: Option<&str>,
    scaling: ColumnScaling,
) -> (DataType, Vec<u64>) {
    let dt = match (code, scaling) {
        ('A', _) => DataType::Bytes(repeat as usize),
        (_, ColumnScaling::Float { .. }) => DataType::Float64,
        (c, ColumnScaling::Unsigned) => unsigned_of(c),
        (c, _) => stored_dtype(c),
    };
    let base: Vec<u64> = match code {
        'A' => vec![],
        'X' => vec![repeat],
        _ if repeat == 1 => vec![],
        _ => vec![repeat],
    };
    if code == 'X' {
        return (dt, base);
    }
    let Some(dims) = tdim.and_then(parse_tdim) else {
        return (dt, base);
    };
    let nitems = dims.iter().try_fold(1u64, |a, &d| a.checked_mul(d));
    let Some(nitems) = nitems else {
        return (dt, base);
    };
    if code == 'A' {
        // dims (numpy order) end with the string length.
        if nitems > repeat || dims.is_empty() {
            return (dt, base);
        }
        let item = *dims.last().unwrap_or(&repeat);
        return (
            DataType::Bytes(item as usize),
            dims[..dims.len() - 1].to_vec(),
        );
    }
    if nitems > repeat {
        return (dt, base); // astropy warns and ignores TDIM
    }
    (dt, dims)
}

fn vla_shape(tdim_shape: &[u64], count: u64) -> Vec<u64> {
    if tdim_shape.len() > 1 {
        if tdim_shape[0] == 1 {
            return vec![1, count];
        }
        let inner: u64 = tdim_shape[1..].iter().product();
        if inner > 0 && count % inner == 0 {
            let mut s = vec![count / inner];
            s.extend_from_slice(&tdim_shape[1..]);
            return s;
        }
    }
    vec![count]
}

#[inline(always)]
fn swap_into<const N: usize>(src: &[u8], dst: &mut [u8]) {
    for (s, d) in src.chunks_exact(N).zip(dst.chunks_exact_mut(N)) {
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        a.reverse();
        d.copy_from_slice(&a);
    }
}

fn raw_f64(code: char, b: &[u8]) -> f64 {
    let mut a = [0u8; 8];
    let n = b.len().min(8);
    a[..n].copy_from_slice(&b[..n]);
    match code {
        'B' => b[0] as f64,
        'I' => i16::from_be_bytes([a[0], a[1]]) as f64,
        'J' => i32::from_be_bytes([a[0], a[1], a[2], a[3]]) as f64,
        'K' => i64::from_be_bytes(a) as f64,
        'E' | 'C' => f32::from_be_bytes([a[0], a[1], a[2], a[3]]) as f64,
        _ => f64::from_be_bytes(a),
    }
}

/// Convert one cell (the column's bytes of one row, or a heap array) into `dst`.
/// Convert one column's cells (one per row, in order) into `dst` (`co` bytes per row). Plain
/// big-endian numbers run a tight byte-swap loop; everything else goes through [`convert_cell`].
/// An error carries the index of the row (within `cells`) where it happened.
fn convert_column<'r>(
    conv: &Conv,
    cells: impl Iterator<Item = &'r [u8]>,
    co: usize,
    dst: &mut [u8],
) -> std::result::Result<(), (usize, String)> {
    if co == 0 {
        return Ok(());
    }
    if let Conv::Swap { unit, count } = *conv {
        if unit * count == co {
            let outs = dst.chunks_exact_mut(co);
            match unit {
                1 => swap_column::<1>(cells, outs),
                2 => swap_column::<2>(cells, outs),
                4 => swap_column::<4>(cells, outs),
                8 => swap_column::<8>(cells, outs),
                _ => return Err((0, format!("bad element size {unit}"))),
            }
            return Ok(());
        }
    }
    for (i, (cell, d)) in cells.zip(dst.chunks_exact_mut(co)).enumerate() {
        convert_cell(conv, cell, d).map_err(|m| (i, m))?;
    }
    Ok(())
}

/// Big-endian cells of `N`-byte elements to native order, cell by cell (a short cell leaves the
/// rest of its output zero, as [`convert_cell`] does).
#[inline(always)]
fn swap_column<'r, 'd, const N: usize>(
    cells: impl Iterator<Item = &'r [u8]>,
    outs: impl Iterator<Item = &'d mut [u8]>,
) {
    for (cell, d) in cells.zip(outs) {
        for (s, o) in cell.chunks_exact(N).zip(d.chunks_exact_mut(N)) {
            let mut a = [0u8; N];
            a.copy_from_slice(s);
            a.reverse();
            o.copy_from_slice(&a);
        }
    }
}

fn convert_cell(conv: &Conv, cell: &[u8], dst: &mut [u8]) -> std::result::Result<(), String> {
    match conv {
        Conv::Logical => {
            for (d, &s) in dst.iter_mut().zip(cell) {
                *d = (s == b'T') as u8;
            }
        }
        Conv::Bits(n) => {
            for (j, d) in dst.iter_mut().enumerate().take(*n as usize) {
                let byte = cell.get(j / 8).copied().unwrap_or(0);
                *d = (byte >> (7 - (j % 8))) & 1;
            }
        }
        Conv::Str { item, count } => {
            for k in 0..*count {
                let s = cell.get(k * item..(k + 1) * item).unwrap_or(&[]);
                let n = stripped_len(s);
                dst[k * item..k * item + n].copy_from_slice(&s[..n]);
            }
        }
        Conv::Swap { unit, count } => {
            let n = unit * count;
            let (src, d) = (&cell[..n.min(cell.len())], &mut dst[..n]);
            match unit {
                1 => d.copy_from_slice(src),
                2 => swap_into::<2>(src, d),
                4 => swap_into::<4>(src, d),
                8 => swap_into::<8>(src, d),
                _ => return Err(format!("bad element size {unit}")),
            }
        }
        Conv::Unsigned { unit, count } => {
            let n = unit * count;
            match unit {
                2 => swap_into::<2>(&cell[..n], &mut dst[..n]),
                4 => swap_into::<4>(&cell[..n], &mut dst[..n]),
                _ => swap_into::<8>(&cell[..n], &mut dst[..n]),
            }
            // Flip the sign bit (the most significant byte, native little or big endian).
            for d in dst[..n].chunks_exact_mut(*unit) {
                if cfg!(target_endian = "little") {
                    d[unit - 1] ^= 0x80;
                } else {
                    d[0] ^= 0x80;
                }
            }
        }
        Conv::Scaled {
            code,
            count,
            scale,
            zero,
        } => {
            let es = elem_size(*code) as usize;
            for k in 0..*count {
                let s = &cell[k * es..(k + 1) * es];
                let mut v = raw_f64(*code, s);
                if let Some(sc) = scale {
                    v *= sc;
                }
                if let Some(z) = zero {
                    v += z;
                }
                dst[k * 8..(k + 1) * 8].copy_from_slice(&v.to_ne_bytes());
            }
        }
        Conv::Ascii {
            code,
            out,
            null,
            scaling,
        } => {
            if *code == 'A' {
                let n = stripped_len(cell);
                dst[..n].copy_from_slice(&cell[..n]);
                return Ok(());
            }
            let text = trim_ascii(cell);
            let is_null = text == null.as_slice() || text.is_empty();
            let float = matches!(code, 'E' | 'F' | 'D');
            let v: AsciiVal = if is_null {
                if float {
                    AsciiVal::F(f64::NAN)
                } else {
                    AsciiVal::I(0)
                }
            } else {
                let s = std::str::from_utf8(text)
                    .map_err(|_| format!("non-ASCII field {:?}", String::from_utf8_lossy(cell)))?;
                if float {
                    let s = s.replace('D', "E");
                    AsciiVal::F(parse_numpy_float(&s).ok_or_else(|| {
                        format!("field {s:?} is not a number (astropy: ValueError)")
                    })?)
                } else {
                    AsciiVal::I(parse_numpy_int(s).ok_or_else(|| {
                        format!("field {s:?} is not an integer (astropy: ValueError)")
                    })?)
                }
            };
            match scaling {
                ColumnScaling::Float { scale, zero } => {
                    let mut x = match v {
                        AsciiVal::F(f) => f,
                        AsciiVal::I(i) => i as f64,
                    };
                    if let Some(s) = scale {
                        x *= s;
                    }
                    if let Some(z) = zero {
                        x += z;
                    }
                    dst.copy_from_slice(&x.to_ne_bytes());
                }
                _ => match (v, out) {
                    (AsciiVal::F(f), _) => dst.copy_from_slice(&f.to_ne_bytes()),
                    (AsciiVal::I(i), DataType::Int16) => dst.copy_from_slice(
                        &i16::try_from(i)
                            .map_err(|_| format!("{i} overflows int16"))?
                            .to_ne_bytes(),
                    ),
                    (AsciiVal::I(i), DataType::Int32) => dst.copy_from_slice(
                        &i32::try_from(i)
                            .map_err(|_| format!("{i} overflows int32"))?
                            .to_ne_bytes(),
                    ),
                    (AsciiVal::I(i), _) => dst.copy_from_slice(&i.to_ne_bytes()),
                },
            }
        }
        Conv::Desc { q } => {
            let (count, off) = if *q {
                let a: [u8; 8] = cell[..8].try_into().map_err(|_| "short descriptor")?;
                let b: [u8; 8] = cell[8..16].try_into().map_err(|_| "short descriptor")?;
                (i64::from_be_bytes(a), i64::from_be_bytes(b))
            } else {
                let a: [u8; 4] = cell[..4].try_into().map_err(|_| "short descriptor")?;
                let b: [u8; 4] = cell[4..8].try_into().map_err(|_| "short descriptor")?;
                (i32::from_be_bytes(a) as i64, i32::from_be_bytes(b) as i64)
            };
            dst[..8].copy_from_slice(&count.to_ne_bytes());
            dst[8..16].copy_from_slice(&off.to_ne_bytes());
        }
    }
    Ok(())
}

enum AsciiVal {
    I(i64),
    F(f64),
}

fn trim_ascii(b: &[u8]) -> &[u8] {
    let is_ws = |c: &u8| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c | 0);
    let s = b.iter().position(|c| !is_ws(c)).unwrap_or(b.len());
    let e = b.iter().rposition(|c| !is_ws(c)).map_or(s, |e| e + 1);
    &b[s..e.max(s)]
}

/// numpy's bytes → float64 parse: optional sign, digits with a point, exponent, inf/nan.
fn parse_numpy_float(s: &str) -> Option<f64> {
    let t = s.trim();
    if t.is_empty() || t.contains('_') {
        return None;
    }
    t.parse::<f64>().ok()
}

/// numpy's bytes → int parse (Python `int()` rules without underscores).
fn parse_numpy_int(s: &str) -> Option<i64> {
    let t = s.trim();
    if t.is_empty() || t.contains('_') {
        return None;
    }
    t.parse::<i64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tforms() {
        assert_eq!(
            parse_bintable_tform("10A"),
            Some(ColumnFormat::Fixed {
                code: 'A',
                repeat: 10
            })
        );
        assert_eq!(
            parse_bintable_tform("1PJ(5)"),
            Some(ColumnFormat::Var {
                q: false,
                code: 'J',
                max: Some(5)
            })
        );
        assert_eq!(
            parse_bintable_tform("QD"),
            Some(ColumnFormat::Var {
                q: true,
                code: 'D',
                max: None
            })
        );
        assert!(parse_bintable_tform("2PJ").is_none());
        assert!(parse_bintable_tform("Z").is_none());
        assert_eq!(
            parse_ascii_tform("F10.3"),
            Some(ColumnFormat::Ascii {
                code: 'F',
                width: 10,
                decimals: Some(3)
            })
        );
        assert!(parse_ascii_tform("I0").is_none());
        assert_eq!(parse_tdim("(3, 2)"), Some(vec![2, 3]));
    }

    #[test]
    fn strip_rule() {
        assert_eq!(stripped_len(b"ab \0\0"), 2);
        assert_eq!(stripped_len(b"a \0 "), 3);
        assert_eq!(stripped_len(b"   "), 0);
    }
}
