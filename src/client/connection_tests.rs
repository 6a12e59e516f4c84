//! Framing and ordering of one connection over an in-memory duplex pipe. The peer here is a
//! tiny script (read frames, write frames), not a broker.

use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsResponse, MetadataRequest, MetadataResponse, ProduceRequest, RequestHeader, ResponseHeader,
};
use kafka_protocol::protocol::{decode_request_header_from_buffer, Encodable, StrBytes};
use tokio::io::{AsyncWriteExt, DuplexStream};

use super::*;

fn config(max_in_flight: usize) -> ConnectionConfig {
    ConnectionConfig { max_in_flight, request_timeout: Duration::from_secs(5), ..ConnectionConfig::default() }
}

fn pair(config: ConnectionConfig) -> (Arc<Connection>, DuplexStream) {
    let (client, peer) = tokio::io::duplex(1 << 20);
    (Arc::new(Connection::from_stream(client, "peer".into(), config)), peer)
}

async fn read_request(peer: &mut DuplexStream) -> RequestHeader {
    let frame = framing::read_frame(peer, 1 << 20).await.unwrap().expect("a request frame");
    let mut frame = frame;
    decode_request_header_from_buffer(&mut frame).unwrap()
}

async fn write_response<E: Encodable>(peer: &mut DuplexStream, request: &RequestHeader, body: &E, version: i16) {
    let api_key = ApiKey::try_from(request.request_api_key).unwrap();
    let mut buf = BytesMut::new();
    buf.put_i32(0);
    let header = ResponseHeader::default().with_correlation_id(request.correlation_id);
    header.encode(&mut buf, api_key.response_header_version(version)).unwrap();
    body.encode(&mut buf, version).unwrap();
    let size = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&size.to_be_bytes());
    peer.write_all(&buf).await.unwrap();
    peer.flush().await.unwrap();
}

fn tagged(id: i32) -> MetadataResponse {
    MetadataResponse::default().with_cluster_id(Some(StrBytes::from_string(format!("answer-{id}"))))
}

fn spawn_metadata(connection: &Arc<Connection>) -> tokio::task::JoinHandle<Result<MetadataResponse>> {
    let connection = connection.clone();
    tokio::spawn(async move { connection.send(&MetadataRequest::default(), 9).await })
}

#[tokio::test]
async fn pipelined_requests_get_their_own_responses_in_order() {
    let (connection, mut peer) = pair(config(3));
    let calls: Vec<_> = (0..3).map(|_| spawn_metadata(&connection)).collect();
    // All three are on the wire before any response: that is pipelining.
    let mut headers = Vec::new();
    for _ in 0..3 {
        headers.push(read_request(&mut peer).await);
    }
    let ids: Vec<i32> = headers.iter().map(|h| h.correlation_id).collect();
    assert_eq!(ids, vec![0, 1, 2]);
    assert!(headers.iter().all(|h| h.client_id.as_deref() == Some("seedlog-client")));
    for header in &headers {
        write_response(&mut peer, header, &tagged(header.correlation_id), 9).await;
    }
    let mut answers = Vec::new();
    for call in calls {
        answers.push(call.await.unwrap().unwrap().cluster_id.unwrap().to_string());
    }
    answers.sort(); // the tasks raced for ids; each must get the answer to its own id
    assert_eq!(answers, vec!["answer-0", "answer-1", "answer-2"]);
}

#[tokio::test]
async fn in_flight_requests_are_bounded() {
    let (connection, mut peer) = pair(config(2));
    let calls: Vec<_> = (0..3).map(|_| spawn_metadata(&connection)).collect();
    let first = read_request(&mut peer).await;
    let second = read_request(&mut peer).await;
    let third = tokio::time::timeout(Duration::from_millis(100), read_request(&mut peer)).await;
    assert!(third.is_err(), "a third request went out with two in flight");
    write_response(&mut peer, &first, &tagged(first.correlation_id), 9).await;
    let third = read_request(&mut peer).await;
    write_response(&mut peer, &second, &tagged(second.correlation_id), 9).await;
    write_response(&mut peer, &third, &tagged(third.correlation_id), 9).await;
    for call in calls {
        call.await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn a_response_out_of_order_breaks_the_connection() {
    let (connection, mut peer) = pair(config(5));
    let calls: Vec<_> = (0..2).map(|_| spawn_metadata(&connection)).collect();
    let first = read_request(&mut peer).await;
    let second = read_request(&mut peer).await;
    write_response(&mut peer, &second, &tagged(1), 9).await; // answers the second first
    for call in calls {
        let error = call.await.unwrap().unwrap_err();
        assert!(matches!(error, ClientError::Protocol(_)), "{error}");
    }
    assert!(connection.is_closed());
    let later = connection.send(&MetadataRequest::default(), 9).await.unwrap_err();
    assert!(matches!(later, ClientError::Protocol(_)));
    drop(first);
}

#[tokio::test]
async fn an_oversized_response_frame_is_refused() {
    let config = ConnectionConfig { max_response_bytes: 64, ..config(5) };
    let (connection, mut peer) = pair(config);
    let call = spawn_metadata(&connection);
    let header = read_request(&mut peer).await;
    let big = MetadataResponse::default().with_cluster_id(Some(StrBytes::from_string("x".repeat(100))));
    write_response(&mut peer, &header, &big, 9).await;
    let error = call.await.unwrap().unwrap_err();
    assert!(matches!(error, ClientError::Protocol(ref what) if what.contains("outside")), "{error}");
}

#[tokio::test]
async fn a_request_without_an_answer_times_out_and_closes_the_connection() {
    let config = ConnectionConfig { request_timeout: Duration::from_millis(50), ..config(5) };
    let (connection, mut peer) = pair(config);
    let call = spawn_metadata(&connection);
    let _ = read_request(&mut peer).await;
    let error = call.await.unwrap().unwrap_err();
    assert!(matches!(error, ClientError::Timeout(_)), "{error}");
    assert!(connection.is_closed());
}

#[tokio::test]
async fn the_peer_closing_fails_requests_in_flight() {
    let (connection, mut peer) = pair(config(5));
    let call = spawn_metadata(&connection);
    let _ = read_request(&mut peer).await;
    drop(peer);
    let error = call.await.unwrap().unwrap_err();
    assert!(matches!(error, ClientError::Connection(_)), "{error}");
}

#[tokio::test]
async fn requests_without_a_response_keep_the_queue_aligned() {
    let (connection, mut peer) = pair(config(5));
    let produce = ProduceRequest::default().with_acks(0);
    connection.send_without_response(&produce, 9).await.unwrap();
    let call = spawn_metadata(&connection);
    let produce_header = read_request(&mut peer).await;
    assert_eq!(produce_header.request_api_key, ApiKey::Produce as i16);
    let metadata_header = read_request(&mut peer).await;
    write_response(&mut peer, &metadata_header, &tagged(metadata_header.correlation_id), 9).await;
    assert_eq!(call.await.unwrap().unwrap().cluster_id.unwrap().to_string(), "answer-1");
}

fn api(key: ApiKey, min: i16, max: i16) -> ApiVersion {
    ApiVersion::default().with_api_key(key as i16).with_min_version(min).with_max_version(max)
}

#[tokio::test]
async fn negotiation_learns_the_brokers_ranges() {
    let (connection, mut peer) = pair(config(5));
    let client = connection.clone();
    let negotiation = tokio::spawn(async move { client.negotiate_versions().await });
    let header = read_request(&mut peer).await;
    assert_eq!((header.request_api_key, header.request_api_version), (ApiKey::ApiVersions as i16, 3));
    let response = ApiVersionsResponse::default().with_api_keys(vec![
        api(ApiKey::ApiVersions, 0, 3),
        api(ApiKey::Produce, 3, 9),
        api(ApiKey::Metadata, 0, 12),
    ]);
    write_response(&mut peer, &header, &response, 3).await;
    negotiation.await.unwrap().unwrap();
    assert_eq!(connection.version(ApiKey::Produce).unwrap(), 9);
    assert_eq!(connection.version(ApiKey::Metadata).unwrap(), 12);
    assert!(matches!(connection.version(ApiKey::Fetch), Err(ClientError::UnsupportedApi(_))));
}

#[tokio::test]
async fn negotiation_falls_back_when_the_broker_knows_an_older_api_versions() {
    let (connection, mut peer) = pair(config(5));
    let client = connection.clone();
    let negotiation = tokio::spawn(async move { client.negotiate_versions().await });
    let header = read_request(&mut peer).await;
    // Kafka answers an unknown ApiVersions version with a v0 body and UNSUPPORTED_VERSION.
    let refusal =
        ApiVersionsResponse::default().with_error_code(35).with_api_keys(vec![api(ApiKey::ApiVersions, 0, 2)]);
    write_response(&mut peer, &header, &refusal, 0).await;
    let retry = read_request(&mut peer).await;
    assert_eq!(retry.request_api_version, 2);
    let response =
        ApiVersionsResponse::default().with_api_keys(vec![api(ApiKey::ApiVersions, 0, 2), api(ApiKey::Fetch, 4, 11)]);
    write_response(&mut peer, &retry, &response, 2).await;
    negotiation.await.unwrap().unwrap();
    assert_eq!(connection.version(ApiKey::Fetch).unwrap(), 11);
}

#[test]
fn connections_can_be_shared_across_tasks() {
    fn check<T: Send + Sync>() {}
    check::<Connection>();
    let _ = Bytes::new();
}
