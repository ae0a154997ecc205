//! SageMaker data capture (what an endpoint with data capture writes to S3): JSON Lines whose records
//! nest the request and the response, e.g.
//! `{"captureData": {"endpointInput": {"data": "39,7,40", "encoding": "CSV", ...}, "endpointOutput":
//! {"data": "0.82", "encoding": "CSV", ...}}, "eventMetadata": {"eventId": "...", "inferenceId": "...",
//! "inferenceTime": "2026-11-01T10:00:00Z"}, "eventVersion": "0"}`
//! (format: AWS, "Capture data from real-time endpoint", SageMaker Developer Guide).
//!
//! Each capture record becomes one flat JSON object per prediction, read by the JSON Lines engine:
//! `inference_time`, `event_id`, `inference_id`, the inputs and the outputs. Payload encodings: `CSV`
//! (inputs `input_0`, `input_1`, ... by position, one prediction per line of a batch request), `JSON`
//! (an object's scalar fields under their names prefixed `input.`; `{"instances": [...]}` a prediction
//! per instance; outputs from `{"predictions": [...]}` or the value itself) and `BASE64` (decoded, then
//! read by its observed content type). A single output value is `output`; several, `output_0`, ...
//! A request and response whose prediction counts differ are an error naming the line.

use std::io::{self, BufRead, Read};

use base64::Engine;
use serde_json::{Map, Value};

/// Whether the first line of a JSON Lines log is a capture record.
pub(crate) fn is_capture(head: &[u8]) -> bool {
    let first = head.split(|b| *b == b'\n').find(|l| !l.iter().all(u8::is_ascii_whitespace)).unwrap_or(&[]);
    memchr::memmem::find(first, b"\"captureData\"").is_some()
}

/// The flat records of a capture log, as JSON Lines.
pub(crate) struct Flatten<R> {
    inner: io::BufReader<R>,
    line: u64,
    out: Vec<u8>,
    pos: usize,
    max: usize,
}

impl<R: Read> Flatten<R> {
    pub(crate) fn new(inner: R) -> Flatten<R> {
        Flatten { inner: io::BufReader::with_capacity(1 << 20, inner), line: 0, out: Vec::new(), pos: 0, max: super::max_record_bytes() }
    }
}

fn bad(line: u64, what: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("line {line}: SageMaker capture record: {what}"))
}

/// A payload's predictions, each as (name, value) fields.
fn payload(side: &Value, prefix: &str, line: u64) -> io::Result<Vec<Vec<(String, Value)>>> {
    let data = side.get("data").and_then(Value::as_str).unwrap_or("");
    let encoding = side.get("encoding").and_then(Value::as_str).unwrap_or("CSV").to_ascii_uppercase();
    let content = side.get("observedContentType").and_then(Value::as_str).unwrap_or("").to_ascii_lowercase();
    let (text, json) = match encoding.as_str() {
        "BASE64" => {
            let bytes = base64::engine::general_purpose::STANDARD.decode(data.trim()).map_err(|e| bad(line, format!("{prefix} data is not base64: {e}")))?;
            let t = String::from_utf8(bytes).map_err(|_| bad(line, format!("{prefix} data is not UTF-8 text")))?;
            (t, content.contains("json"))
        }
        "JSON" => (data.to_string(), true),
        _ => (data.to_string(), false),
    };
    if json {
        let v: Value = serde_json::from_str(&text).map_err(|e| bad(line, format!("{prefix} JSON: {e}")))?;
        let items = match &v {
            Value::Object(o) => match o.get("instances").or_else(|| o.get("predictions")) {
                Some(Value::Array(a)) => a.clone(),
                _ => vec![v.clone()],
            },
            Value::Array(a) if a.iter().all(|x| !x.is_array()) && prefix == "input" => vec![v.clone()],
            Value::Array(a) => a.clone(),
            other => vec![other.clone()],
        };
        return Ok(items.into_iter().map(|item| fields(item, prefix)).collect());
    }
    let mut out = Vec::new();
    for row in text.lines().filter(|l| !l.trim().is_empty()) {
        let mut r = csv::ReaderBuilder::new().has_headers(false).from_reader(row.as_bytes());
        let rec = r.records().next().transpose().map_err(|e| bad(line, format!("{prefix} CSV: {e}")))?.unwrap_or_default();
        let cells: Vec<Value> = rec.iter().map(|c| Value::String(c.to_string())).collect();
        out.push(named(cells, prefix));
    }
    Ok(out)
}

/// Values by position: `output` when there is one output, else `PREFIX_0`, `PREFIX_1`, ...
fn named(values: Vec<Value>, prefix: &str) -> Vec<(String, Value)> {
    if values.len() == 1 && prefix == "output" {
        return vec![("output".into(), values.into_iter().next().unwrap_or(Value::Null))];
    }
    values.into_iter().enumerate().map(|(i, v)| (format!("{prefix}_{i}"), v)).collect()
}

fn fields(item: Value, prefix: &str) -> Vec<(String, Value)> {
    match item {
        Value::Object(o) => o.into_iter().filter(|(_, v)| !v.is_object() && !v.is_array()).map(|(k, v)| (format!("{prefix}.{k}"), v)).collect(),
        Value::Array(a) => named(a, prefix),
        scalar => named(vec![scalar], prefix),
    }
}

impl<R: Read> Flatten<R> {
    fn next_record(&mut self) -> io::Result<bool> {
        let mut raw = Vec::new();
        loop {
            raw.clear();
            let n = (&mut self.inner).take(self.max as u64 + 1).read_until(b'\n', &mut raw)?;
            if n == 0 {
                return Ok(false);
            }
            self.line += 1;
            if raw.len() > self.max {
                return Err(bad(self.line, format!("longer than {} bytes", self.max)));
            }
            if !raw.iter().all(u8::is_ascii_whitespace) {
                break;
            }
        }
        let line = self.line;
        let v: Value = serde_json::from_slice(&raw).map_err(|e| bad(line, format!("not JSON: {e}")))?;
        let cap = v.get("captureData").ok_or_else(|| bad(line, "no captureData"))?;
        let inputs = payload(cap.get("endpointInput").unwrap_or(&Value::Null), "input", line)?;
        let outputs = payload(cap.get("endpointOutput").unwrap_or(&Value::Null), "output", line)?;
        if inputs.len() != outputs.len() && !inputs.is_empty() {
            return Err(bad(line, format!("{} inputs but {} outputs", inputs.len(), outputs.len())));
        }
        let meta = v.get("eventMetadata").cloned().unwrap_or(Value::Null);
        for (i, out) in outputs.into_iter().enumerate() {
            let mut o = Map::new();
            for (key, name) in [("inferenceTime", "inference_time"), ("eventId", "event_id"), ("inferenceId", "inference_id")] {
                o.insert(name.into(), meta.get(key).cloned().unwrap_or(Value::Null));
            }
            for (k, val) in inputs.get(i).cloned().unwrap_or_default().into_iter().chain(out) {
                o.insert(k, val);
            }
            serde_json::to_writer(&mut self.out, &Value::Object(o)).map_err(io::Error::other)?;
            self.out.push(b'\n');
        }
        Ok(true)
    }
}

impl<R: Read> Read for Flatten<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.out.len() {
            self.out.clear();
            self.pos = 0;
            if !self.next_record()? {
                return Ok(0);
            }
        }
        let n = buf.len().min(self.out.len() - self.pos);
        buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(text: &str) -> Result<Vec<Value>, String> {
        let mut out = String::new();
        Flatten::new(text.as_bytes()).read_to_string(&mut out).map_err(|e| e.to_string())?;
        Ok(out.lines().map(|l| serde_json::from_str(l).unwrap()).collect())
    }

    #[test]
    fn csv_json_and_base64_payloads_become_flat_rows() {
        let csv = r#"{"captureData":{"endpointInput":{"observedContentType":"text/csv","mode":"INPUT","data":"39,Male,40\n50,Female,20","encoding":"CSV"},"endpointOutput":{"observedContentType":"text/csv; charset=utf-8","mode":"OUTPUT","data":"0.82\n0.10","encoding":"CSV"}},"eventMetadata":{"eventId":"e1","inferenceId":"r1","inferenceTime":"2026-11-01T10:00:00Z"},"eventVersion":"0"}"#;
        let rows = flat(csv).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0]["input_1"], "Male");
        assert_eq!(rows[1]["input_0"], "50");
        assert_eq!(rows[1]["output"], "0.10");
        assert_eq!(rows[1]["inference_time"], "2026-11-01T10:00:00Z");
        assert_eq!(rows[0]["inference_id"], "r1");
        let json = r#"{"captureData":{"endpointInput":{"observedContentType":"application/json","data":"{\"instances\":[{\"sex\":\"Male\",\"age\":39}]}","encoding":"JSON"},"endpointOutput":{"observedContentType":"application/json","data":"{\"predictions\":[[0.2,0.8]]}","encoding":"JSON"}},"eventMetadata":{"eventId":"e2","inferenceTime":"2026-11-01T11:00:00Z"}}"#;
        let rows = flat(json).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["input.sex"], "Male");
        assert_eq!(rows[0]["input.age"], 39);
        assert_eq!(rows[0]["output_1"], 0.8);
        let b64 = base64::engine::general_purpose::STANDARD.encode("1,2\n");
        let line = format!(r#"{{"captureData":{{"endpointInput":{{"observedContentType":"text/csv","data":"{b64}","encoding":"BASE64"}},"endpointOutput":{{"observedContentType":"text/csv","data":"1","encoding":"CSV"}}}},"eventMetadata":{{"eventId":"e3","inferenceTime":"t"}}}}"#);
        let rows = flat(&format!("\n{line}\n")).unwrap();
        assert_eq!(rows[0]["input_1"], "2");
        assert_eq!(rows[0]["output"], "1");
    }

    #[test]
    fn mismatched_or_broken_records_name_their_line() {
        let ok = r#"{"captureData":{"endpointInput":{"data":"1","encoding":"CSV"},"endpointOutput":{"data":"1","encoding":"CSV"}},"eventMetadata":{}}"#;
        let two = r#"{"captureData":{"endpointInput":{"data":"1\n2","encoding":"CSV"},"endpointOutput":{"data":"1","encoding":"CSV"}},"eventMetadata":{}}"#;
        let e = flat(&format!("{ok}\n{two}\n")).unwrap_err();
        assert!(e.contains("line 2") && e.contains("2 inputs but 1 outputs"), "{e}");
        let e = flat(&format!("{ok}\n{{\"x\": 1}}\n")).unwrap_err();
        assert!(e.contains("line 2") && e.contains("no captureData"), "{e}");
        assert!(is_capture(ok.as_bytes()) && !is_capture(b"{\"a\":1}\n{\"captureData\":1}"));
    }
}
