//! Spark through Spark Connect (gRPC, the protocol Spark's own thin clients speak; no Python, no JVM
//! here): the pushdown query goes as one `SQL` relation with its parameters bound by the server, the
//! few hundred result rows come back as Arrow IPC batches. URL: `sc://HOST[:PORT]` (port 15002 by
//! default) with optional `/;user_id=NAME`; a `token` or `use_ssl` parameter is refused for now (no TLS
//! here). Each connection is a session of its own (a random UUID), in UTC (`spark.sql.session.timeZone`),
//! released when done. Cancelling interrupts every operation of the session on the server.

mod proto;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::{Channel, Endpoint};

use super::{MAX_RESULT_ROWS, Moved, SqlLog};
use crate::fairness::pushdown::{Dialect, Pushdown, SqlType, SqlValue, from_clause, probe};
use crate::fairness::{FairnessError, Progress, Spec};

const DEFAULT_PORT: u16 = 15002;
const CLIENT_TYPE: &str = concat!("steward/", env!("CARGO_PKG_VERSION"));

/// A Spark Connect session for one log.
pub struct Spark<'l> {
    log: &'l SqlLog,
    rt: Option<tokio::runtime::Runtime>,
    channel: Channel,
    session: String,
    user: proto::UserContext,
}

impl Drop for Spark<'_> {
    fn drop(&mut self) {
        let req = proto::ReleaseSessionRequest { session_id: self.session.clone(), user_context: Some(self.user.clone()), client_type: Some(CLIENT_TYPE.into()) };
        let channel = self.channel.clone();
        // Best effort, bounded: the server also expires idle sessions.
        let _ = self.call(async move {
            tokio::time::timeout(Duration::from_secs(2), unary::<_, proto::ReleaseSessionResponse>(channel, "ReleaseSession", req)).await
        });
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// A random version-4 UUID (the session id Spark Connect asks for), from the OS's random source via
/// std's hasher keys, the clock and the process id.
fn session_id() -> String {
    use sha2::Digest;
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0));
    h.write_u32(std::process::id());
    let mut b: [u8; 32] = sha2::Sha256::digest(h.finish().to_le_bytes()).into();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let x = hex::encode(&b[..16]);
    format!("{}-{}-{}-{}-{}", &x[0..8], &x[8..12], &x[12..16], &x[16..20], &x[20..32])
}

/// Refuses a URL that carries a secret (`;token=`), without repeating it.
pub(crate) fn refuse_secrets(url: &str) -> Result<(), String> {
    match parse_url(url) {
        Err(e) if e.contains("token") => Err(e),
        _ => Ok(()),
    }
}

/// `sc://HOST[:PORT][/;key=value;...]` (the query part, `?table=`, is the log's, not the engine's):
/// the gRPC endpoint and the user id.
pub(crate) fn parse_url(url: &str) -> Result<(String, String), String> {
    let rest = url.strip_prefix("sc://").ok_or_else(|| format!("'{url}': a Spark Connect URL is sc://HOST[:PORT]"))?;
    let rest = rest.split('?').next().unwrap_or("");
    let (hostport, params) = match rest.split_once('/') {
        Some((h, p)) => (h, p),
        None => (rest, ""),
    };
    if hostport.is_empty() {
        return Err(format!("'{url}': no host (sc://HOST[:PORT])"));
    }
    let mut user = std::env::var("USER").unwrap_or_else(|_| "steward".into());
    for kv in params.split(';').filter(|s| !s.is_empty()) {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        match k {
            "user_id" => user = v.to_string(),
            "token" => return Err("a Spark Connect URL with a token: tokens are secrets and are never taken from URLs (nor is TLS supported yet)".into()),
            "use_ssl" if v == "true" => return Err(format!("'{url}': use_ssl is not supported yet (Spark Connect over TLS)")),
            _ => {}
        }
    }
    let endpoint = if hostport.rsplit_once(':').is_some_and(|(_, p)| p.chars().all(|c| c.is_ascii_digit()) && !p.is_empty()) && !hostport.ends_with(']') {
        format!("http://{hostport}")
    } else {
        format!("http://{hostport}:{DEFAULT_PORT}")
    };
    Ok((endpoint, user))
}

fn status_error(name: &str, s: &tonic::Status) -> FairnessError {
    // Spark puts its error class and message in the status message.
    let mut m = s.message().trim().to_string();
    if m.is_empty() {
        m = format!("{:?}", s.code());
    }
    FairnessError::io(name, format!("Spark: {}", crate::domain::with_causes(m, s)))
}

/// Runs `fut` on `rt` and waits for it on this thread (from any thread, inside a runtime or not);
/// None if the runtime dropped it.
fn run_on<T: Send + 'static>(rt: &tokio::runtime::Runtime, fut: impl Future<Output = T> + Send + 'static) -> Option<T> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    rt.spawn(async move {
        let _ = tx.send(fut.await);
    });
    rx.recv().ok()
}

/// A gRPC client on `channel`, ready for a call.
async fn ready(channel: Channel) -> Result<tonic::client::Grpc<Channel>, tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    Ok(grpc)
}

async fn unary<Req, Resp>(channel: Channel, method: &'static str, req: Req) -> Result<Resp, tonic::Status>
where
    Req: prost::Message + Send + Sync + 'static,
    Resp: prost::Message + Default + Send + Sync + 'static,
{
    let mut grpc = ready(channel).await?;
    let path = PathAndQuery::from_maybe_shared(format!("/spark.connect.SparkConnectService/{method}")).map_err(|e| tonic::Status::internal(e.to_string()))?;
    Ok(grpc.unary(tonic::Request::new(req), path, tonic_prost::ProstCodec::default()).await?.into_inner())
}

/// Arrow types reduced to what the query needs.
fn sql_type(t: &DataType) -> SqlType {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => SqlType::Text,
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => SqlType::Int,
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 => SqlType::Int,
        DataType::Float32 | DataType::Float64 => SqlType::Float,
        DataType::Boolean => SqlType::Bool,
        DataType::Timestamp(_, _) => SqlType::Timestamp,
        DataType::Date32 | DataType::Date64 => SqlType::Date,
        _ => SqlType::Other,
    }
}

/// One cell of a result batch.
fn value(a: &dyn Array, i: usize) -> Result<SqlValue, String> {
    if a.is_null(i) {
        return Ok(SqlValue::Null);
    }
    Ok(match a.data_type() {
        DataType::Boolean => SqlValue::Bool(a.as_boolean().value(i)),
        DataType::Int64 => SqlValue::Int(a.as_primitive::<Int64Type>().value(i)),
        DataType::Int32 => SqlValue::Int(a.as_primitive::<Int32Type>().value(i).into()),
        DataType::Int16 => SqlValue::Int(a.as_primitive::<Int16Type>().value(i).into()),
        DataType::Int8 => SqlValue::Int(a.as_primitive::<Int8Type>().value(i).into()),
        DataType::Float64 => SqlValue::Float(a.as_primitive::<Float64Type>().value(i)),
        DataType::Float32 => SqlValue::Float(a.as_primitive::<Float32Type>().value(i).into()),
        DataType::Utf8 => SqlValue::Text(a.as_string::<i32>().value(i).to_string()),
        DataType::LargeUtf8 => SqlValue::Text(a.as_string::<i64>().value(i).to_string()),
        DataType::Utf8View => SqlValue::Text(a.as_string_view().value(i).to_string()),
        other => return Err(format!("type {other} is not one a pushdown query returns")),
    })
}

impl<'l> Spark<'l> {
    /// Connects within `timeout` and opens a session in UTC.
    pub fn connect(log: &'l SqlLog, timeout: Duration) -> Result<Spark<'l>, FairnessError> {
        let (endpoint, user_id) = parse_url(&log.url).map_err(FairnessError::usage)?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("steward-spark")
            .enable_all()
            .build()
            .map_err(|e| FairnessError::io(&log.name, format!("cannot start the Spark client: {e}")))?;
        let ep = Endpoint::from_shared(endpoint.clone())
            .map_err(|e| FairnessError::usage(format!("'{}': {e}", log.url)))?
            .connect_timeout(timeout)
            .tcp_keepalive(Some(Duration::from_secs(30)))
            .http2_keep_alive_interval(Duration::from_secs(30));
        let channel = match run_on(&rt, async move { ep.connect().await }) {
            Some(Ok(c)) => c,
            Some(Err(e)) => {
                rt.shutdown_background();
                let m = crate::domain::with_causes(e.to_string(), &e);
                return Err(FairnessError::io(&log.name, format!("Spark: cannot connect to {endpoint}: {m}")));
            }
            None => return Err(FairnessError::io(&log.name, "Spark: the client stopped")),
        };
        let user = proto::UserContext { user_id: user_id.clone(), user_name: user_id };
        let spark = Spark { log, rt: Some(rt), channel, session: session_id(), user };
        spark.execute("SET spark.sql.session.timeZone = UTC", &[], &Progress::new())?;
        Ok(spark)
    }

    /// Runs `fut` on the client's runtime and waits for it here (from any thread).
    fn call<T: Send + 'static>(&self, fut: impl Future<Output = T> + Send + 'static) -> Option<T> {
        run_on(self.rt.as_ref()?, fut)
    }

    /// Runs one SQL relation and collects its rows as Arrow batches; the bytes are the Arrow IPC
    /// payloads received.
    fn execute(&self, sql: &str, params: &[f64], progress: &Progress) -> Result<(Vec<RecordBatch>, u64), FairnessError> {
        let name = self.log.name.clone();
        let req = proto::ExecutePlanRequest {
            session_id: self.session.clone(),
            user_context: Some(self.user.clone()),
            plan: Some(proto::Plan {
                root: Some(proto::Relation {
                    sql: Some(proto::Sql {
                        query: sql.to_string(),
                        pos_arguments: params
                            .iter()
                            .map(|p| proto::Expression { literal: Some(proto::Literal { kind: Some(proto::literal::Kind::Double(*p)) }) })
                            .collect(),
                    }),
                }),
            }),
            client_type: Some(CLIENT_TYPE.into()),
            operation_id: None,
            tags: vec!["steward".into()],
        };
        let channel = self.channel.clone();
        let done = Arc::new(AtomicBool::new(false));
        let cancelled = Arc::new(AtomicBool::new(false));
        let result = std::thread::scope(|scope| {
            let (done2, cancelled2) = (done.clone(), cancelled.clone());
            let interrupt = proto::InterruptRequest { session_id: self.session.clone(), user_context: Some(self.user.clone()), client_type: Some(CLIENT_TYPE.into()), interrupt_type: 1 };
            let ch = self.channel.clone();
            let handle = self.rt.as_ref().map(|rt| rt.handle().clone());
            scope.spawn(move || {
                while !done2.load(Ordering::Relaxed) {
                    if progress.cancelled() {
                        cancelled2.store(true, Ordering::Relaxed);
                        if let Some(h) = handle {
                            let _ = h.block_on(unary::<_, proto::InterruptResponse>(ch, "Interrupt", interrupt));
                        }
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            });
            let r = self.call(async move {
                let mut grpc = ready(channel).await?;
                let path = PathAndQuery::from_static("/spark.connect.SparkConnectService/ExecutePlan");
                let mut stream = grpc.server_streaming(tonic::Request::new(req), path, tonic_prost::ProstCodec::<_, proto::ExecutePlanResponse>::default()).await?.into_inner();
                let mut batches = Vec::new();
                while let Some(msg) = stream.message().await? {
                    if let Some(b) = msg.arrow_batch {
                        batches.push(b.data);
                    }
                    if msg.result_complete.is_some() {
                        break;
                    }
                }
                Ok::<_, tonic::Status>(batches)
            });
            done.store(true, Ordering::Relaxed);
            r
        });
        let raw = match result {
            None => return Err(FairnessError::io(&name, "Spark: the client stopped")),
            Some(Err(_)) if cancelled.load(Ordering::Relaxed) => return Err(FairnessError::cancelled(&name)),
            Some(Err(s)) => return Err(status_error(&name, &s)),
            Some(Ok(b)) => b,
        };
        let mut bytes = 0u64;
        let mut out = Vec::new();
        for data in raw {
            bytes += data.len() as u64;
            let reader = arrow_ipc::reader::StreamReader::try_new(std::io::Cursor::new(data), None)
                .map_err(|e| FairnessError::io(&name, format!("Spark: an Arrow batch that does not decode: {e}")))?;
            for b in reader {
                out.push(b.map_err(|e| FairnessError::io(&name, format!("Spark: an Arrow batch that does not decode: {e}")))?);
            }
        }
        Ok((out, bytes))
    }

    /// The arrow schema of a query that reads no row.
    fn schema(&self, sql: &str) -> Result<arrow_schema::SchemaRef, FairnessError> {
        let (batches, _) = self.execute(sql, &[], &Progress::new())?;
        batches.first().map(|b| b.schema()).ok_or_else(|| FairnessError::io(&self.log.name, "Spark: no schema came back for the columns' query"))
    }

    /// The pushdown query for `spec`, after asking Spark for the mapped columns' types.
    pub fn plan(&mut self, spec: &Spec) -> Result<Pushdown, FairnessError> {
        let (sql, _) = probe(Dialect::Spark, spec, &self.log.source)?;
        let types = self.types_of(&sql)?;
        Pushdown::new(Dialect::Spark, spec, &self.log.source, &types)
    }

    /// The types of a query's result columns (a query that reads no row).
    pub fn types_of(&mut self, sql: &str) -> Result<Vec<SqlType>, FairnessError> {
        Ok(self.schema(sql)?.fields().iter().map(|f| sql_type(f.data_type())).collect())
    }

    /// Every column of the log, from a query that reads no row.
    pub fn columns(&mut self) -> Result<Vec<String>, FairnessError> {
        let sql = format!("SELECT * FROM {} WHERE 1 = 0", from_clause(Dialect::Spark, &self.log.source)?);
        Ok(self.schema(&sql)?.fields().iter().map(|f| f.name().clone()).collect())
    }

    /// Runs the query; cancelling `progress` interrupts it on the server.
    pub fn run(&mut self, sql: &str, params: &[f64], progress: &Progress) -> Result<(Vec<Vec<SqlValue>>, Moved), FairnessError> {
        let name = &self.log.name;
        progress.total_bytes.store(0, Ordering::Relaxed);
        let (batches, bytes) = self.execute(sql, params, progress)?;
        let mut rows = Vec::new();
        for b in &batches {
            for i in 0..b.num_rows() {
                if rows.len() as u64 >= MAX_RESULT_ROWS {
                    return Err(FairnessError::input(name, None, None, super::too_many_rows()));
                }
                let mut row = Vec::with_capacity(b.num_columns());
                for (c, col) in b.columns().iter().enumerate() {
                    row.push(value(col.as_ref(), i).map_err(|e| FairnessError::io(name, format!("result column {}: {e}", b.schema().field(c).name())))?);
                }
                rows.push(row);
            }
        }
        progress.bytes_read.store(bytes, Ordering::Relaxed);
        let moved = Moved { rows: rows.len() as u64, bytes };
        Ok((rows, moved))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn urls() {
        assert_eq!(super::parse_url("sc://h").unwrap().0, "http://h:15002");
        assert_eq!(super::parse_url("sc://127.0.0.1:9/;user_id=ann?table=t").unwrap(), ("http://127.0.0.1:9".into(), "ann".into()));
        assert!(super::parse_url("sc://h/;token=abc").unwrap_err().contains("secret"));
        assert!(super::parse_url("postgres://h/db").is_err());
        let id = super::session_id();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert_ne!(id, super::session_id());
    }
}
