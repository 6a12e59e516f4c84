//! The replication events a partition reports (`seedlog::events::replication`), built from
//! its core and its log at the moment they happen, for the simulator's checkers and the logs.

use bytes::Bytes;

use super::Partition;
use crate::events::lists::{format_id_offsets, format_ids};
use crate::events::{
    BatchReplicated, Event, FetchServed, FollowerHighWatermark, HighWatermarkAdvanced, IsrChanged, MakeFollower,
    MakeLeader, ProduceAcked, ReplicaTruncated, ROLE_FOLLOWER, ROLE_LEADER,
};
use crate::replication::{PartitionState, Replica};
use crate::storage::record_batch::{parse_batch, peek_size, read_header, CrcCheck};

impl Partition {
    pub(super) fn emit_make_leader(&self, state: &PartitionState) {
        if !MakeLeader::enabled() {
            return;
        }
        MakeLeader {
            topic: self.topic().to_string(),
            partition: self.index(),
            leader_epoch: state.leader_epoch(),
            leader_id: state.leader(),
            isr: format_ids(state.isr()),
        }
        .emit();
    }

    pub(super) fn emit_make_follower(&self, state: &PartitionState) {
        if !MakeFollower::enabled() {
            return;
        }
        MakeFollower {
            topic: self.topic().to_string(),
            partition: self.index(),
            leader_epoch: state.leader_epoch(),
            leader_id: state.leader(),
        }
        .emit();
    }

    /// One event per batch in `records` (whole batches, as appended), by the leader or a
    /// follower. The CRC is read from each batch: offsets and leader epochs lie outside it.
    pub(super) fn emit_batches_replicated(&self, records: &Bytes, first_offset: i64, leader_epoch: i32, leader: bool) {
        if !BatchReplicated::enabled() {
            return;
        }
        let mut position = 0;
        let mut next_offset = first_offset;
        while let Some(Ok(size)) = peek_size(&records[position..]) {
            if position + size > records.len() {
                break;
            }
            let header = read_header(&records[position..]);
            // A leader's batches carry the offsets and epoch the append gave them; the
            // bytes handed in are the producer's, so the append's values are the truth.
            let (base_offset, epoch) =
                if leader { (next_offset, leader_epoch) } else { (header.base_offset, header.partition_leader_epoch) };
            let last_offset = base_offset + i64::from(header.last_offset_delta);
            BatchReplicated {
                topic: self.topic().to_string(),
                partition: self.index(),
                base_offset,
                last_offset,
                leader_epoch: epoch,
                crc: u64::from(header.crc),
                role: if leader { ROLE_LEADER } else { ROLE_FOLLOWER }.to_string(),
            }
            .emit();
            next_offset = last_offset + 1;
            position += size;
        }
    }

    pub(super) fn emit_isr_changed(&self, replica: &Replica) {
        if !IsrChanged::enabled() {
            return;
        }
        let Some(state) = replica.partition_state() else { return };
        IsrChanged {
            topic: self.topic().to_string(),
            partition: self.index(),
            leader_epoch: state.leader_epoch(),
            partition_epoch: state.partition_epoch(),
            leader_id: state.leader(),
            isr: format_ids(state.isr()),
        }
        .emit();
    }

    pub(super) fn emit_truncated(&self, offset: i64, high_watermark: i64, reason: &str) {
        if !ReplicaTruncated::enabled() {
            return;
        }
        ReplicaTruncated {
            topic: self.topic().to_string(),
            partition: self.index(),
            offset,
            high_watermark,
            reason: reason.to_string(),
        }
        .emit();
    }

    /// The core moved its HW to `high_watermark`: as leader with what the move rests on,
    /// as follower with its log end.
    pub(super) fn emit_high_watermark(&self, replica: &Replica, high_watermark: i64, log_end_offset: i64) {
        if !HighWatermarkAdvanced::enabled() && !FollowerHighWatermark::enabled() {
            return;
        }
        let (Some(state), Some(offsets)) = (replica.partition_state(), replica.maximal_isr_log_end_offsets()) else {
            FollowerHighWatermark {
                topic: self.topic().to_string(),
                partition: self.index(),
                high_watermark,
                log_end_offset,
            }
            .emit();
            return;
        };
        HighWatermarkAdvanced {
            topic: self.topic().to_string(),
            partition: self.index(),
            leader_epoch: state.leader_epoch(),
            high_watermark,
            leader_log_end_offset: log_end_offset,
            isr: format_ids(state.isr()),
            isr_log_end_offsets: format_id_offsets(&offsets),
            min_insync_replicas: replica.config().min_insync_replicas,
            replication_factor: state.replicas().len() as i32,
        }
        .emit();
    }

    pub(super) fn emit_produce_acked(&self, replica: &Replica, base_offset: i64, last_offset: i64, acks: i16) {
        if !ProduceAcked::enabled() {
            return;
        }
        let Some(state) = replica.partition_state() else { return };
        ProduceAcked {
            topic: self.topic().to_string(),
            partition: self.index(),
            base_offset,
            last_offset,
            acks: i32::from(acks),
            high_watermark: replica.high_watermark(),
            maximal_isr: format_ids(&replica.maximal_isr().unwrap_or_default()),
            min_insync_replicas: replica.config().min_insync_replicas,
            replication_factor: state.replicas().len() as i32,
        }
        .emit();
    }

    /// A fetch answered: by a consumer (`replica_id` -1) or a follower. Built only when the
    /// event is traced: finding the last offset returned checks each batch's CRC.
    pub(super) fn emit_fetch_served(
        &self,
        replica_id: i32,
        fetch_offset: i64,
        high_watermark: i64,
        records: &Bytes,
        error_code: i16,
    ) {
        if !FetchServed::enabled() {
            return;
        }
        FetchServed {
            topic: self.topic().to_string(),
            partition: self.index(),
            replica_id,
            fetch_offset,
            high_watermark,
            last_offset_returned: last_offset_in(records),
            error_code: i32::from(error_code),
        }
        .emit();
    }
}

/// The last offset of the batches in `records` a reader will accept: whole, and passing
/// their CRC (a consumer's fetch is read without CRC checks, as Kafka's; a batch a bit flip
/// corrupted on the way out is refused by the consumer, which fetches it again, so its
/// header's offsets are nothing it reads). -1 when there is none.
fn last_offset_in(records: &Bytes) -> i64 {
    let mut position = 0;
    let mut last = -1;
    while let Some(Ok(size)) = peek_size(&records[position..]) {
        if position + size > records.len() {
            break;
        }
        let Ok(header) = parse_batch(&records[position..], size, CrcCheck::Verify) else { break };
        last = header.last_offset();
        position += size;
    }
    last
}
