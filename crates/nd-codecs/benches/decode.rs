//! Decode throughput of 64 MiB of u16 (a smooth image with noise) with blosc-lz4 + shuffle and
//! zstd level 1, into a reused buffer; `memcpy` of the same bytes is the baseline of the run.

mod common;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use nd_codecs::{codec_from_config, Codec};
use serde_json::json;

const N: usize = 32 << 20; // u16 values = 64 MiB

/// Encode in chunks of 8 MiB, as a Zarr array with 4096×1024 u16 chunks would store them.
fn chunks(c: &dyn Codec, raw: &[u8]) -> Vec<Vec<u8>> {
    raw.chunks(8 << 20)
        .map(|ch| c.encode(ch).unwrap())
        .collect()
}

fn bench(cr: &mut Criterion) {
    let raw = common::noisy_u16_image(N);
    let mut out = vec![0u8; raw.len()];
    let mut g = cr.benchmark_group("decode_64MiB_u16");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(raw.len() as u64));
    g.bench_function("memcpy_baseline", |b| b.iter(|| out.copy_from_slice(&raw)));
    let mut blosc = codec_from_config(
        &json!({"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1, "blocksize": 0}),
    )
    .unwrap();
    blosc.set_typesize(2);
    let zstd = codec_from_config(&json!({"id": "zstd", "level": 1})).unwrap();
    for (name, c) in [("blosc_lz4_shuffle", &blosc), ("zstd_1", &zstd)] {
        let enc = chunks(c.as_ref(), &raw);
        g.bench_function(name, |b| {
            b.iter(|| {
                for (e, o) in enc.iter().zip(out.chunks_mut(8 << 20)) {
                    c.decode_into(e, o).unwrap();
                }
            })
        });
    }
    g.finish();
    assert_eq!(out, raw);
}

criterion_group!(benches, bench);
criterion_main!(benches);
