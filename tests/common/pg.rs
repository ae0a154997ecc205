//! The stack's PostgreSQL (scripts/stack: a cluster of its own in a temporary folder), read and written
//! with the PostgreSQL client directly, not through Steward: the oracle for the team audit store, and the
//! hand of a database administrator who edits the table.

use super::stack_var;

/// A database of its own for one test (dropped at the end), on the stack's server.
pub struct TeamDb {
    pub url: String,
    pub name: String,
    admin: String,
}

fn conninfo(db: &str) -> String {
    format!(
        "host=127.0.0.1 port={} user={} password={} dbname={db}",
        stack_var("STEWARD_TEST_PG_PORT"),
        stack_var("STEWARD_TEST_PG_USER"),
        stack_var("STEWARD_TEST_PG_PASSWORD")
    )
}

impl TeamDb {
    pub fn new(tag: &str) -> TeamDb {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        let name = format!("steward_{tag}_{}_{nanos}", std::process::id());
        let admin = conninfo("postgres");
        let mut c = postgres::Client::connect(&admin, postgres::NoTls).expect("the stack's PostgreSQL answers");
        c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        let url = format!("postgres://127.0.0.1:{}/{name}", stack_var("STEWARD_TEST_PG_PORT"));
        TeamDb { url, name, admin }
    }

    pub fn client(&self) -> postgres::Client {
        postgres::Client::connect(&conninfo(&self.name), postgres::NoTls).unwrap()
    }

    /// The team chain's lines, in order of `seq`.
    pub fn lines(&self) -> Vec<String> {
        self.client().query("SELECT line FROM steward_audit ORDER BY seq", &[]).unwrap().iter().map(|r| r.get(0)).collect()
    }

    /// The environment that gives Steward the login (as an operator's shell would: libpq's variables).
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![("PGUSER", stack_var("STEWARD_TEST_PG_USER")), ("PGPASSWORD", stack_var("STEWARD_TEST_PG_PASSWORD"))]
    }
}

impl Drop for TeamDb {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
        }
    }
}
