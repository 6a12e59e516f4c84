//! The `leader-epoch-checkpoint` file in the partition directory (Kafka's name and text
//! format, see `leader_epoch_cache.rs`), written like the other checkpoints: a temporary
//! file (`leader-epoch-checkpoint.tmp`, removed by recovery if a crash leaves it), fsync,
//! rename, fsync of the directory. Read until two reads agree, since no checksum covers it.
//! When it is written (every change, before the operation returns) and what happens to a
//! missing or unreadable one (rebuilt from the batches) is `log_epochs.rs`.

use std::io;
use std::path::Path;

use bytes::Bytes;

use super::leader_epoch_cache::{EpochFileError, LeaderEpochCache};
use super::read_agreed::read_agreed;
use crate::runtime::{Disk, OpenMode};

pub const FILE_NAME: &str = "leader-epoch-checkpoint";
const TEMP_NAME: &str = "leader-epoch-checkpoint.tmp";
/// A file longer than this is not read (about 150 000 entries; a partition sees one per
/// leader election): a corrupt length must not size an allocation.
const MAX_FILE_BYTES: u64 = 4 << 20;

/// Reads the file in `dir`: `None` if there is none, the inner error if it cannot be used.
/// The outer error is a disk error.
pub async fn read(disk: &dyn Disk, dir: &Path) -> io::Result<Option<Result<LeaderEpochCache, EpochFileError>>> {
    let path = dir.join(FILE_NAME);
    if !disk.exists(&path).await? {
        return Ok(None);
    }
    let file = disk.open(&path, OpenMode::Existing).await?;
    let len = file.len().await?;
    if len > MAX_FILE_BYTES {
        return Ok(Some(Err(EpochFileError::TooLarge { len })));
    }
    let bytes = read_agreed(file.as_ref(), len as usize).await?;
    Ok(Some(LeaderEpochCache::decode(&bytes)))
}

/// Replaces the file in `dir` with `cache`, atomically and durably.
pub async fn write(disk: &dyn Disk, dir: &Path, cache: &LeaderEpochCache) -> io::Result<()> {
    let temp = dir.join(TEMP_NAME);
    let file = disk.open(&temp, OpenMode::Create).await?;
    file.set_len(0).await?;
    file.append(Bytes::from(cache.encode())).await?;
    file.sync().await?;
    disk.rename(&temp, &dir.join(FILE_NAME)).await?;
    disk.sync_dir(dir).await
}
