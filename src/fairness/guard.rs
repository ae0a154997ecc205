//! The Parquet library can panic on a corrupted file (e.g. parquet 60 asserts "column start and length
//! should not be negative" on a damaged footer; found by tests/fuzz_parsers.rs). Every call into it
//! runs through [`guarded`], which turns such a panic into an error naming the file, and keeps the
//! panic message off the terminal (a quiet flag per thread, read by a panic hook installed once).

use std::cell::Cell;
use std::panic::AssertUnwindSafe;
use std::sync::Once;

thread_local! {
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

static HOOK: Once = Once::new();

/// Makes panics on this thread silent while `f` runs (for worker threads inside a guarded call).
pub(crate) fn quietly<T>(f: impl FnOnce() -> T) -> T {
    install();
    let before = QUIET.with(|q| q.replace(true));
    let out = f();
    QUIET.with(|q| q.set(before));
    out
}

fn install() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(|q| q.get()) {
                previous(info);
            }
        }));
    });
}

/// Runs `f`; a panic inside becomes `Err` with the panic's message.
pub(crate) fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    quietly(|| std::panic::catch_unwind(AssertUnwindSafe(f))).map_err(|p| {
        p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned()).unwrap_or_else(|| "unknown failure".into())
    })
}

/// [`guarded`] for a Parquet reading step of `file`: a panic becomes the one error every reader gives.
pub(crate) fn parquet<T>(file: &str, f: impl FnOnce() -> Result<T, super::FairnessError>) -> Result<T, super::FairnessError> {
    guarded(f).map_err(|m| super::FairnessError::io(file, format!("not a readable Parquet file (the Parquet reader stopped: {m})")))?
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_panic_becomes_an_error_and_values_pass_through() {
        assert_eq!(super::guarded(|| 3), Ok(3));
        let e = super::guarded(|| -> u8 { panic!("column start and length should not be negative") }).unwrap_err();
        assert_eq!(e, "column start and length should not be negative");
    }
}
