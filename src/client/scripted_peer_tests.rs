//! A scripted Kafka peer for the client's leader-change tests: two or three listeners on
//! 127.0.0.1 (brokers 1, 2, 3) over one replicated state, speaking ApiVersions, Metadata,
//! InitProducerId, Produce, Fetch and ListOffsets with seedlog's own request decoders and
//! kafka-protocol's response types.
//!
//! The state is what a replicated cluster agrees on: per partition a leader and leader
//! epoch, one log (the replicas' common log), and the idempotent producers' state (last
//! epoch and the last five batches' sequences), so a new leader deduplicates a batch the
//! old one appended. Unscripted, a broker answers as Kafka would: NOT_LEADER_OR_FOLLOWER
//! when it is not the partition's leader, FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH for a
//! fetch with an older / newer `current_leader_epoch`, OUT_OF_ORDER_SEQUENCE_NUMBER for a
//! sequence gap, the original offsets for a duplicate batch.
//!
//! A test script changes that per request: a [`Step`] matches the next request of an API
//! (at one broker or any) and may move leaders before or after handling it, fail it with an
//! error code, hold it, drop the connection before handling it or after (the answer is
//! lost), or answer a Metadata request from a stale view. Every request is recorded.
//!
//! A test fixture, kept small: one batch per partition in a produce, no compaction, no
//! transactions, no high watermark apart from the log end.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::list_offsets_response::{ListOffsetsPartitionResponse, ListOffsetsTopicResponse};
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{
    ApiKey, BrokerId, FetchRequest, FetchResponse, InitProducerIdResponse, ListOffsetsRequest, ListOffsetsResponse,
    MetadataRequest, MetadataResponse, ProduceRequest, ProduceResponse, ProducerId,
};
use kafka_protocol::protocol::StrBytes;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use super::error::code;
use super::idempotence::{increment_sequence, ProducerIdentity};
use super::metadata::topic_name;
use super::records::{decode_fetched, encode_batch, FetchedRecord, OutgoingRecord};
use crate::protocol::{api_versions_response, decode_request_frame, encode_response_to, FrameReader, Request};
use crate::storage::record_batch::{read_header, set_base_offset, BatchHeader};

/// What a scripted step does with the request it matches.
#[derive(Debug, Clone)]
pub(super) enum Action {
    /// Answer as the state says.
    Answer,
    /// Answer every partition of the request with this error code; change nothing.
    Fail(i16),
    /// Wait this long, then answer as the state says (then, not before).
    Hold(Duration),
    /// Close the connection without handling the request.
    Drop,
    /// Handle the request (a produce appends), then close the connection: the answer is lost.
    DropAfterHandling,
    /// Answer a Metadata request with these `(topic, partition) -> (leader, leader_epoch)`
    /// instead of the current ones: a broker that has not heard of the latest elections.
    StaleMetadata(Vec<StaleLeader>),
}

/// `((topic, partition), (leader, leader_epoch))` as a stale broker believes it.
pub(super) type StaleLeader = ((String, i32), (i32, i32));

/// Moves the leadership of a partition (`to` -1: no leader), bumping its leader epoch.
#[derive(Debug, Clone)]
pub(super) struct MoveLeader {
    pub topic: String,
    pub partition: i32,
    pub to: i32,
}

/// One scripted reaction to the next request of `api` (at `broker`, or any broker).
#[derive(Debug, Clone)]
pub(super) struct Step {
    pub api: ApiKey,
    pub broker: Option<i32>,
    pub before: Vec<MoveLeader>,
    pub action: Action,
    pub after: Vec<MoveLeader>,
    /// How many requests it applies to (then it is used up).
    pub times: usize,
}

impl Step {
    pub fn on(api: ApiKey, action: Action) -> Step {
        Step { api, broker: None, before: vec![], action, after: vec![], times: 1 }
    }

    pub fn at(mut self, broker: i32) -> Step {
        self.broker = Some(broker);
        self
    }

    pub fn moving_first(mut self, topic: &str, partition: i32, to: i32) -> Step {
        self.before.push(MoveLeader { topic: topic.to_owned(), partition, to });
        self
    }

    pub fn moving_after(mut self, topic: &str, partition: i32, to: i32) -> Step {
        self.after.push(MoveLeader { topic: topic.to_owned(), partition, to });
        self
    }

    pub fn times(mut self, times: usize) -> Step {
        self.times = times;
        self
    }
}

/// A request as the peer saw it.
#[derive(Debug, Clone)]
pub(super) struct Seen {
    pub broker: i32,
    pub request: Request,
}

impl Seen {
    pub fn api(&self) -> ApiKey {
        self.request.api_key()
    }

    /// A produce's batches: (topic, partition, header).
    pub fn produced(&self) -> Vec<(String, i32, BatchHeader)> {
        let Request::Produce(produce) = &self.request else { return vec![] };
        let mut out = Vec::new();
        for topic in &produce.topic_data {
            for p in &topic.partition_data {
                let header = read_header(p.records.as_deref().unwrap_or_default());
                out.push((topic.name.0.to_string(), p.index, header));
            }
        }
        out
    }

    /// A fetch's partitions: (topic, partition, fetch_offset, current_leader_epoch).
    pub fn fetched(&self) -> Vec<(String, i32, i64, i32)> {
        let Request::Fetch(fetch) = &self.request else { return vec![] };
        let mut out = Vec::new();
        for topic in &fetch.topics {
            for p in &topic.partitions {
                out.push((topic.topic.0.to_string(), p.partition, p.fetch_offset, p.current_leader_epoch));
            }
        }
        out
    }
}

#[derive(Debug, Default)]
struct ProducerEntry {
    epoch: i16,
    /// (first_seq, last_seq, base_offset) of the latest batches, oldest first, at most 5.
    batches: VecDeque<(i32, i32, i64)>,
}

#[derive(Debug)]
pub(super) struct Partition {
    pub leader: i32,
    pub leader_epoch: i32,
    /// Batches with their base offsets set, in offset order.
    log: Vec<Bytes>,
    pub log_end_offset: i64,
    producers: BTreeMap<i64, ProducerEntry>,
}

#[derive(Debug, Default)]
struct State {
    brokers: Vec<(i32, u16)>,
    topics: BTreeMap<String, Vec<Partition>>,
    next_producer_id: i64,
    script: Vec<Step>,
    seen: Vec<Seen>,
}

/// The running peer: listeners and the shared state.
pub(super) struct ScriptedCluster {
    addresses: Vec<(i32, SocketAddr)>,
    state: Arc<Mutex<State>>,
    listeners: Vec<JoinHandle<()>>,
}

impl Drop for ScriptedCluster {
    fn drop(&mut self) {
        self.listeners.iter().for_each(JoinHandle::abort);
    }
}

impl ScriptedCluster {
    /// Starts `brokers` listeners, brokers 1..=brokers.
    pub async fn start(brokers: i32) -> ScriptedCluster {
        let state = Arc::new(Mutex::new(State { next_producer_id: 1000, ..State::default() }));
        let mut addresses = Vec::new();
        let mut listeners = Vec::new();
        for broker in 1..=brokers {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let address = listener.local_addr().expect("address");
            addresses.push((broker, address));
            state.lock().unwrap().brokers.push((broker, address.port()));
            let state = state.clone();
            listeners.push(tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    tokio::spawn(serve(broker, stream, state.clone()));
                }
            }));
        }
        ScriptedCluster { addresses, state, listeners }
    }

    pub fn address(&self, broker: i32) -> String {
        self.addresses.iter().find(|(id, _)| *id == broker).map(|(_, a)| a.to_string()).expect("known broker")
    }

    /// Every broker's address, comma-separated.
    pub fn bootstrap(&self) -> String {
        self.addresses.iter().map(|(_, a)| a.to_string()).collect::<Vec<_>>().join(",")
    }

    /// Creates `topic` with `partitions` partitions led by `leader` at leader epoch 1.
    pub fn create_topic(&self, topic: &str, partitions: i32, leader: i32) {
        let partitions = (0..partitions)
            .map(|_| Partition { leader, leader_epoch: 1, log: vec![], log_end_offset: 0, producers: BTreeMap::new() })
            .collect();
        self.state.lock().unwrap().topics.insert(topic.to_owned(), partitions);
    }

    /// Moves a partition's leadership (-1: none); returns the new leader epoch.
    pub fn move_leader(&self, topic: &str, partition: i32, to: i32) -> i32 {
        let mut state = self.state.lock().unwrap();
        apply_move(&mut state, &MoveLeader { topic: topic.to_owned(), partition, to })
    }

    /// Appends records without a producer id (another client's), as the leader would.
    pub fn append(&self, topic: &str, partition: i32, values: &[&str]) {
        let records: Vec<OutgoingRecord> = values
            .iter()
            .map(|v| OutgoingRecord {
                key: None,
                value: Some(Bytes::from(v.to_string())),
                headers: vec![],
                timestamp_ms: 1,
            })
            .collect();
        let batch = encode_batch(&records, ProducerIdentity::NONE, -1, kafka_protocol::records::Compression::None);
        let mut state = self.state.lock().unwrap();
        let p = partition_mut(&mut state, topic, partition).expect("known partition");
        append_batch(p, &batch.expect("encodes"));
    }

    /// Cuts a partition's log back to `offset` (a new leader that lacked the tail).
    pub fn truncate(&self, topic: &str, partition: i32, offset: i64) {
        let mut state = self.state.lock().unwrap();
        let p = partition_mut(&mut state, topic, partition).expect("known partition");
        p.log.retain(|batch| read_header(batch).last_offset() < offset);
        p.log_end_offset = p.log.last().map_or(0, |b| read_header(b).last_offset() + 1);
        assert_eq!(p.log_end_offset, offset, "truncation at a batch boundary");
    }

    pub fn then(&self, step: Step) {
        self.state.lock().unwrap().script.push(step);
    }

    /// Steps not yet used up.
    pub fn script_left(&self) -> usize {
        self.state.lock().unwrap().script.len()
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    pub fn seen_of(&self, api: ApiKey) -> Vec<Seen> {
        self.seen().into_iter().filter(|s| s.api() == api).collect()
    }

    /// The partition's records in offset order.
    pub fn log(&self, topic: &str, partition: i32) -> Vec<FetchedRecord> {
        let mut state = self.state.lock().unwrap();
        let p = partition_mut(&mut state, topic, partition).expect("known partition");
        let mut all = BytesMut::new();
        p.log.iter().for_each(|b| all.extend_from_slice(b));
        decode_fetched(all.freeze(), 0, false, &[]).expect("the log decodes").records
    }

    /// The partition's values in offset order.
    pub fn values(&self, topic: &str, partition: i32) -> Vec<String> {
        let values = self.log(topic, partition).into_iter().map(|r| r.value.unwrap_or_default());
        values.map(|v| String::from_utf8_lossy(&v).into_owned()).collect()
    }
}

fn partition_mut<'a>(state: &'a mut State, topic: &str, partition: i32) -> Option<&'a mut Partition> {
    state.topics.get_mut(topic)?.get_mut(usize::try_from(partition).ok()?)
}

fn apply_move(state: &mut State, change: &MoveLeader) -> i32 {
    let p = partition_mut(state, &change.topic, change.partition).expect("known partition");
    p.leader = change.to;
    p.leader_epoch += 1;
    p.leader_epoch
}

fn append_batch(p: &mut Partition, batch: &[u8]) -> i64 {
    let mut stored = BytesMut::from(batch);
    set_base_offset(&mut stored, p.log_end_offset);
    let base_offset = p.log_end_offset;
    p.log_end_offset += read_header(&stored).offset_count();
    p.log.push(stored.freeze());
    base_offset
}

/// One connection: requests in order, each answered (or not) as the script says.
async fn serve(broker: i32, stream: TcpStream, state: Arc<Mutex<State>>) {
    let (mut reader, mut writer) = tokio::io::split(stream);
    let mut frames = FrameReader::new(1 << 24);
    while let Ok(Some(frame)) = frames.read_frame(&mut reader).await {
        let Ok((header, request)) = decode_request_frame(frame) else { return };
        let step = {
            let mut state = state.lock().unwrap();
            state.seen.push(Seen { broker, request: request.clone() });
            take_step(&mut state, broker, request.api_key())
        };
        let step = step.unwrap_or_else(|| Step::on(request.api_key(), Action::Answer));
        state.lock().unwrap().apply(&step.before);
        match &step.action {
            Action::Drop => return,
            Action::Hold(wait) => tokio::time::sleep(*wait).await,
            _ => {}
        }
        if let Request::Fetch(fetch) = &request {
            let empty = state.lock().unwrap().fetch(broker, fetch).responses.iter().all(|t| {
                t.partitions
                    .iter()
                    .all(|p| p.error_code == code::NONE && p.records.as_ref().is_none_or(Bytes::is_empty))
            });
            if empty {
                // Long polling, without waking on new data: enough for a test.
                tokio::time::sleep(Duration::from_millis(fetch.max_wait_ms.clamp(0, 200) as u64)).await;
            }
        }
        let answer = state.lock().unwrap().answer(broker, &request, &step.action, &header);
        state.lock().unwrap().apply(&step.after);
        if matches!(step.action, Action::DropAfterHandling) {
            return;
        }
        match answer {
            Reply::Send(answer) => {
                if writer.write_all(&answer).await.is_err() || writer.flush().await.is_err() {
                    return;
                }
            }
            Reply::Silent => {}
            Reply::Close => return,
        }
    }
}

/// What a broker does after handling a request.
enum Reply {
    Send(Bytes),
    /// acks=0: no answer.
    Silent,
    /// acks=0 and a partition failed: Kafka closes the connection, so the client refreshes
    /// its metadata.
    Close,
}

fn take_step(state: &mut State, broker: i32, api: ApiKey) -> Option<Step> {
    let index = state.script.iter().position(|s| s.api == api && s.broker.is_none_or(|b| b == broker))?;
    let step = &mut state.script[index];
    step.times -= 1;
    let taken = step.clone();
    if step.times == 0 {
        state.script.remove(index);
    }
    Some(taken)
}

impl State {
    fn apply(&mut self, moves: &[MoveLeader]) {
        for change in moves {
            apply_move(self, change);
        }
    }

    /// The encoded answer to a request.
    fn answer(
        &mut self,
        broker: i32,
        request: &Request,
        action: &Action,
        header: &crate::protocol::RequestHeader,
    ) -> Reply {
        let fail = match action {
            Action::Fail(code) => Some(*code),
            _ => None,
        };
        let encoded = match request {
            Request::ApiVersions(_) => encode_response_to(header, &api_versions_response()),
            Request::Metadata(metadata) => {
                let stale = match action {
                    Action::StaleMetadata(view) => view.clone(),
                    _ => vec![],
                };
                encode_response_to(header, &self.metadata(metadata, &stale))
            }
            Request::InitProducerId(_) => {
                let producer_id = self.next_producer_id;
                self.next_producer_id += 1;
                let response = InitProducerIdResponse::default()
                    .with_error_code(fail.unwrap_or(code::NONE))
                    .with_producer_id(ProducerId(producer_id))
                    .with_producer_epoch(0);
                encode_response_to(header, &response)
            }
            Request::Produce(produce) => {
                let response = self.produce(broker, produce, fail);
                if produce.acks == 0 {
                    let failed =
                        response.responses.iter().flat_map(|t| &t.partition_responses).any(|p| p.error_code != 0);
                    return if failed { Reply::Close } else { Reply::Silent };
                }
                encode_response_to(header, &response)
            }
            Request::Fetch(fetch) => {
                let mut response = self.fetch(broker, fetch);
                if let Some(code) = fail {
                    response.responses.iter_mut().flat_map(|t| &mut t.partitions).for_each(|p| {
                        p.error_code = code;
                        p.records = None;
                    });
                }
                encode_response_to(header, &response)
            }
            Request::ListOffsets(list) => encode_response_to(header, &self.list_offsets(broker, list)),
            other => panic!("the scripted peer does not serve {:?}", other.api_key()),
        };
        Reply::Send(encoded.expect("the peer's answers encode"))
    }

    fn metadata(&self, request: &MetadataRequest, stale: &[StaleLeader]) -> MetadataResponse {
        let brokers = self.brokers.iter().map(|&(id, port)| {
            MetadataResponseBroker::default()
                .with_node_id(BrokerId(id))
                .with_host(StrBytes::from_static_str("127.0.0.1"))
                .with_port(i32::from(port))
        });
        let names: Vec<String> = match &request.topics {
            Some(topics) => topics.iter().filter_map(|t| t.name.as_ref().map(|n| n.0.to_string())).collect(),
            None => self.topics.keys().cloned().collect(),
        };
        let replicas: Vec<BrokerId> = self.brokers.iter().map(|&(id, _)| BrokerId(id)).collect();
        let topics = names.into_iter().enumerate().map(|(i, name)| {
            let topic = MetadataResponseTopic::default()
                .with_name(Some(topic_name(&name)))
                .with_topic_id(uuid::Uuid::from_u128(i as u128 + 1));
            let Some(partitions) = self.topics.get(&name) else {
                return topic.with_error_code(code::UNKNOWN_TOPIC_OR_PARTITION);
            };
            let partitions = partitions.iter().enumerate().map(|(index, p)| {
                let key = (name.clone(), index as i32);
                let (leader, leader_epoch) =
                    stale.iter().find(|(k, _)| *k == key).map_or((p.leader, p.leader_epoch), |(_, view)| *view);
                let error_code = if leader < 0 { code::LEADER_NOT_AVAILABLE } else { code::NONE };
                MetadataResponsePartition::default()
                    .with_error_code(error_code)
                    .with_partition_index(index as i32)
                    .with_leader_id(BrokerId(leader))
                    .with_leader_epoch(leader_epoch)
                    .with_replica_nodes(replicas.clone())
                    .with_isr_nodes(replicas.clone())
            });
            topic.with_partitions(partitions.collect())
        });
        MetadataResponse::default()
            .with_brokers(brokers.collect())
            .with_cluster_id(Some(StrBytes::from_static_str("scripted")))
            .with_controller_id(BrokerId(1))
            .with_topics(topics.collect())
    }

    fn produce(&mut self, broker: i32, request: &ProduceRequest, fail: Option<i16>) -> ProduceResponse {
        let mut responses = Vec::new();
        for topic in &request.topic_data {
            let mut partitions = Vec::new();
            for data in &topic.partition_data {
                let batch = data.records.clone().unwrap_or_default();
                let (error_code, base_offset) = match fail {
                    Some(code) => (code, -1),
                    None => self.append(broker, topic.name.0.as_str(), data.index, &batch),
                };
                partitions.push(
                    PartitionProduceResponse::default()
                        .with_index(data.index)
                        .with_error_code(error_code)
                        .with_base_offset(base_offset)
                        .with_log_append_time_ms(-1),
                );
            }
            responses.push(
                TopicProduceResponse::default().with_name(topic.name.clone()).with_partition_responses(partitions),
            );
        }
        ProduceResponse::default().with_responses(responses)
    }

    /// A leader's append with Kafka's idempotence checks: (error code, base offset).
    fn append(&mut self, broker: i32, topic: &str, partition: i32, batch: &[u8]) -> (i16, i64) {
        let Some(p) = partition_mut(self, topic, partition) else { return (code::UNKNOWN_TOPIC_OR_PARTITION, -1) };
        if p.leader != broker {
            return (code::NOT_LEADER_OR_FOLLOWER, -1);
        }
        let header = read_header(batch);
        if header.producer_id < 0 {
            return (code::NONE, append_batch(p, batch));
        }
        let first_seq = header.base_sequence;
        let last_seq = increment_sequence(first_seq, header.last_offset_delta);
        if let Some(entry) = p.producers.get(&header.producer_id) {
            if header.producer_epoch == entry.epoch {
                if let Some(&(_, _, offset)) = entry.batches.iter().find(|b| (b.0, b.1) == (first_seq, last_seq)) {
                    return (code::NONE, offset); // a duplicate: the original offsets
                }
            }
            if header.producer_epoch < entry.epoch {
                return (code::INVALID_PRODUCER_EPOCH, -1);
            }
            let expected = match (header.producer_epoch > entry.epoch, entry.batches.back()) {
                (true, _) | (false, None) => 0,
                (false, Some(&(_, last, _))) => increment_sequence(last, 1),
            };
            if first_seq != expected {
                return (code::OUT_OF_ORDER_SEQUENCE_NUMBER, -1);
            }
        }
        let base_offset = append_batch(p, batch);
        let entry = p.producers.entry(header.producer_id).or_default();
        if entry.epoch != header.producer_epoch {
            *entry = ProducerEntry { epoch: header.producer_epoch, batches: VecDeque::new() };
        }
        entry.batches.push_back((first_seq, last_seq, base_offset));
        if entry.batches.len() > 5 {
            entry.batches.pop_front();
        }
        (code::NONE, base_offset)
    }

    /// The error a leader-only request on `broker` for a partition at `current_leader_epoch`
    /// gets, Kafka's order: the epoch check, then leadership.
    fn leader_check(&mut self, broker: i32, topic: &str, partition: i32, current_leader_epoch: i32) -> i16 {
        let Some(p) = partition_mut(self, topic, partition) else { return code::UNKNOWN_TOPIC_OR_PARTITION };
        match current_leader_epoch {
            epoch if epoch >= 0 && epoch < p.leader_epoch => code::FENCED_LEADER_EPOCH,
            epoch if epoch > p.leader_epoch => code::UNKNOWN_LEADER_EPOCH,
            _ if p.leader != broker => code::NOT_LEADER_OR_FOLLOWER,
            _ => code::NONE,
        }
    }

    fn fetch(&mut self, broker: i32, request: &FetchRequest) -> FetchResponse {
        let mut responses = Vec::new();
        for topic in &request.topics {
            let name = topic.topic.0.to_string();
            let mut partitions = Vec::new();
            for asked in &topic.partitions {
                let mut data = PartitionData::default().with_partition_index(asked.partition);
                let error_code = self.leader_check(broker, &name, asked.partition, asked.current_leader_epoch);
                if error_code != code::NONE {
                    partitions.push(data.with_error_code(error_code));
                    continue;
                }
                let p = partition_mut(self, &name, asked.partition).expect("checked");
                if !(0..=p.log_end_offset).contains(&asked.fetch_offset) {
                    partitions.push(data.with_error_code(code::OFFSET_OUT_OF_RANGE));
                    continue;
                }
                let mut records = BytesMut::new();
                for batch in p.log.iter().filter(|b| read_header(b).last_offset() >= asked.fetch_offset) {
                    records.extend_from_slice(batch);
                }
                data = data
                    .with_high_watermark(p.log_end_offset)
                    .with_last_stable_offset(p.log_end_offset)
                    .with_log_start_offset(0)
                    .with_aborted_transactions(Some(vec![]))
                    .with_preferred_read_replica(BrokerId(-1))
                    .with_records(Some(records.freeze()));
                partitions.push(data);
            }
            responses
                .push(FetchableTopicResponse::default().with_topic(topic.topic.clone()).with_partitions(partitions));
        }
        FetchResponse::default().with_responses(responses)
    }

    fn list_offsets(&mut self, broker: i32, request: &ListOffsetsRequest) -> ListOffsetsResponse {
        let mut topics = Vec::new();
        for topic in &request.topics {
            let name = topic.name.0.to_string();
            let mut partitions = Vec::new();
            for asked in &topic.partitions {
                let mut answer = ListOffsetsPartitionResponse::default().with_partition_index(asked.partition_index);
                let error_code = self.leader_check(broker, &name, asked.partition_index, asked.current_leader_epoch);
                if error_code != code::NONE {
                    partitions.push(answer.with_error_code(error_code));
                    continue;
                }
                let p = partition_mut(self, &name, asked.partition_index).expect("checked");
                let offset = match asked.timestamp {
                    -2 => 0,
                    -1 => p.log_end_offset,
                    other => panic!("the scripted peer lists only earliest and latest, not {other}"),
                };
                answer = answer.with_offset(offset).with_timestamp(-1).with_leader_epoch(p.leader_epoch);
                partitions.push(answer);
            }
            topics.push(ListOffsetsTopicResponse::default().with_name(topic.name.clone()).with_partitions(partitions));
        }
        ListOffsetsResponse::default().with_topics(topics)
    }
}
