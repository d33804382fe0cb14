//! nd-zarr's Zarr v3 reads beside zarrs.
//!
//! `check STORE PATH=NPY ...`: read each array of a Zarr v3 store with zarrs and with nd-zarr;
//! both must equal the `.npy` reference byte for byte (native endian, C order). Prints one line
//! per array; exit status 1 when anything differs.
//!
//! `bench DIR [ROUNDS]`: write (once) a sharded float32 store into DIR with nd-zarr, then time, in
//! interleaved rounds, nd-zarr and zarrs reading the whole array and one inner chunk; prints the
//! medians and the ratios nd / zarrs (below 1: nd faster).

use nd_core::{ArrayRead, DataType, DirStore, Region, Store};
use nd_zarr::{v3, ArrayMetadataV3, ZarrArrayV3};
use std::sync::Arc;
use std::time::Instant;
use zarrs::array::{Array, ArraySubset};
use zarrs::filesystem::FilesystemStore;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn zarrs_bytes(
    store: &std::path::Path,
    path: &str,
    region: &[std::ops::Range<u64>],
) -> Res<Vec<u8>> {
    let st = Arc::new(FilesystemStore::new(store)?);
    let a = Array::open(st, &format!("/{}", path.trim_matches('/')))?;
    let b: zarrs::array::ArrayBytes<'static> =
        a.retrieve_array_subset(&ArraySubset::new_with_ranges(region))?;
    Ok(b.into_fixed()?.into_owned())
}

fn nd_open(store: &std::path::Path, path: &str) -> Res<ZarrArrayV3> {
    let st: Arc<dyn Store> = Arc::new(DirStore::open_read_only(store)?);
    Ok(ZarrArrayV3::open(st, path)?)
}

fn check(store: &std::path::Path, cases: &[String]) -> Res<bool> {
    let mut all = true;
    for c in cases {
        let (path, npy) = c.split_once('=').ok_or("PATH=NPY expected")?;
        let want = nd_core::npy::read_npy(npy)?;
        let full: Vec<std::ops::Range<u64>> = want.shape().iter().map(|&n| 0..n).collect();
        let z = zarrs_bytes(store, path, &full);
        let n = nd_open(store, path).and_then(|a| Ok(a.read_all()?));
        let zs = match &z {
            Ok(b) if b[..] == *want.bytes() => "equal".to_string(),
            Ok(_) => "DIFFERS".to_string(),
            Err(e) => format!("ERROR {e}"),
        };
        let ns = match &n {
            Ok(b) if b.bytes() == want.bytes() => "equal".to_string(),
            Ok(_) => "DIFFERS".to_string(),
            Err(e) => format!("ERROR {e}"),
        };
        all &= zs == "equal" && ns == "equal";
        println!("{}:{path}: zarrs {zs}, nd {ns}", store.display());
    }
    Ok(all)
}

const SHAPE: [u64; 3] = [512, 512, 512];
const SHARD: [u64; 3] = [256, 256, 256];
const INNER: [u64; 3] = [64, 64, 64];

/// A 512 MiB float32 array in 8 shards of 64 MiB, inner chunks 64³ (1 MiB), zstd level 1:
/// smooth values with a little deterministic noise (compresses about 2:1, like measured data).
fn make_store(dir: &std::path::Path) -> Res<()> {
    if dir.join("zarr.json").exists() {
        return Ok(());
    }
    let st: Arc<dyn Store> = Arc::new(DirStore::create(dir)?);
    let dt = DataType::Float32;
    let zstd =
        serde_json::json!({"name": "zstd", "configuration": {"level": 1, "checksum": false}});
    let meta = ArrayMetadataV3::new(
        SHAPE.to_vec(),
        SHARD.to_vec(),
        dt.clone(),
        v3::sharded_chain_json(&dt, &INNER, &[zstd]),
    )?;
    let a = ZarrArrayV3::create(st, "", meta)?;
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for s0 in 0..2u64 {
        for s1 in 0..2u64 {
            for s2 in 0..2u64 {
                let mut v = Vec::with_capacity((256 * 256 * 256) as usize);
                for i in 0..256u64 {
                    for j in 0..256u64 {
                        for k in 0..256u64 {
                            seed ^= seed << 13;
                            seed ^= seed >> 7;
                            seed ^= seed << 17;
                            let (x, y, z) = (
                                (s0 * 256 + i) as f32,
                                (s1 * 256 + j) as f32,
                                (s2 * 256 + k) as f32,
                            );
                            let noise = ((seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.01;
                            let val = (x * 0.02).sin() + (y * 0.03).cos() + z * 0.001 + noise;
                            // keep 12 bits of mantissa: values as a sensor would give them
                            v.push(f32::from_bits(val.to_bits() & 0xffff_f800));
                        }
                    }
                }
                let r = Region::new(vec![
                    s0 * 256..s0 * 256 + 256,
                    s1 * 256..s1 * 256 + 256,
                    s2 * 256..s2 * 256 + 256,
                ]);
                let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_ne_bytes()).collect();
                a.write(&r, &bytes)?;
            }
        }
    }
    Ok(())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn bench(dir: &std::path::Path, rounds: usize) -> Res<()> {
    make_store(dir)?;
    let full: Vec<std::ops::Range<u64>> = SHAPE.iter().map(|&n| 0..n).collect();
    // one inner chunk in the middle of shard (1, 0, 1)
    let one: Vec<std::ops::Range<u64>> = vec![320..384, 64..128, 448..512];
    let nd = nd_open(dir, "")?;
    let zst = Arc::new(FilesystemStore::new(dir)?);
    let za = Array::open(zst, "/")?;
    // each returns the new buffer its library gives (no copy)
    let nd_read = |r: &[std::ops::Range<u64>]| -> Res<nd_core::ArrayBuf> {
        Ok(nd.read_region(&Region::new(r.to_vec()))?)
    };
    let z_read = |r: &[std::ops::Range<u64>]| -> Res<zarrs::array::ArrayBytes<'static>> {
        Ok(za.retrieve_array_subset(&ArraySubset::new_with_ranges(r))?)
    };
    // same values first
    for r in [&full, &one] {
        if nd_read(r)?.bytes() != &z_read(r)?.into_fixed()?[..] {
            return Err("nd and zarrs read different values".into());
        }
    }
    // wall and CPU (user + system, this process) seconds per read: [nd full, zarrs full, nd
    // one, zarrs one]; one-chunk reads in batches of ONE_BATCH
    const ONE_BATCH: usize = 50;
    let mut wall: [Vec<f64>; 4] = Default::default();
    let mut cpu: [Vec<f64>; 4] = Default::default();
    let mut time = |slot: usize, n: usize, f: &dyn Fn() -> Res<()>| -> Res<()> {
        let (w0, c0) = (Instant::now(), cpu_seconds());
        for _ in 0..n {
            f()?;
        }
        wall[slot].push(w0.elapsed().as_secs_f64() / n as f64);
        cpu[slot].push((cpu_seconds() - c0) / n as f64);
        Ok(())
    };
    for round in 0..rounds {
        // alternate which reader goes first
        let order: [usize; 2] = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for &w in &order {
            if w == 0 {
                time(0, 1, &|| Ok(drop(std::hint::black_box(nd_read(&full)?))))?;
            } else {
                time(1, 1, &|| Ok(drop(std::hint::black_box(z_read(&full)?))))?;
            }
        }
        for &w in &order {
            if w == 0 {
                time(2, ONE_BATCH, &|| {
                    Ok(drop(std::hint::black_box(nd_read(&one)?)))
                })?;
            } else {
                time(3, ONE_BATCH, &|| {
                    Ok(drop(std::hint::black_box(z_read(&one)?)))
                })?;
            }
        }
    }
    let [nf, zf, no, zo] = wall.map(median);
    let [cnf, czf, cno, czo] = cpu.map(median);
    let mib = (SHAPE.iter().product::<u64>() * 4) as f64 / (1 << 20) as f64;
    let stored = walk_size(&dir.join("c"));
    println!(
        "store: {SHAPE:?} float32 ({mib:.0} MiB, {:.0} MiB stored), shards {SHARD:?}, inner chunks {INNER:?}, zstd level 1",
        stored as f64 / (1 << 20) as f64
    );
    println!(
        "{rounds} interleaved rounds, medians; one-chunk reads timed in batches of {ONE_BATCH}"
    );
    println!("                  wall: nd        zarrs      nd/zarrs | CPU: nd        zarrs      nd/zarrs");
    println!(
        "full read:        {nf:9.4} s {zf:9.4} s  {:6.2}   |      {cnf:9.4} s {czf:9.4} s  {:6.2}",
        nf / zf,
        cnf / czf
    );
    println!(
        "one inner chunk:  {:9.3} ms {:8.3} ms {:6.2}   |      {:9.3} ms {:8.3} ms {:6.2}",
        no * 1e3,
        zo * 1e3,
        no / zo,
        cno * 1e3,
        czo * 1e3,
        cno / czo
    );
    Ok(())
}

/// User + system CPU seconds of this process so far (`/proc/self/stat`, clock ticks of 1/100 s).
fn cpu_seconds() -> f64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // fields after the command name (which is in parentheses): state is field 3, utime 14, stime 15
    let rest = s.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / 100.0
}

fn walk_size(p: &std::path::Path) -> u64 {
    let mut n = 0;
    if let Ok(rd) = std::fs::read_dir(p) {
        for e in rd.flatten() {
            let m = e
                .metadata()
                .map(|m| (m.is_dir(), m.len()))
                .unwrap_or((false, 0));
            n += if m.0 { walk_size(&e.path()) } else { m.1 };
        }
    }
    n
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("check") if args.len() >= 2 => {
            if !check(std::path::Path::new(&args[1]), &args[2..])? {
                std::process::exit(1);
            }
        }
        Some("bench") if args.len() >= 2 => {
            let rounds = args.get(2).map_or(Ok(5), |s| s.parse())?;
            bench(std::path::Path::new(&args[1]), rounds)?;
        }
        Some("nd-only") if args.len() >= 3 => {
            // for a profiler: N reads by nd alone (`full` or `one`)
            let a = nd_open(std::path::Path::new(&args[1]), "")?;
            let r = if args[2] == "full" {
                Region::full(a.shape())
            } else {
                Region::new(vec![320..384, 64..128, 448..512])
            };
            let n: usize = args.get(3).map_or(Ok(1), |s| s.parse())?;
            for _ in 0..n {
                std::hint::black_box(a.read_region(&r)?);
            }
        }
        Some("zarrs-only") if args.len() >= 3 => {
            let st = Arc::new(FilesystemStore::new(&args[1])?);
            let a = Array::open(st, "/")?;
            let r = if args[2] == "full" {
                ArraySubset::new_with_ranges(&SHAPE.map(|n| 0..n))
            } else {
                ArraySubset::new_with_ranges(&[320..384, 64..128, 448..512])
            };
            let n: usize = args.get(3).map_or(Ok(1), |s| s.parse())?;
            for _ in 0..n {
                let b: zarrs::array::ArrayBytes<'static> = a.retrieve_array_subset(&r)?;
                std::hint::black_box(b);
            }
        }
        _ => {
            eprintln!("usage: nd-zarr-v3-bench check STORE PATH=NPY... | bench DIR [ROUNDS]");
            std::process::exit(2);
        }
    }
    Ok(())
}
