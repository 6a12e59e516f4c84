//! The KRaft RPCs as Rust values, with KRaft's field names (KIP-595, KIP-630, KIP-996,
//! KIP-1166).
//!
//! Only what the core reads and writes is here; the wire encoding (Vote v2, BeginQuorumEpoch,
//! EndQuorumEpoch, Fetch) is the driver's job. Types are Kafka's: epochs are `i32`, offsets
//! `i64`, replica ids `i32`, and −1 means "none" on the wire; in these structs "none" is an
//! `Option`, and the driver maps it to −1.
//!
//! The types derive serde so that seedlog's own controllers can exchange them (the driver's
//! internal framing, see `transport.rs`); `Bytes` fields go through [`bytes_as_vec`] so the
//! `bytes` crate needs no serde feature.
//!
//! Every request carries a `correlation_id`, echoed by its response, as Kafka's request header
//! does. The core accepts a response only if it answers the request it still has in flight to
//! that node (Kafka's `RequestManager` does the same): a late, duplicated or re-ordered
//! response to an older request — above all a `DivergingEpoch` answered to an old fetch
//! position — must not act on today's log.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// A replica id (`node.id`).
pub type NodeId = i32;
/// A leader epoch.
pub type Epoch = i32;
/// A log offset.
pub type Offset = i64;

/// The Kafka error codes the quorum RPCs use, with Kafka's numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[repr(i16)]
pub enum ErrorCode {
    None = 0,
    NotLeaderOrFollower = 6,
    InvalidRequest = 42,
    FencedLeaderEpoch = 74,
    UnknownLeaderEpoch = 75,
    SnapshotNotFound = 98,
    PositionOutOfRange = 99,
}

impl ErrorCode {
    /// Kafka's number for this error.
    pub fn code(self) -> i16 {
        self as i16
    }
}

/// What kind of record an entry holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum EntryKind {
    /// A record of the replicated state machine (opaque to the core).
    Data,
    /// Kafka's `LeaderChangeMessage` control record, appended by every new leader so that a
    /// record of its own epoch can commit (and with it everything before it).
    LeaderChange { leader_id: NodeId, voters: Vec<NodeId> },
}

/// One entry of the replicated log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub offset: Offset,
    pub epoch: Epoch,
    pub kind: EntryKind,
    #[serde(with = "bytes_as_vec")]
    pub payload: Bytes,
}

/// `(EndOffset, Epoch)` of a snapshot (KIP-630): the snapshot holds every record below
/// `end_offset`, and the last of them has epoch `epoch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SnapshotId {
    pub end_offset: Offset,
    pub epoch: Epoch,
}

/// A Fetch response's `DivergingEpoch`: the leader's log ends epoch `epoch` at `end_offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DivergingEpoch {
    pub epoch: Epoch,
    pub end_offset: Offset,
}

/// Vote (API 52). `PreVote=true` asks "would you vote for me?" and changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoteRequest {
    pub replica_epoch: Epoch,
    pub replica_id: NodeId,
    pub last_offset_epoch: Epoch,
    /// The candidate's log end offset (Kafka sends `endOffset`, named `LastOffset`).
    pub last_offset: Offset,
    pub pre_vote: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoteResponse {
    pub error_code: ErrorCode,
    pub leader_id: Option<NodeId>,
    pub leader_epoch: Epoch,
    pub vote_granted: bool,
}

/// BeginQuorumEpoch (API 53): the new leader announces itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BeginQuorumEpochRequest {
    pub leader_id: NodeId,
    pub leader_epoch: Epoch,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BeginQuorumEpochResponse {
    pub error_code: ErrorCode,
    pub leader_id: Option<NodeId>,
    pub leader_epoch: Epoch,
}

/// EndQuorumEpoch (API 54): a resigning leader asks its followers to elect a successor soon,
/// the most caught-up first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndQuorumEpochRequest {
    pub leader_id: NodeId,
    pub leader_epoch: Epoch,
    pub preferred_candidates: Vec<NodeId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndQuorumEpochResponse {
    pub error_code: ErrorCode,
    pub leader_id: Option<NodeId>,
    pub leader_epoch: Epoch,
}

/// Fetch (API 1) on `__cluster_metadata`-0, as KRaft uses it for replication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchRequest {
    pub replica_id: NodeId,
    pub current_leader_epoch: Epoch,
    /// The follower's log end offset; for a voter this acknowledges everything below it,
    /// which is why a voter sends it only once those records are fsynced.
    pub fetch_offset: Offset,
    pub last_fetched_epoch: Epoch,
    /// KIP-1166: the follower's high watermark, so a leader with a newer one answers at once.
    pub high_watermark: Option<Offset>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchResponse {
    pub error_code: ErrorCode,
    pub high_watermark: Option<Offset>,
    /// `CurrentLeader`: who the responder believes leads, and in which epoch.
    pub leader_id: Option<NodeId>,
    pub leader_epoch: Epoch,
    pub diverging_epoch: Option<DivergingEpoch>,
    pub snapshot_id: Option<SnapshotId>,
    pub records: Vec<Entry>,
}

/// FetchSnapshot (API 59, KIP-630): one chunk of the leader's snapshot, from `position`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchSnapshotRequest {
    pub replica_id: NodeId,
    pub current_leader_epoch: Epoch,
    pub snapshot_id: SnapshotId,
    pub position: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchSnapshotResponse {
    pub error_code: ErrorCode,
    pub leader_id: Option<NodeId>,
    pub leader_epoch: Epoch,
    pub snapshot_id: SnapshotId,
    /// The snapshot's whole size in bytes.
    pub size: i64,
    pub position: i64,
    /// The chunk (Kafka's `UnalignedRecords`: a byte range, not whole batches).
    #[serde(with = "bytes_as_vec")]
    pub unaligned_records: Bytes,
}

/// A request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    Vote(VoteRequest),
    BeginQuorumEpoch(BeginQuorumEpochRequest),
    EndQuorumEpoch(EndQuorumEpochRequest),
    Fetch(FetchRequest),
    FetchSnapshot(FetchSnapshotRequest),
}

/// A response body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    Vote(VoteResponse),
    BeginQuorumEpoch(BeginQuorumEpochResponse),
    EndQuorumEpoch(EndQuorumEpochResponse),
    Fetch(FetchResponse),
    FetchSnapshot(FetchSnapshotResponse),
}

/// What travels between two quorum members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    Request { correlation_id: i32, body: Request },
    Response { correlation_id: i32, body: Response },
}

impl Message {
    /// The epoch this message speaks for, and the leader it names if any.
    pub fn epoch_and_leader(&self) -> (Epoch, Option<NodeId>) {
        match self {
            Message::Request { body, .. } => match body {
                Request::Vote(r) => (r.replica_epoch, None),
                Request::BeginQuorumEpoch(r) => (r.leader_epoch, Some(r.leader_id)),
                Request::EndQuorumEpoch(r) => (r.leader_epoch, Some(r.leader_id)),
                Request::Fetch(r) => (r.current_leader_epoch, None),
                Request::FetchSnapshot(r) => (r.current_leader_epoch, None),
            },
            Message::Response { body, .. } => match body {
                Response::Vote(r) => (r.leader_epoch, r.leader_id),
                Response::BeginQuorumEpoch(r) => (r.leader_epoch, r.leader_id),
                Response::EndQuorumEpoch(r) => (r.leader_epoch, r.leader_id),
                Response::Fetch(r) => (r.leader_epoch, r.leader_id),
                Response::FetchSnapshot(r) => (r.leader_epoch, r.leader_id),
            },
        }
    }
}

/// A message the core wants sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outbound {
    pub to: NodeId,
    pub message: Message,
}

/// Serde for a `Bytes` field as a plain byte sequence (without `bytes`'s serde feature).
mod bytes_as_vec {
    use bytes::Bytes;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &Bytes, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(bytes)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Bytes, D::Error> {
        Vec::<u8>::deserialize(deserializer).map(Bytes::from)
    }
}
