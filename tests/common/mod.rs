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
        Self::spawn(dir, port, None, &[], None)
    }

    /// Like [`BrokerProcess::start`], with `--override key=value` for each of `overrides`,
    /// and the broker's stdout and stderr appended to `output` (see [`BrokerProcess::output_tail`]).
    pub fn start_logged(dir: &Path, port: u16, overrides: &[&str], output: &Path) -> BrokerProcess {
        Self::spawn(dir, port, None, overrides, Some(output))
    }

    /// `count` brokers forming one cluster, as README's "A 3-node cluster on loopback":
    /// node ids 1..=count, each broker and controller (KRaft combined mode) with the
    /// controllers as the quorum's voters, data in `parent/node-<id>`, output appended to
    /// `parent/node-<id>.log`, and `overrides` given to each. Returns once each accepts
    /// connections on its broker port (the quorum may still be electing).
    pub fn start_cluster(parent: &Path, count: usize, overrides: &[&str]) -> Vec<BrokerProcess> {
        let mut ports: Vec<u16> = Vec::new();
        while ports.len() < 2 * count {
            let port = free_port();
            if !ports.contains(&port) {
                ports.push(port);
            }
        }
        let voters: Vec<String> = (0..count).map(|i| format!("{}@127.0.0.1:{}", i + 1, ports[2 * i + 1])).collect();
        let node_overrides = |id: usize| {
            vec![
                format!("node.id={id}"),
                "process.roles=broker,controller".to_string(),
                format!("controller.quorum.voters={}", voters.join(",")),
                "controller.listener.names=CONTROLLER".to_string(),
            ]
        };
        (1..=count)
            .map(|id| {
                let mut all = node_overrides(id);
                all.extend(overrides.iter().map(|o| o.to_string()));
                let all: Vec<&str> = all.iter().map(String::as_str).collect();
                let output = parent.join(format!("node-{id}.log"));
                let (port, controller_port) = (ports[2 * (id - 1)], ports[2 * (id - 1) + 1]);
                Self::spawn(&parent.join(format!("node-{id}")), port, Some(controller_port), &all, Some(&output))
            })
            .collect()
    }

    fn spawn(
        dir: &Path,
        port: u16,
        controller_port: Option<u16>,
        overrides: &[&str],
        output: Option<&Path>,
    ) -> BrokerProcess {
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
            .arg(match controller_port {
                Some(controller) => {
                    format!("listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}")
                }
                None => format!("listeners=PLAINTEXT://127.0.0.1:{port}"),
            })
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
