//! The Zarr v3 codec chain: array→array codecs (`transpose`), one array→bytes codec (`bytes`
//! or `sharding_indexed`), then bytes→bytes codecs (`gzip`, `zstd`, `blosc`, `crc32c`).
//! Decoding runs them backwards and ends in C order, native byte order.
//!
//! Every decode knows the size it must produce before it allocates, except the output of a
//! bytes→bytes codec placed after `sharding_indexed`, which is bounded (see [`shard_bound`]).

use super::meta::{name_config, MetadataErrorV3};
use super::shard::{IndexLocation, ShardIndex};
use crate::error::{Error, Result};
use nd_codecs::object::ObjectCodec;
use nd_codecs::Codec;
use nd_core::shape::{copy_strided, strides, Strided};
use nd_core::{DataType, Endian, Order};
use serde_json::{json, Map, Value};
use std::borrow::Cow;

type MResult<T> = std::result::Result<T, MetadataErrorV3>;

const F: &str = "codecs";

/// Largest shard index accepted (1 GiB: 64 Mi inner chunks per shard).
pub const MAX_INDEX_BYTES: u64 = 1 << 30;

fn invalid(reason: impl Into<String>) -> MetadataErrorV3 {
    MetadataErrorV3::Invalid {
        field: F,
        reason: reason.into(),
    }
}

fn unsupported(what: impl Into<String>) -> MetadataErrorV3 {
    MetadataErrorV3::Unsupported {
        field: F,
        what: what.into(),
    }
}

/// Where decoding happens and what it decodes to (for errors and fill values).
pub(crate) struct Ctx<'a> {
    /// The store key of the chunk or shard.
    pub key: &'a str,
    /// The element type (native).
    pub dtype: &'a DataType,
    /// One element of fill value (native).
    pub fill: &'a [u8],
}

impl Ctx<'_> {
    pub(crate) fn err(&self, reason: impl Into<String>) -> Error {
        Error::Chunk {
            key: self.key.to_string(),
            reason: reason.into(),
        }
    }
    fn codec(&self, source: nd_codecs::Error) -> Error {
        Error::Codec {
            key: self.key.to_string(),
            source,
        }
    }
}

/// The `sharding_indexed` codec.
#[derive(Debug)]
pub(crate) struct Sharding {
    /// Shape of an inner chunk.
    pub chunk_shape: Vec<u64>,
    /// Inner chunks along each axis of a shard.
    pub per_shard: Vec<u64>,
    /// The codecs of an inner chunk.
    pub inner: CodecChain,
    /// The codecs of the index (fixed encoded size).
    pub index: CodecChain,
    /// Encoded size of the index.
    pub index_bytes: u64,
    /// Start or end.
    pub location: IndexLocation,
}

#[derive(Debug)]
pub(crate) enum ArrayToBytes {
    Bytes {
        endian: Option<Endian>,
    },
    Sharding(Box<Sharding>),
    /// `vlen-utf8` / `vlen-bytes` of a variable-length data type: items, not fixed-size elements.
    Vlen(ObjectCodec),
}

#[derive(Debug)]
pub(crate) enum BytesToBytes {
    /// gzip, zstd or blosc, decoded by the nd-codecs codec.
    Compressor(&'static str, Box<dyn Codec>),
    /// CRC-32C of the data, after it, little-endian.
    Crc32c,
}

/// A parsed codec chain for chunks of one shape and type.
#[derive(Debug)]
pub(crate) struct CodecChain {
    /// `transpose` orders, in encode order.
    transposes: Vec<Vec<usize>>,
    /// The chunk shape before each transpose, then the shape the array→bytes codec sees.
    shapes: Vec<Vec<u64>>,
    pub a2b: ArrayToBytes,
    b2b: Vec<BytesToBytes>,
    elem: usize,
}

fn conf_str<'a>(c: Option<&'a Map<String, Value>>, k: &str) -> Option<&'a Value> {
    c.and_then(|c| c.get(k))
}

fn level(c: Option<&Map<String, Value>>, name: &str, default: i64) -> MResult<i64> {
    match conf_str(c, "level") {
        None => Ok(default),
        Some(x) => x
            .as_i64()
            .ok_or_else(|| invalid(format!("{name}: level {x} is not an integer"))),
    }
}

fn compressor(name: &'static str, conf: Option<&Map<String, Value>>) -> MResult<Box<dyn Codec>> {
    let cfg = match name {
        "gzip" => json!({"id": "gzip", "level": level(conf, name, 5)?}),
        "zstd" => {
            let checksum = match conf_str(conf, "checksum") {
                None => false,
                Some(Value::Bool(b)) => *b,
                Some(x) => return Err(invalid(format!("zstd: checksum {x} is not a bool"))),
            };
            json!({"id": "zstd", "level": level(conf, name, 0)?, "checksum": checksum})
        }
        _ => {
            let shuffle = match conf_str(conf, "shuffle").and_then(Value::as_str) {
                Some("noshuffle") => 0,
                Some("shuffle") => 1,
                Some("bitshuffle") => 2,
                other => {
                    return Err(invalid(format!(
                        "blosc: shuffle {}",
                        other.map_or("missing or not a string".to_string(), |s| format!("'{s}'"))
                    )))
                }
            };
            let mut c = json!({"id": "blosc", "shuffle": shuffle});
            for k in ["cname", "clevel", "blocksize", "typesize"] {
                if let Some(v) = conf_str(conf, k) {
                    c[k] = v.clone();
                }
            }
            c
        }
    };
    nd_codecs::codec_from_config(&cfg).map_err(|e| invalid(format!("{name}: {e}")))
}

impl CodecChain {
    /// Parse `codecs` for chunks of `shape` and `dtype`.
    pub(crate) fn parse(codecs: &[Value], shape: &[u64], dtype: &DataType) -> MResult<CodecChain> {
        Self::parse_depth(codecs, shape, dtype, 0, None)
    }

    /// Parse `codecs` for chunks of `shape` of a variable-length data type whose array→bytes
    /// codec is `vlen` (directly, or inside `sharding_indexed`); decode with
    /// [`CodecChain::decode_items`].
    pub(crate) fn parse_vlen(
        codecs: &[Value],
        shape: &[u64],
        vlen: ObjectCodec,
    ) -> MResult<CodecChain> {
        Self::parse_depth(codecs, shape, &DataType::UInt8, 0, Some(vlen))
    }

    /// `vlen`: the object codec of a variable-length data type (then `dtype` is a one-byte
    /// stand-in), `None` for a fixed-size one.
    fn parse_depth(
        codecs: &[Value],
        shape: &[u64],
        dtype: &DataType,
        depth: usize,
        vlen: Option<ObjectCodec>,
    ) -> MResult<CodecChain> {
        if depth > 4 {
            return Err(unsupported("sharding nested more than 4 deep"));
        }
        let mut transposes = Vec::new();
        let mut shapes = vec![shape.to_vec()];
        let mut a2b = None;
        let mut b2b = Vec::new();
        for c in codecs {
            let (name, conf) = name_config(c, F)?;
            if c.get("must_understand") == Some(&Value::Bool(false))
                && !matches!(
                    name,
                    "transpose"
                        | "bytes"
                        | "sharding_indexed"
                        | "gzip"
                        | "zstd"
                        | "blosc"
                        | "crc32c"
                        | "vlen-utf8"
                        | "vlen-bytes"
                )
            {
                continue;
            }
            let cur = shapes.last().cloned().unwrap_or_default();
            match name {
                "transpose" => {
                    if a2b.is_some() {
                        return Err(invalid("transpose after the array->bytes codec"));
                    }
                    let order = transpose_order(conf, cur.len())?;
                    shapes.push(order.iter().map(|&i| cur[i]).collect());
                    transposes.push(order);
                }
                "vlen-utf8" | "vlen-bytes" => {
                    if a2b.is_some() {
                        return Err(invalid("two array->bytes codecs"));
                    }
                    let c = ObjectCodec::from_v3_name(name);
                    match vlen {
                        Some(v) if c == Some(v) => a2b = Some(ArrayToBytes::Vlen(v)),
                        Some(v) => {
                            return Err(invalid(format!(
                                "{name} on a data type whose codec is {}",
                                v.id()
                            )))
                        }
                        None => {
                            return Err(invalid(format!(
                                "{name} on the fixed-size data type {dtype}"
                            )))
                        }
                    }
                }
                "bytes" if vlen.is_some() => {
                    return Err(invalid(
                        "bytes cannot serialize a variable-length data type (vlen-utf8 or \
                         vlen-bytes can)",
                    ));
                }
                "bytes" | "sharding_indexed" => {
                    if a2b.is_some() {
                        return Err(invalid("two array->bytes codecs"));
                    }
                    a2b = Some(if name == "bytes" {
                        let endian = match conf_str(conf, "endian") {
                            None | Some(Value::Null) => None,
                            Some(Value::String(s)) if s == "little" => Some(Endian::Little),
                            Some(Value::String(s)) if s == "big" => Some(Endian::Big),
                            Some(x) => return Err(invalid(format!("bytes: endian {x}"))),
                        };
                        if endian.is_none() && dtype.swap_unit() > 1 {
                            return Err(invalid(format!("bytes: {dtype} needs an endian")));
                        }
                        ArrayToBytes::Bytes { endian }
                    } else {
                        ArrayToBytes::Sharding(Box::new(Sharding::parse(
                            conf, &cur, dtype, depth, vlen,
                        )?))
                    });
                }
                "gzip" | "zstd" | "blosc" => {
                    if a2b.is_none() {
                        return Err(invalid(format!("{name} before the array->bytes codec")));
                    }
                    let n: &'static str = match name {
                        "gzip" => "gzip",
                        "zstd" => "zstd",
                        _ => "blosc",
                    };
                    b2b.push(BytesToBytes::Compressor(n, compressor(n, conf)?));
                }
                "crc32c" => {
                    if a2b.is_none() {
                        return Err(invalid("crc32c before the array->bytes codec"));
                    }
                    b2b.push(BytesToBytes::Crc32c);
                }
                other => return Err(unsupported(format!("codec '{other}'"))),
            }
        }
        let a2b = a2b.ok_or_else(|| match vlen {
            Some(v) => invalid(format!(
                "no array->bytes codec ({} or sharding_indexed)",
                v.id()
            )),
            None => invalid("no array->bytes codec (bytes or sharding_indexed)"),
        })?;
        Ok(CodecChain {
            transposes,
            shapes,
            a2b,
            b2b,
            elem: dtype.size(),
        })
    }

    /// The decoded chunk shape.
    fn shape(&self) -> &[u64] {
        &self.shapes[0] // ok: shapes starts with the chunk shape
    }

    /// Decoded bytes of one chunk.
    pub(crate) fn decoded_len(&self) -> usize {
        nd_core::num_bytes(self.shape(), self.elem).unwrap_or(usize::MAX)
    }

    /// The encoded size when every codec has a fixed-size output (the shard index).
    fn fixed_encoded_len(&self) -> Option<u64> {
        let mut n = match self.a2b {
            ArrayToBytes::Bytes { .. } => self.decoded_len() as u64,
            ArrayToBytes::Sharding(_) | ArrayToBytes::Vlen(_) => return None,
        };
        for c in &self.b2b {
            match c {
                BytesToBytes::Crc32c => n += 4,
                BytesToBytes::Compressor(..) => return None,
            }
        }
        Some(n)
    }

    /// True when a chunk of `dtype` is stored as its decoded bytes: `bytes` alone, in native
    /// byte order (or a type byte order does not apply to), no transpose, no other codec.
    pub(crate) fn stores_chunks_as_is(&self, dtype: &DataType) -> bool {
        let native = match &self.a2b {
            ArrayToBytes::Bytes { endian } => {
                endian.is_none_or(|e| !e.needs_swap() || dtype.swap_unit() <= 1)
            }
            ArrayToBytes::Sharding(_) | ArrayToBytes::Vlen(_) => false,
        };
        native
            && self.transposes.is_empty()
            && self.b2b.is_empty()
            && !matches!(dtype, DataType::Struct(_))
    }

    /// True when the chain is `sharding_indexed` alone (inner chunks can be read one by one).
    pub(crate) fn sharding_only(&self) -> Option<&Sharding> {
        match &self.a2b {
            ArrayToBytes::Sharding(s) if self.transposes.is_empty() && self.b2b.is_empty() => {
                Some(s)
            }
            _ => None,
        }
    }

    /// A short description: codec names joined by `+`.
    pub(crate) fn describe(&self) -> String {
        let mut parts: Vec<String> = self.transposes.iter().map(|_| "transpose".into()).collect();
        parts.push(match &self.a2b {
            ArrayToBytes::Bytes { .. } => "bytes".into(),
            ArrayToBytes::Sharding(s) => format!("sharding_indexed({})", s.inner.describe()),
            ArrayToBytes::Vlen(c) => c.id().to_string(),
        });
        for c in &self.b2b {
            parts.push(match c {
                BytesToBytes::Compressor(n, _) => (*n).to_string(),
                BytesToBytes::Crc32c => "crc32c".into(),
            });
        }
        parts.join("+")
    }

    /// Decode one encoded chunk into `dst` (exactly [`CodecChain::decoded_len`] bytes, C order,
    /// native byte order).
    pub(crate) fn decode_into(&self, ctx: &Ctx<'_>, data: &[u8], dst: &mut [u8]) -> Result<()> {
        if dst.len() != self.decoded_len() {
            return Err(ctx.err(format!(
                "{} byte buffer for a chunk of {} bytes",
                dst.len(),
                self.decoded_len()
            )));
        }
        if let (true, ArrayToBytes::Bytes { endian }, Some(BytesToBytes::Compressor(_, codec))) =
            (self.transposes.is_empty(), &self.a2b, self.b2b.first())
        {
            // the compressor's output is the chunk's bytes: decoded straight into `dst`, with no
            // buffer between (then put in native byte order in place)
            let bytes = self.decode_b2b(ctx, data, 1)?;
            codec.decode_into(&bytes, dst).map_err(|e| ctx.codec(e))?;
            if let Some(e) = endian {
                ctx.dtype.swap_to_native(*e, dst);
            }
            return Ok(());
        }
        let bytes = self.decode_b2b(ctx, data, 0)?;
        if self.transposes.is_empty() {
            return self.decode_a2b(ctx, &bytes, dst);
        }
        let mut cur = vec![0u8; dst.len()];
        self.decode_a2b(ctx, &bytes, &mut cur)?;
        for (k, order) in self.transposes.iter().enumerate().rev() {
            let enc_shape = &self.shapes[k + 1]; // ok: one shape per transpose, plus one
            if k == 0 {
                untranspose(&cur, enc_shape, order, dst, self.elem)
                    .map_err(|e| ctx.err(e.to_string()))?;
            } else {
                let mut next = vec![0u8; dst.len()];
                untranspose(&cur, enc_shape, order, &mut next, self.elem)
                    .map_err(|e| ctx.err(e.to_string()))?;
                cur = next;
            }
        }
        Ok(())
    }

    /// Decode the bytes→bytes codecs from the last down to codec `first` (0: all of them).
    fn decode_b2b<'a>(&self, ctx: &Ctx<'_>, data: &'a [u8], first: usize) -> Result<Cow<'a, [u8]>> {
        // sizes[i]: the size of the bytes codec i receives when encoding (None when unknown)
        let mut sizes = Vec::with_capacity(self.b2b.len() + 1);
        sizes.push(match &self.a2b {
            ArrayToBytes::Bytes { .. } => Some(self.decoded_len()),
            ArrayToBytes::Sharding(_) | ArrayToBytes::Vlen(_) => None,
        });
        for c in &self.b2b {
            let prev = *sizes.last().unwrap_or(&None);
            sizes.push(match c {
                BytesToBytes::Crc32c => prev.map(|n| n + 4),
                BytesToBytes::Compressor(..) => None,
            });
        }
        let mut cur: Cow<'a, [u8]> = Cow::Borrowed(data);
        for (i, c) in self.b2b.iter().enumerate().skip(first).rev() {
            cur = match c {
                BytesToBytes::Crc32c => {
                    let n = cur.len();
                    if n < 4 {
                        return Err(ctx.err(format!("crc32c: {n} bytes cannot hold a checksum")));
                    }
                    let stored =
                        u32::from_le_bytes([cur[n - 4], cur[n - 3], cur[n - 2], cur[n - 1]]);
                    let computed = nd_codecs::checksum::crc32c(&cur[..n - 4]);
                    if stored != computed {
                        return Err(ctx.codec(nd_codecs::Error::Checksum {
                            codec: "crc32c",
                            stored,
                            computed,
                        }));
                    }
                    match cur {
                        Cow::Borrowed(b) => Cow::Borrowed(&b[..n - 4]),
                        Cow::Owned(mut v) => {
                            v.truncate(n - 4);
                            Cow::Owned(v)
                        }
                    }
                }
                BytesToBytes::Compressor(_, codec) => match sizes[i] {
                    Some(n) => {
                        let mut out = vec![0u8; n];
                        codec
                            .decode_into(&cur, &mut out)
                            .map_err(|e| ctx.codec(e))?;
                        Cow::Owned(out)
                    }
                    None => Cow::Owned(
                        codec
                            .decode(&cur, self.shard_bound())
                            .map_err(|e| ctx.codec(e))?,
                    ),
                },
            };
        }
        Ok(cur)
    }

    /// Most bytes an encoded shard (the output of a bytes→bytes codec after
    /// `sharding_indexed`) may have: twice the decoded shard, plus the index, plus 64 bytes per
    /// inner chunk of codec framing. Anything larger is refused as a decompression bomb.
    /// Variable-length items have no size the metadata gives: their encoded chunk (and a shard
    /// of them) is bounded by [`nd_codecs::zarr_v2::MAX_CHUNK_BYTES`], as a Zarr v2 object
    /// array's; decompressors grow their output as they go, so only real data is allocated.
    fn shard_bound(&self) -> usize {
        if self.is_vlen() {
            return usize::try_from(nd_codecs::zarr_v2::MAX_CHUNK_BYTES).unwrap_or(usize::MAX);
        }
        match &self.a2b {
            ArrayToBytes::Sharding(s) => {
                let n = nd_core::num_elements(&s.per_shard).unwrap_or(u64::MAX);
                let b = (self.decoded_len() as u64)
                    .saturating_mul(2)
                    .saturating_add(s.index_bytes)
                    .saturating_add(n.saturating_mul(64))
                    .saturating_add(4096)
                    .min(nd_codecs::zarr_v2::MAX_CHUNK_BYTES);
                usize::try_from(b).unwrap_or(usize::MAX)
            }
            ArrayToBytes::Bytes { .. } | ArrayToBytes::Vlen(_) => self.decoded_len(),
        }
    }

    /// True when the chain decodes items of a variable-length type (`vlen-*`, maybe inside
    /// `sharding_indexed`).
    fn is_vlen(&self) -> bool {
        match &self.a2b {
            ArrayToBytes::Vlen(_) => true,
            ArrayToBytes::Sharding(s) => s.inner.is_vlen(),
            ArrayToBytes::Bytes { .. } => false,
        }
    }

    /// Decode one encoded chunk of a variable-length type (a chain from
    /// [`CodecChain::parse_vlen`]), calling `emit(position, item)` once for each element,
    /// `position` in C order over the decoded chunk shape. Empty inner chunks of a shard give
    /// `ctx.fill` (the fill value as one item). Allocation is bounded by the data: the
    /// bytes→bytes codecs' output (see [`CodecChain::shard_bound`]) and one inner chunk's
    /// items, each of which the vlen framing holds.
    pub(crate) fn decode_items(
        &self,
        ctx: &Ctx<'_>,
        data: &[u8],
        emit: &mut dyn FnMut(u64, &[u8]),
    ) -> Result<()> {
        let bytes = self.decode_b2b(ctx, data, 0)?;
        let enc_shape = self.shapes.last().map_or(&[][..], |v| v.as_slice());
        // positions come in the encoded (transposed) shape: map them back to the decoded one
        let mut to_decoded = |pos: u64, item: &[u8]| {
            let mut p = pos;
            for (k, order) in self.transposes.iter().enumerate().rev() {
                p = untranspose_pos(p, &self.shapes[k + 1], order); // ok: one shape per transpose, plus one
            }
            emit(p, item);
        };
        match &self.a2b {
            ArrayToBytes::Vlen(codec) => {
                let n = nd_core::num_elements(enc_shape)
                    .and_then(|n| usize::try_from(n).ok())
                    .ok_or_else(|| ctx.err("too many elements in a chunk"))?;
                let items = codec.decode(&bytes, n).map_err(|e| ctx.codec(e))?;
                for (i, it) in items.iter().enumerate() {
                    to_decoded(i as u64, it);
                }
                Ok(())
            }
            ArrayToBytes::Sharding(s) => {
                s.decode_shard_items(ctx, &bytes, enc_shape, &mut to_decoded)
            }
            ArrayToBytes::Bytes { .. } => {
                Err(ctx.err("a fixed-size chunk cannot be decoded into variable-length items"))
            }
        }
    }

    fn decode_a2b(&self, ctx: &Ctx<'_>, data: &[u8], dst: &mut [u8]) -> Result<()> {
        match &self.a2b {
            ArrayToBytes::Bytes { endian } => {
                if data.len() != dst.len() {
                    return Err(ctx.err(format!(
                        "decoded chunk has {} bytes, expected {}",
                        data.len(),
                        dst.len()
                    )));
                }
                dst.copy_from_slice(data);
                if let Some(e) = endian {
                    ctx.dtype.swap_to_native(*e, dst);
                }
                Ok(())
            }
            ArrayToBytes::Sharding(s) => {
                let shard_shape = self.shapes.last().map_or(&[][..], |v| v.as_slice());
                s.decode_shard(ctx, data, shard_shape, dst)
            }
            ArrayToBytes::Vlen(c) => Err(ctx.err(format!(
                "{}: variable-length items cannot be decoded into fixed-size elements",
                c.id()
            ))),
        }
    }
}

impl CodecChain {
    /// Encode one chunk (exactly [`CodecChain::decoded_len`] bytes, C order, native byte order):
    /// transposes, the array→bytes codec (a shard: every inner chunk that is not all fill value
    /// encoded, in parallel, then the index), then the bytes→bytes codecs.
    pub(crate) fn encode(&self, ctx: &Ctx<'_>, data: &[u8]) -> Result<Vec<u8>> {
        if data.len() != self.decoded_len() {
            return Err(ctx.err(format!(
                "{} bytes given for a chunk of {} bytes",
                data.len(),
                self.decoded_len()
            )));
        }
        let mut cur: Cow<'_, [u8]> = Cow::Borrowed(data);
        for (k, order) in self.transposes.iter().enumerate() {
            let mut next = vec![0u8; data.len()];
            transpose(&cur, &self.shapes[k], order, &mut next, self.elem)
                .map_err(|e| ctx.err(e.to_string()))?;
            cur = Cow::Owned(next);
        }
        let mut bytes = match &self.a2b {
            ArrayToBytes::Bytes { endian } => {
                let mut v = cur.into_owned();
                if let Some(e) = endian {
                    ctx.dtype.swap_from_native(*e, &mut v);
                }
                v
            }
            ArrayToBytes::Sharding(s) => {
                let shard_shape = self.shapes.last().map_or(&[][..], |v| v.as_slice());
                s.encode_shard(ctx, &cur, shard_shape)?
            }
            ArrayToBytes::Vlen(c) => {
                return Err(ctx.err(format!(
                    "{}: nd does not write variable-length chunks",
                    c.id()
                )))
            }
        };
        for c in &self.b2b {
            bytes = match c {
                BytesToBytes::Crc32c => {
                    let crc = nd_codecs::checksum::crc32c(&bytes);
                    bytes.extend_from_slice(&crc.to_le_bytes());
                    bytes
                }
                BytesToBytes::Compressor(_, codec) => {
                    codec.encode(&bytes).map_err(|e| ctx.codec(e))?
                }
            };
        }
        Ok(bytes)
    }
}

/// The C-order positions of a grid of `counts` sorted by Morton (Z-order) code: bit `b` of
/// every axis in turn (axis 0 first), axes with fewer bits dropping out, as zarr-python 3's
/// `morton_order_iter` orders the inner chunks of a shard.
fn morton_positions(counts: &[u64]) -> Vec<usize> {
    let bits: Vec<u32> = counts
        .iter()
        .map(|&c| 64 - c.saturating_sub(1).leading_zeros())
        .collect();
    let max_bits = bits.iter().copied().max().unwrap_or(0);
    let n = counts.iter().product::<u64>() as usize;
    let mut keyed: Vec<(u128, usize)> = (0..n)
        .map(|pos| {
            let mut idx = vec![0u64; counts.len()];
            let mut rest = pos as u64;
            for (i, c) in counts.iter().enumerate().rev() {
                idx[i] = rest % c;
                rest /= c;
            }
            let mut code = 0u128;
            let mut out_bit = 0;
            for b in 0..max_bits {
                for (d, &nb) in bits.iter().enumerate() {
                    if b < nb {
                        code |= u128::from((idx[d] >> b) & 1) << out_bit;
                        out_bit += 1;
                    }
                }
            }
            (code, pos)
        })
        .collect();
    keyed.sort_unstable();
    keyed.into_iter().map(|(_, p)| p).collect()
}

/// `transpose(order)`: `src` is C order over `shape`, `dst` C order over
/// `[shape[order[0]], shape[order[1]], ...]`.
fn transpose(
    src: &[u8],
    shape: &[u64],
    order: &[usize],
    dst: &mut [u8],
    elem: usize,
) -> nd_core::Result<()> {
    let ss = strides(shape, Order::C);
    let enc_shape: Vec<u64> = order.iter().map(|&i| shape[i]).collect();
    let sv = Strided {
        offset: 0,
        strides: order.iter().map(|&i| ss[i] as usize * elem).collect(),
    };
    let dv = Strided::of_region(&enc_shape, &vec![0; enc_shape.len()], Order::C, elem);
    copy_strided(src, &sv, dst, &dv, &enc_shape, elem)
}

fn transpose_order(conf: Option<&Map<String, Value>>, rank: usize) -> MResult<Vec<usize>> {
    let order = match conf_str(conf, "order") {
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| x.as_u64().map(|n| n as usize))
            .collect::<Option<Vec<usize>>>()
            .ok_or_else(|| invalid(format!("transpose: order {}", Value::Array(a.clone()))))?,
        // zarr-python 2's "C"/"F" spellings were removed from the spec; accept them anyway
        Some(Value::String(s)) if s == "C" => (0..rank).collect(),
        Some(Value::String(s)) if s == "F" => (0..rank).rev().collect(),
        other => {
            return Err(invalid(format!(
                "transpose: order {}",
                other.map_or("missing".to_string(), |v| v.to_string())
            )))
        }
    };
    let mut seen = vec![false; rank];
    if order.len() != rank
        || !order
            .iter()
            .all(|&i| i < rank && !std::mem::replace(&mut seen[i], true))
    {
        return Err(invalid(format!(
            "transpose: {order_s} is not a permutation of {rank} axes",
            order_s = nd_core::fmt_shape(order.iter())
        )));
    }
    Ok(order)
}

/// Undo `transpose(order)`: `src` is C order over `enc_shape` (`enc_shape[i] = decoded[order[i]]`).
fn untranspose(
    src: &[u8],
    enc_shape: &[u64],
    order: &[usize],
    dst: &mut [u8],
    elem: usize,
) -> nd_core::Result<()> {
    let es = strides(enc_shape, Order::C);
    let mut dshape = vec![0u64; order.len()];
    let mut sstrides = vec![0usize; order.len()];
    for (i, &j) in order.iter().enumerate() {
        dshape[j] = enc_shape[i];
        sstrides[j] = es[i] as usize * elem;
    }
    let sv = Strided {
        offset: 0,
        strides: sstrides,
    };
    let dv = Strided::of_region(&dshape, &vec![0; dshape.len()], Order::C, elem);
    copy_strided(src, &sv, dst, &dv, &dshape, elem)
}

/// The decoded C-order position of the element at C-order position `pos` of a chunk encoded by
/// `transpose(order)` (`enc_shape[i] = decoded[order[i]]`): [`untranspose`] for one position.
fn untranspose_pos(pos: u64, enc_shape: &[u64], order: &[usize]) -> u64 {
    let mut idx = vec![0u64; enc_shape.len()];
    let mut rest = pos;
    for (i, &n) in enc_shape.iter().enumerate().rev() {
        idx[i] = rest % n.max(1);
        rest /= n.max(1);
    }
    let mut dshape = vec![0u64; order.len()];
    let mut didx = vec![0u64; order.len()];
    for (i, &j) in order.iter().enumerate() {
        dshape[j] = enc_shape[i];
        didx[j] = idx[i];
    }
    nd_core::linear_index(&didx, &dshape)
}

/// The C-order position in a shard of `shard_shape` of the element at C-order position `pos`
/// of the inner chunk of `chunk_shape` starting at `start`.
fn inner_to_shard_pos(pos: u64, chunk_shape: &[u64], start: &[u64], shard_shape: &[u64]) -> u64 {
    let mut idx = vec![0u64; chunk_shape.len()];
    let mut rest = pos;
    for (i, &n) in chunk_shape.iter().enumerate().rev() {
        idx[i] = rest % n.max(1) + start[i];
        rest /= n.max(1);
    }
    nd_core::linear_index(&idx, shard_shape)
}

fn location(conf: Option<&Map<String, Value>>) -> MResult<IndexLocation> {
    match conf_str(conf, "index_location") {
        None => Ok(IndexLocation::End),
        Some(Value::String(s)) if s == "end" => Ok(IndexLocation::End),
        Some(Value::String(s)) if s == "start" => Ok(IndexLocation::Start),
        Some(x) => Err(invalid(format!("sharding_indexed: index_location {x}"))),
    }
}

impl Sharding {
    fn parse(
        conf: Option<&Map<String, Value>>,
        shard_shape: &[u64],
        dtype: &DataType,
        depth: usize,
        vlen: Option<ObjectCodec>,
    ) -> MResult<Sharding> {
        let chunk_shape: Vec<u64> = match conf_str(conf, "chunk_shape") {
            Some(Value::Array(a)) => a
                .iter()
                .map(Value::as_u64)
                .collect::<Option<_>>()
                .ok_or_else(|| {
                    invalid(format!(
                        "sharding_indexed: chunk_shape {}",
                        Value::Array(a.clone())
                    ))
                })?,
            _ => return Err(invalid("sharding_indexed: no chunk_shape")),
        };
        if chunk_shape.len() != shard_shape.len()
            || chunk_shape.contains(&0)
            || shard_shape
                .iter()
                .zip(&chunk_shape)
                .any(|(s, c)| s % c != 0)
        {
            return Err(invalid(format!(
                "sharding_indexed: inner chunks {chunk_shape_s} do not divide shards {shard_shape_s}", chunk_shape_s = nd_core::fmt_shape(chunk_shape.iter()), shard_shape_s = nd_core::fmt_shape(shard_shape.iter())
            )));
        }
        let per_shard: Vec<u64> = shard_shape
            .iter()
            .zip(&chunk_shape)
            .map(|(s, c)| s / c)
            .collect();
        let list = |k: &str| -> MResult<Vec<Value>> {
            match conf_str(conf, k) {
                Some(Value::Array(a)) => Ok(a.clone()),
                None if k == "index_codecs" => Ok(vec![
                    json!({"name": "bytes", "configuration": {"endian": "little"}}),
                    json!({"name": "crc32c"}),
                ]),
                _ => Err(invalid(format!("sharding_indexed: {k} is not a list"))),
            }
        };
        let inner =
            CodecChain::parse_depth(&list("codecs")?, &chunk_shape, dtype, depth + 1, vlen)?;
        let n = nd_core::num_elements(&per_shard)
            .and_then(|n| n.checked_mul(16))
            .filter(|&n| n <= MAX_INDEX_BYTES)
            .ok_or_else(|| {
                invalid(format!(
                    "sharding_indexed: index of {per_shard_s} chunks is too large",
                    per_shard_s = nd_core::fmt_shape(per_shard.iter())
                ))
            })?;
        let mut index_shape = per_shard.clone();
        index_shape.push(2);
        let index = CodecChain::parse_depth(
            &list("index_codecs")?,
            &index_shape,
            &DataType::UInt64,
            depth + 1,
            None,
        )?;
        let index_bytes = index.fixed_encoded_len().ok_or_else(|| {
            unsupported("index_codecs whose output size is not fixed (compressors)")
        })?;
        debug_assert!(index_bytes >= n);
        Ok(Sharding {
            chunk_shape,
            per_shard,
            inner,
            index,
            index_bytes,
            location: location(conf)?,
        })
    }

    /// The byte range of the index in a shard of `size` bytes (when known), else how to ask for
    /// it: `Err(len)` for a suffix of `len` bytes.
    pub(crate) fn index_range(
        &self,
        size: Option<u64>,
    ) -> std::result::Result<std::ops::Range<u64>, u64> {
        match (self.location, size) {
            (IndexLocation::Start, _) => Ok(0..self.index_bytes),
            (IndexLocation::End, Some(n)) => Ok(n.saturating_sub(self.index_bytes)..n),
            (IndexLocation::End, None) => Err(self.index_bytes),
        }
    }

    /// Decode the encoded index bytes.
    /// The size of a whole shard held in memory and its decoded index (an error when the shard
    /// is too short to hold one).
    fn whole_shard_index(&self, ctx: &Ctx<'_>, shard: &[u8]) -> Result<(u64, ShardIndex)> {
        let size = shard.len() as u64;
        if size < self.index_bytes {
            return Err(ctx.err(format!(
                "shard of {size} bytes cannot hold its {}-byte index",
                self.index_bytes
            )));
        }
        let r = self.index_range(Some(size)).unwrap_or(0..0);
        let index = self.decode_index(ctx, &shard[r.start as usize..r.end as usize])?;
        Ok((size, index))
    }

    pub(crate) fn decode_index(&self, ctx: &Ctx<'_>, bytes: &[u8]) -> Result<ShardIndex> {
        if bytes.len() as u64 != self.index_bytes {
            return Err(ctx.err(format!(
                "shard index has {} bytes, expected {}",
                bytes.len(),
                self.index_bytes
            )));
        }
        let mut raw = vec![0u8; self.index.decoded_len()];
        let ictx = Ctx {
            key: ctx.key,
            dtype: &DataType::UInt64,
            fill: &[],
        };
        self.index.decode_into(&ictx, bytes, &mut raw)?;
        let values = raw
            .chunks_exact(8)
            .map(|b| u64::from_ne_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
            .collect();
        ShardIndex::from_values(values).map_err(|e| ctx.err(format!("shard index: {e}")))
    }

    /// Encode a whole shard (C order over `shard_shape`): inner chunks in C order, each one that
    /// holds only the fill value left out (both index values `2^64 - 1`, as zarr-python 3 does),
    /// the others encoded in parallel and laid out one after the other; the index before or after
    /// them. Memory: the encoded inner chunks plus one decoded inner chunk per thread.
    fn encode_shard(&self, ctx: &Ctx<'_>, shard: &[u8], shard_shape: &[u64]) -> Result<Vec<u8>> {
        use rayon::prelude::*;
        let elem = ctx.dtype.size();
        let n = nd_core::num_elements(&self.per_shard)
            .ok_or_else(|| ctx.err("too many inner chunks"))? as usize;
        let inner_len = self.inner.decoded_len();
        let encode_one = |pos: usize| -> Result<Option<Vec<u8>>> {
            // the inner chunk's grid index from its C-order position
            let mut idx = vec![0u64; self.per_shard.len()];
            let mut rest = pos as u64;
            for (i, c) in self.per_shard.iter().enumerate().rev() {
                idx[i] = rest % c;
                rest /= c;
            }
            let start: Vec<u64> = idx
                .iter()
                .zip(&self.chunk_shape)
                .map(|(i, c)| i * c)
                .collect();
            let mut scratch = vec![0u8; inner_len];
            let sv = Strided::of_region(shard_shape, &start, Order::C, elem);
            let dv = Strided::of_region(&self.chunk_shape, &vec![0; start.len()], Order::C, elem);
            copy_strided(shard, &sv, &mut scratch, &dv, &self.chunk_shape, elem)?;
            if nd_codecs::zarr_v2::is_fill(ctx.dtype, ctx.fill, &scratch) {
                return Ok(None);
            }
            self.inner.encode(ctx, &scratch).map(Some)
        };
        let parts: Vec<Option<Vec<u8>>> = if n > 1 {
            (0..n)
                .into_par_iter()
                .map(encode_one)
                .collect::<Result<_>>()?
        } else {
            (0..n).map(encode_one).collect::<Result<_>>()?
        };
        let body_len: usize = parts.iter().flatten().map(Vec::len).sum();
        let mut offset = match self.location {
            IndexLocation::Start => self.index_bytes,
            IndexLocation::End => 0,
        };
        // inner chunks laid out in Morton order (as zarr-python 3 does), the index in C order
        let mut entries = vec![super::shard::EMPTY; 2 * n];
        let mut body = Vec::with_capacity(body_len + self.index_bytes as usize);
        for pos in morton_positions(&self.per_shard) {
            if let Some(b) = &parts[pos] {
                entries[2 * pos] = offset;
                entries[2 * pos + 1] = b.len() as u64;
                offset += b.len() as u64;
                body.extend_from_slice(b);
            }
        }
        drop(parts);
        let index: Vec<u8> = entries.iter().flat_map(|e| e.to_ne_bytes()).collect();
        let ictx = Ctx {
            key: ctx.key,
            dtype: &DataType::UInt64,
            fill: &[],
        };
        let index = self.index.encode(&ictx, &index)?;
        if index.len() as u64 != self.index_bytes {
            return Err(ctx.err(format!(
                "shard index encoded to {} bytes, expected {}",
                index.len(),
                self.index_bytes
            )));
        }
        Ok(match self.location {
            IndexLocation::End => {
                body.extend_from_slice(&index);
                body
            }
            IndexLocation::Start => {
                let mut out = index;
                out.extend_from_slice(&body);
                out
            }
        })
    }

    /// Decode a whole shard into `dst` (C order over `shard_shape`); empty inner chunks are the
    /// fill value.
    fn decode_shard(
        &self,
        ctx: &Ctx<'_>,
        shard: &[u8],
        shard_shape: &[u64],
        dst: &mut [u8],
    ) -> Result<()> {
        let (size, index) = self.whole_shard_index(ctx, shard)?;
        let elem = ctx.dtype.size();
        let grid = nd_core::ChunkGrid::new(shard_shape.to_vec(), self.chunk_shape.clone())?;
        let mut scratch = vec![0u8; self.inner.decoded_len()];
        for piece in grid.pieces(&nd_core::Region::full(shard_shape))? {
            let pos = nd_core::linear_index(&piece.chunk, &self.per_shard) as usize;
            let range = index
                .range(pos, Some(size))
                .map_err(|e| ctx.err(format!("shard index: {e}")))?;
            match range {
                None => nd_core::array::fill_slice(&mut scratch, ctx.fill),
                Some(r) => self.inner.decode_into(
                    ctx,
                    &shard[r.start as usize..r.end as usize],
                    &mut scratch,
                )?,
            }
            let count = piece.in_chunk.shape();
            let sv = Strided::of_region(&self.chunk_shape, &piece.in_chunk.start(), Order::C, elem);
            let dv = Strided::of_region(shard_shape, &piece.in_out.start(), Order::C, elem);
            copy_strided(&scratch, &sv, dst, &dv, &count, elem)?;
        }
        Ok(())
    }

    /// [`Sharding::decode_shard`] for a variable-length type: `emit(position, item)` for every
    /// element of the shard (C order over `shard_shape`), inner chunk by inner chunk; an empty
    /// inner chunk gives `ctx.fill` for each of its elements. A corrupt inner chunk is an error
    /// naming the shard's key and the inner chunk.
    fn decode_shard_items(
        &self,
        ctx: &Ctx<'_>,
        shard: &[u8],
        shard_shape: &[u64],
        emit: &mut dyn FnMut(u64, &[u8]),
    ) -> Result<()> {
        let (size, index) = self.whole_shard_index(ctx, shard)?;
        let n_inner = nd_core::num_elements(&self.chunk_shape).unwrap_or(0);
        let grid = nd_core::ChunkGrid::new(shard_shape.to_vec(), self.chunk_shape.clone())?;
        for piece in grid.pieces(&nd_core::Region::full(shard_shape))? {
            let pos = nd_core::linear_index(&piece.chunk, &self.per_shard) as usize;
            let start = piece.in_out.start();
            let mut at = |p: u64, item: &[u8]| {
                emit(
                    inner_to_shard_pos(p, &self.chunk_shape, &start, shard_shape),
                    item,
                );
            };
            let range = index
                .range(pos, Some(size))
                .map_err(|e| ctx.err(format!("shard index: {e}")))?;
            match range {
                None => {
                    for p in 0..n_inner {
                        at(p, ctx.fill);
                    }
                }
                Some(r) => {
                    let key = format!(
                        "{} (inner chunk {})",
                        ctx.key,
                        nd_core::fmt_shape(piece.chunk.iter())
                    );
                    let ictx = Ctx {
                        key: &key,
                        dtype: ctx.dtype,
                        fill: ctx.fill,
                    };
                    self.inner.decode_items(
                        &ictx,
                        &shard[r.start as usize..r.end as usize],
                        &mut at,
                    )?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untranspose_inverts_a_permutation() {
        // decoded 2x3 (C order 0..6), transposed with order [1, 0] -> 3x2
        let dec: Vec<u8> = (0..6).collect();
        let enc = [0u8, 3, 1, 4, 2, 5];
        let mut out = [0u8; 6];
        untranspose(&enc, &[3, 2], &[1, 0], &mut out, 1).unwrap();
        assert_eq!(out.to_vec(), dec);
    }

    #[test]
    fn morton_as_zarr_python() {
        // zarr.core.indexing.morton_order_iter((2, 3)) -> (0,0) (1,0) (0,1) (1,1) (0,2) (1,2)
        assert_eq!(morton_positions(&[2, 3]), vec![0, 3, 1, 4, 2, 5]);
        assert_eq!(morton_positions(&[1, 4]), vec![0, 1, 2, 3]);
    }

    #[test]
    fn transpose_then_untranspose() {
        let dec: Vec<u8> = (0..24).collect();
        let mut enc = vec![0u8; 24];
        transpose(&dec, &[2, 3, 4], &[2, 0, 1], &mut enc, 1).unwrap();
        let mut back = vec![0u8; 24];
        untranspose(&enc, &[4, 2, 3], &[2, 0, 1], &mut back, 1).unwrap();
        assert_eq!(back, dec);
        assert_eq!(&enc[..4], &[0, 4, 8, 12]);
    }

    #[test]
    fn vlen_items_come_back_in_decoded_positions_through_a_transpose() {
        // decoded 2x3 items "rc"; transpose [1, 0] stores them C order over 3x2: d[j][i]
        let codecs = [
            json!({"name": "transpose", "configuration": {"order": [1, 0]}}),
            json!({"name": "vlen-utf8"}),
        ];
        let chain = CodecChain::parse_vlen(&codecs, &[2, 3], ObjectCodec::VlenUtf8).unwrap();
        assert_eq!(chain.describe(), "transpose+vlen-utf8");
        let mut enc = 6u32.to_le_bytes().to_vec();
        for i in 0..3 {
            for j in 0..2 {
                enc.extend(2u32.to_le_bytes());
                enc.extend(format!("{j}{i}").into_bytes());
            }
        }
        let ctx = Ctx {
            key: "k",
            dtype: &DataType::UInt8,
            fill: b"",
        };
        let mut got = vec![String::new(); 6];
        chain
            .decode_items(&ctx, &enc, &mut |p, it| {
                got[p as usize] = String::from_utf8(it.to_vec()).unwrap();
            })
            .unwrap();
        assert_eq!(got, ["00", "01", "02", "10", "11", "12"]);
        // a fixed-size chain cannot take vlen codecs, nor a vlen chain `bytes`
        assert!(
            CodecChain::parse(&[json!({"name": "vlen-utf8"})], &[2], &DataType::UInt8).is_err()
        );
        assert!(
            CodecChain::parse_vlen(&[json!({"name": "bytes"})], &[2], ObjectCodec::VlenUtf8)
                .is_err()
        );
    }

    #[test]
    fn bad_chains_are_refused() {
        let dt = DataType::Int32;
        let bytes = json!({"name": "bytes", "configuration": {"endian": "little"}});
        assert!(CodecChain::parse(&[json!({"name": "gzip"})], &[4], &dt).is_err());
        assert!(CodecChain::parse(&[bytes.clone(), bytes.clone()], &[4], &dt).is_err());
        assert!(CodecChain::parse(&[json!({"name": "bytes"})], &[4], &dt).is_err());
        assert!(CodecChain::parse(
            &[
                json!({"name": "transpose", "configuration": {"order": [0, 0]}}),
                bytes.clone()
            ],
            &[4, 4],
            &dt
        )
        .is_err());
        assert!(CodecChain::parse(
            &[json!({"name": "numcodecs.delta"}), bytes.clone()],
            &[4],
            &dt
        )
        .is_err());
        let shard = json!({"name": "sharding_indexed", "configuration": {"chunk_shape": [3], "codecs": [bytes]}});
        assert!(CodecChain::parse(&[shard], &[4], &dt).is_err());
        CodecChain::parse(&[json!({"name": "bytes"})], &[4], &DataType::UInt8).unwrap();
    }
}
