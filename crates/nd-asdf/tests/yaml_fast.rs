//! The fast YAML path against the full parser (saphyr-parser events) on every tree of every
//! ASDF file in testdata, and on hand-made documents at the edges of the fast subset.
mod common;
use common::*;
use nd_asdf::yaml::{load_events, load_fast, LoadOptions};
use std::path::Path;

fn trees(dir: &Path, out: &mut Vec<(String, String)>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            trees(&p, out);
        } else if p.extension().is_some_and(|x| x == "asdf") {
            let src = nd_core::MemSource::new(std::fs::read(&p).unwrap());
            let Ok(l) = nd_asdf::layout::parse_layout(&src) else {
                continue;
            };
            let bytes = std::fs::read(&p).unwrap();
            if let Some(r) = l.tree {
                if let Ok(t) = std::str::from_utf8(&bytes[r.start as usize..r.end as usize]) {
                    out.push((p.display().to_string(), t.to_string()));
                }
            }
            if let Some(io) = l.index_offset {
                let t = String::from_utf8_lossy(&bytes[io as usize + 17..]).to_string();
                out.push((format!("{} (index)", p.display()), t));
            }
        }
    }
}

fn same(name: &str, text: &str) -> bool {
    let full = load_events(text, 0, LoadOptions::for_len(text.len()));
    match load_fast(text) {
        Some(fast) => {
            let full = full.unwrap_or_else(|e| panic!("{name}: fast path accepted, saphyr: {e}"));
            assert_eq!(format!("{fast:?}"), format!("{full:?}"), "{name}");
            true
        }
        None => false,
    }
}

#[test]
fn fast_path_agrees_with_saphyr_on_every_test_file() {
    let mut all = Vec::new();
    trees(&testdata(), &mut all);
    let mut fast = 0;
    let mut fast_names = Vec::new();
    for (name, text) in &all {
        if same(name, text) {
            fast += 1;
            fast_names.push(name.clone());
        } else {
            eprintln!("full parser: {name}");
        }
    }
    eprintln!("{fast} of {} trees and indexes on the fast path", all.len());
    assert!(all.len() > 150);
    // what python asdf and nd-asdf write takes the fast path
    for want in [
        "many_blocks.asdf",
        "index_present.asdf",
        "w_compressed.asdf",
        "w_deferred.asdf",
        "many_blocks.asdf (index)",
    ] {
        assert!(
            fast_names.iter().any(|n| n.ends_with(want)),
            "{want} not on the fast path"
        );
    }
    assert!(fast * 2 > all.len(), "only {fast} of {}", all.len());
}

#[test]
fn fast_path_edges() {
    let head = "%YAML 1.1\n%TAG ! tag:stsci.edu:asdf/\n--- !core/asdf-1.1.0\n";
    let docs = [
        "a: 1\nb: [1, 2, [3, 4], []]\nc: {}\nd: 'it''s'\ne: \"q\"\nf:\ng: ~\n",
        "a:\n- 1\n- x: 2\n  y: 3\n-\n- !core/thing-1.0.0\n  z: 4\nb: yes\n",
        "a: !!str 5\nb: !!int '7'\nc: !core/complex-1.0.0 1+2j\nd: 1:30\ne: 017\nf: .nan\n",
        "a: 1\na: 2\n<<: {}\n",
        "k: v\n  continued\n",
        "a: b: c\n",
        "a: [1,\n  2]\n",
        "a: &x 1\nb: *x\n",
        "a: 1 # c\n",
        "a:\n  - 1\n  - 2\nb: 3\n",
        "a: !\n",
        "a: -1\nb: - 1\n",
        "a: x:y\nb: http://e.x/a?b=c\n",
        "'q': 1\n",
        "a: [a b, c]\n",
        "- 1\n- 2\n",
        "a:\n  b:\n    c: 1\n  d: 2\ne: 3\n",
        "a: 1\n...\n",
        "a: 1\n---\nb: 2\n",
        "a: !ex!x 1\n",
        "a: '\n",
        "a: [1, , 2]\n",
        "a: [1, 2,]\n",
        "a: \"x\\ny\"\n",
        "a:\n    b: 1\n   c: 2\n",
        "a:\n- - 1\n",
        "a: !core/software-1.0.0 {author: The ASDF Developers, homepage: 'http://github.com/x',\n  name: asdf, version: 6.0.0}\n",
        "a: {x: [1, 2], y: {z: 'q''s'}}\nb: 1\n",
        "a: [1,\n\n  2]\n",
        "a: !<tag:x.org:y-1.0> 5\nb: !<asdf://a.org/t/z-1.0.0>\n  c: 1\n",
        "a: {x: 1, x: 2}\n",
        "a: {'k': 1}\n",
        "a: [\"x\", 'y', '', 'a,b]']\n",
        "a: {x: http://a}\n",
        "a: [a, b]  \n",
        "a: 'multi\n  line'\n",
        "a: {x: 1,\n  y: 2}\nb: [[1, 2], [3,\n    4]]\n",
        "a: {x: 1}}\n",
        "a: [1, 2]]\n",
        // comment lines (left to the full parser), where the fast path reads its lines one by one
        "# c\na: 1\n",
        "a:\n  b: 1\n  # c\n  d: 2\n",
        "a: [1,\n# c\n  2]\n",
        "a: 1\n\n\n# c\n",
    ];
    // found by the fuzz target: a %TAG prefix that is not a URI
    let fuzzed = "%TAG !ex! asdf://exa}ple.org/\n--- !ex!a-1.0.0\nx: !<tag:v> 5(\ny: !!str 017OFF !!int '0b11'\n";
    same("fuzzed %TAG prefix", fuzzed);
    // what follows the document's end is not the tree's: a comment there changes nothing
    let ended = format!("{head}a: [64]\nb: 2\n...\n# after the end\n");
    assert!(same("comment after the end", &ended));
    let mut fast = 0;
    for (i, d) in docs.iter().enumerate() {
        let text = format!("{head}{d}...\n");
        if same(&format!("doc {i}: {d:?}"), &text) {
            fast += 1;
        }
        // and without %TAG
        let text = format!("%YAML 1.1\n---\n{d}");
        same(&format!("bare doc {i}"), &text);
    }
    assert!(fast >= 8, "{fast}");
}

#[test]
fn array_lookup_through_the_path_index_is_get_path() {
    use nd_asdf::AsdfFile;
    use nd_core::ArrayRead;
    // inline arrays: x/a0..a199, a key with a slash and the nested path it spells
    let mut t =
        String::from("#ASDF 1.0.0\n%YAML 1.1\n%TAG ! tag:stsci.edu:asdf/\n--- !core/asdf-1.1.0\n");
    t.push_str("p/q: !core/ndarray-1.0.0\n  data: [7, 8, 9]\n  datatype: uint8\n  shape: [3]\n");
    t.push_str("x:\n");
    for i in 0..200 {
        t.push_str(&format!(
            "  a{i}: !core/ndarray-1.0.0\n    data: [{i}]\n    datatype: uint32\n    shape: [1]\n"
        ));
    }
    t.push_str("p:\n  q: !core/ndarray-1.0.0\n    data: [1, 1, 1, 1, 1]\n    datatype: uint8\n    shape: [5]\n...\n");
    let f = AsdfFile::from_source(std::sync::Arc::new(nd_core::MemSource::new(t.into_bytes())))
        .unwrap();
    // `p/q` is the nested node, as `get_path` has it, not the key spelled with a slash
    assert_eq!(f.array("p/q").unwrap().shape(), &[5]);
    for i in (0..200).step_by(37) {
        let a = f.array(&format!("x/a{i}")).unwrap().read_all().unwrap();
        assert_eq!(a.as_slice::<u32>().unwrap(), &[i]);
        // other spellings still work
        assert!(f.array(&format!("/x/a{i}/")).is_ok());
    }
    assert!(f.array("x/nope").is_err());
    assert!(f.array("x").is_err());
}
