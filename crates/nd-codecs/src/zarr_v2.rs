//! Zarr v2 array metadata (`.zarray`) and chunk decoding, shared by nd-zarr and nd-asdf (asdf-zarr).
