//! A broker's life as the controller sees it (Kafka's `BrokerLifecycleManager`,
//! REPLICATION.md §2.2–2.3): register with a fresh incarnation id and learn the broker
//! epoch, heartbeat every `broker.heartbeat.interval.ms` with the metadata offset applied so
//! far (the controller unfences a broker once it has caught up to its own registration),
//! register again when the controller no longer knows the epoch, and on shutdown ask for a
//! controlled shutdown, so leadership moves away before the broker stops.
//!
//! The epoch is what the broker's AlterPartition requests carry (KIP-903): a request from
//! an older incarnation is refused by the controller.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::ResponseError;
use tracing::{info, warn};

use super::controller_rpc::{ControllerClient, ControllerRequest, ControllerResponse};
use super::metadata_loader::{LoadedImage, MetadataCell};
use crate::controller::cluster_control::{BrokerHeartbeatRequest, BrokerRegistrationRequest};
use crate::events::{BrokerRegistered, Event};

/// How often a fenced broker heartbeats while it catches up (Kafka heartbeats at once after
/// each answer until the broker is unfenced; a short pause keeps a slow quorum unflooded).
const CATCH_UP_HEARTBEAT_MS: u64 = 100;

/// What the rest of the broker reads of its lifecycle.
#[derive(Debug)]
pub struct BrokerLifecycle {
    broker_id: i32,
    /// -1 until registered.
    broker_epoch: AtomicI64,
    fenced: AtomicBool,
}

impl BrokerLifecycle {
    pub fn new(broker_id: i32) -> Arc<Self> {
        Arc::new(BrokerLifecycle { broker_id, broker_epoch: AtomicI64::new(-1), fenced: AtomicBool::new(true) })
    }

    pub fn broker_id(&self) -> i32 {
        self.broker_id
    }

    /// The epoch of this incarnation's registration, or -1 before it is known.
    pub fn broker_epoch(&self) -> i64 {
        self.broker_epoch.load(Ordering::Acquire)
    }

    /// Whether the controller last said this broker is fenced.
    pub fn is_fenced(&self) -> bool {
        self.fenced.load(Ordering::Acquire)
    }

    /// Whether this incarnation is registered and `image` holds its registration (Kafka's
    /// initial catch-up): everything the controller wrote before it, the removal of a
    /// restarted broker from the ISRs and leaderships it held included, is then applied.
    pub fn is_caught_up(&self, image: &LoadedImage) -> bool {
        let epoch = self.broker_epoch();
        epoch >= 0 && image.image.brokers.get(&self.broker_id).is_some_and(|b| b.epoch == epoch)
    }

    /// Waits until [`is_caught_up`](Self::is_caught_up). The broker applies no image to its
    /// replicas before (Kafka installs its metadata publishers only after
    /// `initialCatchUpFuture`): the images before its registration may still make it leader
    /// of partitions in epochs it led before a crash, with a log that lost its unsynced tail;
    /// leading them again in the same epoch would let it write other records at offsets the
    /// followers already hold, which no epoch comparison detects.
    pub async fn wait_caught_up(&self, metadata: &MetadataCell) {
        let (mut seen, mut image) = metadata.versioned();
        while !self.is_caught_up(&image) {
            // The epoch comes from the controller's answer, the image from the log: wake on
            // either.
            tokio::select! {
                // Polled in order: an unbiased select draws from tokio's process-wide RNG,
                // which the simulator does not seed.
                biased;
                (version, next) = metadata.changed_since(seen) => (seen, image) = (version, next),
                () = tokio::time::sleep(Duration::from_millis(CATCH_UP_HEARTBEAT_MS)) => image = metadata.current(),
            }
        }
    }

    /// Registers and heartbeats until the task is stopped by its owner.
    pub async fn run(
        self: Arc<Self>,
        client: Arc<ControllerClient>,
        registration: BrokerRegistrationRequest,
        metadata: Arc<MetadataCell>,
        heartbeat_interval: Duration,
        request_timeout: Duration,
    ) {
        loop {
            let pause = if self.broker_epoch() < 0 {
                self.register(&client, &registration, request_timeout).await
            } else {
                self.heartbeat(&client, &metadata, false, request_timeout).await.map(|_| ())
            };
            let wait = match pause {
                Ok(()) if !self.is_fenced() => heartbeat_interval,
                _ => Duration::from_millis(CATCH_UP_HEARTBEAT_MS),
            };
            tokio::time::sleep(wait).await;
        }
    }

    async fn register(
        &self,
        client: &ControllerClient,
        registration: &BrokerRegistrationRequest,
        timeout: Duration,
    ) -> Result<(), ()> {
        match client.send(ControllerRequest::BrokerRegistration(registration.clone()), timeout).await {
            Ok(ControllerResponse::BrokerRegistration(epoch)) => {
                BrokerRegistered { broker_id: self.broker_id, broker_epoch: epoch }.emit();
                self.fenced.store(true, Ordering::Release);
                self.broker_epoch.store(epoch, Ordering::Release);
                Ok(())
            }
            other => {
                warn!(name: "broker_registration_failed", broker_id = self.broker_id, answer = ?other);
                Err(())
            }
        }
    }

    /// One heartbeat; `Ok(true)` when the controller says the broker may shut down now.
    async fn heartbeat(
        &self,
        client: &ControllerClient,
        metadata: &MetadataCell,
        want_shut_down: bool,
        timeout: Duration,
    ) -> Result<bool, ()> {
        let request = BrokerHeartbeatRequest {
            broker_id: self.broker_id,
            broker_epoch: self.broker_epoch(),
            current_metadata_offset: metadata.current().applied_offset,
            want_fence: false,
            want_shut_down,
        };
        match client.send(ControllerRequest::BrokerHeartbeat(request), timeout).await {
            Ok(ControllerResponse::BrokerHeartbeat(reply)) => {
                if reply.is_fenced != self.is_fenced() {
                    info!(name: "broker_fencing_changed", broker_id = self.broker_id, fenced = reply.is_fenced);
                }
                self.fenced.store(reply.is_fenced, Ordering::Release);
                Ok(reply.should_shut_down)
            }
            Err(error)
                if error.code == ResponseError::StaleBrokerEpoch.code()
                    || error.code == ResponseError::BrokerIdNotRegistered.code() =>
            {
                // The controller lost this incarnation (its session ended): register anew.
                warn!(name: "broker_registration_lost", broker_id = self.broker_id, error = %error);
                self.broker_epoch.store(-1, Ordering::Release);
                Err(())
            }
            other => {
                warn!(name: "broker_heartbeat_failed", broker_id = self.broker_id, answer = ?other);
                Err(())
            }
        }
    }

    /// Controlled shutdown: heartbeats asking to shut down until the controller has moved
    /// this broker's leaderships away and says it may stop, or `within` passes.
    pub async fn controlled_shutdown(
        &self,
        client: &ControllerClient,
        metadata: &MetadataCell,
        within: Duration,
        request_timeout: Duration,
    ) -> bool {
        if self.broker_epoch() < 0 {
            return true;
        }
        let deadline = crate::runtime::now() + within;
        while crate::runtime::now() < deadline {
            if let Ok(true) = self.heartbeat(client, metadata, true, request_timeout).await {
                info!(name: "controlled_shutdown_done", broker_id = self.broker_id);
                return true;
            }
            tokio::time::sleep(Duration::from_millis(CATCH_UP_HEARTBEAT_MS)).await;
        }
        warn!(name: "controlled_shutdown_timed_out", broker_id = self.broker_id);
        false
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use tokio::sync::mpsc;
    use uuid::Uuid;

    use super::*;
    use crate::cluster::metadata_loader::run_loader;
    use crate::controller::image::MetadataImage;
    use crate::controller::records::{MetadataRecord, RegisterBrokerRecord};
    use crate::raft::Committed;
    use crate::raft::{Entry, EntryKind};

    /// Broker 2's registration at `offset` (its epoch), as the committed entry.
    fn registration(offset: i64) -> Entry {
        let record = MetadataRecord::RegisterBroker(RegisterBrokerRecord {
            broker_id: 2,
            incarnation_id: Uuid::from_u128(offset as u128),
            broker_epoch: offset,
            endpoints: Vec::new(),
            rack: None,
            fenced: true,
            in_controlled_shutdown: false,
        });
        Entry { offset, epoch: 1, kind: EntryKind::Data, payload: Bytes::from(record.encode()) }
    }

    fn loaded(entries: &[Entry]) -> LoadedImage {
        let mut loaded = LoadedImage { image: MetadataImage::new(1, true), applied_offset: -1 };
        entries.iter().for_each(|entry| crate::cluster::metadata_loader::apply_entry(&mut loaded, entry));
        loaded
    }

    #[test]
    fn caught_up_only_once_the_image_holds_this_incarnations_registration() {
        let lifecycle = BrokerLifecycle::new(2);
        let previous = loaded(&[registration(3)]);
        // Not registered yet: the image's registration is an older incarnation's.
        assert!(!lifecycle.is_caught_up(&previous));
        lifecycle.broker_epoch.store(7, Ordering::Release);
        assert!(!lifecycle.is_caught_up(&loaded(&[])));
        assert!(!lifecycle.is_caught_up(&previous), "the old incarnation's registration");
        assert!(lifecycle.is_caught_up(&loaded(&[registration(3), registration(7)])));
    }

    #[tokio::test]
    async fn wait_caught_up_returns_when_the_registration_is_applied() {
        let lifecycle = BrokerLifecycle::new(2);
        let cell = MetadataCell::new(MetadataImage::new(1, true));
        let (send, receive) = mpsc::unbounded_channel();
        let loader = tokio::spawn(run_loader(receive, cell.clone(), None));
        send.send(Committed::Entry(registration(3))).unwrap();
        lifecycle.broker_epoch.store(7, Ordering::Release);
        let waiting = lifecycle.wait_caught_up(&cell);
        tokio::pin!(waiting);
        let early = tokio::time::timeout(Duration::from_millis(300), &mut waiting).await;
        assert!(early.is_err(), "caught up before its registration was applied");
        send.send(Committed::Entry(registration(7))).unwrap();
        tokio::time::timeout(Duration::from_secs(5), waiting).await.expect("caught up once it was applied");
        drop(send);
        loader.await.unwrap();
    }
}
