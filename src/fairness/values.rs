//! One cell of a prediction log as the readers hand it over, and the rules that turn label and decision
//! cells into positive/negative.

use std::io::Write;

/// A cell: text from CSV/JSON, or a typed value from JSON or Parquet.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Field<'a> {
    Text(&'a [u8]),
    Int(i64),
    Float(f64),
    Bool(bool),
    Null,
}

impl<'a> Field<'a> {
    /// Null or empty text: a missing value.
    pub fn is_missing(&self) -> bool {
        match self {
            Field::Null => true,
            Field::Text(t) => t.is_empty(),
            _ => false,
        }
    }

    /// The value as text (typed values are formatted into `buf`, without allocating).
    pub fn text<'b>(&'b self, buf: &'b mut [u8; 48]) -> &'b [u8]
    where
        'a: 'b,
    {
        match *self {
            Field::Text(t) => t,
            Field::Null => b"",
            Field::Bool(true) => b"true",
            Field::Bool(false) => b"false",
            Field::Int(i) => format_into(buf, format_args!("{i}")),
            Field::Float(x) => format_into(buf, format_args!("{x}")),
        }
    }

    /// The value as a number, when it is one (text is parsed; booleans are 1/0).
    pub fn number(&self) -> Option<f64> {
        match *self {
            Field::Int(i) => Some(i as f64),
            Field::Float(x) => Some(x),
            Field::Bool(b) => Some(if b { 1.0 } else { 0.0 }),
            Field::Text(t) => parse_f64(t),
            Field::Null => None,
        }
    }
}

fn format_into<'b>(buf: &'b mut [u8; 48], args: std::fmt::Arguments<'_>) -> &'b [u8] {
    let len = {
        let mut cursor = std::io::Cursor::new(&mut buf[..]);
        if cursor.write_fmt(args).is_err() {
            return b"";
        }
        cursor.position() as usize
    };
    &buf[..len]
}

/// Parses a decimal number from text (surrounding spaces allowed). None for anything else.
pub(crate) fn parse_f64(t: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(t).ok()?.trim();
    if s.is_empty() {
        return None;
    }
    s.parse::<f64>().ok()
}

/// true/false spelled out (any case), for labels and decisions written as booleans.
fn parse_bool_word(t: &[u8]) -> Option<bool> {
    if t.eq_ignore_ascii_case(b"true") {
        Some(true)
    } else if t.eq_ignore_ascii_case(b"false") {
        Some(false)
    } else {
        None
    }
}

/// The default binary reading of a label or decision: 1/0 (any numeric spelling), true/false.
#[inline]
pub(crate) fn binary(f: &Field<'_>) -> Option<bool> {
    if let Field::Text([c]) = *f {
        match c {
            b'1' => return Some(true),
            b'0' => return Some(false),
            _ => {}
        }
    }
    binary_slow(f)
}

fn binary_slow(f: &Field<'_>) -> Option<bool> {
    match *f {
        Field::Text(b"1") => Some(true),
        Field::Text(b"0") => Some(false),
        Field::Bool(b) => Some(b),
        Field::Text(t) => parse_bool_word(t).or_else(|| match parse_f64(t) {
            Some(1.0) => Some(true),
            Some(0.0) => Some(false),
            _ => None,
        }),
        Field::Int(1) => Some(true),
        Field::Int(0) => Some(false),
        Field::Float(1.0) => Some(true),
        Field::Float(0.0) => Some(false),
        _ => None,
    }
}

/// A user-given value to match cells against: by text, or by number when both are numbers, or as a
/// boolean when both are booleans ("1" matches 1, 1.0 and true; ">50K" matches only ">50K").
#[derive(Clone, Debug)]
pub(crate) struct Wanted {
    pub text: Vec<u8>,
    num: Option<f64>,
    boolean: Option<bool>,
}

impl Wanted {
    pub fn new(s: &str) -> Wanted {
        let t = s.as_bytes();
        let boolean = parse_bool_word(t).or(match parse_f64(t) {
            Some(1.0) => Some(true),
            Some(0.0) => Some(false),
            _ => None,
        });
        Wanted { text: t.to_vec(), num: parse_f64(t), boolean }
    }

    pub fn matches(&self, f: &Field<'_>) -> bool {
        match *f {
            Field::Text(t) => {
                t == self.text.as_slice()
                    || self.num.is_some_and(|n| parse_f64(t) == Some(n))
                    || (self.boolean.is_some() && parse_bool_word(t).is_some() && parse_bool_word(t) == self.boolean)
            }
            Field::Bool(b) => self.boolean == Some(b),
            Field::Int(_) | Field::Float(_) => self.num.is_some() && f.number() == self.num,
            Field::Null => false,
        }
    }
}

/// The identity of a non-positive label value, so that "0" and "0.0" count as one value.
pub(crate) fn identity(f: &Field<'_>) -> Vec<u8> {
    if let Some(x) = f.number() {
        let mut buf = [0u8; 48];
        return format_into(&mut buf, format_args!("{x}")).to_vec();
    }
    let mut buf = [0u8; 48];
    f.text(&mut buf).to_vec()
}

/// Number of score bins for the threshold sweep: one below 0.00, then [t_k, t_k+1) for k = 0..99 and
/// [1.00, inf) (thresholds t_k = k/100).
pub const SWEEP_STEPS: usize = 101;
pub(crate) const BINS: usize = SWEEP_STEPS + 1;

/// The bin of a score: the number of sweep thresholds t_k = k/100 with t_k <= score (0..=101). A row
/// in bin b is predicted positive at threshold t_k exactly when k < b.
pub(crate) fn score_bin(s: f64) -> usize {
    let t = |k: i64| k as f64 / 100.0;
    let mut k = (s * 100.0).floor().clamp(-1.0, 100.0) as i64;
    while k < 100 && t(k + 1) <= s {
        k += 1;
    }
    while k >= 0 && t(k) > s {
        k -= 1;
    }
    (k + 1) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_reads_common_spellings() {
        assert_eq!(binary(&Field::Text(b"1")), Some(true));
        assert_eq!(binary(&Field::Text(b"0.0")), Some(false));
        assert_eq!(binary(&Field::Text(b"True")), Some(true));
        assert_eq!(binary(&Field::Int(0)), Some(false));
        assert_eq!(binary(&Field::Text(b"2")), None);
        assert_eq!(binary(&Field::Text(b">50K")), None);
    }

    #[test]
    fn wanted_matches_by_text_number_or_bool() {
        let w = Wanted::new("1");
        assert!(w.matches(&Field::Text(b"1.0")));
        assert!(w.matches(&Field::Int(1)));
        assert!(w.matches(&Field::Bool(true)));
        assert!(!w.matches(&Field::Text(b"0")));
        let k = Wanted::new(">50K");
        assert!(k.matches(&Field::Text(b">50K")));
        assert!(!k.matches(&Field::Text(b">50K.")));
    }

    #[test]
    fn score_bins_match_the_threshold_rule() {
        for &(s, b) in &[(-0.5, 0), (0.0, 1), (0.004, 1), (0.01, 2), (0.5, 51), (0.999, 100), (1.0, 101), (7.0, 101)] {
            assert_eq!(score_bin(s), b, "score {s}");
        }
        // exhaustive check against the definition on a grid of awkward values
        for i in 0..=10_000 {
            let s = i as f64 / 10_000.0;
            let b = score_bin(s);
            for k in 0..SWEEP_STEPS {
                assert_eq!(s >= k as f64 / 100.0, k < b, "score {s} threshold {k}");
            }
        }
    }

    #[test]
    fn identity_merges_numeric_spellings() {
        assert_eq!(identity(&Field::Text(b"0.0")), identity(&Field::Int(0)));
        assert_eq!(identity(&Field::Text(b"<=50K")), b"<=50K".to_vec());
    }
}
