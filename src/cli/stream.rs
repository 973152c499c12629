//! Standard input read as it arrives, in chunks: a line typed on an open pipe
//! is handed on at once instead of after the end of the input.

use std::io::BufRead;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::{CHUNK_LINES, check_line};

/// How long a chunk waits for one more line once a line has come.
const PAUSE: Duration = Duration::from_millis(50);
/// How long a chunk waits for more lines after its first one, at most.
const GATHER: Duration = Duration::from_millis(250);

/// What the reading thread sends.
enum Message {
    Line(Line),
    Failed(std::io::Error),
}

/// One input line: its text, or why it is not valid UTF-8.
type Line = Result<String, String>;

/// Reads stdin on a thread of its own and calls `each` with chunks of lines
/// (the first line's 1-based number and the lines, each valid UTF-8 or why
/// not), in order. A chunk ends at [`CHUNK_LINES`] lines, when no line came for
/// [`PAUSE`], or [`GATHER`] after its first line: input that arrives all at once
/// (a file) still fills whole chunks. With `whole`, stdin is one chunk, read to
/// its end. A read error is reported on stderr and ends the input; the
/// result says whether one happened.
pub(super) fn stdin_chunks(
    whole: bool,
    each: &mut dyn FnMut(usize, &[Line]) -> anyhow::Result<()>,
) -> anyhow::Result<bool> {
    let (send, receive) = mpsc::channel();
    // The thread ends at the end of stdin, or with the process.
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        loop {
            let mut line = Vec::new();
            let message = match stdin.read_until(b'\n', &mut line) {
                Ok(0) => return,
                Ok(_) => {
                    let line = line.strip_suffix(b"\n").unwrap_or(&line);
                    Message::Line(check_line(line.strip_suffix(b"\r").unwrap_or(line)))
                }
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(err) => Message::Failed(err),
            };
            let failed = matches!(message, Message::Failed(_));
            if send.send(message).is_err() || failed {
                return;
            }
        }
    });
    let mut failed = false;
    let mut number = 1;
    let mut take = |message: Message, lines: &mut Vec<Line>| match message {
        Message::Line(line) => lines.push(line),
        Message::Failed(err) => {
            eprintln!("<stdin>: cannot read: {err}");
            failed = true;
        }
    };
    while let Ok(first) = receive.recv() {
        let mut lines = Vec::new();
        take(first, &mut lines);
        if whole {
            for message in receive.iter() {
                take(message, &mut lines);
            }
        } else {
            let started = Instant::now();
            while lines.len() < CHUNK_LINES {
                let wait = PAUSE.min(GATHER.saturating_sub(started.elapsed()));
                match receive.recv_timeout(wait) {
                    Ok(message) => take(message, &mut lines),
                    Err(_) => break,
                }
            }
        }
        if !lines.is_empty() {
            each(number, &lines)?;
            number += lines.len();
        }
    }
    Ok(failed)
}
