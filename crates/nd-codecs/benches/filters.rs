//! Filter decoding of a 64 MiB decoded chunk: the typed loops (`decode_into`) against the
//! element-by-element path (`decode_into_generic`, the previous implementation) in the same run.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use nd_codecs::{AsType, Codec, Delta, FixedScaleOffset, Shuffle};
use serde_json::json;

const BYTES: usize = 64 << 20;

fn noise(n: usize) -> impl Iterator<Item = u64> {
    let mut s = 0x2545F4914F6CDD1Du64;
    (0..n).map(move |_| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    })
}

type Dec<'a> = Box<dyn Fn(&[u8], &mut [u8]) -> nd_codecs::Result<usize> + 'a>;

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
    let cases: Vec<(&str, &[u8], Dec, Dec)> = vec![
        (
            "delta_i4",
            &i4,
            Box::new(|d, o| delta.decode_into(d, o)),
            Box::new(|d, o| delta.decode_into_generic(d, o)),
        ),
        (
            "delta_i4_from_i2",
            &i2,
            Box::new(|d, o| delta_i2.decode_into(d, o)),
            Box::new(|d, o| delta_i2.decode_into_generic(d, o)),
        ),
        (
            "fixedscaleoffset_u2_to_f8",
            &u2,
            Box::new(|d, o| fso.decode_into(d, o)),
            Box::new(|d, o| fso.decode_into_generic(d, o)),
        ),
        (
            "astype_f4_to_f8",
            &f4,
            Box::new(|d, o| astype.decode_into(d, o)),
            Box::new(|d, o| astype.decode_into_generic(d, o)),
        ),
        (
            "shuffle_4",
            &raw,
            Box::new(|d, o| sh4.decode_into(d, o)),
            Box::new(|d, o| sh4.decode_into_generic(d, o)),
        ),
        (
            "shuffle_8",
            &raw,
            Box::new(|d, o| sh8.decode_into(d, o)),
            Box::new(|d, o| sh8.decode_into_generic(d, o)),
        ),
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
