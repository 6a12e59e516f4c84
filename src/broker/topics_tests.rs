//! Deleting a topic stops its partitions' flushers and closes their logs before the
//! directories go.

use std::path::Path;
use std::sync::Arc;

use super::{NewTopic, Topics};
use crate::broker::config::BrokerConfig;
use crate::broker::partition::AppendError;
use crate::runtime::{seeded, Clock, Disk, MemDisk};
use crate::storage::record_batch::build::{batch, ProducerFields, Record};
use crate::storage::LogError;

#[tokio::test]
async fn deleting_a_topic_stops_its_flushers_and_closes_its_logs() {
    let disk = Arc::new(MemDisk::new(4));
    let config = Arc::new(BrokerConfig::from_properties("log.dirs=/data", &[]).unwrap());
    let topics = Topics::load(disk.clone(), config, Clock::system(), seeded(4), true).await.unwrap();
    let new = |name: &str| NewTopic { name: name.into(), partitions: 2, replication_factor: 1, configs: Vec::new() };
    topics.create(new("doomed")).await.unwrap();
    topics.create(new("kept")).await.unwrap();
    assert_eq!(topics.flushers_running(), 4);
    let partition = topics.partition("doomed", 1).await.unwrap();
    let records = batch(&[Record { timestamp_ms: 0, key: None, value: Some(b"v") }], ProducerFields::NONE);
    partition.append_as_leader(0, records.clone(), 1).await.unwrap();

    topics.delete("doomed").await.unwrap();

    assert_eq!(topics.flushers_running(), 2, "the deleted topic's flushers still run");
    assert!(partition.log().await.is_closed());
    assert!(matches!(partition.append_as_leader(0, records, 1).await, Err(AppendError::Log(LogError::Closed))));
    assert!(!disk.exists(Path::new("/data/doomed-1")).await.unwrap());
    assert!(topics.partition("kept", 1).await.is_some());
}
