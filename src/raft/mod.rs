//! The controller quorum's Raft core, following KRaft's rules (KIP-595, KIP-996 pre-vote,
//! KIP-630 snapshots), with no IO. See docs/raft.md for the design and where it
//! departs from Kafka.
//!
//! | file | concept |
//! |---|---|
//! | `messages.rs` | the RPCs (Vote, BeginQuorumEpoch, EndQuorumEpoch, Fetch) with KRaft's field names |
//! | `quorum_state.rs` | election states, the transition table, restart rules |
//! | `quorum_state_file.rs` | the `quorum-state` file (Kafka's JSON line) |
//! | `raft_log.rs` | the log as the core sees it: entries, epoch lookup, truncation, snapshot id |
//! | `config.rs` | timers and limits with Kafka's key names |
//! | `ready.rs` | the outputs and the shell's contract |
//! | `core.rs` | `RaftCore`: state, inputs, transitions, timers, invariants |
//! | `outbox.rs` | the Ready: sorting messages by what they wait for, log writes, the HW, `on_persisted` |
//! | `election.rs` | Vote handling, pre-vote, candidacy, backoff |
//! | `leader.rs` | serving Fetch, the quorum high watermark, check-quorum, resigning |
//! | `follower.rs` | Begin/EndQuorumEpoch, the fetch loop, truncation, follower high watermark |
//! | `snapshot.rs` | taking a snapshot, serving FetchSnapshot, fetching and installing one |
//! | `driver.rs` | `RaftDriver`: the async shell (inputs, Ready handling, events), `RaftHandle` |
//! | `log_store.rs` | the metadata log file: CRC-framed entries, recovery, truncation |
//! | `quorum_state_store.rs` | the `quorum-state` file on disk: tmp, fsync, rename, dir fsync |
//! | `transport.rs` | seedlog's controller-to-controller framing, peer connections, the listener |

mod config;
mod core;
mod driver;
mod election;
mod follower;
mod leader;
mod log_store;
mod messages;
mod outbox;
mod quorum_state;
mod quorum_state_file;
mod quorum_state_store;
mod raft_log;
mod ready;
mod snapshot;
mod snapshot_store;
mod transport;

#[cfg(test)]
mod cluster_tests;
#[cfg(test)]
mod driver_snapshot_tests;
#[cfg(test)]
mod driver_tests;
#[cfg(test)]
mod harness;
#[cfg(test)]
mod harness_checks;
#[cfg(test)]
mod snapshot_tests;
#[cfg(test)]
mod tests;

pub use self::config::RaftConfig;
pub use self::core::{NotLeader, RaftCore};
pub use self::driver::{
    digest, Committed, DriverError, DriverFault, ProposeError, RaftDriver, RaftDriverConfig, RaftHandle, RaftStatus,
    SnapshotError,
};
pub use self::log_store::{LogRecovery, LogStore, METADATA_DIR};
pub use self::messages::*;
pub use self::quorum_state::{ElectionState, QuorumState, Role, TransitionRefused};
pub use self::quorum_state_file::{QuorumStateFileError, QuorumStateRecord, ZERO_DIRECTORY_ID};
pub use self::quorum_state_store::{QuorumStateStore, QuorumStateStoreError};
pub use self::raft_log::{InvalidLog, RaftLog};
pub use self::ready::Ready;
pub use self::snapshot::InvalidSnapshot;
pub use self::snapshot_store::{
    parse_snapshot_file_name, snapshot_file_name, SnapshotRecovery, SnapshotStore, SnapshotStoreError,
};
pub use self::transport::{
    read_frame, write_frame, FrameError, OwnedTasks, SideConnections, WireFrame, CHANNEL_CONTROLLER,
    CONNECT_TIMEOUT_MS, MAX_FRAME_BYTES,
};
