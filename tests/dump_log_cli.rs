//! `seedlog dump-log` on a log written to real files.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use seedlog::broker::partition::SINGLE_BROKER_LEADER_EPOCH;
use seedlog::runtime::FileDisk;
use seedlog::storage::record_batch::build::{batch, ProducerFields, Record};
use seedlog::storage::{Log, LogConfig};

#[allow(clippy::disallowed_methods)] // test scaffolding: a scratch directory
fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("seedlog-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[tokio::test(flavor = "multi_thread")]
async fn dump_log_prints_each_batch_of_a_segment() {
    let dir = scratch_dir("dump-log");
    let mut log = Log::open(Arc::new(FileDisk::new()), dir.clone(), LogConfig::default(), 0).await.unwrap();
    for i in 0..3 {
        let value = format!("value-{i}");
        let records = [Record { timestamp_ms: 1_000 + i, key: None, value: Some(value.as_bytes()) }];
        log.append(0, batch(&records, ProducerFields::NONE), SINGLE_BROKER_LEADER_EPOCH).await.unwrap();
    }
    log.close(0).await.unwrap();

    let segment = dir.join("00000000000000000000.log");
    let output = Command::new(env!("CARGO_BIN_EXE_seedlog")).arg("dump-log").arg(&segment).output().unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    let batches: Vec<&str> = stdout.lines().filter(|l| l.starts_with("baseOffset:")).collect();
    assert_eq!(batches.len(), 3, "{stdout}");
    assert!(batches[2].starts_with("baseOffset: 2 lastOffset: 2 count: 1"));
    assert!(batches.iter().all(|b| b.ends_with("isvalid: true")));
    assert!(batches.iter().all(|b| b.contains(" partitionLeaderEpoch: 0 ")), "{stdout}");

    let missing = Command::new(env!("CARGO_BIN_EXE_seedlog"))
        .args(["dump-log", "/nonexistent/00000000000000000000.log"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/00000000000000000000.log"));
    #[allow(clippy::disallowed_methods)]
    let _ = std::fs::remove_dir_all(&dir);
}
