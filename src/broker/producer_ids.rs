//! Producer id allocation: unique and increasing across restarts.
//!
//! Kafka's controller hands out blocks of 1000 ids recorded in the metadata log. A single
//! broker does the same with a file: before handing out an id from a new block it durably
//! records the block's end in `<log.dirs>/producer-id-block` (temp file, fsync, rename,
//! directory fsync), so after a crash allocation resumes past every id it may have given.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::Mutex;

use crate::runtime::{Disk, OpenMode};

const FILE_NAME: &str = "producer-id-block";
pub const BLOCK_SIZE: i64 = 1000;

/// Allocates producer ids.
///
/// Invariants:
/// - `next <= block_end`, and `block_end` is durable before any id below it is handed out;
/// - ids handed out strictly increase, also across restarts.
#[derive(Debug, Clone)]
pub struct ProducerIds {
    disk: Arc<dyn Disk>,
    dir: PathBuf,
    state: Arc<Mutex<Block>>,
}

#[derive(Debug)]
struct Block {
    next: i64,
    block_end: i64,
}

impl ProducerIds {
    /// Resumes after the last block recorded in `dir`.
    pub async fn load(disk: Arc<dyn Disk>, dir: PathBuf) -> std::io::Result<Self> {
        let path = dir.join(FILE_NAME);
        let start = if disk.exists(&path).await? {
            let file = disk.open(&path, OpenMode::Existing).await?;
            let len = file.len().await?.min(64) as usize;
            let text = file.read_at(0, len).await?;
            std::str::from_utf8(&text).ok().and_then(|t| t.trim().parse::<i64>().ok()).unwrap_or(0)
        } else {
            0
        };
        Ok(ProducerIds { disk, dir, state: Arc::new(Mutex::new(Block { next: start, block_end: start })) })
    }

    /// The next producer id.
    pub async fn next(&self) -> std::io::Result<i64> {
        let mut block = self.state.lock().await;
        if block.next == block.block_end {
            let end = block.block_end + BLOCK_SIZE;
            self.record_block_end(end).await?;
            block.block_end = end;
        }
        let id = block.next;
        block.next += 1;
        assert!(block.next <= block.block_end, "producer id beyond its durable block");
        Ok(id)
    }

    async fn record_block_end(&self, end: i64) -> std::io::Result<()> {
        let temp = self.dir.join(format!("{FILE_NAME}.tmp"));
        let file = self.disk.open(&temp, OpenMode::Create).await?;
        file.set_len(0).await?;
        file.append(Bytes::from(format!("{end}\n"))).await?;
        file.sync().await?;
        self.disk.rename(&temp, &self.dir.join(FILE_NAME)).await?;
        self.disk.sync_dir(&self.dir).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::MemDisk;

    #[tokio::test]
    async fn ids_increase_across_a_crash() {
        let disk = MemDisk::new(1);
        let dir = PathBuf::from("/data");
        disk.create_dir_all(&dir).await.unwrap();
        let ids = ProducerIds::load(Arc::new(disk.clone()), dir.clone()).await.unwrap();
        let first = ids.next().await.unwrap();
        let second = ids.next().await.unwrap();
        assert_eq!((first, second), (0, 1));
        disk.crash_losing_all_unsynced();
        let ids = ProducerIds::load(Arc::new(disk.clone()), dir).await.unwrap();
        assert_eq!(ids.next().await.unwrap(), BLOCK_SIZE);
    }
}
