//! Entry points for the cargo-fuzz targets and the corpus replay tests. None may panic.

use nd_core::{ArrayRead, MemSource};
use std::sync::Arc;

/// Open a whole file from bytes and read every array (bounded).
pub fn asdf_open(data: &[u8]) {
    let _ = asdf_open_with(data, nd_core::Limits::default());
}

/// [`asdf_open`] under `limits`; true when the file opened.
fn asdf_open_with(data: &[u8], limits: nd_core::Limits) -> bool {
    let src = Arc::new(MemSource::new(data.to_vec()));
    let opened = crate::AsdfFile::from_source_with(src, limits);
    let ok = opened.is_ok();
    if let Ok(f) = opened {
        let _ = f.tree().to_json();
        let _ = crate::schema::check_tree(f.tree());
        let _ = f.verify();
        for (path, _) in f.arrays().into_iter().take(64) {
            if let Ok(a) = f.array(&path) {
                let n: u64 = a.shape().iter().product();
                if n.saturating_mul(a.dtype().size() as u64) <= 1 << 24 {
                    let _ = a.read_all();
                    let _ = a.read_mask(&nd_core::Region::full(a.shape()));
                }
            }
        }
    }
    ok
}

/// Parse block headers and the block index of bytes that start at a block (a `#ASDF` header is prepended).
pub fn asdf_blocks(data: &[u8]) {
    let mut v = b"#ASDF 1.0.0\n".to_vec();
    v.extend_from_slice(data);
    let src = MemSource::new(v);
    if let Ok(l) = crate::layout::parse_layout(&src) {
        for (i, h) in l.blocks.iter().enumerate() {
            let _ = crate::layout::BlockHeader::read(&src, h.offset, i);
        }
    }
}

/// Load bytes as a YAML tree and convert it to JSON. Also a differential check: when the fast
/// path accepts the text, the full parser must give the same tree (panics otherwise: a bug).
pub fn asdf_yaml(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Some(fast) = crate::yaml::load_fast(text) {
            let full =
                crate::yaml::load_events(text, 0, crate::yaml::LoadOptions::for_len(text.len()));
            match full {
                Ok(full) => assert_eq!(
                    format!("{fast:?}"),
                    format!("{full:?}"),
                    "fast YAML path differs from saphyr on {text:?}"
                ),
                Err(e) => panic!("fast YAML path accepted what saphyr rejects ({e}): {text:?}"), // ok: a fuzz invariant; the panic is the finding
            }
        }
        if let Ok(n) = crate::yaml::load(text, 0) {
            let _ = n.to_json_tagged();
            let _ = n.get_path("a/0/b");
        }
    }
}

/// Interpret bytes as a YAML ndarray node (with a small block of zeros available) and read it.
pub fn asdf_ndarray(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut file = b"#ASDF 1.0.0\n%YAML 1.1\n%TAG ! tag:stsci.edu:asdf/\n--- !core/asdf-1.1.0\nx: !core/ndarray-1.0.0\n".to_vec();
    for line in text.lines().take(200) {
        file.extend_from_slice(b"  ");
        file.extend_from_slice(line.as_bytes());
        file.push(b'\n');
    }
    file.extend_from_slice(b"...\n");
    file.extend_from_slice(b"\xd3BLK\x000");
    let mut h = [0u8; 48];
    h[8..16].copy_from_slice(&256u64.to_be_bytes());
    h[16..24].copy_from_slice(&256u64.to_be_bytes());
    h[24..32].copy_from_slice(&256u64.to_be_bytes());
    file.extend_from_slice(&h);
    file.extend((0..=255u8).collect::<Vec<_>>());
    asdf_open(&file);
}

/// The node budget of [`yaml_aliases`], for the direct loads and for the ASDF file
/// ([`nd_core::Limits::tree_nodes`]): small, so that a bomb is stopped after a few thousand
/// nodes and a tree under it is quick to walk. The checks are the same at any budget; the
/// default one (a quarter million nodes for a small file) made each input that came near it
/// take the fuzzer half a second (opening, schema walk, JSON, arrays of every node).
const ALIAS_BUDGET: u64 = 2_000;

/// Nodes of a tree (keys too), counting stops past `cap`.
fn count_nodes(n: &crate::Node, cap: u64) -> u64 {
    use crate::Value;
    let mut total = 1u64;
    match &n.value {
        Value::Seq(items) => {
            for i in items {
                total += count_nodes(i, cap);
                if total > cap {
                    break;
                }
            }
        }
        Value::Map(entries) => {
            for (k, v) in entries {
                total += count_nodes(k, cap) + count_nodes(v, cap);
                if total > cap {
                    break;
                }
            }
        }
        _ => {}
    }
    total
}

/// A YAML document of anchors and aliases in billion-laughs shapes: each level an anchored
/// flow or block sequence or mapping (or a merge) of aliases to earlier levels, then a root
/// using the last ones. Returns the text and a lower bound of its nodes after expansion
/// (scalars and collections reached through sequences and mapping values; merges not counted).
fn gen_alias_doc(u: &mut arbitrary::Unstructured) -> arbitrary::Result<(String, u64)> {
    let levels = u.int_in_range(1..=14)?;
    let mut sizes: Vec<u64> = Vec::new();
    let mut text = String::new();
    for lv in 0..levels {
        let fan = u.int_in_range(1..=12)?;
        let mut items = Vec::new();
        let mut size = 1u64;
        for _ in 0..fan {
            if sizes.is_empty() || u.ratio(1, 6)? {
                items.push(match u.int_in_range(0..=3)? {
                    0 => "lol".to_string(),
                    1 => u.arbitrary::<i32>()?.to_string(),
                    2 => "[]".to_string(),
                    _ => "{}".to_string(),
                });
                size = size.saturating_add(1);
            } else {
                let j = u.choose_index(sizes.len())?;
                items.push(format!("*a{j}"));
                size = size.saturating_add(sizes[j]);
            }
        }
        let style = u.int_in_range(0..=3)?;
        let body = match style {
            0 => format!("[{}]", items.join(", ")),
            1 => {
                let kv: Vec<String> = items
                    .iter()
                    .enumerate()
                    .map(|(k, v)| format!("k{k}: {v}"))
                    .collect();
                format!("{{{}}}", kv.join(", "))
            }
            2 => {
                let mut s = String::new();
                for v in &items {
                    s.push_str(&format!("\n  - {v}"));
                }
                s
            }
            _ => {
                // a mapping merging earlier mappings; the merged entries are not counted
                let mut s = String::from("\n  own: 1");
                for v in items.iter().filter(|v| v.starts_with('*')) {
                    s.push_str(&format!("\n  <<: {v}"));
                }
                size = 2;
                s
            }
        };
        text.push_str(&format!("l{lv}: &a{lv} {body}\n"));
        sizes.push(size);
    }
    let roots = u.int_in_range(0..=4)?;
    let mut total: u64 = sizes.iter().fold(1u64, |a, &s| a.saturating_add(s));
    for r in 0..roots {
        let j = u.choose_index(sizes.len())?;
        text.push_str(&format!("r{r}: [*a{j}, *a{j}]\n"));
        total = total.saturating_add(sizes[j].saturating_mul(2));
    }
    if u.ratio(1, 8)? {
        text.push_str("cycle: &c [*c]\n"); // an alias to an anchor still open
    }
    Ok((text, total))
}

/// Anchors and aliases in billion-laughs shapes (`gen_alias_doc`): under a small node
/// budget a loaded tree never exceeds it and a document whose expansion surely does is
/// refused; then the document as an ASDF file opened under the same budget
/// ([`nd_core::Limits::tree_nodes`]), which must refuse it the same way.
pub fn yaml_aliases(data: &[u8]) {
    let mut u = arbitrary::Unstructured::new(data);
    let Ok((text, at_least)) = gen_alias_doc(&mut u) else {
        return;
    };
    let opts = crate::yaml::LoadOptions {
        node_budget: ALIAS_BUDGET,
        max_depth: 64,
    };
    if let Ok(tree) = crate::yaml::load_with(&text, 0, opts) {
        let n = count_nodes(&tree, ALIAS_BUDGET + 1);
        assert!(
            n <= ALIAS_BUDGET,
            "{n} nodes loaded under a budget of {ALIAS_BUDGET}"
        );
        assert!(
            at_least <= ALIAS_BUDGET,
            "a document of at least {at_least} nodes loaded under a budget of {ALIAS_BUDGET}"
        );
    }
    let mut file =
        String::from("#ASDF 1.0.0\n%YAML 1.1\n%TAG ! tag:stsci.edu:asdf/\n--- !core/asdf-1.1.0\n");
    file.push_str(&text);
    file.push_str("...\n");
    let limits = nd_core::Limits {
        tree_nodes: ALIAS_BUDGET,
        ..nd_core::Limits::default()
    };
    let opened = asdf_open_with(file.as_bytes(), limits);
    assert!(
        !opened || at_least <= ALIAS_BUDGET,
        "an ASDF tree of at least {at_least} nodes opened with tree_nodes = {ALIAS_BUDGET}"
    );
}
