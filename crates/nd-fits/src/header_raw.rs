//! A header as read from the file, before its cards are parsed: the block scan to the END card,
//! the keywords that size and name the data unit found by a quick scan, and the full parse of
//! every card (CONTINUE grouping, warnings) that [`crate::header::Header`] runs on first use.
//!
//! The quick scan gives exactly the values the full parse gives for the keywords it is asked
//! about: it reads a card itself only when the card is in the plain fixed format (an upper-case
//! keyword in columns 1-8, `= ` in columns 9-10, one image) and its value is an integer, a
//! logical or a string; any other card that could carry one of these keywords goes through the
//! full card parser.

use crate::card::parse::{parse_card, parse_value_comment, trim_spaces};
use crate::card::{Card, Value, CARD_LEN};
use crate::error::{Error, Result};
use crate::header::{Strictness, Warning, BLOCK};
use bytes::Bytes;
use nd_core::ByteSource;
use smallvec::SmallVec;
use std::sync::OnceLock;

/// The cards of a header (END excluded) and the irregularities found while reading it.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Parsed {
    pub(crate) cards: Vec<Card>,
    pub(crate) warnings: Vec<Warning>,
}

/// A header's images before parsing.
#[derive(Debug, Clone)]
pub(crate) struct RawHeader {
    /// The images before END, 80 bytes each, non-printable bytes replaced by `?`.
    images: Bytes,
    /// Byte offset of the first image in the file.
    offset: u64,
    /// What the block scan found irregular (truncated block, non-ASCII bytes, irregular END).
    scan_warnings: Vec<Warning>,
    /// The cards that may carry a structural keyword, in header order, with the first card:
    /// found on the first [`RawHeader::get`] (the HDU walk looks them up in a scan of its own,
    /// [`RawHeader::scan_structural`], and so keeps nothing per header).
    structural: OnceLock<Vec<(Key, Value)>>,
}

/// The structural cards of a header as [`RawHeader::scan_structural`] finds them: held on the
/// stack for the usual header (a few sizing keywords), on the heap past 16.
pub(crate) type StructuralCards = SmallVec<[(Key, Value); 16]>;

/// Where a structural card's keyword is: in the images (byte start, length) or parsed.
#[derive(Debug, Clone)]
pub(crate) enum Key {
    Raw(usize, u8),
    Owned(String),
}

/// First letters (upper case) of the keywords [`RawHeader::get`] is asked about: XTENSION,
/// ZIMAGE, BITPIX, NAXIS, NAXISn, PCOUNT, GCOUNT, GROUPS.
const STRUCTURAL_INITIALS: &[u8] = b"XZBNPG";

/// Read the header that starts at `offset`, block by block, until its END card. Returns the
/// raw header and its length in bytes (whole blocks; a final partial block counts whole only if
/// present in full). Only the END card, printable bytes and the structural cards are looked at.
pub(crate) fn scan_header(
    src: &dyn ByteSource,
    offset: u64,
    hdu: usize,
) -> Result<(RawHeader, u64)> {
    let size = src.len();
    let mut parts: Vec<Bytes> = Vec::new();
    let mut nimages = 0usize;
    let mut warnings: Vec<Warning> = Vec::new();
    let mut pos = offset;
    let mut non_ascii_warned = false;
    let end_found = 'blocks: loop {
        if pos >= size {
            break false;
        }
        let end = (pos + BLOCK as u64).min(size);
        if end - pos < BLOCK as u64 {
            warnings.push(Warning {
                card: None,
                offset: pos,
                msg: format!(
                    "header block at byte {pos} is truncated to {} bytes",
                    end - pos
                ),
            });
        }
        let block = src.read_range(pos..end)?;
        // Whole images before END (or before the end of a truncated block).
        let mut n = 0usize;
        let mut found = false;
        for img in block.chunks(CARD_LEN) {
            if img.len() >= 3 && &img[..3] == b"END" {
                let rest = &img[3..];
                // astropy: END followed by something that cannot continue a keyword.
                let cont = rest.first().is_some_and(|&b| {
                    b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_' || b == b'-'
                });
                if !cont {
                    found = true;
                    break;
                }
            }
            if img.len() < CARD_LEN {
                break;
            }
            n += 1;
        }
        let mut kept = block.slice(..n * CARD_LEN);
        if !all_printable(&kept) {
            if !non_ascii_warned {
                let first = kept
                    .chunks(CARD_LEN)
                    .position(|img| !img.iter().all(|&b| (0x20..0x7f).contains(&b)))
                    .unwrap_or(0);
                warnings.push(Warning {
                    card: Some(nimages + first),
                    offset: pos + (first * CARD_LEN) as u64,
                    msg: "non-printable or non-ASCII bytes in header (replaced by '?')".into(),
                });
                non_ascii_warned = true;
            }
            let fixed: Vec<u8> = kept
                .iter()
                .map(|&b| if (0x20..0x7f).contains(&b) { b } else { b'?' })
                .collect();
            kept = Bytes::from(fixed);
        }
        nimages += n;
        parts.push(kept);
        if found {
            let img = block.get(n * CARD_LEN..).unwrap_or(&[]);
            let img = img.get(..CARD_LEN).unwrap_or(img);
            let rest = img.get(3..).unwrap_or(&[]);
            if rest.len() != CARD_LEN - 3 || rest.iter().any(|&b| b != b' ') {
                warnings.push(Warning {
                    card: Some(nimages),
                    offset: pos + (n * CARD_LEN) as u64,
                    msg: "irregular END card (trailing bytes or missing padding)".into(),
                });
            }
            break 'blocks true;
        }
        pos = end;
    };
    if !end_found {
        return Err(Error::Header {
            hdu,
            offset,
            msg: format!(
                "no END card before the end of the file (byte {size}); {nimages} cards read"
            ),
        });
    }
    let header_len = (((nimages + 1) * CARD_LEN).div_ceil(BLOCK) * BLOCK) as u64;
    let images = if parts.len() == 1 {
        parts.pop().unwrap_or_default()
    } else {
        Bytes::from(parts.concat())
    };
    let raw = RawHeader {
        images,
        offset,
        scan_warnings: warnings,
        structural: OnceLock::new(),
    };
    Ok((raw, header_len))
}

/// True when every byte is printable ASCII (0x20..0x7f); a branch-free loop per 64 bytes, which
/// the compiler vectorises (the check runs on every header image).
fn all_printable(b: &[u8]) -> bool {
    b.chunks(64).all(|c| {
        c.iter()
            .fold(0u8, |bad, &x| bad | u8::from(x.wrapping_sub(0x20) >= 0x5f))
            == 0
    })
}

/// The images of one card: its first image and the CONTINUE images after it (astropy: any
/// non-commentary card followed by images whose first 8 columns are exactly "CONTINUE").
fn card_groups(images: &[u8]) -> impl Iterator<Item = (usize, std::ops::Range<usize>)> + '_ {
    let n = images.len() / CARD_LEN;
    let img = move |k: usize| &images[k * CARD_LEN..(k + 1) * CARD_LEN]; // ok: k < n
    let mut i = 0usize;
    std::iter::from_fn(move || {
        if i >= n {
            return None;
        }
        let first = img(i);
        // a keyword starting with a letter other than C or H is neither blank nor commentary
        let may_be_commentary =
            !first[0].is_ascii_alphabetic() || matches!(first[0].to_ascii_uppercase(), b'C' | b'H');
        let commentary = may_be_commentary && {
            let k8 = trim_spaces(&first[..8]);
            k8.is_empty()
                || k8.eq_ignore_ascii_case(b"COMMENT")
                || k8.eq_ignore_ascii_case(b"HISTORY")
        };
        let mut j = i + 1;
        if !commentary {
            while j < n && img(j).starts_with(b"CONTINUE") {
                j += 1;
            }
        }
        let g = (i, i * CARD_LEN..j * CARD_LEN);
        i = j;
        Some(g)
    })
}

/// Text of bytes known to be printable ASCII.
fn ascii(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

impl RawHeader {
    /// Offset of image `k` in the file.
    fn image_offset(&self, k: usize) -> u64 {
        self.offset + (k * CARD_LEN) as u64
    }

    /// What the block scan found irregular.
    pub(crate) fn scan_warnings(&self) -> &[Warning] {
        &self.scan_warnings
    }

    /// Parse every card: CONTINUE grouping, each card's value and comment, the warnings of the
    /// block scan then those of the cards, then the fixed-format check of mandatory keywords.
    pub(crate) fn parse(&self) -> Parsed {
        let mut warnings = self.scan_warnings.clone();
        let mut cards = Vec::with_capacity(self.images.len() / CARD_LEN);
        for (first, range) in card_groups(&self.images) {
            let off = self.image_offset(first);
            let card_no = cards.len();
            let card = parse_card(ascii(&self.images[range]), &mut |msg| {
                warnings.push(Warning {
                    card: Some(card_no),
                    offset: off,
                    msg,
                })
            });
            cards.push(card);
        }
        self.check_fixed_format(&cards, &mut warnings);
        Parsed { cards, warnings }
    }

    /// Mandatory keywords must be in fixed format (value ending in column 30): warn when not.
    fn check_fixed_format(&self, cards: &[Card], warnings: &mut Vec<Warning>) {
        let mut img = 0usize;
        for (n, c) in cards.iter().enumerate() {
            let k = c.keyword();
            let mandatory = matches!(
                k,
                "SIMPLE" | "BITPIX" | "NAXIS" | "PCOUNT" | "GCOUNT" | "EXTEND"
            ) || (k.starts_with("NAXIS")
                && k[5..].bytes().all(|b| b.is_ascii_digit()));
            if mandatory && matches!(c.value(), Value::Int(_) | Value::Bool(_)) {
                let rb = c.raw().as_bytes();
                let ok = rb.get(8..10) == Some(b"= ")
                    && rb.get(29).is_some_and(|b| *b != b' ')
                    && rb.get(30).is_none_or(|b| *b == b' ' || *b == b'/');
                if !ok {
                    warnings.push(Warning {
                        card: Some(n),
                        offset: self.image_offset(img),
                        msg: format!("mandatory keyword {k} is not in fixed format (value must end in column 30)"),
                    });
                }
            }
            img += c.num_images();
        }
    }

    /// The first card and every card whose keyword may be a structural one, with their values
    /// as the full parse gives them; look them up with [`RawHeader::lookup`].
    pub(crate) fn scan_structural(&self) -> StructuralCards {
        let mut out = StructuralCards::new();
        for (first, range) in card_groups(&self.images) {
            let img = &self.images[range.start..range.start + CARD_LEN];
            let k8 = &img[..8];
            let lead = k8.iter().find(|c| !c.is_ascii_whitespace()).copied();
            let candidate = first == 0
                || lead.is_some_and(|c| STRUCTURAL_INITIALS.contains(&c.to_ascii_uppercase()))
                || k8.eq_ignore_ascii_case(b"HIERARCH");
            if !candidate {
                continue;
            }
            let single = range.len() == CARD_LEN;
            match single.then(|| quick_card(img)).flatten() {
                Some((len, value)) => out.push((Key::Raw(range.start, len), value)),
                None => {
                    let c = parse_card(ascii(&self.images[range]), &mut |_| {});
                    out.push((Key::Owned(c.keyword().to_string()), c.value().clone()));
                }
            }
        }
        out
    }

    fn key<'a>(&'a self, k: &'a Key) -> &'a [u8] {
        match k {
            Key::Raw(start, len) => &self.images[*start..*start + usize::from(*len)],
            Key::Owned(s) => s.as_bytes(),
        }
    }

    /// The structural cards, scanned on first use.
    fn structural(&self) -> &[(Key, Value)] {
        self.structural
            .get_or_init(|| self.scan_structural().into_vec())
    }

    /// Whether the structural cards were found and kept (tests of the walk's memory).
    #[cfg(test)]
    pub(crate) fn structural_cards_kept(&self) -> bool {
        self.structural.get().is_some()
    }

    /// The keyword of the first card (`None` when there is none).
    pub(crate) fn first_keyword(&self) -> Option<String> {
        self.first_keyword_in(self.structural())
    }

    /// [`RawHeader::first_keyword`] from `cards`, structural cards of this header.
    pub(crate) fn first_keyword_in(&self, cards: &[(Key, Value)]) -> Option<String> {
        cards.first().map(|(k, _)| ascii(self.key(k)))
    }

    /// The value of the first card with this structural keyword (upper case, no HIERARCH) —
    /// only for keywords starting with one of [`STRUCTURAL_INITIALS`].
    pub(crate) fn get(&self, key: &str) -> Option<&Value> {
        self.lookup(self.structural(), key)
    }

    /// [`RawHeader::get`] in `cards`, structural cards of this header (from
    /// [`RawHeader::scan_structural`]).
    pub(crate) fn lookup<'a>(&'a self, cards: &'a [(Key, Value)], key: &str) -> Option<&'a Value> {
        debug_assert!(
            key.bytes()
                .next()
                .is_some_and(|c| STRUCTURAL_INITIALS.contains(&c))
                && !key.bytes().any(|c| c.is_ascii_lowercase())
        );
        cards
            .iter()
            .find(|(k, _)| match k {
                // a quickly read keyword is upper case, as is `key`
                Key::Raw(..) => self.key(k) == key.as_bytes(),
                Key::Owned(s) => s.eq_ignore_ascii_case(key),
            })
            .map(|(_, v)| v)
    }

    /// The full parse, erroring on the first irregularity in strict mode.
    pub(crate) fn parse_with(&self, hdu: usize, strict: Strictness) -> Result<Parsed> {
        let p = self.parse();
        if strict == Strictness::Strict {
            if let Some(w) = p.warnings.first() {
                return Err(Error::Card {
                    hdu,
                    card: w.card.unwrap_or(0),
                    offset: w.offset,
                    msg: w.msg.clone(),
                });
            }
        }
        Ok(p)
    }
}

/// A card in the plain fixed format read without the card parser: an upper-case keyword of
/// A-Z 0-9 - _ in columns 1-8 then spaces, `= ` in columns 9-10, and an integer or a logical
/// followed by nothing or a comment, or a value [`parse_value_comment`] reads. Returns the
/// keyword's length and the value; `None` for anything else (the caller parses the card).
fn quick_card(img: &[u8]) -> Option<(u8, Value)> {
    let klen = img[..8].iter().position(|&b| b == b' ').unwrap_or(8);
    if klen == 0
        || !img[..klen]
            .iter()
            .all(|&b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        || !img[klen..8].iter().all(|&b| b == b' ')
        || &img[8..10] != b"= "
        || matches!(&img[..klen], b"COMMENT" | b"HISTORY")
    {
        return None;
    }
    // the value and comment, from the value's first byte (trailing spaces are `tail_ok`'s)
    let vc = &img[10..];
    let vc = &vc[vc.iter().position(|&b| b != b' ').unwrap_or(vc.len())..];
    // what may follow a value: spaces, then nothing or a comment
    let tail_ok = |rest: &[u8]| {
        let t = rest
            .iter()
            .position(|&b| b != b' ')
            .map_or(&[][..], |p| &rest[p..]);
        t.first().is_none_or(|&b| b == b'/')
    };
    let value = match vc.first() {
        Some(b'T' | b'F') if tail_ok(&vc[1..]) => Value::Bool(vc[0] == b'T'),
        Some(b'-' | b'0'..=b'9') => {
            let digits = vc
                .iter()
                .skip(1)
                .position(|b| !b.is_ascii_digit())
                .map_or(vc.len(), |p| p + 1);
            if !tail_ok(&vc[digits..]) {
                return None;
            }
            let text = std::str::from_utf8(&vc[..digits]).ok()?;
            Value::Int(text.parse::<i64>().ok()?)
        }
        _ => parse_value_comment(std::str::from_utf8(trim_spaces(vc)).ok()?)?.0,
    };
    Some((klen as u8, value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hdu::{hdu_from_header, Hdu};
    use crate::header::{read_header, Header};
    use std::path::{Path, PathBuf};

    /// Every key the walk and the image reader ask the quick scan about, for a header whose
    /// NAXIS is `naxis`.
    fn structural_keys(naxis: usize) -> Vec<String> {
        let mut k: Vec<String> = [
            "XTENSION", "ZIMAGE", "BITPIX", "NAXIS", "PCOUNT", "GCOUNT", "GROUPS", "BSCALE",
            "BZERO", "BLANK",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        k.extend((1..=naxis.max(3)).map(|n| format!("NAXIS{n}")));
        k
    }

    /// The HDU fields that come from the structural keywords.
    fn layout(h: &Hdu) -> (String, u64, u64, u64, i64, Vec<u64>) {
        (
            h.kind.to_string(),
            h.header_offset,
            h.data_offset,
            h.data_len,
            h.bitpix,
            h.naxes.clone(),
        )
    }

    /// Walk the headers of `src` twice, lazily (quick scan) and eagerly (every card parsed
    /// before the HDU is computed), and check they agree on every HDU and on where the walk
    /// stops, and that the quick scan agrees with the full parse on every structural keyword.
    /// Returns the number of headers compared.
    fn compare_walk(name: &str, src: &dyn ByteSource) -> usize {
        let mut offset = 0u64;
        let mut index = 0usize;
        while offset < src.len() && index < 10_000 {
            let lazy = read_header(src, offset, index, Strictness::Lenient);
            let eager = read_header(src, offset, index, Strictness::Lenient).map(|(h, n)| {
                let _ = h.cards(); // parse now: the HDU is computed from the parsed cards
                (h, n)
            });
            let (lazy, eager) = match (lazy, eager) {
                (Ok(l), Ok(e)) => (l, e),
                (Err(l), Err(e)) => {
                    assert_eq!(l.to_string(), e.to_string(), "{name} hdu {index}");
                    break;
                }
                (l, e) => panic!("{name} hdu {index}: lazy {l:?} eager {e:?}"),
            };
            let (raw, _) = scan_header(src, offset, index).unwrap();
            let parsed = raw.parse();
            let naxis = parsed
                .cards
                .iter()
                .find(|c| c.matches("NAXIS"))
                .and_then(|c| match c.value() {
                    Value::Int(n) => usize::try_from(*n).ok(),
                    _ => None,
                })
                .unwrap_or(0)
                .min(999);
            let full = Header::from_parsed_for_test(parsed.clone());
            for key in structural_keys(naxis) {
                assert_eq!(raw.get(&key), full.get(&key), "{name} hdu {index} {key}");
            }
            assert_eq!(
                raw.first_keyword(),
                full.cards().first().map(|c| c.keyword().to_string()),
                "{name} hdu {index}"
            );
            // the lazy header, once parsed, is the eager one: cards, raw text, warnings
            assert_eq!(lazy.1, eager.1, "{name} hdu {index}");
            assert_eq!(lazy.0.cards(), eager.0.cards(), "{name} hdu {index}");
            assert_eq!(lazy.0.warnings(), eager.0.warnings(), "{name} hdu {index}");
            assert_eq!(lazy.0.cards(), &parsed.cards[..], "{name} hdu {index}");
            // the cards' raw text is the stored images (when all are printable)
            if lazy
                .0
                .warnings()
                .iter()
                .all(|w| !w.msg.contains("non-printable"))
            {
                let text: String = lazy.0.cards().iter().map(Card::raw).collect();
                let stored = src.read_range(offset..offset + text.len() as u64).unwrap();
                assert_eq!(text, String::from_utf8_lossy(&stored), "{name} hdu {index}");
            }
            let (lh, ln) = read_header(src, offset, index, Strictness::Lenient).unwrap();
            let l = hdu_from_header(lh, index, offset, ln);
            let e = hdu_from_header(eager.0, index, offset, eager.1);
            match (l, e) {
                (Ok(l), Ok(e)) => {
                    assert_eq!(layout(&l), layout(&e), "{name} hdu {index}");
                    assert_eq!(l.name(), e.name(), "{name} hdu {index}");
                    assert_eq!(l.ver(), e.ver(), "{name} hdu {index}");
                    offset = l.end_offset();
                }
                (Err(l), Err(e)) => {
                    assert_eq!(l.to_string(), e.to_string(), "{name} hdu {index}");
                    break;
                }
                (l, e) => panic!("{name} hdu {index}: lazy {l:?} eager {e:?}"),
            }
            index += 1;
        }
        index
    }

    fn fits_files(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                fits_files(&p, out);
            } else if p
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.contains(".fits") || n.ends_with(".fit") || n.ends_with(".fts"))
            {
                out.push(p);
            }
        }
    }

    #[test]
    fn lazy_equals_eager_on_every_testdata_file() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata");
        let mut files = Vec::new();
        fits_files(&root, &mut files);
        files.sort();
        assert!(files.len() > 150, "{} FITS files", files.len());
        let mut headers = 0;
        for p in &files {
            let name = p.display().to_string();
            let raw = std::fs::read(p).unwrap();
            let src = nd_core::MemSource::new(raw.clone());
            headers += compare_walk(&name, &src);
            // gzip-compressed files: their decompressed bytes too
            if let Ok(f) = crate::fits::Fits::open(p) {
                if f.is_gzipped() {
                    headers += compare_walk(&name, &**f.source());
                }
            }
        }
        assert!(headers > 300, "{headers} headers compared");
    }

    fn image(card: &str) -> Vec<u8> {
        let mut v = card.as_bytes().to_vec();
        v.resize(CARD_LEN, b' ');
        v
    }

    #[test]
    fn quick_scan_matches_the_card_parser_on_irregular_cards() {
        let odd: &[&str] = &[
            "NAXIS1  =                    5 / plain",
            "NAXIS1  =                 5.0",
            "NAXIS1  =                  -0",
            "NAXIS1  =                 +12",
            "NAXIS1  = 99999999999999999999",
            "NAXIS1  =              12 34",
            "NAXIS1  =                 12/c",
            "NAXIS1  =               0012",
            "NAXIS1  =                  1E3",
            "NAXIS1  =                  - 3",
            "NAXIS1  =                    -",
            "NAXIS1  = ",
            "NAXIS1  =  'abc'",
            "NAXIS1  =  (1, 2)",
            "NAXIS1= 7",
            "naxis1  =                    5",
            "NAXIS1                       5",
            " NAXIS1 =                    5",
            "HIERARCH NAXIS1 = 8",
            "GROUPS  =                    T",
            "GROUPS  =                    T / c",
            "GROUPS  =                   TRUE",
            "GROUPS  =                    F/",
            "ZIMAGE  =                    T",
            "XTENSION= 'IMAGE   '",
            "XTENSION= 'BIN''TAB'  / c",
            "XTENSION= 'unterminated",
            "BITPIX  =                  -32",
            "PCOUNT  =                    0",
        ];
        for card in odd {
            let img = image(card);
            let mut bytes = img.clone();
            bytes.extend_from_slice(&image("END"));
            let src = nd_core::MemSource::new(bytes);
            let (raw, _) = scan_header(&src, 0, 0).unwrap();
            let parsed = Header::from_parsed_for_test(raw.parse());
            for key in structural_keys(1) {
                assert_eq!(raw.get(&key), parsed.get(&key), "{card:?} {key}");
            }
            // and after a CONTINUE card
            let mut bytes = img;
            bytes.extend_from_slice(&image("CONTINUE  'x'"));
            bytes.extend_from_slice(&image("END"));
            let src = nd_core::MemSource::new(bytes);
            let (raw, _) = scan_header(&src, 0, 0).unwrap();
            let parsed = Header::from_parsed_for_test(raw.parse());
            for key in structural_keys(1) {
                assert_eq!(raw.get(&key), parsed.get(&key), "{card:?} + CONTINUE {key}");
            }
        }
    }

    #[test]
    fn card_groups_agree_with_the_trimmed_keyword_rule() {
        // the rule card_groups applies through a shortcut on the first byte
        let by_rule = |images: &[u8]| -> Vec<(usize, std::ops::Range<usize>)> {
            let n = images.len() / CARD_LEN;
            let img = |k: usize| &images[k * CARD_LEN..(k + 1) * CARD_LEN];
            let (mut out, mut i) = (Vec::new(), 0);
            while i < n {
                let k8 = trim_spaces(&img(i)[..8]);
                let commentary = k8.is_empty()
                    || k8.eq_ignore_ascii_case(b"COMMENT")
                    || k8.eq_ignore_ascii_case(b"HISTORY");
                let mut j = i + 1;
                while !commentary && j < n && img(j).starts_with(b"CONTINUE") {
                    j += 1;
                }
                out.push((i, i * CARD_LEN..j * CARD_LEN));
                i = j;
            }
            out
        };
        let firsts = [
            "COMMENT",
            "comment",
            "Comment x",
            "HISTORY",
            "history",
            "",
            "  COMMENT",
            " HISTORY",
            "COMMENTS= 1",
            "HISTORYX= 1",
            "C       = 1",
            "H       = 1",
            "CONTINUE  'a&'",
            "NAXIS1  = 1",
            "naxis1  = 1",
            "1ABC    = 1",
            "-X      = 1",
            "_X      = 1",
            "LONG    = 'a&'",
            "hierarch a = 'b&'",
            "?       = 1",
        ];
        for first in firsts {
            let mut images = image(first);
            images.extend_from_slice(&image("CONTINUE  'x&'"));
            images.extend_from_slice(&image("CONTINUE  'y'"));
            images.extend_from_slice(&image("EXTNAME = 'e'"));
            let got: Vec<_> = card_groups(&images).collect();
            assert_eq!(got, by_rule(&images), "{first:?}");
        }
    }

    #[test]
    fn the_walk_keeps_no_structural_cards() {
        let mut bytes = Vec::new();
        for card in [
            "SIMPLE  =                    T",
            "BITPIX  =                  -32",
            "NAXIS   =                    2",
            "NAXIS1  =                    3",
            "NAXIS2  =                    2",
            "BSCALE  =                  2.0",
            "END",
        ] {
            bytes.extend_from_slice(&image(card));
        }
        bytes.resize(2 * crate::header::BLOCK, b' ');
        let src = nd_core::MemSource::new(bytes);
        let hdu = crate::hdu::read_hdu(&src, 0, 0, Strictness::Lenient).unwrap();
        assert_eq!(hdu.naxes, [3, 2]);
        assert_eq!(hdu.bitpix, -32);
        assert!(!hdu.header.structural_cards_kept());
        // a later lookup (an image's scaling) finds them once and keeps them
        assert_eq!(hdu.header.structural("BSCALE"), Some(&Value::Float(2.0)));
        assert!(hdu.header.structural_cards_kept());
    }
}
