//! Where `nd` writes, and what it refuses to touch (see the README, "Writing").
//!
//! - A destination that is, contains or lies inside a source is refused (nd-core's
//!   [`check_no_overlap`]).
//! - `export`/`stat -o`: the format follows `--format` or the suffix (`.npy`, `.csv`); `-o -`
//!   (or `-o /dev/stdout`) writes to standard output; a FIFO or a character device (`/dev/stdout`, a named pipe) is
//!   written into in order, never replaced; an existing `.npy` file is replaced (as numpy's `save`
//!   does), any other regular file only with `--force`; links, directories and block devices never.
//! - `convert`: an existing destination is replaced only with `--force`, and only when it is what
//!   nd writes (a FITS or ASDF file; a directory holding nothing but a Zarr store); never a link,
//!   FIFO, device or another kind of directory. The replacement is atomic.

use crate::error::{Error, Result};
use nd_core::io::{check_no_overlap, existing, Existing};
use nd_core::{ArrayRead, DataType};
use std::io::Write;
use std::path::Path;

/// The local paths among `sources` (URLs are never a local destination's twin).
fn local<'a>(sources: &'a [&'a str]) -> Vec<&'a Path> {
    sources
        .iter()
        .filter(|s| !nd_remote::is_url(s))
        .map(|s| Path::new(*s))
        .collect()
}

/// Refuse `dst` when it overlaps one of `sources`.
pub fn check_overlap(dst: &str, sources: &[&str]) -> Result<()> {
    check_no_overlap(Path::new(dst), &local(sources))
        .map_err(|e| Error::input(format!("{e}; nothing was written (write to another path)")))
}

/// The formats `export` and `stat -o` write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArrayFormat {
    /// numpy's `.npy`.
    Npy,
    /// Comma-separated text: one line per row of the last axis.
    Csv,
    /// numpy's `.npz` (`np.savez`): the array as member `data`, a masked array's mask as `mask`.
    Npz,
}

/// Where an array output goes.
#[derive(Debug)]
pub enum Sink {
    /// Standard output (`-o -`).
    Stdout,
    /// A FIFO or character device, written into in order.
    Stream(String),
    /// A regular file, written under a temporary name and renamed into place.
    File(String),
}

/// An array output: its format and where it goes.
#[derive(Debug)]
pub struct ArrayOutput {
    /// What is written.
    pub format: ArrayFormat,
    /// Where.
    pub sink: Sink,
}

impl ArrayOutput {
    /// The output's name for messages (`-` for standard output).
    pub fn name(&self) -> &str {
        match &self.sink {
            Sink::Stdout => "-",
            Sink::Stream(p) | Sink::File(p) => p,
        }
    }
}

/// Decide format and sink of `-o OUTPUT` (with `--format` and `--force`) for an array read from
/// `sources`, refusing what must not be written.
///
/// # Errors
/// [`Error::Input`] naming the output and why it is refused (nothing is written).
pub fn array_output(
    output: &str,
    format: Option<&str>,
    force: bool,
    sources: &[&str],
) -> Result<ArrayOutput> {
    let lower = output.to_ascii_lowercase();
    // `/dev/stdout` is this process's standard output, whatever it is redirected to
    let stdout = output == "-" || output == "/dev/stdout";
    let format = match format.map(str::to_ascii_lowercase).as_deref() {
        Some("npy") => ArrayFormat::Npy,
        Some("csv") => ArrayFormat::Csv,
        Some("npz") => ArrayFormat::Npz,
        Some(other) => {
            return Err(Error::input(format!(
                "--format '{other}': nd writes arrays as npy, npz or csv"
            )))
        }
        None if lower.ends_with(".npy") || stdout => ArrayFormat::Npy,
        None if lower.ends_with(".csv") => ArrayFormat::Csv,
        None if lower.ends_with(".npz") => ArrayFormat::Npz,
        None => {
            return Err(Error::input(format!(
                "{output}: nd writes arrays as .npy, .npz or .csv; name the output so, or give --format npy|npz|csv"
            )))
        }
    };
    if format == ArrayFormat::Npz && stdout {
        return Err(Error::input(
            "-o -: an .npz is a zip file, written to a regular file only",
        ));
    }
    if stdout {
        return Ok(ArrayOutput {
            format,
            sink: Sink::Stdout,
        });
    }
    check_overlap(output, sources)?;
    let path = Path::new(output);
    let refuse = |what: &str| Error::input(format!("{output}: {what}; nothing was written"));
    let here = existing(path).map_err(|e| Error::input(e.to_string()))?;
    // a link is never replaced; one that leads to a pipe or terminal (`/dev/stdout`) is written into
    let followed = match here {
        Existing::Symlink => match std::fs::metadata(path) {
            Ok(m) if is_stream(&m.file_type()) => Existing::Fifo,
            _ => {
                return Err(refuse(
                    "is a symbolic link, which nd does not replace or write through (give the path it points to)",
                ))
            }
        },
        other => other,
    };
    let sink = match followed {
        Existing::Nothing => Sink::File(output.into()),
        Existing::Fifo | Existing::CharDevice => Sink::Stream(output.into()),
        Existing::File => {
            let is_npy = (format == ArrayFormat::Npy && starts_with(path, b"\x93NUMPY"))
                || (format == ArrayFormat::Npz && starts_with(path, b"PK\x03\x04"));
            if !(is_npy || force) {
                return Err(refuse(
                    "exists and is not an .npy file (use --force to replace it)",
                ));
            }
            Sink::File(output.into())
        }
        other => {
            return Err(refuse(&format!(
                "is {}, which nd does not replace",
                other.describe()
            )))
        }
    };
    Ok(ArrayOutput { format, sink })
}

#[cfg(unix)]
fn is_stream(ft: &std::fs::FileType) -> bool {
    use std::os::unix::fs::FileTypeExt;
    ft.is_fifo() || ft.is_char_device()
}

#[cfg(not(unix))]
fn is_stream(_ft: &std::fs::FileType) -> bool {
    false
}

/// True when the file at `path` begins with `magic`.
fn starts_with(path: &Path, magic: &[u8]) -> bool {
    use std::io::Read;
    let mut head = vec![0u8; magic.len()];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && head == magic
}

/// Check that an existing `convert` destination may be replaced (with `--force`): a FITS or ASDF
/// file for a file target, a directory holding only a Zarr store for a Zarr target. (The overlap
/// with the sources is checked first, by [`check_overlap`].)
pub fn check_convert_destination(dst: &str, zarr_target: bool, force: bool) -> Result<()> {
    let path = Path::new(dst);
    let refuse = |what: String| Error::input(format!("{dst}: {what}; nothing was written"));
    let here = existing(path).map_err(|e| Error::input(e.to_string()))?;
    if here == Existing::Nothing {
        return Ok(());
    }
    if !force && matches!(here, Existing::File | Existing::Dir) {
        return Err(refuse("exists (use --force to replace it)".into()));
    }
    match (here, zarr_target) {
        (Existing::File, false) => {
            let gz = dst.to_ascii_lowercase().ends_with(".gz") && starts_with(path, &[0x1f, 0x8b]);
            if gz || starts_with(path, b"SIMPLE  =") || starts_with(path, b"#ASDF") {
                Ok(())
            } else {
                Err(refuse(
                    "is not a FITS or ASDF file, so --force does not replace it".into(),
                ))
            }
        }
        (Existing::Dir, true) => zarr_store_only(path).map_err(refuse),
        (Existing::File | Existing::Dir, _) => Err(refuse(format!(
            "is {}, which a {} does not replace",
            here.describe(),
            if zarr_target { "Zarr store" } else { "file" }
        ))),
        (other, _) => Err(refuse(format!(
            "is {}, which nd does not replace",
            other.describe()
        ))),
    }
}

/// Ok when `dir` holds a Zarr store and nothing else: Zarr metadata at its root, and below only
/// Zarr metadata, chunk keys (digits and separators) and nd's temporary names, in directories.
fn zarr_store_only(dir: &Path) -> Result<(), String> {
    const META: [&str; 5] = [".zarray", ".zgroup", ".zattrs", ".zmetadata", "zarr.json"];
    if !META[..]
        .iter()
        .any(|m| m != &".zattrs" && dir.join(m).is_file())
    {
        return Err("is a directory but not a Zarr store, so --force does not replace it".into());
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))?;
        for ent in entries {
            let ent = ent.map_err(|e| format!("{}: {e}", d.display()))?;
            let ft = ent
                .file_type()
                .map_err(|e| format!("{}: {e}", d.display()))?;
            let name = ent.file_name().to_string_lossy().into_owned();
            let chunk_key = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b == b'.' || b == b'c');
            if ft.is_dir() {
                stack.push(ent.path());
            } else if !(ft.is_file()
                && (META.contains(&name.as_str()) || chunk_key || nd_core::io::is_temp_name(&name)))
            {
                return Err(format!(
                    "holds {} which is not part of a Zarr store, so --force does not replace it",
                    ent.path().display()
                ));
            }
        }
    }
    Ok(())
}

/// Write `src` (read in C order, at most `budget` bytes at a time) as `format` into `w`.
pub fn write_stream(
    src: &dyn ArrayRead,
    format: ArrayFormat,
    budget: usize,
    w: &mut dyn Write,
) -> Result<()> {
    let opts = nd_ops::Options {
        budget,
        ..nd_ops::Options::default()
    };
    let dtype = src.dtype().clone();
    let shape = src.shape().to_vec();
    // a failed write is kept apart from a failed read, to be reported as an output error
    let failed_write = std::cell::RefCell::new(None::<std::io::Error>);
    let ioerr = |e: std::io::Error| {
        *failed_write.borrow_mut() = Some(e);
        nd_core::Error::Unsupported("writing output".into())
    };
    let res = match format {
        ArrayFormat::Npy => nd_core::npy::check_shape(&shape)
            .and_then(|()| {
                w.write_all(&nd_core::npy::header_bytes(&dtype.to_native(), &shape))
                    .map_err(ioerr)
            })
            .and_then(|()| {
                nd_ops::for_each_slab(src, &opts, |_, bytes| w.write_all(bytes).map_err(ioerr))
            }),
        ArrayFormat::Npz => {
            return Err(Error::input(
                "an .npz is a zip file, written to a regular file only",
            ))
        }
        ArrayFormat::Csv => {
            let row = shape.last().copied().unwrap_or(1).max(1) as usize;
            let mut col = 0usize;
            let mut line = String::new();
            csv_check(&dtype)?;
            nd_ops::for_each_slab(src, &opts, |_, bytes| {
                for v in bytes.chunks_exact(dtype.size()) {
                    if col > 0 {
                        line.push(',');
                    }
                    csv_value(&dtype, v, &mut line);
                    col += 1;
                    if col == row {
                        line.push('\n');
                        w.write_all(line.as_bytes()).map_err(ioerr)?;
                        line.clear();
                        col = 0;
                    }
                }
                Ok(())
            })
        }
    };
    let res = res.and_then(|()| w.flush().map_err(ioerr));
    match (res, failed_write.into_inner()) {
        (Ok(()), _) => Ok(()),
        (Err(_), Some(source)) => Err(Error::Output {
            context: "writing output".into(),
            source,
        }),
        (Err(e), None) => Err(Error::input(e.to_string())),
    }
}

/// Write an array where `target` says: a regular file through a temporary name (npy in
/// parallel, positionally; CSV in order), a stream or standard output in order.
pub fn write_array(array: &crate::Array, target: &ArrayOutput, budget: usize) -> Result<()> {
    let src = array.as_read();
    let output = target.name();
    let fail = |e: &dyn std::fmt::Display| Error::input(format!("{output}: {e}"));
    match (&target.sink, target.format) {
        (Sink::File(p), ArrayFormat::Npy) => {
            let writer = nd_core::NpyWriter::create(p, src.dtype().clone(), src.shape().to_vec())
                .map_err(|e| fail(&e))?;
            let opts = nd_ops::Options {
                budget,
                ..nd_ops::Options::default()
            };
            nd_ops::copy(src, &writer, &opts).map_err(|e| Error::input(e.to_string()))
        }
        (Sink::File(p), ArrayFormat::Npz) => crate::npz::write_npz(p, &[("data", src)], budget),
        (Sink::File(p), format) => {
            let mut file = nd_core::io::TempFile::create(p).map_err(|e| fail(&e))?;
            {
                let mut w = std::io::BufWriter::with_capacity(1 << 20, file.file_mut());
                write_stream(src, format, budget, &mut w)?;
            }
            file.persist().map_err(|e| fail(&e))
        }
        (Sink::Stream(p), format) => {
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(p)
                .map_err(|e| fail(&e))?;
            let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
            write_stream(src, format, budget, &mut w)
        }
        (Sink::Stdout, format) => {
            let stdout = std::io::stdout();
            if format == ArrayFormat::Npy && std::io::IsTerminal::is_terminal(&stdout) {
                return Err(Error::input(
                    "-o -: refusing to write binary .npy to a terminal (redirect it, or give --format csv)",
                ));
            }
            let mut w = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
            write_stream(src, format, budget, &mut w)
        }
    }
}

/// Write an array with its mask (a masked ASDF array, [`crate::Dataset::mask`], cut to the
/// same region): `.npz` holds both (`data`, `mask`, as `np.savez(f, data=a.data,
/// mask=np.ma.getmaskarray(a))`); `.npy` and CSV hold the data only, and a note says so.
/// Without a mask, as [`write_array`].
///
/// # Errors
/// As [`write_array`], and [`Error::Input`] when the mask's shape differs from the array's.
pub fn write_masked(
    array: &crate::Array,
    mask: Option<&crate::Array>,
    target: &ArrayOutput,
    budget: usize,
) -> Result<Vec<String>> {
    let Some(mask) = mask else {
        write_array(array, target, budget)?;
        return Ok(Vec::new());
    };
    if mask.shape() != array.shape() {
        return Err(Error::input(format!(
            "{}: the mask's shape {} differs from the array's {}",
            array.selector(),
            nd_core::fmt_shape(mask.shape().iter()),
            nd_core::fmt_shape(array.shape().iter())
        )));
    }
    match (&target.sink, target.format) {
        (Sink::File(p), ArrayFormat::Npz) => {
            crate::npz::write_npz(
                p,
                &[("data", array.as_read()), ("mask", mask.as_read())],
                budget,
            )?;
            Ok(Vec::new())
        }
        _ => {
            write_array(array, target, budget)?;
            Ok(vec![format!(
                "{} is masked; its mask is not in {} (write .npz for data and mask)",
                array.selector(),
                target.name()
            )])
        }
    }
}

fn csv_check(dt: &DataType) -> Result<()> {
    if dt.is_integer() || dt.is_float() || *dt == DataType::Bool {
        Ok(())
    } else {
        Err(Error::input(format!(
            "CSV output takes booleans, integers and reals; this array holds {dt} (write .npy)"
        )))
    }
}

/// One native-endian value as CSV text: integers as they are, reals in the shortest form that
/// reads back to the same value (`nan`, `inf`, `-inf` as numpy writes them), booleans `True`/`False`.
pub(crate) fn csv_value(dt: &DataType, v: &[u8], out: &mut String) {
    use std::fmt::Write as _;
    macro_rules! ne {
        ($t:ty) => {{
            let mut a = [0u8; std::mem::size_of::<$t>()];
            a.copy_from_slice(v);
            <$t>::from_ne_bytes(a)
        }};
    }
    fn real(out: &mut String, x: f64, text: std::fmt::Arguments) {
        if x.is_nan() {
            out.push_str("nan");
        } else if x.is_infinite() {
            out.push_str(if x > 0.0 { "inf" } else { "-inf" });
        } else {
            let _ = out.write_fmt(text);
        }
    }
    let _ = match dt {
        DataType::Bool => {
            out.push_str(if v[0] != 0 { "True" } else { "False" });
            Ok(())
        }
        DataType::Int8 => write!(out, "{}", ne!(i8)),
        DataType::Int16 => write!(out, "{}", ne!(i16)),
        DataType::Int32 => write!(out, "{}", ne!(i32)),
        DataType::Int64 => write!(out, "{}", ne!(i64)),
        DataType::UInt8 => write!(out, "{}", ne!(u8)),
        DataType::UInt16 => write!(out, "{}", ne!(u16)),
        DataType::UInt32 => write!(out, "{}", ne!(u32)),
        DataType::UInt64 => write!(out, "{}", ne!(u64)),
        DataType::Float16 => {
            let x = half::f16::from_bits(ne!(u16));
            real(out, x.to_f64(), format_args!("{x}"));
            Ok(())
        }
        DataType::Float32 => {
            let x = ne!(f32);
            real(out, x as f64, format_args!("{x:?}"));
            Ok(())
        }
        DataType::Float64 => {
            let x = ne!(f64);
            real(out, x, format_args!("{x:?}"));
            Ok(())
        }
        _ => Ok(()),
    };
}
