//! The AWS shared credentials and config files (`~/.aws/credentials`, `~/.aws/config`, or the paths in
//! `AWS_SHARED_CREDENTIALS_FILE` and `AWS_CONFIG_FILE`), read for the profile `AWS_PROFILE` (else
//! `default`) when the environment holds no key: the same places the AWS CLI and SDKs look. Only the
//! static keys and the region are read (no SSO or assume-role chains); nothing is written.

use object_store::aws::AmazonS3ConfigKey;

/// `key = value` pairs of one `[section]` of an INI file.
fn section(text: &str, wanted: &str) -> Vec<(String, String)> {
    let mut inside = false;
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = name.trim() == wanted;
            continue;
        }
        if inside && let Some((k, v)) = line.split_once('=') {
            out.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    out
}

fn home_file(var: &str, rel: &str) -> Option<String> {
    let path = match std::env::var_os(var) {
        Some(p) => std::path::PathBuf::from(p),
        None => directories::BaseDirs::new()?.home_dir().join(rel),
    };
    std::fs::read_to_string(path).ok()
}

/// The S3 settings the shared files give for the current profile.
pub(super) fn credentials() -> Vec<(AmazonS3ConfigKey, String)> {
    let profile = std::env::var("AWS_PROFILE").unwrap_or_else(|_| "default".into());
    let mut out = Vec::new();
    if let Some(text) = home_file("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials") {
        for (k, v) in section(&text, &profile) {
            let key = match k.as_str() {
                "aws_access_key_id" => AmazonS3ConfigKey::AccessKeyId,
                "aws_secret_access_key" => AmazonS3ConfigKey::SecretAccessKey,
                "aws_session_token" => AmazonS3ConfigKey::Token,
                _ => continue,
            };
            out.push((key, v));
        }
    }
    if std::env::var_os("AWS_REGION").is_none() && std::env::var_os("AWS_DEFAULT_REGION").is_none()
        && let Some(text) = home_file("AWS_CONFIG_FILE", ".aws/config")
    {
        let name = if profile == "default" { profile.clone() } else { format!("profile {profile}") };
        for (k, v) in section(&text, &name) {
            match k.as_str() {
                "region" => out.push((AmazonS3ConfigKey::Region, v)),
                "endpoint_url" => out.push((AmazonS3ConfigKey::Endpoint, v)),
                _ => {}
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn sections_are_read_by_name() {
        let text = "[default]\naws_access_key_id = A\n# c\n[profile x]\nregion = eu-west-1\n[other]\naws_access_key_id=B\n";
        assert_eq!(super::section(text, "default"), vec![("aws_access_key_id".to_string(), "A".to_string())]);
        assert_eq!(super::section(text, "other"), vec![("aws_access_key_id".to_string(), "B".to_string())]);
        assert_eq!(super::section(text, "profile x"), vec![("region".to_string(), "eu-west-1".to_string())]);
        assert!(super::section(text, "missing").is_empty());
    }
}
