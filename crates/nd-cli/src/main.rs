//! `nd`: inspect, export, convert, verify and summarise FITS, ASDF and Zarr v2 arrays.
//!
//! Exit status: 0 on success, 1 when `verify` finds an error or a warning, 2 on bad usage or
//! unreadable input,
//! always with a one-line message on stderr naming the file and where it failed.

mod diff;
mod header;
mod signals;
mod stat;
mod tree;

use clap::{Parser, Subcommand};
use nd::export::array_output;
use nd::Array;
use std::io::Write;
use std::process::ExitCode;

/// A failure with the exit status it maps to.
#[derive(Debug)]
struct CliError {
    /// 1: verification found damage; 2: bad usage or unreadable input; [`BROKEN_PIPE`].
    code: i32,
    /// One line, naming the file and where it failed.
    msg: String,
}

impl CliError {
    /// Exit status 2 with a message.
    fn input(msg: impl Into<String>) -> Self {
        CliError {
            code: 2,
            msg: msg.into(),
        }
    }

    /// A failed write of the output. A closed pipe (`nd info … | head`) ends the output
    /// quietly ([`BROKEN_PIPE`]), as for other Unix tools.
    fn output(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            CliError {
                code: BROKEN_PIPE,
                msg: String::new(),
            }
        } else {
            CliError::input(format!("writing output: {e}"))
        }
    }
}

impl From<nd::Error> for CliError {
    fn from(e: nd::Error) -> Self {
        if e.is_broken_pipe() {
            CliError {
                code: BROKEN_PIPE,
                msg: String::new(),
            }
        } else {
            CliError::input(e.to_string())
        }
    }
}

/// Result of the commands.
type CliResult<T> = Result<T, CliError>;

#[derive(Parser)]
#[command(
    name = "nd",
    version,
    about = "Read FITS, ASDF and Zarr v2 arrays exactly as astropy, asdf and zarr-python do",
    after_help = "FITS paths take cfitsio's extended filename brackets (quote them for the shell):\n\
'f.fits[SCI]', 'f.fits[SCI,2]', 'f.fits[1][101:200,1:50]', 'f.fits.gz[2][*,-*:2]': the HDU, then a\n\
section with pixels 1-based and inclusive in FITS axis order (NAXIS1 first), a:b:step, b < a\n\
backwards, * the whole axis, -* reversed. nd's own --region is numpy order, 0-based, end exclusive\n\
(--region 0:50,100:200 is [101:200,1:50]). Inputs: FITS (.gz, .bz2, one-member .zip), ASDF, Zarr\n\
(directory, .zarr.zip), .npy, .npz. `nd info` shows FITS as astropy's info() does (FITS order).\n\
\n\
Exit status: 0 success, 1 `verify` found errors or warnings (`diff`: differences), 2 bad usage or unreadable\n\
input (the same for FITS, ASDF and Zarr). `verify` is as strict as fitsverify for FITS (its errors\n\
and warnings); `info` lists what it can of a defective file and warns (stderr, --json `warnings`).\n\
Writes: a destination that is, holds or lies inside a source is refused. Output is built under a\n\
temporary name beside it (.NAME.nd-tmp-PID-N) and renamed into place when complete; SIGINT and\n\
SIGTERM remove it and exit 130/143; `nd clean` removes what a killed run left. --force\n\
replaces only what nd writes (a FITS or ASDF file, a directory holding only a Zarr store), never a\n\
link, FIFO, device or other directory. `-o -` writes .npy or CSV to standard output; a FIFO or\n\
/dev/stdout is written into, never replaced.\n\
URLs (http(s)://, s3://, gs://, az://): a server must answer within --timeout (default 30 s,\n\
connect 10 s; ND_REMOTE_TIMEOUT, ND_REMOTE_CONNECT_TIMEOUT); a timed-out request is not retried.\n\
Credentials come from AWS_*/GOOGLE_*/AZURE_* variables; --anon (ND_REMOTE_ANONYMOUS=1,\n\
AWS_NO_SIGN_REQUEST=YES) reads public buckets unsigned. Cloud metadata endpoints (IMDS) are never\n\
contacted unless ND_REMOTE_IMDS=1. A server without range support is downloaded whole once, up to\n\
ND_REMOTE_MAX_FULL_DOWNLOAD (default 256M), with a warning."
)]
struct Cli {
    /// Report the requests and bytes sent to remote servers (URLs) on stderr.
    #[arg(short, long, global = true)]
    verbose: bool,
    /// URLs: seconds a server may take to answer (and to connect, at most); not retried.
    /// Default 30 (connect 10), or ND_REMOTE_TIMEOUT.
    #[arg(long, global = true, value_name = "SECONDS", value_parser = parse_timeout)]
    timeout: Option<std::time::Duration>,
    /// URLs: anonymous access to public buckets (unsigned requests, no credential lookup).
    #[arg(long, global = true)]
    anon: bool,
    /// Worker threads for decoding, statistics, export and convert (default: one per core).
    #[arg(long, global = true, value_name = "N")]
    threads: Option<usize>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// What the file holds (HDUs, tree arrays, hierarchy).
    Info {
        /// File or store (format detected from content).
        path: String,
        /// One JSON object instead of the human listing.
        #[arg(long)]
        json: bool,
    },
    /// The whole structure as a tree: FITS HDUs and table columns (TFORM, unit), the ASDF tree
    /// with its tags (as `asdftool info`), Zarr groups, arrays and attributes.
    Tree(tree::TreeArgs),
    /// Header cards (FITS), attributes (Zarr) and tree values (ASDF) of one or many files, as
    /// astropy's fitsheader lists them; and FITS header edits.
    ///
    /// `nd header f.fits [HDU]` prints the cards as they are in the file. Over many files and
    /// globs: `-k KEY` (repeatable, wildcards), `-e EXTNAME`, `-t` (fitsheader -t's table),
    /// `--json`. Editing (`set`, `delete`, `history`, `comment`) is in place and atomic (a new
    /// file renamed over the old, so a crash leaves one or the other), keeps CHECKSUM/DATASUM
    /// valid and data bytes where they are unless the header needs another block; keywords
    /// describing the data layout (SIMPLE, BITPIX, NAXISn, PCOUNT, TFORMn, ...) are refused.
    #[command(
        after_help = "Examples:\n  nd header -t -k EXPTIME -k 'NAXIS*' 'raw/*.fits'\n  nd header --json -e SCI f.fits\n  nd header set 'f.fits[SCI]' 'EXPTIME=1200.5 / seconds'\n  nd header set f.fits OBJECT=\"'M 31'\" --comment target\n  nd header delete f.fits OBSERVER\n  nd header history f.fits 'flat-fielded with nd'"
    )]
    Header(header::HeaderArgs),
    /// Compare two files or stores of any formats: structure, headers/attributes, values
    /// (fitsdiff's rules and report for two FITS files); exit 0 same, 1 different, 2 error.
    ///
    /// Two FITS files: HDUs by position, headers keyword by keyword, images value by value,
    /// tables column by column, with fitsdiff's options and defaults (rtol = atol = 0; NaN
    /// equals NaN; a value finite on one side only differs). Other pairs (a FITS file and its
    /// Zarr or ASDF conversion, two Zarr stores, ...): arrays and tables paired by the names
    /// `nd convert` gives them, their shapes, types and values, and the FITS cards conversion
    /// carries (fits_header; the structural keywords SIMPLE, BITPIX, NAXISn, EXTEND, PCOUNT,
    /// GCOUNT, XTENSION, BSCALE, BZERO, BLANK, CHECKSUM, DATASUM, GROUPS, and for tables TFIELDS,
    /// THEAP, TTYPEn, TFORMn, TUNITn, TNULLn, TSCALn, TZEROn, TDIMn, TDISPn, TBCOLn, are
    /// regenerated by conversion and not compared). Values stream within --budget-mib.
    #[command(
        after_help = "Examples:\n  nd diff a.fits b.fits --rtol 1e-6 -k DATE -k 'HIST*'\n  nd diff cube.fits cube.zarr --json"
    )]
    Diff(diff::DiffArgs),
    /// Write one array (or a region of it) as a .npy (or CSV) file.
    Export {
        /// File or store.
        path: String,
        /// Which array: FITS `N` or `EXTNAME`; ASDF tree path; Zarr array path. Optional after
        /// a FITS extended filename (`f.fits[SCI]`, `f.fits[1][101:200,1:50]`).
        selector: Option<String>,
        /// Output file (.npy, .npz or .csv; a whole FITS table also .parquet), `-` for
        /// standard output, or a FIFO / `/dev/stdout`. A masked ASDF array goes to .npz as
        /// `data` and `mask`; a FITS table HDU (`1`, `EVENTS`) to a structured .npy, CSV or
        /// Parquet of its physical values; a variable-length column (`1/NAME`, an object array
        /// in astropy) to .npz, member `arr_I` row I's array (as `np.savez(f, *cells)`).
        #[arg(short = 'o', long = "output")]
        output: String,
        /// Output format, npy, npz, csv or parquet (default: from the output's suffix; npy for `-`).
        #[arg(long)]
        format: Option<String>,
        /// Replace an existing output that is not an .npy file.
        #[arg(long)]
        force: bool,
        /// numpy-order selection: `10:20,:`, `-5:`, `::2`, `::-1`, `3` (drops the axis), `...`.
        /// A bound outside an axis is an error (numpy would clamp).
        #[arg(long, allow_hyphen_values = true)]
        region: Option<String>,
        /// Memory budget in MiB.
        #[arg(long, default_value_t = 256)]
        budget_mib: usize,
    },
    /// Statistics of one array, out of core: count, min, max, mean, std, sum; exact median and
    /// percentiles (numpy's nanmedian, nanpercentile), histograms (numpy.histogram), astropy's
    /// sigma_clipped_stats; over the whole array or along axes (`--axis 1,2`, written to `-o`).
    Stat(stat::StatArgs),
    /// Write kerchunk references (version 1 JSON) describing a FITS or ASDF file as a Zarr v2
    /// (or, with --zarr-format 3, v3) hierarchy whose chunks are byte ranges of the file, for
    /// fsspec's `reference://` filesystem, zarr-python and xarray. Parts that cannot be mapped
    /// are listed on stderr.
    Refs {
        /// Source FITS or ASDF files (paths or URLs); quoted local patterns such as
        /// 'survey/*.fits' are expanded by nd (sorted by name). More than one file needs
        /// --concat-dim.
        #[arg(required = true)]
        src: Vec<String>,
        /// Combine the files into one dataset along this dimension: a new leading dimension of
        /// every array, or one every array already has (its length a multiple of the chunk
        /// length). The files' arrays must match (shape, dtype, chunks, codecs); attributes are
        /// the first file's.
        #[arg(long)]
        concat_dim: Option<String>,
        /// Output JSON file (`-` for standard output); a name ending in `.parq` or `.parquet` is
        /// a directory in kerchunk's parquet layout (Zarr v2), which fsspec reads lazily.
        #[arg(short, long)]
        output: String,
        /// Largest chunk of an uncompressed image or block, in MiB (chunks are whole rows/planes);
        /// also the size of a group of tiles (--group-tiles-above).
        #[arg(long, default_value_t = 8.0)]
        chunk_mib: f64,
        /// A tile-compressed image with more tiles than N maps a group of tiles (whole tile
        /// rows, about --chunk-mib of values) to one chunk, decoded by ndfiles' codec
        /// nd_fits_tile_group, where its tiles lie in order in the file (as astropy writes
        /// them); at most N tiles, one tile to one chunk. 0 groups every tiled image.
        #[arg(long, value_name = "N", default_value_t = nd::refs::DEFAULT_GROUP_TILES_ABOVE)]
        group_tiles_above: u64,
        /// Refer to PREFIX + the file's name instead of the source's own path or URL.
        #[arg(long)]
        url_prefix: Option<String>,
        /// Zarr format of the described hierarchy: 2 (`.zarray`, numcodecs codecs) or 3
        /// (`zarr.json`, a v3 codec chain, chunk keys `c/0/1`).
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(2..=3))]
        zarr_format: u8,
        /// Replace an existing output file.
        #[arg(long)]
        force: bool,
    },
    /// Write a file in the format its name ends with (.zarr, .asdf, .fits), streaming with bounded memory.
    ///
    /// FITS tables become a Zarr group / ASDF mapping named after the HDU holding one array per
    /// fixed-width column (variable-length columns are skipped with a note), and back a BINTABLE.
    Convert {
        /// Source file or store.
        src: String,
        /// Destination (.zarr, .asdf, .fits, or .fits.gz: gzip-compressed FITS as astropy writes).
        dst: String,
        /// Only this array (it becomes the root array / tree key `data` / primary HDU).
        #[arg(long)]
        array: Option<String>,
        /// Chunk shape for Zarr (and chunked ASDF) output, e.g. `256,256`; the tile shape of
        /// tile-compressed FITS output (default: one image row per tile, as astropy).
        #[arg(long, value_delimiter = ',')]
        chunks: Option<Vec<u64>>,
        /// Zarr output format: 2 (the default: what most readers open) or 3.
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(2..=3))]
        zarr_format: u8,
        /// Zarr v3 only: shard shape, e.g. `1024,1024`; each shard holds inner chunks of
        /// --chunks (which must divide it) and is written whole, one at a time per thread.
        #[arg(long, value_delimiter = ',')]
        shards: Option<Vec<u64>>,
        /// Zarr / ASDF: none, zlib:6, gzip:6, bz2:9, zstd:3, lz4:1, blosc:lz4:5:shuffle.
        /// FITS: none (plain images, streamed) or tile compression rice, gzip_1 (gzip), gzip_2,
        /// plio, with options after colons. Integer images are lossless; float images are
        /// QUANTIZED (lossy; q=16 by default: step = noise / 16; `rice:q=64` finer, `q=-0.01` a
        /// fixed step; dither=none|1|2, seed=N) unless `gzip_1:lossless` / `gzip_2:lossless`.
        /// Compressed images are read a slab of tile rows at a time; their compressed tiles are held
        /// until the HDU is written, at most a quarter of --budget-mib.
        #[arg(long)]
        compressor: Option<String>,
        /// Replace the destination if it exists and is what nd writes (a FITS or ASDF file, a
        /// directory holding only a Zarr store); never a link, FIFO, device or other directory.
        #[arg(long)]
        force: bool,
        /// Write CHECKSUM and DATASUM cards (FITS output).
        #[arg(long)]
        checksum: bool,
        /// No progress bar.
        #[arg(short, long)]
        quiet: bool,
        /// Memory budget in MiB.
        #[arg(long, default_value_t = 256)]
        budget_mib: usize,
    },
    /// Remove what interrupted nd runs left (`.NAME.nd-tmp-PID-N` beside their destinations).
    ///
    /// Only leftovers of processes that no longer run are removed; another nd writing now keeps
    /// its temporary output.
    Clean {
        /// Directories to clean (default: the current one).
        dirs: Vec<String>,
        /// List what would be removed, remove nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Check a file against its format's standard, as strict as fitsverify for FITS (keywords,
    /// fill, tables, checksums, every tile), ASDF (header, blocks, index, checksums, arrays, the tree against the ndarray schema and known tags) and
    /// Zarr v2 (metadata, every chunk, stray keys, consolidated metadata); errors and warnings;
    /// exit 0 clean, 1 errors or warnings found, 2 could not read.
    Verify {
        /// File or store.
        path: String,
        /// One JSON object: `path`, `format`, `errors`, `warnings`, `problems` (their sum),
        /// `checks` (place, what, severity ok|warning|error, ok, detail).
        #[arg(long)]
        json: bool,
    },
}

/// How the commands open their inputs (the global `--timeout` and `--anon`).
static OPEN_OPTIONS: std::sync::OnceLock<nd::OpenOptions> = std::sync::OnceLock::new();

/// Open a path or URL with the global options.
fn open(path: &str) -> nd::Result<nd::Dataset> {
    OPEN_OPTIONS.get().cloned().unwrap_or_default().open(path)
}

/// `--timeout`: a positive number of seconds.
fn parse_timeout(v: &str) -> Result<std::time::Duration, String> {
    match v.trim().parse::<f64>() {
        Ok(s) if (0.001..=1e6).contains(&s) => Ok(std::time::Duration::from_secs_f64(s)),
        _ => Err(format!(
            "not a number of seconds between 0.001 and 1000000: {v}"
        )),
    }
}

/// Internal marker: standard output was closed by the reader.
const BROKEN_PIPE: i32 = -1;

fn main() -> ExitCode {
    signals::remove_temps_on_termination();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let verbose = cli.verbose;
    let mut open_options = nd::OpenOptions::new().anonymous(cli.anon);
    if let Some(n) = cli.threads {
        open_options = open_options.threads(n);
    }
    if let Some(t) = cli.timeout {
        open_options = open_options.timeout(t);
    }
    let _ = OPEN_OPTIONS.set(open_options);
    let result = run(cli);
    for w in nd::remote_warnings() {
        eprintln!("nd: warning: {w}");
    }
    if verbose {
        if let Some(s) = nd::remote_stats().filter(|s| s.requests > 0) {
            eprintln!(
                "nd: remote: {} requests ({} GET, {} HEAD, {} other), {} bytes, {} errors",
                s.requests, s.gets, s.heads, s.others, s.bytes, s.errors
            );
        }
    }
    if result.is_err() && signals::terminating() {
        // the signal's thread is removing the partial output and will exit with 128 + signal
        loop {
            std::thread::park();
        }
    }
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) if e.code == BROKEN_PIPE => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nd: {}", e.msg.replace('\n', " "));
            ExitCode::from(e.code as u8)
        }
    }
}

fn run(cli: Cli) -> CliResult<u8> {
    let threads = cli.threads.unwrap_or(0);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let werr = CliError::output;
    match cli.cmd {
        Cmd::Info { path, json } => {
            let ds = open(&path)?;
            if json {
                writeln!(out, "{}", ds.info_json()?).map_err(werr)?;
            } else {
                out.write_all(ds.info_text().as_bytes()).map_err(werr)?;
            }
            for w in ds.warnings() {
                eprintln!("nd: warning: {path}: {w}");
            }
        }
        Cmd::Header(args) => return header::run(args, &mut out),
        Cmd::Diff(args) => return diff::run(args, &mut out),
        Cmd::Export {
            path,
            selector,
            output,
            format,
            force,
            region,
            budget_mib,
        } => {
            note_stale(&output);
            let ds = open(&path)?;
            // a whole FITS table: a structured .npy, CSV or Parquet
            if let Some(table) = ds.pick_table(selector.as_deref())? {
                let budget = budget_mib << 20;
                let src = [ds.path()];
                let notes = nd::table_export::export(
                    &table,
                    &output,
                    format.as_deref(),
                    force,
                    &src,
                    budget,
                )?;
                for n in notes {
                    eprintln!("nd: note: {path}: {n}");
                }
                return Ok(0);
            }
            let target = array_output(&output, format.as_deref(), force, &[ds.path()])?;
            // a variable-length column: an .npz, one member a row
            if let Some((table, col)) = ds.variable_column(selector.as_deref())? {
                if region.is_some() {
                    return Err(CliError::input(format!(
                        "{path}: --region: a variable-length column is exported whole"
                    )));
                }
                nd::table_export::export_variable(&table, col, &target, budget_mib << 20)?;
                return Ok(0);
            }
            let picked = ds.pick(selector.as_deref())?;
            let view = view_of(&picked, region.as_deref(), &path)?;
            let mask = match ds.mask(picked.selector())? {
                Some(m) => Some(view_of(&m, region.as_deref(), &path)?),
                None => None,
            };
            let notes = nd::export::write_masked(&view, mask.as_ref(), &target, budget_mib << 20)
                .map_err(|e| e.context(&format!("{path}: {}", view.selector())))?;
            for n in notes {
                eprintln!("nd: note: {path}: {n}");
            }
        }
        Cmd::Stat(args) => stat::run(args, &mut out)?,
        Cmd::Tree(args) => tree::run(args, &mut out)?,
        Cmd::Refs {
            src,
            concat_dim,
            output,
            chunk_mib,
            group_tiles_above,
            url_prefix,
            zarr_format,
            force,
        } => {
            if !(chunk_mib.is_finite() && chunk_mib > 0.0 && chunk_mib <= 1e6) {
                return Err(CliError::input(format!(
                    "--chunk-mib {chunk_mib}: give a positive number of MiB"
                )));
            }
            note_stale(&output);
            let options = nd::refs::RefsOptions {
                chunk_bytes: ((chunk_mib * 1048576.0) as u64).max(1),
                url_prefix,
                group_tiles_above,
            };
            let (sources, set) =
                nd::refs::build_sources(&src, &options, concat_dim.as_deref(), zarr_format, &open)?;
            let srcs: Vec<&str> = sources.iter().map(String::as_str).collect();
            nd::refs::write(&set, &output, force, &srcs)?;
            let what = if sources.len() == 1 {
                sources[0].clone()
            } else {
                format!("{} files", sources.len())
            };
            for s in &set.skipped {
                eprintln!("nd: note: {what}: {s}");
            }
            if let Some(first) = set.needs_nd_codec.first() {
                // one line: a table can have hundreds of columns that all need nd's codec
                let n = set.needs_nd_codec.len();
                let more = match n {
                    1 => " needs".to_string(),
                    _ => format!(" and {} more need", n - 1),
                };
                eprintln!("nd: note: {what}: array {first:?}{more} the ndfiles codecs to be read");
            }
            if let Some(dim) = &concat_dim {
                eprintln!(
                    "nd: note: {} files along {dim:?}; attributes are those of {} \
                     (those that differ are listed in nd_concat)",
                    sources.len(),
                    sources[0]
                );
            }
        }
        Cmd::Convert {
            src,
            dst,
            array,
            chunks,
            zarr_format,
            shards,
            compressor,
            force,
            checksum,
            quiet,
            budget_mib,
        } => {
            note_stale(&dst);
            let ds = open(&src)?;
            let bar = (!quiet && std::io::IsTerminal::is_terminal(&std::io::stderr())).then(|| {
                let b = indicatif::ProgressBar::new(0);
                b.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
                b
            });
            let progress = |done: u64, total: u64| {
                if let Some(b) = &bar {
                    b.set_length(total);
                    b.set_position(done);
                }
            };
            let options = nd::convert::ConvertOptions {
                array,
                chunks,
                zarr_format,
                shards,
                compressor,
                force,
                checksum,
                budget: budget_mib << 20,
                threads,
                progress: Some(&progress),
            };
            let notes = nd::convert::convert(&ds, &dst, &options)?;
            if let Some(b) = &bar {
                b.finish_and_clear();
            }
            for n in notes {
                eprintln!("nd: note: {src}: {n}");
            }
        }
        Cmd::Clean { dirs, dry_run } => {
            let dirs = if dirs.is_empty() {
                vec![".".to_string()]
            } else {
                dirs
            };
            for dir in dirs {
                let stale = nd::io::stale_temps(std::path::Path::new(&dir))
                    .map_err(|e| CliError::input(e.to_string()))?;
                for p in stale {
                    if !dry_run {
                        std::fs::remove_file(&p)
                            .or_else(|_| std::fs::remove_dir_all(&p))
                            .map_err(|e| CliError::input(format!("{}: {e}", p.display())))?;
                    }
                    let verb = if dry_run { "would remove" } else { "removed" };
                    writeln!(out, "{verb} {}", p.display()).map_err(werr)?;
                }
            }
        }
        Cmd::Verify { path, json } => {
            let report = OPEN_OPTIONS
                .get()
                .cloned()
                .unwrap_or_default()
                .verify(&path)?;
            let code = report.exit_code();
            if json {
                writeln!(out, "{}", report.to_json(&path)).map_err(werr)?;
                return Ok(code);
            }
            for f in &report.findings {
                writeln!(
                    out,
                    "{:<8} {:<24} {:<20} {}",
                    match f.severity {
                        nd::Severity::Ok => "ok",
                        nd::Severity::Warning => "WARNING",
                        _ => "ERROR",
                    },
                    f.place,
                    f.what,
                    f.detail
                )
                .map_err(werr)?;
            }
            if code > 0 {
                eprintln!(
                    "nd: {path}: {} error(s) and {} warning(s) found",
                    report.errors(),
                    report.warnings()
                );
                return Ok(code);
            }
            writeln!(
                out,
                "{path}: {} check(s), no problems",
                report.findings.len()
            )
            .map_err(werr)?;
        }
    }
    Ok(0)
}

/// Report what earlier, interrupted runs left beside a destination.
fn note_stale(dst: &str) {
    for p in nd::io::stale_temps_of(std::path::Path::new(dst)) {
        let dir = p.parent().map_or(".".into(), |d| d.display().to_string());
        let dir = if dir.is_empty() { ".".to_string() } else { dir };
        eprintln!(
            "nd: note: {}: left by an interrupted nd run (`nd clean {dir}` removes it)",
            p.display()
        );
    }
}

/// The array, or the selection of it that `--region` names (numpy basic indexing).
fn view_of(arr: &Array, region: Option<&str>, path: &str) -> CliResult<Array> {
    let Some(text) = region else {
        return Ok(arr.clone());
    };
    arr.selection(text)
        .and_then(|s| arr.select(s))
        .map_err(|e| CliError::input(format!("{path}: {e}")))
}
