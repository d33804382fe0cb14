//! ASDF in the `nd` command.

use crate::backend::{
    table_from_meta, typestr, ArrayEntry, ArrayKind, Backend, ConvertItem, ConvertPlan, Finding,
    Severity,
};
use crate::error::{Error, Result};
use nd_asdf::{AsdfArray, AsdfFile, ChecksumMatch, IndexStatus, Node, StorageKind, Value};
use nd_core::ArrayRead;
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::sync::Arc;

/// An opened ASDF file (tree and block list read; no block data).
pub struct AsdfDataset {
    path: String,
    file: AsdfFile,
    /// The arrays the last listing ([`Backend::arrays`]) opened, by the path that opens them:
    /// opening a listed array (a loop over the listing) hands it over, without a second parse
    /// of its tree node; it leaves the set then (the dataset keeps no copy: an array opened
    /// again is opened from the tree, as any array not listed).
    listed: std::sync::Mutex<HashSet<Listed>>,
}

/// A listed array, found by its own path (no second copy of the path as a key), shared as the
/// [`crate::Array`] that opens it will hold it.
struct Listed(Arc<AsdfArray>);

impl PartialEq for Listed {
    fn eq(&self, other: &Self) -> bool {
        self.0.path() == other.0.path()
    }
}

impl Eq for Listed {}

impl std::hash::Hash for Listed {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.0.path().hash(h);
    }
}

impl std::borrow::Borrow<str> for Listed {
    fn borrow(&self) -> &str {
        self.0.path()
    }
}

/// What a selector opens: the mask reader of a masked array, a listed array, or an array
/// opened from the tree. Handed straight to the caller, who boxes or shares it: a boxed
/// `Array` would cost an allocation more for each array not listed.
#[allow(clippy::large_enum_variant)]
enum Opened {
    Mask(Box<dyn ArrayRead>),
    Listed(Arc<AsdfArray>),
    Array(AsdfArray),
}

impl AsdfDataset {
    /// Open, within `limits`.
    pub fn open(path: &str, limits: &nd_core::Limits) -> Result<Self> {
        let file =
            AsdfFile::open_with(path, *limits).map_err(|e| Error::input(format!("{path}: {e}")))?;
        Ok(AsdfDataset {
            path: path.to_string(),
            file,
            listed: std::sync::Mutex::default(),
        })
    }

    /// Open from any byte source (a URL), within `limits`.
    pub fn from_source(
        name: &str,
        src: std::sync::Arc<dyn nd_core::ByteSource>,
        limits: &nd_core::Limits,
    ) -> Result<Self> {
        let file = AsdfFile::from_source_with(src, *limits)
            .map_err(|e| Error::input(format!("{name}: {e}")))?;
        Ok(AsdfDataset {
            path: name.to_string(),
            file,
            listed: std::sync::Mutex::default(),
        })
    }

    fn err(&self, e: impl std::fmt::Display) -> Error {
        Error::input(format!("{}: {e}", self.path))
    }
}

fn storage_text(s: &StorageKind) -> String {
    match s {
        StorageKind::Block(usize::MAX) => "block ?".into(),
        StorageKind::Block(b) => format!("block {b}"),
        StorageKind::External(u) => format!("external {u}"),
        StorageKind::Inline => "inline".into(),
        StorageKind::Zarr => "zarr chunks".into(),
    }
}

fn short_tag(t: &str) -> &str {
    t.strip_prefix("tag:stsci.edu:asdf/").unwrap_or(t)
}

fn scalar_text(v: &Value) -> Option<String> {
    Some(match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Str(s) => {
            let s = s.replace('\n', "\\n");
            if s.chars().count() > 60 {
                format!("{:?}…", s.chars().take(60).collect::<String>())
            } else {
                format!("{s:?}")
            }
        }
        _ => return None,
    })
}

struct Printer<'a> {
    arrays: HashMap<String, String>,
    w: &'a mut dyn Write,
}

impl AsdfDataset {
    /// The array (or mask) `selector` names: a listed array is handed over (it leaves the
    /// listing), any other is opened from the tree.
    fn open_selected(&self, selector: &str) -> Result<Opened> {
        let p = selector.trim().trim_matches('/');
        // `PATH/mask`: the mask of a masked array, whatever its form in the tree
        if let Some(parent) = p.strip_suffix("/mask") {
            if let Some(m) = self.mask(parent)? {
                return Ok(Opened::Mask(m));
            }
        }
        let listed = self
            .listed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take(p);
        if let Some(Listed(a)) = listed {
            return Ok(Opened::Listed(a));
        }
        Ok(Opened::Array(self.file.array(p).map_err(|e| self.err(e))?))
    }

    /// The metadata `nd convert` keeps for the array at `path` (`meta/arrays/<path>` of the
    /// tree: a Zarr source's attributes), or none.
    fn array_meta(&self, path: &str) -> serde_json::Map<String, serde_json::Value> {
        let node = self
            .file
            .tree()
            .get_path(&format!("meta/arrays/{}", path.trim_matches('/')));
        match node.map(|n| n.to_json()) {
            Some(serde_json::Value::Object(m)) => m,
            _ => serde_json::Map::new(),
        }
    }
}

impl Printer<'_> {
    fn node(&mut self, path: &str, label: &str, n: &Node, depth: usize) -> std::io::Result<()> {
        let indent = "  ".repeat(depth);
        let tag = n
            .tag
            .as_deref()
            .map(|t| format!(" !{}", short_tag(t)))
            .unwrap_or_default();
        if let Some(desc) = self.arrays.get(path) {
            return writeln!(self.w, "{indent}{label}{tag}: {desc}");
        }
        if let Some(s) = scalar_text(&n.value) {
            return writeln!(self.w, "{indent}{label}{tag}: {s}");
        }
        if depth > 12 {
            return writeln!(self.w, "{indent}{label}{tag}: …");
        }
        match &n.value {
            Value::Seq(items) => {
                writeln!(
                    self.w,
                    "{indent}{label}{tag}: [{}]",
                    super::count(items.len(), "item")
                )?;
                for (i, it) in items.iter().enumerate().take(20) {
                    self.node(
                        &join(path, &i.to_string()),
                        &format!("- {i}"),
                        it,
                        depth + 1,
                    )?;
                }
                if items.len() > 20 {
                    writeln!(self.w, "{indent}  … {} more", items.len() - 20)?;
                }
            }
            Value::Map(entries) => {
                writeln!(self.w, "{indent}{label}{tag}:")?;
                for (k, v) in entries.iter().take(200) {
                    let key = k.key_string().unwrap_or_else(|| "?".into());
                    self.node(&join(path, &key), &key, v, depth + 1)?;
                }
                if entries.len() > 200 {
                    writeln!(self.w, "{indent}  … {} more keys", entries.len() - 200)?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

fn join(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_string()
    } else {
        format!("{a}/{b}")
    }
}

impl Backend for AsdfDataset {
    fn format(&self) -> &'static str {
        "asdf"
    }

    // `Listed` hashes and compares its array's path alone, which never changes (the array's
    // interior mutability is its block cache)
    #[allow(clippy::mutable_key_type)]
    fn arrays(&self) -> Result<Vec<ArrayEntry>> {
        // about one array per block: sized once for the usual file (a block needs its header in
        // the file, so the count is one the file justifies; capped, as a file of many blocks
        // may hold few arrays)
        let blocks = self.file.blocks().len().min(1 << 16);
        let mut out = Vec::with_capacity(blocks);
        let mut kept = Vec::with_capacity(blocks);
        self.file.open_arrays_with(|a| {
            // an array that cannot be opened is left out and named in `warnings` (python asdf
            // opens the file and leaves that node unconverted, with a warning)
            let Ok(arr) = a.array else {
                return;
            };
            // the listing's shape is the array's (moved, not copied) unless they differ (a
            // streamed external array: only the array resolved its first axis)
            let shape = match a.info.shape {
                Some(s) if s == arr.shape() => s,
                _ => arr.shape().to_vec(),
            };
            out.push(ArrayEntry {
                path: a.path,
                shape,
                dtype: typestr(arr.dtype()),
                chunks: if a.info.storage == StorageKind::Zarr {
                    Some(arr.chunk_shape())
                } else {
                    None
                },
                codec: a.info.compression,
                kind: ArrayKind::Array,
            });
            if a.by_path {
                kept.push(Arc::new(arr));
            }
        });
        // sized once (no rehash while it fills); the first array of a path keeps it (`insert`
        // leaves an equal element in place)
        let mut listed = HashSet::with_capacity(kept.len());
        for a in kept {
            listed.insert(Listed(a));
        }
        // the tree does not change: the arrays of this listing replace those of an earlier one
        *self.listed.lock().unwrap_or_else(|e| e.into_inner()) = listed;
        Ok(out)
    }

    fn open_array(&self, selector: &str) -> Result<Box<dyn ArrayRead>> {
        Ok(match self.open_selected(selector)? {
            Opened::Mask(m) => m,
            // the listing handed over its only holder: no copy
            Opened::Listed(a) => Box::new(Arc::try_unwrap(a).unwrap_or_else(|a| (*a).clone())),
            Opened::Array(a) => Box::new(a),
        })
    }

    fn open_array_shared(&self, selector: &str) -> Result<Arc<dyn ArrayRead>> {
        Ok(match self.open_selected(selector)? {
            Opened::Mask(m) => Arc::from(m),
            Opened::Listed(a) => a,
            Opened::Array(a) => Arc::new(a),
        })
    }

    fn mask(&self, selector: &str) -> Result<Option<Box<dyn ArrayRead>>> {
        let p = selector.trim().trim_matches('/');
        let Ok(a) = self.file.array(p) else {
            return Ok(None);
        };
        Ok(super::asdf_mask::MaskRead::of(a).map(|m| Box::new(m) as Box<dyn ArrayRead>))
    }

    fn metadata(&self) -> Result<serde_json::Value> {
        Ok(super::json_object([(
            "tree",
            self.file.tree().to_json_tagged(),
        )]))
    }

    fn native(&self) -> crate::Native<'_> {
        crate::Native::Asdf(&self.file)
    }

    fn info_human(&self, w: &mut dyn Write) -> std::io::Result<()> {
        let l = self.file.layout();
        writeln!(
            w,
            "ASDF file: {} ({}, index: {})",
            self.path,
            super::count(self.file.blocks().len(), "block"),
            index_words(&l.index)
        )?;
        let arrays = self
            .file
            .arrays()
            .into_iter()
            .map(|(p, i)| {
                let shape = i
                    .shape
                    .map(|s| format!("{s:?}"))
                    .unwrap_or_else(|| "?".into());
                let comp = i.compression.map(|c| format!(", {c}")).unwrap_or_default();
                (
                    p,
                    format!(
                        "array {shape} {} ({}{comp})",
                        typestr(&i.dtype.to_native()),
                        storage_text(&i.storage)
                    ),
                )
            })
            .collect();
        let mut arrays: HashMap<String, String> = arrays;
        for (path, e) in self.file.unreadable_arrays() {
            arrays.insert(path, format!("unreadable: {e}"));
        }
        if !arrays.is_empty() {
            writeln!(w, "Arrays:")?;
            let mut listed: Vec<_> = arrays.iter().collect();
            listed.sort();
            for (path, desc) in listed {
                writeln!(w, "  {path}: {desc}")?;
            }
            writeln!(w, "Tree:")?;
        }
        let mut p = Printer { arrays, w };
        match &self.file.tree().value {
            Value::Map(entries) => {
                for (k, v) in entries {
                    let key = k.key_string().unwrap_or_else(|| "?".into());
                    p.node(&key, &key, v, 0)?;
                }
                Ok(())
            }
            _ => p.node("", "(root)", self.file.tree(), 0),
        }
    }

    fn warnings(&self, _so_far: bool) -> Vec<String> {
        let mut w = self.file.warnings().to_vec();
        for (path, _) in self.file.arrays() {
            match self.file.array(&path) {
                Err(e) => w.push(format!("array '{path}': {e} (its data is not listed)")),
                Ok(a) => {
                    if let Some(why) = a.unreadable_mask() {
                        w.push(format!(
                            "array '{path}': its mask cannot be read ({why}); read unmasked, as \
                             python asdf does"
                        ));
                    }
                }
            }
        }
        for (_, e) in self.file.unreadable_arrays() {
            w.push(format!(
                "{e} (not an array; python asdf leaves the node unconverted)"
            ));
        }
        w
    }

    fn info_json_extra(&self, obj: &mut serde_json::Map<String, serde_json::Value>) -> Result<()> {
        // ndarray nodes nd cannot read, each with the reason (as for Zarr)
        let unreadable: Vec<serde_json::Value> = self
            .file
            .unreadable_arrays()
            .into_iter()
            .map(|(path, reason)| serde_json::json!({ "path": path, "reason": reason }))
            .collect();
        obj.insert("unreadable".into(), unreadable.into());
        Ok(())
    }

    fn attributes(&self, selector: &str) -> Result<serde_json::Map<String, serde_json::Value>> {
        let mut attrs = self.array_meta(selector);
        attrs.remove("_ARRAY_DIMENSIONS");
        Ok(attrs)
    }

    fn dimension_names(&self, selector: &str, ndim: usize) -> Result<Vec<String>> {
        Ok(crate::convert::dims::names(
            &self.array_meta(selector),
            ndim,
            false,
        ))
    }

    fn convert_plan(&self) -> Result<ConvertPlan> {
        let mut plan = ConvertPlan::default();
        let tree = self.file.tree();
        let obj = |n: Option<&Node>| match n.map(|n| n.to_json()) {
            Some(serde_json::Value::Object(m)) => m,
            _ => serde_json::Map::new(),
        };
        plan.meta = obj(tree.get_path("meta/file"));
        let arrays = self.file.arrays();
        let paths: Vec<&String> = arrays.iter().map(|(p, _)| p).collect();
        // mappings described in `meta/tables/<name>` as FITS tables: their arrays are columns
        let mut tables: Vec<String> = Vec::new();
        if let Some(Value::Map(entries)) = tree.get_path("meta/tables").map(|n| &n.value) {
            for (k, v) in entries {
                let Some(name) = k.key_string() else { continue };
                let meta = obj(Some(v));
                let prefix = format!("{name}/");
                let children: Vec<String> = paths
                    .iter()
                    .filter_map(|p| p.strip_prefix(&prefix))
                    .filter(|rest| !rest.contains('/'))
                    .map(String::from)
                    .collect();
                if let Some(spec) = table_from_meta(&name, &meta, &children) {
                    plan.items.push(ConvertItem {
                        name: name.clone(),
                        selector: name.clone(),
                        meta,
                        table: Some(spec),
                    });
                    tables.push(prefix);
                }
            }
        }
        for (path, _) in &arrays {
            if tables.iter().any(|t| {
                path.strip_prefix(t.as_str())
                    .is_some_and(|rest| !rest.contains('/'))
            }) {
                continue;
            }
            // a mask goes as its array's sibling `PATH_mask` (below), not as an array of its own
            if path.ends_with("/mask") && paths.contains(&&path[..path.len() - 5].to_string()) {
                continue;
            }
            if path.starts_with("meta/") {
                continue;
            }
            plan.items.push(ConvertItem {
                name: path.clone(),
                selector: path.clone(),
                meta: self.array_meta(path),
                table: None,
            });
            if self.file.array(path).is_ok_and(|a| a.is_masked()) {
                let mut meta = serde_json::Map::new();
                meta.insert("mask_of".into(), path.clone().into());
                plan.items.push(ConvertItem {
                    name: format!("{path}_mask"),
                    selector: format!("{path}/mask"),
                    meta,
                    table: None,
                });
            }
        }
        crate::formats::zarr::order_items(&mut plan);
        Ok(plan)
    }

    fn verify(&self) -> Result<Vec<Finding>> {
        let rep = self.file.verify().map_err(|e| self.err(e))?;
        // An index that does not match the blocks is a warning: the standard makes it optional
        // and readers (python asdf) fall back to scanning; a checksum mismatch or an array that
        // cannot be read is an error (python asdf raises).
        let mut out = vec![match &rep.index {
            IndexStatus::Invalid(why) => Finding::warning(
                "file",
                "block index",
                format!("invalid ({why}); blocks found by scanning"),
            ),
            other => Finding::ok("file", "block index", index_words(other)),
        }];
        for (i, m) in rep.blocks.iter().enumerate() {
            out.push(Finding::new(
                if *m == ChecksumMatch::Mismatch {
                    Severity::Error
                } else {
                    Severity::Ok
                },
                format!("block {i}"),
                "checksum",
                match m {
                    ChecksumMatch::None => "none stored",
                    ChecksumMatch::Stored => "valid (MD5 of stored bytes)",
                    ChecksumMatch::Decoded => "valid (MD5 of decoded bytes, python asdf < 5.3)",
                    ChecksumMatch::Mismatch => "MD5 does not match",
                },
            ));
        }
        // The header: `#ASDF_STANDARD` names the standard the tree follows (python asdf writes it
        // and warns when reading a file without it).
        let layout = self.file.layout();
        match &layout.standard_version {
            Some(v) => out.push(Finding::ok(
                "header",
                "#ASDF_STANDARD",
                format!("#ASDF {}, standard {v}", layout.file_version),
            )),
            None => out.push(Finding::warning(
                "header",
                "#ASDF_STANDARD",
                "no #ASDF_STANDARD comment after the #ASDF line",
            )),
        }
        // What the layout scan met: trailing bytes, an index the reader fell back from.
        let index_invalid = matches!(rep.index, IndexStatus::Invalid(_));
        for w in &rep.warnings {
            // an invalid index is reported once, above
            if !(index_invalid && w.starts_with("block index")) {
                out.push(Finding::warning("file", "layout", w.clone()));
            }
        }
        // Every block decodes to its stated size (the block reader checks the size).
        let blocks = self.file.blocks();
        for i in 0..blocks.len() {
            if let Err(e) = blocks.data(i) {
                out.push(Finding::error(format!("block {i}"), "data", e.to_string()));
            }
        }
        // The tree against the schemas: every core/ndarray node, and tags python asdf does not
        // resolve (it warns and hands back the raw node)
        for i in nd_asdf::schema::check_tree(self.file.tree()) {
            let place = if i.path.is_empty() {
                "/".to_string()
            } else {
                i.path
            };
            out.push(if i.error {
                Finding::error(place, "schema", i.msg)
            } else {
                Finding::warning(place, "tag", i.msg)
            });
        }
        // Every array must be readable as declared (shape, datatype, byteorder, offset and
        // strides consistent with its block).
        for (path, _) in self.file.arrays() {
            if let Err(e) = self.file.array(&path) {
                out.push(Finding::error(path, "array", e.to_string()));
            }
        }
        Ok(out)
    }
}

/// The state of the block index in words.
fn index_words(s: &IndexStatus) -> String {
    match s {
        IndexStatus::NoBlocks => "no blocks".into(),
        IndexStatus::Used => "valid, matches the blocks".into(),
        IndexStatus::Absent => "absent (blocks found by scanning)".into(),
        IndexStatus::Invalid(why) => format!("invalid ({why})"),
    }
}
