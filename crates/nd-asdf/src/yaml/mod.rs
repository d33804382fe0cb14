//! The YAML tree: a node type that keeps every tag, and a loader that reads YAML the way PyYAML's
//! `SafeLoader` (YAML 1.1) does, which is what python asdf uses to read and write ASDF trees.
//!
//! Parsing uses `saphyr-parser`'s event API (which keeps `%TAG`-resolved tags, anchors and scalar
//! styles). Plain scalars are resolved with PyYAML's implicit resolvers (`lib/yaml/resolver.py`),
//! not YAML 1.2's core schema: `yes`/`on` are booleans, `017` is octal, `1:30` is 90, `1e5` is a string.
//!
//! From the bottom up: `node` (the tree), `resolve` (PyYAML's scalar resolution), `loader` (builds
//! the tree from events, under budgets), `fast` (a fast path for the YAML asdf writers emit) and
//! `load` (the entry points: the fast path, else the full parser).

mod fast;
mod load;
mod loader;
mod node;
mod resolve;

pub use load::{load, load_events, load_fast, load_with};
pub use loader::LoadOptions;
pub use node::{
    python_float_repr, tag_base, tag_version, Integer, Node, Tag, ThinVec, Value, YAML_TAG_PREFIX,
};
pub use resolve::{construct_float, construct_int, pyyaml_nan, resolve_plain, Implicit};
