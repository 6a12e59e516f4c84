//! OffsetCommit admission and OffsetFetch (GROUPS-AND-TRANSACTIONS.md §2.6). A commit is
//! checked against the group's members and generation, appended, and answered (and visible to
//! OffsetFetch) once the append is acknowledged. No check that offsets advance or that the
//! committer owns the partition: Kafka makes none.

use super::classic_group::{ClassicGroup, GroupState};
use super::coordinator::{GroupCoordinator, PendingAppend};
use super::error_code;
use super::outputs::{FetchedOffset, OffsetCommitRequest, OffsetFetchRequest, Outputs, RequestId, ResponseBody};
use super::records::{GroupRecord, OffsetCommitValue};

impl GroupCoordinator {
    pub(super) fn offset_commit(
        &mut self,
        now_ms: i64,
        request_id: RequestId,
        request: OffsetCommitRequest,
        out: &mut Outputs,
    ) {
        #[cfg(test)]
        let request = {
            let mut request = request;
            if self.broken == Some(super::coordinator::BrokenRule::CommitsIgnoreTheGeneration) {
                if let Some(group) = self.groups.get(&request.member.group_id) {
                    if request.member.generation_id >= 0 {
                        request.member.generation_id = group.generation_id;
                    }
                }
            }
            request
        };
        let member = &request.member;
        let admitted = match self.groups.get_mut(&member.group_id) {
            None if member.generation_id < 0 => {
                // A simple group: offsets only, no protocol type.
                self.groups.insert(member.group_id.clone(), ClassicGroup::new(&member.group_id, now_ms));
                Ok(())
            }
            None if request.api_version >= 9 => Err(error_code::GROUP_ID_NOT_FOUND),
            None => Err(error_code::ILLEGAL_GENERATION),
            Some(group) => admit(group, &request, now_ms, out),
        };
        let partitions: Vec<(String, i32, Result<OffsetCommitValue, i16>)> = request
            .partitions
            .iter()
            .map(|p| {
                let value = admitted.and_then(|()| {
                    if p.metadata.len() > self.config.offset_metadata_max_bytes {
                        return Err(error_code::OFFSET_METADATA_TOO_LARGE);
                    }
                    Ok(OffsetCommitValue {
                        offset: p.offset,
                        leader_epoch: p.leader_epoch,
                        metadata: p.metadata.clone(),
                        commit_timestamp_ms: now_ms,
                    })
                });
                (p.topic.clone(), p.partition, value)
            })
            .collect();
        let records: Vec<GroupRecord> = partitions
            .iter()
            .filter_map(|(topic, partition, value)| {
                let value = value.as_ref().ok()?.clone();
                Some(GroupRecord::OffsetCommit {
                    group_id: member.group_id.clone(),
                    topic: topic.clone(),
                    partition: *partition,
                    value: Some(value),
                })
            })
            .collect();
        if records.is_empty() {
            self.commit_stored(request_id, &member.group_id, partitions, error_code::NONE, out);
        } else {
            let pending = PendingAppend::Commit { request_id, group_id: member.group_id.clone(), partitions };
            self.append(records, pending, out);
        }
    }

    /// Answers a commit once its append finished (or at once when nothing was appended).
    pub(super) fn commit_stored(
        &mut self,
        request_id: RequestId,
        group_id: &str,
        partitions: Vec<(String, i32, Result<OffsetCommitValue, i16>)>,
        error: i16,
        out: &mut Outputs,
    ) {
        let mut body = Vec::with_capacity(partitions.len());
        for (topic, partition, value) in partitions {
            let code = match value {
                Err(code) => code,
                Ok(_) if error != error_code::NONE => error,
                Ok(value) => {
                    self.offsets.insert((group_id.to_string(), topic.clone(), partition), value);
                    error_code::NONE
                }
            };
            body.push((topic, partition, code));
        }
        out.respond(request_id, ResponseBody::OffsetCommit(body));
    }

    pub(super) fn offset_fetch(&mut self, request_id: RequestId, request: OffsetFetchRequest, out: &mut Outputs) {
        let wanted: Vec<(String, i32)> = match request.partitions {
            Some(partitions) => partitions,
            None => self
                .offsets
                .keys()
                .filter(|(g, _, _)| *g == request.group_id)
                .map(|(_, t, p)| (t.clone(), *p))
                .collect(),
        };
        let fetched = wanted
            .into_iter()
            .map(|(topic, partition)| match self.committed_offset(&request.group_id, &topic, partition) {
                Some(v) => FetchedOffset {
                    offset: v.offset,
                    leader_epoch: v.leader_epoch,
                    metadata: v.metadata.clone(),
                    error_code: error_code::NONE,
                    topic,
                    partition,
                },
                None => FetchedOffset {
                    topic,
                    partition,
                    offset: -1,
                    leader_epoch: -1,
                    metadata: String::new(),
                    error_code: error_code::NONE,
                },
            })
            .collect();
        out.respond(request_id, ResponseBody::OffsetFetch(fetched));
    }
}

/// §2.6: generation < 0 on an Empty group is a simple commit; −1 without a member id on a
/// non-empty group is refused; otherwise the member checks, and no commits while the
/// assignment is being completed.
fn admit(group: &mut ClassicGroup, request: &OffsetCommitRequest, now_ms: i64, out: &mut Outputs) -> Result<(), i16> {
    let member = &request.member;
    if group.is(GroupState::Dead) {
        return Err(error_code::COORDINATOR_NOT_AVAILABLE);
    }
    if member.generation_id < 0 && group.is(GroupState::Empty) {
        return Ok(());
    }
    if member.generation_id < 0 && member.member_id.is_empty() {
        return Err(error_code::UNKNOWN_MEMBER_ID);
    }
    group.check_member(member)?;
    if group.is(GroupState::CompletingRebalance) {
        return Err(error_code::REBALANCE_IN_PROGRESS);
    }
    group.touch_member(&member.member_id, now_ms, out);
    Ok(())
}
