//! The physical layout of an ASDF file: header line, comments, YAML tree, blocks, block index.
//!
//! Everything here reads through a [`ByteSource`] and validates every size against the source
//! length before reading.

use crate::error::{Error, Result};
use bytes::Bytes;
use nd_core::{ByteSource, Limits};

/// Block magic `\xd3BLK`.
pub const BLOCK_MAGIC: &[u8; 4] = b"\xd3BLK";
/// Header line of the block index.
pub const INDEX_HEADER: &[u8] = b"#ASDF BLOCK INDEX";
/// Size of the fixed block header fields after the 2-byte header size (flags .. checksum).
pub const MIN_HEADER_SIZE: u16 = 48;
/// Block flag: the block is streamed (runs to the end of the file).
pub const FLAG_STREAMED: u32 = 1;

const CHUNK: u64 = 8 * 1024;
/// How far back from the end of the file the block index is searched for.
const MAX_INDEX_SEARCH: u64 = 16 << 20;
/// The first tail read when looking for the block index.
pub const INDEX_TAIL: u64 = 64 << 10;

/// One block header as read from the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockHeader {
    /// Offset of the block magic in the file.
    pub offset: u64,
    /// Header size (bytes after the 2-byte size field, at least 48).
    pub header_size: u16,
    /// Flags (bit 0: streamed).
    pub flags: u32,
    /// Compression id (`\0\0\0\0` for none).
    pub compression: [u8; 4],
    /// Allocated size (bytes reserved after the header).
    pub allocated: u64,
    /// Used size (stored bytes). For a streamed block: from the data start to the end of the file.
    pub used: u64,
    /// Size of the decoded data. For a streamed block: the used size.
    pub data_size: u64,
    /// MD5 checksum (all zero: none).
    pub checksum: [u8; 16],
}

impl BlockHeader {
    /// Offset of the block data in the file.
    pub fn data_offset(&self) -> u64 {
        self.offset + 6 + self.header_size as u64
    }

    /// True for a streamed block.
    pub fn is_streamed(&self) -> bool {
        self.flags & FLAG_STREAMED != 0
    }

    /// The compression id as text (`zlib`, `bzp2`, `lz4`), `None` when uncompressed.
    pub fn compression_name(&self) -> Option<String> {
        if self.compression == [0; 4] {
            None
        } else {
            Some(
                String::from_utf8_lossy(&self.compression)
                    .trim_end_matches('\0')
                    .to_string(),
            )
        }
    }

    /// True when the header carries a checksum.
    pub fn has_checksum(&self) -> bool {
        self.checksum != [0; 16]
    }

    /// Offset one past the block's allocated space.
    pub fn end(&self) -> u64 {
        self.data_offset().saturating_add(self.allocated)
    }

    /// Parse and validate a block header at `offset` (the magic) against the source length.
    pub fn read(src: &dyn ByteSource, offset: u64, block: usize) -> Result<BlockHeader> {
        let len = src.len();
        let n = len.saturating_sub(offset).min(6 + MIN_HEADER_SIZE as u64) as usize;
        let mut buf = [0u8; 6 + MIN_HEADER_SIZE as usize];
        if n > 0 {
            src.read_exact_at(offset, &mut buf[..n])?; // ok: n <= 54
        }
        Self::parse(&buf[..n], offset, len, block) // ok: n <= 54
    }

    /// Parse and validate a block header from its first bytes (up to 54: magic, size, the 48
    /// fixed fields) read at `offset` of a source of `len` bytes.
    pub fn parse(bytes: &[u8], offset: u64, len: u64, block: usize) -> Result<BlockHeader> {
        let bad = |m: String| Error::block(block, offset, m);
        if offset.checked_add(6).is_none_or(|e| e > len) || bytes.len() < 6 {
            return Err(bad("block header runs past the end of the file".into()));
        }
        let head = &bytes[..6]; // ok: checked above
        if &head[..4] != BLOCK_MAGIC {
            return Err(bad("no block magic".into()));
        }
        let header_size = u16::from_be_bytes([head[4], head[5]]);
        if header_size < MIN_HEADER_SIZE {
            return Err(bad(format!("header size {header_size} is below 48")));
        }
        if offset + 6 + header_size as u64 > len {
            return Err(bad("block header runs past the end of the file".into()));
        }
        let h: &[u8; 48] = bytes
            .get(6..54)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| bad("block header runs past the end of the file".into()))?;
        let be32 = |i: usize| u32::from_be_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        let be64 = |i: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&h[i..i + 8]); // ok: i + 8 <= 48
            u64::from_be_bytes(a)
        };
        let mut compression = [0u8; 4];
        compression.copy_from_slice(&h[4..8]);
        let mut checksum = [0u8; 16];
        checksum.copy_from_slice(&h[32..48]);
        let mut hdr = BlockHeader {
            offset,
            header_size,
            flags: be32(0),
            compression,
            allocated: be64(8),
            used: be64(16),
            data_size: be64(24),
            checksum,
        };
        let data_off = hdr.data_offset();
        if hdr.is_streamed() {
            if hdr.compression != [0; 4] {
                return Err(bad("streamed block with compression".into()));
            }
            hdr.used = len - data_off;
            hdr.data_size = hdr.used;
            hdr.allocated = hdr.used;
            return Ok(hdr);
        }
        if hdr.used > hdr.allocated {
            return Err(bad(format!(
                "used size {} is larger than allocated size {}",
                hdr.used, hdr.allocated
            )));
        }
        // An allocated size past the end of the file is read as python asdf reads it: the used
        // bytes (when they are inside the file) and no block after it; the layout warns.
        if data_off.checked_add(hdr.used).is_none_or(|e| e > len) {
            return Err(bad(format!(
                "used size {} runs past the end of the file ({len} bytes)",
                hdr.used
            )));
        }
        // An uncompressed block whose data size differs from its used size is read as python
        // asdf reads it, by the used size ([`BlockHeader::decoded_len`]); the layout warns.
        Ok(hdr)
    }

    /// Length of the block's data once decoded: the data size of a compressed block, the used
    /// size of an uncompressed one (python asdf reads `used_size` bytes and ignores the data
    /// size field of an uncompressed block).
    pub fn decoded_len(&self) -> u64 {
        if self.compression == [0; 4] {
            self.used
        } else {
            self.data_size
        }
    }

    /// What is inconsistent in a header nd reads anyway (warnings), in a file of `len` bytes.
    fn defects(&self, block: usize, len: u64) -> Vec<String> {
        let mut out = Vec::new();
        if self.compression == [0; 4] && self.used != self.data_size {
            out.push(format!(
                "block {block} at byte {}: uncompressed block with used size {} != data size {}; \
                 read by its used size, as python asdf does",
                self.offset, self.used, self.data_size
            ));
        }
        if self.end() > len {
            out.push(format!(
                "block {block} at byte {}: allocated size {} runs past the end of the file ({len} \
                 bytes); its used bytes are read, no block after it (as python asdf reads it)",
                self.offset, self.allocated
            ));
        }
        out
    }
}

/// How the block list was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexStatus {
    /// The file has no blocks.
    NoBlocks,
    /// A valid block index was used.
    Used,
    /// There is no block index; blocks were found by scanning.
    Absent,
    /// A block index was present but failed validation; blocks were found by scanning.
    Invalid(String),
}

/// The parsed layout of an ASDF file.
#[derive(Debug, Clone)]
pub struct Layout {
    /// File format version from the header line (`1.0.0`).
    pub file_version: String,
    /// ASDF standard version from the `#ASDF_STANDARD` comment, if any.
    pub standard_version: Option<String>,
    /// Comment lines after the header (without `#`).
    pub comments: Vec<String>,
    /// Byte range of the YAML tree (from `%YAML` to the end of the `...` line), if there is one.
    pub tree: Option<std::ops::Range<u64>>,
    /// The blocks, in file order (shared with [`crate::blocks::Blocks`]: a file of a million tiny
    /// blocks holds its headers once).
    pub blocks: std::sync::Arc<Vec<BlockHeader>>,
    /// How the blocks were found.
    pub index: IndexStatus,
    /// Offset of the block index, if one was found.
    pub index_offset: Option<u64>,
    /// Warnings (index fallback, trailing garbage).
    pub warnings: Vec<String>,
}

/// Where `needle` first occurs in `hay` (vector search: the end of a tree is found by scanning
/// the whole tree for `\n...`); `None` for an empty needle.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    memchr::memmem::find(hay, needle)
}

/// Where `needle` last occurs in `hay`; `None` for an empty needle.
fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    memchr::memmem::rfind(hay, needle)
}

/// The bytes from the start of the file read so far (header line, comments, tree, what follows),
/// grown in steps that double up to [`MAX_STEP`]: finding the end of a tree of `n` bytes reads at
/// most `n + MAX_STEP` bytes, and the tree is not read a second time to parse it. A source that
/// holds its bytes in one view (a memory map: [`ByteSource::contiguous`]) is looked through in
/// place, the same steps widening a window on it: nothing copied, and the tree handed on is a
/// view of the file's pages.
struct Head<'a> {
    src: &'a dyn ByteSource,
    held: Held,
    len: u64,
}

/// What a [`Head`] has of the file's start.
enum Held {
    /// The bytes read so far, from a source read on request.
    Read(Vec<u8>),
    /// All the source's bytes in one view, of which the first `end` count as read.
    View { all: Bytes, end: usize },
}

/// Largest read step of [`Head`].
const MAX_STEP: u64 = 256 << 10;

impl<'a> Head<'a> {
    fn new(src: &'a dyn ByteSource) -> Result<Head<'a>> {
        let len = src.len();
        let first = len.min(CHUNK);
        // a view of another length than the source's is not taken for its bytes
        let held = match src.contiguous().filter(|w| w.len() as u64 == len) {
            // `first` is at most CHUNK
            Some(all) => Held::View {
                all,
                end: first as usize,
            },
            None => Held::Read(src.read_range(0..first)?.to_vec()),
        };
        Ok(Head { src, held, len })
    }

    /// The bytes read so far.
    fn bytes(&self) -> &[u8] {
        match &self.held {
            Held::Read(buf) => buf,
            Held::View { all, end } => all.get(..*end).unwrap_or_default(),
        }
    }

    fn end(&self) -> u64 {
        self.bytes().len() as u64
    }

    /// Read the next step; false at the end of the file.
    fn grow(&mut self) -> Result<bool> {
        let end = self.end();
        if end >= self.len {
            return Ok(false);
        }
        let step = end.clamp(CHUNK, MAX_STEP);
        let new_end = (end + step).min(self.len);
        match &mut self.held {
            Held::Read(buf) => buf.extend_from_slice(&self.src.read_range(end..new_end)?),
            // within the view's length (checked at `new`): usize
            Held::View { end, .. } => *end = usize::try_from(new_end).unwrap_or(usize::MAX),
        }
        Ok(true)
    }

    /// The bytes read so far, as one buffer (a view of the source's, or those read).
    fn into_bytes(self) -> Bytes {
        match self.held {
            Held::Read(buf) => Bytes::from(buf),
            Held::View { all, end } => all.slice(..end),
        }
    }

    /// Search forward from `start` until `pred(bytes from start, at_eof)` gives a position
    /// (relative to `start`); `overlap` bytes are searched again after each growth.
    fn scan(
        &mut self,
        start: u64,
        overlap: usize,
        mut pred: impl FnMut(&[u8], bool) -> Option<usize>,
    ) -> Result<Option<u64>> {
        let mut from = start as usize;
        loop {
            let at_eof = self.end() >= self.len;
            if let Some(hay) = self.bytes().get(from..) {
                if let Some(i) = pred(hay, at_eof) {
                    return Ok(Some((from + i) as u64));
                }
            }
            let searched = self.bytes().len();
            if !self.grow()? {
                return Ok(None);
            }
            from = searched.saturating_sub(overlap).max(from);
        }
    }
}

/// Find the end of the YAML tree starting at `start`: python asdf's `\r?\n\.\.\.((\r?\n)|$)`.
fn find_tree_end(head: &mut Head, start: u64) -> Result<Option<u64>> {
    head.scan(start, 8, |buf, at_eof| {
        let mut from = 0;
        while let Some(i) = find(&buf[from..], b"\n...") {
            let p = from + i;
            let after = &buf[p + 4..];
            if after.starts_with(b"\n") {
                return Some(p + 5);
            }
            if after.starts_with(b"\r\n") {
                return Some(p + 6);
            }
            if after.is_empty() && at_eof {
                return Some(p + 4);
            }
            if after.len() < 2 && !at_eof {
                // might continue in the next window
                return None;
            }
            from = p + 1;
        }
        None
    })
}

/// Parse the header, comments, tree location and block list of an ASDF file.
pub fn parse_layout(src: &dyn ByteSource) -> Result<Layout> {
    Ok(parse_layout_and_tree(src, &Limits::default())?.0)
}

/// [`parse_layout`], also giving the tree's bytes (read once while looking for its end).
/// Blocks past [`Limits::blocks`] are refused ([`nd_core::Error::LimitExceeded`]).
pub(crate) fn parse_layout_and_tree(
    src: &dyn ByteSource,
    limits: &Limits,
) -> Result<(Layout, Option<Bytes>)> {
    let len = src.len();
    let mut head = Head::new(src)?;
    let nl = find(head.bytes(), b"\n").ok_or_else(|| Error::NotAsdf("no header line".into()))?;
    let line = &head.bytes()[..nl];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let line =
        std::str::from_utf8(line).map_err(|_| Error::NotAsdf("header is not text".into()))?;
    let mut parts = line.split_whitespace();
    if parts.next() != Some("#ASDF") {
        return Err(Error::NotAsdf("does not start with #ASDF".into()));
    }
    let file_version = parts
        .next()
        .ok_or_else(|| Error::NotAsdf("no version on the header line".into()))?
        .to_string();
    if parts.next().is_some() || !file_version.starts_with("1.") {
        return Err(Error::NotAsdf(format!(
            "unsupported file format version '{line}'"
        )));
    }
    // comment section: up to %YAML or block magic
    let mut pos = nl as u64 + 1;
    let content_start = head
        .scan(pos, 5, |buf, _| {
            let a = find(buf, b"%YAML");
            let b = find(buf, BLOCK_MAGIC);
            match (a, b) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (x, y) => x.or(y),
            }
        })?
        .unwrap_or(len);
    let comment_bytes = head
        .bytes()
        .get(pos as usize..content_start as usize)
        .unwrap_or_default();
    let mut comments = Vec::new();
    let mut standard_version = None;
    for l in comment_bytes.split(|&b| b == b'\n') {
        let l = l.strip_suffix(b"\r").unwrap_or(l);
        if l.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        let Some(c) = l.strip_prefix(b"#") else {
            return Err(Error::NotAsdf(format!(
                "invalid content between header and tree at byte {pos}"
            )));
        };
        let c = String::from_utf8_lossy(c).trim().to_string();
        let mut w = c.split_whitespace();
        if w.next() == Some("ASDF_STANDARD") {
            if let (Some(v), None) = (w.next(), w.next()) {
                standard_version.get_or_insert(v.to_string());
            }
        }
        comments.push(c);
    }
    pos = content_start;
    let mut tree = None;
    let mut warnings = Vec::new();
    if head.bytes().get(pos as usize..pos as usize + 4) == Some(b"%YAM") {
        let end = find_tree_end(&mut head, pos)?.ok_or_else(|| Error::Yaml {
            offset: pos,
            message: "no end of YAML marker (`...`)".into(),
        })?;
        tree = Some(pos..end);
        pos = end;
    }
    // first block: the first magic after the tree (arbitrary bytes may come between)
    let first = head.scan(pos, 3, |buf, _| find(buf, BLOCK_MAGIC))?;
    let head_bytes = head.into_bytes();
    let tree_bytes = tree
        .as_ref()
        .map(|r| head_bytes.slice(r.start as usize..r.end as usize));
    let mut layout = Layout {
        file_version,
        standard_version,
        comments,
        tree,
        blocks: Default::default(),
        index: IndexStatus::NoBlocks,
        index_offset: None,
        warnings: Vec::new(),
    };
    let Some(first) = first else {
        return Ok((layout, tree_bytes));
    };
    // block index
    if let Some((io, text)) = find_index(src, first)? {
        layout.index_offset = Some(io);
        match read_index(src, io, &text, first, limits.blocks) {
            Ok(blocks) => {
                layout.index = IndexStatus::Used;
                set_blocks(&mut layout, blocks, warnings, len);
                return Ok((layout, tree_bytes));
            }
            Err(why) => {
                warnings.push(format!(
                    "block index at byte {io} is invalid ({why}); falling back to scanning the blocks"
                ));
                layout.index = IndexStatus::Invalid(why);
            }
        }
    } else {
        layout.index = IndexStatus::Absent;
    }
    let blocks = scan_blocks(src, first, &mut warnings, limits.blocks)?;
    set_blocks(&mut layout, blocks, warnings, len);
    Ok((layout, tree_bytes))
}

/// Bytes a block index can consist of (`#ASDF BLOCK INDEX`, `%YAML 1.1`, `---`, `- 123`, `...`,
/// flow lists).
fn index_byte(b: u8) -> bool {
    b.is_ascii_digit() || b" \t\r\n-.,[]+%#ABCDEFIKLMNOSXY".contains(&b)
}

/// Look for `#ASDF BLOCK INDEX` from the end of the file backwards: the last [`INDEX_TAIL`]
/// bytes, growing geometrically (up to 16 MiB) only while everything read could be part of an
/// index — so a file without an index costs one tail read, not a read into its last block.
/// Gives the index offset and its bytes (to the end of the file).
fn find_index(src: &dyn ByteSource, min_offset: u64) -> Result<Option<(u64, Bytes)>> {
    let len = src.len();
    let mut size = INDEX_TAIL;
    let mut start = len;
    let mut tail = Bytes::new();
    loop {
        let new_start = len.saturating_sub(size).max(min_offset);
        if new_start < start {
            let more = src.read_range(new_start..start)?;
            tail = if tail.is_empty() {
                more
            } else {
                let mut v = Vec::with_capacity(more.len() + tail.len());
                v.extend_from_slice(&more);
                v.extend_from_slice(&tail);
                Bytes::from(v)
            };
            start = new_start;
        }
        if let Some(i) = rfind(&tail, INDEX_HEADER) {
            return Ok(Some((start + i as u64, tail.slice(i..))));
        }
        if start == min_offset || size >= MAX_INDEX_SEARCH || !tail.iter().all(|&b| index_byte(b)) {
            return Ok(None);
        }
        size *= 4;
    }
}

/// Block headers read per batch when following an index.
const HEADER_BATCH: usize = 4096;

/// The offsets of an index in the form every ASDF writer uses (`%YAML 1.1`, `---`, one `- N`
/// line per block, `...`), without building a YAML tree; `None` for anything else (the YAML
/// loader then reads it) or for more than `max_blocks` entries.
fn plain_index(text: &str, max_blocks: u64) -> Option<Vec<u64>> {
    let mut lines = text.lines().map(str::trim_end).skip_while(|l| l.is_empty());
    if lines.next()? != "%YAML 1.1" || lines.next()? != "---" {
        return None;
    }
    // one offset a line: sized once (a count the text justifies, within the limit)
    let cap = memchr::memchr_iter(b'\n', text.as_bytes()).count();
    let mut offsets =
        Vec::with_capacity(cap.min(usize::try_from(max_blocks).unwrap_or(usize::MAX)));
    for line in lines.by_ref() {
        if line == "..." {
            break;
        }
        let digits = line.strip_prefix("- ")?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if offsets.len() as u64 >= max_blocks {
            return None;
        }
        offsets.push(digits.parse().ok()?);
    }
    lines.all(str::is_empty).then_some(offsets)
}

/// The offsets of an index in any other YAML form.
fn yaml_index(text: &str, io: u64, max_blocks: u64) -> std::result::Result<Vec<u64>, String> {
    let node = crate::yaml::load(text, io).map_err(|e| format!("index is not YAML: {e}"))?;
    let items = node.as_seq().ok_or("index is not a list")?;
    if items.len() as u64 > max_blocks {
        // the block walk reports it
        return Err(format!("index lists {} blocks", items.len()));
    }
    let mut offsets = Vec::with_capacity(items.len());
    for it in items {
        let o = it.as_int().ok_or("index entry is not an integer")?;
        offsets.push(u64::try_from(o).map_err(|_| "negative offset in index")?);
    }
    Ok(offsets)
}

/// Read and validate the block index at `io` (the checks the standard recommends and more):
/// a YAML list of integers, strictly increasing, the first equal to the first block found,
/// a valid block header at every offset, each block ending before the next one starts and the
/// last ending before the index; no streamed block (a streamed block cannot be followed by an index).
fn read_index(
    src: &dyn ByteSource,
    io: u64,
    index: &[u8],
    first: u64,
    max_blocks: u64,
) -> std::result::Result<Vec<BlockHeader>, String> {
    let text = index.get(INDEX_HEADER.len()..).unwrap_or_default();
    let text = std::str::from_utf8(text).map_err(|_| "index is not UTF-8".to_string())?;
    let offsets = match plain_index(text, max_blocks) {
        Some(offsets) => offsets,
        None => yaml_index(text, io, max_blocks)?,
    };
    if offsets.is_empty() {
        return Err("index is empty".into());
    }
    if offsets.windows(2).any(|w| w[0] >= w[1]) {
        return Err("offsets are not increasing".into());
    }
    if offsets[0] != first {
        return Err(format!(
            "first offset {} is not the first block at {first}",
            offsets[0]
        ));
    }
    if offsets.last().is_some_and(|&o| o >= io) {
        return Err("an offset is not before the index".into());
    }
    // the headers in batches (one round trip each on sources that coalesce requests), so a
    // million tiny blocks do not hold a million buffers at once
    let len = src.len();
    let mut blocks = Vec::with_capacity(offsets.len());
    for (batch_no, batch) in offsets.chunks(HEADER_BATCH).enumerate() {
        let ranges: Vec<std::ops::Range<u64>> = batch
            .iter()
            .map(|&o| o..(o + 6 + MIN_HEADER_SIZE as u64).min(len))
            .collect();
        let heads = src.read_ranges(&ranges).map_err(|e| e.to_string())?;
        for (j, (&o, hb)) in batch.iter().zip(&heads).enumerate() {
            let i = batch_no * HEADER_BATCH + j;
            let h = BlockHeader::parse(hb, o, len, i).map_err(|e| e.to_string())?;
            if h.is_streamed() {
                return Err("a streamed block cannot be followed by an index".into());
            }
            let limit = offsets.get(i + 1).copied().unwrap_or(io);
            if h.end() > limit {
                return Err(format!(
                    "block {i} at {o} ends at {} past the next offset {limit}",
                    h.end()
                ));
            }
            blocks.push(h);
        }
    }
    // the last block must be followed by the index (allowing only padding between them)
    if let Some(last) = blocks.last() {
        let gap = src.read_range(last.end()..io).map_err(|e| e.to_string())?;
        if gap.iter().any(|&b| b != 0 && !b.is_ascii_whitespace()) {
            return Err("bytes between the last block and the index".into());
        }
    }
    Ok(blocks)
}

/// Walk the blocks one after the other from `first`.
fn scan_blocks(
    src: &dyn ByteSource,
    first: u64,
    warnings: &mut Vec<String>,
    max_blocks: u64,
) -> Result<Vec<BlockHeader>> {
    let len = src.len();
    let mut blocks = Vec::new();
    let mut pos = first;
    loop {
        Limits::check("blocks", blocks.len() as u64 + 1, max_blocks, || {
            format!("{}: block {} at byte {pos}", src.describe(), blocks.len())
        })?;
        let h = BlockHeader::read(src, pos, blocks.len())?;
        let streamed = h.is_streamed();
        pos = h.end();
        blocks.push(h);
        if streamed || pos >= len {
            break;
        }
        let n = (len - pos).min(4) as usize;
        let mut next = [0u8; 4];
        src.read_exact_at(pos, &mut next[..n])?;
        if next[..n] == BLOCK_MAGIC[..n] && n == 4 {
            continue;
        }
        if next[..n] != INDEX_HEADER[..n] && next[..n].iter().any(|&b| b != 0) {
            warnings.push(format!(
                "invalid bytes {} after block {} at byte {pos}",
                nd_core::fmt_shape(next[..n].iter()),
                blocks.len() - 1
            ));
        }
        break;
    }
    Ok(blocks)
}

/// Give `layout` its block headers and its warnings, the headers' own defects (sizes past the
/// end of a file of `len` bytes, …) added.
fn set_blocks(layout: &mut Layout, blocks: Vec<BlockHeader>, mut warnings: Vec<String>, len: u64) {
    warnings.extend(
        blocks
            .iter()
            .enumerate()
            .flat_map(|(i, h)| h.defects(i, len)),
    );
    layout.blocks = std::sync::Arc::new(blocks);
    layout.warnings = warnings;
}
