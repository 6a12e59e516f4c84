//! The KRaft settings: which roles a node plays (`process.roles`), who the controller quorum
//! is (`controller.quorum.voters`), the quorum's timers (REPLICATION.md §1.6) and the
//! broker-session timers (§2.3), under Kafka's keys and defaults.
//!
//! Decision: without `process.roles` a node is a *standalone* broker, seedlog's single
//! broker that keeps topic metadata in its own log directory (what runs on built-in
//! defaults). With it, the node is part of a KRaft cluster and every rule Kafka checks
//! between these keys is checked here, each refusal naming the key.

use std::fmt;

use super::listeners::Listener;
use super::values::parse_int;
use super::{ConfigError, Reader};

/// The roles of a node in a KRaft cluster.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProcessRoles {
    pub broker: bool,
    pub controller: bool,
}

impl ProcessRoles {
    /// A standalone broker (no `process.roles`).
    pub fn is_standalone(&self) -> bool {
        !self.broker && !self.controller
    }
}

impl fmt::Display for ProcessRoles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.broker, self.controller) {
            (true, true) => f.write_str("broker,controller"),
            (true, false) => f.write_str("broker"),
            (false, true) => f.write_str("controller"),
            (false, false) => f.write_str("standalone"),
        }
    }
}

/// One entry of `controller.quorum.voters`: `id@host:port`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuorumVoter {
    pub id: i32,
    pub host: String,
    pub port: u16,
}

impl fmt::Display for QuorumVoter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}:{}", self.id, self.host, self.port)
    }
}

/// The KRaft part of a node's configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KraftConfig {
    /// `process.roles`: `broker`, `controller`, or both. Unset: a standalone broker.
    pub process_roles: ProcessRoles,
    /// `controller.quorum.voters`, in the order given.
    pub quorum_voters: Vec<QuorumVoter>,
    /// `controller.quorum.election.timeout.ms`. Default 1000.
    pub election_timeout_ms: i64,
    /// `controller.quorum.fetch.timeout.ms`. Default 2000.
    pub fetch_timeout_ms: i64,
    /// `controller.quorum.election.backoff.max.ms`. Default 1000.
    pub election_backoff_max_ms: i64,
    /// `controller.quorum.request.timeout.ms`. Default 2000.
    pub request_timeout_ms: i64,
    /// `controller.quorum.retry.backoff.ms`. Default 20.
    pub retry_backoff_ms: i64,
    /// `controller.quorum.append.linger.ms`. Default 25.
    pub append_linger_ms: i64,
    /// `broker.session.timeout.ms`. Default 9000.
    pub broker_session_timeout_ms: i64,
    /// `broker.heartbeat.interval.ms`. Default 2000.
    pub broker_heartbeat_interval_ms: i64,
    /// `eligible.leader.replicas.enable` (KIP-966). Default true, as for new Kafka 4.1
    /// clusters (docs/controller.md).
    pub eligible_leader_replicas_enable: bool,
    /// `metadata.log.max.record.bytes.between.snapshots`: a node snapshots its metadata image
    /// once this many bytes of records were applied since its last snapshot. Default 20 MiB,
    /// at least 1.
    pub max_record_bytes_between_snapshots: i64,
    /// `metadata.log.max.snapshot.interval.ms`: or once this long passed since it with new
    /// records applied. Default 1 h; 0 turns the time limit off.
    pub max_snapshot_interval_ms: i64,
}

impl KraftConfig {
    /// The id of the cluster this node belongs to, for a KRaft cluster: derived from the
    /// voters, so every node configured with the same quorum agrees on it without a
    /// separate format step (Kafka's `kafka-storage format --cluster-id`). A standalone
    /// broker draws its own at first start (`None` here).
    pub fn cluster_id(&self) -> Option<String> {
        if self.process_roles.is_standalone() {
            return None;
        }
        let voters: Vec<String> = self.quorum_voters.iter().map(|v| v.to_string()).collect();
        let text = format!("seedlog cluster of {}", voters.join(","));
        let mut bytes = [0u8; 16];
        for (salt, chunk) in bytes.chunks_mut(4).enumerate() {
            chunk.copy_from_slice(&crc32c::crc32c_append(salt as u32, text.as_bytes()).to_be_bytes());
        }
        Some(uuid::Builder::from_random_bytes(bytes).into_uuid().simple().to_string())
    }

    /// Whether `node_id` is one of the voters.
    pub fn is_voter(&self, node_id: i32) -> bool {
        self.quorum_voters.iter().any(|v| v.id == node_id)
    }
}

/// Reads the KRaft keys and checks them against the node id and the listeners.
pub(super) fn read_kraft(
    r: &mut Reader,
    node_id: i32,
    listeners: &[Listener],
    controller_listener_names: &[String],
) -> Result<KraftConfig, ConfigError> {
    let process_roles = r.parse("process.roles", parse_roles)?.unwrap_or_default();
    let mut quorum_voters = r.parse("controller.quorum.voters", parse_voters)?.unwrap_or_default();
    let bootstrap = r.parse("controller.quorum.bootstrap.servers", parse_bootstrap_servers)?;
    if let (true, Some(servers)) = (quorum_voters.is_empty(), bootstrap) {
        quorum_voters = standalone_quorum(node_id, process_roles, &servers, listeners, controller_listener_names)?;
    }
    let ms = |r: &mut Reader, key: &str, default: i64| r.int(key, default, 0, i64::from(i32::MAX));
    let config = KraftConfig {
        process_roles,
        election_timeout_ms: ms(r, "controller.quorum.election.timeout.ms", 1000)?,
        fetch_timeout_ms: ms(r, "controller.quorum.fetch.timeout.ms", 2000)?,
        election_backoff_max_ms: ms(r, "controller.quorum.election.backoff.max.ms", 1000)?,
        request_timeout_ms: ms(r, "controller.quorum.request.timeout.ms", 2000)?,
        retry_backoff_ms: ms(r, "controller.quorum.retry.backoff.ms", 20)?,
        append_linger_ms: ms(r, "controller.quorum.append.linger.ms", 25)?,
        broker_session_timeout_ms: ms(r, "broker.session.timeout.ms", 9000)?,
        broker_heartbeat_interval_ms: ms(r, "broker.heartbeat.interval.ms", 2000)?,
        eligible_leader_replicas_enable: r.bool("eligible.leader.replicas.enable", true)?,
        max_record_bytes_between_snapshots: r.int(
            "metadata.log.max.record.bytes.between.snapshots",
            20 * 1024 * 1024,
            1,
            i64::MAX,
        )?,
        max_snapshot_interval_ms: r.int("metadata.log.max.snapshot.interval.ms", 3_600_000, 0, i64::MAX)?,
        quorum_voters,
    };
    check_roles(&config, node_id, listeners, controller_listener_names)?;
    Ok(config)
}

fn check_roles(
    config: &KraftConfig,
    node_id: i32,
    listeners: &[Listener],
    controller_listener_names: &[String],
) -> Result<(), ConfigError> {
    let roles = config.process_roles;
    if roles.is_standalone() {
        if !config.quorum_voters.is_empty() {
            return Err(ConfigError::invalid(
                "process.roles",
                "`controller.quorum.voters` is set, so this node is in a KRaft cluster: say whether it is a broker, a controller or both",
            ));
        }
        return Ok(());
    }
    if config.quorum_voters.is_empty() {
        return Err(ConfigError::invalid(
            "controller.quorum.voters",
            format!("a node with process.roles={roles} needs the controller quorum, as id@host:port,…"),
        ));
    }
    let is_voter = config.is_voter(node_id);
    if roles.controller && !is_voter {
        return Err(ConfigError::invalid(
            "controller.quorum.voters",
            format!("node.id {node_id} has the controller role but is not one of the voters"),
        ));
    }
    if !roles.controller && is_voter {
        return Err(ConfigError::invalid(
            "controller.quorum.voters",
            format!("node.id {node_id} is a voter but process.roles={roles} has no controller role"),
        ));
    }
    let first_controller_listener = controller_listener_names.first();
    if roles.controller {
        let Some(name) = first_controller_listener else {
            return Err(ConfigError::invalid("controller.listener.names", "a controller needs a controller listener"));
        };
        if !listeners.iter().any(|l| &l.name == name) {
            return Err(ConfigError::invalid(
                "listeners",
                format!("the controller listener {name} (controller.listener.names) is not among the listeners"),
            ));
        }
    } else if first_controller_listener.is_none() {
        return Err(ConfigError::invalid(
            "controller.listener.names",
            "a broker needs the name of the controllers' listener to reach the quorum",
        ));
    }
    let serves_clients = listeners.iter().any(|l| !controller_listener_names.contains(&l.name));
    if roles.broker && !serves_clients {
        return Err(ConfigError::invalid("listeners", "a broker needs a listener that is not a controller listener"));
    }
    if !roles.broker && serves_clients {
        return Err(ConfigError::invalid(
            "listeners",
            "a controller-only node may only have controller listeners (controller.listener.names)",
        ));
    }
    Ok(())
}

/// Kafka 4's sample config names its quorum by `controller.quorum.bootstrap.servers`
/// (KIP-853's dynamic quorum, formatted `--standalone`). seedlog's quorum is static, so it
/// takes that form only for the single-node case: one bootstrap server that is this
/// controller's own listener, which makes this node the only voter.
fn standalone_quorum(
    node_id: i32,
    roles: ProcessRoles,
    servers: &[(String, u16)],
    listeners: &[Listener],
    controller_listener_names: &[String],
) -> Result<Vec<QuorumVoter>, ConfigError> {
    let own_port = listeners.iter().find(|l| controller_listener_names.contains(&l.name)).map(|l| l.port);
    match servers {
        [(host, port)] if roles.controller && own_port == Some(*port) => {
            Ok(vec![QuorumVoter { id: node_id, host: host.clone(), port: *port }])
        }
        _ => Err(ConfigError::invalid(
            "controller.quorum.bootstrap.servers",
            "dynamic controller quorums (KIP-853) are not supported: list the voters in controller.quorum.voters",
        )),
    }
}

fn parse_bootstrap_servers(raw: &str) -> Result<Vec<(String, u16)>, String> {
    raw.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|entry| {
            let (host, port) = entry.rsplit_once(':').ok_or_else(|| format!("`{entry}` is not host:port"))?;
            let port = parse_int(port, 1, u16::MAX.into()).map_err(|e| format!("`{entry}`: port {e}"))? as u16;
            Ok((host.to_string(), port))
        })
        .collect()
}

fn parse_roles(raw: &str) -> Result<ProcessRoles, String> {
    let mut roles = ProcessRoles::default();
    for role in raw.split(',').map(str::trim) {
        match role {
            "broker" if !roles.broker => roles.broker = true,
            "controller" if !roles.controller => roles.controller = true,
            "broker" | "controller" => return Err(format!("`{role}` is listed twice")),
            other => return Err(format!("unknown role `{other}`; expected broker, controller, or both")),
        }
    }
    Ok(roles)
}

fn parse_voters(raw: &str) -> Result<Vec<QuorumVoter>, String> {
    let mut voters: Vec<QuorumVoter> = Vec::new();
    for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let bad = || format!("`{entry}` is not id@host:port");
        let (id, address) = entry.split_once('@').ok_or_else(bad)?;
        let (host, port) = address.rsplit_once(':').ok_or_else(bad)?;
        let id = parse_int(id, 0, i32::MAX.into()).map_err(|e| format!("`{entry}`: node id {e}"))? as i32;
        let port = parse_int(port, 1, u16::MAX.into()).map_err(|e| format!("`{entry}`: port {e}"))? as u16;
        let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
        if host.is_empty() {
            return Err(bad());
        }
        if voters.iter().any(|v| v.id == id) {
            return Err(format!("node id {id} is listed twice"));
        }
        voters.push(QuorumVoter { id, host, port });
    }
    if voters.is_empty() {
        return Err("expected at least one voter, as id@host:port".to_string());
    }
    Ok(voters)
}
