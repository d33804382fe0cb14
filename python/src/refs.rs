//! `nd refs` from Python: the reference set of FITS / ASDF files (kerchunk version 1, Zarr v2 or
//! v3 metadata) built by the `nd` facade, as JSON text for `ndfiles.refs` and the VirtualiZarr
//! parsers of `ndfiles.virtualizarr`.

use pyo3::prelude::*;

/// Build the references of `sources` (paths, URLs, local patterns) and return
/// `(json_text, sources, skipped, needs_nd_codec)`: the kerchunk JSON, the expanded sources, the
/// parts not mapped (with reasons) and the arrays that need ndfiles' codecs. With `output`, the
/// JSON is also written there (replacing a file only with `force`). Tile-compressed images with
/// more than `group_tiles_above` tiles map groups of tiles to chunks. The GIL is released while
/// nd works.
#[pyfunction]
#[pyo3(signature = (sources, chunk_bytes, url_prefix, concat_dim, zarr_format, output, force, group_tiles_above))]
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
fn refs_json(
    py: Python<'_>,
    sources: Vec<String>,
    chunk_bytes: u64,
    url_prefix: Option<String>,
    concat_dim: Option<String>,
    zarr_format: u8,
    output: Option<String>,
    force: bool,
    group_tiles_above: u64,
) -> PyResult<(String, Vec<String>, Vec<String>, Vec<String>)> {
    let opts = nd::refs::RefsOptions {
        chunk_bytes: chunk_bytes.max(1),
        url_prefix,
        group_tiles_above,
    };
    py.detach(move || {
        crate::guarded(|| {
            let (sources, set) = nd::refs::build_sources(
                &sources,
                &opts,
                concat_dim.as_deref(),
                zarr_format,
                &nd::open,
            )?;
            if let Some(out) = &output {
                let srcs: Vec<&str> = sources.iter().map(String::as_str).collect();
                nd::refs::write(&set, out, force, &srcs)?;
            }
            let text = set.to_json().to_string();
            Ok((text, sources, set.skipped, set.needs_nd_codec))
        })
    })
    .map_err(crate::Error::new_err)
}

/// Add the reference functions to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(refs_json, m)?)
}
