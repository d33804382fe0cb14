//! `nd stat`: statistics of one array, out of core — the plain ones, median and percentiles,
//! histograms, sigma-clipped statistics, over the whole array or along axes.

use crate::{open, view_of, CliError, CliResult};
use nd::export::array_output;
use nd::{typestr, Array, SigmaClip, WorkOptions};
use serde_json::{json, Map, Value};
use std::io::Write;

/// The examples of `nd stat --help` (and of the README, where the tests run them).
pub const EXAMPLES: &str = "Examples:
  nd stat testdata/example/cube.fits SCI --median --percentile 5,95 --sigma-clip --hist 8
  nd stat testdata/example/cube.fits SCI --stat p99.5
  nd stat testdata/example/cube.fits SCI --hist 4 --range 0,1 --json
  nd stat testdata/example/cube.fits SCI --axis 0 --stat median -o median.npy
  nd stat testdata/example/cube.fits SCI --axis 1,2 --stat clipped_mean -o - --format csv
  nd --threads 1 stat testdata/example/cube.fits SCI --axis -1 --stat max -o max.csv

Order statistics are exact and out of core: a few passes over the array with memory within
--budget-mib (counts by the top bits of each value, then only the buckets holding the wanted
ranks). NaN is skipped as numpy's nan-functions skip it; sigma clipping also drops infinities,
as astropy does. Without --range, --hist spans the finite values' min..max.";

/// Arguments of `nd stat`.
#[derive(clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct StatArgs {
    /// File or store.
    path: String,
    /// Which array (optional after a FITS extended filename, as for `export`).
    selector: Option<String>,
    /// Reduce along these axes (numpy order; `0`, `1,2`, `-1`); the result is an array
    /// written to `-o`.
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    axis: Option<Vec<i64>>,
    /// The statistic: count, nan_count, sum, mean, min, max, std, median, pQ (percentile Q,
    /// e.g. p95), clipped_mean, clipped_median, clipped_std, clipped_count. With --axis the one
    /// written (default sum); without, the only one printed.
    #[arg(long)]
    stat: Option<String>,
    /// Also the exact median (numpy's nanmedian).
    #[arg(long)]
    median: bool,
    /// Also these percentiles, e.g. `5,95` (numpy's nanpercentile, method linear).
    #[arg(long, value_delimiter = ',')]
    percentile: Option<Vec<f64>>,
    /// Also astropy's sigma_clipped_stats (mean, median, std of what is left).
    #[arg(long)]
    sigma_clip: bool,
    /// Sigma clipping: bounds in standard deviations around the median (both sides).
    #[arg(long, default_value_t = 3.0)]
    sigma: f64,
    /// Sigma clipping: the lower bound's sigma, if not --sigma.
    #[arg(long)]
    sigma_lower: Option<f64>,
    /// Sigma clipping: the upper bound's sigma, if not --sigma.
    #[arg(long)]
    sigma_upper: Option<f64>,
    /// Sigma clipping: most iterations.
    #[arg(long, default_value_t = 5)]
    maxiters: u32,
    /// Also a histogram in BINS equal bins (numpy.histogram: last bin closed).
    #[arg(long, value_name = "BINS")]
    hist: Option<usize>,
    /// Histogram range `LO,HI` (default: the finite values' min and max).
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true, num_args = 1)]
    range: Option<Vec<f64>>,
    /// With --axis: output file (.npy or .csv), or `-` for standard output.
    #[arg(short = 'o', long = "output")]
    output: Option<String>,
    /// With --axis: output format, npy or csv (default: from the output's suffix).
    #[arg(long)]
    format: Option<String>,
    /// With --axis: replace an existing output that is not an .npy file.
    #[arg(long)]
    force: bool,
    /// numpy-order selection to restrict to (as for `export`).
    #[arg(long, allow_hyphen_values = true)]
    region: Option<String>,
    /// JSON output.
    #[arg(long)]
    json: bool,
    /// Memory budget in MiB.
    #[arg(long, default_value_t = 256)]
    budget_mib: usize,
}

impl StatArgs {
    fn clip(&self) -> SigmaClip {
        SigmaClip {
            sigma_lower: self.sigma_lower.unwrap_or(self.sigma),
            sigma_upper: self.sigma_upper.unwrap_or(self.sigma),
            maxiters: self.maxiters,
        }
    }

    fn range(&self) -> CliResult<Option<(f64, f64)>> {
        match self.range.as_deref() {
            None => Ok(None),
            Some([lo, hi]) => Ok(Some((*lo, *hi))),
            Some(_) => Err(CliError::input("--range takes two numbers: LO,HI")),
        }
    }
}

/// A JSON number, or null for NaN and infinities.
pub fn num(v: f64) -> Value {
    serde_json::Number::from_f64(v)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

/// Run `nd stat` (on the dataset's pool: the global --threads).
pub fn run(a: StatArgs, out: &mut dyn Write) -> CliResult<()> {
    let path = a.path.clone();
    let fail = |e: nd::Error| CliError::input(format!("{path}: {e}"));
    let opts = WorkOptions {
        budget: a.budget_mib << 20,
        ..WorkOptions::default()
    };
    if let Some(axes) = &a.axis {
        let extras = a.median || a.percentile.is_some() || a.sigma_clip || a.hist.is_some();
        if extras {
            return Err(CliError::input(
                "with --axis, name the one statistic to write with --stat (median, p95, \
                 clipped_mean, …); --median, --percentile, --sigma-clip and --hist are for \
                 the whole array",
            ));
        }
        let Some(output) = &a.output else {
            return Err(CliError::input(
                "stat --axis writes an array: give -o OUT.npy, -o OUT.csv, or -o - for \
                 standard output (.npy; --format csv for text)",
            ));
        };
        let to_stdout = output == "-" || output == "/dev/stdout";
        if to_stdout && a.json {
            return Err(CliError::input(
                "--json and -o - would both write to standard output: give -o a file name",
            ));
        }
        let target = array_output(
            output,
            a.format.as_deref(),
            a.force,
            &[&nd::extended::file_part(&a.path)],
        )?;
        let ds = open(&a.path)?;
        let view = view_of(
            &ds.pick(a.selector.as_deref())?,
            a.region.as_deref(),
            &a.path,
        )?;
        let name = a.stat.as_deref().unwrap_or("sum");
        let (what, field) = nd::stat_reduction(name, a.clip()).map_err(fail)?;
        let r = view.reduce_axes(axes, &what, &opts).map_err(fail)?;
        let buf = r
            .field(&field)
            .map_err(|e| CliError::input(e.to_string()))?;
        nd::export::write_array(&Array::from_buf(name, buf), &target, a.budget_mib << 20)?;
        if a.json {
            let j = json!({"axis": axes, "stat": name, "shape": r.shape, "output": output});
            writeln!(out, "{j}").map_err(CliError::output)?;
        }
        return Ok(());
    }
    if a.output.is_some() {
        return Err(CliError::input(
            "-o is for --axis (an array); the statistics of the whole array are printed",
        ));
    }
    let ds = open(&a.path)?;
    let view = view_of(
        &ds.pick(a.selector.as_deref())?,
        a.region.as_deref(),
        &a.path,
    )?;
    if let Some(name) = &a.stat {
        // one statistic, printed alone
        let (what, field) = nd::stat_reduction(name, a.clip()).map_err(fail)?;
        let v = whole(&view, &what, &field, &opts).map_err(fail)?;
        if a.json {
            writeln!(out, "{}", json!({ name.as_str(): num(v) })).map_err(CliError::output)?;
        } else {
            writeln!(out, "{v}").map_err(CliError::output)?;
        }
        return Ok(());
    }
    let s = view.stats(&opts).map_err(fail)?;
    let mut j = Map::new();
    for (k, v) in [
        ("min", s.min),
        ("max", s.max),
        ("mean", s.mean),
        ("sum", s.sum),
        ("std", s.std),
    ] {
        j.insert(k.into(), num(v));
    }
    j.insert("count".into(), s.count.into());
    j.insert("nan_count".into(), s.nan_count.into());
    let mut text = format!(
        "{} {}: shape {:?} {}\n  count {}  nan_count {}\n  min {}  max {}\n  mean {}  std {}  sum {}\n",
        a.path,
        view.selector(),
        view.shape(),
        typestr(view.dtype()),
        s.count,
        s.nan_count,
        s.min,
        s.max,
        s.mean,
        s.std,
        s.sum
    );
    let mut q: Vec<f64> = Vec::new();
    if a.median {
        q.push(50.0);
    }
    q.extend(a.percentile.iter().flatten());
    if !q.is_empty() {
        let r = view.quantiles(&q, &opts).map_err(fail)?;
        let mut pj = Map::new();
        let mut line = String::from(" ");
        let skip = usize::from(a.median);
        if a.median {
            j.insert("median".into(), num(r.values[0]));
            line.push_str(&format!(" median {}", r.values[0]));
        }
        for (q, v) in q.iter().zip(&r.values).skip(skip) {
            pj.insert(format!("{q}"), num(*v));
            line.push_str(&format!("  p{q} {v}"));
        }
        if a.percentile.is_some() {
            j.insert("percentiles".into(), Value::Object(pj));
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    if a.sigma_clip {
        let c = a.clip();
        let s = view.sigma_clipped_stats(&c, &opts).map_err(fail)?;
        j.insert(
            "sigma_clipped".into(),
            json!({
                "mean": num(s.mean), "median": num(s.median), "std": num(s.std),
                "count": s.count, "rejected": s.rejected, "iterations": s.iterations,
                "lower": num(s.lower), "upper": num(s.upper),
                "sigma_lower": c.sigma_lower, "sigma_upper": c.sigma_upper, "maxiters": c.maxiters,
            }),
        );
        text.push_str(&format!(
            "  sigma-clipped ({}/{} sigma, {} iterations, {} rejected): mean {}  median {}  std {}\n",
            c.sigma_lower, c.sigma_upper, s.iterations, s.rejected, s.mean, s.median, s.std
        ));
    }
    if let Some(bins) = a.hist {
        let h = view.histogram(bins, a.range()?, &opts).map_err(fail)?;
        j.insert(
            "histogram".into(),
            json!({
                "counts": h.counts,
                "edges": h.edges.iter().map(|&e| num(e)).collect::<Vec<_>>(),
                "outside": h.outside,
            }),
        );
        text.push_str(&format!(
            "  histogram ({bins} bins, {} outside the range or NaN):\n",
            h.outside
        ));
        for (i, c) in h.counts.iter().enumerate() {
            text.push_str(&format!(
                "    [{}, {}{}  {c}\n",
                h.edges[i],
                h.edges[i + 1],
                if i + 1 == bins { "]" } else { ")" }
            ));
        }
    } else if a.range.is_some() {
        return Err(CliError::input("--range is for --hist"));
    }
    if a.json {
        writeln!(out, "{}", Value::Object(j)).map_err(CliError::output)?;
    } else {
        out.write_all(text.as_bytes()).map_err(CliError::output)?;
    }
    Ok(())
}

/// One statistic of the whole array.
fn whole(view: &Array, what: &nd::Reduction, field: &str, opts: &WorkOptions) -> nd::Result<f64> {
    Ok(match what {
        nd::Reduction::Stats | nd::Reduction::StatsOnly(_) => {
            let s = view.stats(opts)?;
            match field {
                "count" => s.count as f64,
                "nan_count" => s.nan_count as f64,
                "sum" => s.sum,
                "mean" => s.mean,
                "min" => s.min,
                "max" => s.max,
                _ => s.std,
            }
        }
        nd::Reduction::Percentiles(q) => view.quantiles(q, opts)?.values[0],
        nd::Reduction::SigmaClip(c) => {
            let s = view.sigma_clipped_stats(c, opts)?;
            match field {
                "clipped_mean" => s.mean,
                "clipped_median" => s.median,
                "clipped_std" => s.std,
                _ => s.count as f64,
            }
        }
        _ => f64::NAN,
    })
}
