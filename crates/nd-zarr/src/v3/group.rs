//! Writing Zarr v3 hierarchies: groups (`zarr.json` with `"node_type": "group"`), the ancestors
//! a new node needs, and consolidated metadata as zarr-python 3 writes it.

use super::build::group_json;
use super::json::to_json_bytes;
use super::meta::ZARR_JSON;
use crate::error::{store_err, Error, Result};
use crate::node::{clear_node, get_json, join, norm_path};
use nd_core::Store;
use serde_json::{json, Map, Value};

fn set_doc(store: &dyn Store, key: &str, doc: &Value) -> Result<()> {
    store.set(key, &to_json_bytes(doc)).map_err(store_err(key))
}

/// Make every ancestor of `path` a group (writing `zarr.json` where missing); refuse when one
/// is an array.
fn ensure_ancestors(store: &dyn Store, path: &str) -> Result<()> {
    if path.is_empty() {
        return Ok(());
    }
    let parts: Vec<&str> = path.split('/').collect();
    let mut anc = String::new();
    for (i, part) in parts.iter().enumerate() {
        let key = join(&anc, ZARR_JSON);
        match get_json(store, &key)? {
            Some(doc) if doc.get("node_type").and_then(Value::as_str) == Some("array") => {
                return Err(Error::Conflict {
                    path: path.to_string(),
                    reason: format!("'{anc}' is an array"),
                })
            }
            Some(_) => {}
            None => set_doc(store, &key, &group_json(&Map::new()))?,
        }
        if i + 1 < parts.len() {
            anc = join(&anc, part);
        }
    }
    Ok(())
}

/// Prepare `path` for a new array: ancestors become groups, whatever was at `path` is removed
/// (as zarr-python's `mode="w"` does).
pub(crate) fn prepare_node(store: &dyn Store, path: &str) -> Result<()> {
    nd_core::validate_key(&join(path, ZARR_JSON)).map_err(store_err(path))?;
    ensure_ancestors(store, path)?;
    clear_node(store, path)
}

/// Create a Zarr v3 group at `path` (and its ancestors), with `attributes` when given. An
/// existing group keeps its children (and its attributes unless new ones are given); an
/// array in the way is an error. Costs a get per ancestor and one set per document written.
///
/// # Errors
/// An array at `path` or above it, an invalid path, store errors.
pub fn create_group(
    store: &dyn Store,
    path: &str,
    attributes: Option<&Map<String, Value>>,
) -> Result<()> {
    let path = norm_path(path);
    let key = join(&path, ZARR_JSON);
    nd_core::validate_key(&key).map_err(store_err(&path))?;
    ensure_ancestors(store, &path)?;
    match get_json(store, &key)? {
        Some(doc) if doc.get("node_type").and_then(Value::as_str) == Some("array") => {
            Err(Error::Conflict {
                path,
                reason: "an array is there".into(),
            })
        }
        Some(_) if attributes.is_none() => Ok(()),
        _ => set_doc(store, &key, &group_json(attributes.unwrap_or(&Map::new()))),
    }
}

/// Walk the Zarr v3 hierarchy of `store` and write the root group's consolidated metadata as
/// zarr-python 3's `consolidate_metadata` does: the root `zarr.json` gains
/// `"consolidated_metadata": {"kind": "inline", "must_understand": false, "metadata": {...}}`,
/// every node below keyed by its path (depth first, then case-folded name), each group among
/// them with an empty `consolidated_metadata` of its own. Implicit groups (no `zarr.json`) are
/// not listed, as zarr-python does not list them.
///
/// # Errors
/// No group at the root, an unreadable `zarr.json`, store errors.
pub fn write_consolidated(store: &dyn Store) -> Result<()> {
    let mut root = get_json(store, ZARR_JSON)?.ok_or_else(|| Error::NotFound {
        what: "group",
        path: String::new(),
    })?;
    let Some(rm) = root.as_object_mut() else {
        return Err(Error::NotFound {
            what: "group",
            path: String::new(),
        });
    };
    if rm.get("node_type").and_then(Value::as_str) != Some("group") {
        return Err(Error::NotFound {
            what: "group",
            path: String::new(),
        });
    }
    rm.remove("consolidated_metadata");
    let found = super::walk::collect(store, root.clone())?;
    let mut meta = Map::new();
    for (path, doc) in found.docs {
        if path.is_empty() {
            continue;
        }
        let mut doc = doc.map_err(|reason| Error::Chunk {
            key: join(&path, ZARR_JSON),
            reason,
        })?;
        if let Some(m) = doc.as_object_mut() {
            if m.get("node_type").and_then(Value::as_str) == Some("group") {
                m.insert("consolidated_metadata".into(), empty_consolidated());
            }
        }
        meta.insert(path, doc);
    }
    if let Some(rm) = root.as_object_mut() {
        rm.insert(
            "consolidated_metadata".into(),
            json!({"kind": "inline", "must_understand": false, "metadata": meta}),
        );
    }
    set_doc(store, ZARR_JSON, &root)
}

fn empty_consolidated() -> Value {
    json!({"kind": "inline", "must_understand": false, "metadata": {}})
}
