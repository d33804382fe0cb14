//! Headers: ordered cards with their raw text, typed getters, editing, and block-wise reading.

use crate::card::parse::parse_card;
use crate::card::{Card, Value, CARD_LEN};
use crate::error::{Error, Result};
use nd_core::ByteSource;

/// Size of a FITS block.
pub const BLOCK: usize = 2880;

/// An irregularity found while reading a header leniently.
#[derive(Debug, Clone, PartialEq)]
pub struct Warning {
    /// Card number within the header (0-based), if about one card.
    pub card: Option<usize>,
    /// Byte offset in the file.
    pub offset: u64,
    /// What was irregular.
    pub msg: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.card {
            Some(c) => write!(f, "card {c} at byte {}: {}", self.offset, self.msg),
            None => write!(f, "byte {}: {}", self.offset, self.msg),
        }
    }
}

/// A FITS header: cards in order, each with its raw text, so that an unmodified header is
/// written back byte for byte.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Header {
    cards: Vec<Card>,
    warnings: Vec<Warning>,
}

/// How strictly to read headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strictness {
    /// Read real-world junk, collecting warnings (astropy's behaviour).
    #[default]
    Lenient,
    /// Any irregularity is an error.
    Strict,
}

impl Header {
    /// An empty header.
    pub fn new() -> Self {
        Header::default()
    }

    /// The cards, in order (the END card is not included; a card followed by CONTINUE cards is one card).
    pub fn cards(&self) -> &[Card] {
        &self.cards
    }

    /// Number of cards.
    pub fn len(&self) -> usize {
        self.cards.len()
    }

    /// True when there are no cards.
    pub fn is_empty(&self) -> bool {
        self.cards.is_empty()
    }

    /// Irregularities found while reading.
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// The first card with this keyword (case-insensitive; `HIERARCH ` prefix optional).
    pub fn card(&self, key: &str) -> Option<&Card> {
        self.cards.iter().find(|c| c.matches(key))
    }

    /// Position of the first card with this keyword.
    pub fn position(&self, key: &str) -> Option<usize> {
        self.cards.iter().position(|c| c.matches(key))
    }

    /// Every card with this keyword (duplicates and commentary cards).
    pub fn cards_named<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a Card> + 'a {
        self.cards.iter().filter(move |c| c.matches(key))
    }

    /// The value of the first card with this keyword (as astropy's `header[key]`).
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.card(key).map(|c| c.value())
    }

    /// True when a card with this keyword exists.
    pub fn contains(&self, key: &str) -> bool {
        self.card(key).is_some()
    }

    /// A string value.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        match self.get(key)? {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// An integer value that fits in `i64`.
    pub fn get_int(&self, key: &str) -> Option<i64> {
        match self.get(key)? {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// A numeric value as a float (integers included).
    pub fn get_float(&self, key: &str) -> Option<f64> {
        self.get(key)?.as_f64()
    }

    /// A logical value.
    pub fn get_bool(&self, key: &str) -> Option<bool> {
        match self.get(key)? {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// Set a keyword: update the first card with it in place, or append a new card.
    pub fn set(&mut self, key: &str, value: impl Into<Value>, comment: Option<&str>) -> Result<()> {
        let value = value.into();
        match self.position(key) {
            Some(i) => {
                let keep = comment.map(str::to_string).or_else(|| {
                    self.cards
                        .get(i)
                        .and_then(|c| c.comment().map(str::to_string))
                });
                let card = Card::new(key, value, keep.as_deref())?;
                self.cards[i] = card; // ok: i came from position()
            }
            None => self.push(Card::new(key, value, comment)?),
        }
        Ok(())
    }

    /// Append a card (commentary cards of long text are split into one card per image).
    pub fn push(&mut self, card: Card) {
        self.cards.extend(card.split_images());
    }

    /// Insert a card at position `index` (clamped to the end).
    pub fn insert(&mut self, index: usize, card: Card) {
        let at = index.min(self.cards.len());
        for (k, c) in card.split_images().into_iter().enumerate() {
            self.cards.insert(at + k, c);
        }
    }

    /// Remove the first card with this keyword, returning it.
    pub fn remove(&mut self, key: &str) -> Option<Card> {
        let i = self.position(key)?;
        Some(self.cards.remove(i))
    }

    /// Remove the card at position `index` (nothing when out of range).
    pub fn remove_at(&mut self, index: usize) -> Option<Card> {
        (index < self.cards.len()).then(|| self.cards.remove(index))
    }

    /// Keep only the cards for which `keep` is true.
    pub fn retain(&mut self, keep: impl FnMut(&Card) -> bool) {
        self.cards.retain(keep);
    }

    /// Remove every card with this keyword; returns how many were removed.
    pub fn remove_all(&mut self, key: &str) -> usize {
        let n = self.cards.len();
        self.cards.retain(|c| !c.matches(key));
        n - self.cards.len()
    }

    /// Append a COMMENT card.
    pub fn add_comment(&mut self, text: &str) -> Result<()> {
        self.push(Card::commentary("COMMENT", text)?);
        Ok(())
    }

    /// Append a HISTORY card.
    pub fn add_history(&mut self, text: &str) -> Result<()> {
        self.push(Card::commentary("HISTORY", text)?);
        Ok(())
    }

    /// The header as it is stored: every card's raw text, the END card, and space padding to a
    /// whole number of 2880-byte blocks.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity((self.cards.len() + 1) * CARD_LEN + BLOCK);
        for c in &self.cards {
            out.extend_from_slice(c.raw().as_bytes());
        }
        out.extend_from_slice(b"END");
        out.resize(out.len() + CARD_LEN - 3, b' ');
        let n = out.len().div_ceil(BLOCK) * BLOCK;
        out.resize(n, b' ');
        out
    }

    /// Size of [`Header::to_bytes`] in bytes.
    pub fn byte_len(&self) -> usize {
        let images: usize = self.cards.iter().map(|c| c.num_images()).sum::<usize>() + 1;
        (images * CARD_LEN).div_ceil(BLOCK) * BLOCK
    }

    /// Parse a header from bytes that start with it (lenient). Returns the header and the number of
    /// bytes it occupies (whole blocks).
    pub fn from_bytes(bytes: &[u8]) -> Result<(Header, usize)> {
        let src = nd_core::MemSource::new(bytes.to_vec());
        let (h, len) = read_header(&src, 0, 0, Strictness::Lenient)?;
        Ok((h, len as usize))
    }
}

/// Read the header that starts at `offset`, block by block, until its END card.
/// Returns the header and its length in bytes (whole blocks; a final partial block counts whole
/// only if present in full).
pub(crate) fn read_header(
    src: &dyn ByteSource,
    offset: u64,
    hdu: usize,
    strict: Strictness,
) -> Result<(Header, u64)> {
    let size = src.len();
    let mut images: Vec<(String, u64)> = Vec::new();
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
        for (k, img) in block.chunks(CARD_LEN).enumerate() {
            let img_off = pos + (k * CARD_LEN) as u64;
            if img.len() >= 3 && &img[..3] == b"END" {
                let rest = &img[3..];
                // astropy: END followed by something that cannot continue a keyword.
                let cont = rest.first().is_some_and(|&b| {
                    b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_' || b == b'-'
                });
                if !cont {
                    if rest.len() != CARD_LEN - 3 || rest.iter().any(|&b| b != b' ') {
                        warnings.push(Warning {
                            card: Some(images.len()),
                            offset: img_off,
                            msg: "irregular END card (trailing bytes or missing padding)".into(),
                        });
                    }
                    break 'blocks true;
                }
            }
            if img.len() < CARD_LEN {
                break;
            }
            let text: String = if img.iter().all(|&b| (0x20..0x7f).contains(&b)) {
                String::from_utf8(img.to_vec()).unwrap_or_default() // ok: checked ASCII
            } else {
                if !non_ascii_warned {
                    warnings.push(Warning {
                        card: Some(images.len()),
                        offset: img_off,
                        msg: "non-printable or non-ASCII bytes in header (replaced by '?')".into(),
                    });
                    non_ascii_warned = true;
                }
                img.iter()
                    .map(|&b| {
                        if (0x20..0x7f).contains(&b) {
                            b as char
                        } else {
                            '?'
                        }
                    })
                    .collect()
            };
            images.push((text, img_off));
        }
        pos = end;
    };
    if !end_found {
        return Err(Error::Header {
            hdu,
            offset,
            msg: format!(
                "no END card before the end of the file (byte {size}); {} cards read",
                images.len()
            ),
        });
    }
    let nimages = images.len() + 1;
    let header_len = ((nimages * CARD_LEN).div_ceil(BLOCK) * BLOCK) as u64;
    // Group CONTINUE cards with the card before them (astropy: any card followed by a card whose
    // first 8 columns are exactly "CONTINUE").
    let mut cards = Vec::with_capacity(images.len());
    let mut i = 0;
    while i < images.len() {
        let off = images[i].1; // ok: i < len
        let mut raw = std::mem::take(&mut images[i].0);
        let mut j = i + 1;
        let commentary = {
            let k = raw.get(..8).unwrap_or("").trim();
            k.is_empty() || k.eq_ignore_ascii_case("COMMENT") || k.eq_ignore_ascii_case("HISTORY")
        };
        if !commentary {
            while j < images.len() && images[j].0.starts_with("CONTINUE") {
                raw.push_str(&images[j].0);
                j += 1;
            }
        }
        let card_no = cards.len();
        let card = parse_card(raw, &mut |msg| {
            warnings.push(Warning {
                card: Some(card_no),
                offset: off,
                msg,
            })
        });
        cards.push(card);
        i = j;
    }
    check_fixed_format(&cards, &images, &mut warnings);
    if strict == Strictness::Strict {
        if let Some(w) = warnings.first() {
            return Err(Error::Card {
                hdu,
                card: w.card.unwrap_or(0),
                offset: w.offset,
                msg: w.msg.clone(),
            });
        }
    }
    Ok((Header { cards, warnings }, header_len))
}

/// Mandatory keywords must be in fixed format (value ending in column 30): warn when not.
fn check_fixed_format(cards: &[Card], images: &[(String, u64)], warnings: &mut Vec<Warning>) {
    let mut img = 0usize;
    for (n, c) in cards.iter().enumerate() {
        let k = c.keyword();
        let mandatory = matches!(
            k,
            "SIMPLE" | "BITPIX" | "NAXIS" | "PCOUNT" | "GCOUNT" | "EXTEND"
        ) || (k.starts_with("NAXIS") && k[5..].bytes().all(|b| b.is_ascii_digit()));
        if mandatory && matches!(c.value(), Value::Int(_) | Value::Bool(_)) {
            let raw = c.raw();
            let rb = raw.as_bytes();
            let ok = rb.get(8..10) == Some(b"= ")
                && rb.get(29).is_some_and(|b| *b != b' ')
                && rb.get(30).is_none_or(|b| *b == b' ' || *b == b'/');
            if !ok {
                let offset = images.get(img).map(|x| x.1).unwrap_or(0);
                warnings.push(Warning {
                    card: Some(n),
                    offset,
                    msg: format!("mandatory keyword {k} is not in fixed format (value must end in column 30)"),
                });
            }
        }
        img += c.num_images();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(cards: &[&str]) -> Vec<u8> {
        let mut v = Vec::new();
        for c in cards {
            let mut s = c.to_string();
            s.truncate(80);
            while s.len() < 80 {
                s.push(' ');
            }
            v.extend_from_slice(s.as_bytes());
        }
        let n = v.len().div_ceil(BLOCK) * BLOCK;
        v.resize(n, b' ');
        v
    }

    #[test]
    fn round_trip_and_edit() {
        let b = block(&[
            "SIMPLE  =                    T",
            "BITPIX  =                   16",
            "NAXIS   =                    0",
            "LONG    = 'abc&'",
            "CONTINUE  'def'",
            "COMMENT hi",
            "DUP     =                    1",
            "DUP     =                    2",
            "END",
        ]);
        let (h, n) = Header::from_bytes(&b).unwrap();
        assert_eq!(n, BLOCK);
        assert_eq!(h.to_bytes(), b);
        assert_eq!(h.get_str("long"), Some("abcdef"));
        assert_eq!(h.get_int("DUP"), Some(1));
        assert_eq!(h.cards_named("DUP").count(), 2);
        assert!(h.warnings().is_empty(), "{:?}", h.warnings());
        let mut h2 = h.clone();
        h2.set("NEW", 3.5, Some("c")).unwrap();
        h2.set("BITPIX", 32, None).unwrap();
        assert_eq!(h2.position("BITPIX"), Some(1));
        assert_eq!(h2.get_float("NEW"), Some(3.5));
        assert!(h2.remove("DUP").is_some());
        assert_eq!(h2.get_int("DUP"), Some(2));
        let (h3, _) = Header::from_bytes(&h2.to_bytes()).unwrap();
        assert_eq!(h3.cards(), h2.cards());
    }

    #[test]
    fn missing_end_and_strict() {
        let b = block(&["SIMPLE  =                    T"]);
        assert!(matches!(Header::from_bytes(&b), Err(Error::Header { .. })));
        let b = block(&[
            "SIMPLE  =                    T",
            "naxis   =                    0",
            "END",
        ]);
        let src = nd_core::MemSource::new(b);
        assert!(read_header(&src, 0, 0, Strictness::Lenient).is_ok());
        assert!(matches!(
            read_header(&src, 0, 0, Strictness::Strict),
            Err(Error::Card { card: 1, .. })
        ));
    }
}
