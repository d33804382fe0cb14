//! Limits on what untrusted input may make nd allocate or walk, in one place.
//!
//! Every size a file declares (a header length, a decompressed size, a number of blocks or YAML
//! nodes, a tree depth) is checked against [`Limits`] before nd allocates for it. The defaults
//! are generous (far above any real file, each says why) and bound what a hostile or corrupt
//! file can cost; a file over one is refused with [`Error::LimitExceeded`], which names the
//! limit, the value, and where in the input it was found, never with a panic or an abort.
//! Format crates take a `Limits` in their open options (their plain constructors use
//! [`Limits::default`]), and `nd::OpenOptions::limits` passes one down to whichever format is
//! opened.
//!
//! ```
//! use nd_core::{npy, Error, Limits};
//! let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
//! let header = "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }";
//! bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
//! bytes.extend_from_slice(header.as_bytes());
//! bytes.extend_from_slice(&[0u8; 24]);
//! assert!(npy::read_npy_bytes(&bytes).is_ok());
//! let small = Limits { npy_header_bytes: 16, ..Limits::default() };
//! let e = npy::read_npy_bytes_with(&bytes, &small).unwrap_err();
//! assert!(matches!(e, Error::LimitExceeded { limit: "npy_header_bytes", .. }));
//! ```

use crate::error::{Error, Result};

/// Bounds on what untrusted input may make a reader allocate or walk. Build one from
/// [`Limits::default`] and change the fields that matter (`Limits { decompressed_bytes: 1 << 30,
/// ..Limits::default() }`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Limits {
    /// Largest decompressed size of a whole file decompressed into memory before it is read (a
    /// gzip-compressed `.fits.gz`, which astropy too decompresses whole). Default 16 GiB: above
    /// any image opened whole in memory, while a gzip bomb (about 1000:1) of a few megabytes
    /// stops there; lower it on machines with less memory.
    pub decompressed_bytes: u64,
    /// Largest decoded size of one chunk (a Zarr or asdf-zarr chunk, before it is cropped).
    /// Default 16 GiB (`1 << 34`): zarr-python and numcodecs decode a chunk whole into memory,
    /// and no real chunking comes near this.
    pub chunk_bytes: u64,
    /// Largest number of blocks an ASDF file may declare. Default 16 Mi: python asdf reads a
    /// block header per block (files with a few hundred thousand exist); each costs nd ~100
    /// bytes.
    pub blocks: u64,
    /// Largest number of YAML nodes a tree may have after alias expansion; 0 (the default) means
    /// two per byte of the tree plus 256 Ki. Text without aliases makes at most one node per two
    /// bytes (`[1,1,…]`), so this leaves aliases room to quadruple a tree, while an exponential
    /// "billion laughs" bomb stops within about 30 MiB (a node costs about 100 bytes).
    pub tree_nodes: u64,
    /// Deepest nesting of a YAML tree. Default 256: PyYAML and python asdf recurse per level
    /// (Python's default recursion limit is 1000); real ASDF trees are under 30 deep.
    pub tree_depth: usize,
    /// Longest `.npy` header. Default 1 MiB: numpy refuses headers over 10 kB unless told
    /// `max_header_size`; a record dtype with thousands of fields fits in 1 MiB.
    pub npy_header_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            decompressed_bytes: 16 << 30,
            chunk_bytes: 1 << 34,
            blocks: 16 << 20,
            tree_nodes: 0,
            tree_depth: 256,
            npy_header_bytes: 1 << 20,
        }
    }
}

impl Limits {
    /// The node budget for a YAML tree of `len` bytes: [`Limits::tree_nodes`], or when that is
    /// 0, two nodes per byte plus 256 Ki.
    pub fn tree_nodes_for(&self, len: usize) -> u64 {
        if self.tree_nodes == 0 {
            (256u64 << 10).saturating_add(2u64.saturating_mul(len as u64))
        } else {
            self.tree_nodes
        }
    }

    /// Check `value` against the limit `max` (the field named `limit`), found at `at` (a path,
    /// a key, an offset).
    ///
    /// # Errors
    /// [`Error::LimitExceeded`] when `value > max`.
    pub fn check(
        limit: &'static str,
        value: u64,
        max: u64,
        at: impl FnOnce() -> String,
    ) -> Result<()> {
        if value > max {
            return Err(Error::LimitExceeded {
                limit,
                value,
                max,
                at: at(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_a_limit_names_it_and_where() {
        assert!(Limits::check("blocks", 10, 10, || unreachable!()).is_ok());
        let e = Limits::check("blocks", 11, 10, || "a.asdf".into()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "a.asdf: 11 is over the limit blocks = 10 (raise it in nd_core::Limits)"
        );
        let l = Limits::default();
        assert_eq!(l.tree_nodes_for(100), (256 << 10) + 200);
        assert_eq!(Limits { tree_nodes: 5, ..l }.tree_nodes_for(100), 5);
    }
}
