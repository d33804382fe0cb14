//! Cards: 80-column header records, their values, parsing (free format, as astropy reads them)
//! and formatting (fixed format, as astropy writes them).

pub(crate) mod format;
pub(crate) mod parse;
mod value;

pub(crate) use parse::parse_value_comment;

use crate::error::{Error, Result};
use format::{check_text, format_value_card, is_keyword_char, pad80};

pub use format::CARD_LEN;
pub use value::Value;

/// One header record: a keyword, a value, an optional comment and the raw text it was read
/// from (one 80-column image, or several when CONTINUE cards follow).
#[derive(Debug, Clone, PartialEq)]
pub struct Card {
    keyword: String,
    value: Value,
    comment: Option<String>,
    raw: String,
    hierarch: bool,
}

/// Keywords whose cards carry free text instead of a value.
pub const COMMENTARY: [&str; 3] = ["", "COMMENT", "HISTORY"];

impl Card {
    /// The keyword: upper case for standard keywords, as written for HIERARCH keywords
    /// (without the `HIERARCH` prefix).
    pub fn keyword(&self) -> &str {
        &self.keyword
    }

    /// The value.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// The comment after `/`, trailing spaces dropped (`None` when there is no `/`).
    pub fn comment(&self) -> Option<&str> {
        self.comment.as_deref()
    }

    /// The raw text of the card as read or formatted: a multiple of 80 characters.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// True for a HIERARCH card.
    pub fn is_hierarch(&self) -> bool {
        self.hierarch
    }

    /// True for COMMENT, HISTORY and blank-keyword cards.
    pub fn is_commentary(&self) -> bool {
        COMMENTARY.contains(&self.keyword.as_str()) && matches!(self.value, Value::Text(_))
    }

    /// True when this card's keyword is `key` (case-insensitive; a leading `HIERARCH ` is ignored).
    pub fn matches(&self, key: &str) -> bool {
        let k = normalize_key(key);
        self.keyword.eq_ignore_ascii_case(k)
    }

    /// A value card, formatted as astropy writes it (strings longer than one card continue on
    /// CONTINUE cards; keywords longer than 8 characters or with spaces become HIERARCH cards).
    pub fn new(keyword: &str, value: impl Into<Value>, comment: Option<&str>) -> Result<Card> {
        let value = value.into();
        let kw = normalize_key(keyword).trim();
        if COMMENTARY.contains(&kw.to_ascii_uppercase().as_str()) {
            if let Value::Str(s) | Value::Text(s) = &value {
                return Card::commentary(kw, s);
            }
        }
        if matches!(value, Value::Text(_) | Value::Invalid(_)) {
            return Err(Error::Invalid(format!(
                "card {kw}: text values are only for commentary cards"
            )));
        }
        if let Some(c) = comment {
            check_text(c)?;
        }
        let hierarch = keyword
            .trim_start()
            .to_ascii_uppercase()
            .starts_with("HIERARCH ")
            || kw.len() > 8
            || !kw.bytes().all(is_keyword_char);
        if kw.is_empty() || !kw.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'=') {
            return Err(Error::Invalid(format!("bad keyword '{keyword}'")));
        }
        let keyword = if hierarch {
            kw.to_string()
        } else {
            kw.to_ascii_uppercase()
        };
        let raw = format_value_card(&keyword, &value, comment, hierarch)?;
        Ok(Card {
            keyword,
            value,
            comment: comment.map(|c| c.trim_end().to_string()),
            raw,
            hierarch,
        })
    }

    /// A commentary card (COMMENT, HISTORY or blank keyword). Text longer than 72 characters
    /// is continued on more images of the same keyword inside this one card.
    pub fn commentary(keyword: &str, text: &str) -> Result<Card> {
        let kw = keyword.trim().to_ascii_uppercase();
        if !COMMENTARY.contains(&kw.as_str()) {
            return Err(Error::Invalid(format!(
                "'{keyword}' is not a commentary keyword"
            )));
        }
        check_text(text)?;
        let mut raw = String::new();
        let chars: Vec<char> = text.chars().collect();
        let mut pieces: Vec<String> = chars.chunks(72).map(|c| c.iter().collect()).collect();
        if pieces.is_empty() {
            pieces.push(String::new());
        }
        for p in &pieces {
            raw.push_str(&pad80(&format!("{kw:<8}{p}")));
        }
        Ok(Card {
            keyword: kw,
            value: Value::Text(text.trim_end().to_string()),
            comment: None,
            raw,
            hierarch: false,
        })
    }

    /// Number of 80-column images this card occupies.
    pub fn num_images(&self) -> usize {
        self.raw.len() / CARD_LEN
    }

    /// Split a commentary card built from long text into single-image cards (for headers).
    pub(crate) fn split_images(self) -> Vec<Card> {
        if !self.is_commentary() || self.num_images() <= 1 {
            return vec![self];
        }
        self.raw
            .as_bytes()
            .chunks(CARD_LEN)
            .map(|img| {
                let s = String::from_utf8_lossy(img).into_owned();
                Card {
                    keyword: self.keyword.clone(),
                    value: Value::Text(s[8..].trim_end().to_string()),
                    comment: None,
                    raw: s,
                    hierarch: false,
                }
            })
            .collect()
    }
}

/// Strip a leading `HIERARCH ` from a lookup key.
pub(crate) fn normalize_key(key: &str) -> &str {
    let t = key.trim_start();
    if t.len() >= 9 && t[..9].eq_ignore_ascii_case("HIERARCH ") {
        t[9..].trim()
    } else {
        key.trim()
    }
}
