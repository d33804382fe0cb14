//! Writing binary tables (BINTABLE): fixed-width columns from arrays, bits, strings, unsigned
//! integers with the TZERO conventions, scaled columns, and variable-length arrays in the heap.
//! See `spec-notes/fits-tables.md` ("Writing").

use crate::card::{Card, Value};
use crate::error::{Error, Result};
use crate::hdu::is_structural;
use crate::header::Header;
use crate::write::{FitsWriter, PendingHdu};
use nd_core::{ArrayBuf, DataType};

/// Floats stored as integers: `stored = round((v - zero) / scale)` (TSCALn / TZEROn), NaN →
/// the column's TNULL.
#[derive(Debug, Clone, PartialEq)]
pub struct TableScale {
    /// The stored integer type: `UInt8` (B), `Int16` (I), `Int32` (J) or `Int64` (K).
    pub stored: DataType,
    /// TSCALn.
    pub scale: f64,
    /// TZEROn.
    pub zero: f64,
}

/// The values of one column, one entry per row.
#[derive(Debug, Clone)]
pub enum ColumnValues {
    /// Fixed-size cells: an array of shape `(nrows, *cell)`. The type picks the TFORM code:
    /// bool → `L`, uint8 → `B`, int8 → `B` with TZERO = −128, int16 → `I`, uint16 → `I` with
    /// TZERO = 32768, int32 → `J`, uint32 → `J` with TZERO = 2^31, int64 → `K`, uint64 → `K`
    /// with TZERO = 2^63, float32 → `E`, float64 → `D`, complex64 → `C`, complex128 → `M`,
    /// `Bytes(n)` → `nA` (strings, padded with spaces). A cell of two or more dimensions (one
    /// or more for strings) gets a TDIMn.
    Array(ArrayBuf),
    /// Bits (`X`): a bool array of shape `(nrows, nbits)` (or `(nrows,)` for one bit).
    Bits(ArrayBuf),
    /// ASCII strings (`A`), as wide as the longest (at least 1), padded with spaces.
    Strings(Vec<String>),
    /// Variable-length arrays (`1PT(max)`, or `1QT(max)` when `q`), one array per row (any
    /// shape, flattened) of type `dtype`: bool, uint8, int16, int32, int64, float32, float64,
    /// complex64 or complex128.
    Var {
        /// The element type (needed for a table of zero rows too).
        dtype: DataType,
        /// One array per row.
        rows: Vec<ArrayBuf>,
        /// 64-bit descriptors (`Q`) instead of 32-bit (`P`).
        q: bool,
    },
    /// Variable-length ASCII strings (`1PA(max)` / `1QA(max)`).
    VarStrings {
        /// One string per row.
        rows: Vec<String>,
        /// 64-bit descriptors (`Q`).
        q: bool,
    },
}

/// One column to write: a name (TTYPEn), values, and optional TUNITn, TNULLn and scaling.
#[derive(Debug, Clone)]
pub struct ColumnData {
    /// TTYPEn.
    pub name: String,
    /// The values.
    pub values: ColumnValues,
    /// TUNITn.
    pub unit: Option<String>,
    /// TNULLn (integer columns only; a stored value).
    pub null: Option<i64>,
    /// TSCALn / TZEROn for float values stored as integers.
    pub scale: Option<TableScale>,
}

impl ColumnData {
    /// A column with a name and values.
    pub fn new(name: impl Into<String>, values: ColumnValues) -> ColumnData {
        ColumnData {
            name: name.into(),
            values,
            unit: None,
            null: None,
            scale: None,
        }
    }

    /// A fixed-size column from an array of shape `(nrows, *cell)`.
    pub fn array(name: impl Into<String>, a: ArrayBuf) -> ColumnData {
        ColumnData::new(name, ColumnValues::Array(a))
    }

    /// Set TUNITn.
    pub fn with_unit(mut self, unit: impl Into<String>) -> ColumnData {
        self.unit = Some(unit.into());
        self
    }

    /// Set TNULLn.
    pub fn with_null(mut self, null: i64) -> ColumnData {
        self.null = Some(null);
        self
    }

    /// Store float values as scaled integers.
    pub fn with_scale(mut self, scale: TableScale) -> ColumnData {
        self.scale = Some(scale);
        self
    }

    fn nrows(&self) -> Result<u64> {
        Ok(match &self.values {
            ColumnValues::Array(a) | ColumnValues::Bits(a) => match a.shape().first() {
                Some(&n) => n,
                None => {
                    return Err(col_err(
                        &self.name,
                        "a column array needs a first (row) axis".into(),
                    ))
                }
            },
            ColumnValues::Strings(v) => v.len() as u64,
            ColumnValues::Var { rows, .. } => rows.len() as u64,
            ColumnValues::VarStrings { rows, .. } => rows.len() as u64,
        })
    }
}

fn col_err(name: &str, msg: String) -> Error {
    Error::Table {
        hdu: usize::MAX,
        row: None,
        column: Some(name.to_string()),
        msg,
    }
}

/// One column laid out: its header cards and its cells (big-endian, `width` bytes per row).
pub(crate) struct Laid {
    pub(crate) tform: String,
    pub(crate) extra: Vec<(String, Value)>,
    pub(crate) width: usize,
    pub(crate) cells: Vec<u8>,
}

/// The TFORM code and TZERO of a native type.
fn code_of(dt: &DataType) -> Option<(char, Option<Value>)> {
    Some(match dt {
        DataType::Bool => ('L', None),
        DataType::UInt8 => ('B', None),
        DataType::Int8 => ('B', Some(Value::Int(-128))),
        DataType::Int16 => ('I', None),
        DataType::UInt16 => ('I', Some(Value::Int(32768))),
        DataType::Int32 => ('J', None),
        DataType::UInt32 => ('J', Some(Value::Int(2147483648))),
        DataType::Int64 => ('K', None),
        DataType::UInt64 => ('K', Some(Value::BigInt("9223372036854775808".into()))),
        DataType::Float32 => ('E', None),
        DataType::Float64 => ('D', None),
        DataType::Complex64 => ('C', None),
        DataType::Complex128 => ('M', None),
        _ => return None,
    })
}

/// Native values of `dt` → stored big-endian bytes appended to `out` (L as 'T'/'F', unsigned
/// and int8 with the sign bit flipped).
pub(crate) fn push_stored(dt: &DataType, native: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    match dt {
        DataType::Bool => out.extend(native.iter().map(|&b| if b != 0 { b'T' } else { b'F' })),
        DataType::Int8 => out.extend(native.iter().map(|&b| b ^ 0x80)),
        _ => {
            out.extend_from_slice(native);
            let unit = dt.swap_unit();
            if unit > 1 && cfg!(target_endian = "little") {
                nd_core::dtype::swap_bytes(unit, &mut out[start..]);
            }
            if matches!(dt, DataType::UInt16 | DataType::UInt32 | DataType::UInt64) {
                for c in out[start..].chunks_exact_mut(dt.size()) {
                    c[0] ^= 0x80; // big-endian: the sign bit is in the first byte
                }
            }
        }
    }
}

fn tdim(dims: &[u64]) -> String {
    let parts: Vec<String> = dims.iter().rev().map(|d| d.to_string()).collect();
    format!("({})", parts.join(","))
}

fn scaled_cells(
    name: &str,
    a: &ArrayBuf,
    s: &TableScale,
    null: Option<i64>,
) -> Result<(char, Vec<u8>)> {
    let vals: Vec<f64> = match a.dtype() {
        DataType::Float32 => a.as_slice::<f32>()?.iter().map(|&v| v as f64).collect(),
        DataType::Float64 => a.as_slice::<f64>()?.to_vec(),
        other => {
            return Err(col_err(
                name,
                format!("scaled columns take float32 or float64 values, not {other}"),
            ))
        }
    };
    let (code, lo, hi, e) = match s.stored {
        DataType::UInt8 => ('B', 0.0, 255.0, 1usize),
        DataType::Int16 => ('I', i16::MIN as f64, i16::MAX as f64, 2),
        DataType::Int32 => ('J', i32::MIN as f64, i32::MAX as f64, 4),
        DataType::Int64 => ('K', i64::MIN as f64, i64::MAX as f64, 8),
        ref other => {
            return Err(col_err(
                name,
                format!("scaled columns are stored as uint8/int16/int32/int64, not {other}"),
            ))
        }
    };
    if s.scale == 0.0 || !s.scale.is_finite() || !s.zero.is_finite() {
        return Err(col_err(
            name,
            format!("TSCAL {} / TZERO {} cannot be used", s.scale, s.zero),
        ));
    }
    let mut out = Vec::with_capacity(vals.len() * e);
    for v in vals {
        let q: i64 = if v.is_nan() {
            null.ok_or_else(|| col_err(name, "values hold NaN but the column has no TNULL".into()))?
        } else {
            ((v - s.zero) / s.scale).round_ties_even().clamp(lo, hi) as i64
        };
        out.extend_from_slice(&q.to_be_bytes()[8 - e..]);
    }
    Ok((code, out))
}

fn ascii_checked(name: &str, s: &str) -> Result<()> {
    if s.is_ascii() {
        Ok(())
    } else {
        Err(col_err(name, format!("string '{s}' is not ASCII")))
    }
}

fn lay_out(c: &ColumnData, nrows: u64) -> Result<Laid> {
    let name = c.name.as_str();
    let mut extra: Vec<(String, Value)> = Vec::new();
    let n = nrows as usize;
    let laid = match &c.values {
        ColumnValues::Array(a) => {
            let cell: Vec<u64> = a.shape()[1..].to_vec();
            let repeat: u64 = cell.iter().product();
            if let Some(s) = &c.scale {
                let (code, cells) = scaled_cells(name, a, s, c.null)?;
                extra.push(("TSCAL".into(), Value::Float(s.scale)));
                extra.push(("TZERO".into(), Value::Float(s.zero)));
                if cell.len() >= 2 {
                    extra.push(("TDIM".into(), Value::Str(tdim(&cell))));
                }
                return Ok(Laid {
                    tform: format!("{repeat}{code}"),
                    extra,
                    width: repeat as usize * scaled_size(code),
                    cells,
                });
            }
            if let DataType::Bytes(item) = a.dtype() {
                let item = *item;
                let mut cells = a.bytes().to_vec();
                // NUL padding (numpy `S`) becomes space padding.
                for s in cells.chunks_mut(item.max(1)) {
                    let keep = s.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
                    s[keep..].fill(b' ');
                }
                if !cells.is_ascii() {
                    return Err(col_err(name, "string bytes are not ASCII".into()));
                }
                let width = item as u64 * repeat;
                if !cell.is_empty() {
                    let mut dims = cell.clone();
                    dims.push(item as u64);
                    extra.push(("TDIM".into(), Value::Str(tdim(&dims))));
                }
                Laid {
                    tform: format!("{width}A"),
                    extra,
                    width: width as usize,
                    cells,
                }
            } else {
                let (code, zero) = code_of(a.dtype()).ok_or_else(|| {
                    col_err(
                        name,
                        format!("FITS tables cannot hold {} values", a.dtype()),
                    )
                })?;
                if let Some(z) = zero {
                    extra.push(("TZERO".into(), z));
                }
                if cell.len() >= 2 {
                    extra.push(("TDIM".into(), Value::Str(tdim(&cell))));
                }
                let mut cells = Vec::with_capacity(a.bytes().len());
                push_stored(a.dtype(), a.bytes(), &mut cells);
                Laid {
                    tform: format!("{repeat}{code}"),
                    extra,
                    width: repeat as usize * a.dtype().size(),
                    cells,
                }
            }
        }
        ColumnValues::Bits(a) => {
            if a.dtype() != &DataType::Bool {
                return Err(col_err(
                    name,
                    format!("bit columns take bool values, not {}", a.dtype()),
                ));
            }
            let nbits: u64 = a.shape()[1..].iter().product();
            let w = nbits.div_ceil(8) as usize;
            let mut cells = vec![0u8; w * n];
            let b = a.bytes();
            for r in 0..n {
                for j in 0..nbits as usize {
                    if b[r * nbits as usize + j] != 0 {
                        cells[r * w + j / 8] |= 0x80 >> (j % 8);
                    }
                }
            }
            Laid {
                tform: format!("{nbits}X"),
                extra,
                width: w,
                cells,
            }
        }
        ColumnValues::Strings(v) => {
            let w = v.iter().map(|s| s.len()).max().unwrap_or(0).max(1);
            let mut cells = vec![b' '; w * n];
            for (r, s) in v.iter().enumerate() {
                ascii_checked(name, s)?;
                cells[r * w..r * w + s.len()].copy_from_slice(s.as_bytes());
            }
            Laid {
                tform: format!("{w}A"),
                extra,
                width: w,
                cells,
            }
        }
        ColumnValues::Var { .. } | ColumnValues::VarStrings { .. } => {
            return Err(col_err(name, "internal: VLA laid out as fixed".into()))
        }
    };
    Ok(laid)
}

fn scaled_size(code: char) -> usize {
    match code {
        'B' => 1,
        'I' => 2,
        'J' => 4,
        _ => 8,
    }
}

/// A variable-length column: descriptors into `heap` (appended).
fn lay_out_var(c: &ColumnData, heap: &mut Vec<u8>) -> Result<Laid> {
    let name = c.name.as_str();
    let (code, q, parts): (char, bool, Vec<(u64, Vec<u8>)>) = match &c.values {
        ColumnValues::Var { dtype, rows, q } => {
            let code = match dtype {
                DataType::Bool => 'L',
                DataType::UInt8 => 'B',
                DataType::Int16 => 'I',
                DataType::Int32 => 'J',
                DataType::Int64 => 'K',
                DataType::Float32 => 'E',
                DataType::Float64 => 'D',
                DataType::Complex64 => 'C',
                DataType::Complex128 => 'M',
                other => {
                    return Err(col_err(
                        name,
                        format!("variable-length columns cannot hold {other} values"),
                    ))
                }
            };
            let mut parts = Vec::with_capacity(rows.len());
            for (r, a) in rows.iter().enumerate() {
                if a.dtype() != dtype {
                    return Err(Error::Table {
                        hdu: usize::MAX,
                        row: Some(r as u64),
                        column: Some(name.to_string()),
                        msg: format!("a {} array in a {dtype} column", a.dtype()),
                    });
                }
                let mut b = Vec::with_capacity(a.bytes().len());
                push_stored(dtype, a.bytes(), &mut b);
                parts.push((a.len() as u64, b));
            }
            (code, *q, parts)
        }
        ColumnValues::VarStrings { rows, q } => {
            let mut parts = Vec::with_capacity(rows.len());
            for s in rows {
                ascii_checked(name, s)?;
                parts.push((s.len() as u64, s.as_bytes().to_vec()));
            }
            ('A', *q, parts)
        }
        _ => return Err(col_err(name, "internal: fixed laid out as VLA".into())),
    };
    let max = parts.iter().map(|p| p.0).max().unwrap_or(0);
    let width = if q { 16 } else { 8 };
    let mut cells = Vec::with_capacity(parts.len() * width);
    for (count, bytes) in parts {
        let off = heap.len() as u64;
        if q {
            cells.extend_from_slice(&count.to_be_bytes());
            cells.extend_from_slice(&off.to_be_bytes());
        } else {
            let (Ok(c32), Ok(o32)) = (i32::try_from(count), i32::try_from(off)) else {
                return Err(col_err(
                    name,
                    format!(
                        "the heap passes 2^31 bytes (offset {off}, count {count}): use Q descriptors"
                    ),
                ));
            };
            cells.extend_from_slice(&c32.to_be_bytes());
            cells.extend_from_slice(&o32.to_be_bytes());
        }
        heap.extend_from_slice(&bytes);
    }
    let mut extra = Vec::new();
    if let Some(n) = c.null {
        extra.push(("TNULL".into(), Value::Int(n)));
    }
    Ok(Laid {
        tform: format!("1{}{code}({max})", if q { 'Q' } else { 'P' }),
        extra,
        width,
        cells,
    })
}

/// Keywords a user card may not set in a table header.
pub(crate) fn is_table_reserved(k: &str) -> bool {
    if is_structural(k) || matches!(k, "END" | "TFIELDS" | "THEAP" | "CHECKSUM" | "DATASUM") {
        return true;
    }
    [
        "TTYPE", "TFORM", "TUNIT", "TNULL", "TSCAL", "TZERO", "TDIM", "TDISP", "TBCOL",
    ]
    .iter()
    .any(|p| {
        k.strip_prefix(p)
            .is_some_and(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// A built BINTABLE: its header (structural and column cards only) and data (rows + heap).
pub(crate) struct BuiltTable {
    pub(crate) header: Header,
    pub(crate) data: Vec<u8>,
}

/// Lay out columns into a BINTABLE header and data.
pub(crate) fn build_bintable(columns: &[ColumnData]) -> Result<BuiltTable> {
    if columns.len() > 999 {
        return Err(Error::Invalid(format!(
            "a table holds at most 999 columns, not {}",
            columns.len()
        )));
    }
    let nrows = match columns.first() {
        Some(c) => c.nrows()?,
        None => 0,
    };
    for c in columns {
        let n = c.nrows()?;
        if n != nrows {
            return Err(col_err(
                &c.name,
                format!(
                    "{n} rows, but column '{}' has {nrows}",
                    columns.first().map(|c| c.name.as_str()).unwrap_or("")
                ),
            ));
        }
        if c.null.is_some() && c.scale.is_none() {
            let int = match &c.values {
                ColumnValues::Array(a) => a.dtype().is_integer(),
                ColumnValues::Var { dtype, .. } => dtype.is_integer(),
                _ => false,
            };
            if !int {
                return Err(col_err(
                    &c.name,
                    "TNULL applies to integer columns only".into(),
                ));
            }
        }
    }
    let mut heap = Vec::new();
    let mut laid = Vec::with_capacity(columns.len());
    for c in columns {
        let mut l = match c.values {
            ColumnValues::Var { .. } | ColumnValues::VarStrings { .. } => {
                lay_out_var(c, &mut heap)?
            }
            _ => {
                let mut l = lay_out(c, nrows)?;
                if let Some(n) = c.null {
                    l.extra.insert(0, ("TNULL".into(), Value::Int(n)));
                }
                l
            }
        };
        if l.cells.len() as u64 != l.width as u64 * nrows {
            return Err(col_err(
                &c.name,
                format!(
                    "{} bytes of cells for {nrows} rows of {} bytes",
                    l.cells.len(),
                    l.width
                ),
            ));
        }
        if let Some(u) = &c.unit {
            l.extra.insert(0, ("TUNIT".into(), Value::Str(u.clone())));
        }
        laid.push(l);
    }
    let row_len: usize = laid.iter().map(|l| l.width).sum();
    let n = nrows as usize;
    let table_len = row_len
        .checked_mul(n)
        .ok_or_else(|| Error::Invalid("table size overflows".into()))?;
    let mut data = vec![0u8; table_len];
    interleave(&laid, row_len, &mut data);
    data.extend_from_slice(&heap);
    let h = bintable_header(columns, &laid, nrows, heap.len() as u64)?;
    Ok(BuiltTable { header: h, data })
}

/// Lay out fixed-width columns holding the same number of rows (TNULL and TUNIT cards in
/// `extra`); their cells are `width` x rows bytes each.
pub(crate) fn lay_out_fixed(columns: &[ColumnData], nrows: u64) -> Result<Vec<Laid>> {
    let mut laid = Vec::with_capacity(columns.len());
    for c in columns {
        if matches!(
            c.values,
            ColumnValues::Var { .. } | ColumnValues::VarStrings { .. }
        ) {
            return Err(col_err(
                &c.name,
                "variable-length columns cannot be written a block of rows at a time".into(),
            ));
        }
        let n = c.nrows()?;
        if n != nrows {
            return Err(col_err(&c.name, format!("{n} rows in a block of {nrows}")));
        }
        let mut l = lay_out(c, nrows)?;
        if let Some(n) = c.null {
            l.extra.insert(0, ("TNULL".into(), Value::Int(n)));
        }
        if let Some(u) = &c.unit {
            l.extra.insert(0, ("TUNIT".into(), Value::Str(u.clone())));
        }
        if l.cells.len() as u64 != l.width as u64 * nrows {
            return Err(col_err(
                &c.name,
                format!(
                    "{} bytes of cells for {nrows} rows of {} bytes",
                    l.cells.len(),
                    l.width
                ),
            ));
        }
        laid.push(l);
    }
    Ok(laid)
}

/// Interleave laid-out columns into rows of `row_len` bytes (`data` holds the rows).
pub(crate) fn interleave(laid: &[Laid], row_len: usize, data: &mut [u8]) {
    let mut off = 0usize;
    for l in laid {
        if l.width > 0 {
            for (r, cell) in l.cells.chunks_exact(l.width).enumerate() {
                let s = r * row_len + off;
                data[s..s + l.width].copy_from_slice(cell);
            }
        }
        off += l.width;
    }
}

/// The structural and column cards of a BINTABLE of `nrows` rows of the laid-out columns and a
/// heap of `pcount` bytes.
pub(crate) fn bintable_header(
    columns: &[ColumnData],
    laid: &[Laid],
    nrows: u64,
    pcount: u64,
) -> Result<Header> {
    let row_len: u64 = laid.iter().map(|l| l.width as u64).sum();
    let mut h = Header::new();
    h.push(Card::new(
        "XTENSION",
        "BINTABLE",
        Some("binary table extension"),
    )?);
    h.push(Card::new("BITPIX", 8i64, Some("array data type"))?);
    h.push(Card::new(
        "NAXIS",
        2i64,
        Some("number of array dimensions"),
    )?);
    h.push(Card::new("NAXIS1", row_len, Some("length of dimension 1"))?);
    h.push(Card::new("NAXIS2", nrows, Some("length of dimension 2"))?);
    h.push(Card::new(
        "PCOUNT",
        pcount,
        Some("number of group parameters"),
    )?);
    h.push(Card::new("GCOUNT", 1i64, Some("number of groups"))?);
    h.push(Card::new(
        "TFIELDS",
        columns.len() as i64,
        Some("number of table fields"),
    )?);
    for (i, (c, l)) in columns.iter().zip(laid).enumerate() {
        let k = i + 1;
        h.push(Card::new(&format!("TTYPE{k}"), c.name.as_str(), None)?);
        h.push(Card::new(&format!("TFORM{k}"), l.tform.as_str(), None)?);
        for (key, v) in &l.extra {
            h.push(Card::new(&format!("{key}{k}"), v.clone(), None)?);
        }
    }
    Ok(h)
}

impl FitsWriter {
    /// Add a binary table extension (an empty primary HDU is added first if there is none).
    /// Every column must have the same number of rows (a [`Error::Table`] naming the column
    /// otherwise); zero rows is valid. Structural and column keywords in `cards` are ignored.
    ///
    /// ```no_run
    /// use nd_core::ArrayBuf;
    /// use nd_fits::{Card, ColumnData, ColumnValues, FitsWriter};
    /// let mut w = FitsWriter::create("table.fits");
    /// w.add_bintable(
    ///     &[
    ///         ColumnData::array("FLUX", ArrayBuf::from_vec(vec![3], &[1.5f32, 2.5, 3.5])?)
    ///             .with_unit("Jy"),
    ///         ColumnData::new("NAME", ColumnValues::Strings(vec!["a".into(), "bb".into(), "".into()])),
    ///     ],
    ///     &[Card::new("EXTNAME", "CATALOG", None)?],
    /// )?;
    /// w.finish()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_bintable(&mut self, columns: &[ColumnData], cards: &[Card]) -> Result<()> {
        let hdu = self.hdus.len().max(1);
        let built = build_bintable(columns).map_err(|e| with_hdu(e, hdu))?;
        self.push_table(built, cards, &[])
    }

    /// Push a built table with user cards (filtered) and extra reserved cards after them.
    pub(crate) fn push_table(
        &mut self,
        built: BuiltTable,
        cards: &[Card],
        after: &[Card],
    ) -> Result<()> {
        if self.hdus.is_empty() {
            self.add_empty_primary(&[])?;
        }
        let header = with_user_cards(built.header, cards, after, self.checksums)?;
        self.hdus.push(PendingHdu {
            header,
            data: built.data,
        });
        Ok(())
    }
}

/// A table header with the user cards (reserved ones left out), `after`, and CHECKSUM/DATASUM
/// placeholders when `checksums`.
pub(crate) fn with_user_cards(
    mut header: Header,
    cards: &[Card],
    after: &[Card],
    checksums: bool,
) -> Result<Header> {
    for c in cards {
        if is_table_reserved(c.keyword()) {
            continue;
        }
        header.push(c.clone());
    }
    for c in after {
        header.push(c.clone());
    }
    if checksums {
        header.push(Card::new(
            "CHECKSUM",
            "0000000000000000",
            Some("HDU checksum"),
        )?);
        header.push(Card::new("DATASUM", "0", Some("data unit checksum"))?);
    }
    Ok(header)
}

/// Put the HDU index into a table error built without one.
pub(crate) fn with_hdu(e: Error, hdu: usize) -> Error {
    match e {
        Error::Table {
            hdu: usize::MAX,
            row,
            column,
            msg,
        } => Error::Table {
            hdu,
            row,
            column,
            msg,
        },
        e => e,
    }
}
