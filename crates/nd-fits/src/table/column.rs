//! A table's columns: TFORM parsed (binary and ASCII tables), TSCAL/TZERO decided, and the
//! element type and cell shape astropy returns, from the header's column keywords.

use crate::card::Value;
use crate::error::{Error, Result};
use crate::header::Header;
use nd_core::DataType;

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

    pub(super) fn cell_elems(&self) -> u64 {
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

impl Column {
    /// Column `k` (1-based) of a table header: TTYPE, TFORM, TSCAL/TZERO, TNULL, TDIM, TUNIT;
    /// `offset` is where a binary table's column starts in the row (ASCII tables use TBCOL).
    pub(super) fn from_header(
        h: &Header,
        k: usize,
        ascii: bool,
        offset: u64,
        hdu: usize,
    ) -> Result<Column> {
        let terr = |column: Option<String>, msg: String| Error::Table {
            hdu,
            row: None,
            column,
            msg,
        };
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
        .ok_or_else(|| terr(Some(label.clone()), format!("invalid TFORM{k} '{tform}'")))?;
        let scale = num_value(h, &format!("TSCAL{k}"), hdu, &label)?;
        let zero = num_value(h, &format!("TZERO{k}"), hdu, &label)?;
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
                    repeat
                        .checked_mul(elem_size(*code))
                        .ok_or_else(|| terr(Some(label.clone()), "column width overflows".into()))?
                };
                let (dt, shape) = fixed_shape(*code, *repeat, tdim.as_deref(), scaling);
                (offset, w, dt, shape)
            }
        };
        Ok(Column {
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
        })
    }
}

fn num_value(h: &Header, key: &str, hdu: usize, col: &str) -> Result<Option<Value>> {
    match h.get(key) {
        None | Some(Value::Undefined) => Ok(None),
        Some(v) if v.is_number() => Ok(Some(v.clone())),
        Some(v) => Err(Error::Table {
            hdu,
            row: None,
            column: Some(col.to_string()),
            msg: format!("{key} = {v} is not a number"),
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
        // `A7`, the ASCII-table spelling, in a binary table: astropy reads it as `7A` ("a very
        // common mistake", astropy.io.fits.column._convert_fits2record); an option that is not
        // an integer makes astropy refuse the column
        'A' if digits == 0 && rest.len() > 1 => Some(ColumnFormat::Fixed {
            code,
            repeat: rest[1..].parse().ok()?,
        }),
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

/// Bytes per element of a binary-table type code (0 for unknown codes).
pub(super) fn elem_size(code: char) -> u64 {
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

/// Parse `(a,b,c)` into numpy-order dims (reversed), as astropy's `TDIM_RE.match` does: the value
/// starts with `(` (a leading blank is significant in a FITS string, and astropy then ignores the
/// TDIM), blanks around the numbers are allowed, digits only, and text after `)` is ignored.
fn parse_tdim(s: &str) -> Option<Vec<u64>> {
    let rest = s.strip_prefix('(')?;
    let inner = &rest[..rest.find(')')?];
    let mut v = Vec::new();
    for part in inner.split(',') {
        let digits = part.trim();
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        v.push(digits.parse::<u64>().ok()?);
    }
    v.reverse();
    Some(v)
}

fn unsigned_of(code: char) -> DataType {
    match code {
        'I' => DataType::UInt16,
        'J' => DataType::UInt32,
        _ => DataType::UInt64,
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

/// The shape of one variable-length cell of `count` elements: the TDIM shape when it divides.
pub(super) fn vla_shape(tdim_shape: &[u64], count: u64) -> Vec<u64> {
    if tdim_shape.len() > 1 {
        if tdim_shape[0] == 1 {
            return vec![1, count];
        }
        let inner: u64 = tdim_shape[1..].iter().product();
        if inner > 0 && count.is_multiple_of(inner) {
            let mut s = vec![count / inner];
            s.extend_from_slice(&tdim_shape[1..]);
            return s;
        }
    }
    vec![count]
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
        // the ASCII-table spelling `Aw` is read as `wA`, as astropy reads it
        assert_eq!(
            parse_bintable_tform("A3"),
            Some(ColumnFormat::Fixed {
                code: 'A',
                repeat: 3
            })
        );
        assert_eq!(
            parse_bintable_tform("A"),
            Some(ColumnFormat::Fixed {
                code: 'A',
                repeat: 1
            })
        );
        assert!(parse_bintable_tform("Ax").is_none());
        // TDIM as astropy matches it: a leading blank and the TDIM is ignored
        assert_eq!(parse_tdim("(2,3)  "), Some(vec![3, 2]));
        assert_eq!(parse_tdim("( 2 , 3 )"), Some(vec![3, 2]));
        assert_eq!(parse_tdim(" (2,2)"), None);
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
        assert_eq!(parse_tdim("( 3 ,2 ) extra"), Some(vec![2, 3]));
        // astropy's TDIM_RE.match: a leading blank, a sign or a letter make the TDIM ignored
        assert_eq!(parse_tdim(" (2,2)"), None);
        assert_eq!(parse_tdim("(+2,2)"), None);
        assert_eq!(parse_tdim("(2,a)"), None);
        assert_eq!(parse_tdim("(2,)"), None);
    }
}
