//! Hierarchies of groups and arrays: opened from consolidated metadata (`.zmetadata`, or
//! zarr-python 3's `consolidated_metadata` in the root `zarr.json`: one get) or by walking the
//! store; groups created; metadata consolidated (v2).
//!
//! [`Hierarchy::open`] tells the versions apart by the root: a `zarr.json` is Zarr v3, else v2.

use crate::array::ZarrArray;
use crate::error::{meta_err, store_err, Error, Result};
use crate::node::{ensure_ancestors, get_json, group_doc, join, norm_path, set_json};
use crate::object::{is_object_dtype, ObjectArray, ObjectMetadata, ObjectMetadataV2};
use crate::v3::{ArrayMetadataV3, ObjectMetadataV3, ZarrArrayV3, ZARR_JSON};
use nd_codecs::zarr_v2::{parse_json_lenient, ArrayMetadataV2, MetadataError};
use nd_core::{ArrayRead, DirStore, Store};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// The key of consolidated metadata at the root of a store.
pub const ZMETADATA: &str = ".zmetadata";

/// How deep a walk descends into nested groups before giving up.
const MAX_DEPTH: usize = 64;

/// Whether a node is a group or an array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// A group (`.zgroup`).
    Group,
    /// An array (`.zarray`).
    Array,
}

/// One group or array of a hierarchy.
#[derive(Debug, Clone)]
pub struct Node {
    /// Path in the store, `""` for the root.
    pub path: String,
    /// Group or array.
    pub kind: NodeKind,
    /// The attributes (`.zattrs`), empty when absent.
    pub attributes: Map<String, Value>,
    /// The array metadata (Zarr v2 arrays only).
    pub metadata: Option<ArrayMetadataV2>,
    /// 2 or 3.
    pub zarr_format: u8,
    /// The array metadata (Zarr v3 arrays that nd can read).
    pub metadata_v3: Option<ArrayMetadataV3>,
    /// Why the array cannot be read (a data type or codec nd does not implement, invalid
    /// metadata; Zarr v2 and v3); the rest of the hierarchy reads.
    pub error: Option<String>,
    /// A Zarr v3 implicit group: a prefix with no `zarr.json` that holds nodes.
    pub implicit: bool,
    /// The metadata of an array of variable-length strings or bytes nd reads as numpy `U`/`S`
    /// ([`crate::object`]): a Zarr v2 object (`|O`) array, or a Zarr v3 array of data type
    /// `string` or `bytes`; `metadata` and `metadata_v3` are `None` for it.
    pub object: Option<ObjectMetadata>,
}

impl Node {
    fn new(path: String, kind: NodeKind, zarr_format: u8) -> Node {
        Node {
            path,
            kind,
            attributes: Map::new(),
            metadata: None,
            zarr_format,
            metadata_v3: None,
            error: None,
            implicit: false,
            object: None,
        }
    }
}

/// All the groups and arrays of a store.
#[derive(Debug)]
pub struct Hierarchy {
    store: Arc<dyn Store>,
    nodes: BTreeMap<String, Node>,
    /// Every metadata document found (`.zgroup`, `.zarray`, `.zattrs` keys; `zarr.json` keys for
    /// v3), as parsed JSON.
    docs: BTreeMap<String, Value>,
    /// Zarr v2 `.zarray` keys whose document is not JSON, with the reason (listed as unreadable
    /// arrays, left out of consolidated metadata).
    broken: BTreeMap<String, String>,
    consolidated: bool,
    zarr_format: u8,
}

fn as_object(key: &str, v: Value) -> Result<Map<String, Value>> {
    match v {
        Value::Object(m) => Ok(m),
        _ => Err(Error::Metadata {
            key: key.to_string(),
            source: MetadataError::Json("not a JSON object".into()),
        }),
    }
}

fn check_group(key: &str, v: &Value) -> Result<()> {
    match v.get("zarr_format").and_then(Value::as_u64) {
        Some(2) => Ok(()),
        _ => Err(Error::Metadata {
            key: key.to_string(),
            source: MetadataError::Invalid {
                field: "zarr_format",
                reason: format!("unsupported group metadata {v}"),
            },
        }),
    }
}

impl Hierarchy {
    /// Open a store: Zarr v2 from `.zmetadata` when present (one get); else a root `zarr.json`
    /// makes it Zarr v3 (from its `consolidated_metadata` when present, else by walking the
    /// store); else Zarr v2 by walking it. (Two gets for v3: the `.zmetadata` miss and `zarr.json`.)
    ///
    /// # Errors
    /// Store errors, an invalid root document, nothing at the root. An array nd cannot read
    /// (v2 or v3: its metadata, data type or codecs) is not an error here: it is listed with
    /// [`Node::error`], and the other arrays read.
    pub fn open(store: Arc<dyn Store>) -> Result<Hierarchy> {
        // `.zmetadata` first: a consolidated v2 store still opens with one get
        if let Some(b) = store.get(ZMETADATA).map_err(store_err(ZMETADATA))? {
            return Self::from_consolidated(store, &b);
        }
        match get_json(store.as_ref(), ZARR_JSON)? {
            Some(root) => Self::open_v3(store, root),
            None => Self::open_walk(store),
        }
    }

    /// Open a Zarr v3 hierarchy whose root document is `root`.
    fn open_v3(store: Arc<dyn Store>, root: Value) -> Result<Hierarchy> {
        let found = crate::v3::walk::collect(store.as_ref(), root)?;
        let mut h = Hierarchy {
            store,
            nodes: BTreeMap::new(),
            docs: BTreeMap::new(),
            broken: BTreeMap::new(),
            consolidated: found.consolidated,
            zarr_format: 3,
        };
        for (path, doc) in found.docs {
            let key = join(&path, ZARR_JSON);
            let node = match doc {
                Ok(doc) => {
                    let n = h.node_v3(&path, &key, &doc);
                    h.docs.insert(key.clone(), doc);
                    n
                }
                Err(reason) => {
                    let mut n = Node::new(path.clone(), NodeKind::Array, 3);
                    n.error = Some(reason);
                    n
                }
            };
            if path.is_empty() && node.error.is_some() {
                // a root nd cannot read is the whole hierarchy's problem
                let doc = h.docs.get(&key).cloned().unwrap_or(Value::Null);
                if let Err(source) = crate::v3::node_type(&doc) {
                    return Err(Error::MetadataV3 { key, source });
                }
            }
            h.nodes.insert(path, node);
        }
        // implicit groups: every missing ancestor of a node
        let paths: Vec<String> = h.nodes.keys().cloned().collect();
        for p in paths {
            let mut anc = p.as_str();
            while let Some((parent, _)) = anc.rsplit_once('/') {
                h.nodes.entry(parent.to_string()).or_insert_with(|| {
                    let mut n = Node::new(parent.to_string(), NodeKind::Group, 3);
                    n.implicit = true;
                    n
                });
                anc = parent;
            }
        }
        Ok(h)
    }

    /// The node a v3 document describes; problems go to [`Node::error`].
    fn node_v3(&self, path: &str, key: &str, doc: &Value) -> Node {
        let kind = match doc.get("node_type").and_then(Value::as_str) {
            Some("group") => NodeKind::Group,
            _ => NodeKind::Array,
        };
        let mut n = Node::new(path.to_string(), kind, 3);
        n.attributes = crate::v3::attributes_of(doc).unwrap_or_default();
        let vlen = doc
            .get("data_type")
            .and_then(crate::v3::vlen_codec_of)
            .is_some();
        let checked = match kind {
            NodeKind::Group => crate::v3::check_group(doc),
            // a variable-length type: read as fixed-width strings (crate::object)
            NodeKind::Array if vlen => ObjectMetadataV3::from_json(doc).map(|m| {
                n.object = Some(ObjectMetadata::V3(m));
            }),
            NodeKind::Array => ArrayMetadataV3::from_json(doc).map(|m| {
                n.metadata_v3 = Some(m);
            }),
        };
        if let Err(e) = checked {
            n.error = Some(format!("{key}: {e}"));
        } else if let Some(m) = &n.metadata_v3 {
            // the codec chain too: an unsupported codec is the array's problem only
            if let Err(e) = ZarrArrayV3::from_metadata(self.store.clone(), path, m.clone()) {
                n.error = Some(e.to_string());
                n.metadata_v3 = None;
            }
        }
        n
    }

    /// [`Hierarchy::open`], then refuse an array whose decoded chunk (a shard for a sharded v3
    /// array: the unit a read decodes) is over `limits.chunk_bytes`.
    ///
    /// # Errors
    /// As [`Hierarchy::open`]; [`Error::Core`] with `nd_core::Error::LimitExceeded` naming the
    /// array's metadata key.
    pub fn open_with(store: Arc<dyn Store>, limits: &nd_core::Limits) -> Result<Hierarchy> {
        let h = Self::open(store)?;
        h.check_limits(limits)?;
        Ok(h)
    }

    /// [`Hierarchy::open_path`] with [`Hierarchy::open_with`]'s limits.
    ///
    /// # Errors
    /// As [`Hierarchy::open_with`].
    pub fn open_path_with(path: impl AsRef<Path>, limits: &nd_core::Limits) -> Result<Hierarchy> {
        let h = Self::open_path(path)?;
        h.check_limits(limits)?;
        Ok(h)
    }

    /// Check every array's decoded chunk size against `limits.chunk_bytes`.
    fn check_limits(&self, limits: &nd_core::Limits) -> Result<()> {
        for n in self.nodes() {
            let (chunks, elem, key) = match (&n.metadata, &n.metadata_v3) {
                (Some(m), _) => (&m.chunks, m.dtype.size(), ".zarray"),
                (None, Some(m)) => (&m.chunk_shape, m.data_type.size(), "zarr.json"),
                _ => continue,
            };
            let bytes = chunks
                .iter()
                .try_fold(elem as u64, |a, &d| a.checked_mul(d))
                .unwrap_or(u64::MAX);
            nd_core::Limits::check("chunk_bytes", bytes, limits.chunk_bytes, || {
                format!(
                    "{}: chunks {chunks_s}",
                    join(&n.path, key),
                    chunks_s = nd_core::fmt_shape(chunks.iter())
                )
            })?;
        }
        Ok(())
    }

    /// Open a local directory store (read-only).
    pub fn open_path(path: impl AsRef<Path>) -> Result<Hierarchy> {
        let p = path.as_ref();
        let store = DirStore::open_read_only(p).map_err(store_err(&p.display().to_string()))?;
        Self::open(Arc::new(store))
    }

    /// Open from consolidated metadata bytes (the value of `.zmetadata`).
    pub fn from_consolidated(store: Arc<dyn Store>, bytes: &[u8]) -> Result<Hierarchy> {
        let v = parse_json_lenient(bytes).map_err(meta_err(ZMETADATA))?;
        let bad = |reason: &str| Error::Metadata {
            key: ZMETADATA.into(),
            source: MetadataError::Invalid {
                field: "metadata",
                reason: reason.to_string(),
            },
        };
        match v.get("zarr_consolidated_format").and_then(Value::as_u64) {
            Some(1) => {}
            _ => return Err(bad("zarr_consolidated_format is not 1")),
        }
        let docs = v
            .get("metadata")
            .and_then(Value::as_object)
            .ok_or_else(|| bad("no \"metadata\" object"))?;
        let mut h = Hierarchy {
            store,
            nodes: BTreeMap::new(),
            docs: BTreeMap::new(),
            broken: BTreeMap::new(),
            consolidated: true,
            zarr_format: 2,
        };
        for (key, doc) in docs {
            nd_core::validate_key(key).map_err(store_err(key))?;
            h.docs.insert(key.clone(), doc.clone());
        }
        h.build_nodes()?;
        if h.nodes.is_empty() {
            return Err(bad("no group or array"));
        }
        Ok(h)
    }

    /// Open by walking the store from the root (ignores `.zmetadata`).
    pub fn open_walk(store: Arc<dyn Store>) -> Result<Hierarchy> {
        let mut h = Hierarchy {
            store,
            nodes: BTreeMap::new(),
            docs: BTreeMap::new(),
            broken: BTreeMap::new(),
            consolidated: false,
            zarr_format: 2,
        };
        h.walk("", 0)?;
        if h.docs.is_empty() && h.broken.is_empty() {
            return Err(Error::NotFound {
                what: "array or group",
                path: String::new(),
            });
        }
        h.build_nodes()?;
        Ok(h)
    }

    fn walk(&mut self, path: &str, depth: usize) -> Result<()> {
        let store = self.store.clone();
        let mut found_group = false;
        for name in [".zarray", ".zgroup", ".zattrs"] {
            let key = join(path, name);
            let doc = match get_json(store.as_ref(), &key) {
                Ok(d) => d,
                // a `.zarray` that is not JSON is that array's problem, not its siblings'
                Err(e @ Error::Metadata { .. }) if name == ".zarray" => {
                    self.broken.insert(key, e.to_string());
                    return Ok(());
                }
                Err(e) => return Err(e),
            };
            if let Some(v) = doc {
                if name == ".zarray" {
                    // an array: its attributes, nothing below
                    self.docs.insert(key, v);
                    let akey = join(path, ".zattrs");
                    if let Some(a) = get_json(store.as_ref(), &akey)? {
                        self.docs.insert(akey, a);
                    }
                    return Ok(());
                }
                if name == ".zgroup" {
                    found_group = true;
                }
                if name == ".zattrs" && !found_group {
                    return Ok(());
                }
                self.docs.insert(key, v);
            }
        }
        if !found_group || depth >= MAX_DEPTH {
            return Ok(());
        }
        let prefix = if path.is_empty() {
            String::new()
        } else {
            format!("{path}/")
        };
        let (_, dirs) = store.list_dir(&prefix).map_err(store_err(&prefix))?;
        for d in dirs {
            let child = d.trim_end_matches('/');
            if child.is_empty() || child == path {
                continue;
            }
            self.walk(child, depth + 1)?;
        }
        Ok(())
    }

    fn build_nodes(&mut self) -> Result<()> {
        let mut nodes = BTreeMap::new();
        for (key, doc) in &self.docs {
            let (path, name) = match key.rsplit_once('/') {
                Some((p, n)) => (p.to_string(), n),
                None => (String::new(), key.as_str()),
            };
            match name {
                ".zarray" => {
                    // an array nd cannot read (invalid metadata, a dtype or codec nd does not
                    // implement) is listed with the reason; its siblings read
                    let mut n = Node::new(path.clone(), NodeKind::Array, 2);
                    if is_object_dtype(doc) {
                        match ObjectMetadataV2::from_json(key, doc) {
                            Ok(m) => n.object = Some(ObjectMetadata::V2(m)),
                            Err(e) => n.error = Some(e.to_string()),
                        }
                        nodes.insert(path, n);
                        continue;
                    }
                    match ArrayMetadataV2::from_json(doc) {
                        Ok(meta) => {
                            if let Err(e) = meta.pipeline() {
                                n.error = Some(format!("{key}: {e}"));
                            }
                            n.metadata = Some(meta);
                        }
                        Err(e) => n.error = Some(format!("{key}: {e}")),
                    }
                    nodes.insert(path, n);
                }
                ".zgroup" => {
                    check_group(key, doc)?;
                    nodes
                        .entry(path.clone())
                        .or_insert_with(|| Node::new(path, NodeKind::Group, 2));
                }
                _ => {}
            }
        }
        for (key, reason) in &self.broken {
            let path = key
                .strip_suffix(".zarray")
                .unwrap_or(key)
                .trim_end_matches('/');
            let mut n = Node::new(path.to_string(), NodeKind::Array, 2);
            n.error = Some(reason.clone());
            nodes.insert(path.to_string(), n);
        }
        for (key, doc) in &self.docs {
            if let Some(path) = key.strip_suffix(".zattrs") {
                let path = path.trim_end_matches('/');
                if let Some(n) = nodes.get_mut(path) {
                    n.attributes = as_object(key, doc.clone())?;
                }
            }
        }
        self.nodes = nodes;
        Ok(())
    }

    /// True when the hierarchy was read from consolidated metadata (`.zmetadata`, or v3
    /// `consolidated_metadata`).
    pub fn is_consolidated(&self) -> bool {
        self.consolidated
    }

    /// 2 or 3.
    pub fn zarr_format(&self) -> u8 {
        self.zarr_format
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Every node, sorted by path.
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.nodes.values()
    }

    /// The node at `path`.
    pub fn node(&self, path: &str) -> Option<&Node> {
        self.nodes.get(&norm_path(path))
    }

    /// Paths of every group, sorted.
    pub fn groups(&self) -> Vec<&str> {
        self.paths(NodeKind::Group)
    }

    /// Paths of every array, sorted.
    pub fn arrays(&self) -> Vec<&str> {
        self.paths(NodeKind::Array)
    }

    fn paths(&self, kind: NodeKind) -> Vec<&str> {
        self.nodes
            .values()
            .filter(|n| n.kind == kind)
            .map(|n| n.path.as_str())
            .collect()
    }

    /// The Zarr v2 array at `path`, using the metadata already read (no further get).
    ///
    /// # Errors
    /// No v2 array there (a v3 array: use [`Hierarchy::array_v3`] or [`Hierarchy::open_array`]).
    pub fn array(&self, path: &str) -> Result<ZarrArray> {
        let path = norm_path(path);
        match self.nodes.get(&path) {
            Some(n) if n.zarr_format == 3 && n.kind == NodeKind::Array => {
                Err(Error::Core(nd_core::Error::Unsupported(format!(
                    "'{path}' is a Zarr v3 array: open it with Hierarchy::array_v3 or open_array"
                ))))
            }
            Some(Node {
                metadata: Some(m),
                attributes,
                ..
            }) => ZarrArray::from_parts(self.store.clone(), &path, m.clone(), attributes.clone()),
            // an array nd cannot read: open it from the store for the typed error
            Some(n) if n.kind == NodeKind::Array => ZarrArray::open(self.store.clone(), &path),
            _ => Err(Error::NotFound {
                what: "array",
                path,
            }),
        }
    }

    /// The Zarr v3 array at `path`, using the metadata already read (no further get).
    ///
    /// # Errors
    /// No v3 array there, or one nd cannot read (the error says why: data type, codec, metadata).
    pub fn array_v3(&self, path: &str) -> Result<ZarrArrayV3> {
        let path = norm_path(path);
        match self.nodes.get(&path) {
            Some(Node {
                metadata_v3: Some(m),
                ..
            }) => ZarrArrayV3::from_metadata(self.store.clone(), &path, m.clone()),
            Some(n) if n.zarr_format == 3 && n.kind == NodeKind::Array => {
                // re-derive the typed error from the document
                let key = join(&path, ZARR_JSON);
                let doc = self.docs.get(&key).cloned().unwrap_or(Value::Null);
                let meta = ArrayMetadataV3::from_json(&doc)
                    .map_err(|source| Error::MetadataV3 { key, source })?;
                ZarrArrayV3::from_metadata(self.store.clone(), &path, meta)
            }
            _ => Err(Error::NotFound {
                what: "array",
                path,
            }),
        }
    }

    /// The array at `path`, v2 or v3, as an [`ArrayRead`] (no further get, except for an array
    /// of variable-length strings or bytes, v2 `|O` or v3 `string`/`bytes`, whose chunks are all
    /// decoded once to find its string width).
    ///
    /// # Errors
    /// As [`Hierarchy::array`] and [`Hierarchy::array_v3`].
    pub fn open_array(&self, path: &str) -> Result<Box<dyn ArrayRead>> {
        if let Some(Node {
            object: Some(m),
            attributes,
            ..
        }) = self.nodes.get(&norm_path(path))
        {
            // an object array: every chunk is decoded once here, to find the string width
            return Ok(Box::new(ObjectArray::from_metadata(
                self.store.clone(),
                &norm_path(path),
                m.clone(),
                attributes.clone(),
            )?));
        }
        if self.zarr_format == 3 {
            Ok(Box::new(self.array_v3(path)?))
        } else {
            Ok(Box::new(self.array(path)?))
        }
    }

    /// The consolidated metadata document of this hierarchy (what `.zmetadata` holds).
    pub fn consolidated_json(&self) -> Value {
        let mut m = Map::new();
        for (k, v) in &self.docs {
            m.insert(k.clone(), v.clone());
        }
        let mut top = Map::new();
        top.insert("metadata".into(), Value::Object(m));
        top.insert("zarr_consolidated_format".into(), Value::from(1));
        Value::Object(top)
    }
}

/// Walk the store and write `.zmetadata` (strict JSON; bare NaN attributes become `"NaN"`).
/// Returns the hierarchy that was consolidated.
pub fn write_consolidated(store: Arc<dyn Store>) -> Result<Hierarchy> {
    let h = Hierarchy::open_walk(store)?;
    set_json(h.store.as_ref(), ZMETADATA, &h.consolidated_json())?;
    Ok(h)
}

/// Create a group at `path` (and its ancestors), with attributes when given. An existing group
/// keeps its children; an array in the way is an error.
pub fn create_group(
    store: &dyn Store,
    path: &str,
    attributes: Option<&Map<String, Value>>,
) -> Result<()> {
    let path = norm_path(path);
    nd_core::validate_key(&join(&path, ".zgroup")).map_err(store_err(&path))?;
    ensure_ancestors(store, &path)?;
    let akey = join(&path, ".zarray");
    if store.get(&akey).map_err(store_err(&akey))?.is_some() {
        return Err(Error::Conflict {
            path,
            reason: "an array is there".into(),
        });
    }
    let gkey = join(&path, ".zgroup");
    if store.get(&gkey).map_err(store_err(&gkey))?.is_none() {
        set_json(store, &gkey, &group_doc())?;
    }
    if let Some(a) = attributes {
        set_json(store, &join(&path, ".zattrs"), &Value::Object(a.clone()))?;
    }
    Ok(())
}
