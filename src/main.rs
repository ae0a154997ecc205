//! The binary: the command line, which opens the window (the `ui` face) when no subcommand is given.

fn main() -> std::process::ExitCode {
    steward::diag::memory::tune();
    steward::cli::main(steward::ui::run)
}
