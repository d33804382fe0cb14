//! PyYAML (YAML 1.1) implicit resolution of plain scalars, and the constructors of the values
//! they resolve to.

/// The NaN PyYAML constructs for `.nan`: `-inf / inf` computed at run time (on x86 the default
/// NaN, sign bit set: `0xfff8000000000000`), so inline values keep python's exact bits.
pub fn pyyaml_nan() -> f64 {
    let inf = std::hint::black_box(f64::INFINITY);
    -inf / inf
}

/// What a plain scalar resolves to under PyYAML's `Resolver`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Implicit {
    /// `tag:yaml.org,2002:null`
    Null,
    /// `tag:yaml.org,2002:bool`
    Bool,
    /// `tag:yaml.org,2002:int`
    Int,
    /// `tag:yaml.org,2002:float`
    Float,
    /// `tag:yaml.org,2002:timestamp`
    Timestamp,
    /// `tag:yaml.org,2002:merge` (`<<`)
    Merge,
    /// `tag:yaml.org,2002:value` (`=`), which PyYAML's SafeLoader cannot construct.
    ValueTag,
    /// `tag:yaml.org,2002:str`
    Str,
}

fn strip_sign(s: &str) -> &str {
    s.strip_prefix(['-', '+']).unwrap_or(s)
}

fn all(s: &str, f: impl Fn(u8) -> bool) -> bool {
    !s.is_empty() && s.bytes().all(f)
}

/// `[0-9][0-9_]*`
fn digits_us(s: &str) -> bool {
    s.as_bytes().first().is_some_and(u8::is_ascii_digit)
        && s.bytes().all(|b| b.is_ascii_digit() || b == b'_')
}

/// `(?::[0-5]?[0-9])+` applied to the parts after the first `:`.
fn sexagesimal_tail<'a>(parts: impl Iterator<Item = &'a str>) -> bool {
    let mut n = 0;
    for p in parts {
        let ok = match p.as_bytes() {
            [d] => d.is_ascii_digit(),
            [a, b] => (b'0'..=b'5').contains(a) && b.is_ascii_digit(),
            _ => false,
        };
        if !ok {
            return false;
        }
        n += 1;
    }
    n > 0
}

/// `[eE][-+][0-9]+` (PyYAML requires the exponent sign)
fn exponent(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 3
        && (b[0] == b'e' || b[0] == b'E')
        && (b[1] == b'-' || b[1] == b'+')
        && b[2..].iter().all(u8::is_ascii_digit)
}

fn is_int(s: &str) -> bool {
    let u = strip_sign(s);
    if let Some(r) = u.strip_prefix("0b") {
        return all(r, |b| b == b'0' || b == b'1' || b == b'_');
    }
    if let Some(r) = u.strip_prefix("0x") {
        return all(r, |b| b.is_ascii_hexdigit() || b == b'_');
    }
    if let Some(r) = u.strip_prefix('0') {
        // `0` alone, or `0[0-7_]+`
        return r.is_empty() || all(r, |b| (b'0'..=b'7').contains(&b) || b == b'_');
    }
    if u.as_bytes()
        .first()
        .is_some_and(|b| (b'1'..=b'9').contains(b))
    {
        let mut parts = u.split(':');
        let first = parts.next().unwrap_or("");
        if !digits_us(first) {
            return false;
        }
        return !has_byte(u, b':') || sexagesimal_tail(parts);
    }
    false
}

fn is_float(s: &str) -> bool {
    // [-+]?\.(?:inf|Inf|INF)  |  \.(?:nan|NaN|NAN)
    if matches!(strip_sign(s), ".inf" | ".Inf" | ".INF") || matches!(s, ".nan" | ".NaN" | ".NAN") {
        return true;
    }
    // \.[0-9][0-9_]*(?:[eE][-+][0-9]+)?   (no sign)
    if let Some(r) = s.strip_prefix('.') {
        let end = r.find(['e', 'E']).unwrap_or(r.len());
        return digits_us(&r[..end]) && (end == r.len() || exponent(&r[end..]));
    }
    let u = strip_sign(s);
    let Some(dot) = u.bytes().position(|c| c == b'.') else {
        return false;
    };
    let (int_part, rest) = (&u[..dot], &u[dot + 1..]);
    if has_byte(int_part, b':') {
        // [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
        let mut parts = int_part.split(':');
        let first = parts.next().unwrap_or("");
        return digits_us(first)
            && sexagesimal_tail(parts)
            && rest.bytes().all(|b| b.is_ascii_digit() || b == b'_');
    }
    // [-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?
    if !digits_us(int_part) {
        return false;
    }
    let end = rest.find(['e', 'E']).unwrap_or(rest.len());
    rest[..end].bytes().all(|b| b.is_ascii_digit() || b == b'_')
        && (end == rest.len() || exponent(&rest[end..]))
}

fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let d = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    // [0-9]{4}-[0-9]{2}-[0-9]{2}
    if b.len() == 10
        && (0..4).all(d)
        && b[4] == b'-'
        && d(5)
        && d(6)
        && b[7] == b'-'
        && d(8)
        && d(9)
    {
        return true;
    }
    // [0-9]{4}-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?
    //   (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?
    let mut i = 0;
    let take_digits = |i: &mut usize, min: usize, max: usize| -> bool {
        let st = *i;
        while *i < b.len() && *i - st < max && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - st >= min
    };
    let lit = |i: &mut usize, c: u8| -> bool {
        if b.get(*i) == Some(&c) {
            *i += 1;
            true
        } else {
            false
        }
    };
    if !(take_digits(&mut i, 4, 4)
        && lit(&mut i, b'-')
        && take_digits(&mut i, 1, 2)
        && lit(&mut i, b'-')
        && take_digits(&mut i, 1, 2))
    {
        return false;
    }
    if !(lit(&mut i, b'T') || lit(&mut i, b't')) {
        let st = i;
        while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
            i += 1;
        }
        if i == st {
            return false;
        }
    }
    if !(take_digits(&mut i, 1, 2)
        && lit(&mut i, b':')
        && take_digits(&mut i, 2, 2)
        && lit(&mut i, b':')
        && take_digits(&mut i, 2, 2))
    {
        return false;
    }
    if lit(&mut i, b'.') {
        take_digits(&mut i, 0, usize::MAX);
    }
    while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
        i += 1;
    }
    if i == b.len() {
        return true;
    }
    if lit(&mut i, b'Z') {
        return i == b.len();
    }
    if !(lit(&mut i, b'-') || lit(&mut i, b'+')) || !take_digits(&mut i, 1, 2) {
        return false;
    }
    if lit(&mut i, b':') && !take_digits(&mut i, 2, 2) {
        return false;
    }
    i == b.len()
}

/// Resolve a plain scalar the way PyYAML's `Resolver` does (resolvers are tried in registration
/// order among those registered for the first character: bool, float, int, merge, null, timestamp, value).
pub fn resolve_plain(s: &str) -> Implicit {
    let first = s.as_bytes().first().copied();
    // no resolver is registered for this first character (most keys and words): a string
    if !matches!(
        first,
        None | Some(
            b'y' | b'Y'
                | b'n'
                | b'N'
                | b't'
                | b'T'
                | b'f'
                | b'F'
                | b'o'
                | b'O'
                | b'-'
                | b'+'
                | b'.'
                | b'0'..=b'9' | b'<' | b'~' | b'='
        )
    ) {
        return Implicit::Str;
    }
    if matches!(
        s,
        "yes"
            | "Yes"
            | "YES"
            | "no"
            | "No"
            | "NO"
            | "true"
            | "True"
            | "TRUE"
            | "false"
            | "False"
            | "FALSE"
            | "on"
            | "On"
            | "ON"
            | "off"
            | "Off"
            | "OFF"
    ) {
        return Implicit::Bool;
    }
    if matches!(first, Some(b'-' | b'+' | b'0'..=b'9' | b'.')) && is_float(s) {
        return Implicit::Float;
    }
    if matches!(first, Some(b'-' | b'+' | b'0'..=b'9')) && is_int(s) {
        return Implicit::Int;
    }
    if s == "<<" {
        return Implicit::Merge;
    }
    if matches!(s, "~" | "null" | "Null" | "NULL" | "") {
        return Implicit::Null;
    }
    if first.is_some_and(|b| b.is_ascii_digit()) && is_timestamp(s) {
        return Implicit::Timestamp;
    }
    if s == "=" {
        return Implicit::ValueTag;
    }
    Implicit::Str
}

/// PyYAML's `construct_yaml_int` (underscores dropped, sign, `0b`, `0x`, leading-zero octal, base 60).
/// `None` when the value does not fit an `i128` or the digits are empty (PyYAML raises there too).
pub fn construct_int(s: &str) -> Option<i128> {
    // plain decimal digits (block indices, shapes): no copy; up to 18 digits fit a u64
    // accumulated without overflow checks
    let b = s.as_bytes();
    if !b.is_empty()
        && b.iter().all(u8::is_ascii_digit)
        && (b.first() != Some(&b'0') || b.len() == 1)
    {
        if b.len() <= 18 {
            let v = b
                .iter()
                .fold(0u64, |acc, &c| acc * 10 + u64::from(c - b'0'));
            return Some(i128::from(v));
        }
        return s.parse().ok();
    }
    let v: String = s.chars().filter(|&c| c != '_').collect();
    let (neg, v) = match v.as_bytes().first() {
        Some(b'-') => (true, &v[1..]),
        Some(b'+') => (false, &v[1..]),
        _ => (false, &v[..]),
    };
    let mag: i128 = if v == "0" {
        0
    } else if let Some(r) = v.strip_prefix("0b") {
        i128::from_str_radix(r, 2).ok()?
    } else if let Some(r) = v.strip_prefix("0x") {
        i128::from_str_radix(r, 16).ok()?
    } else if v.starts_with('0') {
        i128::from_str_radix(v, 8).ok()?
    } else if has_byte(v, b':') {
        let mut acc: i128 = 0;
        for p in v.split(':') {
            acc = acc.checked_mul(60)?.checked_add(p.parse::<i128>().ok()?)?;
        }
        acc
    } else {
        v.parse().ok()?
    };
    Some(if neg { -mag } else { mag })
}

/// PyYAML's `construct_yaml_float`.
pub fn construct_float(s: &str) -> Option<f64> {
    let v: String = s
        .chars()
        .filter(|&c| c != '_')
        .collect::<String>()
        .to_lowercase();
    let (sign, v) = match v.as_bytes().first() {
        Some(b'-') => (-1.0, &v[1..]),
        Some(b'+') => (1.0, &v[1..]),
        _ => (1.0, &v[..]),
    };
    if v == ".inf" {
        return Some(sign * f64::INFINITY);
    }
    if v == ".nan" {
        return Some(pyyaml_nan());
    }
    if has_byte(v, b':') {
        let mut acc = 0.0;
        for p in v.split(':') {
            acc = acc * 60.0 + parse_py_float(p)?;
        }
        return Some(sign * acc);
    }
    Some(sign * parse_py_float(v)?)
}

/// Python's `float()` for the digit forms PyYAML's regex admits (`1.`, `.5`, `1.0e+5`).
fn parse_py_float(s: &str) -> Option<f64> {
    if s.is_empty() {
        return None;
    }
    let mut t = s.to_string();
    if t.starts_with('.') {
        t.insert(0, '0');
    }
    if let Some(p) = t.find('.') {
        if !t[p + 1..].starts_with(|c: char| c.is_ascii_digit()) {
            t.insert(p + 1, '0');
        }
    }
    t.parse().ok()
}

/// PyYAML's `bool_values[value.lower()]`.
pub(super) fn construct_bool(s: &str) -> Option<bool> {
    match s.to_lowercase().as_str() {
        "yes" | "true" | "on" => Some(true),
        "no" | "false" | "off" => Some(false),
        _ => None,
    }
}

/// True when `s` holds the ASCII byte `b` (a plain loop: the strings resolved are a few bytes
/// long, shorter than a `str::find` searcher takes to set up).
fn has_byte(s: &str, b: u8) -> bool {
    s.bytes().any(|c| c == b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_like_pyyaml() {
        assert_eq!(resolve_plain("yes"), Implicit::Bool);
        assert_eq!(resolve_plain("y"), Implicit::Str);
        assert_eq!(resolve_plain("017"), Implicit::Int);
        assert_eq!(construct_int("017"), Some(15));
        assert_eq!(construct_int("0x1F"), Some(31));
        assert_eq!(construct_int("1_000"), Some(1000));
        assert_eq!(construct_int("1:30"), Some(90));
        // the short-digits path and the i128 parse agree around their boundary and at the ends
        for s in [
            "0",
            "7",
            "999999999999999999",
            "1000000000000000000",
            "9999999999999999999",
            "170141183460469231731687303715884105727",
        ] {
            assert_eq!(construct_int(s), s.parse::<i128>().ok(), "{s}");
        }
        assert_eq!(
            construct_int("170141183460469231731687303715884105728"),
            None
        );
        assert_eq!(resolve_plain("08"), Implicit::Str);
        assert_eq!(resolve_plain("1e5"), Implicit::Str);
        assert_eq!(resolve_plain("1.0e+5"), Implicit::Float);
        assert_eq!(resolve_plain("1.0e5"), Implicit::Str);
        assert_eq!(resolve_plain("2001-12-14"), Implicit::Timestamp);
        assert_eq!(construct_float("1:30.5"), Some(90.5));
        assert_eq!(construct_float("1."), Some(1.0));
    }
}
