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

mod config;
mod core;
mod election;
mod follower;
mod leader;
mod messages;
mod outbox;
mod quorum_state;
mod quorum_state_file;
mod raft_log;
mod ready;
mod snapshot;

#[cfg(test)]
mod cluster_tests;
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
pub use self::messages::*;
pub use self::quorum_state::{ElectionState, QuorumState, Role, TransitionRefused};
pub use self::quorum_state_file::{QuorumStateFileError, QuorumStateRecord, ZERO_DIRECTORY_ID};
pub use self::raft_log::{InvalidLog, RaftLog};
pub use self::ready::Ready;
pub use self::snapshot::InvalidSnapshot;
