//! Header checks on the records as bytes: fill after END, NUL bytes, the mandatory keywords in
//! place, THEAP inside the data unit; the keyword checks proper are in `keywords.rs`.

use super::keywords::HduName;
use super::{HduCheck, Severity};
use crate::hdu::HduKind;

impl HduCheck<'_> {
    /// The header checks, on the records as bytes: fill after END, NUL bytes, the mandatory
    /// cards, then every keyword check (`keywords.rs`).
    pub(super) fn header(&mut self, names: &mut Vec<HduName>, total: usize) {
        let h = self.hdu;
        let len = h.data_offset.saturating_sub(h.header_offset);
        let bytes = match self.src.read_range(h.header_offset..h.header_offset + len) {
            Ok(b) => b,
            Err(e) => {
                self.push(Severity::Error, None, format!("header unreadable: {e}"));
                return;
            }
        };
        let cards: Vec<&[u8]> = bytes.chunks(80).collect();
        let end = cards
            .iter()
            .position(|c| c.starts_with(b"END     "))
            .unwrap_or(cards.len());
        // after END: blanks only, in the END card (columns 9-80) and in the fill (cfitsio
        // reports either as one fill error)
        let fill = &bytes[((end + 1) * 80).min(bytes.len())..];
        let end_junk = cards
            .get(end)
            .is_some_and(|c| c[8..].iter().any(|&b| b != b' '));
        if end_junk || fill.iter().any(|&b| b != b' ') {
            self.push(
                Severity::Error,
                None,
                "the header fill area after END is not all blanks".into(),
            );
        }
        // the first NUL byte (cfitsio stops the card text there)
        let upto = ((end + 1) * 80).min(bytes.len());
        if let Some(n) = bytes[..upto].iter().position(|&b| b == 0) {
            self.error(
                n / 80 + 1,
                format!("byte {} of card {} is a NUL", n % 80 + 1, n / 80 + 1),
            );
        }
        let end_card = cards.get(end).copied();
        let cards = &cards[..end];
        let naxis = h.naxes.len();
        // cfitsio opens no HDU whose BITPIX, NAXIS and NAXISn are out of place (fitsverify
        // gives up): then that one error stands for the mandatory cards
        if self.mandatory(cards) {
            self.first_cards(cards, naxis);
        }
        self.keywords(cards, end_card, naxis, names, total);
        if matches!(h.kind, HduKind::BinTable | HduKind::CompressedImage) {
            self.theap_range();
        }
    }

    /// BITPIX, NAXIS, NAXISn in place (the first misplaced one only: the keywords after it are
    /// shifted), TFIELDS after GCOUNT, PCOUNT and GCOUNT of tables. False when BITPIX, NAXIS or
    /// an NAXISn is out of place.
    fn mandatory(&mut self, cards: &[&[u8]]) -> bool {
        let h = self.hdu;
        let name_at = |i: usize| -> String {
            cards
                .get(i)
                .map(|c| String::from_utf8_lossy(&c[..8]).trim_end().to_string())
                .unwrap_or_default()
        };
        let mut seq = vec!["BITPIX".to_string(), "NAXIS".to_string()];
        seq.extend((1..=h.naxes.len()).map(|n| format!("NAXIS{n}")));
        for (j, key) in seq.iter().enumerate() {
            let i = j + 1;
            if name_at(i) != *key {
                self.error(
                    i + 1,
                    format!(
                        "keyword {key} is not present or is out of order (card {})",
                        i + 1
                    ),
                );
                return false;
            }
        }
        let table = matches!(
            h.kind,
            HduKind::Table | HduKind::BinTable | HduKind::CompressedImage
        );
        if table {
            let at = 3 + h.naxes.len() + 2;
            if name_at(at) != "TFIELDS" {
                self.error(
                    at + 1,
                    format!(
                        "keyword TFIELDS is not present or is out of order (card {})",
                        at + 1
                    ),
                );
            }
            // stricter than fitsverify (which leaves these to cfitsio): the standard fixes
            // PCOUNT = 0 for TABLE and GCOUNT = 1 for both table types
            let pcount = h.header.get_int("PCOUNT").unwrap_or(0);
            let gcount = h.header.get_int("GCOUNT").unwrap_or(1);
            if h.kind == HduKind::Table && pcount != 0 {
                self.push(
                    Severity::Error,
                    None,
                    format!("illegal PCOUNT {pcount} for a TABLE extension (must be 0)"),
                );
            }
            if gcount != 1 {
                self.push(
                    Severity::Error,
                    None,
                    format!(
                        "illegal GCOUNT {gcount} for a {} extension (must be 1)",
                        h.kind
                    ),
                );
            }
        }
        true
    }

    /// THEAP within NAXIS1 x NAXIS2 .. NAXIS1 x NAXIS2 + PCOUNT (the heap starts after the
    /// rows and inside the data unit).
    fn theap_range(&mut self) {
        let h = self.hdu;
        let pcount = h.header.get_int("PCOUNT").unwrap_or(0);
        let main = h.naxes.iter().product::<u64>();
        if let Some(theap) = h.header.get_int("THEAP") {
            if theap < 0 || (theap as u64) < main || theap > main as i64 + pcount {
                let card = h.header.position("THEAP").map_or(0, |p| p + 1);
                self.error(
                    card,
                    format!(
                        "THEAP = {theap} is outside NAXIS1 x NAXIS2 = {main} .. NAXIS1 x NAXIS2 + PCOUNT = {}",
                        main as i64 + pcount
                    ),
                );
            }
        }
    }
}
