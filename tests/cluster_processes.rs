//! A production cluster: three `seedlog broker` processes on loopback, each broker and
//! controller (KRaft combined mode), serve a topic of three replicas with
//! `min.insync.replicas=2` to confluent-kafka's idempotent acks=all producer. While it
//! writes, the test SIGKILLs the partition's leader, checks with kcat that another broker
//! took over, and restarts the killed one. Afterwards every acknowledged record reads back
//! exactly once, at its acknowledged offset, and kcat shows the restarted broker back in the
//! ISR.
//!
//! The clients (`.venv`, kcat) come from `scripts/install-test-clients.sh`, run first when
//! missing.

// Test scaffolding, not broker code: it spawns processes, makes directories and waits on
// the wall clock.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;

use std::collections::BTreeMap;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::clients::{ensure_clients, repo_root, venv_python};
use common::{free_port, scratch_dir};

const TOPIC: &str = "replicated";
const RECORDS: usize = 1500;

/// One node of the cluster: its ports, data directory and (while running) process.
struct Node {
    id: i32,
    broker_port: u16,
    controller_port: u16,
    dir: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

impl Node {
    fn start(&mut self, voters: &str) {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).unwrap();
        let overrides = [
            format!("node.id={}", self.id),
            "process.roles=broker,controller".to_string(),
            format!("controller.quorum.voters={voters}"),
            "controller.listener.names=CONTROLLER".to_string(),
            format!(
                "listeners=PLAINTEXT://127.0.0.1:{},CONTROLLER://127.0.0.1:{}",
                self.broker_port, self.controller_port
            ),
            format!("log.dirs={}", self.dir.display()),
            "min.insync.replicas=2".to_string(),
            "default.replication.factor=3".to_string(),
            // Metadata snapshots on real files: the SIGKILLed node restarts from its own.
            "metadata.log.max.record.bytes.between.snapshots=512".to_string(),
        ];
        let mut command = Command::new(env!("CARGO_BIN_EXE_seedlog"));
        command.arg("broker");
        for o in &overrides {
            command.args(["--override", o]);
        }
        let child = command
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", self.broker_port)).is_err() {
            assert!(Instant::now() < deadline, "node {} did not start\n{}", self.id, self.output());
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn kill(&mut self) {
        let mut child = self.child.take().expect("the node runs");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    fn output(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let start = text.len().saturating_sub(4_000);
        format!("--- node {} ({}) ---\n{}", self.id, self.log.display(), &text[start..])
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A partition's leader and ISR as kcat -L reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PartitionView {
    leader: i32,
    isr: Vec<i32>,
}

fn kcat_partition(bootstrap: &str) -> Option<PartitionView> {
    let output = run(Command::new("kcat").args(["-b", bootstrap, "-L", "-J", "-t", TOPIC, "-m", "5"]));
    if !output.status.success() {
        return None;
    }
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).ok()?;
    let partition = json["topics"].as_array()?.first()?["partitions"].as_array()?.first()?.clone();
    let leader = partition["leader"].as_i64()? as i32;
    let mut isr: Vec<i32> =
        partition["isrs"].as_array()?.iter().filter_map(|r| r["id"].as_i64()).map(|id| id as i32).collect();
    isr.sort_unstable();
    Some(PartitionView { leader, isr })
}

fn run(command: &mut Command) -> Output {
    command.stdin(Stdio::null()).output().unwrap()
}

/// Polls `check` every 200 ms until it returns `Some`, or panics with `what` after `within`.
fn wait_for<T>(within: Duration, what: &str, nodes: &[Node], mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(found) = check() {
            return found;
        }
        if Instant::now() >= deadline {
            let outputs: Vec<String> = nodes.iter().map(Node::output).collect();
            panic!("timed out waiting for {what}\n{}", outputs.join("\n"));
        }
        thread::sleep(Duration::from_millis(200));
    }
}

fn read_acked(path: &Path) -> Vec<(i64, String)> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(v["partition"], 0, "one partition");
            (v["offset"].as_i64().unwrap(), v["value"].as_str().unwrap().to_string())
        })
        .collect()
}

#[test]
fn a_replicated_partition_keeps_every_acknowledged_record_through_its_leaders_sigkill() {
    ensure_clients();
    let root = scratch_dir("cluster");
    std::fs::create_dir_all(&root).unwrap();
    let mut nodes: Vec<Node> = (1..=3)
        .map(|id| Node {
            id,
            broker_port: free_port(),
            controller_port: free_port(),
            dir: root.join(format!("node-{id}")),
            log: root.join(format!("node-{id}.log")),
            child: None,
        })
        .collect();
    let voters: Vec<String> = nodes.iter().map(|n| format!("{}@127.0.0.1:{}", n.id, n.controller_port)).collect();
    let voters = voters.join(",");
    for node in &mut nodes {
        node.start(&voters);
    }
    let bootstrap: Vec<String> = nodes.iter().map(|n| format!("127.0.0.1:{}", n.broker_port)).collect();
    let bootstrap = bootstrap.join(",");

    // The quorum elects, the brokers register: then the topic can have three replicas.
    wait_for(Duration::from_secs(60), "the topic's creation", &nodes, || {
        let created = run(Command::new(env!("CARGO_BIN_EXE_seedlog")).args([
            "topics",
            "--bootstrap-server",
            &bootstrap,
            "--create",
            "--topic",
            TOPIC,
            "--partitions",
            "1",
            "--replication-factor",
            "3",
        ]));
        let text = String::from_utf8_lossy(&created.stderr).to_string() + &String::from_utf8_lossy(&created.stdout);
        (created.status.success() || text.contains("already exists")).then_some(())
    });
    let first = wait_for(Duration::from_secs(30), "a leader with a full ISR", &nodes, || {
        kcat_partition(&bootstrap).filter(|p| p.leader > 0 && p.isr.len() == 3)
    });

    let acked_path = root.join("acked.jsonl");
    let producer = Command::new(venv_python())
        .arg(repo_root().join("tests/clients/cluster_producer.py"))
        .args(["--bootstrap", &bootstrap, "--topic", TOPIC, "--count", &RECORDS.to_string()])
        .arg("--acked")
        .arg(&acked_path)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // Mid-stream: SIGKILL the leader; another ISR member must take over.
    thread::sleep(Duration::from_secs(4));
    let killed = first.leader;
    nodes[(killed - 1) as usize].kill();
    let after_kill = wait_for(Duration::from_secs(30), "a new leader after the SIGKILL", &nodes, || {
        kcat_partition(&bootstrap).filter(|p| p.leader > 0 && p.leader != killed)
    });
    assert!(!after_kill.isr.contains(&killed) || after_kill.isr.len() >= 2, "{after_kill:?}");
    thread::sleep(Duration::from_secs(2));
    nodes[(killed - 1) as usize].start(&voters);

    let finished = producer.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&finished.stderr);
    assert!(finished.status.success(), "the producer failed:\n{stderr}");
    assert!(stderr.contains("failed 0"), "acks=all sends failed:\n{stderr}");
    let acked = read_acked(&acked_path);
    assert_eq!(acked.len(), RECORDS, "every send acknowledged");

    // Every acknowledged record, exactly once, at its acknowledged offset.
    let read = run(Command::new("kcat").args([
        "-b",
        &bootstrap,
        "-C",
        "-t",
        TOPIC,
        "-p",
        "0",
        "-o",
        "beginning",
        "-e",
        "-q",
        "-J",
    ]));
    assert!(read.status.success(), "kcat -C failed: {}", String::from_utf8_lossy(&read.stderr));
    let mut log: BTreeMap<i64, String> = BTreeMap::new();
    for line in String::from_utf8_lossy(&read.stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        log.insert(v["offset"].as_i64().unwrap(), v["payload"].as_str().unwrap_or_default().to_string());
    }
    for (offset, value) in &acked {
        assert_eq!(log.get(offset), Some(value), "acknowledged {value} at offset {offset}");
    }
    let mut seen = BTreeMap::new();
    for (offset, value) in &log {
        if let Some(first) = seen.insert(value.clone(), *offset) {
            panic!("{value} is in the log twice, at {first} and {offset} (idempotence)");
        }
    }

    // The restarted broker catches up and is back in the ISR.
    let healed = wait_for(Duration::from_secs(60), "the restarted broker back in the ISR", &nodes, || {
        kcat_partition(&bootstrap).filter(|p| p.isr.len() == 3)
    });
    assert!(healed.isr.contains(&killed), "{healed:?}");
    println!("leader {killed} killed; {after_kill:?} took over; healed: {healed:?}; {} records acked", acked.len());
}
