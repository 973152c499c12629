//! Serves a directory as the Hugging Face hub serves repositories (see
//! `server.rs`), for `.ci/run` and for trying `tarjim` against a local hub:
//!
//! ```sh
//! cargo run --example hub_server -- ROOT [--token TOKEN] [--drop-after BYTES] [--wrong-hash] [--ignore-range]
//! ```
//!
//! `ROOT` holds `OWNER/NAME/REVISION/FILE`. The server listens on a free port
//! of 127.0.0.1, prints its URL (the value for `HF_ENDPOINT`) on stdout,
//! logs each request on stderr and runs until it is killed.

// The integration tests include server.rs too (`tests/it/hub.rs`) and use what
// this program does not (`Server::requests_read`).
#[allow(dead_code)]
mod server;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use server::{Options, Server};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("hub_server: {message}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let mut root = None;
    let mut options = Options {
        root: PathBuf::new(),
        token: None,
        drop_after: None,
        wrong_hash: false,
        ignore_range: false,
        on_request: Box::new(|served| eprintln!("hub_server: {served}")),
    };
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--token" => options.token = Some(value("--token")?),
            "--drop-after" => {
                let bytes = value("--drop-after")?;
                options.drop_after =
                    Some(bytes.parse().map_err(|_| format!("--drop-after: not a byte count: {bytes}"))?);
            }
            "--wrong-hash" => options.wrong_hash = true,
            "--ignore-range" => options.ignore_range = true,
            flag if flag.starts_with("--") => return Err(format!("unknown option {flag}")),
            _ if root.is_none() => root = Some(PathBuf::from(arg)),
            _ => return Err(format!("unexpected argument {arg}")),
        }
    }
    options.root =
        root.ok_or("usage: hub_server ROOT [--token TOKEN] [--drop-after BYTES] [--wrong-hash] [--ignore-range]")?;
    if !options.root.is_dir() {
        return Err(format!("{}: not a directory", options.root.display()));
    }
    let server = Server::start(options).map_err(|e| format!("cannot listen on 127.0.0.1: {e}"))?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "{}", server.url()).and_then(|()| stdout.flush()).map_err(|e| format!("stdout: {e}"))?;
    loop {
        std::thread::park();
    }
}
