//! Writing ASDF files that python asdf reads back: a tree with arrays in blocks (optionally
//! compressed), inline arrays, views into shared blocks, Zarr-chunked arrays, a streamed last
//! array; checksums (MD5 of the stored bytes) and a block index; written atomically.

use crate::blocks::md5;
use crate::emit::emit_document;
use crate::encode::{
    byteorder, inline_data, int_seq, with_endian, write_block_header, write_index,
};
use crate::error::{Error, Result};
use crate::layout::FLAG_STREAMED;
use crate::yaml::{Node, Value};
use nd_codecs::zarr_v2::ArrayMetadataV2;
use nd_core::io::TempFile;
use nd_core::{ArrayBuf, DataType, Endian};
use std::io::Write;
use std::path::Path;

pub use crate::encode::{datatype_node, insert_path, NDARRAY_TAG_WRITE};

/// The ASDF standard version written.
pub const STANDARD_VERSION: &str = "1.5.0";

/// Block compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// `zlib`
    Zlib,
    /// `bzp2`
    Bzip2,
    /// `lz4` (python asdf's 4 MiB chunk framing)
    Lz4,
}

impl Compression {
    /// The 4-byte id.
    pub fn id(self) -> [u8; 4] {
        match self {
            Compression::Zlib => *b"zlib",
            Compression::Bzip2 => *b"bzp2",
            Compression::Lz4 => *b"lz4\0",
        }
    }
}

/// How one array is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Storage {
    /// Inline when smaller than the writer's threshold, otherwise a block.
    #[default]
    Auto,
    /// Always a block.
    Block,
    /// Always inline in the tree.
    Inline,
}

/// Per-array options.
#[derive(Debug, Clone, Copy, Default)]
pub struct ArrayOptions {
    /// Block compression.
    pub compression: Option<Compression>,
    /// Storage choice.
    pub storage: Storage,
}

/// A block added to a writer, stored when the file is written.
pub(crate) struct PendingBlock {
    pub(crate) data: Vec<u8>,
    pub(crate) compression: Option<Compression>,
}

/// What a declared array is: uncompressed values in one block, or asdf-zarr chunks.
pub(crate) enum DeclaredKind {
    Raw { dtype: DataType, shape: Vec<u64> },
    Zarr { meta: Box<ArrayMetadataV2> },
}

/// An array declared for out-of-core writing (see [`crate::deferred`]).
pub(crate) struct Declared {
    pub(crate) path: String,
    pub(crate) kind: DeclaredKind,
}

/// Builds an ASDF file: a tree plus arrays, written in one go with [`AsdfWriter::write`].
pub struct AsdfWriter {
    pub(crate) tree: Node,
    pub(crate) blocks: Vec<PendingBlock>,
    pub(crate) stream: Option<(String, Vec<u8>)>,
    pub(crate) deferred: Vec<Declared>,
    /// Arrays with fewer elements than this are written inline under [`Storage::Auto`] (default 0: never).
    pub inline_threshold: u64,
    /// Write MD5 checksums (default true).
    pub checksums: bool,
    /// Write a block index (default true).
    pub block_index: bool,
}

impl Default for AsdfWriter {
    fn default() -> Self {
        Self::new()
    }
}

fn software() -> Node {
    Node::tagged(
        "tag:stsci.edu:asdf/core/software-1.0.0",
        Value::Map(thin_vec::thin_vec![
            (Node::str("author"), Node::str("nd")),
            (
                Node::str("homepage"),
                Node::str("https://example.invalid/nd"),
            ),
            (Node::str("name"), Node::str("nd-asdf")),
            (Node::str("version"), Node::str(env!("CARGO_PKG_VERSION"))),
        ]),
    )
}

impl AsdfWriter {
    /// An empty file.
    pub fn new() -> Self {
        AsdfWriter {
            tree: Node::tagged(
                "tag:stsci.edu:asdf/core/asdf-1.1.0",
                Value::Map(thin_vec::thin_vec![(Node::str("asdf_library"), software())]),
            ),
            blocks: Vec::new(),
            stream: None,
            deferred: Vec::new(),
            inline_threshold: 0,
            checksums: true,
            block_index: true,
        }
    }

    /// The tree (the root mapping), to add metadata.
    pub fn tree_mut(&mut self) -> &mut Node {
        &mut self.tree
    }

    /// Set a tree value at a `/` path.
    pub fn set(&mut self, path: &str, value: Node) -> Result<()> {
        insert_path(&mut self.tree, path, value)
    }

    fn add_block(&mut self, data: Vec<u8>, compression: Option<Compression>) -> usize {
        self.blocks.push(PendingBlock { data, compression });
        self.blocks.len() - 1
    }

    /// Add an array (native-endian values) at a tree path. Returns the block index, if any.
    pub fn add_array(
        &mut self,
        path: &str,
        data: &ArrayBuf,
        opts: ArrayOptions,
    ) -> Result<Option<usize>> {
        self.add_array_endian(path, data, Endian::NATIVE, opts)
    }

    /// Add an array stored in the given byte order.
    pub fn add_array_endian(
        &mut self,
        path: &str,
        data: &ArrayBuf,
        endian: Endian,
        opts: ArrayOptions,
    ) -> Result<Option<usize>> {
        let n = data.len() as u64;
        let inline = match opts.storage {
            Storage::Inline => true,
            Storage::Block => false,
            // python asdf (6.0) cannot read inline records when the first dimension equals the
            // number of fields (its `inline_data_asarray` takes the outer list for one record),
            // so records go to blocks unless inline storage is asked for explicitly
            Storage::Auto => {
                n < self.inline_threshold && !matches!(data.dtype(), DataType::Struct(_))
            }
        };
        let dt = data.dtype().clone();
        let mut m = Vec::new();
        let mut block = None;
        if inline {
            m.push((Node::str("data"), inline_data(data)?));
        } else {
            let mut bytes = data.bytes().to_vec();
            let stored_dt = with_endian(&dt, endian);
            stored_dt.swap_from_native(endian, &mut bytes);
            let b = self.add_block(bytes, opts.compression);
            block = Some(b);
            m.push((Node::str("source"), Node::new(Value::int(b as i128))));
        }
        m.push((
            Node::str("datatype"),
            datatype_node(&with_endian(&dt, endian), endian)?,
        ));
        if !inline {
            m.push((Node::str("byteorder"), Node::str(byteorder(endian))));
        }
        m.push((Node::str("shape"), int_seq(data.shape())));
        self.set(path, Node::tagged(NDARRAY_TAG_WRITE, Value::Map(m.into())))?;
        Ok(block)
    }

    /// Add a view into the block of an array added earlier: `offset` and `strides` in bytes
    /// (negative strides allowed), stored type and byte order of the base.
    #[allow(clippy::too_many_arguments)]
    pub fn add_view(
        &mut self,
        path: &str,
        base_block: usize,
        dtype: &DataType,
        endian: Endian,
        shape: &[u64],
        offset: u64,
        strides: &[i64],
    ) -> Result<()> {
        let pb = self
            .blocks
            .get(base_block)
            .ok_or_else(|| Error::node(path, "no such block"))?;
        crate::storage::check_view_bounds(
            shape,
            offset,
            strides,
            dtype.size(),
            pb.data.len() as u64,
            path,
        )?;
        let m = vec![
            (
                Node::str("source"),
                Node::new(Value::int(base_block as i128)),
            ),
            (Node::str("datatype"), datatype_node(dtype, endian)?),
            (Node::str("byteorder"), Node::str(byteorder(endian))),
            (Node::str("shape"), int_seq(shape)),
            (Node::str("offset"), Node::new(Value::int(offset as i128))),
            (
                Node::str("strides"),
                Node::new(Value::Seq(
                    strides
                        .iter()
                        .map(|&s| Node::new(Value::int(s as i128)))
                        .collect(),
                )),
            ),
        ];
        self.set(path, Node::tagged(NDARRAY_TAG_WRITE, Value::Map(m.into())))
    }

    /// Add a masked array: values plus a boolean mask array (python asdf's layout).
    pub fn add_masked(
        &mut self,
        path: &str,
        data: &ArrayBuf,
        mask: &[bool],
        opts: ArrayOptions,
    ) -> Result<()> {
        if mask.len() != data.len() {
            return Err(Error::node(path, "mask size differs from the data"));
        }
        self.add_array(path, data, opts)?;
        let mb: Vec<u8> = mask.iter().map(|&b| b as u8).collect();
        let mbuf = ArrayBuf::from_bytes(DataType::Bool, data.shape().to_vec(), &mb)?;
        self.add_array(&format!("{path}/mask"), &mbuf, opts)?;
        Ok(())
    }

    /// Add an array written in the asdf-zarr layout (Zarr v2 chunks in blocks, a `chunk_block_map`
    /// block of int32 indices, -1 for chunks that are all fill value and are not stored).
    pub fn add_zarr(
        &mut self,
        path: &str,
        data: &ArrayBuf,
        chunks: &[u64],
        compressor: &serde_json::Value,
        fill_value: Option<f64>,
    ) -> Result<()> {
        let node = crate::zarr::write_zarr(
            &mut |b| self.push_raw_block(b),
            data,
            chunks,
            compressor,
            fill_value,
            path,
        )?;
        self.set(path, node)
    }

    pub(crate) fn push_raw_block(&mut self, data: Vec<u8>) -> usize {
        self.add_block(data, None)
    }

    /// Declare a streamed last array (shape `['*', row...]`); its rows are appended with
    /// [`StreamWriter::write_rows`] after [`AsdfWriter::write_streaming`].
    pub fn set_stream(&mut self, path: &str, dtype: &DataType, row_shape: &[u64]) -> Result<()> {
        let mut shape = vec![Node::str("*")];
        shape.extend(row_shape.iter().map(|&d| Node::new(Value::int(d as i128))));
        let m = vec![
            (Node::str("source"), Node::new(Value::int(-1))),
            (Node::str("datatype"), datatype_node(dtype, Endian::NATIVE)?),
            (Node::str("byteorder"), Node::str(byteorder(Endian::NATIVE))),
            (Node::str("shape"), Node::new(Value::Seq(shape.into()))),
        ];
        self.set(path, Node::tagged(NDARRAY_TAG_WRITE, Value::Map(m.into())))?;
        self.stream = Some((path.to_string(), Vec::new()));
        Ok(())
    }

    /// The header and tree text.
    pub(crate) fn head(tree: &Node) -> Vec<u8> {
        let mut out = format!(
            "#ASDF 1.0.0\n#ASDF_STANDARD {STANDARD_VERSION}\n%YAML 1.1\n%TAG ! tag:stsci.edu:asdf/\n--- "
        )
        .into_bytes();
        out.extend_from_slice(emit_document(tree).as_bytes());
        out.extend_from_slice(b"...\n");
        out
    }

    /// The whole file as bytes (without a streamed block's rows).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        if !self.deferred.is_empty() {
            return Err(Error::node(
                &self.deferred[0].path, // ok: not empty
                "arrays declared with add_array_deferred are written with write_deferred",
            ));
        }
        let mut out = Self::head(&self.tree);
        let offsets = self.append_blocks(&mut out)?;
        if self.stream.is_some() {
            write_block_header(&mut out, FLAG_STREAMED, [0; 4], 0, 0, 0, [0; 16]);
        } else if self.block_index && !offsets.is_empty() {
            write_index(&mut out, &offsets);
        }
        Ok(out)
    }

    /// Append the in-memory blocks (encoded, with checksums) to `out`; their offsets.
    pub(crate) fn append_blocks(&self, out: &mut Vec<u8>) -> Result<Vec<u64>> {
        let mut offsets = Vec::new();
        for b in &self.blocks {
            offsets.push(out.len() as u64);
            let stored = match b.compression {
                Some(c) => nd_codecs::asdf::encode(&c.id(), &b.data).map_err(|e| Error::Codec {
                    block: offsets.len() - 1,
                    message: e.to_string(),
                })?,
                None => b.data.clone(),
            };
            let id = b.compression.map_or([0; 4], |c| c.id());
            write_block_header(
                out,
                0,
                id,
                stored.len() as u64,
                stored.len() as u64,
                b.data.len() as u64,
                if self.checksums {
                    md5(&stored)
                } else {
                    [0; 16]
                },
            );
            out.extend_from_slice(&stored);
        }
        Ok(offsets)
    }

    /// Write the file atomically (temporary file beside it, then rename).
    pub fn write(&self, path: impl AsRef<Path>) -> Result<()> {
        let bytes = self.to_bytes()?;
        nd_core::write_atomic(path.as_ref(), &bytes)?;
        Ok(())
    }

    /// Start writing a file with a streamed last array (declared with [`AsdfWriter::set_stream`]):
    /// rows are appended, and [`StreamWriter::finish`] renames the file into place.
    pub fn write_streaming(&self, path: impl AsRef<Path>) -> Result<StreamWriter> {
        if self.stream.is_none() {
            return Err(Error::node("", "no streamed array declared"));
        }
        let bytes = self.to_bytes()?;
        let (temp, mut file) = temp_beside(path.as_ref())?;
        file.write_all(&bytes).map_err(|e| io_err(temp.path(), e))?;
        Ok(StreamWriter { file, temp })
    }
}

pub(crate) fn io_err(p: &Path, e: std::io::Error) -> Error {
    Error::Core(nd_core::Error::io(p.display().to_string(), e))
}

/// A temporary file beside `path` (nd-core's [`TempFile`]: removed unless persisted, and on
/// SIGINT/SIGTERM by the `nd` command), and a second handle to it for writing.
pub(crate) fn temp_beside(path: &Path) -> Result<(TempFile, std::fs::File)> {
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
    }
    let temp = TempFile::create(path)?;
    let file = temp
        .file()
        .try_clone()
        .map_err(|e| io_err(temp.path(), e))?;
    Ok((temp, file))
}

/// Appends rows to the streamed last block of a file being written.
pub struct StreamWriter {
    file: std::fs::File,
    temp: TempFile,
}

impl StreamWriter {
    /// Append native-endian rows (whole rows of the declared type and row shape).
    pub fn write_rows(&mut self, data: &[u8]) -> Result<()> {
        self.file
            .write_all(data)
            .map_err(|e| io_err(self.temp.path(), e))
    }

    /// Flush and rename the file into place.
    pub fn finish(self) -> Result<()> {
        self.temp.persist()?;
        Ok(())
    }
}
