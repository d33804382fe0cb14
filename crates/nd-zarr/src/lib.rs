//! nd-zarr (in progress).
