//! The Rust client: producer, consumer and admin over Kafka's wire protocol, used by the
//! simulator's workloads, the `seedlog` tools and as a library.
//!
//! The same code runs in production (tokio) and inside the madsim simulator: it reads no
//! ambient time (timeouts use `tokio::time`, simulated under madsim; record timestamps come
//! from a [`crate::runtime::Clock`] handed in) and draws no ambient randomness (a seeded
//! [`crate::runtime::NodeRng`] is handed in).
//!
//! Layers, bottom up: [`framing`] and [`connection`] (one pipelined connection, version
//! negotiation via [`api_versions`]); [`cluster`] (connections per broker and the
//! [`metadata`] cache); then [`producer`] (with [`accumulator`], [`partitioner`],
//! [`idempotence`], [`backoff`] and the background `sender`), [`consumer`] and [`admin`].
//!
//! When partition leaders move, the client behaves as Kafka's Java client does: the
//! metadata cache never takes an older leader epoch, the producer retries to the new
//! leader with exponential backoff until its delivery timeout (an idempotent batch keeps
//! its producer id, epoch and sequence), and the consumer fetches with its leader epoch and
//! keeps its position (docs/client.md, "Leader changes").

pub mod accumulator;
pub mod admin;
pub mod api_versions;
pub mod backoff;
pub mod cluster;
pub mod connection;
pub mod consumer;
pub mod error;
pub mod framing;
pub mod idempotence;
pub mod list_offsets;
pub mod metadata;
pub mod partitioner;
mod produce_request;
pub mod producer;
pub mod records;
mod sender;

#[cfg(test)]
mod leader_change_tests;
#[cfg(test)]
mod scripted_peer_tests;

pub use accumulator::TopicPartition;
pub use admin::{Admin, ConfigEntry, NewTopic, TopicDescription};
pub use cluster::Cluster;
pub use connection::{Connection, ConnectionConfig};
pub use consumer::{Consumer, ConsumerConfig, ConsumerRecord, OffsetReset, StartOffset};
pub use error::{ClientError, Result};
pub use kafka_protocol::records::Compression;
pub use list_offsets::{IsolationLevel, ListedOffset, OffsetSpec};
pub use metadata::{BrokerInfo, MetadataCache, PartitionInfo, TopicInfo};
pub use producer::{DeliveryFuture, Producer, ProducerConfig, ProducerRecord, RecordMetadata};
