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

/// Add the codec functions to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(codec_decode, m)?)
}
