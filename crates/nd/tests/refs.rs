//! `nd::refs` reference sets, checked without Python: every FITS image's chunks, read back
//! through their byte ranges and laid out by the chunk grid, are the stored values nd (checked
//! against astropy elsewhere) reads; ranges lie within the file; chunks respect the size asked.
//! The values through zarr-python and astropy are checked by `testdata/check_refs.py`.

use nd::refs::{build, Ref, RefSet, RefsOptions};
use nd_core::{ArrayRead, DataType, Endian};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata")
}

fn fits_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for d in ["fits/gen", "fits/astropy", "example"] {
        for e in std::fs::read_dir(testdata().join(d)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "fits") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn zarray(set: &RefSet, name: &str) -> Value {
    match &set.refs[&format!("{name}/.zarray")] {
        Ref::Json(v) => v.clone(),
        other => panic!("{other:?}"),
    }
}

fn zattrs(set: &RefSet, name: &str) -> Value {
    match &set.refs[&format!("{name}/.zattrs")] {
        Ref::Json(v) => v.clone(),
        other => panic!("{other:?}"),
    }
}

fn u64s(v: &Value) -> Vec<u64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect()
}

/// The index of element `flat` (C order) of an array of `shape`, and the key parts of the chunk
/// of the grid `chunks` that holds it.
fn element_chunk(flat: u64, shape: &[u64], chunks: &[u64]) -> (Vec<u64>, Vec<String>) {
    let mut idx = vec![0u64; shape.len()];
    let mut rem = flat;
    for a in (0..shape.len()).rev() {
        idx[a] = rem % shape[a];
        rem /= shape[a];
    }
    let key = idx
        .iter()
        .zip(chunks)
        .map(|(i, c)| (i / c).to_string())
        .collect();
    (idx, key)
}

/// The C-order element offset of index `idx` within its chunk of the grid `chunks`.
fn offset_in_chunk(idx: &[u64], chunks: &[u64]) -> u64 {
    idx.iter().zip(chunks).fold(0, |w, (&i, &c)| w * c + i % c)
}

/// Lay the chunks of an uncompressed array out in C order (edge chunks cropped).
fn assemble(set: &RefSet, name: &str, file: &[u8], elem: usize) -> Vec<u8> {
    let z = zarray(set, name);
    let shape = u64s(&z["shape"]);
    let chunks = u64s(&z["chunks"]);
    let n: u64 = shape.iter().product();
    let mut out = vec![0u8; n as usize * elem];
    for flat in 0..n {
        let (idx, key) = element_chunk(flat, &shape, &chunks);
        let within = offset_in_chunk(&idx, &chunks);
        let at = within as usize * elem;
        let src: &[u8] = match &set.refs[&format!("{name}/{}", key.join("."))] {
            Ref::Range { offset, length, .. } => {
                let (o, l) = (*offset as usize, *length as usize);
                assert!(o + l <= file.len(), "{name}: range past the file");
                &file[o..o + l]
            }
            Ref::Bytes(b) => b,
            Ref::Json(_) => panic!("json chunk"),
        };
        out[flat as usize * elem..][..elem].copy_from_slice(&src[at..at + elem]);
    }
    out
}

#[test]
fn fits_chunks_are_the_stored_values() {
    let mut arrays = 0;
    let mut tiles = 0;
    for path in fits_files() {
        let p = path.to_str().unwrap();
        let Ok(ds) = nd::open(p) else { continue };
        let Ok(set) = build(
            &ds,
            &RefsOptions {
                chunk_bytes: 1000,
                ..Default::default()
            },
        ) else {
            continue;
        };
        let file = std::fs::read(&path).unwrap();
        let fits = nd_fits::Fits::open(&path).unwrap();
        for name in set.arrays() {
            let z = zarray(&set, name);
            let a = zattrs(&set, name);
            let hdu = a["fits_hdu"].as_u64().unwrap() as usize;
            if a.get("fits_column").is_some() {
                continue; // table columns: fits_table_chunks_decode_to_the_column_values
            }
            if !z["compressor"].is_null()
                || fits.hdu(hdu).unwrap().kind == nd_fits::HduKind::CompressedImage
            {
                tiles += check_tiles(&set, name, &z, &file, &fits, hdu);
                continue;
            }
            let raw = fits.raw_image(hdu).unwrap();
            let elem = raw.dtype().size();
            // chunks hold at most the size asked, unless one row is larger
            let chunks = u64s(&z["chunks"]);
            let last = *raw.shape().last().unwrap();
            let cbytes = chunks.iter().product::<u64>() * elem as u64;
            assert!(
                cbytes <= 1000
                    || chunks.iter().rev().skip(1).all(|&c| c == 1) && chunks.last() <= Some(&last),
                "{p} {name}: {chunks:?}"
            );
            let mut got = assemble(&set, name, &file, elem);
            raw.dtype().swap_to_native(Endian::Big, &mut got);
            let want = raw.read_all().unwrap();
            assert_eq!(got, want.bytes(), "{p} {name}");
            // the stored dtype is the big-endian BITPIX type, named in .zarray or its filter
            let stored = match z["filters"].as_array().and_then(|f| f.first()) {
                Some(f) if f["id"] == "fixedscaleoffset" => f["astype"].clone(),
                Some(_) => Value::Null,
                None => z["dtype"].clone(),
            };
            if !stored.is_null() {
                let want = raw.dtype().typestr(Endian::Big);
                assert_eq!(stored, Value::String(want), "{p} {name}");
            }
            arrays += 1;
        }
    }
    assert!(arrays > 40, "only {arrays} arrays checked");
    assert!(tiles > 100, "only {tiles} tiles checked");
}

/// Every fixed-width column of every table: chunk k of a column is rows `k·rows ..` of the
/// table (the same byte range for every column, whole rows, at most the size asked unless one
/// row is larger), and nd's codec on those bytes gives nd's own read of those rows (the values
/// checked against astropy elsewhere); a short last chunk's missing rows are zeros.
#[test]
fn fits_table_chunks_decode_to_the_column_values() {
    let (mut columns, mut chunks_checked, mut multi) = (0, 0, 0);
    for path in fits_files() {
        let p = path.to_str().unwrap();
        let Ok(ds) = nd::open(p) else { continue };
        let chunk_bytes = 100;
        let Ok(set) = build(
            &ds,
            &RefsOptions {
                chunk_bytes,
                ..Default::default()
            },
        ) else {
            continue;
        };
        let file = std::fs::read(&path).unwrap();
        let fits = nd_fits::Fits::open(&path).unwrap();
        // table group → the byte ranges of its chunks (equal for every column)
        let mut ranges: std::collections::HashMap<String, Vec<(u64, u64)>> = Default::default();
        for name in set.arrays() {
            let a = zattrs(&set, name);
            let Some(k) = a.get("fits_column").and_then(Value::as_u64) else {
                continue;
            };
            let hdu = a["fits_hdu"].as_u64().unwrap() as usize;
            let t = fits.table(hdu).unwrap();
            let col = k as usize - 1;
            let z = zarray(&set, name);
            assert_eq!(z["compressor"]["id"], "nd_fits_column", "{p} {name}");
            let rows = u64s(&z["chunks"])[0];
            let cell = t.columns()[col].cell_bytes();
            assert!(
                rows == 1 || rows * t.row_len().max(cell) <= chunk_bytes,
                "{p} {name}: {rows} rows of {} bytes",
                t.row_len()
            );
            let want = t.column(col).unwrap();
            assert_eq!(u64s(&z["shape"]), want.shape(), "{p} {name}");
            assert_eq!(z["dtype"], nd::typestr(want.dtype()), "{p} {name}");
            let cell_elems: u64 = want.shape()[1..].iter().product();
            let cell_key: String = want.shape()[1..].iter().map(|_| ".0").collect();
            let mut mine = Vec::new();
            for c in 0..t.nrows().div_ceil(rows) {
                let key = format!("{name}/{c}{cell_key}");
                if cell_elems == 0 {
                    assert!(!set.refs.contains_key(&key), "{p} {key}: an empty cell");
                    continue;
                }
                let Ref::Range { offset, length, .. } = set.refs[&key] else {
                    panic!("{p} {key}: not a range")
                };
                mine.push((offset, length));
                let n = rows.min(t.nrows() - c * rows);
                assert_eq!(length, n * t.row_len(), "{p} {key}: whole rows");
                let stored = &file[offset as usize..(offset + length) as usize];
                let (dt, got) = nd::refs::codec::decode(&z["compressor"], stored, 1 << 24).unwrap();
                assert_eq!(&dt, want.dtype(), "{p} {key}");
                let rows_read = t.read_rows(c * rows..c * rows + n, &[col]).unwrap();
                let valid = rows_read[0].bytes();
                assert_eq!(&got[..valid.len()], valid, "{p} {key}");
                assert!(got[valid.len()..].iter().all(|&b| b == 0), "{p} {key}");
                assert_eq!(got.len() as u64, rows * cell, "{p} {key}: a full chunk");
                chunks_checked += 1;
                multi += usize::from(n < rows);
            }
            let group = name.rsplit_once('/').unwrap().0.to_string();
            if !mine.is_empty() {
                let first = ranges.entry(group).or_insert_with(|| mine.clone());
                assert_eq!(
                    *first, mine,
                    "{p} {name}: the same rows as the other columns"
                );
            }
            columns += 1;
        }
    }
    eprintln!("{columns} columns, {chunks_checked} chunks ({multi} short last chunks)");
    assert!(columns > 150, "only {columns} columns checked");
    assert!(
        chunks_checked > 1000,
        "only {chunks_checked} chunks checked"
    );
    assert!(multi > 20, "only {multi} short last chunks checked");
}

/// A table column's Zarr v3 codecs: `bytes` (little-endian: nd's codec gives native values)
/// then `nd_fits_column`; no endian for one-byte types.
#[test]
fn fits_table_columns_in_zarr_v3() {
    let set = set_of("fits/gen/bt_all.fits", 100);
    let v3 = nd::refs::to_v3(&set).unwrap();
    let meta = |name: &str| match &v3.refs[&format!("ALLTYPES/{name}/zarr.json")] {
        Ref::Json(v) => v.clone(),
        other => panic!("{other:?}"),
    };
    let d = meta("D");
    assert_eq!(d["data_type"], "float64");
    assert_eq!(d["dimension_names"][0], "dim_0");
    assert_eq!(d["codecs"][0]["configuration"]["endian"], "little");
    assert_eq!(d["codecs"][1]["name"], "nd_fits_column");
    let l = meta("L1");
    assert_eq!(l["data_type"], "bool");
    assert_eq!(
        l["codecs"][0],
        serde_json::json!({"name": "bytes", "configuration": {}})
    );
    assert!(v3.refs.contains_key("ALLTYPES/D/c/0"));
}

/// Tile-compressed images mapped one tile to one chunk: each chunk's bytes, decoded as its
/// `.zarray` says (gzip, shuffle, nd's codecs), are the tile's values nd reads, an edge tile
/// padded to the chunk shape (arrays whose values need a scaling filter after the compressor
/// are left to check_refs.py). Returns the number of tiles checked.
fn check_tiles(
    set: &RefSet,
    name: &str,
    z: &Value,
    file: &[u8],
    fits: &nd_fits::Fits,
    hdu: usize,
) -> usize {
    use nd_codecs::Codec;
    let filters: Vec<Value> = z["filters"].as_array().cloned().unwrap_or_default();
    if filters.iter().any(|f| f["id"] != "shuffle") {
        return 0;
    }
    let shape = u64s(&z["shape"]);
    let chunks = u64s(&z["chunks"]);
    let (dt, endian) = DataType::from_typestr(z["dtype"].as_str().unwrap()).unwrap();
    let img = fits.image(hdu).unwrap();
    let table = (z["compressor"]["id"] == "nd_fits_tile_table")
        .then(|| nd::refs::codec::Decoder::new(z["compressor"].clone()).unwrap());
    let grid: Vec<u64> = shape
        .iter()
        .zip(&chunks)
        .map(|(s, c)| s.div_ceil(*c))
        .collect();
    let n: u64 = grid.iter().product();
    for lin in 0..n {
        let mut idx = vec![0u64; grid.len()];
        let mut rem = lin;
        for a in (0..grid.len()).rev() {
            idx[a] = rem % grid[a];
            rem /= grid[a];
        }
        let key: Vec<String> = idx.iter().map(u64::to_string).collect();
        let Ref::Range { offset, length, .. } = set.refs[&format!("{name}/{}", key.join("."))]
        else {
            panic!("{name}: tile not a range")
        };
        let stored = &file[offset as usize..(offset + length) as usize];
        let start: Vec<u64> = idx.iter().zip(&chunks).map(|(i, c)| i * c).collect();
        if let Some(t) = &table {
            // physical values, native byte order, an edge tile padded with zeros
            let (dt, got) = t.decode(stored, 1 << 24).unwrap();
            assert_eq!(&dt, img.dtype(), "{name}");
            assert_eq!(
                got,
                chunk_read(&img, &start, &chunks),
                "{name} tile {key:?}"
            );
            continue;
        }
        let mut bytes = match z["compressor"]["id"].as_str() {
            None => stored.to_vec(),
            Some("gzip") => nd_codecs::Gzip { level: 1 }
                .decode(stored, 1 << 24)
                .unwrap(),
            // RICE_1 / PLIO_1 / HCOMPRESS_1: nd's codec, ZBITPIX big-endian bytes
            Some(_) => {
                nd::refs::codec::decode(&z["compressor"], stored, 1 << 24)
                    .unwrap()
                    .1
            }
        };
        if !filters.is_empty() {
            // numcodecs shuffle: byte k of every element in plane k
            let item = dt.size();
            let m = bytes.len() / item;
            let mut un = vec![0u8; bytes.len()];
            for (k, plane) in bytes.chunks_exact(m).enumerate() {
                for (i, &v) in plane.iter().enumerate() {
                    un[i * item + k] = v;
                }
            }
            bytes = un;
        }
        dt.swap_to_native(endian, &mut bytes);
        let region = nd_core::Region::from_start_shape(&start, &chunks);
        let want = img.read_region(&region).unwrap();
        assert_eq!(bytes, want.bytes(), "{name} tile {key:?}");
    }
    n as usize
}

/// nd's read of the chunk of shape `chunks` at `start` of `img`, as a Zarr reader expects the
/// decoded chunk: the part inside the image in place, zeros past its edge.
fn chunk_read(img: &dyn ArrayRead, start: &[u64], chunks: &[u64]) -> Vec<u8> {
    let clipped: Vec<u64> = start
        .iter()
        .zip(chunks)
        .zip(img.shape())
        .map(|((&s0, &c), &n)| c.min(n - s0))
        .collect();
    let region = nd_core::Region::from_start_shape(start, &clipped);
    let want = img.read_region(&region).unwrap();
    let e = img.dtype().size() as u64;
    let mut padded = vec![0u8; (chunks.iter().product::<u64>() * e) as usize];
    let part = nd_core::Region::from_start_shape(&vec![0; clipped.len()], &clipped);
    let mut at = 0usize;
    nd_core::io::region_runs(chunks, nd_core::Order::C, &part, |off, n| {
        let (o, l) = ((off * e) as usize, (n * e) as usize);
        padded[o..o + l].copy_from_slice(&want.bytes()[at..at + l]);
        at += l;
        Ok::<(), nd_core::Error>(())
    })
    .unwrap();
    padded
}

/// Tiles that do not lie one after another in the heap (cfitsio after rewrites, hand-made
/// heaps) cannot be grouped: the image is mapped one tile a chunk, and its attributes say why.
/// astropy's `compressed_image.fits` (10 tiles of one row) with the descriptors of tiles 1 and 2
/// swapped: still a valid file (its rows 1 and 2 trade places), no longer one run of the heap.
#[test]
fn tiles_out_of_heap_order_are_mapped_one_a_chunk_with_the_reason() {
    let src = testdata().join("fits/astropy/compressed_image.fits");
    let mut bytes = std::fs::read(&src).unwrap();
    let fits = nd_fits::Fits::open(&src).unwrap();
    let h = fits.hdu(1).unwrap();
    assert_eq!(h.kind, nd_fits::HduKind::CompressedImage);
    // one 1PB(n) column: 8-byte descriptors (count, offset), one row a tile
    let row = |i: usize| h.data_offset as usize + 8 * i;
    let (r1, r2) = (row(1), row(2));
    let d1: [u8; 8] = bytes[r1..r1 + 8].try_into().unwrap();
    bytes.copy_within(r2..r2 + 8, r1);
    bytes[r2..r2 + 8].copy_from_slice(&d1);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("swapped.fits");
    std::fs::write(&p, &bytes).unwrap();
    let ds = nd::open(p.to_str().unwrap()).unwrap();
    let (orig, swapped) = (
        nd::open(src.to_str().unwrap())
            .unwrap()
            .array("1")
            .unwrap()
            .read_ndarray::<i16>(),
        ds.array("1").unwrap().read_ndarray::<i16>(),
    );
    let (orig, swapped) = (orig.unwrap(), swapped.unwrap());
    let row =
        |a: &nd::ndarray::ArrayD<i16>, i: usize| a.index_axis(nd::ndarray::Axis(0), i).to_owned();
    assert_eq!(row(&swapped, 1), row(&orig, 2));
    assert_eq!(row(&swapped, 2), row(&orig, 1));
    assert_ne!(row(&orig, 1), row(&orig, 2));
    let opts = RefsOptions {
        group_tiles_above: 0,
        ..Default::default()
    };
    let set = build(&ds, &opts).unwrap();
    let name = set
        .arrays()
        .into_iter()
        .find(|n| zattrs(&set, n)["fits_hdu"] == 1)
        .unwrap();
    let z = zarray(&set, name);
    assert_ne!(z["compressor"]["id"], nd::refs::ND_FITS_TILE_GROUP);
    assert_eq!(z["chunks"], serde_json::json!([1, 10]));
    let why = zattrs(&set, name)["nd_tiles_not_grouped"].clone();
    assert!(
        why.as_str()
            .is_some_and(|w| w.contains("not one after another in the heap")),
        "{why}"
    );
}

/// Every tile-compressed image of testdata with the grouping threshold at 0 (every image
/// grouped where its heap allows) and chunks of 1,000 bytes (several chunks of whole tile rows,
/// or tiles along the last axis, short edge chunks) and of 8 MiB (the whole image): each chunk,
/// decoded by `nd_fits_tile_group` from its byte range alone, is nd's read of that region of
/// the image (checked against astropy elsewhere), zeros past the edge. Quantized images of each
/// dither method, null pixels, fallback columns and edge tiles among them.
#[test]
fn grouped_tiles_decode_to_nds_reads() {
    let (mut images, mut chunks_checked, mut multi) = (0, 0, 0);
    let (mut dithered, mut fallback, mut edge, mut nulls) = (0, 0, 0, 0);
    let mut not_grouped = Vec::new();
    for path in fits_files() {
        let p = path.to_str().unwrap();
        if p.contains("broken") {
            continue; // damaged on purpose
        }
        let Ok(ds) = nd::open(p) else { continue };
        let file = std::fs::read(&path).unwrap();
        let fits = nd_fits::Fits::open(&path).unwrap();
        for chunk_bytes in [1000, 8 << 20] {
            let opts = RefsOptions {
                chunk_bytes,
                group_tiles_above: 0,
                ..Default::default()
            };
            let Ok(set) = build(&ds, &opts) else { continue };
            assert!(
                !set.skipped.iter().any(|s| s.contains("tile-compressed")),
                "{p}: {:?}",
                set.skipped
            );
            for name in set.arrays() {
                let z = zarray(&set, name);
                let hdu = zattrs(&set, name)["fits_hdu"].as_u64().unwrap() as usize;
                if fits.hdu(hdu).unwrap().kind != nd_fits::HduKind::CompressedImage {
                    continue;
                }
                let c = &z["compressor"];
                if c["id"] != nd::refs::ND_FITS_TILE_GROUP {
                    // mapped one tile a chunk: the attributes say why
                    let why = zattrs(&set, name)["nd_tiles_not_grouped"].clone();
                    assert!(
                        why.as_str().is_some_and(|w| !w.is_empty()),
                        "{p} {name}: not grouped, no reason given"
                    );
                    not_grouped.push(format!("{p} {name}: {why}"));
                    continue;
                }
                let img = fits.image(hdu).unwrap();
                let t = nd::refs::codec::Decoder::new(c.clone()).unwrap();
                let (shape, chunks, tile) =
                    (u64s(&z["shape"]), u64s(&z["chunks"]), u64s(&c["tile"]));
                assert_eq!(z["dtype"], nd::typestr(img.dtype()), "{p} {name}");
                let grid: Vec<u64> = shape
                    .iter()
                    .zip(&chunks)
                    .map(|(s, c)| s.div_ceil(*c))
                    .collect();
                for k in 0..grid.iter().product::<u64>() {
                    let idx = nd_core::shape::coords_of(k, &grid);
                    let key: Vec<String> = idx.iter().map(u64::to_string).collect();
                    let Ref::Range { offset, length, .. } =
                        set.refs[&format!("{name}/{}", key.join("."))]
                    else {
                        panic!("{p} {name}: not a range")
                    };
                    let stored = &file[offset as usize..(offset + length) as usize];
                    let (dt, got) = t.decode(stored, 1 << 26).unwrap();
                    assert_eq!(&dt, img.dtype(), "{p} {name}");
                    let start: Vec<u64> = idx.iter().zip(&chunks).map(|(i, c)| i * c).collect();
                    assert_eq!(
                        got,
                        chunk_read(&img, &start, &chunks),
                        "{p} {name} chunk {key:?}"
                    );
                    chunks_checked += 1;
                    multi += usize::from(chunks.iter().zip(&tile).any(|(c, t)| c > t));
                }
                images += 1;
                dithered +=
                    usize::from(c["zquantiz"].as_str().is_some_and(|q| q.starts_with("SUB")));
                fallback += usize::from(c["tiles"].get("column").is_some());
                nulls += usize::from(!c["zblank"].is_null() || c["tiles"].get("zblank").is_some());
                edge += usize::from(shape.iter().zip(&tile).any(|(s, t)| s % t != 0));
            }
        }
    }
    eprintln!(
        "{images} grouped images, {chunks_checked} chunks ({multi} of several tiles); {dithered} \
         dithered, {fallback} with fallback tiles, {nulls} with null pixels, {edge} with edge \
         tiles; not grouped: {not_grouped:?}"
    );
    // the counts of testdata (every compressed image is grouped: their heaps are in order)
    assert!(images >= 160 && not_grouped.is_empty(), "{images} images");
    assert!(
        chunks_checked >= 600 && multi >= 200,
        "{chunks_checked} chunks, {multi} of several tiles"
    );
    assert!(
        dithered >= 20 && fallback >= 10 && nulls >= 40 && edge >= 70,
        "{dithered} {fallback} {nulls} {edge}"
    );
}

#[test]
fn skipped_parts_are_listed_with_reasons() {
    let p = testdata().join("fits/astropy/random_groups.fits");
    let ds = nd::open(p.to_str().unwrap()).unwrap();
    let set = build(&ds, &RefsOptions::default()).unwrap();
    assert!(set.skipped.iter().any(|s| s.contains("random groups")));
    let root = match &set.refs[".zattrs"] {
        Ref::Json(v) => v.clone(),
        _ => unreachable!(),
    };
    assert_eq!(
        root["nd_skipped"].as_array().unwrap().len(),
        set.skipped.len()
    );
    let p = testdata().join("fits/gen/bt_vla.fits");
    let ds = nd::open(p.to_str().unwrap()).unwrap();
    let set = build(&ds, &RefsOptions::default()).unwrap();
    assert!(set
        .skipped
        .iter()
        .any(|s| s.contains("column 'VJ' (PJ") && s.contains("variable-length")));
}

/// An ASDF ndarray node whose description is invalid (python asdf: "A node failed to convert",
/// a warning) is named with its reason in `nd_skipped`, in `nd info --json`'s `unreadable` and
/// in the warnings, never dropped silently; the file's valid arrays are still mapped.
#[test]
fn invalid_asdf_ndarrays_are_named_not_dropped() {
    for (file, reason) in [
        ("strides_length", "strides and shape differ in length"),
        ("shape_negative", "negative dimension"),
        ("datatype_unknown", "unknown type 'float99'"),
    ] {
        let p = testdata().join(format!("asdf/defects/{file}.asdf"));
        let ds = nd::open(p.to_str().unwrap()).unwrap();
        let set = build(&ds, &RefsOptions::default()).unwrap();
        assert!(
            set.skipped
                .iter()
                .any(|s| s.contains("'data'") && s.contains(reason)),
            "{file}: {:?}",
            set.skipped
        );
        assert_eq!(zarray(&set, "small")["shape"], serde_json::json!([3]));
        let info = ds.info_json().unwrap();
        assert_eq!(info["unreadable"][0]["path"], "data", "{file}");
        assert!(
            info["unreadable"][0]["reason"]
                .as_str()
                .unwrap()
                .contains(reason),
            "{file}"
        );
        assert!(ds.warnings().iter().any(|w| w.contains(reason)), "{file}");
    }
}

/// Every tile-compressed image of testdata that nd reads is mapped (quantized, dithered, null
/// pixels, fallback tiles, edge tiles): none is in `nd_skipped`.
#[test]
fn every_tile_compressed_image_is_mapped() {
    let mut images = 0;
    for path in fits_files() {
        let p = path.to_str().unwrap();
        if p.contains("broken") {
            continue; // damaged on purpose
        }
        let Ok(ds) = nd::open(p) else { continue };
        let Ok(set) = build(&ds, &RefsOptions::default()) else {
            continue;
        };
        let tiled: Vec<&String> = set
            .skipped
            .iter()
            .filter(|s| s.contains("tile-compressed"))
            .collect();
        assert!(tiled.is_empty(), "{p}: {tiled:?}");
        images += set
            .arrays()
            .iter()
            .filter(|a| zarray(&set, a)["compressor"]["id"] == "nd_fits_tile_table")
            .count();
    }
    assert!(images >= 40, "{images} arrays with a tile table");
}

#[test]
fn asdf_compressed_blocks_are_one_chunk_with_their_codec() {
    for (file, id) in [
        ("compressed_zlib.asdf", "zlib"),
        ("compressed_bzp2.asdf", "bz2"),
        ("compressed_lz4.asdf", "lz4"),
        ("compressed_lz4_multi.asdf", nd::refs::ND_ASDF_LZ4),
    ] {
        let p = testdata().join("asdf/py").join(file);
        let ds = nd::open(p.to_str().unwrap()).unwrap();
        let set = build(&ds, &RefsOptions::default()).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        let f = nd_asdf::AsdfFile::open(&p).unwrap();
        let mut seen = 0;
        for name in set.arrays() {
            let z = zarray(&set, name);
            assert_eq!(z["compressor"]["id"], id, "{file} {name}");
            assert_eq!(z["chunks"], z["shape"], "{file} {name}");
            let key = vec!["0"; u64s(&z["shape"]).len().max(1)].join(".");
            let Ref::Range { offset, length, .. } = set.refs[&format!("{name}/{key}")] else {
                panic!("{file} {name}: not a range")
            };
            let stored = &bytes[offset as usize..(offset + length) as usize];
            // the bytes the codec decodes: numcodecs lz4 is [u32 LE size][block], asdf's frame
            // is [u32 BE length] + that
            let decoded = match id {
                "zlib" => nd_codecs::asdf::decode(b"zlib", stored, 1 << 30).unwrap(),
                "bz2" => nd_codecs::asdf::decode(b"bzp2", stored, 1 << 30).unwrap(),
                "lz4" => {
                    let mut framed = (stored.len() as u32).to_be_bytes().to_vec();
                    framed.extend_from_slice(stored);
                    nd_codecs::asdf::decode(b"lz4\0", &framed, 1 << 30).unwrap()
                }
                _ => nd_codecs::asdf::decode(b"lz4\0", stored, 1 << 30).unwrap(),
            };
            let a = f.array(name).unwrap();
            let mut want = a.read_all().unwrap().bytes().to_vec();
            let (dt, endian) = DataType::from_typestr(z["dtype"].as_str().unwrap()).unwrap();
            dt.swap_from_native(endian, &mut want);
            assert_eq!(decoded, want, "{file} {name}");
            seen += 1;
        }
        assert!(seen > 0, "{file}: no array");
    }
}

#[test]
fn json_is_kerchunk_version_1() {
    let p = testdata().join("fits/gen/dim3.fits");
    let ds = nd::open(p.to_str().unwrap()).unwrap();
    let set = build(
        &ds,
        &RefsOptions {
            chunk_bytes: 64,
            url_prefix: Some("https://example.org/data".into()),
            ..Default::default()
        },
    )
    .unwrap();
    let j = set.to_json();
    assert_eq!(j["version"], 1);
    let refs = j["refs"].as_object().unwrap();
    for (k, v) in refs {
        match v {
            Value::String(s) => {
                let _: Value = serde_json::from_str(s).unwrap_or_else(|_| panic!("{k}: {s}"));
            }
            Value::Array(a) => {
                assert_eq!(a.len(), 3, "{k}");
                assert_eq!(a[0], "https://example.org/data/dim3.fits");
                assert!(a[1].is_u64() && a[2].is_u64());
            }
            other => panic!("{k}: {other}"),
        }
    }
    let zattrs: Value = serde_json::from_str(refs["PRIMARY/.zattrs"].as_str().unwrap()).unwrap();
    assert_eq!(zattrs["_ARRAY_DIMENSIONS"].as_array().unwrap().len(), 3);
}

fn set_of(rel: &str, chunk_bytes: u64) -> RefSet {
    let ds = nd::open(testdata().join(rel).to_str().unwrap()).unwrap();
    build(
        &ds,
        &RefsOptions {
            chunk_bytes,
            ..RefsOptions::default()
        },
    )
    .unwrap()
}

#[test]
fn concat_along_a_new_dimension_renumbers_chunks_and_joins_urls() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.fits");
    std::fs::copy(testdata().join("fits/gen/dim2.fits"), &copy).unwrap();
    let a = set_of("fits/gen/dim2.fits", 8 << 20);
    let b = build(
        &nd::open(copy.to_str().unwrap()).unwrap(),
        &RefsOptions::default(),
    )
    .unwrap();
    assert_eq!(
        zarray(&a, "PRIMARY")["shape"],
        zarray(&b, "PRIMARY")["shape"]
    );
    let c = nd::refs::concat(&[a.clone(), b.clone(), a.clone()], "time").unwrap();
    assert_eq!(c.urls.len(), 3);
    assert_eq!(c.urls[1], b.urls[0]);
    let z = zarray(&c, "PRIMARY");
    assert_eq!(u64s(&z["shape"]), vec![3, 5, 6]);
    assert_eq!(u64s(&z["chunks"]), vec![1, 5, 6]);
    assert_eq!(
        zattrs(&c, "PRIMARY")["_ARRAY_DIMENSIONS"],
        serde_json::json!(["time", "dim_0", "dim_1"])
    );
    for (f, src) in [(0usize, &a), (1, &b), (2, &a)] {
        let Ref::Range {
            file,
            offset,
            length,
        } = c.refs[&format!("PRIMARY/{f}.0.0")]
        else {
            panic!()
        };
        let Ref::Range {
            offset: o0,
            length: l0,
            ..
        } = src.refs["PRIMARY/0.0"]
        else {
            panic!()
        };
        assert_eq!((file, offset, length), (f, o0, l0));
    }
    let j = c.to_json();
    assert_eq!(j["refs"]["PRIMARY/1.0.0"][0], b.urls[0].as_str());
    let root: Value = serde_json::from_str(j["refs"][".zattrs"].as_str().unwrap()).unwrap();
    assert_eq!(root["nd_concat"]["dim"], "time");
    assert_eq!(root["nd_concat"]["files"], 3);
}

#[test]
fn concat_along_an_existing_dimension_needs_whole_chunks() {
    // dim2 is 5×6 float32: 24-byte rows; 48-byte chunks of 2 rows do not divide 5, 1 row does
    let one_row = set_of("fits/gen/dim2.fits", 24);
    let c = nd::refs::concat(&[one_row.clone(), one_row.clone()], "dim_0").unwrap();
    let z = zarray(&c, "PRIMARY");
    assert_eq!(u64s(&z["shape"]), vec![10, 6]);
    assert_eq!(u64s(&z["chunks"]), vec![1, 6]);
    assert_eq!(c.refs["PRIMARY/7.0"], {
        let Ref::Range { offset, length, .. } = one_row.refs["PRIMARY/2.0"] else {
            panic!()
        };
        Ref::Range {
            file: 1,
            offset,
            length,
        }
    });
    let two_rows = set_of("fits/gen/dim2.fits", 48);
    let e = nd::refs::concat(&[two_rows.clone(), two_rows], "dim_0").unwrap_err();
    assert!(
        e.to_string()
            .contains("not a multiple of its chunk length 2"),
        "{e}"
    );
}

#[test]
fn concat_refuses_files_that_differ_naming_file_and_difference() {
    let a = set_of("fits/gen/dim2.fits", 8 << 20);
    let shape = set_of("fits/gen/dim3.fits", 8 << 20);
    let e = nd::refs::concat(&[a.clone(), shape], "t")
        .unwrap_err()
        .to_string();
    assert!(e.contains("dim3.fits") && e.contains("'PRIMARY'"), "{e}");
    let mut dtype = a.clone();
    dtype.urls[0] = "other.fits".into();
    let mut z = zarray(&a, "PRIMARY");
    z["dtype"] = ">i4".into();
    dtype.refs.insert("PRIMARY/.zarray".into(), Ref::Json(z));
    let e = nd::refs::concat(&[a.clone(), dtype], "t")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("other.fits") && e.contains("dtype \">i4\" differs from \">f4\""),
        "{e}"
    );
    let arrays = set_of("fits/gen/mef.fits", 8 << 20);
    let e = nd::refs::concat(&[a.clone(), arrays], "t")
        .unwrap_err()
        .to_string();
    assert!(e.contains("mef.fits"), "{e}");
    assert!(nd::refs::concat(&[], "t").is_err());
    assert!(nd::refs::concat(&[a], "a/b").is_err());
}

#[test]
fn zarr_in_asdf_chunk_blocks_are_chunks_one_to_one() {
    // asdf-zarr's internal storage: the array's own .zarray (its fill value too), each written
    // chunk block one chunk; unwritten chunks left out (they read as the fill value)
    let p = testdata().join("asdf/py/zarr_internal.asdf");
    let ds = nd::open(p.to_str().unwrap()).unwrap();
    let set = build(&ds, &RefsOptions::default()).unwrap();
    let z = zarray(&set, "zarr");
    assert_eq!(z["fill_value"], serde_json::json!(-1.5));
    assert_eq!(z["compressor"], Value::Null);
    assert_eq!(z["dtype"], "<f4");
    let (shape, chunks) = (u64s(&z["shape"]), u64s(&z["chunks"]));
    let bytes = std::fs::read(&p).unwrap();
    let a = nd_asdf::AsdfFile::open(&p).unwrap().array("zarr").unwrap();
    let (mut present, mut absent) = (0, 0);
    for i in 0..shape[0].div_ceil(chunks[0]) {
        for j in 0..shape[1].div_ceil(chunks[1]) {
            let region = nd_core::Region::new(vec![
                i * chunks[0]..((i + 1) * chunks[0]).min(shape[0]),
                j * chunks[1]..((j + 1) * chunks[1]).min(shape[1]),
            ]);
            let got: Vec<f32> = a
                .read_region(&region)
                .unwrap()
                .bytes()
                .chunks_exact(4)
                .map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            match set.refs.get(&format!("zarr/{i}.{j}")) {
                Some(Ref::Range { offset, length, .. }) => {
                    // a full chunk of little-endian f32, cropped to the array
                    let chunk = &bytes[*offset as usize..(*offset + *length) as usize];
                    let full: Vec<f32> = chunk
                        .chunks_exact(4)
                        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                        .collect();
                    assert_eq!(full.len() as u64, chunks[0] * chunks[1]);
                    let w = (region.shape()[1]) as usize;
                    let want: Vec<f32> = full
                        .chunks_exact(chunks[1] as usize)
                        .take(region.shape()[0] as usize)
                        .flat_map(|row| row[..w].to_vec())
                        .collect();
                    assert_eq!(got, want, "chunk {i}.{j}");
                    present += 1;
                }
                None => {
                    assert!(got.iter().all(|&v| v == -1.5), "chunk {i}.{j}");
                    absent += 1;
                }
                Some(other) => panic!("chunk {i}.{j}: {other:?}"),
            }
        }
    }
    assert!(
        present > 0 && absent > 0,
        "{present} written, {absent} unwritten"
    );
}

/// The ASDF files of testdata (python asdf's, the ASDF standard's, the defects), sorted.
fn asdf_files() -> Vec<PathBuf> {
    fn walk(d: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                let n = p.file_name().unwrap().to_string_lossy().to_string();
                if n != "written" && n != "expected" {
                    walk(&p, out);
                }
            } else if p.extension().is_some_and(|x| x == "asdf") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&testdata().join("asdf"), &mut out);
    walk(&testdata().join("asdf-standard"), &mut out);
    out.sort();
    out
}

/// An uncompressed ASDF array of a reference set (no codec, or nd's strided view codec) laid
/// out in C order from its chunks: each range read from the file the set names for it (the
/// ASDF file, or an exploded array's file), decoded by `nd::refs::codec::decode`, edge chunks
/// cropped. Stored byte order. `None` for an array with another codec.
fn assemble_asdf(set: &RefSet, name: &str, elem: usize) -> Option<Vec<u8>> {
    let z = zarray(set, name);
    let codec = z["compressor"].clone();
    if !(codec.is_null() || codec["id"] == nd::refs::ND_ASDF_STRIDED) {
        return None;
    }
    let shape = u64s(&z["shape"]);
    let chunks = u64s(&z["chunks"]);
    let n: u64 = shape.iter().product();
    let mut out = vec![0u8; n as usize * elem];
    let mut decoded = std::collections::HashMap::new();
    for flat in 0..n {
        let (idx, key) = element_chunk(flat, &shape, &chunks);
        let key = if key.is_empty() {
            "0".to_string()
        } else {
            key.join(".")
        };
        let chunk: &Vec<u8> = decoded.entry(key.clone()).or_insert_with(|| {
            let raw = match &set.refs[&format!("{name}/{key}")] {
                Ref::Range {
                    file,
                    offset,
                    length,
                } => {
                    let bytes = std::fs::read(&set.urls[*file]).unwrap();
                    let (o, l) = (*offset as usize, *length as usize);
                    assert!(o + l <= bytes.len(), "{name}: range past the file");
                    bytes[o..o + l].to_vec()
                }
                Ref::Bytes(b) => b.clone(),
                Ref::Json(_) => panic!("json chunk"),
            };
            if codec.is_null() {
                raw
            } else {
                let (dt, out) = nd::refs::codec::decode(&codec, &raw, 1 << 30).unwrap();
                assert_eq!(dt, DataType::UInt8);
                assert_eq!(
                    out.len() as u64,
                    chunks.iter().product::<u64>() * elem as u64
                );
                out
            }
        });
        let within = offset_in_chunk(&idx, &chunks);
        let at = within as usize * elem;
        out[flat as usize * elem..][..elem].copy_from_slice(&chunk[at..at + elem]);
    }
    Some(out)
}

#[test]
fn asdf_views_exploded_blocks_and_records_are_nds_reads() {
    // every uncompressed ASDF array of testdata (strided views through nd_asdf_strided, arrays
    // in the files beside an exploded ASDF file, structured dtypes): its chunks, decoded and
    // laid out, are nd's read of the array (in the stored byte order)
    let (mut strided, mut exploded, mut records, mut total) = (0, 0, 0, 0);
    for p in asdf_files() {
        let rel = p.strip_prefix(testdata()).unwrap().display().to_string();
        let Ok(ds) = nd::open(p.to_str().unwrap()) else {
            continue;
        };
        // the default chunks, and chunks of 40 bytes (views split along an axis, short last
        // chunks)
        for chunk_bytes in [8 << 20, 40] {
            let opts = RefsOptions {
                chunk_bytes,
                ..RefsOptions::default()
            };
            let Ok(set) = build(&ds, &opts) else {
                continue;
            };
            if !rel.contains("defects") {
                for s in &set.skipped {
                    assert!(
                        !s.contains("exploded") && !s.contains("strided") && !s.contains("record"),
                        "{rel}: {s}"
                    );
                }
            }
            let f = nd_asdf::AsdfFile::open(&p).unwrap();
            for name in set.arrays() {
                let path = zattrs(&set, name)["asdf_path"]
                    .as_str()
                    .unwrap_or(name)
                    .to_string();
                let Ok(mut a) = f.array(&path) else { continue };
                // a mask array as its array applies it: fitted to the array's shape
                let parent = path.strip_suffix("/mask").and_then(|p| f.array(p).ok());
                match parent.as_ref().and_then(|p| p.array_mask()) {
                    Some(nd_asdf::ArrayMask::Array(m)) => a = m.clone(),
                    Some(nd_asdf::ArrayMask::Constant(v)) => {
                        let n = parent.as_ref().unwrap().shape().iter().product::<u64>() as usize;
                        assert_eq!(assemble_asdf(&set, name, 1), Some(vec![u8::from(v); n]));
                        total += 1;
                        continue;
                    }
                    None => {}
                }
                if a.zarr_storage().is_some() {
                    continue;
                }
                let stored = a.stored_dtype().clone();
                let Some(got) = assemble_asdf(&set, name, stored.size()) else {
                    continue;
                };
                let mut want = a.read_all().unwrap().bytes().to_vec();
                // nd reads native values: back to the stored order of a block (a swap is its own
                // inverse); inline chunks are native already
                if let Some(view) = a.block_view() {
                    stored.swap_to_native(view.endian(), &mut want);
                }
                assert_eq!(got, want, "{rel} {name}");
                let z = zarray(&set, name);
                total += 1;
                strided += usize::from(z["compressor"]["id"] == nd::refs::ND_ASDF_STRIDED);
                exploded += usize::from(set.refs.iter().any(|(k, r)| {
                    k.starts_with(&format!("{name}/"))
                        && matches!(r, Ref::Range { file, .. } if *file > 0)
                }));
                records += usize::from(z["dtype"].is_array());
            }
        }
    }
    println!("{total} arrays: {strided} strided views, {exploded} exploded, {records} records");
    // the counts of testdata's views, exploded arrays and record arrays (at least)
    assert!(strided >= 2 * 10, "{strided} strided views");
    assert!(exploded >= 2 * 9, "{exploded} exploded arrays");
    assert!(records >= 2 * 8, "{records} structured arrays");
    assert!(total > 100, "{total} arrays");
}

#[test]
fn exploded_sources_resolve_beside_the_file_and_follow_the_url_prefix() {
    let p = testdata().join("asdf/py/exploded/exploded.asdf");
    let ds = nd::open(p.to_str().unwrap()).unwrap();
    let opts = RefsOptions {
        url_prefix: Some("s3://bucket/dir/".into()),
        ..RefsOptions::default()
    };
    let set = build(&ds, &opts).unwrap();
    assert_eq!(
        set.urls,
        [
            "s3://bucket/dir/exploded.asdf",
            "s3://bucket/dir/exploded0000.asdf",
            "s3://bucket/dir/exploded0001.asdf"
        ]
    );
    assert!(
        matches!(set.refs["a/0.0"], Ref::Range { file: 1, .. }),
        "{:?}",
        set.refs["a/0.0"]
    );
    // a source that leaves the directory, an absolute one, a missing file: not mapped, with
    // the reason (the tree edited in place, same length: the file has no block of its own)
    let text = std::fs::read(&p).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (source, why) in [
        ("../xploded00.asdf", "leaves the ASDF file's directory"),
        ("/xploded0000.asdf", "an absolute path"),
        ("exploded0009.asdf", "exploded0009.asdf"),
    ] {
        let edited = String::from_utf8_lossy(&text).replace("exploded0000.asdf", source);
        assert_eq!(edited.len(), text.len());
        let q = dir.path().join("exploded.asdf");
        std::fs::write(&q, edited).unwrap();
        std::fs::copy(
            p.with_file_name("exploded0001.asdf"),
            dir.path().join("exploded0001.asdf"),
        )
        .unwrap();
        let ds = nd::open(q.to_str().unwrap()).unwrap();
        let set = build(&ds, &RefsOptions::default()).unwrap();
        assert!(
            set.skipped.len() == 1
                && set.skipped[0].contains(why)
                && set.skipped[0].contains("\"a\""),
            "{source}: {:?}",
            set.skipped
        );
        assert_eq!(set.arrays(), ["b"], "{source}");
    }
}
