//! Certificates made with the openssl command and a TLS-terminating proxy (tests/tools/tls_proxy.py) in
//! front of a loopback server, for the TLS tests and the fault matrix.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

pub fn openssl(dir: &Path, args: &[&str]) {
    let o = Command::new("openssl").args(args).current_dir(dir).output().expect("the openssl command (scripts/test installs it)");
    assert!(o.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&o.stderr));
}

/// A private CA, a server certificate for 127.0.0.1 and a client certificate (cert + key in one file).
pub fn certificates(dir: &Path) {
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    let mut ca = vec!["req", "-x509", "-days", "2", "-subj", "/CN=Steward test private CA", "-keyout", "ca.key", "-out", "ca.pem"];
    ca.extend(ec);
    ca.extend(["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
    openssl(dir, &ca);
    for (name, ext) in [("server", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"), ("client", "extendedKeyUsage=clientAuth\n")] {
        let mut req = vec!["req", "-subj"];
        let subj = format!("/CN=steward-{name}");
        req.push(&subj);
        let (key, csr) = (format!("{name}.key"), format!("{name}.csr"));
        req.extend(["-keyout", &key, "-out", &csr]);
        req.extend(ec);
        openssl(dir, &req);
        std::fs::write(dir.join(format!("{name}.ext")), ext).unwrap();
        let (ext_file, pem) = (format!("{name}.ext"), format!("{name}.pem"));
        openssl(dir, &["x509", "-req", "-in", &csr, "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2", "-extfile", &ext_file, "-out", &pem]);
    }
    let both = [std::fs::read(dir.join("client.pem")).unwrap(), std::fs::read(dir.join("client.key")).unwrap()].concat();
    std::fs::write(dir.join("client-with-key.pem"), both).unwrap();
}

pub struct Proxy {
    child: Child,
    pub url: String,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn proxy(dir: &Path, upstream: &str, client_ca: bool) -> Proxy {
    proxy_with(dir, "server", upstream, client_ca)
}

/// A self-signed certificate for 127.0.0.1 (`self.pem`, `self.key`): no CA vouches for it.
pub fn self_signed(dir: &Path) {
    openssl(
        dir,
        &[
            "req", "-x509", "-days", "2", "-subj", "/CN=steward-self-signed", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
            "self.key", "-out", "self.pem", "-addext", "subjectAltName=IP:127.0.0.1",
        ],
    );
}

/// The TLS proxy with the certificate `NAME.pem` / `NAME.key` of `dir`.
pub fn proxy_with(dir: &Path, name: &str, upstream: &str, client_ca: bool) -> Proxy {
    let up = upstream.trim_start_matches("http://").trim_end_matches('/');
    let mut cmd = Command::new("python3");
    cmd.arg(super::repo().join("tests/tools/tls_proxy.py")).arg(dir.join(format!("{name}.pem"))).arg(dir.join(format!("{name}.key"))).arg(up);
    if client_ca {
        cmd.arg(dir.join("ca.pem"));
    }
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("python3");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let port: u16 = line.trim().parse().unwrap_or_else(|_| panic!("proxy did not start: {line:?}"));
    Proxy { child, url: format!("https://127.0.0.1:{port}") }
}

