//! InitProducerId for idempotent producers (no transactional id): a fresh producer id at
//! epoch 0. Transactional ids arrive with the transaction coordinator.

use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};
use kafka_protocol::ResponseError;
use tracing::info;

use crate::broker::context::BrokerContext;

pub async fn handle(ctx: &BrokerContext, request: InitProducerIdRequest) -> InitProducerIdResponse {
    let mut response = InitProducerIdResponse::default();
    response.producer_id = ProducerId(-1);
    response.producer_epoch = -1;
    // Kafka's checks, in its order: an id and an epoch come together or not at all (KIP-360),
    // and a transactional id, when given, is not empty.
    if (request.producer_id.0 == -1) != (request.producer_epoch == -1)
        || request.transactional_id.as_ref().is_some_and(|id| id.is_empty())
    {
        response.error_code = ResponseError::InvalidRequest.code();
        return response;
    }
    if request.transactional_id.is_some() {
        // Transactions are not implemented yet: Kafka's answer when the coordinator is absent.
        response.error_code = ResponseError::CoordinatorNotAvailable.code();
        return response;
    }
    match ctx.producer_ids.next().await {
        Ok(id) => {
            response.producer_id = ProducerId(id);
            response.producer_epoch = 0;
            info!(name: "producer_id_allocated", producer_id = id);
        }
        Err(_) => response.error_code = ResponseError::KafkaStorageError.code(),
    }
    response
}
