//! [`TreeNode`]: the whole structure of a dataset as one tree, for `nd tree` and `nd info --json`:
//! a FITS file's HDUs and their table columns (TFORM, unit), an ASDF file's tree with its tags
//! (as `asdftool info` draws it), a Zarr hierarchy's groups and arrays with their attributes
//! (as zarr's `tree()` draws it, attributes added).

use crate::dataset::{Dataset, Format};
use crate::error::{Error, Result};
use serde_json::{json, Map, Value};

/// One node of a dataset's structure.
#[derive(Debug, Clone, PartialEq)]
pub struct TreeNode {
    /// Its name: a mapping key, `[i]` for a list item, an HDU's `[N] EXTNAME`, a column's or
    /// a Zarr node's name.
    pub name: String,
    /// The path that selects it (`nd tree --path`, and for arrays `nd export`'s selector).
    pub path: String,
    /// What it is: for ASDF the Python type name asdftool prints (`dict`, `list`, `str`, `int`,
    /// `float`, `bool`, `NoneType`) or the tag's name for a tagged node (`core/ndarray-1.1.0`);
    /// FITS `primary`, `image`, `bintable`, `table`, `compressed_image`, `column`; Zarr
    /// `group`, `array`.
    pub kind: String,
    /// The full tag of a tagged ASDF node.
    pub tag: Option<String>,
    /// A scalar's value.
    pub value: Option<Value>,
    /// A one-line summary (an array's shape and type, a table's size, a column's TFORM).
    pub detail: Option<String>,
    /// Zarr attributes; a FITS column's `tform`, `unit`, `tdim`, `dtype`, `shape`; an HDU's
    /// `shape`, `dtype`, `cards`; an ASDF ndarray's `shape`, `datatype`, `source`.
    pub attributes: Map<String, Value>,
    /// Its children, in file order (ASDF, FITS) or by name (Zarr).
    pub children: Vec<TreeNode>,
}

impl TreeNode {
    fn new(name: impl Into<String>, path: impl Into<String>, kind: impl Into<String>) -> Self {
        TreeNode {
            name: name.into(),
            path: path.into(),
            kind: kind.into(),
            tag: None,
            value: None,
            detail: None,
            attributes: Map::new(),
            children: Vec::new(),
        }
    }

    /// The node at `path` (`/`-separated; list items by index), or None.
    pub fn find(&self, path: &str) -> Option<&TreeNode> {
        let want = path.trim_matches('/');
        if want.is_empty() || self.path.trim_matches('/') == want {
            return Some(self);
        }
        self.children.iter().find_map(|c| {
            let p = c.path.trim_matches('/');
            if p == want || want.starts_with(&format!("{p}/")) {
                c.find(want)
            } else {
                None
            }
        })
    }

    /// The JSON form: `{"name", "path", "kind", "tag"?, "value"?, "detail"?, "attributes"?,
    /// "children"?}`, children to `max_depth` levels below (all when None).
    pub fn to_json(&self, max_depth: Option<usize>) -> Value {
        let mut o = Map::new();
        o.insert("name".into(), self.name.clone().into());
        o.insert("path".into(), self.path.clone().into());
        o.insert("kind".into(), self.kind.clone().into());
        if let Some(t) = &self.tag {
            o.insert("tag".into(), t.clone().into());
        }
        if let Some(v) = &self.value {
            o.insert("value".into(), v.clone());
        }
        if let Some(d) = &self.detail {
            o.insert("detail".into(), d.clone().into());
        }
        if !self.attributes.is_empty() {
            o.insert("attributes".into(), Value::Object(self.attributes.clone()));
        }
        if !self.children.is_empty() {
            if max_depth == Some(0) {
                o.insert("truncated".into(), self.children.len().into());
            } else {
                let d = max_depth.map(|d| d - 1);
                o.insert(
                    "children".into(),
                    self.children
                        .iter()
                        .map(|c| c.to_json(d))
                        .collect::<Vec<_>>()
                        .into(),
                );
            }
        }
        Value::Object(o)
    }

    /// The tree drawn as `asdftool info` draws it (`├─name (kind): value`), to `max_depth`
    /// levels below this node; with `attrs`, Zarr attributes as `@key: value` lines.
    pub fn render(&self, max_depth: Option<usize>, attrs: bool) -> String {
        let mut out = String::new();
        self.line(&mut out, "", "");
        self.render_children(&mut out, "", max_depth, attrs);
        out
    }

    fn line(&self, out: &mut String, lead: &str, glyph: &str) {
        out.push_str(lead);
        out.push_str(glyph);
        out.push_str(&self.name);
        out.push_str(&format!(" ({})", self.kind));
        if let Some(v) = &self.value {
            out.push_str(": ");
            match v {
                Value::String(s) => out.push_str(s),
                other => out.push_str(&other.to_string()),
            }
        } else if let Some(d) = &self.detail {
            out.push_str(": ");
            out.push_str(d);
        }
        out.push('\n');
    }

    fn render_children(&self, out: &mut String, lead: &str, depth: Option<usize>, attrs: bool) {
        let shown_attrs: Vec<(&String, &Value)> =
            if attrs && self.kind != "column" && !self.kind.starts_with("core/") {
                self.attributes
                    .iter()
                    .filter(|_| matches!(self.kind.as_str(), "group" | "array"))
                    .collect()
            } else {
                Vec::new()
            };
        let n = shown_attrs.len() + self.children.len();
        if n > 0 && depth == Some(0) {
            out.push_str(&format!("{lead}└─… ({n} more)\n"));
            return;
        }
        let mut i = 0;
        for (k, v) in shown_attrs {
            i += 1;
            let glyph = if i == n { "└─" } else { "├─" };
            out.push_str(&format!("{lead}{glyph}@{k}: {v}\n"));
        }
        for c in &self.children {
            i += 1;
            let last = i == n;
            c.line(out, lead, if last { "└─" } else { "├─" });
            let next = format!("{lead}{}", if last { "  " } else { "│ " });
            c.render_children(out, &next, depth.map(|d| d - 1), attrs);
        }
    }
}

impl Dataset {
    /// The whole structure as one tree (see [`TreeNode`]). Reads metadata only.
    ///
    /// # Errors
    /// [`Error::Input`] when the structure cannot be read.
    pub fn tree(&self) -> Result<TreeNode> {
        match self.native() {
            crate::Native::Asdf(f) => Ok(asdf_tree(f.tree())),
            _ => match self.format() {
                Format::Fits => self.fits_tree(),
                _ => self.zarr_tree(),
            },
        }
    }

    fn fits_tree(&self) -> Result<TreeNode> {
        let info = self.info_base()?;
        let meta = self.metadata()?;
        let arrays = self.arrays()?;
        let hdus = info["hdus"].as_array().cloned().unwrap_or_default();
        let mut root = TreeNode::new(self.path(), "", "fits");
        root.detail = Some(format!("{} HDUs", hdus.len()));
        for (h, m) in hdus
            .iter()
            .zip(meta["hdus"].as_array().into_iter().flatten())
        {
            let index = h["index"].as_u64().unwrap_or(0);
            let name = h["name"].as_str().unwrap_or("");
            let kind = h["kind"].as_str().unwrap_or("other");
            let label = if name.is_empty() {
                format!("[{index}]")
            } else {
                format!("[{index}] {name}")
            };
            let mut n = TreeNode::new(label, index.to_string(), kind);
            for k in ["shape", "dtype", "cards"] {
                n.attributes.insert(k.into(), h[k].clone());
            }
            let cards: Vec<&Value> = m["cards"].as_array().into_iter().flatten().collect();
            let card = |key: &str| {
                cards
                    .iter()
                    .find(|c| c["keyword"] == key)
                    .map(|c| c["value"].clone())
            };
            let is_table = kind == "bintable" || kind == "table";
            if is_table {
                let fields = card("TFIELDS").and_then(|v| v.as_u64()).unwrap_or(0);
                let rows = h["shape"][0].as_u64().unwrap_or(0);
                n.detail = Some(format!("{rows} rows x {fields} columns"));
                // the standard allows 999 columns; a damaged TFIELDS (2^31) must not loop
                for k in 1..=fields.min(999) {
                    let text = |key: &str| {
                        card(&format!("{key}{k}"))
                            .and_then(|v| v.as_str().map(|s| s.trim().to_string()))
                    };
                    let cname = text("TTYPE")
                        .filter(|s| !s.is_empty())
                        .unwrap_or(format!("col{k}"));
                    let mut c = TreeNode::new(cname.clone(), format!("{index}/{cname}"), "column");
                    let tform = text("TFORM").unwrap_or_default();
                    c.attributes.insert("tform".into(), tform.clone().into());
                    let mut detail = tform;
                    if let Some(u) = text("TUNIT").filter(|u| !u.is_empty()) {
                        detail.push_str(&format!(" [{u}]"));
                        c.attributes.insert("unit".into(), u.into());
                    }
                    if let Some(d) = text("TDIM") {
                        c.attributes.insert("tdim".into(), d.into());
                    }
                    if let Some(a) = arrays.iter().find(|a| a.path == c.path) {
                        c.attributes.insert("dtype".into(), a.dtype.clone().into());
                        c.attributes.insert("shape".into(), a.shape.clone().into());
                        detail.push_str(&format!(
                            " -> {} {}",
                            a.dtype,
                            nd_core::fmt_shape(a.shape.iter())
                        ));
                    }
                    c.detail = Some(detail);
                    n.children.push(c);
                }
            } else {
                let shape: Vec<u64> = h["shape"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_u64)
                    .collect();
                n.detail = Some(if shape.is_empty() {
                    "no data".into()
                } else {
                    format!(
                        "{} {}",
                        nd_core::fmt_shape(shape.iter()),
                        h["dtype"].as_str().unwrap_or("")
                    )
                });
            }
            root.children.push(n);
        }
        Ok(root)
    }

    fn zarr_tree(&self) -> Result<TreeNode> {
        let meta = self.metadata()?;
        let arrays = self.arrays()?;
        let nodes = meta["nodes"]
            .as_object()
            .ok_or_else(|| Error::input(format!("{}: no Zarr hierarchy", self.path())))?;
        // a node per path, attached to its parent (paths sort parents first)
        fn attach(parent: &mut TreeNode, rel: &[&str], node: TreeNode) {
            match rel {
                [] => {}
                [_] => parent.children.push(node),
                [first, rest @ ..] => {
                    if let Some(c) = parent.children.iter_mut().find(|c| c.name == *first) {
                        attach(c, rest, node);
                    } else {
                        parent.children.push(node);
                    }
                }
            }
        }
        let mut root = TreeNode::new("/", "/", "group");
        let mut paths: Vec<&String> = nodes.keys().collect();
        paths.sort_by_key(|p| (p.matches('/').count(), p.as_str()));
        paths.sort();
        for p in paths {
            let n = &nodes[p];
            let clean = p.trim_matches('/');
            let kind = n["kind"].as_str().unwrap_or("group");
            let mut node = TreeNode::new(
                clean.rsplit('/').next().unwrap_or(""),
                if clean.is_empty() {
                    "/".to_string()
                } else {
                    clean.to_string()
                },
                kind,
            );
            if let Some(a) = n["attributes"].as_object() {
                node.attributes = a.clone();
            }
            if kind == "array" {
                let entry = arrays.iter().find(|a| {
                    let ap = a.path.trim_matches('/');
                    ap == clean
                });
                if let Some(a) = entry {
                    let mut d = format!("{} {}", nd_core::fmt_shape(a.shape.iter()), a.dtype);
                    if let Some(c) = &a.chunks {
                        d.push_str(&format!(" chunks {}", nd_core::fmt_shape(c.iter())));
                    }
                    if let Some(c) = &a.codec {
                        d.push_str(&format!(" {c}"));
                    }
                    node.detail = Some(d);
                }
            }
            if clean.is_empty() {
                node.children = std::mem::take(&mut root.children);
                root = node;
                root.name = "/".into();
            } else {
                let parts: Vec<&str> = clean.split('/').collect();
                attach(&mut root, &parts, node);
            }
        }
        Ok(root)
    }
}

/// The tag's short name: `core/ndarray-1.1.0` for the ASDF standard's, the tag itself otherwise.
fn short_tag(tag: &str) -> &str {
    tag.strip_prefix("tag:stsci.edu:asdf/").unwrap_or(tag)
}

/// An ASDF tree node (and its children) as `asdftool info` lists it.
fn asdf_tree(root: &nd_asdf::Node) -> TreeNode {
    fn go(name: String, path: String, n: &nd_asdf::Node) -> TreeNode {
        use nd_asdf::Value as V;
        let kind = match (&n.tag, &n.value) {
            (Some(t), _) => short_tag(t).to_string(),
            (None, V::Null) => "NoneType".into(),
            (None, V::Bool(_)) => "bool".into(),
            (None, V::Int(_)) => "int".into(),
            (None, V::Float(_)) => "float".into(),
            (None, V::Str(_)) => "str".into(),
            (None, V::Seq(_)) => "list".into(),
            (None, V::Map(_)) => "dict".into(),
        };
        let mut t = TreeNode::new(name, path.clone(), kind);
        t.tag = n.tag.as_deref().map(String::from);
        let child_path = |k: &str| {
            if path.is_empty() {
                k.to_string()
            } else {
                format!("{path}/{k}")
            }
        };
        let is_ndarray = n
            .tag
            .as_deref()
            .is_some_and(|t| t.contains("core/ndarray-"));
        match &n.value {
            V::Seq(items) => {
                for (i, c) in items.iter().enumerate() {
                    t.children
                        .push(go(format!("[{i}]"), child_path(&i.to_string()), c));
                }
            }
            V::Map(entries) if is_ndarray => {
                // an array: its description in one line, as nd info gives it
                for (k, v) in entries {
                    let key = k.key_string().unwrap_or_default();
                    if matches!(key.as_str(), "shape" | "datatype" | "source" | "byteorder") {
                        t.attributes.insert(key, v.to_json());
                    }
                }
                let shape = n.get("shape").map(|s| s.to_json()).unwrap_or(Value::Null);
                let dtype = n
                    .get("datatype")
                    .map(|s| s.to_json())
                    .unwrap_or(Value::Null);
                t.detail = Some(format!(
                    "shape {shape} datatype {}",
                    dtype
                        .as_str()
                        .map_or_else(|| dtype.to_string(), str::to_string)
                ));
            }
            V::Map(entries) => {
                for (k, v) in entries {
                    let key = k.key_string().unwrap_or_else(|| k.to_json().to_string());
                    t.children.push(go(key.clone(), child_path(&key), v));
                }
            }
            _ => {
                t.value = Some(n.to_json());
            }
        }
        t
    }
    let mut t = go("root".into(), String::new(), root);
    t.kind = "AsdfObject".into();
    t
}

/// `json!` of a tree for `nd info --json`.
pub(crate) fn tree_json(ds: &Dataset) -> Result<Value> {
    Ok(json!(ds.tree()?.to_json(None)))
}
