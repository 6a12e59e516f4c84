//! Elections and ISR/ELR maintenance, rule by rule (REPLICATION.md §2.5, §2.6, §4), and a
//! property test over random partitions, brokers and target ISRs.

use proptest::prelude::*;
use uuid::Uuid;

use super::*;
use crate::controller::records::LeaderRecoveryState::{Recovered, Recovering};

const TOPIC: Uuid = Uuid::from_u128(1);

fn partition(replicas: &[i32], isr: &[i32], elr: &[i32], leader: i32) -> PartitionRegistration {
    PartitionRegistration {
        replicas: replicas.to_vec(),
        isr: isr.to_vec(),
        elr: elr.to_vec(),
        last_known_elr: Vec::new(),
        leader,
        leader_recovery_state: Recovered,
        leader_epoch: 5,
        partition_epoch: 9,
    }
}

/// Builds and applies a change: the registration afterwards (or the same one if none).
fn change(
    current: &PartitionRegistration,
    active: &[i32],
    min_isr: usize,
    elr_enabled: bool,
    edit: impl FnOnce(PartitionChangeBuilder<'_>) -> PartitionChangeBuilder<'_>,
) -> PartitionRegistration {
    let is_active = |b: i32| active.contains(&b);
    let builder = PartitionChangeBuilder::new(current, TOPIC, 0, &is_active, min_isr, elr_enabled);
    match edit(builder).build() {
        Some(record) => {
            let next = current.merge(&record);
            next.check_shape().unwrap();
            next
        }
        None => current.clone(),
    }
}

#[test]
fn online_election_keeps_a_valid_leader() {
    let current = partition(&[1, 2, 3], &[1, 2, 3], &[], 2);
    let next = change(&current, &[1, 2, 3], 1, false, |b| b.with_target_isr(vec![2, 3]));
    assert_eq!((next.leader, next.leader_epoch, next.partition_epoch), (2, 5, 10), "an ISR shrink keeps the epoch");
}

#[test]
fn a_fenced_leader_is_replaced_by_the_first_valid_replica_in_replica_order() {
    let current = partition(&[3, 1, 2], &[1, 2, 3], &[], 3);
    let next = change(&current, &[1, 2], 1, false, |b| b.with_target_isr(vec![1, 2]));
    assert_eq!((next.leader, next.leader_epoch), (1, 6));
}

#[test]
fn nothing_to_change_builds_no_record() {
    let current = partition(&[1, 2], &[1, 2], &[], 1);
    let is_active = |_: i32| true;
    assert!(PartitionChangeBuilder::new(&current, TOPIC, 0, &is_active, 1, false).build().is_none());
}

#[test]
fn preferred_election_moves_leadership_to_the_first_replica() {
    let current = partition(&[1, 2, 3], &[1, 2, 3], &[], 2);
    let next = change(&current, &[1, 2, 3], 1, false, |b| b.with_election(Election::Preferred));
    assert_eq!(next.leader, 1);
    let out_of_isr = partition(&[1, 2, 3], &[2, 3], &[], 2);
    let next = change(&out_of_isr, &[1, 2, 3], 1, false, |b| b.with_election(Election::Preferred));
    assert_eq!(next.leader, 2, "a preferred replica outside the ISR is not valid");
}

#[test]
fn without_elr_the_isr_keeps_its_last_member_and_the_partition_goes_leaderless() {
    let current = partition(&[1, 2], &[1], &[], 1);
    let next = change(&current, &[2], 1, false, |b| b.with_target_isr(vec![]));
    assert_eq!((next.isr.clone(), next.leader, next.leader_epoch), (vec![1], NO_LEADER, 6));
}

#[test]
fn elr_keeps_the_replicas_that_left_the_isr_below_min_isr() {
    let current = partition(&[1, 2, 3], &[1, 2, 3], &[], 1);
    let next = change(&current, &[1], 2, true, |b| b.with_target_isr(vec![1]));
    assert_eq!((next.isr.clone(), next.elr.clone(), next.leader), (vec![1], vec![2, 3], 1));
    // The last ISR member goes: the ISR empties, the ELR holds everyone, no leader.
    let next = change(&next, &[], 2, true, |b| b.with_target_isr(vec![]));
    assert_eq!((next.isr.clone(), next.elr.clone(), next.leader), (vec![], vec![1, 2, 3], NO_LEADER));
    assert_eq!(next.last_known_elr, vec![1]);
    // An ELR member comes back: it is elected and becomes the only ISR member.
    let next = change(&next, &[3], 2, true, |b| b);
    assert_eq!((next.isr.clone(), next.elr.clone(), next.leader), (vec![3], vec![1, 2], 3));
    assert!(next.last_known_elr.is_empty());
}

#[test]
fn elr_clears_once_the_isr_reaches_min_isr() {
    let current = partition(&[1, 2, 3], &[1], &[2, 3], 1);
    let next = change(&current, &[1, 2, 3], 2, true, |b| b.with_target_isr(vec![1, 2]));
    assert_eq!((next.isr.clone(), next.elr.clone()), (vec![1, 2], vec![]));
}

#[test]
fn an_unclean_shutdown_leaves_the_elr_and_the_last_known_leader_is_elected() {
    // KIP-966's last replica standing: every ELR member restarted uncleanly.
    let mut current = partition(&[1, 2], &[], &[1, 2], NO_LEADER);
    current.last_known_elr = vec![1];
    let next = change(&current, &[1], 2, true, |b| b.with_unclean_shutdown_replicas(vec![2]));
    assert_eq!((next.leader, next.isr.clone(), next.elr.clone()), (1, vec![1], vec![]));
    let unclean_last = change(&current, &[1], 2, true, |b| b.with_unclean_shutdown_replicas(vec![1, 2]));
    assert_eq!(unclean_last.leader, NO_LEADER, "the last leader shut down uncleanly: it may not lead");
}

#[test]
fn unclean_election_takes_any_active_replica_and_marks_it_recovering() {
    let current = partition(&[1, 2], &[1], &[], 1);
    let online = change(&current, &[2], 1, false, |b| b.with_target_isr(vec![]));
    assert_eq!(online.leader, NO_LEADER, "an online election never leaves the ISR");
    let unclean = change(&online, &[2], 1, false, |b| b.with_election(Election::Unclean));
    assert_eq!((unclean.leader, unclean.isr.clone(), unclean.leader_recovery_state), (2, vec![2], Recovering));
    let recovered = change(&unclean, &[2], 1, false, |b| b.with_leader_recovered());
    assert_eq!((recovered.leader_recovery_state, recovered.leader_epoch), (Recovered, unclean.leader_epoch));
}

fn arbitrary_partition() -> impl Strategy<Value = (PartitionRegistration, Vec<i32>, Vec<i32>, usize, bool, u8)> {
    (1usize..=4, any::<u64>(), 1usize..=4, any::<bool>(), 0u8..3).prop_map(|(rf, bits, min_isr, elr, election)| {
        let replicas: Vec<i32> = (1..=rf as i32).collect();
        let pick = |shift: u32| -> Vec<i32> {
            replicas.iter().copied().filter(|r| bits >> (shift + *r as u32) & 1 == 1).collect()
        };
        let mut isr = pick(0);
        if isr.is_empty() && !elr {
            isr = vec![replicas[0]];
        }
        let elr_members: Vec<i32> = if elr && isr.len() < min_isr.min(rf) {
            pick(8).into_iter().filter(|r| !isr.contains(r)).collect()
        } else {
            vec![]
        };
        let leader = isr.first().copied().unwrap_or(NO_LEADER);
        let mut current = partition(&replicas, &isr, &elr_members, leader);
        if elr && isr.is_empty() {
            current.last_known_elr = pick(16).into_iter().take(1).collect();
        }
        (current, pick(24), pick(32), min_isr, elr, election)
    })
}

proptest! {
    /// Whatever the change: the shape holds, the epochs move by the rules, the ELR is empty
    /// when the ISR is large enough, and a new leader is active and came from the ISR, from
    /// the ELR while the ISR was empty, from the last known leader, or is RECOVERING (only in an
/// unclean election).
    #[test]
    fn every_change_keeps_the_partition_rules((current, active, target, min_isr, elr, election) in arbitrary_partition()) {
        let election = [Election::Online, Election::Preferred, Election::Unclean][election as usize];
        let is_active = |b: i32| active.contains(&b);
        let builder = PartitionChangeBuilder::new(&current, TOPIC, 0, &is_active, min_isr, elr)
            .with_election(election)
            .with_target_isr(target.clone());
        let Some(record) = builder.build() else { return Ok(()) };
        let next = current.merge(&record);
        prop_assert_eq!(next.check_shape(), Ok(()));
        prop_assert_eq!(next.partition_epoch, current.partition_epoch + 1);
        let leader_named = record.leader != NO_LEADER_CHANGE;
        prop_assert_eq!(next.leader_epoch, current.leader_epoch + i32::from(leader_named));
        if elr {
            prop_assert!(next.isr.len() < min_isr.min(next.replicas.len()) || next.elr.is_empty());
        } else {
            prop_assert!(!next.isr.is_empty());
        }
        if leader_named && next.leader != NO_LEADER {
            prop_assert!(active.contains(&next.leader), "elected an inactive replica");
            let from_isr = target.contains(&next.leader);
            // Replicas leaving the ISR join the ELR in the same change, so they count too.
            let from_elr = target.is_empty()
                && (current.elr.contains(&next.leader) || current.isr.contains(&next.leader));
            let last_known = current.last_known_elr == vec![next.leader];
            let unclean = next.leader_recovery_state == Recovering;
            prop_assert!(from_isr || from_elr || last_known || unclean, "leader {} from nowhere", next.leader);
            prop_assert!(!unclean || election == Election::Unclean);
        }
    }
}
