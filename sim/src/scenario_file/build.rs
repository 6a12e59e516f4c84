//! From a parsed file to a [`FileScenario`]: every value checked for meaning, and each error
//! tied to its key and line.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use seedlog::broker::topic_config::TopicConfig;
use seedlog::client::NewTopic;
use seedlog::runtime::MemDiskFaults;
use toml::Spanned;

use super::raw::{ConfigValue, RawFaults, RawScenario, RawStep, RawSwarm};
use super::values::{count_range, duration_ms, duration_range_ms, unsigned_duration_range_ms};
use super::{FileError, FileScenario, ScenarioFaults, ScriptStep};
use crate::checkers;
use crate::cluster::{check_overrides, ClusterSpec};
use crate::expectation::Expectation;
use crate::faults::swarm::KINDS;
use crate::faults::{Fault, SwarmSpec, Target};
use crate::workloads::{Keys, ProducerSpec, Workload};

/// Default bound on convergence after the heal.
const LIVENESS_BOUND_MS: u64 = 60_000;

/// Checks `raw` (read from `path`, whose text is `text`) and builds the scenario.
pub fn build(path: &Path, text: &str, raw: RawScenario) -> Result<FileScenario, FileError> {
    let at = Locator { path, text };
    let name = match &raw.name {
        Some(name) => name.get_ref().clone(),
        None => path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(),
    };
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
        let span = raw.name.as_ref().map_or(0..0, |n| n.span());
        return Err(at.error(span, "name", "a scenario name is kebab-case: lowercase letters, digits and `-`"));
    }
    let story = raw.story.get_ref().trim().to_string();
    if story.is_empty() || story.contains('\n') {
        return Err(at.error(raw.story.span(), "story", "the story is one non-empty line"));
    }
    let time_limit = match &raw.time_limit {
        Some(t) => Duration::from_millis(at.value(t, "time_limit", |v| duration_ms(v, false))? as u64),
        None => Duration::from_secs(3_600),
    };

    let phases = raw.phases.as_ref().map(|p| p.get_ref());
    let liveness_bound_ms = match phases.and_then(|p| p.liveness_bound.as_ref()) {
        Some(b) => at.value(b, "phases.liveness_bound", |v| duration_ms(v, false))? as u64,
        None => LIVENESS_BOUND_MS,
    };
    let after_faults_ms = match phases.and_then(|p| p.after_faults.as_ref()) {
        Some(r) => at.value(r, "phases.after_faults", unsigned_duration_range_ms)?,
        None => (500, 3_000),
    };
    let settle_ms = match phases.and_then(|p| p.settle.as_ref()) {
        Some(s) => at.value(s, "phases.settle", |v| duration_ms(v, false))? as u64,
        None => 1_000,
    };

    // Checkers, and the expectation among them.
    let checker_names: Vec<Spanned<String>> = match &raw.checkers {
        Some(list) => list.get_ref().to_vec(),
        None => vec![Spanned::new(0..0, "cluster".to_string())],
    };
    let mut checker_list = Vec::new();
    for name in &checker_names {
        let made = checkers::named(name.get_ref(), liveness_bound_ms).ok_or_else(|| {
            at.error(
                name.span(),
                "checkers",
                format!("unknown checker `{}`; known: {}", name.get_ref(), checkers::known_names().join(", ")),
            )
        })?;
        checker_list.extend(made.iter().map(|c| c.name()));
    }
    checker_list.dedup();
    let expectation = match &raw.expect {
        None => Expectation::Pass,
        Some(e) if e.get_ref() == "pass" => Expectation::Pass,
        Some(e) => {
            let checker = e
                .get_ref()
                .strip_prefix("violation:")
                .ok_or_else(|| at.error(e.span(), "expect", "`pass` or `violation:CHECKER`"))?;
            let known = checker_list.iter().find(|c| **c == checker).ok_or_else(|| {
                at.error(
                    e.span(),
                    "expect",
                    format!("expects a violation of `{checker}`, a checker the scenario does not run"),
                )
            })?;
            Expectation::Violation(known)
        }
    };

    let cluster = cluster(&at, &raw)?;
    let topics = topics(&at, &raw, &cluster)?;
    let faults = match &raw.faults {
        None => ScenarioFaults::None,
        Some(f) => faults(&at, f, &cluster, &topics)?,
    };
    let latency = match &raw.network {
        Some(n) => {
            let (lo, hi) = at.value(&n.get_ref().latency, "network.latency", unsigned_duration_range_ms)?;
            Some((Duration::from_millis(lo), Duration::from_millis(hi)))
        }
        None => None,
    };
    Ok(FileScenario {
        path: path.to_path_buf(),
        buggify: raw.buggify.as_ref().is_some_and(|b| *b.get_ref()),
        name,
        story,
        expectation,
        checker_names: checker_names.into_iter().map(Spanned::into_inner).collect(),
        liveness_bound_ms,
        time_limit,
        cluster,
        topics,
        faults,
        after_faults_ms,
        settle_ms,
        latency,
    })
}

/// Turns spans into file positions.
struct Locator<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Locator<'_> {
    fn error(&self, span: Range<usize>, key: &str, message: impl Into<String>) -> FileError {
        FileError::at(self.path, self.text, span.start, key, message)
    }

    /// Parses a spanned string with `parse`, its error tied to `key`.
    fn value<T>(
        &self,
        v: &Spanned<String>,
        key: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<T, FileError> {
        parse(v.get_ref()).map_err(|e| self.error(v.span(), key, e))
    }

    /// A count that must lie in `range`.
    fn count(&self, v: &Spanned<i64>, key: &str, range: Range<i64>) -> Result<i64, FileError> {
        let n = *v.get_ref();
        if range.contains(&n) {
            Ok(n)
        } else {
            Err(self.error(v.span(), key, format!("{n} is outside {}..{}", range.start, range.end - 1)))
        }
    }
}

/// Kafka config pairs from a TOML table (strings, numbers and booleans as Kafka writes them).
fn config_pairs(
    at: &Locator,
    table: &BTreeMap<Spanned<String>, ConfigValue>,
    key: &str,
) -> Result<Vec<(String, String, Range<usize>)>, FileError> {
    table
        .iter()
        .map(|(k, v)| {
            let text = match v.get_ref() {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => f.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                _ => {
                    return Err(at.error(
                        v.span(),
                        &format!("{key}.{}", k.get_ref()),
                        "a config value is a string, number or boolean",
                    ))
                }
            };
            Ok((k.get_ref().clone(), text, k.span()))
        })
        .collect()
}

fn cluster(at: &Locator, raw: &RawScenario) -> Result<ClusterSpec, FileError> {
    let c = raw.cluster.get_ref();
    let brokers = at.count(&c.brokers, "cluster.brokers", 1..10)? as usize;
    let controllers = match &c.controllers {
        Some(n) => at.count(n, "cluster.controllers", 0..10)? as usize,
        None => 0,
    };
    let disk_faults = match c.disk.as_ref().map(|d| (d.get_ref().as_str(), d.span())) {
        None | Some(("typical", _)) => MemDiskFaults { read_error_rate: 0.0, ..MemDiskFaults::typical() },
        Some(("none", _)) => MemDiskFaults::none(),
        Some((other, span)) => {
            return Err(at.error(span, "cluster.disk", format!("`{other}`: the disk is `typical` or `none`")));
        }
    };
    let pairs = config_pairs(at, &c.config, "cluster.config")?;
    check_config(at, &pairs, &[], "cluster.config")?;
    let overrides: Vec<(String, String)> = pairs.iter().map(|(k, v, _)| (k.clone(), v.clone())).collect();
    let mut node_overrides = BTreeMap::new();
    for (name, node) in &c.nodes {
        let n = name.get_ref();
        let known = (1..=brokers).map(|i| format!("b{i}")).chain((1..=controllers).map(|i| format!("c{i}")));
        if !known.clone().any(|k| &k == n) {
            let known: Vec<String> = known.collect();
            return Err(at.error(
                name.span(),
                &format!("cluster.nodes.{n}"),
                format!("no node `{n}` in this cluster (nodes: {})", known.join(", ")),
            ));
        }
        let key = format!("cluster.nodes.{n}.config");
        let pairs = config_pairs(at, &node.get_ref().config, &key)?;
        check_config(at, &pairs, &overrides, &key)?;
        node_overrides.insert(n.clone(), pairs.into_iter().map(|(k, v, _)| (k, v)).collect());
    }
    Ok(ClusterSpec { brokers, controllers, overrides, node_overrides, disk_faults })
}

/// Each pair, added to `base`, must make a valid node config; an error names its key.
fn check_config(
    at: &Locator,
    pairs: &[(String, String, Range<usize>)],
    base: &[(String, String)],
    key: &str,
) -> Result<(), FileError> {
    for (k, v, span) in pairs {
        let mut all = base.to_vec();
        all.push((k.clone(), v.clone()));
        check_overrides(&all).map_err(|e| at.error(span.clone(), &format!("{key}.{k}"), e.to_string()))?;
    }
    Ok(())
}

fn topics(at: &Locator, raw: &RawScenario, cluster: &ClusterSpec) -> Result<Vec<(NewTopic, Workload)>, FileError> {
    let mut topics: Vec<(NewTopic, Workload)> = Vec::new();
    for (i, t) in raw.topics.iter().enumerate() {
        let t = t.get_ref();
        let key = |k: &str| format!("topics[{i}].{k}");
        let name = t.name.get_ref().clone();
        seedlog::broker::topics::validate_topic_name(&name)
            .map_err(|e| at.error(t.name.span(), &key("name"), e.to_string()))?;
        if topics.iter().any(|(nt, _)| nt.name == name) {
            return Err(at.error(t.name.span(), &key("name"), format!("topic `{name}` is declared twice")));
        }
        let partitions = at.count(&t.partitions, &key("partitions"), 1..1_001)? as i32;
        let replication_factor =
            at.count(&t.replication_factor, &key("replication_factor"), 1..cluster.brokers as i64 + 1)? as i16;
        let pairs = config_pairs(at, &t.config, &key("config"))?;
        let broker = check_overrides_config();
        for (k, v, span) in &pairs {
            TopicConfig::validate_and_build(&broker, [(k.clone(), Some(v.clone()))])
                .map_err(|e| at.error(span.clone(), &key(&format!("config.{k}")), e.to_string()))?;
        }
        let configs = pairs.into_iter().map(|(k, v, _)| (k, v)).collect();
        let topic =
            NewTopic { name, partitions: Some(partitions), replication_factor: Some(replication_factor), configs };
        topics.push((topic, Workload { producers: Vec::new(), consumers: 0 }));
    }
    let find = |topics: &[(NewTopic, Workload)], name: &Spanned<String>, key: &str| {
        topics.iter().position(|(t, _)| t.name == *name.get_ref()).ok_or_else(|| {
            at.error(
                name.span(),
                key,
                format!("`{}` is not a topic of this scenario (declare it in [[topics]])", name.get_ref()),
            )
        })
    };
    for (i, p) in raw.producers.iter().enumerate() {
        let p = p.get_ref();
        let key = |k: &str| format!("producers[{i}].{k}");
        let topic = find(&topics, &p.topic, &key("topic"))?;
        let count = p.count.as_ref().map_or(Ok(1), |c| at.count(c, &key("count"), 1..17))? as usize;
        let acks = match p.acks.as_ref().map(|a| (a.get_ref().as_str(), a.span())) {
            None | Some(("all" | "-1", _)) => -1,
            Some(("1", _)) => 1,
            Some(("0", _)) => 0,
            Some((other, span)) => {
                return Err(at.error(span, &key("acks"), format!("`{other}`: acks is \"0\", \"1\" or \"all\"")))
            }
        };
        let idempotence = p.idempotence.as_ref().map_or(acks == -1, |i| *i.get_ref());
        if idempotence && acks != -1 {
            let span = p.idempotence.as_ref().map_or(p.topic.span(), |i| i.span());
            return Err(at.error(span, &key("idempotence"), "an idempotent producer needs acks = \"all\""));
        }
        let rate_per_s =
            p.rate.as_ref().map(|r| at.count(r, &key("rate"), 1..1_000_001)).transpose()?.map(|r| r as u32);
        let keys = match &p.keys {
            None => Keys::Cycle(17),
            Some(k) => at.value(k, &key("keys"), parse_keys)?,
        };
        let record_bytes = match &p.record_bytes {
            None => (0, 0),
            Some(r) => {
                let (lo, hi) = at.value(r, &key("record_bytes"), count_range)?;
                if hi > 1 << 20 {
                    return Err(at.error(r.span(), &key("record_bytes"), "records are at most 1 MiB here"));
                }
                (lo as usize, hi as usize)
            }
        };
        let spec = ProducerSpec { acks, idempotence, rate_per_s, keys, record_bytes };
        topics[topic].1.producers.extend(std::iter::repeat_n(spec, count));
    }
    for (i, c) in raw.consumers.iter().enumerate() {
        let c = c.get_ref();
        let key = |k: &str| format!("consumers[{i}].{k}");
        let topic = find(&topics, &c.topic, &key("topic"))?;
        if let Some(mode) = c.mode.as_ref().filter(|m| m.get_ref() != "assign") {
            let message = if mode.get_ref() == "group" {
                "`group`: consumer groups are not built yet; use `assign`".to_string()
            } else {
                format!("`{}`: mode is `assign` or `group`", mode.get_ref())
            };
            return Err(at.error(mode.span(), &key("mode"), message));
        }
        if let Some(isolation) = c.isolation.as_ref().filter(|m| m.get_ref() != "read_uncommitted") {
            let message = if isolation.get_ref() == "read_committed" {
                "`read_committed`: transactions are not built yet; use `read_uncommitted`".to_string()
            } else {
                format!("`{}`: isolation is `read_uncommitted` or `read_committed`", isolation.get_ref())
            };
            return Err(at.error(isolation.span(), &key("isolation"), message));
        }
        topics[topic].1.consumers += c.count.as_ref().map_or(Ok(1), |n| at.count(n, &key("count"), 1..17))? as usize;
    }
    for (i, (topic, workload)) in topics.iter().enumerate() {
        if workload.producers.is_empty() {
            let span = raw.topics[i].get_ref().name.span();
            return Err(at.error(
                span,
                &format!("topics[{i}]"),
                format!("topic `{}` has no producer (its producers create it); add a [[producers]] entry", topic.name),
            ));
        }
    }
    Ok(topics)
}

/// A broker config to check topic configs against.
fn check_overrides_config() -> seedlog::broker::config::BrokerConfig {
    let ip = std::net::IpAddr::from([10, 0, 0, 1]);
    crate::cluster::node_config(1, "broker,controller", ip, &format!("1@{ip}:9093"), &[])
        .expect("the base config is valid")
}

fn parse_keys(text: &str) -> Result<Keys, String> {
    let count = |n: &str| n.parse::<u32>().ok().filter(|n| *n > 0).ok_or_else(|| format!("`{n}` is not a key count"));
    match text.split_once(':') {
        None if text == "none" => Ok(Keys::None),
        Some(("cycle", n)) => Ok(Keys::Cycle(count(n)?)),
        Some(("uniform", n)) => Ok(Keys::Uniform(count(n)?)),
        Some(("hot", n)) => Ok(Keys::Hot(count(n)?)),
        _ => Err(format!("`{text}`: keys are `none`, `cycle:N`, `uniform:N` or `hot:N`")),
    }
}

fn faults(
    at: &Locator,
    raw: &Spanned<RawFaults>,
    cluster: &ClusterSpec,
    topics: &[(NewTopic, Workload)],
) -> Result<ScenarioFaults, FileError> {
    let f = raw.get_ref();
    match (&f.script, &f.swarm) {
        (Some(_), Some(swarm)) => {
            Err(at.error(swarm.span(), "faults.swarm", "a scenario has a script or a swarm, not both"))
        }
        (None, None) => Err(at.error(raw.span(), "faults", "give [[faults.script]] steps or a [faults.swarm] table")),
        (Some(steps), None) => {
            let steps = steps
                .iter()
                .enumerate()
                .map(|(i, step)| script_step(at, i, step.get_ref(), cluster, topics))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(ScenarioFaults::Script(steps))
        }
        (None, Some(swarm)) => Ok(ScenarioFaults::Swarm(swarm_spec(at, swarm.get_ref(), topics)?)),
    }
}

fn script_step(
    at: &Locator,
    i: usize,
    s: &RawStep,
    cluster: &ClusterSpec,
    topics: &[(NewTopic, Workload)],
) -> Result<ScriptStep, FileError> {
    let key = |k: &str| format!("faults.script[{i}].{k}");
    let at_ms = at.value(&s.at, &key("at"), unsigned_duration_range_ms)?;
    let action = s.action.get_ref().as_str();
    // Which arguments the action takes; any other given is an error.
    let takes: &[&str] = match action {
        "kill" | "restart" | "pause" | "resume" | "heal_disk" => &["node"],
        "partition" => &["groups"],
        "cut" => &["from", "to"],
        "lag" => &["from", "to", "delay"],
        "heal" => &[],
        "clock_jump" => &["node", "by"],
        "clock_skew" => &["node", "skew"],
        "fail_fsyncs" | "corrupt_reads" => &["node", "rate"],
        "fill_disk" => &["node", "free_bytes"],
        "await_convergence" => &["bound"],
        "kill_during_fsync" => &["node", "delay_us"],
        "cut_after_fetch_answer" => &["node"],
        "restart_at_election_start" => &[],
        other => {
            return Err(at.error(
                s.action.span(),
                &key("action"),
                format!("unknown action `{other}`; actions: {}", Fault::ACTIONS.join(", ")),
            ))
        }
    };
    let given: [(&str, Option<Range<usize>>); 11] = [
        ("node", s.node.as_ref().map(|v| v.span())),
        ("from", s.from.as_ref().map(|v| v.span())),
        ("to", s.to.as_ref().map(|v| v.span())),
        ("groups", s.groups.as_ref().map(|v| v.span())),
        ("delay", s.delay.as_ref().map(|v| v.span())),
        ("by", s.by.as_ref().map(|v| v.span())),
        ("skew", s.skew.as_ref().map(|v| v.span())),
        ("rate", s.rate.as_ref().map(|v| v.span())),
        ("free_bytes", s.free_bytes.as_ref().map(|v| v.span())),
        ("bound", s.bound.as_ref().map(|v| v.span())),
        ("delay_us", s.delay_us.as_ref().map(|v| v.span())),
    ];
    for (name, span) in &given {
        match (takes.contains(name), span) {
            (false, Some(span)) => {
                return Err(at.error(span.clone(), &key(name), format!("`{action}` takes no `{name}`")));
            }
            (true, None) => {
                return Err(at.error(s.action.span(), &key(name), format!("`{action}` needs `{name}`")));
            }
            _ => {}
        }
    }
    let target = |v: &Option<Spanned<String>>, name: &str| -> Result<Target, FileError> {
        let v = v.as_ref().expect("checked above");
        let t = at.value(v, &key(name), |text| text.parse::<Target>())?;
        if t == Target::Rest {
            return Err(at.error(v.span(), &key(name), "`rest` names a group of a partition only"));
        }
        check_target(&t, cluster, topics).map_err(|e| at.error(v.span(), &key(name), e))?;
        Ok(t)
    };
    let rate = |v: &Option<Spanned<f64>>| -> Result<f64, FileError> {
        let v = v.as_ref().expect("checked above");
        let r = *v.get_ref();
        if (0.0..=1.0).contains(&r) {
            Ok(r)
        } else {
            Err(at.error(v.span(), &key("rate"), format!("{r} is not a share (0 to 1)")))
        }
    };
    let ms = |v: &Option<Spanned<String>>, name: &str, signed: bool| -> Result<i64, FileError> {
        at.value(v.as_ref().expect("checked above"), &key(name), |t| duration_ms(t, signed))
    };
    let fault = match action {
        "kill" => Fault::Kill { node: target(&s.node, "node")? },
        "restart" => Fault::Restart { node: target(&s.node, "node")? },
        "pause" => Fault::Pause { node: target(&s.node, "node")? },
        "resume" => Fault::Resume { node: target(&s.node, "node")? },
        "heal_disk" => Fault::HealDisk { node: target(&s.node, "node")? },
        "partition" => {
            let groups = s.groups.as_ref().expect("checked above");
            if groups.get_ref().len() < 2 || groups.get_ref().iter().any(Vec::is_empty) {
                return Err(at.error(groups.span(), &key("groups"), "a partition has at least two non-empty groups"));
            }
            let mut out = Vec::new();
            for group in groups.get_ref() {
                let mut targets = Vec::new();
                for t in group {
                    let target = at.value(t, &key("groups"), |text| text.parse::<Target>())?;
                    check_target(&target, cluster, topics).map_err(|e| at.error(t.span(), &key("groups"), e))?;
                    targets.push(target);
                }
                out.push(targets);
            }
            Fault::Partition { groups: out }
        }
        "cut" => Fault::Cut { from: target(&s.from, "from")?, to: target(&s.to, "to")? },
        "lag" => Fault::Lag {
            from: target(&s.from, "from")?,
            to: target(&s.to, "to")?,
            delay: Duration::from_millis(ms(&s.delay, "delay", false)? as u64),
        },
        "heal" => Fault::Heal,
        "clock_jump" => Fault::ClockJump { node: target(&s.node, "node")?, delta_ms: ms(&s.by, "by", true)? },
        "clock_skew" => Fault::ClockSkew { node: target(&s.node, "node")?, skew_ms: ms(&s.skew, "skew", true)? },
        "fail_fsyncs" => Fault::FailFsyncs { node: target(&s.node, "node")?, rate: rate(&s.rate)? },
        "corrupt_reads" => Fault::CorruptReads { node: target(&s.node, "node")?, rate: rate(&s.rate)? },
        "fill_disk" => {
            let v = s.free_bytes.as_ref().expect("checked above");
            let free = at.count(v, &key("free_bytes"), 0..i64::MAX)? as u64;
            Fault::FillDisk { node: target(&s.node, "node")?, free_bytes: free }
        }
        "await_convergence" => {
            Fault::AwaitConvergence { bound: Duration::from_millis(ms(&s.bound, "bound", false)? as u64) }
        }
        "kill_during_fsync" => {
            let v = s.delay_us.as_ref().expect("checked above");
            let delay_us = at.count(v, &key("delay_us"), 0..1_000_001)? as u64;
            Fault::KillDuringFsync { node: target(&s.node, "node")?, delay_us }
        }
        "cut_after_fetch_answer" => Fault::CutAfterFetchAnswer { node: target(&s.node, "node")? },
        "restart_at_election_start" => Fault::RestartAtElectionStart,
        _ => unreachable!("actions checked above"),
    };
    Ok(ScriptStep { at_ms, fault })
}

/// A target names a node of the cluster, or a partition of a declared topic.
fn check_target(target: &Target, cluster: &ClusterSpec, topics: &[(NewTopic, Workload)]) -> Result<(), String> {
    if let Some(node) = target.node() {
        let n: usize = node[1..].parse().unwrap_or(0);
        let exists = if node.starts_with('b') { n <= cluster.brokers } else { n <= cluster.controllers };
        if !exists {
            return Err(format!("no node `{node}` in this cluster"));
        }
    }
    if let Some((topic, partition)) = target.partition() {
        match topics.iter().find(|(t, _)| t.name == topic) {
            None => return Err(format!("`{target}`: no topic `{topic}` in this scenario")),
            Some((t, _)) if partition >= t.partitions.unwrap_or(0) => {
                return Err(format!("`{target}`: topic `{topic}` has no partition {partition}"))
            }
            Some(_) => {}
        }
    }
    Ok(())
}

fn swarm_spec(at: &Locator, s: &RawSwarm, topics: &[(NewTopic, Workload)]) -> Result<SwarmSpec, FileError> {
    let mut spec = SwarmSpec::default();
    if let Some(v) = &s.start {
        spec.start_ms = at.value(v, "faults.swarm.start", |t| duration_ms(t, false))? as u64;
    }
    if let Some(v) = &s.steps {
        spec.steps = at.value(v, "faults.swarm.steps", count_range)?;
    }
    if let Some(v) = &s.gap {
        spec.gap_ms = at.value(v, "faults.swarm.gap", unsigned_duration_range_ms)?;
    }
    if let Some(v) = &s.mix {
        spec.mix = *v.get_ref();
    }
    if !s.weights.is_empty() {
        spec.weights = [0; KINDS.len()];
        for (kind, weight) in &s.weights {
            let key = format!("faults.swarm.weights.{}", kind.get_ref());
            let w = at.count(weight, &key, 0..1_001)? as u32;
            *spec.weight_mut(kind.get_ref()).ok_or_else(|| {
                at.error(kind.span(), &key, format!("unknown fault kind; kinds: {}", KINDS.join(", ")))
            })? = w;
        }
        if spec.weights.iter().all(|w| *w == 0) {
            let span = s.weights.keys().next().map_or(0..0, |k| k.span());
            return Err(at.error(span, "faults.swarm.weights", "every weight is 0: the swarm would draw no fault"));
        }
    }
    if let Some(v) = &s.restart_after {
        spec.restart_after_ms = Some(at.value(v, "faults.swarm.restart_after", unsigned_duration_range_ms)?);
    }
    if let Some(v) = &s.heal_after {
        spec.heal_after_ms = Some(at.value(v, "faults.swarm.heal_after", unsigned_duration_range_ms)?);
    }
    if let Some(v) = &s.lag {
        spec.lag_ms = at.value(v, "faults.swarm.lag", unsigned_duration_range_ms)?;
    }
    if let Some(v) = &s.clock_jump {
        spec.clock_jump_ms = at.value(v, "faults.swarm.clock_jump", |t| duration_range_ms(t, true))?;
    }
    if let Some(v) = &s.fsync_error_rate {
        let r = *v.get_ref();
        if !(0.0..=1.0).contains(&r) {
            return Err(at.error(v.span(), "faults.swarm.fsync_error_rate", format!("{r} is not a share (0 to 1)")));
        }
        spec.fsync_error_rate = r;
    }
    let leaders_of = match &s.leaders_of {
        Some(v) => Some((v.get_ref().clone(), v.span())),
        None => topics.first().map(|(t, _)| (t.name.clone(), 0..0)),
    };
    if let Some((topic, span)) = leaders_of {
        let t = topics.iter().find(|(t, _)| t.name == topic).ok_or_else(|| {
            at.error(span, "faults.swarm.leaders_of", format!("`{topic}` is not a topic of this scenario"))
        })?;
        spec.leader_of = Some((topic, t.0.partitions.unwrap_or(1)));
    }
    Ok(spec)
}
