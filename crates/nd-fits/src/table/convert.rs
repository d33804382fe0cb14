//! Stored cells to astropy's values: one conversion per column (byte swaps, the unsigned
//! conventions, TSCAL/TZERO, logicals, bits, strings, ASCII fields, heap descriptors), run column
//! by column over a block of rows.

use super::ascii;
use super::column::{elem_size, Column, ColumnFormat, ColumnScaling};
use nd_core::DataType;

/// Strip as astropy's chararray does: trailing NULs (numpy `S`), then trailing whitespace.
/// Returns the kept length.
#[inline]
pub(super) fn stripped_len(b: &[u8]) -> usize {
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
pub(super) enum Conv {
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

/// The conversion of a column's cells; `None` for variable-length columns (read with
/// [`super::Table::vla_rows`]).
pub(super) fn conv_of(c: &Column) -> Option<Conv> {
    Some(match c.format {
        ColumnFormat::Var { .. } => return None,
        ColumnFormat::Ascii { code, .. } => Conv::Ascii {
            code,
            out: c.dtype.clone(),
            null: ascii::null_text(c),
            scaling: c.scaling,
        },
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

pub(super) fn numeric_conv(code: char, count: usize, scaling: ColumnScaling) -> Conv {
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

/// Convert one column's cells (one per row, in order) into `dst` (`co` bytes per row). Plain
/// big-endian numbers run a tight byte-swap loop; everything else goes through [`convert_cell`].
/// An error carries the index of the row (within `cells`) where it happened.
pub(super) fn convert_column<'r>(
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

/// Convert one cell (the column's bytes of one row, or a heap array) into `dst`.
pub(super) fn convert_cell(
    conv: &Conv,
    cell: &[u8],
    dst: &mut [u8],
) -> std::result::Result<(), String> {
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
            ascii::convert_number(*code, out, null, *scaling, cell, dst)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_rule() {
        assert_eq!(stripped_len(b"ab \0\0"), 2);
        assert_eq!(stripped_len(b"a \0 "), 3);
        assert_eq!(stripped_len(b"   "), 0);
    }
}
