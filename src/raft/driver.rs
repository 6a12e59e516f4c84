//! The Raft driver: the async shell that runs a [`RaftCore`] on a real network and disk.
//!
//! One loop owns the core. Its inputs are messages from the other controllers (read by the
//! listener's connection tasks), proposals from [`RaftHandle`]s and the core's timer
//! (`next_deadline`); `select!` is biased (an unbiased one draws from tokio's process RNG,
//! which a simulation seed does not control). After every input the loop handles the core's
//! [`Ready`]s exactly as `ready.rs` says, one at a time (no pipelining):
//!
//! 1. emit `RaftAppended` per appended entry and `RaftHighWatermark` if the HW moved (the
//!    core's in-memory log and HW changed in this step), then send `messages`;
//! 2. write `quorum_state` (temp, fsync, rename, dir fsync; then emit `QuorumStateWritten`),
//!    `install_snapshot` (`.checkpoint.part`, fsync, rename, dir fsync, then the log emptied
//!    at the snapshot's end; emit `RaftSnapshotInstalled`), `truncate_to` (set_len, fsync),
//!    `append` (write, fsync), and last the deletion below `log_start_offset` (the retained
//!    tail rewritten and renamed over the log); then emit the Ready's `RaftTransition`s (the
//!    core's state runs ahead of the disk: a crash before the write takes the new epoch or
//!    vote back, and the trace must not show it);
//! 3. send `messages_after_persist`, call `on_persisted`;
//! 4. publish the new [`RaftStatus`], then hand the state machine, on the committed channel,
//!    the installed snapshot ([`Committed::Snapshot`]) if any and the committed entries.
//!
//! Snapshots (KIP-630, docs/raft.md): at open the latest complete snapshot is recovered
//! (`snapshot_store.rs`), the log is cut to continue it (or emptied at its end if it does not),
//! the core gets it with `on_snapshot`, and it is the first thing on the committed channel. The
//! state machine takes snapshots of its own applied state with [`RaftHandle::snapshot`]; the
//! loop checks the id against the core, makes the file durable, then calls `on_snapshot`
//! (whose Ready deletes the log below it).
//!
//! A granted Vote response emits `VoteGranted` at the moment it is handed to the network,
//! so for a real vote after its quorum-state is durable. A disk error ends `run` with the
//! error: after a failed fsync the file's unsynced data may be gone and nothing that depends
//! on it may leave (the caller restarts the node, which recovers from what is durable).
//!
//! Not done (docs/raft.md): `controller.quorum.append.linger.ms` (each `propose` call is
//! appended at once as it comes).
//!
//! Tasks have owners: the driver owns its listener and peer tasks (and the listener its
//! connection tasks); they stop when `run` returns or the driver is dropped.

use super::config::RaftConfig;
use super::core::{NotLeader, RaftCore};
use super::log_store::{encode_frame, LogStore};
use super::messages::{Entry, Epoch, Message, NodeId, Offset, Outbound, Request, Response, SnapshotId, VoteRequest};
use super::quorum_state::Role;
use super::quorum_state_store::{QuorumStateStore, QuorumStateStoreError};
use super::raft_log::{InvalidLog, RaftLog};
use super::ready::Ready;
use super::snapshot::InvalidSnapshot;
use super::snapshot_store::{SnapshotStore, SnapshotStoreError};
use super::transport::{serve_inbound, OwnedTasks, PeerSender, ReturnPaths, SideConnections};
use crate::events::lists::format_id_offsets;
use crate::events::{
    Event, QuorumStateWritten, RaftAppended, RaftHighWatermark, RaftSnapshotInstalled, RaftSnapshotLoaded,
    RaftSnapshotTaken, RaftTransition, VoteGranted,
};
use crate::runtime::{Disk, NodeRng};
use bytes::{Bytes, BytesMut};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, Notify};

/// Messages from the network waiting for the loop.
const INBOUND_QUEUE: usize = 1024;
/// Proposals waiting for the loop.
const PROPOSAL_QUEUE: usize = 256;
/// Snapshots of the state machine waiting for the loop (one is taken at a time).
const SNAPSHOT_QUEUE: usize = 4;
/// The longest the loop sleeps without looking at the core's deadline again.
const MAX_SLEEP_MS: u64 = 60_000;

/// Deliberate bugs, so the simulator can show its checkers catch them. Never set in
/// production.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriverFault {
    /// Send a granted real vote before its quorum-state is durable (ignore the Ready's order).
    SendVoteBeforePersist,
}

/// What a driver needs to run one quorum member.
#[derive(Debug, Clone)]
pub struct RaftDriverConfig {
    /// `node.id`.
    pub node_id: NodeId,
    /// `controller.quorum.voters`: every voter and its controller address.
    pub voters: BTreeMap<NodeId, SocketAddr>,
    /// Where a voter listens for the other controllers (and brokers); `None` for an
    /// observer (a broker that is not a controller), which only connects out.
    pub listen_address: Option<SocketAddr>,
    /// Where connections for the active controller's requests go (a controller's server).
    pub side_connections: Option<SideConnections>,
    /// `metadata.log.dir`: the log and quorum-state go in `__cluster_metadata-0/` under it.
    pub metadata_dir: PathBuf,
    pub raft: RaftConfig,
    /// A deliberate bug (simulator tests only).
    pub fault: Option<DriverFault>,
}

/// Why the driver could not start or stopped.
#[derive(Debug)]
pub enum DriverError {
    /// A disk operation failed (fatal: unsynced data may be lost).
    Disk(io::Error),
    QuorumState(QuorumStateStoreError),
    Snapshot(SnapshotStoreError),
    Log(InvalidLog),
    Listen(io::Error),
    Config(String),
}

impl fmt::Display for DriverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DriverError::Disk(e) => write!(f, "metadata log disk error: {e}"),
            DriverError::QuorumState(e) => write!(f, "{e}"),
            DriverError::Snapshot(e) => write!(f, "{e}"),
            DriverError::Log(e) => write!(f, "{e}"),
            DriverError::Listen(e) => write!(f, "cannot listen on the controller address: {e}"),
            DriverError::Config(e) => write!(f, "invalid controller quorum config: {e}"),
        }
    }
}

impl std::error::Error for DriverError {}

impl From<io::Error> for DriverError {
    fn from(e: io::Error) -> Self {
        DriverError::Disk(e)
    }
}

/// What a node's quorum member looks like from outside, after the last input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RaftStatus {
    pub node_id: NodeId,
    pub role: Role,
    pub epoch: Epoch,
    pub leader_id: Option<NodeId>,
    pub high_watermark: Offset,
    pub log_end_offset: Offset,
    /// The first offset in the log (the latest snapshot's end, or 0).
    pub log_start_offset: Offset,
    /// The leader's first offset of its epoch (its LeaderChange entry), if this node leads.
    pub epoch_start_offset: Option<Offset>,
}

/// What the committed channel hands the state machine, in log order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Committed {
    /// Load this snapshot in place of the current state: it holds everything below
    /// `id.end_offset`, and the entries that follow continue from there. Sent first at
    /// start-up when the disk holds a snapshot, and whenever one is installed from the leader.
    Snapshot { id: SnapshotId, data: Bytes },
    /// A committed entry.
    Entry(Entry),
}

/// Why a snapshot handed to [`RaftHandle::snapshot`] was not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotError {
    /// The core refused the id (the log moved on since the state machine chose it: a newer
    /// snapshot was installed or taken). Nothing was written.
    Invalid(InvalidSnapshot),
    /// The driver has stopped.
    Stopped,
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SnapshotError::Invalid(e) => write!(f, "{e}"),
            SnapshotError::Stopped => write!(f, "the raft driver has stopped"),
        }
    }
}

impl std::error::Error for SnapshotError {}

struct SnapshotRequest {
    id: SnapshotId,
    data: Bytes,
    reply: oneshot::Sender<Result<(), SnapshotError>>,
}

/// Why a proposal was not appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProposeError {
    NotLeader(NotLeader),
    /// An atomic append's expected epoch or first offset did not hold (the state machine
    /// that built the records is stale: another leadership came between).
    Stale {
        epoch: Epoch,
        log_end_offset: Offset,
    },
    /// The driver has stopped.
    Stopped,
}

impl fmt::Display for ProposeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProposeError::NotLeader(n) => {
                write!(f, "not the leader (leader {:?} in epoch {})", n.leader_id, n.leader_epoch)
            }
            ProposeError::Stale { epoch, log_end_offset } => {
                write!(f, "stale append: the log is at epoch {epoch}, end offset {log_end_offset}")
            }
            ProposeError::Stopped => write!(f, "the raft driver has stopped"),
        }
    }
}

impl std::error::Error for ProposeError {}

struct Proposal {
    payloads: Vec<Bytes>,
    /// For an atomic append: the epoch and first offset the records were built for.
    expected: Option<(Epoch, Offset)>,
    reply: oneshot::Sender<Result<(Offset, Offset), ProposeError>>,
}

/// The driver's published status: a version that every change bumps, and a `Notify` to wake
/// the handles waiting for one (tokio's `watch` is not used: it spreads its waiters by a
/// process-wide random draw that a simulation seed does not control).
#[derive(Debug)]
struct StatusCell {
    current: Mutex<(u64, RaftStatus)>,
    changed: Notify,
    stopped: AtomicBool,
}

impl StatusCell {
    fn get(&self) -> (u64, RaftStatus) {
        *self.current.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Proposes to, and reads the status of, a running driver. Cheap to clone.
#[derive(Debug, Clone)]
pub struct RaftHandle {
    proposals: mpsc::Sender<Proposal>,
    snapshots: mpsc::Sender<SnapshotRequest>,
    status: Arc<StatusCell>,
    /// The status version this handle last saw (for `changed`).
    seen: u64,
}

impl fmt::Debug for Proposal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Proposal({} payloads)", self.payloads.len())
    }
}

impl RaftHandle {
    /// Appends `payloads` as one batch if this node leads. Returns the first and last offset;
    /// they are committed once the high watermark passes them (watch the committed channel).
    pub async fn propose(&self, payloads: Vec<Bytes>) -> Result<(Offset, Offset), ProposeError> {
        self.submit(Proposal { payloads, expected: None, reply: oneshot::channel().0 }).await
    }

    /// Appends `payloads` only if this node still leads in `epoch` and its log ends at
    /// `first_offset` (Kafka's `scheduleAtomicAppend`): the active controller builds records
    /// against its image at known offsets (a broker's epoch is its registration's offset),
    /// and they must land exactly there or not at all.
    pub async fn propose_at(
        &self,
        epoch: Epoch,
        first_offset: Offset,
        payloads: Vec<Bytes>,
    ) -> Result<(Offset, Offset), ProposeError> {
        self.submit(Proposal { payloads, expected: Some((epoch, first_offset)), reply: oneshot::channel().0 }).await
    }

    async fn submit(&self, mut proposal: Proposal) -> Result<(Offset, Offset), ProposeError> {
        let (reply, answer) = oneshot::channel();
        proposal.reply = reply;
        self.proposals.send(proposal).await.map_err(|_| ProposeError::Stopped)?;
        answer.await.unwrap_or(Err(ProposeError::Stopped))
    }

    /// Takes a snapshot of the state machine: `data` holds everything below `id.end_offset`
    /// (committed, ending on an entry of `id.epoch`). Returns once it is durable and the core
    /// has it (the log below it is deleted in the same step), or why it was not taken.
    pub async fn snapshot(&self, id: SnapshotId, data: Bytes) -> Result<(), SnapshotError> {
        let (reply, answer) = oneshot::channel();
        self.snapshots.send(SnapshotRequest { id, data, reply }).await.map_err(|_| SnapshotError::Stopped)?;
        answer.await.unwrap_or(Err(SnapshotError::Stopped))
    }

    /// The status after the driver's last input.
    pub fn status(&self) -> RaftStatus {
        self.status.get().1
    }

    /// Waits until the status changes; `false` once the driver has stopped.
    pub async fn changed(&mut self) -> bool {
        loop {
            // Created before the check: `notify_waiters` reaches a `Notified` from its creation.
            let notified = self.status.changed.notified();
            let (version, _) = self.status.get();
            if version != self.seen {
                self.seen = version;
                return true;
            }
            if self.status.stopped.load(Ordering::SeqCst) {
                return false;
            }
            notified.await;
        }
    }
}

/// A quorum member, opened from its disk and listening; [`run`](Self::run) drives it.
pub struct RaftDriver {
    config: RaftDriverConfig,
    core: RaftCore,
    log_store: LogStore,
    snapshot_store: SnapshotStore,
    quorum_state_store: QuorumStateStore,
    base: tokio::time::Instant,
    peers: BTreeMap<NodeId, PeerSender>,
    /// The way back to observers, which answer-only connections reach.
    returns: ReturnPaths,
    inbound: mpsc::Receiver<(NodeId, Message)>,
    proposals: mpsc::Receiver<Proposal>,
    snapshots: mpsc::Receiver<SnapshotRequest>,
    handle: RaftHandle,
    status: Arc<StatusCell>,
    committed: mpsc::UnboundedSender<Committed>,
    /// Vote requests stepped in this input, by (candidate, correlation id): what the granted
    /// responses' `VoteGranted` events report about the candidate.
    vote_requests: BTreeMap<(NodeId, i32), VoteRequest>,
    /// The listener and peer tasks (aborted on drop).
    _tasks: OwnedTasks,
}

impl RaftDriver {
    /// Recovers the snapshot, the log and the quorum-state from `disk`, builds the core, binds
    /// the controller listener and starts a connection task per other voter. Returns the
    /// driver and the committed channel: the recovered snapshot (if any), then the committed
    /// entries in offset order from the log start, on every start (the state machine rebuilds
    /// from the snapshot and the log).
    pub async fn open(
        config: RaftDriverConfig,
        disk: Arc<dyn Disk>,
        rng: NodeRng,
    ) -> Result<(RaftDriver, mpsc::UnboundedReceiver<Committed>), DriverError> {
        config.raft.validate().map_err(DriverError::Config)?;
        let is_voter = config.voters.contains_key(&config.node_id);
        if is_voter != config.listen_address.is_some() {
            return Err(DriverError::Config(format!(
                "node {}: a voter needs a controller listener and an observer has none",
                config.node_id
            )));
        }
        let quorum_state_store =
            QuorumStateStore::open(disk.clone(), &config.metadata_dir).await.map_err(DriverError::Disk)?;
        let record = quorum_state_store.read().await.map_err(DriverError::QuorumState)?;
        let (snapshot_store, snapshot, snapshot_recovery) =
            SnapshotStore::open(disk.clone(), &config.metadata_dir).await.map_err(DriverError::Snapshot)?;
        let (mut log_store, entries, recovery) = LogStore::open(&disk, &config.metadata_dir).await?;
        tracing::info!(
            name: "raft_log_recovered",
            entries = recovery.entries,
            truncated_bytes = recovery.truncated_bytes,
            partial_snapshots_removed = snapshot_recovery.partial_removed,
            older_snapshots_removed = snapshot_recovery.older_removed
        );
        let snapshot_id = snapshot.as_ref().map(|(id, _)| *id);
        let entries = continue_snapshot(&mut log_store, snapshot_id, entries).await?;
        let log = RaftLog::recovered(snapshot_id, entries).map_err(DriverError::Log)?;
        let listener = match config.listen_address {
            Some(address) => Some(TcpListener::bind(address).await.map_err(DriverError::Listen)?),
            None => None,
        };
        let base = crate::runtime::now();
        let voter_ids: BTreeSet<NodeId> = config.voters.keys().copied().collect();
        let mut core = RaftCore::new(config.raft.clone(), config.node_id, voter_ids, record, log, rng, 0);
        let (committed, committed_receiver) = mpsc::unbounded_channel();
        if let Some((id, data)) = snapshot {
            core.on_snapshot(0, id, data.clone()).expect("the log was recovered at its snapshot");
            snapshot_event(id, &data, |end_offset, epoch, bytes, digest| {
                RaftSnapshotLoaded { end_offset, epoch, bytes, digest }.emit()
            });
            let _ = committed.send(Committed::Snapshot { id, data });
        }

        let mut tasks = OwnedTasks::default();
        let (inbound_sender, inbound) = mpsc::channel(INBOUND_QUEUE);
        let returns = ReturnPaths::default();
        if let Some(listener) = listener {
            let side = config.side_connections.clone();
            let serve = serve_inbound(listener, config.node_id, inbound_sender.clone(), returns.clone(), side);
            tasks.push(crate::runtime::spawn(serve));
        }
        let mut peers = BTreeMap::new();
        for (id, address) in &config.voters {
            if *id != config.node_id {
                let (peer, task) = PeerSender::start(config.node_id, *address, inbound_sender.clone());
                tasks.push(task);
                peers.insert(*id, peer);
            }
        }
        let (proposal_sender, proposals) = mpsc::channel(PROPOSAL_QUEUE);
        let (snapshot_sender, snapshots) = mpsc::channel(SNAPSHOT_QUEUE);
        let status = Arc::new(StatusCell {
            current: Mutex::new((0, status_of(&core))),
            changed: Notify::new(),
            stopped: AtomicBool::new(false),
        });
        let driver = RaftDriver {
            config,
            core,
            log_store,
            snapshot_store,
            quorum_state_store,
            base,
            peers,
            returns,
            inbound,
            proposals,
            snapshots,
            handle: RaftHandle {
                proposals: proposal_sender,
                snapshots: snapshot_sender,
                status: status.clone(),
                seen: 0,
            },
            status,
            committed,
            vote_requests: BTreeMap::new(),
            _tasks: tasks,
        };
        Ok((driver, committed_receiver))
    }

    /// A handle to propose and read the status.
    pub fn handle(&self) -> RaftHandle {
        self.handle.clone()
    }

    fn now_ms(&self) -> u64 {
        (crate::runtime::now() - self.base).as_millis() as u64
    }

    /// Runs the quorum member until `shutdown` completes (then a leader resigns, telling the
    /// others) or a disk error stops it. The connection tasks stop with it.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) -> Result<(), DriverError> {
        tokio::pin!(shutdown);
        // The state the node starts in, reported once whatever `new` decided is durable (a
        // restored state newer than the record is written by the first Ready).
        let starting = self.starting_transition();
        self.process_readies().await?;
        starting.emit();
        loop {
            let now_ms = self.now_ms();
            let wake_ms = self.core.next_deadline().min(now_ms + MAX_SLEEP_MS);
            let wake = self.base + Duration::from_millis(wake_ms);
            tokio::select! {
                biased;
                _ = &mut shutdown => {
                    let now_ms = self.now_ms();
                    self.core.resign(now_ms);
                    self.process_readies().await?;
                    return Ok(());
                }
                Some((from, message)) = self.inbound.recv() => {
                    if let Message::Request { correlation_id, body: Request::Vote(vote) } = &message {
                        self.vote_requests.insert((from, *correlation_id), vote.clone());
                    }
                    let now_ms = self.now_ms();
                    self.core.step(now_ms, from, message);
                }
                Some(proposal) = self.proposals.recv() => {
                    let now_ms = self.now_ms();
                    let (epoch, log_end_offset) = (self.core.epoch(), self.core.log_end_offset());
                    let result = match proposal.expected {
                        Some(expected) if expected != (epoch, log_end_offset) => {
                            Err(ProposeError::Stale { epoch, log_end_offset })
                        }
                        _ => self.core.propose(now_ms, proposal.payloads).map_err(ProposeError::NotLeader),
                    };
                    let _ = proposal.reply.send(result);
                }
                Some(request) = self.snapshots.recv() => {
                    let result = self.take_snapshot(request.id, request.data).await?;
                    // Answered once the log below it is deleted and the status shows it.
                    self.process_readies().await?;
                    let _ = request.reply.send(result);
                }
                _ = tokio::time::sleep_until(wake) => {}
            }
            let now_ms = self.now_ms();
            if now_ms >= self.core.next_deadline() {
                self.core.tick(now_ms);
            }
            self.process_readies().await?;
        }
    }

    /// The state machine's snapshot `id`: checked against the core (nothing is written for an
    /// id the log has moved past), made durable, then handed to the core, whose next Ready
    /// deletes the log below it.
    async fn take_snapshot(&mut self, id: SnapshotId, data: Bytes) -> Result<Result<(), SnapshotError>, DriverError> {
        if let Err(invalid) = self.core.check_snapshot(id) {
            tracing::debug!(name: "raft_snapshot_refused", end_offset = id.end_offset, epoch = id.epoch, reason = %invalid);
            return Ok(Err(SnapshotError::Invalid(invalid)));
        }
        self.snapshot_store.write(id, &data).await?;
        snapshot_event(id, &data, |end_offset, epoch, bytes, digest| {
            RaftSnapshotTaken { end_offset, epoch, bytes, digest }.emit()
        });
        let now_ms = self.now_ms();
        self.core.on_snapshot(now_ms, id, data).expect("checked against the core just before");
        Ok(Ok(()))
    }

    fn starting_transition(&self) -> RaftTransition {
        let state = self.core.election_state();
        RaftTransition {
            from_state: crate::events::STARTING_STATE.to_string(),
            to_state: format!("{:?}", state.role()),
            epoch: state.epoch(),
            leader_id: state.leader_id().unwrap_or(-1),
            voted_id: state.voted_id().unwrap_or(-1),
        }
    }

    /// Handles Readys until the core has nothing more (confirming one may move a leader's
    /// high watermark, which makes another).
    async fn process_readies(&mut self) -> Result<(), DriverError> {
        while self.core.has_ready() {
            let ready = self.core.take_ready();
            self.process_ready(ready).await?;
        }
        self.vote_requests.clear();
        self.publish_status();
        Ok(())
    }

    async fn process_ready(&mut self, mut ready: Ready) -> Result<(), DriverError> {
        // 1. What the core changed in memory in this step, then what may leave now.
        for entry in &ready.append {
            RaftAppended {
                epoch: entry.epoch,
                base_offset: entry.offset,
                last_offset: entry.offset,
                digest: digest(entry),
            }
            .emit();
        }
        // An installed snapshot moves the high watermark to its end, over a log that is empty
        // there only once the install is written: that move is reported after it.
        if let (Some(high_watermark), None) = (ready.high_watermark, &ready.install_snapshot) {
            self.emit_high_watermark(high_watermark);
        }
        if self.config.fault == Some(DriverFault::SendVoteBeforePersist) {
            let (votes, rest): (Vec<Outbound>, Vec<Outbound>) =
                std::mem::take(&mut ready.messages_after_persist).into_iter().partition(is_granted_vote);
            ready.messages.extend(votes);
            ready.messages_after_persist = rest;
        }
        let messages = std::mem::take(&mut ready.messages);
        self.send_all(messages);

        // 2. The writes, in the contract's order.
        if let Some(record) = ready.quorum_state {
            self.quorum_state_store.write(&record).await?;
            QuorumStateWritten {
                epoch: record.leader_epoch,
                leader_id: record.leader_id.unwrap_or(-1),
                voted_id: record.voted_id.unwrap_or(-1),
            }
            .emit();
        }
        if let Some((id, data)) = &ready.install_snapshot {
            // The snapshot first: until it is durable the old log is what a restart has.
            self.snapshot_store.write(*id, data).await?;
            self.log_store.reset_to(id.end_offset).await?;
            snapshot_event(*id, data, |end_offset, epoch, bytes, digest| {
                RaftSnapshotInstalled { end_offset, epoch, bytes, digest }.emit()
            });
            if let Some(high_watermark) = ready.high_watermark {
                self.emit_high_watermark(high_watermark);
            }
        }
        if let Some(offset) = ready.truncate_to {
            self.log_store.truncate_to(offset).await?;
        }
        if !ready.append.is_empty() {
            self.log_store.append(&ready.append).await?;
            self.log_store.sync().await?;
        }
        if let Some(offset) = ready.log_start_offset {
            // Last: the snapshot that covers what goes is durable (`take_snapshot` wrote it).
            self.log_store.delete_below(offset).await?;
        }

        // The election states the writes made durable (all of them, in order).
        for transition in std::mem::take(&mut ready.transitions) {
            transition.emit();
        }

        // 3. What waited for the writes, and the confirmation.
        let after = std::mem::take(&mut ready.messages_after_persist);
        self.send_all(after);
        let now_ms = self.now_ms();
        self.core.on_persisted(now_ms, ready.id);

        // 4. The committed entries (after the status, so a consumer that reads one sees a
        //    high watermark past it).
        self.publish_status();
        let mut loaded_from = None;
        if let Some((id, data)) = ready.install_snapshot {
            // Entries committed before the install in this Ready lie below the snapshot, which
            // holds them; those after it continue from its end.
            loaded_from = Some(id.end_offset);
            let _ = self.committed.send(Committed::Snapshot { id, data });
        }
        for entry in ready.committed {
            if loaded_from.is_none_or(|end| entry.offset >= end) {
                let _ = self.committed.send(Committed::Entry(entry));
            }
        }
        Ok(())
    }

    /// Publishes the status to the handles, waking them only if it changed.
    fn publish_status(&self) {
        let status = status_of(&self.core);
        let mut current = self.status.current.lock().unwrap_or_else(|p| p.into_inner());
        if current.1 != status {
            *current = (current.0 + 1, status);
            drop(current);
            self.status.changed.notify_waiters();
        }
    }

    fn send_all(&mut self, messages: Vec<Outbound>) {
        for out in messages {
            if let Message::Response { correlation_id, body: Response::Vote(response) } = &out.message {
                let request = self.vote_requests.get(&(out.to, *correlation_id));
                if let (true, Some(request)) = (response.vote_granted, request) {
                    VoteGranted {
                        voter_id: self.config.node_id,
                        candidate_id: out.to,
                        epoch: request.replica_epoch,
                        candidate_last_epoch: request.last_offset_epoch,
                        candidate_last_offset: request.last_offset,
                        voter_last_epoch: self.core.log().last_epoch(),
                        voter_log_end_offset: self.core.log_end_offset(),
                        pre_vote: request.pre_vote,
                    }
                    .emit();
                }
            }
            match self.peers.get(&out.to) {
                Some(peer) => peer.send(out.message),
                None => self.returns.send(out.to, out.message),
            }
        }
    }

    fn emit_high_watermark(&self, high_watermark: Offset) {
        let voter_end_offsets = self.core.voter_end_offsets();
        RaftHighWatermark {
            high_watermark,
            epoch: self.core.epoch(),
            is_leader: voter_end_offsets.is_some(),
            epoch_start_offset: self.core.epoch_start_offset().unwrap_or(-1),
            voter_end_offsets: voter_end_offsets.map_or_else(String::new, |ends| format_id_offsets(&ends)),
        }
        .emit();
    }
}

impl Drop for RaftDriver {
    /// Wakes the handles waiting in `changed`: nothing will change any more.
    fn drop(&mut self) {
        self.status.stopped.store(true, Ordering::SeqCst);
        self.status.changed.notify_waiters();
    }
}

fn status_of(core: &RaftCore) -> RaftStatus {
    RaftStatus {
        node_id: core.local_id(),
        role: core.role(),
        epoch: core.epoch(),
        leader_id: core.leader_id(),
        high_watermark: core.high_watermark(),
        log_end_offset: core.log_end_offset(),
        log_start_offset: core.log().start_offset(),
        epoch_start_offset: core.epoch_start_offset(),
    }
}

/// Reconciles the recovered log with the recovered snapshot and returns the entries the core
/// starts with (from the snapshot's end). The log continues the snapshot if it starts at the
/// snapshot's end (only deleting below this snapshot, once it was durable, makes a log start
/// there) or holds the snapshot's last entry (same offset and epoch, so by Raft's log matching
/// the same prefix): then it keeps what follows and drops what the snapshot covers. Otherwise
/// (a crash between installing a snapshot and emptying the log, or a log that never got that
/// far) it restarts empty at the snapshot's end.
pub(super) async fn continue_snapshot(
    log_store: &mut LogStore,
    snapshot: Option<SnapshotId>,
    entries: Vec<Entry>,
) -> Result<Vec<Entry>, DriverError> {
    let start = snapshot.map_or(0, |id| id.end_offset);
    if log_store.start_offset() > start && !entries.is_empty() {
        return Err(DriverError::Log(InvalidLog(format!(
            "the log starts at {} but the latest snapshot ends at {start}: the entries between are lost",
            log_store.start_offset()
        ))));
    }
    let Some(id) = snapshot else { return Ok(entries) };
    let continues = entries.first().is_some_and(|e| e.offset == id.end_offset)
        || entries.iter().any(|e| e.offset == id.end_offset - 1 && e.epoch == id.epoch);
    if !continues {
        log_store.reset_to(start).await?;
        return Ok(Vec::new());
    }
    log_store.delete_below(start).await?;
    Ok(entries.into_iter().filter(|e| e.offset >= start).collect())
}

/// Calls `emit` with a snapshot's id, size and digest (FNV-1a 64 of its bytes).
fn snapshot_event(id: SnapshotId, data: &Bytes, emit: impl FnOnce(i64, i32, u64, u64)) {
    emit(id.end_offset, id.epoch, data.len() as u64, fnv1a(data));
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |hash, byte| (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3))
}

fn is_granted_vote(out: &Outbound) -> bool {
    matches!(&out.message, Message::Response { body: Response::Vote(r), .. } if r.vote_granted)
}

/// FNV-1a 64 of the entry's encoded frame (offset, epoch, kind and payload): the same on every
/// node that holds the entry.
pub fn digest(entry: &Entry) -> u64 {
    let mut frame = BytesMut::new();
    encode_frame(entry, &mut frame);
    fnv1a(&frame)
}
