//! A FITS table as Apache Parquet (`nd export t.fits 1 -o t.parquet`), through the Rust
//! `parquet` crate's Arrow writer, one row group per block of rows (memory bounded by the
//! budget), zstd-compressed.
//!
//! Columns map as pandas / pyarrow users expect: integers, reals and booleans to the Arrow type
//! of the same width (unsigned stays unsigned); strings to UTF-8 text with trailing blanks
//! stripped (as astropy shows them; bytes that are not UTF-8 are replaced by U+FFFD); a cell of
//! several values to a fixed-size list of its values in C order (a numpy array per cell in
//! pandas); the column's unit in the field metadata (`unit`). Complex values have no Parquet
//! type (they are left out before, with a note).

use crate::error::{Error, Result};
use crate::table::{Table, TableColumn};
use crate::table_export::{label, output_error, read_block, rows_per_block};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType as ArrowType, Field, Schema};
use nd_core::{ArrayBuf, DataType};
use std::sync::Arc;

fn arrow_type(dt: &DataType) -> Option<ArrowType> {
    Some(match dt {
        DataType::Bool => ArrowType::Boolean,
        DataType::Int8 => ArrowType::Int8,
        DataType::Int16 => ArrowType::Int16,
        DataType::Int32 => ArrowType::Int32,
        DataType::Int64 => ArrowType::Int64,
        DataType::UInt8 => ArrowType::UInt8,
        DataType::UInt16 => ArrowType::UInt16,
        DataType::UInt32 => ArrowType::UInt32,
        DataType::UInt64 => ArrowType::UInt64,
        DataType::Float32 => ArrowType::Float32,
        DataType::Float64 => ArrowType::Float64,
        DataType::Bytes(_) => ArrowType::Utf8,
        _ => return None,
    })
}

/// The field of a column: its values' type, or a fixed-size list of them for a multi-value cell.
fn field(index: usize, c: &TableColumn) -> Result<Field> {
    let name = label(index, c);
    let inner = arrow_type(&c.dtype).ok_or_else(|| {
        Error::input(format!(
            "column '{name}' holds {} values, which Parquet has no type for (write .npy)",
            c.dtype
        ))
    })?;
    let per: u64 = c.cell_shape.iter().product();
    let dt = if c.cell_shape.is_empty() {
        inner
    } else {
        let n = i32::try_from(per)
            .map_err(|_| Error::input(format!("column '{name}': {per} values per cell")))?;
        ArrowType::FixedSizeList(Arc::new(Field::new("item", inner, false)), n)
    };
    let mut f = Field::new(name, dt, false);
    if let Some(u) = &c.unit {
        f = f.with_metadata(std::collections::HashMap::from([(
            "unit".to_string(),
            u.clone(),
        )]));
    }
    Ok(f)
}

macro_rules! primitive {
    ($arr:ty, $t:ty, $bytes:expr) => {{
        let v: Vec<$t> = $bytes
            .chunks_exact(std::mem::size_of::<$t>())
            .map(|c| {
                let mut a = [0u8; std::mem::size_of::<$t>()];
                a.copy_from_slice(c);
                <$t>::from_ne_bytes(a)
            })
            .collect();
        Arc::new(<$arr>::from(v)) as ArrayRef
    }};
}

/// The number of values of a block (rows times values per cell).
fn count(buf: &ArrayBuf) -> usize {
    buf.shape().iter().product::<u64>() as usize
}

/// The flat values of a column block as one Arrow array (one entry per value).
fn values(buf: &ArrayBuf) -> ArrayRef {
    use arrow_array::*;
    let b = buf.bytes();
    match buf.dtype() {
        DataType::Bool => Arc::new(BooleanArray::from(
            b.iter().map(|&x| x != 0).collect::<Vec<bool>>(),
        )),
        DataType::Int8 => primitive!(Int8Array, i8, b),
        DataType::Int16 => primitive!(Int16Array, i16, b),
        DataType::Int32 => primitive!(Int32Array, i32, b),
        DataType::Int64 => primitive!(Int64Array, i64, b),
        DataType::UInt8 => primitive!(UInt8Array, u8, b),
        DataType::UInt16 => primitive!(UInt16Array, u16, b),
        DataType::UInt32 => primitive!(UInt32Array, u32, b),
        DataType::UInt64 => primitive!(UInt64Array, u64, b),
        DataType::Float32 => primitive!(Float32Array, f32, b),
        DataType::Float64 => primitive!(Float64Array, f64, b),
        // a zero-width string column (`0A`) holds empty strings
        DataType::Bytes(0) => Arc::new(StringArray::from(vec![""; count(buf)])),
        DataType::Bytes(n) => Arc::new(StringArray::from(
            b.chunks_exact(*n)
                .map(|s| {
                    String::from_utf8_lossy(s)
                        .trim_end_matches(['\0', ' '])
                        .to_string()
                })
                .collect::<Vec<String>>(),
        )),
        // refused by `field` before any block is read
        _ => Arc::new(NullArray::new(0)),
    }
}

/// Write the columns `cols` of `table` as Parquet into `w`.
pub(crate) fn write_parquet(
    table: &Table,
    cols: &[(usize, TableColumn)],
    budget: usize,
    w: &mut (dyn std::io::Write + Send),
) -> Result<()> {
    let fields = cols
        .iter()
        .map(|(i, c)| field(*i, c))
        .collect::<Result<Vec<_>>>()
        .map_err(|e| Error::input(format!("{}: {e}", table.selector())))?;
    let schema = Arc::new(Schema::new(fields));
    let props = parquet::file::properties::WriterProperties::builder()
        .set_compression(parquet::basic::Compression::ZSTD(Default::default()))
        .build();
    let perr = |e: &dyn std::fmt::Display| Error::input(format!("writing parquet: {e}"));
    let mut writer = parquet::arrow::ArrowWriter::try_new(w, schema.clone(), Some(props))
        .map_err(|e| perr(&e))?;
    let nrows = table.nrows();
    let step = rows_per_block(cols, budget);
    let mut start = 0;
    loop {
        let end = (start + step).min(nrows);
        let bufs = read_block(table, cols, start..end)?;
        let arrays: Vec<ArrayRef> = bufs
            .iter()
            .zip(schema.fields())
            .map(|(b, f)| {
                let flat = values(b);
                match f.data_type() {
                    ArrowType::FixedSizeList(item, n) => Ok(Arc::new(
                        arrow_array::FixedSizeListArray::try_new(item.clone(), *n, flat, None)
                            .map_err(|e| perr(&e))?,
                    ) as ArrayRef),
                    _ => Ok(flat),
                }
            })
            .collect::<Result<_>>()?;
        let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(|e| perr(&e))?;
        writer.write(&batch).map_err(|e| perr(&e))?;
        writer.flush().map_err(|e| perr(&e))?;
        start = end;
        if start >= nrows {
            break;
        }
    }
    writer.close().map(|_| ()).map_err(|e| match e {
        parquet::errors::ParquetError::External(x) => match x.downcast::<std::io::Error>() {
            Ok(io) => output_error("parquet", *io),
            Err(x) => perr(&x),
        },
        other => perr(&other),
    })
}
