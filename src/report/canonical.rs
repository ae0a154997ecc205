//! The canonical form of a JSON report and its digest (`steward-canonical-json/1`, docs/report-schema.md):
//! objects with keys sorted by their UTF-8 bytes, no whitespace, strings escaped as serde_json escapes
//! them, numbers exactly as written in the file (never re-parsed as floats, so no edit of a digit can
//! round to the same value), `true`/`false`/`null`. The top-level `digest` field is left out.

use std::collections::BTreeMap;
use std::path::Path;

use super::{Digest, ReportData, ReportError};
use crate::audit::{GENESIS, Record, sha256_hex};

pub const CANONICAL_FORM: &str = "steward-canonical-json/1";

/// A JSON value with numbers kept as their literal text.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Json>),
    Object(BTreeMap<String, Json>),
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

/// Parses JSON text; duplicate keys are refused (they would make the canonical form ambiguous).
pub fn parse(text: &str) -> Result<Json, String> {
    let mut p = Parser { s: text.as_bytes(), i: 0 };
    let v = p.value(0)?;
    p.ws();
    if p.i != p.s.len() {
        return Err(p.err("trailing characters after the JSON value"));
    }
    Ok(v)
}

impl Parser<'_> {
    fn err(&self, what: &str) -> String {
        let before = &self.s[..self.i.min(self.s.len())];
        let line = before.iter().filter(|b| **b == b'\n').count() + 1;
        let col = before.len() - before.iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1) + 1;
        format!("not valid JSON at line {line} column {col}: {what}")
    }
    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\n' | b'\r' | b'\t') {
            self.i += 1;
        }
    }
    fn eat(&mut self, lit: &str) -> Result<(), String> {
        if self.s[self.i..].starts_with(lit.as_bytes()) {
            self.i += lit.len();
            Ok(())
        } else {
            Err(self.err(&format!("expected {lit}")))
        }
    }
    fn value(&mut self, depth: usize) -> Result<Json, String> {
        if depth > 128 {
            return Err(self.err("nested too deeply"));
        }
        self.ws();
        match self.s.get(self.i) {
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => self.string().map(Json::String),
            Some(b't') => self.eat("true").map(|()| Json::Bool(true)),
            Some(b'f') => self.eat("false").map(|()| Json::Bool(false)),
            Some(b'n') => self.eat("null").map(|()| Json::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.err("expected a value")),
        }
    }
    fn object(&mut self, depth: usize) -> Result<Json, String> {
        self.i += 1;
        let mut m = BTreeMap::new();
        self.ws();
        if self.s.get(self.i) == Some(&b'}') {
            self.i += 1;
            return Ok(Json::Object(m));
        }
        loop {
            self.ws();
            if self.s.get(self.i) != Some(&b'"') {
                return Err(self.err("expected a key"));
            }
            let k = self.string()?;
            self.ws();
            self.eat(":")?;
            let v = self.value(depth + 1)?;
            if m.insert(k.clone(), v).is_some() {
                return Err(self.err(&format!("duplicate key {k:?}")));
            }
            self.ws();
            match self.s.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Json::Object(m));
                }
                _ => return Err(self.err("expected , or }")),
            }
        }
    }
    fn array(&mut self, depth: usize) -> Result<Json, String> {
        self.i += 1;
        let mut v = Vec::new();
        self.ws();
        if self.s.get(self.i) == Some(&b']') {
            self.i += 1;
            return Ok(Json::Array(v));
        }
        loop {
            v.push(self.value(depth + 1)?);
            self.ws();
            match self.s.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(Json::Array(v));
                }
                _ => return Err(self.err("expected , or ]")),
            }
        }
    }
    /// A string token, decoded by serde_json (escapes, surrogates, control characters).
    fn string(&mut self) -> Result<String, String> {
        let start = self.i;
        self.i += 1;
        while self.i < self.s.len() {
            match self.s[self.i] {
                b'\\' => self.i += 2,
                b'"' => {
                    self.i += 1;
                    let raw = std::str::from_utf8(&self.s[start..self.i]).map_err(|_| self.err("not UTF-8"))?;
                    return serde_json::from_str(raw).map_err(|e| self.err(&format!("bad string ({e})")));
                }
                _ => self.i += 1,
            }
        }
        Err(self.err("unterminated string"))
    }
    /// A number token, checked against JSON's grammar and kept as text.
    fn number(&mut self) -> Result<Json, String> {
        let start = self.i;
        let digits = |p: &mut Self| {
            let s = p.i;
            while p.i < p.s.len() && p.s[p.i].is_ascii_digit() {
                p.i += 1;
            }
            p.i > s
        };
        if self.s.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        if self.s.get(self.i) == Some(&b'0') {
            self.i += 1;
        } else if !digits(self) {
            return Err(self.err("bad number"));
        }
        if self.s.get(self.i) == Some(&b'.') {
            self.i += 1;
            if !digits(self) {
                return Err(self.err("bad number"));
            }
        }
        if matches!(self.s.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.s.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !digits(self) {
                return Err(self.err("bad number"));
            }
        }
        if self.s.get(self.i).is_some_and(|b| b.is_ascii_digit()) {
            return Err(self.err("bad number (leading zero)"));
        }
        Ok(Json::Number(String::from_utf8_lossy(&self.s[start..self.i]).into_owned()))
    }
}

/// The canonical text of a value.
pub fn canonical(v: &Json) -> String {
    let mut out = String::new();
    write(v, &mut out);
    out
}

fn write(v: &Json, out: &mut String) {
    match v {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Number(n) => out.push_str(n),
        Json::String(s) => out.push_str(&quote(s)),
        Json::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(x, out);
            }
            out.push(']');
        }
        Json::Object(m) => {
            out.push('{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&quote(k));
                out.push(':');
                write(x, out);
            }
            out.push('}');
        }
    }
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// The digest of a parsed report: over the whole (without `digest`) and per top-level field.
pub fn digest_of(report: &Json) -> Result<Digest, String> {
    let Json::Object(top) = report else { return Err("the report is not a JSON object".into()) };
    let mut top = top.clone();
    top.remove("digest");
    let sections = top.iter().map(|(k, v)| (k.clone(), sha256_hex(canonical(v).as_bytes()))).collect();
    Ok(Digest {
        algorithm: "sha256".into(),
        canonical_form: CANONICAL_FORM.into(),
        value: sha256_hex(canonical(&Json::Object(top)).as_bytes()),
        sections,
    })
}

/// Serializes `data` with its digest and writes it (pretty-printed; whitespace is not part of the digest).
pub fn write_json(data: &ReportData, out: &Path) -> Result<(), ReportError> {
    let mut data = data.clone();
    data.digest = None;
    let text = serde_json::to_string(&data).map_err(|e| ReportError::Render(e.to_string()))?;
    let digest = digest_of(&parse(&text).map_err(ReportError::Render)?).map_err(ReportError::Render)?;
    data.digest = Some(digest);
    let pretty = serde_json::to_string_pretty(&data).map_err(|e| ReportError::Render(e.to_string()))?;
    super::write_file(out, format!("{pretty}\n").as_bytes()).map(|_| ())
}

/// What a successful verification found.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifyOk {
    pub digest: String,
    pub model: String,
    /// Records in the embedded audit excerpt (verbatim and hash-only).
    pub excerpt_records: usize,
    /// The hash the excerpt ends with, and whether it is the log's head.
    pub last_hash: Option<String>,
    pub ends_at_head: bool,
    pub head: Option<String>,
}

/// Recomputes the digest of a JSON report and re-verifies its audit excerpt. The error names what
/// changed: the top-level fields whose digest differs, or the first excerpt record that breaks the chain.
pub fn verify_json(path: &Path) -> Result<VerifyOk, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let tree = parse(&text)?;
    let Json::Object(top) = &tree else { return Err("the report is not a JSON object".into()) };
    let stored: Digest = match top.get("digest") {
        Some(d) => serde_json::from_str(&canonical(d)).map_err(|e| format!("the digest field is malformed ({e})"))?,
        None => return Err("the report has no digest field".into()),
    };
    if stored.algorithm != "sha256" || stored.canonical_form != CANONICAL_FORM {
        return Err(format!("unknown digest {} over {}", stored.algorithm, stored.canonical_form));
    }
    let now = digest_of(&tree)?;
    if now.value != stored.value {
        return Err(describe_mismatch(&stored, &now));
    }
    if now.sections != stored.sections {
        return Err("digest mismatch: the per-field digests in the digest field were edited".into());
    }
    let data: ReportData = serde_json::from_str(&text).map_err(|e| format!("not a {} report: {e}", super::SCHEMA))?;
    if data.schema != super::SCHEMA {
        return Err(format!("schema '{}' is not {}", data.schema, super::SCHEMA));
    }
    verify_excerpt(&data)?;
    Ok(VerifyOk {
        digest: now.value,
        model: data.model.name.clone(),
        excerpt_records: data.audit.excerpt.entries.len(),
        last_hash: data.audit.excerpt.last_hash.clone(),
        ends_at_head: data.audit.excerpt.ends_at_head,
        head: data.audit.verification.head.clone(),
    })
}

fn describe_mismatch(stored: &Digest, now: &Digest) -> String {
    let mut changed: Vec<&str> = now
        .sections
        .iter()
        .filter(|(k, v)| stored.sections.get(*k) != Some(*v))
        .map(|(k, _)| k.as_str())
        .collect();
    changed.extend(stored.sections.keys().filter(|k| !now.sections.contains_key(*k)).map(String::as_str));
    if changed.is_empty() {
        format!("digest mismatch: the stored digest {} is not the digest of the content {} (the digest field was edited)", stored.value, now.value)
    } else {
        format!("digest mismatch: the content was changed after the report was made (changed: {})", changed.join(", "))
    }
}

/// Walks the excerpt: sequence numbers consecutive, each verbatim record's `prev` equal to the hash of
/// the entry before it, and the last hash equal to the recorded one (and to the head when it ends there).
pub fn verify_excerpt(data: &ReportData) -> Result<(), String> {
    let ex = &data.audit.excerpt;
    let mut prev: Option<String> = ex.prev_of_first.clone();
    let mut expected_seq = ex.first_seq;
    for e in &ex.entries {
        if Some(e.seq) != expected_seq {
            return Err(format!("audit excerpt: record {} is out of sequence (expected {:?})", e.seq, expected_seq));
        }
        expected_seq = Some(e.seq + 1);
        let hash = match (&e.line, &e.line_sha256) {
            (Some(line), None) => {
                let rec: Record = serde_json::from_str(line)
                    .map_err(|err| format!("audit excerpt: record {} is not a valid record ({err})", e.seq))?;
                if rec.seq != e.seq {
                    return Err(format!("audit excerpt: record {} says it is record {}", e.seq, rec.seq));
                }
                if Some(&rec.prev) != prev.as_ref() {
                    let which = if e.seq == 1 || prev.as_deref() == Some(GENESIS) { "the start of the log".to_string() } else { format!("record {}", e.seq - 1) };
                    return Err(format!("audit excerpt: record {} does not chain to {which}: one of them was edited", e.seq));
                }
                sha256_hex(line.as_bytes())
            }
            (None, Some(h)) => h.clone(),
            _ => return Err(format!("audit excerpt: record {} must have either a line or a line hash", e.seq)),
        };
        prev = Some(hash);
    }
    if ex.entries.is_empty() {
        return Ok(());
    }
    if prev != ex.last_hash {
        return Err("audit excerpt: its last record does not match the recorded last hash: it was edited".into());
    }
    if ex.ends_at_head && data.audit.verification.head != ex.last_hash {
        return Err("audit excerpt: it ends at the head, but the recorded head hash differs".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_sorts_keys_and_keeps_number_text() {
        let v = parse(r#" { "b": [1.50, -0, 2e3], "a": {"y": null, "x": "\u00e9\n"} } "#).expect("json");
        assert_eq!(canonical(&v), r#"{"a":{"x":"é\n","y":null},"b":[1.50,-0,2e3]}"#);
        assert_ne!(canonical(&parse("0.7901525232879517").expect("n")), canonical(&parse("0.7901525232879518").expect("n")));
    }

    #[test]
    fn bad_json_is_named() {
        for bad in ["{\"a\":1,\"a\":2}", "[1,]", "01", "{\"a\" 1}", "\"x", "1 2", "-", "1."] {
            assert!(parse(bad).is_err(), "{bad} parsed");
        }
        assert!(parse("{\n \"a\": tru }").unwrap_err().contains("line 2"));
    }
}
