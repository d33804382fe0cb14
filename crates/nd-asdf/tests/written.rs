//! Files written by nd-asdf, read back by us here and by python asdf in
//! `testdata/check_asdf_written.py`. They are written into `testdata/asdf/written/` (committed;
//! the output is deterministic) with the intended values as `.npy` and an `index.json`.
mod common;
use common::*;
use nd_asdf::write::{ArrayOptions, Compression, Storage};
use nd_asdf::{AsdfArrayWriter, AsdfFile, AsdfWriter, Node, Value};
use nd_core::{ArrayBuf, ArrayRead, ArrayWrite, DataType, Endian, Field, Region, StructType};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

struct Expect {
    dir: PathBuf,
    index: BTreeMap<String, serde_json::Value>,
}

impl Expect {
    fn new(name: &str) -> Expect {
        let dir = testdata().join("asdf/written/expected").join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Expect {
            dir,
            index: BTreeMap::new(),
        }
    }
    fn add(&mut self, path: &str, a: &ArrayBuf, mask: Option<&[bool]>) {
        let n = self.index.len();
        nd_core::npy::write_npy(self.dir.join(format!("{n}.npy")), a).unwrap();
        let mut e = serde_json::json!({"npy": format!("{n}.npy")});
        if let Some(m) = mask {
            let mb: Vec<u8> = m.iter().map(|&b| b as u8).collect();
            let mbuf = ArrayBuf::from_bytes(DataType::Bool, a.shape().to_vec(), &mb).unwrap();
            nd_core::npy::write_npy(self.dir.join(format!("{n}.mask.npy")), &mbuf).unwrap();
            e["mask"] = serde_json::json!(format!("{n}.mask.npy"));
        }
        self.index.insert(path.to_string(), e);
    }
    fn finish(self) {
        std::fs::write(
            self.dir.join("index.json"),
            serde_json::to_string_pretty(&self.index).unwrap(),
        )
        .unwrap();
    }
}

fn out(name: &str) -> PathBuf {
    let d = testdata().join("asdf/written");
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

fn arange<T: nd_core::Element>(shape: Vec<u64>, f: impl Fn(usize) -> T) -> ArrayBuf {
    let n: u64 = shape.iter().product();
    let v: Vec<T> = (0..n as usize).map(f).collect();
    ArrayBuf::from_vec(shape, &v).unwrap()
}

fn check_ours(path: &Path, name: &str) {
    let f = AsdfFile::open(path).unwrap();
    let n = compare_expected(
        &f,
        &testdata().join("asdf/written/expected").join(name),
        name,
    );
    assert!(n > 0);
    assert!(f.verify().unwrap().ok(), "{name}: checksums");
}

#[test]
fn write_files_python_reads() {
    // 1. datatypes and byte orders
    let mut w = AsdfWriter::new();
    let mut e = Expect::new("w_dtypes");
    let arrays: Vec<(&str, ArrayBuf, Endian)> = vec![
        ("i1", arange(vec![3, 4], |i| i as i8 - 6), Endian::Little),
        (
            "u2_be",
            arange(vec![12], |i| (i * 5000) as u16),
            Endian::Big,
        ),
        (
            "i4_le",
            arange(vec![2, 3, 2], |i| i as i32 * -100_000),
            Endian::Little,
        ),
        ("i8_be", arange(vec![5], |i| (i as i64) << 40), Endian::Big),
        (
            "u8",
            arange(vec![4], |i| u64::MAX - i as u64),
            Endian::Little,
        ),
        (
            "f2",
            arange(vec![6], |i| half::f16::from_f32(i as f32 / 4.0)),
            Endian::Big,
        ),
        ("f4_be", arange(vec![2, 5], |i| i as f32 * 0.1), Endian::Big),
        (
            "f8",
            arange(vec![5], |i| {
                [f64::NAN, f64::INFINITY, -0.0, 1e-310, 1e300][i]
            }),
            Endian::Little,
        ),
        (
            "c8",
            arange(vec![3], |i| {
                num_complex::Complex32::new(i as f32, -(i as f32))
            }),
            Endian::Big,
        ),
        (
            "c16",
            arange(vec![3], |i| {
                num_complex::Complex64::new(0.5 * i as f64, 2.0)
            }),
            Endian::Little,
        ),
    ];
    for (name, a, endian) in &arrays {
        w.add_array_endian(name, a, *endian, ArrayOptions::default())
            .unwrap();
        e.add(name, a, None);
    }
    let b = ArrayBuf::from_bytes(DataType::Bool, vec![4], &[1, 0, 0, 1]).unwrap();
    w.add_array("nested/bool", &b, ArrayOptions::default())
        .unwrap();
    e.add("nested/bool", &b, None);
    let s = ArrayBuf::from_bytes(DataType::Bytes(3), vec![2], b"ab\0xyz").unwrap();
    w.add_array("ascii", &s, ArrayOptions::default()).unwrap();
    e.add("ascii", &s, None);
    let u: Vec<u8> = "héllo☃x"
        .chars()
        .flat_map(|c| (c as u32).to_ne_bytes())
        .collect();
    let us = ArrayBuf::from_bytes(DataType::Ucs4(7), vec![1], &u).unwrap();
    w.add_array_endian("ucs4", &us, Endian::Big, ArrayOptions::default())
        .unwrap();
    e.add("ucs4", &us, None);
    let rec = DataType::Struct(StructType {
        fields: vec![
            Field {
                name: "a".into(),
                dtype: DataType::Int32,
                endian: Endian::NATIVE,
                offset: 0,
                shape: vec![],
            },
            Field {
                name: "b".into(),
                dtype: DataType::Float64,
                endian: Endian::NATIVE,
                offset: 4,
                shape: vec![2],
            },
            Field {
                name: "c".into(),
                dtype: DataType::Bytes(2),
                endian: Endian::NotApplicable,
                offset: 20,
                shape: vec![],
            },
        ],
        itemsize: 22,
    });
    let mut rb = Vec::new();
    for i in 0..3i32 {
        rb.extend_from_slice(&i.to_ne_bytes());
        rb.extend_from_slice(&(i as f64 * 1.5).to_ne_bytes());
        rb.extend_from_slice(&(-(i as f64)).to_ne_bytes());
        rb.extend_from_slice(b"q\0");
    }
    let r = ArrayBuf::from_bytes(rec, vec![3], &rb).unwrap();
    w.add_array_endian("record", &r, Endian::Big, ArrayOptions::default())
        .unwrap();
    e.add("record", &r, None);
    // tricky metadata: strings YAML 1.1 would misread, numbers, nesting
    let mut meta = Vec::new();
    for s in [
        "yes",
        "no",
        "on",
        "off",
        "017",
        "0x1F",
        "1_000",
        "1:30",
        "~",
        "null",
        "",
        "1.5",
        ".nan",
        "y",
        "a: b",
        "#c",
        "2001-12-14",
    ] {
        meta.push((Node::str(format!("k{s}")), Node::str(s)));
    }
    meta.push((Node::str("float"), Node::new(Value::Float(1e20))));
    meta.push((Node::str("int"), Node::new(Value::int(-7))));
    meta.push((
        Node::str("list"),
        Node::new(Value::Seq(
            vec![Node::new(Value::Bool(true)), Node::new(Value::Null)].into(),
        )),
    ));
    w.set("meta", Node::new(Value::Map(meta.into()))).unwrap();
    w.write(out("w_dtypes.asdf")).unwrap();
    e.finish();
    check_ours(&out("w_dtypes.asdf"), "w_dtypes");

    // 2. compression
    let mut w = AsdfWriter::new();
    let mut e = Expect::new("w_compressed");
    let big = arange(vec![120, 50], |i| (i % 977) as f64);
    for (name, c) in [
        ("zlib", Compression::Zlib),
        ("bzp2", Compression::Bzip2),
        ("lz4", Compression::Lz4),
    ] {
        w.add_array(
            name,
            &big,
            ArrayOptions {
                compression: Some(c),
                storage: Storage::Block,
            },
        )
        .unwrap();
        e.add(name, &big, None);
    }
    w.write(out("w_compressed.asdf")).unwrap();
    e.finish();
    check_ours(&out("w_compressed.asdf"), "w_compressed");

    // 3. inline arrays (by threshold and forced)
    let mut w = AsdfWriter::new();
    w.inline_threshold = 100;
    let mut e = Expect::new("w_inline");
    let items: Vec<(&str, ArrayBuf)> = vec![
        ("ints", arange(vec![2, 3], |i| i as i16 - 2)),
        ("floats", arange(vec![4], |i| i as f64 / 3.0)),
        (
            "cplx",
            arange(vec![2], |i| {
                num_complex::Complex64::new(i as f64 - 0.5, 1.25)
            }),
        ),
        ("bools", b.clone()),
        ("ascii", s.clone()),
        ("ucs4", us.clone()),
        ("record", r.clone()),
    ];
    for (name, a) in &items {
        w.add_array(name, a, ArrayOptions::default()).unwrap();
        e.add(name, a, None);
    }
    let r2 = ArrayBuf::from_bytes(r.dtype().clone(), vec![2], &rb[..44]).unwrap();
    w.add_array(
        "record2",
        &r2,
        ArrayOptions {
            compression: None,
            storage: Storage::Inline,
        },
    )
    .unwrap();
    e.add("record2", &r2, None);
    let blocky = arange(vec![200], |i| i as u8);
    w.add_array("not_inline", &blocky, ArrayOptions::default())
        .unwrap();
    e.add("not_inline", &blocky, None);
    w.write(out("w_inline.asdf")).unwrap();
    e.finish();
    check_ours(&out("w_inline.asdf"), "w_inline");
    let text = std::fs::read(out("w_inline.asdf")).unwrap();
    assert!(text.windows(7).filter(|w| w == b"  data:").count() == 7);

    // 4. views into one shared block (offset/strides, negative too)
    let mut w = AsdfWriter::new();
    let mut e = Expect::new("w_views");
    let base = arange(vec![6, 10], |i| i as i32);
    let blk = w
        .add_array("base", &base, ArrayOptions::default())
        .unwrap()
        .unwrap();
    e.add("base", &base, None);
    let views: Vec<(&str, Vec<u64>, u64, Vec<i64>)> = vec![
        ("rows", vec![2, 10], 80, vec![40, 4]),
        ("step", vec![3, 4], 4, vec![80, 8]),
        ("reversed", vec![6, 10], 5 * 40 + 9 * 4, vec![-40, -4]),
        ("transposed", vec![10, 6], 0, vec![4, 40]),
    ];
    for (name, shape, off, strides) in &views {
        w.add_view(
            name,
            blk,
            &DataType::Int32,
            Endian::NATIVE,
            shape,
            *off,
            strides,
        )
        .unwrap();
        // expected values computed from the base directly
        let bv = base.as_slice::<i32>().unwrap();
        let n: u64 = shape.iter().product();
        let mut v = Vec::new();
        for k in 0..n {
            let (mut rem, mut o) = (k, *off as i64);
            for ax in (0..shape.len()).rev() {
                o += (rem % shape[ax]) as i64 * strides[ax];
                rem /= shape[ax];
            }
            v.push(bv[(o / 4) as usize]);
        }
        e.add(name, &ArrayBuf::from_vec(shape.clone(), &v).unwrap(), None);
    }
    w.write(out("w_views.asdf")).unwrap();
    e.finish();
    check_ours(&out("w_views.asdf"), "w_views");

    // 5. masked
    let mut w = AsdfWriter::new();
    let mut e = Expect::new("w_masked");
    let m = arange(vec![3, 4], |i| i as f64);
    let mask: Vec<bool> = (0..12).map(|i| i % 5 == 0).collect();
    w.add_masked("masked", &m, &mask, ArrayOptions::default())
        .unwrap();
    e.add("masked", &m, Some(&mask));
    w.write(out("w_masked.asdf")).unwrap();
    e.finish();
    check_ours(&out("w_masked.asdf"), "w_masked");

    // 6. streamed last array
    let mut w = AsdfWriter::new();
    let mut e = Expect::new("w_stream");
    let small = arange(vec![3], |i| i as u16);
    w.add_array("first", &small, ArrayOptions::default())
        .unwrap();
    e.add("first", &small, None);
    w.set_stream("rows", &DataType::Float64, &[4]).unwrap();
    let mut sw = w.write_streaming(out("w_stream.asdf")).unwrap();
    let rows = arange(vec![5, 4], |i| i as f64 * 0.25);
    for chunk in rows.bytes().chunks(32) {
        sw.write_rows(chunk).unwrap();
    }
    sw.finish().unwrap();
    e.add("rows", &rows, None);
    e.finish();
    check_ours(&out("w_stream.asdf"), "w_stream");

    // 7. Zarr-in-ASDF (asdf-zarr layout)
    let mut w = AsdfWriter::new();
    let mut e = Expect::new("w_zarr");
    let mut z = arange(vec![30, 25], |i| (i % 700) as i32);
    for (k, v) in z.as_slice_mut::<i32>().unwrap().iter_mut().enumerate() {
        if k / 25 >= 20 {
            *v = -1; // whole chunk rows of fill value are not stored
        }
    }
    w.add_zarr(
        "mosaic",
        &z,
        &[10, 10],
        &serde_json::json!({"id": "zlib", "level": 1}),
        Some(-1.0),
    )
    .unwrap();
    e.add("mosaic", &z, None);
    w.write(out("w_zarr.asdf")).unwrap();
    e.finish();
    check_ours(&out("w_zarr.asdf"), "w_zarr");

    // 8. out-of-core: one array written region by region
    let mut e = Expect::new("w_out_of_core");
    let mut w = AsdfWriter::new();
    w.set("note", Node::str("written by AsdfArrayWriter"))
        .unwrap();
    let full = arange(vec![40, 30], |i| i as f32 * 0.5);
    let aw = AsdfArrayWriter::create(
        out("w_out_of_core.asdf"),
        w,
        "big",
        &DataType::Float32,
        &[40, 30],
    )
    .unwrap();
    for r0 in (0..40).step_by(7) {
        for c0 in (0..30).step_by(11) {
            let reg = Region::new(vec![r0..(r0 + 7).min(40), c0..(c0 + 11).min(30)]);
            let mut part = vec![0u8; reg.num_elements() as usize * 4];
            nd_core::shape::copy_region(
                full.bytes(),
                &[40, 30],
                nd_core::Order::C,
                &reg,
                &mut part,
                &reg.shape(),
                &[0, 0],
                4,
            )
            .unwrap();
            aw.write_region(&reg, &part).unwrap();
        }
    }
    let back = aw.read_region(&Region::new(vec![3..5, 2..4])).unwrap();
    assert_eq!(back.as_slice::<f32>().unwrap(), &[46.0, 46.5, 61.0, 61.5]);
    aw.finish().unwrap();
    e.add("big", &full, None);
    e.finish();
    check_ours(&out("w_out_of_core.asdf"), "w_out_of_core");
    let f = AsdfFile::open(out("w_out_of_core.asdf")).unwrap();
    assert_eq!(f.layout().index, nd_asdf::IndexStatus::Used);
}

/// Copy `reg` out of a C-order array.
fn cut(full: &ArrayBuf, reg: &Region) -> Vec<u8> {
    let elem = full.dtype().size();
    let mut part = vec![0u8; reg.num_elements() as usize * elem];
    nd_core::shape::copy_region(
        full.bytes(),
        full.shape(),
        nd_core::Order::C,
        reg,
        &mut part,
        &reg.shape(),
        &vec![0; reg.ndim()],
        elem,
    )
    .unwrap();
    part
}

#[test]
fn deferred_arrays_written_concurrently() {
    let mut e = Expect::new("w_deferred");
    let mut w = AsdfWriter::new();
    w.set("meta/note", Node::str("written by write_deferred"))
        .unwrap();
    // an in-memory compressed array before the deferred ones
    let small = arange(vec![5, 4], |i| i as i32 - 3);
    w.add_array(
        "small",
        &small,
        ArrayOptions {
            compression: Some(Compression::Zlib),
            ..Default::default()
        },
    )
    .unwrap();
    e.add("small", &small, None);
    let a = arange(vec![90, 70], |i| (i as f64).sqrt());
    let b = arange(vec![16, 33, 5], |i| (i as i16).wrapping_mul(7));
    // zarr: the first z-slab (16 planes) stays zero, the fill value, so those chunks are not stored
    let z = arange(vec![36, 20, 30], |i| {
        if i < 16 * 20 * 30 {
            0.0f32
        } else {
            (i % 977) as f32 * 0.25
        }
    });
    let u = arange(vec![33, 17], |i| i as u16);
    let ia = w
        .add_array_deferred("big/a", &DataType::Float64, &[90, 70])
        .unwrap();
    let ib = w
        .add_array_deferred("big/b", &DataType::Int16, &[16, 33, 5])
        .unwrap();
    let zlib = serde_json::json!({"id": "zlib", "level": 1});
    let iz = w
        .add_zarr_deferred(
            "cube",
            &DataType::Float32,
            &[36, 20, 30],
            &[16, 16, 16],
            &zlib,
            Some(0.0),
        )
        .unwrap();
    let iu = w
        .add_zarr_deferred(
            "plain",
            &DataType::UInt16,
            &[33, 17],
            &[10, 10],
            &serde_json::Value::Null,
            None,
        )
        .unwrap();
    e.add("big/a", &a, None);
    e.add("big/b", &b, None);
    e.add("cube", &z, None);
    e.add("plain", &u, None);
    let df = w.write_deferred(out("w_deferred.asdf")).unwrap();
    let (ha, hb, hz, hu) = (
        df.array(ia).unwrap(),
        df.array(ib).unwrap(),
        df.array(iz).unwrap(),
        df.array(iu).unwrap(),
    );
    assert_eq!(hz.chunk_shape(), vec![16, 16, 16]);
    // a region that cuts a chunk is refused
    let bad = Region::new(vec![0..8, 0..16, 0..16]);
    assert!(hz.write_region(&bad, &cut(&z, &bad)).is_err());
    // the zarr arrays: chunk-aligned slabs in scrambled order (one thread here so that the
    // committed file is the same on every run; concurrent chunk writes are tested below)
    for z0 in [32u64, 0, 16] {
        for y0 in [16u64, 0] {
            let reg = Region::new(vec![z0..(z0 + 16).min(36), y0..(y0 + 16).min(20), 0..30]);
            hz.write_region(&reg, &cut(&z, &reg)).unwrap();
        }
    }
    for r0 in [30u64, 10, 20, 0] {
        let reg = Region::new(vec![r0..(r0 + 10).min(33), 0..17]);
        hu.write_region(&reg, &cut(&u, &reg)).unwrap();
    }
    // the uncompressed arrays written by three threads at once
    std::thread::scope(|s| {
        for t in 0..3u64 {
            let (ha, hb) = (&ha, &hb);
            let (a, b) = (&a, &b);
            s.spawn(move || {
                for r0 in (0..90u64).step_by(9).filter(|r| (r / 9) % 3 == t) {
                    let reg = Region::new(vec![r0..r0 + 9, 0..70]);
                    ha.write_region(&reg, &cut(a, &reg)).unwrap();
                }
                let reg = Region::new(vec![0..16, t * 11..t * 11 + 11, 0..5]);
                hb.write_region(&reg, &cut(b, &reg)).unwrap();
            });
        }
    });
    // reads before finishing return what was written
    assert_eq!(hz.read_all().unwrap().bytes(), z.bytes());
    assert_eq!(ha.read_all().unwrap().bytes(), a.bytes());
    df.finish().unwrap();
    e.finish();
    assert!(
        ha.write_region(&Region::full(&[90, 70]), a.bytes())
            .is_err(),
        "written after finish"
    );
    check_ours(&out("w_deferred.asdf"), "w_deferred");
    let f = AsdfFile::open(out("w_deferred.asdf")).unwrap();
    assert_eq!(f.layout().index, nd_asdf::IndexStatus::Used);
    // small, a, b, two maps, then the stored chunks: 3 x 2 x 2 minus the 2 x 2 fill chunks of
    // the first slab, and 4 x 2 of `plain`
    assert_eq!(f.blocks().len(), 5 + (12 - 4) + 8);
    // the chunk blocks are in write order, not grid order: the map says where each is
    let z_read = f.array("cube").unwrap();
    assert_eq!(z_read.read_all().unwrap().bytes(), z.bytes());
}

#[test]
fn deferred_zarr_memory_stays_bounded() {
    // 8 x 8 chunks of 64 x 64 f64 (32 KiB each), written by 4 threads in whole-row slabs
    // of 8 chunks per call: the writer holds one decoded + one encoded chunk per call in flight.
    let n = 512u64;
    let data = arange(vec![n, n], |i| ((i * 2654435761) % 1000) as f64);
    let mut w = AsdfWriter::new();
    let zlib = serde_json::json!({"id": "zlib", "level": 1});
    let id = w
        .add_zarr_deferred("x", &DataType::Float64, &[n, n], &[64, 64], &zlib, None)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let df = w.write_deferred(dir.path().join("m.asdf")).unwrap();
    let h = df.array(id).unwrap();
    // concurrent chunk writes, each call one row of 8 chunks
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let (h, data) = (&h, &data);
            s.spawn(move || {
                for r0 in (0..n).step_by(64).filter(|r| (r / 64) % 4 == t) {
                    let reg = Region::new(vec![r0..r0 + 64, 0..n]);
                    h.write_region(&reg, &cut(data, &reg)).unwrap();
                }
            });
        }
    });
    let chunk = 64 * 64 * 8u64;
    let peak = df.peak_buffered_bytes();
    // zlib output of a chunk is at most the chunk plus a small overhead
    assert!(peak >= chunk, "the accounting saw no chunk ({peak})");
    assert!(
        peak <= 4 * (2 * chunk + 1024),
        "held {peak} bytes for 4 writers of {chunk}-byte chunks"
    );
    df.finish().unwrap();
    let f = AsdfFile::open(dir.path().join("m.asdf")).unwrap();
    assert_eq!(
        f.array("x").unwrap().read_all().unwrap().bytes(),
        data.bytes()
    );
    assert!(f.verify().unwrap().ok());
}

#[test]
fn deferred_file_dropped_unfinished_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = AsdfWriter::new();
    w.add_array_deferred("a", &DataType::UInt8, &[10]).unwrap();
    assert!(
        w.write(dir.path().join("no.asdf")).is_err(),
        "write() with deferred arrays"
    );
    let df = w.write_deferred(dir.path().join("x.asdf")).unwrap();
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    drop(df);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
