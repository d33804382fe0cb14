//! The numcodecs filters: shuffle, delta, fixedscaleoffset, quantize, astype, packbits, categorize.
//!
//! Each works on a flat buffer of items whose numpy typestrs come from the config; byte order is
//! honoured on both sides (`>i2` items are read and written big-endian). Arithmetic follows numpy 2
//! (NEP 50: a Python scalar takes the array's type), so float32 data is computed in float32.

mod astype;
mod categorize;
mod delta;
mod packbits;
mod quantize;
mod scaleoffset;
mod shuffle;

pub use astype::AsType;
pub use categorize::Categorize;
pub use delta::Delta;
pub use packbits::PackBits;
pub use quantize::Quantize;
pub use scaleoffset::FixedScaleOffset;
pub use shuffle::Shuffle;

use crate::numeric::{check_items, NumType, Val};
use crate::{cfg_i64, cfg_str, check_limit as bound, check_size, Codec, Error, Result};
use serde_json::{json, Number, Value};

/// The astype of a config: the "astype" key, or `default` when it is absent or null.
fn astype_or(
    codec: &'static str,
    v: &Value,
    default: impl FnOnce() -> Result<NumType>,
) -> Result<NumType> {
    match v.get("astype") {
        None | Some(Value::Null) => default(),
        Some(Value::String(s)) => NumType::parse(codec, s),
        Some(x) => Err(Error::Config(format!("{codec}: bad astype {x}"))),
    }
}

/// The astype of a config: the "astype" key, or the dtype when it is absent or null.
fn astype_of(codec: &'static str, v: &Value, dtype: &NumType) -> Result<NumType> {
    astype_or(codec, v, || Ok(dtype.clone()))
}

/// Map every `from`-typed item of `data` to a `to`-typed item with `f`.
fn map_items(
    codec: &'static str,
    data: &[u8],
    from: &NumType,
    to: &NumType,
    out: &mut [u8],
    mut f: impl FnMut(Val) -> Val,
) -> Result<usize> {
    let need = check_mapped(codec, data, from, to, out)?;
    for (src, dst) in data
        .chunks_exact(from.size())
        .zip(out.chunks_exact_mut(to.size()))
    {
        to.write(f(from.read(src)), dst);
    }
    Ok(need)
}

/// Check that `data` is whole `from` items and `out` exactly as many `to` items; the byte count.
fn check_mapped(
    codec: &'static str,
    data: &[u8],
    from: &NumType,
    to: &NumType,
    out: &[u8],
) -> Result<usize> {
    let n = check_items(codec, data.len(), from.size())?;
    let need = n * to.size();
    check_size(codec, out.len(), need)?;
    Ok(need)
}

/// Decode into a new buffer of `mapped_len` bytes (bounded by `max_len`) with `decode_into`.
fn decode_alloc(
    codec: &'static str,
    data: &[u8],
    max_len: usize,
    from: &NumType,
    to: &NumType,
    decode_into: impl FnOnce(&[u8], &mut [u8]) -> Result<usize>,
) -> Result<Vec<u8>> {
    check_items(codec, data.len(), from.size())?;
    let len = mapped_len(data.len(), from, to);
    bound(codec, len, max_len)?;
    let mut out = vec![0u8; len];
    decode_into(data, &mut out)?;
    Ok(out)
}

/// Output size of mapping `len` bytes of `from` items to `to` items (0 when not whole items).
fn mapped_len(len: usize, from: &NumType, to: &NumType) -> usize {
    len / from.size() * to.size()
}

fn run_encode(
    codec: &'static str,
    data: &[u8],
    from: &NumType,
    to: &NumType,
    f: impl FnMut(Val) -> Val,
) -> Result<Vec<u8>> {
    check_items(codec, data.len(), from.size())?;
    let mut out = vec![0u8; mapped_len(data.len(), from, to)];
    map_items(codec, data, from, to, &mut out, f)?;
    Ok(out)
}

fn run_decode(
    codec: &'static str,
    data: &[u8],
    max_len: usize,
    from: &NumType,
    to: &NumType,
    f: impl FnMut(Val) -> Val,
) -> Result<Vec<u8>> {
    decode_alloc(codec, data, max_len, from, to, |d, o| {
        map_items(codec, d, from, to, o, f)
    })
}
