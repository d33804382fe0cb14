//! zlib decode of a 64 MiB stream (u16 smooth image with noise, level 6 as python asdf and
//! numcodecs' defaults write): nd's `Zlib::decode_into` (flate2 with the workspace's backend)
//! against miniz_oxide called directly (flate2's default backend) in the same run; `memcpy` of
//! the output size for scale.

mod common;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use miniz_oxide::inflate::stream::{inflate, InflateState};
use miniz_oxide::{DataFormat, MZFlush, MZStatus};
use nd_codecs::{Codec, Zlib};

const N: usize = 32 << 20; // u16 values = 64 MiB

fn miniz_decode(enc: &[u8], out: &mut [u8]) -> usize {
    let mut st = InflateState::new_boxed(DataFormat::Zlib);
    let r = inflate(&mut st, enc, out, MZFlush::Finish);
    assert_eq!(r.status, Ok(MZStatus::StreamEnd));
    r.bytes_written
}

fn bench(cr: &mut Criterion) {
    let raw = common::noisy_u16_image(N);
    let enc = Zlib::encode_stream(&raw, 6).unwrap();
    let zlib = Zlib { level: 6 };
    let mut out = vec![0u8; raw.len()];
    let mut g = cr.benchmark_group("zlib_decode_64MiB");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(raw.len() as u64));
    g.bench_function("memcpy", |b| b.iter(|| out.copy_from_slice(&raw)));
    g.bench_function("miniz_oxide_direct", |b| {
        b.iter(|| assert_eq!(miniz_decode(&enc, &mut out), raw.len()))
    });
    assert_eq!(out, raw);
    out.fill(0);
    g.bench_function("nd_zlib_flate2_workspace_backend", |b| {
        b.iter(|| zlib.decode_into(&enc, &mut out).unwrap())
    });
    assert_eq!(out, raw);
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
