//! Zarr (v2 and v3) in the `nd` command.

use crate::backend::{
    table_from_meta, typestr, ArrayEntry, ArrayKind, Backend, ConvertItem, ConvertPlan, Finding,
    Severity,
};
use crate::error::{Error, Result};
use nd_core::{ArrayRead, ChunkGrid, Region};
use nd_zarr::{Hierarchy, NodeKind};
use std::io::Write;

/// An opened Zarr v2 or v3 store (consolidated metadata when present).
pub struct ZarrDataset {
    path: String,
    h: Hierarchy,
}

fn codec_of(meta: &nd_zarr::ArrayMetadataV2) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(arr) = meta.filters.as_array() {
        for f in arr {
            if let Some(id) = f.get("id").and_then(|v| v.as_str()) {
                parts.push(id.to_string());
            }
        }
    }
    if let Some(c) = meta.compressor.as_object() {
        let id = c.get("id").and_then(|v| v.as_str()).unwrap_or("?");
        let mut s = id.to_string();
        if let Some(cn) = c.get("cname").and_then(|v| v.as_str()) {
            s.push(':');
            s.push_str(cn);
        }
        if let Some(l) = c
            .get("clevel")
            .or_else(|| c.get("level"))
            .and_then(|v| v.as_i64())
        {
            s.push(':');
            s.push_str(&l.to_string());
        }
        parts.push(s);
    }
    if parts.is_empty() {
        None
    } else {
        Some(parts.join("+"))
    }
}

/// An array's attributes, with a v3 array's `dimension_names` as xarray's v2 attribute
/// `_ARRAY_DIMENSIONS` (the conversion plan's vocabulary for dimension names; see
/// `convert/dims.rs`).
fn array_meta(n: &nd_zarr::Node) -> serde_json::Map<String, serde_json::Value> {
    let mut meta = n.attributes.clone();
    let v3_names = match (&n.metadata_v3, &n.object) {
        (Some(m), _) => m.dimension_names.as_deref(),
        (None, Some(o)) => o.dimension_names(),
        _ => None,
    };
    if let Some(names) = v3_names.and_then(|d| d.iter().cloned().collect::<Option<Vec<String>>>()) {
        meta.entry("_ARRAY_DIMENSIONS")
            .or_insert_with(|| serde_json::json!(names));
    }
    meta
}

/// An array node nd can read (v2, or v3 with a supported type and codecs).
fn readable_array(n: &nd_zarr::Node) -> bool {
    n.kind == NodeKind::Array && n.error.is_none()
}

impl ZarrDataset {
    /// Open a directory store (arrays whose chunks are over `limits.chunk_bytes` refused).
    pub fn open(path: &str, limits: &nd_core::Limits) -> Result<Self> {
        let h = Hierarchy::open_path_with(path, limits)
            .map_err(|e| Error::input(format!("{path}: {e}")))?;
        Ok(ZarrDataset {
            path: path.to_string(),
            h,
        })
    }

    /// Open any store (a URL), with the same limits.
    pub fn from_store(
        name: &str,
        store: std::sync::Arc<dyn nd_core::Store>,
        limits: &nd_core::Limits,
    ) -> Result<Self> {
        let h = Hierarchy::open_with(store, limits)
            .map_err(|e| Error::input(format!("{name}: {e}")))?;
        Ok(ZarrDataset {
            path: name.to_string(),
            h,
        })
    }

    fn err(&self, e: impl std::fmt::Display) -> Error {
        Error::input(format!("{}: {e}", self.path))
    }

    /// `verify` of a Zarr v3 store: each node's metadata, each array's chunks (shards: index
    /// consistency and every inner chunk), stray keys, and a consolidated listing that does not
    /// match the store (see `spec-notes/zarr-v3.md`).
    fn verify_v3(&self) -> Vec<Finding> {
        let mut out = Vec::new();
        let place_of = |p: &str| {
            if p.is_empty() {
                "/".to_string()
            } else {
                p.to_string()
            }
        };
        // stray keys are warnings, as for Zarr v2 (zarr-python ignores them); other failed
        // checks are errors
        let finding = |place: String, what: &str, ok: bool, detail: String| {
            let severity = match (ok, what) {
                (true, _) => Severity::Ok,
                (false, "stray keys") => Severity::Warning,
                (false, _) => Severity::Error,
            };
            Finding::new(severity, place, what, detail)
        };
        let store = self.h.store();
        let listing = store.list_prefix("");
        // the nodes a walk finds (a consolidated listing may miss some): None when the store
        // cannot list
        let walked = match (&listing, self.h.is_consolidated()) {
            (Ok(_), true) => nd_zarr::v3::walk_node_paths(store.as_ref()).ok(),
            _ => None,
        };
        for n in self.h.nodes() {
            let place = place_of(&n.path);
            if let Some(e) = &n.error {
                // valid metadata nd cannot decode (a variable-length type, a numcodecs codec)
                // is not damage; invalid metadata is
                let unsupported = matches!(
                    self.h.array_v3(&n.path),
                    Err(nd_zarr::Error::MetadataV3 {
                        source: nd_zarr::v3::MetadataErrorV3::Unsupported { .. },
                        ..
                    })
                );
                if unsupported {
                    out.push(finding(
                        place,
                        "metadata",
                        true,
                        format!("valid; not checked further (nd cannot decode it): {e}"),
                    ));
                } else {
                    out.push(finding(place, "metadata", false, e.clone()));
                }
                continue;
            }
            if n.kind != NodeKind::Array {
                continue;
            }
            if n.object.is_some() {
                // a `string`/`bytes` array: opening it decodes every chunk (to find its string
                // width), as for a Zarr v2 object array
                out.push(match self.h.open_array(&n.path) {
                    Ok(a) => finding(
                        place,
                        "chunks",
                        true,
                        format!(
                            "variable-length array: every chunk decoded (read as {})",
                            crate::backend::typestr(a.dtype())
                        ),
                    ),
                    Err(e) => finding(place, "chunks", false, e.to_string()),
                });
                continue;
            }
            let arr = match self.h.array_v3(&n.path) {
                Ok(a) => a,
                Err(e) => {
                    out.push(finding(place, "metadata", false, e.to_string()));
                    continue;
                }
            };
            let c = match arr.verify() {
                Ok(c) => c,
                Err(e) => {
                    out.push(finding(place, "chunks", false, e.to_string()));
                    continue;
                }
            };
            let sharded = arr.inner_chunk_shape().is_some();
            let unit = if sharded { "shards" } else { "chunks" };
            let detail = if c.defect_count == 0 {
                let mut d = format!(
                    "{} {unit} decoded, {} missing (fill value)",
                    c.present, c.missing
                );
                if sharded {
                    d.push_str(&format!(
                        "; {} inner chunks decoded, {} empty; indexes consistent",
                        c.inner_decoded, c.inner_empty
                    ));
                }
                d
            } else {
                let (k, why) = c.defects.first().cloned().unwrap_or_default();
                format!("{} defects; first: {k}: {why}", c.defect_count)
            };
            out.push(finding(place.clone(), unit, c.defect_count == 0, detail));
            if listing.is_ok() {
                match arr.stray_keys() {
                    Ok(stray) if stray.is_empty() => {}
                    Ok(stray) => out.push(finding(place, "stray keys", false, list_keys(&stray))),
                    Err(e) => out.push(finding(place, "stray keys", false, e.to_string())),
                }
            }
        }
        // keys that belong to no node: not a node's zarr.json, not under an array
        match &listing {
            Ok(keys) => {
                // keys under an array are checked by the array; keys under a node the
                // consolidated metadata misses are reported with it (below)
                let arrays: Vec<String> = self
                    .h
                    .nodes()
                    .filter(|n| n.kind == NodeKind::Array)
                    .map(|n| n.path.clone())
                    .chain(
                        walked
                            .iter()
                            .flatten()
                            .filter(|p| !p.is_empty() && self.h.node(p).is_none())
                            .cloned(),
                    )
                    .collect();
                let metas: std::collections::BTreeSet<String> = self
                    .h
                    .nodes()
                    .map(|n| n.path.clone())
                    .chain(walked.iter().flatten().cloned())
                    .map(|p| nd_zarr::v3::join_key(&p, nd_zarr::v3::ZARR_JSON))
                    .collect();
                let stray: Vec<String> = keys
                    .iter()
                    .filter(|k| {
                        !metas.contains(*k)
                            && !arrays
                                .iter()
                                .any(|a| a.is_empty() || k.starts_with(&format!("{a}/")))
                    })
                    .cloned()
                    .collect();
                out.push(finding(
                    "/".into(),
                    "stray keys",
                    stray.is_empty(),
                    if stray.is_empty() {
                        format!(
                            "{}, each a node's metadata or under an array",
                            super::count(keys.len(), "key")
                        )
                    } else {
                        format!("outside every node: {}", list_keys(&stray))
                    },
                ));
            }
            Err(e) => out.push(finding(
                "/".into(),
                "stray keys",
                true,
                format!("not checked: the store cannot list ({e})"),
            )),
        }
        // an incomplete store: nodes the consolidated metadata lists whose zarr.json is gone, or
        // nodes in the store it does not list
        if self.h.is_consolidated() {
            let mut missing = Vec::new();
            for n in self.h.nodes().filter(|n| !n.implicit && !n.path.is_empty()) {
                let key = nd_zarr::v3::join_key(&n.path, nd_zarr::v3::ZARR_JSON);
                match store.get(&key) {
                    Ok(Some(_)) => {}
                    Ok(None) => missing.push(key),
                    Err(e) => missing.push(format!("{key} ({e})")),
                }
            }
            let unlisted: Vec<String> = walked
                .iter()
                .flatten()
                .filter(|p| self.h.node(p).is_none_or(|n| n.implicit))
                .map(|p| place_of(p))
                .collect();
            let ok = missing.is_empty() && unlisted.is_empty();
            let mut detail = Vec::new();
            if !missing.is_empty() {
                detail.push(format!(
                    "consolidated metadata lists nodes whose metadata is missing: {}",
                    list_keys(&missing)
                ));
            }
            if !unlisted.is_empty() {
                detail.push(format!(
                    "nodes in the store but not in the consolidated metadata: {}",
                    list_keys(&unlisted)
                ));
            }
            out.push(finding(
                "/".into(),
                "consolidated metadata",
                ok,
                if ok {
                    "matches the store".into()
                } else {
                    detail.join("; ")
                },
            ));
        }
        out
    }

    fn norm(sel: &str) -> &str {
        sel.trim().trim_matches('/')
    }
}

impl Backend for ZarrDataset {
    fn format(&self) -> &'static str {
        "zarr"
    }

    fn arrays(&self) -> Result<Vec<ArrayEntry>> {
        Ok(self
            .h
            .nodes()
            .filter_map(|n| {
                if let Some(m) = &n.metadata_v3 {
                    let a = self.h.array_v3(&n.path).ok()?;
                    return Some(ArrayEntry {
                        path: if n.path.is_empty() {
                            "/".into()
                        } else {
                            n.path.clone()
                        },
                        shape: m.shape.clone(),
                        dtype: typestr(&m.data_type),
                        chunks: Some(m.chunk_shape.clone()),
                        codec: a.codec(),
                        kind: ArrayKind::Array,
                    });
                }
                if let (Some(o), None) = (&n.object, &n.error) {
                    // an object array: the string width is known only after reading it
                    return Some(ArrayEntry {
                        path: if n.path.is_empty() {
                            "/".into()
                        } else {
                            n.path.clone()
                        },
                        shape: o.shape().to_vec(),
                        dtype: o.describe(),
                        chunks: Some(o.chunks().to_vec()),
                        codec: Some(o.codecs()),
                        kind: ArrayKind::Array,
                    });
                }
                let m = n.metadata.as_ref().filter(|_| n.error.is_none())?;
                Some(ArrayEntry {
                    path: if n.path.is_empty() {
                        "/".into()
                    } else {
                        n.path.clone()
                    },
                    shape: m.shape.clone(),
                    dtype: typestr(&m.dtype.to_native()),
                    chunks: Some(m.chunks.clone()),
                    codec: codec_of(m),
                    kind: ArrayKind::Array,
                })
            })
            .collect())
    }

    fn info_json_extra(&self, obj: &mut serde_json::Map<String, serde_json::Value>) -> Result<()> {
        // arrays nd cannot read, each with the reason (the others are under "arrays")
        let unreadable: Vec<serde_json::Value> = self
            .h
            .nodes()
            .filter_map(|n| {
                let e = n.error.as_ref()?;
                Some(serde_json::json!({
                    "path": if n.path.is_empty() { "/" } else { n.path.as_str() },
                    "reason": e,
                }))
            })
            .collect();
        obj.insert("unreadable".into(), unreadable.into());
        Ok(())
    }

    fn open_array(&self, selector: &str) -> Result<Box<dyn ArrayRead>> {
        let p = Self::norm(selector);
        match self.h.node(p) {
            Some(n) if n.kind == NodeKind::Array => {}
            Some(_) => return Err(self.err(format!("'{selector}' is a group, not an array"))),
            None => return Err(self.err(format!("no array '{selector}' in the store"))),
        }
        self.h.open_array(p).map_err(|e| self.err(e))
    }

    fn attributes(&self, selector: &str) -> Result<serde_json::Map<String, serde_json::Value>> {
        let n = self
            .h
            .node(Self::norm(selector))
            .ok_or_else(|| self.err(format!("no array '{selector}' in the store")))?;
        let mut attrs = n.attributes.clone();
        attrs.remove("_ARRAY_DIMENSIONS");
        Ok(attrs)
    }

    fn dimension_names(&self, selector: &str, ndim: usize) -> Result<Vec<String>> {
        let n = self
            .h
            .node(Self::norm(selector))
            .ok_or_else(|| self.err(format!("no array '{selector}' in the store")))?;
        Ok(crate::convert::dims::names(&array_meta(n), ndim, false))
    }

    fn metadata(&self) -> Result<serde_json::Value> {
        let nodes: serde_json::Map<String, serde_json::Value> = self
            .h
            .nodes()
            .map(|n| {
                let kind = if n.kind == NodeKind::Array {
                    "array"
                } else {
                    "group"
                };
                (
                    n.path.clone(),
                    super::json_object([
                        ("kind", kind.into()),
                        ("attributes", n.attributes.clone().into()),
                    ]),
                )
            })
            .collect();
        Ok(super::json_object([("nodes", nodes.into())]))
    }

    fn native(&self) -> crate::Native<'_> {
        crate::Native::Zarr(&self.h)
    }

    fn info_human(&self, w: &mut dyn Write) -> std::io::Result<()> {
        writeln!(
            w,
            "Zarr v{} store: {}{}",
            self.h.zarr_format(),
            self.path,
            if self.h.is_consolidated() {
                " (consolidated metadata)"
            } else {
                ""
            }
        )?;
        for n in self.h.nodes() {
            let depth = if n.path.is_empty() {
                0
            } else {
                n.path.matches('/').count() + 1
            };
            let name = if n.path.is_empty() {
                "/"
            } else {
                n.path.rsplit('/').next().unwrap_or("")
            };
            let indent = "  ".repeat(depth);
            if let Some(e) = &n.error {
                writeln!(w, "{indent}{name}  unreadable: {e}")?;
            } else if let Some(m) = &n.metadata_v3 {
                writeln!(
                    w,
                    "{indent}{name}  array {:?} {} chunks {:?} codec {}",
                    m.shape,
                    typestr(&m.data_type),
                    m.chunk_shape,
                    self.h
                        .array_v3(&n.path)
                        .ok()
                        .and_then(|a| a.codec())
                        .unwrap_or_else(|| "none".into())
                )?;
            } else if n.zarr_format == 3 && n.kind == NodeKind::Group {
                writeln!(w, "{indent}{name}  group")?;
            }
            match &n.metadata {
                _ if n.error.is_some() => {}
                None if n.object.is_some() => {
                    if let Some(o) = &n.object {
                        writeln!(
                            w,
                            "{indent}{name}  array {:?} {} chunks {:?} order {:?} codec {} (read as numpy {})",
                            o.shape(),
                            o.describe(),
                            o.chunks(),
                            o.order(),
                            o.codecs(),
                            if o.codec().is_text() { "U" } else { "S" }
                        )?;
                    }
                }
                _ if n.zarr_format == 3 => {}
                Some(m) => writeln!(
                    w,
                    "{indent}{name}  array {:?} {} chunks {:?} order {:?} codec {}",
                    m.shape,
                    typestr(&m.dtype.to_native()),
                    m.chunks,
                    m.order,
                    codec_of(m).unwrap_or_else(|| "none".into())
                )?,
                None => writeln!(w, "{indent}{name}  group")?,
            }
            for (k, v) in &n.attributes {
                let s = v.to_string();
                let s = if s.chars().count() > 70 {
                    format!("{}…", s.chars().take(70).collect::<String>())
                } else {
                    s
                };
                writeln!(w, "{indent}    @{k} = {s}")?;
            }
        }
        Ok(())
    }

    fn convert_plan(&self) -> Result<ConvertPlan> {
        let mut plan = ConvertPlan::default();
        // groups marked as FITS tables: their arrays are the table's columns
        let parent = |p: &str| p.rsplit_once('/').map_or("", |(a, _)| a).to_string();
        let tables: Vec<&str> = self
            .h
            .nodes()
            .filter(|n| {
                n.kind == NodeKind::Group
                    && !n.path.is_empty()
                    && n.attributes.contains_key("fits_table")
            })
            .map(|n| n.path.as_str())
            .collect();
        for n in self.h.nodes() {
            if n.path.is_empty() && n.kind == NodeKind::Group {
                plan.meta = n.attributes.clone();
            }
            if let Some(e) = &n.error {
                let path = if n.path.is_empty() { "/" } else { &n.path };
                plan.skipped.push(format!("{path}: cannot be read ({e})"));
                continue;
            }
            if tables.contains(&n.path.as_str()) {
                let children: Vec<String> = self
                    .h
                    .nodes()
                    .filter(|c| readable_array(c) && parent(&c.path) == n.path)
                    .map(|c| c.path.rsplit('/').next().unwrap_or("").to_string())
                    .collect();
                plan.items.push(ConvertItem {
                    name: n.path.clone(),
                    selector: n.path.clone(),
                    meta: n.attributes.clone(),
                    table: table_from_meta(&n.path, &n.attributes, &children),
                });
                continue;
            }
            if readable_array(n) && tables.contains(&parent(&n.path).as_str()) {
                continue;
            }
            if readable_array(n) {
                let meta = array_meta(n);
                plan.items.push(ConvertItem {
                    name: if n.path.is_empty() {
                        "data".into()
                    } else {
                        n.path.clone()
                    },
                    selector: if n.path.is_empty() {
                        "/".into()
                    } else {
                        n.path.clone()
                    },
                    meta,
                    table: None,
                });
            }
        }
        order_items(&mut plan);
        Ok(plan)
    }

    fn verify(&self) -> Result<Vec<Finding>> {
        if self.h.zarr_format() == 3 {
            return Ok(self.verify_v3());
        }
        let mut out = Vec::new();
        for n in self.h.nodes() {
            if let (2, Some(e)) = (n.zarr_format, &n.error) {
                out.push(Finding::error(node_place(&n.path), "metadata", e.clone()));
                continue;
            }
            if n.object.is_some() && n.error.is_none() {
                // opening an object array decodes every chunk (to find its string width)
                out.push(match self.h.open_array(&n.path) {
                    Ok(a) => Finding::ok(
                        node_place(&n.path),
                        "chunks",
                        format!(
                            "object array: every chunk decoded (read as {})",
                            crate::backend::typestr(a.dtype())
                        ),
                    ),
                    Err(e) => Finding::error(node_place(&n.path), "chunks", e.to_string()),
                });
                continue;
            }
            let Some(m) = &n.metadata else { continue };
            let place = if n.path.is_empty() {
                "/".to_string()
            } else {
                n.path.clone()
            };
            let arr = match self.h.array(&n.path) {
                Ok(a) => a,
                Err(e) => {
                    out.push(Finding::error(place, "metadata", e.to_string()));
                    continue;
                }
            };
            let grid = match ChunkGrid::new(m.shape.clone(), m.chunks.clone()) {
                Ok(g) => g,
                Err(e) => {
                    out.push(Finding::error(place, "metadata", e.to_string()));
                    continue;
                }
            };
            let pieces = grid
                .pieces(&Region::full(&m.shape))
                .map_err(|e| self.err(e))?;
            let (mut present, mut missing, mut bad) = (0u64, 0u64, 0u64);
            let mut first_bad = String::new();
            let mut buf = vec![0u8; m.chunk_bytes()];
            for p in &pieces {
                match arr.decode_chunk_into(&p.chunk, &mut buf) {
                    Ok(true) => present += 1,
                    Ok(false) => missing += 1,
                    Err(e) => {
                        bad += 1;
                        if first_bad.is_empty() {
                            first_bad = e.to_string();
                        }
                    }
                }
            }
            out.push(Finding::new(
                if bad == 0 {
                    Severity::Ok
                } else {
                    Severity::Error
                },
                place,
                "chunks",
                if bad == 0 {
                    format!("{present} decoded, {missing} missing (fill value)")
                } else {
                    format!(
                        "{bad} of {} do not decode; first: {first_bad}",
                        pieces.len()
                    )
                },
            ));
        }
        // Keys that are neither metadata nor a chunk of an array (Zarr v2 hierarchies; v3 stores
        // have their own checks): zarr-python ignores them, so they are warnings.
        if self.h.nodes().all(|n| n.zarr_format == 2) {
            let keys = self.h.store().list_prefix("").map_err(|e| self.err(e))?;
            let stray: Vec<&String> = keys.iter().filter(|k| !self.v2_key_known(k)).collect();
            for k in &stray {
                out.push(Finding::warning(
                    "store",
                    "stray key",
                    format!("{k}: neither Zarr v2 metadata nor a chunk of an array"),
                ));
            }
            out.extend(self.v2_metadata_keys(&keys)?);
            if stray.is_empty() {
                out.push(Finding::ok(
                    "store",
                    "keys",
                    format!(
                        "{} key(s), each metadata or a chunk in its array's grid",
                        keys.len()
                    ),
                ));
            }
        }
        Ok(out)
    }
}

/// At most 5 keys, then how many more.
fn list_keys(keys: &[String]) -> String {
    let mut s = keys.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
    if keys.len() > 5 {
        s.push_str(&format!(" and {} more", keys.len() - 5));
    }
    s
}

impl ZarrDataset {
    /// Every `.zarray` parses as Zarr v2 array metadata (an error otherwise), and a consolidated
    /// `.zmetadata` matches the metadata keys it copies (a warning when stale: zarr-python
    /// opening it consolidated sees other metadata than the store holds).
    fn v2_metadata_keys(&self, keys: &[String]) -> Result<Vec<Finding>> {
        use nd_codecs::zarr_v2::{parse_json_lenient, ArrayMetadataV2};
        let mut out = Vec::new();
        let store = self.h.store();
        let get = |k: &str| store.get(k).map_err(|e| self.err(e));
        // a node listed with its error, or an object array, was checked above
        let reported = |k: &str| {
            let dir = k.strip_suffix(".zarray").unwrap_or(k).trim_end_matches('/');
            self.h
                .nodes()
                .any(|n| n.path == dir && (n.error.is_some() || n.object.is_some()))
        };
        for k in keys
            .iter()
            .filter(|k| k.ends_with(".zarray") && !reported(k))
        {
            let Some(bytes) = get(k)? else { continue };
            if let Err(e) = ArrayMetadataV2::parse(&bytes) {
                out.push(Finding::error(k.as_str(), "metadata", e.to_string()));
            }
        }
        let Some(zm) = get(".zmetadata")? else {
            return Ok(out);
        };
        let listed = match parse_json_lenient(&zm) {
            Ok(v) => v.get("metadata").and_then(|m| m.as_object()).cloned(),
            Err(e) => {
                out.push(Finding::error(".zmetadata", "metadata", e.to_string()));
                return Ok(out);
            }
        };
        let Some(listed) = listed else {
            out.push(Finding::error(
                ".zmetadata",
                "metadata",
                "no \"metadata\" object",
            ));
            return Ok(out);
        };
        let mut stale = 0usize;
        for (k, v) in &listed {
            let actual = get(k)?.and_then(|b| parse_json_lenient(&b).ok());
            if actual.as_ref() != Some(v) {
                stale += 1;
                out.push(Finding::warning(
                    ".zmetadata",
                    "consolidated",
                    format!(
                        "{k}: {} the store's key",
                        if actual.is_none() {
                            "listed, missing from"
                        } else {
                            "differs from"
                        }
                    ),
                ));
            }
        }
        for k in keys.iter().filter(|k| {
            let name = k.rsplit('/').next().unwrap_or(k);
            matches!(name, ".zarray" | ".zgroup" | ".zattrs") && !listed.contains_key(k.as_str())
        }) {
            stale += 1;
            out.push(Finding::warning(
                ".zmetadata",
                "consolidated",
                format!("{k}: in the store, not in .zmetadata"),
            ));
        }
        if stale == 0 {
            out.push(Finding::ok(
                ".zmetadata",
                "consolidated",
                format!("{} key(s), each as the store holds it", listed.len()),
            ));
        }
        Ok(out)
    }

    /// True for a Zarr v2 metadata key of a node (or `.zmetadata` at the root) and for the key
    /// of a chunk inside its array's grid.
    fn v2_key_known(&self, key: &str) -> bool {
        let (dir, name) = match key.rsplit_once('/') {
            Some((d, n)) => (d, n),
            None => ("", key),
        };
        let is_node = |p: &str| self.h.nodes().any(|n| n.path == p);
        if matches!(name, ".zgroup" | ".zarray" | ".zattrs") && is_node(dir) {
            return true;
        }
        if key == ".zmetadata" {
            return true;
        }
        // under an array nd lists without reading its grid (invalid metadata, object arrays):
        // its chunks cannot be judged here (the node's own finding covers it)
        let under =
            |p: &str| p.is_empty() || key.strip_prefix(p).is_some_and(|r| r.starts_with('/'));
        if self.h.nodes().any(|n| {
            n.metadata.is_none() && (n.error.is_some() || n.object.is_some()) && under(&n.path)
        }) {
            return true;
        }
        self.h.nodes().any(|n| {
            let Some(m) = &n.metadata else { return false };
            let rest = if n.path.is_empty() {
                key
            } else {
                match key
                    .strip_prefix(n.path.as_str())
                    .and_then(|r| r.strip_prefix('/'))
                {
                    Some(r) => r,
                    None => return false,
                }
            };
            if m.shape.is_empty() {
                return rest == "0";
            }
            // legacy nested stores use `/` with no dimension_separator key
            let seps: &[char] = if m.dimension_separator.is_none() {
                &['.', '/']
            } else {
                &[m.separator()]
            };
            seps.iter().any(|&sep| {
                let parts: Vec<&str> = rest.split(sep).collect();
                parts.len() == m.shape.len()
                    && parts
                        .iter()
                        .zip(m.shape.iter().zip(&m.chunks))
                        .all(|(p, (&n, &c))| {
                            p.parse::<u64>()
                                .is_ok_and(|i| c > 0 && i < n.div_ceil(c).max(1))
                        })
            })
        })
    }
}

fn node_place(path: &str) -> String {
    if path.is_empty() {
        "/".to_string()
    } else {
        path.to_string()
    }
}

/// Put items in the order a `fits_hdu_order` list in the file metadata gives (Zarr lists keys
/// alphabetically; the list keeps a FITS file's HDU order through a round trip).
pub fn order_items(plan: &mut ConvertPlan) {
    if let Some(order) = plan.meta.get("fits_hdu_order").and_then(|v| v.as_array()) {
        let pos = |name: &str| {
            order
                .iter()
                .position(|o| o.as_str() == Some(name))
                .unwrap_or(usize::MAX)
        };
        plan.items.sort_by_key(|i| pos(&i.name));
    }
}
