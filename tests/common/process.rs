//! Running a child process to its end with a timeout, its output collected, for the tests
//! that drive real clients and Kafka's tools.

use std::io::{Read, Write};
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// One finished (or killed) process: its exit status, what it printed, how long it took.
pub struct Run {
    /// None when it was killed at the timeout.
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
    /// The command line, for messages.
    pub command: String,
    pub elapsed: Duration,
}

impl Run {
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    /// The command, its exit, and the tails of its output: what a failure message shows.
    pub fn report(&self) -> String {
        let status = match self.status {
            Some(status) => status.to_string(),
            None => "killed at its timeout".to_string(),
        };
        format!(
            "$ {}\nexit: {status} after {:.1} s\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.command,
            self.elapsed.as_secs_f64(),
            tail(&self.stdout, 8_000),
            tail(&self.stderr, 16_000)
        )
    }
}

/// Runs `command` to its end (killing it after `timeout`), feeding it `stdin` (or nothing),
/// collecting both outputs on threads so a chatty process never blocks on a full pipe.
pub fn run(command: &mut Command, stdin: Option<&[u8]>, timeout: Duration) -> Run {
    let shown = format!(
        "{} {}",
        command.get_program().to_string_lossy(),
        command.get_args().map(|a| a.to_string_lossy()).collect::<Vec<_>>().join(" ")
    );
    let started = Instant::now();
    command
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            return Run {
                status: None,
                stdout: String::new(),
                stderr: format!("spawn failed: {e}"),
                command: shown,
                elapsed: started.elapsed(),
            };
        }
    };
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("piped stdin");
        let input = input.to_vec();
        // Written on a thread: a process that stops reading must not block us.
        thread::spawn(move || {
            let _ = pipe.write_all(&input);
        });
    }
    let mut out_pipe = child.stdout.take().expect("piped stdout");
    let mut err_pipe = child.stderr.take().expect("piped stderr");
    let out_reader = thread::spawn(move || {
        let mut s = String::new();
        let _ = out_pipe.read_to_string(&mut s);
        s
    });
    let err_reader = thread::spawn(move || {
        let mut s = String::new();
        let _ = err_pipe.read_to_string(&mut s);
        s
    });
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => thread::sleep(Duration::from_millis(20)),
            Err(_) => break None,
        }
    };
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    Run { status, stdout, stderr, command: shown, elapsed: started.elapsed() }
}

/// The last `max` characters of `text`, marked as cut when they are not all of it.
pub fn tail(text: &str, max: usize) -> String {
    let count = text.chars().count();
    if count <= max {
        return text.to_string();
    }
    let kept: String = text.chars().skip(count - max).collect();
    format!("[... {} characters cut ...]\n{kept}", count - max)
}
