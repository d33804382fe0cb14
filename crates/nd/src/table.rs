//! [`Table`]: a FITS table HDU read by rows and columns (astropy's `hdul[n].data`).

use crate::error::{Error, Result};
use nd_core::{ArrayBuf, DataType};
use std::ops::Range;

/// One column of a [`Table`].
#[derive(Debug, Clone)]
pub struct TableColumn {
    /// `TTYPEn` (or `""` when absent).
    pub name: String,
    /// The element type astropy returns (physical values: after TSCAL/TZERO, unsigned
    /// integers, bool for `L` and `X`, `Bytes(n)` for strings).
    pub dtype: DataType,
    /// The shape of one cell, numpy order (`[]` for a scalar column). For a variable-length
    /// column, its `TDIM` shape if any.
    pub cell_shape: Vec<u64>,
    /// Whether it holds variable-length arrays (`P` / `Q` formats): one array per row.
    pub variable: bool,
    /// `TUNITn`, when present.
    pub unit: Option<String>,
}

/// A FITS table (binary or ASCII), opened from its header; rows are read when asked, only the
/// bytes of the rows (and for narrow selections of wide rows, of the columns) asked for.
#[derive(Clone)]
pub struct Table {
    selector: String,
    inner: std::sync::Arc<nd_fits::Table>,
    pool: Option<std::sync::Arc<rayon::ThreadPool>>,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("selector", &self.selector)
            .field("nrows", &self.nrows())
            .finish()
    }
}

impl Table {
    pub(crate) fn new(
        selector: &str,
        inner: nd_fits::Table,
        pool: Option<std::sync::Arc<rayon::ThreadPool>>,
    ) -> Self {
        Table {
            selector: selector.to_string(),
            inner: std::sync::Arc::new(inner),
            pool,
        }
    }

    fn fail(&self, e: impl std::fmt::Display) -> Error {
        Error::input(format!("{}: {e}", self.selector))
    }

    fn on_pool<R: Send>(&self, work: impl FnOnce() -> R + Send) -> R {
        match &self.pool {
            Some(p) => p.install(work),
            None => work(),
        }
    }

    /// The selector it was opened with.
    pub fn selector(&self) -> &str {
        &self.selector
    }

    /// Its number of rows.
    pub fn nrows(&self) -> u64 {
        self.inner.nrows()
    }

    /// Its columns, in table order.
    pub fn columns(&self) -> Vec<TableColumn> {
        self.inner
            .columns()
            .iter()
            .map(|c| TableColumn {
                name: c.name.clone(),
                dtype: c.dtype.clone(),
                cell_shape: c.shape.clone(),
                variable: c.is_variable(),
                unit: c.unit.clone(),
            })
            .collect()
    }

    fn check_rows(&self, rows: &Range<u64>) -> Result<()> {
        if rows.start > rows.end || rows.end > self.nrows() {
            return Err(self.fail(format!(
                "rows {}..{} are not within the table's {} rows",
                rows.start,
                rows.end,
                self.nrows()
            )));
        }
        Ok(())
    }

    fn check_columns(&self, columns: &[usize]) -> Result<()> {
        let n = self.inner.columns().len();
        if let Some(&c) = columns.iter().find(|&&c| c >= n) {
            return Err(self.fail(format!("no column {c} (the table has {n})")));
        }
        Ok(())
    }

    /// The fixed-width columns `columns` (0-based) for `rows`: one array each, shape
    /// `(rows, *cell shape)`, astropy's physical values.
    ///
    /// # Errors
    /// [`Error::Input`] when a row or column is out of range, a column holds variable-length
    /// arrays (see [`Table::read_variable`]), or a read fails.
    pub fn read_rows(&self, rows: Range<u64>, columns: &[usize]) -> Result<Vec<ArrayBuf>> {
        self.check_rows(&rows)?;
        self.check_columns(columns)?;
        if let Some(c) = columns
            .iter()
            .map(|&c| &self.inner.columns()[c])
            .find(|c| c.is_variable())
        {
            return Err(self.fail(format!(
                "column {} holds variable-length arrays (read it with read_variable)",
                c.label()
            )));
        }
        self.on_pool(|| self.inner.read_rows(rows, columns))
            .map_err(|e| self.fail(e))
    }

    /// The arrays of a variable-length column for `rows`, one per row (astropy's object array);
    /// a string (`PA`) cell is a 0-d bytes array, trailing blanks stripped.
    ///
    /// # Errors
    /// [`Error::Input`] when a row or the column is out of range, the column is not
    /// variable-length, or a read fails (a descriptor outside the heap names its row).
    pub fn read_variable(&self, column: usize, rows: Range<u64>) -> Result<Vec<ArrayBuf>> {
        self.check_rows(&rows)?;
        self.check_columns(&[column])?;
        let c = &self.inner.columns()[column];
        self.on_pool(|| self.inner.vla_rows(c, rows))
            .map_err(|e| self.fail(e))
    }
}
