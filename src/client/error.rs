//! What can go wrong in the client: a Kafka error code from the broker, or a failure on the
//! client's side of the wire (connection, timeout, codec, configuration).

use std::fmt;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::ApiKey;

/// The client's result type.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;

/// Kafka error codes the client acts on (the full list is kafka-protocol's `ResponseError`).
pub mod code {
    pub const NONE: i16 = 0;
    pub const UNKNOWN_SERVER_ERROR: i16 = -1;
    pub const OFFSET_OUT_OF_RANGE: i16 = 1;
    pub const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
    pub const LEADER_NOT_AVAILABLE: i16 = 5;
    pub const NOT_LEADER_OR_FOLLOWER: i16 = 6;
    pub const REQUEST_TIMED_OUT: i16 = 7;
    pub const NETWORK_EXCEPTION: i16 = 13;
    pub const COORDINATOR_LOAD_IN_PROGRESS: i16 = 14;
    pub const COORDINATOR_NOT_AVAILABLE: i16 = 15;
    pub const NOT_COORDINATOR: i16 = 16;
    pub const NOT_ENOUGH_REPLICAS: i16 = 19;
    pub const NOT_ENOUGH_REPLICAS_AFTER_APPEND: i16 = 20;
    pub const UNSUPPORTED_VERSION: i16 = 35;
    pub const TOPIC_ALREADY_EXISTS: i16 = 36;
    pub const NOT_CONTROLLER: i16 = 41;
    pub const OUT_OF_ORDER_SEQUENCE_NUMBER: i16 = 45;
    pub const DUPLICATE_SEQUENCE_NUMBER: i16 = 46;
    pub const INVALID_PRODUCER_EPOCH: i16 = 47;
    pub const KAFKA_STORAGE_ERROR: i16 = 56;
    pub const UNKNOWN_PRODUCER_ID: i16 = 59;
    pub const FENCED_LEADER_EPOCH: i16 = 74;
    pub const UNKNOWN_LEADER_EPOCH: i16 = 75;
    pub const OFFSET_NOT_AVAILABLE: i16 = 78;
    pub const PRODUCER_FENCED: i16 = 90;
}

/// An error seen by the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientError {
    /// The broker answered with a Kafka error code (never 0).
    Kafka { code: i16, message: Option<String>, context: String },
    /// Connecting failed, or the connection broke with the request in flight.
    Connection(String),
    /// No response within the request timeout (the connection is closed, as Kafka does).
    Timeout(String),
    /// Bytes that do not follow the protocol, or a frame over the size cap.
    Protocol(String),
    /// The broker supports no version of an API the client needs.
    UnsupportedApi(String),
    /// A bad argument or configuration on the client's side.
    Config(String),
    /// The producer, consumer or connection was closed.
    Closed,
}

impl ClientError {
    /// An error for a Kafka error code seen while doing `context`.
    pub fn kafka(code: i16, context: impl Into<String>) -> Self {
        ClientError::Kafka { code, message: None, context: context.into() }
    }

    /// Like [`ClientError::kafka`], with the broker's error message.
    pub fn kafka_with_message(code: i16, message: Option<&str>, context: impl Into<String>) -> Self {
        ClientError::Kafka { code, message: message.map(str::to_owned), context: context.into() }
    }

    pub fn unsupported_api(api_key: ApiKey) -> Self {
        ClientError::UnsupportedApi(format!("{api_key:?}"))
    }

    /// The Kafka error code: the broker's, or the closest code for a client-side failure
    /// (NETWORK_EXCEPTION, REQUEST_TIMED_OUT, ...), as the Java client maps its exceptions.
    pub fn code(&self) -> i16 {
        match self {
            ClientError::Kafka { code, .. } => *code,
            ClientError::Connection(_) | ClientError::Closed => code::NETWORK_EXCEPTION,
            ClientError::Timeout(_) => code::REQUEST_TIMED_OUT,
            ClientError::UnsupportedApi(_) => code::UNSUPPORTED_VERSION,
            ClientError::Protocol(_) | ClientError::Config(_) => code::UNKNOWN_SERVER_ERROR,
        }
    }

    /// Kafka's name of [`Self::code`], e.g. `NOT_LEADER_OR_FOLLOWER`.
    pub fn name(&self) -> String {
        error_name(self.code())
    }

    /// Whether trying again (after a metadata refresh) may succeed.
    pub fn is_retriable(&self) -> bool {
        match self {
            ClientError::Kafka { code, .. } => is_retriable_code(*code),
            ClientError::Connection(_) | ClientError::Timeout(_) => true,
            _ => false,
        }
    }

    /// Whether the error says the client's view of partition leadership is stale.
    pub fn invalidates_metadata(&self) -> bool {
        match self {
            ClientError::Kafka { code, .. } => invalidates_metadata(*code),
            ClientError::Connection(_) | ClientError::Timeout(_) => true,
            _ => false,
        }
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Kafka { code, message, context } => {
                write!(f, "{context}: {} ({code})", error_name(*code))?;
                match message {
                    Some(message) if !message.is_empty() => write!(f, ": {message}"),
                    _ => Ok(()),
                }
            }
            ClientError::Connection(what) => write!(f, "connection error: {what}"),
            ClientError::Timeout(what) => write!(f, "timed out: {what}"),
            ClientError::Protocol(what) => write!(f, "protocol error: {what}"),
            ClientError::UnsupportedApi(api) => {
                write!(f, "the broker supports no version of {api} this client can use")
            }
            ClientError::Config(what) => write!(f, "invalid configuration: {what}"),
            ClientError::Closed => write!(f, "closed"),
        }
    }
}

impl std::error::Error for ClientError {}

/// Kafka's name for an error code: `NONE`, `OFFSET_OUT_OF_RANGE`, ..., `UNKNOWN(code)`.
pub fn error_name(code: i16) -> String {
    match ResponseError::try_from_code(code) {
        None => "NONE".to_owned(),
        Some(ResponseError::Unknown(code)) => format!("UNKNOWN({code})"),
        Some(error) => screaming_snake(&format!("{error:?}")),
    }
}

/// Whether Kafka marks `code` retriable (RetriableException in the Java client).
pub fn is_retriable_code(code: i16) -> bool {
    ResponseError::try_from_code(code).is_some_and(|error| error.is_retriable())
}

/// Whether `code` means the client's partition leadership view is stale (Java's
/// `InvalidMetadataException` family). A broker's REQUEST_TIMED_OUT (acks=all waited too
/// long for replicas) and NOT_ENOUGH_REPLICAS do not: the leader is right, its followers
/// are slow. A client-side timeout does ([`ClientError::invalidates_metadata`]): the
/// connection was closed and the broker may be gone.
pub fn invalidates_metadata(code: i16) -> bool {
    matches!(
        code,
        code::UNKNOWN_TOPIC_OR_PARTITION
            | code::LEADER_NOT_AVAILABLE
            | code::NOT_LEADER_OR_FOLLOWER
            | code::KAFKA_STORAGE_ERROR
            | code::FENCED_LEADER_EPOCH
            | code::UNKNOWN_LEADER_EPOCH
            | code::NETWORK_EXCEPTION
    )
}

/// `OffsetOutOfRange` → `OFFSET_OUT_OF_RANGE`.
fn screaming_snake(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 8);
    for (i, ch) in camel.chars().enumerate() {
        if ch.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(ch.to_ascii_uppercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_kafkas_errors_enum() {
        assert_eq!(error_name(0), "NONE");
        assert_eq!(error_name(-1), "UNKNOWN_SERVER_ERROR");
        assert_eq!(error_name(1), "OFFSET_OUT_OF_RANGE");
        assert_eq!(error_name(3), "UNKNOWN_TOPIC_OR_PARTITION");
        assert_eq!(error_name(6), "NOT_LEADER_OR_FOLLOWER");
        assert_eq!(error_name(17), "INVALID_TOPIC_EXCEPTION");
        assert_eq!(error_name(45), "OUT_OF_ORDER_SEQUENCE_NUMBER");
        assert_eq!(error_name(56), "KAFKA_STORAGE_ERROR");
        assert_eq!(error_name(9999), "UNKNOWN(9999)");
    }

    #[test]
    fn retriable_and_metadata_classes() {
        assert!(ClientError::kafka(code::NOT_LEADER_OR_FOLLOWER, "produce").is_retriable());
        assert!(ClientError::kafka(code::NOT_LEADER_OR_FOLLOWER, "produce").invalidates_metadata());
        assert!(!ClientError::kafka(code::TOPIC_ALREADY_EXISTS, "create").is_retriable());
        assert!(!ClientError::kafka(code::OUT_OF_ORDER_SEQUENCE_NUMBER, "produce").is_retriable());
        assert!(ClientError::Timeout("x".into()).is_retriable());
        assert_eq!(ClientError::Timeout("x".into()).name(), "REQUEST_TIMED_OUT");
        let shown = ClientError::kafka_with_message(36, Some("exists"), "create topic t").to_string();
        assert_eq!(shown, "create topic t: TOPIC_ALREADY_EXISTS (36): exists");
    }
}
