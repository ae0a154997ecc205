//! Which audit log a selection writes to: the home's file, or the team's store in PostgreSQL named by
//! the profile's `audit` (credentials: `PGUSER`/`PGPASSWORD` as libpq reads them, else the keyring
//! entry `PROFILE/audit`; never the profile file).

use crate::audit::{AuditLog, SharedStore};
use crate::config::{Home, Policy};
use crate::connect::credentials::{self, Credential};

/// The keyring entry that holds a profile's login to its team audit store.
pub fn audit_keyring_entry(profile: &str) -> String {
    format!("{profile}/audit")
}

/// The audit log of `home` under `policy` (see the module doc). Never fails: a store that cannot be
/// reached, or a URL that does not parse, makes every call on the log fail saying so.
pub fn open_audit(home: &Home, policy: &Policy) -> AuditLog {
    let path = home.audit_log();
    let Some(url) = &policy.audit_store else { return AuditLog::new(path) };
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let (mut user, mut password) = (env("PGUSER"), env("PGPASSWORD"));
    if password.is_none() {
        if let Some(profile) = &policy.profile {
            if let Ok(Some(Credential::Password { user: u, password: p })) = credentials::load(&audit_keyring_entry(profile)) {
                user = user.or(Some(u));
                password = Some(p);
            }
        }
    }
    AuditLog::shared(path, SharedStore::new(url, user.as_deref(), password.as_deref(), policy.endpoint_timeout))
}
