//! `.npy` and `.npz` files as sources (`nd info`, `export`, `stat`, `convert`), read as
//! `numpy.load` reads them.
//!
//! An `.npy` file is one array, selected as `data` (or `/`, or nothing); an `.npz` (a zip of
//! `.npy` members, `np.savez` stored, `np.savez_compressed` deflated) holds one array per member,
//! selected by the member's name without `.npy`, as `np.load(f)[name]`. The values are read
//! whole into memory (as `np.load` without `mmap_mode`), each array at most
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
    arrays: Vec<(String, Arc<nd_ops::MemArray>)>,
}

impl NpyDataset {
    /// Read a `.npy` file held by `src`: one array, named `data`.
    ///
    /// # Errors
    /// [`Error::Input`] naming `path` when the header or data do not parse or exceed `limits`.
    pub fn from_npy(path: &str, src: &dyn ByteSource, limits: &Limits) -> Result<Self> {
        let arr = read_npy(path, "data", src, limits)?;
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

    fn find(&self, selector: &str) -> Result<&Arc<nd_ops::MemArray>> {
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
) -> Result<Arc<nd_ops::MemArray>> {
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
    Ok(Arc::new(nd_ops::MemArray::new(buf)))
}

/// A shared array as a boxed reader.
struct Shared(Arc<nd_ops::MemArray>);

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
