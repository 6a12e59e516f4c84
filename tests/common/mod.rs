//! A real `seedlog broker` process on a free loopback port, for integration tests.
#![allow(clippy::disallowed_methods, clippy::disallowed_types, dead_code)] // test scaffolding

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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
}

impl BrokerProcess {
    /// Starts `seedlog broker` on `port` with its data in `dir` and waits until it accepts.
    pub fn start(dir: &Path, port: u16) -> BrokerProcess {
        let child = Command::new(env!("CARGO_BIN_EXE_seedlog"))
            .args(["broker", "--override"])
            .arg(format!("listeners=PLAINTEXT://127.0.0.1:{port}"))
            .arg("--override")
            .arg(format!("log.dirs={}", dir.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "broker did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        BrokerProcess { child, port }
    }

    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for BrokerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
