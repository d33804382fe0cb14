//! Files written by nd-fits read back by nd-fits: the committed ones in testdata/fits/written
//! (also checked by astropy: testdata/check_fits_written.py) and fresh ones in temp dirs.
#![allow(clippy::single_range_in_vec_init)]

use nd_core::{ArrayBuf, ArrayRead, ArrayWrite, DataType, Region};
use nd_fits::{append_image, Card, ChecksumStatus, Fits, FitsImageWriter, FitsWriter, ScaleSpec};
use std::path::Path;

fn written() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/fits/written")
}

fn all_valid(f: &Fits) {
    for r in nd_fits::verify_checksums(f).unwrap() {
        if r.checksum != ChecksumStatus::Absent {
            assert_eq!(r.checksum, ChecksumStatus::Valid, "HDU {}", r.hdu);
            assert_eq!(r.datasum, ChecksumStatus::Valid, "HDU {}", r.hdu);
        }
    }
}

#[test]
fn committed_written_files_read_back() {
    let mut n = 0;
    for name in ["all_dtypes", "scaled", "streamed"] {
        let f = Fits::open(written().join(format!("{name}.fits"))).unwrap();
        all_valid(&f);
        for i in 0..f.len() {
            let p = written().join(format!("{name}.{i}.npy"));
            if !p.exists() {
                continue;
            }
            let want = nd_core::npy::read_npy(&p).unwrap();
            let got = f.image(i).unwrap().read_all().unwrap();
            assert_eq!(got.shape(), want.shape());
            if name == "scaled" {
                let (g, w) = (
                    got.as_slice::<f32>().unwrap(),
                    want.as_slice::<f32>().unwrap(),
                );
                for (a, b) in g.iter().zip(w) {
                    assert!(
                        (a.is_nan() && b.is_nan()) || (a - b).abs() <= 0.0051,
                        "{a} vs {b}"
                    );
                }
            } else {
                assert_eq!(got.dtype(), want.dtype(), "{name} {i}");
                assert_eq!(got.bytes(), want.bytes(), "{name} {i}");
            }
            n += 1;
        }
    }
    assert_eq!(n, 14);
    let f = Fits::open(written().join("all_dtypes.fits")).unwrap();
    let h = &f.hdu(0).unwrap().header;
    assert!(h.get_str("LONGSTR").unwrap().ends_with("ends here."));
    assert_eq!(h.get_str("ESO DET CHIP NAME"), Some("CCD 1"));
}

#[test]
fn streaming_writer_parallel_regions_checksums_append() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s.fits");
    let shape = [8u64, 30, 20];
    let vals: Vec<f32> = (0..4800).map(|i| i as f32 * 0.5 - 7.0).collect();
    let full = ArrayBuf::from_vec(shape.to_vec(), &vals).unwrap();
    let w = FitsImageWriter::create(
        &p,
        DataType::Float32,
        &shape,
        &[Card::new("OBJECT", "x", None).unwrap()],
        true,
    )
    .unwrap();
    assert!(!p.exists(), "nothing at the final path before finish");
    std::thread::scope(|s| {
        for z in 0..8u64 {
            let (w, full) = (&w, &full);
            s.spawn(move || {
                // Two regions per plane, split along the middle axis.
                for (a, b) in [(0u64, 13u64), (13, 30)] {
                    let r = Region::new(vec![z..z + 1, a..b, 0..20]);
                    let part = full.bytes();
                    let plane = 30 * 20 * 4;
                    let bytes = &part[z as usize * plane + a as usize * 80
                        ..z as usize * plane + b as usize * 80];
                    w.write_region(&r, bytes).unwrap();
                }
            });
        }
    });
    // Read back through the writer before finishing.
    let back = w
        .read_region(&Region::new(vec![2..3, 5..7, 0..20]))
        .unwrap();
    assert_eq!(back.as_slice::<f32>().unwrap()[0], vals[2 * 600 + 5 * 20]);
    w.finish().unwrap();
    assert!(w.finish().is_err(), "finish twice");
    let f = Fits::open(&p).unwrap();
    all_valid(&f);
    assert_eq!(
        f.image(0)
            .unwrap()
            .read_all()
            .unwrap()
            .as_slice::<f32>()
            .unwrap(),
        &vals[..]
    );
    // Append two HDUs, one whole, one streamed.
    let u = ArrayBuf::from_vec(vec![2, 2], &[0u32, 1, u32::MAX, 7]).unwrap();
    append_image(&p, &u, &[Card::new("EXTNAME", "U", None).unwrap()], true).unwrap();
    let w2 = FitsImageWriter::append(&p, DataType::UInt64, &[3], &[], true).unwrap();
    w2.write_region(
        &Region::new(vec![0..3]),
        bytemuck::cast_slice(&[u64::MAX, 0, 1u64 << 63]),
    )
    .unwrap();
    w2.finish().unwrap();
    let f = Fits::open(&p).unwrap();
    assert_eq!(f.len(), 3);
    all_valid(&f);
    assert_eq!(f.find("U", None).unwrap().index, 1);
    assert_eq!(
        f.image(1)
            .unwrap()
            .read_all()
            .unwrap()
            .as_slice::<u32>()
            .unwrap(),
        &[0, 1, u32::MAX, 7]
    );
    assert_eq!(
        f.image(2)
            .unwrap()
            .read_all()
            .unwrap()
            .as_slice::<u64>()
            .unwrap(),
        &[u64::MAX, 0, 1 << 63]
    );
    // No temp files left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

#[test]
fn dropped_stream_writer_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("d.fits");
    {
        let w = FitsImageWriter::create(&p, DataType::Int16, &[4, 4], &[], false).unwrap();
        w.write_region(&Region::new(vec![0..1, 0..4]), &[0u8; 8])
            .unwrap();
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn scaled_writing_rounds_and_blanks() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("sc.fits");
    let v = [1.0f64, f64::NAN, -2.345, 1e9];
    let a = ArrayBuf::from_vec(vec![4], &v).unwrap();
    let mut w = FitsWriter::create(&p);
    w.add_image_scaled(
        &a,
        ScaleSpec {
            bitpix: 32,
            bscale: 0.001,
            bzero: 0.0,
            blank: Some(i32::MIN as i64),
        },
        &[],
    )
    .unwrap();
    w.finish().unwrap();
    let f = Fits::open(&p).unwrap();
    let raw = f.raw_image(0).unwrap().read_all().unwrap();
    assert_eq!(
        raw.as_slice::<i32>().unwrap(),
        &[1000, i32::MIN, -2345, i32::MAX]
    );
    let phys = f.image(0).unwrap().read_all().unwrap();
    let p = phys.as_slice::<f64>().unwrap();
    assert_eq!(p[0], 1000.0 * 0.001);
    assert!(p[1].is_nan());
    // NaN without BLANK is refused.
    let mut w = FitsWriter::create(dir.path().join("bad.fits"));
    assert!(w
        .add_image_scaled(
            &a,
            ScaleSpec {
                bitpix: 16,
                bscale: 1.0,
                bzero: 0.0,
                blank: None
            },
            &[]
        )
        .is_err());
}
