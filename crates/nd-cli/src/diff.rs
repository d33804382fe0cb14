//! `nd diff A B`: compare two datasets of any formats (fitsdiff's rules for two FITS files).

use crate::{open, CliError, CliResult};
use std::io::Write;

/// Arguments of `nd diff` (fitsdiff's options, same names and defaults).
#[derive(clap::Args)]
pub struct DiffArgs {
    /// First file or store (any format).
    a: String,
    /// Second file or store (any format).
    b: String,
    /// Keywords not compared (comma-separated or repeated; wildcards `*`, `?`). `*` ignores
    /// every keyword difference.
    #[arg(
        short = 'k',
        long = "ignore-keyword",
        alias = "ignore-keywords",
        value_delimiter = ','
    )]
    ignore_keywords: Vec<String>,
    /// Keywords whose comments are not compared (wildcards).
    #[arg(
        short = 'c',
        long = "ignore-comment",
        alias = "ignore-comments",
        value_delimiter = ','
    )]
    ignore_comments: Vec<String>,
    /// HDUs (EXTNAME, wildcards) or converted arrays (names such as SCI_1) left out.
    #[arg(long = "ignore-hdus", alias = "ignore-hdu", value_delimiter = ',')]
    ignore_hdus: Vec<String>,
    /// Table columns not compared (case-insensitive; `*` all).
    #[arg(
        short = 'f',
        long = "ignore-fields",
        alias = "ignore-field",
        value_delimiter = ','
    )]
    ignore_fields: Vec<String>,
    /// Relative tolerance: floating-point values differ when |b - a| > atol + rtol * |b|.
    #[arg(short = 'r', long, alias = "relative-tolerance", default_value_t = 0.0)]
    rtol: f64,
    /// Absolute tolerance.
    #[arg(short = 'a', long, alias = "absolute-tolerance", default_value_t = 0.0)]
    atol: f64,
    /// Differences listed per HDU (all are counted).
    #[arg(
        short = 'n',
        long = "numdiffs",
        alias = "num-diffs",
        default_value_t = 10
    )]
    numdiffs: usize,
    /// One JSON object instead of the report.
    #[arg(long)]
    json: bool,
    /// No output; the exit status alone tells (0 same, 1 different, 2 error).
    #[arg(short, long)]
    quiet: bool,
    /// Memory budget for values, MiB.
    #[arg(long, default_value_t = 256)]
    budget_mib: usize,
}

/// Run `nd diff`: exit status 0 when identical, 1 when different.
pub fn run(args: DiffArgs, out: &mut dyn Write) -> CliResult<u8> {
    for (name, v) in [("--rtol", args.rtol), ("--atol", args.atol)] {
        if !(v.is_finite() && v >= 0.0) {
            return Err(CliError::input(format!("{name} {v}: give a number >= 0")));
        }
    }
    let (a, b) = (open(&args.a)?, open(&args.b)?);
    let opts = nd::diff::DiffOptions {
        ignore_keywords: args.ignore_keywords,
        ignore_comments: args.ignore_comments,
        ignore_hdus: args.ignore_hdus,
        ignore_fields: args.ignore_fields,
        rtol: args.rtol,
        atol: args.atol,
        numdiffs: args.numdiffs,
        budget: (args.budget_mib.max(1)) << 20,
    };
    let report = nd::diff::diff(&a, &b, &opts)?;
    if args.json {
        writeln!(out, "{}", report.to_json()).map_err(CliError::output)?;
    } else if !args.quiet {
        out.write_all(report.to_text().as_bytes())
            .map_err(CliError::output)?;
    }
    Ok(report.exit_code())
}
