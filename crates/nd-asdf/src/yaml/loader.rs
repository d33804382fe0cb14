//! The tree builder both parsers feed: scalars resolved as PyYAML does, anchors and aliases
//! expanded under a node budget, duplicate keys (last value wins), merge keys, a depth limit.

use super::node::{Node, Tag, ThinVec, Value, YAML_TAG_PREFIX};
use super::resolve::{construct_bool, construct_float, construct_int, resolve_plain, Implicit};
use crate::error::{Error, Result};
use saphyr_parser::{Event, ScalarStyle, Span};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Limits for loading untrusted YAML.
#[derive(Debug, Clone, Copy)]
pub struct LoadOptions {
    /// Largest number of nodes the tree may have after alias expansion
    /// ([`Error::AliasBudget`] past it).
    pub node_budget: u64,
    /// Largest nesting depth ([`Error::TooDeep`] past it: an error, not a stack overflow).
    pub max_depth: usize,
}

impl LoadOptions {
    /// The default limits for a document of `len` bytes ([`nd_core::Limits::default`]: ten
    /// nodes per byte plus a million, far more than any real tree, far less than an exponential
    /// alias bomb; 256 levels).
    pub fn for_len(len: usize) -> Self {
        LoadOptions::with_limits(len, &nd_core::Limits::default())
    }

    /// The limits of `limits` ([`nd_core::Limits::tree_nodes`], [`nd_core::Limits::tree_depth`])
    /// for a document of `len` bytes.
    pub fn with_limits(len: usize, limits: &nd_core::Limits) -> Self {
        LoadOptions {
            node_budget: limits.tree_nodes_for(len),
            max_depth: limits.tree_depth,
        }
    }
}

/// A collection being built. Its items (entries) so far are the tail of the loader's shared
/// stack of them, from `start`: nested collections push theirs after it and take them away when
/// they end, so no collection has a buffer of its own that grows, and each finished one is
/// allocated once, at its size.
struct Frame {
    tag: Option<Tag>,
    anchor: usize,
    size: u64,
    start: usize,
    kind: FrameKind,
}

enum FrameKind {
    Seq,
    Map {
        seen: Option<Box<KeyIndex>>,
        key: Option<Node>,
        merges: Vec<Node>,
        pending_merge: bool,
    },
}

/// Builds a tree from parse events (either parser's).
pub(super) struct Loader {
    stack: Vec<Frame>,
    /// The items of the open sequences, innermost last ([`Frame`]).
    items: Vec<Node>,
    /// The entries of the open mappings, innermost last ([`Frame`]).
    entries: Vec<(Node, Node)>,
    anchors: HashMap<usize, (Node, u64)>,
    total: u64,
    budget: u64,
    /// Deepest nesting allowed.
    pub(super) max_depth: usize,
    /// The document's root node, once its last event came.
    pub(super) root: Option<Node>,
    base_offset: u64,
    /// The strings of the tree so far, each once ([`Loader::intern`]).
    strings: HashSet<Arc<str>>,
    /// The tags of the tree so far, each once ([`Loader::intern_tag`]).
    tags: HashSet<Tag>,
    /// The last strings interned, by a cheap hash of their text: most repeats (the keys and
    /// values of thousands of alike nodes) are found here without hashing the text.
    recent: [Option<Arc<str>>; RECENT],
    /// Where a tag is put together from its prefix and suffix before it is interned.
    scratch: String,
}

/// Strings up to this long are shared: keys, tags and short values repeat across a tree; a
/// longer string is rarely repeated, and hashing it would cost what its copy costs.
const INTERN_MAX: usize = 64;

/// Slots of [`Loader::intern`]'s cache of recent strings.
const RECENT: usize = 64;

/// The cache slot of `s`: its length and three of its bytes (not a hash an input could not
/// defeat: a miss only costs the look-up in the full set).
fn recent_slot(s: &[u8]) -> usize {
    let (first, last) = match (s.first(), s.last()) {
        (Some(&f), Some(&l)) => (f as usize, l as usize),
        _ => (0, 0),
    };
    let mid = s.get(s.len() / 2).map_or(0, |&m| m as usize);
    (s.len() ^ first.wrapping_mul(7) ^ last.wrapping_mul(31) ^ mid.wrapping_mul(131)) % RECENT
}

impl Loader {
    /// A loader with the node budget of `opts`; `base_offset` is added to error positions.
    pub(super) fn new(opts: LoadOptions, base_offset: u64) -> Self {
        Loader {
            stack: Vec::new(),
            items: Vec::new(),
            entries: Vec::new(),
            anchors: HashMap::new(),
            total: 0,
            budget: opts.node_budget,
            max_depth: opts.max_depth,
            root: None,
            base_offset,
            strings: HashSet::new(),
            tags: HashSet::new(),
            recent: [const { None }; RECENT],
            scratch: String::new(),
        }
    }

    /// `s` as a shared string: the one allocation of this text made so far, else a new one
    /// (kept for the next time when short). Memory stays proportional to the text read.
    pub(super) fn intern(&mut self, s: &str) -> Arc<str> {
        if s.len() > INTERN_MAX {
            return Arc::from(s);
        }
        let slot = recent_slot(s.as_bytes());
        if let Some(a) = self.recent.get(slot).and_then(|r| r.as_ref()) {
            if **a == *s {
                return Arc::clone(a);
            }
        }
        let a = match self.strings.get(s) {
            Some(a) => Arc::clone(a),
            None => {
                let a: Arc<str> = Arc::from(s);
                self.strings.insert(Arc::clone(&a));
                a
            }
        };
        if let Some(r) = self.recent.get_mut(slot) {
            *r = Some(Arc::clone(&a));
        }
        a
    }

    /// The tag `t`: the one made for this text so far, else a new one (kept for the next time).
    pub(super) fn tag(&mut self, t: &str) -> Tag {
        if let Some(tag) = self.tags.get(t) {
            return tag.clone();
        }
        let tag = Tag::from(t);
        self.tags.insert(tag.clone());
        tag
    }

    /// The tag `prefix` + `suffix` (a `%TAG` handle's prefix and a shorthand's suffix), interned.
    pub(super) fn intern_tag(&mut self, prefix: &str, suffix: &str) -> Tag {
        let mut t = std::mem::take(&mut self.scratch);
        t.clear();
        t.push_str(prefix);
        t.push_str(suffix);
        let tag = self.tag(&t);
        self.scratch = t;
        tag
    }

    /// True while a collection is open (the document is not complete).
    pub(super) fn in_collection(&self) -> bool {
        !self.stack.is_empty()
    }

    fn err(&self, span: Span, message: impl Into<String>) -> Error {
        Error::Yaml {
            offset: self.base_offset + span.start.index() as u64,
            message: message.into(),
        }
    }

    fn count(&mut self, n: u64) -> Result<()> {
        self.total = self.total.saturating_add(n);
        if self.total > self.budget {
            return Err(Error::AliasBudget {
                budget: self.budget,
            });
        }
        Ok(())
    }

    pub(super) fn event(&mut self, ev: Event<'_>, span: Span) -> Result<()> {
        match ev {
            Event::Scalar(value, style, anchor, tag) => {
                let tag = tag.map(|t| self.intern_tag(&t.handle, &t.suffix));
                self.on_scalar(&value, style, anchor, tag, span)
            }
            Event::SequenceStart(anchor, tag) => {
                let tag = tag.map(|t| self.intern_tag(&t.handle, &t.suffix));
                self.on_start(true, anchor, tag, 0)
            }
            Event::MappingStart(anchor, tag) => {
                let tag = tag.map(|t| self.intern_tag(&t.handle, &t.suffix));
                self.on_start(false, anchor, tag, 0)
            }
            Event::SequenceEnd | Event::MappingEnd => self.on_end(span),
            Event::Alias(id) => {
                let Some((node, size)) = self.anchors.get(&id) else {
                    return Err(Error::CyclicAlias { anchor: id });
                };
                let (node, size) = (node.clone(), *size);
                // the alias itself was not counted yet; its copy costs its size
                self.count(size)?;
                self.finish(node, size, 0, false, span)
            }
            _ => Ok(()),
        }
    }

    pub(super) fn on_scalar(
        &mut self,
        value: &str,
        style: ScalarStyle,
        anchor: usize,
        tag: Option<Tag>,
        span: Span,
    ) -> Result<()> {
        self.count(1)?;
        let (node, merge) = self.scalar(value, style, tag, span)?;
        self.finish(node, 1, anchor, merge, span)
    }

    /// A collection starts; `items` is how many items (entries of a mapping) it will have when
    /// the parser knows, else 0 (a hint: a collection still takes any number).
    pub(super) fn on_start(
        &mut self,
        seq: bool,
        anchor: usize,
        tag: Option<Tag>,
        items: usize,
    ) -> Result<()> {
        self.count(1)?;
        let (start, kind) = if seq {
            self.items.reserve(items);
            (self.items.len(), FrameKind::Seq)
        } else {
            self.entries.reserve(items);
            let kind = FrameKind::Map {
                seen: None,
                key: None,
                merges: Vec::new(),
                pending_merge: false,
            };
            (self.entries.len(), kind)
        };
        self.push(Frame {
            tag,
            anchor,
            size: 1,
            start,
            kind,
        })
    }

    pub(super) fn on_end(&mut self, span: Span) -> Result<()> {
        let Some(f) = self.stack.pop() else {
            return Err(self.err(span, "unbalanced collection end"));
        };
        let tag = f.tag.filter(|t| {
            !matches!(
                &**t,
                "tag:yaml.org,2002:seq" | "tag:yaml.org,2002:map" | "!"
            )
        });
        // allocated at its size: a tree lives as long as its file, and most of its collections
        // are small (a one-item `shape: [64]`)
        let value = match f.kind {
            FrameKind::Seq => Value::Seq(take_tail(&mut self.items, f.start)),
            FrameKind::Map { merges, .. } if merges.is_empty() => {
                Value::Map(take_tail(&mut self.entries, f.start))
            }
            FrameKind::Map { merges, .. } => {
                let own = self.entries.drain(f.start..).collect();
                Value::Map(flatten_merges(own, merges).into())
            }
        };
        let node = Node { tag, value };
        self.finish(node, f.size, f.anchor, false, span)
    }

    fn push(&mut self, f: Frame) -> Result<()> {
        if self.stack.len() >= self.max_depth {
            return Err(Error::TooDeep(self.max_depth));
        }
        self.stack.push(f);
        Ok(())
    }

    fn scalar(
        &mut self,
        value: &str,
        style: ScalarStyle,
        tag: Option<Tag>,
        span: Span,
    ) -> Result<(Node, bool)> {
        let offset = self.base_offset + span.start.index() as u64;
        let bad = |what: &str| Error::Yaml {
            offset,
            message: format!("cannot construct {what} from '{value}'"),
        };
        let core = |t: &str| tag.as_deref() == Some(&format!("{YAML_TAG_PREFIX}{t}")[..]);
        if tag.is_none() && style == ScalarStyle::Plain {
            let v = match resolve_plain(value) {
                Implicit::Null => Value::Null,
                Implicit::Bool => Value::Bool(construct_bool(value).ok_or_else(|| bad("bool"))?),
                Implicit::Int => match construct_int(value) {
                    Some(i) => Value::int(i),
                    None => {
                        // larger than i128 (PyYAML has unbounded ints): keep the text, tagged
                        return Ok((
                            Node::tagged(format!("{YAML_TAG_PREFIX}int"), Value::Str(value.into())),
                            false,
                        ));
                    }
                },
                Implicit::Float => {
                    Value::Float(construct_float(value).ok_or_else(|| bad("float"))?)
                }
                Implicit::Timestamp => {
                    return Ok((
                        Node::tagged(
                            format!("{YAML_TAG_PREFIX}timestamp"),
                            Value::Str(value.into()),
                        ),
                        false,
                    ))
                }
                Implicit::Merge => return Ok((Node::str(self.intern(value)), true)),
                Implicit::ValueTag => {
                    return Err(self.err(span, "PyYAML cannot construct the '=' value tag"))
                }
                Implicit::Str => Value::Str(self.intern(value)),
            };
            return Ok((Node::new(v), false));
        }
        let node = match tag.as_deref() {
            None | Some("!") => Node::str(self.intern(value)),
            Some(_) if core("str") => Node::str(self.intern(value)),
            Some(_) if core("null") => Node::new(Value::Null),
            Some(_) if core("bool") => Node::new(Value::Bool(
                construct_bool(value).ok_or_else(|| bad("bool"))?,
            )),
            Some(_) if core("int") => {
                Node::new(Value::int(construct_int(value).ok_or_else(|| bad("int"))?))
            }
            Some(_) if core("float") => Node::new(Value::Float(
                construct_float(value).ok_or_else(|| bad("float"))?,
            )),
            Some(_) => Node {
                value: Value::Str(self.intern(value)),
                tag: tag.clone(),
            },
        };
        Ok((node, false))
    }

    /// Hand a complete node (its last event at `span`) to its parent, or make it the root.
    fn finish(
        &mut self,
        node: Node,
        size: u64,
        anchor: usize,
        merge_key: bool,
        span: Span,
    ) -> Result<()> {
        if anchor != 0 {
            self.anchors.insert(anchor, (node.clone(), size));
        }
        let Some(parent) = self.stack.last_mut() else {
            if self.root.is_none() {
                self.root = Some(node);
            }
            return Ok(());
        };
        parent.size = parent.size.saturating_add(size);
        match &mut parent.kind {
            FrameKind::Seq => self.items.push(node),
            FrameKind::Map {
                seen,
                key,
                merges,
                pending_merge,
            } => match key.take() {
                None if matches!(node.value, Value::Seq(_) | Value::Map(_)) => {
                    // PyYAML's SafeLoader (and so python asdf) refuses a key it cannot hash
                    let offset = self.base_offset + span.start.index() as u64;
                    return Err(Error::Yaml {
                        offset,
                        message: "found unhashable key (a sequence or mapping) in a mapping".into(),
                    });
                }
                None => {
                    *key = Some(node);
                    *pending_merge = merge_key;
                }
                Some(k) => {
                    if *pending_merge {
                        merges.push(node);
                        *pending_merge = false;
                    } else {
                        insert_entry_hashed(&mut self.entries, parent.start, seen, k, node);
                    }
                }
            },
        }
        Ok(())
    }
}

/// Maps with more entries than this get a hash index for duplicate keys; smaller ones are
/// searched linearly (no allocation for the many small mappings of a tree).
const HASH_FROM: usize = 16;

/// A hash of a scalar key (kind + value), without allocating; `None` for floats and collections.
fn key_hash(hasher: &std::collections::hash_map::RandomState, k: &Node) -> Option<u64> {
    use std::hash::{BuildHasher, Hash, Hasher};
    let mut h = hasher.build_hasher();
    match &k.value {
        Value::Null => 0u8.hash(&mut h),
        Value::Bool(b) => (1u8, b).hash(&mut h),
        Value::Int(i) => (2u8, i.get()).hash(&mut h),
        Value::Str(s) => (3u8, &**s).hash(&mut h),
        _ => return None,
    }
    Some(h.finish())
}

/// Duplicate-key index of a large mapping: key hash -> entry position.
#[derive(Default)]
struct KeyIndex {
    state: std::collections::hash_map::RandomState,
    map: HashMap<u64, usize>,
}

/// The items of `stack` from `start` on, taken into a collection of their own (exactly their
/// size).
fn take_tail<T>(stack: &mut Vec<T>, start: usize) -> ThinVec<T> {
    let mut out = ThinVec::with_capacity(stack.len().saturating_sub(start));
    out.extend(stack.drain(start.min(stack.len())..));
    out
}

/// Add `k: v` to the mapping whose entries are `entries[start..]` (a repeated key keeps its
/// position and takes the new value).
fn insert_entry_hashed(
    entries: &mut Vec<(Node, Node)>,
    start: usize,
    seen: &mut Option<Box<KeyIndex>>,
    k: Node,
    v: Node,
) {
    if seen.is_none() {
        if entries.len().saturating_sub(start) < HASH_FROM {
            return insert_entry(entries, start, k, v);
        }
        // the mapping became large: index what it has so far
        let mut idx = Box::<KeyIndex>::default();
        for (i, (kk, _)) in entries.iter().enumerate().skip(start) {
            if let Some(h) = key_hash(&idx.state, kk) {
                idx.map.entry(h).or_insert(i);
            }
        }
        *seen = Some(idx);
    }
    let Some(idx) = seen.as_mut() else {
        return insert_entry(entries, start, k, v);
    };
    match key_hash(&idx.state, &k) {
        Some(h) => match idx.map.get(&h) {
            Some(&i) if entries.get(i).is_some_and(|(kk, _)| kk.value == k.value) => {
                if let Some(slot) = entries.get_mut(i) {
                    slot.1 = v;
                }
            }
            // a 64-bit hash collision between different keys: the slow way
            Some(_) => insert_entry(entries, start, k, v),
            None => {
                idx.map.insert(h, entries.len());
                entries.push((k, v));
            }
        },
        None => insert_entry(entries, start, k, v),
    }
}

/// Add `k: v` to the mapping `entries[start..]` by a linear search for `k`.
fn insert_entry(entries: &mut Vec<(Node, Node)>, start: usize, k: Node, v: Node) {
    let own = entries.get_mut(start..).unwrap_or_default();
    if let Some(slot) = own.iter_mut().find(|(kk, _)| kk.value == k.value) {
        slot.1 = v;
    } else {
        entries.push((k, v));
    }
}

/// PyYAML's `flatten_mapping`: merged mappings come first (earlier ones win), own keys override.
fn flatten_merges(own: Vec<(Node, Node)>, merges: Vec<Node>) -> Vec<(Node, Node)> {
    if merges.is_empty() {
        return own;
    }
    let mut sources: Vec<ThinVec<(Node, Node)>> = Vec::new();
    for m in merges {
        match m.value {
            Value::Map(e) => sources.push(e),
            Value::Seq(items) => {
                let mut sub: Vec<ThinVec<(Node, Node)>> = items
                    .into_iter()
                    .filter_map(|n| match n.value {
                        Value::Map(e) => Some(e),
                        _ => None,
                    })
                    .collect();
                sub.reverse();
                sources.extend(sub);
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for s in sources {
        for (k, v) in s {
            insert_entry(&mut out, 0, k, v);
        }
    }
    for (k, v) in own {
        insert_entry(&mut out, 0, k, v);
    }
    out
}
