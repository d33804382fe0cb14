//! Every file of testdata/fits/manifest.json (written by testdata/gen_fits.py with astropy) is read
//! and compared with what astropy returned: HDU kinds, names, shapes, dtypes, whole-image values,
//! sections, checksum verdicts, header cards, random groups.

use nd_core::{ArrayBuf, ArrayRead, ByteSource, CountingSource, DataType, MemSource, Region};
use nd_fits::{ChecksumStatus, Error, Fits, HduKind, Value};
use serde_json::Value as J;
use std::sync::Arc;

mod common;
use common::{manifest, npy, root};

/// Same dtype, shape and values (floats: bit-equal, or both NaN).
fn assert_same(got: &ArrayBuf, want: &ArrayBuf, what: &str) {
    assert_eq!(got.dtype(), want.dtype(), "{what}: dtype");
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    match got.dtype() {
        DataType::Float32 => {
            let (a, b) = (
                got.as_slice::<f32>().unwrap(),
                want.as_slice::<f32>().unwrap(),
            );
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                assert!(
                    x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()),
                    "{what}: element {i}: {x} != {y}"
                );
            }
        }
        DataType::Float64 => {
            let (a, b) = (
                got.as_slice::<f64>().unwrap(),
                want.as_slice::<f64>().unwrap(),
            );
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                assert!(
                    x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()),
                    "{what}: element {i}: {x} != {y}"
                );
            }
        }
        _ => assert!(got.bytes() == want.bytes(), "{what}: values differ"),
    }
}

fn kind_of(class: &str) -> HduKind {
    match class {
        "PrimaryHDU" => HduKind::Primary,
        "ImageHDU" => HduKind::Image,
        "BinTableHDU" => HduKind::BinTable,
        "TableHDU" => HduKind::Table,
        "CompImageHDU" => HduKind::CompressedImage,
        "GroupsHDU" => HduKind::RandomGroups,
        other => HduKind::Other(other.to_string()),
    }
}

fn region_of(spec: &J) -> Region {
    Region::new(
        spec.as_array()
            .unwrap()
            .iter()
            .map(|r| r[0].as_u64().unwrap()..r[1].as_u64().unwrap())
            .collect(),
    )
}

/// The byte runs of a region computed element by element (independently of the crate).
fn brute_force_runs(
    shape: &[u64],
    region: &Region,
    elem: u64,
    base: u64,
) -> Vec<std::ops::Range<u64>> {
    let mut runs: Vec<std::ops::Range<u64>> = Vec::new();
    let n = region.num_elements();
    let rs = region.shape();
    for flat in 0..n {
        let mut rem = flat;
        let mut idx = vec![0u64; rs.len()];
        for ax in (0..rs.len()).rev() {
            idx[ax] = rem % rs[ax] + region.ranges[ax].start;
            rem /= rs[ax];
        }
        let mut off = 0u64;
        for ax in 0..shape.len() {
            off = off * shape[ax] + idx[ax];
        }
        let s = base + off * elem;
        match runs.last_mut() {
            Some(r) if r.end == s => r.end = s + elem,
            _ => runs.push(s..s + elem),
        }
    }
    runs
}

fn merged(mut v: Vec<std::ops::Range<u64>>) -> Vec<std::ops::Range<u64>> {
    let mut out: Vec<std::ops::Range<u64>> = Vec::new();
    for r in v.drain(..) {
        match out.last_mut() {
            Some(l) if l.end == r.start => l.end = r.end,
            _ => out.push(r),
        }
    }
    out
}

#[test]
fn every_file_reads_as_astropy_reads_it() {
    let m = manifest();
    assert!(m.len() > 40, "manifest has {} files", m.len());
    let mut images = 0;
    let mut sections = 0;
    for (rel, entry) in &m {
        let path = root().join(entry["path"].as_str().unwrap());
        let fits = Fits::open(&path).unwrap_or_else(|e| panic!("{rel}: {e}"));
        let n = entry["n_hdus"].as_u64().unwrap() as usize;
        assert_eq!(fits.len(), n, "{rel}: number of HDUs");
        for h in entry["hdus"].as_array().unwrap() {
            let i = h["index"].as_u64().unwrap() as usize;
            let what = format!("{rel} HDU {i}");
            let hdu = fits.hdu(i).unwrap();
            assert_eq!(
                hdu.kind,
                kind_of(h["astropy_class"].as_str().unwrap()),
                "{what}: kind"
            );
            assert_eq!(hdu.name(), h["name"].as_str().unwrap(), "{what}: name");
            assert_eq!(hdu.ver(), h["ver"].as_i64().unwrap(), "{what}: ver");
            if !h["is_image"].as_bool().unwrap() {
                // Tables are not images; compressed images are (tests/compressed.rs).
                if hdu.kind != HduKind::CompressedImage {
                    assert!(fits.image(i).is_err(), "{what}: not an image");
                }
                continue;
            }
            if h["shape"].is_null() {
                assert!(matches!(fits.image(i), Err(Error::NoData { .. })), "{what}");
                continue;
            }
            let img = fits.image(i).unwrap_or_else(|e| panic!("{what}: {e}"));
            let shape: Vec<u64> = h["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap())
                .collect();
            assert_eq!(img.shape(), &shape[..], "{what}: shape");
            assert_eq!(
                img.dtype().to_string(),
                h["dtype"].as_str().unwrap(),
                "{what}: dtype"
            );
            assert_eq!(hdu.physical_dtype().as_ref(), Some(img.dtype()), "{what}");
            if let Some(d) = h.get("data").and_then(|d| d.as_str()) {
                let got = img.read_all().unwrap();
                let want = npy(d);
                assert_same(&got, &want, &what);
                images += 1;
                // A middle region of every image equals the same part of astropy's array.
                if !shape.contains(&0) {
                    let region = Region::new(
                        shape
                            .iter()
                            .map(|&n| n / 3..(2 * n / 3).max(n / 3 + 1))
                            .collect(),
                    );
                    let part = img.read_region(&region).unwrap();
                    let mut exp = vec![0u8; part.bytes().len()];
                    nd_core::shape::copy_region(
                        want.bytes(),
                        &shape,
                        nd_core::Order::C,
                        &region,
                        &mut exp,
                        &region.shape(),
                        &vec![0; shape.len()],
                        img.dtype().size(),
                    )
                    .unwrap();
                    let exp =
                        ArrayBuf::from_bytes(want.dtype().clone(), region.shape(), &exp).unwrap();
                    assert_same(&part, &exp, &format!("{what} region {region:?}"));
                    sections += 1;
                }
                // Reading into a caller's buffer gives the same bytes.
                let mut buf = vec![0u8; got.bytes().len()];
                img.read_region_into(&Region::full(&shape), &mut buf)
                    .unwrap();
                assert_eq!(&buf[..], got.bytes());
            }
            for s in h
                .get("sections")
                .and_then(|s| s.as_array())
                .into_iter()
                .flatten()
            {
                let region = region_of(&s["region"]);
                let got = img.read_region(&region).unwrap();
                assert_same(
                    &got,
                    &npy(s["data"].as_str().unwrap()),
                    &format!("{what} section {region:?}"),
                );
                sections += 1;
            }
        }
        // Checksums.
        if let Some(cs) = entry["checksums"].as_array() {
            let ours = nd_fits::verify_checksums(&fits).unwrap();
            assert_eq!(ours.len(), cs.len(), "{rel}");
            for (o, a) in ours.iter().zip(cs) {
                let st = |s: ChecksumStatus| match s {
                    ChecksumStatus::Valid => "valid",
                    ChecksumStatus::Invalid => "invalid",
                    ChecksumStatus::Absent => "absent",
                };
                assert_eq!(
                    st(o.checksum),
                    a["checksum"].as_str().unwrap(),
                    "{rel} HDU {} CHECKSUM",
                    o.hdu
                );
                assert_eq!(
                    st(o.datasum),
                    a["datasum"].as_str().unwrap(),
                    "{rel} HDU {} DATASUM",
                    o.hdu
                );
            }
        }
        // Random groups.
        if let Some(g) = entry.get("groups") {
            let rg = fits.random_groups(0).unwrap();
            assert_same(
                &rg.params,
                &npy(g["params"].as_str().unwrap()),
                &format!("{rel} params"),
            );
            assert_same(
                &rg.data,
                &npy(g["data"].as_str().unwrap()),
                &format!("{rel} group data"),
            );
        }
    }
    assert!(images > 60, "{images} images compared");
    assert!(sections > 75, "{sections} sections compared");
}

#[test]
fn header_cards_match_astropy() {
    let m = manifest();
    let mut checked = 0;
    for (rel, entry) in &m {
        for h in entry["hdus"].as_array().unwrap() {
            let Some(cards) = h.get("cards").and_then(|c| c.as_array()) else {
                continue;
            };
            let path = root().join(entry["path"].as_str().unwrap());
            let fits = Fits::open(&path).unwrap();
            let hdu = fits.hdu(h["index"].as_u64().unwrap() as usize).unwrap();
            let ours = hdu.header.cards();
            assert_eq!(ours.len(), cards.len(), "{rel}: card count");
            for (k, (c, a)) in ours.iter().zip(cards).enumerate() {
                let what = format!("{rel} card {k} {:?}", c.raw().get(..80));
                assert_eq!(c.keyword(), a[0].as_str().unwrap(), "{what}: keyword");
                let kind = a[1].as_str().unwrap();
                match (kind, c.value()) {
                    ("unparsable", Value::Invalid(_)) => {}
                    ("text", Value::Text(t)) => assert_eq!(t, a[2].as_str().unwrap(), "{what}"),
                    ("bool", Value::Bool(b)) => assert_eq!(*b, a[2].as_bool().unwrap(), "{what}"),
                    ("int", Value::Int(i)) => {
                        assert_eq!(i.to_string(), a[2].as_str().unwrap(), "{what}")
                    }
                    ("int", Value::BigInt(s)) => assert_eq!(s, a[2].as_str().unwrap(), "{what}"),
                    ("float", Value::Float(f)) => {
                        assert_eq!(*f, a[2].as_str().unwrap().parse::<f64>().unwrap(), "{what}")
                    }
                    ("complex", Value::Complex(r, i)) => {
                        assert_eq!(
                            *r,
                            a[2][0].as_str().unwrap().parse::<f64>().unwrap(),
                            "{what}"
                        );
                        assert_eq!(
                            *i,
                            a[2][1].as_str().unwrap().parse::<f64>().unwrap(),
                            "{what}"
                        );
                    }
                    // A card without value indicator: astropy's value is its text.
                    ("str", Value::Text(s)) | ("str", Value::Str(s)) => {
                        assert_eq!(s, a[2].as_str().unwrap(), "{what}")
                    }
                    ("undefined", Value::Undefined) => {}
                    (k, v) => panic!("{what}: astropy says {k} {:?}, we read {v:?}", a[2]),
                }
                if kind != "text" && kind != "unparsable" {
                    let want = a[3].as_str().unwrap_or("");
                    assert_eq!(c.comment().unwrap_or(""), want, "{what}: comment");
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 50, "{checked} cards checked");
}

#[test]
fn headers_round_trip_byte_exactly() {
    for rel in [
        "gen/cards.fits",
        "gen/junk_header.fits",
        "astropy/test0.fits",
        "astropy/o4sp040b0_raw.fits",
    ] {
        let bytes = std::fs::read(root().join(rel)).unwrap();
        let fits = Fits::open(root().join(rel)).unwrap();
        for hdu in fits.hdus().unwrap() {
            let raw = &bytes[hdu.header_offset as usize..hdu.data_offset as usize];
            assert_eq!(hdu.header.to_bytes(), raw, "{rel} HDU {}", hdu.index);
        }
    }
}

#[test]
fn junk_header_warnings_and_strict_mode() {
    let p = root().join("gen/junk_header.fits");
    let fits = Fits::open(&p).unwrap();
    let w: Vec<String> = fits.warnings().iter().map(|(_, w)| w.msg.clone()).collect();
    assert!(w.iter().any(|m| m.contains("lowercase keyword")), "{w:?}");
    assert!(w.iter().any(|m| m.contains("unparsable value")), "{w:?}");
    assert!(w.iter().any(|m| m.contains("fixed format")), "{w:?}");
    let strict = Fits::open_with(
        &p,
        nd_fits::OpenOptions {
            strictness: nd_fits::Strictness::Strict,
            ..Default::default()
        },
    );
    match strict {
        Err(Error::Card {
            hdu: 0,
            card,
            offset,
            ..
        }) => assert_eq!(offset, card as u64 * 80),
        other => panic!("strict open: {other:?}"),
    }
}

#[test]
fn region_reads_fetch_exactly_the_region_bytes() {
    for (rel, hdu_i, spec) in [
        ("gen/mef.fits", 1usize, vec![5..15u64, 10..12]),
        ("gen/dim4.fits", 0, vec![1..3, 1..3, 2..4, 0..6]),
        ("gen/dim3.fits", 0, vec![0..3, 1..3, 0..5]),
        ("gen/sc_i16.fits", 0, vec![2..5, 3..10]),
        ("astropy/test0.fits", 1, vec![10..20, 5..25]),
    ] {
        let bytes = std::fs::read(root().join(rel)).unwrap();
        let counting = Arc::new(CountingSource::new(MemSource::new(bytes)));
        let fits = Fits::from_source(counting.clone() as Arc<dyn ByteSource>).unwrap();
        let img = fits.image(hdu_i).unwrap();
        let region = Region::new(spec);
        counting.reset();
        let got = img.read_region(&region).unwrap();
        let hdu = fits.hdu(hdu_i).unwrap();
        let elem = hdu.stored_dtype().unwrap().size() as u64;
        let want = brute_force_runs(img.shape(), &region, elem, hdu.data_offset);
        assert_eq!(merged(counting.ranges()), want, "{rel}");
        assert_eq!(counting.bytes_read(), region.num_elements() * elem, "{rel}");
        assert_eq!(img.byte_runs(&region).unwrap(), want, "{rel}");
        // And the values equal the same part of a full read.
        let all = img.read_all().unwrap();
        let mut part = vec![0u8; got.bytes().len()];
        nd_core::shape::copy_region(
            all.bytes(),
            img.shape(),
            nd_core::Order::C,
            &region,
            &mut part,
            &region.shape(),
            &vec![0; region.ndim()],
            img.dtype().size(),
        )
        .unwrap();
        assert_eq!(part, got.bytes(), "{rel}");
    }
}

#[test]
fn opening_500_hdus_reads_only_header_blocks() {
    let gz = std::fs::read(root().join("gen/many_ext.fits.gz")).unwrap();
    let mut raw = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut raw).unwrap();
    let counting = Arc::new(CountingSource::new(MemSource::new(raw)));
    let fits = Fits::from_source(counting.clone() as Arc<dyn ByteSource>).unwrap();
    assert_eq!(
        counting.bytes_read(),
        2 + 2880,
        "open reads magic + primary header"
    );
    assert_eq!(fits.hdu(499).unwrap().name(), "E499");
    assert_eq!(fits.len(), 500);
    let hdus = fits.hdus().unwrap();
    let header_bytes: u64 = hdus.iter().map(|h| h.data_offset - h.header_offset).sum();
    assert_eq!(counting.bytes_read(), 2 + header_bytes);
    for r in counting.ranges().iter().skip(1) {
        assert!(
            hdus.iter()
                .any(|h| r.start >= h.header_offset && r.end <= h.data_offset),
            "read {r:?} is outside every header"
        );
    }
    assert_eq!(fits.find("e250", None).unwrap().index, 250);
    assert_eq!(fits.find("E250", Some(1)).unwrap().index, 250);
    assert!(matches!(
        fits.find("E250", Some(2)),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        fits.hdu(500),
        Err(Error::NoSuchHdu {
            index: 500,
            count: 500
        })
    ));
    // The same through the file path (gzip detected by magic bytes).
    let f2 = Fits::open(root().join("gen/many_ext.fits.gz")).unwrap();
    assert!(f2.is_gzipped());
    let v = f2.image(250).unwrap().read_all().unwrap();
    assert_eq!(v.as_slice::<i16>().unwrap(), &[250; 6]);
}

#[test]
fn truncated_and_damaged_files_give_typed_errors() {
    let p = root().join("gen/truncated.fits");
    let fits = Fits::open(&p).unwrap();
    let size = std::fs::metadata(&p).unwrap().len();
    let n = fits.len();
    let last = fits.hdu(n - 1).unwrap();
    assert!(last.data_offset + last.data_len > size);
    // The cut image opens (as astropy lists it); reading past the cut is a typed error.
    let img = fits.image(n - 1).unwrap();
    match img.read(&nd_core::Region::full(img.shape())) {
        Err(Error::Truncated {
            hdu,
            offset,
            size: s,
            ..
        }) => {
            assert_eq!(hdu, n - 1);
            assert_eq!(offset, last.data_offset);
            assert_eq!(s, size);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        nd_fits::verify_checksums(&fits),
        Err(Error::Truncated { .. })
    ));
    // Trailing junk: astropy ignores it; we stop the walk and keep the reason.
    let tj = Fits::open(root().join("gen/trailing_junk.fits")).unwrap();
    assert_eq!(tj.len(), 1);
    assert!(matches!(
        tj.walk_error(),
        Some(Error::Header { hdu: 1, .. })
    ));
    // The message names the HDU and byte once (no repeated prefix).
    let msg = tj.walk_error().unwrap().to_string();
    assert_eq!(msg.matches("HDU 1").count(), 1, "{msg}");
    assert_eq!(msg.matches("header at byte").count(), 1, "{msg}");
    let msg2 = tj.hdu(1).unwrap_err().to_string();
    assert_eq!(msg2, msg);
    // Every prefix and many single-byte damages of a multi-extension file: no panic, typed errors.
    let bytes = std::fs::read(root().join("gen/mef.fits")).unwrap();
    for cut in (0..bytes.len()).step_by(331) {
        let src = Arc::new(MemSource::new(bytes[..cut].to_vec()));
        match Fits::from_source(src) {
            Ok(f) => {
                for i in 0..f.len() {
                    let _ = f.image(i).and_then(|im| Ok(im.read_all()?));
                }
            }
            Err(e) => assert!(matches!(e, Error::Header { hdu: 0, .. }), "{e}"),
        }
    }
    let mut damaged = bytes.clone();
    for pos in (0..2880 * 3).step_by(41) {
        damaged[pos] = b'=';
        let f = Fits::from_source(Arc::new(MemSource::new(damaged.clone())));
        if let Ok(f) = f {
            for i in 0..f.len() {
                let _ = f.image(i).and_then(|im| Ok(im.read_all()?));
            }
        }
        damaged[pos] = bytes[pos];
    }
    // Not FITS.
    let e = Fits::from_source(Arc::new(MemSource::new(vec![b'x'; 2880]))).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Header {
                hdu: 0,
                offset: 0,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn raw_images_give_stored_values() {
    let fits = Fits::open(root().join("gen/sc_i16.fits")).unwrap();
    let raw = fits.raw_image(0).unwrap();
    assert_eq!(raw.dtype(), &DataType::Int16);
    let phys = fits.image(0).unwrap().read_all().unwrap();
    let r = raw.read_all().unwrap();
    for (p, s) in phys
        .as_slice::<f32>()
        .unwrap()
        .iter()
        .zip(r.as_slice::<i16>().unwrap())
    {
        assert_eq!(*p, (*s as f32) * 0.01f32 + 100.5f32);
    }
    let u = Fits::open(root().join("gen/dt_u16.fits")).unwrap();
    assert_eq!(u.raw_image(0).unwrap().dtype(), &DataType::Int16);
    assert_eq!(u.image(0).unwrap().dtype(), &DataType::UInt16);
}

#[test]
fn concurrent_lazy_walk_and_reads() {
    let fits = Fits::open(root().join("gen/many_ext.fits.gz")).unwrap();
    std::thread::scope(|s| {
        for t in 0..4usize {
            let fits = &fits;
            s.spawn(move || {
                for i in (t..500).step_by(37) {
                    let h = fits.hdu(i).unwrap();
                    assert_eq!(h.index, i);
                    if i > 0 {
                        assert_eq!(h.name(), format!("E{i}"));
                        let v = fits.image(i).unwrap().read_all().unwrap();
                        assert_eq!(v.as_slice::<i16>().unwrap(), &[i as i16; 6]);
                    }
                }
            });
        }
    });
    assert_eq!(fits.len(), 500);
}
