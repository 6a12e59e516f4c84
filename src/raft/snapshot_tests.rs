//! Snapshot rules (KIP-630), one test each.

use super::config::RaftConfig;
use super::core::RaftCore;
use super::messages::*;
use super::quorum_state::Role;
use super::quorum_state_file::QuorumStateRecord;
use super::raft_log::RaftLog;
use super::tests::{elect, entries, node, persist, request, requests, responses, voters};
use crate::runtime::seeded;
use bytes::Bytes;

const SNAPSHOT: &[u8] = b"the metadata image below offset 3";

/// A leader of epoch 2 whose log was compacted into a snapshot `(3, 1)`, serving chunks of
/// `chunk` bytes.
fn leader_with_snapshot(chunk: usize) -> (RaftCore, u64) {
    let mut log = RaftLog::recovered(None, entries(&[1, 1, 1, 1])).unwrap();
    log.compact_to_snapshot(SnapshotId { end_offset: 3, epoch: 1 });
    let config = RaftConfig { fetch_max_bytes: chunk, ..RaftConfig::default() };
    let record = QuorumStateRecord { leader_id: None, leader_epoch: 1, voted_id: None };
    let mut leader = RaftCore::new(config, 1, voters(&[1, 2, 3]), Some(record), log, seeded(1), 0);
    leader.on_snapshot(0, SnapshotId { end_offset: 3, epoch: 1 }, Bytes::from_static(SNAPSHOT)).unwrap();
    let now = elect(&mut leader);
    persist(&mut leader, now);
    (leader, now)
}

/// Delivers every message between the two cores (both disks instant) until they are quiet;
/// returns the Readys `b` produced.
fn pump(a: &mut RaftCore, b: &mut RaftCore, now: u64, first: Vec<Outbound>) -> Vec<super::ready::Ready> {
    let mut queue: Vec<Outbound> = first;
    let mut b_readys = Vec::new();
    for _ in 0..100 {
        let Some(out) = queue.pop() else { break };
        let (to, from) = if out.to == a.local_id() { (&mut *a, b.local_id()) } else { (&mut *b, a.local_id()) };
        to.step(now, from, out.message);
        let ready = persist(to, now);
        let outs: Vec<Outbound> = ready
            .messages
            .iter()
            .chain(&ready.messages_after_persist)
            .filter(|o| o.to == a.local_id() || o.to == b.local_id())
            .cloned()
            .collect();
        if out.to == b.local_id() {
            b_readys.push(ready);
        }
        queue.extend(outs);
    }
    b_readys
}

#[test]
fn follower_behind_the_log_start_fetches_the_snapshot_in_chunks_and_installs_it() {
    let (mut leader, now) = leader_with_snapshot(10);
    let mut follower = node(2, &[1, 2, 3]);
    persist(&mut follower, 0);
    let begin = Message::Request {
        correlation_id: 1,
        body: Request::BeginQuorumEpoch(BeginQuorumEpochRequest { leader_id: 1, leader_epoch: 2 }),
    };
    let readys = pump(&mut leader, &mut follower, now, vec![Outbound { to: 2, message: begin }]);
    let installed: Vec<_> = readys.iter().filter_map(|r| r.install_snapshot.clone()).collect();
    assert_eq!(installed, vec![(SnapshotId { end_offset: 3, epoch: 1 }, Bytes::from_static(SNAPSHOT))]);
    let chunks = readys.iter().flat_map(requests).filter(|(_, _, b)| matches!(b, Request::FetchSnapshot(_))).count();
    assert_eq!(chunks, SNAPSHOT.len().div_ceil(10), "one request per 10-byte chunk");
    assert_eq!(follower.log().start_offset(), 3);
    assert!(follower.high_watermark() >= 3, "a snapshot is committed");
    // After the install it fetches records from the snapshot's end and catches up.
    assert_eq!(follower.log_end_offset(), leader.log_end_offset());
    assert_eq!(follower.log().entry(3), leader.log().entry(3));
}

#[test]
fn fetch_after_install_waits_for_the_snapshot_to_be_durable() {
    let (mut leader, now) = leader_with_snapshot(1000);
    let mut follower = node(2, &[1, 2, 3]);
    persist(&mut follower, 0);
    let begin = request(1, Request::BeginQuorumEpoch(BeginQuorumEpochRequest { leader_id: 1, leader_epoch: 2 }));
    follower.step(now, 1, begin);
    let ready = persist(&mut follower, now);
    let (_, correlation_id, body) = requests(&ready).pop().unwrap();
    leader.step(now, 2, request(correlation_id, body));
    let (_, answer) = responses(&persist(&mut leader, now)).pop().unwrap();
    follower.step(now, 1, Message::Response { correlation_id, body: answer });
    let ready = persist(&mut follower, now);
    let (_, correlation_id, body) = requests(&ready).pop().unwrap();
    assert!(matches!(body, Request::FetchSnapshot(FetchSnapshotRequest { position: 0, .. })));
    leader.step(now, 2, request(correlation_id, body));
    let (_, answer) = responses(&persist(&mut leader, now)).pop().unwrap();
    follower.step(now, 1, Message::Response { correlation_id, body: answer });
    let ready = follower.take_ready();
    assert!(ready.install_snapshot.is_some());
    assert!(ready.messages.is_empty(), "the next Fetch acknowledges offset 3: it waits for the install");
    let next = requests(&ready).pop().unwrap().2;
    assert!(matches!(next, Request::Fetch(FetchRequest { fetch_offset: 3, last_fetched_epoch: 1, .. })));
}

#[test]
fn leader_refuses_unknown_snapshots_and_positions_past_the_end() {
    let (mut leader, now) = leader_with_snapshot(8);
    let ask = |id: SnapshotId, position: i64| {
        request(
            5,
            Request::FetchSnapshot(FetchSnapshotRequest {
                replica_id: 2,
                current_leader_epoch: 2,
                snapshot_id: id,
                position,
            }),
        )
    };
    let error = |leader: &mut RaftCore| match responses(&persist(leader, now)).pop() {
        Some((_, Response::FetchSnapshot(r))) => r.error_code,
        other => panic!("{other:?}"),
    };
    leader.step(now, 2, ask(SnapshotId { end_offset: 2, epoch: 1 }, 0));
    assert_eq!(error(&mut leader), ErrorCode::SnapshotNotFound);
    leader.step(now, 2, ask(SnapshotId { end_offset: 3, epoch: 1 }, SNAPSHOT.len() as i64 + 1));
    assert_eq!(error(&mut leader), ErrorCode::PositionOutOfRange);
    leader.step(now, 2, ask(SnapshotId { end_offset: 3, epoch: 1 }, 8));
    match responses(&persist(&mut leader, now)).pop() {
        Some((_, Response::FetchSnapshot(r))) => {
            assert_eq!((r.error_code, r.size, r.unaligned_records.as_ref()), (ErrorCode::None, 33, &SNAPSHOT[8..16]))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn snapshot_must_be_committed_and_inside_the_log() {
    let mut leader = node(1, &[1]);
    persist(&mut leader, 0);
    let now = leader.next_deadline();
    leader.tick(now);
    assert_eq!(leader.role(), Role::Leader);
    leader.propose(now, vec![Bytes::new(), Bytes::new()]).unwrap();
    let ready = leader.take_ready();
    let above = leader.on_snapshot(now, SnapshotId { end_offset: 2, epoch: 1 }, Bytes::new());
    assert!(above.unwrap_err().to_string().contains("above the high watermark"));
    leader.on_persisted(now, ready.id);
    assert_eq!(leader.high_watermark(), 3);
    let wrong_epoch = leader.on_snapshot(now, SnapshotId { end_offset: 2, epoch: 0 }, Bytes::new());
    assert!(wrong_epoch.unwrap_err().to_string().contains("epoch"));
    leader.on_snapshot(now, SnapshotId { end_offset: 2, epoch: 1 }, Bytes::from_static(b"s")).unwrap();
    assert_eq!(persist(&mut leader, now).log_start_offset, Some(2));
    assert_eq!(leader.log().start_offset(), 2);
    let older = leader.on_snapshot(now, SnapshotId { end_offset: 1, epoch: 1 }, Bytes::new());
    assert!(older.unwrap_err().to_string().contains("not above the log start"));
}

#[test]
fn a_snapshot_chunk_is_at_most_one_mebibyte_whatever_fetch_max_bytes_says() {
    // A chunk travels as JSON (up to four characters a byte) in a frame of at most 16 MiB.
    let big = Bytes::from(vec![7u8; 3 * super::snapshot::FETCH_SNAPSHOT_MAX_BYTES]);
    let mut log = RaftLog::recovered(None, entries(&[1, 1, 1, 1])).unwrap();
    log.compact_to_snapshot(SnapshotId { end_offset: 3, epoch: 1 });
    let config = RaftConfig { fetch_max_bytes: 8 << 20, ..RaftConfig::default() };
    let record = QuorumStateRecord { leader_id: None, leader_epoch: 1, voted_id: None };
    let mut leader = RaftCore::new(config, 1, voters(&[1, 2, 3]), Some(record), log, seeded(1), 0);
    leader.on_snapshot(0, SnapshotId { end_offset: 3, epoch: 1 }, big.clone()).unwrap();
    let now = elect(&mut leader);
    persist(&mut leader, now);
    let ask = FetchSnapshotRequest {
        replica_id: 2,
        current_leader_epoch: 2,
        snapshot_id: SnapshotId { end_offset: 3, epoch: 1 },
        position: 0,
    };
    leader.step(now, 2, request(5, Request::FetchSnapshot(ask)));
    match responses(&persist(&mut leader, now)).pop() {
        Some((_, Response::FetchSnapshot(r))) => {
            assert_eq!(r.unaligned_records.len(), super::snapshot::FETCH_SNAPSHOT_MAX_BYTES);
            assert_eq!(r.size, big.len() as i64);
        }
        other => panic!("{other:?}"),
    }
}

/// A Fetch answer, like a snapshot chunk, carries at most 1 MiB of payload (at least one
/// entry) whatever `fetch_max_bytes` says: 8 MiB of entries would not fit a 16 MiB JSON frame.
#[test]
fn a_fetch_answer_carries_at_most_one_mebibyte_of_entries() {
    let big = |offset: Offset| Entry {
        offset,
        epoch: 1,
        kind: EntryKind::Data,
        payload: Bytes::from(vec![offset as u8; 700 << 10]),
    };
    let log = RaftLog::recovered(None, (0..4).map(big).collect()).unwrap();
    let config = RaftConfig { fetch_max_bytes: 8 << 20, ..RaftConfig::default() };
    let record = QuorumStateRecord { leader_id: None, leader_epoch: 1, voted_id: None };
    let mut leader = RaftCore::new(config, 1, voters(&[1, 2, 3]), Some(record), log, seeded(1), 0);
    let now = elect(&mut leader);
    persist(&mut leader, now);
    let ask = FetchRequest {
        replica_id: 2,
        current_leader_epoch: 2,
        fetch_offset: 0,
        last_fetched_epoch: 0,
        high_watermark: None,
    };
    leader.step(now, 2, request(5, Request::Fetch(ask)));
    match responses(&persist(&mut leader, now)).pop() {
        Some((_, Response::Fetch(r))) => {
            let offsets: Vec<Offset> = r.records.iter().map(|e| e.offset).collect();
            assert_eq!(offsets, vec![0], "700 KiB entries: one per answer");
        }
        other => panic!("{other:?}"),
    }
}
