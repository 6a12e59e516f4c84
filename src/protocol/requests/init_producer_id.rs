//! InitProducerId (api key 22), versions 0..=4; flexible from 2.
//!
//! `transactional_id` (nullable), `transaction_timeout_ms` int32; v3+ `producer_id`
//! int64 and `producer_epoch` int16 (an idempotent producer bumping its epoch, KIP-360).

use bytes::Bytes;
use kafka_protocol::messages::{InitProducerIdRequest, ProducerId, TransactionalId};

use crate::protocol::{DecodeError, Reader};

pub(super) const NAME: &str = "InitProducerIdRequest";
pub(super) const FIRST_FLEXIBLE: i16 = 2;

pub(super) fn decode(body: Bytes, version: i16) -> Result<InitProducerIdRequest, DecodeError> {
    let mut r = Reader::new(body, version >= FIRST_FLEXIBLE);
    let transactional_id = r.nullable_string("transactional_id")?.map(TransactionalId);
    let mut req = InitProducerIdRequest::default()
        .with_transactional_id(transactional_id)
        .with_transaction_timeout_ms(r.int32("transaction_timeout_ms")?);
    if version >= 3 {
        req = req.with_producer_id(ProducerId(r.int64("producer_id")?)).with_producer_epoch(r.int16("producer_epoch")?);
    }
    r.skip_tagged_fields("tagged_fields")?;
    Ok(req)
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::ApiKey;

    use super::*;
    use crate::protocol::requests::test_support::{check_every_version, unknown_tags};
    use crate::protocol::requests::Request;

    fn fixtures(version: i16, tags: bool) -> Vec<InitProducerIdRequest> {
        let mut full = InitProducerIdRequest::default()
            .with_transactional_id(Some(TransactionalId("txn-app".into())))
            .with_transaction_timeout_ms(60_000)
            .with_unknown_tagged_fields(unknown_tags(tags));
        if version >= 3 {
            full = full.with_producer_id(ProducerId(1 << 33)).with_producer_epoch(4);
        }
        vec![InitProducerIdRequest::default(), full]
    }

    #[test]
    fn decodes_every_supported_version_like_kafka_protocol() {
        check_every_version(ApiKey::InitProducerId, fixtures, Request::InitProducerId);
    }
}
