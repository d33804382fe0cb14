//! Reads of a whole uncompressed block (and of any region that is one contiguous run of it) go
//! straight into the output with positional reads, in parallel pieces swapped to native order as
//! they arrive; smaller or scattered regions are fetched with `read_ranges`. Both give the values
//! written, from a file and from memory, in either byte order. A compressed block read whole is
//! decoded straight into the output; other regions of it come from the decoded copy.

use nd_asdf::{ArrayOptions, AsdfFile, AsdfWriter, Compression};
use nd_core::{ArrayBuf, ArrayRead, Endian, MemSource, Region};
use std::sync::Arc;

fn values<T: nd_core::Element>(shape: Vec<u64>, f: impl Fn(usize) -> T) -> ArrayBuf {
    let n: u64 = shape.iter().product();
    let v: Vec<T> = (0..n as usize).map(f).collect();
    ArrayBuf::from_vec(shape, &v).unwrap()
}

/// The bytes of `region` of a C-order 2-D array.
fn cut(a: &ArrayBuf, r: &Region) -> Vec<u8> {
    let e = a.dtype().size();
    let w = a.shape()[1] as usize;
    let mut out = Vec::new();
    for y in r.ranges[0].clone() {
        let s = (y as usize * w + r.ranges[1].start as usize) * e;
        let n = (r.ranges[1].end - r.ranges[1].start) as usize * e;
        out.extend_from_slice(&a.bytes()[s..s + n]);
    }
    out
}

#[test]
fn whole_blocks_and_bands_read_straight_into_the_output() {
    // 1100 x 512 float64 = 4.3 MiB (two pieces, in parallel); 700 x 300 uint16 = 410 KiB
    let f64s = values(vec![1100, 512], |i| i as f64 * 0.5 - 7.0);
    let u16s = values(vec![700, 300], |i| (i * 37 % 65536) as u16);
    let mut w = AsdfWriter::new();
    let zlib = ArrayOptions {
        compression: Some(Compression::Zlib),
        ..ArrayOptions::default()
    };
    for endian in [Endian::Big, Endian::Little] {
        let tag = format!("{endian:?}").to_lowercase();
        for (prefix, opts) in [("", ArrayOptions::default()), ("zlib_", zlib)] {
            for (name, a) in [("f64", &f64s), ("u16", &u16s)] {
                w.add_array_endian(&format!("{prefix}{tag}/{name}"), a, endian, opts)
                    .unwrap();
            }
        }
    }
    let bytes = w.to_bytes().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.asdf");
    std::fs::write(&path, &bytes).unwrap();
    let files = [
        AsdfFile::open(&path).unwrap(),
        AsdfFile::from_source(Arc::new(MemSource::new(bytes))).unwrap(),
    ];
    for f in &files {
        for tag in ["big", "little", "zlib_big", "zlib_little"] {
            for (name, want) in [("f64", &f64s), ("u16", &u16s)] {
                let a = f.array(&format!("{tag}/{name}")).unwrap();
                let shape = want.shape().to_vec();
                let full = a.read_region(&Region::full(&shape)).unwrap();
                assert_eq!(full.bytes(), want.bytes(), "{tag}/{name} full");
                // a band of whole rows (one run: positional), one row and a column (ranges)
                for r in [
                    Region::new(vec![5..shape[0] - 3, 0..shape[1]]),
                    Region::new(vec![9..10, 0..shape[1]]),
                    Region::new(vec![0..shape[0], 3..4]),
                ] {
                    let got = a.read_region(&r).unwrap();
                    assert_eq!(got.bytes(), &cut(want, &r)[..], "{tag}/{name} {r:?}");
                }
            }
        }
    }
}

#[test]
fn compressed_blocks_stream_from_the_source_in_bounded_reads() {
    // 1.6 MB of hard-to-compress uint32: the stored bytes span several stream chunks
    let n = 400_000u64;
    let a = values(vec![n], |i| {
        (i as u32).wrapping_mul(2_654_435_761).rotate_left(7)
    });
    let mut w = AsdfWriter::new();
    for (name, c) in [("zlib", Compression::Zlib), ("bzp2", Compression::Bzip2)] {
        let opts = ArrayOptions {
            compression: Some(c),
            ..ArrayOptions::default()
        };
        w.add_array(name, &a, opts).unwrap();
    }
    let src = Arc::new(nd_core::CountingSource::new(MemSource::new(
        w.to_bytes().unwrap(),
    )));
    let f = AsdfFile::from_source(src.clone()).unwrap();
    let chunk = nd_core::ByteSource::stream_chunk(&*src) as u64;
    for (i, name) in ["zlib", "bzp2"].into_iter().enumerate() {
        let used = f.blocks().header(i).unwrap().used;
        assert!(used > 2 * chunk, "{name}: {used} stored bytes");
        src.reset();
        let got = f
            .array(name)
            .unwrap()
            .read_region(&Region::full(&[n]))
            .unwrap();
        assert_eq!(got.bytes(), a.bytes(), "{name}");
        // the stored bytes once, in reads of at most one chunk: never the block whole
        let ranges = src.ranges();
        assert!(
            ranges.iter().all(|r| r.end - r.start <= chunk),
            "{name}: {ranges:?}"
        );
        assert_eq!(src.bytes_read(), used, "{name}");
    }
}
