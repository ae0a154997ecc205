//! Credentials kept out of every message: a server may echo the request's `Authorization` header or a
//! password back in its error body, and Steward shows and records server messages.

use super::http::Auth;

impl Auth {
    /// The credential values a hostile or careless server could echo back in a message: the token,
    /// the password, and the `Authorization` header's value (`Bearer T`, base64 of `user:password`).
    /// Values under 4 characters are left out (they would blank ordinary words).
    pub fn secrets(&self) -> Vec<String> {
        use base64::Engine;
        let all = match self {
            Auth::None => Vec::new(),
            Auth::Bearer(t) => vec![t.clone()],
            Auth::Basic { user, password } => {
                vec![password.clone(), base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))]
            }
        };
        all.into_iter().filter(|s| s.chars().count() >= 4).collect()
    }
}

/// `text` with every occurrence of each secret replaced by `[redacted]`: applied to every message a
/// server's answer becomes (error bodies, excerpts), before it is shown, logged or recorded.
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), "[redacted]");
        }
    }
    out
}


/// A URL with any userinfo removed, safe to print.
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string().trim_end_matches('/').to_string()
        }
        Err(_) => raw.split('@').next_back().unwrap_or(raw).to_string(),
    }
}
