//! Opening ASDF files: the tree first, blocks only when an array is touched.

use crate::array::{AsdfArray, MaskSource, Shape};
use crate::blocks::{Blocks, ChecksumMatch};
use crate::error::{Error, Result};
use crate::layout::{parse_layout_and_tree, IndexStatus, Layout};
use crate::ndarray::{
    inline_shape, inline_to_bytes, parse_ndarray, Dim, Mask, NdArrayMeta, Source, NDARRAY_TAG,
};
use crate::storage::{c_strides, check_view_bounds, BlockView, Storage, Strides};
use crate::yaml::{Node, Tag, Value};
use nd_core::{ArrayBuf, ByteSource, DataType, Limits};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where an array's values are stored.
#[derive(Debug, Clone, PartialEq)]
pub enum StorageKind {
    /// In block `n` of this file.
    Block(usize),
    /// In the first block of another file (exploded storage).
    External(String),
    /// Inline in the tree.
    Inline,
    /// Zarr chunks in blocks of this file (asdf-zarr).
    Zarr,
}

/// A summary of one array of the tree.
#[derive(Debug, Clone, PartialEq)]
pub struct ArrayInfo {
    /// Shape (`None` for a streamed `'*'` dimension that was not resolved, or inline data without one).
    pub shape: Option<Vec<u64>>,
    /// Element type as stored.
    pub dtype: DataType,
    /// Storage.
    pub storage: StorageKind,
    /// Block compression id (`zlib`, `bzp2`, `lz4`) or Zarr compressor, if any.
    pub compression: Option<String>,
    /// The tag of the node (shared with the tree: no copy per array).
    pub tag: Tag,
}

/// One array of the tree as [`AsdfFile::open_arrays`] lists it.
#[derive(Debug)]
pub struct OpenedArray {
    /// Its tree path, as [`AsdfFile::arrays`] gives it.
    pub path: String,
    /// Its summary, as [`AsdfFile::arrays`] gives it.
    pub info: ArrayInfo,
    /// The array, or why it cannot be opened: what [`AsdfFile::array`] gives for this node.
    pub array: Result<AsdfArray>,
    /// True when [`AsdfFile::array`]`(path)` opens this same node, known without building the
    /// path index: false for the rare path two nodes spell alike (a key holding `/` spells the
    /// path of a nested key, the integer key `1` and the string key `'1'` the same path), where
    /// the caller should ask [`AsdfFile::array`].
    pub by_path: bool,
}

/// The result of [`AsdfFile::verify`].
#[derive(Debug, Clone)]
pub struct VerifyReport {
    /// Per block: which bytes the checksum matched.
    pub blocks: Vec<ChecksumMatch>,
    /// How the block list was found.
    pub index: IndexStatus,
    /// Layout warnings.
    pub warnings: Vec<String>,
}

impl VerifyReport {
    /// True when no checksum mismatched and the index (if any) was valid.
    pub fn ok(&self) -> bool {
        !self.blocks.contains(&ChecksumMatch::Mismatch)
            && !matches!(self.index, IndexStatus::Invalid(_))
    }
}

/// An open ASDF file.
#[derive(Debug)]
pub struct AsdfFile {
    layout: Layout,
    tree: Node,
    blocks: Arc<Blocks>,
    base_dir: Option<PathBuf>,
    /// Path -> child positions of every tagged node, built on the first [`AsdfFile::array`] call.
    tagged: std::sync::OnceLock<std::collections::HashMap<String, Vec<u32>>>,
    /// The limits the file was opened with.
    limits: Limits,
}

/// Tags recognised as Zarr-in-ASDF.
pub const ZARR_TAGS: [&str; 2] = [
    "asdf://asdf-format.org/zarr/tags/zarr",
    "asdf://stsci.edu/example-project/tags/zarr",
];

impl AsdfFile {
    /// Open a local file (memory-mapped).
    pub fn open(path: impl AsRef<Path>) -> Result<AsdfFile> {
        AsdfFile::open_with(path, Limits::default())
    }

    /// [`AsdfFile::open`] with limits: [`Limits::blocks`] ([`nd_core::Error::LimitExceeded`]),
    /// [`Limits::tree_nodes`] ([`Error::AliasBudget`]) and [`Limits::tree_depth`]
    /// ([`Error::TooDeep`]).
    pub fn open_with(path: impl AsRef<Path>, limits: Limits) -> Result<AsdfFile> {
        let path = path.as_ref();
        let src = nd_core::open_local(path)?;
        let mut f = AsdfFile::from_source_with(src, limits)?;
        f.base_dir = Some(path.parent().unwrap_or(Path::new(".")).to_path_buf());
        Ok(f)
    }

    /// Open from any byte source (external `source` URIs then cannot be resolved).
    pub fn from_source(src: Arc<dyn ByteSource>) -> Result<AsdfFile> {
        AsdfFile::from_source_with(src, Limits::default())
    }

    /// [`AsdfFile::from_source`] with limits (as [`AsdfFile::open_with`]).
    pub fn from_source_with(src: Arc<dyn ByteSource>, limits: Limits) -> Result<AsdfFile> {
        let (layout, tree_bytes) = parse_layout_and_tree(src.as_ref(), &limits)?;
        let tree = match (&layout.tree, tree_bytes) {
            (Some(r), Some(bytes)) => {
                let text = std::str::from_utf8(&bytes).map_err(|e| Error::Yaml {
                    offset: r.start + e.valid_up_to() as u64,
                    message: "tree is not UTF-8".into(),
                })?;
                let opts = crate::yaml::LoadOptions::with_limits(text.len(), &limits);
                crate::yaml::load_with(text, r.start, opts)?
            }
            _ => Node::new(Value::Null),
        };
        let blocks = Arc::new(Blocks::new(src, Arc::clone(&layout.blocks)));
        Ok(AsdfFile {
            layout,
            tree,
            blocks,
            base_dir: None,
            tagged: std::sync::OnceLock::new(),
            limits,
        })
    }

    /// Set the directory relative `source` URIs are resolved against.
    pub fn set_base_dir(&mut self, dir: impl Into<PathBuf>) {
        self.base_dir = Some(dir.into());
    }

    /// The YAML tree.
    pub fn tree(&self) -> &Node {
        &self.tree
    }

    /// The physical layout (versions, comments, block headers, index status, warnings).
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The blocks.
    pub fn blocks(&self) -> &Arc<Blocks> {
        &self.blocks
    }

    /// Warnings raised while opening (index fallback, trailing bytes).
    pub fn warnings(&self) -> &[String] {
        &self.layout.warnings
    }

    /// Every array of the tree (ndarray and Zarr nodes), by path, in file order. Arrays that are
    /// parts of other arrays (masks) are listed too, under their own paths.
    pub fn arrays(&self) -> Vec<(String, ArrayInfo)> {
        let mut out = Vec::new();
        self.tree.walk_tagged(&mut |path, node| {
            if let Some((info, _)) = self.describe(path, node) {
                out.push((path.to_string(), info));
            }
        });
        out
    }

    /// Nodes tagged `core/ndarray` whose description is invalid (a negative shape, strides of the
    /// wrong length, an unknown datatype, ...), by path, with the reason: they are not in
    /// [`AsdfFile::arrays`]. python asdf opens such a file too, leaving the node unconverted with
    /// a warning ("A node failed to convert").
    pub fn unreadable_arrays(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        self.tree.walk_tagged(&mut |path, node| {
            let is_ndarray = node
                .tag()
                .is_some_and(|t| crate::yaml::tag_base(t) == NDARRAY_TAG);
            if is_ndarray {
                if let Err(e) = parse_ndarray(node, path) {
                    out.push((path.to_string(), e.to_string()));
                }
            }
        });
        out
    }

    /// [`AsdfFile::arrays`] with each array opened as [`AsdfFile::array`] opens it (or the reason
    /// it cannot be), in one walk of the tree: each node's description is parsed once, where
    /// listing and then opening every array parses it twice and looks every path up. Costs one
    /// [`AsdfArray`] per array (no block data is read).
    pub fn open_arrays(&self) -> Vec<OpenedArray> {
        let mut out = Vec::new();
        self.open_arrays_with(|a| out.push(a));
        out
    }

    /// [`AsdfFile::open_arrays`] handing each array to `f` in file order, without collecting
    /// them (a caller that keeps only part of each pays for no list).
    pub fn open_arrays_with(&self, mut f: impl FnMut(OpenedArray)) {
        self.tree.walk_tagged_reachable(&mut |path, node, by_path| {
            let Some((info, meta)) = self.describe(path, node) else {
                return;
            };
            let array = match &meta {
                // the shape the description resolved, not resolved again
                Some(m) => self.make_array(m, path, info.shape.as_deref()),
                None => self.open_node(node, path),
            };
            f(OpenedArray {
                // the node `get_path` reaches (the first key spelled so at every level) is also
                // the one the path index holds: no index is built for the listing
                by_path,
                path: path.to_string(),
                info,
                array,
            });
        });
    }

    /// The summary of the array node `node` at `path`, and for an ndarray the description it
    /// was made from; `None` when the node is not an array (or not a readable ndarray mapping).
    fn describe(&self, path: &str, node: &Node) -> Option<(ArrayInfo, Option<NdArrayMeta>)> {
        let tag = node.tag()?;
        let base = crate::yaml::tag_base(tag);
        if ZARR_TAGS.contains(&base) {
            let z = crate::zarr::zarr_info(node);
            let info = ArrayInfo {
                shape: z.as_ref().map(|z| z.0.clone()),
                dtype: z.as_ref().map_or(DataType::UInt8, |z| z.1.clone()),
                storage: StorageKind::Zarr,
                compression: z.and_then(|z| z.2),
                tag: node.tag.clone()?,
            };
            return Some((info, None));
        }
        if base != NDARRAY_TAG {
            return None;
        }
        let meta = parse_ndarray(node, path).ok()?;
        let (storage, compression) = match &meta.source {
            Source::Block(i) => match self.blocks.resolve(*i) {
                Ok(b) => (
                    StorageKind::Block(b),
                    self.blocks.headers()[b].compression_name(),
                ),
                Err(_) => (StorageKind::Block(usize::MAX), None),
            },
            Source::External(u) => (StorageKind::External(u.clone()), None),
            Source::Inline(_) => (StorageKind::Inline, None),
        };
        let shape = self.resolved_shape(&meta, path).ok();
        let info = ArrayInfo {
            shape,
            dtype: meta.dtype.clone(),
            storage,
            compression,
            tag: node.tag.clone()?,
        };
        Some((info, Some(meta)))
    }

    fn resolved_shape(&self, meta: &NdArrayMeta, path: &str) -> Result<Vec<u64>> {
        match (&meta.shape, &meta.source) {
            (Some(s), Source::Block(i)) if s.first() == Some(&Dim::Star) => {
                let b = self.blocks.resolve(*i)?;
                let len = self.blocks.data_len(b)?;
                star_shape(s, meta, len, path)
            }
            (Some(s), _) => s
                .iter()
                .map(|d| match d {
                    Dim::Fixed(n) => Ok(*n),
                    Dim::Star => Err(Error::node(path, "'*' shape outside a block")),
                })
                .collect(),
            (None, Source::Inline(d)) => inline_shape(d, &meta.dtype, path),
            (None, _) => Err(Error::node(path, "ndarray without shape")),
        }
    }

    /// The tagged node at `path`: through the path index (built once, so that looking up each of
    /// thousands of arrays is not a linear search of a big mapping), else by walking the path
    /// (other spellings: negative sequence indices, extra slashes).
    fn tagged_node(&self, path: &str) -> Option<&Node> {
        let index = self.tagged.get_or_init(|| {
            let mut map = std::collections::HashMap::new();
            let mut pos = Vec::new();
            index_tagged(
                &self.tree,
                &mut String::new(),
                &mut pos,
                &mut map,
                self.limits.tree_depth,
            );
            map
        });
        if let Some(pos) = index.get(path) {
            let mut cur = &self.tree;
            for &i in pos {
                cur = match &cur.value {
                    Value::Map(e) => &e.get(i as usize)?.1,
                    Value::Seq(items) => items.get(i as usize)?,
                    _ => return None,
                };
            }
            return Some(cur);
        }
        self.tree.get_path(path)
    }

    /// The array at a tree path (`ndarray` or Zarr node).
    pub fn array(&self, path: &str) -> Result<AsdfArray> {
        let node = self
            .tagged_node(path)
            .ok_or_else(|| Error::NoArray(path.to_string()))?;
        self.open_node(node, path)
    }

    /// The array the tagged node `node` (at `path`) describes.
    fn open_node(&self, node: &Node, path: &str) -> Result<AsdfArray> {
        let tag = node.tag().ok_or_else(|| Error::NoArray(path.to_string()))?;
        let base = crate::yaml::tag_base(tag);
        if ZARR_TAGS.contains(&base) {
            return crate::zarr::open_zarr(node, path, &self.blocks)
                .map(|z| AsdfArray::from_zarr(path, z));
        }
        if base != NDARRAY_TAG {
            return Err(Error::NoArray(path.to_string()));
        }
        let meta = parse_ndarray(node, path)?;
        self.make_array(&meta, path, None)
    }

    /// The array `meta` (at `path`) describes; `shape` is its [`AsdfFile::resolved_shape`] when
    /// the caller has it already.
    fn make_array(
        &self,
        meta: &NdArrayMeta,
        path: &str,
        shape: Option<&[u64]>,
    ) -> Result<AsdfArray> {
        let native = meta.dtype.to_native();
        let resolved = || match shape {
            Some(s) => Ok(Shape::from_slice(s)),
            None => self.resolved_shape(meta, path).map(Shape::from_vec),
        };
        let (shape, storage, codec, inline_mask) = match &meta.source {
            Source::Inline(data) => {
                let shape = resolved()?;
                let (bytes, mask) = inline_to_bytes(data, &meta.dtype, &shape, path)?;
                let buf = ArrayBuf::from_bytes(native.clone(), shape.to_vec(), &bytes)?;
                (shape, Storage::Inline(Arc::new(buf)), None, mask)
            }
            Source::Block(i) => {
                let b = self.blocks.resolve(*i)?;
                let shape = resolved()?;
                let len = self.blocks.data_len(b)?;
                let view = self.view(meta, &shape, self.blocks.clone(), b, len, path)?;
                let codec = self.blocks.headers()[b].compression_name();
                (shape, Storage::Block(view), codec, None)
            }
            Source::External(uri) => {
                let ext = self.open_external(uri, path)?;
                let blocks = ext.blocks.clone();
                if blocks.is_empty() {
                    return Err(Error::node(
                        path,
                        format!("external file '{uri}' has no block"),
                    ));
                }
                let len = blocks.data_len(0)?;
                let shape = Shape::from_vec(match &meta.shape {
                    Some(s) if s.first() == Some(&Dim::Star) => star_shape(s, meta, len, path)?,
                    _ => self.resolved_shape(meta, path)?,
                });
                let codec = blocks.headers()[0].compression_name();
                let view = self.view(meta, &shape, blocks, 0, len, path)?;
                (shape, Storage::Block(view), codec, None)
            }
        };
        let mask = match (&meta.mask, inline_mask) {
            (_, Some(m)) => Some(MaskSource::Inline(Arc::new(m))),
            (Some(Mask::Array(m)), None) => match self.make_array(m, &format!("{path}/mask"), None)
            {
                Ok(a) => Some(crate::array::fit_mask(a, &shape, path)?),
                Err(e) => Some(MaskSource::Unreadable(e.to_string())),
            },
            (Some(Mask::Unreadable(why)), None) => Some(MaskSource::Unreadable(why.clone())),
            (Some(Mask::Scalar(v)), None) => Some(MaskSource::Scalar(*v)),
            (None, None) => None,
        }
        .map(Box::new);
        Ok(AsdfArray {
            path: path.to_string(),
            shape,
            stored: meta.dtype.clone(),
            native,
            storage,
            mask,
            codec,
        })
    }

    fn view(
        &self,
        meta: &NdArrayMeta,
        shape: &[u64],
        blocks: Arc<Blocks>,
        block: usize,
        len: u64,
        path: &str,
    ) -> Result<BlockView> {
        let elem = meta.dtype.size();
        let strides = match &meta.strides {
            Some(s) => Strides::from_slice(s),
            None => c_strides(shape, elem),
        };
        check_view_bounds(shape, meta.offset, &strides, elem, len, path)?;
        Ok(BlockView {
            blocks,
            block,
            offset: meta.offset,
            strides,
            endian: meta.endian,
        })
    }

    fn open_external(&self, uri: &str, path: &str) -> Result<AsdfFile> {
        let dir = self.base_dir.as_ref().ok_or_else(|| {
            Error::node(path, format!("external source '{uri}' needs a file path"))
        })?;
        let rel = uri.strip_prefix("file://").unwrap_or(uri);
        if rel.contains("://") || rel.starts_with('/') || rel.split('/').any(|s| s == "..") {
            return Err(Error::node(
                path,
                format!("external source '{uri}' is not a relative file name"),
            ));
        }
        AsdfFile::open_with(dir.join(rel), self.limits)
    }

    /// Verify every block checksum (stored bytes, then decoded bytes for old python asdf files)
    /// and report how the block index was used.
    pub fn verify(&self) -> Result<VerifyReport> {
        let blocks = (0..self.blocks.len())
            .map(|i| self.blocks.verify(i))
            .collect::<Result<Vec<_>>>()?;
        Ok(VerifyReport {
            blocks,
            index: self.layout.index.clone(),
            warnings: self.layout.warnings.clone(),
        })
    }
}

/// Record the child positions of every tagged node under its `walk` path.
fn index_tagged(
    n: &Node,
    path: &mut String,
    pos: &mut Vec<u32>,
    out: &mut std::collections::HashMap<String, Vec<u32>>,
    max_depth: usize,
) {
    if pos.len() > max_depth {
        return;
    }
    if n.tag.is_some() {
        // the first node of a path keeps it (one hash per tagged node)
        if let std::collections::hash_map::Entry::Vacant(v) = out.entry(path.clone()) {
            v.insert(pos.clone());
        }
    }
    let len = path.len();
    let mut child = |i: usize, key: &dyn Fn(&mut String), c: &Node, path: &mut String| {
        if !path.is_empty() {
            path.push('/');
        }
        key(path);
        pos.push(i as u32);
        index_tagged(c, path, pos, out, max_depth);
        pos.pop();
        path.truncate(len);
    };
    match &n.value {
        Value::Seq(items) => {
            for (i, c) in items.iter().enumerate() {
                child(
                    i,
                    &|p: &mut String| {
                        use std::fmt::Write;
                        let _ = write!(p, "{i}");
                    },
                    c,
                    path,
                );
            }
        }
        Value::Map(entries) => {
            for (i, (k, c)) in entries.iter().enumerate() {
                // keys a path cannot spell are left to `get_path`
                let plain = match &k.value {
                    Value::Str(s) => !s.is_empty() && !s.contains('/'),
                    _ => k
                        .key_string()
                        .is_some_and(|s| !s.is_empty() && !s.contains('/')),
                };
                if !plain {
                    continue;
                }
                child(
                    i,
                    &|p: &mut String| match &k.value {
                        Value::Str(s) => p.push_str(s),
                        _ => p.push_str(&k.key_string().unwrap_or_default()),
                    },
                    c,
                    path,
                );
            }
        }
        _ => {}
    }
}

/// python asdf's `get_actual_shape`: rows = floor(block size / stride of the first axis).
fn star_shape(s: &[Dim], meta: &NdArrayMeta, len: u64, path: &str) -> Result<Vec<u64>> {
    let rest: Vec<u64> = s[1..]
        .iter()
        .map(|d| match d {
            Dim::Fixed(n) => Ok(*n),
            Dim::Star => Err(Error::node(path, "'*' may only be the first dimension")),
        })
        .collect::<Result<_>>()?;
    let stride = match &meta.strides {
        Some(st) => st.first().copied().unwrap_or(0).unsigned_abs(),
        None => rest
            .iter()
            .try_fold(meta.dtype.size() as u64, |a, &d| a.checked_mul(d))
            .unwrap_or(0),
    };
    if stride == 0 {
        return Err(Error::node(path, "streamed array with zero row size"));
    }
    let mut shape = vec![len / stride];
    shape.extend(rest);
    Ok(shape)
}
