//! Every Zarr v3 store of testdata/zarr/v3 (written by zarr-python 3, see
//! testdata/gen_zarr_v3.py) reads bit-for-bit as zarr-python 3 read it
//! (testdata/zarr/v3/expected/*.npy), whole and by region; hierarchies list what zarr-python
//! lists; a one-inner-chunk read of a sharded array fetches only the shard index and that chunk.
//! Arrays of the variable-length types `string` / `bytes` read as the fixed-width `U<w>` / `S<w>`
//! the generator made of zarr-python 3's StringDType / object values; corrupt ones are typed
//! errors naming the chunk.

mod common;

use nd_core::{ArrayRead, Bytes, DataType, DirStore, MemStore, Region, Store};
use nd_zarr::v3::MetadataErrorV3;
use nd_zarr::{Error, Hierarchy, NodeKind, ZarrArrayV3};
use serde_json::Value;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

fn root() -> PathBuf {
    common::testdata().join("v3")
}

fn manifest() -> Value {
    let text = std::fs::read_to_string(root().join("manifest.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn open_store(rel: &str) -> Arc<dyn Store> {
    Arc::new(DirStore::open_read_only(root().join(rel)).unwrap())
}

fn npy(rel: &str) -> nd_core::ArrayBuf {
    nd_core::npy::read_npy(root().join(rel)).unwrap()
}

#[test]
fn every_case_reads_as_zarr_python_3_reads_it() {
    let m = manifest();
    let (mut whole, mut regions, mut refused, mut vlen) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    for c in m["cases"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        let path = c["path"].as_str().unwrap();
        let store = open_store(c["store"].as_str().unwrap());
        // through the hierarchy (what nd's callers use) and directly
        let h = Hierarchy::open(store.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(h.zarr_format(), 3, "{name}");
        if let Some(dt) = c.get("error").and_then(Value::as_str) {
            let node = h.node(path).unwrap_or_else(|| panic!("{name}: not listed"));
            assert_eq!(node.kind, NodeKind::Array, "{name}");
            let why = node
                .error
                .as_deref()
                .unwrap_or_else(|| panic!("{name}: no error"));
            assert!(why.contains(&format!("'{dt}'")), "{name}: {why}");
            match ZarrArrayV3::open(store, path) {
                Err(Error::MetadataV3 {
                    key,
                    source: MetadataErrorV3::Unsupported { field, what },
                }) => {
                    assert!(key.ends_with("zarr.json"), "{key}");
                    assert_eq!(field, "data_type");
                    assert!(what.contains(dt), "{what}");
                }
                other => panic!("{name}: {other:?}"),
            }
            assert!(h.open_array(path).is_err());
            refused += 1;
            continue;
        }
        // zarr-python's consolidated metadata does not list arrays under implicit groups; they
        // still open by path, as in zarr-python
        let listed = h.node(path).is_some() || !h.is_consolidated();
        let a = match if listed {
            h.open_array(path)
        } else {
            ZarrArrayV3::open(store.clone(), path).map(|a| Box::new(a) as Box<dyn ArrayRead>)
        } {
            Ok(a) => a,
            Err(e) => {
                failures.push(format!("{name}: {e}"));
                continue;
            }
        };
        let expected = npy(c["npy"].as_str().unwrap());
        assert_eq!(a.shape(), expected.shape(), "{name}");
        assert_eq!(a.dtype(), expected.dtype(), "{name}");
        match a.read_all() {
            Ok(got) if got.bytes() == expected.bytes() => whole += 1,
            Ok(_) => failures.push(format!("{name}: values differ")),
            Err(e) => failures.push(format!("{name}: {e}")),
        }
        if c.get("zarr_python_dtype").is_some() {
            // a variable-length type: read through the object path only, as U / S
            assert!(
                matches!(a.dtype(), DataType::Ucs4(_) | DataType::Bytes(_)),
                "{name}"
            );
            assert!(
                h.node(path).is_none_or(|n| n.object.is_some()),
                "{name}: not an object node"
            );
            match ZarrArrayV3::open(store, path) {
                Err(Error::MetadataV3 {
                    source: MetadataErrorV3::Unsupported { field, .. },
                    ..
                }) => assert_eq!(field, "data_type", "{name}"),
                other => panic!("{name}: {other:?}"),
            }
            vlen += 1;
        } else {
            let direct = ZarrArrayV3::open(store, path).unwrap();
            assert_eq!(
                direct.read_all().unwrap().bytes(),
                expected.bytes(),
                "{name}"
            );
        }
        for r in c["regions"].as_array().unwrap() {
            let spec = r["region"].as_str().unwrap();
            let region = Region::parse(spec, a.shape()).unwrap();
            let want = npy(r["npy"].as_str().unwrap());
            match a.read_region(&region) {
                Ok(got) if got.bytes() == want.bytes() => regions += 1,
                Ok(_) => failures.push(format!("{name}[{spec}]: values differ")),
                Err(e) => failures.push(format!("{name}[{spec}]: {e}")),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // no case is refused any more (the variable-length types were, until they were read)
    assert!(
        whole >= 90 && regions >= 260 && refused == 0 && vlen >= 18,
        "{whole} {regions} {refused} {vlen}"
    );
}

#[test]
fn hierarchies_list_what_zarr_python_lists() {
    let m = manifest();
    for (store_name, want) in m["hierarchies"].as_object().unwrap() {
        let h = Hierarchy::open(open_store(&format!("stores/{store_name}"))).unwrap();
        assert_eq!(h.zarr_format(), 3);
        assert_eq!(h.is_consolidated(), store_name == "consolidated.zarr");
        let strs = |v: &Value| -> Vec<String> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_string())
                .collect()
        };
        let groups: Vec<&str> = h.groups();
        let arrays: Vec<&str> = h.arrays();
        for g in strs(&want["groups"]) {
            assert!(groups.contains(&g.as_str()), "{store_name}: group {g}");
        }
        for a in strs(&want["arrays"]) {
            assert!(arrays.contains(&a.as_str()), "{store_name}: array {a}");
        }
        let root = h.node("").unwrap();
        assert_eq!(
            Value::Object(root.attributes.clone()),
            want["root_attributes"]
        );
        let a = h.array_v3("g/a").unwrap();
        assert_eq!(
            Value::Object(a.attributes().clone()),
            want["g/a"]["attributes"]
        );
        let dims: Vec<Value> = a
            .dimension_names()
            .unwrap()
            .iter()
            .map(|d| d.clone().map_or(Value::Null, Value::String))
            .collect();
        assert_eq!(Value::Array(dims), want["g/a"]["dimension_names"]);
        // the vlen-string sibling reads as U1, with its dimension name; everything reads
        let s = h.node("s").unwrap();
        assert!(s.error.is_none());
        let o = s.object.as_ref().unwrap();
        assert_eq!(o.describe(), "string (vlen-utf8)");
        assert_eq!(o.dimension_names(), Some(&[Some("n".to_string())][..]));
        let sv = h.open_array("s").unwrap().read_all().unwrap();
        assert_eq!(sv.dtype(), &DataType::Ucs4(1));
        let chars: Vec<u32> = sv
            .bytes()
            .chunks_exact(4)
            .map(|b| u32::from_ne_bytes(b.try_into().unwrap()))
            .collect();
        assert_eq!(chars, [u32::from('x'), u32::from('y')]);
        for p in h.arrays() {
            h.open_array(p).unwrap().read_all().unwrap();
        }
        if store_name == "hier.zarr" {
            // implicit groups (zarr-python 3 does not list them; the spec used to allow them)
            for p in ["i", "i/j"] {
                let n = h.node(p).unwrap();
                assert!(n.implicit && n.kind == NodeKind::Group, "{p}");
            }
            let k = h.array_v3("i/j/k").unwrap().read_all().unwrap();
            assert_eq!(k.bytes(), &[1, 2, 3]);
        }
    }
}

/// A store that records every request: `(key, kind, bytes returned)`.
#[derive(Debug)]
struct CountingStore {
    inner: DirStore,
    log: Mutex<Vec<(String, String, usize)>>,
}

impl CountingStore {
    fn record(&self, key: &str, kind: String, b: &nd_core::Result<Option<Bytes>>) {
        let n = match b {
            Ok(Some(b)) => b.len(),
            _ => 0,
        };
        self.log.lock().unwrap().push((key.to_string(), kind, n));
    }
}

impl Store for CountingStore {
    fn get(&self, key: &str) -> nd_core::Result<Option<Bytes>> {
        let r = self.inner.get(key);
        self.record(key, "get".into(), &r);
        r
    }
    fn get_range(&self, key: &str, range: Range<u64>) -> nd_core::Result<Option<Bytes>> {
        let r = self.inner.get_range(key, range.clone());
        self.record(key, format!("range {range:?}"), &r);
        r
    }
    fn get_suffix(&self, key: &str, len: u64) -> nd_core::Result<Option<Bytes>> {
        let r = self.inner.get_suffix(key, len);
        self.record(key, format!("suffix {len}"), &r);
        r
    }
    fn set(&self, key: &str, value: &[u8]) -> nd_core::Result<()> {
        self.inner.set(key, value)
    }
    fn delete(&self, key: &str) -> nd_core::Result<()> {
        self.inner.delete(key)
    }
    fn list_prefix(&self, prefix: &str) -> nd_core::Result<Vec<String>> {
        self.inner.list_prefix(prefix)
    }
}

#[test]
fn one_inner_chunk_of_a_shard_reads_the_index_and_that_chunk() {
    let counting = Arc::new(CountingStore {
        inner: DirStore::open_read_only(root().join("stores/sharded.zarr")).unwrap(),
        log: Mutex::new(Vec::new()),
    });
    let store: Arc<dyn Store> = counting.clone();
    // 64x64 uint16, shards 32x32, inner chunks 8x8, index (16 pairs + crc32c) at the end
    let a = ZarrArrayV3::open(store, "counting").unwrap();
    assert_eq!(a.inner_chunk_shape(), Some(&[8u64, 8][..]));
    counting.log.lock().unwrap().clear();
    let region = Region::parse("40:48,8:16", a.shape()).unwrap();
    let got = a.read_region(&region).unwrap();
    let want = npy("expected/sharded.counting.npy");
    let mut expect = Vec::new();
    for i in 40..48usize {
        expect.extend_from_slice(&want.bytes()[(i * 64 + 8) * 2..(i * 64 + 16) * 2]);
    }
    assert_eq!(got.bytes(), &expect[..]);
    let log = counting.log.lock().unwrap().clone();
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(log[0].0, "counting/c/1/0");
    assert_eq!(log[0].1, "suffix 260");
    assert_eq!(log[0].2, 260);
    assert!(log[1].1.starts_with("range "), "{log:?}");
    let shard_len = std::fs::metadata(root().join("stores/sharded.zarr/counting/c/1/0"))
        .unwrap()
        .len() as usize;
    assert!(
        log[1].2 < shard_len / 8,
        "{log:?} of a {shard_len}-byte shard"
    );

    // a region over four inner chunks of two shards: one index per shard, one get per chunk
    counting.log.lock().unwrap().clear();
    let region = Region::parse("30:34,0:8", a.shape()).unwrap();
    a.read_region(&region).unwrap();
    let log = counting.log.lock().unwrap().clone();
    assert_eq!(
        log.iter().filter(|l| l.1.starts_with("suffix")).count(),
        2,
        "{log:?}"
    );
    assert_eq!(
        log.iter().filter(|l| l.1.starts_with("range")).count(),
        2,
        "{log:?}"
    );
    assert!(log.iter().all(|l| l.1 != "get"), "{log:?}");

    // a whole shard: its inner chunks lie back to back, so one coalesced request after the index
    let whole = Region::parse("32:64,0:32", a.shape()).unwrap();
    let want = a.read_region(&whole).unwrap();
    counting.log.lock().unwrap().clear();
    a.read_region(&whole).unwrap();
    let log = counting.log.lock().unwrap().clone();
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(log[1].2, shard_len - 260, "{log:?}");
    // without merging: one request per (non-empty) inner chunk, the same values
    let mut a = a;
    a.set_shard_fetch(nd_zarr::v3::ShardFetch::UNMERGED);
    counting.log.lock().unwrap().clear();
    assert_eq!(a.read_region(&whole).unwrap().bytes(), want.bytes());
    let log = counting.log.lock().unwrap().clone();
    let ranges = log.iter().filter(|l| l.1.starts_with("range")).count();
    assert_eq!(ranges, 16, "{log:?}");
    assert_eq!(log.iter().map(|l| l.2).sum::<usize>(), shard_len, "{log:?}");
    // gaps below the merge gap are read through: inner chunks (0,0), (0,1), (0,2) lie at
    // 0, 274 and 1096 (Morton order): one request of 0..1233
    a.set_shard_fetch(nd_zarr::v3::ShardFetch::DEFAULT);
    counting.log.lock().unwrap().clear();
    let row = Region::parse("32:40,0:24", a.shape()).unwrap();
    a.read_region(&row).unwrap();
    let log = counting.log.lock().unwrap().clone();
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(log[1].1, "range 0..1233", "{log:?}");
    // and a gap larger than the merge gap is not
    a.set_shard_fetch(nd_zarr::v3::ShardFetch {
        coalesce_gap: 136,
        max_request: 1 << 20,
    });
    counting.log.lock().unwrap().clear();
    a.read_region(&row).unwrap();
    let log = counting.log.lock().unwrap().clone();
    assert_eq!(log.len(), 4, "{log:?}");
}

#[test]
fn the_v2_path_is_unchanged() {
    // a v2 store still opens as v2 through the same entry point
    let h = Hierarchy::open_path(common::testdata().join("hier.zarr")).unwrap();
    assert_eq!(h.zarr_format(), 2);
    let p = h.arrays()[0].to_string();
    h.array(&p).unwrap();
    assert!(h.array_v3(&p).is_err());
}

/// The store `rel` of testdata/zarr/v3, copied into memory (to damage it).
fn mem_copy(rel: &str) -> Arc<MemStore> {
    let src = open_store(rel);
    let mem = Arc::new(MemStore::new());
    for k in src.list_prefix("").unwrap() {
        mem.set(&k, &src.get(&k).unwrap().unwrap()).unwrap();
    }
    mem
}

/// numcodecs' vlen framing of `items`.
fn vlen_frame(items: &[&[u8]]) -> Vec<u8> {
    let mut v = (items.len() as u32).to_le_bytes().to_vec();
    for it in items {
        v.extend((it.len() as u32).to_le_bytes());
        v.extend(*it);
    }
    v
}

#[test]
fn corrupt_variable_length_chunks_are_typed_errors_naming_the_chunk() {
    // `string_raw`: vlen-utf8 alone, chunks of 4x4 = 16 items
    let bad: [(&str, Vec<u8>); 4] = [
        ("item count", vlen_frame(&[&b"a"[..]; 15])),
        ("UTF-8", vlen_frame(&[&b"\xff"[..]; 16])),
        ("truncated", vlen_frame(&[&b"abc"[..]; 16])[..40].to_vec()),
        // a claimed count of 2^31 items in 12 bytes: refused before anything is allocated
        (
            "count",
            [0u8, 0, 0, 0x80, 1, 0, 0, 0, b'a', 0, 0, 0].to_vec(),
        ),
    ];
    for (what, chunk) in bad {
        let mem = mem_copy("stores/vlen.zarr");
        mem.set("string_raw/c/0/1", &chunk).unwrap();
        let h = Hierarchy::open(mem.clone()).unwrap();
        let Err(e) = h.open_array("string_raw") else {
            panic!("{what}: damaged chunk read")
        };
        assert!(
            matches!(&e, Error::Codec { key, .. } if key == "string_raw/c/0/1"),
            "{what}: {e:?}"
        );
        assert!(e.to_string().contains("vlen-utf8"), "{what}: {e}");
    }
    // a sharded array: a damaged inner chunk names the shard and the inner chunk
    let mem = mem_copy("stores/vlen.zarr");
    let key = "bytes_sharded/c/0/0";
    let mut shard = mem.get(key).unwrap().unwrap().to_vec();
    // the index (4 inner chunks, then crc32c) is at the end; inner chunk (0, 0) is present
    let at = shard.len() - 4 * 16 - 4;
    let off = u64::from_le_bytes(shard[at..at + 8].try_into().unwrap()) as usize;
    let n = u64::from_le_bytes(shard[at + 8..at + 16].try_into().unwrap()) as usize;
    assert!(n > 0);
    for b in &mut shard[off..off + n] {
        *b = 0xa5;
    }
    mem.set(key, &shard).unwrap();
    let Err(e) = Hierarchy::open(mem).unwrap().open_array("bytes_sharded") else {
        panic!("damaged inner chunk read")
    };
    let msg = e.to_string();
    assert!(
        msg.contains(key) && msg.contains("inner chunk [0, 0]"),
        "{msg}"
    );
}

#[test]
fn sharded_variable_length_regions_read_the_values_of_the_whole_read() {
    // every region of a sharded string array (shards 4x4 of inner chunks 2x2, empty inner
    // chunks and a missing shard) is the same part of the whole read
    let m = manifest();
    let c = m["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "vlen.string_sharded")
        .unwrap();
    let h = Hierarchy::open(open_store(c["store"].as_str().unwrap())).unwrap();
    let a = h.open_array("string_sharded").unwrap();
    let whole = npy(c["npy"].as_str().unwrap());
    assert_eq!(a.read_all().unwrap().bytes(), whole.bytes());
    let elem = a.dtype().size();
    let (rows, cols) = (a.shape()[0], a.shape()[1]);
    for r0 in 0..rows {
        for c0 in 0..cols {
            let region = Region::parse(&format!("{r0}:{rows},{c0}:{}", c0 + 1), a.shape()).unwrap();
            let got = a.read_region(&region).unwrap();
            for (i, r) in (r0..rows).enumerate() {
                let at = ((r * cols + c0) as usize) * elem;
                assert_eq!(
                    &got.bytes()[i * elem..(i + 1) * elem],
                    &whole.bytes()[at..at + elem],
                    "[{r}, {c0}]"
                );
            }
        }
    }
}

/// A chunk stored as it is (`bytes` alone, native order) is read from its file straight into
/// the output; one of the wrong size is an error naming the chunk, as through the codec path.
#[test]
fn chunks_stored_as_they_are_read_into_place_and_a_wrong_size_is_an_error() {
    let src = root().join("stores/dtypes.zarr/int16");
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("int16");
    std::fs::create_dir_all(copy.join("c/0")).unwrap();
    std::fs::copy(src.join("zarr.json"), copy.join("zarr.json")).unwrap();
    for entry in walk(&src.join("c")) {
        let rel = entry.strip_prefix(&src).unwrap();
        std::fs::create_dir_all(copy.join(rel).parent().unwrap()).unwrap();
        std::fs::copy(&entry, copy.join(rel)).unwrap();
    }
    let store: Arc<dyn Store> = Arc::new(DirStore::open_read_only(&copy).unwrap());
    let want = npy("expected/dtypes.int16.npy");
    let a = ZarrArrayV3::open(store.clone(), "").unwrap();
    assert_eq!(a.read_all().unwrap().bytes(), want.bytes());
    // chunk (0, 0) of 3×2 int16: 12 bytes; cut to 11
    let chunk = copy.join("c/0/0");
    let bytes = std::fs::read(&chunk).unwrap();
    assert_eq!(bytes.len(), 12);
    std::fs::write(&chunk, &bytes[1..]).unwrap();
    let e = a.read_all().unwrap_err();
    assert!(e.to_string().contains("c/0/0"), "{e}");
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
