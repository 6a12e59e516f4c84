//! The active controller, rule by rule (REPLICATION.md §2.2, §2.3, §2.5, §3.8, KIP-903,
//! KIP-966), and a property test over random cluster histories that checks every record
//! written against §6's controller invariants.

use proptest::prelude::*;
use uuid::Uuid;

use super::*;
use crate::controller::cluster_control::{BrokerHeartbeatRequest, BrokerRegistrationRequest};
use crate::controller::image::MetadataImage;
use crate::controller::record_checks::{check_batch_end, check_record};
use crate::controller::records::{LeaderRecoveryState, NO_LEADER};
use crate::controller::replication_control::{AlterPartitionItem, AlterPartitionRequest};
use crate::runtime::seeded;

const SESSION_MS: i64 = 9_000;

/// A controller with a mirror image that applies (and checks) every record it writes, as
/// a broker following the log would.
struct Cluster {
    controller: QuorumController,
    follower: MetadataImage,
    incarnations: std::collections::BTreeMap<i32, (u128, i64)>,
    next_incarnation: u128,
}

impl Cluster {
    fn new(min_isr: usize, elr_enabled: bool) -> Self {
        Cluster::with_config(ControllerConfig {
            min_insync_replicas: min_isr,
            elr_enabled,
            ..ControllerConfig::default()
        })
    }

    fn with_config(config: ControllerConfig) -> Self {
        let (min_isr, elr_enabled) = (config.min_insync_replicas, config.elr_enabled);
        let image = MetadataImage::new(min_isr, elr_enabled);
        Cluster {
            controller: QuorumController::new(0, config, image.clone(), 0, seeded(11)),
            follower: image,
            incarnations: Default::default(),
            next_incarnation: 1,
        }
    }

    /// `brokers` brokers started and unfenced, and topic `t` of one partition on all of them.
    fn with_topic(min_isr: usize, brokers: i32) -> (Self, Uuid) {
        let mut cluster = Cluster::new(min_isr, true);
        for id in 1..=brokers {
            cluster.start(0, id, true).unwrap();
        }
        let topic = cluster.create("t", 1, brokers as i16);
        (cluster, topic)
    }

    fn follow<T>(&mut self, written: Written<T>) -> T {
        for (offset, record) in &written.records {
            if let Err(problem) = check_record(&self.follower, *offset, record) {
                panic!("record at {offset} breaks an invariant: {problem}: {record:?}");
            }
            self.follower.apply(*offset, record).unwrap();
        }
        if let Err(problem) = check_batch_end(&self.follower) {
            panic!("after the batch: {problem}");
        }
        assert_eq!(&self.follower, self.controller.image(), "a follower's image equals the controller's");
        written.reply
    }

    /// Starts broker `id` (a new incarnation; `clean` if its last stop was clean) and
    /// heartbeats it until unfenced.
    fn start(&mut self, now_ms: i64, id: i32, clean: bool) -> Result<i64, ControllerError> {
        let previous = self.incarnations.get(&id).map_or(-1, |(_, epoch)| *epoch);
        let incarnation = self.next_incarnation;
        self.next_incarnation += 1;
        let request = BrokerRegistrationRequest {
            broker_id: id,
            incarnation_id: Uuid::from_u128(incarnation),
            endpoints: Vec::new(),
            rack: None,
            previous_broker_epoch: if clean { previous } else { -1 },
        };
        let written = self.controller.register_broker(now_ms, &request)?;
        let epoch = self.follow(written);
        self.incarnations.insert(id, (incarnation, epoch));
        self.heartbeat(now_ms, id, false);
        Ok(epoch)
    }

    fn heartbeat(&mut self, now_ms: i64, id: i32, want_shut_down: bool) -> BrokerHeartbeatReply {
        let request = BrokerHeartbeatRequest {
            broker_id: id,
            broker_epoch: self.incarnations[&id].1,
            current_metadata_offset: self.follower.offset,
            want_fence: false,
            want_shut_down,
        };
        let written = self.controller.heartbeat(now_ms, &request).unwrap();
        self.follow(written)
    }

    /// The active controller fails over at `now_ms`: a new one starts from the committed image.
    fn failover(&mut self, now_ms: i64) {
        let config = self.controller.config.clone();
        let next_offset = self.follower.offset + 1;
        self.controller = QuorumController::new(now_ms, config, self.follower.clone(), next_offset, seeded(12));
    }

    fn tick(&mut self, now_ms: i64) {
        let written = self.controller.tick(now_ms);
        self.follow(written);
    }

    fn create(&mut self, name: &str, partitions: i32, rf: i16) -> Uuid {
        let written = self.controller.create_topic(name, partitions, rf, &[]).unwrap();
        self.follow(written)
    }

    fn partition(&self, topic: Uuid) -> PartitionRegistration {
        self.follower.partition(topic, 0).unwrap().clone()
    }

    fn alter(&mut self, sender: i32, topic: Uuid, isr: &[(i32, i64)]) -> Result<PartitionRegistration, i16> {
        let current = self.partition(topic);
        let request = AlterPartitionRequest {
            broker_id: sender,
            broker_epoch: self.incarnations[&sender].1,
            partitions: vec![AlterPartitionItem {
                topic_id: topic,
                partition_id: 0,
                leader_epoch: current.leader_epoch,
                new_isr_with_epochs: isr.to_vec(),
                leader_recovery_state: current.leader_recovery_state,
                partition_epoch: current.partition_epoch,
            }],
        };
        let written = self.controller.alter_partition(&request).map_err(|e| e.code)?;
        self.follow(written).remove(0).map_err(|e| e.code)
    }
}

use crate::controller::cluster_control::BrokerHeartbeatReply;
use crate::controller::image::PartitionRegistration;

#[test]
fn a_broker_is_fenced_until_caught_up_and_its_epoch_is_its_record_offset() {
    let mut cluster = Cluster::new(1, true);
    let request = BrokerRegistrationRequest {
        broker_id: 1,
        incarnation_id: Uuid::from_u128(1),
        endpoints: Vec::new(),
        rack: None,
        previous_broker_epoch: -1,
    };
    let written = cluster.controller.register_broker(0, &request).unwrap();
    assert_eq!(written.last_offset(), Some(0));
    let epoch = cluster.follow(written);
    assert_eq!(epoch, 0);
    cluster.incarnations.insert(1, (1, epoch));
    let behind = BrokerHeartbeatRequest {
        broker_id: 1,
        broker_epoch: 0,
        current_metadata_offset: -1,
        want_fence: false,
        want_shut_down: false,
    };
    let reply = cluster.controller.heartbeat(10, &behind).unwrap();
    assert!(reply.records.is_empty());
    assert_eq!((reply.reply.is_caught_up, reply.reply.is_fenced), (false, true));
    let reply = cluster.heartbeat(20, 1, false);
    assert_eq!((reply.is_caught_up, reply.is_fenced), (true, false));
    let stale = BrokerHeartbeatRequest { broker_epoch: 7, ..behind };
    assert_eq!(cluster.controller.heartbeat(30, &stale).unwrap_err().code, 77, "STALE_BROKER_EPOCH");
}

#[test]
fn a_silent_broker_is_fenced_after_the_session_timeout_and_leaves_every_isr() {
    let (mut cluster, topic) = Cluster::with_topic(2, 3);
    let leader = cluster.partition(topic).leader;
    for id in (1..=3).filter(|id| *id != leader) {
        cluster.heartbeat(SESSION_MS, id, false);
    }
    cluster.tick(SESSION_MS);
    assert!(cluster.follower.is_active(leader), "fenced before the session ran out");
    cluster.tick(SESSION_MS + 1);
    assert!(!cluster.follower.is_active(leader));
    let after = cluster.partition(topic);
    assert!(!after.isr.contains(&leader) && after.leader != leader && after.leader != NO_LEADER, "{after:?}");
    assert!(after.elr.is_empty(), "two in-sync replicas remain, min ISR 2: no ELR");
}

#[test]
fn create_partitions_grows_a_topic_with_its_replication_factor_or_refuses_as_kafka_does() {
    let (mut cluster, topic) = Cluster::with_topic(1, 3);
    let code = |c: &mut Cluster, count: i32, assignments: Option<&[Vec<i32>]>| {
        c.controller.create_partitions("t", count, assignments, false).map(|_| ()).map_err(|e| e.code)
    };
    assert_eq!(
        cluster.controller.create_partitions("nosuch", 2, None, false).map(|_| ()).map_err(|e| e.code),
        Err(3),
        "UNKNOWN_TOPIC_OR_PARTITION"
    );
    assert_eq!(code(&mut cluster, 1, None), Err(37), "INVALID_PARTITIONS: the same count");
    assert_eq!(code(&mut cluster, 0, None), Err(37), "INVALID_PARTITIONS: fewer");
    assert_eq!(code(&mut cluster, 3, Some(&[vec![1, 2, 3]])), Err(39), "one assignment for two partitions");
    assert_eq!(code(&mut cluster, 2, Some(&[vec![1, 2]])), Err(39), "two replicas where the topic has three");
    assert_eq!(code(&mut cluster, 2, Some(&[vec![1, 1, 2]])), Err(39), "a broker twice");
    assert_eq!(code(&mut cluster, 2, Some(&[vec![1, 2, 9]])), Err(39), "an unregistered broker");
    // Validate-only writes nothing.
    let checked = cluster.controller.create_partitions("t", 3, None, true).unwrap();
    assert!(checked.records.is_empty());
    assert_eq!(cluster.follower.topics[&topic].partitions.len(), 1);
    // Grown by one with an assignment, then by two placed by the controller.
    let written = cluster.controller.create_partitions("t", 2, Some(&[vec![3, 1, 2]]), false).unwrap();
    cluster.follow(written);
    let written = cluster.controller.create_partitions("t", 4, None, false).unwrap();
    cluster.follow(written);
    let partitions = &cluster.follower.topics[&topic].partitions;
    assert_eq!(partitions.len(), 4);
    assert_eq!((partitions[&1].replicas.clone(), partitions[&1].leader), (vec![3, 1, 2], 3));
    for p in partitions.values() {
        assert_eq!(p.replicas.len(), 3);
        assert_eq!(p.isr, p.replicas, "every replica of a new partition is in its ISR");
        assert_eq!(p.leader, p.replicas[0]);
    }
}

#[test]
fn alter_partition_checks_run_in_kafkas_order() {
    let (mut cluster, topic) = Cluster::with_topic(1, 3);
    let p = cluster.partition(topic);
    let (leader, others): (i32, Vec<i32>) = (p.leader, p.replicas.iter().copied().filter(|r| *r != p.leader).collect());
    let epoch = |c: &Cluster, id: i32| c.incarnations[&id].1;
    // Not the leader.
    let isr = [(others[0], epoch(&cluster, others[0]))];
    assert_eq!(cluster.alter(others[0], topic, &isr), Err(42), "INVALID_REQUEST");
    // The leader shrinks the ISR to itself and one follower.
    let isr = [(leader, epoch(&cluster, leader)), (others[0], epoch(&cluster, others[0]))];
    let shrunk = cluster.alter(leader, topic, &isr).unwrap();
    assert_eq!(
        (shrunk.isr.len(), shrunk.partition_epoch, shrunk.leader_epoch),
        (2, p.partition_epoch + 1, p.leader_epoch)
    );
    // A stale partition epoch (the same request again).
    let mut request = AlterPartitionRequest {
        broker_id: leader,
        broker_epoch: epoch(&cluster, leader),
        partitions: vec![AlterPartitionItem {
            topic_id: topic,
            partition_id: 0,
            leader_epoch: p.leader_epoch,
            new_isr_with_epochs: isr.to_vec(),
            leader_recovery_state: LeaderRecoveryState::Recovered,
            partition_epoch: p.partition_epoch,
        }],
    };
    let stale = cluster.controller.alter_partition(&request).unwrap().reply.remove(0);
    assert_eq!(stale.unwrap_err().code, 95, "INVALID_UPDATE_VERSION");
    request.broker_epoch += 100;
    assert_eq!(cluster.controller.alter_partition(&request).unwrap_err().code, 77, "STALE_BROKER_EPOCH");
}

#[test]
fn kip_903_an_isr_addition_naming_a_restarted_replicas_old_epoch_is_ineligible() {
    let mut cluster = Cluster::new(1, true);
    kip_903_sequence(&mut cluster, true);
}

/// The switch `seedlog.alter.partition.broker.epoch.check.enable=false` brings KIP-903's bug
/// back: the delayed addition naming the old incarnation is accepted.
#[test]
fn without_the_broker_epoch_check_a_stale_isr_addition_is_accepted() {
    let config = ControllerConfig { alter_partition_broker_epoch_check: false, ..ControllerConfig::default() };
    kip_903_sequence(&mut Cluster::with_config(config), false);
}

fn kip_903_sequence(cluster: &mut Cluster, epoch_checked: bool) {
    cluster.start(0, 1, true).unwrap();
    let topic = cluster.create("t", 1, 1);
    cluster.start(0, 2, true).unwrap();
    let _ = topic;
    // A topic whose replicas are 1 and 2, led by 1, with 2 out of the ISR.
    let topic = cluster.create("u", 1, 2);
    let p = cluster.partition(topic);
    let (leader, follower) = (p.leader, if p.leader == 1 { 2 } else { 1 });
    let leader_epoch = cluster.incarnations[&leader].1;
    cluster.alter(leader, topic, &[(leader, leader_epoch)]).unwrap();
    // The follower catches up under epoch E1; the leader asks to add it with E1 ...
    let old_epoch = cluster.incarnations[&follower].1;
    // ... but the follower lost its disk and came back as a new incarnation first.
    cluster.tick(SESSION_MS + 1); // its old session expires (the leader keeps heartbeating)
    cluster.heartbeat(SESSION_MS + 1, leader, false);
    let new_epoch = cluster.start(SESSION_MS + 2, follower, false).unwrap();
    assert!(new_epoch > old_epoch);
    let stale = cluster.alter(leader, topic, &[(leader, leader_epoch), (follower, old_epoch)]);
    if !epoch_checked {
        assert_eq!(stale.expect("accepted without the check").isr.len(), 2, "the empty incarnation joined");
        return;
    }
    assert_eq!(stale, Err(107), "INELIGIBLE_REPLICA");
    let accepted = cluster.alter(leader, topic, &[(leader, leader_epoch), (follower, new_epoch)]).unwrap();
    assert_eq!(accepted.isr.len(), 2);
}

#[test]
fn a_new_incarnation_is_refused_while_the_old_session_lives() {
    let mut cluster = Cluster::new(1, true);
    cluster.start(0, 1, true).unwrap();
    assert_eq!(cluster.start(1_000, 1, true).unwrap_err().code, 101, "DUPLICATE_BROKER_REGISTRATION");
    cluster.tick(SESSION_MS + 1);
    assert!(cluster.start(SESSION_MS + 1, 1, true).is_ok());
}

/// A failover grants every unfenced broker a fresh session, also one whose process has just
/// died. Its new incarnation registers at once (uncleanly, leaving every ISR) instead of
/// waiting out a session that failovers a few seconds apart could renew for as long as they
/// go on; an old incarnation that heartbeats to the new controller still blocks a new one.
#[test]
fn a_new_incarnation_replaces_one_the_new_controller_never_heard_from() {
    let (mut cluster, topic) = Cluster::with_topic(1, 2);
    cluster.failover(1_000);
    cluster.heartbeat(1_500, 2, false);
    assert_eq!(cluster.start(2_000, 2, false).unwrap_err().code, 101, "2 heartbeats to this controller");

    let epoch = cluster.start(2_000, 1, false).expect("1 never heartbeated to the new controller");
    assert_eq!(cluster.incarnations[&1].1, epoch);
    let p = cluster.partition(topic);
    assert!(!p.isr.contains(&1), "an unclean restart leaves the ISR: {p:?}");
}

#[test]
fn an_unclean_restart_leaves_the_elr_and_a_clean_one_keeps_it() {
    for clean in [true, false] {
        let mut cluster = Cluster::new(2, true);
        for id in 1..=2 {
            cluster.start(0, id, true).unwrap();
        }
        let topic = cluster.create("t", 1, 2);
        // Both replicas go silent: the ISR empties into the ELR.
        cluster.tick(SESSION_MS + 1);
        let p = cluster.partition(topic);
        assert_eq!((p.isr.len(), p.elr.len(), p.leader), (0, 2, NO_LEADER), "{p:?}");
        cluster.start(SESSION_MS + 2, 1, clean).unwrap();
        let p = cluster.partition(topic);
        if clean {
            assert_eq!((p.leader, p.isr.clone()), (1, vec![1]), "a clean ELR member is elected: {p:?}");
        } else {
            assert!(!p.elr.contains(&1) && p.leader != 1, "an unclean restart must not lead: {p:?}");
        }
    }
}

#[test]
fn controlled_shutdown_moves_leadership_before_the_broker_stops() {
    let (mut cluster, topic) = Cluster::with_topic(1, 2);
    let leader = cluster.partition(topic).leader;
    let first = cluster.heartbeat(10, leader, true);
    assert!(!first.should_shut_down, "it still leads: leadership moves first");
    let p = cluster.partition(topic);
    assert!(p.leader != leader && !p.isr.contains(&leader), "{p:?}");
    let second = cluster.heartbeat(20, leader, true);
    assert!(second.should_shut_down && second.is_fenced);
}

#[test]
fn preferred_leaders_come_back_on_their_own() {
    let (mut cluster, topic) = Cluster::with_topic(1, 2);
    let preferred = cluster.partition(topic).replicas[0];
    let other = cluster.partition(topic).replicas[1];
    cluster.heartbeat(SESSION_MS, other, false);
    cluster.tick(SESSION_MS + 1);
    assert_eq!(cluster.partition(topic).leader, other);
    cluster.start(SESSION_MS + 2, preferred, true).unwrap();
    let epoch = |c: &Cluster, id: i32| c.incarnations[&id].1;
    let isr = [(other, epoch(&cluster, other)), (preferred, epoch(&cluster, preferred))];
    cluster.alter(other, topic, &isr).unwrap();
    cluster.heartbeat(300_000, other, false);
    cluster.heartbeat(300_000, preferred, false);
    cluster.tick(300_000);
    assert_eq!(cluster.partition(topic).leader, preferred);
}

#[test]
fn the_record_checks_fire_on_an_illegal_election() {
    let (cluster, topic) = Cluster::with_topic(1, 3);
    let p = cluster.partition(topic);
    let outsider = p.replicas.iter().copied().find(|r| *r != p.leader).unwrap();
    let isr = vec![p.leader];
    let mut image = cluster.follower.clone();
    let shrink = crate::controller::records::PartitionChangeRecord {
        topic_id: topic,
        partition_id: 0,
        isr: Some(isr),
        leader: crate::controller::records::NO_LEADER_CHANGE,
        elr: None,
        last_known_elr: None,
        leader_recovery_state: None,
    };
    image.apply(image.offset + 1, &MetadataRecord::PartitionChange(shrink)).unwrap();
    let illegal = crate::controller::records::PartitionChangeRecord {
        topic_id: topic,
        partition_id: 0,
        isr: Some(vec![outsider]),
        leader: outsider,
        elr: None,
        last_known_elr: None,
        leader_recovery_state: None,
    };
    let problem = check_record(&image, image.offset + 1, &MetadataRecord::PartitionChange(illegal)).unwrap_err();
    assert!(problem.contains("is not in ISR"), "{problem}");
}

#[derive(Clone, Debug)]
enum Step {
    Silence(i32),
    Restart(i32, bool),
    Heartbeat(i32),
    Shrink(u8),
    Expand(u8),
    Create(i32, i16),
    Pass(i64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (1..=4i32).prop_map(Step::Silence),
        (1..=4i32, any::<bool>()).prop_map(|(id, clean)| Step::Restart(id, clean)),
        (1..=4i32).prop_map(Step::Heartbeat),
        any::<u8>().prop_map(Step::Shrink),
        any::<u8>().prop_map(Step::Expand),
        (1..=3i32, 1..=3i16).prop_map(|(p, rf)| Step::Create(p, rf)),
        (1..4_000i64).prop_map(Step::Pass),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Random histories of four brokers (silence, clean and unclean restarts, heartbeats,
    /// ISR shrinks and expansions by leaders, topic creation, time): every record the
    /// controller writes passes §6's checks, and a follower's image equals the controller's.
    #[test]
    fn every_history_keeps_the_controller_invariants(
        min_isr in 1usize..=3,
        elr in any::<bool>(),
        steps in proptest::collection::vec(step(), 1..60),
    ) {
        let mut cluster = Cluster::new(min_isr, elr);
        let mut now_ms = 0;
        let mut silent = std::collections::BTreeSet::new();
        for id in 1..=4 {
            cluster.start(now_ms, id, true).unwrap();
        }
        let mut topics = Vec::new();
        for step in steps {
            match step {
                Step::Silence(id) => { silent.insert(id); }
                Step::Restart(id, clean) => {
                    if cluster.start(now_ms, id, clean).is_ok() {
                        silent.remove(&id);
                    }
                }
                Step::Heartbeat(id) => {
                    if !silent.contains(&id) {
                        cluster.heartbeat(now_ms, id, false);
                    }
                }
                Step::Shrink(pick) | Step::Expand(pick) if !topics.is_empty() => {
                    let topic = topics[pick as usize % topics.len()];
                    let p = cluster.partition(topic);
                    if p.leader == NO_LEADER || silent.contains(&p.leader) {
                        continue;
                    }
                    let epoch = |id: i32| cluster.incarnations[&id].1;
                    let isr: Vec<(i32, i64)> = if matches!(step, Step::Shrink(_)) {
                        vec![(p.leader, epoch(p.leader))]
                    } else {
                        p.replicas.iter().map(|r| (*r, epoch(*r))).collect()
                    };
                    let _ = cluster.alter(p.leader, topic, &isr);
                }
                Step::Shrink(_) | Step::Expand(_) => {}
                Step::Create(partitions, rf) => {
                    let name = format!("t{}", topics.len());
                    if let Ok(written) = cluster.controller.create_topic(&name, partitions, rf, &[]) {
                        topics.push(cluster.follow(written));
                    }
                }
                Step::Pass(ms) => {
                    now_ms += ms;
                    for id in 1..=4 {
                        if !silent.contains(&id) {
                            cluster.heartbeat(now_ms, id, false);
                        }
                    }
                    cluster.tick(now_ms);
                }
            }
        }
    }
}

/// The replica core drops a pending ISR change on INELIGIBLE_REPLICA; that is safe only
/// because a retry of an already-applied change (stale partition epoch) is answered
/// INVALID_UPDATE_VERSION first, whatever its members' eligibility (§3.8's order).
#[test]
fn a_stale_partition_epoch_is_reported_before_an_ineligible_replica() {
    let (mut cluster, topic) = Cluster::with_topic(1, 2);
    let p = cluster.partition(topic);
    let (leader, follower) = (p.leader, p.replicas.iter().copied().find(|r| *r != p.leader).unwrap());
    let epoch = |c: &Cluster, id: i32| c.incarnations[&id].1;
    let old_follower_epoch = epoch(&cluster, follower);
    cluster.alter(leader, topic, &[(leader, epoch(&cluster, leader))]).unwrap();
    let stale_partition_epoch = cluster.partition(topic).partition_epoch;
    cluster.alter(leader, topic, &[(leader, epoch(&cluster, leader)), (follower, old_follower_epoch)]).unwrap();
    let request = AlterPartitionRequest {
        broker_id: leader,
        broker_epoch: epoch(&cluster, leader),
        partitions: vec![AlterPartitionItem {
            topic_id: topic,
            partition_id: 0,
            leader_epoch: p.leader_epoch,
            new_isr_with_epochs: vec![(leader, epoch(&cluster, leader)), (follower, old_follower_epoch + 1_000)],
            leader_recovery_state: LeaderRecoveryState::Recovered,
            partition_epoch: stale_partition_epoch,
        }],
    };
    let answer = cluster.controller.alter_partition(&request).unwrap().reply.remove(0);
    assert_eq!(answer.unwrap_err().code, 95, "INVALID_UPDATE_VERSION, not INELIGIBLE_REPLICA");
}
