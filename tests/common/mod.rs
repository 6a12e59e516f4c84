//! A real `seedlog broker` process on a free loopback port, for integration tests.
#![allow(clippy::disallowed_methods, clippy::disallowed_types, dead_code)] // test scaffolding

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub mod clients;
pub mod kafka;
pub mod process;

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A fresh, empty directory under the system temp dir, unique to this test process.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("seedlog-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A broker process; killed (SIGKILL) when dropped.
pub struct BrokerProcess {
    pub child: Child,
    pub port: u16,
    /// Where its stdout and stderr go, when started with [`BrokerProcess::start_logged`].
    pub output: Option<PathBuf>,
}

impl BrokerProcess {
    /// Starts `seedlog broker` on `port` with its data in `dir` and waits until it accepts.
    pub fn start(dir: &Path, port: u16) -> BrokerProcess {
        Self::spawn(dir, port, &[], None)
    }

    /// Like [`BrokerProcess::start`], with `--override key=value` for each of `overrides`,
    /// and the broker's stdout and stderr appended to `output` (see [`BrokerProcess::output_tail`]).
    pub fn start_logged(dir: &Path, port: u16, overrides: &[&str], output: &Path) -> BrokerProcess {
        Self::spawn(dir, port, overrides, Some(output))
    }

    fn spawn(dir: &Path, port: u16, overrides: &[&str], output: Option<&Path>) -> BrokerProcess {
        let (stdout, stderr) = match output {
            Some(path) => {
                let file = std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
                (Stdio::from(file.try_clone().unwrap()), Stdio::from(file))
            }
            None => (Stdio::null(), Stdio::null()),
        };
        let mut command = Command::new(env!("CARGO_BIN_EXE_seedlog"));
        command
            .args(["broker", "--override"])
            .arg(format!("listeners=PLAINTEXT://127.0.0.1:{port}"))
            .arg("--override")
            .arg(format!("log.dirs={}", dir.display()));
        for extra in overrides {
            command.args(["--override", extra]);
        }
        let child = command.stdin(Stdio::null()).stdout(stdout).stderr(stderr).spawn().unwrap();
        let mut broker = BrokerProcess { child, port, output: output.map(Path::to_path_buf) };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = broker.child.try_wait() {
                panic!("the broker exited ({status}) before accepting connections\n{}", broker.output_tail());
            }
            assert!(Instant::now() < deadline, "broker did not start\n{}", broker.output_tail());
            std::thread::sleep(Duration::from_millis(20));
        }
        broker
    }

    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Stops the broker the way an operator does (SIGTERM: it flushes and checkpoints every
    /// log, then exits) and waits for it; panics when it has not exited after 30 s.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let sent = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(sent.success(), "kill -TERM {} failed", self.child.id());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the broker did not exit within 30 s of SIGTERM\n{}",
                self.output_tail()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The last lines of the broker's output, when it has an output file.
    pub fn output_tail(&self) -> String {
        match &self.output {
            Some(path) => {
                let text = std::fs::read_to_string(path).unwrap_or_default();
                format!("--- seedlog broker output (tail of {}) ---\n{}", path.display(), process::tail(&text, 6_000))
            }
            None => String::from("(the broker's output was not kept)"),
        }
    }
}

impl Drop for BrokerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
