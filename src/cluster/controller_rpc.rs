//! The channel from brokers to the active controller: BrokerRegistration,
//! BrokerHeartbeat, AlterPartition, CreateTopics and DeleteTopics, carried on the
//! controller listener's [`CHANNEL_CONTROLLER`] connections in the quorum's JSON framing
//! (docs/cluster.md: only seedlog's own brokers talk to seedlog's controllers, so the
//! channel uses the controller's own types rather than Kafka's wire encoding of the same
//! APIs; a client that wants Kafka's APIs talks to a broker, which forwards, as Kafka's
//! brokers do).
//!
//! A request that reaches a controller that is not active is answered with
//! NOT_CONTROLLER; the client then asks the quorum's leader, or the next voter when it
//! knows none, until its deadline.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use kafka_protocol::ResponseError;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::controller::cluster_control::{BrokerHeartbeatReply, BrokerHeartbeatRequest, BrokerRegistrationRequest};
use crate::controller::replication_control::{AlterPartitionRequest, AlterPartitionResult};
use crate::controller::ControllerError;
use crate::raft::NodeId;
use crate::raft::{read_frame, write_frame, CHANNEL_CONTROLLER, CONNECT_TIMEOUT_MS};
use crate::runtime::{BuggifyPoint, FaultPoints};

/// One topic of a CreateTopics request (validated by the broker: name and configs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatableTopic {
    pub name: String,
    /// -1: `num.partitions`.
    pub partitions: i32,
    /// -1: `default.replication.factor`.
    pub replication_factor: i16,
    pub configs: Vec<(String, String)>,
}

/// One topic of a CreatePartitions request: grow `name` to `count` partitions, on the
/// brokers of `assignments` (one replica list per new partition) if given.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewPartitions {
    pub name: String,
    pub count: i32,
    pub assignments: Option<Vec<Vec<i32>>>,
    /// Check only; write nothing.
    pub validate_only: bool,
}

/// A created topic.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedTopic {
    pub topic_id: Uuid,
    pub partitions: i32,
    pub replication_factor: i16,
}

/// What a broker asks of the active controller.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ControllerRequest {
    BrokerRegistration(BrokerRegistrationRequest),
    BrokerHeartbeat(BrokerHeartbeatRequest),
    AlterPartition(AlterPartitionRequest),
    CreateTopics(Vec<CreatableTopic>),
    CreatePartitions(Vec<NewPartitions>),
    DeleteTopics(Vec<String>),
}

/// The active controller's answer, each once its records are committed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ControllerResponse {
    BrokerRegistration(i64),
    BrokerHeartbeat(BrokerHeartbeatReply),
    AlterPartition(Vec<AlterPartitionResult>),
    CreateTopics(Vec<Result<CreatedTopic, ControllerError>>),
    CreatePartitions(Vec<Result<(), ControllerError>>),
    DeleteTopics(Vec<Result<Uuid, ControllerError>>),
}

/// One request on the wire.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RequestFrame {
    pub correlation_id: u64,
    pub request: ControllerRequest,
}

/// One answer on the wire.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ResponseFrame {
    pub correlation_id: u64,
    pub response: Result<ControllerResponse, ControllerError>,
}

/// The answer a controller that is not active gives.
pub fn not_controller(leader_id: Option<NodeId>) -> ControllerError {
    ControllerError::new(ResponseError::NotController, format!("not the active controller (leader: {leader_id:?})"))
}

/// Where a broker's requests go: the voters' controller addresses, and a way to learn the
/// quorum's leader (the node's own view of the metadata log).
pub trait LeaderHint: Send + Sync {
    fn leader_id(&self) -> Option<NodeId>;
}

impl LeaderHint for crate::raft::RaftHandle {
    fn leader_id(&self) -> Option<NodeId> {
        self.status().leader_id
    }
}

struct Connected {
    controller: NodeId,
    stream: TcpStream,
}

/// A broker's client of the active controller: one request at a time on one connection,
/// retried on another controller after NOT_CONTROLLER or a broken connection.
pub struct ControllerClient {
    voters: BTreeMap<NodeId, SocketAddr>,
    leader: Box<dyn LeaderHint>,
    connection: Mutex<(u64, Option<Connected>)>,
    /// The voter asked last when no leader is known (round robin).
    next_voter: std::sync::atomic::AtomicUsize,
    /// The node's buggify points (`ControllerRequestTimedOut`).
    fault_points: FaultPoints,
}

/// The pause before asking again after NOT_CONTROLLER or a failed connection.
const RETRY_BACKOFF_MS: u64 = 100;

impl ControllerClient {
    pub fn new(voters: BTreeMap<NodeId, SocketAddr>, leader: Box<dyn LeaderHint>, fault_points: FaultPoints) -> Self {
        ControllerClient {
            voters,
            leader,
            connection: Mutex::new((0, None)),
            next_voter: std::sync::atomic::AtomicUsize::new(0),
            fault_points,
        }
    }

    /// Sends `request` to the active controller and returns its answer, retrying until
    /// `timeout`; REQUEST_TIMED_OUT when no controller answered in time.
    pub async fn send(
        &self,
        request: ControllerRequest,
        timeout: Duration,
    ) -> Result<ControllerResponse, ControllerError> {
        let deadline = crate::runtime::now() + timeout;
        let mut guard = self.connection.lock().await;
        loop {
            let remaining = deadline.saturating_duration_since(crate::runtime::now());
            if remaining.is_zero() {
                return Err(ControllerError::new(
                    ResponseError::RequestTimedOut,
                    "no active controller answered in time",
                ));
            }
            guard.0 += 1;
            let correlation_id = guard.0;
            let attempt = tokio::time::timeout(remaining, self.attempt(&mut guard.1, correlation_id, &request)).await;
            // Buggify: the answer is lost, as if the attempt had timed out after the
            // controller acted on it; the request goes again on a new connection.
            let attempt = match attempt {
                Ok(Ok(_)) if self.fault_points.fires(BuggifyPoint::ControllerRequestTimedOut) => Ok(Err(
                    std::io::Error::new(std::io::ErrorKind::TimedOut, "buggify: the controller's answer was lost"),
                )),
                attempt => attempt,
            };
            match attempt {
                Ok(Ok(Ok(response))) => return Ok(response),
                Ok(Ok(Err(error))) if error.code == ResponseError::NotController.code() => guard.1 = None,
                Ok(Ok(Err(error))) => return Err(error),
                Ok(Err(_)) | Err(_) => guard.1 = None,
            }
            tokio::time::sleep(Duration::from_millis(RETRY_BACKOFF_MS)).await;
        }
    }

    async fn attempt(
        &self,
        connection: &mut Option<Connected>,
        correlation_id: u64,
        request: &ControllerRequest,
    ) -> std::io::Result<Result<ControllerResponse, ControllerError>> {
        let target = self.target();
        if connection.as_ref().is_some_and(|c| c.controller != target) {
            *connection = None;
        }
        if connection.is_none() {
            *connection = Some(self.connect(target).await?);
        }
        let connected = connection.as_mut().expect("connected above");
        let frame = RequestFrame { correlation_id, request: request.clone() };
        write_frame(&mut connected.stream, &frame).await?;
        loop {
            let answer: Option<ResponseFrame> = read_frame(&mut connected.stream)
                .await
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
            let Some(answer) = answer else {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            };
            // An answer to an earlier attempt that timed out on this connection is skipped.
            if answer.correlation_id == correlation_id {
                return Ok(answer.response);
            }
        }
    }

    /// The quorum's leader if known, else the next voter in turn.
    fn target(&self) -> NodeId {
        if let Some(leader) = self.leader.leader_id().filter(|id| self.voters.contains_key(id)) {
            return leader;
        }
        let turn = self.next_voter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        *self.voters.keys().nth(turn % self.voters.len()).expect("a quorum has voters")
    }

    async fn connect(&self, controller: NodeId) -> std::io::Result<Connected> {
        let address = self.voters[&controller];
        let connect = tokio::time::timeout(Duration::from_millis(CONNECT_TIMEOUT_MS), TcpStream::connect(address));
        let mut stream = connect.await.map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
        let _ = stream.set_nodelay(true);
        stream.write_all(&[CHANNEL_CONTROLLER]).await?;
        Ok(Connected { controller, stream })
    }
}
