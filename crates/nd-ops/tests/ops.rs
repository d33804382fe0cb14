//! nd-ops against direct computations: copies are exact for any budget and chunking, statistics
//! agree with a two-pass computation, and memory in flight stays within the budget.

use nd_core::{ArrayBuf, ArrayRead, ArrayWrite, DataType, Region, Result};
use nd_ops::{copy, map_blocks, stats, stats_along_axis, MemArray, Options};
use proptest::prelude::*;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

fn naive(values: &[f64]) -> (u64, u64, f64, f64, f64, f64) {
    let good: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    let n = good.len() as f64;
    let sum: f64 = good.iter().sum();
    let mean = sum / n;
    let var = good.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    let min = good.iter().copied().fold(f64::INFINITY, f64::min);
    let max = good.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (
        good.len() as u64,
        (values.len() - good.len()) as u64,
        sum,
        min,
        max,
        var.sqrt(),
    )
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn copy_is_exact_for_any_budget(rows in 1u64..40, cols in 1u64..40, cr in 1u64..12, cc in 1u64..12,
                                    budget in 1usize..4096, threads in 1usize..4) {
        let vals: Vec<i32> = (0..rows * cols).map(|i| (i as i32).wrapping_mul(7919)).collect();
        let src = MemArray::new(ArrayBuf::from_vec(vec![rows, cols], &vals).unwrap());
        let dst = MemArray::zeros(DataType::Int32, vec![rows, cols], vec![cr, cc]).unwrap();
        copy(&src, &dst, &Options { budget, threads, progress: None }).unwrap();
        let out = dst.into_inner();
        prop_assert_eq!(out.as_slice::<i32>().unwrap(), &vals[..]);
    }

    #[test]
    fn stats_match_two_pass(vals in proptest::collection::vec(prop_oneof![9 => -1e6f64..1e6, 1 => Just(f64::NAN)], 1..300),
                            budget in 8usize..2048) {
        let n = vals.len() as u64;
        let a = MemArray::zeros(DataType::Float64, vec![n], vec![7]).unwrap();
        a.write_region(&Region::full(&[n]), bytemuck::cast_slice(&vals)).unwrap();
        let s = stats(&a, &Options { budget, threads: 2, progress: None }).unwrap();
        let (count, nan, sum, min, max, std) = naive(&vals);
        prop_assert_eq!((s.count, s.nan_count), (count, nan));
        if count > 0 {
            prop_assert!(close(s.sum, sum) && close(s.min, min) && close(s.max, max));
            prop_assert!((s.std - std).abs() <= 1e-6 * (1.0 + std), "{} vs {}", s.std, std);
        } else {
            prop_assert!(s.mean.is_nan() && s.min.is_nan());
        }
    }
}

#[test]
fn along_axis_matches_per_slice_stats() {
    let (p, r, c) = (5u64, 6u64, 7u64);
    let vals: Vec<f32> = (0..p * r * c)
        .map(|i| {
            if i % 11 == 0 {
                f32::NAN
            } else {
                (i as f32 * 0.37).sin()
            }
        })
        .collect();
    let mut a = MemArray::new(ArrayBuf::from_vec(vec![p, r, c], &vals).unwrap());
    a = {
        let buf = a.into_inner();
        let m = MemArray::zeros(DataType::Float32, vec![p, r, c], vec![2, 4, 3]).unwrap();
        m.write_region(&Region::full(&[p, r, c]), buf.bytes())
            .unwrap();
        m
    };
    for axis in 0..3 {
        let (shape, st) = stats_along_axis(
            &a,
            axis,
            &Options {
                budget: 200,
                threads: 2,
                progress: None,
            },
        )
        .unwrap();
        let mut expect_shape = vec![p, r, c];
        expect_shape.remove(axis);
        assert_eq!(shape, expect_shape);
        for (k, s) in st.iter().enumerate() {
            // gather the line along `axis` for output element k
            let (o0, o1) = (k as u64 / shape[1], k as u64 % shape[1]);
            let line: Vec<f64> = (0..[p, r, c][axis])
                .map(|t| {
                    let idx = match axis {
                        0 => [t, o0, o1],
                        1 => [o0, t, o1],
                        _ => [o0, o1, t],
                    };
                    vals[((idx[0] * r + idx[1]) * c + idx[2]) as usize] as f64
                })
                .collect();
            let (count, nan, sum, min, max, std) = naive(&line);
            assert_eq!((s.count, s.nan_count), (count, nan));
            assert!(
                close(s.sum, sum)
                    && close(s.min, min)
                    && close(s.max, max)
                    && (s.std - std).abs() < 1e-9
            );
        }
    }
}

/// Blocks wider than the kernel's lane tile (2048 lanes), integer and float inputs, all-NaN lanes:
/// statistics along each axis and over the whole array equal a direct two-pass computation.
#[test]
fn wide_blocks_and_all_nan_lanes() {
    let (p, r, c) = (3u64, 4u64, 4500u64);
    let vals: Vec<f64> = (0..p * r * c)
        .map(|i| {
            let col = i % c;
            if col == 17 || (i % 13 == 0) {
                f64::NAN // column 17 is NaN in every row and plane
            } else {
                ((i as f64) * 0.013).cos() * 1e3 + (i % 7) as f64
            }
        })
        .collect();
    let ints: Vec<i16> = (0..p * r * c)
        .map(|i| (i as i16).wrapping_mul(31))
        .collect();
    let fa = MemArray::new(ArrayBuf::from_vec(vec![p, r, c], &vals).unwrap());
    let ia = MemArray::new(ArrayBuf::from_vec(vec![p, r, c], &ints).unwrap());
    let as_f64: Vec<f64> = ints.iter().map(|&v| v as f64).collect();
    for (a, data) in [(&fa, &vals), (&ia, &as_f64)] {
        for budget in [1usize << 30, 40_000] {
            let opts = Options {
                budget,
                threads: 2,
                progress: None,
            };
            let s = stats(a, &opts).unwrap();
            let (count, nan, sum, min, max, std) = naive(data);
            assert_eq!((s.count, s.nan_count), (count, nan));
            assert!(close(s.sum, sum) && close(s.min, min) && close(s.max, max));
            assert!(
                (s.std - std).abs() <= 1e-9 * (1.0 + std),
                "{} vs {std}",
                s.std
            );
            for axis in 0..3 {
                let (shape, st) = stats_along_axis(a, axis, &opts).unwrap();
                let dims = [p, r, c];
                for (k, got) in st.iter().enumerate() {
                    let (o0, o1) = (k as u64 / shape[1], k as u64 % shape[1]);
                    let line: Vec<f64> = (0..dims[axis])
                        .map(|t| {
                            let idx = match axis {
                                0 => [t, o0, o1],
                                1 => [o0, t, o1],
                                _ => [o0, o1, t],
                            };
                            data[((idx[0] * r + idx[1]) * c + idx[2]) as usize]
                        })
                        .collect();
                    let (count, nan, sum, min, max, std) = naive(&line);
                    assert_eq!(
                        (got.count, got.nan_count),
                        (count, nan),
                        "axis {axis} elem {k}"
                    );
                    if count == 0 {
                        assert!(got.min.is_nan() && got.mean.is_nan() && got.sum == 0.0);
                    } else {
                        assert!(
                            close(got.sum, sum)
                                && close(got.min, min)
                                && close(got.max, max)
                                && (got.std - std).abs() <= 1e-9 * (1.0 + std),
                            "axis {axis} elem {k}: {got:?}"
                        );
                    }
                }
            }
        }
    }
}

/// A virtual array (values computed from the index) that records the bytes handed out and not yet
/// written back, to prove the copy's memory in flight is bounded by the budget, not the array size.
struct Virtual {
    shape: Vec<u64>,
    live: AtomicI64,
    peak: AtomicI64,
}

impl ArrayRead for Virtual {
    fn shape(&self) -> &[u64] {
        &self.shape
    }
    fn dtype(&self) -> &DataType {
        &DataType::UInt16
    }
    fn chunk_shape(&self) -> Vec<u64> {
        vec![1, self.shape[1]]
    }
    fn read_region_into(&self, region: &Region, out: &mut [u8]) -> Result<()> {
        let now = self.live.fetch_add(out.len() as i64, Ordering::SeqCst) + out.len() as i64;
        self.peak.fetch_max(now, Ordering::SeqCst);
        let v: &mut [u16] = bytemuck::cast_slice_mut(out);
        let w = region.shape()[1];
        for (i, x) in v.iter_mut().enumerate() {
            let (r, c) = (
                region.ranges[0].start + i as u64 / w,
                region.ranges[1].start + i as u64 % w,
            );
            *x = (r * 31 + c) as u16;
        }
        Ok(())
    }
}

struct Sink<'a> {
    src: &'a Virtual,
    shape: Vec<u64>,
    written: AtomicU64,
}

impl ArrayRead for Sink<'_> {
    fn shape(&self) -> &[u64] {
        &self.shape
    }
    fn dtype(&self) -> &DataType {
        &DataType::UInt16
    }
    fn chunk_shape(&self) -> Vec<u64> {
        vec![64, 64]
    }
    fn read_region_into(&self, _: &Region, _: &mut [u8]) -> Result<()> {
        Err(nd_core::Error::Unsupported("sink".into()))
    }
}

impl ArrayWrite for Sink<'_> {
    fn write_region(&self, region: &Region, data: &[u8]) -> Result<()> {
        let v: &[u16] = bytemuck::cast_slice(data);
        let w = region.shape()[1];
        for (i, x) in v.iter().enumerate().step_by(97) {
            let (r, c) = (
                region.ranges[0].start + i as u64 / w,
                region.ranges[1].start + i as u64 % w,
            );
            assert_eq!(*x, (r * 31 + c) as u16);
        }
        self.written.fetch_add(data.len() as u64, Ordering::SeqCst);
        self.src.live.fetch_sub(data.len() as i64, Ordering::SeqCst);
        Ok(())
    }
}

#[test]
fn copy_memory_is_bounded_by_budget_not_size() {
    // 16384 x 16384 u16 = 512 MiB virtual; budget 8 MiB.
    let shape = vec![16384u64, 16384];
    let src = Virtual {
        shape: shape.clone(),
        live: AtomicI64::new(0),
        peak: AtomicI64::new(0),
    };
    let dst = Sink {
        src: &src,
        shape,
        written: AtomicU64::new(0),
    };
    let budget = 8 << 20;
    copy(
        &src,
        &dst,
        &Options {
            budget,
            threads: 2,
            progress: None,
        },
    )
    .unwrap();
    assert_eq!(dst.written.load(Ordering::SeqCst), 16384 * 16384 * 2);
    let peak = src.peak.load(Ordering::SeqCst);
    assert!(
        peak > 0 && peak as usize <= budget,
        "peak {peak} over budget {budget}"
    );
}

#[test]
fn map_blocks_applies_function_and_checks_result() {
    let vals: Vec<f32> = (0..100).map(|i| i as f32).collect();
    let src = MemArray::new(ArrayBuf::from_vec(vec![10, 10], &vals).unwrap());
    let dst = MemArray::zeros(DataType::Float64, vec![10, 10], vec![3, 3]).unwrap();
    map_blocks(
        &src,
        &dst,
        &Options {
            budget: 64,
            threads: 2,
            progress: None,
        },
        |_, b| {
            let v: Vec<f64> = b
                .as_slice::<f32>()?
                .iter()
                .map(|x| *x as f64 * 2.0)
                .collect();
            ArrayBuf::from_vec(b.shape().to_vec(), &v)
        },
    )
    .unwrap();
    let out = dst.into_inner();
    assert_eq!(out.as_slice::<f64>().unwrap()[99], 198.0);
    let dst2 = MemArray::zeros(DataType::Float64, vec![10, 10], vec![3, 3]).unwrap();
    let r = map_blocks(&src, &dst2, &Options::default(), |_, b| Ok(b));
    assert!(r.is_err(), "returning the wrong dtype is an error");
}
