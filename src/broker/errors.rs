//! Storage errors as Kafka error codes.

use kafka_protocol::ResponseError;

use crate::storage::LogError;

/// The Kafka error code a produce or fetch answers for a log error.
pub fn log_error_code(error: &LogError) -> i16 {
    match error {
        LogError::InvalidBatch(_) => ResponseError::CorruptMessage.code(),
        LogError::BatchTooLarge { .. } => ResponseError::MessageTooLarge.code(),
        LogError::OffsetOutOfRange { .. } => ResponseError::OffsetOutOfRange.code(),
        LogError::UnexpectedAppendOffset { .. } => ResponseError::InvalidRequest.code(),
        LogError::OutOfOrderSequence { .. } => ResponseError::OutOfOrderSequenceNumber.code(),
        LogError::InvalidProducerEpoch { .. } => ResponseError::InvalidProducerEpoch.code(),
        LogError::Closed => ResponseError::UnknownTopicOrPartition.code(),
        LogError::InvalidLeaderEpoch { .. } => ResponseError::NotLeaderOrFollower.code(),
        LogError::Io(_) | LogError::Corrupt { .. } | LogError::Offline => ResponseError::KafkaStorageError.code(),
    }
}
