//! Untrusted text made safe to show, and numbers formatted one way for every format.

/// Longest text shown in one table cell or paragraph of HTML/PDF; the JSON has it whole.
pub const MAX_SHOWN: usize = 600;

/// Whether `c` changes how surrounding text is displayed (bidi controls, zero-width and other format or
/// control characters): such characters are shown as `<U+XXXX>` instead.
fn is_hidden_control(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{061C}' | '\u{FEFF}')
        || (c.is_control() && c != ' ')
}

/// Makes invisible and direction-changing characters visible (`<U+202E>`); newlines and tabs become
/// spaces. Applied to every string shown in HTML, PDF and CSV.
pub fn visible(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' | '\r' | '\t' => out.push(' '),
            c if is_hidden_control(c) => out.push_str(&format!("<U+{:04X}>", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// `visible`, cut at `MAX_SHOWN` characters with a note saying how much was left out.
pub fn shown(s: &str) -> String {
    let v = visible(s);
    let n = v.chars().count();
    if n <= MAX_SHOWN {
        return v;
    }
    let head: String = v.chars().take(MAX_SHOWN).collect();
    format!("{head}… [{} more characters; full text in the JSON report]", n - MAX_SHOWN)
}

/// A rate or metric: 4 decimals; integers as integers; very small or large values in exponent form.
pub fn num(x: f64) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    if x.fract() == 0.0 && x.abs() < 1e15 {
        return format!("{}", x as i64);
    }
    if x.abs() >= 1e-3 && x.abs() < 1e9 {
        format!("{x:.4}")
    } else {
        format!("{x:.3e}")
    }
}

pub fn opt_num(x: Option<f64>) -> String {
    x.map(num).unwrap_or_else(|| "-".into())
}

/// A difference with its sign.
pub fn signed(x: Option<f64>) -> String {
    match x {
        Some(v) if v.is_finite() && v >= 0.0 => format!("+{}", num(v)),
        Some(v) => num(v),
        None => "-".into(),
    }
}

/// "0.8470 [0.8398, 0.8540]".
pub fn with_interval(x: Option<f64>, iv: Option<[f64; 2]>) -> String {
    match (x, iv) {
        (Some(v), Some([lo, hi])) => format!("{} [{}, {}]", num(v), num(lo), num(hi)),
        (x, _) => opt_num(x),
    }
}

pub fn version(v: Option<u64>) -> String {
    crate::domain::show_version(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_become_visible_and_long_text_is_cut() {
        assert_eq!(visible("a\u{202E}b\nc"), "a<U+202E>b c");
        let long = "x".repeat(100_000);
        let s = shown(&long);
        assert!(s.len() < 1000 && s.contains("99400 more characters"));
    }

    #[test]
    fn numbers_have_one_format() {
        assert_eq!(num(0.7901525232879517), "0.7902");
        assert_eq!(num(9769.0), "9769");
        assert_eq!(num(0.00001234), "1.234e-5");
        assert_eq!(signed(Some(0.025)), "+0.0250");
        assert_eq!(with_interval(Some(0.5), Some([0.4, 0.6])), "0.5000 [0.4000, 0.6000]");
    }
}
