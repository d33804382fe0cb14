//! Writing FITS files: whole files from arrays ([`FitsWriter`]), one image streamed region by
//! region ([`FitsImageWriter`], an [`nd_core::ArrayWrite`]), and appending an image extension to an
//! existing file ([`append_image`]). Every write goes to a temporary file renamed into place.

use crate::card::{Card, Value};
use crate::checksum::{add_words, data_sum, encode, fold};
use crate::error::{Error, Result};
use crate::hdu::is_structural;
use crate::header::{Header, BLOCK};
use crate::scale::{convert, Scaling};
use nd_core::io::region_runs;
use nd_core::io::TempFile;
use nd_core::{ArrayBuf, ArrayRead, ArrayWrite, DataType, Region};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Scaled writing: floats stored as integers `round((v - bzero) / bscale)` with NaN → BLANK.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScaleSpec {
    /// Stored BITPIX: 8, 16, 32 or 64.
    pub bitpix: i64,
    /// BSCALE.
    pub bscale: f64,
    /// BZERO.
    pub bzero: f64,
    /// BLANK (needed when the data holds NaN).
    pub blank: Option<i64>,
}

/// How a native type is stored.
struct Layout {
    bitpix: i64,
    bzero: Option<Value>,
    scaling: Scaling,
}

fn layout_for(dtype: &DataType) -> Result<Layout> {
    let (bitpix, bzero, scaling) = match dtype {
        DataType::UInt8 => (8, None, Scaling::None),
        DataType::Int8 => (8, Some(Value::Int(-128)), Scaling::Int8),
        DataType::Int16 => (16, None, Scaling::None),
        DataType::UInt16 => (16, Some(Value::Int(32768)), Scaling::Unsigned),
        DataType::Int32 => (32, None, Scaling::None),
        DataType::UInt32 => (32, Some(Value::Int(2147483648)), Scaling::Unsigned),
        DataType::Int64 => (64, None, Scaling::None),
        DataType::UInt64 => (
            64,
            Some(Value::BigInt("9223372036854775808".into())),
            Scaling::Unsigned,
        ),
        DataType::Float32 => (-32, None, Scaling::None),
        DataType::Float64 => (-64, None, Scaling::None),
        other => {
            return Err(Error::Invalid(format!(
                "FITS images cannot hold {other} values"
            )))
        }
    };
    Ok(Layout {
        bitpix,
        bzero,
        scaling,
    })
}

/// Native values → stored big-endian bytes (unscaled, unsigned and int8 layouts).
fn to_stored(bitpix: i64, scaling: &Scaling, native: &[u8], out: &mut [u8]) {
    fn map<const N: usize>(src: &[u8], dst: &mut [u8], f: impl Fn([u8; N]) -> [u8; N]) {
        for (s, d) in src.chunks_exact(N).zip(dst.chunks_exact_mut(N)) {
            let a: [u8; N] = s.try_into().unwrap_or([0; N]);
            d.copy_from_slice(&f(a));
        }
    }
    let flip = matches!(scaling, Scaling::Unsigned);
    match bitpix {
        8 if matches!(scaling, Scaling::Int8) => map::<1>(native, out, |a| [a[0] ^ 0x80]),
        8 => out.copy_from_slice(native),
        16 => map::<2>(native, out, |a| {
            (u16::from_ne_bytes(a) ^ if flip { 0x8000 } else { 0 }).to_be_bytes()
        }),
        32 | -32 => map::<4>(native, out, |a| {
            (u32::from_ne_bytes(a) ^ if flip { 0x8000_0000 } else { 0 }).to_be_bytes()
        }),
        _ => map::<8>(native, out, |a| {
            (u64::from_ne_bytes(a) ^ if flip { 1 << 63 } else { 0 }).to_be_bytes()
        }),
    }
}

fn scaled_to_stored(
    spec: &ScaleSpec,
    dtype: &DataType,
    native: &[u8],
    out: &mut [u8],
) -> Result<()> {
    let vals: Vec<f64> = match dtype {
        DataType::Float32 => native
            .chunks_exact(4)
            .map(|c| f32::from_ne_bytes([c[0], c[1], c[2], c[3]]) as f64) // ok: chunks_exact(4)
            .collect(),
        DataType::Float64 => native
            .chunks_exact(8)
            .map(|c| {
                let mut a = [0u8; 8];
                a.copy_from_slice(c);
                f64::from_ne_bytes(a)
            })
            .collect(),
        other => {
            return Err(Error::Invalid(format!(
                "scaled writing takes float32 or float64 data, not {other}"
            )))
        }
    };
    let (lo, hi) = match spec.bitpix {
        8 => (0.0, 255.0),
        16 => (i16::MIN as f64, i16::MAX as f64),
        32 => (i32::MIN as f64, i32::MAX as f64),
        64 => (i64::MIN as f64, i64::MAX as f64),
        b => {
            return Err(Error::Invalid(format!(
                "scaled BITPIX must be 8/16/32/64, not {b}"
            )))
        }
    };
    let e = (spec.bitpix / 8) as usize;
    for (v, o) in vals.iter().zip(out.chunks_exact_mut(e)) {
        let stored: i64 = if v.is_nan() {
            spec.blank.ok_or_else(|| {
                Error::Invalid("data holds NaN but the scale spec has no BLANK".into())
            })?
        } else {
            (((v - spec.bzero) / spec.bscale)
                .round_ties_even()
                .clamp(lo, hi)) as i64
        };
        let b = stored.to_be_bytes();
        o.copy_from_slice(&b[8 - e..]);
    }
    Ok(())
}

/// Build an image header. `naxes` in numpy order (reversed into NAXISn).
fn image_header(
    primary: bool,
    bitpix: i64,
    shape: &[u64],
    scale: &[(&str, Value)],
    cards: &[Card],
    checksums: bool,
) -> Result<Header> {
    let mut h = Header::new();
    if primary {
        h.push(Card::new(
            "SIMPLE",
            true,
            Some("conforms to FITS standard"),
        )?);
    } else {
        h.push(Card::new("XTENSION", "IMAGE", Some("Image extension"))?);
    }
    h.push(Card::new("BITPIX", bitpix, Some("array data type"))?);
    h.push(Card::new(
        "NAXIS",
        shape.len() as i64,
        Some("number of array dimensions"),
    )?);
    for (i, &d) in shape.iter().rev().enumerate() {
        h.push(Card::new(&format!("NAXIS{}", i + 1), d, None)?);
    }
    if primary {
        h.push(Card::new("EXTEND", true, None)?);
    } else {
        h.push(Card::new("PCOUNT", 0i64, Some("number of parameters"))?);
        h.push(Card::new("GCOUNT", 1i64, Some("number of groups"))?);
    }
    for (k, v) in scale {
        h.push(Card::new(k, v.clone(), None)?);
    }
    for c in cards {
        if is_structural(c.keyword()) || c.keyword() == "END" {
            continue;
        }
        h.push(c.clone());
    }
    if checksums {
        h.push(Card::new(
            "CHECKSUM",
            "0000000000000000",
            Some("HDU checksum"),
        )?);
        h.push(Card::new("DATASUM", "0", Some("data unit checksum"))?);
    }
    Ok(h)
}

/// Set DATASUM and CHECKSUM in a header whose data sums to `dsum`.
pub(crate) fn finish_checksums(h: &mut Header, dsum: u32) -> Result<Vec<u8>> {
    h.set("DATASUM", dsum.to_string(), Some("data unit checksum"))?;
    h.set("CHECKSUM", "0000000000000000", Some("HDU checksum"))?;
    let bytes = h.to_bytes();
    let sum = fold(add_words(dsum as u64, &bytes));
    h.set("CHECKSUM", encode(!sum), Some("HDU checksum"))?;
    let out = h.to_bytes();
    if out.len() != bytes.len() {
        return Err(Error::Invalid(
            "checksum cards changed the header size".into(),
        ));
    }
    Ok(out)
}

pub(crate) fn pad_len(n: u64) -> u64 {
    n.div_ceil(BLOCK as u64) * BLOCK as u64 - n
}

pub(crate) struct PendingHdu {
    pub(crate) header: Header,
    pub(crate) data: Vec<u8>, // stored big-endian bytes (unpadded)
}

/// Builds a FITS file from arrays and writes it atomically on [`FitsWriter::finish`].
///
/// ```no_run
/// use nd_core::ArrayBuf;
/// use nd_fits::{Card, FitsWriter};
/// let a = ArrayBuf::from_vec(vec![2, 3], &[1u16, 2, 3, 4, 5, 6])?;
/// let mut w = FitsWriter::create("out.fits");
/// w.set_checksums(true);
/// w.add_image(&a, &[Card::new("OBJECT", "M31", None)?])?;
/// w.finish()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct FitsWriter {
    path: PathBuf,
    pub(crate) hdus: Vec<PendingHdu>,
    pub(crate) checksums: bool,
}

impl FitsWriter {
    /// A writer that will create (or replace) `path`.
    pub fn create(path: impl AsRef<Path>) -> FitsWriter {
        FitsWriter {
            path: path.as_ref().to_path_buf(),
            hdus: Vec::new(),
            checksums: false,
        }
    }

    /// Write CHECKSUM and DATASUM in every HDU added after this call.
    pub fn set_checksums(&mut self, yes: bool) {
        self.checksums = yes;
    }

    /// Add an empty primary HDU (NAXIS = 0) with user cards. Must be first.
    pub fn add_empty_primary(&mut self, cards: &[Card]) -> Result<()> {
        if !self.hdus.is_empty() {
            return Err(Error::Invalid("the primary HDU must be added first".into()));
        }
        let header = image_header(true, 8, &[], &[], cards, self.checksums)?;
        self.hdus.push(PendingHdu {
            header,
            data: Vec::new(),
        });
        Ok(())
    }

    /// Add an image: the primary HDU if none yet, else an IMAGE extension. Unsigned integers and
    /// int8 are stored with BZERO (as astropy does). Structural keywords in `cards` are ignored.
    pub fn add_image(&mut self, data: &ArrayBuf, cards: &[Card]) -> Result<()> {
        let lay = layout_for(data.dtype())?;
        let mut bytes = vec![0u8; data.bytes().len()];
        to_stored(lay.bitpix, &lay.scaling, data.bytes(), &mut bytes);
        let mut scale = Vec::new();
        if let Some(z) = lay.bzero {
            scale.push(("BSCALE", Value::Int(1)));
            scale.push(("BZERO", z));
        }
        let header = image_header(
            self.hdus.is_empty(),
            lay.bitpix,
            data.shape(),
            &scale,
            cards,
            self.checksums,
        )?;
        self.hdus.push(PendingHdu {
            header,
            data: bytes,
        });
        Ok(())
    }

    /// Add float data stored as scaled integers (BSCALE/BZERO, NaN → BLANK).
    pub fn add_image_scaled(
        &mut self,
        data: &ArrayBuf,
        spec: ScaleSpec,
        cards: &[Card],
    ) -> Result<()> {
        let e = (spec.bitpix.unsigned_abs() / 8) as usize;
        let mut bytes = vec![0u8; data.len() * e];
        scaled_to_stored(&spec, data.dtype(), data.bytes(), &mut bytes)?;
        let mut scale = vec![
            ("BSCALE", Value::Float(spec.bscale)),
            ("BZERO", Value::Float(spec.bzero)),
        ];
        if let Some(b) = spec.blank {
            scale.push(("BLANK", Value::Int(b)));
        }
        let header = image_header(
            self.hdus.is_empty(),
            spec.bitpix,
            data.shape(),
            &scale,
            cards,
            self.checksums,
        )?;
        self.hdus.push(PendingHdu {
            header,
            data: bytes,
        });
        Ok(())
    }

    /// Write the file (temporary file, then rename).
    pub fn finish(self) -> Result<()> {
        if self.hdus.is_empty() {
            return Err(Error::Invalid("no HDU to write".into()));
        }
        let mut tmp = TempFile::create(&self.path)?;
        let ctx = tmp.path().display().to_string();
        let mut w = std::io::BufWriter::with_capacity(1 << 20, tmp.file_mut());
        write_hdus(&mut w, self.hdus)?;
        w.flush().map_err(|e| Error::io(ctx, e))?;
        drop(w);
        Ok(tmp.persist()?)
    }
}

fn write_hdus(w: &mut impl Write, hdus: Vec<PendingHdu>) -> Result<()> {
    let ioe = |e| Error::io("write", e);
    for mut p in hdus {
        let hbytes = if p.header.contains("CHECKSUM") {
            let dsum = fold(add_words(0, &p.data));
            finish_checksums(&mut p.header, dsum)?
        } else {
            p.header.to_bytes()
        };
        w.write_all(&hbytes).map_err(ioe)?;
        w.write_all(&p.data).map_err(ioe)?;
        let pad = pad_len(p.data.len() as u64) as usize;
        w.write_all(&vec![0u8; pad]).map_err(ioe)?;
    }
    Ok(())
}

/// Append an image extension to an existing FITS file (atomically: the file is copied to a
/// temporary file, the HDU appended, and the copy renamed over the original).
pub fn append_image(
    path: impl AsRef<Path>,
    data: &ArrayBuf,
    cards: &[Card],
    checksums: bool,
) -> Result<()> {
    let path = path.as_ref();
    let end = existing_end(path)?;
    let mut w = FitsWriter::create(path);
    w.set_checksums(checksums);
    // Build as an extension: add a placeholder primary first, then drop it.
    w.add_empty_primary(&[])?;
    w.add_image(data, cards)?;
    let hdu = w
        .hdus
        .pop()
        .ok_or_else(|| Error::Invalid("no HDU".into()))?;
    let mut tmp = TempFile::create(path)?;
    let ctx = tmp.path().display().to_string();
    copy_prefix(path, tmp.file_mut(), end)?;
    let mut bw = std::io::BufWriter::new(tmp.file_mut());
    write_hdus(&mut bw, vec![hdu])?;
    bw.flush().map_err(|e| Error::io(ctx, e))?;
    drop(bw);
    Ok(tmp.persist()?)
}

/// End of the last HDU of an existing (uncompressed) FITS file.
pub(crate) fn existing_end(path: &Path) -> Result<u64> {
    let fits = crate::fits::Fits::open(path)?;
    if fits.is_gzipped() {
        return Err(Error::Invalid(format!(
            "{}: cannot append to a gzip-compressed file",
            path.display()
        )));
    }
    let n = fits.len();
    let last = fits.hdu(n.saturating_sub(1))?;
    let end = last.end_offset();
    if end > fits.source().len() {
        return Err(Error::Truncated {
            hdu: last.index,
            offset: last.data_offset,
            needed: last.data_len,
            size: fits.source().len(),
        });
    }
    Ok(end)
}

/// Copy the first `len` bytes of the file `src` to `out` (at its current position).
pub(crate) fn copy_prefix(src: &Path, out: &mut File, len: u64) -> Result<()> {
    use std::io::Read;
    let f = File::open(src).map_err(|e| Error::io(src.display().to_string(), e))?;
    std::io::copy(&mut f.take(len), out).map_err(|e| Error::io(src.display().to_string(), e))?;
    Ok(())
}

struct StreamState {
    file: Option<File>,
    finished: bool,
}

/// One image written region by region (out-of-core conversion): the header is written at
/// creation, the data area preallocated; [`ArrayWrite::write_region`] converts native values to
/// big-endian and writes the region's byte runs with positional writes (thread-safe);
/// [`ArrayWrite::finish`] pads, writes CHECKSUM/DATASUM if asked, and renames into place.
pub struct FitsImageWriter {
    path: PathBuf,
    file: TempFile,
    state: Mutex<StreamState>,
    header: Mutex<Header>,
    header_offset: u64,
    data_offset: u64,
    data_len: u64,
    shape: Vec<u64>,
    dtype: DataType,
    bitpix: i64,
    scaling: Scaling,
    checksums: bool,
}

impl std::fmt::Debug for FitsImageWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FitsImageWriter")
            .field("path", &self.path)
            .field("shape", &self.shape)
            .field("dtype", &self.dtype)
            .finish()
    }
}

impl FitsImageWriter {
    /// Start a new file at `path` whose primary HDU is an image of `dtype` and `shape`.
    pub fn create(
        path: impl AsRef<Path>,
        dtype: DataType,
        shape: &[u64],
        cards: &[Card],
        checksums: bool,
    ) -> Result<Self> {
        Self::start(path.as_ref(), None, dtype, shape, cards, checksums)
    }

    /// Start appending an IMAGE extension to the existing file at `path` (the file is copied to
    /// a temporary file; the original is replaced on finish).
    pub fn append(
        path: impl AsRef<Path>,
        dtype: DataType,
        shape: &[u64],
        cards: &[Card],
        checksums: bool,
    ) -> Result<Self> {
        let end = existing_end(path.as_ref())?;
        Self::start(path.as_ref(), Some(end), dtype, shape, cards, checksums)
    }

    fn start(
        path: &Path,
        existing: Option<u64>,
        dtype: DataType,
        shape: &[u64],
        cards: &[Card],
        checksums: bool,
    ) -> Result<Self> {
        let lay = layout_for(&dtype)?;
        let mut scale = Vec::new();
        if let Some(z) = lay.bzero.clone() {
            scale.push(("BSCALE", Value::Int(1)));
            scale.push(("BZERO", z));
        }
        let header = image_header(
            existing.is_none(),
            lay.bitpix,
            shape,
            &scale,
            cards,
            checksums,
        )?;
        let hbytes = header.to_bytes();
        let data_len = nd_core::num_bytes(shape, dtype.size())? as u64;
        let header_offset = existing.unwrap_or(0);
        // removed on any failure below (and on drop without finish)
        let mut file = TempFile::create(path)?;
        if let Some(end) = existing {
            copy_prefix(path, file.file_mut(), end)?;
        }
        let name = file.path().display().to_string();
        let ctx = |e| Error::io(name.clone(), e);
        let data_offset = header_offset + hbytes.len() as u64;
        write_at(file.file(), header_offset, &hbytes)?;
        file.file()
            .set_len(data_offset + data_len + pad_len(data_len))
            .map_err(ctx)?;
        let wfile = file.file().try_clone().map_err(ctx)?;
        Ok(FitsImageWriter {
            path: path.to_path_buf(),
            file,
            state: Mutex::new(StreamState {
                file: Some(wfile),
                finished: false,
            }),
            header: Mutex::new(header),
            header_offset,
            data_offset,
            data_len,
            shape: shape.to_vec(),
            dtype,
            bitpix: lay.bitpix,
            scaling: lay.scaling,
            checksums,
        })
    }

    fn do_finish(&self) -> Result<()> {
        let mut st = self
            .state
            .lock()
            .map_err(|_| Error::Invalid("writer lock poisoned".into()))?;
        if st.finished {
            return Err(Error::Invalid("finish called twice".into()));
        }
        if self.checksums {
            let src = nd_core::FileSource::open(self.file.path())?;
            let end = self.data_offset + self.data_len + pad_len(self.data_len);
            let dsum = data_sum(&src, self.data_offset, end)?;
            let mut h = self
                .header
                .lock()
                .map_err(|_| Error::Invalid("writer lock poisoned".into()))?;
            let hb = finish_checksums(&mut h, dsum)?;
            write_at(self.file.file(), self.header_offset, &hb)?;
        }
        st.file = None;
        self.file.persist()?;
        st.finished = true;
        Ok(())
    }
}

/// Write `buf` at `offset` of the file being written.
pub(crate) fn write_at(f: &File, offset: u64, buf: &[u8]) -> Result<()> {
    nd_core::io::write_all_at(f, buf, offset)
        .map_err(|e| Error::io(format!("write at {offset}"), e))
}

/// Read `buf` from `offset` of the file being written.
fn read_at(f: &File, offset: u64, buf: &mut [u8]) -> Result<()> {
    nd_core::io::read_exact_at(f, buf, offset)
        .map_err(|e| Error::io(format!("read at {offset}"), e))
}

impl ArrayRead for FitsImageWriter {
    fn shape(&self) -> &[u64] {
        &self.shape
    }
    fn dtype(&self) -> &DataType {
        &self.dtype
    }
    fn chunk_shape(&self) -> Vec<u64> {
        let mut c = self.shape.clone();
        if let Some(first) = c.first_mut() {
            let row: u64 = self.shape[1..]
                .iter()
                .fold(1u64, |a, &d| a.saturating_mul(d))
                .max(1)
                .saturating_mul(self.dtype.size() as u64);
            *first = ((4u64 << 20) / row).clamp(1, (*first).max(1));
        }
        c
    }
    fn read_region_into(&self, region: &Region, out: &mut [u8]) -> nd_core::Result<()> {
        nd_core::array::check_out_len(region, &self.dtype, out)?;
        let e = self.dtype.size() as u64;
        let mut pos = 0usize;
        let mut buf = Vec::new();
        region_runs(&self.shape, nd_core::Order::C, region, |off, n| {
            buf.resize((n * e) as usize, 0);
            read_at(self.file.file(), self.data_offset + off * e, &mut buf)?;
            let dst = &mut out[pos..pos + buf.len()];
            convert(self.bitpix, &self.scaling, &buf, dst);
            pos += buf.len();
            Ok::<(), Error>(())
        })
        .map_err(Into::into)
    }
}

impl ArrayWrite for FitsImageWriter {
    fn write_region(&self, region: &Region, data: &[u8]) -> nd_core::Result<()> {
        nd_core::array::check_out_len(region, &self.dtype, data)?;
        let e = self.dtype.size() as u64;
        let mut pos = 0usize;
        let mut buf = Vec::new();
        region_runs(&self.shape, nd_core::Order::C, region, |off, n| {
            let len = (n * e) as usize;
            buf.resize(len, 0);
            to_stored(self.bitpix, &self.scaling, &data[pos..pos + len], &mut buf);
            write_at(self.file.file(), self.data_offset + off * e, &buf)?;
            pos += len;
            Ok::<(), Error>(())
        })
        .map_err(Into::into)
    }

    fn finish(&self) -> nd_core::Result<()> {
        self.do_finish().map_err(Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.fits");
        let a = ArrayBuf::from_vec(
            vec![3, 4],
            &(0..12).map(|i| i as u16 * 5000).collect::<Vec<_>>(),
        )
        .unwrap();
        let b = ArrayBuf::from_vec(vec![5], &[-3i8, -128, 0, 7, 127]).unwrap();
        let long = "L".repeat(150);
        let mut w = FitsWriter::create(&p);
        w.set_checksums(true);
        w.add_image(
            &a,
            &[
                Card::new("LONGSTR", long.as_str(), Some("long")).unwrap(),
                Card::new("HIERARCH ESO DET CHIP", 3i64, None).unwrap(),
            ],
        )
        .unwrap();
        w.add_image(&b, &[Card::new("EXTNAME", "SCI", None).unwrap()])
            .unwrap();
        w.finish().unwrap();
        let f = crate::fits::Fits::open(&p).unwrap();
        assert_eq!(f.len(), 2);
        let ia = f.image(0).unwrap().read_all().unwrap();
        assert_eq!(ia.as_slice::<u16>().unwrap(), a.as_slice::<u16>().unwrap());
        let ib = f.image(1).unwrap().read_all().unwrap();
        assert_eq!(ib.as_slice::<i8>().unwrap(), b.as_slice::<i8>().unwrap());
        assert_eq!(
            f.hdu(0).unwrap().header.get_str("LONGSTR"),
            Some(long.as_str())
        );
        assert_eq!(f.hdu(0).unwrap().header.get_int("ESO DET CHIP"), Some(3));
        for r in crate::verify_checksums(&f).unwrap() {
            assert_eq!(r.checksum, crate::checksum::ChecksumStatus::Valid);
            assert_eq!(r.datasum, crate::checksum::ChecksumStatus::Valid);
        }
        assert_eq!(f.find("sci", None).unwrap().index, 1);
    }
}
