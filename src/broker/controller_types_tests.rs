//! The two cores through the broker's translations, in-process: the controller creates a
//! partition, its registration becomes the replicas' state, the leader's ISR proposals go to
//! the controller and its answers come back — shrink after lag, then expansion once the
//! follower catches up, with acks=all refused under min.insync.replicas between the two.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use std::time::Duration;

use uuid::Uuid;

use super::*;
use crate::broker::partition::{AppendError, Partition};
use crate::controller::cluster_control::{BrokerHeartbeatRequest, BrokerRegistrationRequest};
use crate::controller::image::MetadataImage;
use crate::controller::replication_control::AlterPartitionRequest as ControllerRequest;
use crate::controller::{ControllerConfig, QuorumController};
use crate::replication::{AlterPartitionOutcome, ProduceError, ReplicaConfig};
use crate::runtime::{seeded, MemDisk};
use crate::storage::record_batch::build::{batch, ProducerFields, Record};
use crate::storage::{Log, LogConfig};

const LAG_MS: i64 = 30_000;

fn records(value: &[u8]) -> Bytes {
    batch(&[Record { timestamp_ms: 0, key: None, value: Some(value) }], ProducerFields::NONE)
}

/// A controller with brokers 1 and 2 registered and unfenced, and topic `t` of one
/// partition on both: its id and the brokers' epochs.
fn controller_with_topic() -> (QuorumController, Uuid, [i64; 2]) {
    let config = ControllerConfig { min_insync_replicas: 2, ..ControllerConfig::default() };
    let mut controller = QuorumController::new(0, config, MetadataImage::new(2, true), 0, seeded(1));
    let mut epochs = [0; 2];
    for id in 1..=2 {
        let request = BrokerRegistrationRequest {
            broker_id: id,
            incarnation_id: Uuid::from_u128(id as u128),
            endpoints: Vec::new(),
            rack: None,
            previous_broker_epoch: -1,
        };
        let epoch = controller.register_broker(0, &request).unwrap().reply;
        epochs[id as usize - 1] = epoch;
        let heartbeat = BrokerHeartbeatRequest {
            broker_id: id,
            broker_epoch: epoch,
            current_metadata_offset: i64::MAX,
            want_fence: false,
            want_shut_down: false,
        };
        controller.heartbeat(0, &heartbeat).unwrap();
    }
    let topic = controller.create_topic("t", 1, 2, &[("min.insync.replicas".into(), "2".into())]).unwrap().reply;
    (controller, topic, epochs)
}

async fn replica(id: i32, epoch: i64) -> Arc<Partition> {
    let disk = Arc::new(MemDisk::new(40 + id as u64));
    let log = Log::open(disk, PathBuf::from("/data/t-0"), LogConfig::default(), 0).await.unwrap();
    let config = ReplicaConfig { min_insync_replicas: 2, ..ReplicaConfig::new(id, epoch) };
    Partition::new("t", 0, log, config)
}

/// Sends a leader's proposal to the controller and hands the answer back to the leader.
async fn round_trip(
    controller: &mut QuorumController,
    topic: Uuid,
    leader: &Partition,
    proposal: &crate::replication::AlterPartitionRequest,
) -> AlterPartitionOutcome {
    let request = ControllerRequest {
        broker_id: proposal.broker_id,
        broker_epoch: proposal.broker_epoch,
        partitions: vec![alter_partition_item(topic, 0, proposal)],
    };
    let answer = controller.alter_partition(&request).unwrap().reply.remove(0);
    leader.on_alter_partition_response(proposal.proposal_id, alter_partition_response(&answer)).await
}

/// Moves the runtime's clock (paused in this test) by `by`.
async fn advance(by: Duration) {
    #[cfg(not(madsim))]
    tokio::time::advance(by).await;
    #[cfg(madsim)]
    tokio::time::advance(by);
}

// Paused, hand-moved time (tokio's test-util; the simulation's clock is virtual anyway).
#[cfg_attr(not(madsim), tokio::test(start_paused = true))]
#[cfg_attr(madsim, tokio::test)]
async fn isr_changes_travel_from_the_leader_core_to_the_controller_and_back() {
    let (mut controller, topic, epochs) = controller_with_topic();
    let registration = controller.image().partition(topic, 0).unwrap().clone();
    let state = partition_state(&registration).unwrap();
    let (leader_id, follower_id) =
        (registration.leader, registration.replicas.iter().copied().find(|r| *r != registration.leader).unwrap());
    let leader = replica(leader_id, epochs[leader_id as usize - 1]).await;
    let follower = replica(follower_id, epochs[follower_id as usize - 1]).await;
    leader.make_leader(state.clone()).await.unwrap();
    follower.make_follower(0, state).await.unwrap();
    for broker in controller.image().brokers.values() {
        leader.on_broker_registration(broker.id, Some(broker_registration(broker))).await;
    }

    // The follower never fetches: after replica.lag.time.max.ms the leader proposes to drop it.
    // The replica core runs on monotonic time: this test's runtime clock is paused and
    // moved by hand.
    advance(Duration::from_millis(LAG_MS as u64 / 2)).await;
    assert!(leader.tick().await.is_none(), "still caught up");
    advance(Duration::from_millis(LAG_MS as u64 / 2 + 1)).await;
    let shrink = leader.tick().await.expect("a shrink proposal");
    assert_eq!(shrink.isr(), vec![leader_id]);
    assert_eq!(round_trip(&mut controller, topic, &leader, &shrink).await, AlterPartitionOutcome::Committed);
    assert_eq!(controller.image().partition(topic, 0).unwrap().isr, vec![leader_id]);
    let refused = leader.append_as_leader(LAG_MS, records(b"x"), -1).await.unwrap_err();
    assert!(matches!(refused, AppendError::Replica(ProduceError::NotEnoughReplicas)), "min.insync.replicas=2");

    // The follower catches up: its fetch at the leader's end makes the leader propose it back.
    leader.append_as_leader(LAG_MS, records(b"y"), 1).await.unwrap();
    leader.scheduled_flush(i64::MAX).await.unwrap();
    let mut proposal = None;
    for _ in 0..3 {
        let request = follower.follower_fetch().await.unwrap();
        let answer = leader.read_for_follower(request, 1 << 20).await;
        proposal = proposal.or(answer.alter_partition.clone());
        follower.apply_leader_answer(LAG_MS, follower.leader_epoch().unwrap(), &answer).await.unwrap();
    }
    let expand = proposal.expect("an expansion proposal");
    assert_eq!(expand.isr().len(), 2);
    assert_eq!(round_trip(&mut controller, topic, &leader, &expand).await, AlterPartitionOutcome::Committed);
    assert_eq!(controller.image().partition(topic, 0).unwrap().isr.len(), 2);
    assert!(leader.append_as_leader(LAG_MS, records(b"z"), -1).await.is_ok(), "acks=all accepted again");
}
