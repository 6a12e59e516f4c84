//! The real Kafka clients the integration tests drive: the Python clients in `.venv` and
//! kcat, installed once per test binary by `scripts/install-test-clients.sh`, and kafkajs in
//! `.node/`, installed by `scripts/install-node-clients.sh`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn venv_python() -> PathBuf {
    repo_root().join(".venv/bin/python")
}

/// Install the clients once per test binary, unless `.venv/.seedlog-clients-ok` already
/// lists every pin of tests/clients/requirements.txt.
pub fn ensure_clients() {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    ensure_installed(&INSTALLED, "the test clients", "scripts/install-test-clients.sh", clients_installed);
}

/// Runs `script` once per test binary (guarded by `once`) unless `installed` holds already,
/// and checks `installed` after it; panics with the reason otherwise.
fn ensure_installed(once: &OnceLock<Result<(), String>>, what: &str, script: &str, installed: fn(&Path) -> bool) {
    let result = once.get_or_init(|| {
        let root = repo_root();
        if installed(&root) {
            return Ok(());
        }
        eprintln!("real_clients: installing {what} ({script})");
        let status = Command::new("bash")
            .arg(script)
            .current_dir(&root)
            .status()
            .map_err(|e| format!("could not run {script}: {e}"))?;
        if !status.success() {
            return Err(format!("{script} failed ({status}); see its output above"));
        }
        if !installed(&root) {
            return Err(format!("{script} succeeded but what it installs is missing or stale"));
        }
        Ok(())
    });
    if let Err(message) = result {
        panic!("{message}");
    }
}

fn clients_installed(root: &Path) -> bool {
    let Ok(marker) = fs::read_to_string(root.join(".venv/.seedlog-clients-ok")) else { return false };
    let Ok(requirements) = fs::read_to_string(root.join("tests/clients/requirements.txt")) else { return false };
    venv_python().exists()
        && requirements
            .lines()
            .map(str::trim)
            .filter(|line| !line.starts_with('#') && line.contains("=="))
            .all(|pin| marker.lines().any(|line| line.trim() == pin))
}

/// The `node` that runs tests/clients/kafkajs_client.js (on PATH; checked by the installer).
pub fn node() -> PathBuf {
    PathBuf::from("node")
}

/// Install kafkajs once per test binary, unless `.node/` already holds the pinned lock file
/// (tests/clients/node/package-lock.json) with the installer's marker.
pub fn ensure_node_clients() {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    ensure_installed(&INSTALLED, "kafkajs", "scripts/install-node-clients.sh", node_clients_installed);
}

/// The same test as the installer's: marker there, kafkajs there, and the installed
/// package.json and lock file the same as the pinned ones (a changed pin reinstalls).
fn node_clients_installed(root: &Path) -> bool {
    let installed = root.join(".node");
    let pinned = root.join("tests/clients/node");
    let same = |name: &str| match (fs::read(installed.join(name)), fs::read(pinned.join(name))) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    installed.join(".seedlog-node-clients-ok").exists()
        && installed.join("node_modules/kafkajs/package.json").exists()
        && same("package.json")
        && same("package-lock.json")
}
