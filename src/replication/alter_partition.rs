//! AlterPartition (API 56) as the leader's core sees it: the request it proposes for one
//! partition, the controller's answer, and what the broker does with each error
//! (REPLICATION.md §3.8). The shell adds the topic id and partition index, batches partitions
//! into one request, and maps a top-level error onto every partition it carried.

use super::error_code;
use super::partition_state::LeaderRecoveryState;

/// One ISR member with the broker epoch the leader saw it fetch with (-1 when unknown), so the
/// controller can refuse a member that restarted since (KIP-903).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrokerState {
    pub broker_id: i32,
    pub broker_epoch: i64,
}

/// The per-partition part of an AlterPartition request, plus the top-level sender fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlterPartitionRequest {
    /// Not on the wire: which proposal this is, so the shell hands the answer back to it and a
    /// late answer to an older proposal is recognised and ignored.
    pub proposal_id: u64,
    pub broker_id: i32,
    pub broker_epoch: i64,
    pub leader_epoch: i32,
    pub new_isr_with_epochs: Vec<BrokerState>,
    pub leader_recovery_state: LeaderRecoveryState,
    pub partition_epoch: i32,
}

impl AlterPartitionRequest {
    /// The proposed ISR, without the broker epochs.
    pub fn isr(&self) -> Vec<i32> {
        self.new_isr_with_epochs.iter().map(|b| b.broker_id).collect()
    }
}

/// The controller's answer for one partition (the fields after the error code are meaningful
/// only when it is NONE).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlterPartitionResponse {
    pub error_code: i16,
    pub leader_id: i32,
    pub leader_epoch: i32,
    pub isr: Vec<i32>,
    pub leader_recovery_state: LeaderRecoveryState,
    pub partition_epoch: i32,
}

impl AlterPartitionResponse {
    /// An error answer (the state fields are not read).
    pub fn error(error_code: i16) -> Self {
        AlterPartitionResponse {
            error_code,
            leader_id: -1,
            leader_epoch: -1,
            isr: Vec::new(),
            leader_recovery_state: LeaderRecoveryState::Recovered,
            partition_epoch: -1,
        }
    }
}

/// What the broker does with an AlterPartition error (Kafka's `Partition.handleAlterPartitionError`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlterPartitionErrorAction {
    /// The controller refused a member as ineligible: forget the proposal, do not retry (the
    /// next fetch or tick may propose again). Safe because the controller checks the partition
    /// epoch before eligibility: INELIGIBLE_REPLICA means no send of this proposal was applied
    /// (an earlier send that was would have moved the partition epoch, and this one would get
    /// INVALID_UPDATE_VERSION). A revert after an applied expansion would let the HW pass a
    /// member of the controller's ISR; the property test found exactly that when it injected
    /// INELIGIBLE answers the controller could not give.
    Revert,
    /// Only new metadata can settle this: keep the proposal pending, send nothing.
    AwaitMetadata,
    /// Transient: send the same proposal again after a backoff.
    Retry,
}

pub fn error_action(error_code: i16) -> AlterPartitionErrorAction {
    match error_code {
        error_code::INELIGIBLE_REPLICA | error_code::OPERATION_NOT_ATTEMPTED => AlterPartitionErrorAction::Revert,
        error_code::FENCED_LEADER_EPOCH
        | error_code::INVALID_UPDATE_VERSION
        | error_code::UNKNOWN_TOPIC_ID
        | error_code::UNKNOWN_TOPIC_OR_PARTITION
        | error_code::INVALID_REQUEST
        | error_code::NEW_LEADER_ELECTED => AlterPartitionErrorAction::AwaitMetadata,
        _ => AlterPartitionErrorAction::Retry,
    }
}

/// What became of an AlterPartition answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlterPartitionOutcome {
    /// The controller committed: the ISR and partition epoch are now the answer's.
    Committed,
    /// INELIGIBLE_REPLICA or OPERATION_NOT_ATTEMPTED: back to the committed state.
    Reverted,
    /// Pending until new metadata arrives.
    AwaitingMetadata,
    /// Will be sent again at this time (`tick` sends it).
    RetryAt { at_ms: i64 },
    /// Not about the current proposal, or a success for another leader epoch or an older
    /// partition epoch: nothing changed.
    Ignored,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_to_the_brokers_actions() {
        use AlterPartitionErrorAction::*;
        assert_eq!(error_action(error_code::INELIGIBLE_REPLICA), Revert);
        assert_eq!(error_action(error_code::OPERATION_NOT_ATTEMPTED), Revert);
        for code in [
            error_code::FENCED_LEADER_EPOCH,
            error_code::INVALID_UPDATE_VERSION,
            error_code::UNKNOWN_TOPIC_ID,
            error_code::UNKNOWN_TOPIC_OR_PARTITION,
            error_code::INVALID_REQUEST,
            error_code::NEW_LEADER_ELECTED,
        ] {
            assert_eq!(error_action(code), AwaitMetadata, "{code}");
        }
        for code in [error_code::NOT_CONTROLLER, error_code::STALE_BROKER_EPOCH, error_code::REQUEST_TIMED_OUT, -1] {
            assert_eq!(error_action(code), Retry, "{code}");
        }
    }
}
