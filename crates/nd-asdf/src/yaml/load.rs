//! Loading a YAML document: the fast path for the YAML python asdf and nd-asdf emit, else the
//! full parser (`saphyr-parser` events), both building the tree with the same [`Loader`].

use super::fast;
use super::loader::{LoadOptions, Loader};
use super::node::{Node, Value};
use crate::error::{Error, Result};
use saphyr_parser::{Event, Parser};

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
    let mut ld = Loader::new(opts, base_offset);
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
        if ld.root.is_some() && !ld.in_collection() {
            // keep going only to the end of the document
        }
    }
    Ok(ld.root.unwrap_or(Node::new(Value::Null)))
}

#[cfg(test)]
mod tests {
    use super::*;

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
