//! `.npy` and `.npz` files as sources (`nd info`, `export`, `stat`, `convert`), read as
//! `numpy.load` reads them.
//!
//! An `.npy` file is one array, selected as `data` (or `/`, or nothing); an `.npz` (a zip of
//! `.npy` members, `np.savez` stored, `np.savez_compressed` deflated) holds one array per member,
//! selected by the member's name without `.npy`, as `np.load(f)[name]`. A C-order `.npy` is read
//! in place, region by region (as `np.load(mmap_mode="r")`); a Fortran-order one and `.npz`
//! members are read whole into memory (as `np.load` without `mmap_mode`), each at most
//! [`nd_core::Limits::decompressed_bytes`]; object arrays (pickles) are refused, as
//! `np.load(allow_pickle=False)` does.

use crate::backend::{typestr, ArrayEntry, ArrayKind, Backend, ConvertItem, ConvertPlan, Finding};
use crate::error::{Error, Result};
use nd_core::{ArrayRead, ByteSource, Limits, Store};
use std::io::Write;
use std::sync::Arc;

/// numpy's `.npy` magic.
pub(crate) const NPY_MAGIC: &[u8] = b"\x93NUMPY";

/// An opened `.npy` or `.npz` file: its arrays, read whole.
pub struct NpyDataset {
    path: String,
    zipped: bool,
    arrays: Vec<(String, Arc<dyn ArrayRead>)>,
}

impl NpyDataset {
    /// Open a `.npy` file held by `src`: one array, named `data`. A C-order file is read lazily
    /// (each region's byte runs, as `np.load(mmap_mode="r")`); a Fortran-order one whole.
    ///
    /// # Errors
    /// [`Error::Input`] naming `path` when the header does not parse, the data are shorter
    /// than the header says, or a whole read exceeds `limits`.
    pub fn from_npy(path: &str, src: Arc<dyn ByteSource>, limits: &Limits) -> Result<Self> {
        let fail = |e: &dyn std::fmt::Display| Error::input(format!("{path}: {e}"));
        let head_len = src.len().min(12);
        let head = src.read_range(0..head_len).map_err(|e| fail(&e))?;
        let hlen = match head.get(6) {
            Some(1) if head.len() >= 10 => 10 + u64::from(u16::from_le_bytes([head[8], head[9]])),
            Some(2 | 3) if head.len() >= 12 => {
                12 + u64::from(u32::from_le_bytes([head[8], head[9], head[10], head[11]]))
            }
            _ => 12,
        };
        let hbytes = src
            .read_range(0..hlen.min(src.len()).min(12 + limits.npy_header_bytes))
            .map_err(|e| fail(&e))?;
        let h = nd_core::npy::parse_header_with(&hbytes, limits).map_err(|e| fail(&e))?;
        let arr: Arc<dyn ArrayRead> = if h.fortran_order {
            read_npy(path, "data", &*src, limits)?
        } else {
            Arc::new(LazyNpy::new(path, src, &h)?)
        };
        Ok(NpyDataset {
            path: path.to_string(),
            zipped: false,
            arrays: vec![("data".into(), arr)],
        })
    }

    /// Read an `.npz` (a zip of `.npy` members); `None` when a member is not `.npy` (then the zip
    /// is something else: a Zarr store, a zipped FITS file).
    ///
    /// # Errors
    /// [`Error::Input`] naming the member when one cannot be read or exceeds `limits`.
    pub fn from_npz(path: &str, zip: &nd_zarr::ZipStore, limits: &Limits) -> Result<Option<Self>> {
        let fail = |e: &dyn std::fmt::Display| Error::input(format!("{path}: {e}"));
        let members = zip.list_prefix("").map_err(|e| fail(&e))?;
        if members.is_empty() || !members.iter().all(|m| m.ends_with(".npy")) {
            return Ok(None);
        }
        let mut arrays = Vec::with_capacity(members.len());
        for m in &members {
            let size = zip.uncompressed_len(m).unwrap_or(0);
            Limits::check(
                "decompressed_bytes",
                size,
                limits.decompressed_bytes,
                || m.clone(),
            )
            .map_err(|e| fail(&e))?;
            let bytes = zip
                .get(m)
                .map_err(|e| fail(&e))?
                .ok_or_else(|| fail(&format!("member {m} vanished")))?;
            let name = m.trim_end_matches(".npy").to_string();
            let src = nd_core::MemSource::new(bytes);
            arrays.push((name.clone(), read_npy(path, &name, &src, limits)?));
        }
        Ok(Some(NpyDataset {
            path: path.to_string(),
            zipped: true,
            arrays,
        }))
    }

    fn find(&self, selector: &str) -> Result<&Arc<dyn ArrayRead>> {
        let s = selector.trim().trim_matches('/');
        let s = if s.is_empty() && self.arrays.len() == 1 {
            self.arrays[0].0.as_str()
        } else {
            s
        };
        self.arrays
            .iter()
            .find(|(n, _)| n == s)
            .map(|(_, a)| a)
            .ok_or_else(|| {
                let names: Vec<&str> = self.arrays.iter().map(|(n, _)| n.as_str()).collect();
                Error::input(format!(
                    "{}: no array '{selector}' (it holds {})",
                    self.path,
                    names.join(", ")
                ))
            })
    }
}

fn read_npy(
    path: &str,
    name: &str,
    src: &dyn ByteSource,
    limits: &Limits,
) -> Result<Arc<dyn ArrayRead>> {
    let fail = |e: &dyn std::fmt::Display| Error::input(format!("{path}: {name}: {e}"));
    Limits::check(
        "decompressed_bytes",
        src.len(),
        limits.decompressed_bytes,
        || name.to_string(),
    )
    .map_err(|e| fail(&e))?;
    let bytes = src.read_range(0..src.len()).map_err(|e| fail(&e))?;
    if !bytes.starts_with(NPY_MAGIC) {
        return Err(fail(&"not an .npy array (no \\x93NUMPY magic)"));
    }
    let buf = nd_core::npy::read_npy_bytes_with(&bytes, limits).map_err(|e| fail(&e))?;
    Ok(Arc::new(nd_ops::MemArray::new(buf)) as Arc<dyn ArrayRead>)
}

/// A C-order `.npy` array read in place: a region is read as its byte runs, then swapped to
/// native byte order.
struct LazyNpy {
    src: Arc<dyn ByteSource>,
    offset: u64,
    shape: Vec<u64>,
    stored: nd_core::DataType,
    endian: nd_core::Endian,
    native: nd_core::DataType,
}

impl LazyNpy {
    fn new(path: &str, src: Arc<dyn ByteSource>, h: &nd_core::npy::NpyHeader) -> Result<Self> {
        let bytes = nd_core::num_bytes(&h.shape, h.dtype.size())
            .map_err(|e| Error::input(format!("{path}: {e}")))?;
        let need = h.data_offset as u64 + bytes as u64;
        if src.len() < need {
            return Err(Error::input(format!(
                "{path}: the data end at byte {} but the header says {need} (truncated .npy)",
                src.len()
            )));
        }
        Ok(LazyNpy {
            src,
            offset: h.data_offset as u64,
            shape: h.shape.clone(),
            native: h.dtype.to_native(),
            stored: h.dtype.clone(),
            endian: h.endian,
        })
    }
}

impl ArrayRead for LazyNpy {
    fn shape(&self) -> &[u64] {
        &self.shape
    }
    fn dtype(&self) -> &nd_core::DataType {
        &self.native
    }
    fn chunk_shape(&self) -> Vec<u64> {
        // slabs of about 4 MiB along the first axis
        let mut c = self.shape.clone();
        if let Some(first) = c.first_mut() {
            let row: u64 =
                self.shape[1..].iter().product::<u64>().max(1) * self.native.size().max(1) as u64;
            *first = ((4u64 << 20) / row).clamp(1, (*first).max(1));
        }
        c
    }
    fn read_region_into(&self, region: &nd_core::Region, out: &mut [u8]) -> nd_core::Result<()> {
        nd_core::array::check_out_len(region, &self.native, out)?;
        let plan = nd_core::io::RunPlan::contiguous(
            &self.shape,
            nd_core::Order::C,
            region,
            self.stored.size(),
        )?;
        let Some(plan) = plan else {
            return Ok(());
        };
        // the runs in batches, through the source's batched reads (coalesced for URLs)
        let base = self.offset;
        plan.execute(out, out.len() as u64, &mut |ranges| {
            let abs: Vec<std::ops::Range<u64>> = ranges
                .iter()
                .map(|r| base + r.start..base + r.end)
                .collect();
            self.src.read_ranges(&abs)
        })?;
        self.stored.swap_to_native(self.endian, out);
        Ok(())
    }
}

/// A shared array as a boxed reader.
struct Shared(Arc<dyn ArrayRead>);

impl ArrayRead for Shared {
    fn shape(&self) -> &[u64] {
        self.0.shape()
    }
    fn dtype(&self) -> &nd_core::DataType {
        self.0.dtype()
    }
    fn chunk_shape(&self) -> Vec<u64> {
        self.0.chunk_shape()
    }
    fn read_region_into(&self, region: &nd_core::Region, out: &mut [u8]) -> nd_core::Result<()> {
        self.0.read_region_into(region, out)
    }
}

impl Backend for NpyDataset {
    fn format(&self) -> &'static str {
        "npy"
    }

    fn arrays(&self) -> Result<Vec<ArrayEntry>> {
        Ok(self
            .arrays
            .iter()
            .map(|(n, a)| ArrayEntry {
                path: n.clone(),
                shape: a.shape().to_vec(),
                dtype: typestr(a.dtype()),
                chunks: None,
                codec: None,
                kind: ArrayKind::Array,
            })
            .collect())
    }

    fn open_array(&self, selector: &str) -> Result<Box<dyn ArrayRead>> {
        Ok(Box::new(Shared(self.find(selector)?.clone())))
    }

    fn info_human(&self, w: &mut dyn Write) -> std::io::Result<()> {
        writeln!(
            w,
            "{} file: {} ({})",
            if self.zipped { "npz" } else { "npy" },
            self.path,
            super::count(self.arrays.len(), "array")
        )?;
        for (n, a) in &self.arrays {
            writeln!(
                w,
                "  {n}  {} {}",
                nd_core::fmt_shape(a.shape().iter()),
                typestr(a.dtype())
            )?;
        }
        Ok(())
    }

    fn metadata(&self) -> Result<serde_json::Value> {
        Ok(serde_json::json!({}))
    }

    fn native(&self) -> crate::Native<'_> {
        crate::Native::Npy
    }

    fn convert_plan(&self) -> Result<ConvertPlan> {
        let items = self
            .arrays
            .iter()
            .map(|(n, _)| ConvertItem {
                name: n.clone(),
                selector: n.clone(),
                meta: serde_json::Map::new(),
                table: None,
            })
            .collect();
        Ok(ConvertPlan {
            items,
            ..ConvertPlan::default()
        })
    }

    fn verify(&self) -> Result<Vec<Finding>> {
        Ok(self
            .arrays
            .iter()
            .map(|(n, a)| {
                Finding::ok(
                    n.clone(),
                    "array",
                    format!(
                        "{} {} read whole",
                        nd_core::fmt_shape(a.shape().iter()),
                        typestr(a.dtype())
                    ),
                )
            })
            .collect())
    }
}
