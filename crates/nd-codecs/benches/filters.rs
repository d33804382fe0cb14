//! Filter decoding of a 64 MiB decoded chunk: the typed loops (`decode_into`) against the
//! element-by-element path (`decode_into_generic`, the previous implementation) in the same run.

mod common;

use common::noise;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use nd_codecs::{AsType, Codec, Delta, FixedScaleOffset, Shuffle};
use serde_json::json;

const BYTES: usize = 64 << 20;

type Dec<'a> = Box<dyn Fn(&[u8], &mut [u8]) -> nd_codecs::Result<usize> + 'a>;

fn dec<'a>(f: impl Fn(&[u8], &mut [u8]) -> nd_codecs::Result<usize> + 'a) -> Dec<'a> {
    Box::new(f)
}

fn bench(cr: &mut Criterion) {
    let delta = Delta::from_config(&json!({"id": "delta", "dtype": "<i4"})).unwrap();
    let delta_i2 =
        Delta::from_config(&json!({"id": "delta", "dtype": "<i4", "astype": "<i2"})).unwrap();
    let fso = FixedScaleOffset::from_config(&json!({"id": "fixedscaleoffset", "offset": 1000,
        "scale": 10, "dtype": "<f8", "astype": "<u2"}))
    .unwrap();
    let astype =
        AsType::from_config(&json!({"id": "astype", "encode_dtype": "<f4", "decode_dtype": "<f8"}))
            .unwrap();
    let sh4 = Shuffle { elementsize: 4 };
    let sh8 = Shuffle { elementsize: 8 };
    // encoded inputs for a 64 MiB decoded chunk
    let i4: Vec<u8> = noise(BYTES / 4)
        .flat_map(|v| ((v % 64) as i32 - 32).to_le_bytes())
        .collect();
    let i2: Vec<u8> = noise(BYTES / 4)
        .flat_map(|v| ((v % 64) as i16 - 32).to_le_bytes())
        .collect();
    let u2: Vec<u8> = noise(BYTES / 8)
        .flat_map(|v| (v as u16).to_le_bytes())
        .collect();
    let f4: Vec<u8> = noise(BYTES / 8)
        .flat_map(|v| (v as f32 * 1e-12).to_le_bytes())
        .collect();
    let raw: Vec<u8> = noise(BYTES / 8).flat_map(|v| v.to_le_bytes()).collect();
    // (name, input, typed path, generic path) of one codec
    macro_rules! case {
        ($name:expr, $input:expr, $codec:expr) => {
            (
                $name,
                $input,
                dec(|d, o| $codec.decode_into(d, o)),
                dec(|d, o| $codec.decode_into_generic(d, o)),
            )
        };
    }
    let cases: Vec<(&str, &[u8], Dec, Dec)> = vec![
        case!("delta_i4", &i4, delta),
        case!("delta_i4_from_i2", &i2, delta_i2),
        case!("fixedscaleoffset_u2_to_f8", &u2, fso),
        case!("astype_f4_to_f8", &f4, astype),
        case!("shuffle_4", &raw, sh4),
        case!("shuffle_8", &raw, sh8),
    ];
    let mut out = vec![0u8; BYTES];
    let mut check = vec![0u8; BYTES];
    let mut g = cr.benchmark_group("filter_decode_64MiB");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(BYTES as u64));
    for (name, input, typed, generic) in &cases {
        g.bench_function(format!("{name}/generic"), |b| {
            b.iter(|| generic(input, &mut check).unwrap())
        });
        g.bench_function(format!("{name}/typed"), |b| {
            b.iter(|| typed(input, &mut out).unwrap())
        });
        assert!(out == check, "{name}: typed and generic differ");
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
