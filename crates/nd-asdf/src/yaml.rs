//! The YAML tree: a node type that keeps every tag, and a loader that reads YAML the way PyYAML's
//! `SafeLoader` (YAML 1.1) does, which is what python asdf uses to read and write ASDF trees.
//!
//! Parsing uses `saphyr-parser`'s event API (which keeps `%TAG`-resolved tags, anchors and scalar
//! styles). Plain scalars are resolved with PyYAML's implicit resolvers (`lib/yaml/resolver.py`),
//! not YAML 1.2's core schema: `yes`/`on` are booleans, `017` is octal, `1:30` is 90, `1e5` is a string.

use crate::error::{Error, Result};
use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use std::collections::HashMap;

#[path = "yaml_fast.rs"]
mod fast;

/// The YAML core tag prefix.
pub const YAML_TAG_PREFIX: &str = "tag:yaml.org,2002:";

/// Largest nesting depth the loader accepts (deeper trees are an error, not a stack overflow).
pub const MAX_DEPTH: usize = 256;

/// One node of a YAML tree, with its tag (fully resolved through `%TAG`) if it had an explicit one.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The explicit tag (`tag:stsci.edu:asdf/core/ndarray-1.0.0`, `asdf://...`), `None` for untagged
    /// nodes and for nodes whose tag is a YAML core type that was resolved into the value.
    pub tag: Option<String>,
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
    Int(i128),
    /// A float (including `.nan`, `.inf`, sexagesimal).
    Float(f64),
    /// A string (also the value of scalars with an unknown tag, and of timestamps).
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in file order (keys are unique: a repeated key keeps its first position and last value).
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// An untagged node.
    pub fn new(value: Value) -> Self {
        Node { tag: None, value }
    }

    /// A tagged node.
    pub fn tagged(tag: impl Into<String>, value: Value) -> Self {
        Node {
            tag: Some(tag.into()),
            value,
        }
    }

    /// A string node.
    pub fn str(s: impl Into<String>) -> Self {
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
            Value::Str(s) => s == key,
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
            Value::Str(s) => Some(s.clone()),
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
            Value::Int(i) => Some(*i),
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
                (Some(i), _, _) => Value::Int(i as i128),
                (_, Some(u), _) => Value::Int(u as i128),
                (_, _, Some(f)) => Value::Float(f),
                _ => Value::Null,
            },
            J::String(s) => Value::Str(s.clone()),
            J::Array(a) => Value::Seq(a.iter().map(Node::from_json).collect()),
            J::Object(m) => Value::Map(
                m.iter()
                    .map(|(k, v)| (Node::str(k.clone()), Node::from_json(v)))
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
                if let Ok(v) = i64::try_from(*i) {
                    J::from(v)
                } else if let Ok(v) = u64::try_from(*i) {
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
            Value::Str(s) => J::String(s.clone()),
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
                m.insert("!".into(), J::String(t.clone()));
                m.insert("value".into(), v);
                J::Object(m)
            }
            _ => v,
        }
    }

    /// Visit every node with its path (depth first, file order).
    pub fn walk<'a>(&'a self, f: &mut dyn FnMut(&str, &'a Node)) {
        fn go<'a>(n: &'a Node, path: &mut String, f: &mut dyn FnMut(&str, &'a Node)) {
            f(path, n);
            let len = path.len();
            match &n.value {
                Value::Seq(items) => {
                    for (i, c) in items.iter().enumerate() {
                        if !path.is_empty() {
                            path.push('/');
                        }
                        use std::fmt::Write;
                        let _ = write!(path, "{i}");
                        go(c, path, f);
                        path.truncate(len);
                    }
                }
                Value::Map(entries) => {
                    for (k, c) in entries {
                        if !path.is_empty() {
                            path.push('/');
                        }
                        match &k.value {
                            Value::Str(s) => path.push_str(s),
                            _ => path.push_str(&k.key_string().unwrap_or_default()),
                        }
                        go(c, path, f);
                        path.truncate(len);
                    }
                }
                _ => {}
            }
        }
        let mut p = String::new();
        go(self, &mut p, f);
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

/// The NaN PyYAML constructs for `.nan`: `-inf / inf` computed at run time (on x86 the default
/// NaN, sign bit set: `0xfff8000000000000`), so inline values keep python's exact bits.
pub fn pyyaml_nan() -> f64 {
    let inf = std::hint::black_box(f64::INFINITY);
    -inf / inf
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

// ---------------------------------------------------------------------------------------------
// PyYAML (YAML 1.1) implicit resolution of plain scalars.

/// What a plain scalar resolves to under PyYAML's `Resolver`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Implicit {
    /// `tag:yaml.org,2002:null`
    Null,
    /// `tag:yaml.org,2002:bool`
    Bool,
    /// `tag:yaml.org,2002:int`
    Int,
    /// `tag:yaml.org,2002:float`
    Float,
    /// `tag:yaml.org,2002:timestamp`
    Timestamp,
    /// `tag:yaml.org,2002:merge` (`<<`)
    Merge,
    /// `tag:yaml.org,2002:value` (`=`), which PyYAML's SafeLoader cannot construct.
    ValueTag,
    /// `tag:yaml.org,2002:str`
    Str,
}

fn strip_sign(s: &str) -> &str {
    s.strip_prefix(['-', '+']).unwrap_or(s)
}

fn all(s: &str, f: impl Fn(u8) -> bool) -> bool {
    !s.is_empty() && s.bytes().all(f)
}

/// `[0-9][0-9_]*`
fn digits_us(s: &str) -> bool {
    s.as_bytes().first().is_some_and(u8::is_ascii_digit)
        && s.bytes().all(|b| b.is_ascii_digit() || b == b'_')
}

/// `(?::[0-5]?[0-9])+` applied to the parts after the first `:`.
fn sexagesimal_tail<'a>(parts: impl Iterator<Item = &'a str>) -> bool {
    let mut n = 0;
    for p in parts {
        let ok = match p.as_bytes() {
            [d] => d.is_ascii_digit(),
            [a, b] => (b'0'..=b'5').contains(a) && b.is_ascii_digit(),
            _ => false,
        };
        if !ok {
            return false;
        }
        n += 1;
    }
    n > 0
}

/// `[eE][-+][0-9]+` (PyYAML requires the exponent sign)
fn exponent(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 3
        && (b[0] == b'e' || b[0] == b'E')
        && (b[1] == b'-' || b[1] == b'+')
        && b[2..].iter().all(u8::is_ascii_digit)
}

fn is_int(s: &str) -> bool {
    let u = strip_sign(s);
    if let Some(r) = u.strip_prefix("0b") {
        return all(r, |b| b == b'0' || b == b'1' || b == b'_');
    }
    if let Some(r) = u.strip_prefix("0x") {
        return all(r, |b| b.is_ascii_hexdigit() || b == b'_');
    }
    if let Some(r) = u.strip_prefix('0') {
        // `0` alone, or `0[0-7_]+`
        return r.is_empty() || all(r, |b| (b'0'..=b'7').contains(&b) || b == b'_');
    }
    if u.as_bytes()
        .first()
        .is_some_and(|b| (b'1'..=b'9').contains(b))
    {
        let mut parts = u.split(':');
        let first = parts.next().unwrap_or("");
        if !digits_us(first) {
            return false;
        }
        return !u.contains(':') || sexagesimal_tail(parts);
    }
    false
}

fn is_float(s: &str) -> bool {
    // [-+]?\.(?:inf|Inf|INF)  |  \.(?:nan|NaN|NAN)
    if matches!(strip_sign(s), ".inf" | ".Inf" | ".INF") || matches!(s, ".nan" | ".NaN" | ".NAN") {
        return true;
    }
    // \.[0-9][0-9_]*(?:[eE][-+][0-9]+)?   (no sign)
    if let Some(r) = s.strip_prefix('.') {
        let end = r.find(['e', 'E']).unwrap_or(r.len());
        return digits_us(&r[..end]) && (end == r.len() || exponent(&r[end..]));
    }
    let u = strip_sign(s);
    let Some(dot) = u.find('.') else {
        return false;
    };
    let (int_part, rest) = (&u[..dot], &u[dot + 1..]);
    if int_part.contains(':') {
        // [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
        let mut parts = int_part.split(':');
        let first = parts.next().unwrap_or("");
        return digits_us(first)
            && sexagesimal_tail(parts)
            && rest.bytes().all(|b| b.is_ascii_digit() || b == b'_');
    }
    // [-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?
    if !digits_us(int_part) {
        return false;
    }
    let end = rest.find(['e', 'E']).unwrap_or(rest.len());
    rest[..end].bytes().all(|b| b.is_ascii_digit() || b == b'_')
        && (end == rest.len() || exponent(&rest[end..]))
}

fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let d = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    // [0-9]{4}-[0-9]{2}-[0-9]{2}
    if b.len() == 10
        && (0..4).all(d)
        && b[4] == b'-'
        && d(5)
        && d(6)
        && b[7] == b'-'
        && d(8)
        && d(9)
    {
        return true;
    }
    // [0-9]{4}-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?
    //   (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?
    let mut i = 0;
    let take_digits = |i: &mut usize, min: usize, max: usize| -> bool {
        let st = *i;
        while *i < b.len() && *i - st < max && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - st >= min
    };
    let lit = |i: &mut usize, c: u8| -> bool {
        if b.get(*i) == Some(&c) {
            *i += 1;
            true
        } else {
            false
        }
    };
    if !(take_digits(&mut i, 4, 4)
        && lit(&mut i, b'-')
        && take_digits(&mut i, 1, 2)
        && lit(&mut i, b'-')
        && take_digits(&mut i, 1, 2))
    {
        return false;
    }
    if !(lit(&mut i, b'T') || lit(&mut i, b't')) {
        let st = i;
        while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
            i += 1;
        }
        if i == st {
            return false;
        }
    }
    if !(take_digits(&mut i, 1, 2)
        && lit(&mut i, b':')
        && take_digits(&mut i, 2, 2)
        && lit(&mut i, b':')
        && take_digits(&mut i, 2, 2))
    {
        return false;
    }
    if lit(&mut i, b'.') {
        take_digits(&mut i, 0, usize::MAX);
    }
    while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
        i += 1;
    }
    if i == b.len() {
        return true;
    }
    if lit(&mut i, b'Z') {
        return i == b.len();
    }
    if !(lit(&mut i, b'-') || lit(&mut i, b'+')) || !take_digits(&mut i, 1, 2) {
        return false;
    }
    if lit(&mut i, b':') && !take_digits(&mut i, 2, 2) {
        return false;
    }
    i == b.len()
}

/// Resolve a plain scalar the way PyYAML's `Resolver` does (resolvers are tried in registration
/// order among those registered for the first character: bool, float, int, merge, null, timestamp, value).
pub fn resolve_plain(s: &str) -> Implicit {
    if matches!(
        s,
        "yes"
            | "Yes"
            | "YES"
            | "no"
            | "No"
            | "NO"
            | "true"
            | "True"
            | "TRUE"
            | "false"
            | "False"
            | "FALSE"
            | "on"
            | "On"
            | "ON"
            | "off"
            | "Off"
            | "OFF"
    ) {
        return Implicit::Bool;
    }
    let first = s.as_bytes().first().copied();
    if matches!(first, Some(b'-' | b'+' | b'0'..=b'9' | b'.')) && is_float(s) {
        return Implicit::Float;
    }
    if matches!(first, Some(b'-' | b'+' | b'0'..=b'9')) && is_int(s) {
        return Implicit::Int;
    }
    if s == "<<" {
        return Implicit::Merge;
    }
    if matches!(s, "~" | "null" | "Null" | "NULL" | "") {
        return Implicit::Null;
    }
    if first.is_some_and(|b| b.is_ascii_digit()) && is_timestamp(s) {
        return Implicit::Timestamp;
    }
    if s == "=" {
        return Implicit::ValueTag;
    }
    Implicit::Str
}

/// PyYAML's `construct_yaml_int` (underscores dropped, sign, `0b`, `0x`, leading-zero octal, base 60).
/// `None` when the value does not fit an `i128` or the digits are empty (PyYAML raises there too).
pub fn construct_int(s: &str) -> Option<i128> {
    let v: String = s.chars().filter(|&c| c != '_').collect();
    let (neg, v) = match v.as_bytes().first() {
        Some(b'-') => (true, &v[1..]),
        Some(b'+') => (false, &v[1..]),
        _ => (false, &v[..]),
    };
    let mag: i128 = if v == "0" {
        0
    } else if let Some(r) = v.strip_prefix("0b") {
        i128::from_str_radix(r, 2).ok()?
    } else if let Some(r) = v.strip_prefix("0x") {
        i128::from_str_radix(r, 16).ok()?
    } else if v.starts_with('0') {
        i128::from_str_radix(v, 8).ok()?
    } else if v.contains(':') {
        let mut acc: i128 = 0;
        for p in v.split(':') {
            acc = acc.checked_mul(60)?.checked_add(p.parse::<i128>().ok()?)?;
        }
        acc
    } else {
        v.parse().ok()?
    };
    Some(if neg { -mag } else { mag })
}

/// PyYAML's `construct_yaml_float`.
pub fn construct_float(s: &str) -> Option<f64> {
    let v: String = s
        .chars()
        .filter(|&c| c != '_')
        .collect::<String>()
        .to_lowercase();
    let (sign, v) = match v.as_bytes().first() {
        Some(b'-') => (-1.0, &v[1..]),
        Some(b'+') => (1.0, &v[1..]),
        _ => (1.0, &v[..]),
    };
    if v == ".inf" {
        return Some(sign * f64::INFINITY);
    }
    if v == ".nan" {
        return Some(pyyaml_nan());
    }
    if v.contains(':') {
        let mut acc = 0.0;
        for p in v.split(':') {
            acc = acc * 60.0 + parse_py_float(p)?;
        }
        return Some(sign * acc);
    }
    Some(sign * parse_py_float(v)?)
}

/// Python's `float()` for the digit forms PyYAML's regex admits (`1.`, `.5`, `1.0e+5`).
fn parse_py_float(s: &str) -> Option<f64> {
    if s.is_empty() {
        return None;
    }
    let mut t = s.to_string();
    if t.starts_with('.') {
        t.insert(0, '0');
    }
    if let Some(p) = t.find('.') {
        if !t[p + 1..].starts_with(|c: char| c.is_ascii_digit()) {
            t.insert(p + 1, '0');
        }
    }
    t.parse().ok()
}

/// PyYAML's `bool_values[value.lower()]`.
fn construct_bool(s: &str) -> Option<bool> {
    match s.to_lowercase().as_str() {
        "yes" | "true" | "on" => Some(true),
        "no" | "false" | "off" => Some(false),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Loader

/// Limits for loading untrusted YAML.
#[derive(Debug, Clone, Copy)]
pub struct LoadOptions {
    /// Largest number of nodes the tree may have after alias expansion.
    pub node_budget: u64,
}

impl LoadOptions {
    /// The default budget for a document of `len` bytes: ten nodes per byte plus a million,
    /// far more than any real tree, far less than an exponential alias bomb.
    pub fn for_len(len: usize) -> Self {
        LoadOptions {
            node_budget: 1_000_000 + 10 * len as u64,
        }
    }
}

struct Frame {
    tag: Option<String>,
    anchor: usize,
    size: u64,
    kind: FrameKind,
}

enum FrameKind {
    Seq(Vec<Node>),
    Map {
        entries: Vec<(Node, Node)>,
        seen: Option<Box<KeyIndex>>,
        key: Option<Node>,
        merges: Vec<Node>,
        pending_merge: bool,
    },
}

struct Loader {
    stack: Vec<Frame>,
    anchors: HashMap<usize, (Node, u64)>,
    total: u64,
    budget: u64,
    root: Option<Node>,
    base_offset: u64,
}

/// Load the first YAML document of `text` into a tree (PyYAML `SafeLoader` semantics).
/// `base_offset` is added to positions in error messages (the tree's offset in the file).
pub fn load(text: &str, base_offset: u64) -> Result<Node> {
    load_with(text, base_offset, LoadOptions::for_len(text.len()))
}

/// [`load`] with explicit limits.
pub fn load_with(text: &str, base_offset: u64, opts: LoadOptions) -> Result<Node> {
    if let Some(root) = fast::load(text, opts) {
        return Ok(root);
    }
    load_events(text, base_offset, opts)
}

/// The fast path of [`load`] alone: `None` when the text needs the full parser (for the
/// differential tests and the fuzz target).
#[doc(hidden)]
pub fn load_fast(text: &str) -> Option<Node> {
    fast::load(text, LoadOptions::for_len(text.len()))
}

/// [`load_with`] through the full YAML parser (`saphyr-parser` events) only.
pub fn load_events(text: &str, base_offset: u64, opts: LoadOptions) -> Result<Node> {
    let mut ld = Loader {
        stack: Vec::new(),
        anchors: HashMap::new(),
        total: 0,
        budget: opts.node_budget,
        root: None,
        base_offset,
    };
    let parser = Parser::new_from_str(text);
    let mut started = false;
    for ev in parser {
        let (ev, span) = ev.map_err(|e| Error::Yaml {
            offset: base_offset + e.marker().index() as u64,
            message: e.info().to_string(),
        })?;
        match ev {
            Event::DocumentStart(_) => {
                if started {
                    break;
                }
                started = true;
            }
            Event::DocumentEnd => {
                if ld.root.is_some() {
                    break;
                }
            }
            Event::StreamEnd => break,
            other => ld.event(other, span)?,
        }
        if ld.root.is_some() && ld.stack.is_empty() {
            // keep going only to the end of the document
        }
    }
    Ok(ld.root.unwrap_or(Node::new(Value::Null)))
}

fn full_tag(t: &saphyr_parser::Tag) -> String {
    let mut s = String::with_capacity(t.handle.len() + t.suffix.len());
    s.push_str(&t.handle);
    s.push_str(&t.suffix);
    s
}

impl Loader {
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

    fn event(&mut self, ev: Event<'_>, span: Span) -> Result<()> {
        match ev {
            Event::Scalar(value, style, anchor, tag) => {
                self.on_scalar(&value, style, anchor, tag.map(|t| full_tag(&t)), span)
            }
            Event::SequenceStart(anchor, tag) => {
                self.on_start(true, anchor, tag.map(|t| full_tag(&t)))
            }
            Event::MappingStart(anchor, tag) => {
                self.on_start(false, anchor, tag.map(|t| full_tag(&t)))
            }
            Event::SequenceEnd | Event::MappingEnd => self.on_end(span),
            Event::Alias(id) => {
                let Some((node, size)) = self.anchors.get(&id) else {
                    return Err(Error::CyclicAlias { anchor: id });
                };
                let (node, size) = (node.clone(), *size);
                // the alias itself was not counted yet; its copy costs its size
                self.count(size)?;
                self.finish(node, size, 0, false)
            }
            _ => Ok(()),
        }
    }

    fn on_scalar(
        &mut self,
        value: &str,
        style: ScalarStyle,
        anchor: usize,
        tag: Option<String>,
        span: Span,
    ) -> Result<()> {
        self.count(1)?;
        let (node, merge) = self.scalar(value, style, tag, span)?;
        self.finish(node, 1, anchor, merge)
    }

    fn on_start(&mut self, seq: bool, anchor: usize, tag: Option<String>) -> Result<()> {
        self.count(1)?;
        let kind = if seq {
            FrameKind::Seq(Vec::new())
        } else {
            FrameKind::Map {
                entries: Vec::new(),
                seen: None,
                key: None,
                merges: Vec::new(),
                pending_merge: false,
            }
        };
        self.push(Frame {
            tag,
            anchor,
            size: 1,
            kind,
        })
    }

    fn on_end(&mut self, span: Span) -> Result<()> {
        let Some(f) = self.stack.pop() else {
            return Err(self.err(span, "unbalanced collection end"));
        };
        let tag = f
            .tag
            .filter(|t| t != "tag:yaml.org,2002:seq" && t != "tag:yaml.org,2002:map" && t != "!");
        let node = match f.kind {
            FrameKind::Seq(items) => Node {
                tag,
                value: Value::Seq(items),
            },
            FrameKind::Map {
                entries, merges, ..
            } => Node {
                tag,
                value: Value::Map(flatten_merges(entries, merges)),
            },
        };
        self.finish(node, f.size, f.anchor, false)
    }

    fn push(&mut self, f: Frame) -> Result<()> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(Error::TooDeep(MAX_DEPTH));
        }
        self.stack.push(f);
        Ok(())
    }

    fn scalar(
        &self,
        value: &str,
        style: ScalarStyle,
        tag: Option<String>,
        span: Span,
    ) -> Result<(Node, bool)> {
        let bad = |what: &str| self.err(span, format!("cannot construct {what} from {value:?}"));
        let core = |t: &str| tag.as_deref() == Some(&format!("{YAML_TAG_PREFIX}{t}")[..]);
        if tag.is_none() && style == ScalarStyle::Plain {
            let v = match resolve_plain(value) {
                Implicit::Null => Value::Null,
                Implicit::Bool => Value::Bool(construct_bool(value).ok_or_else(|| bad("bool"))?),
                Implicit::Int => match construct_int(value) {
                    Some(i) => Value::Int(i),
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
                Implicit::Merge => return Ok((Node::str(value), true)),
                Implicit::ValueTag => {
                    return Err(self.err(span, "PyYAML cannot construct the '=' value tag"))
                }
                Implicit::Str => Value::Str(value.into()),
            };
            return Ok((Node::new(v), false));
        }
        let node = match tag.as_deref() {
            None | Some("!") => Node::str(value),
            Some(_) if core("str") => Node::str(value),
            Some(_) if core("null") => Node::new(Value::Null),
            Some(_) if core("bool") => Node::new(Value::Bool(
                construct_bool(value).ok_or_else(|| bad("bool"))?,
            )),
            Some(_) if core("int") => {
                Node::new(Value::Int(construct_int(value).ok_or_else(|| bad("int"))?))
            }
            Some(_) if core("float") => Node::new(Value::Float(
                construct_float(value).ok_or_else(|| bad("float"))?,
            )),
            Some(t) => Node::tagged(t, Value::Str(value.into())),
        };
        Ok((node, false))
    }

    fn finish(&mut self, node: Node, size: u64, anchor: usize, merge_key: bool) -> Result<()> {
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
            FrameKind::Seq(items) => items.push(node),
            FrameKind::Map {
                entries,
                seen,
                key,
                merges,
                pending_merge,
            } => match key.take() {
                None => {
                    *key = Some(node);
                    *pending_merge = merge_key;
                }
                Some(k) => {
                    if *pending_merge {
                        merges.push(node);
                        *pending_merge = false;
                    } else {
                        insert_entry_hashed(entries, seen, k, node);
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
        Value::Int(i) => (2u8, i).hash(&mut h),
        Value::Str(s) => (3u8, s.as_str()).hash(&mut h),
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

fn insert_entry_hashed(
    entries: &mut Vec<(Node, Node)>,
    seen: &mut Option<Box<KeyIndex>>,
    k: Node,
    v: Node,
) {
    if seen.is_none() {
        if entries.len() < HASH_FROM {
            return insert_entry(entries, k, v);
        }
        // the mapping became large: index what it has so far
        let mut idx = Box::<KeyIndex>::default();
        for (i, (kk, _)) in entries.iter().enumerate() {
            if let Some(h) = key_hash(&idx.state, kk) {
                idx.map.entry(h).or_insert(i);
            }
        }
        *seen = Some(idx);
    }
    let Some(idx) = seen.as_mut() else {
        return insert_entry(entries, k, v);
    };
    match key_hash(&idx.state, &k) {
        Some(h) => match idx.map.get(&h) {
            Some(&i) if entries.get(i).is_some_and(|(kk, _)| kk.value == k.value) => {
                if let Some(slot) = entries.get_mut(i) {
                    slot.1 = v;
                }
            }
            // a 64-bit hash collision between different keys: the slow way
            Some(_) => insert_entry(entries, k, v),
            None => {
                idx.map.insert(h, entries.len());
                entries.push((k, v));
            }
        },
        None => insert_entry(entries, k, v),
    }
}

fn insert_entry(entries: &mut Vec<(Node, Node)>, k: Node, v: Node) {
    if let Some(slot) = entries.iter_mut().find(|(kk, _)| kk.value == k.value) {
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
    let mut sources: Vec<Vec<(Node, Node)>> = Vec::new();
    for m in merges {
        match m.value {
            Value::Map(e) => sources.push(e),
            Value::Seq(items) => {
                let mut sub: Vec<Vec<(Node, Node)>> = items
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
            insert_entry(&mut out, k, v);
        }
    }
    for (k, v) in own {
        insert_entry(&mut out, k, v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_like_pyyaml() {
        assert_eq!(resolve_plain("yes"), Implicit::Bool);
        assert_eq!(resolve_plain("y"), Implicit::Str);
        assert_eq!(resolve_plain("017"), Implicit::Int);
        assert_eq!(construct_int("017"), Some(15));
        assert_eq!(construct_int("0x1F"), Some(31));
        assert_eq!(construct_int("1_000"), Some(1000));
        assert_eq!(construct_int("1:30"), Some(90));
        assert_eq!(resolve_plain("08"), Implicit::Str);
        assert_eq!(resolve_plain("1e5"), Implicit::Str);
        assert_eq!(resolve_plain("1.0e+5"), Implicit::Float);
        assert_eq!(resolve_plain("1.0e5"), Implicit::Str);
        assert_eq!(resolve_plain("2001-12-14"), Implicit::Timestamp);
        assert_eq!(construct_float("1:30.5"), Some(90.5));
        assert_eq!(construct_float("1."), Some(1.0));
    }

    #[test]
    fn tags_anchors_and_bombs() {
        let t = "%YAML 1.1\n%TAG ! tag:stsci.edu:asdf/\n--- !core/asdf-1.1.0\na: &x !core/ndarray-1.0.0 {data: [1, 2]}\nb: *x\nc: !<asdf://x/y-1.0.0> 3\n...\n";
        let n = load(t, 0).unwrap();
        assert_eq!(n.tag(), Some("tag:stsci.edu:asdf/core/asdf-1.1.0"));
        assert_eq!(
            n.get_path("b").unwrap().tag(),
            Some("tag:stsci.edu:asdf/core/ndarray-1.0.0")
        );
        assert_eq!(n.get_path("b/data/1").unwrap().as_int(), Some(2));
        assert_eq!(n.get("c").unwrap().tag(), Some("asdf://x/y-1.0.0"));
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..12 {
            let refs = vec![format!("*{}", (b'a' + i) as char); 10].join(", ");
            bomb.push_str(&format!(
                "{}: &{} [{refs}]\n",
                (b'b' + i) as char,
                (b'b' + i) as char
            ));
        }
        assert!(matches!(load(&bomb, 0), Err(Error::AliasBudget { .. })));
        let deep = "[".repeat(10_000);
        assert!(load(&deep, 0).is_err());
    }
}
