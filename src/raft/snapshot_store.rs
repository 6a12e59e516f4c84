//! The metadata log's snapshots on disk (KIP-630), written through the [`Disk`] seam as Kafka
//! names them: `<end offset, 20 digits>-<epoch, 10 digits>.checkpoint` in
//! `<metadata dir>/__cluster_metadata-0/`.
//!
//! Writing one: `<name>.checkpoint.part` is created, written, fsynced, renamed to
//! `<name>.checkpoint`, and the directory is fsynced; only then is the snapshot durable (a
//! rename is lost in a crash until its directory is synced) and may the log below it go.
//! Older snapshots are removed after that: the core serves only the latest, so seedlog keeps
//! only the latest (Kafka keeps them for `metadata.max.retention.bytes`/`.ms`; the metadata
//! image is small, and an older snapshot could only help a reader that wants old state).
//!
//! Recovery at open removes every `.checkpoint.part` (a crash mid-write), keeps the latest
//! complete snapshot (highest end offset, then epoch) and removes the older ones. A file whose
//! name parses but whose contents fail their CRC after [`CRC_RETRIES`] re-reads is an error:
//! it was renamed only after its fsync, so nothing legitimate leaves it corrupt, and the log
//! below it may already be gone (starting without it would start from a wrong state).
//!
//! File format (seedlog's own, like the log's frames: only seedlog's nodes read it):
//! `length: u32` of the data, `crc: u32` (CRC32C of the data), then the data, which is what the
//! state machine handed in (the core sends those bytes in FetchSnapshot chunks unchanged).

use super::log_store::{metadata_dir, CRC_RETRIES};
use super::messages::SnapshotId;
use crate::runtime::{Disk, OpenMode};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A complete snapshot's suffix.
pub const SNAPSHOT_SUFFIX: &str = ".checkpoint";
/// A snapshot being written (Kafka's `.checkpoint.part`).
pub const PART_SUFFIX: &str = ".checkpoint.part";
/// Length and CRC.
const HEADER_BYTES: usize = 8;

/// `<end offset 20 digits>-<epoch 10 digits>.checkpoint` (Kafka's `Snapshots.filenameFromSnapshotId`).
pub fn snapshot_file_name(id: SnapshotId) -> String {
    format!("{:020}-{:010}{SNAPSHOT_SUFFIX}", id.end_offset, id.epoch)
}

/// The id a complete snapshot's file name stands for; `None` for any other name (a `.part`
/// file included).
pub fn parse_snapshot_file_name(name: &str) -> Option<SnapshotId> {
    let stem = name.strip_suffix(SNAPSHOT_SUFFIX)?;
    let (offset, epoch) = stem.split_once('-')?;
    if offset.len() != 20 || epoch.len() != 10 || !(offset.bytes().chain(epoch.bytes()).all(|b| b.is_ascii_digit())) {
        return None;
    }
    Some(SnapshotId { end_offset: offset.parse().ok()?, epoch: epoch.parse().ok()? })
}

/// A snapshot file that is there but cannot be read back.
#[derive(Debug)]
pub enum SnapshotStoreError {
    Disk(io::Error),
    Corrupt { file: PathBuf, problem: String },
}

impl fmt::Display for SnapshotStoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SnapshotStoreError::Disk(e) => write!(f, "snapshot disk error: {e}"),
            SnapshotStoreError::Corrupt { file, problem } => {
                write!(f, "snapshot {} is corrupt: {problem}", file.display())
            }
        }
    }
}

impl std::error::Error for SnapshotStoreError {}

impl From<io::Error> for SnapshotStoreError {
    fn from(e: io::Error) -> Self {
        SnapshotStoreError::Disk(e)
    }
}

/// What recovery found and removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnapshotRecovery {
    /// `.checkpoint.part` files removed (snapshots a crash interrupted).
    pub partial_removed: usize,
    /// Older complete snapshots removed.
    pub older_removed: usize,
}

/// The snapshot directory of one metadata log.
///
/// Invariant: once `open` returned, the directory holds at most one complete snapshot that
/// this store knows of, `latest`.
#[derive(Debug)]
pub struct SnapshotStore {
    disk: Arc<dyn Disk>,
    dir: PathBuf,
    latest: Option<SnapshotId>,
}

impl SnapshotStore {
    /// Opens the snapshots of the log under `metadata_dir` (creating the directory), removes
    /// partial and older ones, and returns the latest complete snapshot with its data.
    pub async fn open(
        disk: Arc<dyn Disk>,
        dir: &Path,
    ) -> Result<(SnapshotStore, Option<(SnapshotId, Bytes)>, SnapshotRecovery), SnapshotStoreError> {
        let dir = metadata_dir(dir);
        disk.create_dir_all(&dir).await?;
        let mut recovery = SnapshotRecovery::default();
        let mut complete = Vec::new();
        for name in disk.list_dir(&dir).await? {
            if name.ends_with(PART_SUFFIX) {
                disk.remove(&dir.join(&name)).await?;
                recovery.partial_removed += 1;
            } else if let Some(id) = parse_snapshot_file_name(&name) {
                complete.push(id);
            }
        }
        complete.sort_by_key(|id| (id.end_offset, id.epoch));
        let latest = complete.pop();
        for older in complete {
            disk.remove(&dir.join(snapshot_file_name(older))).await?;
            recovery.older_removed += 1;
        }
        if recovery.partial_removed + recovery.older_removed > 0 {
            disk.sync_dir(&dir).await?;
        }
        let mut store = SnapshotStore { disk, dir, latest: None };
        let snapshot = match latest {
            Some(id) => Some((id, store.read(id).await?)),
            None => None,
        };
        store.latest = latest;
        Ok((store, snapshot, recovery))
    }

    /// The latest durable snapshot.
    pub fn latest(&self) -> Option<SnapshotId> {
        self.latest
    }

    /// Makes `data` durable as snapshot `id` (`.part`, fsync, rename, directory fsync), then
    /// removes the snapshot it supersedes. An error leaves the previous snapshot in place.
    pub async fn write(&mut self, id: SnapshotId, data: &Bytes) -> io::Result<()> {
        let name = snapshot_file_name(id);
        let part = self.dir.join(format!("{name}.part"));
        let file = self.dir.join(&name);
        let handle = self.disk.open(&part, OpenMode::Create).await?;
        // A `.part` left by an earlier failed write of the same id starts over.
        handle.set_len(0).await?;
        let mut buf = BytesMut::with_capacity(HEADER_BYTES + data.len());
        buf.put_u32(data.len() as u32);
        buf.put_u32(crc32c::crc32c(data));
        buf.put_slice(data);
        handle.append(buf.freeze()).await?;
        handle.sync().await?;
        self.disk.rename(&part, &file).await?;
        self.disk.sync_dir(&self.dir).await?;
        if let Some(previous) = self.latest.filter(|p| *p != id) {
            // Not synced: an older snapshot that a crash brings back is removed at open.
            self.disk.remove(&self.dir.join(snapshot_file_name(previous))).await?;
        }
        self.latest = Some(id);
        Ok(())
    }

    /// The data of snapshot `id`, checked against its CRC (re-read up to [`CRC_RETRIES`]
    /// times: a bit flipped on read is transient).
    async fn read(&self, id: SnapshotId) -> Result<Bytes, SnapshotStoreError> {
        let path = self.dir.join(snapshot_file_name(id));
        let handle = self.disk.open(&path, OpenMode::Existing).await?;
        let len = handle.len().await?;
        let mut problem = String::new();
        for _ in 0..=CRC_RETRIES {
            let mut bytes = handle.read_at(0, len as usize).await?;
            if bytes.len() < HEADER_BYTES {
                problem = format!("{} bytes, shorter than its header", bytes.len());
                continue;
            }
            let data_len = bytes.get_u32() as usize;
            let crc = bytes.get_u32();
            if bytes.len() != data_len {
                problem = format!("the header says {data_len} bytes of data, the file holds {}", bytes.len());
                continue;
            }
            if crc32c::crc32c(&bytes) != crc {
                problem = "the data fails its CRC".to_string();
                continue;
            }
            return Ok(bytes);
        }
        Err(SnapshotStoreError::Corrupt { file: path, problem })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::{MemDisk, MemDiskFaults};

    fn id(end_offset: i64, epoch: i32) -> SnapshotId {
        SnapshotId { end_offset, epoch }
    }

    fn dir() -> PathBuf {
        PathBuf::from("/meta")
    }

    #[test]
    fn file_names_are_kafkas() {
        assert_eq!(snapshot_file_name(id(1234, 7)), "00000000000000001234-0000000007.checkpoint");
        assert_eq!(parse_snapshot_file_name("00000000000000001234-0000000007.checkpoint"), Some(id(1234, 7)));
        assert_eq!(parse_snapshot_file_name("00000000000000001234-0000000007.checkpoint.part"), None);
        assert_eq!(parse_snapshot_file_name("1234-7.checkpoint"), None);
        assert_eq!(parse_snapshot_file_name("raft.log"), None);
        assert_eq!(parse_snapshot_file_name("quorum-state"), None);
    }

    #[tokio::test]
    async fn a_written_snapshot_survives_a_crash_and_supersedes_the_older() {
        let mem = MemDisk::new(3);
        let disk: Arc<dyn Disk> = Arc::new(mem.clone());
        let (mut store, none, _) = SnapshotStore::open(disk.clone(), &dir()).await.unwrap();
        assert!(none.is_none());
        store.write(id(10, 1), &Bytes::from_static(b"first")).await.unwrap();
        store.write(id(25, 2), &Bytes::from_static(b"second")).await.unwrap();
        mem.crash_losing_all_unsynced();
        let (store, latest, recovery) = SnapshotStore::open(disk.clone(), &dir()).await.unwrap();
        assert_eq!(latest, Some((id(25, 2), Bytes::from_static(b"second"))));
        assert_eq!(store.latest(), Some(id(25, 2)));
        // The older one's removal was not synced, so the crash may have brought it back;
        // either way recovery leaves only the latest.
        assert!(recovery.older_removed <= 1);
        assert_eq!(mem.file_names(&metadata_dir(&dir())), vec![snapshot_file_name(id(25, 2))]);
    }

    #[tokio::test]
    async fn a_crash_mid_write_leaves_a_part_file_that_recovery_removes() {
        let mem = MemDisk::new(4);
        let disk: Arc<dyn Disk> = Arc::new(mem.clone());
        let (mut store, _, _) = SnapshotStore::open(disk.clone(), &dir()).await.unwrap();
        store.write(id(10, 1), &Bytes::from_static(b"durable")).await.unwrap();
        // The next snapshot's write stops after its `.part` is durable but before the rename
        // (as a crash would leave it).
        let part = metadata_dir(&dir()).join(format!("{}.part", snapshot_file_name(id(20, 1))));
        let handle = disk.open(&part, OpenMode::Create).await.unwrap();
        handle.append(Bytes::from_static(b"\0\0\0\x05torn")).await.unwrap();
        handle.sync().await.unwrap();
        disk.sync_dir(&metadata_dir(&dir())).await.unwrap();
        mem.crash();
        let (_, latest, recovery) = SnapshotStore::open(disk.clone(), &dir()).await.unwrap();
        assert_eq!(latest, Some((id(10, 1), Bytes::from_static(b"durable"))));
        assert_eq!(recovery.partial_removed, 1);
        assert_eq!(mem.file_names(&metadata_dir(&dir())), vec![snapshot_file_name(id(10, 1))]);
    }

    #[tokio::test]
    async fn a_snapshot_whose_rename_was_not_synced_is_not_there_after_a_crash() {
        let mem = MemDisk::new(5);
        let disk: Arc<dyn Disk> = Arc::new(mem.clone());
        let (mut store, _, _) = SnapshotStore::open(disk.clone(), &dir()).await.unwrap();
        store.write(id(10, 1), &Bytes::from_static(b"durable")).await.unwrap();
        let (name, meta) = (snapshot_file_name(id(30, 2)), metadata_dir(&dir()));
        let part = meta.join(format!("{name}.part"));
        let handle = disk.open(&part, OpenMode::Create).await.unwrap();
        handle.append(Bytes::from_static(b"unsynced")).await.unwrap();
        handle.sync().await.unwrap();
        disk.rename(&part, &meta.join(&name)).await.unwrap();
        mem.crash_losing_all_unsynced();
        let (_, latest, _) = SnapshotStore::open(disk.clone(), &dir()).await.unwrap();
        assert_eq!(latest.map(|(id, _)| id), Some(id(10, 1)));
    }

    #[tokio::test]
    async fn a_corrupt_snapshot_is_an_error_naming_the_file() {
        let mem = MemDisk::new(6);
        let disk: Arc<dyn Disk> = Arc::new(mem.clone());
        let meta = metadata_dir(&dir());
        disk.create_dir_all(&meta).await.unwrap();
        let handle = disk.open(&meta.join(snapshot_file_name(id(5, 1))), OpenMode::Create).await.unwrap();
        handle.append(Bytes::from_static(b"\0\0\0\x04\0\0\0\0data")).await.unwrap();
        let error = SnapshotStore::open(disk.clone(), &dir()).await.unwrap_err();
        assert!(error.to_string().contains("00000000000000000005-0000000001.checkpoint"), "{error}");
        assert!(error.to_string().contains("CRC"), "{error}");
    }

    #[tokio::test]
    async fn transient_read_flips_do_not_fail_recovery() {
        let mem = MemDisk::new(7);
        let disk: Arc<dyn Disk> = Arc::new(mem.clone());
        let (mut store, _, _) = SnapshotStore::open(disk.clone(), &dir()).await.unwrap();
        let data = Bytes::from(vec![7u8; 3000]);
        store.write(id(10, 1), &data).await.unwrap();
        mem.set_faults(MemDiskFaults { bit_flip_rate: 0.3, ..MemDiskFaults::none() });
        let (_, latest, _) = SnapshotStore::open(disk.clone(), &dir()).await.unwrap();
        assert_eq!(latest, Some((id(10, 1), data)));
    }
}
