//! The cluster half of a node (`Node::build` assembles it for a node with `process.roles`
//! in a quorum of several voters): the metadata log's Raft member (a voter on a controller,
//! an observer on a broker), the loader that turns its committed entries into images, and
//! per role the controller server, or the broker's lifecycle, its metadata publisher and
//! the sender of its leaders' AlterPartition requests.
//!
//! Ownership and order: [`ClusterNode::run`] owns every task it starts. On shutdown a
//! broker first asks for a controlled shutdown (its leaderships move away while the quorum
//! still answers), then stops its publisher (and with it the fetchers); the Raft member
//! stops last, resigning if it leads. A Raft member that stops on its own (a metadata disk
//! error) stops the whole node.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tracing::{error, warn};

use super::broker_lifecycle::BrokerLifecycle;
use super::controller_rpc::{ControllerClient, ControllerRequest, ControllerResponse};
use super::controller_server::ControllerServer;
use super::metadata_loader::{run_loader, MetadataCell, SnapshotTaker};
use super::snapshot_generator::SnapshotPolicy;
use crate::broker::config::BrokerConfig;
use crate::broker::context::BrokerContext;
use crate::broker::controller_types::{alter_partition_item, alter_partition_response};
use crate::broker::metadata_publisher::{MetadataPublisher, PublisherConfig};
use crate::broker::replica_fetcher::FetcherConfig;
use crate::broker::topics::Topics;
use crate::controller::cluster_control::BrokerRegistrationRequest;
use crate::controller::image::MetadataImage;
use crate::controller::records::Endpoint;
use crate::controller::replication_control::AlterPartitionRequest;
use crate::controller::ControllerConfig;
use crate::events::lists::format_id_offsets;
use crate::events::{AlterPartitionAnswered, Event};
use crate::raft::{Committed, OwnedTasks, RaftConfig, RaftDriver, RaftDriverConfig, RaftHandle};
use crate::replication::AlterPartitionResponse;
use crate::runtime::{Clock, Disk, FaultPoint, FaultPoints, NodeRng};

/// How long a broker's controlled shutdown may take before it stops anyway.
const CONTROLLED_SHUTDOWN_MS: u64 = 10_000;
/// How often the AlterPartition outbox is looked at.
const ALTER_PARTITION_POLL_MS: u64 = 50;

/// What the broker's request handlers use of the cluster.
///
/// A broker reaches the active controller on three channels, each its own connection, as
/// Kafka's brokers do (its NodeToControllerChannelManagers "forwarding", "heartbeat" and
/// "alter-partition"): a request waits for its answer, and the answer for the records'
/// commitment, so a slow or delayed AlterPartition or CreateTopics on a shared connection
/// would hold the heartbeats behind it, and the broker could be fenced for it.
#[derive(Clone)]
pub struct BrokerCluster {
    pub metadata: Arc<MetadataCell>,
    /// Requests forwarded for clients: CreateTopics, DeleteTopics.
    pub forwarding_channel: Arc<ControllerClient>,
    /// The broker's lifecycle: registration, heartbeats, controlled shutdown.
    pub heartbeat_channel: Arc<ControllerClient>,
    /// The ISR changes the broker's leaders propose.
    pub alter_partition_channel: Arc<ControllerClient>,
    /// Where the simulator may hold this broker's AlterPartition requests.
    pub fault_points: FaultPoints,
    pub lifecycle: Arc<BrokerLifecycle>,
    /// `controller.quorum.request.timeout.ms`-like bound on forwarded requests.
    pub request_timeout: Duration,
}

impl std::fmt::Debug for BrokerCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerCluster").field("broker_epoch", &self.lifecycle.broker_epoch()).finish()
    }
}

/// The broker's side, once its replicas exist.
pub struct BrokerSide {
    pub cluster: BrokerCluster,
    pub registration: BrokerRegistrationRequest,
    pub publisher: MetadataPublisher,
    pub heartbeat_interval: Duration,
}

/// A node's cluster half, built and not yet running.
pub struct ClusterNode {
    driver: RaftDriver,
    committed: mpsc::UnboundedReceiver<Committed>,
    snapshot_policy: SnapshotPolicy,
    metadata: Arc<MetadataCell>,
    controller: Option<(ControllerServer, mpsc::Receiver<(tokio::net::TcpStream, SocketAddr)>)>,
}

/// Why the cluster half could not start.
pub type ClusterError = String;

impl ClusterNode {
    /// Opens the metadata log (a voter binds the controller listener) and builds the
    /// controller server of a controller node.
    pub async fn open(config: &BrokerConfig, disk: Arc<dyn Disk>, rng: &mut NodeRng) -> Result<Self, ClusterError> {
        let kraft = &config.kraft;
        let mut voters = BTreeMap::new();
        for voter in &kraft.quorum_voters {
            voters.insert(voter.id, resolve(&voter.host, voter.port)?);
        }
        let listen_address = if kraft.process_roles.controller {
            let name = config.controller_listener_names.first().ok_or("no controller listener")?;
            let listener = config.listeners.iter().find(|l| &l.name == name).ok_or("no controller listener")?;
            let host = if listener.host.is_empty() { "0.0.0.0" } else { listener.host.as_str() };
            Some(resolve(host, listener.port)?)
        } else {
            None
        };
        let (side_sender, side_receiver) = mpsc::channel(64);
        let raft = RaftConfig {
            election_timeout_ms: kraft.election_timeout_ms as u64,
            fetch_timeout_ms: kraft.fetch_timeout_ms as u64,
            election_backoff_max_ms: kraft.election_backoff_max_ms as u64,
            request_timeout_ms: kraft.request_timeout_ms as u64,
            retry_backoff_ms: kraft.retry_backoff_ms as u64,
            ..RaftConfig::default()
        };
        let driver_config = RaftDriverConfig {
            node_id: config.node_id,
            voters,
            listen_address,
            side_connections: kraft.process_roles.controller.then_some(side_sender),
            metadata_dir: config.log_dir().to_path_buf(),
            raft,
            fault: None,
        };
        let (driver, committed) = RaftDriver::open(driver_config, disk, crate::runtime::fork(rng))
            .await
            .map_err(|e| format!("cannot open the metadata log: {e}"))?;
        let metadata = MetadataCell::new(empty_image(config));
        let controller = kraft.process_roles.controller.then(|| {
            let server = ControllerServer::new(
                controller_config(config),
                driver.handle(),
                metadata.clone(),
                crate::runtime::fork(rng),
            );
            (server, side_receiver)
        });
        let snapshot_policy = SnapshotPolicy {
            max_bytes_between_snapshots: kraft.max_record_bytes_between_snapshots as u64,
            max_interval_ms: kraft.max_snapshot_interval_ms as u64,
        };
        Ok(ClusterNode { driver, committed, snapshot_policy, metadata, controller })
    }

    /// The images this node's loader publishes.
    pub fn metadata(&self) -> Arc<MetadataCell> {
        self.metadata.clone()
    }

    /// The metadata log's handle (status, and the leader hint of the controller client).
    pub fn raft(&self) -> RaftHandle {
        self.driver.handle()
    }

    /// Runs until `shutdown` resolves or the Raft member stops on its own; see the module
    /// header for the order of the stop. Returns why the Raft member failed, if it did (the
    /// node must then halt: without the metadata log its broker serves a stale picture).
    pub async fn run(
        self,
        broker: Option<(BrokerSide, Arc<BrokerContext>)>,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Option<String> {
        let ClusterNode { driver, committed, snapshot_policy, metadata, controller } = self;
        let taker = SnapshotTaker { raft: driver.handle(), policy: snapshot_policy };
        let (stop_raft, raft_stopped) = oneshot::channel::<()>();
        let mut raft_task = crate::runtime::spawn(driver.run(async move {
            let _ = raft_stopped.await;
        }));
        let mut tasks = OwnedTasks::default();
        tasks.push(crate::runtime::spawn(run_loader(committed, metadata.clone(), Some(taker))));
        let mut stop_controller = None;
        if let Some((server, connections)) = controller {
            let (stop, stopped) = oneshot::channel::<()>();
            stop_controller = Some(stop);
            tasks.push(crate::runtime::spawn(server.run(connections, async move {
                let _ = stopped.await;
            })));
        }
        let mut broker_stop = None;
        if let Some((side, ctx)) = &broker {
            let cluster = side.cluster.clone();
            let lifecycle = cluster.lifecycle.clone().run(
                cluster.heartbeat_channel.clone(),
                side.registration.clone(),
                metadata.clone(),
                side.heartbeat_interval,
                cluster.request_timeout,
            );
            tasks.push(crate::runtime::spawn(lifecycle));
            tasks.push(crate::runtime::spawn(send_alter_partitions(cluster.clone(), ctx.clone())));
            broker_stop = Some(cluster);
        }
        let mut publisher_task = None;
        let mut stop_publisher = None;
        if let Some((side, ..)) = broker {
            let (stop, mut stopped) = oneshot::channel::<()>();
            stop_publisher = Some(stop);
            let (lifecycle, metadata) = (side.cluster.lifecycle.clone(), metadata.clone());
            publisher_task = Some(crate::runtime::spawn(async move {
                // No image reaches the replicas before the broker's registration is applied
                // (see `BrokerLifecycle::wait_caught_up`).
                tokio::select! {
                    biased;
                    _ = &mut stopped => return,
                    () = lifecycle.wait_caught_up(&metadata) => {}
                }
                side.publisher
                    .run(metadata, async move {
                        let _ = stopped.await;
                    })
                    .await;
            }));
        }

        tokio::pin!(shutdown);
        let failure = tokio::select! {
            biased;
            result = &mut raft_task => {
                let why = match result {
                    Ok(Err(e)) => format!("the metadata log failed: {e}"),
                    other => format!("the metadata log stopped: {:?}", other.map(|_| ())),
                };
                error!(name: "metadata_log_failed", error = %why);
                Some(why)
            }
            () = &mut shutdown => None,
        };
        let raft_ended_early = failure.is_some();
        if let (Some(cluster), false) = (&broker_stop, raft_ended_early) {
            let within = Duration::from_millis(CONTROLLED_SHUTDOWN_MS);
            cluster
                .lifecycle
                .controlled_shutdown(&cluster.heartbeat_channel, &metadata, within, cluster.request_timeout)
                .await;
        }
        if let (Some(stop), Some(task)) = (stop_publisher, publisher_task) {
            let _ = stop.send(());
            let _ = task.await;
        }
        if let Some(stop) = stop_controller {
            let _ = stop.send(());
        }
        drop(tasks);
        if !raft_ended_early {
            let _ = stop_raft.send(());
            if let Ok(Err(e)) = raft_task.await {
                warn!(name: "metadata_log_stop_failed", error = %e);
            }
        }
        failure
    }
}

/// The image a node starts from, with the cluster-wide settings the image needs.
pub fn empty_image(config: &BrokerConfig) -> MetadataImage {
    MetadataImage::new(config.min_insync_replicas.max(1) as usize, config.kraft.eligible_leader_replicas_enable)
}

/// The active controller's settings, from the node's config.
pub fn controller_config(config: &BrokerConfig) -> ControllerConfig {
    ControllerConfig {
        broker_session_timeout_ms: config.kraft.broker_session_timeout_ms,
        default_replication_factor: config.default_replication_factor,
        num_partitions: config.num_partitions,
        min_insync_replicas: config.min_insync_replicas.max(1) as usize,
        elr_enabled: config.kraft.eligible_leader_replicas_enable,
        unclean_leader_election_enable: config.unclean_leader_election_enable,
        alter_partition_broker_epoch_check: config.alter_partition_broker_epoch_check_enable,
        auto_leader_rebalance_enable: config.auto_leader_rebalance_enable,
        leader_imbalance_check_interval_ms: config.leader_imbalance_check_interval_seconds * 1000,
    }
}

/// The broker's side: its registration (a fresh incarnation, its advertised endpoint), its
/// lifecycle, the controller client and the publisher.
#[allow(clippy::too_many_arguments)]
pub fn broker_side(
    config: &BrokerConfig,
    raft: RaftHandle,
    metadata: Arc<MetadataCell>,
    topics: Arc<Topics>,
    clock: Clock,
    listener_name: &str,
    advertised: (&str, u16),
    fault_points: FaultPoints,
    previous_broker_epoch: Option<i64>,
    rng: &mut NodeRng,
) -> Result<BrokerSide, ClusterError> {
    use rand::Rng;
    let mut voters = BTreeMap::new();
    for voter in &config.kraft.quorum_voters {
        voters.insert(voter.id, resolve(&voter.host, voter.port)?);
    }
    let request_timeout = Duration::from_millis(config.kraft.request_timeout_ms.max(1) as u64 * 5);
    let channel = || Arc::new(ControllerClient::new(voters.clone(), Box::new(raft.clone()), fault_points.clone()));
    let cluster = BrokerCluster {
        metadata,
        forwarding_channel: channel(),
        heartbeat_channel: channel(),
        alter_partition_channel: channel(),
        fault_points,
        lifecycle: BrokerLifecycle::new(config.node_id),
        request_timeout,
    };
    let registration = BrokerRegistrationRequest {
        broker_id: config.node_id,
        incarnation_id: uuid::Builder::from_random_bytes(rng.random()).into_uuid(),
        endpoints: vec![Endpoint {
            name: listener_name.to_string(),
            host: advertised.0.to_string(),
            port: advertised.1,
        }],
        rack: None,
        // A clean shutdown's marker makes this a clean restart (docs/cluster.md).
        previous_broker_epoch: previous_broker_epoch.unwrap_or(-1),
    };
    let fetcher = FetcherConfig {
        broker_id: config.node_id,
        max_wait_ms: config.replica_fetch_wait_max_ms,
        partition_max_bytes: config.replica_fetch_max_bytes,
        response_max_bytes: config.replica_fetch_max_bytes.max(10 << 20),
        backoff_ms: 1000,
    };
    let publisher_config =
        PublisherConfig { broker_id: config.node_id, listener_name: listener_name.to_string(), fetcher };
    let publisher = MetadataPublisher::new(publisher_config, topics, clock, empty_image(config));
    let heartbeat_interval = Duration::from_millis(config.kraft.broker_heartbeat_interval_ms.max(1) as u64);
    Ok(BrokerSide { cluster, registration, publisher, heartbeat_interval })
}

/// Sends the ISR changes leaders proposed to the active controller, on the
/// AlterPartition channel, and hands each answer back to its partition. An unanswered
/// request gives every proposal in it the error, so each partition's core retries on its
/// own schedule. Each answer is reported as `alter_partition_answered`.
async fn send_alter_partitions(cluster: BrokerCluster, ctx: Arc<BrokerContext>) {
    let (replica_manager, topics) = (&ctx.replica_manager, &ctx.topics);
    loop {
        tokio::time::sleep(Duration::from_millis(ALTER_PARTITION_POLL_MS)).await;
        let proposals = replica_manager.take_alter_partitions();
        if proposals.is_empty() {
            continue;
        }
        let mut items = Vec::new();
        let mut sent = Vec::new();
        for (partition, proposal) in proposals {
            let Some(topic) = topics.get(partition.topic()).await else { continue };
            items.push(alter_partition_item(topic.id, partition.index(), &proposal));
            sent.push((partition, proposal));
        }
        let request = AlterPartitionRequest {
            broker_id: cluster.lifecycle_broker_id(),
            broker_epoch: cluster.lifecycle.broker_epoch(),
            partitions: items,
        };
        // The request is built: holding it here is a request delayed on its way, carrying
        // the broker epochs it was built with (KIP-903's story; a no-op in production).
        cluster.fault_points.pass(FaultPoint::AlterPartitionSend).await;
        let channel = &cluster.alter_partition_channel;
        let answer = channel.send(ControllerRequest::AlterPartition(request), cluster.request_timeout).await;
        let responses: Vec<AlterPartitionResponse> = match answer {
            Ok(ControllerResponse::AlterPartition(results)) => results.iter().map(alter_partition_response).collect(),
            other => {
                let code = match other {
                    Err(error) => error.code,
                    Ok(_) => kafka_protocol::ResponseError::UnknownServerError.code(),
                };
                sent.iter().map(|_| AlterPartitionResponse::error(code)).collect()
            }
        };
        for ((partition, proposal), response) in sent.into_iter().zip(responses) {
            AlterPartitionAnswered {
                topic: partition.topic().to_string(),
                partition: partition.index(),
                leader_epoch: proposal.leader_epoch,
                isr_with_broker_epochs: format_id_offsets(
                    &proposal.new_isr_with_epochs.iter().map(|b| (b.broker_id, b.broker_epoch)).collect::<Vec<_>>(),
                ),
                error_code: i32::from(response.error_code),
            }
            .emit();
            partition.on_alter_partition_response(proposal.proposal_id, response).await;
        }
    }
}

impl BrokerCluster {
    fn lifecycle_broker_id(&self) -> i32 {
        self.lifecycle.broker_id()
    }

    /// This incarnation's broker epoch (-1 until registered).
    pub fn broker_epoch(&self) -> i64 {
        self.lifecycle.broker_epoch()
    }
}

/// `host:port` as a socket address: an IP literal, or `localhost`.
fn resolve(host: &str, port: u16) -> Result<SocketAddr, ClusterError> {
    let ip = if host == "localhost" { "127.0.0.1" } else { host };
    let ip: std::net::IpAddr = ip.parse().map_err(|_| {
        format!("config key `controller.quorum.voters`/`listeners`: host `{host}` must be an IP address or localhost")
    })?;
    Ok(SocketAddr::new(ip, port))
}
