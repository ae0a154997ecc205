//! Credentials in the OS keyring, against a real Secret Service and a real MLflow with authentication.
//!
//! The Secret Service: a private D-Bus session bus (`dbus-daemon --session`) with GNOME Keyring's
//! secrets component on it (`gnome-keyring-daemon --unlock --components=secrets`, which creates and
//! unlocks a "login" keyring from a password on its standard input), its files in a temporary HOME.
//! The oracle for what is stored is libsecret's own `secret-tool`; for what the credential does, MLflow's
//! basic-auth server (tests/common/mlflow_auth.rs). `scripts/test` installs dbus-daemon, gnome-keyring
//! and libsecret-tools; without them these tests fail, saying so.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::mlflow_auth::*;
use common::*;

const SERVICE: &str = "io.github.stewardconsole.Steward";

/// A D-Bus session bus with GNOME Keyring's Secret Service; stopping the bus stops the keyring daemon.
struct Keyring {
    bus: Child,
    address: String,
    _dir: tempfile::TempDir,
}

impl Drop for Keyring {
    fn drop(&mut self) {
        let _ = self.bus.kill();
        let _ = self.bus.wait();
    }
}

impl Keyring {
    fn start() -> Keyring {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run");
        std::fs::create_dir_all(&run).unwrap();
        std::fs::set_permissions(&run, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
        let mut bus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon (Debian package dbus-daemon; scripts/test installs it)");
        let mut address = String::new();
        BufReader::new(bus.stdout.take().unwrap()).read_line(&mut address).unwrap();
        let address = address.trim().to_string();
        assert!(address.starts_with("unix:"), "dbus-daemon printed no address: {address:?}");
        let mut keyring = Command::new("gnome-keyring-daemon")
            .args(["--unlock", "--components=secrets"])
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .env("HOME", dir.path())
            .env("XDG_DATA_HOME", dir.path().join("data"))
            .env("XDG_RUNTIME_DIR", &run)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("gnome-keyring-daemon (Debian package gnome-keyring; scripts/test installs it)");
        keyring.stdin.take().unwrap().write_all(b"keyring-unlock-password").unwrap();
        let out = keyring.wait_with_output().unwrap();
        assert!(out.status.success(), "gnome-keyring-daemon: {}", stderr(&out));
        let k = Keyring { bus, address, _dir: dir };
        // Ready when the Secret Service's name has an owner on the bus.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let o = Command::new("dbus-send")
                .args(["--session", "--print-reply", "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus.NameHasOwner", "string:org.freedesktop.secrets"])
                .env("DBUS_SESSION_BUS_ADDRESS", &k.address)
                .output()
                .expect("dbus-send (Debian package dbus-bin)");
            if stdout(&o).contains("boolean true") {
                return k;
            }
            assert!(Instant::now() < deadline, "the Secret Service never appeared on the bus: {}", stderr(&o));
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `secret-tool lookup` (libsecret): the stored secret of profile `name`, None when there is none.
    fn lookup(&self, name: &str) -> Option<String> {
        let o = Command::new("secret-tool")
            .args(["lookup", "service", SERVICE, "username", name])
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .output()
            .expect("secret-tool (Debian package libsecret-tools)");
        o.status.success().then(|| stdout(&o))
    }

    fn env(&self) -> (&'static str, &str) {
        ("DBUS_SESSION_BUS_ADDRESS", self.address.as_str())
    }
}

/// `steward` with `input` on its standard input.
fn steward_stdin(home: &Path, args: &[&str], env: &[(&str, &str)], input: &str) -> Output {
    let mut child = steward_command(home, args, env).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

/// Every file under `dir`, read as text where it can be.
fn all_text(dir: &Path) -> String {
    let mut out = String::new();
    let mut stack: Vec<PathBuf> = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push_str(&String::from_utf8_lossy(&std::fs::read(&p).unwrap()));
            }
        }
    }
    out
}

const PASSWORD: &str = "ops-Keyring-Pa55word-7";

#[test]
fn credentials_kept_in_a_real_secret_service_reach_mlflow_and_never_the_profile_file() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_auth_server_with_model(dir.path(), "credit-risk");
    let url = server.url.clone();
    admin_post(&url, "/api/2.0/mlflow/users/create", serde_json::json!({"username": "ops", "password": PASSWORD}));
    let keyring = Keyring::start();
    let bus = [keyring.env()];
    let home = tempfile::tempdir().unwrap();
    let h = home.path();

    assert!(steward(h, &["--registry", &url, "profile", "add", "prod", "--activate"]).status.success());
    // Nothing stored yet: the server asks for credentials, and says how to give them.
    let out = steward_env(h, &["models"], &bus);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("steward profile login"), "{}", stderr(&out));
    assert_eq!(keyring.lookup("prod"), None);

    // Stored: libsecret reads exactly the credential back.
    let out = steward_stdin(h, &["profile", "login", "prod", "--user", "ops", "--stdin"], &bus, &format!("{PASSWORD}\n"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("stored user ops and a password for profile 'prod' in the OS keyring"), "{}", stdout(&out));
    let stored: serde_json::Value = serde_json::from_str(&keyring.lookup("prod").expect("an entry")).unwrap();
    assert_eq!(stored, serde_json::json!({"user": "ops", "password": PASSWORD}));

    // Used: MLflow lets the command in, and the connection check says where the credentials came from.
    let models = json(&steward_env(h, &["models", "--json"], &bus));
    assert!(models.to_string().contains("credit-risk"), "{models}");
    let test = json(&steward_env(h, &["profile", "test", "prod", "--json"], &bus));
    assert_eq!(test["checks"][0]["ok"], true, "{test}");
    assert!(test["checks"][0]["detail"].as_str().unwrap().contains("credentials from the OS keyring (profile prod)"), "{test}");

    // MLflow's variables win over the keyring (a wrong password from the environment is refused).
    let wrong = [keyring.env(), ("MLFLOW_TRACKING_USERNAME", "ops"), ("MLFLOW_TRACKING_PASSWORD", "not-it")];
    let out = steward_env(h, &["models"], &wrong);
    assert_eq!(out.status.code(), Some(4), "the environment's credentials were not the ones used: {}", stderr(&out));
    assert!(stderr(&out).contains("rejected"), "{}", stderr(&out));

    // A token replaces the password (MLflow's basic-auth server does not take tokens: only the store
    // is checked here).
    let out = steward_stdin(h, &["profile", "login", "prod", "--stdin"], &bus, "tok-Keyring-0123456789\n");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(keyring.lookup("prod").as_deref(), Some(r#"{"token":"tok-Keyring-0123456789"}"#));

    // Never on disk in Steward's home: not the profile file, the log, the audit log.
    let everything = all_text(h);
    assert!(everything.contains("prod"), "the scan read the home");
    assert!(!everything.contains(PASSWORD) && !everything.contains("tok-Keyring-0123456789"), "a credential reached the disk");

    // Logout removes it; a second logout says there was nothing; removing the profile removes its entry.
    let out = steward_env(h, &["profile", "logout", "prod"], &bus);
    assert!(stdout(&out).contains("removed the credentials of profile 'prod'"), "{}", stdout(&out));
    assert_eq!(keyring.lookup("prod"), None);
    let out = steward_env(h, &["profile", "logout", "prod"], &bus);
    assert!(stdout(&out).contains("held nothing"), "{}", stdout(&out));
    let out = steward_env(h, &["models"], &bus);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(steward_stdin(h, &["profile", "login", "prod", "--stdin"], &bus, "tok-x-123456\n").status.success());
    let out = steward_env(h, &["profile", "remove", "prod"], &bus);
    assert!(stdout(&out).contains("removed its credentials from the OS keyring"), "{}", stdout(&out));
    assert_eq!(keyring.lookup("prod"), None);
}

#[test]
fn without_a_keyring_service_the_environment_is_used_and_that_is_said_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_auth_server_with_model(dir.path(), "credit-risk");
    let url = server.url.clone();
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    // No bus at all (headless CI): the address names a socket that is not there.
    let nowhere = format!("unix:path={}", h.join("no-bus").display());
    let headless = [("DBUS_SESSION_BUS_ADDRESS", nowhere.as_str())];
    assert!(steward(h, &["--registry", &url, "profile", "add", "prod", "--activate"]).status.success());

    // Storing is refused, plainly, and nothing is written anywhere.
    let out = steward_stdin(h, &["profile", "login", "prod", "--stdin"], &headless, "tok-never-stored-42\n");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("no keyring service is available") && stderr(&out).contains("nothing stored"), "{}", stderr(&out));
    assert!(!all_text(h).contains("tok-never-stored-42"));

    // Reading: said once, then the request goes without credentials and the server's refusal names
    // the ways to give them.
    let out = steward_env(h, &["models"], &headless);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.matches("no keyring service is available").count(), 1, "{err}");
    assert!(err.contains("come from the environment only"), "{err}");

    // With MLflow's variables set, they are used (the keyring is not needed, so nothing is said).
    let env = [headless[0], ("MLFLOW_TRACKING_USERNAME", "admin"), ("MLFLOW_TRACKING_PASSWORD", ADMIN_PASSWORD)];
    let out = steward_env(h, &["models", "--json"], &env);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("credit-risk"));
    assert!(!stderr(&out).contains("keyring"), "{}", stderr(&out));
}

/// The window's twin: the profile dialog stores a token in the keyring, says what it holds, and removes
/// it; the typed secret is never on screen.
#[test]
fn the_profile_dialog_keeps_and_removes_credentials_in_the_keyring() {
    let keyring = Keyring::start();
    // The keyring crate reads the bus address when this process first uses it, which only this test does.
    // SAFETY: set before the window starts; the other tests in this file read no environment in-process
    // (they pass the address to child processes).
    unsafe { std::env::set_var("DBUS_SESSION_BUS_ADDRESS", &keyring.address) };
    let mut ui = common::ui::sample_at(1024.0, 700.0);
    ui.click("Profile...");
    ui.wait_for("Edit connection profile");
    ui.type_into("Tracking URL", "http://127.0.0.1:9");
    ui.type_into("Token or password", "tok-Dialog-Secret-555");
    assert!(!ui.labels().iter().any(|l| l.contains("tok-Dialog-Secret-555")), "the secret is on screen: {:?}", ui.labels());
    ui.click("Save to keyring");
    ui.wait_for("The OS keyring holds a token for profile default");
    assert_eq!(keyring.lookup("default").as_deref(), Some(r#"{"token":"tok-Dialog-Secret-555"}"#));
    let all = common::ui::rects(&ui);
    let save = all.iter().find(|(l, _)| l == "Save and connect").expect("Save and connect").1;
    assert!(save.max.y <= 700.0 && save.max.x <= 1024.0, "the dialog's buttons stay in the window: {save:?}");
    ui.click("Remove from keyring");
    ui.wait_for("The OS keyring holds nothing for profile default");
    assert_eq!(keyring.lookup("default"), None);
}

#[test]
fn the_team_audit_stores_login_is_taken_from_the_keyring_when_the_environment_has_none() {
    let stack = common::stack();
    let db = common::pg::TeamDb::new("keyring");
    let keyring = Keyring::start();
    let bus = [keyring.env()];
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let out = steward(h, &["--registry", &stack.mlflow, "profile", "add", "team", "--audit", &db.url, "--activate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // No login anywhere: the store refuses, and Steward says the store cannot be used.
    let out = steward_env(h, &["audit", "verify"], &bus);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stderr(&out).contains("cannot be used"), "{}", stderr(&out));
    // The login kept in the keyring (read back by libsecret) reaches PostgreSQL.
    let user = common::stack_var("STEWARD_TEST_PG_USER");
    let password = common::stack_var("STEWARD_TEST_PG_PASSWORD");
    let out = steward_stdin(h, &["profile", "login", "team", "--audit", "--user", &user, "--stdin"], &bus, &format!("{password}\n"));
    assert!(out.status.success(), "{}", stderr(&out));
    let kept: serde_json::Value = serde_json::from_str(&keyring.lookup("team/audit").expect("an entry team/audit")).unwrap();
    assert_eq!(kept, serde_json::json!({"user": user, "password": password}));
    let out = steward_env(h, &["audit", "verify"], &bus);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("OK: 0 records"), "{}", stdout(&out));
    assert!(!all_text(h).contains(&password), "the password is in a file of the home");
    // Removed from the keyring: refused again.
    let out = steward_env(h, &["profile", "logout", "team", "--audit"], &bus);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(keyring.lookup("team/audit"), None);
    assert_eq!(steward_env(h, &["audit", "verify"], &bus).status.code(), Some(1));
}
