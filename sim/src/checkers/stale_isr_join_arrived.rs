//! StaleIsrJoinArrived: an AlterPartition that names an ISR member by a broker epoch older
//! than the member's latest registration (built before that broker restarted) reached the
//! active controller after the re-registration, and the controller decided it with the
//! expected answer: committed (0) before KIP-903, INELIGIBLE_REPLICA after. It proves that
//! KIP-903's story happened (HISTORICAL-BUGS.md: the delayed ISR addition lands after the
//! joiner came back as a new incarnation); a run where no such request was decided fails,
//! so a scenario cannot pass because the sequence never occurred.
//!
//! State: each broker's latest registered epoch ([`BrokerRegistered`]); the decided
//! AlterPartitions ([`AlterPartitionAnswered`] with 0 or INELIGIBLE_REPLICA) that carried a
//! member's older epoch. Other answers (a timeout, NOT_CONTROLLER) are retried by the
//! leader with the same epochs and are not decisions.

use std::collections::BTreeMap;

use seedlog::events::{AlterPartitionAnswered, BrokerRegistered};

use super::list;
use crate::checker::{Checker, Violation};
use crate::trace::TraceEvent;

const NAME: &str = "StaleIsrJoinArrived";

/// Kafka's INELIGIBLE_REPLICA.
pub const INELIGIBLE_REPLICA: i32 = 107;

/// Watches for the stale ISR addition; `answer` is the decision the scenario expects.
pub struct StaleIsrJoinArrived {
    answer: i32,
    registered: BTreeMap<i32, i64>,
    /// (time, partition, stale member, its epoch in the request, its registered epoch, answer).
    decided: Vec<(u64, String, i32, i64, i64, i32)>,
}

impl StaleIsrJoinArrived {
    /// Expects the stale request to be committed (before KIP-903).
    pub fn committed() -> Self {
        StaleIsrJoinArrived { answer: 0, registered: BTreeMap::new(), decided: Vec::new() }
    }

    /// Expects the stale request to be refused with INELIGIBLE_REPLICA (KIP-903).
    pub fn refused() -> Self {
        StaleIsrJoinArrived { answer: INELIGIBLE_REPLICA, ..StaleIsrJoinArrived::committed() }
    }
}

impl Checker for StaleIsrJoinArrived {
    fn name(&self) -> &'static str {
        NAME
    }

    fn on_event(&mut self, ev: &TraceEvent) {
        if let Some(registered) = ev.parse::<BrokerRegistered>() {
            let latest = self.registered.entry(registered.broker_id).or_insert(registered.broker_epoch);
            *latest = (*latest).max(registered.broker_epoch);
        } else if let Some(answered) = ev.parse::<AlterPartitionAnswered>() {
            if answered.error_code != 0 && answered.error_code != INELIGIBLE_REPLICA {
                return;
            }
            for (id, epoch) in list(ev, answered.parse_isr_with_broker_epochs()) {
                let registered = self.registered.get(&id).copied().unwrap_or(-1);
                if epoch != -1 && epoch < registered {
                    let partition = format!("{}-{}", answered.topic, answered.partition);
                    self.decided.push((ev.time_ns, partition, id, epoch, registered, answered.error_code));
                }
            }
        }
    }

    fn finish(&mut self) -> Vec<Violation> {
        if self.decided.is_empty() {
            let message = "no AlterPartition naming a restarted broker by its old broker epoch was decided by the \
                           controller: the stale ISR addition never arrived, the story did not happen";
            return vec![Violation::new(NAME, 0, message)];
        }
        self.decided
            .iter()
            .filter(|decided| decided.5 != self.answer)
            .map(|(time_ns, partition, id, epoch, registered, answer)| {
                let message = format!(
                    "the AlterPartition of {partition} naming broker {id} by epoch {epoch} (registered: {registered}) \
                     was answered {answer}, expected {}",
                    self.answer
                );
                Violation::new(NAME, *time_ns, message)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::test_support::{event, run};

    fn registered(broker_id: i32, broker_epoch: i64) -> TraceEvent {
        event(&BrokerRegistered { broker_id, broker_epoch })
    }

    fn answered(isr: &str, error_code: i32) -> TraceEvent {
        event(&AlterPartitionAnswered {
            topic: "t".into(),
            partition: 0,
            leader_epoch: 1,
            isr_with_broker_epochs: isr.into(),
            error_code,
        })
    }

    #[test]
    fn passes_when_the_stale_addition_is_decided_as_expected() {
        let events = [registered(1, 5), registered(2, 7), registered(2, 40), answered("1:5,2:7", INELIGIBLE_REPLICA)];
        assert!(run(StaleIsrJoinArrived::refused(), &events).is_empty());
        let events = [registered(1, 5), registered(2, 7), registered(2, 40), answered("1:5,2:7", 0)];
        assert!(run(StaleIsrJoinArrived::committed(), &events).is_empty());
    }

    #[test]
    fn fires_when_the_decision_is_not_the_expected_one() {
        let events = [registered(2, 7), registered(2, 40), answered("1:5,2:7", 0)];
        let found = run(StaleIsrJoinArrived::refused(), &events);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("broker 2 by epoch 7 (registered: 40)"), "{}", found[0].message);
    }

    #[test]
    fn fires_when_no_stale_addition_was_decided() {
        // Current epochs, unknown epochs, and a stale request that only timed out.
        let events =
            [registered(2, 7), answered("1:5,2:7", 0), answered("1:5,2:-1", 0), registered(2, 40), answered("2:7", 7)];
        let found = run(StaleIsrJoinArrived::refused(), &events);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("story did not happen"), "{}", found[0].message);
    }
}
