//! nd-codecs (in progress).

pub mod zarr_v2;
