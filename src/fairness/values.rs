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
    /// Null, empty text or a float NaN: a missing value (pandas and Fairlearn read NaN as missing).
    pub fn is_missing(&self) -> bool {
        match self {
            Field::Null => true,
            Field::Text(t) => t.is_empty(),
            Field::Float(x) => x.is_nan(),
            _ => false,
        }
    }

    /// The value as text (typed values are formatted into `buf`, without allocating), spelled the same
    /// whichever format it came from: text as written; integers in decimal; floats as the shortest
    /// decimal that reads back as the same double, with ".0" when whole (`1.0`, `0.25`, `-0.0` as
    /// `0.0`), as pandas writes a float column; booleans `true`/`false`.
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
            Field::Float(x) => float_text(buf, x),
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

/// The canonical spelling of a float (see [`Field::text`]).
fn float_text(buf: &mut [u8; 48], x: f64) -> &[u8] {
    let x = if x == 0.0 { 0.0 } else { x };
    if x.is_finite() && x == x.trunc() && x.abs() < 1e15 {
        format_into(buf, format_args!("{x:.1}"))
    } else if x.is_finite() && (x.abs() >= 1e15 || x.abs() < 1e-5) {
        // Shortest round-trip digits in exponent form, instead of a long run of zeros.
        format_into(buf, format_args!("{x:e}"))
    } else {
        format_into(buf, format_args!("{x}"))
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
    /// `s` as typed, matched against text cells in the file's encoding.
    pub fn new(s: &str, encoding: super::Encoding) -> Wanted {
        let t = s.as_bytes();
        let text = encoding.encode(s).unwrap_or_else(|| t.to_vec());
        let boolean = parse_bool_word(t).or(match parse_f64(t) {
            Some(1.0) => Some(true),
            Some(0.0) => Some(false),
            _ => None,
        });
        Wanted { text, num: parse_f64(t), boolean }
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

/// The identity of a non-positive label value, so that "0" and "0.0" count as one value, and a JSON or
/// Parquet boolean `false` is the same value as the text `false` (any case): `"false"`.
pub(crate) fn identity(f: &Field<'_>) -> Vec<u8> {
    let word = match *f {
        Field::Bool(b) => Some(b),
        Field::Text(t) => parse_bool_word(t),
        _ => None,
    };
    if let Some(b) = word {
        return if b { b"true".to_vec() } else { b"false".to_vec() };
    }
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

/// The bin of a score: the number of sweep thresholds t_k = k/100 with t_k <= score (0..=101), or
/// with t_k < score when `strict`. A row in bin b is predicted positive at threshold t_k exactly when
/// k < b (score >= t_k, or score > t_k when strict).
pub(crate) fn score_bin(s: f64, strict: bool) -> usize {
    let t = |k: i64| k as f64 / 100.0;
    let below = |k: i64| if strict { t(k) < s } else { t(k) <= s };
    let mut k = (s * 100.0).floor().clamp(-1.0, 100.0) as i64;
    while k < 100 && below(k + 1) {
        k += 1;
    }
    while k >= 0 && !below(k) {
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
        let w = Wanted::new("1", super::super::Encoding::Utf8);
        assert!(w.matches(&Field::Text(b"1.0")));
        assert!(w.matches(&Field::Int(1)));
        assert!(w.matches(&Field::Bool(true)));
        assert!(!w.matches(&Field::Text(b"0")));
        let k = Wanted::new(">50K", super::super::Encoding::Utf8);
        assert!(k.matches(&Field::Text(b">50K")));
        assert!(!k.matches(&Field::Text(b">50K.")));
    }

    #[test]
    fn score_bins_match_the_threshold_rule() {
        for &(s, b) in &[(-0.5, 0), (0.0, 1), (0.004, 1), (0.01, 2), (0.5, 51), (0.999, 100), (1.0, 101), (7.0, 101)] {
            assert_eq!(score_bin(s, false), b, "score {s}");
        }
        // exhaustive check against the definition on a grid of awkward values
        for i in 0..=10_000 {
            let s = i as f64 / 10_000.0;
            let (b, strict) = (score_bin(s, false), score_bin(s, true));
            for k in 0..SWEEP_STEPS {
                assert_eq!(s >= k as f64 / 100.0, k < b, "score {s} threshold {k}");
                assert_eq!(s > k as f64 / 100.0, k < strict, "score {s} strict threshold {k}");
            }
        }
    }

    #[test]
    fn identity_merges_numeric_spellings() {
        assert_eq!(identity(&Field::Text(b"0.0")), identity(&Field::Int(0)));
        assert_eq!(identity(&Field::Text(b"<=50K")), b"<=50K".to_vec());
        assert_eq!(identity(&Field::Bool(false)), identity(&Field::Text(b"False")));
        assert_eq!(identity(&Field::Bool(false)), b"false".to_vec());
    }

    #[test]
    fn floats_are_spelled_as_pandas_writes_them() {
        let mut buf = [0u8; 48];
        for (x, want) in [(1.0, "1.0"), (-0.0, "0.0"), (0.25, "0.25"), (0.1 + 0.2, "0.30000000000000004"), (1e-7, "1e-7"), (1e20, "1e20"), (-3.0, "-3.0")] {
            assert_eq!(std::str::from_utf8(Field::Float(x).text(&mut buf)).ok(), Some(want), "{x}");
            assert_eq!(parse_f64(want.as_bytes()), Some(if x == 0.0 { 0.0 } else { x }));
        }
        assert!(Field::Float(f64::NAN).is_missing());
    }
}
