//! `Replica`: one per partition this broker hosts. It holds the role (leader, follower, or
//! none yet), the high watermark across roles, and the broker registrations ISR eligibility
//! reads. Role changes go through `become_leader` / `become_follower`, which refuse stale
//! metadata; the leader's entry points are in `leader.rs`, the follower's in `follower.rs`.

use std::collections::BTreeMap;

use super::epoch_lookup::LeaderLogView;
use super::follower::FollowerState;
#[cfg(test)]
use super::leader::BrokenRule;
use super::leader::{Effects, LeaderState};
use super::partition_state::{BrokerRegistration, PartitionState};

/// What a replica needs to know about its broker and its topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaConfig {
    pub broker_id: i32,
    /// This broker's epoch from its registration (sent in fetches and AlterPartition).
    pub broker_epoch: i64,
    /// `replica.lag.time.max.ms` (30000).
    pub replica_lag_time_max_ms: i64,
    /// The topic's `min.insync.replicas` (1).
    pub min_insync_replicas: i32,
    /// seedlog's default: the leader counts its durable offset (recovery point) toward the HW,
    /// and followers fsync before fetching. Off: Kafka's rule, the leader's log end offset.
    pub fsync_before_ack: bool,
    /// How long to wait before sending an AlterPartition again after a retriable error.
    pub alter_partition_retry_backoff_ms: i64,
    /// A historical design, for scenarios that replay its bug (HISTORICAL-BUGS.md, KIP-101):
    /// a replica that becomes a follower truncates its log to its high watermark, and its
    /// fetches carry no last fetched epoch, so the leader never checks for divergence.
    /// Off (the default) is KIP-101/279's truncation by leader epoch.
    pub truncate_to_high_watermark_on_follow: bool,
}

impl ReplicaConfig {
    /// Kafka's defaults, with seedlog's `fsync_before_ack`.
    pub fn new(broker_id: i32, broker_epoch: i64) -> Self {
        ReplicaConfig {
            broker_id,
            broker_epoch,
            replica_lag_time_max_ms: 30_000,
            min_insync_replicas: 1,
            fsync_before_ack: true,
            alter_partition_retry_backoff_ms: 100,
            truncate_to_high_watermark_on_follow: false,
        }
    }
}

/// What this broker is for the partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// No metadata applied yet.
    None,
    Leader(LeaderState),
    Follower(FollowerState),
}

/// Why `become_leader` / `become_follower` did nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataIgnored {
    /// An older leader epoch than the one applied.
    StaleLeaderEpoch,
    /// The same leader epoch with an older partition epoch (an AlterPartition answer may have
    /// moved the local one ahead of the metadata log).
    StalePartitionEpoch,
    /// The same leader and partition epochs: nothing new (a pending ISR change stays pending).
    Unchanged,
    /// The state names another leader than this role expects (`become_leader` for a state led
    /// by another broker, `become_follower` for one led by this broker, or a leader change
    /// without a new leader epoch).
    InconsistentLeader,
    /// This broker is not among the replicas.
    NotAReplica,
}

/// The partition replica's protocol core.
///
/// Invariants:
/// - `high_watermark >= 0`;
/// - as leader, the `LeaderState` invariants (this broker leads and is in the ISR, ISR ⊆
///   replicas, at most one AlterPartition in flight, `log_start <= HW <= LEO`, HW ≤ durable
///   offset with `fsync_before_ack`, HW monotonic within the epoch);
/// - as follower, the partition's leader is another broker and this broker is a replica.
#[derive(Debug, Clone)]
pub struct Replica {
    pub(super) config: ReplicaConfig,
    pub(super) high_watermark: i64,
    pub(super) role: Role,
    pub(super) brokers: BTreeMap<i32, BrokerRegistration>,
    /// Numbers AlterPartition proposals across epochs, so a late answer never matches a newer one.
    pub(super) next_proposal_id: u64,
    #[cfg(test)]
    pub(super) broken: Option<BrokenRule>,
}

impl Replica {
    /// A replica with no role yet, whose HW is `high_watermark` (from the HW checkpoint,
    /// already clamped to the log by the caller).
    pub fn new(config: ReplicaConfig, high_watermark: i64) -> Self {
        assert!(config.replica_lag_time_max_ms > 0, "replica.lag.time.max.ms must be positive");
        assert!(config.alter_partition_retry_backoff_ms >= 0);
        let replica = Replica {
            config,
            high_watermark,
            role: Role::None,
            brokers: BTreeMap::new(),
            next_proposal_id: 1,
            #[cfg(test)]
            broken: None,
        };
        replica.check_invariants();
        replica
    }

    pub fn config(&self) -> &ReplicaConfig {
        &self.config
    }

    pub fn role(&self) -> &Role {
        &self.role
    }

    pub fn is_leader(&self) -> bool {
        matches!(self.role, Role::Leader(_))
    }

    pub fn high_watermark(&self) -> i64 {
        self.high_watermark
    }

    /// The committed partition state of the current role.
    pub fn partition_state(&self) -> Option<&PartitionState> {
        match &self.role {
            Role::None => None,
            Role::Leader(leader) => Some(leader.isr.committed()),
            Role::Follower(follower) => Some(&follower.state),
        }
    }

    pub fn leader_epoch(&self) -> Option<i32> {
        self.partition_state().map(|s| s.leader_epoch())
    }

    /// The ISR the HW respects: the committed ISR plus a pending joiner (leader only).
    pub fn maximal_isr(&self) -> Option<Vec<i32>> {
        match &self.role {
            Role::Leader(leader) => Some(leader.isr.maximal_isr()),
            _ => None,
        }
    }

    /// As leader, each maximal-ISR member's log end offset as the HW counts it: the leader's
    /// own durable offset (with `fsync_before_ack`) or log end offset, each follower's last
    /// fetch offset (-1 while unknown in this epoch). For the `HighWatermarkAdvanced` event.
    pub fn maximal_isr_log_end_offsets(&self) -> Option<Vec<(i32, i64)>> {
        let Role::Leader(leader) = &self.role else { return None };
        let own = if self.config.fsync_before_ack { leader.durable_offset() } else { leader.log_end_offset() };
        let offsets = leader
            .isr
            .maximal_isr()
            .into_iter()
            .map(|id| {
                let offset = if id == self.config.broker_id {
                    own
                } else {
                    leader.follower(id).and_then(|f| f.log_end_offset()).unwrap_or(-1)
                };
                (id, offset)
            })
            .collect();
        Some(offsets)
    }

    /// Metadata makes this broker the leader (Kafka's `Partition.makeLeader`). In a new leader
    /// epoch (or when it was not leading) every follower starts unknown, ISR followers caught
    /// up as of now, and the epoch starts at the log end offset; in the same epoch with a newer
    /// partition epoch, the committed state replaces any pending ISR change. The HW is then
    /// re-evaluated (it cannot rise until every ISR follower has fetched in a new epoch).
    pub fn become_leader(
        &mut self,
        now_ms: i64,
        state: PartitionState,
        log: &impl LeaderLogView,
    ) -> Result<Effects, MetadataIgnored> {
        if state.leader() != self.config.broker_id {
            return Err(MetadataIgnored::InconsistentLeader);
        }
        let new_leader_epoch = self.is_new_leader_epoch(&state)?;
        match &mut self.role {
            Role::Leader(leader) if !new_leader_epoch => leader.update_metadata(now_ms, state),
            _ => {
                // Kafka clamps a HW loaded from the checkpoint the same way.
                self.high_watermark = self.high_watermark.clamp(log.log_start_offset(), log.log_end_offset());
                self.role = Role::Leader(LeaderState::new(now_ms, state, log, self.high_watermark));
            }
        }
        let effects = self.on_leader_log_changed(now_ms, log);
        self.check_invariants();
        Ok(effects)
    }

    /// Metadata makes this broker a follower (Kafka's `Partition.makeFollower`). Returns true
    /// when the leader or leader epoch changed: the shell must (re)start fetching, and since
    /// every fetch carries the last fetched epoch, the leader checks for divergence again
    /// (KAFKA-7164: truncation must be re-run on every epoch change). A waiting acks=all
    /// produce fails from now on.
    pub fn become_follower(&mut self, _now_ms: i64, state: PartitionState) -> Result<bool, MetadataIgnored> {
        if state.leader() == self.config.broker_id {
            return Err(MetadataIgnored::InconsistentLeader);
        }
        if !state.replicas().contains(&self.config.broker_id) {
            return Err(MetadataIgnored::NotAReplica);
        }
        let new_leader_epoch = self.is_new_leader_epoch(&state)?;
        self.role = Role::Follower(FollowerState { state });
        self.check_invariants();
        Ok(new_leader_epoch)
    }

    /// Whether `state` starts a new leader epoch (true) or updates the current one (false);
    /// an error when it is not news.
    fn is_new_leader_epoch(&self, state: &PartitionState) -> Result<bool, MetadataIgnored> {
        let Some(current) = self.partition_state() else { return Ok(true) };
        if state.leader_epoch() > current.leader_epoch() {
            return Ok(true);
        }
        if state.leader_epoch() < current.leader_epoch() {
            return Err(MetadataIgnored::StaleLeaderEpoch);
        }
        if state.leader() != current.leader() {
            return Err(MetadataIgnored::InconsistentLeader);
        }
        if state.partition_epoch() < current.partition_epoch() {
            return Err(MetadataIgnored::StalePartitionEpoch);
        }
        if state.partition_epoch() == current.partition_epoch() {
            return Err(MetadataIgnored::Unchanged);
        }
        Ok(false)
    }

    /// Makes the leader break one of its rules, for the property test's self-check.
    #[cfg(test)]
    pub(crate) fn break_rule(&mut self, rule: BrokenRule) {
        self.broken = Some(rule);
    }

    pub(crate) fn invariant_violation(&self) -> Option<String> {
        if self.high_watermark < 0 {
            return Some(format!("negative HW {}", self.high_watermark));
        }
        match &self.role {
            Role::None => None,
            Role::Leader(leader) => {
                leader.invariant_violation(self.config.broker_id, self.high_watermark, self.config.fsync_before_ack)
            }
            Role::Follower(follower) => {
                if follower.state.leader() == self.config.broker_id {
                    Some("a follower that leads".to_string())
                } else if !follower.state.replicas().contains(&self.config.broker_id) {
                    Some("a follower that is not a replica".to_string())
                } else {
                    None
                }
            }
        }
    }

    pub(super) fn check_invariants(&self) {
        if let Some(violation) = self.invariant_violation() {
            panic!("Replica {} invariant: {violation}", self.config.broker_id);
        }
    }
}
