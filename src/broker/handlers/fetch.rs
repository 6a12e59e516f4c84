//! Fetch for consumers: whole batches from each partition up to its high watermark, within
//! the response and partition byte caps, long-polling until `min_bytes` are ready or
//! `max_wait_ms` passes (KIP-74 for the caps: the first batch of the response is returned
//! even when it is larger). `read_committed` reads up to the last stable offset, which
//! equals the high watermark until transactions exist. No incremental fetch sessions:
//! every answer carries session id 0, which tells clients to keep sending full requests.

use std::time::Duration;

use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{FetchRequest, FetchResponse};
use kafka_protocol::ResponseError;

use crate::broker::context::BrokerContext;
use crate::broker::errors::log_error_code;
use crate::broker::partition::Partition;

const READ_COMMITTED: i8 = 1;

pub async fn handle(ctx: &BrokerContext, request: FetchRequest, version: i16) -> FetchResponse {
    let max_wait = Duration::from_millis(u64::try_from(request.max_wait_ms.max(0)).unwrap_or(0));
    let deadline = crate::runtime::now() + max_wait;
    let targets = resolve(ctx, &request).await;
    let partitions: Vec<&Partition> =
        targets.iter().flat_map(|t| t.1.iter().filter_map(|p| p.partition.as_deref())).collect();
    loop {
        // Registered before reading, so a move between the read and the wait is not missed.
        let mut moved: Vec<_> = partitions.iter().map(|p| Box::pin(p.high_watermark_moved())).collect();
        for m in &mut moved {
            let _ = m.as_mut().enable();
        }
        let (response, bytes, any_error) = read_all(&targets, &request, version).await;
        let now = crate::runtime::now();
        if bytes >= i64::from(request.min_bytes) || any_error || now >= deadline || moved.is_empty() {
            return response;
        }
        // Wait for any partition's high watermark to move, or the deadline.
        if tokio::time::timeout(deadline.saturating_duration_since(now), select_first(moved)).await.is_err() {
            return read_all(&targets, &request, version).await.0;
        }
    }
}

/// The first of several futures to finish (a tiny `select_all`).
async fn select_first<F: std::future::Future + Unpin>(mut futures: Vec<F>) -> F::Output {
    std::future::poll_fn(|cx| {
        for future in futures.iter_mut() {
            if let std::task::Poll::Ready(out) = std::pin::Pin::new(future).poll(cx) {
                return std::task::Poll::Ready(out);
            }
        }
        std::task::Poll::Pending
    })
    .await
}

struct Target {
    index: i32,
    fetch_offset: i64,
    partition_max_bytes: i32,
    partition: Option<std::sync::Arc<Partition>>,
}

async fn resolve(
    ctx: &BrokerContext,
    request: &FetchRequest,
) -> Vec<(kafka_protocol::messages::TopicName, Vec<Target>)> {
    let mut out = Vec::new();
    for topic in &request.topics {
        let found = ctx.topics.get(topic.topic.as_str()).await;
        let partitions = topic
            .partitions
            .iter()
            .map(|p| Target {
                index: p.partition,
                fetch_offset: p.fetch_offset,
                partition_max_bytes: p.partition_max_bytes,
                partition: found
                    .as_ref()
                    .and_then(|t| usize::try_from(p.partition).ok().and_then(|i| t.partitions.get(i).cloned())),
            })
            .collect();
        out.push((topic.topic.clone(), partitions));
    }
    out
}

/// One pass over every partition; returns the response, the bytes in it and whether any
/// partition answered with an error (errors are returned at once, like Kafka).
async fn read_all(
    targets: &[(kafka_protocol::messages::TopicName, Vec<Target>)],
    request: &FetchRequest,
    version: i16,
) -> (FetchResponse, i64, bool) {
    let mut response = FetchResponse::default();
    let mut remaining = i64::from(request.max_bytes.max(0));
    let mut total = 0i64;
    let mut any_error = false;
    for (name, partitions) in targets {
        let mut topic = FetchableTopicResponse::default();
        topic.topic = name.clone();
        for target in partitions {
            let mut data = PartitionData::default();
            data.partition_index = target.index;
            data.aborted_transactions = (request.isolation_level == READ_COMMITTED).then(Vec::new);
            match &target.partition {
                None => {
                    data.error_code = ResponseError::UnknownTopicOrPartition.code();
                    data.high_watermark = -1;
                    any_error = true;
                }
                Some(partition) => {
                    let max_bytes = i64::from(target.partition_max_bytes.max(0)).min(remaining).max(0) as usize;
                    // KIP-74: the first batch of the whole response comes back even if larger.
                    let min_one_batch = total == 0;
                    match partition.read_for_fetch(target.fetch_offset, max_bytes, min_one_batch).await {
                        Ok(read) => {
                            data.high_watermark = read.high_watermark;
                            data.last_stable_offset = read.high_watermark;
                            if version >= 5 {
                                data.log_start_offset = read.log_start_offset;
                            }
                            total += read.records.len() as i64;
                            remaining -= read.records.len() as i64;
                            data.records = Some(read.records);
                        }
                        Err(error) => {
                            data.high_watermark = partition.high_watermark();
                            data.last_stable_offset = data.high_watermark;
                            data.error_code = log_error_code(&error);
                            any_error = true;
                        }
                    }
                }
            }
            topic.partitions.push(data);
        }
        response.responses.push(topic);
    }
    (response, total, any_error)
}
