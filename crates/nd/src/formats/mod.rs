//! One backend per format: what `nd` needs from FITS, ASDF and Zarr, over their crates.

pub mod asdf;
pub mod fits;
pub mod zarr;
