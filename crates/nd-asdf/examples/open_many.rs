//! Time opening an ASDF file (and listing its arrays) N times: `open_many <file> [n]`.
//! Used to profile the open path (e.g. under `valgrind --tool=callgrind`).
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: open_many <file> [n]")?;
    let n: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(20);
    if std::env::var_os("PHASES").is_some() {
        for _ in 0..3 {
            phases(&path);
        }
    }
    let mut times = Vec::new();
    let mut cpu = Vec::new();
    let mut count = 0;
    for _ in 0..n {
        let (t, c) = (std::time::Instant::now(), cpu_ns());
        let f = nd_asdf::AsdfFile::open(&path)?;
        count += f.arrays().len();
        drop(f);
        times.push(t.elapsed().as_secs_f64());
        cpu.push((cpu_ns() - c) as f64 * 1e-9);
    }
    times.sort_by(f64::total_cmp);
    cpu.sort_by(f64::total_cmp);
    println!(
        "{} arrays, open+list over {n} runs: median {:.4} s, min {:.4} s wall; median {:.4} s CPU",
        count / n.max(1),
        times[times.len() / 2],
        times[0],
        cpu[cpu.len() / 2]
    );
    Ok(())
}

/// CPU time of this process in ns (`/proc/self/schedstat`: robust on a loaded machine).
fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

#[allow(dead_code)]
fn phases(path: &str) {
    let bytes = std::fs::read(path).unwrap();
    let src: std::sync::Arc<dyn nd_core::ByteSource> =
        std::sync::Arc::new(nd_core::MemSource::new(bytes));
    let t = std::time::Instant::now();
    let layout = nd_asdf::layout::parse_layout(src.as_ref()).unwrap();
    let t_layout = t.elapsed();
    let r = layout.tree.clone().unwrap();
    let text = src.read_range(r).unwrap();
    let text = std::str::from_utf8(&text).unwrap();
    let t = std::time::Instant::now();
    let n = saphyr_parser::Parser::new_from_str(text).count();
    let t_events = t.elapsed();
    let t = std::time::Instant::now();
    let tree = nd_asdf::yaml::load(text, 0).unwrap();
    let t_load = t.elapsed();
    let t = std::time::Instant::now();
    drop(tree);
    let t_drop = t.elapsed();
    let f = nd_asdf::AsdfFile::from_source(src).unwrap();
    let t = std::time::Instant::now();
    let k = f.arrays().len();
    let t_arrays = t.elapsed();
    println!("layout {t_layout:?}, {n} events {t_events:?}, load {t_load:?}, drop {t_drop:?}, arrays ({k}) {t_arrays:?}");
}
