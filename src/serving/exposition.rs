//! The Prometheus text exposition format (version 0.0.4): parsing, and rates from successive scrapes.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
    Summary,
    Untyped,
}

/// One time series: a sample name and its labels.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Series {
    pub name: String,
    pub labels: BTreeMap<String, String>,
}

impl Series {
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels.get(name).map(String::as_str)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub series: Series,
    pub value: f64,
    pub timestamp_ms: Option<i64>,
}

/// A malformed line: its 1-based number and what was wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct LineError {
    pub line: usize,
    pub message: String,
}

/// A parsed exposition. `skipped` holds the malformed lines a lenient parse passed over.
#[derive(Debug, Clone, Default)]
pub struct Exposition {
    pub samples: Vec<Sample>,
    pub types: BTreeMap<String, MetricType>,
    pub help: BTreeMap<String, String>,
    pub skipped: Vec<LineError>,
}

/// Parses strictly: the first malformed line is the error.
pub fn parse(text: &str) -> Result<Exposition, LineError> {
    let mut exp = Exposition::default();
    for (i, line) in text.lines().enumerate() {
        exp.read_line(line).map_err(|message| LineError { line: i + 1, message })?;
    }
    Ok(exp)
}

/// Parses what can be parsed; each malformed line is skipped and recorded in `skipped`.
pub fn parse_lenient(text: &str) -> Exposition {
    let mut exp = Exposition::default();
    for (i, line) in text.lines().enumerate() {
        if let Err(message) = exp.read_line(line) {
            exp.skipped.push(LineError { line: i + 1, message });
        }
    }
    exp
}

const SUFFIXES: [(&str, &[MetricType]); 4] = [
    ("_bucket", &[MetricType::Histogram]),
    ("_sum", &[MetricType::Histogram, MetricType::Summary]),
    ("_count", &[MetricType::Histogram, MetricType::Summary]),
    ("_total", &[MetricType::Counter]),
];

impl Exposition {
    /// The family a sample name belongs to (`x_bucket` of histogram `x` is `x`) and its type.
    pub fn family<'a>(&self, sample_name: &'a str) -> (&'a str, MetricType) {
        if let Some(t) = self.types.get(sample_name) {
            return (sample_name, *t);
        }
        for (suffix, kinds) in SUFFIXES {
            if let Some(base) = sample_name.strip_suffix(suffix)
                && let Some(t) = self.types.get(base)
                && kinds.contains(t)
            {
                return (base, *t);
            }
        }
        (sample_name, MetricType::Untyped)
    }

    /// The value of the one sample with this name and exactly these labels.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.samples
            .iter()
            .find(|s| {
                s.series.name == name
                    && s.series.labels.len() == labels.len()
                    && labels.iter().all(|(k, v)| s.series.label(k) == Some(*v))
            })
            .map(|s| s.value)
    }

    fn read_line(&mut self, raw: &str) -> Result<(), String> {
        let line = raw.trim_matches(|c| c == ' ' || c == '\t' || c == '\r');
        if line.is_empty() {
            return Ok(());
        }
        if let Some(comment) = line.strip_prefix('#') {
            return self.read_comment(comment);
        }
        let sample = parse_sample(line)?;
        self.check_sample(&sample)?;
        self.samples.push(sample);
        Ok(())
    }

    fn read_comment(&mut self, comment: &str) -> Result<(), String> {
        let mut words = comment.trim_start_matches([' ', '\t']).splitn(3, [' ', '\t']);
        let keyword = words.next().unwrap_or("");
        if keyword != "HELP" && keyword != "TYPE" {
            return Ok(()); // an ordinary comment
        }
        let name = words.next().unwrap_or("");
        if !is_metric_name(name) {
            return Err(format!("# {keyword} needs a metric name, got '{name}'"));
        }
        let rest = words.next().unwrap_or("").trim();
        if keyword == "HELP" {
            self.help.insert(name.to_string(), unescape_help(rest));
            return Ok(());
        }
        let kind = match rest {
            "counter" => MetricType::Counter,
            "gauge" => MetricType::Gauge,
            "histogram" => MetricType::Histogram,
            "summary" => MetricType::Summary,
            "untyped" => MetricType::Untyped,
            other => return Err(format!("unknown metric type '{other}' for {name}")),
        };
        if self.types.insert(name.to_string(), kind).is_some() {
            return Err(format!("a second TYPE line for {name}"));
        }
        Ok(())
    }

    /// Type rules: buckets carry `le`, summary quantiles carry `quantile`, histograms have no bare sample.
    fn check_sample(&self, s: &Sample) -> Result<(), String> {
        let name = s.series.name.as_str();
        let (base, kind) = self.family(name);
        let needs = match (kind, name == base, name.ends_with("_bucket")) {
            (MetricType::Histogram, true, _) => {
                return Err(format!("histogram {name} has a sample without _bucket, _sum or _count"));
            }
            (MetricType::Histogram, false, true) => Some("le"),
            (MetricType::Summary, true, _) => Some("quantile"),
            _ => None,
        };
        if let Some(label) = needs {
            let v = s.series.label(label).ok_or_else(|| format!("{name} needs a '{label}' label"))?;
            parse_value(v).map_err(|_| format!("{name}: {label}=\"{v}\" is not a number"))?;
        }
        Ok(())
    }
}

fn is_metric_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn unescape_help(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('\\') => out.push('\\'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// A number as the format writes it: decimal, `NaN`, `+Inf`, `-Inf`.
pub fn parse_value(s: &str) -> Result<f64, String> {
    match s {
        "NaN" => Ok(f64::NAN),
        "+Inf" | "Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        _ => s.parse::<f64>().map_err(|_| format!("'{s}' is not a number")),
    }
}

/// A cursor over one sample line.
struct Cursor<'a> {
    rest: &'a str,
}

impl<'a> Cursor<'a> {
    fn skip_blanks(&mut self) {
        self.rest = self.rest.trim_start_matches([' ', '\t']);
    }

    fn take_while(&mut self, ok: impl Fn(char) -> bool) -> &'a str {
        let end = self.rest.find(|c: char| !ok(c)).unwrap_or(self.rest.len());
        let (head, tail) = self.rest.split_at(end);
        self.rest = tail;
        head
    }

    fn eat(&mut self, c: char) -> bool {
        match self.rest.strip_prefix(c) {
            Some(r) => {
                self.rest = r;
                true
            }
            None => false,
        }
    }

    fn token(&mut self) -> &'a str {
        self.skip_blanks();
        self.take_while(|c| c != ' ' && c != '\t')
    }
}

fn parse_sample(line: &str) -> Result<Sample, String> {
    let mut cur = Cursor { rest: line };
    let name = cur.take_while(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
    if !is_metric_name(name) {
        return Err(format!("expected a metric name at the start, got '{}'", first_word(line)));
    }
    let labels = if cur.eat('{') { parse_labels(&mut cur)? } else { BTreeMap::new() };
    if !cur.rest.starts_with([' ', '\t']) {
        return Err(format!("{name}: expected a space and a value after the name and labels"));
    }
    let value_text = cur.token();
    if value_text.is_empty() {
        return Err(format!("{name}: missing value"));
    }
    let value = parse_value(value_text).map_err(|e| format!("{name}: value {e}"))?;
    let ts_text = cur.token();
    let timestamp_ms = match ts_text {
        "" => None,
        t => Some(t.parse::<i64>().map_err(|_| format!("{name}: timestamp '{t}' is not an integer (milliseconds)"))?),
    };
    cur.skip_blanks();
    if !cur.rest.is_empty() {
        return Err(format!("{name}: unexpected text after the timestamp: '{}'", cur.rest));
    }
    Ok(Sample { series: Series { name: name.to_string(), labels }, value, timestamp_ms })
}

fn first_word(line: &str) -> &str {
    line.split([' ', '\t', '{']).next().unwrap_or(line)
}

fn parse_labels(cur: &mut Cursor<'_>) -> Result<BTreeMap<String, String>, String> {
    let mut labels = BTreeMap::new();
    loop {
        cur.skip_blanks();
        if cur.eat('}') {
            return Ok(labels);
        }
        let name = cur.take_while(|c| c.is_ascii_alphanumeric() || c == '_');
        if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(format!("expected a label name, got '{}'", cur.rest.chars().take(20).collect::<String>()));
        }
        cur.skip_blanks();
        if !cur.eat('=') {
            return Err(format!("label {name}: expected '='"));
        }
        cur.skip_blanks();
        if !cur.eat('"') {
            return Err(format!("label {name}: expected a quoted value"));
        }
        let value = label_value(cur).map_err(|e| format!("label {name}: {e}"))?;
        if labels.insert(name.to_string(), value).is_some() {
            return Err(format!("label {name} appears twice"));
        }
        cur.skip_blanks();
        if !cur.eat(',') && !cur.rest.starts_with('}') {
            return Err(format!("after label {name}: expected ',' or '}}'"));
        }
    }
}

/// A label value after its opening quote, with the escapes `\\`, `\"` and `\n`.
fn label_value(cur: &mut Cursor<'_>) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = cur.rest.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                cur.rest = &cur.rest[i + 1..];
                return Ok(out);
            }
            '\\' => match chars.next() {
                Some((_, 'n')) => out.push('\n'),
                Some((_, '\\')) => out.push('\\'),
                Some((_, '"')) => out.push('"'),
                Some((_, other)) => return Err(format!("unknown escape '\\{other}' in a value")),
                None => break,
            },
            _ => out.push(c),
        }
    }
    Err("unterminated value (no closing quote)".into())
}

/// Counter-like readings of one scrape (counters, histogram and summary `_sum`/`_count`/`_bucket`),
/// taken at `at` (Unix seconds).
#[derive(Debug, Clone, Default)]
pub struct Scrape {
    pub at: f64,
    pub values: BTreeMap<Series, f64>,
}

impl Scrape {
    pub fn new(at: f64, exp: &Exposition) -> Scrape {
        let values = exp
            .samples
            .iter()
            .filter(|s| is_cumulative(exp, &s.series.name))
            .map(|s| (s.series.clone(), s.value))
            .collect();
        Scrape { at, values }
    }

    /// The increase of every series since `prev`. A series new since `prev` started at zero; one that
    /// went down was restarted, so its new value is all of the increase.
    pub fn increase_since(&self, prev: &Scrape) -> BTreeMap<Series, f64> {
        self.values
            .iter()
            .map(|(s, &v)| (s.clone(), increase(prev.values.get(s).copied().unwrap_or(0.0), v)))
            .collect()
    }

    /// Per-series rate (increase per second) since `prev`; an error when no time has passed.
    pub fn rates_since(&self, prev: &Scrape) -> Result<BTreeMap<Series, f64>, String> {
        let dt = self.at - prev.at;
        if !(dt > 0.0) {
            return Err(format!("the scrapes are not in time order ({} s apart)", dt));
        }
        Ok(self.increase_since(prev).into_iter().map(|(s, d)| (s, d / dt)).collect())
    }
}

fn is_cumulative(exp: &Exposition, name: &str) -> bool {
    match exp.family(name) {
        (_, MetricType::Counter) => true,
        (base, MetricType::Histogram | MetricType::Summary) => base != name,
        _ => false,
    }
}

/// A counter's increase from `prev` to `cur`; a decrease means a restart (the new value is the increase).
pub fn increase(prev: f64, cur: f64) -> f64 {
    if cur >= prev { cur - prev } else { cur }
}

/// The q-quantile of a histogram given as (upper bound `le`, cumulative count) pairs, interpolated
/// linearly within the bucket as Prometheus's `histogram_quantile` does. None without observations or
/// without a `+Inf` bucket.
pub fn histogram_quantile(q: f64, buckets: &[(f64, f64)]) -> Option<f64> {
    let mut b: Vec<(f64, f64)> = buckets.iter().copied().filter(|(le, _)| !le.is_nan()).collect();
    b.sort_by(|x, y| x.0.total_cmp(&y.0));
    let dedup: BTreeSet<u64> = b.iter().map(|(le, _)| le.to_bits()).collect();
    let &(last_le, total) = b.last()?;
    if last_le != f64::INFINITY || dedup.len() != b.len() || b.len() < 2 || !(total > 0.0) {
        return None;
    }
    if q < 0.0 {
        return Some(f64::NEG_INFINITY);
    }
    if q > 1.0 {
        return Some(f64::INFINITY);
    }
    // Counts are cumulative; a later bucket below an earlier one (scrape race) is raised to it.
    for i in 1..b.len() {
        b[i].1 = b[i].1.max(b[i - 1].1);
    }
    let rank = q * total;
    let i = b.iter().position(|&(_, c)| c >= rank)?;
    if i == b.len() - 1 {
        return Some(b[b.len() - 2].0);
    }
    let (upper, count) = b[i];
    if i == 0 && upper <= 0.0 {
        return Some(upper);
    }
    let (lower, below) = if i == 0 { (0.0, 0.0) } else { b[i - 1] };
    if count <= below {
        return Some(lower);
    }
    Some(lower + (upper - lower) * (rank - below) / (count - below))
}

#[cfg(test)]
mod tests;
