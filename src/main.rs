//! The `tarjim` command line: a thin layer over the library that reads input,
//! prints results, renders progress and chooses the exit code.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    match cli::run() {
        Ok(code) => code,
        Err(err) => {
            eprintln!("tarjim: {err:#}");
            ExitCode::from(2)
        }
    }
}
