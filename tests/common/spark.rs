//! The stack's Spark Connect server (local mode), loaded and read back with PySpark's own client
//! (tests/tools/spark_load.py, in the stack's Spark venv): tables for the pushdown tests, and the
//! oracle that they are still there afterwards.

use std::path::Path;
use std::process::Command;

use super::{repo, stack_var};

pub struct SparkDb {
    /// `sc://127.0.0.1:PORT`.
    pub url: String,
    python: String,
    /// `t<pid>_<nanos>_`: this test's table names start with it.
    pub prefix: String,
}

impl SparkDb {
    pub fn new(tag: &str) -> SparkDb {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        SparkDb { url: stack_var("STEWARD_TEST_SPARK_URL"), python: stack_var("STEWARD_TEST_SPARK_PYTHON"), prefix: format!("{tag}_{}_{nanos}_", std::process::id()) }
    }

    /// The table name `<prefix><name>`.
    pub fn table(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    fn py(&self, args: &[&str]) -> String {
        let out = Command::new(&self.python).arg(repo().join("tests/tools/spark_load.py")).arg(&self.url).args(args).output().expect("the Spark venv's python runs");
        assert!(out.status.success(), "spark_load.py {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Loads `csv` into `table` (Parquet) with the given Spark schema; returns the rows loaded.
    pub fn load(&self, table: &str, csv: &Path, schema: &str) -> u64 {
        self.py(&["load", table, csv.to_str().unwrap(), schema]).lines().last().unwrap_or("").parse().unwrap()
    }

    pub fn count(&self, table: &str) -> u64 {
        self.py(&["count", table]).lines().last().unwrap_or("").parse().unwrap()
    }

    pub fn exists(&self, table: &str) -> bool {
        self.py(&["exists", table]).lines().last() == Some("true")
    }
}
