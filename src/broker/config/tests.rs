//! `server.properties` parsing: syntax, Kafka's defaults and precedence, errors that name their key.

use super::*;

/// Kafka 4's `config/server.properties` (KRaft combined mode), trimmed, with a
/// continuation line and the three separators.
const SAMPLE: &str = r#"
# Licensed to the Apache Software Foundation (ASF) under one or more
############################# Server Basics #############################
# The role of this server. Setting this puts us in KRaft mode
process.roles=broker,controller
# The node id associated with this instance's roles
node.id=3
# List of controller endpoints used connect to the controller cluster
controller.quorum.bootstrap.servers=localhost:9093
############################# Socket Server Settings #############################
listeners=PLAINTEXT://:9092,\
      CONTROLLER://:9093
inter.broker.listener.name=PLAINTEXT
advertised.listeners=PLAINTEXT://broker3.example:9092,CONTROLLER://broker3.example:9093
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL
num.network.threads=3
num.io.threads=8
socket.send.buffer.bytes=102400
socket.receive.buffer.bytes=102400
socket.request.max.bytes=104857600
############################# Log Basics #############################
log.dirs=/tmp/kraft-combined-logs, /tmp/second
num.partitions=3
num.recovery.threads.per.data.dir=1
   ! Internal Topic Settings
offsets.topic.replication.factor=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
transaction.state.log.replication.factor: 1
transaction.state.log.min.isr 1
#log.flush.interval.messages=10000
#log.flush.interval.ms=1000
log.retention.hours=168
#log.retention.bytes=1073741824
log.segment.bytes=1073741824
log.retention.check.interval.ms=300000
"#;

fn parse(text: &str) -> Result<BrokerConfig, ConfigError> {
    BrokerConfig::from_properties(text, &[])
}

fn error_key(text: &str) -> String {
    let error = parse(text).expect_err(text);
    assert!(error.to_string().contains(error.key().unwrap()), "{error}");
    error.key().unwrap().to_string()
}

#[test]
fn kafka_sample_parses() {
    let config = parse(SAMPLE).unwrap();
    assert_eq!(config.node_id, 3);
    let listeners: Vec<String> = config.listeners.iter().map(|l| l.to_string()).collect();
    assert_eq!(listeners, ["PLAINTEXT://:9092", "CONTROLLER://:9093"]);
    assert_eq!(config.listeners[0].bind_address(), "0.0.0.0:9092");
    assert_eq!(config.broker_listeners().count(), 1);
    assert_eq!(config.advertised_listener("plaintext").unwrap().host, "broker3.example");
    assert_eq!(config.log_dir(), Path::new("/tmp/kraft-combined-logs"));
    assert_eq!(config.log_dirs.len(), 2);
    assert_eq!(config.num_partitions, 3);
    assert_eq!((config.transaction_state_log_replication_factor, config.transaction_state_log_min_isr), (1, 1));
    assert_eq!(config.log_retention_ms, 168 * HOUR_MS);
    assert!(config.is_set("log.retention.hours") && !config.is_set("log.retention.ms"));
    assert_eq!(config.kraft.process_roles, ProcessRoles { broker: true, controller: true });
    assert_eq!(config.kraft.quorum_voters, [QuorumVoter { id: 3, host: "localhost".into(), port: 9093 }]);
    let ignored = config.ignored_keys();
    for key in ["num.io.threads", "share.coordinator.state.topic.min.isr", "inter.broker.listener.name"] {
        assert!(ignored.contains(&key.to_string()), "{key} in {ignored:?}");
    }
    assert!(ignored.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn defaults_match_kafka() {
    let config = BrokerConfig::default();
    assert_eq!(config.node_id, 1);
    assert_eq!(config.listeners, [Listener { name: "PLAINTEXT".into(), host: "127.0.0.1".into(), port: 9092 }]);
    assert_eq!(config.advertised_listeners, config.listeners);
    assert_eq!(config.log_dir(), Path::new("./data"));
    assert_eq!(config.log_config(), LogConfig::default());
    assert_eq!((config.num_partitions, config.default_replication_factor), (1, 1));
    assert!(config.auto_create_topics_enable && config.delete_topic_enable);
    assert_eq!(config.log_retention_check_interval_ms, 300_000);
    assert_eq!((config.socket_request_max_bytes, config.fetch_max_bytes), (104_857_600, 57_671_680));
    assert_eq!((config.min_insync_replicas, config.replica_fetch_max_bytes), (1, 1_048_576));
    assert_eq!(config.log_message_timestamp_type, TimestampType::CreateTime);
    assert_eq!((config.offsets_topic_num_partitions, config.offsets_topic_replication_factor), (50, 3));
    assert_eq!((config.transactional_id_expiration_ms, config.producer_id_expiration_ms), (604_800_000, 86_400_000));
    assert_eq!((config.group_initial_rebalance_delay_ms, config.max_connections), (3000, i32::MAX));
    assert_eq!(config.log_flush_scheduler_interval_ms, 1000);
    assert!(config.ignored_keys().is_empty());
}

#[test]
fn overrides_win_over_the_file() {
    let overrides = [parse_override("num.partitions = 7").unwrap(), parse_override("log.dirs=/a=b").unwrap()];
    let config = BrokerConfig::from_properties("num.partitions=2\nlog.dirs=/x", &overrides).unwrap();
    assert_eq!(config.num_partitions, 7);
    assert_eq!(config.log_dir(), Path::new("/a=b"));
    assert!(matches!(parse_override("num.partitions"), Err(ConfigError::Override { .. })));
    assert!(matches!(parse_override("=3"), Err(ConfigError::Override { .. })));
    let error = BrokerConfig::from_properties("", &[("nope".into(), "1".into())]).unwrap_err();
    assert_eq!(error.to_string(), "unknown config key `nope`");
}

#[test]
fn finer_units_win() {
    let all = "log.retention.hours=1\nlog.retention.minutes=2\nlog.retention.ms=3\nlog.roll.hours=1\nlog.roll.ms=5";
    let config = parse(all).unwrap();
    assert_eq!((config.log_retention_ms, config.log_roll_ms), (3, 5));
    assert_eq!(parse("log.retention.hours=1\nlog.retention.minutes=2").unwrap().log_retention_ms, 120_000);
    assert_eq!(parse("log.retention.hours=2\nlog.roll.hours=3").unwrap().log_roll_ms, 3 * HOUR_MS);
    assert_eq!(parse("log.retention.hours=-1").unwrap().log_retention_ms, -1);
    assert_eq!(parse("log.retention.ms=-7").unwrap().log_retention_ms, -1);
    assert_eq!(parse("log.retention.bytes=-9").unwrap().log_retention_bytes, -1);
}

#[test]
fn flush_ms_falls_back_to_an_explicit_scheduler_interval() {
    assert_eq!(parse("").unwrap().log_flush_interval_ms, i64::MAX);
    let config = parse("log.flush.scheduler.interval.ms=250").unwrap();
    assert_eq!((config.log_flush_interval_ms, config.log_flush_scheduler_interval_ms), (250, 250));
    let config = parse("log.flush.scheduler.interval.ms=250\nlog.flush.interval.ms=40").unwrap();
    assert_eq!(config.log_config().flush_interval_ms, 40);
}

#[test]
fn every_error_names_its_key() {
    assert_eq!(error_key("log.segmnet.bytes=1024"), "log.segmnet.bytes");
    let error = parse("log.segment.bytes=abc").unwrap_err();
    assert_eq!(error.to_string(), "config key `log.segment.bytes`: expected a positive integer >= 1024, got \"abc\"");
    assert_eq!(error_key("log.segment.bytes=-5"), "log.segment.bytes");
    assert_eq!(error_key("log.segment.bytes=4294967296"), "log.segment.bytes");
    assert_eq!(error_key("log.retention.bytes=12x"), "log.retention.bytes");
    assert_eq!(error_key("log.retention.hours=0"), "log.retention.hours");
    assert_eq!(error_key("node.id=-1"), "node.id");
    assert_eq!(error_key("node.id=1\nbroker.id=2"), "node.id");
    assert_eq!(error_key("auto.create.topics.enable=yes"), "auto.create.topics.enable");
    assert_eq!(error_key("listeners=SSL://:9093"), "listeners");
    assert!(parse("listeners=SSL://:9093").unwrap_err().to_string().contains("only PLAINTEXT"));
    let mapped = "listeners=CLIENT://:9092\nlistener.security.protocol.map=CLIENT:SASL_SSL";
    assert_eq!(error_key(mapped), "listeners");
    assert_eq!(error_key("listeners=CLIENT://:9092"), "listeners");
    assert_eq!(error_key("listeners=PLAINTEXT://host"), "listeners");
    let same_port = "listeners=PLAINTEXT://:9092,CONTROLLER://:9092\ncontroller.listener.names=CONTROLLER";
    assert_eq!(error_key(same_port), "listeners");
    assert_eq!(error_key("listener.security.protocol.map=A:TLS"), "listener.security.protocol.map");
    assert_eq!(error_key("advertised.listeners=OTHER://h:1"), "advertised.listeners");
    assert_eq!(error_key("advertised.listeners=PLAINTEXT://0.0.0.0:9092"), "advertised.listeners");
    assert_eq!(error_key("log.cleanup.policy=compact"), "log.cleanup.policy");
    assert!(parse("log.cleanup.policy=compact").unwrap_err().to_string().contains("not supported yet"));
    assert_eq!(error_key("log.cleanup.policy=delete,compact"), "log.cleanup.policy");
    assert_eq!(error_key("log.message.timestamp.type=createtime"), "log.message.timestamp.type");
    assert_eq!(error_key("log.dirs= , "), "log.dirs");
}

/// The historical-design switches: off by default, settable, and errors name their keys.
#[test]
fn historical_switches_default_off_and_name_their_keys() {
    let config = BrokerConfig::default();
    assert!(!config.replica_truncate_to_high_watermark_enable);
    assert!(config.alter_partition_broker_epoch_check_enable);
    assert!(!config.unclean_leader_election_enable);
    let all = "seedlog.replica.truncate.to.high.watermark.enable=true\n\
               seedlog.alter.partition.broker.epoch.check.enable=false\n\
               unclean.leader.election.enable=true";
    let config = parse(all).unwrap();
    assert!(config.replica_truncate_to_high_watermark_enable);
    assert!(!config.alter_partition_broker_epoch_check_enable);
    assert!(config.unclean_leader_election_enable);
    let controller = crate::cluster::cluster_node::controller_config(&config);
    assert!(controller.unclean_leader_election_enable && !controller.alter_partition_broker_epoch_check);
    let key = "seedlog.replica.truncate.to.high.watermark.enable";
    assert_eq!(error_key(&format!("{key}=yes")), key);
    let defaults = crate::cluster::cluster_node::controller_config(&BrokerConfig::default());
    assert!(defaults.auto_leader_rebalance_enable);
    assert_eq!(defaults.leader_imbalance_check_interval_ms, 300_000);
    let rebalance = parse("auto.leader.rebalance.enable=false\nleader.imbalance.check.interval.seconds=5").unwrap();
    let controller = crate::cluster::cluster_node::controller_config(&rebalance);
    assert!(!controller.auto_leader_rebalance_enable);
    assert_eq!(controller.leader_imbalance_check_interval_ms, 5_000);
    assert_eq!(error_key("leader.imbalance.check.interval.seconds=0"), "leader.imbalance.check.interval.seconds");
    let key = "seedlog.alter.partition.broker.epoch.check.enable";
    assert_eq!(error_key(&format!("{key}=1")), key);
}

#[test]
fn syntax_errors_name_the_line() {
    let error = parse("# comment\n\nnum.partitions=1\nbroken\n").unwrap_err();
    assert_eq!(error, ConfigError::Syntax { line: 4, message: "`broken` has no value; expected key=value".into() });
    assert!(matches!(parse("a=1\n=2"), Err(ConfigError::Syntax { line: 2, .. })));
    assert!(matches!(parse("x=\\u12"), Err(ConfigError::Syntax { line: 1, .. })));
}

#[test]
fn properties_syntax() {
    let text = "a=1\n  b : 2 \nc 3\nd=x\\\n    y\ne\\=f=\\u0041\\\\\\:\n# g=1\\\nh=\n";
    let parsed: Vec<(String, String)> = parse_properties(text).unwrap().into_iter().map(|p| (p.key, p.value)).collect();
    let expected = [("a", "1"), ("b", "2"), ("c", "3"), ("d", "xy"), ("e=f", "A\\:"), ("h", "")];
    assert_eq!(parsed, expected.map(|(k, v)| (k.to_string(), v.to_string())));
    for text in ["a b", " lead", "trail ", "x=y:z", "#!\\", "tab\tnew\nline"] {
        let line = format!("{}={}", escape_property(text), escape_property(text));
        let back = parse_properties(&line).unwrap();
        assert_eq!((back[0].key.as_str(), back[0].value.as_str()), (text, text));
    }
}

#[test]
fn wildcard_listeners_advertise_loopback() {
    let text = "listeners=PLAINTEXT://0.0.0.0:9092,INTERNAL://[::1]:9094
                listener.security.protocol.map=PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT";
    let config = parse(text).unwrap();
    assert_eq!(config.advertised_listeners[0].to_string(), "PLAINTEXT://127.0.0.1:9092");
    assert_eq!(config.advertised_listeners[1].to_string(), "INTERNAL://[::1]:9094");
    assert_eq!(config.listeners[1].bind_address(), "[::1]:9094");
}

#[test]
fn kraft_roles_and_voters_are_checked_together() {
    let combined =
        "process.roles=broker,controller\nnode.id=2\ncontroller.quorum.voters=1@h1:9093,2@h2:9093,3@h3:9093\n\
                    listeners=PLAINTEXT://:9092,CONTROLLER://:9093\ncontroller.listener.names=CONTROLLER";
    let config = parse(combined).unwrap();
    assert_eq!(config.kraft.quorum_voters.len(), 3);
    assert!(config.kraft.is_voter(2) && !config.kraft.process_roles.is_standalone());
    assert_eq!(config.kraft.election_timeout_ms, 1000);
    let broker_only =
        "process.roles=broker\nnode.id=4\ncontroller.quorum.voters=1@h1:9093\ncontroller.listener.names=CONTROLLER";
    assert!(parse(broker_only).is_ok());
    // Each broken rule is refused, naming the key at fault.
    assert_eq!(error_key("process.roles=broker,router"), "process.roles");
    assert_eq!(error_key("process.roles=broker"), "controller.quorum.voters");
    assert_eq!(error_key("controller.quorum.voters=1@h:9093"), "process.roles");
    assert_eq!(error_key(&combined.replace("node.id=2", "node.id=5")), "controller.quorum.voters");
    assert_eq!(error_key(&broker_only.replace("node.id=4", "node.id=1")), "controller.quorum.voters");
    assert_eq!(error_key(&combined.replace("2@h2:9093", "1@h2:9093")), "controller.quorum.voters");
    assert_eq!(error_key(&combined.replace("3@h3:9093", "3@h3")), "controller.quorum.voters");
    assert_eq!(error_key(&combined.replace(",CONTROLLER://:9093", "")), "listeners");
    assert_eq!(
        error_key(&broker_only.replace("\ncontroller.listener.names=CONTROLLER", "")),
        "controller.listener.names"
    );
    let controller_only = combined.replace("broker,controller", "controller");
    assert_eq!(error_key(&controller_only), "listeners", "a controller-only node serving clients");
    assert!(parse(&controller_only.replace("PLAINTEXT://:9092,", "")).is_ok());
    let dynamic = "process.roles=broker,controller\ncontroller.quorum.bootstrap.servers=a:9093,b:9093\n\
                   listeners=PLAINTEXT://:9092,CONTROLLER://:9093\ncontroller.listener.names=CONTROLLER";
    assert_eq!(error_key(dynamic), "controller.quorum.bootstrap.servers");
}

#[test]
fn metadata_snapshot_keys_have_kafkas_defaults_and_bounds() {
    let config = parse("").unwrap();
    assert_eq!(config.kraft.max_record_bytes_between_snapshots, 20 * 1024 * 1024);
    assert_eq!(config.kraft.max_snapshot_interval_ms, 3_600_000);
    let set =
        parse("metadata.log.max.record.bytes.between.snapshots=4096\nmetadata.log.max.snapshot.interval.ms=0").unwrap();
    assert_eq!((set.kraft.max_record_bytes_between_snapshots, set.kraft.max_snapshot_interval_ms), (4096, 0));
    assert_eq!(
        error_key("metadata.log.max.record.bytes.between.snapshots=0"),
        "metadata.log.max.record.bytes.between.snapshots"
    );
    assert_eq!(error_key("metadata.log.max.snapshot.interval.ms=-1"), "metadata.log.max.snapshot.interval.ms");
    assert_eq!(error_key("metadata.log.max.snapshot.interval.ms=soon"), "metadata.log.max.snapshot.interval.ms");
}
