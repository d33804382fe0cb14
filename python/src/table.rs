//! A FITS table HDU: its columns and rows as bytes that `ndfiles.Table` (Python) views as numpy
//! arrays.

use crate::guarded;
use crate::Error;
use pyo3::prelude::*;

/// A FITS table (the Rust half of `ndfiles.Table`).
#[pyclass(module = "ndfiles._ndfiles", frozen)]
pub(crate) struct Table {
    pub(crate) inner: nd::Table,
}

/// An `ArrayBuf` as `(typestr, shape, bytes)`: its bytes copied into a 1-d `uint8` numpy array,
/// which Python views as `typestr` and reshapes.
type RawArray<'py> = (String, Vec<u64>, Bound<'py, PyAny>);

fn raw_array<'py>(py: Python<'py>, buf: &nd::ArrayBuf) -> RawArray<'py> {
    (
        nd::typestr(buf.dtype()),
        buf.shape().to_vec(),
        numpy::PyArray1::<u8>::from_slice(py, buf.bytes()).into_any(),
    )
}

#[pymethods]
impl Table {
    /// Its number of rows.
    #[getter]
    fn nrows(&self) -> u64 {
        self.inner.nrows()
    }

    /// Its columns as `(name, typestr, cell_shape, variable, unit)`.
    #[allow(clippy::type_complexity)]
    fn columns(&self) -> Vec<(String, String, Vec<u64>, bool, Option<String>)> {
        self.inner
            .columns()
            .into_iter()
            .map(|c| {
                (
                    c.name,
                    nd::typestr(&c.dtype),
                    c.cell_shape,
                    c.variable,
                    c.unit,
                )
            })
            .collect()
    }

    /// Fixed-width columns (0-based) for rows `start..stop`, each as `(typestr, shape, bytes)`.
    fn read_rows<'py>(
        &self,
        py: Python<'py>,
        start: u64,
        stop: u64,
        columns: Vec<usize>,
    ) -> PyResult<Vec<RawArray<'py>>> {
        let t = &self.inner;
        let bufs = py
            .detach(|| guarded(|| t.read_rows(start..stop, &columns)))
            .map_err(Error::new_err)?;
        Ok(bufs.iter().map(|b| raw_array(py, b)).collect())
    }

    /// A variable-length column's cells for rows `start..stop`, each as `(typestr, shape,
    /// bytes)`.
    fn read_variable<'py>(
        &self,
        py: Python<'py>,
        column: usize,
        start: u64,
        stop: u64,
    ) -> PyResult<Vec<RawArray<'py>>> {
        let t = &self.inner;
        let bufs = py
            .detach(|| guarded(|| t.read_variable(column, start..stop)))
            .map_err(Error::new_err)?;
        Ok(bufs.iter().map(|b| raw_array(py, b)).collect())
    }
}
