//! Local changes computed from images the controller core produced.

use uuid::Uuid;

use super::*;
use crate::controller::cluster_control::{BrokerHeartbeatRequest, BrokerRegistrationRequest};
use crate::controller::{ControllerConfig, QuorumController};
use crate::runtime::seeded;

const SESSION_MS: i64 = 9_000;

/// A controller with brokers 1..=3 registered and unfenced.
fn controller() -> (QuorumController, Vec<i64>) {
    let mut controller =
        QuorumController::new(0, ControllerConfig::default(), MetadataImage::new(1, true), 0, seeded(2));
    let epochs = (1..=3).map(|id| register(&mut controller, id, 0)).collect();
    (controller, epochs)
}

fn register(controller: &mut QuorumController, id: i32, now_ms: i64) -> i64 {
    let request = BrokerRegistrationRequest {
        broker_id: id,
        incarnation_id: Uuid::from_u128(id as u128),
        endpoints: Vec::new(),
        rack: None,
        previous_broker_epoch: -1,
    };
    let epoch = controller.register_broker(now_ms, &request).unwrap().reply;
    heartbeat(controller, id, epoch, now_ms);
    epoch
}

fn heartbeat(controller: &mut QuorumController, id: i32, epoch: i64, now_ms: i64) {
    let request = BrokerHeartbeatRequest {
        broker_id: id,
        broker_epoch: epoch,
        current_metadata_offset: i64::MAX,
        want_fence: false,
        want_shut_down: false,
    };
    controller.heartbeat(now_ms, &request).unwrap();
}

fn partitions(list: &[LocalPartition]) -> Vec<(String, i32, bool)> {
    list.iter().map(|p| (p.topic.clone(), p.partition, p.is_new)).collect()
}

#[test]
fn a_new_topic_is_led_or_followed_by_its_replicas_only() {
    let (mut controller, _) = controller();
    let before = controller.image().clone();
    let topic = controller.create_topic("t", 1, 2, &[]).unwrap().reply;
    let after = controller.image().clone();
    let registration = after.partition(topic, 0).unwrap().clone();
    let leader = registration.leader;
    let follower = registration.replicas.iter().copied().find(|r| *r != leader).unwrap();
    let outsider = (1..=3).find(|b| !registration.replicas.contains(b)).unwrap();

    let led = local_changes(leader, &before, &after);
    assert_eq!(partitions(&led.leaders), [("t".to_string(), 0, true)]);
    assert!(led.followers.is_empty() && led.removed.is_empty());
    let followed = local_changes(follower, &before, &after);
    assert_eq!(partitions(&followed.followers), [("t".to_string(), 0, true)]);
    assert!(local_changes(outsider, &before, &after).is_empty());
    assert!(local_changes(leader, &after, &after).is_empty(), "the same image changes nothing");
}

#[test]
fn a_fenced_leader_hands_over_and_both_replicas_see_it() {
    let (mut controller, epochs) = controller();
    let topic = controller.create_topic("t", 1, 2, &[]).unwrap().reply;
    let before = controller.image().clone();
    let old_leader = before.partition(topic, 0).unwrap().leader;
    for id in (1..=3).filter(|id| *id != old_leader) {
        heartbeat(&mut controller, id, epochs[id as usize - 1], SESSION_MS);
    }
    controller.tick(SESSION_MS + 1);
    let after = controller.image().clone();
    let new_leader = after.partition(topic, 0).unwrap().leader;
    assert_ne!(new_leader, old_leader);

    let promoted = local_changes(new_leader, &before, &after);
    assert_eq!(partitions(&promoted.leaders), [("t".to_string(), 0, false)]);
    let demoted = local_changes(old_leader, &before, &after);
    assert_eq!(partitions(&demoted.followers), [("t".to_string(), 0, false)], "still a replica: it follows");
}

#[test]
fn a_deleted_topic_is_removed_from_every_replica() {
    let (mut controller, _) = controller();
    let topic = controller.create_topic("t", 2, 3, &[]).unwrap().reply;
    let before = controller.image().clone();
    controller.delete_topic("t").unwrap();
    let after = controller.image().clone();
    for broker in 1..=3 {
        let changes = local_changes(broker, &before, &after);
        let removed: Vec<(Uuid, i32)> = changes.removed.iter().map(|r| (r.topic_id, r.partition)).collect();
        assert_eq!(removed, [(topic, 0), (topic, 1)], "broker {broker}");
        assert!(changes.leaders.is_empty() && changes.followers.is_empty());
    }
}
