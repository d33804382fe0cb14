//! HCOMPRESS_1 decoding. NOT IMPLEMENTED YET: tiles of this type are a typed error.

/// Decode an HCOMPRESS_1 tile of `nx` × `ny` pixels. Not implemented: always an error.
pub fn decode(
    _input: &[u8],
    _nx: usize,
    _ny: usize,
    _scale: i64,
    _smooth: bool,
) -> Result<Vec<i64>, String> {
    Err("HCOMPRESS_1 decoding is not implemented in nd-fits yet".into())
}
