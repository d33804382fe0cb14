//! The keywords of `ndfiles.open` as the facade's `nd::OpenOptions`.

use crate::{nd_err, Error};
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// Seconds from Python, checked to be a duration nd accepts.
fn seconds(key: &str, v: &Bound<'_, PyAny>) -> PyResult<std::time::Duration> {
    let s: f64 = v.extract()?;
    if !(s > 0.0 && s < 1e6) {
        return Err(Error::new_err(format!(
            "{key}: {s} is not a number of seconds between 0 and 1e6"
        )));
    }
    Ok(std::time::Duration::from_secs_f64(s))
}

/// `limits={...}`: fields of `nd::Limits` over its defaults.
fn limits(v: &Bound<'_, PyAny>) -> PyResult<nd::Limits> {
    let d = v.cast::<PyDict>().map_err(|_| {
        Error::new_err("limits: a dict of nd's limits (decompressed_bytes, chunk_bytes, ...)")
    })?;
    let mut l = nd::Limits::default();
    for (k, v) in d.iter() {
        let key: String = k.extract()?;
        match key.as_str() {
            "decompressed_bytes" => l.decompressed_bytes = v.extract()?,
            "chunk_bytes" => l.chunk_bytes = v.extract()?,
            "blocks" => l.blocks = v.extract()?,
            "tree_nodes" => l.tree_nodes = v.extract()?,
            "tree_depth" => l.tree_depth = v.extract()?,
            "npy_header_bytes" => l.npy_header_bytes = v.extract()?,
            other => {
                return Err(Error::new_err(format!(
                    "limits: no limit {other:?} (decompressed_bytes, chunk_bytes, blocks, \
                     tree_nodes, tree_depth, npy_header_bytes)"
                )))
            }
        }
    }
    Ok(l)
}

/// The facade's options from the keywords of `ndfiles.open`:
/// - for every location: `threads` (decode threads of the dataset), `limits` (a dict of
///   `nd::Limits` fields);
/// - for URLs: `anonymous`, `timeout` and `connect_timeout` (s), `retries`, `cache_size`,
///   `block_size`, `part_size`, `coalesce_gap`, `max_in_flight`, `max_full_download` (bytes or
///   counts), `multi_range`, and any other key as an object-store configuration key
///   (`aws_endpoint`, `aws_region`, …), over the environment's.
///
/// No URL keywords: the environment's remote options, shared by the whole process.
pub(crate) fn open_options(options: Option<&Bound<'_, PyDict>>) -> PyResult<nd::OpenOptions> {
    let mut out = nd::OpenOptions::new();
    let Some(options) = options.filter(|o| !o.is_empty()) else {
        return Ok(out);
    };
    let mut remote: Option<nd::RemoteOptions> = None;
    for (k, v) in options.iter() {
        let key: String = k.extract()?;
        match key.as_str() {
            "threads" => {
                out = out.threads(v.extract()?);
                continue;
            }
            "limits" => {
                out = out.limits(limits(&v)?);
                continue;
            }
            _ => {}
        }
        let r = match &mut remote {
            Some(r) => r,
            None => remote.insert(nd::RemoteOptions::from_env().map_err(nd_err)?),
        };
        match key.as_str() {
            "anonymous" => r.anonymous = v.is_truthy()?,
            "timeout" => r.timeout = seconds(&key, &v)?,
            "connect_timeout" => r.connect_timeout = seconds(&key, &v)?,
            "retries" => r.retries = v.extract()?,
            "cache_size" => r.cache_size = v.extract()?,
            "block_size" => r.block_size = v.extract()?,
            "part_size" => r.part_size = v.extract()?,
            "coalesce_gap" => r.coalesce_gap = v.extract()?,
            "max_in_flight" => r.max_in_flight = v.extract()?,
            "max_full_download" => r.max_full_download = v.extract()?,
            "multi_range" => r.multi_range = v.is_truthy()?,
            _ => {
                let value: String = if let Ok(b) = v.extract::<bool>() {
                    b.to_string()
                } else {
                    v.str()?.to_string()
                };
                r.options.insert(key, value);
            }
        }
    }
    if let Some(mut r) = remote {
        // connecting never waits longer than the timeout asked for
        r.connect_timeout = r.connect_timeout.min(r.timeout);
        r.validate().map_err(nd_err)?;
        out = out.remote(r);
    }
    Ok(out)
}
