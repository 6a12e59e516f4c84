//! A connection served over an in-memory pipe, with a `MemDisk` whose every operation takes
//! 1 ms: pipelined acks=all produces are appended while the first waits to be durable, and
//! answers leave in request order.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    ApiKey, MetadataRequest, MetadataResponse, ProduceRequest, ProduceResponse, ResponseHeader, TopicName,
};
use kafka_protocol::protocol::{Decodable, HeaderVersion, StrBytes};
use tokio::io::{AsyncWriteExt, DuplexStream};

use super::{serve, PIPELINED_PRODUCES};
use crate::broker::config::BrokerConfig;
use crate::broker::context::BrokerContext;
use crate::broker::node::{Node, NodeEnv};
use crate::broker::topics::NewTopic;
use crate::protocol::{encode_request, FrameReader};
use crate::runtime::{seeded, Clock, MemDisk, MemDiskFaults};
use crate::storage::record_batch::build::{batch, ProducerFields, Record};

const PRODUCE_VERSION: i16 = 8;
const METADATA_VERSION: i16 = 8;

/// A broker on a slow in-memory disk with topic `t` of one partition, and a client end of
/// a connection it serves.
async fn broker_and_connection() -> (Arc<BrokerContext>, Arc<MemDisk>, DuplexStream) {
    let millisecond = Duration::from_millis(1);
    let faults = MemDiskFaults { latency: Some((millisecond, millisecond)), ..MemDiskFaults::none() };
    let disk = Arc::new(MemDisk::with_faults(1, faults));
    let config = BrokerConfig::from_properties("listeners=PLAINTEXT://127.0.0.1:0\nlog.dirs=/data", &[]).unwrap();
    let env = NodeEnv {
        config,
        disk: disk.clone(),
        clock: Clock::system(),
        rng: seeded(1),
        fault_points: Default::default(),
    };
    let ctx = Node::build(env).await.unwrap().context();
    let topic = NewTopic { name: "t".into(), partitions: 1, replication_factor: 1, configs: Vec::new() };
    ctx.topics.create(topic).await.unwrap();
    let (client, server) = tokio::io::duplex(1 << 20);
    crate::runtime::spawn(serve(ctx.clone(), server, "test".into()));
    (ctx, disk, client)
}

fn produce(acks: i16, value: &[u8]) -> ProduceRequest {
    let records = batch(&[Record { timestamp_ms: 0, key: None, value: Some(value) }], ProducerFields::NONE);
    let partition = PartitionProduceData::default().with_index(0).with_records(Some(records));
    let topic = TopicProduceData::default()
        .with_name(TopicName(StrBytes::from_static_str("t")))
        .with_partition_data(vec![partition]);
    ProduceRequest::default().with_acks(acks).with_timeout_ms(30_000).with_topic_data(vec![topic])
}

fn produce_frame(correlation_id: i32, acks: i16) -> Bytes {
    encode_request(ApiKey::Produce, PRODUCE_VERSION, correlation_id, Some("test"), &produce(acks, b"v")).unwrap()
}

fn metadata_frame(correlation_id: i32) -> Bytes {
    let request = MetadataRequest::default().with_topics(None);
    encode_request(ApiKey::Metadata, METADATA_VERSION, correlation_id, Some("test"), &request).unwrap()
}

/// Reads one response: its correlation id and body.
async fn read_response(frames: &mut FrameReader, client: &mut DuplexStream) -> (i32, Bytes) {
    let mut frame = frames.read_frame(client).await.unwrap().expect("a response");
    let header = ResponseHeader::decode(&mut frame, 0).unwrap();
    (header.correlation_id, frame)
}

/// (error code, base offset) of the one partition answered.
fn produced(mut body: Bytes) -> (i16, i64) {
    let response = ProduceResponse::decode(&mut body, PRODUCE_VERSION).unwrap();
    let partition = &response.responses[0].partition_responses[0];
    (partition.error_code, partition.base_offset)
}

#[tokio::test]
async fn pipelined_acks_all_produces_are_appended_while_the_first_waits() {
    assert_eq!(ProduceResponse::header_version(PRODUCE_VERSION), 0);
    let (ctx, disk, mut client) = broker_and_connection().await;
    let syncs_before = disk.file_syncs();
    let count = 5;
    const { assert!(PIPELINED_PRODUCES >= 5) };
    // All requests are in the pipe before the broker's task first runs (one thread).
    for correlation_id in 0..count {
        client.write_all(&produce_frame(correlation_id, -1)).await.unwrap();
    }
    client.flush().await.unwrap();
    let mut frames = FrameReader::new(1 << 20);
    let (first, body) = read_response(&mut frames, &mut client).await;
    assert_eq!((first, produced(body)), (0, (0, 0)));
    // Served one at a time, the second request would not even be read before the first
    // answer left, so each would wait out an fsync of its own.
    let partition = ctx.topics.get("t").await.unwrap().partitions[&0].clone();
    assert_eq!(partition.log().await.log_end_offset(), i64::from(count), "all appended before the first answer");
    for correlation_id in 1..count {
        let (answered, body) = read_response(&mut frames, &mut client).await;
        assert_eq!(answered, correlation_id, "answers leave in request order");
        assert_eq!(produced(body), (0, i64::from(correlation_id)));
    }
    assert!(partition.high_watermark() >= i64::from(count), "every answered record is durable");
    assert!(disk.file_syncs() > syncs_before);
}

#[tokio::test]
async fn a_request_behind_waiting_produces_is_answered_after_them() {
    let (_ctx, _disk, mut client) = broker_and_connection().await;
    client.write_all(&produce_frame(1, -1)).await.unwrap();
    client.write_all(&produce_frame(2, 1)).await.unwrap();
    client.write_all(&metadata_frame(3)).await.unwrap();
    client.write_all(&produce_frame(4, 0)).await.unwrap();
    client.write_all(&produce_frame(5, -1)).await.unwrap();
    client.flush().await.unwrap();
    let mut frames = FrameReader::new(1 << 20);
    let (first, body) = read_response(&mut frames, &mut client).await;
    assert_eq!((first, produced(body)), (1, (0, 0)));
    let (second, body) = read_response(&mut frames, &mut client).await;
    assert_eq!((second, produced(body)), (2, (0, 1)));
    let (third, mut body) = read_response(&mut frames, &mut client).await;
    assert_eq!(third, 3);
    let metadata = MetadataResponse::decode(&mut body, METADATA_VERSION).unwrap();
    assert_eq!(metadata.topics.len(), 1);
    // Correlation id 4 was acks=0: no answer at all, but its record was appended.
    let (fifth, body) = read_response(&mut frames, &mut client).await;
    assert_eq!((fifth, produced(body)), (5, (0, 3)));
}

#[tokio::test]
async fn waiting_answers_are_sent_when_the_client_stops_sending() {
    let (_ctx, _disk, mut client) = broker_and_connection().await;
    for correlation_id in 0..3 {
        client.write_all(&produce_frame(correlation_id, -1)).await.unwrap();
    }
    client.shutdown().await.unwrap();
    let mut frames = FrameReader::new(1 << 20);
    for correlation_id in 0..3 {
        let (answered, body) = read_response(&mut frames, &mut client).await;
        assert_eq!((answered, produced(body)), (correlation_id, (0, i64::from(correlation_id))));
    }
    assert!(frames.read_frame(&mut client).await.unwrap().is_none(), "then the broker closes");
}
