//! The metadata this node has applied (Kafka's `MetadataLoader`): the committed entries of
//! the metadata log, replayed in order into a [`MetadataImage`] and published as one
//! immutable snapshot per batch. The controller server and the broker's publisher read the
//! snapshots; neither applies records itself, so both see the same image at the same offset.
//!
//! The driver hands over, on every start, the snapshot it recovered (if any) and then the
//! committed entries from the log start, so a restarted node rebuilds its image from its
//! latest snapshot and the log after it. A snapshot installed from the leader replaces the
//! image the same way. A record the image refuses means the log and the controller that
//! wrote it disagree about the rules: that is a failed invariant and stops the process.
//!
//! The loader also takes this node's snapshots (Kafka's `SnapshotGenerator`, see
//! `snapshot_generator.rs`): when one is due it hands the image at its last applied entry to
//! the Raft driver, which makes it durable and deletes the log below it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, Notify};

use super::metadata_snapshot::{decode_snapshot, encode_snapshot};
use super::snapshot_generator::{SnapshotGenerator, SnapshotPolicy};
use crate::controller::image::MetadataImage;
use crate::controller::records::MetadataRecord;
use crate::raft::{Committed, Entry, EntryKind, Epoch, RaftHandle, SnapshotError, SnapshotId};

/// One published image and how far into the log it reaches.
#[derive(Debug, Clone)]
pub struct LoadedImage {
    pub image: MetadataImage,
    /// The offset of the last entry applied, control entries included (-1: none).
    pub applied_offset: i64,
}

/// The latest published image; a version that every publication bumps wakes the readers
/// (tokio's `watch` is not used: it wakes its waiters in a process-random order that a
/// simulation seed does not control).
#[derive(Debug)]
pub struct MetadataCell {
    current: Mutex<(u64, Arc<LoadedImage>)>,
    changed: Notify,
}

impl MetadataCell {
    pub fn new(image: MetadataImage) -> Arc<Self> {
        let loaded = Arc::new(LoadedImage { image, applied_offset: -1 });
        Arc::new(MetadataCell { current: Mutex::new((0, loaded)), changed: Notify::new() })
    }

    /// The latest image.
    pub fn current(&self) -> Arc<LoadedImage> {
        self.lock().1.clone()
    }

    /// The latest image and its version.
    pub fn versioned(&self) -> (u64, Arc<LoadedImage>) {
        let current = self.lock();
        (current.0, current.1.clone())
    }

    /// Waits until the version is past `seen`; returns the new version and image.
    pub async fn changed_since(&self, seen: u64) -> (u64, Arc<LoadedImage>) {
        loop {
            // Created before the check: `notify_waiters` reaches a `Notified` from its creation.
            let notified = self.changed.notified();
            let (version, image) = self.versioned();
            if version != seen {
                return (version, image);
            }
            notified.await;
        }
    }

    fn publish(&self, loaded: LoadedImage) {
        {
            let mut current = self.lock();
            assert!(
                loaded.applied_offset >= current.1.applied_offset,
                "the published image went back from {} to {}",
                current.1.applied_offset,
                loaded.applied_offset
            );
            *current = (current.0 + 1, Arc::new(loaded));
        }
        self.changed.notify_waiters();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, Arc<LoadedImage>)> {
        self.current.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Applies one committed entry to `loaded`.
pub fn apply_entry(loaded: &mut LoadedImage, entry: &Entry) {
    assert!(
        entry.offset > loaded.applied_offset,
        "committed entry {} after {}: the driver hands entries over in order",
        entry.offset,
        loaded.applied_offset
    );
    if entry.kind == EntryKind::Data {
        let record = MetadataRecord::decode(&entry.payload)
            .unwrap_or_else(|e| panic!("committed metadata entry {} does not decode: {e}", entry.offset));
        if let Err(error) = loaded.image.apply(entry.offset, &record) {
            panic!("committed metadata record at {} refused by the image: {}: {record:?}", entry.offset, error.0);
        }
    }
    loaded.applied_offset = entry.offset;
}

/// The image in snapshot `id`: everything below `id.end_offset` is applied.
pub fn load_snapshot(id: SnapshotId, data: &[u8], base: &MetadataImage) -> LoadedImage {
    LoadedImage { image: decode_snapshot(id, data, base), applied_offset: id.end_offset - 1 }
}

/// How the loader takes this node's snapshots.
#[derive(Debug, Clone)]
pub struct SnapshotTaker {
    pub raft: RaftHandle,
    pub policy: SnapshotPolicy,
}

/// The loader's state between batches.
struct Loader {
    loaded: LoadedImage,
    /// The epoch of the last entry applied (or of the snapshot loaded): a snapshot ending at
    /// `applied_offset + 1` has this epoch.
    last_epoch: Epoch,
    /// The image the node started with: its cluster-wide settings apply to loaded snapshots.
    base: MetadataImage,
    generator: SnapshotGenerator,
}

impl Loader {
    fn apply(&mut self, now_ms: u64, item: Committed) {
        match item {
            Committed::Entry(entry) => {
                apply_entry(&mut self.loaded, &entry);
                self.last_epoch = entry.epoch;
                self.generator.on_applied(entry.payload.len() as u64);
            }
            Committed::Snapshot { id, data } => {
                assert!(
                    id.end_offset > self.loaded.applied_offset,
                    "snapshot {id:?} loaded over an image at {}: the driver never goes back",
                    self.loaded.applied_offset
                );
                self.loaded = load_snapshot(id, &data, &self.base);
                self.last_epoch = id.epoch;
                self.generator.on_snapshot(now_ms);
                tracing::info!(name: "metadata_snapshot_loaded", end_offset = id.end_offset, epoch = id.epoch);
            }
        }
    }
}

/// Replays what the committed channel carries into `cell` until it closes (the driver
/// stopped): snapshots replace the image, entries are applied in order. Each batch that
/// arrived together is published as one image. With a `taker`, the loader also snapshots its
/// image when the policy says so.
pub async fn run_loader(
    mut committed: mpsc::UnboundedReceiver<Committed>,
    cell: Arc<MetadataCell>,
    taker: Option<SnapshotTaker>,
) {
    let start = crate::runtime::now();
    let now_ms = || (crate::runtime::now() - start).as_millis() as u64;
    let loaded = LoadedImage::clone(&cell.current());
    let policy = taker.as_ref().map_or_else(SnapshotPolicy::default, |t| t.policy);
    let mut loader =
        Loader { base: loaded.image.clone(), loaded, last_epoch: 0, generator: SnapshotGenerator::new(policy, 0) };
    loop {
        let deadline = taker.as_ref().and(loader.generator.next_deadline());
        let wake = start + Duration::from_millis(deadline.unwrap_or(0));
        tokio::select! {
            biased;
            item = committed.recv() => {
                let Some(item) = item else { return };
                loader.apply(now_ms(), item);
                while let Ok(item) = committed.try_recv() {
                    loader.apply(now_ms(), item);
                }
                loader.loaded.image.check_invariants();
                cell.publish(loader.loaded.clone());
            }
            _ = tokio::time::sleep_until(wake), if deadline.is_some() => {}
        }
        if let Some(taker) = &taker {
            if loader.generator.is_due(now_ms()) {
                take_snapshot(&mut loader, taker, now_ms()).await;
            }
        }
    }
}

/// Hands the image at the last applied entry to the driver as a snapshot.
async fn take_snapshot(loader: &mut Loader, taker: &SnapshotTaker, now_ms: u64) {
    let id = SnapshotId { end_offset: loader.loaded.applied_offset + 1, epoch: loader.last_epoch };
    let data = encode_snapshot(&loader.loaded.image);
    match taker.raft.snapshot(id, data).await {
        Ok(()) => {}
        // The log moved past it (a newer snapshot was installed): that one counts instead.
        Err(SnapshotError::Invalid(e)) => tracing::debug!(name: "metadata_snapshot_skipped", reason = %e),
        // The driver stopped; the channel closes next.
        Err(SnapshotError::Stopped) => {}
    }
    loader.generator.on_snapshot(now_ms);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::records::TopicRecord;
    use bytes::Bytes;
    use uuid::Uuid;

    fn data(offset: i64, record: &MetadataRecord) -> Entry {
        Entry { offset, epoch: 1, kind: EntryKind::Data, payload: Bytes::from(record.encode()) }
    }

    #[test]
    fn entries_build_the_image_and_control_entries_only_move_the_offset() {
        let mut loaded = LoadedImage { image: MetadataImage::new(1, true), applied_offset: -1 };
        let leader_change = Entry {
            offset: 0,
            epoch: 1,
            kind: EntryKind::LeaderChange { leader_id: 1, voters: vec![1] },
            payload: Bytes::new(),
        };
        apply_entry(&mut loaded, &leader_change);
        let topic = MetadataRecord::Topic(TopicRecord { name: "t".into(), topic_id: Uuid::from_u128(5) });
        apply_entry(&mut loaded, &data(1, &topic));
        assert_eq!(loaded.applied_offset, 1);
        assert_eq!(loaded.image.topic_ids.get("t"), Some(&Uuid::from_u128(5)));
    }

    #[test]
    #[should_panic(expected = "refused by the image")]
    fn a_record_the_image_refuses_stops_the_node() {
        let mut loaded = LoadedImage { image: MetadataImage::new(1, true), applied_offset: -1 };
        let topic = MetadataRecord::Topic(TopicRecord { name: "t".into(), topic_id: Uuid::from_u128(5) });
        apply_entry(&mut loaded, &data(0, &topic));
        let again = MetadataRecord::Topic(TopicRecord { name: "t".into(), topic_id: Uuid::from_u128(6) });
        apply_entry(&mut loaded, &data(1, &again));
    }

    #[tokio::test]
    async fn readers_wake_on_each_published_batch() {
        let cell = MetadataCell::new(MetadataImage::new(1, true));
        let (send, receive) = mpsc::unbounded_channel();
        let loader = tokio::spawn(run_loader(receive, cell.clone(), None));
        let (seen, _) = cell.versioned();
        let topic = MetadataRecord::Topic(TopicRecord { name: "t".into(), topic_id: Uuid::from_u128(5) });
        send.send(Committed::Entry(data(0, &topic))).unwrap();
        let (version, image) = cell.changed_since(seen).await;
        assert!(version > seen);
        assert_eq!(image.applied_offset, 0);
        drop(send);
        loader.await.unwrap();
    }
}
