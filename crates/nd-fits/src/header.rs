//! Headers: ordered cards with their raw text, typed getters, editing, and block-wise reading.

use crate::card::{Card, Value, CARD_LEN};
use crate::error::Result;
use crate::header_raw::{scan_header, Parsed, RawHeader, StructuralCards};
use nd_core::ByteSource;
use std::sync::{Arc, OnceLock};

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
///
/// A header read from a file keeps its raw images and parses its cards on first use (the
/// keywords that size the data unit are found by a quick scan when it is read), so walking
/// the HDUs of a file does not parse every card.
#[derive(Clone, Default)]
pub struct Header {
    /// The cards and warnings, once parsed (at once for a header built in memory).
    parsed: OnceLock<Parsed>,
    /// The raw images of a header read from a file, not parsed yet.
    raw: Option<Arc<RawHeader>>,
}

impl std::fmt::Debug for Header {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Header")
            .field("cards", &self.p().cards)
            .field("warnings", &self.p().warnings)
            .finish()
    }
}

impl PartialEq for Header {
    fn eq(&self, other: &Self) -> bool {
        self.p() == other.p()
    }
}

/// A header's structural cards for a run of lookups: see [`Header::structural_scan`].
pub(crate) struct StructuralScan<'a> {
    header: &'a Header,
    /// The raw header and its structural cards, when its cards are not parsed yet.
    scanned: Option<(&'a RawHeader, StructuralCards)>,
}

impl StructuralScan<'_> {
    /// What [`Header::first_keyword`] gives.
    pub(crate) fn first_keyword(&self) -> Option<String> {
        match &self.scanned {
            Some((raw, cards)) => raw.first_keyword_in(cards),
            None => self.header.first_keyword(),
        }
    }

    /// What [`Header::structural`] gives for `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&Value> {
        match &self.scanned {
            Some((raw, cards)) => raw.lookup(cards, key),
            None => self.header.structural(key),
        }
    }
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

    fn from_parsed(p: Parsed) -> Self {
        Header {
            parsed: OnceLock::from(p),
            raw: None,
        }
    }

    /// A header of parsed cards (tests of the lazy parse).
    #[cfg(test)]
    pub(crate) fn from_parsed_for_test(p: Parsed) -> Self {
        Header::from_parsed(p)
    }

    /// The parsed cards and warnings (parsing them now if not yet done).
    fn p(&self) -> &Parsed {
        self.parsed
            .get_or_init(|| self.raw.as_ref().map(|r| r.parse()).unwrap_or_default())
    }

    /// The parsed cards, for editing.
    fn cards_mut(&mut self) -> &mut Vec<Card> {
        if self.parsed.get().is_none() {
            let p = self.raw.as_ref().map(|r| r.parse()).unwrap_or_default();
            self.parsed = OnceLock::from(p);
        }
        self.raw = None;
        let p = self.parsed.get_mut();
        &mut p.expect("parsed just above").cards // ok: set above; `&mut self` excludes any other access
    }

    /// The value of the first card with a structural keyword (XTENSION, ZIMAGE, BITPIX,
    /// NAXIS, NAXISn, PCOUNT, GCOUNT, GROUPS: what sizes and types the data unit; BSCALE, BZERO,
    /// BLANK: how its values scale; any keyword starting with one of `XZBNPG`), without
    /// parsing the other cards.
    pub(crate) fn structural(&self, key: &str) -> Option<&Value> {
        match (self.parsed.get(), &self.raw) {
            (None, Some(raw)) => raw.get(key),
            _ => self.get(key),
        }
    }

    /// The structural cards scanned for a run of [`StructuralScan::get`] lookups (the HDU
    /// walk's), kept only as long as the scan: [`Header::structural`] without memory held per
    /// header.
    pub(crate) fn structural_scan(&self) -> StructuralScan<'_> {
        let scanned = match (self.parsed.get(), &self.raw) {
            (None, Some(raw)) => Some((&**raw, raw.scan_structural())),
            _ => None,
        };
        StructuralScan {
            header: self,
            scanned,
        }
    }

    /// Whether the structural cards of a header read from a file are kept (tests of the walk).
    #[cfg(test)]
    pub(crate) fn structural_cards_kept(&self) -> bool {
        self.raw.as_ref().is_some_and(|r| r.structural_cards_kept())
    }

    /// The keyword of the first card, without parsing the others.
    pub(crate) fn first_keyword(&self) -> Option<String> {
        match (self.parsed.get(), &self.raw) {
            (None, Some(raw)) => raw.first_keyword(),
            _ => self.cards().first().map(|c| c.keyword().to_string()),
        }
    }

    /// The cards, in order (the END card is not included; a card followed by CONTINUE cards is one card).
    pub fn cards(&self) -> &[Card] {
        &self.p().cards
    }

    /// Number of cards.
    pub fn len(&self) -> usize {
        self.p().cards.len()
    }

    /// True when there are no cards.
    pub fn is_empty(&self) -> bool {
        self.p().cards.is_empty()
    }

    /// Irregularities found while reading (the cards are parsed for it, if they were not yet).
    pub fn warnings(&self) -> &[Warning] {
        &self.p().warnings
    }

    /// The irregularities known without parsing more: every one once the cards are parsed
    /// ([`Header::warnings`], [`Header::card`], ...), before that only those the block scan
    /// found (a truncated block, non-ASCII bytes, an irregular END), as astropy reports those
    /// when it opens a file and the others when a header is looked at.
    pub fn warnings_so_far(&self) -> &[Warning] {
        match (self.parsed.get(), &self.raw) {
            (Some(p), _) => &p.warnings,
            (None, Some(r)) => r.scan_warnings(),
            (None, None) => &[],
        }
    }

    /// The first card with this keyword (case-insensitive; `HIERARCH ` prefix optional).
    pub fn card(&self, key: &str) -> Option<&Card> {
        self.p().cards.iter().find(|c| c.matches(key))
    }

    /// Position of the first card with this keyword.
    pub fn position(&self, key: &str) -> Option<usize> {
        self.p().cards.iter().position(|c| c.matches(key))
    }

    /// Every card with this keyword (duplicates and commentary cards).
    pub fn cards_named<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a Card> + 'a {
        self.p().cards.iter().filter(move |c| c.matches(key))
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
                    self.cards()
                        .get(i)
                        .and_then(|c| c.comment().map(str::to_string))
                });
                let card = Card::new(key, value, keep.as_deref())?;
                self.cards_mut()[i] = card; // ok: i came from position()
            }
            None => self.push(Card::new(key, value, comment)?),
        }
        Ok(())
    }

    /// Append a card (commentary cards of long text are split into one card per image).
    pub fn push(&mut self, card: Card) {
        self.cards_mut().extend(card.split_images());
    }

    /// Insert a card at position `index` (clamped to the end).
    pub fn insert(&mut self, index: usize, card: Card) {
        let cards = self.cards_mut();
        let at = index.min(cards.len());
        for (k, c) in card.split_images().into_iter().enumerate() {
            cards.insert(at + k, c);
        }
    }

    /// Remove the first card with this keyword, returning it.
    pub fn remove(&mut self, key: &str) -> Option<Card> {
        let i = self.position(key)?;
        Some(self.cards_mut().remove(i))
    }

    /// Remove the card at position `index` (nothing when out of range).
    pub fn remove_at(&mut self, index: usize) -> Option<Card> {
        let cards = self.cards_mut();
        (index < cards.len()).then(|| cards.remove(index))
    }

    /// Keep only the cards for which `keep` is true.
    pub fn retain(&mut self, keep: impl FnMut(&Card) -> bool) {
        self.cards_mut().retain(keep);
    }

    /// Remove every card with this keyword; returns how many were removed.
    pub fn remove_all(&mut self, key: &str) -> usize {
        let cards = self.cards_mut();
        let n = cards.len();
        cards.retain(|c| !c.matches(key));
        n - cards.len()
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
        let mut out = Vec::with_capacity((self.p().cards.len() + 1) * CARD_LEN + BLOCK);
        for c in &self.p().cards {
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
        let images: usize = self.p().cards.iter().map(|c| c.num_images()).sum::<usize>() + 1;
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
/// only if present in full). Lenient: the cards are parsed on first use (the structural keywords
/// are found at once); strict: parsed now, the first irregularity being an error.
pub(crate) fn read_header(
    src: &dyn ByteSource,
    offset: u64,
    hdu: usize,
    strict: Strictness,
) -> Result<(Header, u64)> {
    let (raw, len) = scan_header(src, offset, hdu)?;
    let header = if strict == Strictness::Strict {
        Header::from_parsed(raw.parse_with(hdu, strict)?)
    } else {
        Header {
            parsed: OnceLock::new(),
            raw: Some(Arc::new(raw)),
        }
    };
    Ok((header, len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

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
