//! Structure-aware fuzz inputs, built with `arbitrary` from the fuzzer's bytes: headers made of
//! CONTINUE / HIERARCH chains (well formed and broken), single tiles for the tile decoders with
//! arbitrary tile shape, BYTEPIX, BLOCKSIZE and scale, and whole tile-compressed files (every
//! ZCMPTYPE, quantization keywords, valid or arbitrary tile bytes). Never panic but on a broken
//! invariant.

use super::{gzip_tile, header};
use crate::tile::{plio, rice, Algorithm, TileCodec};
use crate::{Card, Header, Value};
use arbitrary::{Result as AResult, Unstructured};
use nd_codecs::Codec;

const CARD_LEN: usize = 80;
const BLOCK_LEN: usize = 2880;

/// Characters of generated strings and keywords (printable ASCII, with the ones that matter to
/// the card syntax: quote, ampersand, slash, equals sign, space).
const TEXT: &[u8] = b"AZaz09 _-.'&/=()";

/// `text` cut or padded to one 80-column card.
fn card(text: &str) -> String {
    let mut s: String = text.chars().filter(char::is_ascii).take(CARD_LEN).collect();
    while s.len() < CARD_LEN {
        s.push(' ');
    }
    s
}

/// A header block sequence: the cards, END, padding to whole 2880-byte blocks.
fn blocks(cards: &[String]) -> Vec<u8> {
    let mut out: Vec<u8> = cards.iter().flat_map(|c| c.bytes()).collect();
    out.extend_from_slice(card("END").as_bytes());
    while !out.len().is_multiple_of(BLOCK_LEN) {
        out.push(b' ');
    }
    out
}

fn text(u: &mut Unstructured, max: usize, alphabet: &[u8]) -> AResult<String> {
    let n = u.int_in_range(0..=max)?;
    (0..n)
        .map(|_| u.choose(alphabet).map(|&b| b as char))
        .collect()
}

/// Up to `max` bytes of the input as they are.
fn some_bytes(u: &mut Unstructured, max: usize) -> AResult<Vec<u8>> {
    let n = u.int_in_range(0..=max)?.min(u.len());
    Ok(u.bytes(n)?.to_vec())
}

fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A value field: numbers, logicals, complex, strings, nothing, or junk.
fn value_text(u: &mut Unstructured) -> AResult<String> {
    Ok(match u.int_in_range(0..=7)? {
        0 => u.arbitrary::<i64>()?.to_string(),
        1 => format!("{:E}", u.arbitrary::<f64>()?),
        2 => if u.arbitrary()? { "T" } else { "F" }.to_string(),
        3 => format!("({}, {})", u.arbitrary::<i16>()?, u.arbitrary::<f32>()?),
        4 => quoted(&text(u, 70, TEXT)?),
        5 => String::new(),
        6 => "1".repeat(u.int_in_range(1..=40)?),
        _ => text(u, 70, TEXT)?,
    })
}

/// A keyword for a HIERARCH card: one to four words.
fn hierarch_name(u: &mut Unstructured) -> AResult<String> {
    let words = u.int_in_range(1..=4)?;
    let mut parts = Vec::new();
    for _ in 0..words {
        parts.push(text(u, 12, b"ABCXYZ019_-")?);
    }
    Ok(parts.join(" "))
}

/// A long string written as a chain: the first card, then CONTINUE cards; `broken` picks one
/// of the ways real files get chains wrong.
fn chain(u: &mut Unstructured, head: &str, cards: &mut Vec<String>) -> AResult<()> {
    let n = u.int_in_range(1..=5)?;
    let broken = u.int_in_range(0..=8)?;
    for i in 0..n {
        let frag = text(u, 68, TEXT)?;
        let last = i + 1 == n;
        let amp = if !last || broken == 1 { "&" } else { "" };
        let mut value = format!("'{}{amp}'", frag.replace('\'', "''"));
        if broken == 2 && i == n / 2 {
            value = frag.clone(); // no quotes
        }
        if u.ratio(1, 4)? {
            value.push_str(&format!(" / {}", text(u, 20, TEXT)?));
        }
        let key = if i == 0 {
            head.to_string()
        } else {
            match broken {
                3 => "CONTINUE= ".to_string(),
                4 => "continue  ".to_string(),
                5 => "CONTINUE".to_string(),
                _ => "CONTINUE  ".to_string(),
            }
        };
        cards.push(card(&format!("{key}{value}")));
        if broken == 6 && i == 0 {
            cards.push(card("COMMENT between the parts of a long string"));
        }
    }
    Ok(())
}

/// Cards of every kind, CONTINUE and HIERARCH chains among them.
fn gen_cards(u: &mut Unstructured) -> AResult<Vec<String>> {
    let mut cards = Vec::new();
    if u.arbitrary()? {
        cards.push(card("SIMPLE  =                    T"));
    }
    let n = u.int_in_range(0..=30)?;
    for _ in 0..n {
        let key = text(u, 8, b"ABCKEY_-019")?.to_ascii_uppercase();
        match u.int_in_range(0..=6)? {
            0 => cards.push(card(&format!("{key:<8}= {:>20}", value_text(u)?))),
            1 => chain(u, &format!("{key:<8}= "), &mut cards)?,
            2 => {
                let name = hierarch_name(u)?;
                if u.arbitrary()? {
                    chain(u, &format!("HIERARCH {name} = "), &mut cards)?;
                } else {
                    cards.push(card(&format!("HIERARCH {name} = {}", value_text(u)?)));
                }
            }
            3 => cards.push(card(&format!("CONTINUE  {}", value_text(u)?))),
            4 => {
                let kind = *u.choose(&["COMMENT ", "HISTORY ", "        "])?;
                cards.push(card(&format!("{kind}{}", text(u, 72, TEXT)?)));
            }
            5 => cards.push(card(&text(u, 80, TEXT)?)),
            _ => cards.push(card(&format!("{}= {}", text(u, 20, TEXT)?, value_text(u)?))),
        }
    }
    Ok(cards)
}

/// A long string (and keyword, HIERARCH when long) written with [`Card::new`], read back: the
/// value must be the string, trailing spaces dropped (as astropy reads it back).
fn written_long_string(u: &mut Unstructured) -> AResult<()> {
    let key = if u.arbitrary()? {
        hierarch_name(u)?
    } else {
        text(u, 8, b"ABCKEY_019")?
    };
    let unit = text(u, 40, b"AZaz09 _-./=()")?;
    let s = unit.repeat(u.int_in_range(0..=12)?);
    let comment = if u.arbitrary()? {
        Some(text(u, 90, b"AZaz09 _-./=()'&")?)
    } else {
        None
    };
    let commentary = ["", "COMMENT", "HISTORY"].contains(&key.trim().to_ascii_uppercase().as_str());
    let Ok(c) = Card::new(&key, Value::Str(s.clone()), comment.as_deref()) else {
        return Ok(());
    };
    if commentary {
        return Ok(()); // a commentary card: its text is no string value
    }
    let mut h = Header::new();
    h.push(c);
    let bytes = h.to_bytes();
    let (back, _) = Header::from_bytes(&bytes).expect("a written long string re-parses"); // ok: a fuzz invariant; the panic is the finding
    let got = back.cards().first().map(|c| c.value().clone());
    assert_eq!(
        got,
        Some(Value::Str(s.trim_end().to_string())),
        "long string {s:?} under {key:?} read back"
    );
    header(&bytes);
    Ok(())
}

/// Headers built from CONTINUE / HIERARCH chains (and every other card kind, broken ones too):
/// [`header`]'s round trip, then a long string written by [`Card::new`] and read back.
pub fn header_chain(data: &[u8]) {
    let mut u = Unstructured::new(data);
    if let Ok(cards) = gen_cards(&mut u) {
        header(&blocks(&cards));
    }
    let _ = written_long_string(&mut u);
}

/// Values a tile may hold with `bytepix`-byte integers.
fn tile_values(u: &mut Unstructured, n: usize, bytepix: usize) -> AResult<Vec<i64>> {
    let (lo, hi) = match bytepix {
        1 => (0i64, 255i64), // BYTEPIX 1 and BITPIX 8 are unsigned
        2 => (-32768, 32767),
        _ => (i32::MIN as i64, i32::MAX as i64),
    };
    let small = u.arbitrary::<bool>()?;
    (0..n)
        .map(|_| {
            if small {
                u.int_in_range(-3i64..=3).map(|v| v.clamp(lo, hi))
            } else {
                u.int_in_range(lo..=hi)
            }
        })
        .collect()
}

/// An HCOMPRESS_1 stream header for `nx` × `ny` pixels, then arbitrary bit planes.
fn hcompress_stream(u: &mut Unstructured, nx: u64, ny: u64) -> AResult<Vec<u8>> {
    let mut b = vec![0xdd, 0x99];
    b.extend_from_slice(&(nx as i32).to_be_bytes());
    b.extend_from_slice(&(ny as i32).to_be_bytes());
    b.extend_from_slice(&u.int_in_range(0i32..=16)?.to_be_bytes());
    b.extend_from_slice(&i64::from(u.arbitrary::<i16>()?).to_be_bytes());
    for _ in 0..3 {
        b.push(u.int_in_range(0u8..=34)?);
    }
    b.extend_from_slice(&some_bytes(u, 256)?);
    Ok(b)
}

/// Flip one byte of `b` now and then.
fn maybe_corrupt(u: &mut Unstructured, b: &mut [u8]) -> AResult<bool> {
    if !b.is_empty() && u.ratio(1, 4)? {
        let at = u.choose_index(b.len())?;
        b[at] ^= u.int_in_range(1u8..=255)?;
        return Ok(true);
    }
    Ok(false)
}

fn run_tile_codec(u: &mut Unstructured) -> AResult<()> {
    let algorithm = *u.choose(&[Algorithm::Rice, Algorithm::Plio, Algorithm::Hcompress])?;
    let codec = TileCodec {
        algorithm,
        zbitpix: *u.choose(&[8i64, 16, 32, 64, -32, 7])?,
        blocksize: *u.choose(&[32usize, 16, 1, 7, 0, 64, 4096])?,
        bytepix: *u.choose(&[4usize, 2, 1, 8, 0, 3])?,
        hscale: u.int_in_range(-2i64..=1000)?,
        hsmooth: u.arbitrary()?,
        plio_big_endian: u.arbitrary()?,
    };
    let ndim = u.int_in_range(0..=3)?;
    let tshape = (0..ndim)
        .map(|_| u.int_in_range(0u64..=40))
        .collect::<AResult<Vec<u64>>>()?;
    let n = tshape.iter().product::<u64>() as usize;
    let mut expect = None;
    let mut bytes = if u.arbitrary()? {
        some_bytes(u, 512)?
    } else {
        match algorithm {
            Algorithm::Rice => {
                let vals = tile_values(u, n, codec.bytepix)?;
                let enc = rice::encode(&vals, codec.bytepix, codec.blocksize).unwrap_or_default();
                expect = Some(vals);
                enc
            }
            Algorithm::Plio => {
                let vals = tile_values(u, n, 2)?;
                let px: Vec<i32> = vals.iter().map(|&v| (v.max(0) & 0xffffff) as i32).collect();
                let words = plio::encode(&px).unwrap_or_default();
                expect = Some(px.iter().map(|&v| v as i64).collect());
                words
                    .iter()
                    .flat_map(|w| {
                        if codec.plio_big_endian {
                            w.to_be_bytes()
                        } else {
                            w.to_ne_bytes()
                        }
                    })
                    .collect()
            }
            _ => {
                let (a, b) = match tshape.as_slice() {
                    [.., a, b] => (*a, *b),
                    [a] => (*a, 1),
                    [] => (1, 1),
                };
                hcompress_stream(u, a, b)?
            }
        }
    };
    if maybe_corrupt(u, &mut bytes)? || bytes.is_empty() {
        expect = None;
    }
    if let Ok((vals, _)) = codec.decode_ints(&bytes, &tshape) {
        assert!(vals.len() >= n, "a decoded tile holds every pixel");
        if let Some(e) = expect.filter(|e| !e.is_empty()) {
            assert_eq!(&vals[..n], &e[..], "{algorithm:?} tile round trip");
        }
    }
    if let Ok(out) = codec.decode_be(&bytes, &tshape) {
        assert_eq!(
            out.len(),
            n * (codec.zbitpix.unsigned_abs() as usize / 8),
            "tile bytes"
        );
    }
    Ok(())
}

/// One RICE_1, PLIO_1 or HCOMPRESS_1 tile of arbitrary shape, BYTEPIX, BLOCKSIZE and scale,
/// its bytes arbitrary or a valid encoding (perhaps with one byte changed), through
/// [`TileCodec`]: valid encodings must decode to their values, anything else to an error.
pub fn tile_codec(data: &[u8]) {
    let _ = run_tile_codec(&mut Unstructured::new(data));
}

/// The bytes of one tile of `n` pixels of a file compressed with `cmp`.
fn file_tile(
    u: &mut Unstructured,
    cmp: &str,
    zbitpix: i64,
    tile: &[u64],
    bytepix: usize,
    blocksize: usize,
) -> AResult<Vec<u8>> {
    let n = tile.iter().product::<u64>() as usize;
    if u.ratio(1, 5)? {
        return some_bytes(u, 128);
    }
    let width = match zbitpix {
        8 => 1,
        16 => 2,
        -64 | 64 => 8,
        _ => 4,
    };
    let vals = tile_values(u, n, width.min(4))?;
    let be: Vec<u8> = vals
        .iter()
        .flat_map(|&v| v.to_be_bytes()[8 - width..].to_vec())
        .collect();
    let gzip = |b: &[u8]| nd_codecs::Gzip { level: 1 }.encode(b).unwrap_or_default();
    let mut out = match cmp {
        "RICE_1" | "RICE_ONE" => rice::encode(&vals, bytepix, blocksize).unwrap_or_default(),
        "GZIP_1" => gzip(&be),
        "GZIP_2" => {
            let mut sh = vec![0u8; be.len()];
            for (i, px) in be.chunks_exact(width).enumerate() {
                for (k, &b) in px.iter().enumerate() {
                    sh[k * n + i] = b;
                }
            }
            gzip(&sh)
        }
        "PLIO_1" => {
            let px: Vec<i32> = vals.iter().map(|&v| (v.max(0) & 0xffff) as i32).collect();
            plio::encode(&px)
                .unwrap_or_default()
                .iter()
                .flat_map(|w| w.to_be_bytes())
                .collect()
        }
        "HCOMPRESS_1" => {
            let dims: Vec<u64> = tile.iter().copied().filter(|&d| d != 1).collect();
            let (a, b) = match dims.as_slice() {
                [a, b, ..] => (*a, *b),
                [a] => (*a, 1),
                [] => (1, 1),
            };
            hcompress_stream(u, a, b)?
        }
        _ => be,
    };
    maybe_corrupt(u, &mut out)?;
    Ok(out)
}

fn gen_tile_file(u: &mut Unstructured) -> AResult<Vec<u8>> {
    let cmp = *u.choose(&[
        "RICE_1",
        "GZIP_1",
        "GZIP_2",
        "PLIO_1",
        "HCOMPRESS_1",
        "NOCOMPRESS",
        "RICE_ONE",
        "BOGUS",
    ])?;
    let zbitpix = *u.choose(&[16i64, 8, 32, 64, -32, -64])?;
    let ndim = u.int_in_range(1..=3)?;
    let dims = (0..ndim)
        .map(|_| u.int_in_range(1u64..=16))
        .collect::<AResult<Vec<u64>>>()?;
    let tiles = dims
        .iter()
        .map(|&d| {
            if u.ratio(1, 10)? {
                u.int_in_range(0..=d + 3)
            } else {
                u.int_in_range(1..=d)
            }
        })
        .collect::<AResult<Vec<u64>>>()?;
    let bytepix = *u.choose(&[4usize, 2, 1, 8])?;
    let blocksize = *u.choose(&[32usize, 16, 1, 7])?;
    // tiles in file order (ZTILE1 fastest), each clipped at the image edge
    let per_axis: Vec<u64> = dims
        .iter()
        .zip(&tiles)
        .map(|(&d, &t)| d.div_ceil(t.max(1)))
        .collect();
    let ntiles: u64 = per_axis.iter().product();
    let mut heap = Vec::new();
    let mut descriptors = Vec::new();
    let mut maxlen = 0;
    let plio_words = cmp == "PLIO_1";
    for row in 0..ntiles {
        let mut rest = row;
        let mut tile_numpy = Vec::new();
        for ((&d, &t), &na) in dims.iter().zip(&tiles).zip(&per_axis) {
            let k = rest % na;
            rest /= na;
            let t = t.max(1);
            tile_numpy.insert(0, t.min(d - k * t));
        }
        let b = file_tile(u, cmp, zbitpix, &tile_numpy, bytepix, blocksize)?;
        let count = if plio_words { b.len() / 2 } else { b.len() };
        descriptors.extend_from_slice(&(count as i32).to_be_bytes());
        descriptors.extend_from_slice(&(heap.len() as i32).to_be_bytes());
        maxlen = maxlen.max(count);
        heap.extend_from_slice(&b);
    }
    let mut cards = vec![
        card("XTENSION= 'BINTABLE'"),
        card("BITPIX  =                    8"),
        card("NAXIS   =                    2"),
        card("NAXIS1  =                    8"),
        card(&format!("NAXIS2  = {ntiles:>20}")),
        card(&format!("PCOUNT  = {:>20}", heap.len())),
        card("GCOUNT  =                    1"),
        card("TFIELDS =                    1"),
        card("TTYPE1  = 'COMPRESSED_DATA'"),
        card(&format!(
            "TFORM1  = '1P{}({maxlen})'",
            if plio_words { 'I' } else { 'B' }
        )),
        card("ZIMAGE  =                    T"),
        card(&format!("ZCMPTYPE= '{cmp}'")),
        card(&format!("ZBITPIX = {zbitpix:>20}")),
        card(&format!("ZNAXIS  = {ndim:>20}")),
    ];
    for (k, (d, t)) in dims.iter().zip(&tiles).enumerate() {
        cards.push(card(&format!("ZNAXIS{} = {d:>20}", k + 1)));
        cards.push(card(&format!("ZTILE{}  = {t:>20}", k + 1)));
    }
    let mut zn = 0;
    let mut zval = |cards: &mut Vec<String>, name: &str, v: String| {
        zn += 1;
        cards.push(card(&format!("ZNAME{zn}  = '{name}'")));
        cards.push(card(&format!("ZVAL{zn}   = {v:>20}")));
    };
    match cmp {
        "RICE_1" | "RICE_ONE" => {
            zval(&mut cards, "BLOCKSIZE", blocksize.to_string());
            zval(&mut cards, "BYTEPIX", bytepix.to_string());
        }
        "HCOMPRESS_1" => {
            zval(&mut cards, "SCALE", u.int_in_range(0i64..=8)?.to_string());
            zval(&mut cards, "SMOOTH", u.int_in_range(0i64..=1)?.to_string());
        }
        _ => {}
    }
    if zbitpix < 0 && u.arbitrary()? {
        let q = *u.choose(&["NO_DITHER", "SUBTRACTIVE_DITHER_1", "SUBTRACTIVE_DITHER_2"])?;
        cards.push(card(&format!("ZQUANTIZ= '{q}'")));
        cards.push(card(&format!(
            "ZDITHER0= {:>20}",
            u.int_in_range(0i64..=10001)?
        )));
        let scale = *u.choose(&[0.5f64, 1.0, 1e-3, 0.0, -2.0, 1e300])?;
        cards.push(card(&format!("ZSCALE  = {scale:>20E}")));
        cards.push(card(&format!("ZZERO   = {:>20E}", u.arbitrary::<f32>()?)));
    }
    if u.ratio(1, 4)? {
        cards.push(card(&format!("ZBLANK  = {:>20}", u.arbitrary::<i16>()?)));
    }
    let mut file = blocks(&[
        card("SIMPLE  =                    T"),
        card("BITPIX  =                    8"),
        card("NAXIS   =                    0"),
        card("EXTEND  =                    T"),
    ]);
    file.extend_from_slice(&blocks(&cards));
    let start = file.len();
    file.extend_from_slice(&descriptors);
    file.extend_from_slice(&heap);
    let data_len = file.len() - start;
    file.resize(start + data_len.div_ceil(BLOCK_LEN) * BLOCK_LEN, 0);
    Ok(file)
}

/// A whole tile-compressed image (any ZCMPTYPE and ZBITPIX, 1 to 3 axes, arbitrary tile shape,
/// BYTEPIX, BLOCKSIZE, SCALE, quantization keywords; each tile a valid encoding, one with a
/// byte changed, or arbitrary bytes) read whole and by region as [`gzip_tile`] does.
pub fn tile_image(data: &[u8]) {
    if let Ok(file) = gen_tile_file(&mut Unstructured::new(data)) {
        gzip_tile(&file);
    }
}
