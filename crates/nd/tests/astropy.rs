//! A program written against the facade's contract alone (`nd::open`, `Dataset`, `Array`) reads
//! what astropy read when the testdata was generated (`testdata/fits/manifest.json`): header cards
//! through `Dataset::metadata`, and (below) images, sections and scaled data as typed arrays.

use serde_json::Value as J;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/fits")
}

fn manifest() -> serde_json::Map<String, J> {
    let text = std::fs::read_to_string(root().join("manifest.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn metadata_cards_match_astropy() {
    let mut checked = 0;
    for (rel, entry) in manifest() {
        for h in entry["hdus"].as_array().unwrap() {
            let Some(cards) = h.get("cards").and_then(|c| c.as_array()) else {
                continue;
            };
            let ds = nd::open(root().join(&rel).to_str().unwrap()).unwrap();
            let meta = ds.metadata().unwrap();
            let index = h["index"].as_u64().unwrap() as usize;
            let ours = meta["hdus"][index]["cards"].as_array().unwrap();
            assert_eq!(ours.len(), cards.len(), "{rel}: card count");
            for (k, (c, a)) in ours.iter().zip(cards).enumerate() {
                let what = format!("{rel} HDU {index} card {k} {c}");
                assert_eq!(c["keyword"], a[0], "{what}: keyword");
                let num = |v: &J| v.as_str().unwrap().parse::<f64>().unwrap();
                match a[1].as_str().unwrap() {
                    "bool" => assert_eq!(c["value"], a[2], "{what}"),
                    // astropy's integers were written as text (they may exceed 64 bits)
                    "int" => match &c["value"] {
                        J::Number(n) => assert_eq!(n.to_string(), a[2].as_str().unwrap(), "{what}"),
                        other => assert_eq!(other, &a[2], "{what}"),
                    },
                    "float" => assert_eq!(c["value"].as_f64(), Some(num(&a[2])), "{what}"),
                    "complex" => {
                        assert_eq!(c["value"][0].as_f64(), Some(num(&a[2][0])), "{what}");
                        assert_eq!(c["value"][1].as_f64(), Some(num(&a[2][1])), "{what}");
                    }
                    "str" | "text" => assert_eq!(c["value"], a[2], "{what}"),
                    "undefined" => assert!(c["value"].is_null(), "{what}"),
                    "unparsable" => assert!(c["value"].is_string(), "{what}"),
                    other => panic!("{what}: unknown kind {other}"),
                }
                if !matches!(a[1].as_str(), Some("text" | "unparsable")) {
                    let want = a[3].as_str().unwrap_or("");
                    assert_eq!(c["comment"].as_str().unwrap_or(""), want, "{what}: comment");
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 50, "{checked} cards checked");
}

#[test]
fn metadata_of_asdf_and_zarr_is_the_tree_and_the_attributes() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata");
    // an ASDF tree keeps its tags; each array listed is an ndarray node of it
    let p = data.join("asdf/py/compressed_zlib.asdf");
    let ds = nd::open(p.to_str().unwrap()).unwrap();
    let meta = ds.metadata().unwrap();
    let tree = &meta["tree"];
    assert!(tree["!"].as_str().unwrap().contains("core/asdf-"), "{tree}");
    let arrays = ds.arrays().unwrap();
    assert!(!arrays.is_empty());
    for a in &arrays {
        let mut node = tree;
        for part in a.path.split('/') {
            // a tagged node is {"!": tag, "value": …}
            let inner = if node.get("!").is_some() {
                &node["value"]
            } else {
                node
            };
            node = match part.parse::<usize>() {
                Ok(i) if inner.is_array() => &inner[i],
                _ => &inner[part],
            };
        }
        assert!(
            node["!"].as_str().unwrap().contains("ndarray"),
            "{}: {node}",
            a.path
        );
    }
    assert!(matches!(ds.native(), nd::Native::Asdf(_)));
    // a Zarr hierarchy: every node with its attributes, as in its .zattrs
    let store = data.join("zarr/hier.zarr");
    let ds = nd::open(store.to_str().unwrap()).unwrap();
    let meta = ds.metadata().unwrap();
    let nodes = meta["nodes"].as_object().unwrap();
    let nd::Native::Zarr(h) = ds.native() else {
        panic!("not Zarr")
    };
    assert_eq!(nodes.len(), h.nodes().count());
    let mut compared = 0;
    for n in h.nodes() {
        let want: J = match std::fs::read_to_string(store.join(&n.path).join(".zattrs")) {
            // zarr-python writes bare NaN / Infinity, which JSON lacks: compared in nd-zarr's tests
            Ok(t) if t.contains("NaN") || t.contains("Infinity") => continue,
            Ok(t) => serde_json::from_str(&t).unwrap(),
            Err(_) => J::Object(Default::default()),
        };
        assert_eq!(nodes[&n.path]["attributes"], want, "{}", n.path);
        compared += 1;
    }
    assert!(compared > 1);
}

fn expected(rel: &str) -> nd::ArrayBuf {
    if rel.ends_with(".gz") {
        use std::io::Read;
        let mut bytes = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(root().join(rel)).unwrap())
            .read_to_end(&mut bytes)
            .unwrap();
        return nd_core::npy::read_npy_bytes(&bytes).unwrap();
    }
    nd_core::npy::read_npy(root().join(rel)).unwrap()
}

/// Compare `region` (or the whole array) read through the facade with astropy's values, as the
/// stored type and as f64.
fn compare(arr: &nd::Array, region: Option<nd::Region>, want: &nd::ArrayBuf, what: &str) {
    let r = region.unwrap_or_else(|| nd::Region::full(arr.shape()));
    same_native(arr, &r, want, what);
    let mut out = vec![0f64; want.len()];
    arr.read_into(&r, &mut out).unwrap();
    let want64 = nd_core::cast::cast_to_vec::<f64>(want.dtype(), want.bytes()).unwrap();
    same_f64(&out, &want64, what);
}

fn region_of(v: &J) -> nd::Region {
    nd::Region::new(
        v.as_array()
            .unwrap()
            .iter()
            .map(|p| p[0].as_u64().unwrap()..p[1].as_u64().unwrap())
            .collect(),
    )
}

#[test]
fn tile_compressed_images_and_sections_read_as_astropy_does() {
    let (mut images, mut sections) = (0, 0);
    for (rel, entry) in manifest() {
        for h in entry["hdus"].as_array().unwrap() {
            let Some(comp) = h.get("comp").filter(|c| !c.is_null()) else {
                continue;
            };
            let Some(data) = comp.get("data").and_then(|d| d.as_str()) else {
                continue;
            };
            let ds = nd::open(root().join(&rel).to_str().unwrap()).unwrap();
            let index = h["index"].as_u64().unwrap().to_string();
            let arr = ds.array(&index).unwrap();
            let what = format!("{rel} HDU {index} ({})", comp["zcmptype"]);
            compare(&arr, None, &expected(data), &what);
            images += 1;
            if let Some(sec) = comp.get("section").filter(|s| !s.is_null()) {
                let r = region_of(&sec["region"]);
                let want = expected(sec["data"].as_str().unwrap());
                compare(&arr, Some(r), &want, &format!("{what} section"));
                sections += 1;
            }
        }
    }
    assert!(
        images > 20 && sections > 20,
        "{images} images, {sections} sections"
    );
}

/// Values equal bit for bit, or both NaN.
fn same_f64(got: &[f64], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan()),
            "{what}: value {i}: {g} != {w}"
        );
    }
}

/// Read `region` of `arr` as its own stored type (straight into the output) and compare the
/// bytes with astropy's array.
fn same_native(arr: &nd::Array, region: &nd::Region, want: &nd::ArrayBuf, what: &str) {
    macro_rules! as_type {
        ($t:ty) => {{
            let got = arr.read_region_ndarray::<$t>(region).unwrap();
            assert_eq!(
                got.shape(),
                &want.shape().iter().map(|&d| d as usize).collect::<Vec<_>>()[..],
                "{what}"
            );
            let g = got.as_slice().unwrap();
            let w = want.as_slice::<$t>().unwrap();
            assert!(
                g.iter()
                    .zip(w)
                    .all(|(a, b)| bytemuck::bytes_of(a) == bytemuck::bytes_of(b)),
                "{what}: values differ"
            );
        }};
    }
    use nd::DataType as D;
    match want.dtype() {
        D::Int8 => as_type!(i8),
        D::Int16 => as_type!(i16),
        D::Int32 => as_type!(i32),
        D::Int64 => as_type!(i64),
        D::UInt8 => as_type!(u8),
        D::UInt16 => as_type!(u16),
        D::UInt32 => as_type!(u32),
        D::UInt64 => as_type!(u64),
        D::Float32 => as_type!(f32),
        D::Float64 => as_type!(f64),
        other => panic!("{what}: unexpected type {other}"),
    }
}

#[test]
fn images_sections_and_scaled_data_read_as_astropy_does() {
    let (mut images, mut sections) = (0, 0);
    for (rel, entry) in manifest() {
        for h in entry["hdus"].as_array().unwrap() {
            let Some(data) = h.get("data").and_then(|d| d.as_str()) else {
                continue;
            };
            if h.get("is_image") != Some(&J::Bool(true)) {
                continue;
            }
            let ds = nd::open(root().join(&rel).to_str().unwrap()).unwrap();
            let index = h["index"].as_u64().unwrap().to_string();
            let arr = ds.array(&index).unwrap();
            let want = expected(data);
            let what = format!("{rel} HDU {index}");
            assert_eq!(arr.shape(), want.shape(), "{what}");
            assert_eq!(arr.dtype(), want.dtype(), "{what}: type");
            same_native(&arr, &nd::Region::full(arr.shape()), &want, &what);
            // any type, converted as numpy's astype
            let got = arr.read_ndarray::<f64>().unwrap();
            let want64 = nd_core::cast::cast_to_vec::<f64>(want.dtype(), want.bytes()).unwrap();
            same_f64(got.as_slice().unwrap(), &want64, &what);
            images += 1;
            for sec in h
                .get("sections")
                .and_then(|s| s.as_array())
                .into_iter()
                .flatten()
            {
                let Some(region) = sec.get("region").and_then(|r| r.as_array()) else {
                    continue;
                };
                let r = nd::Region::new(
                    region
                        .iter()
                        .map(|p| p[0].as_u64().unwrap()..p[1].as_u64().unwrap())
                        .collect(),
                );
                let want = expected(sec["data"].as_str().unwrap());
                let what = format!("{what} section {r:?}");
                same_native(&arr, &r, &want, &what);
                let mut out = vec![0f64; want.len()];
                arr.read_into(&r, &mut out).unwrap();
                let want64 = nd_core::cast::cast_to_vec::<f64>(want.dtype(), want.bytes()).unwrap();
                same_f64(&out, &want64, &what);
                sections += 1;
            }
        }
    }
    assert!(
        images > 40 && sections > 20,
        "{images} images, {sections} sections"
    );
}

#[test]
fn typed_reads_convert_and_refuse_clearly() {
    let ds = nd::open(root().join("../example/cube.fits").to_str().unwrap()).unwrap();
    let sci = ds.array("SCI").unwrap();
    let r = sci.region("3:5,10:20,7:9").unwrap();
    let f32s = sci.read_region_ndarray::<f32>(&r).unwrap();
    let f64s = sci.read_region_ndarray::<f64>(&r).unwrap();
    let bools = sci.read_region_ndarray::<bool>(&r).unwrap();
    for ((a, b), c) in f32s.iter().zip(f64s.iter()).zip(bools.iter()) {
        assert!(f64::from(*a).to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()));
        assert_eq!(*c, *a != 0.0);
    }
    let mut short = vec![0f32; 3];
    let e = sci.read_into(&r, &mut short).unwrap_err().to_string();
    assert!(e.contains("holds 3 values"), "{e}");
    let e = sci
        .read_region_ndarray::<f32>(&nd::Region::new(vec![0..40, 0..1, 0..1]))
        .unwrap_err();
    assert!(e.to_string().contains("SCI"), "{e}");
}

/// The test servers' HTTP base URL (`bash .ci/servers.sh` writes it; `.ci/run` starts them).
fn http_base() -> Option<String> {
    let env = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/nd-test-servers.env");
    let text = std::fs::read_to_string(env).ok()?;
    text.lines().find_map(|l| {
        l.strip_prefix("ND_TEST_HTTP_URL=")
            .map(|s| s.trim().to_string())
    })
}

#[test]
fn a_cutout_local_or_remote_is_astropys() {
    let want = expected("../example/image_cutout.npy");
    let want = want.as_slice::<f32>().unwrap();
    let local = root()
        .join("../example/image.fits")
        .to_str()
        .unwrap()
        .to_string();
    let mut sources = vec![local];
    match http_base() {
        Some(base) => sources.push(format!("{base}/example/image.fits")),
        None => println!(
            "remote part not run: no test servers (run `bash .ci/servers.sh`; .ci/run does)"
        ),
    }
    for src in sources {
        let image = nd::open(&src).unwrap().array("0").unwrap();
        let cutout: nd::ndarray::ArrayD<f32> = image
            .read_region_ndarray(&nd::Region::new(vec![50..150, 70..170]))
            .unwrap();
        assert_eq!(cutout.shape(), &[100, 100], "{src}");
        let got = cutout.as_slice().unwrap();
        assert!(
            got.iter()
                .zip(want)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "{src}: values differ from astropy's"
        );
    }
}

#[test]
fn arrays_say_what_they_are() {
    let ds = nd::open(root().join("gen/bt_all.fits").to_str().unwrap()).unwrap();
    let cols = ds.arrays().unwrap();
    assert!(!cols.is_empty());
    for c in &cols {
        assert_eq!(c.kind, nd::ArrayKind::Column, "{}", c.path);
        assert!(c.path.starts_with("1/"), "{}", c.path);
        // every listed column opens by its selector with the listed shape
        assert_eq!(
            ds.array(&c.path).unwrap().shape(),
            &c.shape[..],
            "{}",
            c.path
        );
    }
    let cube = nd::open(root().join("../example/cube.fits").to_str().unwrap()).unwrap();
    let kinds: Vec<_> = cube
        .arrays()
        .unwrap()
        .iter()
        .map(|a| (a.path.clone(), a.kind))
        .collect();
    assert_eq!(kinds, vec![("1".to_string(), nd::ArrayKind::Image)]);
    let z = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/zarr/hier.zarr");
    let z = nd::open(z.to_str().unwrap()).unwrap();
    assert!(z
        .arrays()
        .unwrap()
        .iter()
        .all(|a| a.kind == nd::ArrayKind::Array));
}

#[test]
fn open_options_threads_and_cache_keep_the_values() {
    // a tile-compressed image (tiles decode in parallel) read on a one-thread pool and on the
    // global pool
    let m = manifest();
    let (rel, index) = m
        .iter()
        .find_map(|(rel, e)| {
            e["hdus"].as_array().unwrap().iter().find_map(|h| {
                h.get("comp")
                    .is_some_and(|c| !c.is_null())
                    .then(|| (rel.clone(), h["index"].as_u64().unwrap().to_string()))
            })
        })
        .expect("a compressed image in the manifest");
    let path = root().join(&rel);
    let one = nd::OpenOptions::new()
        .threads(1)
        .cache_size(1 << 20)
        .open(path.to_str().unwrap())
        .unwrap();
    let a = one.array(&index).unwrap().read_ndarray::<f64>().unwrap();
    let b = nd::open(path.to_str().unwrap())
        .unwrap()
        .array(&index)
        .unwrap()
        .read_ndarray::<f64>()
        .unwrap();
    assert_eq!(a.shape(), b.shape());
    assert!(
        a.iter()
            .zip(b.iter())
            .all(|(x, y)| x.to_bits() == y.to_bits()),
        "{rel}"
    );
}
