//! nd's codecs for kerchunk reference sets (`nd refs`), decoded by the `nd` facade: the Rust
//! half of `ndfiles.codecs`, whose numcodecs classes zarr-python loads through the
//! `numcodecs.codecs` entry point.

use numpy::IntoPyArray;
use pyo3::prelude::*;

/// Largest decoded chunk (bytes): the facade's default chunk limit.
fn max_len() -> usize {
    usize::try_from(nd::Limits::default().chunk_bytes).unwrap_or(usize::MAX)
}

/// Decode `data` with the codec configuration `config` (JSON text of a numcodecs config with
/// an nd codec id); returns a 1-D numpy array of the decoded values. The GIL is released while
/// decoding.
#[pyfunction]
fn codec_decode<'py>(py: Python<'py>, config: &str, data: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    let cfg: serde_json::Value =
        serde_json::from_str(config).map_err(|e| crate::Error::new_err(e.to_string()))?;
    let data = data.to_vec();
    let (dtype, bytes) = py
        .detach(move || nd::refs::codec::decode(&cfg, &data, max_len()))
        .map_err(|e| crate::Error::new_err(e.to_string()))?;
    let raw = bytes.into_pyarray(py);
    // view the bytes as the decoded type (native byte order)
    let typestr = nd::typestr(&dtype);
    raw.call_method1("view", (typestr,))
}

/// A codec configuration parsed once (`CodecDecoder(config_json)`), decoding many chunks with
/// `decode(data)`: what the codec objects of `ndfiles.codecs` / `ndfiles.zarr3` hold, so that
/// an `nd_fits_tile_table` configuration's table of tiles is parsed once, not per chunk.
#[pyclass(module = "ndfiles._ndfiles", frozen)]
struct CodecDecoder {
    inner: nd::refs::codec::Decoder,
}

#[pymethods]
impl CodecDecoder {
    #[new]
    fn new(config: &str) -> PyResult<Self> {
        let cfg: serde_json::Value =
            serde_json::from_str(config).map_err(|e| crate::Error::new_err(e.to_string()))?;
        let inner =
            nd::refs::codec::Decoder::new(cfg).map_err(|e| crate::Error::new_err(e.to_string()))?;
        Ok(CodecDecoder { inner })
    }

    /// Decode one chunk: a 1-D numpy array of the decoded values (native byte order). The GIL
    /// is released while decoding.
    fn decode<'py>(&self, py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyAny>> {
        let data = data.to_vec();
        let inner = &self.inner;
        let (dtype, bytes) = py
            .detach(|| inner.decode(&data, max_len()))
            .map_err(|e| crate::Error::new_err(e.to_string()))?;
        let raw = bytes.into_pyarray(py);
        raw.call_method1("view", (nd::typestr(&dtype),))
    }
}

/// Add the codec functions to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(codec_decode, m)?)?;
    m.add_class::<CodecDecoder>()
}
