//! Formatting cards in fixed format, as astropy writes them: values, floats as Python prints
//! them, long strings on CONTINUE cards.

use super::value::Value;
use crate::error::{Error, Result};

/// Length of one card.
pub const CARD_LEN: usize = 80;

/// Printable ASCII only, as FITS headers hold.
pub(super) fn check_text(s: &str) -> Result<()> {
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "'{s}': FITS headers hold printable ASCII only"
        )))
    }
}

/// A character of a standard (not HIERARCH) keyword.
pub(super) fn is_keyword_char(b: u8) -> bool {
    b.is_ascii_uppercase() || b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'
}

/// Pad to a whole number of 80-column images with spaces.
pub(super) fn pad80(s: &str) -> String {
    let mut s = s.to_string();
    let n = s.len().div_ceil(CARD_LEN).max(1) * CARD_LEN;
    while s.len() < n {
        s.push(' ');
    }
    s
}

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

pub(super) fn format_value_card(
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

/// A long string over CONTINUE cards, as astropy's `Card._format_long_image`: the escaped
/// value in pieces of at most 67 characters broken after blanks where it can (astropy's
/// `_words_group`), each ending with `&` but the last; a comment goes on trailing
/// `CONTINUE  '' / comment` cards (64 characters each, `'&'` on all but the last). A HIERARCH
/// keyword's first piece is shorter, to fit after its longer head.
fn long_string_images(head: &str, s: &str, comment: Option<&str>) -> String {
    let esc = s.replace('\'', "''");
    let comment = comment.map(str::trim_end).filter(|c| !c.is_empty());
    let first_room = CARD_LEN.saturating_sub(head.len() + 3).clamp(1, 67);
    let mut pieces = if first_room == 67 {
        words_group(&esc, 67)
    } else {
        let split = esc
            .char_indices()
            .nth(first_room)
            .map_or(esc.len(), |(i, _)| i);
        let mut p = vec![esc[..split].to_string()];
        if split < esc.len() {
            p.extend(words_group(&esc[split..], 67));
        }
        p
    };
    if pieces.is_empty() {
        pieces.push(String::new());
    }
    let mut out = String::new();
    let n = pieces.len();
    for (i, p) in pieces.iter().enumerate() {
        let amp = if comment.is_some() || i + 1 < n {
            "&"
        } else {
            ""
        };
        let img = if i == 0 {
            format!("{head}'{p}{amp}'")
        } else {
            format!("CONTINUE  '{p}{amp}'")
        };
        out.push_str(&pad80(&img));
    }
    if let Some(c) = comment {
        let words = words_group(c, 64);
        let k = words.len();
        for (i, w) in words.iter().enumerate() {
            let head = if i + 1 == k {
                "CONTINUE  '' / "
            } else {
                "CONTINUE  '&' / "
            };
            out.push_str(&pad80(&format!("{head}{w}")));
        }
    }
    out
}

/// astropy's `_words_group`: split `s` into pieces of at most `width` characters, each ending
/// after a blank where one is near enough, a word longer than `width` cut in the middle.
fn words_group(s: &str, width: usize) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    let mut blanks: Vec<usize> = (0..n).filter(|&i| chars[i] == ' ').collect();
    blanks.push(n);
    let mut out = Vec::new();
    let (mut offset, mut xoffset) = (0usize, 0usize);
    loop {
        let loc = blanks
            .iter()
            .position(|&b| b >= width + offset)
            .unwrap_or(blanks.len());
        let next = if loc > 0 {
            Some(blanks[loc - 1] + 1)
        } else {
            None
        };
        offset = match next {
            Some(o) if o > xoffset => o,
            _ => (xoffset + width).min(n),
        };
        out.push(chars[xoffset..offset.min(n)].iter().collect());
        if offset >= n {
            break;
        }
        xoffset = offset;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
