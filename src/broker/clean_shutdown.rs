//! The clean-shutdown marker (Kafka's `.kafka_cleanshutdown`, REPLICATION.md §2.2, §5): a
//! cluster broker that stopped cleanly — controlled shutdown done, every log flushed and
//! checkpointed — writes its broker epoch into the log directory as its last act. The next
//! start takes the marker (reads it and deletes it at once, so a crash from then on counts as
//! unclean again) and registers with it as `previous_broker_epoch`: the controller then sees
//! a clean restart and keeps the broker in the ELRs it was in, instead of treating every
//! restart as one that may have lost data.
//!
//! Unlike Kafka, a start with the marker still recovers unflushed segments: recovery finds
//! nothing to cut after a clean stop, and skipping it would trust the marker with the log's
//! integrity as well as with the ELR.

use std::path::Path;

use bytes::Bytes;
use tracing::{info, warn};

use crate::runtime::{Disk, OpenMode};

/// Kafka's file name, in the log directory.
pub const FILE_NAME: &str = ".kafka_cleanshutdown";
/// Larger files are not a marker: read no more than this.
const MAX_BYTES: usize = 256;

/// Reads and deletes (durably) the marker of `log_dir`: the broker epoch of the incarnation
/// that stopped cleanly, or `None` when there is no marker or it cannot be read (an unclean
/// restart, the safe side).
pub async fn take(disk: &dyn Disk, log_dir: &Path) -> std::io::Result<Option<i64>> {
    let path = log_dir.join(FILE_NAME);
    if !disk.exists(&path).await? {
        return Ok(None);
    }
    let file = disk.open(&path, OpenMode::Existing).await?;
    let len = usize::try_from(file.len().await?).unwrap_or(usize::MAX).min(MAX_BYTES);
    let text = String::from_utf8_lossy(&file.read_at(0, len).await?).to_string();
    drop(file);
    disk.remove(&path).await?;
    disk.sync_dir(log_dir).await?;
    let epoch = parse(&text);
    match epoch {
        Some(broker_epoch) => info!(name: "clean_shutdown_marker_taken", broker_epoch),
        None => warn!(name: "clean_shutdown_marker_unreadable", text = %text),
    }
    Ok(epoch)
}

/// Writes the marker durably (a temporary file, fsync, rename, directory sync).
pub async fn write(disk: &dyn Disk, log_dir: &Path, broker_epoch: i64) -> std::io::Result<()> {
    let temp = log_dir.join(format!("{FILE_NAME}.tmp"));
    let file = disk.open(&temp, OpenMode::Create).await?;
    file.set_len(0).await?;
    file.append(Bytes::from(format!("{{\"version\":0,\"brokerEpoch\":{broker_epoch}}}"))).await?;
    file.sync().await?;
    disk.rename(&temp, &log_dir.join(FILE_NAME)).await?;
    disk.sync_dir(log_dir).await
}

/// The broker epoch of `{"version":0,"brokerEpoch":N}` (Kafka's format); `None` for
/// anything else.
fn parse(text: &str) -> Option<i64> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let rest = compact.strip_prefix("{\"version\":0,\"brokerEpoch\":")?;
    let epoch: i64 = rest.strip_suffix('}')?.parse().ok()?;
    (epoch >= 0).then_some(epoch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::MemDisk;

    #[tokio::test]
    async fn a_marker_is_taken_once() {
        let disk = MemDisk::new(3);
        let dir = Path::new("/data");
        disk.create_dir_all(dir).await.unwrap();
        assert_eq!(take(&disk, dir).await.unwrap(), None, "no marker: unclean");

        write(&disk, dir, 42).await.unwrap();
        assert_eq!(take(&disk, dir).await.unwrap(), Some(42));
        assert_eq!(take(&disk, dir).await.unwrap(), None, "taken: a crash from now on is unclean");
    }

    /// The marker's removal is durable before the node goes on: a crash right after the
    /// start still counts as unclean.
    #[tokio::test]
    async fn taking_the_marker_survives_a_crash() {
        let disk = MemDisk::new(4);
        let dir = Path::new("/data");
        disk.create_dir_all(dir).await.unwrap();
        disk.sync_dir(Path::new("/")).await.unwrap();
        write(&disk, dir, 7).await.unwrap();
        assert_eq!(take(&disk, dir).await.unwrap(), Some(7));
        disk.crash();
        assert_eq!(take(&disk, dir).await.unwrap(), None);
    }

    #[test]
    fn only_kafkas_format_is_a_marker() {
        assert_eq!(parse("{\"version\":0,\"brokerEpoch\":12}"), Some(12));
        assert_eq!(parse("{ \"version\": 0, \"brokerEpoch\": 12 }\n"), Some(12));
        assert_eq!(parse("{\"version\":1,\"brokerEpoch\":12}"), None);
        assert_eq!(parse("{\"version\":0,\"brokerEpoch\":-1}"), None);
        assert_eq!(parse("garbage"), None);
        assert_eq!(parse(""), None);
    }
}
