//! Every declared event reads back as what was emitted, through a real `tracing` subscriber;
//! a field missing or of the wrong type is an error naming the event and the field.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

use super::*;

#[derive(Clone, Debug, PartialEq)]
enum Owned {
    I64(i64),
    U64(u64),
    Bool(bool),
    Str(String),
}

#[derive(Debug, Default)]
struct Captured {
    name: String,
    target: String,
    fields: BTreeMap<String, Owned>,
}

impl Fields for Captured {
    fn field(&self, key: &str) -> Option<FieldRef<'_>> {
        Some(match self.fields.get(key)? {
            Owned::I64(v) => FieldRef::I64(*v),
            Owned::U64(v) => FieldRef::U64(*v),
            Owned::Bool(v) => FieldRef::Bool(*v),
            Owned::Str(v) => FieldRef::Str(v),
        })
    }
}

impl Visit for Captured {
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.fields.insert(field.name().into(), Owned::I64(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.fields.insert(field.name().into(), Owned::U64(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.fields.insert(field.name().into(), Owned::Bool(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.fields.insert(field.name().into(), Owned::Str(value.into()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.fields.insert(field.name().into(), Owned::Str(format!("{value:?}")));
    }
}

struct Capture(Arc<Mutex<Vec<Captured>>>);

impl<S: tracing::Subscriber> Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        let mut captured = Captured {
            name: event.metadata().name().to_string(),
            target: event.metadata().target().to_string(),
            ..Captured::default()
        };
        event.record(&mut captured);
        self.0.lock().unwrap().push(captured);
    }
}

/// Emits `event` under a capturing subscriber and returns what the subscriber saw.
fn emit_and_capture<E: Event>(event: &E) -> Captured {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let subscriber = tracing_subscriber::registry().with(Capture(seen.clone()));
    tracing::subscriber::with_default(subscriber, || event.emit());
    let mut seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1, "one emit, one event");
    seen.pop().unwrap()
}

fn round_trip<E: Event + PartialEq + std::fmt::Debug>(event: E) {
    let captured = emit_and_capture(&event);
    assert_eq!(captured.name, E::NAME);
    assert!(captured.target.starts_with("seedlog"), "the simulator traces seedlog's targets");
    assert_eq!(E::decode(&captured).expect("decodes"), event);
}

#[test]
fn every_event_reads_back_as_emitted() {
    round_trip(RecordAcked { topic: "t".into(), partition: 2, offset: -1, acks: -1, value: "v".into() });
    round_trip(RecordConsumed { topic: "t".into(), partition: 0, offset: 7, value: String::new() });
    round_trip(RecordAudited { topic: "t".into(), partition: 0, offset: i64::MAX, value: "é".into() });
    round_trip(AuditDone { topic: "t".into(), partition: 1, end_offset: 0 });
    round_trip(LogFlushed { dir: "/d/t-0".into(), recovery_point: 3 });
    round_trip(LogFlushStarted { dir: "/d/t-0".into(), log_end_offset: 3 });
    round_trip(LogFlushSynced { dir: "/d/t-0".into(), ok: false });
    round_trip(BuggifyFired { point: "fsync_slow".into() });
    round_trip(LogRecovered {
        dir: "/d".into(),
        log_start_offset: 0,
        log_end_offset: 10,
        checkpointed_recovery_point: 4,
        segments_loaded: 1,
        segments_recovered: u64::MAX,
        segments_deleted: 0,
        truncated_bytes: 9,
    });
    round_trip(LogStartOffsetAdvanced { dir: "/d".into(), log_start_offset: 5, deleted_segments: 2 });
    round_trip(LogTruncated { dir: "/d".into(), log_end_offset: 1, fully: true });
}

#[test]
fn every_raft_event_reads_back_as_emitted() {
    round_trip(RaftTransition {
        from_state: STARTING_STATE.into(),
        to_state: RaftState::Resigned.as_str().into(),
        epoch: 3,
        leader_id: -1,
        voted_id: 2,
    });
    round_trip(QuorumStateWritten { epoch: i32::MAX, leader_id: 1, voted_id: -1 });
    round_trip(VoteGranted {
        voter_id: 1,
        candidate_id: 2,
        epoch: 4,
        candidate_last_epoch: 3,
        candidate_last_offset: 10,
        voter_last_epoch: 3,
        voter_log_end_offset: 9,
        pre_vote: true,
    });
    round_trip(RaftAppended { epoch: 4, base_offset: 10, last_offset: 12, digest: u64::MAX });
    round_trip(RaftTruncated { offset: 5, high_watermark: 4 });
    round_trip(RaftHighWatermark {
        high_watermark: 11,
        epoch: 4,
        is_leader: true,
        epoch_start_offset: 10,
        voter_end_offsets: lists::format_id_offsets(&[(1, 13), (2, 11), (3, -1)]),
    });
}

#[test]
fn every_replication_event_reads_back_as_emitted() {
    let t = || "orders".to_string();
    round_trip(MakeLeader { topic: t(), partition: 0, leader_epoch: 2, leader_id: 1, isr: "1,2".into() });
    round_trip(MakeFollower { topic: t(), partition: 0, leader_epoch: 2, leader_id: -1 });
    round_trip(BatchReplicated {
        topic: t(),
        partition: 1,
        base_offset: 0,
        last_offset: 4,
        leader_epoch: 0,
        crc: u64::from(u32::MAX),
        role: ROLE_FOLLOWER.into(),
    });
    round_trip(ReplicaTruncated {
        topic: t(),
        partition: 1,
        offset: 3,
        high_watermark: 3,
        reason: "diverging_epoch".into(),
    });
    round_trip(HighWatermarkAdvanced {
        topic: t(),
        partition: 0,
        leader_epoch: 2,
        high_watermark: 5,
        leader_log_end_offset: 7,
        isr: "1,2".into(),
        isr_log_end_offsets: "1:7,2:5".into(),
        min_insync_replicas: 2,
        replication_factor: 3,
    });
    round_trip(FollowerHighWatermark { topic: t(), partition: 0, high_watermark: 5, log_end_offset: 6 });
    round_trip(ProduceAcked {
        topic: t(),
        partition: 0,
        base_offset: 5,
        last_offset: 6,
        acks: -1,
        high_watermark: 7,
        maximal_isr: "1,2".into(),
        min_insync_replicas: 2,
        replication_factor: 3,
    });
    round_trip(FetchServed {
        topic: t(),
        partition: 0,
        replica_id: -1,
        fetch_offset: 0,
        high_watermark: 7,
        last_offset_returned: -1,
        error_code: 0,
    });
    round_trip(IsrChanged {
        topic: t(),
        partition: 0,
        leader_epoch: 2,
        partition_epoch: 5,
        leader_id: 1,
        isr: "1".into(),
    });
    round_trip(UncleanLeaderElected { topic: t(), partition: 0, leader_epoch: 3, leader_id: 3 });
}

#[test]
fn list_fields_parse_through_their_helpers() {
    let hw = HighWatermarkAdvanced {
        topic: "t".into(),
        partition: 0,
        leader_epoch: 0,
        high_watermark: 0,
        leader_log_end_offset: 0,
        isr: "1,3".into(),
        isr_log_end_offsets: "1:4,3:-1".into(),
        min_insync_replicas: 1,
        replication_factor: 3,
    };
    assert_eq!(hw.parse_isr(), Ok(vec![1, 3]));
    assert_eq!(hw.parse_isr_log_end_offsets(), Ok(vec![(1, 4), (3, -1)]));
    assert_eq!(effective_min_isr(hw.min_insync_replicas, hw.replication_factor), 1);
    assert_eq!(effective_min_isr(3, 2), 2, "capped by the replica count, as Kafka does");
    let transition = RaftTransition {
        from_state: "Candidate".into(),
        to_state: "Leader".into(),
        epoch: 1,
        leader_id: 1,
        voted_id: 1,
    };
    assert_eq!((transition.from(), transition.to()), (Some(RaftState::Candidate), Some(RaftState::Leader)));
}

#[test]
fn a_missing_field_is_an_error_naming_it() {
    let mut captured = emit_and_capture(&AuditDone { topic: "t".into(), partition: 1, end_offset: 0 });
    captured.fields.remove("end_offset");
    let error = AuditDone::decode(&captured).unwrap_err();
    assert_eq!(error.to_string(), "event `audit_done`: field `end_offset` is missing");
}

#[test]
fn a_field_of_the_wrong_type_is_an_error() {
    let mut captured = emit_and_capture(&LogTruncated { dir: "/d".into(), log_end_offset: 1, fully: false });
    captured.fields.insert("fully".into(), Owned::I64(1));
    assert_eq!(LogTruncated::decode(&captured).unwrap_err().problem, "has the wrong type");
    captured.fields.insert("fully".into(), Owned::Bool(true));
    captured.fields.insert("log_end_offset".into(), Owned::U64(u64::MAX));
    assert!(LogTruncated::decode(&captured).is_err(), "u64::MAX is not an i64 offset");
}
