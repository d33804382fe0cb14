//! Entry points for the cargo-fuzz targets and the corpus replay tests. None may panic.

use nd_core::{ArrayRead, MemSource};
use std::sync::Arc;

/// Open a whole file from bytes and read every array (bounded).
pub fn asdf_open(data: &[u8]) {
    let src = Arc::new(MemSource::new(data.to_vec()));
    if let Ok(f) = crate::AsdfFile::from_source(src) {
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
