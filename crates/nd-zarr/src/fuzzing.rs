//! Entry points of the cargo-fuzz targets (`fuzz/fuzz_targets/zarr_*.rs`) and the corpus replay tests.
//! None of them may panic, whatever the input.

use crate::hierarchy::Hierarchy;
use nd_codecs::zarr_v2::ArrayMetadataV2;
use nd_core::{ArrayRead, MemStore, Region, Store};
use std::sync::Arc;

/// Largest decoded chunk the fuzz targets try to decode.
const FUZZ_MAX_CHUNK: usize = 1 << 22;

/// Parse `.zarray` bytes; if they parse, write them and parse again (must round-trip).
pub fn zarray(data: &[u8]) {
    if let Ok(m) = ArrayMetadataV2::parse(data) {
        let back = ArrayMetadataV2::parse(&m.to_json_bytes());
        assert!(back.is_ok(), "written .zarray does not parse: {back:?}");
        let _ = m.pipeline();
    }
}

/// Open a hierarchy from `.zmetadata` bytes and read the first element of each (small) array
/// (missing chunks: the fill value).
pub fn zmetadata(data: &[u8]) {
    let store: Arc<dyn Store> = Arc::new(MemStore::new());
    if let Ok(h) = Hierarchy::from_consolidated(store, data) {
        for p in h.arrays() {
            if let Ok(a) = h.array(p) {
                if a.metadata().chunk_bytes() <= FUZZ_MAX_CHUNK && !a.shape().contains(&0) {
                    let r = Region::new(a.shape().iter().map(|_| 0..1).collect());
                    let _ = a.read_region(&r);
                }
            }
        }
        let _ = h.consolidated_json();
    }
}

/// A `.zarray` document, a NUL byte, then one stored chunk: decode the chunk through the
/// array's pipeline with the declared chunk shape, then read the whole array from a store
/// holding that chunk as chunk 0.
pub fn chunk(data: &[u8]) {
    let Some(split) = data.iter().position(|&b| b == 0) else {
        return;
    };
    let (head, rest) = data.split_at(split);
    let chunk = &rest[1..]; // ok: rest starts with the NUL byte
    object_chunk(head, chunk);
    let Ok(m) = ArrayMetadataV2::parse(head) else {
        return;
    };
    if m.chunk_bytes() > FUZZ_MAX_CHUNK {
        return;
    }
    let Ok(p) = m.pipeline() else {
        return;
    };
    let mut out = vec![0u8; m.chunk_bytes()];
    let _ = m.decode_chunk_into(&p, chunk, &mut out);
    let total = nd_core::num_bytes(&m.shape, m.dtype.size()).unwrap_or(usize::MAX);
    if total <= FUZZ_MAX_CHUNK {
        let store: Arc<dyn Store> = Arc::new(MemStore::new());
        let key = m.chunk_key(&vec![0; m.shape.len()], m.separator());
        if store.set(&key, chunk).is_ok() {
            if let Ok(a) = crate::ZarrArray::from_parts(store, "", m, Default::default()) {
                let _ = a.read_all();
            }
        }
    }
}

/// An object (`|O`) array's `.zarray` and one chunk: open it from a store holding that chunk as
/// chunk 0 (small arrays only) and read it whole.
fn object_chunk(head: &[u8], chunk: &[u8]) {
    let Ok(v) = nd_codecs::zarr_v2::parse_json_lenient(head) else {
        return;
    };
    let Ok(m) = crate::object::ObjectMetadataV2::from_json(".zarray", &v) else {
        return;
    };
    let n = nd_core::num_elements(&m.grid.shape).unwrap_or(u64::MAX);
    let chunks = m
        .grid
        .grid_shape()
        .iter()
        .try_fold(1u64, |a, &b| a.checked_mul(b));
    if n > 4096 || chunks.is_none_or(|c| c > 64) {
        return;
    }
    let store: Arc<dyn Store> = Arc::new(MemStore::new());
    let key = m
        .grid
        .chunk_key(&vec![0; m.grid.shape.len()], m.grid.separator());
    if store.set(&key, chunk).is_ok() {
        if let Ok(a) = crate::object::ObjectArray::from_parts(store, "", m, Default::default()) {
            let _ = a.read_all();
        }
    }
}

/// Parse a Zarr v3 `zarr.json`; if it is an array, build its codec chain and read its first
/// element from an empty store (the fill value); then open a hierarchy whose root document it
/// is (consolidated metadata included) and read the first element of each small array.
pub fn v3_json(data: &[u8]) {
    if let Ok(m) = crate::v3::ArrayMetadataV3::parse(data) {
        let store: Arc<dyn Store> = Arc::new(MemStore::new());
        if let Ok(a) = crate::v3::ZarrArrayV3::from_metadata(store, "", m) {
            read_corner(&a);
        }
    }
    let store: Arc<dyn Store> = Arc::new(MemStore::new());
    if store.set(crate::v3::ZARR_JSON, data).is_ok() {
        if let Ok(h) = Hierarchy::open(store) {
            for p in h.arrays() {
                if let Ok(a) = h.array_v3(p) {
                    read_corner(&a);
                }
            }
        }
    }
}

fn read_corner(a: &crate::v3::ZarrArrayV3) {
    if a.metadata().chunk_bytes() <= FUZZ_MAX_CHUNK && !a.shape().contains(&0) {
        let r = Region::new(a.shape().iter().map(|_| 0..1).collect());
        let _ = a.read_region(&r);
    }
}

/// A v3 `zarr.json`, a NUL byte, then one stored chunk or shard: stored as chunk 0 of the
/// array, then the whole array (when small) and each element of its first chunk are read. For a
/// sharded array this decodes the shard index and the inner chunks it points to; a read of the
/// whole must equal the reads of its parts and the read with one request per inner chunk, and
/// `verify` must not call a store clean that does not read.
pub fn v3_shard(data: &[u8]) {
    let Some(split) = data.iter().position(|&b| b == 0) else {
        return;
    };
    let (head, rest) = data.split_at(split);
    let shard = &rest[1..]; // ok: rest starts with the NUL byte
    let Ok(m) = crate::v3::ArrayMetadataV3::parse(head) else {
        return;
    };
    if m.chunk_bytes() > FUZZ_MAX_CHUNK {
        return;
    }
    let total = nd_core::num_bytes(&m.shape, m.data_type.size()).unwrap_or(usize::MAX);
    if total > FUZZ_MAX_CHUNK || m.shape.contains(&0) {
        return;
    }
    let store: Arc<dyn Store> = Arc::new(MemStore::new());
    let key = m.chunk_key_encoding.key(&vec![0; m.shape.len()]);
    if store.set(&key, shard).is_err() {
        return;
    }
    let Ok(mut a) = crate::v3::ZarrArrayV3::from_metadata(store, "", m) else {
        return;
    };
    // verify never panics, and a store it finds clean reads
    let clean = a.verify().is_ok_and(|c| c.defect_count == 0);
    let Ok(whole) = a.read_all() else {
        assert!(!clean, "verify found no defect but the read failed");
        return;
    };
    // one request per inner chunk reads the same as coalesced requests
    a.set_shard_fetch(crate::v3::ShardFetch::UNMERGED);
    if let Ok(unmerged) = a.read_all() {
        assert_eq!(unmerged.bytes(), whole.bytes(), "unmerged read differs");
    }
    a.set_shard_fetch(crate::v3::ShardFetch::DEFAULT);
    // every element of the first chunk read alone equals the whole read
    let first: Vec<u64> = a
        .shape()
        .iter()
        .zip(a.metadata().chunk_shape.iter())
        .map(|(&s, &c)| s.min(c))
        .collect();
    let elem = a.dtype().size();
    let strides = nd_core::shape::strides(a.shape(), nd_core::Order::C);
    let n = nd_core::num_elements(&first).unwrap_or(0).min(64);
    let mut idx = vec![0u64; first.len()];
    for _ in 0..n {
        let r = Region::new(idx.iter().map(|&i| i..i + 1).collect());
        if let Ok(one) = a.read_region(&r) {
            let off = idx.iter().zip(&strides).map(|(i, s)| i * s).sum::<u64>() as usize * elem;
            assert_eq!(
                one.bytes(),
                &whole.bytes()[off..off + elem],
                "element {idx:?}"
            );
        }
        for ax in (0..idx.len()).rev() {
            idx[ax] += 1;
            if idx[ax] < first[ax] {
                break;
            }
            idx[ax] = 0;
        }
    }
}
