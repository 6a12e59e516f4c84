//! Request handlers, one file per API, and the dispatch from a decoded request to its
//! encoded response.

mod create_partitions;
mod create_topics;
mod delete_topics;
mod describe_cluster;
mod describe_configs;
mod fetch;
mod init_producer_id;
mod list_offsets;
mod metadata;
mod offset_for_leader_epoch;
mod produce;

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;

use super::context::BrokerContext;
use crate::protocol::{answer_api_versions, encode_response_to, EncodeError, Request, RequestHeader};

/// An encoded response; `None` when Kafka sends none (produce with acks=0).
pub type Encoded = Result<Option<Bytes>, EncodeError>;

/// What handling a request left to send.
pub enum Answer {
    /// The response, ready now.
    Now(Encoded),
    /// A produce with acks=all: its records are appended, its response waits for them to be
    /// durable. Borrows nothing, so the connection can serve later requests meanwhile.
    Later(Pin<Box<dyn Future<Output = Encoded> + Send>>),
}

/// Handles one request. Everything that changes state (a produce's appends) is done when
/// this returns; only waiting may be left, in [`Answer::Later`].
pub async fn dispatch(ctx: &BrokerContext, header: &RequestHeader, request: Request) -> Answer {
    let version = header.api_version;
    let encoded = match request {
        Request::ApiVersions(r) => encode_response_to(header, &answer_api_versions(&r, version)),
        Request::Metadata(r) => encode_response_to(header, &metadata::handle(ctx, r, version).await),
        Request::Produce(r) => {
            let appended = produce::append(ctx, r, version).await;
            let appended_waits = appended.waits();
            let header = header.clone();
            let answer = async move { appended.answer().await.map(|r| encode_response_to(&header, &r)).transpose() };
            return if appended_waits { Answer::Later(Box::pin(answer)) } else { Answer::Now(answer.await) };
        }
        Request::Fetch(r) => encode_response_to(header, &fetch::handle(ctx, r, version).await),
        Request::ListOffsets(r) => encode_response_to(header, &list_offsets::handle(ctx, r, version).await),
        Request::CreateTopics(r) => encode_response_to(header, &create_topics::handle(ctx, r, version).await),
        Request::DeleteTopics(r) => encode_response_to(header, &delete_topics::handle(ctx, r, version).await),
        Request::CreatePartitions(r) => encode_response_to(header, &create_partitions::handle(ctx, r).await),
        Request::DescribeConfigs(r) => encode_response_to(header, &describe_configs::handle(ctx, r, version).await),
        Request::DescribeCluster(r) => encode_response_to(header, &describe_cluster::handle(ctx, r)),
        Request::InitProducerId(r) => encode_response_to(header, &init_producer_id::handle(ctx, r).await),
        Request::OffsetForLeaderEpoch(r) => encode_response_to(header, &offset_for_leader_epoch::handle(ctx, r).await),
    };
    Answer::Now(encoded.map(Some))
}
