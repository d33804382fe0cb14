//! The YAML tree: [`Node`] (a value with the tag it had) and [`Value`], tag names, and Python's
//! float formatting.
//!
//! Strings and tags are shared (`Arc<str>`, [`Tag`]): the loader gives every repeated key, value and tag
//! of a tree one allocation (an ASDF file with thousands of arrays repeats `source`,
//! `datatype`, `float64`, `little` and its ndarray tag thousands of times), and cloning a
//! tree or a subtree copies no text.
//!
//! A node takes 32 bytes (`Arc<str>` tags, `Vec`s and an `i128` field would make it 48): a tag
//! is a [`Tag`] (one pointer), collections are [`ThinVec`]s (length and capacity in the
//! allocation, one pointer in the node) and integers an [`Integer`] aligned to 8. A tree of
//! thousands of arrays holds tens of thousands of nodes, and every page of it is fresh memory
//! the loader touches first.

use std::sync::Arc;
pub use thin_vec::ThinVec;

/// The YAML core tag prefix.
pub const YAML_TAG_PREFIX: &str = "tag:yaml.org,2002:";

/// One node of a YAML tree, with its tag (fully resolved through `%TAG`) if it had an explicit one.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The explicit tag (`tag:stsci.edu:asdf/core/ndarray-1.0.0`, `asdf://...`), `None` for untagged
    /// nodes and for nodes whose tag is a YAML core type that was resolved into the value.
    pub tag: Option<Tag>,
    /// The value.
    pub value: Value,
}

/// The value of a YAML node, as PyYAML constructs it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`, `~`, empty.
    Null,
    /// A boolean (`true`, `yes`, `on`, ... in YAML 1.1).
    Bool(bool),
    /// An integer (decimal, `0x`, `0b`, leading-zero octal, sexagesimal, underscores).
    Int(Integer),
    /// A float (including `.nan`, `.inf`, sexagesimal).
    Float(f64),
    /// A string (also the value of scalars with an unknown tag, and of timestamps).
    Str(Arc<str>),
    /// A sequence.
    Seq(ThinVec<Node>),
    /// A mapping, in file order (keys are unique: a repeated key keeps its first position and last value).
    Map(ThinVec<(Node, Node)>),
}

/// The tag of a [`Node`]: its text, shared (cloning copies no text), behind one pointer.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(Arc<Box<str>>);

impl std::ops::Deref for Tag {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for Tag {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Tag {
    fn from(s: &str) -> Self {
        Tag(Arc::new(s.into()))
    }
}

impl From<String> for Tag {
    fn from(s: String) -> Self {
        Tag(Arc::new(s.into_boxed_str()))
    }
}

impl std::fmt::Debug for Tag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&**self, f)
    }
}

impl std::fmt::Display for Tag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self)
    }
}

/// The integer of a [`Value::Int`]: an `i128` (PyYAML's integers are unbounded; nd keeps 128
/// bits, enough for every `int64` and `uint64`) stored at 8-byte alignment, so that it does
/// not make every [`Value`] 16-byte aligned and 8 bytes larger.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(C, packed(8))]
pub struct Integer(i128);

impl Integer {
    /// The value.
    pub fn get(self) -> i128 {
        self.0
    }
}

impl From<i128> for Integer {
    fn from(i: i128) -> Self {
        Integer(i)
    }
}

impl std::fmt::Debug for Integer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.get(), f)
    }
}

impl std::fmt::Display for Integer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.get(), f)
    }
}

impl Value {
    /// An integer value.
    pub fn int(i: impl Into<i128>) -> Value {
        Value::Int(Integer(i.into()))
    }
}

impl Node {
    /// An untagged node.
    pub fn new(value: Value) -> Self {
        Node { tag: None, value }
    }

    /// A tagged node.
    pub fn tagged(tag: impl Into<Tag>, value: Value) -> Self {
        Node {
            tag: Some(tag.into()),
            value,
        }
    }

    /// A string node.
    pub fn str(s: impl Into<Arc<str>>) -> Self {
        Node::new(Value::Str(s.into()))
    }

    /// The tag, if any.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The value of `key` when this is a mapping (keys compared by their string form).
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k.key_is(key)).map(|(_, v)| v),
            _ => None,
        }
    }

    /// True when this scalar's key form is `key` (no allocation for string keys).
    pub fn key_is(&self, key: &str) -> bool {
        match &self.value {
            Value::Str(s) => **s == *key,
            Value::Seq(_) | Value::Map(_) => false,
            _ => self.key_string().as_deref() == Some(key),
        }
    }

    /// Mutable access to the value of `key` of a mapping.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        match &mut self.value {
            Value::Map(entries) => entries
                .iter_mut()
                .find(|(k, _)| k.key_is(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// Set `key` of a mapping (replacing an existing value). Does nothing on non-mappings.
    pub fn insert(&mut self, key: &str, value: Node) {
        if let Value::Map(entries) = &mut self.value {
            if let Some(slot) = entries.iter_mut().find(|(k, _)| k.key_is(key)) {
                slot.1 = value;
            } else {
                entries.push((Node::str(key), value));
            }
        }
    }

    /// Item `i` of a sequence.
    pub fn index(&self, i: usize) -> Option<&Node> {
        match &self.value {
            Value::Seq(items) => items.get(i),
            _ => None,
        }
    }

    /// The node at a `/`-separated path (`meta/list/1/deep`): mapping keys and sequence indices
    /// (negative indices count from the end). The empty path is this node.
    pub fn get_path(&self, path: &str) -> Option<&Node> {
        let mut cur = self;
        for seg in path.split('/').filter(|s| !s.is_empty()) {
            cur = match &cur.value {
                Value::Map(_) => cur.get(seg)?,
                Value::Seq(items) => {
                    let i: i64 = seg.parse().ok()?;
                    let i = if i < 0 { items.len() as i64 + i } else { i };
                    items.get(usize::try_from(i).ok()?)?
                }
                _ => return None,
            };
        }
        Some(cur)
    }

    /// The string form of a scalar used as a mapping key (`None` for collections).
    pub fn key_string(&self) -> Option<String> {
        match &self.value {
            Value::Str(s) => Some(s.to_string()),
            Value::Int(i) => Some(i.to_string()),
            Value::Bool(b) => Some(if *b { "True" } else { "False" }.to_string()),
            Value::Null => Some("None".to_string()),
            Value::Float(f) => Some(python_float_repr(*f)),
            _ => None,
        }
    }

    /// The string, if this is a string scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if this is an integer scalar.
    pub fn as_int(&self) -> Option<i128> {
        match &self.value {
            Value::Int(i) => Some(i.get()),
            _ => None,
        }
    }

    /// The items, if this is a sequence.
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// The entries, if this is a mapping.
    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// True when the tag (without its version suffix) is `base`, e.g.
    /// `is_tag("tag:stsci.edu:asdf/core/ndarray")` for `...ndarray-1.1.0`.
    pub fn has_tag_base(&self, base: &str) -> bool {
        self.tag.as_deref().is_some_and(|t| tag_base(t) == base)
    }

    /// Build an untagged tree from JSON (`"NaN"`-style strings stay strings).
    pub fn from_json(v: &serde_json::Value) -> Node {
        use serde_json::Value as J;
        Node::new(match v {
            J::Null => Value::Null,
            J::Bool(b) => Value::Bool(*b),
            J::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(i), _, _) => Value::int(i),
                (_, Some(u), _) => Value::int(u),
                (_, _, Some(f)) => Value::Float(f),
                _ => Value::Null,
            },
            J::String(s) => Value::Str(s.as_str().into()),
            J::Array(a) => Value::Seq(a.iter().map(Node::from_json).collect()),
            J::Object(m) => Value::Map(
                m.iter()
                    .map(|(k, v)| (Node::str(k.as_str()), Node::from_json(v)))
                    .collect(),
            ),
        })
    }

    /// Convert to JSON. Tags are dropped (use [`Node::to_json_tagged`] to keep them); non-finite
    /// floats become the strings `"NaN"`, `"Infinity"`, `"-Infinity"`; integers outside `i64`/`u64`
    /// become strings; mapping keys use their string form.
    pub fn to_json(&self) -> serde_json::Value {
        self.json(false)
    }

    /// Convert to JSON keeping tags: a tagged node becomes `{"!": tag, "value": ...}`.
    pub fn to_json_tagged(&self) -> serde_json::Value {
        self.json(true)
    }

    fn json(&self, tags: bool) -> serde_json::Value {
        use serde_json::Value as J;
        let v = match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => {
                if let Ok(v) = i64::try_from(i.get()) {
                    J::from(v)
                } else if let Ok(v) = u64::try_from(i.get()) {
                    J::from(v)
                } else {
                    J::String(i.to_string())
                }
            }
            Value::Float(f) => {
                if f.is_nan() {
                    J::String("NaN".into())
                } else if f.is_infinite() {
                    J::String(if *f > 0.0 { "Infinity" } else { "-Infinity" }.into())
                } else {
                    serde_json::Number::from_f64(*f).map_or(J::Null, J::Number)
                }
            }
            Value::Str(s) => J::String(s.to_string()),
            Value::Seq(items) => J::Array(items.iter().map(|n| n.json(tags)).collect()),
            Value::Map(entries) => {
                let mut m = serde_json::Map::new();
                for (k, v) in entries {
                    let key = k.key_string().unwrap_or_else(|| k.json(tags).to_string());
                    m.insert(key, v.json(tags));
                }
                J::Object(m)
            }
        };
        match (&self.tag, tags) {
            (Some(t), true) => {
                let mut m = serde_json::Map::new();
                m.insert("!".into(), J::String(t.to_string()));
                m.insert("value".into(), v);
                J::Object(m)
            }
            _ => v,
        }
    }

    /// Visit every node with its path (depth first, file order).
    pub fn walk<'a>(&'a self, f: &mut dyn FnMut(&str, &'a Node)) {
        let how = Walk {
            tagged_only: false,
            reach: false,
        };
        walk_from(self, &mut String::new(), &mut |p, n, _| f(p, n), how, true);
    }

    /// [`Node::walk`] visiting only the tagged nodes (ASDF's arrays and objects are tagged):
    /// the same paths, without making one for each untagged scalar (most nodes of a tree).
    pub fn walk_tagged<'a>(&'a self, f: &mut dyn FnMut(&str, &'a Node)) {
        let how = Walk {
            tagged_only: true,
            reach: false,
        };
        walk_from(self, &mut String::new(), &mut |p, n, _| f(p, n), how, true);
    }

    /// [`Node::walk_tagged`] telling for each node whether [`Node::get_path`] of its path
    /// reaches it (not when an earlier key of a mapping has the same string form, e.g. `1` and
    /// `'1'`, or a key holds a `/` or is empty), found one step at a time on the way down
    /// instead of from the root for each node.
    pub(crate) fn walk_tagged_reachable<'a>(&'a self, f: &mut dyn FnMut(&str, &'a Node, bool)) {
        let how = Walk {
            tagged_only: true,
            reach: true,
        };
        walk_from(self, &mut String::new(), f, how, true);
    }
}

/// What a walk visits, and whether it tells if a node's path reaches it.
#[derive(Clone, Copy)]
struct Walk {
    /// Only the tagged nodes (untagged scalars are not descended into nor given a path).
    tagged_only: bool,
    /// Tell whether [`Node::get_path`] of each path reaches its node (else `false` is passed).
    reach: bool,
}

/// Visit `n` (at `path`, which `get_path` resolves to it when `reachable`) and its descendants.
fn walk_from<'a>(
    n: &'a Node,
    path: &mut String,
    f: &mut dyn FnMut(&str, &'a Node, bool),
    how: Walk,
    reachable: bool,
) {
    let reachable = reachable && how.reach;
    if !how.tagged_only || n.tag.is_some() {
        f(path, n, reachable);
    }
    let len = path.len();
    let skip = |c: &Node| {
        how.tagged_only && c.tag.is_none() && !matches!(c.value, Value::Seq(_) | Value::Map(_))
    };
    match &n.value {
        Value::Seq(items) => {
            for (i, c) in items.iter().enumerate() {
                if skip(c) {
                    continue;
                }
                if !path.is_empty() {
                    path.push('/');
                }
                push_index(path, i);
                // a decimal index always resolves to its item
                walk_from(c, path, f, how, reachable);
                path.truncate(len);
            }
        }
        Value::Map(entries) => {
            for (k, c) in entries {
                if skip(c) {
                    continue;
                }
                let at = if path.is_empty() { len } else { len + 1 };
                if !path.is_empty() {
                    path.push('/');
                }
                match &k.value {
                    Value::Str(s) => path.push_str(s),
                    _ => path.push_str(&k.key_string().unwrap_or_default()),
                }
                // `get_path` takes this step when the key is one segment and the first key of
                // this string form
                let step = reachable && {
                    let seg = path.get(at..).unwrap_or_default();
                    !seg.is_empty()
                        && !seg.contains('/')
                        && n.get(seg).is_some_and(|first| std::ptr::eq(first, c))
                };
                walk_from(c, path, f, how, step);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// Append the decimal digits of `i` (a sequence index of a path) without the formatting
/// machinery: a listing writes one per item of a long sequence.
fn push_index(path: &mut String, mut i: usize) {
    let mut digits = [0u8; 20];
    let mut n = digits.len();
    loop {
        n -= 1;
        if let Some(d) = digits.get_mut(n) {
            *d = b'0' + (i % 10) as u8;
        }
        i /= 10;
        if i == 0 || n == 0 {
            break;
        }
    }
    for &d in digits.get(n..).unwrap_or_default() {
        path.push(char::from(d));
    }
}

/// A tag without its `-x.y.z` version suffix.
pub fn tag_base(tag: &str) -> &str {
    match tag.rsplit_once('-') {
        Some((base, ver)) if ver.chars().next().is_some_and(|c| c.is_ascii_digit()) => base,
        _ => tag,
    }
}

/// The version suffix of a tag (`1.1.0` of `...ndarray-1.1.0`).
pub fn tag_version(tag: &str) -> Option<&str> {
    match tag.rsplit_once('-') {
        Some((_, ver)) if ver.chars().next().is_some_and(|c| c.is_ascii_digit()) => Some(ver),
        _ => None,
    }
}

/// Python's `repr(float)` (shortest round-trip form, with `.0`, `inf`, `nan`).
pub fn python_float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.into();
    }
    let a = f.abs();
    if a != 0.0 && !(1e-4..1e16).contains(&a) {
        // exponent form: mantissa digits as the shortest repr
        let s = format!("{f:e}");
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let e: i32 = e.parse().unwrap_or(0);
        return format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs());
    }
    let s = format!("{f}");
    if s.contains('.') {
        s
    } else {
        format!("{s}.0")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_indices_are_decimal() {
        for i in [0, 7, 10, 99, 12_345, usize::MAX] {
            let mut p = String::from("a/");
            push_index(&mut p, i);
            assert_eq!(p, format!("a/{i}"));
        }
        let n = Node::new(Value::Seq(
            thin_vec::thin_vec![Node::new(Value::int(1)); 12],
        ));
        let mut paths = Vec::new();
        n.walk(&mut |p, _| paths.push(p.to_string()));
        assert_eq!(paths.get(11).map(String::as_str), Some("10"));
        assert_eq!(paths.len(), 13);
    }

    #[test]
    fn a_node_takes_32_bytes() {
        assert_eq!(std::mem::size_of::<Value>(), 24);
        assert_eq!(std::mem::size_of::<Node>(), 32);
    }

    #[test]
    fn walk_tagged_reachable_agrees_with_get_path() {
        // keys of one string form (1 and '1', true and 'True', null and 'None'), a key with a
        // slash, an empty key, sequences inside mappings and the reverse
        let text = "%YAML 1.1\n--- !t/root\n1: !t/a x\n'1': !t/b y\ntrue: !t/c z\n\
                    'True': !t/d w\nnull: [!t/e v, {k: !t/f u}]\n'None': !t/g t\n\
                    a/b: !t/h s\n'': !t/i r\na: {b: !t/j q, c: [[!t/k p]]}\n...\n";
        let mut tree = crate::yaml::load(text, 0).expect("loads");
        // a mapping built by hand may repeat a key: only the first is reached
        tree.insert(
            "dup",
            Node::new(Value::Map(
                vec![
                    (Node::str("x"), Node::tagged("t/l", Value::Null)),
                    (Node::str("x"), Node::tagged("t/m", Value::Null)),
                ]
                .into(),
            )),
        );
        let mut seen = Vec::new();
        tree.walk_tagged_reachable(&mut |p, n, reachable| {
            let by_get = tree.get_path(p).is_some_and(|g| std::ptr::eq(g, n));
            seen.push((
                p.to_string(),
                n.tag().unwrap_or_default().to_string(),
                reachable,
            ));
            assert_eq!(reachable, by_get, "{p}");
        });
        let reached: Vec<&str> = seen
            .iter()
            .filter(|(_, _, r)| *r)
            .map(|(_, t, _)| t.trim_start_matches('!'))
            .collect();
        assert_eq!(
            reached,
            ["t/root", "t/a", "t/c", "t/e", "t/f", "t/j", "t/k", "t/l"]
        );
        assert_eq!(seen.len(), 14);
    }

    #[test]
    fn walk_tagged_visits_the_tagged_nodes_of_walk() {
        let text = "%YAML 1.1\n--- !t/root\na: 1\nb: !t/x {c: [1, !t/y 2, {d: !t/z 3}]}\n\
                    1: [!t/w q, r, [!t/v s]]\nnull: {e: f}\ng: !t/u\n  h: i\n...\n";
        let tree = crate::yaml::load(text, 0).expect("loads");
        let mut all = Vec::new();
        tree.walk(&mut |p, n| {
            if n.tag.is_some() {
                all.push((p.to_string(), n as *const Node));
            }
        });
        let mut tagged = Vec::new();
        tree.walk_tagged(&mut |p, n| tagged.push((p.to_string(), n as *const Node)));
        assert_eq!(tagged, all);
        let paths: Vec<&str> = tagged.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, ["", "b", "b/c/1", "b/c/2/d", "1/0", "1/2/0", "g"]);
    }
}
