//! Replay the fuzz seed corpora (fuzz/corpus/zarr_*) through the fuzz entry points.

#[test]
fn zarr_zarray_corpus() {
    assert!(nd_core::fuzzing::replay_corpus("zarr_zarray", nd_zarr::fuzzing::zarray) > 0);
}

#[test]
fn zarr_zmetadata_corpus() {
    assert!(nd_core::fuzzing::replay_corpus("zarr_zmetadata", nd_zarr::fuzzing::zmetadata) > 0);
}

#[test]
fn zarr_chunk_corpus() {
    assert!(nd_core::fuzzing::replay_corpus("zarr_chunk", nd_zarr::fuzzing::chunk) > 0);
}

#[test]
fn zarr_v3_json_corpus() {
    assert!(nd_core::fuzzing::replay_corpus("zarr_v3_json", nd_zarr::fuzzing::v3_json) > 0);
}

#[test]
fn zarr_v3_shard_corpus() {
    assert!(nd_core::fuzzing::replay_corpus("zarr_v3_shard", nd_zarr::fuzzing::v3_shard) > 0);
}
