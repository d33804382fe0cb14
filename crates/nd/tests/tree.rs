//! `Dataset::tree` has the shape of `asdftool info` for every ASDF file of the test data (the
//! same node names, nesting and scalar values, in file order; an ndarray is one node, where
//! asdftool lists its shape and dtype below it), and lists FITS HDUs with their columns and Zarr
//! groups with their attributes.

use serde_json::Value;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata")
}

/// One line of the drawing: (depth, name, kind, value).
fn parse(text: &str) -> Vec<(usize, String, String, Option<String>)> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            // the lead is "│ " or "  " per level, then "├─" or "└─"
            let chars: Vec<char> = l.chars().collect();
            let mut i = 0;
            while i + 1 < chars.len() && matches!(chars[i], '│' | ' ') && chars[i + 1] == ' ' {
                i += 2;
            }
            let depth = if i + 1 < chars.len() && matches!(chars[i], '├' | '└') {
                i += 2;
                i / 2
            } else {
                0
            };
            let rest: String = chars[i..].iter().collect();
            let (name, tail) = rest.split_once(" (").unwrap_or((&rest, ""));
            let (kind, value) = match tail.split_once("): ") {
                Some((k, v)) => (k.to_string(), Some(v.to_string())),
                None => (tail.trim_end_matches(')').to_string(), None),
            };
            (depth, name.to_string(), kind, value)
        })
        .collect()
}

/// asdftool's lines without what it lists below an array (its shape and dtype).
fn without_array_fields(
    lines: Vec<(usize, String, String, Option<String>)>,
) -> Vec<(usize, String, String, Option<String>)> {
    let mut out = Vec::new();
    let mut skip_below: Option<usize> = None;
    for l in lines {
        if let Some(d) = skip_below {
            if l.0 > d {
                continue;
            }
            skip_below = None;
        }
        if l.2.contains("NDArrayType") || l.2 == "ndarray-1.1.0" {
            skip_below = Some(l.0);
        }
        out.push(l);
    }
    out
}

/// The path of each line (its ancestors' names and its own).
fn paths(lines: &[(usize, String, String, Option<String>)]) -> Vec<String> {
    let mut stack: Vec<&str> = Vec::new();
    lines
        .iter()
        .map(|l| {
            stack.truncate(l.0);
            stack.push(&l.1);
            stack.join("/")
        })
        .collect()
}

/// Python's rendering of a scalar as asdftool prints it, from nd's JSON rendering.
fn python(v: &str) -> String {
    match v {
        "true" => "True".into(),
        "false" => "False".into(),
        "null" => "None".into(),
        other => other.to_string(),
    }
}

#[test]
fn asdf_tree_has_the_shape_of_asdftool_info() {
    let text = std::fs::read_to_string(root().join("tree/asdftool_info.json")).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    let files = doc["files"].as_object().unwrap();
    assert!(files.len() >= 20);
    let mut compared = 0;
    for (file, want) in files {
        let ds = nd::open(root().join(file).to_str().unwrap()).unwrap();
        let want = without_array_fields(parse(want.as_str().unwrap()));
        // a tagged node asdf turns into an object of its own (not a dict or list) is one line
        // in asdftool's drawing; nd shows what the file holds below it
        let want_paths = paths(&want);
        let leaves: Vec<&String> = want
            .iter()
            .enumerate()
            .filter(|(i, l)| want.get(i + 1).is_none_or(|n| n.0 <= l.0))
            .map(|(i, _)| &want_paths[i])
            .collect();
        let all = parse(&ds.tree().unwrap().render(None, true));
        let all_paths = paths(&all);
        let mut got = Vec::new();
        let mut skip_below: Option<usize> = None;
        for (l, p) in all.into_iter().zip(&all_paths) {
            if skip_below.is_some_and(|d| l.0 > d) {
                continue;
            }
            skip_below = None;
            if (l.2.contains('/') || l.2.contains(':')) && leaves.contains(&p) {
                skip_below = Some(l.0);
            }
            got.push(l);
        }
        let names = |v: &[(usize, String, String, Option<String>)]| {
            v.iter().map(|l| (l.0, l.1.clone())).collect::<Vec<_>>()
        };
        assert_eq!(names(&got), names(&want), "{file}");
        for (g, w) in got.iter().zip(&want) {
            // tagged nodes: nd names the tag, asdftool the Python class; untagged the same type
            let tagged = g.2.contains('/') || g.2.contains(':');
            if !tagged && g.1 != "root" {
                let gk = if g.2 == "list" && w.2 == "tuple" {
                    "tuple"
                } else {
                    &g.2
                };
                assert_eq!(gk, w.2, "{file}: {} type", g.1);
            }
            match (&g.3, &w.3) {
                (Some(gv), Some(wv)) if g.2 == "str" || g.2 == "int" || g.2 == "bool" => {
                    assert_eq!(&python(gv), wv, "{file}: {} value", g.1)
                }
                (None, Some(wv)) if !tagged => {
                    panic!("{file}: {} has no value, asdftool {wv}", g.1)
                }
                _ => {}
            }
        }
        compared += 1;
    }
    assert_eq!(compared, files.len());
}

#[test]
fn fits_tree_lists_hdus_and_columns_zarr_tree_groups_and_attributes() {
    let ds = nd::open(root().join("fits/astropy/btable.fits").to_str().unwrap()).unwrap();
    let t = ds.tree().unwrap();
    assert_eq!(t.children.len(), 2);
    let cols: Vec<&str> = t.children[1]
        .children
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(cols, ["order", "name", "mag", "Sp"]);
    let c = &t.children[1].children[1];
    assert_eq!(c.attributes["tform"], "20A");
    assert_eq!(c.attributes["dtype"], "|S20");
    assert_eq!(t.find("1/mag").unwrap().attributes["tform"], "E");
    let ds = nd::open(root().join("zarr/hier.zarr").to_str().unwrap()).unwrap();
    let t = ds.tree().unwrap();
    let deep = t.find("g1/g2/deep").unwrap();
    assert_eq!(deep.kind, "array");
    assert_eq!(t.find("g1/g2").unwrap().attributes["level"], 2);
    assert_eq!(t.attributes["title"], "nd test hierarchy");
    // info --json carries the tree, complete
    let j = ds.info_json().unwrap();
    assert_eq!(j["tree"], t.to_json(None));
    let text = t.render(Some(1), true);
    assert!(text.contains("├─g1 (group)\n│ └─… (3 more)\n"), "{text}");
}
