//! A scenario file as TOML gives it: every table and key, each with its place in the file
//! (`Spanned`), before any meaning is checked. Unknown keys are refused here
//! (`deny_unknown_fields`), so a misspelt key is an error, never a silent default.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// A string, integer, float or boolean where Kafka wants a config value.
pub type ConfigValue = Spanned<toml::Value>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    pub name: Option<Spanned<String>>,
    pub story: Spanned<String>,
    pub expect: Option<Spanned<String>>,
    pub time_limit: Option<Spanned<String>>,
    /// FoundationDB-style fault points inside seedlog (docs/simulator-faults.md).
    pub buggify: Option<Spanned<bool>>,
    pub checkers: Option<Spanned<Vec<Spanned<String>>>>,
    pub cluster: Spanned<RawCluster>,
    #[serde(default)]
    pub topics: Vec<Spanned<RawTopic>>,
    #[serde(default)]
    pub producers: Vec<Spanned<RawProducer>>,
    #[serde(default)]
    pub consumers: Vec<Spanned<RawConsumer>>,
    pub faults: Option<Spanned<RawFaults>>,
    pub phases: Option<Spanned<RawPhases>>,
    /// madsim's network: the latency range of every packet.
    pub network: Option<Spanned<RawNetwork>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCluster {
    pub brokers: Spanned<i64>,
    pub controllers: Option<Spanned<i64>>,
    pub disk: Option<Spanned<String>>,
    #[serde(default)]
    pub config: BTreeMap<Spanned<String>, ConfigValue>,
    #[serde(default)]
    pub nodes: BTreeMap<Spanned<String>, Spanned<RawNode>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNode {
    #[serde(default)]
    pub config: BTreeMap<Spanned<String>, ConfigValue>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTopic {
    pub name: Spanned<String>,
    pub partitions: Spanned<i64>,
    pub replication_factor: Spanned<i64>,
    #[serde(default)]
    pub config: BTreeMap<Spanned<String>, ConfigValue>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProducer {
    pub topic: Spanned<String>,
    pub count: Option<Spanned<i64>>,
    pub acks: Option<Spanned<String>>,
    pub idempotence: Option<Spanned<bool>>,
    pub rate: Option<Spanned<i64>>,
    pub keys: Option<Spanned<String>>,
    pub record_bytes: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConsumer {
    pub topic: Spanned<String>,
    pub count: Option<Spanned<i64>>,
    pub mode: Option<Spanned<String>>,
    pub isolation: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFaults {
    pub script: Option<Vec<Spanned<RawStep>>>,
    pub swarm: Option<Spanned<RawSwarm>>,
}

/// One `[[faults.script]]` step: `at` and `action`, and the arguments its action takes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    pub at: Spanned<String>,
    pub action: Spanned<String>,
    pub node: Option<Spanned<String>>,
    pub from: Option<Spanned<String>>,
    pub to: Option<Spanned<String>>,
    pub groups: Option<Spanned<Vec<Vec<Spanned<String>>>>>,
    pub delay: Option<Spanned<String>>,
    pub by: Option<Spanned<String>>,
    pub skew: Option<Spanned<String>>,
    pub rate: Option<Spanned<f64>>,
    pub free_bytes: Option<Spanned<i64>>,
    pub bound: Option<Spanned<String>>,
    pub delay_us: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSwarm {
    pub start: Option<Spanned<String>>,
    pub steps: Option<Spanned<String>>,
    pub gap: Option<Spanned<String>>,
    pub mix: Option<Spanned<bool>>,
    #[serde(default)]
    pub weights: BTreeMap<Spanned<String>, Spanned<i64>>,
    pub restart_after: Option<Spanned<String>>,
    pub heal_after: Option<Spanned<String>>,
    pub lag: Option<Spanned<String>>,
    pub clock_jump: Option<Spanned<String>>,
    pub fsync_error_rate: Option<Spanned<f64>>,
    pub leaders_of: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPhases {
    pub after_faults: Option<Spanned<String>>,
    pub liveness_bound: Option<Spanned<String>>,
    pub settle: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNetwork {
    pub latency: Spanned<String>,
}
