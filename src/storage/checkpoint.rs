//! The log's checkpoint file: its recovery point, log start offset and, once a replica has
//! one, its high watermark.
//!
//! Kafka keeps `recovery-point-offset-checkpoint` and `log-start-offset-checkpoint` per log
//! directory, one line per partition. seedlog keeps the same two values per partition, in
//! the partition's own directory (`partition.checkpoint`), in Kafka's text format (version,
//! entry count, entries), so that each log owns all of its files and no write has to gather
//! every partition of a directory. Written atomically: temp file, fsync, rename, fsync of
//! the directory. The high watermark (Kafka's `replication-offset-checkpoint`) is a third
//! entry when known; files with two entries (written before) still read.

use std::path::Path;

use bytes::Bytes;

use super::read_agreed::read_agreed;
use crate::runtime::{Disk, OpenMode};

pub const FILE_NAME: &str = "partition.checkpoint";
const TEMP_NAME: &str = "partition.checkpoint.tmp";
const VERSION: u32 = 0;

/// What the checkpoint records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// Every offset below it was fsynced.
    pub recovery_point: i64,
    pub log_start_offset: i64,
    /// The replica's high watermark as last recorded; it may be stale (lower), never ahead.
    pub high_watermark: Option<i64>,
}

impl Checkpoint {
    fn encode(&self) -> String {
        let entries = if self.high_watermark.is_some() { 3 } else { 2 };
        let mut text = format!(
            "{VERSION}\n{entries}\nrecovery-point {}\nlog-start-offset {}\n",
            self.recovery_point, self.log_start_offset
        );
        if let Some(high_watermark) = self.high_watermark {
            text.push_str(&format!("high-watermark {high_watermark}\n"));
        }
        text
    }

    fn decode(text: &str) -> Option<Checkpoint> {
        let mut lines = text.lines();
        if lines.next()? != "0" {
            return None;
        }
        let entries = lines.next()?;
        if entries != "2" && entries != "3" {
            return None;
        }
        let mut value = |key: &str| -> Option<i64> {
            let (k, v) = lines.next()?.split_once(' ')?;
            (k == key).then(|| v.parse().ok()).flatten()
        };
        let recovery_point = value("recovery-point")?;
        let log_start_offset = value("log-start-offset")?;
        let high_watermark = if entries == "3" { Some(value("high-watermark")?) } else { None };
        let valid = recovery_point >= 0 && log_start_offset >= 0 && high_watermark.is_none_or(|hw| hw >= 0);
        valid.then_some(Checkpoint { recovery_point, log_start_offset, high_watermark })
    }
}

/// Reads the checkpoint in `dir`; `None` if it is missing or unreadable (then recovery
/// rescans the whole log, which is always safe).
pub async fn read(disk: &dyn Disk, dir: &Path) -> std::io::Result<Option<Checkpoint>> {
    let path = dir.join(FILE_NAME);
    if !disk.exists(&path).await? {
        return Ok(None);
    }
    let file = disk.open(&path, OpenMode::Existing).await?;
    let len = file.len().await?.min(4096) as usize;
    let bytes = read_agreed(file.as_ref(), len).await?;
    Ok(std::str::from_utf8(&bytes).ok().and_then(Checkpoint::decode))
}

/// Replaces the checkpoint in `dir` atomically and durably.
pub async fn write(disk: &dyn Disk, dir: &Path, checkpoint: Checkpoint) -> std::io::Result<()> {
    let temp = dir.join(TEMP_NAME);
    let file = disk.open(&temp, OpenMode::Create).await?;
    file.set_len(0).await?;
    file.append(Bytes::from(checkpoint.encode())).await?;
    file.sync().await?;
    disk.rename(&temp, &dir.join(FILE_NAME)).await?;
    disk.sync_dir(dir).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_round_trips() {
        let c = Checkpoint { recovery_point: 1234, log_start_offset: 56, high_watermark: None };
        assert_eq!(Checkpoint::decode(&c.encode()), Some(c));
        let with_hw = Checkpoint { high_watermark: Some(1000), ..c };
        assert_eq!(Checkpoint::decode(&with_hw.encode()), Some(with_hw));
        assert_eq!(Checkpoint::decode("0\n3\nrecovery-point 1\nlog-start-offset 0\n"), None, "a third entry promised");
    }

    #[test]
    fn garbage_is_no_checkpoint() {
        assert_eq!(Checkpoint::decode("0\n2\nrecovery-point x\n"), None);
        assert_eq!(Checkpoint::decode("7\n"), None);
        assert_eq!(Checkpoint::decode("0\n2\nrecovery-point -5\nlog-start-offset 0\n"), None);
    }
}
