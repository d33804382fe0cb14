//! Nodes of a store as zarr-python 2.x lays them out: node paths, the keys inside them, their
//! JSON documents, and the groups a new array is created under.

use crate::error::{meta_err, store_err, Error, Result};
use nd_codecs::zarr_v2::{parse_json_lenient, to_json_pretty};
use nd_core::Store;
use serde_json::{Map, Value};

/// Normalise a node path: no leading or trailing `/` (the root is `""`).
pub(crate) fn norm_path(path: &str) -> String {
    path.trim_matches('/').to_string()
}

/// The key of `name` inside the node at `path`.
pub(crate) fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}/{name}")
    }
}

/// Read and parse a JSON document of the store (lenient), `None` when absent.
pub(crate) fn get_json(store: &dyn Store, key: &str) -> Result<Option<Value>> {
    match store.get(key).map_err(store_err(key))? {
        None => Ok(None),
        Some(b) => Ok(Some(parse_json_lenient(&b).map_err(meta_err(key))?)),
    }
}

/// Write a JSON document as zarr-python does (sorted, indented, strict).
pub(crate) fn set_json(store: &dyn Store, key: &str, v: &Value) -> Result<()> {
    store.set(key, &to_json_pretty(v)).map_err(store_err(key))
}

/// The `.zgroup` document of a new group.
pub(crate) fn group_doc() -> Value {
    let mut m = Map::new();
    m.insert("zarr_format".into(), Value::from(2));
    Value::Object(m)
}

/// Make every ancestor of `path` a group (writing `.zgroup` where missing); refuse when one is an array.
pub(crate) fn ensure_ancestors(store: &dyn Store, path: &str) -> Result<()> {
    if path.is_empty() {
        return Ok(());
    }
    let mut anc = String::new();
    let parts: Vec<&str> = path.split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        let key = join(&anc, ".zarray");
        if store.get(&key).map_err(store_err(&key))?.is_some() {
            return Err(Error::Conflict {
                path: path.to_string(),
                reason: format!("'{anc}' is an array"),
            });
        }
        let gkey = join(&anc, ".zgroup");
        if store.get(&gkey).map_err(store_err(&gkey))?.is_none() {
            set_json(store, &gkey, &group_doc())?;
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
    nd_core::validate_key(&join(path, ".zarray")).map_err(store_err(path))?;
    ensure_ancestors(store, path)?;
    clear_node(store, path)
}

/// Delete every key under `path` (what was there before a node is written anew; both formats).
pub(crate) fn clear_node(store: &dyn Store, path: &str) -> Result<()> {
    let prefix = if path.is_empty() {
        String::new()
    } else {
        format!("{path}/")
    };
    for k in store.list_prefix(&prefix).map_err(store_err(&prefix))? {
        store.delete(&k).map_err(store_err(&k))?;
    }
    Ok(())
}
