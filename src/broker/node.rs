//! `Node::build(env)`: the one way to build a broker, in production and in the simulator.
//!
//! The environment hands in everything that touches the world — the disk, the wall clock,
//! a seeded random source — and the node builds the rest: it recovers its logs, binds its
//! listener (real TCP on tokio, simulated TCP in madsim) and serves until told to stop,
//! running the periodic flush and retention work alongside.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tracing::{error, info, warn};

use super::clean_shutdown;
use super::config::BrokerConfig;
use super::connection;
use super::context::BrokerContext;
use super::meta_properties;
use super::producer_ids::ProducerIds;
use super::replica_manager::ReplicaManager;
use super::topics::{TopicError, Topics};
use crate::cluster::cluster_node::{broker_side, BrokerSide, ClusterNode};
use crate::runtime::{Clock, Disk, FaultPoints, NodeRng};

/// What a node is built from.
pub struct NodeEnv {
    pub config: BrokerConfig,
    pub disk: Arc<dyn Disk>,
    pub clock: Clock,
    pub rng: NodeRng,
    /// Where the simulator may hold work on this node; `FaultPoints::default()` elsewhere
    /// (in the production build it can never hold anything).
    pub fault_points: FaultPoints,
}

/// Why a node could not start.
#[derive(Debug)]
pub enum NodeError {
    Storage(String),
    Listen(std::io::Error),
    Config(String),
}

impl std::fmt::Display for NodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NodeError::Storage(e) => write!(f, "cannot open the logs: {e}"),
            NodeError::Listen(e) => write!(f, "cannot listen: {e}"),
            NodeError::Config(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for NodeError {}

impl From<TopicError> for NodeError {
    fn from(e: TopicError) -> Self {
        NodeError::Storage(e.message().to_string())
    }
}

impl From<std::io::Error> for NodeError {
    fn from(e: std::io::Error) -> Self {
        NodeError::Storage(e.to_string())
    }
}

/// How a node's run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeExit {
    /// `shutdown` resolved: a clean stop.
    Shutdown,
    /// A cluster broker whose log directory failed stops at once, as Kafka's does when its
    /// last log dir goes offline: its replicas must not linger as leaders of logs that can
    /// no longer be written; the controller fences it and moves leadership, and a
    /// supervisor restarts it, which recovers from what is durable.
    Halted(String),
}

/// A running node: a broker (standalone, or in a cluster), a controller, or both.
pub struct Node {
    /// The broker's shared state and client listener (none on a controller-only node).
    broker: Option<(Arc<BrokerContext>, TcpListener)>,
    /// The cluster half (none on a standalone broker).
    cluster: Option<(ClusterNode, Option<BrokerSide>)>,
    node_id: i32,
}

impl Node {
    /// Formats or checks the log directory, recovers the logs in `log.dirs`, opens the
    /// metadata log of a cluster node, and binds the first broker listener.
    pub async fn build(env: NodeEnv) -> Result<Node, NodeError> {
        let NodeEnv { config, disk, clock, mut rng, fault_points } = env;
        let in_cluster = is_cluster_node(&config);
        let log_dir = config.log_dir().to_path_buf();
        disk.create_dir_all(&log_dir).await?;
        let expected_cluster_id = config.kraft.cluster_id();
        let meta = meta_properties::load_or_format(
            disk.as_ref(),
            &log_dir,
            config.node_id,
            expected_cluster_id.as_deref(),
            &mut rng,
        )
        .await
        .map_err(|e| NodeError::Config(e.to_string()))?;
        let cluster_id = meta.cluster_id;
        let node_id = config.node_id;
        let cluster = match in_cluster {
            true => Some(ClusterNode::open(&config, disk.clone(), &mut rng).await.map_err(NodeError::Config)?),
            false => None,
        };
        let is_broker = config.kraft.process_roles.broker || !in_cluster;
        if !is_broker {
            info!(name: "controller_started", node_id);
            return Ok(Node { broker: None, cluster: cluster.map(|c| (c, None)), node_id });
        }
        let listener_config =
            config.broker_listeners().next().cloned().ok_or_else(|| NodeError::Config("no broker listener".into()))?;
        let config = Arc::new(config);
        // Taken before the logs load (as Kafka does): a crash from here on is unclean.
        let previous_broker_epoch = match in_cluster {
            true => clean_shutdown::take(disk.as_ref(), &log_dir).await?,
            false => None,
        };
        let topics = Arc::new(
            Topics::load(
                fault_points.storage_disk(disk.clone()),
                config.clone(),
                clock.clone(),
                crate::runtime::fork(&mut rng),
                !in_cluster,
            )
            .await?,
        );
        let producer_ids = ProducerIds::load(disk.clone(), log_dir).await?;
        let listener = TcpListener::bind(listener_config.bind_address()).await.map_err(NodeError::Listen)?;
        let bound = listener.local_addr().map_err(NodeError::Listen)?;
        let advertised = config.advertised_listener(&listener_config.name).cloned().unwrap_or(listener_config.clone());
        let advertised_host =
            if advertised.host.is_empty() { "127.0.0.1".to_string() } else { advertised.host.clone() };
        let advertised_port = if advertised.port == 0 { bound.port() } else { advertised.port };
        let side = match &cluster {
            Some(cluster) => Some(
                broker_side(
                    &config,
                    cluster.raft(),
                    cluster.metadata(),
                    topics.clone(),
                    clock.clone(),
                    &listener_config.name,
                    (&advertised_host, advertised_port),
                    fault_points.clone(),
                    previous_broker_epoch,
                    &mut rng,
                )
                .map_err(NodeError::Config)?,
            ),
            None => None,
        };
        let ctx = Arc::new(BrokerContext {
            node_id: config.node_id,
            cluster_id,
            advertised_host,
            advertised_port: i32::from(advertised_port),
            replica_manager: ReplicaManager::new(topics.clone(), config.clone(), clock.clone(), fault_points),
            config,
            topics,
            producer_ids,
            clock,
            cluster: side.as_ref().map(|s| s.cluster.clone()),
        });
        info!(name: "broker_started", node_id = ctx.node_id, listener = %bound, advertised_port);
        Ok(Node { broker: Some((ctx, listener)), cluster: cluster.map(|c| (c, side)), node_id })
    }

    /// The shared state its connections are served with (for tests that serve one
    /// without a socket).
    #[cfg(test)]
    pub(crate) fn context(&self) -> Arc<BrokerContext> {
        self.broker.as_ref().expect("a broker node").0.clone()
    }

    /// The address the broker listener is bound to.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        match &self.broker {
            Some((_, listener)) => listener.local_addr(),
            None => Err(std::io::Error::other("a controller-only node has no broker listener")),
        }
    }

    /// Serves connections and runs the periodic work and the cluster half until `shutdown`
    /// resolves, then (after a controlled shutdown, in a cluster) flushes and checkpoints
    /// every log.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> NodeExit {
        let Node { broker, cluster, node_id } = self;
        let in_cluster = cluster.is_some();
        let (stop_cluster, cluster_stopped) = tokio::sync::oneshot::channel::<()>();
        let cluster_task = cluster.map(|(cluster, side)| {
            let broker_part = side.zip(broker.as_ref().map(|(ctx, _)| ctx.clone()));
            crate::runtime::spawn(cluster.run(broker_part, async move {
                let _ = cluster_stopped.await;
            }))
        });
        let mut cluster_task = cluster_task;
        // Resolves with why the cluster half failed on its own (never, without one).
        let cluster_failed = async {
            match cluster_task.as_mut() {
                Some(task) => match task.await {
                    Ok(Some(why)) => why,
                    Ok(None) => "the cluster half stopped".to_string(),
                    Err(e) => format!("the cluster half ended: {e}"),
                },
                None => std::future::pending().await,
            }
        };
        tokio::pin!(cluster_failed);
        let Some((ctx, listener)) = broker else {
            tokio::select! {
                biased;
                why = &mut cluster_failed => {
                    error!(name: "controller_halted", node_id, why = %why);
                    return NodeExit::Halted(why);
                }
                () = shutdown => {}
            }
            let _ = stop_cluster.send(());
            if let Some(task) = cluster_task {
                let _ = task.await;
            }
            info!(name: "controller_stopped", node_id);
            return NodeExit::Shutdown;
        };
        let periodic = crate::runtime::spawn(periodic_work(ctx.clone()));
        let log_dir_failed = async {
            loop {
                tokio::time::sleep(REPLICA_TICK).await;
                if let Some(failure) = log_dir_failure(&ctx).await {
                    return failure;
                }
            }
        };
        let accept = async {
            loop {
                match listener.accept().await {
                    Ok((stream, peer)) => {
                        let _ = stream.set_nodelay(true);
                        crate::runtime::spawn(connection::serve(ctx.clone(), stream, peer.to_string()));
                    }
                    Err(error) => {
                        warn!(name: "accept_failed", error = %error);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        };
        let halted = tokio::select! {
            // Polled in order: an unbiased select draws from tokio's process-wide RNG,
            // which the simulator does not seed.
            biased;
            () = accept => None,
            () = shutdown => None,
            failure = log_dir_failed, if in_cluster => Some(failure),
            why = &mut cluster_failed => Some(why),
        };
        if let Some(why) = halted {
            // No controlled shutdown, no flush: stop now, as after a crash.
            error!(name: "broker_halted", node_id, why = %why);
            periodic.abort();
            return NodeExit::Halted(why);
        }
        info!(name: "broker_stopping", node_id = ctx.node_id);
        // The cluster half first: a controlled shutdown needs the broker still serving its
        // followers while leadership moves away.
        let _ = stop_cluster.send(());
        if let Some(task) = cluster_task {
            let _ = task.await;
        }
        periodic.abort();
        ctx.topics.close().await;
        // Last: every log is flushed and checkpointed, and the controlled shutdown is done.
        if let Some(broker_epoch) = ctx.cluster.as_ref().map(|c| c.broker_epoch()).filter(|e| *e >= 0) {
            let log_dir = ctx.config.log_dir();
            if let Err(error) = clean_shutdown::write(ctx.topics.disk(), log_dir, broker_epoch).await {
                warn!(name: "clean_shutdown_marker_failed", error = %error);
            }
        }
        info!(name: "broker_stopped", node_id = ctx.node_id);
        NodeExit::Shutdown
    }
}

/// Why the log directory failed, if it did: a disk error met while hosting or removing a
/// partition, or the first hosted partition whose log went offline.
async fn log_dir_failure(ctx: &BrokerContext) -> Option<String> {
    if let Some(failed) = ctx.topics.log_dir_failure() {
        return Some(format!("a disk error while hosting or removing {failed}"));
    }
    for topic in ctx.topics.all().await {
        if let Some(partition) = topic.partitions.values().find(|p| p.is_offline()) {
            return Some(format!("the log of {}-{} went offline after a disk error", topic.name, partition.index()));
        }
    }
    None
}

/// Whether the node runs the cluster half: a node with `process.roles` in a quorum of more
/// than one voter, or a broker-only or controller-only node of any quorum. A single node
/// that is both broker and the only voter (Kafka's single-node sample config) runs as a
/// standalone broker, which owns its topics' metadata the same way (docs/cluster.md).
fn is_cluster_node(config: &BrokerConfig) -> bool {
    let kraft = &config.kraft;
    let roles = kraft.process_roles;
    let single_combined = roles.broker && roles.controller && kraft.quorum_voters.len() == 1;
    !roles.is_standalone() && !single_combined
}

/// How often the replica cores tick. Their shrink check runs every `replica.lag.time.max.ms / 2`
/// (15 s) by their own clock; a second is fine enough for it and for AlterPartition retries.
const REPLICA_TICK: Duration = Duration::from_secs(1);

/// `log.flush.scheduler.interval.ms`: time-based flushes and checkpoints;
/// `log.retention.check.interval.ms`: retention, below each partition's high watermark;
/// `producer.id.expiration.check.interval.ms`: idle idempotent producers are forgotten;
/// every second: each partition's replica core ticks (ISR shrinks, AlterPartition retries).
/// Owned by [`Node::run`], which aborts it at shutdown before the logs close.
async fn periodic_work(ctx: Arc<BrokerContext>) {
    let every = |ms: i64, fallback: u64| Duration::from_millis(u64::try_from(ms.max(10)).unwrap_or(fallback));
    let mut flush_tick = tokio::time::interval(every(ctx.config.log_flush_scheduler_interval_ms, 1000));
    let mut retention_tick = tokio::time::interval(every(ctx.config.log_retention_check_interval_ms, 300_000));
    let mut expiry_tick = tokio::time::interval(every(ctx.config.producer_id_expiration_check_interval_ms, 600_000));
    let mut replica_tick = tokio::time::interval(REPLICA_TICK);
    loop {
        tokio::select! {
            // Polled in order: an unbiased select draws from tokio's process-wide RNG,
            // which the simulator does not seed.
            biased;
            _ = flush_tick.tick() => scheduled_flush(&ctx).await,
            _ = retention_tick.tick() => retention(&ctx).await,
            _ = expiry_tick.tick() => expire_producers(&ctx).await,
            _ = replica_tick.tick() => ctx.replica_manager.tick().await,
        }
    }
}

async fn scheduled_flush(ctx: &BrokerContext) {
    for topic in ctx.topics.all().await {
        for partition in topic.partitions.values() {
            if let Err(error) = partition.scheduled_flush(ctx.clock.now_ms()).await {
                warn!(name: "scheduled_flush_failed", topic = %topic.name, partition = partition.index(), error = %error);
            }
        }
    }
}

async fn retention(ctx: &BrokerContext) {
    for topic in ctx.topics.all().await {
        for partition in topic.partitions.values() {
            if let Err(error) = partition.apply_retention(ctx.clock.now_ms()).await {
                warn!(name: "retention_failed", topic = %topic.name, partition = partition.index(), error = %error);
            }
        }
    }
}

async fn expire_producers(ctx: &BrokerContext) {
    let expiration_ms = i64::from(ctx.config.producer_id_expiration_ms);
    for topic in ctx.topics.all().await {
        for partition in topic.partitions.values() {
            partition.log().await.expire_producers(ctx.clock.now_ms(), expiration_ms);
        }
    }
}

#[cfg(test)]
#[path = "node_tests.rs"]
mod tests;
