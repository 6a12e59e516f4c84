//! Broker lifecycle on the active controller (Kafka's `ClusterControlManager` and
//! `BrokerHeartbeatManager`; REPLICATION.md §2.2 and §2.3): registration and broker epochs,
//! clean and unclean restarts, heartbeats, fencing after `broker.session.timeout.ms`, and
//! controlled shutdown.
//!
//! Decision: when a broker is told to shut down (SHUTDOWN_NOW) the controller fences it and
//! ends its session at once, so its next incarnation can register without waiting out the
//! old session (Kafka refuses a new incarnation while the old session lives).

use kafka_protocol::ResponseError;
use uuid::Uuid;

use super::image::BrokerRegistration;
use super::partition_change::PartitionChangeBuilder;
use super::quorum_controller::{BrokerSession, ControllerError, QuorumController, Written};
use super::records::{BrokerId, BrokerRegistrationChangeRecord, Endpoint, MetadataRecord, RegisterBrokerRecord};

/// BrokerRegistration's request, as the controller needs it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BrokerRegistrationRequest {
    pub broker_id: BrokerId,
    /// A new id per process start.
    pub incarnation_id: Uuid,
    pub endpoints: Vec<Endpoint>,
    pub rack: Option<String>,
    /// The epoch of the last clean shutdown (`.kafka_cleanshutdown`), or -1.
    pub previous_broker_epoch: i64,
}

/// BrokerHeartbeat's request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BrokerHeartbeatRequest {
    pub broker_id: BrokerId,
    pub broker_epoch: i64,
    /// The offset of the last metadata record the broker applied.
    pub current_metadata_offset: i64,
    pub want_fence: bool,
    pub want_shut_down: bool,
}

/// BrokerHeartbeat's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BrokerHeartbeatReply {
    pub is_caught_up: bool,
    pub is_fenced: bool,
    pub should_shut_down: bool,
}

impl QuorumController {
    /// Registers a broker incarnation. The same incarnation again keeps its epoch; a new one
    /// gets the next metadata offset as its epoch and starts fenced. A restart that was not
    /// clean (`previous_broker_epoch` is not the registered epoch) first takes the broker out
    /// of every ISR and ELR (KAFKA-18106). Refused while another incarnation's session lives
    /// and this controller has heard from it (docs/controller.md).
    pub fn register_broker(
        &mut self,
        now_ms: i64,
        request: &BrokerRegistrationRequest,
    ) -> Result<Written<i64>, ControllerError> {
        let id = request.broker_id;
        if let Some(existing) = self.image.brokers.get(&id) {
            if existing.incarnation_id == request.incarnation_id {
                self.sessions.insert(id, BrokerSession::heard(now_ms));
                return Ok(Written { records: Vec::new(), reply: existing.epoch });
            }
            // Kafka refuses a new incarnation while the old one's session lives. seedlog
            // refuses it only when this controller has heard from the old one: a session
            // granted at takeover may belong to a process that died (failovers less than a
            // session apart would keep it alive, and in the ISR, for as long as they go on).
            if self.session_is_live(now_ms, id) && self.sessions.get(&id).is_some_and(|s| s.heard_from) {
                return Err(ControllerError::new(
                    ResponseError::DuplicateBrokerRegistration,
                    format!("another incarnation of broker {id} is still alive; retry after its session expires"),
                ));
            }
        }
        let mut records = Vec::new();
        let clean = self.image.brokers.get(&id).is_some_and(|b| b.epoch == request.previous_broker_epoch);
        let broker_epoch = self.next_offset;
        if !clean && self.image.brokers.contains_key(&id) {
            self.remove_from_partitions(id, true, &mut records);
        }
        let register = RegisterBrokerRecord {
            broker_id: id,
            incarnation_id: request.incarnation_id,
            broker_epoch,
            endpoints: request.endpoints.clone(),
            rack: request.rack.clone(),
            fenced: true,
            in_controlled_shutdown: false,
        };
        self.write(&mut records, MetadataRecord::RegisterBroker(register));
        self.sessions.insert(id, BrokerSession::heard(now_ms));
        self.check_invariants();
        Ok(Written { records, reply: broker_epoch })
    }

    /// A heartbeat: keeps the session, and moves the broker between fenced, unfenced,
    /// controlled shutdown and shut down (REPLICATION.md §2.3's table).
    pub fn heartbeat(
        &mut self,
        now_ms: i64,
        request: &BrokerHeartbeatRequest,
    ) -> Result<Written<BrokerHeartbeatReply>, ControllerError> {
        let id = request.broker_id;
        let broker = self.registration(id, request.broker_epoch)?.clone();
        self.sessions.insert(id, BrokerSession::heard(now_ms));
        let is_caught_up = request.current_metadata_offset >= broker.epoch;
        let mut records = Vec::new();
        let mut should_shut_down = false;
        if request.want_shut_down && (broker.fenced || !self.leads_any(id)) {
            // Nothing left to hand over: stop now.
            if !broker.fenced {
                self.fence(id, &mut records);
            }
            self.sessions.remove(&id);
            should_shut_down = true;
        } else if request.want_shut_down {
            if !broker.in_controlled_shutdown {
                self.begin_controlled_shutdown(id, &mut records);
            }
        } else if broker.fenced && !request.want_fence && is_caught_up {
            self.unfence(id, &mut records);
        } else if !broker.fenced && request.want_fence {
            self.fence(id, &mut records);
        }
        let is_fenced = self.image.brokers.get(&id).is_none_or(|b| b.fenced);
        self.check_invariants();
        Ok(Written { records, reply: BrokerHeartbeatReply { is_caught_up, is_fenced, should_shut_down } })
    }

    /// Fences every unfenced broker whose last heartbeat is more than
    /// `broker.session.timeout.ms` ago.
    pub(super) fn fence_expired_sessions(&mut self, now_ms: i64, records: &mut Vec<(i64, MetadataRecord)>) {
        let expired: Vec<BrokerId> =
            self.sessions.keys().copied().filter(|id| !self.session_is_live(now_ms, *id)).collect();
        for id in expired {
            self.sessions.remove(&id);
            if self.image.brokers.get(&id).is_some_and(|b| !b.fenced) {
                self.fence(id, records);
            }
        }
    }

    fn session_is_live(&self, now_ms: i64, id: BrokerId) -> bool {
        self.sessions.get(&id).is_some_and(|s| now_ms - s.last_heartbeat_ms <= self.config.broker_session_timeout_ms)
    }

    /// The registration a request names, refused with STALE_BROKER_EPOCH when the epoch is
    /// not the registered one (KIP-903's fence against a stale incarnation).
    pub(super) fn registration(&self, id: BrokerId, epoch: i64) -> Result<&BrokerRegistration, ControllerError> {
        let broker = self.image.brokers.get(&id).ok_or_else(|| {
            ControllerError::new(ResponseError::BrokerIdNotRegistered, format!("broker {id} is not registered"))
        })?;
        if broker.epoch != epoch {
            return Err(ControllerError::new(
                ResponseError::StaleBrokerEpoch,
                format!("broker {id} sent epoch {epoch}, registered epoch is {}", broker.epoch),
            ));
        }
        Ok(broker)
    }

    fn leads_any(&self, id: BrokerId) -> bool {
        self.image.topics.values().flat_map(|t| t.partitions.values()).any(|p| p.leader == id)
    }

    fn change_registration(&mut self, id: BrokerId, fenced: Option<bool>, shutdown: Option<bool>) -> MetadataRecord {
        let broker_epoch = self.image.brokers[&id].epoch;
        MetadataRecord::BrokerRegistrationChange(BrokerRegistrationChangeRecord {
            broker_id: id,
            broker_epoch,
            fenced,
            in_controlled_shutdown: shutdown,
        })
    }

    /// Fences the broker: it leaves every ISR (into the ELR where that applies) and stops
    /// leading.
    fn fence(&mut self, id: BrokerId, records: &mut Vec<(i64, MetadataRecord)>) {
        let record = self.change_registration(id, Some(true), None);
        self.write(records, record);
        self.remove_from_partitions(id, false, records);
    }

    /// Unfences a caught-up broker; partitions left without a leader may elect it.
    fn unfence(&mut self, id: BrokerId, records: &mut Vec<(i64, MetadataRecord)>) {
        let record = self.change_registration(id, Some(false), None);
        self.write(records, record);
        self.elect_leaderless(records);
    }

    fn begin_controlled_shutdown(&mut self, id: BrokerId, records: &mut Vec<(i64, MetadataRecord)>) {
        let record = self.change_registration(id, None, Some(true));
        self.write(records, record);
        self.remove_from_partitions(id, false, records);
    }

    /// Takes `id` out of the ISR of every partition it is in (electing new leaders), and with
    /// `unclean` also out of every ELR: after an unclean shutdown its log may lack records.
    pub(super) fn remove_from_partitions(
        &mut self,
        id: BrokerId,
        unclean: bool,
        records: &mut Vec<(i64, MetadataRecord)>,
    ) {
        let affected: Vec<(Uuid, i32)> = self
            .image
            .topics
            .values()
            .flat_map(|t| t.partitions.iter().map(move |(index, p)| (t.id, *index, p)))
            .filter(|(_, _, p)| p.isr.contains(&id) || p.leader == id || (unclean && p.elr.contains(&id)))
            .map(|(topic, index, _)| (topic, index))
            .collect();
        for (topic_id, index) in affected {
            let partition = self.image.partition(topic_id, index).expect("listed partition").clone();
            let min_isr = self.image.min_insync_replicas(topic_id);
            let image = &self.image;
            let is_active = |b: BrokerId| b != id && image.is_active(b);
            let target: Vec<BrokerId> = partition.isr.iter().copied().filter(|b| *b != id).collect();
            let mut builder =
                PartitionChangeBuilder::new(&partition, topic_id, index, &is_active, min_isr, image.elr_enabled)
                    .with_target_isr(target);
            if unclean {
                builder = builder.with_unclean_shutdown_replicas(vec![id]);
            }
            if let Some(change) = builder.build() {
                self.write(records, MetadataRecord::PartitionChange(change));
            }
        }
    }
}
