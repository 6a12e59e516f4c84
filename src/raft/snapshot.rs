//! Snapshots (KIP-630): taking one (the state machine hands it in and the log start moves up),
//! serving FetchSnapshot chunks as leader, and fetching and installing one as follower.
//!
//! The core keeps the latest snapshot's bytes in memory to serve them: the controller's
//! metadata image is small (megabytes), and reading chunks through the shell would add a disk
//! round trip to a core that does no IO. Kafka serves the chunks from the `.checkpoint` file.
//!
//! A follower whose fetch is answered with a `SnapshotId` asks for it chunk by chunk
//! (`position` = bytes received so far) until it has `size` bytes, then installs it: the whole
//! log is replaced by an empty one starting at the snapshot's end offset, and the high
//! watermark moves there (everything in a snapshot is committed). Its next Fetch, which
//! acknowledges the snapshot's end offset, waits until the shell has made the snapshot durable.

use super::core::{RaftCore, RoleState};
use super::messages::{ErrorCode, FetchSnapshotRequest, FetchSnapshotResponse, NodeId, Request, Response, SnapshotId};
use super::raft_log::RaftLog;
use bytes::Bytes;
use std::fmt;

/// The most snapshot bytes one FetchSnapshot answer carries (also bounded by
/// `fetch_max_bytes`): [`super::config::ANSWER_MAX_PAYLOAD_BYTES`]. The follower asks by
/// position, so any chunk size works.
pub const FETCH_SNAPSHOT_MAX_BYTES: usize = super::config::ANSWER_MAX_PAYLOAD_BYTES;

/// A snapshot the core cannot take: not committed, outside the log, or older than the last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidSnapshot(pub String);

impl fmt::Display for InvalidSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid snapshot: {}", self.0)
    }
}

impl std::error::Error for InvalidSnapshot {}

/// A snapshot being fetched from the leader.
#[derive(Debug, Clone)]
pub(super) struct SnapshotFetch {
    pub id: SnapshotId,
    pub received: Vec<u8>,
}

impl RaftCore {
    /// The state machine made a snapshot of everything below `id.end_offset` durable (or, at
    /// start-up, this is the snapshot the log was recovered with). The log start moves up to
    /// it, the Ready says which entries the shell may delete, and the leader serves it.
    pub fn on_snapshot(&mut self, _now_ms: u64, id: SnapshotId, data: Bytes) -> Result<(), InvalidSnapshot> {
        if self.log.snapshot() == Some(id) {
            self.snapshot_data = Some(data);
            return Ok(());
        }
        self.check_snapshot(id)?;
        self.log.compact_to_snapshot(id);
        self.snapshot_data = Some(data);
        self.ready.log_start_offset = Some(id.end_offset);
        self.check_invariants();
        Ok(())
    }

    /// Whether [`on_snapshot`](Self::on_snapshot) would take a new snapshot `id`: committed
    /// (at most the high watermark), above the log start, ending on an entry of its epoch. A
    /// shell checks this before it writes the file (the log may have moved on since the state
    /// machine chose the id: a snapshot installed from the leader, say).
    pub fn check_snapshot(&self, id: SnapshotId) -> Result<(), InvalidSnapshot> {
        let problem = if id.end_offset > self.high_watermark() {
            Some(format!("{id:?} is above the high watermark {}", self.high_watermark()))
        } else if id.end_offset <= self.log.start_offset() {
            Some(format!("{id:?} is not above the log start {}", self.log.start_offset()))
        } else if self.log.entry(id.end_offset - 1).map(|e| e.epoch) != Some(id.epoch) {
            Some(format!("{id:?} does not end on an entry of its epoch"))
        } else {
            None
        };
        match problem {
            Some(problem) => Err(InvalidSnapshot(problem)),
            None => Ok(()),
        }
    }

    /// FetchSnapshot (API 59) on the leader: one chunk of the current snapshot.
    pub(super) fn handle_fetch_snapshot_request(
        &mut self,
        now_ms: u64,
        from: NodeId,
        correlation_id: i32,
        r: FetchSnapshotRequest,
    ) {
        let data = self.snapshot_data.clone().filter(|_| self.log.snapshot() == Some(r.snapshot_id));
        let size = data.as_ref().map_or(0, |d| d.len() as i64);
        let error = if r.replica_id != from || r.position < 0 || r.current_leader_epoch < 0 {
            Some(ErrorCode::InvalidRequest)
        } else if let Some(e) = self.error_code_for_leader_only_request(r.current_leader_epoch) {
            Some(e)
        } else if data.is_none() {
            Some(ErrorCode::SnapshotNotFound)
        } else if r.position > size {
            Some(ErrorCode::PositionOutOfRange)
        } else {
            None
        };
        let mut chunk = Bytes::new();
        if let (None, Some(data)) = (error, data) {
            let chunk_bytes = self.config().fetch_max_bytes.min(FETCH_SNAPSHOT_MAX_BYTES);
            let end = (r.position as usize + chunk_bytes).min(data.len());
            chunk = data.slice(r.position as usize..end);
            #[cfg(test)]
            if self.fault() == Some(super::core::TestFault::ServeCorruptSnapshot) && !chunk.is_empty() {
                let mut corrupt = chunk.to_vec();
                corrupt[0] ^= 0xff;
                chunk = Bytes::from(corrupt);
            }
            // Fetching a snapshot is fetching: it keeps the leader's check-quorum satisfied.
            if let RoleState::Leader(leader) = &mut self.role {
                if let Some(p) = leader.voters.get_mut(&from) {
                    p.last_fetch_ms = Some(now_ms);
                    p.acknowledged = true;
                }
            }
        }
        let response = FetchSnapshotResponse {
            error_code: error.unwrap_or(ErrorCode::None),
            leader_id: self.leader_id(),
            leader_epoch: self.epoch(),
            snapshot_id: r.snapshot_id,
            size,
            position: r.position,
            unaligned_records: chunk,
        };
        self.send_response(from, correlation_id, Response::FetchSnapshot(response));
    }

    /// A Fetch answered with a snapshot id: fetch that snapshot before fetching records again.
    pub(super) fn start_snapshot_fetch(&mut self, now_ms: u64, id: SnapshotId) {
        if let RoleState::Follower { snapshot_fetch, .. } = &mut self.role {
            if snapshot_fetch.as_ref().is_none_or(|f| f.id != id) {
                *snapshot_fetch = Some(SnapshotFetch { id, received: Vec::new() });
            }
        }
        self.maybe_send_fetch(now_ms);
    }

    /// The next FetchSnapshot request, from the bytes received so far.
    pub(super) fn send_fetch_snapshot(&mut self, now_ms: u64, to: NodeId, id: SnapshotId, position: i64) {
        let request = FetchSnapshotRequest {
            replica_id: self.local_id(),
            current_leader_epoch: self.epoch(),
            snapshot_id: id,
            position,
        };
        self.send_request(now_ms, to, Request::FetchSnapshot(request));
    }

    pub(super) fn handle_fetch_snapshot_response(&mut self, now_ms: u64, from: NodeId, r: FetchSnapshotResponse) {
        let state = self.quorum.current();
        if state.role() != super::quorum_state::Role::Follower || state.leader_id() != Some(from) {
            return;
        }
        let retry_ms = now_ms + self.config().retry_backoff_ms;
        let fetch_timeout = self.config().fetch_timeout_ms;
        let RoleState::Follower { snapshot_fetch, next_fetch_ms, fetch_deadline_ms, has_fetched } = &mut self.role
        else {
            return;
        };
        let Some(fetch) = snapshot_fetch else { return };
        match r.error_code {
            ErrorCode::None => {}
            ErrorCode::SnapshotNotFound | ErrorCode::PositionOutOfRange => {
                // The leader moved on to another snapshot: fetch records again to learn it.
                *snapshot_fetch = None;
                *next_fetch_ms = Some(retry_ms);
                return;
            }
            _ => {
                *next_fetch_ms = Some(retry_ms);
                return;
            }
        }
        *fetch_deadline_ms = now_ms + fetch_timeout;
        *has_fetched = true;
        if r.snapshot_id != fetch.id || r.position != fetch.received.len() as i64 {
            *next_fetch_ms = Some(now_ms);
            return;
        }
        fetch.received.extend_from_slice(&r.unaligned_records);
        if fetch.received.len() as i64 >= r.size {
            let SnapshotFetch { id, received } = snapshot_fetch.take().expect("a fetch in progress");
            self.install_snapshot(id, Bytes::from(received));
        }
        self.maybe_send_fetch(now_ms);
    }

    /// Replaces the whole log by the snapshot. Everything in it is committed; a local high
    /// watermark above its end would mean the local committed entries disagree with it.
    fn install_snapshot(&mut self, id: SnapshotId, data: Bytes) {
        assert!(
            self.high_watermark() <= id.end_offset,
            "fatal: node {} would install {id:?} below its high watermark {}",
            self.local_id(),
            self.high_watermark()
        );
        tracing::info!(
            name: "raft_snapshot_fetched",
            node = self.local_id(),
            end_offset = id.end_offset,
            epoch = id.epoch,
            bytes = data.len()
        );
        self.log = RaftLog::recovered(Some(id), Vec::new()).expect("an empty log at a snapshot is valid");
        self.snapshot_data = Some(data.clone());
        self.ready.install_snapshot = Some((id, data));
        self.ready.truncate_to = None;
        self.ready.append.clear();
        self.on_log_replaced(id.end_offset);
    }
}
