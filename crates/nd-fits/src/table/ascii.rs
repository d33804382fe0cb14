//! ASCII-table fields: the text that reads as null, and numbers parsed as numpy parses bytes.

use super::column::{Column, ColumnScaling};
use crate::card::Value;
use nd_core::DataType;

/// The field text that reads as null: TNULL as written (`"None"`, astropy's `str(None)`, when
/// absent), cut to the field width.
pub(super) fn null_text(c: &Column) -> Vec<u8> {
    let mut null = match &c.null {
        Some(Value::Str(s)) => s.trim().as_bytes().to_vec(),
        Some(Value::Int(i)) => i.to_string().into_bytes(),
        Some(Value::BigInt(b)) => b.clone().into_bytes(),
        Some(Value::Float(f)) => format!("{f:?}").into_bytes(),
        // astropy: str(None) when TNULL is absent.
        _ => b"None".to_vec(),
    };
    null.truncate(c.width as usize);
    null
}

/// One numeric field (`I`, `J`, `F`, `E`, `D`) into `dst` as `out`: blank or `null` → NaN or 0,
/// D exponents read as E, TSCAL/TZERO applied when the column is scaled.
pub(super) fn convert_number(
    code: char,
    out: &DataType,
    null: &[u8],
    scaling: ColumnScaling,
    cell: &[u8],
    dst: &mut [u8],
) -> std::result::Result<(), String> {
    let text = trim_ascii(cell);
    let is_null = text == null || text.is_empty();
    let float = matches!(code, 'E' | 'F' | 'D');
    let v: AsciiVal = if is_null {
        if float {
            AsciiVal::F(f64::NAN)
        } else {
            AsciiVal::I(0)
        }
    } else {
        let s = std::str::from_utf8(text)
            .map_err(|_| format!("non-ASCII field '{}'", String::from_utf8_lossy(cell)))?;
        if float {
            let s = s.replace('D', "E");
            AsciiVal::F(
                parse_numpy_float(&s)
                    .ok_or_else(|| format!("field '{s}' is not a number (astropy: ValueError)"))?,
            )
        } else {
            AsciiVal::I(
                parse_numpy_int(s).ok_or_else(|| {
                    format!("field '{s}' is not an integer (astropy: ValueError)")
                })?,
            )
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
