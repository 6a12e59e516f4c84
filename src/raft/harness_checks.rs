//! The harness's checker: REPLICATION.md §6's Raft invariants 1–11, judged at each Ready, at
//! each message that leaves and after each step (see `harness.rs` for the list).

use super::harness::{Cluster, Tagged};
use super::messages::{Message, NodeId, Offset, Response};
use super::quorum_state::Role;
use super::ready::Ready;

impl Cluster {
    pub(super) fn check_ready(&mut self, id: NodeId, ready: &Ready) {
        let node = &self.nodes[&id];
        let core = node.core.as_ref().unwrap();
        let mut found = Vec::new();
        if let Some(t) = ready.truncate_to {
            self.stats.truncations += 1;
            if t < node.lifetime_hw {
                let hw = node.lifetime_hw;
                found.push(("NoTruncationBelowHighWatermark", format!("node {id} truncates to {t} below {hw}")));
            }
        }
        if let Some((snapshot_id, data)) = &ready.install_snapshot {
            if self.committed_snapshot(snapshot_id.end_offset).as_ref() != Some(data) {
                let detail = format!("node {id} installed {snapshot_id:?}, whose bytes are not the committed entries");
                found.push(("SnapshotIdsAreValid", detail));
            }
        }
        let leads = core.role() == Role::Leader;
        if leads {
            let epoch = core.epoch();
            let resigned = node.restarted_resigned;
            for e in &ready.append {
                if e.epoch != epoch || resigned == Some(e.epoch) {
                    let detail =
                        format!("node {id} leading epoch {epoch} appends {e:?} (restarted resigned in {resigned:?})");
                    found.push(("LeaderAppendsOwnEpoch", detail));
                }
            }
        }
        for (name, detail) in found {
            self.violation(name, detail);
        }
        if let (true, Some(hw)) = (leads, ready.high_watermark) {
            self.check_current_epoch_commit(id, hw);
        }
    }

    pub(super) fn check_current_epoch_commit(&mut self, id: NodeId, hw: Offset) {
        let core = self.nodes[&id].core.as_ref().unwrap();
        let start = core.epoch_start_offset().unwrap();
        let entry = core.log().entry(hw - 1).cloned().unwrap();
        let holders = self.voters.iter().filter(|v| self.nodes[v].disk.holds(&entry)).count();
        let majority = self.voters.len() / 2 + 1;
        if hw <= start || holders < majority {
            let detail = format!("node {id} moved its HW to {hw} (epoch start {start}) with {holders} durable copies");
            self.violation("CurrentEpochCommit", detail);
        }
    }

    pub(super) fn check_send(&mut self, from: NodeId, tagged: &Tagged) {
        let Some((request, voter_log)) = &tagged.vote else { return };
        let Message::Response { body: Response::Vote(response), .. } = &tagged.out.message else { return };
        if (request.last_offset_epoch, request.last_offset) < *voter_log {
            let detail = format!("node {from} granted {request:?} with its log at {voter_log:?}");
            self.violation("UpToDateVoting", detail);
        }
        if request.pre_vote {
            return;
        }
        self.stats.granted_votes += 1;
        let epoch = response.leader_epoch;
        let candidate = request.replica_id;
        match self.votes.get(&(from, epoch)) {
            Some(c) if *c != candidate => {
                let detail = format!("node {from} voted for {c} and {candidate} in epoch {epoch}");
                self.violation("OneVotePerEpoch", detail);
            }
            _ => {
                self.votes.insert((from, epoch), candidate);
            }
        }
        let durable = self.nodes[&from].disk.quorum_state;
        let persisted = durable
            .is_some_and(|r| r.leader_epoch > epoch || (r.leader_epoch == epoch && r.voted_id == Some(candidate)));
        if !persisted {
            let detail = format!("node {from} granted {candidate} in epoch {epoch}; disk holds {durable:?}");
            self.violation("VotePersistedBeforeReply", detail);
        }
    }

    pub(super) fn check_node(&mut self, id: NodeId) {
        let Some(core) = self.nodes[&id].core.as_ref() else { return };
        let (epoch, role, hw) = (core.epoch(), core.role(), core.high_watermark());
        let node = &self.nodes[&id];
        let mut found = Vec::new();
        if role == Role::Leader {
            if let Some(other) = self.leaders.get(&epoch) {
                if *other != id {
                    found.push(("SingleLeaderPerEpoch", format!("nodes {other} and {id} lead epoch {epoch}")));
                }
            }
        }
        if epoch < node.lifetime_epoch {
            found.push(("MonotonicEpoch", format!("node {id} went from epoch {} to {epoch}", node.lifetime_epoch)));
        }
        if hw < node.lifetime_hw {
            found.push(("MonotonicHighWatermark", format!("node {id} HW fell from {} to {hw}", node.lifetime_hw)));
        }
        let mut new_committed = Vec::new();
        for offset in node.checked_upto.max(core.log().start_offset())..hw {
            let entry = core.log().entry(offset).expect("committed entries are in the log");
            match self.committed.get(&offset) {
                Some(c) if c != entry => found.push((
                    "CommittedPrefixAgreement",
                    format!("node {id} has {entry:?} at {offset}, committed was {c:?}"),
                )),
                Some(_) => {}
                None => new_committed.push(entry.clone()),
            }
        }
        if role == Role::Leader && !self.leaders.contains_key(&epoch) {
            self.leaders.insert(epoch, id);
            self.stats.leaders += 1;
        }
        self.stats.committed += new_committed.len() as u64;
        for e in new_committed {
            self.committed.insert(e.offset, e);
        }
        let node = self.nodes.get_mut(&id).unwrap();
        node.lifetime_epoch = node.lifetime_epoch.max(epoch);
        node.lifetime_hw = node.lifetime_hw.max(hw);
        node.checked_upto = node.checked_upto.max(hw);
        for (name, detail) in found {
            self.violation(name, detail);
        }
    }
}
