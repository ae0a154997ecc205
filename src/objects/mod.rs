//! Prediction logs in object storage: `s3://`, `gs://`, `az://` (and `abfs[s]://`, `azure://`) and
//! `http(s)://` URLs, read through the `object_store` crate (the client arrow-rs and DataFusion use).
//!
//! - **Credentials** come from each cloud's standard places and are never stored: the `AWS_*`,
//!   `GOOGLE_*` and `AZURE_*` environment variables (`object_store`'s `from_env`), and for S3 also the
//!   shared credentials and config files (`~/.aws/credentials`, `~/.aws/config`, profile
//!   `AWS_PROFILE` or `default`) when the environment has no key. An `http://` endpoint
//!   (`AWS_ENDPOINT_URL=http://...`, a test server) is allowed because the operator named it.
//! - **Reading** is by range requests ([`RANGE`] bytes each, [`AHEAD`] in flight), so a log of any size
//!   streams through a bounded buffer (`RANGE x (AHEAD + 1)` = 24 MiB at most per reader), and Parquet
//!   fetches only its footer and the column chunks of the columns asked for ([`RemoteFile`]; at most
//!   `WINDOW x CACHE_WINDOWS` = 16 MiB cached per reading thread).
//! - **A prefix** (a URL ending in `/`, or one naming no object but a "folder") is one log: its objects
//!   in key order, leaving out empty objects and names starting with `_` or `.` (Spark's `_SUCCESS`,
//!   checksum files); at most [`MAX_OBJECTS`].
//!
//! The async client runs on a small runtime of its own ([`Remote`] owns it), so callers block on plain
//! channels from any thread, inside another runtime or not. Errors are one line naming the URL.

mod aws_files;
mod read;

pub use read::{CACHE_WINDOWS, ObjectRead, RangeRead, RemoteFile, WINDOW};

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use object_store::path::Path as ObjectPath;
use object_store::{ClientOptions, ObjectStore, ObjectStoreExt, ObjectStoreScheme, RetryConfig};

/// Bytes per range request.
pub const RANGE: u64 = 8 << 20;
/// Range requests in flight ahead of the reader.
pub const AHEAD: usize = 2;
/// Objects under one prefix that can make one log.
pub const MAX_OBJECTS: usize = 10_000;

/// Whether `s` is an object-storage URL this module reads (by its scheme; the rest is checked by
/// [`Remote::open`]).
pub fn is_url(s: &str) -> bool {
    let s = s.trim_start();
    let Some((scheme, rest)) = s.split_once("://") else { return false };
    !rest.is_empty() && matches!(scheme.to_ascii_lowercase().as_str(), "s3" | "s3a" | "gs" | "az" | "abfs" | "abfss" | "azure" | "adl" | "http" | "https")
}

/// One object of a log: its key and size in bytes.
#[derive(Clone, Debug)]
pub struct Object {
    pub path: ObjectPath,
    pub size: u64,
}

impl Object {
    /// The object's file name (the last part of its key), for format detection by extension.
    pub fn name(&self) -> &str {
        self.path.filename().unwrap_or("")
    }
}

/// The runtime the client's futures run on, and what went over the wire; shut down in the background
/// when the last user goes (dropping a runtime inside another one's task would panic). The requests
/// and bytes are logged then (`object storage reads`, level info: `-v` shows it).
struct Io {
    rt: Option<tokio::runtime::Runtime>,
    url: String,
    requests: AtomicU64,
    bytes: AtomicU64,
}

impl Drop for Io {
    fn drop(&mut self) {
        tracing::info!(url = %self.url, requests = self.requests.load(Ordering::Relaxed), bytes = self.bytes.load(Ordering::Relaxed), "object storage reads");
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// A client for one URL's store, and what the URL names.
#[derive(Clone)]
pub struct Remote {
    /// The URL as the operator wrote it (messages name it).
    pub url: String,
    store: Arc<dyn ObjectStore>,
    io: Arc<Io>,
    /// The objects of the log, in key order (one for a single object).
    pub objects: Vec<Object>,
    /// Whether the URL named a prefix rather than one object.
    pub prefix: bool,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote").field("url", &self.url).field("objects", &self.objects.len()).finish()
    }
}

fn client_options(allow_http: bool) -> ClientOptions {
    ClientOptions::new().with_connect_timeout(Duration::from_secs(5)).with_timeout(Duration::from_secs(60)).with_allow_http(allow_http)
}

/// Two retries within 15 s: a dead endpoint is reported in seconds, not object_store's default minutes.
fn retry() -> RetryConfig {
    RetryConfig { max_retries: 2, retry_timeout: Duration::from_secs(15), ..RetryConfig::default() }
}

fn build(url: &url::Url, scheme: &ObjectStoreScheme) -> Result<Arc<dyn ObjectStore>, String> {
    let s = url.as_str();
    let store: Arc<dyn ObjectStore> = match scheme {
        ObjectStoreScheme::AmazonS3 => {
            let mut b = object_store::aws::AmazonS3Builder::from_env();
            if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
                for (key, value) in aws_files::credentials() {
                    b = b.with_config(key, value);
                }
            }
            let endpoint = std::env::var("AWS_ENDPOINT_URL_S3").or_else(|_| std::env::var("AWS_ENDPOINT_URL")).or_else(|_| std::env::var("AWS_ENDPOINT")).unwrap_or_default();
            let http = endpoint.starts_with("http://") || url.scheme() == "http";
            Arc::new(b.with_url(s).with_client_options(client_options(http)).with_retry(retry()).build().map_err(|e| e.to_string())?)
        }
        ObjectStoreScheme::GoogleCloudStorage => Arc::new(
            object_store::gcp::GoogleCloudStorageBuilder::from_env()
                .with_url(s)
                .with_client_options(client_options(false))
                .with_retry(retry())
                .build()
                .map_err(|e| e.to_string())?,
        ),
        ObjectStoreScheme::MicrosoftAzure => Arc::new(
            object_store::azure::MicrosoftAzureBuilder::from_env()
                .with_url(s)
                .with_client_options(client_options(false))
                .with_retry(retry())
                .build()
                .map_err(|e| e.to_string())?,
        ),
        ObjectStoreScheme::Http => {
            let origin = url.origin().ascii_serialization();
            Arc::new(
                object_store::http::HttpBuilder::new()
                    .with_url(origin)
                    .with_client_options(client_options(url.scheme() == "http"))
                    .with_retry(retry())
                    .build()
                    .map_err(|e| e.to_string())?,
            )
        }
        _ => return Err("not an object-storage URL (s3://, gs://, az://, http(s)://)".into()),
    };
    Ok(store)
}

/// object_store's messages, shortened to what an operator acts on.
pub(crate) fn describe(e: &object_store::Error) -> String {
    match e {
        object_store::Error::NotFound { .. } => "not found".into(),
        object_store::Error::PermissionDenied { source, .. } => format!("permission denied ({source})"),
        object_store::Error::Unauthenticated { source, .. } => format!("not authenticated: check the credentials ({source})"),
        // Keep the chain of causes: "Connection refused" is at the bottom.
        other => crate::domain::with_causes(other.to_string(), other),
    }
}

impl Remote {
    /// Connects (no request yet), then finds what `url` names: the object, or else the objects under
    /// it as a prefix. Errors: a URL that does not parse, an unknown scheme, missing credentials, the
    /// endpoint unreachable, nothing at the URL, more than [`MAX_OBJECTS`] objects.
    pub fn open(url: &str) -> Result<Remote, String> {
        let url_text = url.trim().to_string();
        let parsed = url::Url::parse(&url_text).map_err(|e| format!("not a URL: {e}"))?;
        let (scheme, path) = ObjectStoreScheme::parse(&parsed).map_err(|e| e.to_string())?;
        let store = build(&parsed, &scheme)?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("steward-objects")
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the object-storage client: {e}"))?;
        let io = Io { rt: Some(rt), url: url_text.clone(), requests: AtomicU64::new(0), bytes: AtomicU64::new(0) };
        let mut remote = Remote { url: url_text, store, io: Arc::new(io), objects: Vec::new(), prefix: false };
        let http = matches!(scheme, ObjectStoreScheme::Http);
        let as_prefix = parsed.path().ends_with('/') || path.as_ref().is_empty();
        // Why the URL is not one object, when it is not: reported if it is no prefix either.
        let mut head_error = None;
        if !as_prefix {
            let store = remote.store.clone();
            let p = path.clone();
            match remote.call(async move { store.head(&p).await })? {
                Ok(meta) => {
                    remote.objects.push(Object { path: meta.location, size: meta.size });
                    return Ok(remote);
                }
                Err(object_store::Error::NotFound { .. }) if !http => {}
                Err(e @ (object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. })) => return Err(describe(&e)),
                Err(e) if http => return Err(describe(&e)),
                // Some servers answer a HEAD of a "folder" with an error (s3s-fs: 500): try it as a prefix.
                Err(e) => head_error = Some(describe(&e)),
            }
        }
        if http {
            return Err("nothing at this URL (an http(s):// log must name one file)".into());
        }
        remote.prefix = true;
        let store = remote.store.clone();
        let listed = match remote.call(async move {
            use futures::StreamExt;
            let mut out = Vec::new();
            let mut s = store.list(Some(&path));
            while let Some(m) = s.next().await {
                let m = m.map_err(|e| describe(&e))?;
                out.push(m);
                if out.len() > MAX_OBJECTS * 2 {
                    break;
                }
            }
            Ok::<_, String>(out)
        })? {
            Ok(listed) => listed,
            Err(e) => return Err(head_error.unwrap_or(e)),
        };
        let mut objects: Vec<Object> = listed
            .into_iter()
            .filter(|m| m.size > 0 && !m.location.filename().is_some_and(|n| n.starts_with('_') || n.starts_with('.')))
            .map(|m| Object { path: m.location, size: m.size })
            .collect();
        if objects.is_empty() {
            return Err(head_error.unwrap_or_else(|| "no object at this URL, and no object under it as a prefix".into()));
        }
        if objects.len() > MAX_OBJECTS {
            return Err(format!("more than {MAX_OBJECTS} objects under this prefix; name a narrower prefix"));
        }
        objects.sort_by(|a, b| a.path.as_ref().cmp(b.path.as_ref()));
        remote.objects = objects;
        Ok(remote)
    }

    /// The bytes of all the log's objects.
    pub fn total_bytes(&self) -> u64 {
        self.objects.iter().map(|o| o.size).sum()
    }

    /// Range requests sent so far, and the bytes they asked for.
    pub fn fetched(&self) -> (u64, u64) {
        (self.io.requests.load(Ordering::Relaxed), self.io.bytes.load(Ordering::Relaxed))
    }

    /// Whether `path` names a log Steward can try to open: an object-storage URL, or a file that exists.
    pub fn present(path: &std::path::Path) -> bool {
        path.to_str().is_some_and(is_url) || path.exists()
    }

    /// The URL of object `i` (for messages about one object of a prefix).
    pub fn object_url(&self, i: usize) -> String {
        match (self.prefix, self.objects.get(i)) {
            (true, Some(o)) => format!("{} ({})", self.url, o.name()),
            _ => self.url.clone(),
        }
    }

    /// Runs `fut` on the client's runtime and waits for it on this thread.
    fn call<T: Send + 'static>(&self, fut: impl Future<Output = T> + Send + 'static) -> Result<T, String> {
        self.spawn(fut).recv().map_err(|_| "the object-storage client stopped".to_string())
    }

    /// Starts `fut` on the client's runtime; its result arrives on the returned channel.
    fn spawn<T: Send + 'static>(&self, fut: impl Future<Output = T> + Send + 'static) -> std::sync::mpsc::Receiver<T> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        if let Some(rt) = &self.io.rt {
            rt.spawn(async move {
                let _ = tx.send(fut.await);
            });
        }
        rx
    }

    /// Starts a range request for object `i`: `range` is in bytes, end exclusive.
    fn fetch(&self, i: usize, range: std::ops::Range<u64>) -> std::sync::mpsc::Receiver<Result<bytes::Bytes, String>> {
        let store = self.store.clone();
        let path = self.objects.get(i).map(|o| o.path.clone()).unwrap_or_default();
        tracing::debug!(url = %self.url, object = i, start = range.start, end = range.end, "range request");
        self.io.requests.fetch_add(1, Ordering::Relaxed);
        self.io.bytes.fetch_add(range.end.saturating_sub(range.start), Ordering::Relaxed);
        self.spawn(async move { store.get_range(&path, range).await.map_err(|e| describe(&e)) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_by_scheme() {
        for yes in ["s3://b/k.csv", "S3://b/", "gs://b/x", "az://c/x", "abfss://c@a.dfs.core.windows.net/x", "https://h/x.csv", "http://127.0.0.1:9/x"] {
            assert!(is_url(yes), "{yes}");
        }
        for no in ["/tmp/x.csv", "x.csv", "postgres://h/db", "file:///tmp/x", "s3://", "C:\\x.csv"] {
            assert!(!is_url(no), "{no}");
        }
    }

    #[test]
    fn unknown_or_bad_urls_are_refused_before_any_request() {
        let e = Remote::open("s3//nope").unwrap_err();
        assert!(e.contains("not a URL"), "{e}");
        let e = Remote::open("ftp://host/x").unwrap_err();
        assert!(!e.is_empty());
    }
}
