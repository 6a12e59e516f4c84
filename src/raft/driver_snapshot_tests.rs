//! The driver's snapshots on disk: the log store deleting below a log start, recovery
//! reconciling the log with the latest snapshot, a node taking one and restarting from it, and
//! a follower that fell behind the leader's log start installing the leader's.

use super::driver::{continue_snapshot, Committed, RaftDriver, RaftDriverConfig, RaftHandle, SnapshotError};
use super::log_store::{metadata_dir, LogStore, CLEANED_FILE, LOG_FILE};
use super::messages::{Entry, EntryKind, NodeId, Offset, SnapshotId};
use super::snapshot_store::{snapshot_file_name, SnapshotStore};
use super::{RaftConfig, Role};
use crate::runtime::{seeded, Disk, MemDisk, OpenMode};
use bytes::Bytes;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

fn entry(offset: Offset, epoch: i32) -> Entry {
    Entry { offset, epoch, kind: EntryKind::Data, payload: Bytes::from(format!("entry {offset}")) }
}

fn mem_disk(seed: u64) -> (MemDisk, Arc<dyn Disk>) {
    let mem = MemDisk::new(seed);
    let disk: Arc<dyn Disk> = Arc::new(mem.clone());
    (mem, disk)
}

#[tokio::test]
async fn log_store_deletes_below_the_log_start_and_reopens_there() {
    let (mem, disk) = mem_disk(1);
    let dir = Path::new("/meta");
    let all: Vec<Entry> = (0..10).map(|o| entry(o, 1 + o as i32 / 4)).collect();
    let (mut store, _, _) = LogStore::open(&disk, dir).await.unwrap();
    store.append(&all).await.unwrap();
    store.sync().await.unwrap();
    store.delete_below(6).await.unwrap();
    assert_eq!((store.start_offset(), store.end_offset()), (6, 10));
    store.append(&[entry(10, 3)]).await.unwrap();
    store.sync().await.unwrap();
    store.truncate_to(9).await.unwrap();
    mem.crash_losing_all_unsynced();
    let (store, recovered, _) = LogStore::open(&disk, dir).await.unwrap();
    assert_eq!(recovered, all[6..9].to_vec(), "the rewritten tail, its append and truncation are durable");
    assert_eq!((store.start_offset(), store.end_offset()), (6, 9));
    assert_eq!(mem.file_names(&metadata_dir(dir)), vec![LOG_FILE.to_string()]);
}

#[tokio::test]
async fn log_store_deleting_past_its_end_or_resetting_leaves_an_empty_log_there() {
    let (_, disk) = mem_disk(2);
    let dir = Path::new("/meta");
    let (mut store, _, _) = LogStore::open(&disk, dir).await.unwrap();
    store.append(&(0..5).map(|o| entry(o, 1)).collect::<Vec<_>>()).await.unwrap();
    store.sync().await.unwrap();
    store.delete_below(8).await.unwrap();
    assert_eq!((store.start_offset(), store.end_offset()), (8, 8));
    store.append(&[entry(8, 2)]).await.unwrap();
    store.sync().await.unwrap();
    let (mut store, recovered, _) = LogStore::open(&disk, dir).await.unwrap();
    assert_eq!(recovered, vec![entry(8, 2)]);
    store.reset_to(20).await.unwrap();
    let (_, recovered, _) = LogStore::open(&disk, dir).await.unwrap();
    assert!(recovered.is_empty());
}

#[tokio::test]
async fn log_store_removes_a_cleaned_file_a_crash_left_before_its_rename() {
    let (mem, disk) = mem_disk(3);
    let dir = Path::new("/meta");
    let all: Vec<Entry> = (0..4).map(|o| entry(o, 1)).collect();
    let (mut store, _, _) = LogStore::open(&disk, dir).await.unwrap();
    store.append(&all).await.unwrap();
    store.sync().await.unwrap();
    let cleaned = disk.open(&metadata_dir(dir).join(CLEANED_FILE), OpenMode::Create).await.unwrap();
    cleaned.append(Bytes::from_static(b"half a tail")).await.unwrap();
    cleaned.sync().await.unwrap();
    disk.sync_dir(&metadata_dir(dir)).await.unwrap();
    mem.crash();
    let (_, recovered, _) = LogStore::open(&disk, dir).await.unwrap();
    assert_eq!(recovered, all);
    assert_eq!(mem.file_names(&metadata_dir(dir)), vec![LOG_FILE.to_string()]);
}

/// The log and snapshot recovered together, after `continue_snapshot`.
async fn reconcile(log: &[Entry], snapshot: Option<SnapshotId>) -> (Result<Vec<Entry>, String>, Vec<Entry>) {
    let (_, disk) = mem_disk(4);
    let dir = Path::new("/meta");
    let (mut store, _, _) = LogStore::open(&disk, dir).await.unwrap();
    store.reset_to(log[0].offset).await.unwrap();
    store.append(log).await.unwrap();
    store.sync().await.unwrap();
    let (mut store, recovered, _) = LogStore::open(&disk, dir).await.unwrap();
    let kept = continue_snapshot(&mut store, snapshot, recovered).await.map_err(|e| e.to_string());
    let (_, on_disk, _) = LogStore::open(&disk, dir).await.unwrap();
    (kept, on_disk)
}

#[tokio::test]
async fn recovery_keeps_the_log_after_a_snapshot_it_continues() {
    let log: Vec<Entry> = (0..8).map(|o| entry(o, if o < 5 { 1 } else { 2 })).collect();
    let (kept, on_disk) = reconcile(&log, Some(SnapshotId { end_offset: 5, epoch: 1 })).await;
    assert_eq!(kept.unwrap(), log[5..].to_vec());
    assert_eq!(on_disk, log[5..].to_vec(), "what the snapshot covers is deleted");
    let (kept, _) = reconcile(&log, None).await;
    assert_eq!(kept.unwrap(), log);
    // After the deletion below it, the log starts right at the snapshot's end.
    let (kept, _) = reconcile(&log[5..], Some(SnapshotId { end_offset: 5, epoch: 1 })).await;
    assert_eq!(kept.unwrap(), log[5..].to_vec());
}

#[tokio::test]
async fn recovery_empties_a_log_that_does_not_continue_the_snapshot() {
    // A crash after an installed snapshot was durable but before the log was emptied: the old
    // log holds entries of another epoch at the snapshot's last offset, or stops short of it.
    let log: Vec<Entry> = (0..8).map(|o| entry(o, 1)).collect();
    for snapshot in [SnapshotId { end_offset: 6, epoch: 3 }, SnapshotId { end_offset: 12, epoch: 1 }] {
        let (kept, on_disk) = reconcile(&log, Some(snapshot)).await;
        assert_eq!(kept.unwrap(), Vec::new(), "{snapshot:?}");
        assert_eq!(on_disk, Vec::new(), "{snapshot:?}");
    }
}

#[tokio::test]
async fn recovery_refuses_a_log_that_starts_past_its_snapshot() {
    let log: Vec<Entry> = (5..8).map(|o| entry(o, 1)).collect();
    let (kept, _) = reconcile(&log, Some(SnapshotId { end_offset: 3, epoch: 1 })).await;
    assert!(kept.unwrap_err().contains("starts at 5"));
    let (kept, _) = reconcile(&log, None).await;
    assert!(kept.unwrap_err().contains("starts at 5"));
}

fn fast_config() -> RaftConfig {
    RaftConfig {
        election_timeout_ms: 150,
        fetch_timeout_ms: 400,
        election_backoff_max_ms: 200,
        request_timeout_ms: 300,
        fetch_max_wait_ms: 100,
        fetch_max_bytes: 64,
        ..RaftConfig::default()
    }
}

async fn free_addresses(n: usize) -> Vec<SocketAddr> {
    let mut listeners = Vec::new();
    for _ in 0..n {
        listeners.push(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap());
    }
    listeners.iter().map(|l| l.local_addr().unwrap()).collect()
}

/// A running driver: its handle, committed channel and stop switch.
struct Running {
    handle: RaftHandle,
    committed: mpsc::UnboundedReceiver<Committed>,
    stop: tokio::sync::oneshot::Sender<()>,
    run: tokio::task::JoinHandle<Result<(), super::driver::DriverError>>,
}

impl Running {
    async fn stop(self) -> mpsc::UnboundedReceiver<Committed> {
        let _ = self.stop.send(());
        self.run.await.unwrap().unwrap();
        self.committed
    }
}

async fn start(id: NodeId, voters: &BTreeMap<NodeId, SocketAddr>, disk: Arc<dyn Disk>) -> Running {
    let config = RaftDriverConfig {
        node_id: id,
        voters: voters.clone(),
        listen_address: Some(voters[&id]),
        side_connections: None,
        metadata_dir: "/meta".into(),
        raft: fast_config(),
        fault: None,
    };
    // A restarted node binds the address its previous driver held: its aborted listener task
    // lets go of it shortly.
    let mut attempts = 0;
    let (driver, committed) = loop {
        match RaftDriver::open(config.clone(), disk.clone(), seeded(id as u64)).await {
            Err(super::driver::DriverError::Listen(e)) if attempts < 100 => {
                attempts += 1;
                tracing::debug!("retrying the bind: {e}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            opened => break opened.unwrap(),
        }
    };
    let handle = driver.handle();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let run = tokio::spawn(driver.run(async move {
        let _ = stopped.await;
    }));
    Running { handle, committed, stop, run }
}

/// Proposes `count` entries on whichever node leads and waits until they are committed there.
/// Returns the leader's index and the high watermark.
async fn commit_entries(handles: &[&RaftHandle], count: usize) -> (usize, Offset) {
    let deadline = crate::runtime::now() + Duration::from_secs(20);
    let (mut proposed, mut last) = (0, 0);
    loop {
        assert!(crate::runtime::now() < deadline, "no leader committed the proposals");
        if let Some(i) = handles.iter().position(|h| h.status().role == Role::Leader) {
            if proposed < count {
                if let Ok((_, offset)) = handles[i].propose(vec![Bytes::from(vec![b'x'; 40])]).await {
                    (proposed, last) = (proposed + 1, offset);
                }
                continue;
            }
            let status = handles[i].status();
            if status.high_watermark > last && status.high_watermark >= status.log_end_offset {
                return (i, status.high_watermark);
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Receives from `committed` until an entry at `offset` (or past it) arrives; returns what came.
async fn receive_through(committed: &mut mpsc::UnboundedReceiver<Committed>, offset: Offset) -> Vec<Committed> {
    let mut received = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let item = committed.recv().await.expect("driver running");
            let done = match &item {
                Committed::Entry(e) => e.offset >= offset,
                Committed::Snapshot { id, .. } => id.end_offset > offset,
            };
            received.push(item);
            if done {
                return;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("nothing committed through {offset}: got {received:?}"));
    received
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_takes_a_snapshot_and_restarts_from_it() {
    let voters: BTreeMap<NodeId, SocketAddr> = [(1, free_addresses(1).await[0])].into();
    let (mem, disk) = mem_disk(5);
    let mut node = start(1, &voters, disk.clone()).await;
    let (_, hw) = commit_entries(&[&node.handle], 6).await;
    let epoch = node.handle.status().epoch;

    let above = SnapshotId { end_offset: hw + 1, epoch };
    let refused = node.handle.snapshot(above, Bytes::from_static(b"too far")).await;
    assert!(matches!(refused, Err(SnapshotError::Invalid(_))), "{refused:?} {:?}", node.handle.status());
    let id = SnapshotId { end_offset: hw - 2, epoch };
    node.handle.snapshot(id, Bytes::from_static(b"state below hw-2")).await.unwrap();
    assert_eq!(node.handle.status().log_start_offset, id.end_offset);
    assert_eq!(
        mem.file_names(&metadata_dir(Path::new("/meta"))),
        vec![snapshot_file_name(id), "quorum-state".to_string(), LOG_FILE.to_string()]
    );
    let _ = receive_through(&mut node.committed, hw - 1).await;
    drop(node.stop().await);

    mem.crash();
    let mut node = start(1, &voters, disk.clone()).await;
    let received = receive_through(&mut node.committed, hw - 1).await;
    assert_eq!(received[0], Committed::Snapshot { id, data: Bytes::from_static(b"state below hw-2") });
    let offsets: Vec<Offset> = received[1..]
        .iter()
        .map(|c| match c {
            Committed::Entry(e) => e.offset,
            other => panic!("a second snapshot: {other:?}"),
        })
        .collect();
    assert_eq!(offsets, (id.end_offset..hw).collect::<Vec<_>>(), "the entries after the snapshot, in order");
    assert_eq!(node.handle.status().log_start_offset, id.end_offset);
    drop(node.stop().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_behind_the_log_start_installs_the_leaders_snapshot() {
    let addresses = free_addresses(3).await;
    let voters: BTreeMap<NodeId, SocketAddr> = (1..=3).zip(addresses).collect();
    let disks: Vec<(MemDisk, Arc<dyn Disk>)> = (1..=3).map(|id| mem_disk(10 + id)).collect();
    // Node 3 stays down while the other two commit and both snapshot their state.
    let one = start(1, &voters, disks[0].1.clone()).await;
    let two = start(2, &voters, disks[1].1.clone()).await;
    let (leader, hw) = commit_entries(&[&one.handle, &two.handle], 8).await;
    let epoch = [&one, &two][leader].handle.status().epoch;
    let id = SnapshotId { end_offset: hw, epoch };
    let data = Bytes::from(vec![7u8; 300]); // several FetchSnapshot chunks of 64 bytes
    for node in [&one, &two] {
        let deadline = crate::runtime::now() + Duration::from_secs(20);
        while node.handle.status().high_watermark < hw {
            assert!(crate::runtime::now() < deadline, "the follower never reached {hw}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        node.handle.snapshot(id, data.clone()).await.unwrap();
    }

    let mut three = start(3, &voters, disks[2].1.clone()).await;
    let received = receive_through(&mut three.committed, hw - 1).await;
    assert_eq!(received[0], Committed::Snapshot { id, data: data.clone() }, "the snapshot, not the entries it covers");
    assert_eq!(three.handle.status().log_start_offset, hw);
    let dir = metadata_dir(Path::new("/meta"));
    assert!(disks[2].0.file_names(&dir).contains(&snapshot_file_name(id)), "the installed snapshot is durable");

    // The follower goes on replicating after the snapshot, and restarts from it.
    let (_, hw_after) = commit_entries(&[&one.handle, &two.handle], 2).await;
    let after = receive_through(&mut three.committed, hw_after - 1).await;
    assert!(after.iter().all(|c| matches!(c, Committed::Entry(e) if e.offset >= hw)), "{after:?}");
    drop(three.stop().await);
    disks[2].0.crash();
    let (_, snapshot, _) = SnapshotStore::open(disks[2].1.clone(), Path::new("/meta")).await.unwrap();
    assert_eq!(snapshot, Some((id, data)));
    drop(one.stop().await);
    drop(two.stop().await);
}
