//! The process's heap and the operating system: glibc's malloc keeps freed memory for reuse, and by
//! default raises its mmap threshold to the largest block freed, after which the analyses' buffers
//! (blocks of up to 4 MiB, per-block cell vectors) come from the heap and stay resident after a job.
//! [`tune`] fixes the threshold, so large buffers are mapped and unmapped on their own; [`release`]
//! returns free heap pages after a job (glibc's `malloc_trim`). Both do nothing on other C libraries.
//! Figures: BENCHMARKS.md, "Startup and footprint".

/// Allocations of this size or more are mapped on their own and returned to the system when freed.
pub const MMAP_THRESHOLD: usize = 256 << 10;

/// Sets glibc's mmap threshold to [`MMAP_THRESHOLD`] (which also stops its dynamic adjustment) and its
/// trim threshold to 1 MiB. Call once, first thing in `main`. `STEWARD_SYSTEM_MALLOC=1` leaves glibc's
/// defaults (for comparing the two, as BENCHMARKS.md does).
pub fn tune() {
    if std::env::var_os("STEWARD_SYSTEM_MALLOC").is_some_and(|v| v == "1") {
        return;
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD as libc::c_int);
        libc::mallopt(libc::M_TRIM_THRESHOLD, (1 << 20) as libc::c_int);
    }
}

/// Returns the heap's free pages to the system (after an analysis has dropped its buffers).
pub fn release() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim is thread-safe and only releases memory the allocator holds free.
    unsafe {
        libc::malloc_trim(0);
    }
}
