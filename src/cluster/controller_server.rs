//! A controller node's server (Kafka's `ControllerServer` with the shell of its
//! `QuorumController`): while this node leads the metadata quorum it runs the active
//! controller's core, answering brokers' requests once their records are committed; while
//! it does not, it answers NOT_CONTROLLER.
//!
//! Becoming active: the node leads epoch E, and its image has applied every entry of its
//! log, up to and including E's LeaderChange entry. Everything below that entry is then
//! committed, so the image is the committed metadata and the core starts from it at the
//! log's end offset (docs/cluster.md). Losing leadership drops the core; the next
//! activation builds a new one from the committed image.
//!
//! Records leave through [`RaftHandle::propose_at`], which appends them only at the epoch
//! and offsets the core assigned (a broker's epoch is its registration record's offset).
//! A reply goes out once the image has applied everything the core had written when it
//! answered, so no broker acts on an answer whose records could still be lost.
//!
//! One loop owns the core: requests from connection tasks, images from the loader, the
//! quorum's status and the core's timer. The connection tasks are owned here and stop with
//! the server.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tracing::{info, warn};

use super::controller_rpc::{
    not_controller, ControllerRequest, ControllerResponse, CreatedTopic, RequestFrame, ResponseFrame,
};
use super::metadata_loader::{LoadedImage, MetadataCell};
use crate::controller::{ControllerConfig, ControllerError, QuorumController, Written};
use crate::raft::{read_frame, write_frame, Epoch, OwnedTasks, ProposeError, RaftHandle, RaftStatus, Role};
use crate::runtime::NodeRng;

type Reply = oneshot::Sender<Result<ControllerResponse, ControllerError>>;

/// Requests waiting for the loop.
const REQUEST_QUEUE: usize = 256;
/// The longest the loop sleeps without looking at the core's deadline again.
const MAX_SLEEP_MS: i64 = 1_000;

/// The active controller and the answers waiting for their records to commit.
struct Active {
    core: QuorumController,
    epoch: Epoch,
    /// Answers in order, each with the offset the image must reach first.
    pending: VecDeque<(i64, Reply, Result<ControllerResponse, ControllerError>)>,
}

/// A controller node's server loop.
pub struct ControllerServer {
    config: ControllerConfig,
    raft: RaftHandle,
    metadata: Arc<MetadataCell>,
    rng: NodeRng,
    base: tokio::time::Instant,
    active: Option<Active>,
}

impl ControllerServer {
    pub fn new(config: ControllerConfig, raft: RaftHandle, metadata: Arc<MetadataCell>, rng: NodeRng) -> Self {
        ControllerServer { config, raft, metadata, rng, base: crate::runtime::now(), active: None }
    }

    fn now_ms(&self) -> i64 {
        (crate::runtime::now() - self.base).as_millis() as i64
    }

    /// Serves the connections that arrive on `connections` until `shutdown` resolves.
    pub async fn run(
        mut self,
        mut connections: mpsc::Receiver<(TcpStream, SocketAddr)>,
        shutdown: impl std::future::Future<Output = ()>,
    ) {
        tokio::pin!(shutdown);
        let (request_sender, mut requests) = mpsc::channel::<(ControllerRequest, Reply)>(REQUEST_QUEUE);
        let mut connection_tasks = OwnedTasks::default();
        let mut status_handle = self.raft.clone();
        let (mut seen_image, _) = self.metadata.versioned();
        loop {
            self.reconcile().await;
            let wake_ms = self.active.as_ref().map_or(i64::MAX, |a| a.core.next_deadline());
            let sleep_ms = (wake_ms.saturating_sub(self.now_ms())).clamp(0, MAX_SLEEP_MS) as u64;
            let metadata = self.metadata.clone();
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                Some((stream, peer)) = connections.recv() => {
                    connection_tasks.push(crate::runtime::spawn(serve_connection(stream, peer, request_sender.clone())));
                }
                (version, _) = metadata.changed_since(seen_image) => seen_image = version,
                alive = status_handle.changed() => if !alive { break },
                Some((request, reply)) = requests.recv() => self.handle(request, reply).await,
                () = tokio::time::sleep(Duration::from_millis(sleep_ms)) => self.tick().await,
            }
        }
        self.deactivate("the server stopped");
    }

    /// Follows the quorum: activates or drops the core, and releases the answers whose
    /// records the image now holds.
    async fn reconcile(&mut self) {
        let status = self.raft.status();
        let loaded = self.metadata.current();
        if let Some(active) = &self.active {
            if status.role != Role::Leader || status.epoch != active.epoch {
                self.deactivate("leadership moved");
            }
        }
        if self.active.is_none() && can_activate(&status, &loaded) {
            let now_ms = self.now_ms();
            let next_offset = loaded.applied_offset + 1;
            let rng = crate::runtime::fork(&mut self.rng);
            let core = QuorumController::new(now_ms, self.config.clone(), loaded.image.clone(), next_offset, rng);
            info!(name: "controller_activated", epoch = status.epoch, next_offset);
            self.active = Some(Active { core, epoch: status.epoch, pending: VecDeque::new() });
        }
        if let Some(active) = &mut self.active {
            while active.pending.front().is_some_and(|(offset, _, _)| *offset <= loaded.applied_offset) {
                let (_, reply, answer) = active.pending.pop_front().expect("checked above");
                let _ = reply.send(answer);
            }
        }
    }

    fn deactivate(&mut self, why: &str) {
        if let Some(active) = self.active.take() {
            info!(name: "controller_deactivated", epoch = active.epoch, why);
            for (_, reply, _) in active.pending {
                let _ = reply.send(Err(not_controller(self.raft.status().leader_id)));
            }
        }
    }

    async fn handle(&mut self, request: ControllerRequest, reply: Reply) {
        let now_ms = self.now_ms();
        let Some(active) = &mut self.active else {
            let _ = reply.send(Err(not_controller(self.raft.status().leader_id)));
            return;
        };
        let core = &mut active.core;
        let written: Result<Written<ControllerResponse>, ControllerError> = match request {
            ControllerRequest::BrokerRegistration(r) => {
                core.register_broker(now_ms, &r).map(|w| map(w, ControllerResponse::BrokerRegistration))
            }
            ControllerRequest::BrokerHeartbeat(r) => {
                core.heartbeat(now_ms, &r).map(|w| map(w, ControllerResponse::BrokerHeartbeat))
            }
            ControllerRequest::AlterPartition(r) => {
                core.alter_partition(&r).map(|w| map(w, ControllerResponse::AlterPartition))
            }
            ControllerRequest::CreateTopics(topics) => {
                let mut records = Vec::new();
                let mut results = Vec::new();
                for topic in topics {
                    match core.create_topic(&topic.name, topic.partitions, topic.replication_factor, &topic.configs) {
                        Ok(written) => {
                            let created = core.image().topics.get(&written.reply).map(|t| CreatedTopic {
                                topic_id: written.reply,
                                partitions: t.partitions.len() as i32,
                                replication_factor: t.partitions.values().next().map_or(0, |p| p.replicas.len() as i16),
                            });
                            records.extend(written.records);
                            results.push(created.ok_or_else(|| not_controller(None)));
                        }
                        Err(error) => results.push(Err(error)),
                    }
                }
                Ok(Written { records, reply: ControllerResponse::CreateTopics(results) })
            }
            ControllerRequest::CreatePartitions(topics) => {
                let mut records = Vec::new();
                let mut results = Vec::new();
                for topic in topics {
                    match core.create_partitions(
                        &topic.name,
                        topic.count,
                        topic.assignments.as_deref(),
                        topic.validate_only,
                    ) {
                        Ok(written) => {
                            records.extend(written.records);
                            results.push(Ok(()));
                        }
                        Err(error) => results.push(Err(error)),
                    }
                }
                Ok(Written { records, reply: ControllerResponse::CreatePartitions(results) })
            }
            ControllerRequest::DeleteTopics(names) => {
                let mut records = Vec::new();
                let mut results = Vec::new();
                for name in names {
                    match core.delete_topic(&name) {
                        Ok(written) => {
                            records.extend(written.records);
                            results.push(Ok(written.reply));
                        }
                        Err(error) => results.push(Err(error)),
                    }
                }
                Ok(Written { records, reply: ControllerResponse::DeleteTopics(results) })
            }
        };
        match written {
            Ok(written) => {
                let answer = Ok(written.reply);
                self.append(written.records, Some((reply, answer))).await;
            }
            Err(error) => {
                // Nothing written by this request, but the answer may rest on earlier
                // records (a broker's epoch): it waits for them too.
                self.append(Vec::new(), Some((reply, Err(error)))).await;
            }
        }
    }

    async fn tick(&mut self) {
        let now_ms = self.now_ms();
        let Some(active) = &mut self.active else { return };
        if now_ms < active.core.next_deadline() {
            return;
        }
        let written = active.core.tick(now_ms);
        self.append(written.records, None).await;
    }

    /// Appends the core's `records` at the offsets it gave them and parks `answer` until the
    /// image holds everything the core has written. A refused append means this core is
    /// stale: it is dropped, and the answer is NOT_CONTROLLER.
    async fn append(
        &mut self,
        records: Vec<(i64, crate::controller::records::MetadataRecord)>,
        answer: Option<(Reply, Result<ControllerResponse, ControllerError>)>,
    ) {
        let Some(active) = &mut self.active else { return };
        if let Some((first_offset, _)) = records.first() {
            let payloads: Vec<Bytes> = records.iter().map(|(_, r)| Bytes::from(r.encode())).collect();
            match self.raft.propose_at(active.epoch, *first_offset, payloads).await {
                Ok((first, last)) => {
                    let expected_last = records.last().map(|(offset, _)| *offset);
                    assert_eq!((Some(first), Some(last)), (Some(*first_offset), expected_last), "atomic append moved");
                }
                Err(error) => {
                    if let Some((reply, _)) = answer {
                        let _ = reply.send(Err(not_controller(self.raft.status().leader_id)));
                    }
                    let why = match error {
                        ProposeError::Stopped => "the raft driver stopped",
                        _ => "an append was refused",
                    };
                    warn!(name: "controller_append_refused", error = %error);
                    self.deactivate(why);
                    return;
                }
            }
        }
        if let Some((reply, answer)) = answer {
            let wait_for = active.core_written_through();
            active.pending.push_back((wait_for, reply, answer));
        }
    }
}

impl Active {
    /// The offset of the last record the core has written.
    fn core_written_through(&self) -> i64 {
        self.core.next_offset() - 1
    }
}

fn map<T>(written: Written<T>, wrap: impl FnOnce(T) -> ControllerResponse) -> Written<ControllerResponse> {
    Written { records: written.records, reply: wrap(written.reply) }
}

/// Whether this node may run the active controller now: it leads, and its image holds
/// every entry of its log (its epoch's LeaderChange entry included).
fn can_activate(status: &RaftStatus, loaded: &LoadedImage) -> bool {
    let Some(epoch_start) = status.epoch_start_offset else { return false };
    status.role == Role::Leader
        && loaded.applied_offset >= epoch_start
        && status.log_end_offset == loaded.applied_offset + 1
}

/// One broker's connection: requests in order, each answered before the next is read.
async fn serve_connection(stream: TcpStream, peer: SocketAddr, requests: mpsc::Sender<(ControllerRequest, Reply)>) {
    let (mut read, mut write) = tokio::io::split(stream);
    loop {
        let frame: RequestFrame = match read_frame(&mut read).await {
            Ok(Some(frame)) => frame,
            Ok(None) => return,
            Err(error) => {
                warn!(name: "controller_request_refused", peer = %peer, error = %error);
                return;
            }
        };
        let (reply, answer) = oneshot::channel();
        if requests.send((frame.request, reply)).await.is_err() {
            return;
        }
        let response = answer.await.unwrap_or_else(|_| Err(not_controller(None)));
        let out = ResponseFrame { correlation_id: frame.correlation_id, response };
        if write_frame(&mut write, &out).await.is_err() {
            return;
        }
    }
}
