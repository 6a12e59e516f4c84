//! RaftVotePersistedFirst: a real vote goes out only after it is durable (REPLICATION.md
//! §6.3): at each real `VoteGranted`, the node's last `QuorumStateWritten` holds that epoch
//! and names that candidate.
//!
//! State across restarts (the `quorum-state` file is durable): each node's last write.

use std::collections::BTreeMap;

use seedlog::events::{QuorumStateWritten, VoteGranted};

use crate::checker::{Checker, Violation};
use crate::trace::TraceEvent;

const NAME: &str = "RaftVotePersistedFirst";

/// Each node's last durable (epoch, voted id).
#[derive(Default)]
pub struct RaftVotePersistedFirst {
    written: BTreeMap<String, (i32, i32)>,
    violations: Vec<Violation>,
}

impl Checker for RaftVotePersistedFirst {
    fn name(&self) -> &'static str {
        NAME
    }

    fn on_event(&mut self, ev: &TraceEvent) {
        if let Some(written) = ev.parse::<QuorumStateWritten>() {
            self.written.insert(ev.node.clone(), (written.epoch, written.voted_id));
        } else if let Some(granted) = ev.parse::<VoteGranted>() {
            if granted.pre_vote {
                return;
            }
            let durable = self.written.get(&ev.node).copied();
            if durable != Some((granted.epoch, granted.candidate_id)) {
                let message = format!(
                    "{} granted its vote to {} in epoch {} while its quorum-state held (epoch, voted) {durable:?}",
                    ev.node, granted.candidate_id, granted.epoch
                );
                self.violations.push(Violation::new(NAME, ev.time_ns, message));
            }
        }
    }

    fn finish(&mut self) -> Vec<Violation> {
        std::mem::take(&mut self.violations)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::test_support::{event_on, killed, restarted, run};

    fn written(epoch: i32, voted_id: i32) -> TraceEvent {
        event_on("c1", &QuorumStateWritten { epoch, leader_id: -1, voted_id })
    }

    fn granted(candidate: i32, epoch: i32, pre_vote: bool) -> TraceEvent {
        event_on(
            "c1",
            &VoteGranted {
                voter_id: 1,
                candidate_id: candidate,
                epoch,
                candidate_last_epoch: 0,
                candidate_last_offset: 0,
                voter_last_epoch: 0,
                voter_log_end_offset: 0,
                pre_vote,
            },
        )
    }

    #[test]
    fn passes_when_each_vote_was_written_first() {
        let found = run(
            RaftVotePersistedFirst::default(),
            &[
                granted(2, 1, true),
                written(1, 2),
                granted(2, 1, false),
                killed("c1"),
                restarted("c1"),
                granted(2, 1, false),
            ],
        );
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn fires_when_the_reply_outruns_the_write() {
        let found = run(RaftVotePersistedFirst::default(), &[written(1, -1), granted(2, 1, false), written(1, 2)]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("held (epoch, voted) Some((1, -1))"), "{}", found[0].message);
    }

    #[test]
    fn fires_when_the_written_vote_names_another_candidate() {
        assert_eq!(run(RaftVotePersistedFirst::default(), &[written(2, 3), granted(2, 2, false)]).len(), 1);
    }
}
