//! The active controller's core (Kafka's `QuorumController`): requests in, metadata records
//! and replies out. No IO: the shell appends the records to the metadata log (Raft) and
//! sends each reply only once the log's high watermark covers its records, as Kafka's
//! controller does (REPLICATION.md §2.1). The core applies its own records at once to its
//! image, so the next request sees them; if the node loses leadership the shell drops the
//! core and builds a new one from the committed image (Kafka reverts its timeline data
//! structures; rebuilding gives the same result more simply).
//!
//! Broker lifecycle (registration, heartbeats, fencing, controlled shutdown) is in
//! `cluster_control.rs`; topics, partitions, AlterPartition and elections in
//! `replication_control.rs`. Both are `impl QuorumController` blocks over the one image.

use std::collections::BTreeMap;

use rand::Rng;
use uuid::Uuid;

use super::image::MetadataImage;
use super::records::{BrokerId, MetadataRecord};
use crate::runtime::NodeRng;

/// The controller's settings, under Kafka's keys.
#[derive(Clone, Debug)]
pub struct ControllerConfig {
    /// `broker.session.timeout.ms`: a broker without a heartbeat this long is fenced.
    pub broker_session_timeout_ms: i64,
    /// `default.replication.factor`.
    pub default_replication_factor: i16,
    /// `num.partitions`.
    pub num_partitions: i32,
    /// `min.insync.replicas`, cluster-wide.
    pub min_insync_replicas: usize,
    /// `eligible.leader.replicas.version` ≥ 1 (KIP-966).
    pub elr_enabled: bool,
    /// `unclean.leader.election.enable`, cluster-wide (a topic may override it).
    pub unclean_leader_election_enable: bool,
    /// `leader.imbalance.check.interval.seconds`, in ms: how often preferred leaders are
    /// restored (with `auto.leader.rebalance.enable`).
    pub leader_imbalance_check_interval_ms: i64,
    /// `auto.leader.rebalance.enable`.
    pub auto_leader_rebalance_enable: bool,
    /// `seedlog.alter.partition.broker.epoch.check.enable`: an AlterPartition naming an ISR
    /// member by a broker epoch other than its registered one is INELIGIBLE_REPLICA (KIP-903).
    /// False is the design before KIP-903, kept as a switch for the simulator.
    pub alter_partition_broker_epoch_check: bool,
}

impl Default for ControllerConfig {
    fn default() -> Self {
        ControllerConfig {
            broker_session_timeout_ms: 9_000,
            default_replication_factor: 1,
            num_partitions: 1,
            min_insync_replicas: 1,
            elr_enabled: true,
            unclean_leader_election_enable: false,
            leader_imbalance_check_interval_ms: 300_000,
            auto_leader_rebalance_enable: true,
            alter_partition_broker_epoch_check: true,
        }
    }
}

/// A Kafka error code and its message.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ControllerError {
    pub code: i16,
    pub message: String,
}

impl ControllerError {
    pub fn new(error: kafka_protocol::ResponseError, message: impl Into<String>) -> Self {
        ControllerError { code: error.code(), message: message.into() }
    }
}

impl std::fmt::Display for ControllerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "error {}: {}", self.code, self.message)
    }
}

/// What a request wrote and what to answer once it is committed: the reply may be sent
/// when the metadata log's high watermark is above `last_offset` (or at once when no
/// record was written).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written<T> {
    pub records: Vec<(i64, MetadataRecord)>,
    pub reply: T,
}

impl<T> Written<T> {
    /// The offset the reply waits for, if any record was written.
    pub fn last_offset(&self) -> Option<i64> {
        self.records.last().map(|(offset, _)| *offset)
    }
}

/// A live broker's session, known only to the active controller (not in the log).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct BrokerSession {
    pub last_heartbeat_ms: i64,
    /// This controller heard from the incarnation (a registration or a heartbeat); false
    /// for a session granted at takeover, which may belong to a process that is gone.
    pub heard_from: bool,
}

impl BrokerSession {
    /// A session renewed by a registration or heartbeat at `now_ms`.
    pub fn heard(now_ms: i64) -> Self {
        BrokerSession { last_heartbeat_ms: now_ms, heard_from: true }
    }
}

/// The active controller.
///
/// Invariants:
/// - `image` is the committed metadata plus every record this controller wrote since, and
///   `next_offset` is one past the last of them;
/// - every session belongs to a registered broker.
pub struct QuorumController {
    pub(super) config: ControllerConfig,
    pub(super) image: MetadataImage,
    pub(super) next_offset: i64,
    pub(super) sessions: BTreeMap<BrokerId, BrokerSession>,
    pub(super) rng: NodeRng,
    pub(super) next_preferred_check_ms: i64,
}

impl QuorumController {
    /// A controller that took over at `now_ms`, with the committed `image`; its records go
    /// to the log from `next_offset`. Registered brokers get a full session from now (Kafka
    /// does the same on failover: no broker is fenced for the change of controller).
    pub fn new(now_ms: i64, config: ControllerConfig, image: MetadataImage, next_offset: i64, rng: NodeRng) -> Self {
        assert!(next_offset > image.offset, "the log continues after the image");
        let sessions = image
            .brokers
            .values()
            .filter(|b| !b.fenced)
            .map(|b| (b.id, BrokerSession { last_heartbeat_ms: now_ms, heard_from: false }))
            .collect();
        let next_preferred_check_ms = now_ms + config.leader_imbalance_check_interval_ms;
        let controller = QuorumController { config, image, next_offset, sessions, rng, next_preferred_check_ms };
        controller.check_invariants();
        controller
    }

    /// The metadata as this controller sees it (committed plus its own writes).
    pub fn image(&self) -> &MetadataImage {
        &self.image
    }

    /// The offset its next record goes to.
    pub fn next_offset(&self) -> i64 {
        self.next_offset
    }

    /// Appends `record` at the next offset: applied to the image at once, returned for the log.
    pub(super) fn write(&mut self, records: &mut Vec<(i64, MetadataRecord)>, record: MetadataRecord) {
        let offset = self.next_offset;
        if let Err(error) = self.image.apply(offset, &record) {
            panic!("the controller wrote a record its own image refuses at {offset}: {}: {record:?}", error.0);
        }
        records.push((offset, record));
        self.next_offset += 1;
    }

    /// A fresh topic id from the controller's seeded source.
    pub(super) fn new_topic_id(&mut self) -> Uuid {
        uuid::Builder::from_random_bytes(self.rng.random()).into_uuid()
    }

    /// Periodic work: fence brokers whose session expired, elect leaders for leaderless
    /// partitions, and restore preferred leaders when due.
    pub fn tick(&mut self, now_ms: i64) -> Written<()> {
        let mut records = Vec::new();
        self.fence_expired_sessions(now_ms, &mut records);
        self.elect_leaderless(&mut records);
        if self.config.auto_leader_rebalance_enable && now_ms >= self.next_preferred_check_ms {
            self.next_preferred_check_ms = now_ms + self.config.leader_imbalance_check_interval_ms;
            self.elect_preferred(&mut records);
        }
        self.check_invariants();
        Written { records, reply: () }
    }

    /// When [`tick`](QuorumController::tick) next has work: the earliest session expiry or
    /// preferred-leader check.
    pub fn next_deadline(&self) -> i64 {
        let expiry = self.sessions.values().map(|s| s.last_heartbeat_ms + self.config.broker_session_timeout_ms + 1);
        expiry.min().unwrap_or(i64::MAX).min(self.next_preferred_check_ms)
    }

    pub(super) fn check_invariants(&self) {
        assert!(self.next_offset > self.image.offset, "next offset {} at or below the image", self.next_offset);
        for id in self.sessions.keys() {
            assert!(self.image.brokers.contains_key(id), "session of unregistered broker {id}");
        }
        self.image.check_invariants();
    }
}

#[cfg(test)]
#[path = "quorum_controller_tests.rs"]
mod tests;
