//! Timestamps of prediction logs -> UTC seconds -> day or ISO-week windows.
//!
//! Accepted: ISO 8601 extended dates and date-times (`2024-03-01`, `2024-03-01T12:30:00`,
//! `2024-03-01 12:30:00.123+02:00`, `...Z`); no offset means UTC. Epoch seconds as an integer or a
//! decimal number (values above 1e11 are refused as probably milliseconds). Parquet timestamp and date
//! columns are converted by the reader.

use super::values::{Field, parse_f64};

/// The width of a time window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window {
    Day,
    /// ISO weeks, Monday to Sunday (UTC).
    Week,
}

impl Window {
    pub fn parse(s: &str) -> Option<Window> {
        match s {
            "1d" | "day" | "d" => Some(Window::Day),
            "1w" | "week" | "w" => Some(Window::Week),
            _ => None,
        }
    }
}

const DAY: i64 = 86_400;

/// Seconds since 1970-01-01T00:00:00Z of a timestamp cell.
pub(crate) fn seconds(f: &Field<'_>) -> Result<i64, String> {
    match *f {
        Field::Int(i) => epoch(i as f64),
        Field::Float(x) => epoch(x),
        Field::Text(t) => {
            if t.len() >= 10 && t[4] == b'-' {
                parse_iso(t).ok_or_else(|| "not an ISO 8601 date or date-time (e.g. 2024-03-01T12:00:00Z)".to_string())
            } else if let Some(x) = parse_f64(t) {
                epoch(x)
            } else {
                Err("not an ISO 8601 timestamp nor epoch seconds".into())
            }
        }
        Field::Bool(_) => Err("a boolean is not a timestamp".into()),
        Field::Null => Err("missing timestamp".into()),
    }
}

fn epoch(x: f64) -> Result<i64, String> {
    if !x.is_finite() {
        return Err("not a finite number of epoch seconds".into());
    }
    if x.abs() > 1e11 {
        return Err("epoch value too large for seconds (milliseconds? divide by 1000)".into());
    }
    Ok(x.floor() as i64)
}

fn digits(b: &[u8]) -> Option<i64> {
    if b.is_empty() {
        return None;
    }
    let mut v: i64 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (c - b'0') as i64;
    }
    Some(v)
}

/// Days from 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day number (inverse of `days_from_civil`).
pub(crate) fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn parse_iso(t: &[u8]) -> Option<i64> {
    let t = t.trim_ascii();
    if t.len() < 10 || t[4] != b'-' || t[7] != b'-' {
        return None;
    }
    let (y, m, d) = (digits(&t[0..4])?, digits(&t[5..7])?, digits(&t[8..10])?);
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    let mut secs = days_from_civil(y, m, d) * DAY;
    let rest = &t[10..];
    if rest.is_empty() {
        return Some(secs);
    }
    if rest[0] != b'T' && rest[0] != b't' && rest[0] != b' ' {
        return None;
    }
    let rest = &rest[1..];
    if rest.len() < 5 || rest[2] != b':' {
        return None;
    }
    let (hh, mm) = (digits(&rest[0..2])?, digits(&rest[3..5])?);
    if hh > 24 || mm > 59 {
        return None;
    }
    let mut i = 5;
    let mut ss = 0;
    if rest.len() >= 8 && rest[5] == b':' {
        ss = digits(&rest[6..8])?;
        if ss > 60 {
            return None;
        }
        i = 8;
        if i < rest.len() && (rest[i] == b'.' || rest[i] == b',') {
            i += 1;
            let start = i;
            while i < rest.len() && rest[i].is_ascii_digit() {
                i += 1;
            }
            if i == start {
                return None;
            }
        }
    }
    secs += hh * 3600 + mm * 60 + ss;
    let zone = &rest[i..];
    let offset = match zone {
        [] | [b'Z'] | [b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2] => sign_of(*sign) * digits(&[*h1, *h2])? * 3600,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] | [sign @ (b'+' | b'-'), h1, h2, m1, m2] => {
            sign_of(*sign) * (digits(&[*h1, *h2])? * 3600 + digits(&[*m1, *m2])? * 60)
        }
        _ => return None,
    };
    Some(secs - offset)
}

fn sign_of(b: u8) -> i64 {
    if b == b'-' { -1 } else { 1 }
}

/// The window a moment falls in: days since 1970-01-01, or Monday-based weeks (week 0 starts on
/// Monday 1969-12-29).
pub(crate) fn window_index(secs: i64, w: Window) -> i64 {
    let day = secs.div_euclid(DAY);
    match w {
        Window::Day => day,
        Window::Week => (day + 3).div_euclid(7),
    }
}

/// First day (days since epoch) of a window.
pub(crate) fn window_start_day(idx: i64, w: Window) -> i64 {
    match w {
        Window::Day => idx,
        Window::Week => idx * 7 - 3,
    }
}

pub(crate) fn date_string(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// ISO week label (e.g. 2024-W09) of the week starting on `monday`.
pub(crate) fn iso_week_label(monday: i64) -> String {
    let thursday = monday + 3;
    let (y, _, _) = civil_from_days(thursday);
    let jan1 = days_from_civil(y, 1, 1);
    let week = (thursday - jan1) / 7 + 1;
    format!("{y:04}-W{week:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Result<i64, String> {
        seconds(&Field::Text(s.as_bytes()))
    }

    #[test]
    fn parses_iso_and_epoch() {
        assert_eq!(t("1970-01-01"), Ok(0));
        assert_eq!(t("2024-03-01T00:00:00Z"), Ok(1_709_251_200));
        assert_eq!(t("2024-03-01 00:00:00"), Ok(1_709_251_200));
        assert_eq!(t("2024-03-01T01:30:00+01:30"), Ok(1_709_251_200));
        assert_eq!(t("2024-02-29T23:00:00-01:00"), Ok(1_709_251_200));
        assert_eq!(t("2024-03-01T00:00:00.999Z"), Ok(1_709_251_200));
        assert_eq!(t("1709251200"), Ok(1_709_251_200));
        assert_eq!(t("1709251200.75"), Ok(1_709_251_200));
        assert!(t("2023-02-29").is_err());
        assert!(t("yesterday").is_err());
        assert!(t("1709251200000").is_err());
        assert_eq!(seconds(&Field::Int(86_400)), Ok(86_400));
    }

    #[test]
    fn windows_and_labels() {
        let d = t("2024-03-01T12:00:00Z").unwrap_or_default();
        assert_eq!(date_string(window_index(d, Window::Day)), "2024-03-01");
        let w = window_index(d, Window::Week);
        assert_eq!(date_string(window_start_day(w, Window::Week)), "2024-02-26"); // a Monday
        assert_eq!(iso_week_label(window_start_day(w, Window::Week)), "2024-W09");
        assert_eq!(iso_week_label(days_from_civil(2024, 12, 30)), "2025-W01");
        for day in -1000..1000 {
            let (y, m, dd) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, dd), day);
        }
    }
}
