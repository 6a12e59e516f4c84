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
