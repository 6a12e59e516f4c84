//! Which nodes a fault acts on: a node by name, or a role resolved when the fault runs.
//!
//! A scripted timeline often cannot name its victim in advance: "the leader of `events-0`"
//! is whichever broker leads when the fault fires. A [`Target`] is resolved at that instant
//! against what the inspector last observed (as an operator reading Metadata would), and a
//! role that resolves to nobody (no leader observed yet) makes the step a no-op, reported in
//! the trace as `fault_step … skipped`.

use std::fmt;
use std::str::FromStr;

use rand::Rng;
use seedlog::runtime::NodeRng;

use crate::cluster::SimCluster;

/// A node, a role, or a set of nodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// One node by name: `b1`, `c2`.
    Node(String),
    /// The observed leader of a partition: `leader:events-0`.
    Leader { topic: String, partition: i32 },
    /// An observed in-sync follower of a partition: `follower:events-0`.
    Follower { topic: String, partition: i32 },
    /// One broker, drawn when the fault runs: `any-broker`.
    AnyBroker,
    /// One node of the metadata quorum, drawn when the fault runs: `any-controller`.
    AnyController,
    /// Every broker at once (a power loss in combined mode): `all-brokers`.
    AllBrokers,
    /// Every broker and controller at once: `all-nodes`.
    AllNodes,
    /// In a partition's groups: every broker and controller no other group names: `rest`.
    Rest,
}

impl Target {
    /// The node names it stands for now (empty: the role is vacant).
    pub fn resolve(&self, cluster: &SimCluster, rng: &mut NodeRng) -> Vec<String> {
        let mut every = cluster.brokers.clone();
        every.extend(cluster.controllers.iter().filter(|c| !cluster.brokers.contains(c)).cloned());
        match self {
            Target::Node(name) => vec![name.clone()],
            Target::Leader { topic, partition } => cluster.leader_of(topic, *partition).into_iter().collect(),
            Target::Follower { topic, partition } => cluster.follower_of(topic, *partition).into_iter().collect(),
            Target::AnyBroker => vec![cluster.brokers[rng.random_range(0..cluster.brokers.len())].clone()],
            Target::AnyController => {
                vec![cluster.controllers[rng.random_range(0..cluster.controllers.len())].clone()]
            }
            Target::AllBrokers => cluster.brokers.clone(),
            Target::AllNodes | Target::Rest => every,
        }
    }

    /// The node this names, if it names exactly one node.
    pub fn node(&self) -> Option<&str> {
        match self {
            Target::Node(name) => Some(name),
            _ => None,
        }
    }

    /// The partition a role refers to, if it is a role of a partition.
    pub fn partition(&self) -> Option<(&str, i32)> {
        match self {
            Target::Leader { topic, partition } | Target::Follower { topic, partition } => Some((topic, *partition)),
            _ => None,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Node(name) => write!(f, "{name}"),
            Target::Leader { topic, partition } => write!(f, "leader:{topic}-{partition}"),
            Target::Follower { topic, partition } => write!(f, "follower:{topic}-{partition}"),
            Target::AnyBroker => write!(f, "any-broker"),
            Target::AnyController => write!(f, "any-controller"),
            Target::AllBrokers => write!(f, "all-brokers"),
            Target::AllNodes => write!(f, "all-nodes"),
            Target::Rest => write!(f, "rest"),
        }
    }
}

impl FromStr for Target {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let role = |rest: &str| -> Result<(String, i32), String> {
            let (topic, partition) = rest
                .rsplit_once('-')
                .ok_or_else(|| format!("`{s}`: a role names a partition as TOPIC-PARTITION, e.g. `leader:events-0`"))?;
            let partition = partition.parse::<i32>().map_err(|_| format!("`{s}`: `{partition}` is not a partition"))?;
            if topic.is_empty() || partition < 0 {
                return Err(format!("`{s}`: a role names a partition as TOPIC-PARTITION, e.g. `leader:events-0`"));
            }
            Ok((topic.to_string(), partition))
        };
        Ok(match s {
            "any-broker" => Target::AnyBroker,
            "any-controller" => Target::AnyController,
            "all-brokers" => Target::AllBrokers,
            "all-nodes" => Target::AllNodes,
            "rest" => Target::Rest,
            _ => {
                if let Some(rest) = s.strip_prefix("leader:") {
                    let (topic, partition) = role(rest)?;
                    Target::Leader { topic, partition }
                } else if let Some(rest) = s.strip_prefix("follower:") {
                    let (topic, partition) = role(rest)?;
                    Target::Follower { topic, partition }
                } else if is_node_name(s) {
                    Target::Node(s.to_string())
                } else {
                    return Err(format!(
                        "`{s}` is not a node (`b1`, `c2`) nor a role (`leader:TOPIC-P`, `follower:TOPIC-P`, \
                         `any-broker`, `any-controller`, `all-brokers`, `all-nodes`, `rest` in a partition)"
                    ));
                }
            }
        })
    }
}

/// `b` or `c` and a number from 1: the cluster's node names.
fn is_node_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some('b' | 'c'))
        && s.len() > 1
        && s[1..].parse::<u32>().is_ok_and(|n| n >= 1)
        && !s[1..].starts_with('0')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_round_trip_through_their_text() {
        for text in ["b1", "c12", "leader:events-0", "follower:my-topic-3", "any-broker", "all-nodes", "rest"] {
            let target: Target = text.parse().unwrap();
            assert_eq!(target.to_string(), text);
        }
        let role: Target = "leader:my-topic-3".parse().unwrap();
        assert_eq!(role.partition(), Some(("my-topic", 3)));
    }

    #[test]
    fn bad_targets_are_refused_with_the_reason() {
        assert!("b0".parse::<Target>().is_err());
        assert!("x1".parse::<Target>().is_err());
        assert!("leader:events".parse::<Target>().unwrap_err().contains("TOPIC-PARTITION"));
        assert!("leader:events-x".parse::<Target>().unwrap_err().contains("not a partition"));
    }
}
