//! The driver's stores and a real 3-node quorum over loopback TCP on tokio.

use super::driver::{Committed, RaftDriver, RaftDriverConfig, RaftHandle};
use super::log_store::{metadata_dir, LogStore, LOG_FILE};
use super::messages::{Entry, EntryKind, NodeId, Offset};
use super::quorum_state_file::QuorumStateRecord;
use super::quorum_state_store::{QuorumStateStore, QuorumStateStoreError, QUORUM_STATE_FILE};
use super::transport::{read_frame, write_frame, WireFrame, MAX_FRAME_BYTES};
use super::{Message, RaftConfig, Request, Role, VoteRequest};
use crate::runtime::{seeded, Disk, MemDisk, MemDiskFaults, OpenMode};
use bytes::Bytes;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

fn entry(offset: Offset, epoch: i32, payload: &str) -> Entry {
    Entry { offset, epoch, kind: EntryKind::Data, payload: Bytes::from(payload.to_string()) }
}

fn leader_change(offset: Offset, epoch: i32) -> Entry {
    Entry {
        offset,
        epoch,
        kind: EntryKind::LeaderChange { leader_id: 2, voters: vec![1, 2, 3] },
        payload: Bytes::new(),
    }
}

fn disk(faults: MemDiskFaults) -> (Arc<MemDisk>, Arc<dyn Disk>) {
    let mem = Arc::new(MemDisk::with_faults(7, faults));
    let disk: Arc<dyn Disk> = mem.clone();
    (mem, disk)
}

#[tokio::test]
async fn log_store_recovers_synced_entries_and_cuts_a_torn_tail() {
    let (_, disk) = disk(MemDiskFaults::none());
    let dir = Path::new("/meta");
    let synced = vec![leader_change(0, 1), entry(1, 1, "a"), entry(2, 2, "bb")];
    {
        let (mut store, recovered, _) = LogStore::open(&disk, dir).await.unwrap();
        assert!(recovered.is_empty());
        store.append(&synced).await.unwrap();
        store.sync().await.unwrap();
    }
    // A torn frame: a header that promises more than the file holds.
    let path = metadata_dir(dir).join(LOG_FILE);
    let file = disk.open(&path, OpenMode::Existing).await.unwrap();
    let whole_len = file.len().await.unwrap();
    file.append(Bytes::from_static(&[0, 0, 0, 40, 1, 2, 3, 4, 9, 9])).await.unwrap();
    file.sync().await.unwrap();

    let (mut store, recovered, recovery) = LogStore::open(&disk, dir).await.unwrap();
    assert_eq!(recovered, synced);
    assert_eq!(recovery.truncated_bytes, 10);
    assert_eq!(file.len().await.unwrap(), whole_len, "the torn frame was cut from the file");
    // The log continues where recovery left it, and truncation is durable.
    store.append(&[entry(3, 2, "c")]).await.unwrap();
    store.truncate_to(2).await.unwrap();
    let (_, recovered, _) = LogStore::open(&disk, dir).await.unwrap();
    assert_eq!(recovered, synced[..2].to_vec());
}

#[tokio::test]
async fn log_store_stops_at_a_corrupt_frame() {
    let (_, disk) = disk(MemDiskFaults::none());
    let dir = Path::new("/meta");
    let (mut store, _, _) = LogStore::open(&disk, dir).await.unwrap();
    store.append(&[entry(0, 1, "first"), entry(1, 1, "second"), entry(2, 1, "third")]).await.unwrap();
    store.sync().await.unwrap();
    let file = disk.open(&metadata_dir(dir).join(LOG_FILE), OpenMode::Existing).await.unwrap();
    let len = file.len().await.unwrap();
    // Flip the last payload byte of the third frame: its CRC fails on every re-read.
    file.write_at(len - 1, Bytes::from_static(b"X")).await.unwrap();
    file.sync().await.unwrap();
    let (_, recovered, recovery) = LogStore::open(&disk, dir).await.unwrap();
    assert_eq!(recovered, vec![entry(0, 1, "first"), entry(1, 1, "second")]);
    assert!(recovery.truncated_bytes > 0);
}

#[tokio::test]
async fn log_store_after_crashes_holds_a_prefix_with_every_synced_entry() {
    for seed in 0..20 {
        let mem = Arc::new(MemDisk::with_faults(seed, MemDiskFaults::none()));
        let disk: Arc<dyn Disk> = mem.clone();
        let dir = Path::new("/meta");
        let all: Vec<Entry> = (0..200).map(|o| entry(o, 1, &"x".repeat(o as usize % 97))).collect();
        let (mut store, _, _) = LogStore::open(&disk, dir).await.unwrap();
        store.append(&all[..100]).await.unwrap();
        store.sync().await.unwrap();
        store.append(&all[100..]).await.unwrap();
        mem.crash();
        let (_, recovered, _) = LogStore::open(&disk, dir).await.unwrap();
        assert!(recovered.len() >= 100, "seed {seed}: synced entries lost ({} left)", recovered.len());
        assert_eq!(recovered, all[..recovered.len()].to_vec(), "seed {seed}: not a prefix");
    }
}

#[tokio::test]
async fn quorum_state_round_trips_and_a_bad_file_is_an_error() {
    let (mem, disk) = disk(MemDiskFaults::none());
    let dir = Path::new("/meta");
    let store = QuorumStateStore::open(disk.clone(), dir).await.unwrap();
    assert_eq!(store.read().await.unwrap(), None);
    let record = QuorumStateRecord { leader_id: Some(2), leader_epoch: 5, voted_id: Some(2) };
    store.write(&record).await.unwrap();
    mem.crash();
    assert_eq!(store.read().await.unwrap(), Some(record), "durable across a crash");
    let newer = QuorumStateRecord { leader_id: None, leader_epoch: 6, voted_id: Some(3) };
    store.write(&newer).await.unwrap();
    assert_eq!(store.read().await.unwrap(), Some(newer));

    let path = metadata_dir(dir).join(QUORUM_STATE_FILE);
    let file = disk.open(&path, OpenMode::Existing).await.unwrap();
    file.set_len(0).await.unwrap();
    file.write_at(0, Bytes::from_static(b"{\"leaderEpoch\":\"x\"}")).await.unwrap();
    match store.read().await {
        Err(QuorumStateStoreError::Bad(e)) => assert!(e.to_string().contains("data_version"), "{e}"),
        other => panic!("a bad quorum-state file was read as {other:?}"),
    }
}

#[tokio::test]
async fn an_oversized_or_undecodable_frame_is_refused() {
    let frame = WireFrame {
        from: 3,
        message: Message::Request {
            correlation_id: 9,
            body: Request::Vote(VoteRequest {
                replica_epoch: 4,
                replica_id: 3,
                last_offset_epoch: 2,
                last_offset: 10,
                pre_vote: true,
            }),
        },
    };
    let (mut a, mut b) = tokio::io::duplex(1 << 16);
    write_frame(&mut a, &frame).await.unwrap();
    assert_eq!(read_frame::<WireFrame, _>(&mut b).await.unwrap(), Some(frame));

    a.write_all(&((MAX_FRAME_BYTES as u32) + 1).to_be_bytes()).await.unwrap();
    assert!(read_frame::<WireFrame, _>(&mut b).await.is_err(), "an oversized frame must be refused");
    let (mut a, mut b) = tokio::io::duplex(1 << 16);
    a.write_all(&[0, 0, 0, 3, b'{', b'x', b'}']).await.unwrap();
    assert!(read_frame::<WireFrame, _>(&mut b).await.is_err(), "an undecodable frame must be refused");
}

/// Free loopback addresses (bound and released; the OS does not hand them out again at once).
async fn free_addresses(n: usize) -> Vec<SocketAddr> {
    let mut listeners = Vec::new();
    for _ in 0..n {
        listeners.push(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap());
    }
    listeners.iter().map(|l| l.local_addr().unwrap()).collect()
}

fn fast_config() -> RaftConfig {
    RaftConfig {
        election_timeout_ms: 150,
        fetch_timeout_ms: 400,
        election_backoff_max_ms: 200,
        request_timeout_ms: 300,
        fetch_max_wait_ms: 100,
        ..RaftConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_over_loopback_elect_a_leader_and_commit_a_proposal() {
    let addresses = free_addresses(3).await;
    let voters: BTreeMap<NodeId, SocketAddr> = (1..=3).zip(addresses.iter().copied()).collect();
    let mut handles: Vec<RaftHandle> = Vec::new();
    let mut committed = Vec::new();
    let mut stops = Vec::new();
    let mut runs = Vec::new();
    for (id, address) in &voters {
        let config = RaftDriverConfig {
            node_id: *id,
            voters: voters.clone(),
            listen_address: Some(*address),
            side_connections: None,
            metadata_dir: format!("/node{id}").into(),
            raft: fast_config(),
            fault: None,
        };
        let disk: Arc<dyn Disk> = Arc::new(MemDisk::new(*id as u64));
        let (driver, entries) = RaftDriver::open(config, disk, seeded(*id as u64)).await.unwrap();
        handles.push(driver.handle());
        committed.push(entries);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        stops.push(stop);
        runs.push(tokio::spawn(driver.run(async move {
            let _ = stopped.await;
        })));
    }
    // Propose on whichever node leads until one proposal is accepted.
    let payload = Bytes::from_static(b"the first metadata record");
    let deadline = crate::runtime::now() + Duration::from_secs(20);
    let offset = loop {
        assert!(crate::runtime::now() < deadline, "no leader accepted a proposal");
        let leader = handles.iter().find(|h| h.status().role == Role::Leader);
        if let Some(Ok((first, _))) = match leader {
            Some(h) => Some(h.propose(vec![payload.clone()]).await),
            None => None,
        } {
            break first;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let leaders: Vec<_> = handles.iter().filter(|h| h.status().role == Role::Leader).collect();
    assert_eq!(leaders.len(), 1, "one leader");
    // Every node's state machine gets the entry at that offset.
    for (i, entries) in committed.iter_mut().enumerate() {
        let found = tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                if let Committed::Entry(e) = entries.recv().await.expect("driver running") {
                    if e.offset == offset {
                        return e;
                    }
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("node {} never committed offset {offset}", i + 1));
        assert_eq!(found.payload, payload);
        assert!(handles[i].status().high_watermark > offset);
    }
    for stop in stops {
        let _ = stop.send(());
    }
    for run in runs {
        run.await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn log_store_recovery_rides_out_transient_read_flips() {
    // Found by controller-leader-crash (seed 136): a flip in a frame's length made it look
    // torn, and recovery cut entries the node had acknowledged.
    let faults = MemDiskFaults { bit_flip_rate: 0.05, ..MemDiskFaults::none() };
    for seed in 0..10 {
        let disk: Arc<dyn Disk> = Arc::new(MemDisk::with_faults(seed, faults.clone()));
        let dir = Path::new("/meta");
        let all: Vec<Entry> = (0..100).map(|o| entry(o, 1, "payload")).collect();
        let (mut store, _, _) = LogStore::open(&disk, dir).await.unwrap();
        store.append(&all).await.unwrap();
        store.sync().await.unwrap();
        let (_, recovered, _) = LogStore::open(&disk, dir).await.unwrap();
        assert_eq!(recovered.len(), all.len(), "seed {seed}: synced entries cut by a read flip");
    }
}
