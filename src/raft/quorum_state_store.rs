//! The `quorum-state` file on disk (`<dir>/__cluster_metadata-0/quorum-state`), through the
//! [`Disk`] seam: written as `quorum-state.tmp`, fsync, rename over `quorum-state`, fsync of
//! the directory (so a crash leaves either the old record or the new one, never a torn one),
//! and read strictly at start (a file that does not decode is an error, never a guess: a
//! guessed state could let a node vote twice in an epoch).

use super::log_store::metadata_dir;
use super::quorum_state_file::{QuorumStateFileError, QuorumStateRecord};
use crate::runtime::{Disk, OpenMode};
use bytes::Bytes;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The file's name (Kafka's).
pub const QUORUM_STATE_FILE: &str = "quorum-state";
const TMP_SUFFIX: &str = ".tmp";
/// Larger than any record: a bigger file is not a quorum-state file.
const MAX_FILE_BYTES: u64 = 4096;

/// Why the quorum-state could not be read or written.
#[derive(Debug)]
pub enum QuorumStateStoreError {
    Io(io::Error),
    Bad(QuorumStateFileError),
}

impl fmt::Display for QuorumStateStoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QuorumStateStoreError::Io(e) => write!(f, "quorum-state IO error: {e}"),
            QuorumStateStoreError::Bad(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for QuorumStateStoreError {}

impl From<io::Error> for QuorumStateStoreError {
    fn from(e: io::Error) -> Self {
        QuorumStateStoreError::Io(e)
    }
}

/// Reads and writes one node's quorum-state file.
#[derive(Debug, Clone)]
pub struct QuorumStateStore {
    disk: Arc<dyn Disk>,
    dir: PathBuf,
}

impl QuorumStateStore {
    /// The store for the metadata log under `dir` (the directory is created if missing).
    pub async fn open(disk: Arc<dyn Disk>, dir: &Path) -> io::Result<QuorumStateStore> {
        let dir = metadata_dir(dir);
        disk.create_dir_all(&dir).await?;
        Ok(QuorumStateStore { disk, dir })
    }

    fn path(&self) -> PathBuf {
        self.dir.join(QUORUM_STATE_FILE)
    }

    fn tmp_path(&self) -> PathBuf {
        self.dir.join(format!("{QUORUM_STATE_FILE}{TMP_SUFFIX}"))
    }

    /// The persisted record, `None` if there is no file. A file that is not a valid record is
    /// an error that names the problem.
    pub async fn read(&self) -> Result<Option<QuorumStateRecord>, QuorumStateStoreError> {
        if !self.disk.exists(&self.path()).await? {
            return Ok(None);
        }
        let file = self.disk.open(&self.path(), OpenMode::Existing).await?;
        let len = file.len().await?;
        if len > MAX_FILE_BYTES {
            return Err(QuorumStateStoreError::Bad(QuorumStateFileError(format!("{len} bytes is too large"))));
        }
        let bytes = file.read_at(0, len as usize).await?;
        QuorumStateRecord::decode(&bytes).map(Some).map_err(QuorumStateStoreError::Bad)
    }

    /// Makes `record` the durable content of the file: temp file, fsync, rename, dir fsync.
    pub async fn write(&self, record: &QuorumStateRecord) -> io::Result<()> {
        let tmp = self.disk.open(&self.tmp_path(), OpenMode::Create).await?;
        // A temp file left by a crash mid-write may hold anything: start from empty.
        tmp.set_len(0).await?;
        tmp.write_at(0, Bytes::from(record.encode())).await?;
        tmp.sync().await?;
        self.disk.rename(&self.tmp_path(), &self.path()).await?;
        self.disk.sync_dir(&self.dir).await
    }
}
