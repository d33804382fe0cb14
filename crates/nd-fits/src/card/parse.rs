//! Parsing cards in free format, as astropy reads them: keyword, value indicator, values (D
//! exponents, complex, big integers, `''` escapes), comments, CONTINUE long strings, HIERARCH.

use super::format::{is_keyword_char, CARD_LEN};
use super::value::Value;
use super::Card;
use nom::branch::alt;
use nom::bytes::complete::take_while1;
use nom::character::complete::{char, digit1, one_of, space0};
use nom::combinator::{opt, recognize};
use nom::{IResult, Parser};

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
            warn(format!("lowercase keyword '{kw8t}'"));
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
                "card '{}' has no value indicator and is not commentary",
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
            warn(format!("lowercase keyword '{keyword}'"));
        }
        if !keyword.bytes().all(is_keyword_char) {
            warn(format!(
                "keyword '{keyword}' has characters outside A-Z 0-9 - _"
            ));
        }
        if first.as_bytes().get(8..10) != Some(b"= ") && !is_continue {
            warn(format!(
                "value indicator of '{keyword}' is not in columns 9-10"
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

/// Trim ASCII whitespace from both ends, byte-wise (the card parser's trimming).
pub(crate) fn trim_spaces(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &b[start..end.max(start)]
}

/// [`trim_spaces`] of a string (trimming ASCII bytes keeps it UTF-8).
fn trim_sp(s: &str) -> &str {
    std::str::from_utf8(trim_spaces(s.as_bytes())).unwrap_or("")
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
            warn(format!("unparsable value for '{keyword}': '{vc}'"));
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
                    "CONTINUE card {i} does not continue a string: '{vc}'"
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

#[cfg(test)]
mod tests {
    use super::super::format::pad80;
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
