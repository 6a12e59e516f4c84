//! Translations between the controller's types (`src/controller/`) and the replica core's
//! (`src/replication/`): a committed partition registration as the state a replica takes,
//! a leader's AlterPartition proposal as the controller's request item, and the controller's
//! answer as the core's response. The two cores keep their own types (each is complete
//! without the other); the broker, which talks to both, owns the mapping.

use uuid::Uuid;

use crate::controller::image::{self, PartitionRegistration};
use crate::controller::records::LeaderRecoveryState as RecordedRecovery;
use crate::controller::replication_control::{AlterPartitionItem, AlterPartitionResult};
use crate::replication::{
    AlterPartitionRequest, AlterPartitionResponse, BrokerRegistration, InvalidPartitionState, LeaderRecoveryState,
    PartitionState,
};

fn recovery_to_core(state: RecordedRecovery) -> LeaderRecoveryState {
    match state {
        RecordedRecovery::Recovered => LeaderRecoveryState::Recovered,
        RecordedRecovery::Recovering => LeaderRecoveryState::Recovering,
    }
}

fn recovery_to_controller(state: LeaderRecoveryState) -> RecordedRecovery {
    match state {
        LeaderRecoveryState::Recovered => RecordedRecovery::Recovered,
        LeaderRecoveryState::Recovering => RecordedRecovery::Recovering,
    }
}

/// The state a replica takes from a committed registration.
pub fn partition_state(registration: &PartitionRegistration) -> Result<PartitionState, InvalidPartitionState> {
    PartitionState::new(
        registration.replicas.clone(),
        registration.isr.clone(),
        registration.leader,
        registration.leader_epoch,
        registration.partition_epoch,
        recovery_to_core(registration.leader_recovery_state),
        registration.elr.clone(),
    )
}

/// A broker's registration as a leader core weighs ISR eligibility by it (KIP-903).
pub fn broker_registration(registration: &image::BrokerRegistration) -> BrokerRegistration {
    BrokerRegistration {
        broker_epoch: registration.epoch,
        fenced: registration.fenced,
        in_controlled_shutdown: registration.in_controlled_shutdown,
    }
}

/// A leader core's proposal, as one partition of the controller's AlterPartition request.
pub fn alter_partition_item(topic_id: Uuid, partition_id: i32, proposal: &AlterPartitionRequest) -> AlterPartitionItem {
    AlterPartitionItem {
        topic_id,
        partition_id,
        leader_epoch: proposal.leader_epoch,
        new_isr_with_epochs: proposal.new_isr_with_epochs.iter().map(|b| (b.broker_id, b.broker_epoch)).collect(),
        leader_recovery_state: recovery_to_controller(proposal.leader_recovery_state),
        partition_epoch: proposal.partition_epoch,
    }
}

/// The controller's answer for one partition, as the core reads it.
pub fn alter_partition_response(result: &AlterPartitionResult) -> AlterPartitionResponse {
    match result {
        Ok(registration) => AlterPartitionResponse {
            error_code: 0,
            leader_id: registration.leader,
            leader_epoch: registration.leader_epoch,
            isr: registration.isr.clone(),
            leader_recovery_state: recovery_to_core(registration.leader_recovery_state),
            partition_epoch: registration.partition_epoch,
        },
        Err(error) => AlterPartitionResponse::error(error.code),
    }
}

#[cfg(test)]
#[path = "controller_types_tests.rs"]
mod tests;
