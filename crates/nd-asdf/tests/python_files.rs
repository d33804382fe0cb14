//! Files python asdf wrote with its storage options, read value-for-value as python asdf reads them.
mod common;
use common::*;
use nd_asdf::{AsdfFile, ChecksumMatch, IndexStatus};
use nd_core::{ArrayRead, CountingSource, MmapSource, Region};
use std::sync::Arc;

fn py(name: &str) -> std::path::PathBuf {
    testdata().join("asdf/py").join(name)
}

#[test]
fn every_python_file_reads_like_python_asdf() {
    let exp = testdata().join("asdf/py/expected");
    let mut names: Vec<_> = std::fs::read_dir(testdata().join("asdf/py"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".asdf"))
        .collect();
    names.sort();
    let mut total = 0;
    for name in &names {
        let f = AsdfFile::open(py(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        total += compare_expected(&f, &exp.join(name.trim_end_matches(".asdf")), name);
    }
    let f = AsdfFile::open(py("exploded/exploded.asdf")).unwrap();
    total += compare_expected(&f, &exp.join("exploded"), "exploded");
    eprintln!("{} files, {total} arrays compared", names.len() + 1);
    assert!(names.len() >= 20);
}

#[test]
fn block_index_is_used_only_when_valid() {
    let f = AsdfFile::open(py("index_present.asdf")).unwrap();
    assert_eq!(f.layout().index, IndexStatus::Used);
    assert!(f.warnings().is_empty());
    let f = AsdfFile::open(py("index_absent.asdf")).unwrap();
    assert_eq!(f.layout().index, IndexStatus::Absent);
    for bad in ["index_lying.asdf", "index_short.asdf", "index_garbage.asdf"] {
        let f = AsdfFile::open(py(bad)).unwrap();
        assert!(
            matches!(f.layout().index, IndexStatus::Invalid(_)),
            "{bad}: {:?}",
            f.layout().index
        );
        assert_eq!(f.warnings().len(), 1, "{bad}");
        assert_eq!(f.blocks().len(), 4, "{bad}");
    }
}

#[test]
fn opening_with_an_index_reads_no_block_data() {
    let src = Arc::new(CountingSource::new(
        MmapSource::open(py("many_blocks.asdf")).unwrap(),
    ));
    let f = AsdfFile::from_source(src.clone()).unwrap();
    assert_eq!(f.layout().index, IndexStatus::Used);
    assert_eq!(f.blocks().len(), 300);
    let read_at_open = src.bytes_read();
    let data_bytes: u64 = f.blocks().headers().iter().map(|h| h.used).sum();
    // the tree, the index, and 54 header bytes per block; no block data
    let first = f.blocks().headers()[0].offset;
    let index_len = nd_core::ByteSource::len(src.as_ref()) - f.layout().index_offset.unwrap();
    assert!(
        read_at_open <= 4 * first + 54 * 300 + index_len + 4 * 8192,
        "read {read_at_open} bytes at open, first block at {first}, index {index_len}"
    );
    assert!(data_bytes > 0);
    // touching one array reads its bytes only
    src.reset();
    let a = f.array("arrays/17").unwrap();
    let v = a.read_all().unwrap();
    assert_eq!(src.bytes_read(), v.bytes().len() as u64);
}

#[test]
fn checksums_old_and_new_style() {
    // asdf-standard 1.0.0 compressed.asdf was written by python asdf hashing the decoded bytes
    let f = AsdfFile::open(testdata().join("asdf-standard/1.0.0/compressed.asdf")).unwrap();
    let r = f.verify().unwrap();
    assert_eq!(
        r.blocks,
        vec![ChecksumMatch::Decoded, ChecksumMatch::Decoded]
    );
    assert!(r.ok());
    let f = AsdfFile::open(py("checksum_new.asdf")).unwrap();
    let r = f.verify().unwrap();
    assert_eq!(r.blocks, vec![ChecksumMatch::Stored]);
    // a flipped byte in the block data is a mismatch
    let mut raw = std::fs::read(py("index_absent.asdf")).unwrap();
    let f = AsdfFile::open(py("index_absent.asdf")).unwrap();
    let at = f.blocks().headers()[1].data_offset() as usize;
    raw[at] ^= 1;
    let f = AsdfFile::from_source(Arc::new(nd_core::MemSource::new(raw))).unwrap();
    let r = f.verify().unwrap();
    assert_eq!(r.blocks[1], ChecksumMatch::Mismatch);
    assert!(!r.ok());
}

#[test]
fn tags_kept_and_tree_queries() {
    let f = AsdfFile::open(py("tags.asdf")).unwrap();
    let t = f.tree();
    assert_eq!(t.tag(), Some("tag:stsci.edu:asdf/core/asdf-1.1.0"));
    assert_eq!(
        t.get("c").unwrap().tag(),
        Some("tag:stsci.edu:asdf/core/complex-1.0.0")
    );
    assert_eq!(
        t.get("u").unwrap().tag(),
        Some("asdf://example.org/tags/thing-1.0.0")
    );
    assert_eq!(
        t.get("v").unwrap().tag(),
        Some("tag:example.org:verbatim-1.0")
    );
    assert_eq!(
        t.get_path("meta/list/1/deep").unwrap().to_json(),
        serde_json::json!(true)
    );
    assert_eq!(t.get_path("u/y/1").unwrap().as_str(), Some("b"));
}

#[test]
fn streamed_block_and_cutouts() {
    let f = AsdfFile::open(py("stream.asdf")).unwrap();
    let h = f.blocks().headers().last().unwrap().clone();
    assert!(h.is_streamed());
    let a = f.array("stream").unwrap();
    assert_eq!(a.shape(), &[7, 3]);
    let r = a
        .read_region(&Region::parse("2:4,1:3", a.shape()).unwrap())
        .unwrap();
    assert_eq!(r.as_slice::<f64>().unwrap(), &[2.5, -2.0, 3.5, -3.0]);
}

#[test]
fn yaml11_scalars_resolve_like_pyyaml() {
    let cases: Vec<(String, String, serde_json::Value)> =
        serde_json::from_slice(&std::fs::read(testdata().join("asdf/yaml11.json")).unwrap())
            .unwrap();
    let doc: String = cases
        .iter()
        .map(|(s, _, _)| {
            if s.is_empty() {
                "- \n".to_string()
            } else {
                format!("- {s}\n")
            }
        })
        .collect();
    let n = nd_asdf::yaml::load(&doc, 0).unwrap();
    let items = n.as_seq().unwrap();
    assert_eq!(items.len(), cases.len());
    for ((src, kind, want), got) in cases.iter().zip(items) {
        use nd_asdf::Value as V;
        match (kind.as_str(), &got.value) {
            ("bool", V::Bool(b)) => assert_eq!(serde_json::json!(b), *want, "{src}"),
            ("null", V::Null) => {}
            ("int", V::Int(i)) => assert_eq!(i.to_string(), want.as_str().unwrap(), "{src}"),
            ("float", V::Float(x)) => {
                let w = want.as_str().unwrap();
                assert_eq!(nd_asdf::yaml::python_float_repr(*x), w, "{src}")
            }
            ("str", V::Str(s)) => {
                assert_eq!(&**s, want.as_str().unwrap(), "{src}");
                assert!(
                    got.tag().is_none() || got.tag() == Some("tag:yaml.org,2002:timestamp"),
                    "{src}"
                );
            }
            _ if src == "2001-12-14" => {}
            (k, v) => panic!("{src:?}: python says {k} {want}, we say {v:?}"),
        }
    }
}

#[test]
fn zarr_cutout_reads_only_its_chunks() {
    let src = Arc::new(CountingSource::new(
        MmapSource::open(py("zarr_internal.asdf")).unwrap(),
    ));
    let f = AsdfFile::from_source(src.clone()).unwrap();
    let a = f.array("zarr").unwrap();
    assert_eq!(a.shape(), &[40, 30]);
    assert_eq!(a.chunk_shape(), vec![16, 8]);
    src.reset();
    // rows 17..20, cols 9..15: one chunk (1, 1) of a 3x4 grid
    let cut = a
        .read_region(&Region::parse("17:20,9:15", a.shape()).unwrap())
        .unwrap();
    // exactly one read: the one chunk block the cutout touches (16*8 float32, uncompressed)
    let ranges = src.ranges();
    assert_eq!(ranges.len(), 1, "{ranges:?}");
    assert_eq!(ranges[0].end - ranges[0].start, 16 * 8 * 4);
    assert!(f
        .blocks()
        .headers()
        .iter()
        .any(|h| h.data_offset() == ranges[0].start));
    let full = a.read_all().unwrap();
    let fv = full.as_slice::<f32>().unwrap();
    let want: Vec<f32> = (17..20)
        .flat_map(|r| (9..15).map(move |c| (r, c)))
        .map(|(r, c)| fv[r * 30 + c])
        .collect();
    assert_eq!(cut.as_slice::<f32>().unwrap(), &want[..]);
}

#[test]
fn scalar_masks_match_numpy_masked_values() {
    // python asdf masks with np.ma.masked_values (np.isclose in the array's precision): values
    // within the tolerance of the mask value are masked too, not only exact matches
    let name = "mask_values";
    let f = AsdfFile::open(py(&format!("{name}.asdf"))).unwrap();
    let n = compare_expected(&f, &testdata().join("asdf/py/expected").join(name), name);
    assert_eq!(n, 11);
    let a = f.array("f64").unwrap();
    let m = a.read_mask(&Region::full(a.shape())).unwrap().unwrap();
    let v = a.read_all().unwrap();
    let approx = v
        .as_slice::<f64>()
        .unwrap()
        .iter()
        .zip(&m)
        .filter(|(&x, &m)| m && x != 1.1)
        .count();
    assert!(
        approx >= 2,
        "masked values that differ from the mask value: {approx}"
    );
    // a cutout's mask is the same part of the whole mask
    let a = f.array("f32").unwrap();
    let whole = a.read_mask(&Region::full(a.shape())).unwrap().unwrap();
    let part = a
        .read_mask(&Region::parse("10:25", a.shape()).unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(part, whole[10..25].to_vec());
}

#[test]
fn masks_of_another_shape_are_reshaped_or_repeated_as_numpy_ma_does() {
    // python asdf builds numpy.ma.array(data, mask=mask): a mask of as many elements is reshaped
    // in C order, one of one element repeated (testdata/gen_asdf.py, mask_shapes; the values are
    // compared with python asdf's by every_python_file_reads_like_python_asdf); a cutout's mask is
    // the same part of the whole mask.
    for name in ["streamed", "flat", "4x3", "one"] {
        let f = AsdfFile::open(py(&format!("mask_shape_{name}.asdf"))).unwrap();
        let a = f.array("masked").unwrap();
        assert_eq!(a.shape(), &[3, 4]);
        let whole = a.read_mask(&Region::full(a.shape())).unwrap().unwrap();
        let part = a
            .read_mask(&Region::parse("1:3,1:4", a.shape()).unwrap())
            .unwrap()
            .unwrap();
        let want: Vec<bool> = (1..3)
            .flat_map(|r| (1..4).map(move |c| (r, c)))
            .map(|(r, c)| whole[r * 4 + c])
            .collect();
        assert_eq!(part, want, "{name}");
        let masked = whole.iter().filter(|&&m| m).count();
        assert_eq!(masked, if name == "one" { 12 } else { 3 }, "{name}");
    }
}

#[test]
fn a_mask_of_another_number_of_elements_is_refused_as_numpy_ma_refuses_it() {
    // numpy.ma.array(np.zeros((3, 4)), mask=np.zeros(4, bool)) raises MaskError ("Mask and data
    // not compatible: data size is 12, mask size is 4"): python asdf cannot read such an array
    let yaml = "#ASDF 1.0.0\n#ASDF_STANDARD 1.5.0\n%YAML 1.1\n%TAG ! tag:stsci.edu:asdf/\n\
--- !core/asdf-1.1.0\n\
a: !core/ndarray-1.0.0\n  data: [[1.0, 2.0], [3.0, 4.0]]\n  datatype: float64\n  shape: [2, 2]\n  mask: !core/ndarray-1.0.0 {data: [true, false, true], datatype: bool8, shape: [3]}\n...\n";
    let f =
        AsdfFile::from_source(Arc::new(nd_core::MemSource::new(yaml.as_bytes().to_vec()))).unwrap();
    let e = f.array("a").unwrap_err().to_string();
    assert!(
        e.contains("mask of shape [3] does not fit the array's shape [2, 2]"),
        "{e}"
    );
}

#[test]
fn only_an_ndarray_or_a_number_masks_an_array() {
    // python asdf 6.0 applies a `mask` that is an ndarray (a tagged node, a tagged inline list
    // too) or a number; an untagged list or mapping leaves the array unmasked (checked: `a` and
    // `b` read as plain ndarrays, `c` as a MaskedArray with mask [True, False, True])
    let yaml = "#ASDF 1.0.0\n#ASDF_STANDARD 1.5.0\n%YAML 1.1\n%TAG ! tag:stsci.edu:asdf/\n\
--- !core/asdf-1.1.0\n\
a: !core/ndarray-1.0.0\n  data: [1.0, 2.0, 3.0]\n  datatype: float64\n  shape: [3]\n  mask: [true, false, true]\n\
b: !core/ndarray-1.0.0\n  data: [1.0, 2.0, 3.0]\n  datatype: float64\n  shape: [3]\n  mask: {data: [true, false, true], datatype: bool8, shape: [3]}\n\
c: !core/ndarray-1.0.0\n  data: [1.0, 2.0, 3.0]\n  datatype: float64\n  shape: [3]\n  mask: !core/ndarray-1.0.0 [true, false, true]\n...\n";
    let f =
        AsdfFile::from_source(Arc::new(nd_core::MemSource::new(yaml.as_bytes().to_vec()))).unwrap();
    for name in ["a", "b"] {
        let a = f.array(name).unwrap();
        assert!(!a.is_masked(), "{name}");
        assert_eq!(
            a.read_all().unwrap().as_slice::<f64>().unwrap(),
            &[1.0, 2.0, 3.0]
        );
    }
    let c = f.array("c").unwrap();
    let mask = c.read_mask(&Region::full(c.shape())).unwrap().unwrap();
    assert_eq!(mask, vec![true, false, true]);
}

#[test]
fn an_unreadable_mask_leaves_the_array_unmasked_as_python_asdf_does() {
    // python asdf 6.0 leaves a mask node it cannot convert as a raw node (AsdfConversionWarning)
    // and gives the array unmasked (checked on a mask whose block does not exist and one whose
    // shape is negative: plain ndarrays with the stored values)
    let yaml = "#ASDF 1.0.0\n#ASDF_STANDARD 1.5.0\n%YAML 1.1\n%TAG ! tag:stsci.edu:asdf/\n\
--- !core/asdf-1.1.0\n\
a: !core/ndarray-1.0.0\n  data: [1.0, 2.0, 3.0]\n  datatype: float64\n  shape: [3]\n  mask: !core/ndarray-1.0.0 {source: 5, datatype: bool8, byteorder: big, shape: [3]}\n\
b: !core/ndarray-1.0.0\n  data: [1.0, 2.0, 3.0]\n  datatype: float64\n  shape: [3]\n  mask: !core/ndarray-1.0.0 {data: [true, false, true], datatype: bool8, shape: [-3]}\n...\n";
    let f =
        AsdfFile::from_source(Arc::new(nd_core::MemSource::new(yaml.as_bytes().to_vec()))).unwrap();
    for name in ["a", "b"] {
        let a = f.array(name).unwrap();
        assert!(!a.is_masked(), "{name}");
        assert!(a.read_mask(&Region::full(a.shape())).unwrap().is_none());
        assert!(a.unreadable_mask().is_some(), "{name}");
        assert_eq!(
            a.read_all().unwrap().as_slice::<f64>().unwrap(),
            &[1.0, 2.0, 3.0]
        );
    }
}

#[test]
fn masked_inline_strings_hold_the_text_zero_under_the_mask() {
    // python asdf 6.0.0 reads `data: [a, null, ccc]` as np.ma.array(np.where(nones, 0, inline))
    // in the string dtype: `['a', '0', 'ccc']` (ucs4) and `[b'a', b'0', b'ccc']` (ascii), the
    // null masked; nd gives the same element under the mask.
    let yaml = "#ASDF 1.0.0\n#ASDF_STANDARD 1.5.0\n%YAML 1.1\n%TAG ! tag:stsci.edu:asdf/\n\
--- !core/asdf-1.1.0\n\
u: !core/ndarray-1.0.0\n  data: [a, null, ccc]\n  datatype: [ucs4, 4]\n  shape: [3]\n\
b: !core/ndarray-1.0.0\n  data: [a, null, ccc]\n  datatype: [ascii, 4]\n  shape: [3]\n...\n";
    let f =
        AsdfFile::from_source(Arc::new(nd_core::MemSource::new(yaml.as_bytes().to_vec()))).unwrap();
    let b = f.array("b").unwrap();
    assert_eq!(b.read_all().unwrap().bytes(), b"a\0\0\x000\0\0\0ccc\0");
    let mask = b.read_mask(&Region::full(b.shape())).unwrap().unwrap();
    assert_eq!(mask, vec![false, true, false]);
    let u = f.array("u").unwrap();
    let got = u.read_all().unwrap();
    let want: Vec<u8> = "a\0\0\x000\0\0\0ccc\0"
        .chars()
        .flat_map(|c| (c as u32).to_ne_bytes())
        .collect();
    assert_eq!(got.bytes(), &want[..]);
}

#[test]
fn mapping_keys_accepted_like_pyyaml() {
    // PyYAML (python asdf's loader) refuses a sequence or a mapping as a key; nd does too, with
    // a YAML error (and so never renders nested keys into one another: a 62-byte fuzz input of
    // nested `? ` keys once took 30 s to convert to JSON).
    let cases: Vec<(String, bool)> =
        serde_json::from_slice(&std::fs::read(testdata().join("asdf/yaml_keys.json")).unwrap())
            .unwrap();
    assert!(cases.iter().any(|c| c.1) && cases.iter().any(|c| !c.1));
    for (doc, accepted) in &cases {
        match nd_asdf::yaml::load(doc, 0) {
            Ok(n) => {
                assert!(*accepted, "nd accepts what python asdf refuses: {doc:?}");
                let _ = n.to_json_tagged();
            }
            Err(e) => {
                assert!(
                    !accepted,
                    "nd refuses what python asdf accepts ({e}): {doc:?}"
                );
                assert!(e.to_string().contains("unhashable key"), "{e}");
            }
        }
    }
}

/// Every ASDF file of the test data parses alike whether its bytes are looked through in place
/// (a source holding them in one view, `ByteSource::contiguous`: a memory map, bytes in memory)
/// or read on request step by step (positional reads): same layout, block headers, warnings and
/// tree, or the same error.
#[test]
fn views_and_reads_parse_alike() {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "asdf") {
                out.push(p);
            }
        }
    }
    fn summary(f: nd_asdf::Result<AsdfFile>) -> String {
        match f {
            Ok(f) => format!(
                "{:?}\n{:?}\n{:?}\n{}",
                f.layout(),
                f.blocks().headers(),
                f.warnings(),
                f.tree().to_json()
            ),
            Err(e) => format!("error: {e}"),
        }
    }
    let mut files = Vec::new();
    walk(&testdata(), &mut files);
    // and the fuzz seeds of the ASDF open target (damaged and odd layouts)
    let seeds = testdata().join("../fuzz/corpus/asdf_open");
    files.extend(std::fs::read_dir(seeds).unwrap().map(|e| e.unwrap().path()));
    files.sort();
    let mut big = 0;
    for p in &files {
        let bytes = std::fs::read(p).unwrap();
        big += usize::from(bytes.len() > 64 * 1024);
        let mem = nd_core::MemSource::new(bytes);
        assert!(nd_core::ByteSource::contiguous(&mem).is_some());
        let file = nd_core::FileSource::open(p).unwrap();
        assert!(nd_core::ByteSource::contiguous(&file).is_none());
        let viewed = summary(AsdfFile::from_source(Arc::new(mem)));
        let read = summary(AsdfFile::from_source(Arc::new(file)));
        assert_eq!(viewed, read, "{}", p.display());
        // a memory map, as files are opened (mapped in place above 64 KiB)
        let mapped = summary(AsdfFile::from_source(Arc::new(
            MmapSource::open(p).unwrap(),
        )));
        assert_eq!(mapped, read, "{}", p.display());
    }
    assert!(
        files.len() >= 1000 && big >= 1,
        "{} files, {big} over 64 KiB",
        files.len()
    );
}
