//! Many reference sets into one: every array of the files, stacked along a new leading
//! dimension, or joined along an existing one, with the chunk keys renumbered
//! (`spec-notes/virtual-zarr.md`, "Many files into one dataset").

use super::{key, Ref, RefSet};
use crate::error::{Error, Result};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// At most this many differing attributes are listed in `nd_concat.differing_attributes`.
const MAX_LISTED_DIFFERENCES: usize = 100;

/// The `.zarray` fields that must be equal in every file.
const MUST_MATCH: [&str; 7] = [
    "shape",
    "chunks",
    "dtype",
    "compressor",
    "filters",
    "fill_value",
    "order",
];

/// Concatenate reference sets (one per file, in the order given) into one along the dimension
/// `dim`. Every set must hold the same arrays with equal shape, chunks, dtype, codecs and
/// dimension names.
///
/// - When no array has a dimension `dim`, each array gains it as a new leading dimension of
///   length `sets.len()`, with chunk length 1: chunk `i.j.k` of file `n` becomes `n.i.j.k`.
/// - When every array has it, the arrays are joined along it; its length must be a multiple of
///   the chunk length there, so that each file's chunks stay whole (chunk `i` of file `n`
///   becomes `n·(length / chunk) + i`).
///
/// Attributes (root and per array) are the first file's; the root attributes gain `nd_concat`:
/// `{"dim", "files", "attributes_from", "differing_attributes"}` (the `ARRAY: KEY` attributes
/// whose values are not the same in every file, at most 100 listed). The parts skipped are
/// merged (each listed once).
///
/// # Errors
/// [`Error::Input`] for no sets, an empty or invalid `dim`, an array missing from a file or
/// present in only some, a difference in shape, chunks, dtype, codecs or dimension names
/// (naming the file, the array and both values), `dim` present in some arrays but not others,
/// or a length along `dim` that is not a multiple of the chunk length.
pub fn concat(sets: &[RefSet], dim: &str) -> Result<RefSet> {
    let Some(first) = sets.first() else {
        return Err(Error::input("concatenation needs at least one file"));
    };
    if dim.is_empty() || dim.contains(['/', '"']) {
        return Err(Error::input(format!(
            "--concat-dim '{dim}': give a dimension name (not empty, no '/' or '\"')"
        )));
    }
    let name0 = name(first);
    let arrays: Vec<String> = first.arrays().into_iter().map(String::from).collect();
    let mut plans = BTreeMap::new();
    for path in &arrays {
        let z = meta(first, path, ".zarray")?;
        let dims = dims(first, path)?;
        let ndim = z["shape"].as_array().map_or(0, Vec::len);
        let axis = dims.iter().position(|d| d == dim);
        let per_file = match axis {
            None => 1,
            Some(a) => {
                let (len, c) = (axis_len(&z, "shape", a)?, axis_len(&z, "chunks", a)?);
                if c == 0 || len % c != 0 {
                    return Err(Error::input(format!(
                        "{name0}: array '{path}': dimension '{dim}' has length {len}, not a \
                         multiple of its chunk length {c}; concatenating along it would leave \
                         partial chunks inside the array (concatenate along a new dimension, \
                         or choose --chunk-mib so that chunks divide it)"
                    )));
                }
                len / c
            }
        };
        plans.insert(
            path.clone(),
            Plan {
                axis,
                ndim,
                per_file,
            },
        );
    }
    let with: Vec<&String> = plans
        .iter()
        .filter(|(_, p)| p.axis.is_some())
        .map(|(k, _)| k)
        .collect();
    if let (Some(a), Some((b, _))) = (with.first(), plans.iter().find(|(_, p)| p.axis.is_none())) {
        return Err(Error::input(format!(
            "--concat-dim '{dim}': array '{a}' has this dimension and array '{b}' does not; \
             concatenate along a new dimension name, or along one every array has"
        )));
    }
    for s in &sets[1..] {
        check_same(first, s, &arrays)?;
    }

    let n = sets.len() as u64;
    let mut out = RefSet {
        urls: Vec::new(),
        refs: BTreeMap::new(),
        skipped: Vec::new(),
        needs_nd_codec: first.needs_nd_codec.clone(),
    };
    let mut differing = BTreeSet::new();
    // metadata: the first file's, with the new shape, chunks and dimension names
    for (k, r) in &first.refs {
        let (parent, leaf) = split(k);
        if !leaf.starts_with('.') {
            continue;
        }
        let value = match (plans.get(parent), leaf, r) {
            (Some(p), ".zarray", Ref::Json(z)) => Ref::Json(grown_zarray(z, p, n)?),
            (Some(p), ".zattrs", Ref::Json(Value::Object(a))) if p.axis.is_none() => {
                let mut a = a.clone();
                let mut d = vec![Value::String(dim.into())];
                d.extend(dims(first, parent)?.into_iter().map(Value::String));
                a.insert("_ARRAY_DIMENSIONS".into(), Value::Array(d));
                Ref::Json(Value::Object(a))
            }
            _ => r.clone(),
        };
        out.refs.insert(k.clone(), value);
    }
    // chunks of every file, renumbered; file indices shifted into the joined URL list
    for (f, s) in sets.iter().enumerate() {
        let shift = out.urls.len();
        out.urls.extend(s.urls.iter().cloned());
        for (k, r) in &s.refs {
            let (parent, leaf) = split(k);
            if leaf.starts_with('.') {
                if leaf == ".zattrs" && f > 0 {
                    note_differences(first, s, k, parent, &mut differing);
                }
                continue;
            }
            let plan = plans.get(parent).ok_or_else(|| {
                Error::input(format!(
                    "{}: key '{k}' is not a chunk of an array of the set",
                    name(s)
                ))
            })?;
            let new_key = key(
                parent,
                &plan.renumber(leaf, f as u64).ok_or_else(|| {
                    Error::input(format!("{}: '{k}' is not a chunk key", name(s)))
                })?,
            );
            let value = match r {
                Ref::Range {
                    file,
                    offset,
                    length,
                } => Ref::Range {
                    file: file + shift,
                    offset: *offset,
                    length: *length,
                },
                other => other.clone(),
            };
            out.refs.insert(new_key, value);
        }
        for sk in &s.skipped {
            if !out.skipped.contains(sk) {
                out.skipped.push(sk.clone());
            }
        }
    }
    // root attributes: the first file's, its skipped list replaced by the merged one
    let mut root = match first.refs.get(".zattrs") {
        Some(Ref::Json(Value::Object(m))) => m.clone(),
        _ => Map::new(),
    };
    root.remove("nd_skipped");
    if !out.skipped.is_empty() {
        root.insert("nd_skipped".into(), json!(out.skipped));
    }
    differing.remove(".zattrs: nd_skipped");
    let listed: Vec<&String> = differing.iter().take(MAX_LISTED_DIFFERENCES).collect();
    root.insert(
        "nd_concat".into(),
        json!({
            "dim": dim,
            "files": n,
            "attributes_from": first.urls.first(),
            "differing_attributes": listed,
            "differing_attributes_total": differing.len(),
        }),
    );
    out.refs
        .insert(".zattrs".into(), Ref::Json(Value::Object(root)));
    Ok(out)
}

/// How one array's chunk keys are renumbered.
struct Plan {
    /// The axis joined along, or `None` for a new leading axis.
    axis: Option<usize>,
    /// Number of dimensions in each file.
    ndim: usize,
    /// Chunks per file along the joined axis (1 for a new axis).
    per_file: u64,
}

impl Plan {
    /// The key of chunk `leaf` (`i.j`) of file number `f`.
    fn renumber(&self, leaf: &str, f: u64) -> Option<String> {
        let mut idx: Vec<u64> = if self.ndim == 0 {
            (leaf == "0").then(Vec::new)?
        } else {
            leaf.split('.')
                .map(|p| p.parse().ok())
                .collect::<Option<_>>()?
        };
        if idx.len() != self.ndim {
            return None;
        }
        match self.axis {
            None => idx.insert(0, f),
            Some(a) => idx[a] += f * self.per_file,
        }
        Some(idx.iter().map(u64::to_string).collect::<Vec<_>>().join("."))
    }
}

/// `.zarray` of the concatenated array.
fn grown_zarray(z: &Value, p: &Plan, n: u64) -> Result<Value> {
    let mut z = z.clone();
    let bad = || Error::input("a .zarray without shape and chunks");
    let (Some(shape), Some(chunks)) = (
        z["shape"].as_array().cloned(),
        z["chunks"].as_array().cloned(),
    ) else {
        return Err(bad());
    };
    let (mut shape, mut chunks) = (shape, chunks);
    match p.axis {
        None => {
            shape.insert(0, json!(n));
            chunks.insert(0, json!(1));
        }
        Some(a) => {
            let len = shape.get(a).and_then(Value::as_u64).ok_or_else(bad)?;
            shape[a] = json!(len * n);
        }
    }
    z["shape"] = Value::Array(shape);
    z["chunks"] = Value::Array(chunks);
    Ok(z)
}

/// A metadata value for a message: its JSON, cut after 200 characters (a tile table's codec
/// configuration runs to megabytes).
fn short(v: &Value) -> String {
    let t = v.to_string();
    match t.char_indices().nth(200) {
        Some((i, _)) => format!("{}… ({} characters)", &t[..i], t.chars().count()),
        None => t,
    }
}

/// Refuse a set whose arrays differ from the first set's.
fn check_same(first: &RefSet, s: &RefSet, arrays: &[String]) -> Result<()> {
    let (n0, n) = (name(first), name(s));
    let theirs: Vec<&str> = s.arrays();
    for a in arrays {
        if !theirs.contains(&a.as_str()) {
            return Err(Error::input(format!(
                "{n}: has no array '{a}', which {n0} has; files concatenated must hold the \
                 same arrays"
            )));
        }
        let (z0, z) = (meta(first, a, ".zarray")?, meta(s, a, ".zarray")?);
        for field in MUST_MATCH {
            if z0[field] != z[field] {
                return Err(Error::input(format!(
                    "{n}: array '{a}': {field} {} differs from {} in {n0}; files concatenated \
                     must match",
                    short(&z[field]),
                    short(&z0[field])
                )));
            }
        }
        let (d0, d) = (dims(first, a)?, dims(s, a)?);
        if d0 != d {
            return Err(Error::input(format!(
                "{n}: array '{a}': dimension names {} differ from {} in {n0}; files \
                 concatenated must match",
                nd_core::fmt_shape(d.iter()),
                nd_core::fmt_shape(d0.iter())
            )));
        }
    }
    if let Some(extra) = theirs.iter().find(|a| !arrays.iter().any(|x| x == *a)) {
        return Err(Error::input(format!(
            "{n}: has an array '{extra}', which {n0} does not; files concatenated must hold \
             the same arrays"
        )));
    }
    Ok(())
}

/// Record the attributes of `.zattrs` key `k` that differ between `first` and `s`.
fn note_differences(first: &RefSet, s: &RefSet, k: &str, parent: &str, out: &mut BTreeSet<String>) {
    let obj = |set: &RefSet| match set.refs.get(k) {
        Some(Ref::Json(Value::Object(m))) => m.clone(),
        _ => Map::new(),
    };
    let (a, b) = (obj(first), obj(s));
    let label = if parent.is_empty() { ".zattrs" } else { parent };
    for key in a.keys().chain(b.keys()) {
        if a.get(key) != b.get(key) {
            out.insert(format!("{label}: {key}"));
        }
    }
}

/// A metadata document of an array.
fn meta(set: &RefSet, path: &str, leaf: &str) -> Result<Value> {
    match set.refs.get(&key(path, leaf)) {
        Some(Ref::Json(v)) => Ok(v.clone()),
        _ => Err(Error::input(format!(
            "{}: array '{path}' has no {leaf}",
            name(set)
        ))),
    }
}

/// An array's `_ARRAY_DIMENSIONS` (`dim_0…` when absent).
fn dims(set: &RefSet, path: &str) -> Result<Vec<String>> {
    let z = meta(set, path, ".zarray")?;
    let ndim = z["shape"].as_array().map_or(0, Vec::len);
    let attrs = match set.refs.get(&key(path, ".zattrs")) {
        Some(Ref::Json(v)) => v.clone(),
        _ => Value::Null,
    };
    Ok(match attrs["_ARRAY_DIMENSIONS"].as_array() {
        Some(d) => d
            .iter()
            .map(|x| x.as_str().unwrap_or_default().to_string())
            .collect(),
        None => (0..ndim).map(|i| format!("dim_{i}")).collect(),
    })
}

/// Length of axis `a` of `.zarray` field `field`.
fn axis_len(z: &Value, field: &str, a: usize) -> Result<u64> {
    z[field][a]
        .as_u64()
        .ok_or_else(|| Error::input(format!("a .zarray whose {field} has no axis {a}")))
}

/// `(parent path, last component)` of a key.
fn split(k: &str) -> (&str, &str) {
    k.rsplit_once('/').unwrap_or(("", k))
}

/// The file a set describes, for messages.
fn name(set: &RefSet) -> &str {
    set.urls.first().map_or("(no file)", String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renumbers_new_and_existing_axes() {
        let new = Plan {
            axis: None,
            ndim: 2,
            per_file: 1,
        };
        assert_eq!(new.renumber("3.1", 7).as_deref(), Some("7.3.1"));
        let scalar = Plan {
            axis: None,
            ndim: 0,
            per_file: 1,
        };
        assert_eq!(scalar.renumber("0", 4).as_deref(), Some("4"));
        let joined = Plan {
            axis: Some(0),
            ndim: 2,
            per_file: 3,
        };
        assert_eq!(joined.renumber("2.0", 2).as_deref(), Some("8.0"));
        assert_eq!(joined.renumber("2", 2), None);
        assert_eq!(joined.renumber("x.0", 2), None);
    }

    #[test]
    fn long_values_are_cut_in_messages() {
        assert_eq!(short(&json!(">f4")), "\">f4\"");
        let big = json!({"tiles": vec![1234567; 10_000]});
        let m = short(&big);
        assert!(m.len() < 260 && m.ends_with(" characters)"), "{m}");
    }
}
