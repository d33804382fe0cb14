//! Header cards as fitsverify reads them: each card split into name, value type and value text
//! with every syntax defect counted, and the sorted table of the keywords after NAXISn that the
//! keyword checks search by exact name or by prefix.
//!
//! The card is taken as cfitsio hands it over: as text up to its first NUL byte.

/// The type fitsverify gives a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum KType {
    /// A commentary card (no `= ` in columns 9-10, or COMMENT, HISTORY, HIERARCH, CONTINUE, blank).
    Commentary,
    /// A quoted string.
    Str,
    /// `T` or `F`.
    Logical,
    /// A number without a decimal point or exponent.
    Int,
    /// A number with a decimal point or exponent.
    Float,
    /// A complex number of two integers.
    ComplexInt,
    /// A complex number with a floating-point part.
    ComplexFloat,
    /// No value (null) or a value of no FITS type.
    Unknown,
}

/// One parsed card.
#[derive(Debug, Clone)]
pub(super) struct Key {
    /// The card number, 1-based.
    pub index: usize,
    /// The name (columns 1-8, trailing blanks removed; commentary names end at a blank).
    pub name: String,
    /// The value type.
    pub ty: KType,
    /// The value text (a string without its quotes and trailing blanks).
    pub value: String,
}

impl Key {
    /// The value as a number (0 when it does not read as one, as C's `strtod`/`strtol` give).
    pub fn num(&self) -> f64 {
        leading_number(&self.value)
    }
}

/// The text of a card up to its first NUL byte (as a C string), at most 80 bytes.
pub(super) fn card_text(card: &[u8]) -> &[u8] {
    let c = &card[..card.len().min(80)];
    c.iter().position(|&b| b == 0).map_or(c, |n| &c[..n])
}

/// C's `isprint` in the C locale.
pub(super) fn printable(b: u8) -> bool {
    (32..=126).contains(&b)
}

fn space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Value syntax defects, one error each.
#[derive(Default)]
pub(super) struct ValueFlags {
    bad_str: bool,
    no_trail_quote: bool,
    bad_logical: bool,
    bad_num: bool,
    lowcase_expo: bool,
    no_trail_paren: bool,
    no_comma: bool,
    too_many_comma: bool,
    bad_real: bool,
    bad_imag: bool,
    no_start_slash: bool,
    bad_comment: bool,
    unknown_type: bool,
}

impl ValueFlags {
    /// The messages, in fitsverify's order.
    pub fn messages(&self, name: &str, value: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut add = |on: bool, m: String| {
            if on {
                out.push(m);
            }
        };
        add(
            self.bad_str,
            format!("{name}: the string holds characters outside printable ASCII"),
        );
        add(
            self.no_trail_quote,
            format!("{name}: the closing quote of the string is missing"),
        );
        add(
            self.bad_logical,
            format!("{name}: bad logical value '{value}'"),
        );
        add(self.bad_num, format!("{name}: bad number '{value}'"));
        add(
            self.lowcase_expo,
            format!("{name}: lower-case exponent in '{value}' (must be E or D)"),
        );
        add(
            self.no_trail_paren,
            format!("{name}: complex value '{value}' lacks its closing ')'"),
        );
        add(
            self.no_comma,
            format!("{name}: complex value '{value}' lacks its ','"),
        );
        add(
            self.too_many_comma,
            format!("{name}: complex value '{value}' has more than one ','"),
        );
        add(
            self.bad_real,
            format!("{name}: the real part of complex value '{value}' is bad"),
        );
        add(
            self.bad_imag,
            format!("{name}: the imaginary part of complex value '{value}' is bad"),
        );
        add(
            self.no_start_slash,
            format!("{name}: value and comment not separated by /"),
        );
        add(
            self.bad_comment,
            format!("{name}: the comment holds characters outside printable ASCII"),
        );
        add(
            self.unknown_type && !value.is_empty(),
            format!("{name}: value '{value}' is of no FITS type"),
        );
        out
    }
}

/// Parse a card as fitsverify does, pushing its syntax errors (`Keyword #n, ...`).
pub(super) fn parse_card(card: &[u8], index: usize, errors: &mut Vec<String>) -> Key {
    let c = card_text(card);
    let mut key = Key {
        index,
        name: String::new(),
        ty: KType::Unknown,
        value: String::new(),
    };
    // the name: columns 1-8, trailing white space removed
    let raw = &c[..c.len().min(8)];
    let end = raw.iter().rposition(|&b| !space(b)).map_or(0, |p| p + 1);
    let kname = &raw[..end];
    key.name = String::from_utf8_lossy(kname).into_owned();
    let lead = kname.iter().take_while(|&&b| space(b)).count();
    if lead > 0 && lead < 8 {
        errors.push(format!(
            "card {index}: keyword '{}' is not left-justified",
            key.name.escape_default()
        ));
    }
    if let Some(&b) = kname[lead..]
        .iter()
        .find(|&&b| !(b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_'))
    {
        errors.push(format!(
            "card {index}: keyword '{}' holds '{}', not an upper-case letter, digit, - or _",
            key.name.escape_default(),
            char::from(b).escape_default()
        ));
    }
    let truncate_at_blank = |k: &mut Key| {
        if let Some(p) = k.name.find(|ch: char| ch.is_ascii_whitespace()) {
            k.name.truncate(p);
        }
    };
    let rest = c.get(8..).unwrap_or(&[]);
    if matches!(
        key.name.as_str(),
        "COMMENT" | "HISTORY" | "HIERARCH" | "CONTINUE" | ""
    ) {
        key.ty = KType::Commentary;
        if rest.iter().any(|&b| !printable(b)) {
            errors.push(format!(
                "card {index}, {}: the text holds characters outside printable ASCII",
                key.name
            ));
        }
        truncate_at_blank(&mut key);
        return key;
    }
    if key.name == "END" {
        key.ty = KType::Commentary;
        if rest.iter().any(|&b| b != b' ') {
            errors.push("the END card holds characters other than blanks".into());
        }
        return key;
    }
    let indicator = rest.get(..2.min(rest.len())).unwrap_or(&[]);
    if indicator != b"= " && indicator != b"=" {
        key.ty = KType::Commentary;
        if rest.iter().any(|&b| !printable(b)) {
            errors.push(format!(
                "card {index}, {}: the text holds characters outside printable ASCII",
                key.name
            ));
        }
        truncate_at_blank(&mut key);
        return key;
    }
    let field = c.get(10..).unwrap_or(&[]);
    let mut flags = ValueFlags::default();
    let (ty, value) = parse_value(field, &mut flags, true);
    key.ty = ty;
    key.value = value;
    for m in flags.messages(&key.name, &key.value) {
        errors.push(format!("card {index}, {m}"));
    }
    key
}

/// Parse a value field (after `= `): its type and text. With `comment`, what follows the value
/// must be a `/` comment of printable text.
pub(super) fn parse_value(field: &[u8], f: &mut ValueFlags, comment: bool) -> (KType, String) {
    let mut p = field.iter().take_while(|&&b| space(b)).count();
    let at = |i: usize| field.get(i).copied().unwrap_or(0);
    let (ty, mut value);
    match at(p) {
        b'\'' => {
            let start = p + 1;
            let mut q = start;
            let mut prev = b'a';
            while at(q) != 0 {
                let ch = at(q);
                if !printable(ch) {
                    f.bad_str = true;
                }
                if prev == b'\'' && ch != b'\'' {
                    break;
                }
                if prev == b'\'' && ch == b'\'' {
                    q += 1;
                    prev = b'a';
                } else {
                    prev = ch;
                    q += 1;
                }
            }
            q = q.saturating_sub(1).max(p);
            if at(q) != b'\'' {
                f.no_trail_quote = true;
            }
            let text = &field[start.min(q)..q.max(start.min(q))];
            value = String::from_utf8_lossy(text).trim_end().to_string();
            ty = KType::Str;
            p = q + 1;
            p += field[p.min(field.len())..]
                .iter()
                .take_while(|&&b| space(b))
                .count();
        }
        b'T' | b'F' => {
            value = char::from(at(p)).to_string();
            ty = KType::Logical;
            p += 1;
            p += field[p.min(field.len())..]
                .iter()
                .take_while(|&&b| space(b))
                .count();
            if at(p) != b'/' && at(p) != 0 {
                f.bad_logical = true;
            }
        }
        b'+' | b'-' | b'.' | b'0'..=b'9' => {
            let (t, v, n) = number(&field[p..], f);
            ty = t;
            value = v;
            p += n;
        }
        b'(' => {
            let (t, v, n) = complex(&field[p..], f);
            ty = t;
            value = v;
            p += n;
        }
        b'/' => {
            ty = KType::Unknown;
            value = String::new();
        }
        _ => {
            let n = field[p..].iter().take_while(|&&b| b != b'/').count();
            value = String::from_utf8_lossy(&field[p..p + n]).into_owned();
            ty = KType::Unknown;
            f.unknown_type = true;
            p += n;
        }
    }
    if comment && at(p) != 0 {
        if at(p) != b'/' {
            f.no_start_slash = true;
        }
        if field[(p + 1).min(field.len())..]
            .iter()
            .any(|&b| !printable(b))
        {
            f.bad_comment = true;
        }
    }
    if ty != KType::Str {
        let t = value
            .trim_end_matches(|c: char| c.is_ascii_whitespace())
            .len();
        value.truncate(t);
    }
    (ty, value)
}

/// A number at the start of `s`: its type, text and the bytes used (with the blanks after it).
fn number(s: &[u8], f: &mut ValueFlags) -> (KType, String, usize) {
    let at = |i: usize| s.get(i).copied().unwrap_or(0);
    let mut ty = KType::Int;
    let first = at(0);
    if !(first == b'+' || first == b'-' || first == b'.' || first.is_ascii_digit()) {
        f.bad_num = true;
        return (ty, String::new(), 0);
    }
    let (mut deci, mut expo) = (first == b'.', false);
    if deci {
        ty = KType::Float;
    }
    let mut p = 1;
    while at(p) != 0 && !space(at(p)) && at(p) != b'/' {
        let ch = at(p);
        if ch == b'.' && !deci {
            deci = true;
            ty = KType::Float;
            p += 1;
            continue;
        }
        if matches!(ch, b'd' | b'e' | b'D' | b'E') && !expo {
            expo = true;
            ty = KType::Float;
            if matches!(ch, b'd' | b'e') {
                f.lowcase_expo = true;
            }
            p += 1;
            if matches!(at(p), b'+' | b'-') {
                p += 1;
            }
            continue;
        }
        if !ch.is_ascii_digit() {
            f.bad_num = true;
        }
        p += 1;
    }
    let text = String::from_utf8_lossy(&s[..p.min(s.len())]).into_owned();
    while at(p) != 0 && space(at(p)) {
        p += 1;
    }
    (ty, text, p)
}

/// A complex value `(re, im)` at the start of `s` (which begins with `(`).
fn complex(s: &[u8], f: &mut ValueFlags) -> (KType, String, usize) {
    let at = |i: usize| s.get(i).copied().unwrap_or(0);
    let mut p = 1;
    let (mut comma, mut paren) = (None, None);
    while at(p) != 0 && at(p) != b'/' {
        if at(p) == b')' {
            paren = Some(p);
            p += 1;
            break;
        }
        if at(p) == b',' {
            if comma.is_none() {
                comma = Some(p);
            } else {
                f.too_many_comma = true;
            }
        }
        p += 1;
    }
    let end = match paren {
        Some(e) => e,
        None => {
            f.no_trail_paren = true;
            let mut e = p;
            while e > 1 && space(at(e - 1)) {
                e -= 1;
            }
            e
        }
    };
    let value = String::from_utf8_lossy(&s[..end.min(s.len())]).into_owned();
    while at(p) != 0 && space(at(p)) {
        p += 1;
    }
    let mut ty = KType::ComplexInt;
    match comma {
        None => f.no_comma = true,
        Some(c) => {
            let part = |a: usize, b: usize| {
                let t = &s[a.min(b)..b];
                let lead = t.iter().take_while(|&&x| space(x)).count();
                let mut g = ValueFlags::default();
                let (ty, _, _) = number(&t[lead..], &mut g);
                let bad = g.bad_num || g.lowcase_expo;
                (ty, bad)
            };
            let (rt, rbad) = part(1, c);
            let (it, ibad) = part(c + 1, end.max(c + 1));
            f.bad_real |= rbad;
            f.bad_imag |= ibad;
            if rt == KType::Float || it == KType::Float {
                ty = KType::ComplexFloat;
            }
        }
    }
    (ty, value, p)
}

/// The number at the start of `s` as C's `strtod` reads it (0 when there is none).
pub(super) fn leading_number(s: &str) -> f64 {
    let s = s.trim_start();
    let b = s.as_bytes();
    let mut n = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        n = 1;
    }
    let digits = |from: usize| b[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    n += digits(n);
    if b.get(n) == Some(&b'.') {
        n += 1 + digits(n + 1);
    }
    if matches!(b.get(n), Some(b'e' | b'E')) {
        let mut m = n + 1;
        if matches!(b.get(m), Some(b'+' | b'-')) {
            m += 1;
        }
        if digits(m) > 0 {
            n = m + digits(m);
        }
    }
    s[..n].parse().unwrap_or(0.0)
}

/// The integer at the start of `s` as C's `strtol` reads it, and the rest of `s`.
pub(super) fn leading_int(s: &str) -> (i64, &str) {
    let t = s.trim_start();
    let b = t.as_bytes();
    let sign = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let d = b[sign..].iter().take_while(|c| c.is_ascii_digit()).count();
    if d == 0 {
        return (0, s);
    }
    let v = t[..sign + d].parse::<i64>().unwrap_or(i64::MAX);
    (v, &t[sign + d..])
}

/// The keywords after NAXISn (not COMMENT, HISTORY, CONTINUE or blank), sorted by name as
/// fitsverify sorts them, with its look-ups.
pub(super) struct KeyTable {
    /// Sorted by name (stable: equal names in card order).
    pub keys: Vec<Key>,
}

impl KeyTable {
    pub fn new(mut keys: Vec<Key>) -> Self {
        keys.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
        KeyTable { keys }
    }

    /// The keywords named `name`, as fitsverify finds them (see [`Self::matching`]).
    pub fn exact(&self, name: &str) -> &[Key] {
        self.matching(name, true)
    }

    /// The keywords whose name starts with `prefix`.
    pub fn prefix(&self, prefix: &str) -> &[Key] {
        self.matching(prefix, false)
    }

    /// The first of the keywords named `name`, if any.
    pub fn first(&self, name: &str) -> Option<&Key> {
        self.exact(name).first()
    }

    /// fitsverify's look-up: a binary search (as the C library's `bsearch`) for one match, then
    /// the run of matches around it, except that the run never extends back to the first
    /// keyword of the table (a quirk fitsverify has; counts depend on it).
    fn matching(&self, pat: &str, exact: bool) -> &[Key] {
        let cmp = |k: &Key| -> std::cmp::Ordering {
            let n = k.name.as_bytes();
            let p = pat.as_bytes();
            if exact {
                p.cmp(n)
            } else {
                let m = p.len().min(n.len());
                match p[..m].cmp(&n[..m]) {
                    std::cmp::Ordering::Equal if n.len() < p.len() => std::cmp::Ordering::Greater,
                    o => o,
                }
            }
        };
        let (mut lo, mut hi) = (0usize, self.keys.len());
        let mut hit = None;
        while lo < hi {
            let mid = (lo + hi) / 2;
            match cmp(&self.keys[mid]) {
                std::cmp::Ordering::Less => hi = mid,
                std::cmp::Ordering::Greater => lo = mid + 1,
                std::cmp::Ordering::Equal => {
                    hit = Some(mid);
                    break;
                }
            }
        }
        let Some(h) = hit else {
            return &[];
        };
        let mut first = h;
        while first > 1 && cmp(&self.keys[first - 1]).is_eq() {
            first -= 1;
        }
        let mut last = h + 1;
        while last < self.keys.len() && cmp(&self.keys[last]).is_eq() {
            last += 1;
        }
        &self.keys[first..last]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (Key, Vec<String>) {
        let mut e = Vec::new();
        let k = parse_card(format!("{text:<80}").as_bytes(), 7, &mut e);
        (k, e)
    }

    #[test]
    fn values_and_their_defects() {
        let (k, e) = parse("OBJECT  = 'M31     '           / name");
        assert_eq!((k.ty, k.value.as_str(), e.len()), (KType::Str, "M31", 0));
        let (k, e) = parse("N       =                   12");
        assert_eq!((k.ty, k.value.as_str(), e.len()), (KType::Int, "12", 0));
        let (k, e) = parse("X       =                1.5e3");
        assert_eq!((k.ty, e.len()), (KType::Float, 1), "{e:?}");
        let (k, e) = parse("FLAG    = TRUE");
        assert_eq!((k.ty, e.len()), (KType::Logical, 2), "{e:?}");
        let (k, e) = parse("C       = (1.0, 2)");
        assert_eq!((k.ty, e.len()), (KType::ComplexFloat, 0), "{e:?}");
        let (_, e) = parse("C       = (1.0, 2.0");
        assert_eq!(e.len(), 1, "{e:?}");
        let (k, e) = parse("UNDEF   =");
        assert_eq!((k.ty, k.value.as_str(), e.len()), (KType::Unknown, "", 0));
        let (k, e) = parse("W       = hello / c");
        assert_eq!(
            (k.ty, k.value.as_str(), e.len()),
            (KType::Unknown, "hello", 1)
        );
        let (_, e) = parse("S       = 'abc");
        assert_eq!(e.len(), 1, "{e:?}");
        let (_, e) = parse(" OBJECT = 'a'");
        assert_eq!(e.len(), 1, "{e:?}");
        let (k, e) = parse("COMMENT a\u{7f}b");
        assert_eq!((k.ty, e.len()), (KType::Commentary, 1));
    }

    #[test]
    fn lookups_skip_the_first_key_as_fitsverify_does() {
        let key = |n: &str, i| Key {
            index: i,
            name: n.into(),
            ty: KType::Int,
            value: "1".into(),
        };
        let t = KeyTable::new(vec![key("DATE-OBS", 1), key("DATE", 2)]);
        // bsearch lands on DATE-OBS (index 1); the run does not extend back to index 0
        assert_eq!(t.prefix("DATE").len(), 1);
        assert_eq!(t.exact("DATE").len(), 1);
        assert_eq!(t.prefix("CRPIX").len(), 0);
        assert_eq!(leading_number("1.5e3x"), 1500.0);
        assert_eq!(leading_int("12_3"), (12, "_3"));
    }
}
