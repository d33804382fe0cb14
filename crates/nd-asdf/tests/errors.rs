//! Hostile input gives typed errors, never a panic, hang or runaway allocation.
mod common;
use common::*;
use nd_asdf::{AsdfFile, Error, IndexStatus};
use nd_core::{ArrayRead, MemSource};
use std::sync::Arc;

fn open_bytes(b: Vec<u8>) -> nd_asdf::Result<AsdfFile> {
    AsdfFile::from_source(Arc::new(MemSource::new(b)))
}

fn py(name: &str) -> Vec<u8> {
    std::fs::read(testdata().join("asdf/py").join(name)).unwrap()
}

#[test]
fn corrupt_block_headers_are_typed_errors() {
    let raw = py("index_absent.asdf");
    let at = raw.windows(4).position(|w| w == b"\xd3BLK").unwrap();
    // header size below 48
    let mut b = raw.clone();
    b[at + 4..at + 6].copy_from_slice(&40u16.to_be_bytes());
    assert!(matches!(open_bytes(b), Err(Error::Block { block: 0, .. })));
    // allocated size past the end of the file: read as python asdf reads it (the used bytes,
    // no block after it), with a warning; the arrays of the later blocks are refused
    let mut b = raw.clone();
    b[at + 14..at + 22].copy_from_slice(&(1u64 << 40).to_be_bytes());
    let f = open_bytes(b).unwrap();
    assert_eq!(f.blocks().len(), 1);
    assert!(
        f.warnings()
            .iter()
            .any(|w| w.contains("block 0") && w.contains("allocated size")),
        "{:?}",
        f.warnings()
    );
    let want = open_bytes(raw.clone()).unwrap();
    let full = nd_core::Region::full(want.array("a0").unwrap().shape());
    assert_eq!(
        f.array("a0").unwrap().read_region(&full).unwrap().bytes(),
        want.array("a0")
            .unwrap()
            .read_region(&full)
            .unwrap()
            .bytes()
    );
    assert!(f.array("a1").is_err());
    // used > allocated
    let mut b = raw.clone();
    b[at + 22..at + 30].copy_from_slice(&(1u64 << 40).to_be_bytes());
    assert!(matches!(open_bytes(b), Err(Error::Block { .. })));
    // truncated in the middle of a block
    let b = raw[..at + 60].to_vec();
    assert!(matches!(open_bytes(b), Err(Error::Block { .. })));
}

#[test]
fn a_lying_index_falls_back_to_scanning() {
    let f = open_bytes(py("index_lying.asdf")).unwrap();
    assert!(matches!(f.layout().index, IndexStatus::Invalid(_)));
    let a = f.array("a3").unwrap().read_all().unwrap();
    assert_eq!(a.as_slice::<i32>().unwrap(), &[3; 13]);
}

#[test]
fn yaml_bombs_and_cycles() {
    let mut bomb = String::from(
        "#ASDF 1.0.0\n%YAML 1.1\n---\na0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
    );
    for i in 1..12 {
        let refs = vec![format!("*a{}", i - 1); 9].join(", ");
        bomb.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    bomb.push_str("...\n");
    assert!(matches!(
        open_bytes(bomb.into_bytes()),
        Err(Error::AliasBudget { .. })
    ));
    let cyc = "#ASDF 1.0.0\n%YAML 1.1\n---\na: &x [1, *x]\n...\n";
    assert!(matches!(
        open_bytes(cyc.as_bytes().to_vec()),
        Err(Error::CyclicAlias { .. })
    ));
    let cyc = "#ASDF 1.0.0\n%YAML 1.1\n---\na: &x {b: *x}\n...\n";
    assert!(open_bytes(cyc.as_bytes().to_vec()).is_err());
    let deep = format!(
        "#ASDF 1.0.0\n%YAML 1.1\n---\na: {}\n...\n",
        "[".repeat(100_000)
    );
    assert!(open_bytes(deep.into_bytes()).is_err());
    let unknown = "#ASDF 1.0.0\n%YAML 1.1\n---\na: *nope\n...\n";
    assert!(open_bytes(unknown.as_bytes().to_vec()).is_err());
}

#[test]
fn bad_ndarray_nodes_are_node_errors() {
    let head = "#ASDF 1.0.0\n%YAML 1.1\n%TAG ! tag:stsci.edu:asdf/\n--- !core/asdf-1.1.0\n";
    for (body, what) in [
        (
            "x: !core/ndarray-1.0.0 {source: 5, datatype: int8, byteorder: big, shape: [2]}",
            "missing block",
        ),
        (
            "x: !core/ndarray-1.0.0 {data: [1, 2], datatype: int8, shape: [3]}",
            "shape mismatch",
        ),
        (
            "x: !core/ndarray-1.0.0 {data: [1, 300], datatype: int8, shape: [2]}",
            "overflow",
        ),
        (
            "x: !core/ndarray-1.0.0 {data: [1, 2], datatype: int99, shape: [2]}",
            "bad type",
        ),
        (
            "x: !core/ndarray-1.0.0 {data: [1, 2], source: 0, datatype: int8, shape: [2]}",
            "both",
        ),
        (
            "x: !core/ndarray-1.0.0 {data: [[1], [2, 3]], datatype: int8, shape: [2, 1]}",
            "ragged",
        ),
    ] {
        let f = open_bytes(format!("{head}{body}\n...\n").into_bytes()).unwrap();
        let r = f.array("x").and_then(|a| {
            a.read_all().map_err(|e| Error::Node {
                path: "x".into(),
                message: e.to_string(),
            })
        });
        assert!(r.is_err(), "{what}");
    }
    // a view reaching outside its block
    let raw = std::fs::read(testdata().join("asdf/py/views_shared.asdf")).unwrap();
    let text = String::from_utf8_lossy(&raw).replace("offset: 80\n", "offset: 8000\n");
    let f = open_bytes(text.into_bytes());
    // replacing text in a file with binary blocks changes nothing else; the tree is ASCII
    if let Ok(f) = f {
        assert!(f.array("rows").is_err());
    }
}

#[test]
fn mutated_files_never_panic() {
    // a cheap deterministic fuzz: truncations and byte flips of every test file
    let mut files = Vec::new();
    for dir in ["asdf/py", "asdf-standard/1.6.0", "asdf/written"] {
        for e in std::fs::read_dir(testdata().join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "asdf") {
                files.push(std::fs::read(p).unwrap());
            }
        }
    }
    let mut seed = 0x9e3779b97f4a7c15u64;
    let mut rnd = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for f in &files {
        for k in 0..24 {
            let mut b = f.clone();
            if k % 3 == 0 {
                b.truncate((rnd() % (f.len() as u64 + 1)) as usize);
            } else {
                for _ in 0..(1 + rnd() % 4) {
                    let i = (rnd() % b.len() as u64) as usize;
                    b[i] = rnd() as u8;
                }
            }
            nd_asdf::fuzzing::asdf_open(&b);
        }
    }
    // and the happy path still reads
    let f = AsdfFile::open(testdata().join("asdf/py/dtypes.asdf")).unwrap();
    assert!(f.array("i8_be").unwrap().read_all().is_ok());
}

/// An uncompressed block whose data size field differs from its used size (a differential
/// fuzzing case, spec-notes/differential.md): python asdf reads `used_size` bytes and ignores
/// the data size of an uncompressed block; nd reads it the same way and warns.
#[test]
fn uncompressed_block_data_size_is_not_trusted() {
    let raw = py("index_absent.asdf");
    let want = open_bytes(raw.clone()).unwrap();
    let at = raw.windows(4).position(|w| w == b"\xd3BLK").unwrap();
    let mut b = raw.clone();
    b[at + 30..at + 38].copy_from_slice(&(1u64 << 31).to_be_bytes());
    let got = open_bytes(b).unwrap();
    assert!(
        got.warnings()
            .iter()
            .any(|w| w.contains("block 0") && w.contains("read by its used size")),
        "{:?}",
        got.warnings()
    );
    assert!(want.warnings().is_empty(), "{:?}", want.warnings());
    let paths: Vec<String> = want.arrays().into_iter().map(|(p, _)| p).collect();
    assert!(!paths.is_empty());
    for p in paths {
        let (a, b) = (want.array(&p).unwrap(), got.array(&p).unwrap());
        let full = nd_core::Region::full(a.shape());
        assert_eq!(
            a.read_region(&full).unwrap().bytes(),
            b.read_region(&full).unwrap().bytes(),
            "{p}"
        );
    }
}
