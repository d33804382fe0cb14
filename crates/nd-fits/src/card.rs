//! Cards: 80-column header records, their values, parsing (free format, as astropy reads them)
//! and formatting (fixed format, as astropy writes them).

use crate::error::{Error, Result};
use nom::branch::alt;
use nom::bytes::complete::take_while1;
use nom::character::complete::{char, digit1, one_of, space0};
use nom::combinator::{opt, recognize};
use nom::{IResult, Parser};

/// Length of one card.
pub const CARD_LEN: usize = 80;

/// The value of a card.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A value card with an empty value field (astropy's `UNDEFINED`): "null", distinct from
    /// an empty string and from an absent keyword.
    Undefined,
    /// `T` or `F`.
    Bool(bool),
    /// An integer that fits in `i64`.
    Int(i64),
    /// An integer that does not fit in `i64`: its decimal text (sign kept, leading zeros dropped).
    BigInt(String),
    /// A real number (`E` or `D` exponent).
    Float(f64),
    /// A complex number `(re, im)`.
    Complex(f64, f64),
    /// A string (quotes removed, `''` unescaped, leading spaces kept, trailing spaces dropped).
    Str(String),
    /// The text of a commentary card (COMMENT, HISTORY, blank keyword) or of a card that has no
    /// value indicator (astropy's "invalid" cards): columns 9–80, trailing spaces dropped.
    Text(String),
    /// A value field that could not be parsed (kept verbatim; astropy raises on access).
    Invalid(String),
}

impl Value {
    /// The value as a float (integers, big integers and reals).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::BigInt(s) => s.parse().ok(),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// The value as an `i128` (integers and big integers that fit).
    pub fn as_i128(&self) -> Option<i128> {
        match self {
            Value::Int(i) => Some(*i as i128),
            Value::BigInt(s) => s.parse().ok(),
            _ => None,
        }
    }

    /// True when the value is numerically equal to `n` (Python `==` between int/float and int).
    pub fn num_eq(&self, n: i128) -> bool {
        match self {
            Value::Int(_) | Value::BigInt(_) => self.as_i128() == Some(n),
            Value::Float(f) => *f == n as f64 && (f.fract() == 0.0),
            Value::Bool(b) => (*b as i128) == n,
            _ => false,
        }
    }

    /// True for numeric values (integers and reals, not complex).
    pub fn is_number(&self) -> bool {
        matches!(self, Value::Int(_) | Value::BigInt(_) | Value::Float(_))
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Int(v as i64)
    }
}
impl From<u64> for Value {
    fn from(v: u64) -> Self {
        match i64::try_from(v) {
            Ok(i) => Value::Int(i),
            Err(_) => Value::BigInt(v.to_string()),
        }
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Str(v.to_string())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Str(v)
    }
}

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
            return Err(Error::Invalid(format!("bad keyword {keyword:?}")));
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
                "{keyword:?} is not a commentary keyword"
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

fn check_text(s: &str) -> Result<()> {
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "{s:?}: FITS headers hold printable ASCII only"
        )))
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

fn is_keyword_char(b: u8) -> bool {
    b.is_ascii_uppercase() || b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'
}

fn pad80(s: &str) -> String {
    let mut s = s.to_string();
    let n = s.len().div_ceil(CARD_LEN).max(1) * CARD_LEN;
    while s.len() < n {
        s.push(' ');
    }
    s
}

// ---------------------------------------------------------------------------------------------
// Parsing

/// Parse one card from its images (80 characters, or a multiple when CONTINUE cards were
/// attached). Irregularities are reported through `warn` (card stays usable).
pub(crate) fn parse_card(raw: String, warn: &mut dyn FnMut(String)) -> Card {
    let first: &str = raw.get(..CARD_LEN).unwrap_or(&raw);
    let kw8 = first.get(..8).unwrap_or(first);
    let kw8t = trim_sp(kw8);
    let is_continue = kw8t.eq_ignore_ascii_case("CONTINUE");
    // Commentary cards.
    if kw8t.is_empty()
        || kw8t.eq_ignore_ascii_case("COMMENT")
        || kw8t.eq_ignore_ascii_case("HISTORY")
    {
        if !kw8t.bytes().all(|b| b.is_ascii_uppercase()) {
            warn(format!("lowercase keyword {kw8t:?}"));
        }
        let text = trim_end_sp(first.get(8..).unwrap_or("")).to_string();
        return Card {
            keyword: kw8t.to_ascii_uppercase(),
            value: Value::Text(text),
            comment: None,
            raw,
            hierarch: false,
        };
    }
    let (keyword, vc, hierarch) = match split_card(first) {
        Some(x) => x,
        None => {
            warn(format!(
                "card {:?} has no value indicator and is not commentary",
                first.trim_end()
            ));
            return Card {
                keyword: kw8t.to_string(),
                value: Value::Text(first.get(8..).unwrap_or("").trim_end().to_string()),
                comment: None,
                raw,
                hierarch: false,
            };
        }
    };
    if !hierarch {
        if keyword.bytes().any(|b| b.is_ascii_lowercase()) {
            warn(format!("lowercase keyword {keyword:?}"));
        }
        if !keyword.bytes().all(is_keyword_char) {
            warn(format!(
                "keyword {keyword:?} has characters outside A-Z 0-9 - _"
            ));
        }
        if first.as_bytes().get(8..10) != Some(b"= ") && !is_continue {
            warn(format!(
                "value indicator of {keyword:?} is not in columns 9-10"
            ));
        }
    }
    let keyword = if hierarch {
        keyword.to_string()
    } else {
        keyword.to_ascii_uppercase()
    };
    let (value, comment) = if raw.len() > CARD_LEN {
        parse_long_string(&raw, vc, warn)
    } else {
        parse_field(vc, &keyword, warn)
    };
    Card {
        keyword,
        value,
        comment,
        raw,
        hierarch,
    }
}

/// Split one image into keyword and value/comment text (both trimmed), astropy's way.
fn split_card(img: &str) -> Option<(&str, &str, bool)> {
    let kw8 = trim_sp(img.get(..8).unwrap_or(img));
    if kw8.eq_ignore_ascii_case("CONTINUE") {
        return Some(("CONTINUE", trim_sp(img.get(8..)?), false));
    }
    if kw8.eq_ignore_ascii_case("HIERARCH") && img.as_bytes().get(8) == Some(&b' ') {
        if let Some(eq) = img.bytes().position(|b| b == b'=') {
            let key = trim_sp(img.get(9..eq).unwrap_or(""));
            return Some((key, trim_sp(img.get(eq + 1..)?), true));
        }
    }
    // astropy: the first "= " must start within the first 9 columns.
    let b = img.as_bytes();
    let idx = (0..=8usize.min(b.len().saturating_sub(2)))
        .find(|&k| b.get(k) == Some(&b'=') && b.get(k + 1) == Some(&b' '))?;
    let key = trim_sp(img.get(..idx.min(8))?);
    Some((key, trim_sp(img.get(idx + 2..)?), false))
}

/// Trim ASCII spaces (and other ASCII whitespace) from both ends, byte-wise.
fn trim_sp(s: &str) -> &str {
    let b = s.as_bytes();
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    s.get(start..end.max(start)).unwrap_or("")
}

/// Trim trailing ASCII spaces, byte-wise.
fn trim_end_sp(s: &str) -> &str {
    let b = s.as_bytes();
    let end = b.iter().rposition(|c| *c != b' ').map_or(0, |e| e + 1);
    s.get(..end).unwrap_or("")
}

fn parse_field(vc: &str, keyword: &str, warn: &mut dyn FnMut(String)) -> (Value, Option<String>) {
    match parse_value_comment(vc) {
        Some(x) => x,
        None => {
            warn(format!("unparsable value for {keyword:?}: {vc:?}"));
            let comment = vc.split_once('/').map(|(_, c)| c.trim().to_string());
            (Value::Invalid(vc.to_string()), comment)
        }
    }
}

/// A card followed by CONTINUE cards: join the string pieces (each without its trailing `&`).
fn parse_long_string(
    raw: &str,
    first_vc: &str,
    warn: &mut dyn FnMut(String),
) -> (Value, Option<String>) {
    let mut pieces = String::new();
    let mut comments: Vec<String> = Vec::new();
    for (i, img) in raw.as_bytes().chunks(CARD_LEN).enumerate() {
        let img = String::from_utf8_lossy(img);
        let vc = if i == 0 {
            first_vc.to_string()
        } else {
            img.get(8..).unwrap_or("").trim().to_string()
        };
        match string_and_comment(&vc) {
            Some((s, c)) => {
                let s = s.trim_end();
                pieces.push_str(s.strip_suffix('&').unwrap_or(s));
                if let Some(c) = c {
                    let c = c.trim_end();
                    if !c.is_empty() {
                        comments.push(c.to_string());
                    }
                }
            }
            None => {
                warn(format!(
                    "CONTINUE card {i} does not continue a string: {vc:?}"
                ));
                return parse_field(first_vc, "", warn);
            }
        }
    }
    let value = pieces.replace("''", "'").trim_end().to_string();
    let comment = if comments.is_empty() {
        None
    } else {
        Some(comments.join(" "))
    };
    (Value::Str(value), comment)
}

/// astropy's `_strg_comment_RE`: an optional quoted string (raw, escapes kept) then an optional
/// comment.
fn string_and_comment(vc: &str) -> Option<(String, Option<String>)> {
    if let Some(rest) = vc.strip_prefix('\'') {
        let (strg, after) = find_string_end(rest)?;
        let comment = comment_rest(after)?;
        Some((strg.to_string(), comment))
    } else {
        let comment = comment_rest(vc)?;
        Some((String::new(), comment))
    }
}

/// Given the text after an opening quote, find the closing quote: the first `'` such that what
/// follows is only spaces or a comment. Returns (raw content, rest after the closing quote).
fn find_string_end(rest: &str) -> Option<(&str, &str)> {
    let b = rest.as_bytes();
    for (j, &c) in b.iter().enumerate() {
        if c == b'\'' {
            let after = &rest[j + 1..];
            let t = after.trim_start_matches(' ');
            if t.is_empty() || t.starts_with('/') {
                let content = &rest[..j];
                if content.bytes().all(|x| (0x20..0x7f).contains(&x)) {
                    return Some((content, after));
                }
                return None;
            }
        }
    }
    None
}

/// What may follow a value: spaces, then nothing or `/ comment`. `Some(None)` = no comment.
fn comment_rest(after: &str) -> Option<Option<String>> {
    let t = after.trim_start_matches(' ');
    if t.is_empty() {
        Some(None)
    } else {
        t.strip_prefix('/')
            .map(|c| Some(c.trim_start_matches(' ').trim_end().to_string()))
    }
}

/// Parse a value field (already trimmed) into value and comment, with astropy's free-format
/// rules (`_value_NFSC_RE`). `None` when unparsable.
pub(crate) fn parse_value_comment(vc: &str) -> Option<(Value, Option<String>)> {
    if let Some(rest) = vc.strip_prefix('\'') {
        let (strg, after) = find_string_end(rest)?;
        let comment = comment_rest(after)?;
        let v = if strg.contains('\'') {
            strg.replace("''", "'").trim_end().to_string()
        } else {
            trim_end_sp(strg).to_string()
        };
        return Some((Value::Str(v), comment));
    }
    let first = vc.as_bytes().first().copied();
    match first {
        None => return Some((Value::Undefined, None)),
        Some(b'/') => return Some((Value::Undefined, comment_rest(vc)?)),
        Some(b'T') | Some(b'F') => {
            let after = &vc[1..];
            if after.is_empty() || after.starts_with(' ') || after.starts_with('/') {
                return Some((Value::Bool(first == Some(b'T')), comment_rest(after)?));
            }
            return None;
        }
        Some(b'(') => {
            let (after, (re, im)) = complex(vc).ok()?;
            return Some((
                Value::Complex(re.as_f64()?, im.as_f64()?),
                comment_rest(after)?,
            ));
        }
        _ => {}
    }
    let (after, v) = number(vc).ok()?;
    Some((v, comment_rest(after)?))
}

/// The NFSC number: `[+-]? *(\.\d+|\d+(\.\d*)?) *([deDE] *[+-]? *\d+)?`.
fn number_text(i: &str) -> IResult<&str, &str> {
    recognize((
        opt(one_of("+-")),
        space0,
        alt((
            recognize((char('.'), digit1)),
            recognize((digit1, opt((char('.'), opt(digit1))))),
        )),
        opt(recognize((
            space0,
            one_of("deDE"),
            space0,
            opt(one_of("+-")),
            space0,
            digit1,
        ))),
    ))
    .parse(i)
}

/// A number token turned into a value as Python's `int()` / `float()` would.
fn number(i: &str) -> IResult<&str, Value> {
    let (rest, text) = number_text(i)?;
    Ok((rest, number_value(text)))
}

pub(crate) fn number_value(text: &str) -> Value {
    if !text
        .bytes()
        .any(|b| matches!(b, b' ' | b'D' | b'd' | b'.' | b'e' | b'E'))
    {
        if let Ok(v) = text.parse::<i64>() {
            return Value::Int(v);
        }
    } else if !text.bytes().any(|b| matches!(b, b' ' | b'D' | b'd')) {
        if let Ok(v) = text.parse::<f64>() {
            return Value::Float(v);
        }
    }
    let s: String = text
        .chars()
        .filter(|c| *c != ' ')
        .map(|c| match c {
            'D' => 'E',
            'd' => 'e',
            c => c,
        })
        .collect();
    if s.contains(['.', 'e', 'E']) {
        Value::Float(s.parse().unwrap_or(f64::NAN))
    } else {
        match s.parse::<i64>() {
            Ok(v) => Value::Int(v),
            Err(_) => {
                let (sign, digits) = match s.as_bytes().first() {
                    Some(b'-') => ("-", &s[1..]),
                    Some(b'+') => ("", &s[1..]),
                    _ => ("", &s[..]),
                };
                let digits = digits.trim_start_matches('0');
                Value::BigInt(format!("{sign}{digits}"))
            }
        }
    }
}

fn complex(i: &str) -> IResult<&str, (Value, Value)> {
    let (i, _) = (char('('), space0).parse(i)?;
    let (i, re) = number(i)?;
    let (i, _) = (space0, char(','), space0).parse(i)?;
    let (i, im) = number(i)?;
    let (i, _) = (space0, char(')')).parse(i)?;
    Ok((i, (re, im)))
}

/// True for a non-empty run of keyword characters (used by the strict checker).
#[allow(dead_code)]
fn keyword_token(i: &str) -> IResult<&str, &str> {
    take_while1(|c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_')(i)
}

// ---------------------------------------------------------------------------------------------
// Formatting

/// Python's `repr(float)`: shortest round-trip digits, exponent when exp < -4 or >= 16.
pub(crate) fn py_float_repr(v: f64) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if v == 0.0 {
        return if v.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    let e = format!("{v:e}"); // e.g. "1.2345e-7", "-5e20"
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let neg = mant.starts_with('-');
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let sign = if neg { "-" } else { "" };
    if (-4..16).contains(&exp) {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                format!("{sign}{}{}.0", digits, "0".repeat(int_len - digits.len()))
            } else {
                format!("{sign}{}.{}", &digits[..int_len], &digits[int_len..])
            }
        } else {
            format!("{sign}0.{}{}", "0".repeat((-exp - 1) as usize), digits)
        }
    } else {
        let m = if digits.len() > 1 {
            format!("{}.{}", &digits[..1], &digits[1..])
        } else {
            digits.clone()
        };
        let es = if exp < 0 { "-" } else { "+" };
        format!("{sign}{m}e{es}{:02}", exp.abs())
    }
}

/// astropy's `_format_float`: repr with `E`, always a `.` or exponent, at most 20 characters.
pub(crate) fn format_float(v: f64) -> String {
    let mut s = py_float_repr(v).replace('e', "E");
    if v.is_finite() && !s.contains('.') && !s.contains('E') {
        s.push_str(".0");
    } else if let Some((m, e)) = s.clone().split_once('E') {
        let (sg, digits) = match e.as_bytes().first() {
            Some(b'+') | Some(b'-') => (&e[..1], &e[1..]),
            _ => ("", e),
        };
        let n: i32 = digits.parse().unwrap_or(0);
        s = format!("{m}E{sg}{n:02}");
    }
    if s.len() > 20 {
        // astropy falls back to "{:.16G}"; shorten the mantissa to fit.
        let (m, e) = match s.split_once('E') {
            Some((m, e)) => (m.to_string(), format!("E{e}")),
            None => (s.clone(), String::new()),
        };
        let keep = 20usize.saturating_sub(e.len());
        s = format!("{}{e}", &m[..keep.min(m.len())]);
    }
    s
}

fn format_value(v: &Value) -> Result<String> {
    Ok(match v {
        Value::Undefined => String::new(),
        Value::Bool(b) => format!("{:>20}", if *b { "T" } else { "F" }),
        Value::Int(i) => format!("{i:>20}"),
        Value::BigInt(s) => format!("{s:>20}"),
        Value::Float(f) => {
            if !f.is_finite() {
                return Err(Error::Invalid(format!(
                    "{f} cannot be written as a FITS header value"
                )));
            }
            format!("{:>20}", format_float(*f))
        }
        Value::Complex(re, im) => {
            if !re.is_finite() || !im.is_finite() {
                return Err(Error::Invalid("non-finite complex header value".into()));
            }
            format!(
                "{:>20}",
                format!("({}, {})", format_float(*re), format_float(*im))
            )
        }
        Value::Str(s) => {
            check_text(s)?;
            let esc = s.replace('\'', "''");
            // astropy pads the quoted string to 8 characters and the field to 20 columns.
            format!("{:<20}", format!("'{esc:<8}'"))
        }
        Value::Text(_) | Value::Invalid(_) => {
            return Err(Error::Invalid("text values cannot be formatted".into()))
        }
    })
}

fn format_value_card(
    keyword: &str,
    value: &Value,
    comment: Option<&str>,
    hierarch: bool,
) -> Result<String> {
    let head = if hierarch {
        format!("HIERARCH {keyword} = ")
    } else {
        format!("{keyword:<8}= ")
    };
    let vstr = format_value(value)?;
    let vstr = if hierarch {
        vstr.trim_start().to_string()
    } else {
        vstr
    };
    let mut img = format!("{head}{vstr}");
    if let Some(c) = comment {
        img.push_str(" / ");
        img.push_str(c);
    }
    if img.len() <= CARD_LEN {
        return Ok(pad80(&img));
    }
    match value {
        Value::Str(_) if head.len() + 3 > CARD_LEN => Err(Error::Invalid(format!(
            "keyword {keyword} is too long for a string value"
        ))),
        Value::Str(s) => Ok(long_string_images(&head, s, comment)),
        _ => {
            let base = format!("{head}{vstr}");
            if base.len() > CARD_LEN {
                return Err(Error::Invalid(format!(
                    "card {keyword} does not fit in 80 columns"
                )));
            }
            // Truncate the comment.
            Ok(pad80(&img[..CARD_LEN]))
        }
    }
}

/// A long string over CONTINUE cards: each piece ends with `&` except the last.
fn long_string_images(head: &str, s: &str, comment: Option<&str>) -> String {
    // Split the escaped string into pieces that fit, never splitting a `''` pair.
    let esc = s.replace('\'', "''");
    let first_room = CARD_LEN.saturating_sub(head.len() + 3).max(1); // quote, &, quote
    let cont_room = CARD_LEN - 10 - 3;
    let bytes = esc.as_bytes();
    let mut pieces: Vec<&str> = Vec::new();
    let mut pos = 0;
    let mut room = first_room;
    while pos < bytes.len() {
        let mut end = (pos + room).min(bytes.len());
        // Do not split an escaped quote: count quotes before `end` in this piece.
        let q = bytes[pos..end].iter().filter(|&&b| b == b'\'').count();
        if q % 2 == 1 && end < bytes.len() {
            end -= 1;
        }
        pieces.push(&esc[pos..end]);
        pos = end;
        room = cont_room;
    }
    if pieces.is_empty() {
        pieces.push("");
    }
    let mut out = String::new();
    let n = pieces.len();
    for (i, p) in pieces.iter().enumerate() {
        let amp = if i + 1 < n { "&" } else { "" };
        let img = if i == 0 {
            format!("{head}'{p}{amp}'")
        } else {
            format!("CONTINUE  '{p}{amp}'")
        };
        out.push_str(&pad80(&img));
    }
    if let Some(c) = comment {
        let c = c.trim_end();
        if !c.is_empty() {
            let last = out.len() - CARD_LEN;
            let last_img = out[last..].trim_end().to_string();
            let with = format!("{last_img} / {c}");
            out.truncate(last);
            if with.len() <= CARD_LEN {
                out.push_str(&pad80(&with));
            } else if let Some(body) = last_img.strip_suffix('\'') {
                // The string continues onto an empty piece that carries the comment.
                out.push_str(&pad80(&format!("{body}&'")));
                let mut tail = format!("CONTINUE  '' / {c}");
                tail.truncate(CARD_LEN);
                out.push_str(&pad80(&tail));
            } else {
                out.push_str(&pad80(&last_img));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(s: &str) -> (Card, Vec<String>) {
        let mut w = Vec::new();
        let c = parse_card(pad80(s), &mut |m| w.push(m));
        (c, w)
    }

    #[test]
    fn values() {
        assert_eq!(
            card("SIMPLE  =                    T").0.value,
            Value::Bool(true)
        );
        assert_eq!(
            card("NAXIS1  =                  100 / len").0.value,
            Value::Int(100)
        );
        assert_eq!(
            card("NAXIS1  =                  100 / len").0.comment(),
            Some("len")
        );
        assert_eq!(card("X       = 1.5D-08").0.value, Value::Float(1.5e-8));
        assert_eq!(card("X       = -1.5d3").0.value, Value::Float(-1500.0));
        assert_eq!(card("X       = 1.E5").0.value, Value::Float(1e5));
        assert_eq!(card("X       = .5").0.value, Value::Float(0.5));
        assert_eq!(card("X       = + 7").0.value, Value::Int(7));
        assert_eq!(
            card("X       = 9223372036854775808").0.value,
            Value::BigInt("9223372036854775808".into())
        );
        assert_eq!(
            card("X       = (1.5, -2)").0.value,
            Value::Complex(1.5, -2.0)
        );
        assert_eq!(
            card("X       = 'it''s  ' / c").0.value,
            Value::Str("it's".into())
        );
        assert_eq!(
            card("X       = '  lead'").0.value,
            Value::Str("  lead".into())
        );
        assert_eq!(card("X       = ''").0.value, Value::Str("".into()));
        assert_eq!(card("X       =").0.value, Value::Undefined);
        assert_eq!(card("X       =   / only comment").0.value, Value::Undefined);
        assert_eq!(card("X       = 'a/b' / c/d").0.comment(), Some("c/d"));
        assert!(matches!(card("X       = 12abc").0.value, Value::Invalid(_)));
        let (c, w) = card("naxis   = 2");
        assert_eq!(c.keyword(), "NAXIS");
        assert_eq!(w.len(), 1);
        let (c, _) = card("HIERARCH ESO DET CHIP = 'x' / y");
        assert_eq!(c.keyword(), "ESO DET CHIP");
        assert!(c.matches("hierarch eso det chip"));
        let (c, _) = card("COMMENT   hello");
        assert_eq!(c.value, Value::Text("  hello".into()));
    }

    #[test]
    fn float_format() {
        assert_eq!(format_float(1.0), "1.0");
        assert_eq!(format_float(1e20), "1E+20");
        assert_eq!(format_float(1.5e-8), "1.5E-08");
        assert_eq!(format_float(0.1), "0.1");
        assert_eq!(format_float(123456789.0), "123456789.0");
        assert_eq!(format_float(0.0001), "0.0001");
        assert_eq!(format_float(-2.5e-5), "-2.5E-05");
        for v in [0.1, 1.0 / 3.0, 6.02214076e23, -1e-300, 12345.678] {
            assert_eq!(format_float(v).replace('E', "e").parse::<f64>().unwrap(), v);
        }
    }

    #[test]
    fn long_strings_round_trip() {
        let s = "x".repeat(50) + "'quoted'" + &"y".repeat(150);
        let c = Card::new("LONGSTR", s.as_str(), Some("a comment")).unwrap();
        assert!(c.num_images() > 2);
        let mut w = Vec::new();
        let back = parse_card(c.raw().to_string(), &mut |m| w.push(m));
        assert_eq!(back.value, Value::Str(s));
        assert_eq!(back.comment(), Some("a comment"));
        assert!(w.is_empty(), "{w:?}");
    }
}
