//! The tree against the ASDF standard's schemas, as far as `nd verify` checks it: every node
//! tagged `core/ndarray-1.0.0` / `1.1.0` against that schema (source or data, shape, datatype
//! including ucs4/ascii and structured types, byteorder, offset, strides, inline data of the
//! shape), and every tag against the tags python asdf 6.0 resolves (its bundled manifests of the
//! asdf-standard and asdf-zarr); a tag it does not know is a warning there (it hands back the raw
//! node), so here too. See `spec-notes/asdf.md`, "Verification".

use crate::yaml::{Node, Value};

/// The tags python asdf 6.0 with asdf-standard 1.5.0 and asdf-zarr 0.0.4 resolves
/// (`asdf.get_config().extensions`).
pub const KNOWN_TAGS: [&str; 35] = [
    "tag:stsci.edu:asdf/core/asdf-1.0.0",
    "tag:stsci.edu:asdf/core/asdf-1.1.0",
    "tag:stsci.edu:asdf/core/column-1.0.0",
    "tag:stsci.edu:asdf/core/complex-1.0.0",
    "tag:stsci.edu:asdf/core/constant-1.0.0",
    "tag:stsci.edu:asdf/core/extension_metadata-1.0.0",
    "tag:stsci.edu:asdf/core/externalarray-1.0.0",
    "tag:stsci.edu:asdf/core/history_entry-1.0.0",
    "tag:stsci.edu:asdf/core/integer-1.0.0",
    "tag:stsci.edu:asdf/core/integer-1.1.0",
    "tag:stsci.edu:asdf/core/ndarray-1.0.0",
    "tag:stsci.edu:asdf/core/ndarray-1.1.0",
    "tag:stsci.edu:asdf/core/software-1.0.0",
    "tag:stsci.edu:asdf/core/subclass_metadata-1.0.0",
    "tag:stsci.edu:asdf/core/table-1.0.0",
    "tag:stsci.edu:asdf/fits/fits-1.0.0",
    "tag:stsci.edu:asdf/time/time-1.0.0",
    "tag:stsci.edu:asdf/time/time-1.1.0",
    "tag:stsci.edu:asdf/unit/defunit-1.0.0",
    "tag:stsci.edu:asdf/unit/quantity-1.1.0",
    "tag:stsci.edu:asdf/unit/unit-1.0.0",
    "tag:stsci.edu:asdf/wcs/celestial_frame-1.0.0",
    "tag:stsci.edu:asdf/wcs/celestial_frame-1.1.0",
    "tag:stsci.edu:asdf/wcs/composite_frame-1.0.0",
    "tag:stsci.edu:asdf/wcs/composite_frame-1.1.0",
    "tag:stsci.edu:asdf/wcs/icrs_coord-1.1.0",
    "tag:stsci.edu:asdf/wcs/spectral_frame-1.0.0",
    "tag:stsci.edu:asdf/wcs/spectral_frame-1.1.0",
    "tag:stsci.edu:asdf/wcs/step-1.0.0",
    "tag:stsci.edu:asdf/wcs/step-1.1.0",
    "tag:stsci.edu:asdf/wcs/step-1.2.0",
    "tag:stsci.edu:asdf/wcs/wcs-1.0.0",
    "tag:stsci.edu:asdf/wcs/wcs-1.1.0",
    "tag:stsci.edu:asdf/wcs/wcs-1.2.0",
    "asdf://asdf-format.org/zarr/tags/zarr-1.0.0",
];

/// The scalar datatypes of `core/ndarray` (`bool8` and the numeric types; `float16` is in the
/// 1.1.0 schema, and python asdf accepts it under 1.0.0 too).
const SCALAR_TYPES: [&str; 14] = [
    "int8",
    "uint8",
    "int16",
    "uint16",
    "int32",
    "uint32",
    "int64",
    "uint64",
    "float16",
    "float32",
    "float64",
    "complex64",
    "complex128",
    "bool8",
];

/// One finding: the tree path (`/` for the root), whether it is an error (else a warning), and
/// what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaIssue {
    /// The tree path, keys joined by `/` (`""` for the root).
    pub path: String,
    /// An error (the node breaks the schema), or a warning (an unknown tag).
    pub error: bool,
    /// What is wrong, in words.
    pub msg: String,
}

/// Every ndarray-schema violation and unknown tag in `tree`, in tree order.
pub fn check_tree(tree: &Node) -> Vec<SchemaIssue> {
    let mut out = Vec::new();
    walk(tree, "", &mut out);
    out
}

fn walk(n: &Node, path: &str, out: &mut Vec<SchemaIssue>) {
    if let Some(t) = &n.tag {
        // YAML's own tags (`!!str`, `!!binary`, ...) are PyYAML's, not asdf's
        if !KNOWN_TAGS.contains(&&**t) && !t.starts_with(crate::yaml::YAML_TAG_PREFIX) {
            out.push(SchemaIssue {
                path: path.to_string(),
                error: false,
                msg: format!("tag {t} is not recognized by python asdf 6.0 (no schema or converter for it in the ASDF standard)"),
            });
        }
        if &**t == "tag:stsci.edu:asdf/core/ndarray-1.0.0"
            || &**t == "tag:stsci.edu:asdf/core/ndarray-1.1.0"
        {
            for msg in ndarray_problems(n) {
                out.push(SchemaIssue {
                    path: path.to_string(),
                    error: true,
                    msg: format!("{t}: {msg}"),
                });
            }
        }
    }
    let join = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}/{k}")
        }
    };
    match &n.value {
        Value::Seq(items) => {
            for (i, c) in items.iter().enumerate() {
                walk(c, &join(&i.to_string()), out);
            }
        }
        Value::Map(kv) => {
            for (k, v) in kv {
                let key = match &k.value {
                    Value::Str(s) => s.to_string(),
                    other => Node {
                        tag: None,
                        value: other.clone(),
                    }
                    .to_json()
                    .to_string(),
                };
                walk(k, &join(&key), out);
                walk(v, &join(&key), out);
            }
        }
        _ => {}
    }
}

fn int_of(n: &Node) -> Option<i128> {
    match (&n.tag, &n.value) {
        (None, Value::Int(i)) => Some(i.get()),
        _ => None,
    }
}

/// What breaks the `core/ndarray` schema in one node (empty when it conforms).
pub fn ndarray_problems(n: &Node) -> Vec<String> {
    let mut out = Vec::new();
    let Value::Map(_) = &n.value else {
        // the schema's other form: inline data given directly as a (nested) list
        if let Value::Seq(items) = &n.value {
            if inline_shape(items).is_none() {
                out.push("inline data is ragged (its nested lists differ in length)".into());
            }
        } else {
            out.push("neither a mapping nor a list of inline data".into());
        }
        return out;
    };
    let source = n.get("source");
    let data = n.get("data");
    match (source, data) {
        (None, None) => out.push("neither 'source' nor 'data' is given".into()),
        (Some(s), _) => match (&s.tag, &s.value) {
            (None, Value::Int(_)) | (None, Value::Str(_)) => {}
            _ => out.push(format!(
                "'source' is {}, not a block index (an integer) or a file name (a string)",
                describe(s)
            )),
        },
        _ => {}
    }
    let shape = n.get("shape").map(|s| {
        let items = match &s.value {
            Value::Seq(items) if s.tag.is_none() => items,
            _ => {
                out.push(format!("'shape' is {}, not a list", describe(s)));
                return None;
            }
        };
        let mut dims = Vec::new();
        for (i, d) in items.iter().enumerate() {
            match (int_of(d), &d.value) {
                (Some(v), _) if v >= 0 => dims.push(Some(v)),
                (None, Value::Str(s)) if &**s == "*" && i == 0 => dims.push(None),
                _ => {
                    out.push(format!(
                        "'shape' item {i} is {}, not a non-negative integer (or '*' first)",
                        describe(d)
                    ));
                    return None;
                }
            }
        }
        Some(dims)
    });
    if let Some(dt) = n.get("datatype") {
        if let Some(m) = datatype_problem(dt) {
            out.push(format!("'datatype' {m}"));
        }
    }
    if let Some(b) = n.get("byteorder") {
        if !matches!(&b.value, Value::Str(s) if &**s == "big" || &**s == "little")
            || b.tag.is_some()
        {
            out.push(format!(
                "'byteorder' is {}, not 'big' or 'little'",
                describe(b)
            ));
        }
    }
    if let Some(o) = n.get("offset") {
        if int_of(o).is_none_or(|v| v < 0) {
            out.push(format!(
                "'offset' is {}, not a non-negative integer",
                describe(o)
            ));
        }
    }
    if let Some(s) = n.get("strides") {
        match &s.value {
            Value::Seq(items) if s.tag.is_none() => {
                if items.iter().any(|x| int_of(x).is_none_or(|v| v == 0)) {
                    out.push("'strides' holds an item that is not a non-zero integer".into());
                }
                if let Some(Some(dims)) = &shape {
                    if items.len() != dims.len() {
                        out.push(format!("{} strides for {} axes", items.len(), dims.len()));
                    }
                }
            }
            _ => out.push(format!("'strides' is {}, not a list", describe(s))),
        }
    }
    // inline records (a structured datatype) are lists of fields, not a numeric array
    let structured = n
        .get("datatype")
        .is_some_and(|dt| matches!(&dt.value, Value::Seq(f) if f.iter().any(|x| matches!(x.value, Value::Map(_)))));
    if let Some(d) = data.filter(|_| !structured) {
        match &d.value {
            Value::Seq(items) => match inline_shape(items) {
                None => {
                    out.push("inline data is ragged (its nested lists differ in length)".into())
                }
                Some(got) => {
                    if let Some(Some(dims)) = &shape {
                        let want: Vec<i128> = dims.iter().map(|d| d.unwrap_or(-1)).collect();
                        let got: Vec<i128> = got.iter().map(|&g| g as i128).collect();
                        // python asdf takes the shape from the data; the schema requires both
                        // to agree, and so does nd
                        if want != got[..got.len().min(want.len())] || got.len() < want.len() {
                            out.push(format!(
                                "inline data of shape {got:?} under 'shape' {want:?}"
                            ));
                        }
                    }
                }
            },
            Value::Null => {}
            _ => out.push(format!("'data' is {}, not a list", describe(d))),
        }
    }
    out
}

/// The shape of nested lists (numpy's), `None` when ragged.
fn inline_shape(items: &[Node]) -> Option<Vec<usize>> {
    let mut shape = vec![items.len()];
    let inner: Vec<Option<Vec<usize>>> = items
        .iter()
        .map(|c| match &c.value {
            Value::Seq(s) if c.tag.is_none() => inline_shape(s),
            _ => Some(Vec::new()),
        })
        .collect();
    let first = inner.first().cloned().unwrap_or(Some(Vec::new()))?;
    if inner.iter().any(|s| s.as_ref() != Some(&first)) {
        return None;
    }
    shape.extend(first);
    Some(shape)
}

/// What is wrong with a `datatype` value (a scalar type, `[ucs4|ascii, length]`, or a structured
/// list of `{name, datatype, byteorder, shape}`).
fn datatype_problem(dt: &Node) -> Option<String> {
    match &dt.value {
        Value::Str(s) if dt.tag.is_none() => {
            (!SCALAR_TYPES.contains(&&**s)).then(|| format!("'{s}' is not an ASDF datatype"))
        }
        Value::Seq(items) if dt.tag.is_none() => {
            if let [kind, len] = items.as_slice() {
                if matches!(&kind.value, Value::Str(k) if &**k == "ucs4" || &**k == "ascii") {
                    return int_of(len).is_none_or(|v| v < 0).then(|| {
                        format!(
                            "string length {} is not a non-negative integer",
                            describe(len)
                        )
                    });
                }
            }
            if matches!(items.first().map(|f| &f.value), Some(Value::Str(k)) if &**k == "ucs4" || &**k == "ascii")
            {
                return Some("a string type needs [ucs4|ascii, length]".into());
            }
            if items.is_empty() {
                return Some("an empty structured type".into());
            }
            for (i, f) in items.iter().enumerate() {
                let Value::Map(_) = &f.value else {
                    return Some(format!(
                        "structured field {i} is {}, not a mapping",
                        describe(f)
                    ));
                };
                let Some(inner) = f.get("datatype") else {
                    return Some(format!("structured field {i} has no 'datatype'"));
                };
                if let Some(m) = datatype_problem(inner) {
                    return Some(format!("structured field {i}: {m}"));
                }
                if let Some(name) = f.get("name") {
                    if !matches!(&name.value, Value::Str(_)) {
                        return Some(format!("structured field {i}: 'name' is not a string"));
                    }
                }
                if let Some(b) = f.get("byteorder") {
                    if !matches!(&b.value, Value::Str(s) if &**s == "big" || &**s == "little") {
                        return Some(format!(
                            "structured field {i}: 'byteorder' is not big or little"
                        ));
                    }
                }
            }
            None
        }
        _ => Some(format!("is {}, not a type name or list", describe(dt))),
    }
}

/// A node in a few words for messages.
fn describe(n: &Node) -> String {
    let j = n.to_json().to_string();
    if j.len() > 40 {
        format!(
            "{}…",
            &j[..j.char_indices().nth(40).map_or(j.len(), |(i, _)| i)]
        )
    } else {
        j
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nd(yaml: &str) -> Node {
        let mut n = crate::yaml::load(yaml, 0).unwrap();
        n.tag = Some("tag:stsci.edu:asdf/core/ndarray-1.1.0".into());
        n
    }

    #[test]
    fn ndarray_nodes_against_the_schema() {
        assert!(ndarray_problems(&nd(
            "{source: 0, datatype: float32, byteorder: little, shape: [2, 3]}"
        ))
        .is_empty());
        assert!(
            ndarray_problems(&nd("{source: -1, datatype: [ucs4, 4], shape: ['*', 3]}")).is_empty()
        );
        assert!(ndarray_problems(&nd(
            "{data: [[1, 2], [3, 4]], datatype: int64, shape: [2, 2]}"
        ))
        .is_empty());
        assert!(ndarray_problems(&nd(
            "{source: 0, datatype: [{name: a, datatype: int8}, {datatype: [ascii, 3], byteorder: big}], shape: [2]}"
        ))
        .is_empty());
        for bad in [
            "{datatype: float32, shape: [2]}",
            "{source: 0.5, datatype: float32, shape: [2]}",
            "{source: 0, datatype: float99, shape: [2]}",
            "{source: 0, datatype: [ucs4], shape: [2]}",
            "{source: 0, datatype: float32, byteorder: middle, shape: [2]}",
            "{source: 0, datatype: float32, shape: [2, -3]}",
            "{source: 0, datatype: float32, shape: [2], offset: -8}",
            "{source: 0, datatype: float32, shape: [2, 3], strides: [0, 4]}",
            "{source: 0, datatype: float32, shape: [2, 3], strides: [12]}",
            "{data: [[1, 2], [3]], datatype: int64, shape: [2, 2]}",
            "{data: [1, 2, 3], datatype: int64, shape: [4]}",
        ] {
            assert!(!ndarray_problems(&nd(bad)).is_empty(), "{bad}");
        }
    }
}
