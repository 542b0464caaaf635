//! Quiet exits when standard output is a closed pipe (`dbn_info FILE | head`).
//!
//! Rust ignores `SIGPIPE`, so a write to a pipe whose reader has gone fails with
//! `BrokenPipe`: `println!` panics on it, and `write!(stdout, ..)?` returns it as an
//! error. Neither is a failure of the program: the reader simply wanted no more. Every
//! example calls [`exit_quietly_on_closed_pipe`] first, and those that write through
//! `?` pass their result through [`ignore_closed_pipe`].

use std::io::ErrorKind;

/// Installs a panic hook that ends the process with status 0, printing nothing, when
/// the panic is `println!`'s "failed printing to stdout" on a closed pipe; other panics
/// go to the hook that was installed before.
pub fn exit_quietly_on_closed_pipe() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if is_closed_pipe_message(message) {
            std::process::exit(0);
        }
        previous(info);
    }));
}

/// Whether a panic message is the one `print!`/`println!` raise on a closed stdout.
#[must_use]
pub fn is_closed_pipe_message(message: &str) -> bool {
    message.starts_with("failed printing to stdout") && message.contains("Broken pipe")
}

/// Whether `err` (or any error in its chain) is an IO error of kind `BrokenPipe`.
#[must_use]
pub fn is_closed_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == ErrorKind::BrokenPipe)
    })
}

/// `Ok(())` when `result` failed only because stdout was closed; `result` otherwise.
///
/// # Errors
/// The error of `result`, unless it is a closed pipe.
pub fn ignore_closed_pipe(result: anyhow::Result<()>) -> anyhow::Result<()> {
    match result {
        Err(e) if is_closed_pipe(&e) => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_a_closed_pipe() {
        assert!(is_closed_pipe_message(
            "failed printing to stdout: Broken pipe (os error 32)"
        ));
        assert!(!is_closed_pipe_message("index out of bounds"));
        let e = anyhow::Error::new(std::io::Error::from(ErrorKind::BrokenPipe)).context("writing");
        assert!(is_closed_pipe(&e));
        assert!(ignore_closed_pipe(Err(e)).is_ok());
        let other = anyhow::Error::new(std::io::Error::from(ErrorKind::NotFound));
        assert!(ignore_closed_pipe(Err(other)).is_err());
    }
}
