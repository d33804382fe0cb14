//! Whole FITS tables exported (`nd export t.fits 1 -o t.npy | t.csv | t.parquet`), a block of
//! rows at a time (memory bounded by the budget).
//!
//! The values are astropy's physical values, field by field as `hdul[1].data[name]` gives them
//! (logical columns as `bool`, TSCAL/TZERO applied, unsigned integers for the TZERO
//! convention, strings as bytes), in the column order and under the names (`TTYPEn`) astropy
//! uses. This is deliberately not the raw record `np.asarray(hdul[1].data)` returns (stored
//! values: `T`/`F` as the bytes 84/70, unscaled integers, big-endian): the exported file means
//! the same as each column exported alone (`nd export t.fits 1/NAME`).
//!
//! - `.npy`: one structured array of `nrows` records, little-endian (numpy's native order), one
//!   field per column with its cell shape;
//! - `.csv`: a header line of column names, one line per row; a cell of several values becomes
//!   one column per value (`NAME[0]`, `NAME[1]`, … in C order); strings are decoded as ASCII with
//!   trailing blanks stripped (as astropy shows them) and quoted when they hold a comma, quote or
//!   line break;
//! - `.parquet`: Apache Parquet through the `parquet` crate's Arrow writer, one row group per
//!   block of rows, zstd-compressed; integers, reals and booleans as the Arrow type of the same
//!   width, strings as UTF-8 text with trailing blanks stripped, a multi-value cell as a
//!   fixed-size list (a numpy array per cell in pandas), `TUNITn` as the field's `unit`
//!   metadata.
//!
//! Variable-length columns (an object array in astropy) are left out with a note, and so are
//! complex columns in CSV and Parquet (neither has a complex type).

use crate::error::{Error, Result};
use crate::export::{ArrayFormat, ArrayOutput, Sink};
use crate::table::{Table, TableColumn};
use nd_core::{ArrayBuf, DataType, Endian, Field, StructType};
use std::io::Write;

/// The formats a whole table is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFormat {
    /// A numpy structured array.
    Npy,
    /// Comma-separated text with a header line.
    Csv,
    /// Apache Parquet.
    Parquet,
}

/// The table format of `-o OUTPUT` (with `--format`): `.npy`, `.csv`, `.parquet`; standard
/// output is `.npy`.
///
/// # Errors
/// [`Error::Input`] for another format or suffix.
pub fn table_format(output: &str, format: Option<&str>) -> Result<TableFormat> {
    let lower = output.to_ascii_lowercase();
    match format.map(str::to_ascii_lowercase).as_deref() {
        Some("npy") => Ok(TableFormat::Npy),
        Some("csv") => Ok(TableFormat::Csv),
        Some("parquet") => Ok(TableFormat::Parquet),
        Some(other) => Err(Error::input(format!(
            "--format '{other}': nd writes tables as npy, csv or parquet"
        ))),
        None if lower.ends_with(".npy") || output == "-" || output == "/dev/stdout" => {
            Ok(TableFormat::Npy)
        }
        None if lower.ends_with(".csv") => Ok(TableFormat::Csv),
        None if lower.ends_with(".parquet") || lower.ends_with(".pq") => Ok(TableFormat::Parquet),
        None => Err(Error::input(format!(
            "{output}: nd writes tables as .npy, .csv or .parquet; name the output so, or give --format"
        ))),
    }
}

/// The fixed-width columns of a table (by index) and notes on those left out.
pub(crate) fn fixed_columns(table: &Table) -> (Vec<(usize, TableColumn)>, Vec<String>) {
    let mut keep = Vec::new();
    let mut notes = Vec::new();
    for (i, c) in table.columns().into_iter().enumerate() {
        if c.variable {
            notes.push(format!(
                "column '{}' holds variable-length arrays (an object array in astropy); not written",
                label(i, &c)
            ));
        } else {
            keep.push((i, c));
        }
    }
    (keep, notes)
}

/// A column's name as astropy gives it: `TTYPEn`, or `col<n>` (1-based) when unnamed.
pub(crate) fn label(index: usize, c: &TableColumn) -> String {
    if c.name.is_empty() {
        format!("col{}", index + 1)
    } else {
        c.name.clone()
    }
}

/// Rows per block: about `budget` bytes of values (at least one row).
pub(crate) fn rows_per_block(cols: &[(usize, TableColumn)], budget: usize) -> u64 {
    let row: usize = cols
        .iter()
        .map(|(_, c)| cell_bytes(c))
        .sum::<usize>()
        .max(1);
    ((budget / row).max(1)) as u64
}

fn cell_bytes(c: &TableColumn) -> usize {
    c.dtype.size() * c.cell_shape.iter().product::<u64>() as usize
}

/// The record type of the exported structured array.
fn record_type(cols: &[(usize, TableColumn)]) -> DataType {
    let mut fields = Vec::with_capacity(cols.len());
    let mut offset = 0;
    for (i, c) in cols {
        let f = Field {
            name: label(*i, c),
            dtype: c.dtype.clone(),
            endian: Endian::NATIVE,
            offset,
            shape: c.cell_shape.iter().map(|&d| d as usize).collect(),
        };
        offset += f.size();
        fields.push(f);
    }
    DataType::Struct(StructType {
        fields,
        itemsize: offset,
    })
}

/// Write every fixed-width column of `table` where `target` says, in `format`, reading
/// `budget` bytes of values at a time. Returns notes (columns left out).
///
/// # Errors
/// [`Error::Input`] when a read fails or a column cannot be written in the format (complex
/// values in CSV); [`Error::Output`] when writing fails.
pub fn write_table(
    table: &Table,
    target: &ArrayOutput,
    format: TableFormat,
    budget: usize,
) -> Result<Vec<String>> {
    let (mut cols, mut notes) = fixed_columns(table);
    if format != TableFormat::Npy {
        // complex values have no CSV or Parquet form: left out, as variable-length columns are
        cols.retain(|(i, c)| {
            let complex = matches!(c.dtype, DataType::Complex64 | DataType::Complex128);
            if complex {
                notes.push(format!(
                    "column '{}' holds complex values, which {} has no type for; not written (write .npy)",
                    label(*i, c),
                    if format == TableFormat::Csv { "CSV" } else { "Parquet" }
                ));
            }
            !complex
        });
        // a cell of no values (`0D`) has nothing to put in a text or Parquet column
        cols.retain(|(i, c)| {
            let empty = c.cell_shape.contains(&0);
            if empty {
                notes.push(format!(
                    "column '{}' holds no values per row; not written",
                    label(*i, c)
                ));
            }
            !empty
        });
    }
    if cols.is_empty() {
        return Err(Error::input(format!(
            "{}: no fixed-width column to write",
            table.selector()
        )));
    }
    let name = target.name().to_string();
    let fail = |e: &dyn std::fmt::Display| Error::input(format!("{name}: {e}"));
    let write = |w: &mut (dyn Write + Send)| -> Result<()> {
        match format {
            TableFormat::Npy => write_npy(table, &cols, budget, w),
            TableFormat::Csv => write_csv(table, &cols, budget, w),
            TableFormat::Parquet => crate::table_parquet::write_parquet(table, &cols, budget, w),
        }
    };
    match &target.sink {
        Sink::File(p) => {
            let mut file = nd_core::io::TempFile::create(p).map_err(|e| fail(&e))?;
            {
                let mut w = std::io::BufWriter::with_capacity(1 << 20, file.file_mut());
                write(&mut w)?;
                w.flush().map_err(|e| output_error(&name, e))?;
            }
            file.persist().map_err(|e| fail(&e))?;
        }
        Sink::Stream(p) => {
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(p)
                .map_err(|e| fail(&e))?;
            let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
            write(&mut w)?;
            w.flush().map_err(|e| output_error(&name, e))?;
        }
        Sink::Stdout => {
            let stdout = std::io::stdout();
            if format != TableFormat::Csv && std::io::IsTerminal::is_terminal(&stdout) {
                return Err(Error::input(
                    "-o -: refusing to write a binary table to a terminal (redirect it, or give --format csv)",
                ));
            }
            let mut w = std::io::BufWriter::with_capacity(1 << 20, stdout);
            write(&mut w)?;
            w.flush().map_err(|e| output_error(&name, e))?;
        }
    }
    Ok(notes)
}

/// Export the whole table to `-o output` (format from `--format` or the suffix), with the
/// destination rules of array exports ([`crate::export::array_output`]: an existing file other
/// than an `.npy` is replaced only with `force`). Returns notes (columns left out).
///
/// # Errors
/// As [`table_format`], [`crate::export::array_output`] and [`write_table`].
pub fn export(
    table: &Table,
    output: &str,
    format: Option<&str>,
    force: bool,
    sources: &[&str],
    budget: usize,
) -> Result<Vec<String>> {
    let tf = table_format(output, format)?;
    let sink_format = if tf == TableFormat::Csv { "csv" } else { "npy" };
    let target = crate::export::array_output(output, Some(sink_format), force, sources)?;
    write_table(table, &target, tf, budget)
}

/// Export the variable-length column `column` (0-based) of `table` as numpy saves a list of
/// arrays, `np.savez(f, *cells)`: an `.npz` whose member `arr_I` is row I's array, as astropy's
/// `hdul[n].data.field(k)[I]` gives it (a string cell a 0-d bytes array, trailing blanks
/// stripped). `[f[f"arr_{i}"] for i in range(len(f.files))]` is astropy's object array.
///
/// # Errors
/// [`Error::Input`] when the output is not an `.npz` file, the table has more than 65,535 rows
/// (the members of one `.npz` here), the cells exceed `budget` bytes or a read fails.
pub fn export_variable(
    table: &Table,
    column: usize,
    target: &ArrayOutput,
    budget: usize,
) -> Result<()> {
    let (Sink::File(path), ArrayFormat::Npz) = (&target.sink, target.format) else {
        return Err(Error::input(format!(
            "{}: {} holds variable-length arrays, written to an .npz file only (one member a row, as np.savez(f, *cells))",
            target.name(),
            table.selector()
        )));
    };
    let n = table.nrows();
    if n > u64::from(u16::MAX) {
        return Err(Error::input(format!(
            "{}: {n} rows; a variable-length column is written for at most {} rows (one .npz member a row)",
            table.selector(),
            u16::MAX
        )));
    }
    let cells = table.read_variable(column, 0..n)?;
    let total: usize = cells.iter().map(|c| c.bytes().len()).sum();
    if total > budget {
        return Err(Error::input(format!(
            "{}: the cells hold {total} bytes, more than the budget of {budget} (raise --budget-mib)",
            table.selector()
        )));
    }
    let arrays = cells
        .into_iter()
        .map(|c| match c.dtype() {
            // numpy has no zero-width string: an empty string is one NUL byte (b'' in numpy)
            DataType::Bytes(0) => ArrayBuf::zeros(DataType::Bytes(1), c.shape().to_vec()),
            _ => Ok(c),
        })
        .map(|c| c.map(nd_ops::MemArray::new))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::input(format!("{}: {e}", table.selector())))?;
    let names: Vec<String> = (0..arrays.len()).map(|i| format!("arr_{i}")).collect();
    let members: Vec<(&str, &dyn nd_core::ArrayRead)> = names
        .iter()
        .zip(&arrays)
        .map(|(n, a)| (n.as_str(), a as &dyn nd_core::ArrayRead))
        .collect();
    crate::npz::write_npz(path, &members, budget)
}

pub(crate) fn output_error(name: &str, source: std::io::Error) -> Error {
    Error::Output {
        context: format!("writing {name}"),
        source,
    }
}

/// Read the columns for `rows`, one buffer per column (shape `(rows, *cell)`).
pub(crate) fn read_block(
    table: &Table,
    cols: &[(usize, TableColumn)],
    rows: std::ops::Range<u64>,
) -> Result<Vec<ArrayBuf>> {
    let idx: Vec<usize> = cols.iter().map(|(i, _)| *i).collect();
    table.read_rows(rows, &idx)
}

fn write_npy(
    table: &Table,
    cols: &[(usize, TableColumn)],
    budget: usize,
    w: &mut dyn Write,
) -> Result<()> {
    let rec = record_type(cols);
    let nrows = table.nrows();
    w.write_all(&nd_core::npy::header_bytes(&rec, &[nrows]))
        .map_err(|e| output_error("npy", e))?;
    let step = rows_per_block(cols, budget);
    let sizes: Vec<usize> = cols.iter().map(|(_, c)| cell_bytes(c)).collect();
    let itemsize = rec.size();
    let mut start = 0;
    while start < nrows {
        let end = (start + step).min(nrows);
        let bufs = read_block(table, cols, start..end)?;
        let n = (end - start) as usize;
        let mut out = vec![0u8; n * itemsize];
        let mut off = 0;
        for (b, &sz) in bufs.iter().zip(&sizes) {
            let src = b.bytes();
            for r in 0..n {
                out[r * itemsize + off..r * itemsize + off + sz]
                    .copy_from_slice(&src[r * sz..(r + 1) * sz]);
            }
            off += sz;
        }
        w.write_all(&out).map_err(|e| output_error("npy", e))?;
        start = end;
    }
    Ok(())
}

/// CSV header names: a column, or one per value of a multi-value cell (`NAME[0]`, …).
fn csv_names(cols: &[(usize, TableColumn)]) -> Vec<String> {
    let mut names = Vec::new();
    for (i, c) in cols {
        let n: u64 = c.cell_shape.iter().product();
        let base = label(*i, c);
        if c.cell_shape.is_empty() {
            names.push(base);
        } else {
            names.extend((0..n).map(|k| format!("{base}[{k}]")));
        }
    }
    names
}

fn csv_field(text: &str, out: &mut String) {
    if text.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&text.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(text);
    }
}

fn write_csv(
    table: &Table,
    cols: &[(usize, TableColumn)],
    budget: usize,
    w: &mut dyn Write,
) -> Result<()> {
    let mut line = String::new();
    for (k, n) in csv_names(cols).iter().enumerate() {
        if k > 0 {
            line.push(',');
        }
        csv_field(n, &mut line);
    }
    line.push('\n');
    w.write_all(line.as_bytes())
        .map_err(|e| output_error("csv", e))?;
    let nrows = table.nrows();
    let step = rows_per_block(cols, budget);
    let mut start = 0;
    while start < nrows {
        let end = (start + step).min(nrows);
        let bufs = read_block(table, cols, start..end)?;
        let mut text = String::new();
        for r in 0..(end - start) as usize {
            for (k, ((_, c), b)) in cols.iter().zip(&bufs).enumerate() {
                let esize = c.dtype.size();
                let per = c.cell_shape.iter().product::<u64>() as usize;
                let cell = &b.bytes()[r * esize * per..(r + 1) * esize * per];
                for (j, v) in cell.chunks_exact(esize.max(1)).enumerate() {
                    if k > 0 || j > 0 {
                        text.push(',');
                    }
                    match &c.dtype {
                        DataType::Bytes(_) => {
                            let s = String::from_utf8_lossy(v);
                            csv_field(s.trim_end_matches(['\0', ' ']), &mut text);
                        }
                        dt => crate::export::csv_value(dt, v, &mut text),
                    }
                }
            }
            text.push('\n');
        }
        w.write_all(text.as_bytes())
            .map_err(|e| output_error("csv", e))?;
        start = end;
    }
    Ok(())
}
