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
mod produce;

use bytes::Bytes;

use super::context::BrokerContext;
use crate::protocol::{api_versions_response, encode_response_to, EncodeError, Request, RequestHeader};

/// Handles one request; `None` when Kafka sends no response (produce with acks=0).
pub async fn dispatch(
    ctx: &BrokerContext,
    header: &RequestHeader,
    request: Request,
) -> Result<Option<Bytes>, EncodeError> {
    let version = header.api_version;
    let encoded = match request {
        Request::ApiVersions(_) => encode_response_to(header, &api_versions_response()),
        Request::Metadata(r) => encode_response_to(header, &metadata::handle(ctx, r, version).await),
        Request::Produce(r) => match produce::handle(ctx, r, version).await {
            Some(response) => encode_response_to(header, &response),
            None => return Ok(None),
        },
        Request::Fetch(r) => encode_response_to(header, &fetch::handle(ctx, r, version).await),
        Request::ListOffsets(r) => encode_response_to(header, &list_offsets::handle(ctx, r, version).await),
        Request::CreateTopics(r) => encode_response_to(header, &create_topics::handle(ctx, r, version).await),
        Request::DeleteTopics(r) => encode_response_to(header, &delete_topics::handle(ctx, r, version).await),
        Request::CreatePartitions(r) => encode_response_to(header, &create_partitions::handle(ctx, r).await),
        Request::DescribeConfigs(r) => encode_response_to(header, &describe_configs::handle(ctx, r, version).await),
        Request::DescribeCluster(r) => encode_response_to(header, &describe_cluster::handle(ctx, r)),
        Request::InitProducerId(r) => encode_response_to(header, &init_producer_id::handle(ctx, r).await),
    };
    encoded.map(Some)
}
