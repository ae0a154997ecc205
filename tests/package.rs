//! The Debian package (issue 16). scripts/package builds it from the debug binary the test run already
//! built (`PROFILE=dev`, no second build; the release package is the same recipe), then:
//! - `dpkg-deb -c` lists what a desktop application installs (binary, desktop entry, metainfo, icons in
//!   every hicolor size, man pages, completions for three shells, copyright and licence texts);
//! - the desktop entry and metainfo inside the package pass `desktop-file-validate` and
//!   `appstreamcli validate`;
//! - installed with `dpkg -i` when running as root (CI), else extracted into a scratch root, the
//!   installed `steward` answers `--version` and `models --json` with a temporary home, `man` finds the
//!   page, and bash loads the completion; as root the package is removed again at the end.
//! A missing tool fails the test with what to install (scripts/test installs them).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const ID: &str = "io.github.stewardconsole.Steward";

fn run(cmd: &mut Command) -> Output {
    let what = format!("{cmd:?}");
    let o = cmd.output().unwrap_or_else(|e| panic!("{what}: {e} (scripts/test installs the packaging tools)"));
    assert!(o.status.success(), "{what} failed ({}):\n{}\n{}", o.status, String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    o
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn is_root() -> bool {
    text(&run(Command::new("id").arg("-u"))).trim() == "0"
}

/// Builds the package; returns its path.
fn build_deb() -> PathBuf {
    let o = run(Command::new(common::repo().join("scripts/package")).env("PROFILE", "dev").env("STEWARD_PACKAGE_NO_BUILD", "1"));
    let path = PathBuf::from(text(&o).trim());
    assert!(path.is_file(), "scripts/package printed {path:?}");
    path
}

/// Runs the installed binary `bin` with a temporary home.
fn check_installed(bin: &Path, man_args: &[&str], bash_completion: &Path) {
    let v = text(&run(Command::new(bin).arg("--version")));
    assert_eq!(v.trim(), format!("steward {}", env!("CARGO_PKG_VERSION")));
    let home = tempfile::tempdir().unwrap();
    let o = run(Command::new(bin).args(["--home", home.path().to_str().unwrap(), "models", "--json"]));
    let models: serde_json::Value = serde_json::from_slice(&o.stdout).expect("models --json is JSON");
    assert!(models["models"].as_array().is_some_and(|m| m.iter().any(|m| m["name"] == "income-classifier")), "the sample workspace: {models}");
    // man finds the page (and the subcommands' pages).
    let page = text(&run(Command::new("man").args(man_args).args(["-w", "steward"])));
    assert!(page.trim().ends_with("man1/steward.1.gz"), "{page}");
    let sub = text(&run(Command::new("man").args(man_args).args(["-w", "steward-promote"])));
    assert!(sub.trim().ends_with("man1/steward-promote.1.gz"), "{sub}");
    let shown = text(&run(Command::new("man").args(man_args).arg("steward").env("MANWIDTH", "100").env("MANPAGER", "cat").env("PAGER", "cat")));
    assert!(shown.contains("steward") && shown.contains("promote") && shown.contains("--registry"), "{shown}");
    // bash loads the completion and registers it for `steward`.
    let c = text(&run(Command::new("bash").arg("-c").arg(format!("source {} && complete -p steward", bash_completion.display()))));
    assert!(c.contains("steward"), "{c}");
}

#[test]
fn the_deb_installs_a_desktop_application_that_runs() {
    let deb = build_deb();
    let listing = text(&run(Command::new("dpkg-deb").arg("-c").arg(&deb)));
    let files: Vec<&str> = listing.lines().filter_map(|l| l.split_whitespace().nth(5)).collect();
    let mut want = vec![
        "./usr/bin/steward".to_string(),
        format!("./usr/share/applications/{ID}.desktop"),
        format!("./usr/share/metainfo/{ID}.metainfo.xml"),
        format!("./usr/share/icons/hicolor/scalable/apps/{ID}.svg"),
        "./usr/share/man/man1/steward.1.gz".into(),
        "./usr/share/man/man1/steward-promote.1.gz".into(),
        "./usr/share/bash-completion/completions/steward".into(),
        "./usr/share/zsh/vendor-completions/_steward".into(),
        "./usr/share/fish/vendor_completions.d/steward.fish".into(),
        "./usr/share/doc/steward/copyright".into(),
        "./usr/share/doc/steward/THIRD-PARTY.txt".into(),
        "./usr/share/doc/steward/licenses/DejaVu-Bitstream-Vera.txt".into(),
        "./usr/share/doc/steward/licenses/Ubuntu-Font-Licence-1.0.txt".into(),
    ];
    for size in [16, 22, 24, 32, 48, 64, 128, 256, 512] {
        want.push(format!("./usr/share/icons/hicolor/{size}x{size}/apps/{ID}.png"));
    }
    for w in &want {
        assert!(files.contains(&w.as_str()), "{w} is not in the package:\n{listing}");
    }
    let control = text(&run(Command::new("dpkg-deb").arg("-f").arg(&deb).args(["Package", "Version", "Depends"])));
    assert!(control.contains("Package: steward") && control.contains(&format!("Version: {}", env!("CARGO_PKG_VERSION"))), "{control}");
    assert!(control.contains("libc6"), "Depends computed from the binary: {control}");

    // What the package holds validates (not only the sources).
    let root = tempfile::tempdir().unwrap();
    run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(root.path()));
    let r = root.path();
    run(Command::new("desktop-file-validate").arg(r.join(format!("usr/share/applications/{ID}.desktop"))));
    run(Command::new("appstreamcli").args(["validate", "--no-net"]).arg(r.join(format!("usr/share/metainfo/{ID}.metainfo.xml"))));
    let png = std::fs::read(r.join(format!("usr/share/icons/hicolor/256x256/apps/{ID}.png"))).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(u32::from_be_bytes([png[16], png[17], png[18], png[19]]), 256, "the 256 px icon is 256 px wide");

    if is_root() {
        // CI runs as root: install into the machine, as a user would.
        run(Command::new("dpkg").arg("-i").arg(&deb));
        let installed = text(&run(Command::new("dpkg-query").args(["-W", "-f", "${Status} ${Version}", "steward"])));
        let result = std::panic::catch_unwind(|| {
            assert!(installed.starts_with("install ok installed"), "{installed}");
            check_installed(Path::new("/usr/bin/steward"), &[], Path::new("/usr/share/bash-completion/completions/steward"));
        });
        run(Command::new("dpkg").args(["-r", "steward"]));
        assert!(!Path::new("/usr/bin/steward").exists(), "removed again");
        if let Err(e) = result {
            std::panic::resume_unwind(e);
        }
    } else {
        let man = r.join("usr/share/man");
        check_installed(&r.join("usr/bin/steward"), &["-M", man.to_str().unwrap()], &r.join("usr/share/bash-completion/completions/steward"));
    }
}
