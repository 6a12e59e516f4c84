//! A metadata snapshot's bytes (KIP-630): the [`MetadataImage`] at the snapshot's end offset.
//!
//! Decision: seedlog's snapshot is the image as JSON, not Kafka's records framed by
//! SnapshotHeader/SnapshotFooter control records. Only seedlog's nodes read these snapshots
//! (its controllers speak their own framing, docs/raft.md), the image is what the loader needs
//! back, and JSON over ordered maps is the same bytes on every node for the same image, so
//! the snapshots of one committed prefix agree byte for byte. The cluster-wide settings the
//! image carries (`min.insync.replicas`, ELR) come from the node's config on load, as they do
//! when the log is replayed.

use bytes::Bytes;

use crate::controller::image::MetadataImage;
use crate::raft::SnapshotId;

/// The bytes of a snapshot of `image`.
pub fn encode_snapshot(image: &MetadataImage) -> Bytes {
    Bytes::from(serde_json::to_vec(image).expect("a metadata image serializes"))
}

/// The image in snapshot `id`, with the node's cluster-wide settings from `base`. A snapshot
/// that does not decode was made by a node of this cluster and checked by CRC on disk: that is
/// a failed invariant and stops the process.
pub fn decode_snapshot(id: SnapshotId, data: &[u8], base: &MetadataImage) -> MetadataImage {
    let mut image: MetadataImage = serde_json::from_slice(data)
        .unwrap_or_else(|e| panic!("metadata snapshot {id:?} ({} bytes) does not decode: {e}", data.len()));
    assert!(image.offset < id.end_offset, "metadata snapshot {id:?} holds a record at {}", image.offset);
    image.default_min_insync_replicas = base.default_min_insync_replicas;
    image.elr_enabled = base.elr_enabled;
    image.check_invariants();
    image
}
