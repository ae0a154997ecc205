//! The Prometheus HTTP API: instant and range queries, values as Prometheus sends them (strings, "NaN").

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::Method;
use serde::{Serialize, Serializer};
use serde_json::Value;

use super::exposition::parse_value;
use super::{Result, ServingError, http_client};
use crate::connect::http::Http;

/// Prometheus refuses a range query with more points than this per series.
pub const MAX_POINTS: f64 = 11_000.0;

/// A sample value. JSON: a number, or "NaN" / "+Inf" / "-Inf" as Prometheus writes them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PromValue(pub f64);

impl Serialize for PromValue {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let v = self.0;
        match (v.is_nan(), v.is_infinite()) {
            (true, _) => s.serialize_str("NaN"),
            (_, true) => s.serialize_str(if v > 0.0 { "+Inf" } else { "-Inf" }),
            _ => s.serialize_f64(v),
        }
    }
}

impl std::fmt::Display for PromValue {
    /// As Prometheus writes a value: shortest decimal, `NaN`, `+Inf`, `-Inf`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let v = self.0;
        if v.is_nan() {
            f.pad("NaN")
        } else if v.is_infinite() {
            f.pad(if v > 0.0 { "+Inf" } else { "-Inf" })
        } else {
            f.pad(&v.to_string())
        }
    }
}

/// The type of an instant query's result, as Prometheus names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ResultType {
    Vector,
    Scalar,
}

/// One element of an instant vector (a scalar result has an empty `metric`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstantSample {
    pub metric: BTreeMap<String, String>,
    /// Evaluation time, Unix seconds.
    pub time: f64,
    pub value: PromValue,
}

/// One series of a range query: (Unix seconds, value) points.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RangeSeries {
    pub metric: BTreeMap<String, String>,
    pub values: Vec<(f64, PromValue)>,
}

#[derive(Clone)]
pub struct PromClient {
    http: Http,
}

/// Checks a range locally: Prometheus rejects more than 11,000 points per series.
pub fn check_range(start: f64, end: f64, step: f64) -> Result<()> {
    let invalid = |message: String| ServingError::Invalid { what: "range query".into(), message };
    if !(step > 0.0 && step.is_finite()) {
        return Err(invalid(format!("the step must be a positive number of seconds, not {step}")));
    }
    if !(end >= start) {
        return Err(invalid(format!("the end ({end}) is before the start ({start})")));
    }
    let points = ((end - start) / step).floor() + 1.0;
    if points > MAX_POINTS {
        let min_step = ((end - start) / (MAX_POINTS - 1.0)).ceil();
        return Err(invalid(format!(
            "{points} points per series at a {step} s step; Prometheus allows at most 11000: use a step of at least {min_step} s \
             (or a shorter range)"
        )));
    }
    Ok(())
}

/// Seconds in a Prometheus duration: "90", "15s", "5m", "1h30m", "2d", "1w", "500ms".
pub fn parse_duration(text: &str) -> std::result::Result<f64, String> {
    let bad = || format!("'{text}' is not a duration (examples: 15s, 5m, 1h, 1h30m, 7d)");
    if let Ok(secs) = text.parse::<f64>() {
        return if secs > 0.0 && secs.is_finite() { Ok(secs) } else { Err(bad()) };
    }
    let mut total = 0.0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        let n: f64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86_400.0,
            "w" => 604_800.0,
            "y" => 31_536_000.0,
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        total += n * unit;
    }
    if total > 0.0 { Ok(total) } else { Err(bad()) }
}

/// A time as Prometheus reads it (Unix seconds, millisecond precision).
pub fn format_time(t: f64) -> String {
    format!("{t:.3}")
}

fn bad_shape(url: &str, detail: impl Into<String>) -> ServingError {
    ServingError::BadResponse { url: url.to_string(), status: 200, detail: detail.into() }
}

/// `[time, "value"]` as Prometheus sends a point.
fn point(url: &str, v: &Value) -> Result<(f64, PromValue)> {
    let t = v.get(0).and_then(Value::as_f64).ok_or_else(|| bad_shape(url, format!("a point without a time: {v}")))?;
    let text = v.get(1).and_then(Value::as_str).ok_or_else(|| bad_shape(url, format!("a point without a value: {v}")))?;
    let value = parse_value(text).map_err(|e| bad_shape(url, format!("point value {e}")))?;
    Ok((t, PromValue(value)))
}

fn labels(v: &Value) -> BTreeMap<String, String> {
    v.get("metric")
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect())
        .unwrap_or_default()
}

fn result_array<'a>(url: &str, data: &'a Value) -> Result<&'a Vec<Value>> {
    data.get("result").and_then(Value::as_array).ok_or_else(|| bad_shape(url, "no result list in the answer"))
}

impl PromClient {
    pub fn new(url: &str, timeout: Duration) -> Result<PromClient> {
        Ok(PromClient { http: http_client(url, timeout, "Prometheus")? })
    }

    pub fn url(&self) -> String {
        self.http.base()
    }

    /// An instant query evaluated at `at` (Unix seconds; None: Prometheus's now). A scalar result is
    /// one sample with no labels.
    pub async fn query(&self, q: &str, at: Option<f64>) -> Result<Vec<InstantSample>> {
        Ok(self.query_typed(q, at).await?.1)
    }

    /// [`PromClient::query`] with the result type Prometheus answered (vector or scalar).
    pub async fn query_typed(&self, q: &str, at: Option<f64>) -> Result<(ResultType, Vec<InstantSample>)> {
        let mut params = vec![("query", q.to_string())];
        if let Some(t) = at {
            params.push(("time", format_time(t)));
        }
        let (url, data) = self.api("api/v1/query", &params, q).await?;
        match data.get("resultType").and_then(Value::as_str) {
            Some("vector") => Ok((
                ResultType::Vector,
                result_array(&url, &data)?
                    .iter()
                    .map(|s| {
                        let (time, value) = point(&url, s.get("value").unwrap_or(&Value::Null))?;
                        Ok(InstantSample { metric: labels(s), time, value })
                    })
                    .collect::<Result<Vec<_>>>()?,
            )),
            Some("scalar") => {
                let (time, value) = point(&url, data.get("result").unwrap_or(&Value::Null))?;
                Ok((ResultType::Scalar, vec![InstantSample { metric: BTreeMap::new(), time, value }]))
            }
            other => Err(bad_shape(&url, format!("expected a vector or scalar result, got {other:?}"))),
        }
    }

    /// A range query; refused locally (no request sent) above 11,000 points per series.
    pub async fn query_range(&self, q: &str, start: f64, end: f64, step: f64) -> Result<Vec<RangeSeries>> {
        check_range(start, end, step)?;
        let params =
            [("query", q.to_string()), ("start", format_time(start)), ("end", format_time(end)), ("step", format!("{step}"))];
        let (url, data) = self.api("api/v1/query_range", &params, q).await?;
        if data.get("resultType").and_then(Value::as_str) != Some("matrix") {
            return Err(bad_shape(&url, "expected a matrix result"));
        }
        result_array(&url, &data)?
            .iter()
            .map(|s| {
                let pts = s.get("values").and_then(Value::as_array).ok_or_else(|| bad_shape(&url, "a series without values"))?;
                let values = pts.iter().map(|p| point(&url, p)).collect::<Result<Vec<_>>>()?;
                Ok(RangeSeries { metric: labels(s), values })
            })
            .collect()
    }

    /// One API call: the `data` of a success, `{"status":"error"}` made readable, anything else as the
    /// HTTP client reports it (HTML, unreachable, timeout).
    async fn api(&self, path: &str, params: &[(&str, String)], q: &str) -> Result<(String, Value)> {
        let reply = self.http.request(Method::GET, path, params, None, true).await?;
        let url = reply.url.clone();
        let parsed: Option<Value> = serde_json::from_str(&reply.text).ok();
        if let Some(body) = parsed.as_ref().filter(|b| b.get("status").and_then(Value::as_str) == Some("error")) {
            let kind = body.get("errorType").and_then(Value::as_str).unwrap_or("error");
            let message = body.get("error").and_then(Value::as_str).unwrap_or("no message");
            return Err(match kind {
                "timeout" | "unavailable" | "internal" => {
                    ServingError::Server { url, status: reply.status.as_u16(), detail: format!("{kind}: {message}") }
                }
                _ => ServingError::Invalid { what: format!("Prometheus refused the query '{q}'"), message: format!("{kind}: {message}") },
            });
        }
        let body = reply.into_json(self.http.auth())?;
        let data = body.get("data").cloned().ok_or_else(|| bad_shape(&url, "no data in the answer"))?;
        Ok((url, data))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_over_eleven_thousand_points_are_refused_with_a_step_hint() {
        assert!(check_range(0.0, 3600.0, 15.0).is_ok());
        assert!(check_range(0.0, 10_999.0, 1.0).is_ok(), "exactly 11000 points");
        let e = check_range(0.0, 11_000.0, 1.0).unwrap_err().to_string();
        assert!(e.contains("11001 points") && e.contains("at least 2 s"), "{e}");
        let e = check_range(0.0, 86_400.0 * 7.0, 15.0).unwrap_err().to_string();
        assert!(e.contains("at least 55 s"), "{e}");
        assert!(check_range(10.0, 0.0, 1.0).is_err());
        assert!(check_range(0.0, 10.0, 0.0).is_err());
    }

    #[test]
    fn durations_read_like_prometheus() {
        assert_eq!(parse_duration("15s"), Ok(15.0));
        assert_eq!(parse_duration("1h30m"), Ok(5400.0));
        assert_eq!(parse_duration("2d"), Ok(172_800.0));
        assert_eq!(parse_duration("90"), Ok(90.0));
        assert_eq!(parse_duration("500ms"), Ok(0.5));
        assert!(parse_duration("1x").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("-5").is_err());
    }

    #[test]
    fn values_serialize_as_numbers_or_prometheus_strings() {
        let s = serde_json::to_string(&[PromValue(1.5), PromValue(f64::NAN), PromValue(f64::NEG_INFINITY)]).unwrap();
        assert_eq!(s, r#"[1.5,"NaN","-Inf"]"#);
    }
}
