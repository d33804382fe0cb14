//! Region reads of uncompressed blocks fetch exactly the region's bytes, as merged byte runs, in
//! one `read_ranges` call (per batch) — or, for a region that is one run filling the output, one
//! positional read — and return the values python asdf returns.

mod common;

use common::testdata;
use nd_asdf::{ArrayOptions, AsdfFile, AsdfWriter};
use nd_core::{
    ArrayBuf, ArrayRead, ByteSource, CountingSource, DataType, Endian, MemSource, MmapSource,
    Order, Region,
};
use std::ops::Range;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Counts the calls of each kind on top of a [`CountingSource`] (which counts ranges and bytes).
#[derive(Debug)]
struct Calls<S> {
    inner: CountingSource<S>,
    ranges_calls: AtomicU64,
    single_calls: AtomicU64,
}

impl<S: ByteSource> Calls<S> {
    fn new(s: S) -> Arc<Self> {
        Arc::new(Calls {
            inner: CountingSource::new(s),
            ranges_calls: AtomicU64::new(0),
            single_calls: AtomicU64::new(0),
        })
    }
    fn reset(&self) {
        self.inner.reset();
        self.ranges_calls.store(0, Ordering::Relaxed);
        self.single_calls.store(0, Ordering::Relaxed);
    }
    /// (read_ranges calls, other read calls, bytes read)
    fn counts(&self) -> (u64, u64, u64) {
        (
            self.ranges_calls.load(Ordering::Relaxed),
            self.single_calls.load(Ordering::Relaxed),
            self.inner.bytes_read(),
        )
    }
}

impl<S: ByteSource> ByteSource for Calls<S> {
    fn len(&self) -> u64 {
        self.inner.len()
    }
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> nd_core::Result<()> {
        self.single_calls.fetch_add(1, Ordering::Relaxed);
        self.inner.read_exact_at(offset, buf)
    }
    fn read_range(&self, range: Range<u64>) -> nd_core::Result<bytes::Bytes> {
        self.single_calls.fetch_add(1, Ordering::Relaxed);
        self.inner.read_range(range)
    }
    fn read_ranges(&self, ranges: &[Range<u64>]) -> nd_core::Result<Vec<bytes::Bytes>> {
        self.ranges_calls.fetch_add(1, Ordering::Relaxed);
        self.inner.read_ranges(ranges)
    }
}

fn py(name: &str) -> PathBuf {
    testdata().join("asdf/py").join(name)
}

/// python asdf's array `name` of `file` (its expected .npy).
fn expected(file: &str, name: &str) -> ArrayBuf {
    let dir = testdata().join("asdf/py/expected").join(file);
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    let npy = index[name]["npy"].as_str().unwrap();
    nd_core::npy::read_npy(dir.join(npy)).unwrap()
}

/// The bytes of `region` of a C-order array.
fn slice(a: &ArrayBuf, region: &Region) -> Vec<u8> {
    let elem = a.dtype().size();
    let mut out = vec![0u8; region.num_elements() as usize * elem];
    nd_core::shape::copy_region(
        a.bytes(),
        a.shape(),
        Order::C,
        region,
        &mut out,
        &region.shape(),
        &vec![0; region.ndim()],
        elem,
    )
    .unwrap();
    out
}

/// Read `region` of `name` through a counting source; check the values against `want` (the
/// whole array) and that exactly the region's bytes came in `calls` read_ranges calls, or in one
/// positional read when the region is one run of the block filling the output.
fn check_region<S: ByteSource>(
    src: &Calls<S>,
    f: &AsdfFile,
    name: &str,
    region: &str,
    want: &ArrayBuf,
    calls: u64,
) {
    let a = f.array(name).unwrap();
    let region = Region::parse(region, a.shape()).unwrap();
    src.reset();
    let got = a.read_region(&region).unwrap();
    let (rc, sc, bytes) = src.counts();
    assert_eq!(got.dtype(), want.dtype(), "{name} {region:?}");
    assert_eq!(got.bytes(), &slice(want, &region)[..], "{name} {region:?}");
    let elem = a.stored_dtype().size();
    let region_bytes = region.num_elements() * elem as u64;
    assert_eq!(bytes, region_bytes, "{name} {region:?}: bytes read");
    let v = a.block_view().unwrap();
    let one_run = nd_core::io::RunPlan::new(&region, v.offset(), v.strides(), elem)
        .unwrap()
        .and_then(|p| p.single_run())
        .is_some_and(|r| r.end - r.start == region_bytes);
    assert_eq!(
        (rc, sc),
        if one_run { (0, 1) } else { (calls, 0) },
        "{name} {region:?}: read_ranges calls, other reads"
    );
}

#[test]
fn python_2d_cutouts_fetch_exactly_their_bytes_in_one_call() {
    let src = Calls::new(MmapSource::open(py("dtypes.asdf")).unwrap());
    let f = AsdfFile::from_source(src.clone()).unwrap();
    let mut n = 0;
    for t in ["i2", "u4", "i8", "f4", "f8", "c8", "c16", "f2"] {
        for e in ["le", "be"] {
            let name = format!("{t}_{e}");
            let want = expected("dtypes", &name);
            assert_eq!(want.shape(), &[3, 4]);
            for region in ["1:3,1:3", "0:3,2:3", "1:2,:", ":,:", "2:3,0:1"] {
                check_region(&src, &f, &name, region, &want, 1);
                n += 1;
            }
        }
    }
    // the two rows 1:3 of cols 1:3 are two runs, apart in the block
    let a = f.array("f8_be").unwrap();
    src.reset();
    a.read_region(&Region::parse("1:3,1:3", a.shape()).unwrap())
        .unwrap();
    let r = src.inner.ranges();
    assert_eq!(r.len(), 2, "{r:?}");
    assert_eq!(r[1].start - r[0].start, 4 * 8, "{r:?}");
    assert!(n >= 80);
}

#[test]
fn python_views_with_offset_and_strides() {
    // views into one shared block: offset, steps, negative strides, a transposed view
    let src = Calls::new(MmapSource::open(py("views_shared.asdf")).unwrap());
    let f = AsdfFile::from_source(src.clone()).unwrap();
    for (name, regions) in [
        ("base", &["2:5,3:17", "0:6,0:20", "5:6,19:20"][..]),
        ("rows", &["0:3,4:9", "1:2,:"][..]),
        ("step", &["0:3,1:6", "1:3,0:1"][..]),
        ("reversed", &["1:5,2:18", "0:6,0:20", "3:4,5:6"][..]),
        ("column", &["1:5", "0:6"][..]),
        ("transposed", &["2:9,1:5", "0:20,0:6", "3:4,:"][..]),
    ] {
        let want = expected("views_shared", name);
        for r in regions {
            check_region(&src, &f, name, r, &want, 1);
        }
    }
    // a full read of the transposed view (one run over the whole block) and of the reversed
    // view fetch the block once
    for name in ["transposed", "reversed"] {
        let a = f.array(name).unwrap();
        src.reset();
        a.read_all().unwrap();
        assert_eq!(src.inner.ranges().len(), 1, "{name}");
    }
}

#[test]
fn python_streamed_and_external_blocks() {
    let src = Calls::new(MmapSource::open(py("stream.asdf")).unwrap());
    let f = AsdfFile::from_source(src.clone()).unwrap();
    let want = expected("stream", "stream");
    assert_eq!(want.shape(), &[7, 3]);
    for r in ["2:5,1:3", "0:7,0:1", "6:7,:"] {
        check_region(&src, &f, "stream", r, &want, 1);
    }
    // exploded: the block is in another file (opened by the library): values only
    let f = AsdfFile::open(py("exploded/exploded.asdf")).unwrap();
    for (name, r) in [("a", "0:2,1:3"), ("a", "1:2,0:2"), ("b", "1:3")] {
        let want = expected("exploded", name);
        let a = f.array(name).unwrap();
        let region = Region::parse(r, a.shape()).unwrap();
        let got = a.read_region(&region).unwrap();
        assert_eq!(got.bytes(), &slice(&want, &region)[..], "{name} {r}");
    }
}

#[test]
fn python_compressed_block_regions_unchanged() {
    // compressed blocks are decoded whole; regions are taken from the decoded bytes
    for c in ["zlib", "bzp2", "lz4"] {
        let f = AsdfFile::open(py(&format!("compressed_{c}.asdf"))).unwrap();
        let want = expected(&format!("compressed_{c}"), "small");
        let a = f.array("small").unwrap();
        let region = Region::parse("3:8", a.shape()).unwrap();
        let got = a.read_region(&region).unwrap();
        assert_eq!(got.bytes(), &slice(&want, &region)[..], "{c}");
    }
}

#[test]
fn python_zarr_chunk_blocks_in_one_call() {
    let src = Calls::new(MmapSource::open(py("zarr_internal.asdf")).unwrap());
    let f = AsdfFile::from_source(src.clone()).unwrap();
    let a = f.array("zarr").unwrap();
    let want = expected("zarr_internal", "zarr");
    // chunk rows 0..3 x cols 0..3 of a 3x4 grid of 16x8 chunks: 9 chunks, 2 never written
    let region = Region::parse("10:36,4:20", a.shape()).unwrap();
    src.reset();
    let got = a.read_region(&region).unwrap();
    assert_eq!(got.bytes(), &slice(&want, &region)[..]);
    let (rc, sc, bytes) = src.counts();
    let ranges = src.inner.ranges();
    assert_eq!((rc, sc), (1, 0), "{ranges:?}");
    assert_eq!(ranges.len(), 7, "{ranges:?}");
    assert_eq!(bytes, 7 * 16 * 8 * 4);
    let starts: Vec<u64> = f
        .blocks()
        .headers()
        .iter()
        .map(|h| h.data_offset())
        .collect();
    assert!(
        ranges.iter().all(|r| starts.contains(&r.start)),
        "{ranges:?}"
    );
}

/// Values of a 3-D test array: unique per index.
fn val(i: u64, j: u64, k: u64) -> f64 {
    (i * 10_000 + j * 100 + k) as f64 - 0.25
}

#[test]
fn written_3d_le_be_and_strided_views() {
    let shape = [6u64, 7, 9];
    let n: u64 = shape.iter().product();
    let idx = |l: u64| (l / 63, (l / 9) % 7, l % 9);
    let f64s: Vec<f64> = (0..n)
        .map(|l| {
            let (i, j, k) = idx(l);
            val(i, j, k)
        })
        .collect();
    let i32s: Vec<i32> = f64s.iter().map(|&v| (v + 0.25) as i32 - 300_000).collect();
    let a_f64 = ArrayBuf::from_vec(shape.to_vec(), &f64s).unwrap();
    let a_i32 = ArrayBuf::from_vec(shape.to_vec(), &i32s).unwrap();
    let mut w = AsdfWriter::new();
    w.add_array_endian("f8_le", &a_f64, Endian::Little, ArrayOptions::default())
        .unwrap();
    let be = w
        .add_array_endian("f8_be", &a_f64, Endian::Big, ArrayOptions::default())
        .unwrap()
        .unwrap();
    w.add_array_endian("i4_be", &a_i32, Endian::Big, ArrayOptions::default())
        .unwrap();
    // views into the big-endian f8 block: axes reversed (Fortran-like), a stepped and
    // reversed sub-cube, and one with a broadcast (stride 0) axis
    let views: Vec<(&str, Vec<u64>, u64, Vec<i64>)> = vec![
        ("f8_be_t", vec![9, 7, 6], 0, vec![8, 72, 504]),
        (
            "f8_be_step",
            vec![3, 3, 4],
            (5 * 63 + 9 + 1) * 8, // element (5, 1, 1)
            vec![-2 * 504, 2 * 72, 2 * 8],
        ),
        ("f8_be_bcast", vec![4, 7, 9], 504, vec![0, 72, 8]),
    ];
    for (name, vshape, off, strides) in &views {
        w.add_view(
            name,
            be,
            &DataType::Float64,
            Endian::Big,
            vshape,
            *off,
            strides,
        )
        .unwrap();
    }
    let bytes = w.to_bytes().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cube.asdf");
    std::fs::write(&path, &bytes).unwrap();
    let src = Calls::new(MmapSource::open(&path).unwrap());
    let f = AsdfFile::from_source(src.clone()).unwrap();

    for name in ["f8_le", "f8_be", "i4_be"] {
        let want = if name.starts_with("i4") {
            &a_i32
        } else {
            &a_f64
        };
        for r in [
            "1:5,2:6,3:8",
            "0:6,0:7,0:9",
            "2:3,0:7,0:9",
            "0:6,3:4,4:5",
            "4:6,:,2:3",
        ] {
            check_region(&src, &f, name, r, want, 1);
        }
    }
    // views: expected values computed from the base by the view's offset and strides
    for (name, vshape, off, strides) in &views {
        let vn: u64 = vshape.iter().product();
        let v: Vec<f64> = (0..vn)
            .map(|l| {
                let (mut rem, mut o) = (l, *off as i64);
                for ax in (0..3).rev() {
                    o += (rem % vshape[ax]) as i64 * strides[ax];
                    rem /= vshape[ax];
                }
                f64s[(o / 8) as usize]
            })
            .collect();
        let want = ArrayBuf::from_vec(vshape.clone(), &v).unwrap();
        let a = f.array(name).unwrap();
        let full = Region::full(a.shape());
        for region in [full, Region::new(vec![1..3, 1..3, 1..3])] {
            src.reset();
            let got = a.read_region(&region).unwrap();
            assert_eq!(got.bytes(), &slice(&want, &region)[..], "{name} {region:?}");
            let (rc, sc, bytes) = src.counts();
            assert_eq!((rc, sc), (1, 0), "{name} {region:?}");
            // the broadcast view reads its repeated elements once
            let distinct = if *name == "f8_be_bcast" {
                region.num_elements() / region.shape()[0]
            } else {
                region.num_elements()
            };
            assert_eq!(bytes, distinct * 8, "{name} {region:?}");
        }
    }
}

#[test]
fn many_runs_are_fetched_in_bounded_batches() {
    // 70,000 one-byte runs (column 0 of a 70000x2 u8 array): two batches of at most 65,536
    let rows = 70_000u64;
    let v: Vec<u8> = (0..rows * 2).map(|i| (i % 251) as u8).collect();
    let a = ArrayBuf::from_vec(vec![rows, 2], &v).unwrap();
    let mut w = AsdfWriter::new();
    w.add_array("a", &a, ArrayOptions::default()).unwrap();
    let src = Calls::new(MemSource::new(w.to_bytes().unwrap()));
    let f = AsdfFile::from_source(src.clone()).unwrap();
    let arr = f.array("a").unwrap();
    let region = Region::parse(":,0:1", arr.shape()).unwrap();
    src.reset();
    let got = arr.read_region(&region).unwrap();
    assert_eq!(got.bytes(), &slice(&a, &region)[..]);
    let (rc, sc, bytes) = src.counts();
    assert_eq!((rc, sc, bytes), (2, 0, rows));
    assert_eq!(src.inner.ranges().len() as u64, rows);
}
