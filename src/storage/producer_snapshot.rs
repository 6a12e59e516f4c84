//! Producer state snapshot files, `<20-digit offset>.snapshot` in the partition directory
//! (Kafka's names and format, see `producer_state.rs`): the state of every producer seen in
//! the batches below the offset.
//!
//! Written atomically like the checkpoint: a temporary file (`.snapshot.tmp`, removed by
//! recovery if a crash leaves it), fsync, rename, fsync of the directory.

use std::io;
use std::path::Path;

use bytes::Bytes;

use super::producer_state::{ProducerStateManager, SnapshotError};
use super::segment;
use crate::runtime::{Disk, OpenMode};

pub const SNAPSHOT_SUFFIX: &str = ".snapshot";
/// Reads of a snapshot whose CRC fails before it is believed corrupt: a flip on the read
/// path is transient.
const READ_ATTEMPTS: usize = 3;

pub fn file_name(offset: i64) -> String {
    segment::file_name(offset, SNAPSHOT_SUFFIX)
}

/// The offsets of the snapshot files in `dir`, ascending.
pub async fn list(disk: &dyn Disk, dir: &Path) -> io::Result<Vec<i64>> {
    let mut offsets: Vec<i64> =
        disk.list_dir(dir).await?.iter().filter_map(|name| segment::parse_file_name(name, SNAPSHOT_SUFFIX)).collect();
    offsets.sort_unstable();
    Ok(offsets)
}

/// Writes `snapshot` as the snapshot at `offset`, atomically and durably.
pub async fn write(disk: &dyn Disk, dir: &Path, offset: i64, snapshot: Bytes) -> io::Result<()> {
    let temp = dir.join(format!("{}.tmp", file_name(offset)));
    let file = disk.open(&temp, OpenMode::Create).await?;
    file.set_len(0).await?;
    file.append(snapshot).await?;
    file.sync().await?;
    disk.rename(&temp, &dir.join(file_name(offset))).await?;
    disk.sync_dir(dir).await
}

/// Reads the snapshot at `offset`. The inner error says why the file is unusable (after
/// re-reads); the outer one is a disk error.
pub async fn read(disk: &dyn Disk, dir: &Path, offset: i64) -> io::Result<Result<ProducerStateManager, SnapshotError>> {
    let file = disk.open(&dir.join(file_name(offset)), OpenMode::Existing).await?;
    let len = usize::try_from(file.len().await?).map_err(io::Error::other)?;
    let mut result = Err(SnapshotError::Truncated { len });
    for _attempt in 0..READ_ATTEMPTS {
        let bytes = file.read_at(0, len).await?;
        result = ProducerStateManager::decode_snapshot(&bytes, offset);
        if result.is_ok() {
            break;
        }
    }
    Ok(result)
}

/// Removes the snapshot at `offset` if it exists. Durable after the caller syncs the
/// directory.
pub async fn remove(disk: &dyn Disk, dir: &Path, offset: i64) -> io::Result<()> {
    match disk.remove(&dir.join(file_name(offset))).await {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}
