//! Every Zarr v3 store of testdata/zarr/v3 (written by zarr-python 3, see
//! testdata/gen_zarr_v3.py) reads bit-for-bit as zarr-python 3 read it
//! (testdata/zarr/v3/expected/*.npy), whole and by region; hierarchies list what zarr-python
//! lists; a one-inner-chunk read of a sharded array fetches only the shard index and that chunk.

mod common;

use nd_core::{ArrayRead, Bytes, DirStore, Region, Store};
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
    let (mut whole, mut regions, mut refused) = (0, 0, 0);
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
        let direct = ZarrArrayV3::open(store, path).unwrap();
        let expected = npy(c["npy"].as_str().unwrap());
        assert_eq!(a.shape(), expected.shape(), "{name}");
        assert_eq!(a.dtype(), expected.dtype(), "{name}");
        match a.read_all() {
            Ok(got) if got.bytes() == expected.bytes() => whole += 1,
            Ok(_) => failures.push(format!("{name}: values differ")),
            Err(e) => failures.push(format!("{name}: {e}")),
        }
        assert_eq!(
            direct.read_all().unwrap().bytes(),
            expected.bytes(),
            "{name}"
        );
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
    assert!(
        whole >= 70 && regions >= 200 && refused >= 4,
        "{whole} {regions} {refused}"
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
        // the vlen-string sibling is listed with its reason; everything else reads
        assert!(h.node("s").unwrap().error.is_some());
        for p in h.arrays() {
            if p != "s" {
                h.open_array(p).unwrap().read_all().unwrap();
            }
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
