//! The `tarjim` command line: a thin layer over the library that reads input,
//! prints results, renders progress and chooses the exit code.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    keep_freed_memory();
    match cli::run() {
        Ok(code) => code,
        Err(err) => {
            // The library's errors carry their cause in their own message and
            // expose no `source()`, so `{:#}` adds only the contexts the
            // command line attached: each cause is printed once.
            eprintln!("tarjim: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// Every decoding step allocates and frees buffers of the same sizes, up to
/// 8 MB of logits. glibc serves the large ones with fresh `mmap`s, paid again
/// in page faults at every step; served from the heap and kept there, they are
/// reused instead.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_freed_memory() {
    // SAFETY: `mallopt` only changes allocator settings; no other thread runs yet.
    unsafe {
        libc::mallopt(libc::M_MMAP_MAX, 0);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_freed_memory() {}
