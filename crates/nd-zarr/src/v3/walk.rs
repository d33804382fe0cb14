//! Finding the `zarr.json` documents of a v3 hierarchy: from the root's
//! `consolidated_metadata` (zarr-python 3: `{"kind": "inline", "must_understand": false,
//! "metadata": {path: document}}`, one get), or by walking the store from the root.

use super::meta::ZARR_JSON;
use crate::error::{store_err, Error, Result};
use crate::node::{get_json, join};
use nd_core::Store;
use serde_json::Value;
use std::collections::BTreeMap;

/// How deep a walk descends before giving up.
const MAX_DEPTH: usize = 64;

/// The documents of a hierarchy by node path (`""` the root), and whether they came from
/// consolidated metadata. A document that could not be read is kept as `Err(reason)`.
pub(crate) struct Docs {
    pub docs: BTreeMap<String, std::result::Result<Value, String>>,
    pub consolidated: bool,
}

/// The documents below a root document `root` (which is included at `""`).
pub(crate) fn collect(store: &dyn Store, root: Value) -> Result<Docs> {
    let mut docs = BTreeMap::new();
    let cm = root
        .get("consolidated_metadata")
        .filter(|c| !c.is_null())
        .cloned();
    let is_group = root.get("node_type").and_then(Value::as_str) == Some("group");
    docs.insert(String::new(), Ok(root));
    if !is_group {
        return Ok(Docs {
            docs,
            consolidated: false,
        });
    }
    if let Some(cm) = cm {
        let bad = |reason: &str| Error::Chunk {
            key: ZARR_JSON.into(),
            reason: format!("consolidated_metadata: {reason}"),
        };
        if cm.get("kind").and_then(Value::as_str) != Some("inline") {
            return Err(bad("kind is not \"inline\""));
        }
        let meta = cm
            .get("metadata")
            .and_then(Value::as_object)
            .ok_or_else(|| bad("no \"metadata\" object"))?;
        for (path, doc) in meta {
            let path = path.trim_matches('/');
            nd_core::validate_key(&join(path, ZARR_JSON)).map_err(store_err(path))?;
            docs.insert(path.to_string(), Ok(doc.clone()));
        }
        return Ok(Docs {
            docs,
            consolidated: true,
        });
    }
    walk(store, "", 0, &mut docs)?;
    Ok(Docs {
        docs,
        consolidated: false,
    })
}

/// Walk the children of the group (explicit or implicit) at `path`. Returns whether any node
/// was found below it.
fn walk(
    store: &dyn Store,
    path: &str,
    depth: usize,
    docs: &mut BTreeMap<String, std::result::Result<Value, String>>,
) -> Result<bool> {
    if depth >= MAX_DEPTH {
        return Ok(false);
    }
    let prefix = if path.is_empty() {
        String::new()
    } else {
        format!("{path}/")
    };
    let (_, dirs) = store.list_dir(&prefix).map_err(store_err(&prefix))?;
    let mut found = false;
    for d in dirs {
        let child = d.trim_end_matches('/');
        if child.is_empty() || child == path {
            continue;
        }
        let key = join(child, ZARR_JSON);
        match get_json(store, &key) {
            Ok(Some(doc)) => {
                found = true;
                let group = doc.get("node_type").and_then(Value::as_str) == Some("group");
                docs.insert(child.to_string(), Ok(doc));
                if group {
                    walk(store, child, depth + 1, docs)?;
                }
            }
            // no zarr.json: an implicit group when something is below it
            Ok(None) => found |= walk(store, child, depth + 1, docs)?,
            Err(Error::Metadata { source, .. }) => {
                found = true;
                docs.insert(child.to_string(), Err(format!("{key}: {source}")));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(found)
}

/// The paths of the nodes that have a `zarr.json` (`""` the root, when it has one), found by
/// walking the store whatever consolidated metadata says (`nd verify` compares the two). Needs
/// a store that can list.
///
/// # Errors
/// Listing or reading fails.
pub fn walk_node_paths(store: &dyn Store) -> Result<Vec<String>> {
    let mut docs = BTreeMap::new();
    if get_json(store, ZARR_JSON)?.is_some() {
        docs.insert(String::new(), Ok(Value::Null));
    }
    walk(store, "", 0, &mut docs)?;
    Ok(docs.into_keys().collect())
}
