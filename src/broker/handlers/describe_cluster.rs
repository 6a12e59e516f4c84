//! DescribeCluster: the one broker, which is also the controller.

use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::{BrokerId, DescribeClusterRequest, DescribeClusterResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use crate::broker::context::BrokerContext;

/// Endpoint type 1 asks for brokers, 2 for controllers (KIP-919); this node is both.
pub fn handle(ctx: &BrokerContext, request: DescribeClusterRequest) -> DescribeClusterResponse {
    let mut response = DescribeClusterResponse::default();
    if request.endpoint_type != 1 && request.endpoint_type != 2 {
        response.error_code = ResponseError::UnsupportedEndpointType.code();
        return response;
    }
    response.endpoint_type = request.endpoint_type;
    response.cluster_id = StrBytes::from_string(ctx.cluster_id.clone());
    response.controller_id = BrokerId(ctx.node_id);
    let mut broker = DescribeClusterBroker::default();
    broker.broker_id = BrokerId(ctx.node_id);
    broker.host = StrBytes::from_string(ctx.advertised_host.clone());
    broker.port = ctx.advertised_port;
    response.brokers = vec![broker];
    response
}
