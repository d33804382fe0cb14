//! Value comparison of two arrays as astropy's `ImageDataDiff` / `TableDataDiff` do it, streamed
//! slab by slab in C order (memory: two slabs and their conversion to f64, within the budget).
//!
//! Rule (astropy's `where_not_allclose`): a value differs when it is finite (not NaN or ±inf) on
//! one side only, or finite on both with `|b − a| > atol + rtol·|b|` (`> 0` when both tolerances
//! are 0). Two non-finite values are equal whatever they are (NaN and inf alike). The tolerances
//! apply to floating-point data only; integers, booleans and strings compare exactly (strings
//! without trailing blanks and NULs, as numpy's `chararray` does). The maximum absolute and
//! relative differences are over every pair finite on both sides (relative: `|b − a| / |b|`,
//! pairs with `b = 0` left out), 0 when nothing differs.

use super::DiffOptions;
use crate::array::Array;
use crate::error::{Error, Result};
use nd_core::cast::cast_to_vec;
use nd_core::{ArrayRead, DataType, Region};
use serde_json::{json, Value as J};

/// One differing value: its index (numpy order, 0-based) and the two values.
#[derive(Debug, Clone)]
pub struct ValueDiff {
    /// Index, numpy axis order, 0-based (for a table column: the row first).
    pub index: Vec<u64>,
    /// The value in a.
    pub a: J,
    /// The value in b.
    pub b: J,
}

/// The differences between the values of two arrays.
#[derive(Debug, Clone, Default)]
pub struct DataDiff {
    /// The shapes, when they differ (then nothing else is compared).
    pub shapes: Option<(Vec<u64>, Vec<u64>)>,
    /// The types (numpy typestr), when they differ (values are still compared).
    pub dtypes: Option<(String, String)>,
    /// Number of differing values (of differing rows, for table columns: `by_row`).
    pub total: u64,
    /// Number of values (rows) compared.
    pub size: u64,
    /// The first differences, at most `numdiffs`, in C order.
    pub first: Vec<ValueDiff>,
    /// Largest `|b − a|` over the values finite on both sides.
    pub max_absolute: f64,
    /// Largest `|b − a| / |b|` over the values finite on both sides with `b ≠ 0`.
    pub max_relative: f64,
}

impl DataDiff {
    /// True when the values (and shapes) are the same.
    pub fn is_identical(&self) -> bool {
        self.shapes.is_none() && self.total == 0
    }

    /// The JSON form `nd diff --json` gives.
    pub fn to_json(&self) -> J {
        json!({
            "identical": self.is_identical(),
            "shapes": self.shapes.as_ref().map(|(a, b)| json!([a, b])),
            "dtypes": self.dtypes.as_ref().map(|(a, b)| json!([a, b])),
            "total": self.total,
            "size": self.size,
            "ratio": if self.size > 0 { self.total as f64 / self.size as f64 } else { 0.0 },
            "max_absolute": finite(self.max_absolute),
            "max_relative": finite(self.max_relative),
            "first": self.first.iter().map(|d| json!({"index": d.index, "a": d.a, "b": d.b})).collect::<Vec<_>>(),
        })
    }
}

fn finite(x: f64) -> J {
    serde_json::Number::from_f64(x).map_or(J::Null, J::Number)
}

/// How the values of one element type are compared.
enum Kind {
    /// As f64 with the tolerances (floating-point on at least one side).
    Float,
    /// Integers and booleans: exactly (byte for byte when of the same type, so 64-bit values
    /// beyond 2^53 are told apart), with the differences as f64.
    Exact,
    /// Byte for byte (complex; records; other types).
    Bytes,
    /// Byte strings without trailing blanks and NULs.
    Text,
}

fn kind(a: &DataType, b: &DataType) -> Kind {
    let text = |d: &DataType| matches!(d, DataType::Bytes(_));
    let real = |d: &DataType| d.is_integer() || d.is_float() || matches!(d, DataType::Bool);
    if text(a) && text(b) {
        Kind::Text
    } else if real(a) && real(b) && (a.is_float() || b.is_float()) {
        Kind::Float
    } else if real(a) && real(b) {
        Kind::Exact
    } else {
        Kind::Bytes
    }
}

/// Compare the values of `a` and `b`. `by_row`: count differing rows (first-axis indices), as
/// astropy counts table columns, instead of values; `first` collects at most `room` differences.
///
/// # Errors
/// [`Error::Input`] when a read fails, or the types cannot be compared (a string against a number).
pub fn diff_arrays(
    a: &Array,
    b: &Array,
    opts: &DiffOptions,
    by_row: bool,
    room: usize,
) -> Result<DataDiff> {
    let mut d = DataDiff::default();
    let (ta, tb) = (crate::typestr(a.dtype()), crate::typestr(b.dtype()));
    if ta != tb {
        d.dtypes = Some((ta, tb));
    }
    if a.shape() != b.shape() {
        d.shapes = Some((a.shape().to_vec(), b.shape().to_vec()));
        return Ok(d);
    }
    let k = kind(a.dtype(), b.dtype());
    if matches!(k, Kind::Bytes) && a.dtype().size() != b.dtype().size() {
        return Err(Error::input(format!(
            "{} ({}) and {} ({}): values of these types cannot be compared",
            a.selector(),
            crate::typestr(a.dtype()),
            b.selector(),
            crate::typestr(b.dtype())
        )));
    }
    let shape = a.shape().to_vec();
    d.size = if by_row {
        shape.first().copied().unwrap_or(1)
    } else {
        nd_core::num_elements(&shape).unwrap_or(0)
    };
    // per element: two stored values and, for numbers, two f64
    let per = a.dtype().size() + b.dtype().size() + 16;
    let elem = a.dtype().size().max(1);
    let wopts = crate::WorkOptions {
        budget: (opts.budget / per.max(1)).max(1) * elem,
        ..crate::WorkOptions::default()
    };
    let (rtol, atol) = (opts.rtol, opts.atol);
    let exact = rtol == 0.0 && atol == 0.0;
    let (da, db) = (a.dtype().clone(), b.dtype().clone());
    let mut bbuf: Vec<u8> = Vec::new();
    let mut last_row: Option<u64> = None;
    let row_len: u64 = shape
        .iter()
        .skip(1)
        .try_fold(1u64, |acc, &d| acc.checked_mul(d))
        .unwrap_or(u64::MAX)
        .max(1);
    let mut any_finite = false;
    let (mut max_abs, mut max_rel) = (0.0f64, 0.0f64);
    let b_read: &dyn ArrayRead = b.as_read();
    let mut walk = |region: &Region, abytes: &[u8]| -> nd_core::Result<()> {
        let n = abytes.len() / da.size().max(1);
        bbuf.resize(n * db.size(), 0);
        b_read.read_region_into(region, &mut bbuf)?;
        let start = nd_core::linear_index(&region.start(), &shape);
        let mut note = |i: usize, d: &mut DataDiff, va: J, vb: J| {
            let flat = start + i as u64;
            let row = flat / row_len;
            if by_row {
                if last_row == Some(row) {
                    return;
                }
                last_row = Some(row);
            }
            d.total += 1;
            if d.first.len() < room {
                d.first.push(ValueDiff {
                    index: nd_core::coords_of(flat, &shape),
                    a: va,
                    b: vb,
                });
            }
        };
        match k {
            Kind::Float | Kind::Exact => {
                let xa: Vec<f64> = cast_to_vec(&da, abytes)?;
                let xb: Vec<f64> = cast_to_vec(&db, &bbuf)?;
                let same_type = da == db;
                let es = da.size().max(1);
                for (i, (&x, &y)) in xa.iter().zip(&xb).enumerate() {
                    let (fx, fy) = (x.is_finite(), y.is_finite());
                    let differs = if fx && fy {
                        let abs = (y - x).abs();
                        any_finite = true;
                        max_abs = max_abs.max(abs);
                        if y != 0.0 {
                            max_rel = max_rel.max(abs / y.abs());
                        }
                        if matches!(k, Kind::Exact) && same_type {
                            abytes[i * es..(i + 1) * es] != bbuf[i * es..(i + 1) * es]
                        } else if exact || matches!(k, Kind::Exact) {
                            abs > 0.0
                        } else {
                            abs > atol + rtol * y.abs()
                        }
                    } else {
                        fx != fy
                    };
                    if differs {
                        note(i, &mut d, num_json(x), num_json(y));
                    }
                }
            }
            Kind::Bytes | Kind::Text => {
                let (sa, sb) = (da.size().max(1), db.size().max(1));
                for (i, (x, y)) in abytes.chunks(sa).zip(bbuf.chunks(sb)).enumerate() {
                    let (x, y) = if matches!(k, Kind::Text) {
                        (trim_text(x), trim_text(y))
                    } else {
                        (x, y)
                    };
                    if x != y {
                        let show = |v: &[u8], t: &DataType| -> J {
                            if matches!(k, Kind::Text) {
                                J::String(String::from_utf8_lossy(v).into_owned())
                            } else {
                                cast_to_vec::<f64>(t, v)
                                    .ok()
                                    .and_then(|v| v.first().copied())
                                    .map_or_else(|| J::String(hex(v)), num_json)
                            }
                        };
                        note(i, &mut d, show(x, &da), show(y, &db));
                    }
                }
            }
        }
        Ok(())
    };
    a.on_pool(|| nd_ops::for_each_slab(a.as_read(), &wopts, &mut walk))
        .map_err(|e| Error::input(format!("{} / {}: {e}", a.selector(), b.selector())))?;
    if d.total > 0 && any_finite {
        d.max_absolute = max_abs;
        d.max_relative = max_rel;
    }
    Ok(d)
}

fn trim_text(v: &[u8]) -> &[u8] {
    let end = v
        .iter()
        .rposition(|&c| c != b' ' && c != 0)
        .map_or(0, |p| p + 1);
    &v[..end]
}

fn hex(v: &[u8]) -> String {
    v.iter().map(|b| format!("{b:02x}")).collect()
}

/// A value as JSON: integral values as integers, NaN and infinities as strings.
fn num_json(x: f64) -> J {
    if x.is_finite() && x.fract() == 0.0 && x.abs() < 9.0e15 {
        J::from(x as i64)
    } else if x.is_finite() {
        finite(x)
    } else {
        J::String(
            if x.is_nan() {
                "nan"
            } else if x > 0.0 {
                "inf"
            } else {
                "-inf"
            }
            .into(),
        )
    }
}
