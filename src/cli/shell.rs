//! What a package installs from the clap definition itself: shell completions (`steward completions
//! SHELL`, clap_complete) and the man pages (`steward man-pages DIR`, hidden, clap_mangen: `steward.1`
//! and one `steward-SUBCOMMAND.1` per subcommand). scripts/package calls both.

use std::path::PathBuf;

use clap::{Args, CommandFactory, ValueEnum};

use super::{Cli, Failure, Outcome};

/// Shells whose completion scripts Steward writes.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Elvish,
    Powershell,
}

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    pub shell: Shell,
}

#[derive(Args, Debug)]
pub struct ManPagesArgs {
    /// Directory to write steward.1 and steward-SUBCOMMAND.1 into (created if missing).
    pub dir: PathBuf,
}

/// Prints the completion script for a shell on stdout.
pub fn completions(a: &CompletionsArgs) -> Outcome {
    use clap_complete::Shell as S;
    let shell = match a.shell {
        Shell::Bash => S::Bash,
        Shell::Zsh => S::Zsh,
        Shell::Fish => S::Fish,
        Shell::Elvish => S::Elvish,
        Shell::Powershell => S::PowerShell,
    };
    clap_complete::generate(shell, &mut Cli::command(), "steward", &mut std::io::stdout());
    Ok(())
}

/// Writes the man pages into a directory.
pub fn man_pages(a: &ManPagesArgs) -> Outcome {
    let fail = |e: std::io::Error| Failure::from(format!("{}: {e}", a.dir.display()));
    std::fs::create_dir_all(&a.dir).map_err(fail)?;
    clap_mangen::generate_to(Cli::command(), &a.dir).map_err(fail)?;
    Ok(())
}
