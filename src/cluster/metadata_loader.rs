//! The metadata this node has applied (Kafka's `MetadataLoader`): the committed entries of
//! the metadata log, replayed in order into a [`MetadataImage`] and published as one
//! immutable snapshot per batch. The controller server and the broker's publisher read the
//! snapshots; neither applies records itself, so both see the same image at the same offset.
//!
//! The driver hands over the committed entries from the log start on every start (there are
//! no metadata snapshots on disk yet, docs/raft.md), so a restarted node rebuilds its image
//! from the whole log. A record the image refuses means the log and the controller that
//! wrote it disagree about the rules: that is a failed invariant and stops the process.

use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, Notify};

use crate::controller::image::MetadataImage;
use crate::controller::records::MetadataRecord;
use crate::raft::{Entry, EntryKind};

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

/// Replays committed entries into `cell` until the channel closes (the driver stopped).
/// Each batch of entries that arrived together is published as one image.
pub async fn run_loader(mut committed: mpsc::UnboundedReceiver<Entry>, cell: Arc<MetadataCell>) {
    let mut loaded = LoadedImage::clone(&cell.current());
    while let Some(entry) = committed.recv().await {
        apply_entry(&mut loaded, &entry);
        while let Ok(entry) = committed.try_recv() {
            apply_entry(&mut loaded, &entry);
        }
        loaded.image.check_invariants();
        cell.publish(loaded.clone());
    }
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
        let loader = tokio::spawn(run_loader(receive, cell.clone()));
        let (seen, _) = cell.versioned();
        let topic = MetadataRecord::Topic(TopicRecord { name: "t".into(), topic_id: Uuid::from_u128(5) });
        send.send(data(0, &topic)).unwrap();
        let (version, image) = cell.changed_since(seen).await;
        assert!(version > seen);
        assert_eq!(image.applied_offset, 0);
        drop(send);
        loader.await.unwrap();
    }
}
