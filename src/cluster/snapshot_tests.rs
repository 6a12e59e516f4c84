//! Metadata snapshots end to end on the state machine side: the image a snapshot holds is the
//! image the log would have produced, the loader starts from one and goes on, an install from
//! the leader replaces the image, and a node (Raft driver and loader) restarted after it took
//! a snapshot rebuilds the same image.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::metadata_loader::{apply_entry, load_snapshot, run_loader, LoadedImage, MetadataCell, SnapshotTaker};
use super::metadata_snapshot::encode_snapshot;
use super::snapshot_generator::SnapshotPolicy;
use crate::controller::image::MetadataImage;
use crate::controller::records::{
    BrokerRegistrationChangeRecord, Endpoint, MetadataRecord, PartitionChangeRecord, PartitionRecord,
    RegisterBrokerRecord, RemoveTopicRecord, TopicConfigRecord, TopicRecord, NO_LEADER_CHANGE,
};
use crate::raft::{
    Committed, Entry, EntryKind, RaftConfig, RaftDriver, RaftDriverConfig, RaftHandle, Role, SnapshotId, METADATA_DIR,
};
use crate::runtime::{seeded, Disk, MemDisk};

fn empty() -> MetadataImage {
    MetadataImage::new(1, true)
}

/// A metadata history: brokers register and unfence, topics come with partitions whose ISR
/// and leaders change, configs are set, a topic is deleted; control entries between (a new
/// leader's LeaderChange), and the epoch rises along the way.
fn history() -> Vec<Entry> {
    let mut entries = Vec::new();
    let push = |entries: &mut Vec<Entry>, epoch: i32, record: Option<MetadataRecord>| {
        let offset = entries.len() as i64;
        let (kind, payload) = match record {
            Some(record) => (EntryKind::Data, Bytes::from(record.encode())),
            None => (EntryKind::LeaderChange { leader_id: 1, voters: vec![1, 2, 3] }, Bytes::new()),
        };
        entries.push(Entry { offset, epoch, kind, payload });
    };
    push(&mut entries, 1, None);
    for broker_id in 1..=3 {
        let broker_epoch = entries.len() as i64;
        let register = RegisterBrokerRecord {
            broker_id,
            incarnation_id: Uuid::from_u128(broker_id as u128),
            broker_epoch,
            endpoints: vec![Endpoint { name: "PLAINTEXT".into(), host: "10.0.0.1".into(), port: 9092 }],
            rack: None,
            fenced: true,
            in_controlled_shutdown: false,
        };
        push(&mut entries, 1, Some(MetadataRecord::RegisterBroker(register)));
        let unfence = BrokerRegistrationChangeRecord {
            broker_id,
            broker_epoch,
            fenced: Some(false),
            in_controlled_shutdown: None,
        };
        push(&mut entries, 1, Some(MetadataRecord::BrokerRegistrationChange(unfence)));
    }
    for t in 0..4u128 {
        let epoch = 2 + t as i32 / 2;
        if t % 2 == 0 {
            push(&mut entries, epoch, None);
        }
        let topic_id = Uuid::from_u128(100 + t);
        push(&mut entries, epoch, Some(MetadataRecord::Topic(TopicRecord { name: format!("topic-{t}"), topic_id })));
        for partition_id in 0..3 {
            let replicas = vec![1 + partition_id % 3, 1 + (partition_id + 1) % 3, 1 + (partition_id + 2) % 3];
            let partition = PartitionRecord::created(topic_id, partition_id, replicas);
            push(&mut entries, epoch, Some(MetadataRecord::Partition(partition.clone())));
            let shrink = PartitionChangeRecord {
                topic_id,
                partition_id,
                isr: Some(partition.isr[..2].to_vec()),
                leader: NO_LEADER_CHANGE,
                elr: None,
                last_known_elr: None,
                leader_recovery_state: None,
            };
            push(&mut entries, epoch, Some(MetadataRecord::PartitionChange(shrink)));
            let new_leader = PartitionChangeRecord {
                topic_id,
                partition_id,
                isr: Some(partition.isr.clone()),
                leader: partition.isr[1],
                elr: None,
                last_known_elr: None,
                leader_recovery_state: None,
            };
            push(&mut entries, epoch, Some(MetadataRecord::PartitionChange(new_leader)));
        }
        let config = TopicConfigRecord { topic_id, name: "min.insync.replicas".into(), value: Some("2".into()) };
        push(&mut entries, epoch, Some(MetadataRecord::TopicConfig(config)));
    }
    push(&mut entries, 4, Some(MetadataRecord::RemoveTopic(RemoveTopicRecord { topic_id: Uuid::from_u128(101) })));
    push(&mut entries, 4, Some(MetadataRecord::NoOp));
    entries
}

fn replay(entries: &[Entry]) -> LoadedImage {
    let mut loaded = LoadedImage { image: empty(), applied_offset: -1 };
    entries.iter().for_each(|entry| apply_entry(&mut loaded, entry));
    loaded
}

fn assert_same(a: &LoadedImage, b: &LoadedImage, what: &str) {
    assert_eq!(a.applied_offset, b.applied_offset, "{what}: applied offset");
    assert_eq!(a.image, b.image, "{what}: image");
}

#[test]
fn the_image_in_a_snapshot_at_any_offset_is_the_image_the_log_produces() {
    let entries = history();
    let whole = replay(&entries);
    for end in 1..=entries.len() {
        let prefix = replay(&entries[..end]);
        let id = SnapshotId { end_offset: end as i64, epoch: entries[end - 1].epoch };
        let data = encode_snapshot(&prefix.image);
        let mut loaded = load_snapshot(id, &data, &empty());
        assert_same(&loaded, &prefix, &format!("snapshot at {end}"));
        assert_eq!(encode_snapshot(&loaded.image), data, "snapshot at {end}: the same bytes once loaded");
        entries[end..].iter().for_each(|entry| apply_entry(&mut loaded, entry));
        assert_same(&loaded, &whole, &format!("snapshot at {end} and the entries after it"));
    }
}

#[test]
fn a_loaded_snapshot_takes_the_nodes_cluster_wide_settings() {
    let entries = history();
    let prefix = replay(&entries[..10]);
    let id = SnapshotId { end_offset: 10, epoch: entries[9].epoch };
    let loaded = load_snapshot(id, &encode_snapshot(&prefix.image), &MetadataImage::new(2, false));
    assert_eq!((loaded.image.default_min_insync_replicas, loaded.image.elr_enabled), (2, false));
}

#[tokio::test]
async fn the_loader_starts_from_a_snapshot_and_resets_on_an_installed_one() {
    let entries = history();
    let whole = replay(&entries);
    let cell = MetadataCell::new(empty());
    let (send, receive) = mpsc::unbounded_channel();
    let loader = tokio::spawn(run_loader(receive, cell.clone(), None));
    // Start-up: a recovered snapshot at 6, then entries 6..9.
    let at = |end: usize| Committed::Snapshot {
        id: SnapshotId { end_offset: end as i64, epoch: entries[end - 1].epoch },
        data: encode_snapshot(&replay(&entries[..end]).image),
    };
    send.send(at(6)).unwrap();
    entries[6..9].iter().for_each(|e| send.send(Committed::Entry(e.clone())).unwrap());
    // Then the leader's snapshot at 20 is installed, and the log goes on from there.
    send.send(at(20)).unwrap();
    entries[20..].iter().for_each(|e| send.send(Committed::Entry(e.clone())).unwrap());
    drop(send);
    loader.await.unwrap();
    assert_same(&cell.current(), &whole, "the loader's image");
}

#[test]
#[should_panic(expected = "does not decode")]
fn a_snapshot_that_does_not_decode_stops_the_node() {
    load_snapshot(SnapshotId { end_offset: 3, epoch: 1 }, b"{not an image", &empty());
}

/// One node's Raft driver (the only voter) and its loader, taking snapshots every few records.
struct Node {
    raft: RaftHandle,
    cell: Arc<MetadataCell>,
    stop: tokio::sync::oneshot::Sender<()>,
    run: tokio::task::JoinHandle<()>,
}

async fn start_node(address: SocketAddr, disk: Arc<dyn Disk>, policy: SnapshotPolicy) -> Node {
    let config = RaftDriverConfig {
        node_id: 1,
        voters: BTreeMap::from([(1, address)]),
        listen_address: Some(address),
        side_connections: None,
        metadata_dir: "/meta".into(),
        raft: RaftConfig { election_timeout_ms: 100, fetch_timeout_ms: 300, ..RaftConfig::default() },
        fault: None,
    };
    let mut attempts = 0;
    let (driver, committed) = loop {
        // A restart binds the address the previous driver's aborted listener is letting go of.
        match RaftDriver::open(config.clone(), disk.clone(), seeded(1)).await {
            Err(crate::raft::DriverError::Listen(_)) if attempts < 100 => {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            opened => break opened.unwrap(),
        }
    };
    let raft = driver.handle();
    let cell = MetadataCell::new(empty());
    let taker = SnapshotTaker { raft: raft.clone(), policy };
    let loader = tokio::spawn(run_loader(committed, cell.clone(), Some(taker)));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let run = tokio::spawn(async move {
        driver
            .run(async move {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        loader.await.unwrap();
    });
    Node { raft, cell, stop, run }
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = crate::runtime::now() + Duration::from_secs(20);
    while !done() {
        assert!(crate::runtime::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_restarted_after_its_snapshot_rebuilds_the_same_image() {
    let address = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let mem = MemDisk::new(21);
    let disk: Arc<dyn Disk> = Arc::new(mem.clone());
    let policy = SnapshotPolicy { max_bytes_between_snapshots: 600, max_interval_ms: 0 };
    let node = start_node(address, disk.clone(), policy).await;
    wait_until("the node leads", || node.raft.status().role == Role::Leader).await;
    // The history's records, proposed one by one; the replayed image keeps their offsets.
    let mut proposed = Vec::new();
    for entry in history().into_iter().filter(|e| e.kind == EntryKind::Data) {
        let (offset, _) = node.raft.propose(vec![entry.payload.clone()]).await.unwrap();
        proposed.push(Entry { offset, epoch: node.raft.status().epoch, ..entry });
    }
    let last = proposed.last().unwrap().offset;
    wait_until("the image holds every record", || node.cell.current().applied_offset >= last).await;
    let before = node.cell.current();
    let log_start = node.raft.status().log_start_offset;
    assert!(log_start > 0, "the loader took a snapshot and the log below it went");
    let names = mem.file_names(&Path::new("/meta").join(METADATA_DIR));
    assert_eq!(names.iter().filter(|n| n.ends_with(".checkpoint")).count(), 1, "{names:?}");
    let _ = node.stop.send(());
    node.run.await.unwrap();

    mem.crash();
    let node = start_node(address, disk.clone(), policy).await;
    wait_until("the restarted node has applied everything", || node.cell.current().applied_offset >= last).await;
    let after = node.cell.current();
    assert!(node.raft.status().log_start_offset >= log_start, "it restarted from the snapshot");
    assert_eq!(after.image, before.image, "the same image after the restart");
    let mut replayed = LoadedImage { image: empty(), applied_offset: -1 };
    proposed.iter().for_each(|entry| apply_entry(&mut replayed, entry));
    assert_eq!(after.image, replayed.image, "the image the records produce");
    let _ = node.stop.send(());
    node.run.await.unwrap();
}
