//! Reading and writing numpy `.npy` files (format versions 1.0, 2.0 and 3.0).
//!
//! The header is a Python dict literal `{'descr': ..., 'fortran_order': ..., 'shape': (...)}`.
//! `descr` is a typestr or a list of `(name, descr[, shape])` tuples for records.

use crate::buf::ArrayBuf;
use crate::dtype::{DataType, Descr, DescrField, Endian};
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::shape::{copy_region, num_bytes, Order, Region};
use std::io::Write;
use std::path::Path;

const MAGIC: &[u8] = b"\x93NUMPY";

/// A parsed `.npy` header.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyHeader {
    /// The element type as written.
    pub dtype: DataType,
    /// The byte order as written.
    pub endian: Endian,
    /// True for column-major data.
    pub fortran_order: bool,
    /// The shape.
    pub shape: Vec<u64>,
    /// Offset of the data from the start of the file.
    pub data_offset: usize,
}

/// Parse the header of an `.npy` stream (with the default [`Limits`]).
pub fn parse_header(bytes: &[u8]) -> Result<NpyHeader> {
    parse_header_with(bytes, &Limits::default())
}

/// Parse the header of an `.npy` stream, refusing a header longer than
/// [`Limits::npy_header_bytes`] ([`Error::LimitExceeded`]).
pub fn parse_header_with(bytes: &[u8], limits: &Limits) -> Result<NpyHeader> {
    let err = |m: &str| Error::Npy(m.to_string());
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err(err("not an .npy file (bad magic)"));
    }
    let major = bytes[6];
    let (hlen, start) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => {
            if bytes.len() < 12 {
                return Err(err("truncated header length"));
            }
            (
                u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
                12,
            )
        }
        v => return Err(Error::Npy(format!("unsupported format version {v}"))),
    };
    Limits::check(
        "npy_header_bytes",
        hlen as u64,
        limits.npy_header_bytes,
        || {
            format!(
                "npy header length at byte {}",
                start - if major == 1 { 2 } else { 4 }
            )
        },
    )?;
    let end = start + hlen;
    if bytes.len() < end {
        return Err(err("truncated header"));
    }
    let text = std::str::from_utf8(&bytes[start..end]).map_err(|_| err("header is not text"))?;
    let mut p = PyParser {
        s: text.as_bytes(),
        pos: 0,
        depth: 0,
    };
    let v = p.value()?;
    let map = match v {
        Py::Dict(m) => m,
        _ => return Err(err("header is not a dict")),
    };
    let get = |k: &str| map.iter().find(|(kk, _)| kk == k).map(|(_, v)| v);
    let descr = py_to_descr(get("descr").ok_or_else(|| err("no descr"))?)?;
    let (dtype, endian) = DataType::from_descr(&descr)?;
    let fortran_order = match get("fortran_order") {
        Some(Py::Bool(b)) => *b,
        None => false,
        _ => return Err(err("fortran_order is not a bool")),
    };
    let shape = match get("shape") {
        Some(Py::Tuple(items)) | Some(Py::List(items)) => items
            .iter()
            .map(|i| match i {
                Py::Int(n) if *n >= 0 => Ok(*n as u64),
                _ => Err(err("shape entry is not a non-negative integer")),
            })
            .collect::<Result<Vec<u64>>>()?,
        _ => return Err(err("no shape")),
    };
    Ok(NpyHeader {
        dtype,
        endian,
        fortran_order,
        shape,
        data_offset: end,
    })
}

/// Read an `.npy` stream into a native-endian, C-order array.
pub fn read_npy_bytes(bytes: &[u8]) -> Result<ArrayBuf> {
    read_npy_bytes_with(bytes, &Limits::default())
}

/// [`read_npy_bytes`] with limits ([`Limits::npy_header_bytes`]).
///
/// # Errors
/// [`Error::Npy`] for a malformed stream, [`Error::LimitExceeded`] for a header over the limit.
pub fn read_npy_bytes_with(bytes: &[u8], limits: &Limits) -> Result<ArrayBuf> {
    let h = parse_header_with(bytes, limits)?;
    let n = num_bytes(&h.shape, h.dtype.size())?;
    let data = bytes
        .get(h.data_offset..)
        .filter(|d| d.len() >= n)
        .ok_or_else(|| Error::Npy(format!("data truncated: need {n} bytes after the header")))?;
    let mut raw = data[..n].to_vec();
    h.dtype.swap_to_native(h.endian, &mut raw);
    if h.fortran_order && h.shape.len() > 1 {
        let mut out = ArrayBuf::zeros(h.dtype.clone(), h.shape.clone())?;
        let region = Region::full(&h.shape);
        copy_region(
            &raw,
            &h.shape,
            Order::F,
            &region,
            out.bytes_mut(),
            &h.shape,
            &vec![0; h.shape.len()],
            h.dtype.size(),
        )?;
        Ok(out)
    } else {
        ArrayBuf::from_bytes(h.dtype, h.shape, &raw)
    }
}

/// Read an `.npy` file.
pub fn read_npy(path: impl AsRef<Path>) -> Result<ArrayBuf> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io(path.display().to_string(), e))?;
    read_npy_bytes(&bytes)
}

/// Most dimensions numpy allows an array (`NPY_MAXDIMS` of numpy 2; numpy 1 allowed 32).
pub const MAX_DIMS: usize = 64;

/// Check that numpy can load an array of `shape`: at most [`MAX_DIMS`] dimensions.
///
/// # Errors
/// [`Error::Shape`] naming the number of dimensions.
pub fn check_shape(shape: &[u64]) -> Result<()> {
    if shape.len() > MAX_DIMS {
        return Err(Error::Shape(format!(
            "an .npy file holds at most {MAX_DIMS} dimensions (numpy's limit); this array has {}",
            shape.len()
        )));
    }
    Ok(())
}

/// The header bytes (magic through padding) for an array of this type and shape, C order, native
/// order. Writers call [`check_shape`] first.
pub fn header_bytes(dtype: &DataType, shape: &[u64]) -> Vec<u8> {
    let descr = descr_to_py(&dtype.to_descr(Endian::NATIVE));
    let shape_s = match shape.len() {
        0 => "()".to_string(),
        1 => format!("({},)", shape[0]),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut dict = format!("{{'descr': {descr}, 'fortran_order': False, 'shape': {shape_s}, }}");
    // Version 1.0 when the header fits in u16, else 3.0 (utf-8 names); total header aligned to 64.
    let (version, prefix) = if dict.len() + 11 < 65_000 {
        (1u8, 10usize)
    } else {
        (3u8, 12usize)
    };
    let total = (prefix + dict.len() + 1).div_ceil(64) * 64;
    while prefix + dict.len() + 1 < total {
        dict.push(' ');
    }
    dict.push('\n');
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(MAGIC);
    out.push(version);
    out.push(0);
    if version == 1 {
        out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(dict.len() as u32).to_le_bytes());
    }
    out.extend_from_slice(dict.as_bytes());
    out
}

/// Write an array as an `.npy` stream.
pub fn write_npy_to(w: &mut impl Write, a: &ArrayBuf) -> Result<()> {
    let ctx = |e| Error::io("writing npy", e);
    check_shape(a.shape())?;
    w.write_all(&header_bytes(a.dtype(), a.shape()))
        .map_err(ctx)?;
    w.write_all(a.bytes()).map_err(ctx)
}

/// Write an array as an `.npy` file, atomically.
pub fn write_npy(path: impl AsRef<Path>, a: &ArrayBuf) -> Result<()> {
    check_shape(a.shape())?;
    let mut v = header_bytes(a.dtype(), a.shape());
    v.extend_from_slice(a.bytes());
    crate::store::write_atomic(path.as_ref(), &v)
}

/// A `.npy` file written region by region (an [`crate::ArrayWrite`]), for arrays larger than memory.
///
/// The header is written and the data area preallocated in a temporary file beside the target;
/// regions are written with positional writes (safe from many threads); [`crate::ArrayWrite::finish`]
/// syncs and renames the file into place. Dropped without `finish`, the temporary file is removed.
#[derive(Debug)]
pub struct NpyWriter {
    dtype: DataType,
    shape: Vec<u64>,
    chunks: Vec<u64>,
    file: crate::io::TempFile,
    data_offset: u64,
}

impl NpyWriter {
    /// Start writing an array of `dtype` and `shape` (native byte order, C order) to `path`.
    pub fn create(path: impl AsRef<Path>, dtype: DataType, shape: Vec<u64>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let dtype = dtype.to_native();
        check_shape(&shape)?;
        let header = header_bytes(&dtype, &shape);
        let n = num_bytes(&shape, dtype.size())? as u64;
        let mut file = crate::io::TempFile::create(&path)?;
        let ctx = |e| Error::io(path.display().to_string(), e);
        file.file_mut().write_all(&header).map_err(ctx)?;
        file.file().set_len(header.len() as u64 + n).map_err(ctx)?;
        // Natural unit: whole rows of the last axes, about 8 MiB.
        let mut chunks = shape.clone();
        let mut bytes = n;
        for c in chunks.iter_mut() {
            if bytes <= 8 << 20 || *c <= 1 {
                break;
            }
            let per = bytes / (*c).max(1);
            let keep = ((8u64 << 20) / per.max(1)).max(1).min(*c);
            bytes = per * keep;
            *c = keep;
        }
        Ok(NpyWriter {
            dtype,
            shape,
            chunks,
            file,
            data_offset: header.len() as u64,
        })
    }
}

impl crate::ArrayRead for NpyWriter {
    fn shape(&self) -> &[u64] {
        &self.shape
    }
    fn dtype(&self) -> &DataType {
        &self.dtype
    }
    fn chunk_shape(&self) -> Vec<u64> {
        self.chunks.clone()
    }
    fn read_region_into(&self, _region: &Region, _out: &mut [u8]) -> Result<()> {
        Err(Error::Unsupported("reading from an NpyWriter".into()))
    }
}

impl crate::ArrayWrite for NpyWriter {
    fn write_region(&self, region: &Region, data: &[u8]) -> Result<()> {
        region.check_within(&self.shape)?;
        crate::array::check_out_len(region, &self.dtype, data)?;
        let elem = self.dtype.size() as u64;
        // Write each contiguous run (the innermost axis, merged with full trailing axes).
        let mut src_off = 0usize;
        crate::io::region_runs(&self.shape, Order::C, region, |first, n| {
            let run_bytes = (n * elem) as usize;
            let pos = self.data_offset + first * elem;
            crate::io::write_all_at(self.file.file(), &data[src_off..src_off + run_bytes], pos)
                .map_err(|e| {
                    Error::io(format!("{} at offset {pos}", self.file.path().display()), e)
                })?;
            src_off += run_bytes;
            Ok(())
        })
    }

    fn finish(&self) -> Result<()> {
        self.file.persist()
    }
}

pub(crate) fn descr_to_py(d: &Descr) -> String {
    match d {
        Descr::Simple(s) => format!("'{s}'"),
        Descr::Record(fields) => {
            let items: Vec<String> = fields
                .iter()
                .map(|f| {
                    let name = f.name.replace('\\', "\\\\").replace('\'', "\\'");
                    let t = descr_to_py(&f.descr);
                    if f.shape.is_empty() {
                        format!("('{name}', {t})")
                    } else if f.shape.len() == 1 {
                        format!("('{name}', {t}, ({},))", f.shape[0])
                    } else {
                        let s: Vec<String> = f.shape.iter().map(|d| d.to_string()).collect();
                        format!("('{name}', {t}, ({}))", s.join(", "))
                    }
                })
                .collect();
            format!("[{}]", items.join(", "))
        }
    }
}

fn py_to_descr(v: &Py) -> Result<Descr> {
    let err = || Error::Npy("descr is not a typestr or record list".into());
    match v {
        Py::Str(s) => Ok(Descr::Simple(s.clone())),
        Py::List(items) => items
            .iter()
            .map(|it| match it {
                Py::Tuple(t) if t.len() == 2 || t.len() == 3 => {
                    let name = match &t[0] {
                        Py::Str(s) => s.clone(),
                        // (title, name) pairs: take the name
                        Py::Tuple(tn) if tn.len() == 2 => match &tn[1] {
                            Py::Str(s) => s.clone(),
                            _ => return Err(err()),
                        },
                        _ => return Err(err()),
                    };
                    let descr = py_to_descr(&t[1])?;
                    let shape = match t.get(2) {
                        None => vec![],
                        Some(Py::Int(n)) if *n >= 0 => vec![*n as usize],
                        Some(Py::Tuple(s)) => s
                            .iter()
                            .map(|x| match x {
                                Py::Int(n) if *n >= 0 => Ok(*n as usize),
                                _ => Err(err()),
                            })
                            .collect::<Result<_>>()?,
                        _ => return Err(err()),
                    };
                    Ok(DescrField { name, descr, shape })
                }
                _ => Err(err()),
            })
            .collect::<Result<Vec<_>>>()
            .map(Descr::Record),
        _ => Err(err()),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Py {
    Str(String),
    Int(i64),
    Bool(bool),
    None,
    Tuple(Vec<Py>),
    List(Vec<Py>),
    Dict(Vec<(String, Py)>),
}

struct PyParser<'a> {
    s: &'a [u8],
    pos: usize,
    depth: usize,
}

impl PyParser<'_> {
    fn err(&self, m: &str) -> Error {
        Error::Npy(format!("header: {m} at character {}", self.pos))
    }
    fn ws(&mut self) {
        while self.pos < self.s.len() && self.s[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.get(self.pos).copied()
    }
    fn value(&mut self) -> Result<Py> {
        self.depth += 1;
        if self.depth > 64 {
            return Err(self.err("nested too deeply"));
        }
        let v = match self.peek().ok_or_else(|| self.err("unexpected end"))? {
            b'\'' | b'"' => Py::Str(self.string()?),
            b'(' => Py::Tuple(self.seq(b')')?),
            b'[' => Py::List(self.seq(b']')?),
            b'{' => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    if self.peek() == Some(b'}') {
                        self.pos += 1;
                        break;
                    }
                    let k = match self.value()? {
                        Py::Str(s) => s,
                        _ => return Err(self.err("dict key is not a string")),
                    };
                    if self.peek() != Some(b':') {
                        return Err(self.err("expected ':'"));
                    }
                    self.pos += 1;
                    let v = self.value()?;
                    items.push((k, v));
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b'}') => {}
                        _ => return Err(self.err("expected ',' or '}'")),
                    }
                }
                Py::Dict(items)
            }
            c if c == b'-' || c.is_ascii_digit() => {
                let st = self.pos;
                self.pos += 1;
                while self.pos < self.s.len()
                    && (self.s[self.pos].is_ascii_digit() || self.s[self.pos] == b'L')
                {
                    self.pos += 1;
                }
                let t = std::str::from_utf8(&self.s[st..self.pos])
                    .unwrap_or("")
                    .trim_end_matches('L');
                Py::Int(t.parse().map_err(|_| self.err("bad integer"))?)
            }
            _ => {
                let st = self.pos;
                while self.pos < self.s.len() && self.s[self.pos].is_ascii_alphabetic() {
                    self.pos += 1;
                }
                match &self.s[st..self.pos] {
                    b"True" => Py::Bool(true),
                    b"False" => Py::Bool(false),
                    b"None" => Py::None,
                    _ => return Err(self.err("unexpected token")),
                }
            }
        };
        self.depth -= 1;
        Ok(v)
    }
    fn seq(&mut self, close: u8) -> Result<Vec<Py>> {
        self.pos += 1;
        let mut items = Vec::new();
        loop {
            if self.peek() == Some(close) {
                self.pos += 1;
                return Ok(items);
            }
            items.push(self.value()?);
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(c) if c == close => {}
                _ => return Err(self.err("expected ',' or closing bracket")),
            }
        }
    }
    fn string(&mut self) -> Result<String> {
        let q = self.s[self.pos];
        self.pos += 1;
        let mut out = Vec::new();
        while self.pos < self.s.len() {
            let c = self.s[self.pos];
            self.pos += 1;
            if c == b'\\' {
                let e = *self.s.get(self.pos).ok_or_else(|| self.err("bad escape"))?;
                self.pos += 1;
                out.push(match e {
                    b'n' => b'\n',
                    b't' => b'\t',
                    other => other,
                });
            } else if c == q {
                return String::from_utf8(out).map_err(|_| self.err("string is not utf-8"));
            } else {
                out.push(c);
            }
        }
        Err(self.err("unterminated string"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_simple_and_record() {
        let a = ArrayBuf::from_vec(vec![2, 3], &[1i32, 2, 3, 4, 5, 6]).unwrap();
        let mut v = Vec::new();
        write_npy_to(&mut v, &a).unwrap();
        assert_eq!((v.len() - 24) % 64, 0, "header is 64-byte aligned");
        let b = read_npy_bytes(&v).unwrap();
        assert_eq!(b.as_slice::<i32>().unwrap(), a.as_slice::<i32>().unwrap());
        assert_eq!(b.shape(), a.shape());

        let d = Descr::Record(vec![
            DescrField {
                name: "x".into(),
                descr: Descr::Simple(">f4".into()),
                shape: vec![],
            },
            DescrField {
                name: "y".into(),
                descr: Descr::Simple("<i2".into()),
                shape: vec![2, 2],
            },
        ]);
        let (dt, _) = DataType::from_descr(&d).unwrap();
        let h = header_bytes(&dt.to_native(), &[5]);
        let parsed = parse_header(&[h.clone(), vec![0; 60]].concat()).unwrap();
        assert_eq!(parsed.shape, vec![5]);
        assert_eq!(parsed.dtype, dt.to_native());
    }

    #[test]
    fn numpy_written_header() {
        // What np.save writes for np.arange(6, dtype='>i2').reshape(2,3) in Fortran order.
        let dict = b"{'descr': '>i2', 'fortran_order': True, 'shape': (2, 3), }";
        let mut h = b"\x93NUMPY\x01\x00".to_vec();
        let mut d = dict.to_vec();
        while !(10 + d.len() + 1).is_multiple_of(64) {
            d.push(b' ');
        }
        d.push(b'\n');
        h.extend_from_slice(&(d.len() as u16).to_le_bytes());
        h.extend_from_slice(&d);
        // F order data of [[0,1,2],[3,4,5]]: 0,3,1,4,2,5 big-endian
        for v in [0i16, 3, 1, 4, 2, 5] {
            h.extend_from_slice(&v.to_be_bytes());
        }
        let a = read_npy_bytes(&h).unwrap();
        assert_eq!(a.as_slice::<i16>().unwrap(), &[0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn npy_writer_by_regions() {
        use crate::{ArrayRead, ArrayWrite};
        let d = std::env::temp_dir().join(format!("nd-npy-writer-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let p = d.join("w.npy");
        let w = NpyWriter::create(&p, DataType::UInt16, vec![4, 5]).unwrap();
        assert_eq!(w.shape(), &[4, 5]);
        let r1 = Region::new(vec![0..4, 0..2]);
        let r2 = Region::new(vec![0..4, 2..5]);
        let v1: Vec<u16> = (0..4)
            .flat_map(|i| (0..2).map(move |j| i * 10 + j))
            .collect();
        let v2: Vec<u16> = (0..4)
            .flat_map(|i| (2..5).map(move |j| i * 10 + j))
            .collect();
        w.write_region(&r1, bytemuck::cast_slice(&v1)).unwrap();
        w.write_region(&r2, bytemuck::cast_slice(&v2)).unwrap();
        assert!(!p.exists(), "nothing at the target before finish");
        w.finish().unwrap();
        let a = read_npy(&p).unwrap();
        let want: Vec<u16> = (0..4)
            .flat_map(|i| (0..5).map(move |j| i * 10 + j))
            .collect();
        assert_eq!(a.as_slice::<u16>().unwrap(), &want[..]);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn header_over_the_limit_is_refused() {
        let a = ArrayBuf::from_vec(vec![2, 3], &[1u16, 2, 3, 4, 5, 6]).unwrap();
        let mut bytes = Vec::new();
        write_npy_to(&mut bytes, &a).unwrap();
        let hlen = u16::from_le_bytes([bytes[8], bytes[9]]) as u64;
        let at = Limits {
            npy_header_bytes: hlen,
            ..Limits::default()
        };
        assert!(read_npy_bytes_with(&bytes, &at).is_ok());
        let below = Limits {
            npy_header_bytes: hlen - 1,
            ..Limits::default()
        };
        match read_npy_bytes_with(&bytes, &below) {
            Err(Error::LimitExceeded {
                limit, value, at, ..
            }) => {
                assert_eq!((limit, value), ("npy_header_bytes", hlen));
                assert_eq!(at, "npy header length at byte 8");
            }
            r => panic!("{r:?}"),
        }
    }

    #[test]
    fn bad_inputs_are_errors() {
        assert!(read_npy_bytes(b"").is_err());
        assert!(read_npy_bytes(b"\x93NUMPY\x01\x00\xff\xff{").is_err());
        let mut h = header_bytes(&DataType::Float64, &[1 << 40]);
        h.extend_from_slice(&[0; 8]);
        assert!(read_npy_bytes(&h).is_err());
    }
}
