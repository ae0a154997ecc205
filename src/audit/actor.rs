//! Who acts: the operator's identity as the audit log records it (the OS user running Steward and the
//! identity the registry saw). The window, the command line and the reports all take it from here.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// The operating-system user running Steward.
    pub os_user: String,
    /// The identity the registry saw (basic-auth user, "token"), if any.
    pub registry_identity: Option<String>,
    /// The machine the action was taken on (its host name); absent in records written before it was
    /// recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

impl Actor {
    /// An actor on this machine (`host` from [`host_name`]).
    pub fn new(os_user: impl Into<String>, registry_identity: Option<String>) -> Actor {
        Actor { os_user: os_user.into(), registry_identity, host: host_name() }
    }

    /// "user@host", or "user" for records without a host.
    pub fn who(&self) -> String {
        match &self.host {
            Some(h) => format!("{}@{h}", self.os_user),
            None => self.os_user.clone(),
        }
    }
}

/// This machine's host name: the kernel's (Linux), else `HOSTNAME` / `COMPUTERNAME`.
pub fn host_name() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .or_else(|| ["HOSTNAME", "COMPUTERNAME"].iter().find_map(|k| std::env::var(k).ok()))
        .filter(|h| !h.is_empty())
}

/// The operating-system user running Steward (for created-by fields and audit records).
pub fn os_user() -> String {
    ["USER", "USERNAME", "LOGNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .or_else(user_from_passwd)
        .unwrap_or_else(|| "unknown".into())
}

/// The name of this process's real user from /etc/passwd (Unix, when no USER variable is set: services,
/// `setsid`, some CI runners).
fn user_from_passwd() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let uid = status.lines().find_map(|l| l.strip_prefix("Uid:"))?.split_whitespace().next()?.to_string();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() > 2 && f[2] == uid).then(|| f[0].to_string())
    })
}

#[cfg(test)]
mod os_user_tests {
    #[test]
    fn the_passwd_lookup_finds_this_processes_user() {
        // Whatever the environment says, /etc/passwd must know the user this test runs as.
        let uid = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| s.lines().find_map(|l| l.strip_prefix("Uid:")).and_then(|l| l.split_whitespace().next()).map(str::to_string));
        if let Some(uid) = uid {
            let name = super::user_from_passwd().expect("a passwd entry for this uid");
            assert!(!name.is_empty() && name != "unknown", "uid {uid} -> {name}");
        }
    }
}
