//! The stack's S3 server (s3s-fs on loopback): uploads through its S3 API with the `object_store`
//! client (the same library Steward reads with, but a separate client and process), under a prefix of
//! the test's own, and the standard AWS variables for the `steward` processes a test starts.

use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStoreExt, PutPayload};

use super::stack_var;

pub struct S3 {
    pub endpoint: String,
    pub bucket: String,
    key: String,
    secret: String,
    /// `t<pid>-<nanos>/`: this test's objects.
    pub prefix: String,
    store: AmazonS3,
    rt: tokio::runtime::Runtime,
}

impl S3 {
    pub fn new(name: &str) -> S3 {
        let endpoint = stack_var("STEWARD_TEST_S3_ENDPOINT");
        let bucket = stack_var("STEWARD_TEST_S3_BUCKET");
        let key = stack_var("STEWARD_TEST_S3_ACCESS_KEY");
        let secret = stack_var("STEWARD_TEST_S3_SECRET_KEY");
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let prefix = format!("{name}-{}-{nanos}/", std::process::id());
        let store = AmazonS3Builder::new()
            .with_endpoint(&endpoint)
            .with_bucket_name(&bucket)
            .with_access_key_id(&key)
            .with_secret_access_key(&secret)
            .with_region("us-east-1")
            .with_allow_http(true)
            .build()
            .unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        S3 { endpoint, bucket, key, secret, prefix, store, rt }
    }

    /// Uploads `bytes` as `<prefix><name>`; returns its `s3://` URL.
    pub fn put(&self, name: &str, bytes: Vec<u8>) -> String {
        let path = ObjectPath::from(format!("{}{name}", self.prefix));
        self.rt.block_on(self.store.put(&path, PutPayload::from(bytes))).unwrap_or_else(|e| panic!("upload {name}: {e}"));
        self.url(name)
    }

    pub fn url(&self, name: &str) -> String {
        format!("s3://{}/{}{name}", self.bucket, self.prefix)
    }

    /// AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION for a `steward` process.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", self.key.clone()),
            ("AWS_SECRET_ACCESS_KEY", self.secret.clone()),
            ("AWS_REGION", "us-east-1".into()),
        ]
    }
}
