//! The value of a card, as astropy reads it (null vs empty vs absent, big integers, complex).

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
    /// The value as Python's `str()` shows astropy's value (what `fitsheader -t` prints):
    /// `True`/`False`, integers, reals as `repr(float)`, complex as `(1.5-2j)`, strings and
    /// commentary text as they are; an undefined value as the empty string.
    pub fn python_str(&self) -> String {
        use super::format::py_float_repr;
        match self {
            Value::Undefined => String::new(),
            Value::Bool(b) => if *b { "True" } else { "False" }.into(),
            Value::Int(i) => i.to_string(),
            Value::Float(x) => py_float_repr(*x),
            Value::Complex(re, im) => {
                let part = |x: f64| {
                    let s = py_float_repr(x);
                    s.strip_suffix(".0").map_or(s.clone(), str::to_string)
                };
                let imag = part(*im);
                if *re == 0.0 && !re.is_sign_negative() {
                    format!("{imag}j")
                } else {
                    let sign = if imag.starts_with('-') { "" } else { "+" };
                    format!("({}{sign}{imag}j)", part(*re))
                }
            }
            Value::BigInt(s) | Value::Str(s) | Value::Text(s) | Value::Invalid(s) => s.clone(),
        }
    }

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

/// The value as a reader would write it in a message: `T`/`F`, numbers, `'text'` quoted,
/// `(re, im)`, and `undefined` for an empty value field.
impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Undefined => f.write_str("undefined"),
            Value::Bool(b) => f.write_str(if *b { "T" } else { "F" }),
            Value::Int(i) => write!(f, "{i}"),
            Value::BigInt(s) => f.write_str(s),
            Value::Float(x) => write!(f, "{x}"),
            Value::Complex(re, im) => write!(f, "({re}, {im})"),
            Value::Str(s) => write!(f, "'{s}'"),
            Value::Text(s) | Value::Invalid(s) => f.write_str(s),
        }
    }
}

#[cfg(test)]
mod display_tests {
    use super::Value;
    use crate::hdu::HduKind;
    use crate::scale::Scaling;

    /// Messages show values, kinds and scalings in FITS words, never as Rust debug output.
    #[test]
    fn values_kinds_and_scalings_display_in_fits_words() {
        let shown = [
            Value::Bool(true).to_string(),
            Value::Str("M31".into()).to_string(),
            Value::Complex(1.5, -2.0).to_string(),
            Value::Undefined.to_string(),
            HduKind::Other("FOO".into()).to_string(),
            HduKind::BinTable.to_string(),
            Scaling::F32 {
                scale: Some(2.0),
                zero: None,
                blank: Some(-1),
            }
            .to_string(),
            Scaling::Unsigned.to_string(),
        ];
        assert_eq!(
            shown,
            [
                "T",
                "'M31'",
                "(1.5, -2)",
                "undefined",
                "XTENSION = 'FOO'",
                "BINTABLE",
                "BSCALE = 2, BLANK = -1 -> float32",
                "unsigned integers",
            ]
        );
    }
}
