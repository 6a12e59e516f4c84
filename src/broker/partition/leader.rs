//! The leader's side of a partition replica: taking leadership, answering followers'
//! fetches (fencing, divergence, reads below the log end), the periodic ISR check, and the
//! controller's answers to AlterPartition (REPLICATION.md §3.2–§3.8). The core decides.

use super::{FollowerRead, LeaderChangeError, Partition};
use crate::replication::{
    AlterPartitionOutcome, AlterPartitionRequest, AlterPartitionResponse, BrokerRegistration, FetchDecision,
    FollowerFetch, MetadataIgnored, PartitionState,
};
use crate::storage::record_batch::read_header;
use crate::storage::record_batch::CrcCheck;
use crate::storage::{LeaderEpochCache, Log, LogError};

impl Partition {
    /// Metadata makes this broker the partition's leader (Kafka's `makeLeader`): a new leader
    /// epoch starts at the log end offset in the epoch cache, durably, before the core takes
    /// the new state. Metadata that is not news is ignored.
    pub async fn make_leader(&self, state: PartitionState) -> Result<(), LeaderChangeError> {
        let mut log = self.log.lock().await;
        let new_epoch = self.lock_replica().leader_epoch().is_none_or(|epoch| state.leader_epoch() > epoch);
        if new_epoch {
            let assigned = log.assign_epoch_start_offset(state.leader_epoch()).await;
            // A failed epoch-cache write takes the log offline: so must it the partition (a
            // cluster broker then halts instead of staying the leader of a partition it
            // cannot serve).
            self.note_log_state(&log);
            assigned.map_err(LeaderChangeError::Log)?;
        }
        self.take_leadership(state, &log).map_err(LeaderChangeError::Ignored)
    }

    /// The core takes `state` as leader (the log borrowed by the caller); reported and its
    /// effects published.
    pub(super) fn take_leadership(&self, state: PartitionState, log: &Log) -> Result<(), MetadataIgnored> {
        let reported = state.clone();
        let effects = self.lock_replica().become_leader(self.replica_now_ms(), state, log)?;
        self.emit_make_leader(&reported);
        self.publish(effects, log.log_end_offset());
        Ok(())
    }

    /// A follower's fetch, on the leader (REPLICATION.md §3.2): the core fences it and looks
    /// for divergence; a valid fetch reads from `fetch_offset` below the log end offset as of
    /// before the fetch was recorded, with every CRC checked, while the core records the
    /// follower's progress (which may move the high watermark or propose an ISR change).
    pub async fn read_for_follower(&self, fetch: FollowerFetch, max_bytes: usize) -> FollowerRead {
        let (fetch_offset, fetch_replica_id) = (fetch.fetch_offset, fetch.replica_id);
        let log = self.log.lock().await;
        let decision = self.lock_replica().on_follower_fetch(self.replica_now_ms(), fetch, &*log);
        let log_start_offset = log.log_start_offset();
        match decision {
            FetchDecision::Diverging { epoch, end_offset } => FollowerRead {
                diverging: Some((epoch, end_offset)),
                high_watermark: self.high_watermark(),
                log_start_offset,
                ..FollowerRead::default()
            },
            FetchDecision::Read { high_watermark_before, log_end_offset_before, effects } => {
                let reader = log.reader(fetch_offset, log_end_offset_before);
                let epochs = log.leader_epoch_cache().clone();
                drop(log);
                let alter_partition = effects.alter_partition.clone();
                self.publish(effects, log_end_offset_before);
                let records = match reader {
                    Ok(reader) => reader.read(max_bytes, true, CrcCheck::Verify).await,
                    Err(error) => Err(error),
                };
                let mut read = FollowerRead {
                    high_watermark: high_watermark_before,
                    log_start_offset,
                    alter_partition,
                    ..FollowerRead::default()
                };
                match records.and_then(|records| check_batch_epochs(records, &epochs)) {
                    Ok(records) => read.records = records,
                    Err(error) => read.error_code = crate::broker::errors::log_error_code(&error),
                }
                let replica_id = fetch_replica_id;
                self.emit_fetch_served(replica_id, fetch_offset, high_watermark_before, &read.records, read.error_code);
                read
            }
            refused => FollowerRead {
                error_code: refused.error_code(),
                high_watermark: self.high_watermark(),
                log_start_offset,
                ..FollowerRead::default()
            },
        }
    }

    /// The leader's periodic work (`replica.lag.time.max.ms / 2`): may propose shrinking the
    /// ISR, or re-send a proposal after its backoff. Returns the proposal to send.
    pub async fn tick(&self) -> Option<AlterPartitionRequest> {
        let log = self.log.lock().await;
        let effects = self.lock_replica().tick(self.replica_now_ms());
        let proposal = effects.alter_partition.clone();
        self.publish(effects, log.log_end_offset());
        proposal
    }

    /// A broker's registration changed (registered, fenced, shutting down, a new epoch, or
    /// gone): the leader weighs ISR eligibility by it, and the HW may move.
    pub async fn on_broker_registration(&self, broker_id: i32, registration: Option<BrokerRegistration>) {
        let log = self.log.lock().await;
        let effects = self.lock_replica().on_broker_registration(self.replica_now_ms(), broker_id, registration);
        self.publish(effects, log.log_end_offset());
    }

    /// The controller's answer to the AlterPartition proposal `proposal_id` (REPLICATION.md
    /// §3.8, broker side): a committed change takes the new ISR and partition epoch and may
    /// move the HW; the outcome says what became of the proposal.
    pub async fn on_alter_partition_response(
        &self,
        proposal_id: u64,
        response: AlterPartitionResponse,
    ) -> AlterPartitionOutcome {
        let log = self.log.lock().await;
        let (outcome, effects) =
            self.lock_replica().on_alter_partition_response(self.replica_now_ms(), proposal_id, response);
        if outcome == AlterPartitionOutcome::Committed {
            self.emit_isr_changed(&self.lock_replica());
        }
        self.publish(effects, log.log_end_offset());
        outcome
    }
}

/// Each batch's `partitionLeaderEpoch` must be the epoch the leader-epoch cache gives its
/// base offset. The field is outside the batch CRC (a leader stamps it without recomputing
/// the CRC), so a bit flipped in it on a read passes the CRC check; a follower that took it
/// would record an epoch no leader had, and diverge from the leader later. A mismatch fails
/// the read like a CRC failure (KAFKA_STORAGE_ERROR); the follower retries.
fn check_batch_epochs(records: bytes::Bytes, epochs: &LeaderEpochCache) -> Result<bytes::Bytes, LogError> {
    let mut at = 0;
    while at < records.len() {
        let header = read_header(&records[at..]);
        if let Some(expected) = epochs.epoch_for_offset(header.base_offset) {
            if header.partition_leader_epoch != expected {
                return Err(LogError::Corrupt {
                    offset_hint: header.base_offset,
                    reason: format!(
                        "batch read with leader epoch {} where the epoch cache has {expected}",
                        header.partition_leader_epoch
                    ),
                });
            }
        }
        at += header.size_bytes;
    }
    Ok(records)
}
