//! The per-tile parameter columns of a tile table (ZSCALE, ZZERO, ZBLANK, the column holding
//! each tile): as JSON lists (`nd_fits_tile_table`) or as base64 of little-endian binary
//! columns (`nd_fits_tile_group`), and each tile's [`TileParams`] from them.

use super::super::{base64, unbase64};
use nd_fits::{TileColumn, TileParams};
use serde_json::{json, Map, Value};

/// The parameters of every tile (table-row order) beyond the image's settings.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct TileColumns {
    /// ZSCALE and ZZERO (quantized images).
    pub(super) zscale: Option<Vec<f64>>,
    pub(super) zzero: Option<Vec<f64>>,
    /// ZBLANK per tile when it varies ...
    pub(super) zblank: Option<Vec<Option<i64>>>,
    /// ... else the one every tile has.
    pub(super) zblank_all: Option<i64>,
    /// The column holding each tile, when some tile is not in COMPRESSED_DATA.
    pub(super) column: Option<Vec<TileColumn>>,
}

/// A fallback column as one byte of a binary `column`: 0 COMPRESSED_DATA, 1
/// GZIP_COMPRESSED_DATA, else UNCOMPRESSED_DATA with that TFORM code (an ASCII letter).
fn column_byte(c: TileColumn) -> Result<u8, String> {
    match c {
        TileColumn::Compressed => Ok(0),
        TileColumn::Gzip => Ok(1),
        TileColumn::Uncompressed(code) if code.is_ascii_alphabetic() => Ok(code as u8),
        TileColumn::Uncompressed(code) => Err(format!("UNCOMPRESSED_DATA of TFORM code {code:?}")),
    }
}

fn byte_column(b: u8) -> Result<TileColumn, String> {
    match b {
        0 => Ok(TileColumn::Compressed),
        1 => Ok(TileColumn::Gzip),
        c if c.is_ascii_alphabetic() => Ok(TileColumn::Uncompressed(c as char)),
        c => Err(format!("`tiles.column`: {c} is not a column")),
    }
}

/// A base64 column of `n` little-endian values of `W` bytes.
pub(super) fn decode_column<const W: usize, T>(
    t: &Value,
    key: &str,
    n: usize,
    from: fn([u8; W]) -> T,
) -> Result<Option<Vec<T>>, String> {
    match &t[key] {
        Value::Null => Ok(None),
        Value::String(s) => {
            let raw = unbase64(s, n.saturating_mul(W)).map_err(|m| format!("`{key}`: {m}"))?;
            Ok(Some(
                raw.chunks_exact(W)
                    .map(|c| from(c.try_into().unwrap_or([0; W])))
                    .collect(),
            ))
        }
        _ => Err(format!("`{key}` must be base64 text")),
    }
}

pub(super) fn encode_column<T: Copy, const W: usize>(v: &[T], to: fn(T) -> [u8; W]) -> Value {
    let raw: Vec<u8> = v.iter().flat_map(|&x| to(x)).collect();
    Value::String(base64(&raw))
}

impl TileColumns {
    pub(super) fn of(params: &[TileParams], quantized: bool) -> TileColumns {
        let zblank_all = params.first().and_then(|p| p.zblank);
        let varies = params.iter().any(|p| p.zblank != zblank_all);
        let fallback = params.iter().any(|p| p.column != TileColumn::Compressed);
        TileColumns {
            zscale: quantized.then(|| params.iter().map(|p| p.zscale.unwrap_or(0.0)).collect()),
            zzero: quantized.then(|| params.iter().map(|p| p.zzero.unwrap_or(0.0)).collect()),
            zblank: varies.then(|| params.iter().map(|p| p.zblank).collect()),
            zblank_all: zblank_all.filter(|_| !varies),
            column: fallback.then(|| params.iter().map(|p| p.column).collect()),
        }
    }

    /// Tile `row`'s parameters.
    pub(super) fn params(&self, row: usize) -> TileParams {
        TileParams {
            row: row as u64,
            column: self
                .column
                .as_ref()
                .map_or(TileColumn::Compressed, |c| c[row]),
            zscale: self.zscale.as_ref().map(|v| v[row]),
            zzero: self.zzero.as_ref().map(|v| v[row]),
            zblank: match &self.zblank {
                Some(v) => v[row],
                None => self.zblank_all,
            },
        }
    }

    /// `nd_fits_tile_table`'s columns: JSON lists.
    pub(super) fn to_lists(&self, table: &mut Map<String, Value>) {
        if let (Some(s), Some(z)) = (&self.zscale, &self.zzero) {
            table.insert("zscale".into(), json!(s));
            table.insert("zzero".into(), json!(z));
        }
        if let Some(z) = &self.zblank {
            table.insert("zblank".into(), json!(z));
        }
        if let Some(c) = &self.column {
            let name = |c: &TileColumn| match c {
                TileColumn::Compressed => "C".to_string(),
                TileColumn::Gzip => "G".to_string(),
                TileColumn::Uncompressed(code) => format!("U{code}"),
            };
            table.insert(
                "column".into(),
                json!(c.iter().map(name).collect::<Vec<_>>()),
            );
        }
    }

    pub(super) fn from_lists(
        t: &Value,
        n: usize,
        zblank_all: Option<i64>,
    ) -> Result<TileColumns, String> {
        let list = |k: &str| -> Result<Option<&Vec<Value>>, String> {
            match &t[k] {
                Value::Null => Ok(None),
                Value::Array(v) if v.len() == n => Ok(Some(v)),
                _ => Err(format!("`tiles.{k}` must be a list of {n} values")),
            }
        };
        let floats = |k: &str| -> Result<Option<Vec<f64>>, String> {
            list(k)?
                .map(|v| {
                    v.iter()
                        .map(|x| x.as_f64().ok_or(format!("`tiles.{k}`: not a number")))
                        .collect()
                })
                .transpose()
        };
        let column = list("column")?
            .map(|v| {
                v.iter()
                    .map(|c| match c.as_str() {
                        None | Some("C") => Ok(TileColumn::Compressed),
                        Some("G") => Ok(TileColumn::Gzip),
                        Some(u) if u.len() == 2 && u.starts_with('U') => {
                            Ok(TileColumn::Uncompressed(u.chars().nth(1).unwrap_or('B')))
                        }
                        Some(other) => Err(format!("`tiles.column` {other:?}")),
                    })
                    .collect::<Result<Vec<_>, String>>()
            })
            .transpose()?;
        let zblank = list("zblank")?.map(|v| v.iter().map(Value::as_i64).collect());
        Ok(TileColumns {
            zscale: floats("zscale")?,
            zzero: floats("zzero")?,
            zblank,
            zblank_all,
            column,
        })
    }

    /// `nd_fits_tile_group`'s columns: base64 of little-endian f64 (`zscale`, `zzero`), i64
    /// (`zblank`), u8 (`column`).
    pub(super) fn to_binary(&self, table: &mut Map<String, Value>) -> Result<(), String> {
        if let (Some(s), Some(z)) = (&self.zscale, &self.zzero) {
            table.insert("zscale".into(), encode_column(s, f64::to_le_bytes));
            table.insert("zzero".into(), encode_column(z, f64::to_le_bytes));
        }
        if let Some(z) = &self.zblank {
            let all: Vec<i64> = z
                .iter()
                .map(|v| v.ok_or("a tile without ZBLANK beside tiles with one"))
                .collect::<Result<_, _>>()?;
            table.insert("zblank".into(), encode_column(&all, i64::to_le_bytes));
        }
        if let Some(c) = &self.column {
            let bytes: Vec<u8> = c
                .iter()
                .map(|&c| column_byte(c))
                .collect::<Result<_, _>>()?;
            table.insert("column".into(), Value::String(base64(&bytes)));
        }
        Ok(())
    }

    pub(super) fn from_binary(
        t: &Value,
        n: usize,
        zblank_all: Option<i64>,
    ) -> Result<TileColumns, String> {
        let column = decode_column(t, "column", n, |b: [u8; 1]| b[0])?
            .map(|v| {
                v.into_iter()
                    .map(byte_column)
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        Ok(TileColumns {
            zscale: decode_column(t, "zscale", n, f64::from_le_bytes)?,
            zzero: decode_column(t, "zzero", n, f64::from_le_bytes)?,
            zblank: decode_column(t, "zblank", n, i64::from_le_bytes)?
                .map(|v| v.into_iter().map(Some).collect()),
            zblank_all,
            column,
        })
    }
}
