//! A FITS file's metadata (`ndfiles.Dataset.metadata`) built card by card as Python objects: the
//! same dict as `nd::Dataset::metadata` gives (`{"hdus": [{"index", "name", "kind", "cards":
//! [{"keyword", "value", "comment"}]}]}`, values as `nd::fits_card_value`, kinds as
//! `nd::fits_hdu_kind`), without first building that JSON tree, which costs more than the
//! headers' parsing for a file of many HDUs.

use crate::{guarded, json, Error};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};

/// The metadata of `ds` when it is a FITS file (`None` for another format). Headers are walked
/// with the GIL released; a file whose walk fails gets the facade's error.
pub(crate) fn metadata<'py>(
    py: Python<'py>,
    ds: &nd::Dataset,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let nd::Native::Fits(fits) = ds.native() else {
        return Ok(None);
    };
    // the walk reads and parses every header (cached by nd_fits); its error is the facade's
    if py.detach(|| fits.hdus().is_err()) {
        py.detach(|| guarded(|| ds.metadata()))
            .map_err(Error::new_err)?;
    }
    let hdus = fits
        .hdus()
        .map_err(|e| Error::new_err(format!("{}: {e}", ds.path())))?;
    let (k_keyword, k_value, k_comment) = (
        intern!(py, "keyword"),
        intern!(py, "value"),
        intern!(py, "comment"),
    );
    let out = PyList::empty(py);
    for h in hdus {
        let cards = PyList::empty(py);
        for c in h.header.cards() {
            let card = PyDict::new(py);
            // the keys in the JSON object's order (sorted), as the facade's dict has them
            card.set_item(k_comment, c.comment())?;
            card.set_item(k_keyword, PyString::new(py, c.keyword()))?;
            card.set_item(k_value, json::to_py(py, &nd::fits_card_value(c.value()))?)?;
            cards.append(card)?;
        }
        let hdu = PyDict::new(py);
        hdu.set_item(intern!(py, "cards"), cards)?;
        hdu.set_item(intern!(py, "index"), h.index)?;
        hdu.set_item(intern!(py, "kind"), nd::fits_hdu_kind(&h.kind))?;
        hdu.set_item(intern!(py, "name"), h.name())?;
        out.append(hdu)?;
    }
    let top = PyDict::new(py);
    top.set_item(intern!(py, "hdus"), out)?;
    Ok(Some(top.into_any()))
}
