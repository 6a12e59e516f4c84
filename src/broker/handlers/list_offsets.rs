//! ListOffsets: earliest (-2), latest (-1), max timestamp (-3, v7), earliest local (-4, v8),
//! latest tiered (-5, v9) or the first record at or after a timestamp, for consumers (only
//! offsets below the high watermark, or the last stable offset for read_committed, which is
//! the same until transactions exist).
//!
//! seedlog has no tiered storage, so, as Kafka without remote storage answers: the earliest
//! local offset is the log start offset, and the latest tiered offset is "none" (offset -1,
//! timestamp -1, no error). Kafka's GetOffsetShell asks for both (`--time -4`, `--time -5`).

use kafka_protocol::messages::list_offsets_response::{ListOffsetsPartitionResponse, ListOffsetsTopicResponse};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};
use kafka_protocol::ResponseError;

use crate::broker::batch_records::record_times;
use crate::broker::context::BrokerContext;
use crate::broker::errors::log_error_code;
use crate::broker::partition::Partition;
use crate::storage::{Log, LogError, TimestampMatch};

pub const LATEST: i64 = -1;
pub const EARLIEST: i64 = -2;
pub const MAX_TIMESTAMP: i64 = -3;
pub const EARLIEST_LOCAL: i64 = -4;
pub const LATEST_TIERED: i64 = -5;

pub async fn handle(ctx: &BrokerContext, request: ListOffsetsRequest, version: i16) -> ListOffsetsResponse {
    let mut response = ListOffsetsResponse::default();
    for topic in request.topics {
        let found = ctx.topics.get(topic.name.as_str()).await;
        let mut out = ListOffsetsTopicResponse::default();
        out.name = topic.name.clone();
        for asked in topic.partitions {
            let mut answer = ListOffsetsPartitionResponse::default();
            answer.partition_index = asked.partition_index;
            answer.timestamp = -1;
            answer.offset = -1;
            let partition = found.as_ref().and_then(|t| t.partition(asked.partition_index));
            match partition {
                None => answer.error_code = ResponseError::UnknownTopicOrPartition.code(),
                Some(partition) => match partition.check_leader_epoch(asked.current_leader_epoch) {
                    Err(code) => answer.error_code = code,
                    Ok(()) => match lookup(&partition, asked.timestamp).await {
                        Ok(Some((offset, timestamp))) => {
                            answer.offset = offset;
                            answer.timestamp = timestamp;
                            if version >= 4 {
                                answer.leader_epoch = partition.leader_epoch().unwrap_or(-1);
                            }
                        }
                        Ok(None) => {}
                        Err(code) => answer.error_code = code,
                    },
                },
            }
            out.partitions.push(answer);
        }
        response.topics.push(out);
    }
    response
}

/// `(offset, timestamp)`; `None` when no record matches (Kafka answers offset -1).
async fn lookup(partition: &Partition, timestamp: i64) -> Result<Option<(i64, i64)>, i16> {
    let high_watermark = partition.high_watermark();
    let log = partition.log().await;
    match timestamp {
        LATEST => Ok(Some((high_watermark, -1))),
        EARLIEST | EARLIEST_LOCAL => Ok(Some((log.log_start_offset(), -1))),
        LATEST_TIERED => Ok(None),
        MAX_TIMESTAMP => {
            let found = log.find_max_timestamp().await.map_err(|e| log_error_code(&e))?;
            exact_record(&log, found, high_watermark, |t| t.timestamp_ms == found.map_or(-1, |f| f.batch_max_timestamp))
                .await
        }
        target if target >= 0 => {
            let found = log.find_offset_by_timestamp(target).await.map_err(|e| log_error_code(&e))?;
            exact_record(&log, found, high_watermark, |t| t.timestamp_ms >= target).await
        }
        // A negative timestamp that names no special offset: Kafka answers UNSUPPORTED_VERSION
        // (the special values grow with the versions; the differential test checks it).
        _ => Err(ResponseError::UnsupportedVersion.code()),
    }
}

/// The first record of the matched batch that `wanted` accepts, if below the high watermark.
async fn exact_record(
    log: &Log,
    found: Option<TimestampMatch>,
    high_watermark: i64,
    wanted: impl Fn(&crate::broker::batch_records::RecordTime) -> bool,
) -> Result<Option<(i64, i64)>, i16> {
    let Some(found) = found else { return Ok(None) };
    if found.batch_base_offset >= high_watermark {
        return Ok(None);
    }
    let bytes =
        log.read(found.batch_base_offset, 1, high_watermark, true).await.map_err(|e: LogError| log_error_code(&e))?;
    let times = record_times(&bytes).map_err(|_| ResponseError::CorruptMessage.code())?;
    Ok(times
        .iter()
        .find(|t| t.offset >= log.log_start_offset() && t.offset < high_watermark && wanted(t))
        .map(|t| (t.offset, t.timestamp_ms)))
}
